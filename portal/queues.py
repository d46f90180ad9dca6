"""Enqueueing background work. The database row is the record of truth; RQ only carries work.

Jobs are enqueued when the surrounding transaction commits (django-rq's `on_db_commit` mode), with a
job id chosen here so the row can store it before the job exists. When Redis is unreachable the
caller gets `QueueUnavailable` (the web layer answers 503); work never runs inside a web request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import django_rq
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

GPU = "gpu"
INGEST = "ingest"
DEFAULT = "default"


class QueueUnavailable(Exception):
    """Redis cannot be reached; nothing was enqueued."""


def queue_is_available(name: str = DEFAULT) -> bool:
    try:
        django_rq.get_connection(name).ping()
    except RedisError:
        return False
    return True


def enqueue(
    queue_name: str,
    func: Callable | str,
    *args,
    job_timeout: int,
    job_id: str | None = None,
    retry=None,
    **kwargs,
) -> str:
    """Enqueue `func(*args, **kwargs)` on commit and return the RQ job id."""
    if not queue_is_available(queue_name):
        raise QueueUnavailable(
            _("The job queue (%(queue)s) is unreachable; nothing was saved. Try again in a minute.")
            % {"queue": queue_name}
        )
    job_id = job_id or uuid.uuid4().hex
    queue = django_rq.get_queue(queue_name)
    queue.enqueue(func, *args, job_id=job_id, job_timeout=job_timeout, retry=retry, **kwargs)
    return job_id


_ALIVE_STATES = {"queued", "started", "scheduled", "deferred"}


def job_is_alive(job_id: str, queue_name: str = DEFAULT) -> bool:
    """Does RQ still hold this job in a state that will run it? (False for unknown/failed/lost jobs.)

    RedisError propagates: with Redis unreachable nothing can be judged, and callers must not treat
    every job as lost."""
    from rq.exceptions import DeserializationError, NoSuchJobError
    from rq.job import Job

    if not job_id:
        return False
    try:
        job = Job.fetch(job_id, connection=django_rq.get_connection(queue_name))
    except (NoSuchJobError, DeserializationError):
        return False
    return job.get_status(refresh=False) in _ALIVE_STATES  # JobStatus is a str enum
