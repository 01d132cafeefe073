"""Screening through the API: your own decisions, and for leads the conflicts and their
resolution."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    parser_classes,
)
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as out
from api.parsers import JSONWithoutNullBytes
from api.views.common import LEAD, PAGED, REVIEWER, STAGE, choice, page, page_of, stage_state
from reviewmgr.permissions import get_review_for_user
from screening import services as screening
from screening.models import Decision, RecordScreening, Stage

# My decisions ---------------------------------------------------------------------------------


@extend_schema(
    methods=["GET"],
    parameters=[STAGE, *PAGED],
    responses=page_of(out.DecisionSerializer),
    operation_id="decisions_list",
    tags=["screening"],
)
@extend_schema(
    methods=["POST"],
    request=out.DecisionInputSerializer,
    responses={201: out.DecisionSerializer, 200: out.DecisionSerializer},
    tags=["screening"],
)
@api_view(["GET", "POST"])
@parser_classes([JSONWithoutNullBytes, FormParser])
def decision_list(request: Request, slug: str) -> Response:
    """Your own screening decisions (never another reviewer's). POST records one, or changes
    yours on that record while it is still open to change (201 new, 200 changed)."""
    review = get_review_for_user(request, slug, role=REVIEWER)
    if request.method == "GET":
        mine = Decision.objects.filter(record__review=review, reviewer=request.user)
        stage = choice(request, "stage", Stage.values)
        if stage:
            mine = mine.filter(stage=stage)
        return page(request, mine, out.DecisionSerializer)
    given = out.DecisionInputSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    values = dict(given.validated_data)
    state = stage_state(review, values.pop("record"), values["stage"])
    existed = Decision.objects.filter(
        record=state.record, stage=values["stage"], reviewer=request.user
    ).exists()
    decision = screening.record_decision(record=state.record, user=request.user, **values)
    code = status.HTTP_200_OK if existed else status.HTTP_201_CREATED
    return Response(out.DecisionSerializer(decision).data, status=code)


@extend_schema(methods=["GET"], responses=out.DecisionSerializer, tags=["screening"])
@extend_schema(
    methods=["PATCH"],
    request=out.DecisionChangeSerializer,
    responses=out.DecisionSerializer,
    tags=["screening"],
)
@extend_schema(methods=["DELETE"], responses={204: None}, tags=["screening"])
@api_view(["GET", "PATCH", "DELETE"])
@parser_classes([JSONWithoutNullBytes, FormParser])
def decision_detail(request: Request, slug: str, pk: int) -> Response:
    """One of your decisions. PATCH changes it, DELETE withdraws it (undo), while the record
    is still open to change."""
    review = get_review_for_user(request, slug, role=REVIEWER)
    decision = get_object_or_404(
        Decision.objects.select_related("record"),
        pk=pk,
        record__review=review,
        reviewer=request.user,
    )
    if request.method == "GET":
        return Response(out.DecisionSerializer(decision).data)
    if request.method == "DELETE":
        screening.withdraw_decision(
            record=decision.record, reviewer=request.user, stage=decision.stage
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
    given = out.DecisionChangeSerializer(data=request.data, partial=True)
    given.is_valid(raise_exception=True)
    values = {
        "verdict": decision.verdict,
        "reason": decision.reason,
        "note": decision.note,
        "tags": decision.tags,
        **given.validated_data,
    }
    changed = screening.record_decision(
        record=decision.record, user=request.user, stage=decision.stage, **values
    )
    return Response(out.DecisionSerializer(changed).data)


# Conflicts (leads) ----------------------------------------------------------------------------


@extend_schema(
    parameters=[STAGE, *PAGED],
    responses=page_of(out.ConflictSerializer),
    operation_id="conflicts_list",
    tags=["screening"],
)
@api_view(["GET"])
def conflict_list(request: Request, slug: str) -> Response:
    """Records in conflict, with every reviewer's decision (leads only)."""
    review = get_review_for_user(request, slug, role=LEAD)
    states = RecordScreening.objects.filter(review=review, status=RecordScreening.Status.CONFLICT)
    stage = choice(request, "stage", Stage.values)
    if stage:
        states = states.filter(stage=stage)
    decisions = Prefetch("record__decisions", Decision.objects.select_related("reviewer"))
    states = states.select_related("record").prefetch_related(decisions)
    return page(request, states, out.ConflictSerializer)


@extend_schema(
    request=out.ResolutionInputSerializer,
    responses={200: out.ResolutionSerializer},
    tags=["screening"],
)
@api_view(["POST"])
@parser_classes([JSONWithoutNullBytes, FormParser])
def resolve(request: Request, slug: str, pk: int) -> Response:
    """The lead's final decision on record `pk` at a stage (usually one in conflict)."""
    review = get_review_for_user(request, slug, role=LEAD)
    given = out.ResolutionInputSerializer(data=request.data)
    given.is_valid(raise_exception=True)
    values = dict(given.validated_data)
    state = stage_state(review, pk, values["stage"])
    resolution = screening.resolve_record(record=state.record, user=request.user, **values)
    return Response(out.ResolutionSerializer(resolution).data)
