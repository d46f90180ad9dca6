"""The API's base view and the caller's own information (me/, departments/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from accounts.departments import departments_of
from accounts.permissions import Action
from portal.api.departments import requested_slug, resolve_department
from portal.api.permissions import ActionPermission, required_action
from portal.api.serializers import DepartmentSerializer, MeSerializer
from portal.api.throttles import ActionScopedRateThrottle

#: ids in URLs: what a 64-bit primary key can hold (longer numbers are a plain 404, not a database overflow)
ID_PATTERN = r"[0-9]{1,18}"


class ScopedViewSet(viewsets.GenericViewSet):
    """Base of every department-owned resource.

    Lists show rows of the departments where the caller's role grants the view's action; single objects are
    looked up among every row the caller can see (else 404) and then checked by ActionPermission (else 403).
    """

    base_queryset = None  # the model's queryset, with its select_related/prefetch
    scope_map: dict[str, Action] = {}
    action_scope_map: dict[str, Action] = {}
    throttle_scopes: dict[str, str] = {}
    permission_classes = [ActionPermission]
    throttle_classes = [ActionScopedRateThrottle]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        action = required_action(self.request, self) if self.action == "list" else None
        return self.base_queryset.all().for_user(self.request.user, action)

    def department_for_create(self):
        return resolve_department(self.request, required_action(self.request, self))


class DownloadRenderer(BaseRenderer):
    """Lets clients send `Accept: application/zip` or `video/mp4`; errors are still rendered as JSON."""

    media_type = "*/*"
    format = "download"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"  # only errors are rendered; files bypass renderers
        return JSONRenderer().render(data, "application/json", renderer_context)


DOWNLOAD_RENDERERS = [JSONRenderer, DownloadRenderer]


class MeView(generics.GenericAPIView):
    """The caller: departments with role and allowed actions, and the active department."""

    serializer_class = MeSerializer
    permission_classes = [ActionPermission]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        departments = list(departments_of(request.user))
        slug = requested_slug(request)
        active = next((d.slug for d in departments if d.slug == slug), None)
        if active is None and len(departments) == 1:
            active = departments[0].slug
        data = {
            "id": request.user.pk,
            "username": request.user.get_username(),
            "is_staff": request.user.is_staff,
            "departments": DepartmentSerializer(departments, many=True, context={"request": request}).data,
            "active_department": active,
        }
        return Response(data)


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's departments (all active ones for platform staff)."""

    serializer_class = DepartmentSerializer
    permission_classes = [ActionPermission]
    lookup_value_regex = ID_PATTERN
    pagination_class = None

    def get_queryset(self):
        return departments_of(self.request.user).order_by("name")


def not_found(request, *args, **kwargs):
    """JSON 404 for any other path under /api/ (instead of the HTML page)."""
    from django.http import JsonResponse

    return JsonResponse({"code": "not_found", "message": "No such API endpoint."}, status=404)
