"""jobs/ and items/: create (idempotent), list, retrieve with progress, cancel, retry, downloads.

Creating and changing batches goes through jobs.services; downloads through jobs.downloads (the same code and
audit events as the web pages).
"""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import Action
from jobs import services
from jobs.downloads import batch_zip_response, is_downloadable, item_download_response
from jobs.models import BatchJob, JobItem
from portal.api import serializers as s
from portal.api.exceptions import ApiError
from portal.api.filters import BatchFilter
from portal.api.views import DOWNLOAD_RENDERERS, ScopedViewSet

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (max 100 chars). Retrying with the same key returns the original batch.",
)


def existing_batch(user, key: str) -> BatchJob | None:
    """The batch this user already created with this idempotency key."""
    return BatchJob.objects.filter(creator=user, idempotency_key=key).first() if key else None


@extend_schema(tags=["jobs"])
class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = BatchJob.objects.select_related("department", "creator", "audio").prefetch_related(
        Prefetch("items", queryset=JobItem.objects.select_related("presenter"))
    )
    filterset_class = BatchFilter
    ordering_fields = ["created_at", "finished_at", "status", "id"]
    ordering = ["-created_at"]
    scope_map = {"GET": Action.VIEW_JOBS, "POST": Action.RUN_JOBS}
    action_scope_map = {"download": Action.DOWNLOAD_OUTPUTS}
    throttle_scopes = {"create": "job_create", "download": "download"}

    def get_serializer_class(self):
        if self.action == "create":
            return s.BatchCreateSerializer
        if self.action == "list":
            return s.BatchSerializer
        return s.BatchDetailSerializer

    def _detail(self, batch: BatchJob, code: int) -> Response:
        batch = self.base_queryset.get(pk=batch.pk)
        return Response(s.BatchDetailSerializer(batch, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=s.BatchCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.BatchDetailSerializer, 200: OpenApiResponse(s.BatchDetailSerializer, "idempotent replay")},
    )
    def create(self, request, *args, **kwargs):
        """One audio x N presenters -> a batch with one item per presenter."""
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 100:
            raise ApiError("The Idempotency-Key header is limited to 100 characters.", "invalid_idempotency_key")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        replay = existing_batch(request.user, key)
        if replay is not None:
            return self._replay(replay, data)
        try:
            batch = services.create_batch(
                user=request.user,
                department=self.department_for_create(),
                audio=data["audio"],
                presenters=list(data["presenters"]),
                backend=data["backend"],
                options=data.get("options") or {},
                preview=data["preview"],
                idempotency_key=key,
                request=request,
            )
        except IntegrityError:
            replay = existing_batch(request.user, key)  # a concurrent request with the same key won the race
            if replay is None:
                raise
            return self._replay(replay, data)
        return self._detail(batch, status.HTTP_201_CREATED)

    def _replay(self, batch: BatchJob, data: dict) -> Response:
        """The original batch for a retried request; a different request under the same key is a conflict."""
        presenters = sorted(p.pk for p in data["presenters"])
        original = sorted(batch.items.values_list("presenter_id", flat=True))
        if batch.audio_id != data["audio"].pk or presenters != original:
            raise ApiError(
                "This Idempotency-Key was already used for a different batch.", "idempotency_key_reused", 409
            )
        response = self._detail(batch, status.HTTP_200_OK)
        response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(request=None, responses=s.ActionCountSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel unfinished items: queued ones never start, running ones stop at the next frame batch."""
        return Response({"items": services.cancel_batch(self.get_object(), user=request.user, request=request)})

    @extend_schema(request=None, responses=s.ActionCountSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Queue failed and canceled items again."""
        return Response({"items": services.retry_failed(self.get_object(), user=request.user, request=request)})

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=DOWNLOAD_RENDERERS)
    def download(self, request, pk=None):
        """A ZIP of every finished video plus manifest.csv, streamed."""
        return batch_zip_response(request, self.get_object())


@extend_schema(tags=["jobs"])
class ItemViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    base_queryset = JobItem.objects.select_related("department", "presenter", "batch")
    serializer_class = s.ItemSerializer
    scope_map = {"GET": Action.VIEW_JOBS}
    action_scope_map = {"download": Action.DOWNLOAD_OUTPUTS}
    throttle_scopes = {"download": "download"}

    @extend_schema(responses={(200, "video/mp4"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=DOWNLOAD_RENDERERS)
    def download(self, request, pk=None):
        """The item's MP4 (404 until it has succeeded)."""
        item = self.get_object()
        if not is_downloadable(item):
            raise Http404
        return item_download_response(request, item)
