"""The one gate every review page goes through.

Non-members get 404, so that a review's existence does not leak; members without the
required role get 403. Child objects are then fetched through the returned review.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from reviewmgr.models import Membership, Review


def get_membership(user, review: Review) -> Membership | None:
    if not user.is_authenticated:
        return None
    return review.memberships.filter(user=user).first()


def get_review_for_user(request: HttpRequest, slug: str, *, role: str | None = None) -> Review:
    """The review at `slug` if the user is a member (holding `role`, when given).

    The membership is attached as `review.membership` for templates and later checks. One
    query reads both: a review the user is not a member of and a review that does not exist
    look the same (404). The review also gets the request's memo (see `remember`).
    """
    membership = None
    if request.user.is_authenticated:
        found = Membership.objects.select_related("review").filter(review__slug=slug)
        membership = found.filter(user=request.user).order_by().first()
    if membership is None:
        raise Http404("No such review.")
    review = membership.review
    if role is not None and not membership.has_role(role):
        role_label = Membership.Role(role).label.lower()
        raise PermissionDenied(f"Only a {role_label} of this review can do that.")
    review.membership = membership
    review.request_memo = {}
    return review


def remember[T](review: Review, key: str, compute: Callable[[], T]) -> T:
    """`compute()` once per request for a review that came through the gate, whose memo
    lives as long as the request; every time for any other instance (a task's, a command's,
    which may live long). For what many parts of one request read and none of it changes
    (the screening settings, the stages that ended): whatever changes it `forget`s it."""
    memo = getattr(review, "request_memo", None)
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(review: Review, key: str) -> None:
    memo = getattr(review, "request_memo", None)
    if memo is not None:
        memo.pop(key, None)
