from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("new/", views.job_create, name="job_create"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/status.json", views.job_status, name="job_status"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("<int:pk>/duplicate/", views.job_duplicate, name="job_duplicate"),
    path("<int:pk>/download.zip", views.job_zip, name="job_zip"),
    path("items/<int:pk>/download/", views.item_download, name="item_download"),
    path("items/<int:pk>/preview/", views.item_preview, name="item_preview"),
]
