"""`manage.py demo_batch`: the product's main job on sample media, through Redis and a real worker.

Makes an astronaut presenter clip and photo (scikit-image's bundled public-domain portrait) and an
espeak-ng voice-over, uploads them like a user would (validation + ingest on the worker), launches a
batch, follows it to the end and prints the output files. Needs a running worker (`make demo` starts one).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Department
from jobs import services
from jobs.models import BatchStatus
from media_library import services as media
from media_library.models import AudioTrack, MediaStatus, Presenter
from synthesis import samples

TERMINAL = {BatchStatus.SUCCEEDED, BatchStatus.PARTIALLY_FAILED, BatchStatus.FAILED, BatchStatus.CANCELED}
SCRIPT = (
    "Hello everyone. This is the new travel policy for this quarter. "
    "Please book every trip through the portal, and ask your manager before you spend more than five hundred dollars."
)


def _upload(path: Path) -> UploadedFile:
    return UploadedFile(file=path.open("rb"), name=path.name, size=path.stat().st_size)


class Command(BaseCommand):
    help = "Upload sample media, run a real batch on the worker, print the outputs."

    def add_arguments(self, parser):
        parser.add_argument("--department", default="hr")
        parser.add_argument("--timeout", type=float, default=900.0)

    def handle(self, department: str, timeout: float, **options):
        dept = Department.objects.filter(slug=department).first()
        if dept is None:
            raise CommandError(f"No department {department!r}; run `manage.py seed_demo` first.")
        users = get_user_model().objects
        manager, voice = users.get(username="hr_manager"), users.get(username="hr_voice")
        work = Path(settings.BASE_DIR) / "var" / "demo-media"
        work.mkdir(parents=True, exist_ok=True)

        presenters = [
            self._presenter(
                dept,
                manager,
                "Astronaut (video)",
                work / "astronaut.mp4",
                lambda p: samples.make_presenter_clip(p, seconds=4, width=640, height=480),
            ),
            self._presenter(
                dept,
                manager,
                "Astronaut (photo)",
                work / "astronaut.jpg",
                lambda p: samples.make_presenter_photo(p, 640, 480),
            ),
        ]
        audio = self._audio(dept, voice, work / "travel-policy.wav")
        deadline = time.monotonic() + timeout
        self._wait_ready([*presenters, audio], deadline)

        batch = services.create_batch(user=manager, department=dept, audio=audio, presenters=presenters)
        self.stdout.write(f"Batch #{batch.pk}: {audio.title} x {len(presenters)} presenters")
        while True:
            batch.refresh_from_db()
            items = list(batch.items.select_related("presenter"))
            line = "  ".join(f"{i.presenter.title}: {i.status} {i.progress:.0f}%" for i in items)
            self.stdout.write(f"  {line}")
            if batch.status in TERMINAL:
                break
            if time.monotonic() > deadline:
                raise CommandError("The batch did not finish in time; is a worker running (var/log/worker.log)?")
            time.sleep(2)
        self.stdout.write(self.style.SUCCESS(f"Batch #{batch.pk} {batch.status}."))
        for item in items:
            if item.output:
                self.stdout.write(f"  {item.output_name}: {item.output.path}  (sync r={item.sync_score})")
            else:
                self.stdout.write(f"  {item.presenter.title}: {item.error}")
        if batch.status != BatchStatus.SUCCEEDED:
            raise CommandError("The demo batch did not fully succeed (see above).")

    def _presenter(self, dept, user, title: str, path: Path, make) -> Presenter:
        existing = (
            Presenter.objects.filter(department=dept, title=title, archived_at__isnull=True)
            .exclude(status=MediaStatus.REJECTED)
            .first()
        )
        if existing:
            return existing
        if not path.exists():
            make(path)
        return media.upload_presenter(
            user=user, department=dept, uploaded=_upload(path), title=title, tags=["demo", "HR policy"]
        )

    def _audio(self, dept, user, path: Path) -> AudioTrack:
        title = "Travel policy (sample voice)"
        existing = (
            AudioTrack.objects.filter(department=dept, title=title, archived_at__isnull=True)
            .exclude(status=MediaStatus.REJECTED)
            .first()
        )
        if existing:
            return existing
        if not path.exists():
            samples.make_speech(path, SCRIPT)
        return media.upload_audio(user=user, department=dept, uploaded=_upload(path), title=title, language="en")

    def _wait_ready(self, rows, deadline: float) -> None:
        self.stdout.write("Analysing sample media on the worker...")
        for row in rows:
            while True:
                row.refresh_from_db()
                if row.status == MediaStatus.READY:
                    break
                if row.status == MediaStatus.REJECTED:
                    raise CommandError(f"{row.title} was rejected: {row.rejection_reason}")
                if time.monotonic() > deadline:
                    raise CommandError("Ingest did not finish in time; is a worker running (var/log/worker.log)?")
                time.sleep(1)
            self.stdout.write(f"  ready: {row.title}")
