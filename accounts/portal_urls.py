"""Portal pages owned by the accounts app."""

from django.urls import path

from accounts import token_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("departments/<slug:slug>/members/", views.members, name="members"),
    path("members/<int:pk>/role/", views.change_role, name="change_role"),
    path("members/<int:pk>/remove/", views.remove_member, name="remove_member"),
    path("tokens/", token_views.tokens, name="api_tokens"),
    path("tokens/<int:pk>/revoke/", token_views.revoke_token, name="api_token_revoke"),
]
