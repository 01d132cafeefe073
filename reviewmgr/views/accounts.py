"""The password-reset request, in place of Django's: it says when this installation cannot send
mail, and it is throttled. Following the link, choosing the password and the pages after are
Django's own views, with this project's templates."""

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from reviewmgr import accounts

FORM = "registration/password_reset_form.html"


@login_not_required
@sensitive_post_parameters("email")
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    if not accounts.can_send_mail():
        return render(request, FORM, {"mail_off": True})
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST":
        email = request.POST.get("email", "")
        if not accounts.allow_reset_request(request=request, email=email):
            minutes = accounts.RESET_WINDOW_SECONDS // 60
            context = {"form": form, "throttled": True, "minutes": minutes}
            return render(request, FORM, context, status=429)
        if form.is_valid():
            accounts.send_password_reset(form=form, request=request)
            return redirect("password_reset_done")
    return render(request, FORM, {"form": form})


@login_not_required
def password_reset_done(request: HttpRequest) -> HttpResponse:
    if not accounts.can_send_mail():
        return redirect("password_reset")
    return render(request, "registration/password_reset_done.html")
