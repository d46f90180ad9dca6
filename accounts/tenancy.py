"""Tenancy in one place: the department-owned base model and its `for_user` scoping.

Every department-owned model inherits `DepartmentOwned`; every view, form field, serializer field and
admin obtains its rows through `Model.objects.for_user(user, action)`. Rows of another department are
simply not in the queryset, so lookups answer 404 and never leak existence.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404

from accounts.permissions import Action, roles_allowed


def department_ids_for(user, action: Action | None = None):
    """Subquery of the active departments where `user` holds `action` (or any role when None)."""
    from accounts.models import Membership

    memberships = Membership.objects.filter(user=user, department__active=True)
    if action is not None:
        memberships = memberships.filter(role__in=roles_allowed(action))
    return memberships.values("department_id")


class DepartmentQuerySet(models.QuerySet):
    def for_user(self, user, action: Action | None = None) -> DepartmentQuerySet:
        """Rows the user may see (or may perform `action` on). Superusers see everything."""
        if user is None or not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(department_id__in=department_ids_for(user, action))

    def in_department(self, department) -> DepartmentQuerySet:
        return self.filter(department=department)


class DepartmentOwned(models.Model):
    """Abstract base of every row that belongs to one department."""

    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        abstract = True


def get_for_user_or_404(queryset_or_model, user, action: Action | None = None, **lookup):
    """Fetch one department-owned row for `user`.

    A row outside the user's departments is a 404 (its existence is not revealed); a row the user
    can see but whose department does not grant `action` to their role is a 403.
    """
    from accounts.permissions import can

    queryset = queryset_or_model.objects.all() if isinstance(queryset_or_model, type) else queryset_or_model
    obj = get_object_or_404(queryset.for_user(user), **lookup)
    if action is not None and not can(user, action, obj.department):
        raise PermissionDenied
    return obj
