"""Shared bootstrap for the golden-vector scripts (a copy of the project's shared
golden/_env.py; template_fidelity.py overrides OUT_DIR).

Every script in this folder runs under any Django version >= 3.2:

    python3 fragment_keys.py   # with Debian python3-django 3.2.25 (+LTS patches)
    PYTHONPATH=<django-6.1.1 tree>:<its deps> python3.13 fragment_keys.py   # Django 6.1.1

Results go to out/<script>__django-<version>.json next to this file.
"""
import json
import os
import sys
import time
from unittest import mock

import django
from django.conf import settings

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "out")

# A fixed wall clock so Expires/Age/expiry values are reproducible.
FIXED_NOW = 1700000000.0  # Tue, 14 Nov 2023 22:13:20 GMT


def configure(**extra):
    base = dict(
        DEBUG=False,
        SECRET_KEY="golden",
        ALLOWED_HOSTS=["*"],
        USE_I18N=False,
        USE_TZ=False,
        TIME_ZONE="UTC",
        LANGUAGE_CODE="en-us",
        ROOT_URLCONF=__name__,
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                        "LOCATION": "golden-default"},
        },
        CACHE_MIDDLEWARE_KEY_PREFIX="",
        CACHE_MIDDLEWARE_SECONDS=600,
        CACHE_MIDDLEWARE_ALIAS="default",
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "OPTIONS": {"libraries": {"cache": "django.templatetags.cache"}}}],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
    )
    if django.VERSION < (4, 0):
        base["USE_L10N"] = False
    base.update(extra)
    settings.configure(**base)
    django.setup()
    # Importing django.test wires the setting_changed receivers that reset
    # caches when override_settings(CACHES=...) is used.
    import django.test as _django_test  # noqa: F401


urlpatterns = []


def version_tag():
    return django.get_version()


def dump(name, payload):
    os.makedirs(OUT_DIR, exist_ok=True)
    payload = {
        "django_version": django.get_version(),
        "python_version": sys.version.split()[0],
        "django_file": django.__file__,
        "fixed_now": FIXED_NOW,
        **payload,
    }
    path = os.path.join(OUT_DIR, "%s__django-%s.json" % (name, django.get_version()))
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=1, ensure_ascii=False, sort_keys=False)
        fh.write("\n")
    print("wrote", path)
    return path


class Clock:
    """Patch time.time() everywhere (it is looked up at call time)."""

    def __init__(self, now=FIXED_NOW):
        self.now = now
        self._patch = mock.patch("time.time", side_effect=lambda: self.now)

    def __enter__(self):
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()

    def advance(self, seconds):
        self.now += seconds


def exc_info(e):
    return {"type": type(e).__name__, "message": str(e)}
