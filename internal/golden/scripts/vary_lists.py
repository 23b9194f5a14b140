"""Vary header lists as learn_cache_key stores them (django.utils.cache),
for the Vary values where Django's two tokenizers disagree: the regular
expression cc_delim_re = r'\\s*,\\s*' of Django <= 6.0, which keeps padding and
empty tokens, and 6.1's split_header_value, which strips each part and drops
the empty ones. The page cache refuses to store a page whose list differs
between the two under the legacy key scheme (httpx/pagecache).

    /usr/bin/python3 vary_lists.py                    # Debian's Django 3.2
    PYTHONPATH=<django tree> python3.12 vary_lists.py  # 5.2, 6.1

writes ../data/vary_lists__django-<version>.json (internal/golden/data).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _env  # noqa: E402

_env.configure()

from django.core.cache import caches  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402
from django.utils.cache import _generate_cache_header_key, learn_cache_key  # noqa: E402

VARY = [
    "Cookie",
    "Cookie, Accept-Encoding",
    "Cookie,",
    ",Cookie",
    " Cookie",
    "Cookie ",
    "A,,B",
    "A, ,B",
    "",
    " ",
    ",",
    "cookie ,  accept-encoding",
    "Accept-Language, Cookie",
    "Accept-Language ,Cookie",
    "X-\xe9",
    "Cookie,\tX-A",
    "Cookie\x0b, X-A",
    "Cookie\xa0, X-A",
    "*",
    "Cookie, *",
]


def learned(vary, i18n):
    with override_settings(USE_I18N=i18n):
        cache = caches["default"]
        cache.clear()
        req = RequestFactory().get("/v")
        resp = HttpResponse("x")
        resp["Vary"] = vary
        learn_cache_key(req, resp, cache_timeout=60, key_prefix="", cache=cache)
        return cache.get(_generate_cache_header_key("", req))


def main():
    cases = []
    for vary in VARY:
        for i18n in (False, True):
            cases.append({"vary": vary, "i18n": i18n, "list": learned(vary, i18n)})
    _env.OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "data"))
    _env.dump("vary_lists", {"cases": cases})


if __name__ == "__main__":
    main()
