"""The worker class for `manage.py rqworker`: in-process jobs plus the reconciler as housekeeping.

SimpleWorker runs jobs in the worker process itself (no fork per job), so the lip-sync model is
loaded once per process and stays warm on its GPU. Every RECONCILE_INTERVAL_S the worker also runs the
reconciler, so lost or orphaned items are recovered as long as any worker is alive.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import close_old_connections
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from portal.queues import GPU

logger = logging.getLogger(__name__)


class PortalWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", settings.RECONCILE_INTERVAL_S)
        # The portal's queues carry JSON only (pickle payloads are never accepted), whatever the
        # command line's --serializer default says.
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)
        if GPU in self.queue_names():
            self._warm_up()

    def _warm_up(self) -> None:
        """Import the engine and build the default backend before the first item, not during it."""
        from jobs import engine
        from synthesis import pipeline  # noqa: F401  (heavy imports: OpenCV, MediaPipe, NumPy)

        try:
            engine.backend_for(settings.DEFAULT_SYNTHESIS_BACKEND)
        except Exception:  # a missing checkpoint is reported per item, with its reason
            logger.exception("could not preload the %s backend", settings.DEFAULT_SYNTHESIS_BACKEND)

    @property
    def dequeue_timeout(self) -> int:
        # Wake up regularly even when idle, so housekeeping runs on time.
        return max(1, min(super().dequeue_timeout, settings.RECONCILE_INTERVAL_S))

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        from jobs.reconcile import reconcile

        close_old_connections()
        try:
            outcome = reconcile()
        except Exception:  # housekeeping must never kill the worker
            logger.exception("reconcile failed")
        else:
            if any(outcome.values()):
                logger.info("reconcile: %s", outcome)
