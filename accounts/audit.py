"""The single entry point for recording who did what.

Every domain action calls `record(...)` exactly once, inside the transaction of the change. Until the
audit trail issue lands the event is written to the log only; the call sites are already final.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("audit")


def record(
    action: str,
    *,
    actor=None,
    department=None,
    obj: Any = None,
    request=None,
    details: dict | None = None,
) -> None:
    """Record one audit event (action names are dotted: 'presenter.upload', 'job.create', ...)."""
    username = getattr(actor, "username", None) or "-"
    target = f"{type(obj).__name__}:{getattr(obj, 'pk', '')}" if obj is not None else "-"
    logger.info(
        "audit %s actor=%s department=%s object=%s details=%s",
        action,
        username,
        getattr(department, "slug", "-"),
        target,
        details or {},
    )
