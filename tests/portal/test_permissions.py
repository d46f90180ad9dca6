"""The role x action matrix, the tenancy scope and the two-department user."""

import pytest

from accounts.models import Membership
from accounts.permissions import ROLE_ACTIONS, Action, Role, allowed_actions, can

EXPECTED = {
    Role.MANAGER: {"view_media", "manage_presenters", "run_jobs", "view_jobs", "download_outputs"},
    Role.HR: {"view_media", "manage_audio", "view_jobs", "download_outputs"},
    Role.AUDITOR: {"view_media", "view_jobs", "download_outputs", "view_audit"},
    Role.DEPT_ADMIN: {a.value for a in Action},
}


def test_matrix_is_exactly_the_specified_one():
    assert {role: {a.value for a in actions} for role, actions in ROLE_ACTIONS.items()} == EXPECTED


def test_auditor_holds_no_mutating_action():
    from accounts.permissions import MUTATING_ACTIONS

    assert not (ROLE_ACTIONS[Role.AUDITOR] & MUTATING_ACTIONS)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.HR, Role.AUDITOR, Role.DEPT_ADMIN])
@pytest.mark.parametrize("action", list(Action))
def test_each_role_and_action_in_own_and_other_department(users, departments, role, action):
    user = users[{"manager": "manager", "hr": "hr", "auditor": "auditor", "dept_admin": "dept_admin"}[role]]
    assert can(user, action, departments["hr"]) is (action.value in EXPECTED[role])
    assert can(user, action, departments["sales"]) is False


def test_two_department_user_has_each_departments_role(users, departments):
    both = users["two_departments"]
    assert can(both, Action.RUN_JOBS, departments["hr"])
    assert not can(both, Action.RUN_JOBS, departments["sales"])
    assert can(both, Action.VIEW_AUDIT, departments["sales"])
    assert not can(both, Action.VIEW_AUDIT, departments["hr"])


def test_staff_may_do_everything_everywhere(users, departments):
    for department in departments.values():
        assert allowed_actions(users["staff"], department) == frozenset(Action)


def test_inactive_department_grants_nothing(users, departments):
    departments["hr"].active = False
    departments["hr"].save()
    fresh = type(users["dept_admin"]).objects.get(pk=users["dept_admin"].pk)
    assert not can(fresh, Action.VIEW_JOBS, departments["hr"])


def test_for_user_scopes_department_owned_rows(users, departments):
    visible = Membership.objects.for_user(users["sales_manager"])
    assert set(visible.values_list("department__slug", flat=True)) == {"sales"}
    both = Membership.objects.for_user(users["two_departments"])
    assert set(both.values_list("department__slug", flat=True)) == {"hr", "sales"}
    # with an action: only departments where the role grants it
    runnable = Membership.objects.for_user(users["two_departments"], Action.RUN_JOBS)
    assert set(runnable.values_list("department__slug", flat=True)) == {"hr"}
    assert Membership.objects.for_user(users["staff"]).count() == Membership.objects.count()


def test_anonymous_sees_nothing(departments, users):
    from django.contrib.auth.models import AnonymousUser

    assert not Membership.objects.for_user(AnonymousUser()).exists()
