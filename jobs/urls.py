from django.urls import path

from jobs import history, views, webhook_views

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("new/", views.job_create, name="job_create"),
    path("export.csv", history.job_export, name="job_export"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/status.json", views.job_status, name="job_status"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("<int:pk>/duplicate/", views.job_duplicate, name="job_duplicate"),
    path("<int:pk>/download.zip", views.job_zip, name="job_zip"),
    path("items/<int:pk>/download/", views.item_download, name="item_download"),
    path("items/<int:pk>/preview/", views.item_preview, name="item_preview"),
    path("webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/test/", webhook_views.webhook_test, name="webhook_test"),
    path("webhooks/<int:pk>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
]
