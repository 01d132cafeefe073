"""Requests no page could answer, refused before they reach one.

A null byte (%00) is never meaningful text, and PostgreSQL refuses to compare or store it: left
alone, `?extractor=%00` on an export, or a session cookie holding one, became a 500. It is
refused here once for the whole site with a 400 that names the parameter, so no view has to
remember it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL = "\x00"


def _form_fields(request: HttpRequest) -> Iterable[tuple[str, list[str]]]:
    try:
        return request.POST.lists()
    except OSError:  # the client went away mid-upload: the CSRF check answers that one
        return []


def _named_with_null_byte(fields: Iterable[tuple[str, list[str]]]) -> str | None:
    for name, values in fields:
        if NUL in name or any(NUL in value for value in values):
            return name
    return None


class RejectNullBytesMiddleware:
    """Early in MIDDLEWARE: before sessions are looked up. Form fields are read only from a POST
    that carries a form (request.POST is empty otherwise), which the CSRF check reads anyway."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sources = {
            "query parameter": request.GET.lists(),
            "cookie": ((name, [value]) for name, value in request.COOKIES.items()),
            "form field": _form_fields(request),
        }
        for where, fields in sources.items():
            name = _named_with_null_byte(fields)
            if name is not None:
                shown = name.replace(NUL, "%00")[:100]
                message = (
                    f"Bad request: the {where} {shown!r} contains a null byte (%00), "
                    f"which no part of reviewmgr accepts."
                )
                if request.path.startswith("/api/"):  # the API answers in JSON, refusals too
                    return JsonResponse({"detail": message}, status=400)
                return HttpResponseBadRequest(
                    message + "\n", content_type="text/plain; charset=utf-8"
                )
        return self.get_response(request)
