"""Differential vectors for the page-key builder, from the Django installed
by Debian 12's python3-django (3.2.25+deb12u7: absent Vary header -> "-,").

Run with /usr/bin/python3 (the Python that imports Debian's Django):

    /usr/bin/python3 httpx/testdata/gen_django_page_keys.py > httpx/testdata/django_page_keys-3.2.25.json

Each case gives the WSGI inputs as hex bytes (PATH_INFO is the decoded
path, QUERY_STRING the raw query, both as the bytes a server received) and
Django's build_absolute_uri(), or "invalid" when get_host() raises
DisallowedHost, plus the cache key _generate_cache_key() gives for a fixed
header list.
"""
import io
import json
import random
import sys

import django
from django.conf import settings

settings.configure(ALLOWED_HOSTS=["*"], USE_I18N=False, USE_TZ=False,
                   CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
django.setup()

from django.core.exceptions import DisallowedHost  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.utils.cache import _generate_cache_key  # noqa: E402

rng = random.Random(20260611)

PATH_PIECES = [b"/", b"/", b"/", b"a", b"b", b"zz", b".", b"..", b"/./", b"/../", b"%", b"%41", b"%2F", b" ",
               b"?", b"#", b";", b"+", b"~", b"!", b"*", b"'", b"(", b")", b"@", b":", b"&", b"$", b",", b"=",
               b"[", b"]", b"\"", b"<", b"\\", b"^", b"`", b"{", b"|", b"}",
               "é".encode(), "😀".encode(), "\u00ff".encode(), b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80",
               b"\xef\xbf\xbd", b"\x00", b"\x7f", b"\t", b"\x1f", b"\x85", b"\xa0"]
QUERY_PIECES = [b"a", b"=", b"&", b"1", b"%", b"%20", b"%zz", b"+", b" ", b"#", b"?", b"/", b";", b"[", b"]",
                b"\"", b"<", b"'", b"~", b"\xc3\xa9", b"\xe9", b"\xff", b"\x00", b"\x7f", b"|", b"^", b"{"]
HOSTS = ["testserver", "example.com:8080", "WWW.Example.COM", "[::1]", "[::1]:8000", "[2001:DB8::1]:443",
         "a.b.c.", "xn--caf-dma.example", "localhost:0", "1.2.3.4", "bad host", "host:", "host:abc", ":80",
         "", ".", "..", "[::1", "::1", "a_b.example", "exa mple.com", "[]", "[:]", "[g::1]", "é.example",
         "host:80:90", "[::1]x"]
VALUES = [None, "", "x", "yz", "gzip, br", "caf\u00c3\u00a9", "\u00e9", "a=1; b=2", " spaced ", "\u00ff\u00fe"]


def pick(pieces, n):
    return b"".join(rng.choice(pieces) for _ in range(n))


cases = []
for i in range(400):
    path = pick(PATH_PIECES, rng.randint(0, 12))
    if rng.random() < 0.85:
        path = b"/" + path
    query = pick(QUERY_PIECES, rng.randint(0, 8)) if rng.random() < 0.6 else b""
    host = rng.choice(HOSTS) if rng.random() < 0.5 else "testserver"
    scheme = rng.choice(["http", "https"])
    xa, xb = rng.choice(VALUES), rng.choice(VALUES)
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path.decode("iso-8859-1"),
        "QUERY_STRING": query.decode("iso-8859-1"),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "HTTP_HOST": host,
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(b""),
    }
    if xa is not None:
        environ["HTTP_X_A"] = xa
    if xb is not None:
        environ["HTTP_X_B"] = xb
    req = WSGIRequest(environ)
    row = {"path": path.hex(), "query": query.hex(), "host": host, "scheme": scheme,
           "x_a": xa, "x_b": xb}
    try:
        row["uri"] = req.build_absolute_uri()
        row["key"] = _generate_cache_key(req, "GET", ["HTTP_X_A", "HTTP_X_B"], "p")
    except DisallowedHost:
        row["uri"] = "invalid"
    except Exception as e:  # pragma: no cover - recorded to be looked at
        row["uri"] = "error: %s: %s" % (type(e).__name__, e)
    cases.append(row)

json.dump({"django_version": django.get_version(), "python_version": sys.version.split()[0],
           "cases": cases}, sys.stdout, indent=1, ensure_ascii=True)
sys.stdout.write("\n")
