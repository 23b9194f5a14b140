"""URLconf for template_fidelity.py's {% url %} cases."""
from django.http import HttpResponse
from django.urls import path


def view(request, year):
    return HttpResponse(str(year))


urlpatterns = [
    path("articles/<int:year>/", view, name="article"),
]
