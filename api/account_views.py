"""Your account's API tokens: make one (shown once), see when each was last used, revoke."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from api import tokens
from api.forms import TokenForm


@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    made = None
    if request.method == "POST" and form.is_valid():
        try:
            token, made = tokens.create_token(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error)
        else:
            form = TokenForm()
    context = {
        "form": form,
        "made": made,
        "tokens": request.user.api_tokens.all(),
    }
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
