"""Member management: dept_admin only, cross-department 404, department switcher."""

from django.urls import reverse

from accounts.models import Membership
from accounts.permissions import Role
from tests.helpers import assert_cross_department_404


def test_dept_admin_adds_changes_and_removes_members(users, login, make_user):
    newcomer = make_user("newcomer")
    client = login(users["dept_admin"])
    url = reverse("members", args=["hr"])
    assert client.get(url).status_code == 200
    response = client.post(url, {"username": "newcomer", "role": Role.HR})
    assert response.status_code == 302
    membership = Membership.objects.get(user=newcomer)
    client.post(reverse("change_role", args=[membership.pk]), {"role": Role.AUDITOR})
    membership.refresh_from_db()
    assert membership.role == Role.AUDITOR
    client.post(reverse("remove_member", args=[membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_other_roles_get_403_in_own_department(users, login):
    for key in ("manager", "hr", "auditor"):
        client = login(users[key])
        assert client.get(reverse("members", args=["hr"])).status_code == 403
        target = Membership.objects.get(user=users["hr"])
        assert client.post(reverse("change_role", args=[target.pk]), {"role": Role.MANAGER}).status_code == 403
        assert client.post(reverse("remove_member", args=[target.pk])).status_code == 403
    assert Membership.objects.get(user=users["hr"]).role == Role.HR


def test_other_department_is_404(users, login):
    sales_row = Membership.objects.get(user=users["sales_manager"])
    client = login(users["dept_admin"])
    assert_cross_department_404(client, [reverse("members", args=["sales"])])
    assert_cross_department_404(
        client,
        [reverse("change_role", args=[sales_row.pk]), reverse("remove_member", args=[sales_row.pk])],
        methods=["post"],
    )
    assert client.post(reverse("switch_department", args=["sales"])).status_code == 404


def test_switching_the_active_department(users, login):
    client = login(users["two_departments"])
    client.post(reverse("switch_department", args=["sales"]))
    response = client.get(reverse("home"))
    assert response.context["active_department"].slug == "sales"
    assert "view_audit" in response.context["perms_here"]
    client.post(reverse("switch_department", args=["hr"]))
    response = client.get(reverse("home"))
    assert response.context["active_department"].slug == "hr"
    assert "run_jobs" in response.context["perms_here"]


def test_login_and_logout(users, client):
    from tests.conftest import PASSWORD

    response = client.post(reverse("login"), {"username": "hr_manager", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
