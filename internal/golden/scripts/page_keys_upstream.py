"""Page keys of upstream Django releases before the CVE-2026-113593 fix
(3.2 to 5.2.18, every 4.x, 6.0.0 to 6.0.9), where a Vary-listed header that
is absent hashes as nothing and so collides with an empty one.

The machine has Debian's 3.2.25, which carries the fix. This script runs it
with django.utils.cache._generate_cache_key replaced by upstream 3.2.25's
function, copied verbatim below (the only code the fix changed), and
records what learn_cache_key and get_cache_key give:

    /usr/bin/python3 page_keys_upstream.py

writes ../data/page_keys_upstream__django-3.2.25.json (internal/golden/data).
"""
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _env  # noqa: E402

_env.configure()

import django.utils.cache as dj_cache  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402


def _generate_cache_key(request, method, headerlist, key_prefix):
    """Return a cache key from the headers given in the header list."""
    # Upstream Django 3.2.25, django/utils/cache.py, verbatim.
    ctx = hashlib.md5()
    for header in headerlist:
        value = request.META.get(header)
        if value is not None:
            ctx.update(value.encode())
    url = hashlib.md5(request.build_absolute_uri().encode('ascii'))
    cache_key = 'views.decorators.cache.cache_page.%s.%s.%s.%s' % (
        key_prefix, method, url.hexdigest(), ctx.hexdigest())
    return dj_cache._i18n_cache_key_suffix(request, cache_key)


dj_cache._generate_cache_key = _generate_cache_key

CASES = [
    # label, Vary, request headers (WSGI names)
    ("no vary", "", {}),
    ("cookie present", "Cookie", {"HTTP_COOKIE": "a=1"}),
    ("cookie absent", "Cookie", {}),
    ("cookie empty", "Cookie", {"HTTP_COOKIE": ""}),
    ("two present", "Cookie, Accept-Encoding", {"HTTP_COOKIE": "a=1", "HTTP_ACCEPT_ENCODING": "gzip"}),
    ("first absent", "Cookie, Accept-Encoding", {"HTTP_COOKIE": "a=1"}),
    ("second absent", "Cookie, Accept-Encoding", {"HTTP_ACCEPT_ENCODING": "gzip"}),
    ("both absent", "Cookie, Accept-Encoding", {}),
    ("both empty", "Cookie, Accept-Encoding", {"HTTP_COOKIE": "", "HTTP_ACCEPT_ENCODING": ""}),
    ("non-ascii", "X-A", {"HTTP_X_A": "caf\xe9"}),
]


def main():
    cache = caches["default"]
    rows = []
    for label, vary, headers in CASES:
        cache.clear()
        req = RequestFactory().get("/p?q=1", **headers)
        resp = HttpResponse("x")
        if vary:
            resp["Vary"] = vary
        learned = dj_cache.learn_cache_key(req, resp, cache_timeout=60, key_prefix="", cache=cache)
        rows.append({"case": label, "vary": vary, "headers": headers, "learned": learned,
                     "get_cache_key": dj_cache.get_cache_key(req, key_prefix="", method="GET", cache=cache)})
    _env.OUT_DIR = os.path.normpath(os.path.join(HERE, "..", "data"))
    _env.dump("page_keys_upstream", {"cases": rows})


if __name__ == "__main__":
    main()
