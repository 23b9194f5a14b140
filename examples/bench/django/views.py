import json
import os
import time

from django.http import HttpResponseBadRequest
from django.shortcuts import render

with open(os.environ.get("BENCH_DATA", os.path.join(os.path.dirname(__file__), "..", "data", "articles.json"))) as f:
    DATA = json.load(f)
PAGE_SIZE = DATA["page_size"]
SIDEBAR = {"popular": DATA["popular"], "tags": DATA["tags"]}
DELAY = float(os.environ.get("BENCH_DB_DELAY_MS", "2")) / 1000


def query(result):
    """One simulated database query: its cost, then its rows."""
    if DELAY > 0:
        time.sleep(DELAY)
    return result


def page_rows(request):
    """The page number of ?page= and its articles (None if it is not a number)."""
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        return None, None
    lo = (page - 1) * PAGE_SIZE
    return page, DATA["articles"][lo:lo + PAGE_SIZE] if page >= 1 else []


def respond(request, template, context):
    response = render(request, template, context)
    # What CommonMiddleware would add; without it gunicorn sends the page chunked.
    response["Content-Length"] = len(response.content)
    return response


def article_list(request):
    """/articles/: list.html, one {% cache %} fragment around the whole list."""
    page, rows = page_rows(request)
    if page is None:
        return HttpResponseBadRequest("bad page")
    return respond(request, "list.html", {
        "page": page,
        "next_page": page + 1,
        # Callables: the template calls them only when it renders them, inside
        # their {% cache %} fragments, as it would evaluate a lazy QuerySet.
        "articles": lambda: query(rows),
        "sidebar": lambda: query(SIDEBAR),
    })


def article_collection(request):
    """/articles/collection/: collection.html, one {% cache %} fragment per
    article and none around the loop.

    The view evaluates the articles query before rendering, as list(qs)
    would: a plain list, so that the for loop reading it has no side
    effects, and one query per request, cached fragments or not.
    """
    page, rows = page_rows(request)
    if page is None:
        return HttpResponseBadRequest("bad page")
    return respond(request, "collection.html", {
        "page": page,
        "next_page": page + 1,
        "articles": query(list(rows)),
        "sidebar": lambda: query(SIDEBAR),
    })
