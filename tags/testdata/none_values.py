"""Golden vectors for {% cache %} arguments that resolve to None.

Renders real {% cache %} tags with real Django (Debian's 3.2 under
/usr/bin/python3; 6.1 with PYTHONPATH from ../shared/django/setup.sh) whose
vary-on or timeout variables are None, absent, or None on the way, and
records the keys Django stored and their expiry (null: forever). Run from
this directory:

    /usr/bin/python3 none_values.py
    PYTHONPATH=$DJANGO61_PATH $PY312 none_values.py

It writes none_values__django-<version>.json here.
"""
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False, SECRET_KEY="golden", USE_I18N=False, USE_TZ=False,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                        "LOCATION": "none-values"}},
    TEMPLATES=[], INSTALLED_APPS=[],
)
django.setup()

from django.core.cache import caches  # noqa: E402
from django.template import Context, Engine  # noqa: E402

CASES = [
    # (template after {% load cache %}, context)
    ("{% cache 10 frag a %}x{% endcache %}", {"a": None}),
    ("{% cache 10 frag a %}x{% endcache %}", {}),
    ("{% cache 10 frag u.p %}x{% endcache %}", {"u": {"p": None}}),
    ("{% cache 10 frag u.p.q %}x{% endcache %}", {"u": {"p": None}}),
    ("{% cache 10 frag u.missing %}x{% endcache %}", {"u": {"p": None}}),
    ("{% cache 10 frag a b %}x{% endcache %}", {"a": None, "b": "x"}),
    ("{% cache t frag %}x{% endcache %}", {"t": None}),
    ("{% cache u.t frag %}x{% endcache %}", {"u": {"t": None}}),
]

engine = Engine(libraries={"cache": "django.templatetags.cache"})
rows = []
for src, ctx in CASES:
    c = caches["default"]
    c.clear()
    out = engine.from_string("{% load cache %}" + src).render(Context(ctx))
    rows.append({
        "template": src,
        "context": ctx,
        "output": out,
        "stored_keys": sorted(c._cache.keys()),
        "forever": [v is None for _, v in sorted(c._expire_info.items())],
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "none_values__django-%s.json" % django.get_version())
with open(path, "w", encoding="utf-8") as fh:
    json.dump({"django_version": django.get_version(), "python_version": sys.version.split()[0],
               "cases": rows}, fh, indent=1, ensure_ascii=False)
    fh.write("\n")
print("wrote", path)
