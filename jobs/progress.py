"""Progress from the engine to the item row: at most one write per second, plus an ETA and heartbeat.

A heartbeat thread keeps `heartbeat_at` fresh even while a stage reports nothing (a long encode),
so the reconciler can tell a slow item from a dead worker.
"""

from __future__ import annotations

import threading
import time

from django.db import connection
from django.utils import timezone

from jobs.models import ItemStatus, JobItem


class ProgressWriter:
    """Engine progress callback + cancel check for one item, throttled to one DB round trip per second."""

    def __init__(self, item_id: int, min_interval: float = 1.0, cancel_poll: float = 0.25) -> None:
        self.item_id = item_id
        self.min_interval = min_interval
        self.cancel_poll = cancel_poll
        self._last_write = 0.0
        self._last_stage = ""
        self._started = time.monotonic()
        self._last_cancel_check = 0.0
        self._canceled = False

    def __call__(self, event) -> None:
        now = time.monotonic()
        if event.stage == self._last_stage and now - self._last_write < self.min_interval:
            return
        percent = round(100.0 * event.fraction, 1)
        elapsed = now - self._started
        eta = elapsed * (1 - event.fraction) / event.fraction if event.fraction > 0.02 else None
        JobItem.objects.filter(pk=self.item_id, status=ItemStatus.RUNNING).update(
            progress=percent, stage=event.stage, eta_seconds=eta, heartbeat_at=timezone.now()
        )
        self._last_write, self._last_stage = now, event.stage

    def canceled(self) -> bool:
        """True once the row left `running` (a user canceled it); one indexed lookup per cancel_poll seconds."""
        now = time.monotonic()
        if not self._canceled and now - self._last_cancel_check >= self.cancel_poll:
            self._last_cancel_check = now
            status = JobItem.objects.filter(pk=self.item_id).values_list("status", flat=True).first()
            self._canceled = status != ItemStatus.RUNNING
        return self._canceled


class Heartbeat:
    """Touches the item's heartbeat every `interval` seconds from a daemon thread."""

    def __init__(self, item_id: int, interval: float) -> None:
        self.item_id = item_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{item_id}", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                JobItem.objects.filter(pk=self.item_id, status=ItemStatus.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
