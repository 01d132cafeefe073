"""The one gate every review page goes through.

Non-members get 404, so that a review's existence does not leak; members without the
required role get 403. Child objects are then fetched through the returned review.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from reviewmgr.models import Membership, Review


def get_membership(user, review: Review) -> Membership | None:
    if not user.is_authenticated:
        return None
    return review.memberships.filter(user=user).first()


def get_review_for_user(request: HttpRequest, slug: str, *, role: str | None = None) -> Review:
    """The review at `slug` if the user is a member (holding `role`, when given).

    The membership is attached as `review.membership` for templates and later checks.
    """
    review = Review.objects.filter(slug=slug).first()
    membership = get_membership(request.user, review) if review else None
    if membership is None:
        raise Http404("No such review.")
    if role is not None and not membership.has_role(role):
        role_label = Membership.Role(role).label.lower()
        raise PermissionDenied(f"Only a {role_label} of this review can do that.")
    review.membership = membership
    return review
