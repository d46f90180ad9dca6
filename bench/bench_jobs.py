"""Batch-job overhead and throughput with real Redis and real `manage.py rqworker` processes.

Measures, on a private SQLite database, media folder and Redis database:
- per-item overhead beyond engine time: (item finished - item started) - engine's own total time,
  and queue latency (queued -> started);
- wall time and throughput of a 10-item batch with 1 worker, then 2 workers;
- that the batch's audio analysis is computed once (items report "computed" / "reused").

    .venv/bin/python bench/bench_jobs.py [--items 10] [--workers 1,2] [--seconds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "var" / "bench-jobs"


def _env(redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{WORK / 'bench.sqlite3'}",
        MEDIA_ROOT=str(WORK / "media"),
        SYNTHESIS_CACHE_DIR=str(WORK / "cache"),
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        LOG_LEVEL="WARNING",
    )
    return env


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _ready_media(seconds: float, items: int):
    """Upload one presenter and one audio through the real services, ingest them, clone the presenter."""
    import django_rq
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import UploadedFile

    from accounts.models import Department, Membership
    from jobs.worker import PortalWorker
    from media_library import services as media
    from media_library.models import MediaStatus, Presenter
    from synthesis import samples

    dept = Department.objects.create(name="Bench", slug="bench", max_concurrent_items=items)
    user = get_user_model().objects.create_user("bench")
    Membership.objects.create(user=user, department=dept, role="dept_admin")
    clip = samples.make_presenter_clip(WORK / "presenter.mp4", seconds=seconds, width=640, height=480)
    speech = samples.make_speech(WORK / "speech.wav")

    def up(path: Path) -> UploadedFile:
        return UploadedFile(file=path.open("rb"), name=path.name, size=path.stat().st_size)

    presenter = media.upload_presenter(user=user, department=dept, uploaded=up(clip), title="Presenter 1")
    audio = media.upload_audio(user=user, department=dept, uploaded=up(speech), title="Speech", language="en")
    django_rq.get_worker("ingest", worker_class=PortalWorker).work(burst=True)
    presenter.refresh_from_db()
    audio.refresh_from_db()
    assert presenter.status == audio.status == MediaStatus.READY, (presenter.rejection_reason, audio.rejection_reason)
    clones = [presenter]
    for n in range(2, items + 1):
        clone = Presenter.objects.get(pk=presenter.pk)
        clone.pk = None
        clone.title = f"Presenter {n}"
        clone.save()
        clones.append(clone)
    return dept, user, audio, clones


def _run_batch(dept, user, audio, presenters, workers: int, env: dict[str, str]) -> dict:
    from jobs import services
    from jobs.models import BatchStatus

    batch = services.create_batch(user=user, department=dept, audio=audio, presenters=presenters)
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "gpu", "--burst"],
            cwd=ROOT,
            env=env,
            stdout=(WORK / f"worker-{workers}-{n}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for n in range(workers)
    ]
    for proc in procs:
        proc.wait()
    wall = time.monotonic() - t0
    batch.refresh_from_db()
    items = list(batch.items.all())
    assert batch.status == BatchStatus.SUCCEEDED, [(i.status, i.error) for i in items]
    def engine_s(i) -> float:  # the engine's own work, including analysing the audio and loading the model
        return i.timings["total"] + i.timings["audio_analysis_s"] + i.timings["backend_load_s"]

    overhead = [(i.finished_at - i.started_at).total_seconds() - engine_s(i) for i in items]
    latency = [(i.started_at - i.queued_at).total_seconds() for i in items]
    engine = [engine_s(i) for i in items]
    busy = (max(i.finished_at for i in items) - min(i.started_at for i in items)).total_seconds()
    return {
        "workers": workers,
        "items": len(items),
        "wall_s_incl_worker_start": round(wall, 2),
        "busy_wall_s": round(busy, 2),
        "items_per_min": round(60 * len(items) / busy, 2),
        "engine_s_median": round(statistics.median(engine), 3),
        "overhead_s_median": round(statistics.median(overhead), 3),
        "overhead_s_max": round(max(overhead), 3),
        "queue_latency_s_median": round(statistics.median(latency), 3),
        "audio_analyses_computed": [i.timings.get("audio_analysis") for i in items].count("computed"),
        "output_seconds": round(sum(i.output_duration for i in items), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seconds", type=float, default=4.0, help="presenter clip length")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    env = _env(args.redis_url)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    _setup_django(env)
    dept, user, audio, presenters = _ready_media(args.seconds, args.items)
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        shutil.rmtree(WORK / "cache", ignore_errors=True)  # each run computes its audio analysis afresh
        result = _run_batch(dept, user, audio, presenters, workers, env)
        results.append(result)
        print(json.dumps(result))
    print()
    header = [
        "workers",
        "items",
        "busy wall s",
        "items/min",
        "engine s",
        "overhead s med",
        "max",
        "queue s",
        "analyses",
    ]
    print(" | ".join(header))
    for r in results:
        row = [
            r["workers"],
            r["items"],
            r["busy_wall_s"],
            r["items_per_min"],
            r["engine_s_median"],
            r["overhead_s_median"],
            r["overhead_s_max"],
            r["queue_latency_s_median"],
            r["audio_analyses_computed"],
        ]
        print(" | ".join(str(v) for v in row))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"jobs-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
