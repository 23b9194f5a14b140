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


def article_list(request):
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        return HttpResponseBadRequest("bad page")
    lo = (page - 1) * PAGE_SIZE
    rows = DATA["articles"][lo:lo + PAGE_SIZE] if page >= 1 else []
    response = render(request, "list.html", {
        "page": page,
        "next_page": page + 1,
        # Callables: the template calls them only when it renders them, inside
        # their {% cache %} fragments, as it would evaluate a lazy QuerySet.
        "articles": lambda: query(rows),
        "sidebar": lambda: query(SIDEBAR),
    })
    # What CommonMiddleware would add; without it gunicorn sends the page chunked.
    response["Content-Length"] = len(response.content)
    return response
