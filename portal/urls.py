"""Top-level URLs. Media has no public URL: files are served by permission-checked views only."""

from django.contrib import admin
from django.urls import include, path

from portal.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    path("audit/", include("accounts.audit_urls")),
    path("media/", include("media_library.urls")),
    path("jobs/", include("jobs.urls")),
    path("api/", include("portal.api.urls")),
    path("", include("accounts.portal_urls")),
]

handler403 = "portal.errors.permission_denied"
