"""Presenters (video or photo templates) and audio tracks: department-owned, analysed once on ingest."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import DepartmentOwned


class MediaStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for analysis")
    ANALYSING = "analysing", _("Analysing")
    READY = "ready", _("Ready")
    REJECTED = "rejected", _("Rejected")


def department_path(department_id: int, kind: str, suffix: str) -> str:
    """A generated storage name: never the uploaded filename. Suffix comes from the probed format."""
    return str(PurePosixPath("departments", str(department_id), kind, f"{uuid.uuid4().hex}{suffix}"))


class MediaAsset(DepartmentOwned):
    """Fields shared by presenters and audio tracks."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(max_length=12, choices=MediaStatus.choices, default=MediaStatus.PENDING, db_index=True)
    rejection_reason = models.TextField(blank=True, help_text="plain words for the uploader")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    original_filename = models.CharField(max_length=255, blank=True, help_text="display only; never used on disk")
    file = models.FileField(max_length=300)
    size_bytes = models.BigIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    duration = models.FloatField(null=True, blank=True)
    analysis = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    ingest_job_id = models.CharField(max_length=64, blank=True)
    ingest_attempts = models.PositiveSmallIntegerField(default=0, help_text="ingest runs enqueued so far")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_ready(self) -> bool:
        return self.status == MediaStatus.READY and self.archived_at is None

    def stored_files(self) -> list[models.fields.files.FieldFile]:
        """Every file this row owns on disk (deleted with the row)."""
        return [f for f in (getattr(self, name) for name in self.FILE_FIELDS) if f]

    def archive(self) -> None:
        self.archived_at = timezone.now()
        self.save(update_fields=["archived_at", "updated_at"])


class Tag(DepartmentOwned):
    """A presenter category ("sales", "HR policy"), per department."""

    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["department", "name"], name="unique_tag_per_department")]

    def __str__(self) -> str:
        return self.name


class PresenterKind(models.TextChoices):
    VIDEO = "video", _("Video")
    PHOTO = "photo", _("Photo")


class Presenter(MediaAsset):
    FILE_FIELDS = ("file", "thumbnail", "preview", "face_track")

    kind = models.CharField(max_length=8, choices=PresenterKind.choices, default=PresenterKind.VIDEO)
    tags = models.ManyToManyField(Tag, blank=True, related_name="presenters")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    video_codec = models.CharField(max_length=40, blank=True)
    rotation = models.IntegerField(default=0)
    has_audio = models.BooleanField(default=False)
    face_coverage = models.FloatField(null=True, blank=True, help_text="share of frames with a detected face")
    face_size_ratio = models.FloatField(null=True, blank=True, help_text="median face height / frame height")
    frontalness = models.FloatField(null=True, blank=True, help_text="1 = facing the camera")
    thumbnail = models.FileField(max_length=300, blank=True)
    preview = models.FileField(max_length=300, blank=True)
    face_track = models.FileField(max_length=300, blank=True, help_text="engine FaceTrack (.npz), computed once")

    class Meta(MediaAsset.Meta):
        indexes = [models.Index(fields=["department", "status"])]


class AudioSource(models.TextChoices):
    UPLOAD = "upload", _("Uploaded")
    TTS = "tts", _("Text to speech")


class AudioTrack(MediaAsset):
    FILE_FIELDS = ("file", "analysis_copy", "waveform")

    language = models.CharField(_("language"), max_length=20, blank=True)
    source = models.CharField(max_length=8, choices=AudioSource.choices, default=AudioSource.UPLOAD)
    tts_text = models.TextField(blank=True)
    tts_voice = models.CharField(max_length=60, blank=True)
    tts_rate = models.PositiveIntegerField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    audio_codec = models.CharField(max_length=40, blank=True)
    loudness_lufs = models.FloatField(null=True, blank=True)
    speech_share = models.FloatField(null=True, blank=True)
    analysis_copy = models.FileField(max_length=300, blank=True, help_text="normalised 16 kHz mono WAV")
    waveform = models.FileField(max_length=300, blank=True)

    class Meta(MediaAsset.Meta):
        indexes = [models.Index(fields=["department", "status"])]
