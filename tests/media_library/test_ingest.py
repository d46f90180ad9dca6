"""Ingest jobs on real Redis: burst workers in-process, one real `rqworker` process, and the reconciler."""

from __future__ import annotations

import time
import wave
from datetime import timedelta

import numpy as np
import pytest

from media_library import ingest, services
from media_library.models import AudioSource, AudioTrack, MediaStatus, Presenter, PresenterKind
from tests.media_library.conftest import files_under, upload_file

# The portal's worker closes stale DB connections between jobs, so jobs run against committed data.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hr(departments):
    return departments["hr"]


@pytest.fixture
def upload(clean_queues, media_root, django_capture_on_commit_callbacks):
    """upload(service, **kwargs) -> the created row, its ingest enqueued as a committed request would."""

    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def test_presenter_video_ingest(users, hr, upload, burst_worker, media_samples, media_root):
    presenter = upload(
        services.upload_presenter,
        user=users["manager"],
        department=hr,
        uploaded=upload_file(media_samples["clip"], "anna.mp4"),
    )
    burst_worker("ingest")
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.READY, presenter.rejection_reason
    assert (presenter.width, presenter.height, presenter.video_codec, presenter.rotation) == (320, 240, "h264", 0)
    assert presenter.fps == pytest.approx(25) and presenter.duration == pytest.approx(2, abs=0.1)
    assert presenter.has_audio
    assert presenter.face_coverage > 0.9 and 0 < presenter.face_size_ratio < 1 and presenter.frontalness > 0.5
    for field in ("thumbnail", "preview", "face_track"):
        assert (media_root / getattr(presenter, field).name).is_file(), field
    from synthesis.facetrack import FaceTrack
    from synthesis.probe import probe_media

    track = FaceTrack.load(presenter.face_track.path)
    assert (track.width, track.height, track.n_frames) == (320, 240, 50)
    preview = probe_media(presenter.preview.path)
    assert preview.duration <= 4.1 and preview.height <= 360
    assert presenter.thumbnail.read(2) == b"\xff\xd8"
    assert presenter.size_bytes == sum(p.stat().st_size for p in files_under(media_root) if ".work" not in str(p))
    assert not list((media_root / ".work").iterdir())


def test_presenter_photo_ingest(users, hr, upload, burst_worker, media_samples):
    presenter = upload(
        services.upload_presenter,
        user=users["manager"],
        department=hr,
        uploaded=upload_file(media_samples["photo"], "portrait.jpg"),
    )
    burst_worker("ingest")
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.READY, presenter.rejection_reason
    assert presenter.kind == PresenterKind.PHOTO and presenter.file.name.endswith(".jpg")
    assert presenter.thumbnail and not presenter.preview and presenter.face_track
    assert presenter.face_coverage == 1.0 and presenter.duration is None


def test_no_face_is_rejected_in_plain_words_and_files_removed(
    users, hr, upload, burst_worker, media_samples, media_root
):
    presenter = upload(
        services.upload_presenter,
        user=users["manager"],
        department=hr,
        uploaded=upload_file(media_samples["noface"], "bars.mp4"),
    )
    burst_worker("ingest")
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.REJECTED
    assert presenter.rejection_reason.startswith("No face was found in bars.mp4.")
    assert not services.can_retry(presenter)
    assert files_under(media_root) == [] and presenter.size_bytes == 0


def test_infrastructure_failure_says_retry_keeps_the_original_and_can_be_retried(
    users, hr, upload, burst_worker, media_samples, media_root, monkeypatch, caplog
):
    import synthesis.facetrack

    real = synthesis.facetrack.analyse_video
    monkeypatch.setattr(synthesis.facetrack, "analyse_video", lambda *a, **k: 1 / 0)
    presenter = upload(
        services.upload_presenter, user=users["manager"], department=hr, uploaded=upload_file(media_samples["clip"])
    )
    burst_worker("ingest")
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.REJECTED
    assert presenter.rejection_reason == "Analysis failed, please retry."
    assert "ZeroDivisionError" in caplog.text  # the traceback is in the log, not in front of the user
    assert files_under(media_root) == [media_root / presenter.file.name]
    assert services.can_retry(presenter)

    monkeypatch.setattr(synthesis.facetrack, "analyse_video", real)
    upload(services.retry_ingest, obj=presenter, user=users["manager"])
    burst_worker("ingest")
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.READY and presenter.face_track


def test_audio_ingest(users, hr, upload, burst_worker, media_samples, media_root):
    track = upload(
        services.upload_audio,
        user=users["hr"],
        department=hr,
        uploaded=upload_file(media_samples["speech_m4a"], "policy.m4a"),
        language="en",
    )
    burst_worker("ingest")
    track.refresh_from_db()
    assert track.status == MediaStatus.READY, track.rejection_reason
    assert track.sample_rate == 16000 and track.channels == 1 and track.audio_codec == "aac"
    assert -40 < track.loudness_lufs < -5 and 0.2 < track.speech_share <= 1
    with wave.open(track.analysis_copy.path) as copy:
        assert (copy.getframerate(), copy.getnchannels(), copy.getsampwidth()) == (16000, 1, 2)
        assert copy.getnframes() / 16000 == pytest.approx(track.duration, abs=0.1)
    assert track.waveform.read(8) == b"\x89PNG\r\n\x1a\n"
    assert track.warnings == []


def test_audio_warnings(users, hr, upload, burst_worker, media_samples, tmp_path):
    from tests.media_library.conftest import ffmpeg

    noisy = tmp_path / "noisy.wav"  # speech, 3 s pause, speech; too loud (clipped), hissing, at 8 kHz
    ffmpeg(
        "-i",
        str(media_samples["speech"]),
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=16000:cl=mono:d=3",
        "-i",
        str(media_samples["speech"]),
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=d=30:c=white:a=0.03:r=16000",
        "-filter_complex",
        "[0:a][1:a][2:a]concat=n=3:v=0:a=1,volume=12dB[s];[s][3:a]amix=inputs=2:duration=first:"
        "normalize=0,aresample=8000",
        str(noisy),
    )
    track = upload(services.upload_audio, user=users["hr"], department=hr, uploaded=upload_file(noisy))
    burst_worker("ingest")
    track.refresh_from_db()
    assert track.status == MediaStatus.READY, track.rejection_reason
    text = " ".join(track.warnings)
    assert "clipped" in text and "8000 Hz, below 16 kHz" in text and "There is a silence of" in text
    assert "background noise" in text


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "Welcome to the team."), ("cmn", "欢迎加入我们的团队。"), ("ja", "チームへようこそ。")],
)
def test_text_to_speech(language, text, users, hr, upload, burst_worker):
    track = upload(
        services.create_tts_audio,
        user=users["hr"],
        department=hr,
        title="Welcome",
        text=text,
        language=language,
        voice="f2",
        rate=160,
    )
    assert track.status == MediaStatus.PENDING and not track.file
    burst_worker("ingest")
    track.refresh_from_db()
    assert track.status == MediaStatus.READY, track.rejection_reason
    assert track.source == AudioSource.TTS and track.file.name.endswith(".wav") and track.content_hash
    assert track.duration > 0.5 and track.speech_share > 0.3 and track.analysis_copy and track.waveform


def test_text_to_speech_unknown_language_is_rejected(users, hr, upload, burst_worker):
    track = upload(
        services.create_tts_audio, user=users["hr"], department=hr, title="x", text="hello", language="xx-nope"
    )
    burst_worker("ingest")
    track.refresh_from_db()
    assert track.status == MediaStatus.REJECTED and "not available for text-to-speech" in track.rejection_reason


def _age(row, seconds: float) -> None:
    from django.utils import timezone

    type(row).objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def test_reconciler_requeues_a_vanished_job_once_then_rejects(
    users, hr, upload, burst_worker, media_samples, clean_queues
):
    presenter = upload(
        services.upload_presenter, user=users["manager"], department=hr, uploaded=upload_file(media_samples["clip"])
    )
    assert ingest.reconcile_stuck_media() == {"requeued": 0, "rejected": 0}  # fresh: within the grace period
    _age(presenter, 120)
    assert ingest.reconcile_stuck_media() == {"requeued": 0, "rejected": 0}  # its job is queued: fine
    clean_queues.flushdb()  # the job vanishes (Redis lost its data)
    Presenter.objects.filter(pk=presenter.pk).update(status=MediaStatus.ANALYSING)
    _age(presenter, 120)
    assert ingest.reconcile_stuck_media() == {"requeued": 1, "rejected": 0}
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.PENDING and presenter.ingest_attempts == 2
    clean_queues.flushdb()
    _age(presenter, 120)
    assert ingest.reconcile_stuck_media() == {"requeued": 0, "rejected": 1}
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.REJECTED and presenter.rejection_reason == "Analysis failed, please retry."
    assert presenter.file  # kept for a retry


def test_reconciler_rejects_rows_older_than_the_limit_even_with_a_live_job(users, hr, upload, make_track):
    track = make_track(hr, status=MediaStatus.ANALYSING, ingest_attempts=2, ingest_job_id="still-there")
    _age(track, 10_000)
    assert ingest.reconcile_stuck_media(max_age_s=3600) == {"requeued": 0, "rejected": 1}
    assert AudioTrack.objects.get(pk=track.pk).status == MediaStatus.REJECTED


def test_a_superseded_job_does_nothing(users, hr, upload, media_samples):
    from django_rq import get_queue

    presenter = upload(
        services.upload_presenter, user=users["manager"], department=hr, uploaded=upload_file(media_samples["clip"])
    )
    Presenter.objects.filter(pk=presenter.pk).update(ingest_job_id="a-newer-job")
    job = get_queue("ingest").fetch_job(presenter.ingest_job_id)
    assert job.perform() == "skipped"
    assert Presenter.objects.get(pk=presenter.pk).status == MediaStatus.PENDING


@pytest.mark.slow
def test_ingest_by_a_real_worker_process(
    departments, make_user, media_samples, media_root, clean_queues, worker_process
):
    manager = make_user("real_worker_manager", hr="manager")
    presenter = services.upload_presenter(
        user=manager, department=departments["hr"], uploaded=upload_file(media_samples["clip"])
    )
    track = services.upload_audio(
        user=manager.__class__.objects.create_superuser("root", password="x"),
        department=departments["hr"],
        uploaded=upload_file(media_samples["speech"]),
    )
    proc = worker_process("ingest")
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.returncode == 0
    presenter.refresh_from_db()
    track.refresh_from_db()
    assert presenter.status == MediaStatus.READY, presenter.rejection_reason
    assert track.status == MediaStatus.READY, track.rejection_reason
    assert presenter.face_track and track.analysis_copy


def test_face_track_from_ingest_is_reused_by_synthesis(
    users, hr, upload, burst_worker, media_samples, tmp_path, monkeypatch
):
    """The engine gets the stored track and never detects faces again."""
    import synthesis.facetrack
    from synthesis.facetrack import FaceTrack
    from synthesis.pipeline import SynthesisOptions, generate

    presenter = upload(
        services.upload_presenter, user=users["manager"], department=hr, uploaded=upload_file(media_samples["clip"])
    )
    burst_worker("ingest")
    presenter.refresh_from_db()
    assert presenter.status == MediaStatus.READY
    calls = []
    monkeypatch.setattr(synthesis.facetrack, "analyse_video", lambda *a, **k: calls.append(a) or 1 / 0)
    monkeypatch.setattr(synthesis.facetrack, "analyse_image", lambda *a, **k: calls.append(a) or 1 / 0)
    short_audio = tmp_path / "short.wav"
    from tests.media_library.conftest import ffmpeg

    ffmpeg("-i", str(media_samples["speech"]), "-t", "1.5", str(short_audio))
    result = generate(
        short_audio,
        presenter.file.path,
        tmp_path / "out.mp4",
        SynthesisOptions(quality_report=False),
        track=FaceTrack.load(presenter.face_track.path),
    )
    assert calls == []
    assert result.frames > 0 and (tmp_path / "out.mp4").is_file()
    assert np.isclose(result.face_coverage, 1.0)
