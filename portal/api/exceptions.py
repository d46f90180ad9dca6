"""JSON errors with a stable `code` and a readable `message`; never a stack trace to the client.

Domain errors raised by the services (BatchRejected, QueueDown, UploadRejected, ...) are mapped here, in one
place, so views can simply let them propagate.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from jobs.services import BatchRejected, QueueDown
from media_library.validation import UploadRejected
from portal.errors import record_permission_denied
from portal.queues import QueueUnavailable

logger = logging.getLogger("portal.api")


class ApiError(exceptions.APIException):
    """An error with an explicit code and status (domain errors are translated into these)."""

    def __init__(self, message: str, code: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        self.status_code = status_code
        super().__init__(detail=message, code=code)


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, BatchRejected):
        return ApiError(str(exc), "batch_rejected")
    if isinstance(exc, UploadRejected):
        return ApiError(str(exc), "upload_rejected")
    if isinstance(exc, QueueDown | QueueUnavailable):
        return ApiError(str(exc), "queue_unavailable", status.HTTP_503_SERVICE_UNAVAILABLE)
    return exc


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and len(codes) == 1 and isinstance(codes[0], str):
        return codes[0]
    return exc.default_code


def _message(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, list) and len(detail) == 1:
        detail = detail[0]
    return str(detail) if not isinstance(detail, dict | list) else _("Some fields are invalid; see `errors`.")


def handle_exception(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: {"code", "message"[, "errors"]} for every error."""
    exc = _translate(exc)
    response = exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.exception("unhandled API error in %s", type(view).__name__ if view else "?", exc_info=exc)
        return Response(
            {"code": "server_error", "message": _("Something went wrong on our side; it has been logged.")},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if response.status_code == status.HTTP_403_FORBIDDEN and context.get("request") is not None:
        record_permission_denied(context["request"])  # refusals are audited on the API as on the pages
    body: dict = {"code": _code(exc), "message": _message(exc)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        body["code"] = "invalid"
        body["errors"] = exc.detail
    response.data = body
    return response
