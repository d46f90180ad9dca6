"""API representations. Fields that reference department-owned rows get their queryset from `for_user`, so a
foreign id is a 400 "does not exist" and never reveals anything."""

from __future__ import annotations

import json

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.audit_models import AuditEvent
from accounts.models import ApiToken, Department
from accounts.permissions import Action, allowed_actions, role_in
from jobs.models import Backend, BatchJob, ItemStatus, JobItem
from jobs.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from jobs.webhooks import is_allowed_url
from media_library.models import AudioTrack, Presenter

MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A primary key limited to the rows the caller may use for `scope_action` (tenancy's `for_user`)."""

    def __init__(self, model, scope_action: Action, **kwargs) -> None:
        self.model, self.scope_action = model, scope_action
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context["request"]
        return self.model.objects.for_user(request.user, self.scope_action)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not str(data).isdigit() or int(data) > MAX_ID:  # not a row id the database could even hold
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


class TagListField(serializers.ListField):
    """Tags as a list of names; a single comma-separated string is accepted too (handy in multipart forms)."""

    child = serializers.CharField(max_length=60)

    def to_internal_value(self, data):
        names = super().to_internal_value([data] if isinstance(data, str) else data)
        return [part.strip() for name in names for part in name.split(",") if part.strip()]


# --- who am I ---------------------------------------------------------------------------------------------


class DepartmentSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Department
        fields = ["id", "slug", "name", "role", "actions"]

    def get_role(self, department: Department) -> str | None:
        return role_in(self.context["request"].user, department)

    def get_actions(self, department: Department) -> list[str]:
        return sorted(allowed_actions(self.context["request"].user, department))


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()
    departments = DepartmentSerializer(many=True)
    active_department = serializers.CharField(allow_null=True, help_text="slug; X-Department header or the only one")


# --- media ------------------------------------------------------------------------------------------------


class PresenterSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Presenter
        fields = [
            "id", "department", "title", "description", "status", "rejection_reason", "kind", "tags",
            "original_filename", "size_bytes", "duration", "width", "height", "fps", "has_audio",
            "face_coverage", "face_size_ratio", "frontalness", "warnings", "uploaded_by", "archived_at",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class PresenterUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="video (mp4, mov, webm...) or photo")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = TagListField(required=False)
    department = serializers.SlugField(required=False, help_text="department slug (or the X-Department header)")


class PresenterUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = TagListField(required=False)


class AudioSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AudioTrack
        fields = [
            "id", "department", "title", "description", "language", "source", "status", "rejection_reason",
            "original_filename", "size_bytes", "duration", "sample_rate", "channels", "loudness_lufs",
            "speech_share", "tts_text", "tts_voice", "warnings", "uploaded_by", "archived_at", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class AudioUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="audio file (wav, mp3, m4a...)")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    language = serializers.CharField(max_length=20, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    department = serializers.SlugField(required=False, help_text="department slug (or the X-Department header)")


class AudioUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(max_length=20, required=False, allow_blank=True)


class TtsSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=20000)
    language = serializers.CharField(max_length=20)
    voice = serializers.CharField(max_length=60, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    department = serializers.SlugField(required=False)


class ArchiveResultSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=["archived", "deleted"])


# --- jobs -------------------------------------------------------------------------------------------------


class ItemSerializer(serializers.ModelSerializer):
    presenter = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = JobItem
        fields = [
            "id", "batch", "presenter", "status", "progress", "stage", "eta_seconds", "attempts", "error",
            "error_code", "output_name", "output_duration", "sync_score", "queued_at", "started_at", "finished_at",
            "download_url",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}})
    def get_presenter(self, item: JobItem) -> dict:
        return {"id": item.presenter_id, "title": item.presenter.title}

    def get_download_url(self, item: JobItem) -> str | None:
        if item.status != ItemStatus.SUCCEEDED or not item.output:
            return None
        return self.context["request"].build_absolute_uri(reverse("api:item-download", args=[item.pk]))


def batch_progress(items: list[JobItem]) -> float:
    """Percent of the batch done: finished items count as 100."""
    if not items:
        return 0.0
    done = sum(100.0 if i.status in (ItemStatus.SUCCEEDED, ItemStatus.FAILED, ItemStatus.CANCELED) else i.progress
               for i in items)
    return round(done / len(items), 1)


class BatchSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    audio = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = BatchJob
        fields = [
            "id", "department", "creator", "audio", "backend", "options", "preview_seconds", "status", "progress",
            "counts", "duplicated_from", "created_at", "started_at", "finished_at", "canceled_at",
        ]  # fmt: skip
        read_only_fields = fields

    def _items(self, batch: BatchJob) -> list[JobItem]:
        return list(batch.items.all())  # prefetched by the view

    @extend_schema_field({"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}})
    def get_audio(self, batch: BatchJob) -> dict:
        return {"id": batch.audio_id, "title": batch.audio.title}

    def get_progress(self, batch: BatchJob) -> float:
        return batch_progress(self._items(batch))

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
    def get_counts(self, batch: BatchJob) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self._items(batch):
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts


class BatchDetailSerializer(BatchSerializer):
    items = ItemSerializer(many=True, read_only=True)

    class Meta(BatchSerializer.Meta):
        fields = [*BatchSerializer.Meta.fields, "items"]
        read_only_fields = fields


class BatchCreateSerializer(serializers.Serializer):
    audio = ScopedPrimaryKeyField(AudioTrack, Action.VIEW_MEDIA)
    presenters = ScopedPrimaryKeyField(Presenter, Action.VIEW_MEDIA, many=True, allow_empty=False)
    backend = serializers.ChoiceField(choices=Backend.choices, default=Backend.WARP)
    options = serializers.DictField(required=False, default=dict)
    preview = serializers.BooleanField(required=False, default=False, help_text="render a short sample of one")
    department = serializers.SlugField(required=False)

    def validate_options(self, options: dict) -> dict:
        encoded = json.dumps(options)
        if "\\u0000" in encoded or len(encoded) > 10_000:  # PostgreSQL's jsonb refuses NUL characters
            raise serializers.ValidationError("Options must be a small JSON object without NUL characters.")
        return options


class ActionCountSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="items affected")


# --- tokens and webhooks ----------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    days = serializers.IntegerField(write_only=True, required=False, min_value=0, max_value=3650, default=90,
                                    help_text="expiry in days; 0 = never")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "key_hint", "read_only", "days", "created_at", "expires_at", "last_used_at",
                  "revoked_at"]
        read_only_fields = ["id", "key_hint", "created_at", "expires_at", "last_used_at", "revoked_at"]


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="shown once; store it now")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "department", "name", "url", "events", "active", "created_at"]
        read_only_fields = ["id", "department", "created_at"]

    def validate_url(self, url: str) -> str:
        if not is_allowed_url(url):
            raise serializers.ValidationError("Only http:// and https:// URLs are allowed.")
        return url


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="HMAC key, shown once")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint", "event", "payload", "status", "attempts", "last_status_code", "last_error",
                  "created_at", "last_attempt_at", "delivered_at"]
        read_only_fields = fields


class AuditEventSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "seq", "created_at", "actor_username", "department", "action", "object_type", "object_id",
                  "object_repr", "request_id", "ip", "details", "prev_hash", "hash"]
        read_only_fields = fields
