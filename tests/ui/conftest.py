"""Fixtures for the page tests: real media rows (shared with the job tests) and batches in every state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from tests.jobs import conftest as job_fixtures
from tests.media_library import conftest as library_fixtures

# the job tests' media rows and the library tests' sample files, shared as fixtures of this folder
make_audio, make_presenter, media_set = job_fixtures.make_audio, job_fixtures.make_presenter, job_fixtures.media_set
media_samples = library_fixtures.media_samples


@pytest.fixture
def batch(media_set, users):
    """An HR batch of three: one succeeded (with a real MP4 output), one failed with a reason, one running."""
    from jobs.models import BatchJob, BatchStatus, ItemStatus, JobItem

    hr = media_set["audio"].department
    anna, ben, chen = media_set["presenters"]
    batch = BatchJob.objects.create(
        department=hr, creator=users["manager"], audio=media_set["audio"], status=BatchStatus.RUNNING,
        started_at=timezone.now(),
    )
    output = f"departments/{hr.pk}/outputs/anna-travel.mp4"
    target = Path(anna.file.storage.path(output))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(anna.file.path, target)
    JobItem.objects.create(
        batch=batch, department=hr, presenter=anna, status=ItemStatus.SUCCEEDED, progress=100, stage="done",
        output=output, output_name="Anna - Travel policy.mp4", output_duration=2.0, sync_score=0.81,
        finished_at=timezone.now(),
    )
    JobItem.objects.create(
        batch=batch, department=hr, presenter=ben, status=ItemStatus.FAILED, progress=30, stage="face",
        error="No face was found in the presenter video.", traceback="Traceback: secret internals",
    )
    JobItem.objects.create(
        batch=batch, department=hr, presenter=chen, status=ItemStatus.RUNNING, progress=42, stage="render",
        eta_seconds=75,
    )
    return batch


@pytest.fixture
def sales_batch(media_set, users):
    from jobs.models import BatchJob, ItemStatus, JobItem

    sales = media_set["sales_audio"].department
    batch = BatchJob.objects.create(department=sales, creator=users["sales_manager"], audio=media_set["sales_audio"])
    JobItem.objects.create(batch=batch, department=sales, presenter=media_set["sales_presenter"],
                           status=ItemStatus.QUEUED)
    return batch
