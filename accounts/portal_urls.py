"""Portal pages owned by the accounts app."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/<slug:slug>/members/", views.members, name="members"),
    path("members/<int:pk>/role/", views.change_role, name="change_role"),
    path("members/<int:pk>/remove/", views.remove_member, name="remove_member"),
]
