import django
from django.conf import settings
from django.core.cache import caches
from django.middleware.cache import CacheMiddleware
from django.urls import path
from django.utils.decorators import decorator_from_middleware_with_args
from django.views.decorators.cache import cache_page

import views


class ThreadSafeCacheMiddleware(CacheMiddleware):
    """CacheMiddleware with the fix of Django ticket #33252, for Django 3.2.

    Django 3.2's cache_page takes its cache object once, in the thread that
    imports this file, and shares it with every thread of a gthread worker:
    with memcached the threads then use (and, at the end of each request,
    close) one pymemcache client, and requests fail. Later Django versions
    look the cache up per thread, as this property does.
    """

    cache = property(lambda self: caches[self.cache_alias], lambda self, value: None)


def page_cache(timeout):
    if django.VERSION >= (4, 1):
        return cache_page(timeout)
    return decorator_from_middleware_with_args(ThreadSafeCacheMiddleware)(page_timeout=timeout)


list_view, collection_view = views.article_list, views.article_collection
if settings.MODE == "page":
    list_view, collection_view = page_cache(60)(list_view), page_cache(60)(collection_view)

urlpatterns = [
    path("articles/", list_view),
    path("articles/collection/", collection_view),
]
