"""Password reset by e-mail: only where mail can be sent, and never as a flood.

Without a mail server (no EMAIL_URL or EMAIL_HOST, so no default mailer; see settings) the
reset page says so and sends nothing. With one, the reset works as Django's own, under two
limits counted in the shared cache: requests from one client address and requests for one
e-mail address, each over a quarter of an hour, so that the form can neither fill someone's
inbox nor probe addresses in bulk.
"""

from __future__ import annotations

import hashlib

from axes.helpers import get_client_ip_address
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.core.mail import DEFAULT_MAILER_ALIAS, mailers
from django.http import HttpRequest

RESET_WINDOW_SECONDS = 15 * 60
RESETS_PER_CLIENT = 5
RESETS_PER_ADDRESS = 3


def can_send_mail() -> bool:
    """False until a mail server is configured: the settings define no mailer before."""
    return DEFAULT_MAILER_ALIAS in mailers


def _counted(key: str) -> int:
    """One more request under `key`; how many there have been in its window so far.

    The window starts with the first request, so a burst is refused for at most its length."""
    cache.add(key, 0, RESET_WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between the two calls
        cache.add(key, 1, RESET_WINDOW_SECONDS)
        return 1


def allow_reset_request(*, request: HttpRequest, email: str) -> bool:
    """Counts this request against its client address and the address it names (kept as a
    digest: the cache never holds people's addresses); False once either is over its limit."""
    client = get_client_ip_address(request) or "unknown"
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    from_client = _counted(f"password-reset:client:{client}")
    for_address = _counted(f"password-reset:address:{address}")
    return from_client <= RESETS_PER_CLIENT and for_address <= RESETS_PER_ADDRESS


def send_password_reset(*, form: PasswordResetForm, request: HttpRequest) -> None:
    """Mails a one-use link to every active account with the form's address, as Django's own
    view does; nothing tells the visitor whether there was one. A mail server that refuses is
    logged by Django, not shown."""
    form.save(
        request=request,
        use_https=request.is_secure(),
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
    )
