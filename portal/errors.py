"""Error pages that also leave a trace: a refused action is an audit event (`permission.denied`)."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpResponse
from django.shortcuts import render

from accounts import audit

logger = logging.getLogger(__name__)


def record_permission_denied(request) -> None:
    """One `permission.denied` event for this request (the API's exception handler may call it too).

    A failure to record is logged, never raised: the refusal itself must not turn into a 500.
    """
    user = getattr(request, "user", None)
    signed_in = getattr(user, "is_authenticated", False)
    department = getattr(request, "department", None) if signed_in else None
    try:
        audit.record(
            audit.AuditAction.PERMISSION_DENIED,
            actor=user,
            department=department or None,  # resolves the lazy active department; none -> None
            request=request,
            details={"method": request.method, "path": request.path[:500]},
        )
    except DatabaseError:
        logger.exception("could not record permission.denied for %s", request.path)


def permission_denied(request, exception=None) -> HttpResponse:
    """handler403: record who was refused what, then render templates/403.html."""
    record_permission_denied(request)
    return render(request, "403.html", status=403)
