"""One permission class for the whole API: (HTTP method, view action) -> accounts.permissions.Action.

Like Sentry's `scope_map`, each view declares what each method needs:

    scope_map = {"GET": Action.VIEW_JOBS, "POST": Action.RUN_JOBS}
    action_scope_map = {"download": Action.DOWNLOAD_OUTPUTS}   # per view action, overrides the method

The role check itself is `accounts.permissions.can`; visibility (404) is the view's `for_user` queryset. An
object outside the caller's departments is therefore never reached (404); one that is visible but whose
department does not grant the action is a 403. Read-only API tokens may only use safe methods.
"""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import ApiToken
from accounts.permissions import Action, can
from accounts.tenancy import department_ids_for


def required_action(request, view) -> Action | None:
    """The Action this request needs on its view (None: authentication is enough)."""
    by_action = getattr(view, "action_scope_map", {})
    action = getattr(view, "action", None)
    if action in by_action:
        return by_action[action]
    return getattr(view, "scope_map", {}).get(request.method)


def holds_anywhere(user, action: Action) -> bool:
    """Does the user hold `action` in at least one active department?"""
    return user.is_superuser or department_ids_for(user, action).exists()


class ActionPermission(BasePermission):
    message = "Your role does not allow this."
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        token = request.auth
        if isinstance(token, ApiToken) and token.read_only and request.method not in SAFE_METHODS:
            self.message, self.code = "This API token is read-only.", "read_only_token"
            return False
        action = required_action(request, view)
        if action is not None and getattr(view, "detail", None) is False:
            # a collection (list, create, tts): the role must grant the action somewhere; creates re-check the
            # chosen department in portal.api.departments
            return holds_anywhere(user, action)
        return True

    def has_object_permission(self, request, view, obj) -> bool:
        action = required_action(request, view)
        return action is None or can(request.user, action, obj.department)
