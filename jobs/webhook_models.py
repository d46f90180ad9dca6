"""Webhook endpoints (per department) and the log of every delivery made to them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.tenancy import DepartmentOwned


class WebhookEvent(models.TextChoices):
    BATCH_COMPLETED = "batch.completed", _("Batch completed (succeeded or partially failed)")
    BATCH_FAILED = "batch.failed", _("Batch failed")
    ITEM_FAILED = "item.failed", _("Item failed")


#: the event a test send carries; never subscribed to, always delivered
PING_EVENT = "ping"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


class WebhookEndpoint(DepartmentOwned):
    """An integrator's URL receiving signed JSON events of one department."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(max_length=80, default=new_secret, editable=False, help_text="HMAC-SHA256 key")
    events = models.JSONField(default=list, help_text="subscribed WebhookEvent values")
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department_id", "pk"]

    def __str__(self) -> str:
        return self.name or self.url

    def wants(self, event: str) -> bool:
        return self.active and (event == PING_EVENT or event in self.events)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class WebhookDelivery(DepartmentOwned):
    """One event sent (or being sent) to one endpoint; updated on every attempt."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    rq_job_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint} ({self.status})"
