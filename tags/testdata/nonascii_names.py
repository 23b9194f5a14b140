"""Golden vectors for {% cache %} fragment names pongo2 cannot lex.

Renders real {% cache %} tags with real Django (Debian's 3.2 under
/usr/bin/python3; 6.1 with PYTHONPATH from ../shared/django/setup.sh) and
records the keys Django stored in a locmem cache and the key of
make_template_fragment_key. Run from this directory:

    /usr/bin/python3 nonascii_names.py
    PYTHONPATH=$DJANGO61_PATH $PY312 nonascii_names.py

It writes nonascii_names__django-<version>.json here.
"""
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False, SECRET_KEY="golden", USE_I18N=False, USE_TZ=False,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                        "LOCATION": "nonascii"}},
    TEMPLATES=[], INSTALLED_APPS=[],
)
django.setup()

from django.core.cache import caches  # noqa: E402
from django.core.cache.utils import make_template_fragment_key  # noqa: E402
from django.template import Context, Engine  # noqa: E402

CASES = [
    # (template after {% load cache %}, context, fragment name, vary_on values)
    ("{% cache 300 sidébar %}x{% endcache %}", {}, "sidébar", []),
    ("{% cache 300 侧边栏 %}x{% endcache %}", {}, "侧边栏", []),
    ("{% cache 300 侧边栏 user %}x{% endcache 侧边栏 %}", {"user": "alice"}, "侧边栏", ["alice"]),
    ("{% cache 300 sidébar user lang %}x{% endcache %}", {"user": "bob", "lang": "fr"}, "sidébar", ["bob", "fr"]),
    ("{% cache 300 naïve-ñame.x %}x{% endcache %}", {}, "naïve-ñame.x", []),
    ("{% cache 300 a;b$c %}x{% endcache %}", {}, "a;b$c", []),
    ("{% cache 300 😀 %}x{% endcache %}", {}, "😀", []),
]

engine = Engine(libraries={"cache": "django.templatetags.cache"})
rows = []
for src, ctx, name, vary in CASES:
    c = caches["default"]
    c.clear()
    out = engine.from_string("{% load cache %}" + src).render(Context(ctx))
    rows.append({
        "template": src,
        "context": ctx,
        "output": out,
        "fragment_name": name,
        "vary_on": vary,
        "stored_keys": sorted(c._cache.keys()),
        "make_template_fragment_key": make_template_fragment_key(name, vary),
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    "nonascii_names__django-%s.json" % django.get_version())
with open(path, "w", encoding="utf-8") as fh:
    json.dump({"django_version": django.get_version(), "python_version": sys.version.split()[0],
               "cases": rows}, fh, indent=1, ensure_ascii=False)
    fh.write("\n")
print("wrote", path)
