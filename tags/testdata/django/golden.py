"""Renders the cases of a *.cases.json file with the Django found on
sys.path and prints them with Django's output, as JSON.

    /usr/bin/python3 golden.py cycle.cases.json            # Debian's Django 3.2
    PYTHONPATH=$DJANGO61_PATH $PY312 golden.py cycle.cases.json

The file holds {"contexts": {name: {...}}, "cases": [...]}; a case is
{"t": template, "ctx": {...} or the name of a shared context, "files":
{...}}; "files" are templates a case may include (locmem loader). The
output adds to each case "out" (the rendered text) or "err" (exception
class: message), and "django" (the version). regen.sh writes the
*.golden*.json files the Go tests read.
"""
import json
import sys

import django
from django.conf import settings

import datetime as _dt

from django.utils.safestring import mark_safe


def _special(v):
    """Decodes the context values JSON cannot hold: {"__datetime__": iso}
    (an aware datetime), {"__now__": seconds} (now in UTC plus that many
    seconds, at render time) and {"__safe__": text} (a string marked safe)."""
    if isinstance(v, dict):
        if "__safe__" in v:
            return mark_safe(v["__safe__"])
        if "__datetime__" in v:
            return _dt.datetime.fromisoformat(v["__datetime__"])
        if "__now__" in v:
            return _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=v["__now__"])
        return {k: _special(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_special(x) for x in v]
    return v


doc = json.load(open(sys.argv[1]))
contexts, cases = doc["contexts"], doc["cases"]
files = {}
for c in cases:
    files.update(c.get("files", {}))
settings.configure(
    TEMPLATES=[{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [("django.template.loaders.locmem.Loader", files)],
            "builtins": [],
        },
    }],
    USE_I18N=True, USE_TZ=False, LANGUAGE_CODE="en-us", INSTALLED_APPS=["django.contrib.humanize"],
)
django.setup()
from django.template import engines  # noqa: E402

eng = engines["django"]
out = []
for c in cases:
    r = dict(c)
    try:
        ctx = c.get("ctx", {})
        if isinstance(ctx, str):
            ctx = contexts[ctx]
        r["out"] = eng.from_string(c["t"]).render(_special(ctx))
    except Exception as e:  # the error is the expected result
        r["err"] = type(e).__name__ + ": " + str(e)
    r["django"] = django.get_version()
    out.append(r)
json.dump({"contexts": contexts, "cases": out}, sys.stdout, ensure_ascii=False, indent=1)
print()
