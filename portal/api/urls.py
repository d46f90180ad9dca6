"""`/api/v1/` resources, the OpenAPI schema (`/api/schema/`) and Swagger UI (`/api/docs/`, assets served locally)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portal.api import integration_views, job_views, media_views, views

app_name = "api"

router = DefaultRouter()
router.include_root_view = False
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("presenters", media_views.PresenterViewSet, basename="presenter")
router.register("audio", media_views.AudioViewSet, basename="audio")
router.register("jobs", job_views.BatchViewSet, basename="job")
router.register("items", job_views.ItemViewSet, basename="item")
router.register("tokens", integration_views.ApiTokenViewSet, basename="token")
router.register("webhooks/deliveries", integration_views.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("webhooks", integration_views.WebhookEndpointViewSet, basename="webhook")
router.register("audit", integration_views.AuditEventViewSet, basename="audit")

urlpatterns = [
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", views.not_found),
]
