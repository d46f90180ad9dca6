"""Which departments a user belongs to, and which one is active for this session."""

from __future__ import annotations

from accounts.models import Department

SESSION_KEY = "active_department_id"


def departments_of(user):
    """Departments the user can switch to (all active ones for superusers)."""
    if not user.is_authenticated:
        return Department.objects.none()
    if user.is_superuser:
        return Department.objects.filter(active=True)
    return Department.objects.filter(active=True, memberships__user=user).distinct()


def active_department(request) -> Department | None:
    """The department chosen in the session, falling back to the user's first one."""
    choices = departments_of(request.user)
    chosen = request.session.get(SESSION_KEY)
    department = choices.filter(pk=chosen).first() if chosen else None
    if department is None:
        department = choices.first()
        if department is not None:
            request.session[SESSION_KEY] = department.pk
    return department


def set_active_department(request, department: Department) -> None:
    request.session[SESSION_KEY] = department.pk
