"""Batch jobs (one audio x N presenters) and their items. The rows are the record of truth."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import DepartmentOwned


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIALLY_FAILED = "partially_failed", _("Partially failed")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


class ItemStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for a free slot")  # not yet released to the queue (department quota)
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


class Backend(models.TextChoices):
    WARP = "warp", _("Warp (no model weights)")
    WAV2LIP = "wav2lip", _("Wav2Lip")


class BatchJob(DepartmentOwned):
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    audio = models.ForeignKey("media_library.AudioTrack", on_delete=models.PROTECT, related_name="batches")
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.WARP)
    options = models.JSONField(default=dict, blank=True)
    preview_seconds = models.FloatField(null=True, blank=True, help_text="sample mode: render only this long")
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.QUEUED, db_index=True)
    duplicated_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_idempotency_key_per_creator",
            )
        ]

    def __str__(self) -> str:
        return f"Batch #{self.pk} ({self.audio})"

    @property
    def is_preview(self) -> bool:
        return self.preview_seconds is not None


class JobItem(DepartmentOwned):
    """One presenter of a batch. `department` copies the batch's so items are scoped on their own."""

    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    presenter = models.ForeignKey("media_library.Presenter", on_delete=models.PROTECT, related_name="job_items")
    status = models.CharField(max_length=12, choices=ItemStatus.choices, default=ItemStatus.WAITING, db_index=True)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=20, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started it")
    requeues = models.PositiveSmallIntegerField(default=0, help_text="times it was recovered from a lost worker/queue")
    error = models.TextField(blank=True, help_text="for the user, in plain words")
    error_code = models.CharField(max_length=40, blank=True)
    traceback = models.TextField(blank=True, help_text="staff only")
    output = models.FileField(max_length=300, blank=True)
    output_name = models.CharField(max_length=255, blank=True, help_text="human file name for downloads")
    output_duration = models.FloatField(null=True, blank=True)
    sync_score = models.FloatField(null=True, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    rq_job_id = models.CharField(max_length=64, blank=True, db_index=True)
    worker_name = models.CharField(max_length=120, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "pk"]
        indexes = [models.Index(fields=["department", "status"])]

    def __str__(self) -> str:
        return f"{self.presenter} in batch #{self.batch_id}"


from jobs.webhook_models import WebhookDelivery, WebhookEndpoint  # noqa: E402, F401  (registered with the jobs app)
