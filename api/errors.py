"""Errors as JSON: `{"detail": "..."}` as REST framework writes them, plus the refusals of the
product's services (a Django ValidationError) as 400 with their messages, never a 500."""

from django.core.exceptions import ValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as framework_handler


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        messages = exc.messages
        body = {"detail": " ".join(messages)}
        code = getattr(exc, "code", None)
        if code:
            body["code"] = code
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return framework_handler(exc, context)
