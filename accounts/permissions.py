"""The one place that says which role may do what. Views, forms, serializers and admin ask here.

Roles live on a Membership (user x department). Platform staff (superusers) may do everything
everywhere. Nothing outside this module compares role names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.models import Department


class Role(models.TextChoices):
    MANAGER = "manager", _("Manager")
    HR = "hr", _("HR")
    AUDITOR = "auditor", _("Auditor")
    DEPT_ADMIN = "dept_admin", _("Department admin")


class Action(StrEnum):
    VIEW_MEDIA = "view_media"  # media library metadata, thumbnails, previews
    MANAGE_PRESENTERS = "manage_presenters"  # upload, edit, archive, delete presenters
    MANAGE_AUDIO = "manage_audio"  # upload, synthesise (TTS), edit, delete audio tracks
    RUN_JOBS = "run_jobs"  # launch, cancel, retry, duplicate batch jobs
    VIEW_JOBS = "view_jobs"
    DOWNLOAD_OUTPUTS = "download_outputs"
    VIEW_AUDIT = "view_audit"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_INTEGRATIONS = "manage_integrations"  # webhooks and their delivery log


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.MANAGER: frozenset(
        {Action.VIEW_MEDIA, Action.MANAGE_PRESENTERS, Action.RUN_JOBS, Action.VIEW_JOBS, Action.DOWNLOAD_OUTPUTS}
    ),
    Role.HR: frozenset({Action.VIEW_MEDIA, Action.MANAGE_AUDIO, Action.VIEW_JOBS, Action.DOWNLOAD_OUTPUTS}),
    Role.AUDITOR: frozenset({Action.VIEW_MEDIA, Action.VIEW_JOBS, Action.DOWNLOAD_OUTPUTS, Action.VIEW_AUDIT}),
    Role.DEPT_ADMIN: frozenset(Action),
}

#: actions that change something; auditors hold none of them
MUTATING_ACTIONS = frozenset(
    {Action.MANAGE_PRESENTERS, Action.MANAGE_AUDIO, Action.RUN_JOBS, Action.MANAGE_MEMBERS, Action.MANAGE_INTEGRATIONS}
)


def roles_allowed(action: Action) -> list[str]:
    """Roles that grant `action` (used to build department filters in querysets)."""
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def role_in(user, department: Department) -> str | None:
    """The user's role in a department, or None when not a member."""
    if not user.is_authenticated:
        return None
    cache = getattr(user, "_role_cache", None)
    if cache is None:
        cache = dict(user.memberships.filter(department__active=True).values_list("department_id", "role"))
        user._role_cache = cache
    return cache.get(department.pk)


def can(user, action: Action, department: Department | None) -> bool:
    """May `user` perform `action` in `department`?"""
    if not user.is_authenticated or department is None:
        return False
    if user.is_superuser:
        return True
    role = role_in(user, department)
    return role is not None and action in ROLE_ACTIONS[role]


def allowed_actions(user, department: Department | None) -> frozenset[Action]:
    """Every action the user holds in a department (templates use it to show or hide controls)."""
    if department is None or not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(Action)
    role = role_in(user, department)
    return ROLE_ACTIONS[role] if role else frozenset()
