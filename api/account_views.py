"""Your account's API tokens: make one (shown once), see when each was last used, revoke."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens
from api.forms import TokenForm

NEW_TOKEN = "api-new-token"  # noqa: S105 (a session key, not a secret)


@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """A new token is kept in the session until the page after the POST shows it, once: a
    reload neither shows it again nor makes another."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, text = tokens.create_token(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error)
        else:
            request.session[NEW_TOKEN] = text
            return redirect("api_tokens:list")
    made = request.session.pop(NEW_TOKEN, None) if request.method == "GET" else None
    context = {"form": form, "made": made, "tokens": request.user.api_tokens.all()}
    response = render(request, "api/tokens.html", context)
    if made:
        response["Cache-Control"] = "no-store"  # the token is on this page only, once
    return response


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    tokens.revoke_token(token=token, user=request.user)
    messages.success(request, f"Token “{token.name}” revoked: scripts using it are refused now.")
    return redirect("api_tokens:list")
