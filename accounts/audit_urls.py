"""Auditor pages, mounted under /audit/ (read-only: GET only)."""

from django.urls import path

from accounts import audit_views

app_name = "audit"

urlpatterns = [
    path("", audit_views.timeline, name="timeline"),
    path("export.csv", audit_views.export_csv, name="export"),
    path("jobs/", audit_views.job_history, name="jobs"),
]
