"""tokens/ (the caller's own API tokens), webhooks/ (per-department endpoints, delivery log, test send) and audit/
(read-only trail for auditors and department admins)."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import audit
from accounts.audit_models import AuditEvent
from accounts.models import ApiToken
from accounts.permissions import Action
from jobs import webhooks
from jobs.webhook_models import WebhookDelivery, WebhookEndpoint
from portal.api import serializers as s
from portal.api.filters import AuditFilter, DeliveryFilter
from portal.api.permissions import ActionPermission
from portal.api.views import ID_PATTERN, ScopedViewSet


@extend_schema(tags=["tokens"])
class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The caller's API tokens. The key is returned once, on creation; DELETE revokes."""

    permission_classes = [ActionPermission]  # read-only tokens cannot create or revoke
    serializer_class = s.ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset() scopes to the caller
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user, revoked_at__isnull=True)

    @extend_schema(request=s.ApiTokenSerializer, responses={201: s.NewApiTokenSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            token, key = ApiToken.issue(request.user, name=data.get("name", ""), days=data["days"] or None,
                                        read_only=data.get("read_only", False))
            audit.record("api_token.create", actor=request.user, obj=token, request=request,
                         details={"via": "api", "name": token.name, "read_only": token.read_only})
        token.key = key
        return Response(s.NewApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, token: ApiToken) -> None:
        with transaction.atomic():
            token.revoke()
            audit.record("api_token.revoke", actor=self.request.user, obj=token, request=self.request,
                         details={"via": "api", "name": token.name})


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, ScopedViewSet
):
    """A department's webhook endpoints (department admins). The signing secret is shown once, on creation."""

    base_queryset = WebhookEndpoint.objects.select_related("department")
    serializer_class = s.WebhookEndpointSerializer
    scope_map = dict.fromkeys(("GET", "POST", "PUT", "PATCH", "DELETE"), Action.MANAGE_INTEGRATIONS)

    @extend_schema(request=s.WebhookEndpointSerializer, responses={201: s.NewWebhookEndpointSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        department = self.department_for_create()
        with transaction.atomic():
            endpoint = serializer.save(department=department, created_by=request.user)
            audit.record("webhook.create", actor=request.user, department=department, obj=endpoint, request=request,
                         details={"url": endpoint.url, "events": endpoint.events})
        return Response(s.NewWebhookEndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        with transaction.atomic():
            endpoint = serializer.save()
            audit.record("webhook.edit", actor=self.request.user, department=endpoint.department, obj=endpoint,
                         request=self.request, details={"url": endpoint.url, "events": endpoint.events,
                                                        "active": endpoint.active})

    def perform_destroy(self, endpoint: WebhookEndpoint) -> None:
        with transaction.atomic():
            audit.record("webhook.delete", actor=self.request.user, department=endpoint.department, obj=endpoint,
                         request=self.request, details={"url": endpoint.url})
            endpoint.delete()

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a signed `ping` event now (through the queue); watch its delivery in deliveries/."""
        endpoint = self.get_object()
        with transaction.atomic():
            delivery = webhooks.send_test(endpoint)
            audit.record("webhook.test", actor=request.user, department=endpoint.department, obj=endpoint,
                         request=request)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["webhooks"])
class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The delivery log: every event sent to the department's endpoints, with attempts and status codes."""

    base_queryset = WebhookDelivery.objects.select_related("department", "endpoint")
    serializer_class = s.WebhookDeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["created_at", "status"]
    scope_map = {"GET": Action.MANAGE_INTEGRATIONS}


@extend_schema(tags=["audit"])
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The audit trail of the caller's departments (read-only; auditors and department admins)."""

    base_queryset = AuditEvent.objects.select_related("department")
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditFilter
    ordering_fields = ["seq", "created_at"]
    ordering = ["-seq"]
    scope_map = {"GET": Action.VIEW_AUDIT}
