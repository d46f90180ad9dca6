"""presenters/ and audio/: list, retrieve, upload, edit, archive; audio/tts/. Every change goes through
media_library.services (validation, quota, audit, ingest enqueueing live there)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.permissions import Action
from media_library import services
from media_library.models import AudioTrack, Presenter
from portal.api import serializers as s
from portal.api.filters import AudioFilter, PresenterFilter
from portal.api.views import ScopedViewSet

UPLOAD_PARSERS = [MultiPartParser, FormParser, JSONParser]


class _MediaViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    manage_action: Action
    update_serializer_class: type
    parser_classes = UPLOAD_PARSERS
    throttle_scopes = {"create": "upload", "tts": "upload"}
    ordering_fields = ["created_at", "title", "duration", "size_bytes"]
    ordering = ["-created_at"]

    def get_queryset(self):
        queryset = super().get_queryset().select_related("department", "uploaded_by")
        if self.action == "list" and "archived" not in self.request.query_params:
            queryset = queryset.filter(archived_at__isnull=True)  # like the library pages: current rows only
        return queryset

    def _read(self, obj, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.serializer_class(obj, context=self.get_serializer_context()).data, status=code)

    def _validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def update(self, request, *args, **kwargs):
        obj = self.get_object()
        data = self._validated(self.update_serializer_class)
        services.edit(obj, user=request.user, request=request, **data)
        return self._read(obj)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @extend_schema(request=None, responses=s.ArchiveResultSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        """Archive (kept for the jobs that used it) or delete when nothing ever used it."""
        outcome = services.archive_or_delete(self.get_object(), user=request.user, request=request)
        return Response({"result": outcome})

    @extend_schema(request=None, responses=s.ArchiveResultSerializer)
    def destroy(self, request, *args, **kwargs):
        """Same as archive/: rows used by jobs are archived, unused ones deleted."""
        return self.archive(request, *args, **kwargs)


@extend_schema(tags=["presenters"])
class PresenterViewSet(_MediaViewSet):
    base_queryset = Presenter.objects.prefetch_related("tags")
    serializer_class = s.PresenterSerializer
    update_serializer_class = s.PresenterUpdateSerializer
    filterset_class = PresenterFilter
    manage_action = Action.MANAGE_PRESENTERS
    scope_map = {
        "GET": Action.VIEW_MEDIA,
        "POST": Action.MANAGE_PRESENTERS,
        "PUT": Action.MANAGE_PRESENTERS,
        "PATCH": Action.MANAGE_PRESENTERS,
        "DELETE": Action.MANAGE_PRESENTERS,
    }

    def get_serializer_class(self):
        if self.action == "create":
            return s.PresenterUploadSerializer
        if self.action in ("update", "partial_update"):
            return s.PresenterUpdateSerializer
        return s.PresenterSerializer

    @extend_schema(request=s.PresenterUploadSerializer, responses={201: s.PresenterSerializer})
    def create(self, request, *args, **kwargs):
        """Upload a presenter video or photo (multipart: file, title, tags); analysis runs in the background."""
        data = self._validated(s.PresenterUploadSerializer)
        presenter = services.upload_presenter(
            user=request.user,
            department=self.department_for_create(),
            uploaded=data["file"],
            title=data.get("title", ""),
            description=data.get("description", ""),
            tags=data.get("tags", []),
            request=request,
        )
        return self._read(presenter, status.HTTP_201_CREATED)

    @extend_schema(request=s.PresenterUpdateSerializer, responses=s.PresenterSerializer)
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @extend_schema(request=s.PresenterUpdateSerializer, responses=s.PresenterSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)


@extend_schema(tags=["audio"])
class AudioViewSet(_MediaViewSet):
    base_queryset = AudioTrack.objects.all()
    serializer_class = s.AudioSerializer
    update_serializer_class = s.AudioUpdateSerializer
    filterset_class = AudioFilter
    manage_action = Action.MANAGE_AUDIO
    scope_map = {
        "GET": Action.VIEW_MEDIA,
        "POST": Action.MANAGE_AUDIO,
        "PUT": Action.MANAGE_AUDIO,
        "PATCH": Action.MANAGE_AUDIO,
        "DELETE": Action.MANAGE_AUDIO,
    }

    def get_serializer_class(self):
        if self.action == "create":
            return s.AudioUploadSerializer
        if self.action == "tts":
            return s.TtsSerializer
        if self.action in ("update", "partial_update"):
            return s.AudioUpdateSerializer
        return s.AudioSerializer

    @extend_schema(request=s.AudioUploadSerializer, responses={201: s.AudioSerializer})
    def create(self, request, *args, **kwargs):
        """Upload an audio file (multipart: file, title, language); analysis runs in the background."""
        data = self._validated(s.AudioUploadSerializer)
        track = services.upload_audio(
            user=request.user,
            department=self.department_for_create(),
            uploaded=data["file"],
            title=data.get("title", ""),
            language=data.get("language", ""),
            description=data.get("description", ""),
            request=request,
        )
        return self._read(track, status.HTTP_201_CREATED)

    @extend_schema(request=s.TtsSerializer, responses={201: s.AudioSerializer})
    @action(detail=False, methods=["post"])
    def tts(self, request):
        """Create a track spoken from text; a background job synthesises it, then analyses it."""
        data = self._validated(s.TtsSerializer)
        track = services.create_tts_audio(
            user=request.user,
            department=self.department_for_create(),
            title=data.get("title") or data["text"][:60],
            text=data["text"],
            language=data["language"],
            voice=data.get("voice", ""),
            request=request,
        )
        return self._read(track, status.HTTP_201_CREATED)

    @extend_schema(request=s.AudioUpdateSerializer, responses=s.AudioSerializer)
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @extend_schema(request=s.AudioUpdateSerializer, responses=s.AudioSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)
