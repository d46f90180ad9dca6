"""Django admin for platform staff: rows through the tenancy scope, files read-only (set by ingest)."""

from django.contrib import admin

from accounts.admin import DepartmentScopedAdmin
from media_library.models import AudioTrack, Presenter, Tag

_COMMON_READONLY = [
    "file",
    "size_bytes",
    "content_hash",
    "original_filename",
    "duration",
    "analysis",
    "warnings",
    "ingest_job_id",
    "ingest_attempts",
    "uploaded_by",
    "created_at",
    "updated_at",
]


@admin.register(Tag)
class TagAdmin(DepartmentScopedAdmin):
    list_display = ["name", "department"]
    list_filter = ["department"]
    search_fields = ["name"]


@admin.register(Presenter)
class PresenterAdmin(DepartmentScopedAdmin):
    list_display = ["title", "department", "kind", "status", "duration", "face_coverage", "archived_at", "created_at"]
    list_filter = ["status", "kind", "department"]
    search_fields = ["title", "description", "original_filename"]
    readonly_fields = [
        *_COMMON_READONLY,
        "thumbnail",
        "preview",
        "face_track",
        "width",
        "height",
        "fps",
        "video_codec",
        "rotation",
        "has_audio",
        "face_coverage",
        "face_size_ratio",
        "frontalness",
    ]
    filter_horizontal = ["tags"]


@admin.register(AudioTrack)
class AudioTrackAdmin(DepartmentScopedAdmin):
    list_display = ["title", "department", "source", "language", "status", "duration", "archived_at", "created_at"]
    list_filter = ["status", "source", "department"]
    search_fields = ["title", "description", "original_filename", "tts_text"]
    readonly_fields = [
        *_COMMON_READONLY,
        "analysis_copy",
        "waveform",
        "sample_rate",
        "channels",
        "audio_codec",
        "loudness_lufs",
        "speech_share",
    ]
