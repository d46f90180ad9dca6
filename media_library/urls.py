"""Media library URLs (mounted under /media/ by portal/urls.py; files only through checked views)."""

from django.urls import path, re_path

from media_library import file_views, views

app_name = "media_library"

urlpatterns = [
    path("presenters/", views.presenter_list, name="presenters"),
    path("presenters/upload/", views.presenter_upload, name="presenter_upload"),
    path("presenters/<int:pk>/", views.presenter_detail, name="presenter_detail"),
    path("presenters/<int:pk>/edit/", views.presenter_edit, name="presenter_edit"),
    path("presenters/<int:pk>/files/<slug:what>/", file_views.presenter_file, name="presenter_file"),
    path("audio/", views.audio_list, name="audio"),
    path("audio/upload/", views.audio_upload, name="audio_upload"),
    path("audio/speak/", views.audio_tts, name="audio_tts"),
    path("audio/<int:pk>/", views.audio_detail, name="audio_detail"),
    path("audio/<int:pk>/edit/", views.audio_edit, name="audio_edit"),
    path("audio/<int:pk>/files/<slug:what>/", file_views.audio_file, name="audio_file"),
    re_path(r"^(?P<kind>presenter|audio)/(?P<pk>[0-9]+)/remove/$", views.remove, name="remove"),
    re_path(r"^(?P<kind>presenter|audio)/(?P<pk>[0-9]+)/restore/$", views.restore, name="restore"),
    re_path(r"^(?P<kind>presenter|audio)/(?P<pk>[0-9]+)/reanalyse/$", views.reanalyse, name="reanalyse"),
]
