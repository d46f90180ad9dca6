"""Batch jobs end to end on real Redis with real RQ workers and real synthesis."""

from __future__ import annotations

import csv
import io
import os
import signal
import time
import zipfile
from pathlib import Path

import django_rq
import pytest
from django.urls import reverse

from jobs import services
from jobs.models import BatchStatus, ItemStatus, JobItem
from jobs.reconcile import reconcile
from synthesis.probe import probe_media

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _create(user, department, audio, presenters, **kwargs):
    return services.create_batch(user=user, department=department, audio=audio, presenters=presenters, **kwargs)


def _wait_for(predicate, timeout: float, message: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for: {message}")


def _partials(media_root: Path) -> list[Path]:
    return list(media_root.rglob("*.partial.mp4"))


def test_partial_failure_isolated_outputs_valid_and_zip(users, departments, media_set, make_presenter, burst_worker,
                                                        login, media_root):
    hr = departments["hr"]
    hr.max_concurrent_items = 3
    hr.save()
    good = media_set["presenters"][:2]
    broken = make_presenter(hr, "Broken file", corrupt=True)
    batch = _create(users["manager"], hr, media_set["audio"], [*good, broken])

    burst_worker("gpu")

    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_FAILED
    items = {i.presenter_id: i for i in batch.items.all()}
    failed = items[broken.pk]
    assert failed.status == ItemStatus.FAILED
    assert failed.attempts == 1, "an input error must not be retried"
    assert "could not be read" in failed.error and "Traceback" not in failed.error
    audio_duration = media_set["audio"].duration
    for presenter in good:
        item = items[presenter.pk]
        assert item.status == ItemStatus.SUCCEEDED, item.error
        info = probe_media(item.output.path)
        assert (info.width, info.height) == (320, 240)
        assert abs(info.fps - 25.0) < 0.01
        assert abs(info.duration - audio_duration) <= 1 / 25 + 0.05
        assert info.has_audio
        assert item.output_name == f"{presenter.title} - Travel policy.mp4"
        assert item.sync_score is not None and item.quality["sync"]["r"] == item.sync_score
    # the audio analysis was computed once for the whole batch, then reused
    marks = sorted(i.timings.get("audio_analysis") for i in items.values() if i.status == ItemStatus.SUCCEEDED)
    assert marks == ["computed", "reused"]
    assert not _partials(media_root)

    client = login(users["auditor"])
    response = client.get(reverse("job_zip", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    names = set(archive.namelist())
    assert names == {"manifest.csv", "Anna - Travel policy.mp4", "Ben - Travel policy.mp4"}
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    by_presenter = {r["presenter"]: r for r in rows}
    assert by_presenter["Broken file"]["status"] == "failed" and by_presenter["Broken file"]["error"]
    assert float(by_presenter["Anna"]["duration_s"]) == pytest.approx(audio_duration, abs=0.1)
    assert archive.read("Anna - Travel policy.mp4") == Path(items[good[0].pk].output.path).read_bytes()


def test_worker_killed_mid_item_is_recovered_without_partial_output(users, departments, media_set, worker_process,
                                                                   media_root):
    hr = departments["hr"]
    batch = _create(users["manager"], hr, media_set["audio"], media_set["presenters"][:1])
    item = batch.items.get()
    fast_recovery = {"JOB_HEARTBEAT_TIMEOUT_S": "3", "JOB_HEARTBEAT_INTERVAL_S": "0.5", "RECONCILE_INTERVAL_S": "1"}

    first = worker_process("gpu", burst=False, extra_env=fast_recovery)
    _wait_for(lambda: JobItem.objects.filter(pk=item.pk, status=ItemStatus.RUNNING, progress__gt=5).exists(),
              180, "the item to be running")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    time.sleep(4)  # let the heartbeat go stale

    second = worker_process("gpu", burst=False, extra_env=fast_recovery)
    _wait_for(lambda: JobItem.objects.get(pk=item.pk).status in (ItemStatus.SUCCEEDED, ItemStatus.FAILED),
              240, "the recovered item to finish")
    second.terminate()
    item.refresh_from_db()
    assert item.status == ItemStatus.SUCCEEDED, item.error
    assert item.requeues == 1 and item.attempts == 2
    assert probe_media(item.output.path).has_video
    assert not _partials(media_root), "the killed worker's temp file must be gone"


def test_redis_flushed_while_queued_items_are_reenqueued(users, departments, media_set, burst_worker, settings):
    hr = departments["hr"]
    batch = _create(users["manager"], hr, media_set["audio"], media_set["presenters"][:2])
    assert batch.items.filter(status=ItemStatus.QUEUED).count() == 2
    connection = django_rq.get_connection("gpu")
    assert django_rq.get_queue("gpu").count == 2
    connection.flushdb()  # what a Redis restart without persistence does
    assert django_rq.get_queue("gpu").count == 0

    settings.JOB_LOST_GRACE_S = 0
    outcome = reconcile()
    assert outcome["lost_job"] == 2
    assert django_rq.get_queue("gpu").count == 2
    burst_worker("gpu")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUCCEEDED
    assert all(i.requeues == 1 for i in batch.items.all())


def test_lost_items_fail_with_a_reason_after_the_requeue_limit(users, departments, media_set, clean_queues, settings):
    settings.JOB_LOST_GRACE_S = 0
    settings.JOB_MAX_REQUEUES = 2
    batch = _create(users["manager"], departments["hr"], media_set["audio"], media_set["presenters"][:1])
    for _ in range(3):
        clean_queues.flushdb()
        reconcile()
    item = batch.items.get()
    assert item.status == ItemStatus.FAILED and item.error_code == "lost"
    assert "interrupted 3 times" in item.error
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED


def test_cancel_mid_run_stops_running_item_and_queued_ones_never_start(users, departments, media_set,
                                                                      worker_process, media_root, login):
    hr = departments["hr"]
    hr.max_concurrent_items = 1
    hr.save()
    batch = _create(users["manager"], hr, media_set["audio"], media_set["presenters"])
    worker = worker_process("gpu", burst=False)
    running = _wait_for(
        lambda: JobItem.objects.filter(batch=batch, status=ItemStatus.RUNNING, progress__gt=5).first(),
        180, "an item to be running",
    )
    client = login(users["manager"])
    assert client.post(reverse("job_cancel", args=[batch.pk])).status_code == 302
    _wait_for(lambda: JobItem.objects.get(pk=running.pk).stage == "stopped", 60, "the worker to let go of the item")
    time.sleep(2)  # give the worker time to pick up anything it (wrongly) still could
    worker.terminate()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELED
    items = list(batch.items.all())
    assert all(i.status == ItemStatus.CANCELED for i in items)
    assert [i.attempts for i in items if i.pk != running.pk] == [0, 0], "queued items must never start"
    assert not any(i.output for i in items)
    assert not _partials(media_root)
    assert not list((media_root / "departments" / str(hr.pk) / "outputs").rglob("*.mp4"))


def test_retry_failed_items_and_duplicate(users, departments, media_set, make_presenter, burst_worker):
    hr = departments["hr"]
    broken = make_presenter(hr, "Fixable", corrupt=True)
    batch = _create(users["manager"], hr, media_set["audio"], [broken])
    burst_worker("gpu")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    # the operator restores the file, then the manager retries
    from tests.jobs.conftest import presenter_file

    Path(broken.file.path).write_bytes(presenter_file().read_bytes())
    assert services.retry_failed(batch, user=users["manager"]) == 1
    burst_worker("gpu")
    batch.refresh_from_db()
    item = batch.items.get()
    assert batch.status == BatchStatus.SUCCEEDED and item.attempts == 2 and not item.error

    copy = services.duplicate_batch(batch, user=users["manager"])
    assert copy.pk != batch.pk and copy.duplicated_from_id == batch.pk
    assert list(copy.items.values_list("presenter_id", flat=True)) == [broken.pk]


def test_department_quota_releases_gradually_and_other_departments_are_not_starved(users, departments, media_set,
                                                                                    clean_queues, burst_worker):
    hr, sales = departments["hr"], departments["sales"]
    hr.max_concurrent_items = 1
    hr.save()
    big = _create(users["manager"], hr, media_set["audio"], media_set["presenters"])
    assert sorted(big.items.values_list("status", flat=True)) == ["queued", "waiting", "waiting"]
    small = _create(users["sales_manager"], sales, media_set["sales_audio"], [media_set["sales_presenter"]])
    assert small.items.get().status == ItemStatus.QUEUED, "another department's item is queued at once"
    assert django_rq.get_queue("gpu").count == 2

    burst_worker("gpu")
    big.refresh_from_db()
    small.refresh_from_db()
    assert big.status == small.status == BatchStatus.SUCCEEDED
    order = sorted(JobItem.objects.all(), key=lambda i: i.started_at)
    assert order[1].department_id == sales.pk, "the 1-item batch ran second, not after the whole big batch"


def test_preview_renders_a_short_sample(users, departments, media_set, burst_worker):
    with pytest.raises(services.BatchRejected):
        _create(users["manager"], departments["hr"], media_set["audio"], media_set["presenters"][:2], preview=True)
    batch = _create(users["manager"], departments["hr"], media_set["audio"], media_set["presenters"][:1],
                    preview=True)
    burst_worker("gpu")
    item = batch.items.get()
    assert item.status == ItemStatus.SUCCEEDED, item.error
    expected = min(services.PREVIEW_SECONDS, media_set["audio"].duration)
    assert probe_media(item.output.path).duration == pytest.approx(expected, abs=0.1)
    assert item.output_name.endswith("(sample).mp4")


def test_infrastructure_failures_are_retried_then_fail_with_a_plain_reason(users, departments, media_set,
                                                                          burst_worker, monkeypatch, settings):
    """An engine crash (not the user's input) is retried through RQ's Retry; input errors never are."""
    from jobs import engine

    real = engine.face_track_for
    calls = {"n": 0}

    def flaky(item):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk hiccup")
        return real(item)

    monkeypatch.setattr(engine, "face_track_for", flaky)
    batch = _create(users["manager"], departments["hr"], media_set["audio"], media_set["presenters"][:1])
    burst_worker("gpu")
    item = batch.items.get()
    assert item.status == ItemStatus.SUCCEEDED and item.attempts == 2, (item.status, item.error)

    monkeypatch.setattr(engine, "face_track_for", lambda item: (_ for _ in ()).throw(OSError("disk gone")))
    batch = _create(users["manager"], departments["hr"], media_set["audio"], media_set["presenters"][1:2])
    burst_worker("gpu")
    item = batch.items.get()
    assert item.status == ItemStatus.FAILED and item.attempts == settings.JOB_MAX_ATTEMPTS
    assert item.error_code == "engine_failure" and "OSError" in item.error and "Traceback" not in item.error
    assert "disk gone" in item.traceback
