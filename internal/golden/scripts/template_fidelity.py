"""Render Django's built-in template tags and filters with real Django and
write the results as JSON vectors for templates_test/fidelity_test.go.

    /usr/bin/python3 template_fidelity.py                         # Debian python3-django 3.2
    PYTHONPATH=$DJANGO61_PATH $PY312 template_fidelity.py         # Django 6.1 (bash /work/shared/django/setup.sh)

writes ../data/template_fidelity__django-<version>.json (internal/golden/data).

Each case renders one template ("case.html", plus optional extra templates
for include/extends) with a context. The context is the file's base_context
overlaid with the case's own context. Both are JSON; a value that needs a
Python type is a one-key object (the "tagged value" convention, mirrored by
the Go test):

    {"$datetime": "2023-11-14T22:13:20"}  -> datetime.datetime (naive)
    {"$date": "2023-11-14"}               -> datetime.date
    {"$time": "09:05:07"}                 -> datetime.time
    {"$safe": "<b>x</b>"}                 -> mark_safe("<b>x</b>")

JSON integers are Python ints, JSON numbers with a fraction or exponent are
floats, null is None. A case with "request": "/path?query" also gets a
`request` (RequestFactory GET) in its context, as render.Renderer gives
templates. Cases with "autoescape": false are wrapped in
{% autoescape off %}...{% endautoescape %} (the wrapped source is what is
recorded and what Go renders). A case marked "clock" depends on the wall
clock, which is frozen here at _env.FIXED_NOW (2023-11-14 22:13:20 UTC) but
not in Go. A case with "skip" is listed but not rendered.

Case ids are "<subject>#<n>" (n counts the subject's cases in the order
below, "/off" is appended to the autoescape-off twin), so append new cases at
the end of a subject's list to keep the ids (and the reasons recorded for
them in templates_test/testdata/fidelity_expect.json) stable.
"""
import datetime
import json
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _env  # noqa: E402

_env.configure(ROOT_URLCONF="_fidelity_urls")

import django  # noqa: E402
from django.template import Context, Engine, RequestContext  # noqa: E402
from django.template import defaultfilters, defaulttags, loader_tags  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.utils.safestring import mark_safe  # noqa: E402

warnings.simplefilter("ignore")

LIBRARIES = {
    "cache": "django.templatetags.cache",
    "i18n": "django.templatetags.i18n",
    "humanize": "django.contrib.humanize.templatetags.humanize",
}

BASE = {
    "s": '<b>Tom & "Jerry"</b>',  # no apostrophe: its entity differs (see variable#12)
    "safe": {"$safe": "<b>Tom &amp; Jerry</b>"},
    "text": "First line.\nSecond <line> & more.\n\nNew paragraph.",
    "n": 42,
    "neg": -7,
    "f": 34.23234,
    "zero": 0,
    "none": None,
    "yes": True,
    "no": False,
    "empty": "",
    "l": ["a<", "b&", "c"],
    "nums": [3, 1, 2],
    "empty_list": [],
    "d": {"name": "Ann", "age": 31},
    "people": [
        {"name": "Ann", "age": 31, "gender": "f"},
        {"name": "Bob", "age": 25, "gender": "m"},
        {"name": "Cy", "age": 40, "gender": "m"},
    ],
    "dt": {"$datetime": "2023-11-14T22:13:20"},
    "dt2": {"$datetime": "2023-11-16T01:15:00"},
    "day": {"$date": "2023-03-05"},
    "tm": {"$time": "09:05:07"},
}

CASES = []


def case(subject, template, ctx=None, mode="on", extra=None, request=None, clock=False, skip=None, note=None):
    """Add a case; mode is "on", "off" or "both" (an autoescape-off twin)."""
    CASES.append(dict(subject=subject, template=template, ctx=ctx or {}, mode=mode, extra=extra or {},
                      request=request, clock=clock, skip=skip, note=note))


def F(name, template, ctx=None, mode="on", **kw):
    case("filter:" + name, template, ctx, mode, **kw)


def T(name, template, ctx=None, mode="on", **kw):
    case("tag:" + name, template, ctx, mode, **kw)


# ---------------------------------------------------------------- variables
case("variable", "{{ s }}", mode="both")
case("variable", "{{ safe }}", mode="both")
case("variable", "{{ d.name }} {{ l.1 }} {{ people.2.name }}", mode="both")
case("variable", "[{{ missing }}][{{ missing.attr }}][{{ d.missing }}]")
case("variable", "{{ none }} {{ yes }} {{ no }}")
case("variable", "{{ n }} {{ neg }} {{ f }} {{ 1.5 }} {{ 2.0 }}")
case("variable", "{{ l }}", mode="both")
case("variable", "{{ d }}")
case("variable", "{{ nums }} {{ empty_list }}")
case("variable", "{{ dt }}|{{ day }}|{{ tm }}")
case("variable", '{{ "literal <b>" }}', mode="both")
case("variable", "{{ v }}", {"v": "it's \"quoted\""}, mode="both")

# ---------------------------------------------------------------- filters
F("add", '{{ 4|add:"2" }}')
F("add", '{{ "a"|add:"b" }}')
F("add", "{{ nums|add:l }}")
F("add", '[{{ n|add:"x" }}]')
F("add", '{{ f|add:"1" }}')

F("addslashes", "{{ v|addslashes }}", {"v": "I'm \"here\" \\ <b>"}, mode="both")

F("capfirst", '{{ "hello world"|capfirst }}')
F("capfirst", "{{ v|capfirst }}", {"v": "<b>x</b> é"}, mode="both")
F("capfirst", "{{ v|capfirst }}", {"v": "élan"})

F("center", '[{{ "ab"|center:"7" }}]')
F("center", '[{{ v|center:"9" }}]', {"v": "<&>"}, mode="both")
F("center", '[{{ "abc"|center:"2" }}]')

F("cut", '{{ "a b c"|cut:" " }}')
F("cut", '{{ s|cut:"&" }}', mode="both")
F("cut", '{{ safe|cut:";" }}')

F("date", '{{ dt|date:"Y-m-d H:i:s" }}')
F("date", '{{ dt|date:"D, d M Y" }}')
F("date", "{{ dt|date }}")
F("date", '{{ dt|date:"jS F Y, P" }}')
F("date", '{{ dt|date:"c" }}')
F("date", '{{ day|date:"l j N y" }}')
F("date", '[{{ "x"|date:"Y" }}]')
F("date", '{{ dt|date:"\\Y\\e\\a\\r: Y" }}')
F("date", '{{ dt|date:"SHORT_DATE_FORMAT" }}')

F("default", '{{ empty|default:"nothing" }}')
F("default", '{{ missing|default:"<i>lit</i>" }}', mode="both")
F("default", '{{ zero|default:"zero" }} {{ no|default:"no" }} {{ empty_list|default:"none" }}')
F("default", "{{ missing|default:s }}", mode="both")
F("default", '{{ n|default:"x" }}')

F("default_if_none", '{{ none|default_if_none:"nil" }}')
F("default_if_none", '[{{ empty|default_if_none:"nil" }}]')
F("default_if_none", "{{ none|default_if_none:s }}", mode="both")

F("dictsort", '{% for p in people|dictsort:"age" %}{{ p.name }} {% endfor %}')
F("dictsort", '{% for p in people|dictsort:"name" %}{{ p.name }} {% endfor %}')
F("dictsort", '{% for p in pairs|dictsort:"0" %}{{ p.1 }} {% endfor %}', {"pairs": [[2, "b"], [1, "a"], [3, "c"]]})
F("dictsort", '[{{ nums|dictsort:"age" }}]')

F("dictsortreversed", '{% for p in people|dictsortreversed:"age" %}{{ p.name }} {% endfor %}')
F("dictsortreversed", '{% for p in people|dictsortreversed:"name" %}{{ p.name }} {% endfor %}')

F("divisibleby", '{{ 21|divisibleby:"3" }} {{ 4|divisibleby:"3" }}')
F("divisibleby", '{{ n|divisibleby:7 }}')

F("escape", "{{ s|escape }}", mode="both")
F("escape", "{{ safe|escape }}", mode="both")
F("escape", "{{ s|escape|escape }}")

F("escapejs", "{{ v|escapejs }}", {"v": "line1\nline2 'q' \"dq\" <script>&\u2028"}, mode="both")
F("escapejs", '{{ "a=b;c"|escapejs }}')

F("escapeseq", '{{ l|escapeseq|join:"," }}', mode="both")
F("escapeseq", '{{ l|escapeseq|join:"<br>"|safe }}')

F("filesizeformat", "{{ 123|filesizeformat }}|{{ 1024|filesizeformat }}|{{ 123456789|filesizeformat }}")
F("filesizeformat", "{{ 0|filesizeformat }}|{{ v|filesizeformat }}|{{ -2048|filesizeformat }}", {"v": "abc"})
F("filesizeformat", "{{ v|filesizeformat }}", {"v": 1099511627776})

F("first", "{{ l|first }}", mode="both")
F("first", "[{{ empty_list|first }}]")
F("first", '{{ "xyz"|first }}')

F("floatformat", "{{ f|floatformat }}|{{ 34.0|floatformat }}|{{ 34.26|floatformat }}")
F("floatformat", '{{ f|floatformat:3 }}|{{ 34.0|floatformat:3 }}|{{ 34.26|floatformat:"3" }}')
F("floatformat", '{{ f|floatformat:"-3" }}|{{ 34.0|floatformat:"-3" }}|{{ 34.26|floatformat:"-3" }}')
F("floatformat", '{{ f|floatformat:"0" }}|{{ 39.56|floatformat:"0" }}|{{ n|floatformat }}')
F("floatformat", '{{ v|floatformat:"2g" }}', {"v": 1234567.891})
F("floatformat", '[{{ "abc"|floatformat }}]')
F("floatformat", '{{ v|floatformat:2 }}', {"v": -0.001})

F("force_escape", "{{ safe|force_escape }}", mode="both")
F("force_escape", "{{ s|force_escape|escape }}")

F("get_digit", '{{ 123456789|get_digit:"2" }}|{{ 123|get_digit:"5" }}|{{ "abc"|get_digit:"1" }}')

F("iriencode", '{{ "?test=1&me=2"|iriencode }}', mode="both")
F("iriencode", "{{ v|iriencode }}", {"v": "/ä ö/?q=<x>"}, mode="both")

F("join", '{{ l|join:", " }}', mode="both")
F("join", "{{ l|join:sep }}", {"sep": "<br>"}, mode="both")
F("join", '{{ nums|join:"-" }}')
F("join", '{{ "abc"|join:"-" }}')

F("json_script", '{{ v|json_script:"data" }}', {"v": {"a": "</script><b>&", "n": 1}}, mode="both")
F("json_script", "{{ v|json_script }}", {"v": [1, "x"]})

F("last", "{{ l|last }}", mode="both")
F("last", '{{ "xyz"|last }}')

F("length", "{{ l|length }} {{ s|length }} {{ d|length }}")
F("length", "{{ n|length }} [{{ missing|length }}] {{ none|length }}")

F("length_is", '{{ l|length_is:"3" }} {{ l|length_is:2 }}')
F("length_is", '[{{ n|length_is:"1" }}]')

F("linebreaks", "{{ text|linebreaks }}", mode="both")
F("linebreaks", "{{ v|linebreaks }}", {"v": {"$safe": "a <b>bold</b>\nb"}})
F("linebreaks", "{{ v|linebreaks }}", {"v": "one\r\ntwo\r\n\r\nthree"})

F("linebreaksbr", "{{ text|linebreaksbr }}", mode="both")
F("linebreaksbr", "{{ v|linebreaksbr }}", {"v": {"$safe": "a <b>bold</b>\nb"}})

F("linenumbers", "{{ v|linenumbers }}", {"v": "one\ntwo\n<three>"}, mode="both")
F("linenumbers", "{{ v|linenumbers }}", {"v": "\n".join(["x"] * 10)})

F("ljust", '[{{ "ab"|ljust:"5" }}]')
F("ljust", '[{{ v|ljust:"5" }}]', {"v": "<&"}, mode="both")

F("lower", "{{ v|lower }}", {"v": "<B>ÄBC</B>"}, mode="both")

F("make_list", '{{ "abc"|make_list }}')
F("make_list", "{{ 123|make_list }}")
F("make_list", '{{ v|make_list|join:"," }}', {"v": "<&"}, mode="both")

F("phone2numeric", '{{ "800-COLLECT"|phone2numeric }}')

F("pluralize", "vote{{ 1|pluralize }} vote{{ 2|pluralize }} vote{{ 0|pluralize }}")
F("pluralize", 'cherr{{ n|pluralize:"y,ies" }} walrus{{ 1|pluralize:"es" }}')
F("pluralize", "item{{ l|pluralize }} item{{ empty_list|pluralize }}")
F("pluralize", '[{{ 2|pluralize:"a,b,c" }}]')
F("pluralize", "x{{ 1.5|pluralize }}")

F("pprint", "{{ d|pprint }}", mode="both")
F("pprint", "{{ s|pprint }}")

F("random", "{{ v|random }}", {"v": ["only<"]}, mode="both")

F("rjust", '[{{ "ab"|rjust:"5" }}]')
F("rjust", '[{{ v|rjust:"5" }}]', {"v": "<&"}, mode="both")

F("safe", "{{ s|safe }}", mode="both")
F("safe", "{{ s|safe|escape }}")
F("safe", '{{ s|safe|upper }}')

F("safeseq", '{{ l|safeseq|join:", " }}', mode="both")
F("safeseq", '{{ l|safeseq|first }}')

F("slice", '{{ l|slice:":2" }}')
F("slice", '{{ "abcdef"|slice:"1:-1" }}|{{ nums|slice:"::2"|join:"" }}')
F("slice", '{{ l|slice:"-1:"|join:"" }}', mode="both")
F("slice", '{{ "abc"|slice:"0" }}')

F("slugify", '{{ "Joel is a slug!"|slugify }}')
F("slugify", "{{ v|slugify }}", {"v": " Ünïcode & <b>tags</b>  -- x_y "})

F("stringformat", '{{ 5|stringformat:"03d" }}|{{ 3.14159|stringformat:".2f" }}|{{ 255|stringformat:"x" }}')
F("stringformat", '{{ s|stringformat:"s" }}', mode="both")
F("stringformat", '{{ l|stringformat:"s" }}|{{ none|stringformat:"s" }}')
F("stringformat", '[{{ "x"|stringformat:"d" }}]')
F("stringformat", '{{ n|stringformat:"E" }}|{{ n|stringformat:"r" }}|{{ "a"|stringformat:"r" }}')

F("striptags", "{{ v|striptags }}", {"v": "<b>bold</b> &amp; <i>x</i> <!-- c --> 1 < 2"}, mode="both")
F("striptags", "{{ v|striptags }}", {"v": "<scr<script>ipt>alert(1)</script>"})

F("time", '{{ dt|time:"H:i" }}|{{ dt|time:"g:i a" }}|{{ tm|time:"H:i:s" }}')
F("time", "{{ dt|time }}")
F("time", '[{{ "x"|time:"H" }}]')

F("timesince", "{{ dt|timesince:dt2 }}")
F("timesince", "{{ dt|timesince:dt }}|{{ dt2|timesince:dt }}")
F("timesince", "{{ v|timesince:dt }}", {"v": {"$datetime": "2021-01-02T03:04:05"}})

F("timeuntil", "{{ dt2|timeuntil:dt }}")
F("timeuntil", "{{ dt|timeuntil:dt2 }}")

F("title", "{{ v|title }}", {"v": "my FIRST post's <b>tag</b> x-y 1st"}, mode="both")

F("truncatechars", '{{ "Joel is a slug"|truncatechars:7 }}|{{ "Joel"|truncatechars:7 }}')
F("truncatechars", "{{ s|truncatechars:9 }}", mode="both")
F("truncatechars", '[{{ "Joel"|truncatechars:"x" }}]')

F("truncatechars_html", '{{ v|truncatechars_html:7 }}', {"v": "<p>Joel is a slug</p>"}, mode="both")
F("truncatechars_html", '{{ v|truncatechars_html:9 }}', {"v": "<p>one <b>two three</b> &amp; four</p>"})

F("truncatewords", '{{ "Joel is a slug"|truncatewords:2 }}|{{ "Joel"|truncatewords:2 }}')
F("truncatewords", "{{ s|truncatewords:1 }}", mode="both")
F("truncatewords", "{{ text|truncatewords:3 }}")

F("truncatewords_html", "{{ v|truncatewords_html:2 }}", {"v": "<p>Joel is <i>a slug</i></p>"}, mode="both")
F("truncatewords_html", "{{ v|truncatewords_html:4 }}", {"v": "<p>one <b>two three</b> &amp; four</p>"})

F("unordered_list", "{{ v|unordered_list }}",
  {"v": ["States", ["Kansas", ["Lawrence", "Topeka"], "Illinois <&>"]]}, mode="both")
F("unordered_list", "{{ v|unordered_list }}", {"v": ["a", "b"]})

F("upper", "{{ v|upper }}", {"v": "<b>straße</b> é"}, mode="both")

F("urlencode", '{{ "https://www.example.org/foo?a=b&c=d"|urlencode }}')
F("urlencode", '{{ v|urlencode:"" }}|{{ v|urlencode }}', {"v": "a/b c&d=é<"}, mode="both")

F("urlize", "{{ v|urlize }}", {"v": "Check out www.djangoproject.com, http://example.com/?a=1&b=2 and me@example.com."},
  mode="both")
F("urlize", "{{ v|urlize }}", {"v": "<b>not a link</b> google.com"}, mode="both")
F("urlize", "{{ v|urlize }}", {"v": {"$safe": "<b>x</b> https://example.org"}})

F("urlizetrunc", "{{ v|urlizetrunc:15 }}", {"v": "see http://www.example.com/a/very/long/path now"}, mode="both")

F("wordcount", '{{ "Joel is a slug"|wordcount }}|{{ text|wordcount }}|{{ empty|wordcount }}')

F("wordwrap", '{{ "Joel is a slug"|wordwrap:5 }}')
F("wordwrap", "{{ text|wordwrap:10 }}", mode="both")

F("yesno", '{{ yes|yesno:"yeah,no,maybe" }}|{{ no|yesno:"yeah,no,maybe" }}|{{ none|yesno:"yeah,no,maybe" }}')
F("yesno", '{{ yes|yesno }}|{{ none|yesno }}|{{ none|yesno:"yeah,no" }}')
F("yesno", '[{{ yes|yesno:"one" }}]')

# ---------------------------------------------------------------- tags
T("autoescape", "{% autoescape off %}{{ s }}{% endautoescape %}|{{ s }}")
T("autoescape", "{% autoescape off %}{% autoescape on %}{{ s }}{% endautoescape %}{% endautoescape %}")
T("autoescape", "{% autoescape maybe %}x{% endautoescape %}")

T("comment", "a{% comment %}x{{ y }}{% if %}{% endcomment %}b{# c {{ s }} #}c")
T("comment", 'a{% comment "note" %}x{% endcomment %}b')

T("csrf_token", "[{% csrf_token %}]")
T("csrf_token", "[{% csrf_token %}]", {"csrf_token": "abc<123"})

T("cycle", '{% for i in nums %}{% cycle "a" "b" %}{% endfor %}')
T("cycle", '{% for i in nums %}{% cycle s "x" %}{% endfor %}', mode="both")
T("cycle", '{% cycle "a" "b" as c %}{% cycle c %}{% cycle c %}|{{ c }}')
T("cycle", '{% cycle "a" "b" as c silent %}[{{ c }}]{% cycle c %}[{{ c }}]')
T("cycle", '{% for p in people %}{% cycle "r1" "r2" as row silent %}{{ row }} {% endfor %}')

T("debug", "{% debug %}", skip="prints the whole context and loaded modules; not comparable")

T("filter", "{% filter force_escape|lower %}<B>X & Y</B>{% endfilter %}", mode="both")
T("filter", "{% filter upper %}{{ s }} x{% endfilter %}", mode="both")

T("firstof", '{% firstof empty zero missing "fallback" %}')
T("firstof", "{% firstof empty s %}", mode="both")
T("firstof", "[{% firstof empty zero %}]")
T("firstof", '{% firstof missing "<b>" as v %}{{ v }}')

T("for", "{% for x in nums %}{{ forloop.counter }}{{ forloop.counter0 }}{{ forloop.revcounter }}:{{ x }}"
         "{% if forloop.first %}F{% endif %}{% if forloop.last %}L{% endif %} {% endfor %}")
T("for", "{% for x in nums reversed %}{{ x }}{% endfor %}")
T("for", "{% for x in empty_list %}{{ x }}{% empty %}none{% endfor %}")
T("for", "{% for k, v in d.items %}{{ k }}={{ v }};{% endfor %}")
T("for", "{% for p in people %}{% for c in p.name %}{{ forloop.parentloop.counter }}{{ c }}{% endfor %}{% endfor %}")
T("for", "{% for a, b in pairs %}{{ a }}{{ b }}{% endfor %}", {"pairs": [[1, 2], [3, 4]]})
T("for", "{% for c in s %}{{ c }}.{% endfor %}", mode="both")
T("for", "{% for x in n %}{{ x }}{% endfor %}")

T("if", "{% if yes and not no %}A{% endif %}{% if no or zero %}B{% else %}C{% endif %}")
T("if", "{% if n > 40 %}big{% elif n > 10 %}mid{% else %}small{% endif %}")
T("if", '{% if "a<" in l %}in{% endif %}{% if "z" not in l %}notin{% endif %}')
T("if", "{% if none is None %}isnone{% endif %}{% if yes is not False %}x{% endif %}")
T("if", "{% if n == 42 and f != 1 %}eq{% endif %}{% if missing %}m{% else %}nm{% endif %}")
T("if", "{% if empty_list %}full{% else %}empty{% endif %}{% if l|length >= 3 %}3+{% endif %}")
T("if", '{% if n = 42 %}x{% endif %}')
T("if", "{% if 1 < 2 < 3 %}chain{% endif %}")

T("ifchanged", "{% for x in v %}{% ifchanged %}{{ x }}{% endifchanged %}{% endfor %}", {"v": [1, 1, 2, 2, 1]})
T("ifchanged", "{% for p in people %}{% ifchanged p.gender %}[{{ p.gender }}]{% endifchanged %}{{ p.name }}{% endfor %}")
T("ifchanged", "{% for p in people %}{% ifchanged p.gender %}new{% else %}same{% endifchanged %} {% endfor %}")

T("ifequal", '{% ifequal n 42 %}yes{% else %}no{% endifequal %}')
T("ifnotequal", '{% ifnotequal n 42 %}yes{% else %}no{% endifnotequal %}')

T("load", "{% load cache %}ok")
T("load", "{% load nosuchlib %}ok")
T("load", "{% load cache from cache %}ok")

T("lorem", "{% lorem %}")
T("lorem", "{% lorem 3 w %}")
T("lorem", "{% lorem 1 p %}")  # only the first paragraph is not random
T("lorem", "{% lorem 1 b %}")

T("now", '{% now "\\Y\\e\\s" %}')
T("now", '{% now "Y" as y %}{{ y|length }}')
T("now", '{% now "Y-m-d" %}', clock=True)

T("partialdef", "{% partialdef p %}[{{ n }}]{% endpartialdef %}{% partial p %}{% partial p %}")
T("partialdef", "{% partialdef p inline %}[{{ s }}]{% endpartialdef %}", mode="both")
T("partial", "{% partialdef p %}P{% endpartialdef %}a{% partial p %}b")
T("partial", "{% partial nosuch %}")

T("querystring", "{% querystring %}", request="/?a=1&b=2&b=3")
T("querystring", '{% querystring a=3 c="x y" %}', request="/?a=1&b=2")
T("querystring", "{% querystring b=None %}", request="/?a=1&b=2")

T("regroup", "{% regroup people by gender as g %}{% for x in g %}{{ x.grouper }}:"
             "{% for p in x.list %}{{ p.name }}{% endfor %};{% endfor %}")
T("regroup", "{% regroup people|dictsort:\"gender\" by gender as g %}{{ g|length }}")

T("resetcycle", '{% for p in people %}{% cycle "a" "b" "c" %}{% if forloop.counter == 2 %}{% resetcycle %}{% endif %}'
                "{% endfor %}")

T("spaceless", "{% spaceless %}<p>\n  <a href=\"x\">x</a>  y\n</p>{% endspaceless %}")
T("spaceless", "{% spaceless %}  <b> {{ s }} </b>  {% endspaceless %}", mode="both")

T("templatetag", "{% templatetag openblock %}{% templatetag closeblock %}{% templatetag openvariable %}"
                 "{% templatetag closevariable %}{% templatetag openbrace %}{% templatetag closebrace %}"
                 "{% templatetag opencomment %}{% templatetag closecomment %}")

T("url", '{% url "article" 2023 %}')
T("url", '{% url "article" year=n as u %}[{{ u }}]')
T("url", '{% url "nosuch" %}')

T("verbatim", "{% verbatim %}{{ x }}{% if %}{% endverbatim %}")
T("verbatim", "{% verbatim v1 %}{% endverbatim %}{% endverbatim v1 %}")

T("widthratio", "{% widthratio 175 200 100 %}|{% widthratio n 100 50 %}|{% widthratio 0 0 100 %}")
T("widthratio", "{% widthratio n 200 100 as w %}[{{ w }}]")

T("with", "{% with total=n|add:1 other=s %}{{ total }} {{ other }}{% endwith %}", mode="both")
T("with", "{% with n as m %}{{ m }}{% endwith %}[{{ m }}]")

T("csp_nonce_attr", "<script{% csp_nonce_attr %}>", {"csp_nonce": "abc<"})
T("csp_nonce_attr", "<script{% csp_nonce_attr %}>")

# loader tags (django.template.loader_tags)
BASE_HTML = "<title>{% block title %}Base{% endblock %}</title>{% block body %}[{{ n }}]{% endblock %}"
T("extends", '{% extends "base.html" %}{% block title %}Child {{ block.super }}{% endblock %}',
  extra={"base.html": BASE_HTML})
T("extends", '{% extends "base.html" %}ignored{% block body %}{{ s }}{% endblock %}', extra={"base.html": BASE_HTML})
T("block", "{% block a %}A{% block b %}B{% endblock b %}{% endblock %}")
T("include", '{% include "inc.html" %}', extra={"inc.html": "[{{ s }}]"}, mode="both")
T("include", '{% include "inc.html" with s="x" only %}', extra={"inc.html": "[{{ s }}{{ n }}]"})
T("include", "{% include name %}", {"name": "inc.html"}, extra={"inc.html": "[{{ n }}]"})
T("include", '{% include "nosuch.html" %}')

# ---------------------------------------------------------------- humanize
H = "{% load humanize %}"
case("humanize:intcomma", H + "{{ 4500|intcomma }} {{ 45000000|intcomma }} {{ 1234.5|intcomma }} {{ neg|intcomma }}")
case("humanize:intcomma", H + '{{ "123456"|intcomma }} {{ "abc"|intcomma }}')
case("humanize:intword", H + "{{ 1000000|intword }}|{{ 1200000000|intword }}|{{ 999|intword }}|{{ 6500000000000|intword }}")
case("humanize:apnumber", H + "{{ 1|apnumber }} {{ 5|apnumber }} {{ 9|apnumber }} {{ 10|apnumber }}")
case("humanize:ordinal", H + "{{ 1|ordinal }} {{ 2|ordinal }} {{ 3|ordinal }} {{ 11|ordinal }} {{ 22|ordinal }} "
     "{{ 103|ordinal }}")
case("humanize:naturaltime", H + "{{ v|naturaltime }}", {"v": {"$datetime": "2023-11-14T22:12:50"}}, clock=True)
case("humanize:naturaltime", H + "{{ v|naturaltime }}", {"v": {"$datetime": "2023-11-14T19:10:00"}}, clock=True)
case("humanize:naturaltime", H + "{{ v|naturaltime }}", {"v": {"$datetime": "2023-11-16T22:13:20"}}, clock=True)
case("humanize:naturalday", H + '{{ v|naturalday }}|{{ day|naturalday }}', {"v": {"$date": "2023-11-14"}}, clock=True)

# ---------------------------------------------------------------- i18n
I = "{% load i18n %}"
case("i18n:trans", I + '{% trans "Hello" %} {% trans "<b>x</b>" %}', mode="both")
case("i18n:trans", I + '{% trans "Hello" as h %}[{{ h }}]')
case("i18n:trans", I + "{% trans s %}", mode="both")
case("i18n:translate", I + '{% translate "Hello" %}')
case("i18n:translate", I + '{% translate "Hi" context "greeting" %}')
case("i18n:blocktrans", I + "{% blocktrans %}Hi {{ s }}!{% endblocktrans %}", mode="both")
case("i18n:blocktrans", I + "{% blocktrans with who=d.name|upper %}Hi {{ who }}{% endblocktrans %}")
case("i18n:blocktrans", I + "{% blocktrans count counter=l|length %}one item{% plural %}{{ counter }} items"
     "{% endblocktrans %}|{% blocktrans count counter=1 %}one item{% plural %}{{ counter }} items{% endblocktrans %}")
case("i18n:blocktrans", I + "{% blocktrans trimmed %}\n  a\n  b  {{ n }}\n{% endblocktrans %}")
case("i18n:blocktranslate", I + "{% blocktranslate with who=s %}Hi {{ who }}{% endblocktranslate %}", mode="both")
case("i18n:blocktranslate", I + "{% blocktranslate count n=nums|length %}{{ n }} thing{% plural %}{{ n }} things"
     "{% endblocktranslate %}")
case("i18n:blocktranslate", I + "{% blocktranslate asvar v %}x {{ n }}{% endblocktranslate %}[{{ v }}]")

# ---------------------------------------------------------------- cache
C = "{% load cache %}"
case("cache:cache", C + "{% cache 500 sidebar %}[{{ n }}]{% endcache %}")
case("cache:cache", C + "{% cache 500 sidebar d.name %}{{ s }}{% endcache %}", mode="both")
case("cache:cache", C + "{% cache %}x{% endcache %}")
case("cache:cache", C + '{% cache "abc" f %}x{% endcache %}')
case("cache:cache", C + "{% cache None forever n %}{{ n }}{% endcache %}{% cache 0 never %}0{% endcache %}")


# ---------------------------------------------------------------- more cases
# Appended after the first run, so that the ids above stay stable: safe
# (mark_safe) inputs and a few more arguments.
F("addslashes", "{{ v|addslashes }}", {"v": {"$safe": "<i>it's</i>"}}, mode="both")
F("capfirst", "{{ safe|capfirst }}")
F("center", '[{{ safe|center:"30" }}]')
F("cut", '{{ safe|cut:"b" }}', mode="both")
F("default", '{{ empty|default:safe }}')
F("escapejs", "{{ v|escapejs }}", {"v": {"$safe": "<b>'x'</b>"}})
F("first", "{{ v|first }}", {"v": [{"$safe": "<b>1</b>"}, "<i>2</i>"]}, mode="both")
F("get_digit", '{{ "123"|get_digit:"1" }}|{{ 123|get_digit:"0" }}|{{ 123|get_digit:"x" }}')
F("join", '{{ v|join:"," }}', {"v": [{"$safe": "<b>1</b>"}, "<i>2</i>"]}, mode="both")
F("length", "{{ safe|length }}")
F("lower", "{{ safe|lower }}", mode="both")
F("phone2numeric", "{{ v|phone2numeric }}", {"v": "<1-800-FLOWERS> & Ω"}, mode="both")
F("striptags", "{{ safe|striptags }}", mode="both")
F("title", "{{ safe|title }}")
F("truncatewords_html", "{{ safe|truncatewords_html:2 }}")
F("upper", "{{ safe|upper }}")
F("urlencode", "{{ safe|urlencode }}")
F("wordcount", "{{ safe|wordcount }}")
F("divisibleby", '{{ "6"|divisibleby:"3" }}|{{ f|divisibleby:"2" }}')
T("cycle", '{% for i in nums %}{% cycle safe "x" %}{% endfor %}', mode="both")
T("firstof", "{% firstof empty safe %}")
T("resetcycle", '{% for p in people %}{% cycle "a" "b" as c %}{% for x in nums %}{% cycle "1" "2" as d %}{% endfor %}'
                "{% resetcycle d %}{% endfor %}")
T("templatetag", "{% templatetag nosuch %}")
T("widthratio", "{% widthratio 1.5 2 100 %}|{% widthratio n 0 100 %}")
T("with", "{% with v=safe %}{{ v }}{% endwith %}", mode="both")
case("humanize:intword", H + "{{ 1500000.5|intword }}|{{ \"abc\"|intword }}")
case("humanize:apnumber", H + '{{ "3"|apnumber }} {{ 0|apnumber }}')
case("i18n:get_current_language", I + "{% get_current_language as L %}{{ L }}")
case("i18n:trans", I + '{% trans "x" noop %}')
case("cache:cache", C + '{% cache 500 frag using="default" %}{{ n }}{% endcache %}')
T("block", '{% extends "base.html" %}{% block body %}<{{ block.super }}>{% endblock body %}', extra={"base.html": BASE_HTML})
T("extends", "{% extends parent %}{% block title %}T{% endblock %}", {"parent": "base.html"}, extra={"base.html": BASE_HTML})
T("include", '{% include "inc.html" with v=safe %}', extra={"inc.html": "[{{ v }}]"}, mode="both")


# ---------------------------------------------------------------- running
def from_json(v):
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            if k == "$datetime":
                return datetime.datetime.fromisoformat(x)
            if k == "$date":
                return datetime.date.fromisoformat(x)
            if k == "$time":
                return datetime.time.fromisoformat(x)
            if k == "$safe":
                return mark_safe(x)
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


FROZEN = datetime.datetime.utcfromtimestamp(_env.FIXED_NOW)


class FrozenDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        if tz is None:
            return FROZEN
        return FROZEN.replace(tzinfo=datetime.timezone.utc).astimezone(tz)


def freeze_clock():
    import django.contrib.humanize.templatetags.humanize as humanize
    humanize.datetime = FrozenDatetime
    defaulttags.datetime = FrozenDatetime


def wrap(src, autoescape):
    return src if autoescape else "{% autoescape off %}" + src + "{% endautoescape %}"


def render(c):
    templates = dict(c["extra_templates"])
    templates["case.html"] = c["template"]
    engine = Engine(libraries=LIBRARIES, loaders=[("django.template.loaders.locmem.Loader", templates)])
    phase = "parse"
    try:
        t = engine.get_template("case.html")
        ctx = from_json(dict(BASE, **c["context"]))
        phase = "render"
        if c.get("request"):
            request = RequestFactory().get(c["request"])
            ctx["request"] = request
            return {"output": t.render(RequestContext(request, ctx))}
        return {"output": t.render(Context(ctx))}
    except Exception as e:  # noqa: BLE001 - every exception is a result
        return {"error": {"phase": phase, "type": type(e).__name__, "message": str(e)}}


def main():
    freeze_clock()
    from django.core.cache import caches
    filters = sorted(defaultfilters.register.filters)
    tags = sorted(defaulttags.register.tags)
    loader = sorted(loader_tags.register.tags)
    subjects = {c["subject"] for c in CASES}
    uncovered = [("filter:" + x) for x in filters if "filter:" + x not in subjects]
    uncovered += [("tag:" + x) for x in tags + loader if "tag:" + x not in subjects]
    if uncovered:
        sys.exit("no case for " + ", ".join(uncovered))
    out, counts = [], {}
    for spec in CASES:
        modes = {"on": [True], "off": [False], "both": [True, False]}[spec["mode"]]
        counts[spec["subject"]] = counts.get(spec["subject"], 0) + 1
        for autoescape in modes:
            cid = "%s#%d" % (spec["subject"], counts[spec["subject"]])
            if not autoescape and spec["mode"] == "both":
                cid += "/off"
            c = {"id": cid, "subject": spec["subject"], "autoescape": autoescape,
                 "template": wrap(spec["template"], autoescape)}
            if spec["extra"]:
                c["extra_templates"] = spec["extra"]
            c["context"] = spec["ctx"]
            if spec["request"]:
                c["request"] = spec["request"]
            if spec["clock"]:
                c["clock"] = True
            if spec["note"]:
                c["note"] = spec["note"]
            if spec["skip"]:
                c["skip"] = spec["skip"]
            else:
                caches["default"].clear()
                c.update(render(dict(c, extra_templates=spec["extra"])))
            out.append(c)
    _env.OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "data"))
    _env.dump("template_fidelity", {
        "registry": {"filters": filters, "tags": tags, "loader_tags": loader},
        "libraries": LIBRARIES,
        "base_context": BASE,
        "cases": out,
    })


if __name__ == "__main__":
    main()
