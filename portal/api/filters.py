"""django-filter filter sets for the list endpoints."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from accounts.audit_models import AuditEvent
from jobs.models import BatchJob, BatchStatus
from jobs.webhook_models import DeliveryStatus, WebhookDelivery
from media_library.models import AudioTrack, MediaStatus, Presenter


class IdFilter(django_filters.NumberFilter):
    """A row id: an integer the database can hold (a huge number is a 400, not an overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class _BoundedIsoDateTimeField(IsoDateTimeField):
    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        if not 1900 <= value.year <= 9000:
            raise forms.ValidationError("Dates must be between the years 1900 and 9000.")
        return value.astimezone(UTC)  # PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 allows


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """ISO 8601 date-time with a sane range (the database cannot hold year 1 minus a time zone)."""

    field_class = _BoundedIsoDateTimeField


class _MediaFilter(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__slug")
    status = django_filters.ChoiceFilter(choices=MediaStatus.choices)
    title = django_filters.CharFilter(lookup_expr="icontains")
    archived = django_filters.BooleanFilter(
        method="filter_archived", label="true: only archived; false (default view): only current"
    )

    def filter_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=not value)


class PresenterFilter(_MediaFilter):
    tag = django_filters.CharFilter(field_name="tags__name", distinct=True)

    class Meta:
        model = Presenter
        fields = ["department", "status", "title", "archived", "tag", "kind"]


class AudioFilter(_MediaFilter):
    class Meta:
        model = AudioTrack
        fields = ["department", "status", "title", "archived", "language", "source"]


class BatchFilter(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__slug")
    status = django_filters.MultipleChoiceFilter(choices=BatchStatus.choices)
    creator = django_filters.CharFilter(field_name="creator__username", label="creator's username")
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")
    presenter = IdFilter(field_name="items__presenter", distinct=True, label="presenter id")
    audio = IdFilter(field_name="audio_id")

    class Meta:
        model = BatchJob
        fields = ["department", "status", "creator", "created_after", "created_before", "presenter", "audio"]


class DeliveryFilter(django_filters.FilterSet):
    endpoint = IdFilter(field_name="endpoint_id")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event = django_filters.CharFilter()

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event"]


class AuditFilter(django_filters.FilterSet):
    department = django_filters.CharFilter(field_name="department__slug")
    action = django_filters.CharFilter()
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="e.g. 'job.'")
    actor = django_filters.CharFilter(field_name="actor_username")
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    request_id = django_filters.CharFilter()
    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["department", "action", "action_prefix", "actor", "object_type", "object_id", "request_id",
                  "created_after", "created_before"]
