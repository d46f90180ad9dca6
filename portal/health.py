"""`/healthz`: what an operator or load balancer needs to know, as JSON, 200 or 503.

Database, Redis and free disk are critical (the portal cannot work without them); worker counts are
reported so a monitor can alert, but a portal with no live worker still serves pages (200).
"""

import shutil
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def _check_redis() -> dict:
    _redis().ping()
    return {"ok": True}


def _check_disk() -> dict:
    usage = shutil.disk_usage(settings.MEDIA_ROOT if settings.MEDIA_ROOT.exists() else settings.BASE_DIR)
    return {"ok": usage.free >= settings.MIN_FREE_DISK_BYTES, "free_bytes": usage.free, "total_bytes": usage.total}


def _check_workers() -> dict:
    from rq import Worker

    workers = Worker.all(connection=_redis())
    per_queue: dict[str, int] = {}
    for worker in workers:
        for name in worker.queue_names():
            per_queue[name] = per_queue.get(name, 0) + 1
    return {"ok": True, "live": len(workers), "per_queue": per_queue}


CRITICAL_CHECKS = {"database": _check_database, "redis": _check_redis, "disk": _check_disk}
INFORMATIONAL_CHECKS = {"workers": _check_workers}


def _run(check) -> dict:
    started = time.monotonic()
    try:
        result = check()
    except Exception as exc:  # a health check reports failures, it never raises
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


@never_cache
@require_GET
def healthz(request):
    checks = {name: _run(fn) for name, fn in {**CRITICAL_CHECKS, **INFORMATIONAL_CHECKS}.items()}
    healthy = all(checks[name]["ok"] for name in CRITICAL_CHECKS)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
