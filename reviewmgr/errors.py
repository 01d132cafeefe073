"""The page for an unexpected error, and the clear answer when the database cannot be reached.

Every write of the product runs in a transaction, so a connection lost midway rolls the whole
write back; the user is told that nothing was saved and can try again. Any other unexpected
error keeps the plain 500 page (and is logged by Django).
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

DATABASE_AWAY = (
    "The database could not be reached, so nothing was saved: what you just did (a decision, "
    "an edit, an upload) did not happen. Try again in a moment; if this goes on, tell whoever "
    "runs reviewmgr."
)


def database_unreachable(error: BaseException | None) -> bool:
    """A refused or lost connection (or a locked SQLite file), not a faulty query."""
    return isinstance(error, OperationalError | InterfaceError)


API = "/api/"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 page; under /api/, the API's JSON, as its schema says a 404 is."""
    if request.path.startswith(API):
        detail = "There is no such address in the API; its addresses are listed at /api/docs/."
        return JsonResponse({"detail": detail}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Pages are rendered without the request: its context processors would query again.
    away = database_unreachable(sys.exc_info()[1])
    if request.path.startswith(API):
        detail = DATABASE_AWAY if away else "An unexpected error on the server; it is logged."
        response = JsonResponse({"detail": detail}, status=503 if away else 500)
        if away:
            response["Retry-After"] = "10"
        return response
    if not away:
        return HttpResponse(render_to_string("500.html"), status=500)
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
    if request.headers.get("HX-Request"):
        body = f'<p class="message error" role="alert">{DATABASE_AWAY}</p>'
    else:
        body = render_to_string("503.html", {"message": DATABASE_AWAY})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = "10"
    response["Cache-Control"] = "no-store"
    return response
