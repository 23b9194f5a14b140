"""Django side of the fragcache benchmark (examples/bench/run.sh).

Configured from the environment, as run.sh starts it:

    BENCH_MODE       none | fragment | page
    BENCH_CACHE      locmem | memcached://HOST:PORT | redis://HOST:PORT/DB
                     (ignored in mode none, which uses DummyCache)
    BENCH_TEMPLATES  the shared template directory (examples/bench/templates)
    BENCH_DATA       the shared dataset (examples/bench/data/articles.json)
    BENCH_DB_DELAY_MS  simulated cost of one database query (default 2)
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = []
MIDDLEWARE = []
USE_I18N = False
USE_TZ = False

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [os.environ.get("BENCH_TEMPLATES", os.path.join(HERE, "..", "templates"))],
    "OPTIONS": {
        "context_processors": [],
        # {% cache %} without {% load cache %}, so that pongo2 reads the same files.
        "builtins": ["django.templatetags.cache"],
    },
}]

MODE = os.environ.get("BENCH_MODE", "fragment")
_cache = os.environ.get("BENCH_CACHE", "locmem")

if MODE == "none":
    _default = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
elif _cache == "locmem":
    _default = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
elif _cache.startswith("memcached://"):
    _default = {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": _cache[len("memcached://"):],
    }
elif _cache.startswith("redis://"):
    # Django 3.2 has no RedisCache (it came in 4.0): django-redis.
    _default = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": _cache}
else:
    raise ValueError("BENCH_CACHE: unknown cache %r" % _cache)

CACHES = {"default": _default}

# Errors (500s) to stderr, i.e. gunicorn's log: with DEBUG off Django only mails them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
