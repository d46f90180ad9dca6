"""Which department a create goes to: the one named by `X-Department` or a `department` field, else the
caller's only department allowing the action, else a 400 asking to choose."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied, ValidationError

from accounts.departments import departments_of
from accounts.models import Department
from accounts.permissions import Action, can

HEADER = "X-Department"


def requested_slug(request) -> str:
    """The department slug the caller named (header first, then the body), or ''."""
    slug = request.headers.get(HEADER, "")
    if not slug and hasattr(request.data, "get"):
        value = request.data.get("department", "")
        slug = value if isinstance(value, str) else ""
    return slug.strip()


def resolve_department(request, action: Action) -> Department:
    """The department for a new object; 400 when it is unknown or ambiguous, 403 when the role forbids it."""
    user = request.user
    choices = departments_of(user)
    slug = requested_slug(request)
    if slug:
        department = choices.filter(slug=slug).first()
        if department is None:
            raise ValidationError({"department": [_("Department '%(slug)s' does not exist.") % {"slug": slug}]})
        if not can(user, action, department):
            raise PermissionDenied(_("Your role in %(d)s does not allow this.") % {"d": department.name})
        return department
    allowed = [d for d in choices if can(user, action, d)]
    if len(allowed) == 1:
        return allowed[0]
    if not allowed:
        raise PermissionDenied(_("Your role does not allow this in any of your departments."))
    raise ValidationError(
        {
            "department": [
                _("You belong to several departments; choose one with the X-Department header or a department field "
                  "(one of: %(slugs)s).") % {"slugs": ", ".join(d.slug for d in allowed)}
            ]
        },
        code="department_required",
    )
