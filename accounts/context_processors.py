"""Template context: the user's departments, the active one and what the user may do there."""

from accounts.departments import departments_of
from accounts.permissions import allowed_actions


def departments(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    department = request.department or None
    return {
        "my_departments": departments_of(user),
        "active_department": department,
        "perms_here": {action.value for action in allowed_actions(user, department)},
    }
