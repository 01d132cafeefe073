from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from reviewmgr import services
from reviewmgr.forms import AddMemberForm, MemberRolesForm
from reviewmgr.models import Membership
from reviewmgr.permissions import get_review_for_user


@require_http_methods(["GET", "POST"])
def member_list(request: HttpRequest, slug: str) -> HttpResponse:
    review = get_review_for_user(request, slug)
    form = AddMemberForm(request.POST or None)
    if request.method == "POST":
        review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
        if form.is_valid():
            try:
                membership = services.add_member(
                    review=review, user=request.user, **form.cleaned_data
                )
            except ValidationError as error:
                form.add_error("username", error)
            else:
                messages.success(request, f"{membership.user.username} added.")
                return redirect("reviewmgr:member_list", review.slug)
    memberships = review.memberships.select_related("user")
    return render(
        request,
        "reviewmgr/member_list.html",
        {"review": review, "memberships": memberships, "form": form},
    )


@require_POST
def member_update(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    membership = get_object_or_404(review.memberships, pk=pk)
    form = MemberRolesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the member at least one role.")
        return redirect("reviewmgr:member_list", review.slug)
    try:
        services.set_member_roles(
            membership=membership, roles=form.cleaned_data["roles"], user=request.user
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Roles of {membership.user.username} saved.")
    return redirect("reviewmgr:member_list", review.slug)


@require_POST
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    review = get_review_for_user(request, slug, role=Membership.Role.LEAD)
    membership = get_object_or_404(review.memberships.select_related("user"), pk=pk)
    try:
        services.remove_member(membership=membership, user=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{membership.user.username} removed from the review.")
    return redirect("reviewmgr:member_list", review.slug)
