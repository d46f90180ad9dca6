"""Account pages: dashboard, department switcher, member management."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.departments import departments_of, set_active_department
from accounts.forms import AddMemberForm, ChangeRoleForm
from accounts.models import Department, Membership
from accounts.permissions import Action, can
from accounts.tenancy import get_for_user_or_404


@login_required
def home(request):
    return render(request, "accounts/home.html", {"department": request.department or None})


@login_required
@require_POST
def switch_department(request, slug: str):
    department = get_object_or_404(departments_of(request.user), slug=slug)
    set_active_department(request, department)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "home"
    return redirect(target)


def _managed_department(request, slug: str) -> Department:
    """The department whose members are being managed: 404 if not the user's, 403 without the role."""
    department = get_object_or_404(departments_of(request.user), slug=slug)
    if not can(request.user, Action.MANAGE_MEMBERS, department):
        raise PermissionDenied
    return department


@login_required
def members(request, slug: str):
    department = _managed_department(request, slug)
    form = AddMemberForm(request.POST or None, department=department)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            membership = Membership.objects.create(
                user=form.user, department=department, role=form.cleaned_data["role"]
            )
            audit.record(
                "member.add",
                actor=request.user,
                department=department,
                obj=membership,
                request=request,
                details={"username": form.user.username, "role": membership.role},
            )
        messages.success(request, _("%(user)s added.") % {"user": form.user.username})
        return redirect("members", slug=slug)
    rows = Membership.objects.for_user(request.user).filter(department=department).select_related("user")
    return render(
        request,
        "accounts/members.html",
        {"department": department, "memberships": rows, "form": form, "role_form": ChangeRoleForm()},
    )


@login_required
@require_POST
def change_role(request, pk: int):
    membership = get_for_user_or_404(Membership, request.user, Action.MANAGE_MEMBERS, pk=pk)
    form = ChangeRoleForm(request.POST)
    if form.is_valid() and form.cleaned_data["role"] != membership.role:
        with transaction.atomic():
            before = membership.role
            membership.role = form.cleaned_data["role"]
            membership.save(update_fields=["role"])
            audit.record(
                "member.role_change",
                actor=request.user,
                department=membership.department,
                obj=membership,
                request=request,
                details={"username": membership.user.username, "before": before, "after": membership.role},
            )
        messages.success(request, _("Role updated."))
    return redirect("members", slug=membership.department.slug)


@login_required
@require_POST
def remove_member(request, pk: int):
    membership = get_for_user_or_404(Membership, request.user, Action.MANAGE_MEMBERS, pk=pk)
    department = membership.department
    with transaction.atomic():
        audit.record(
            "member.remove",
            actor=request.user,
            department=department,
            obj=membership,
            request=request,
            details={"username": membership.user.username, "role": membership.role},
        )
        membership.delete()
    messages.success(request, _("Member removed."))
    return redirect("members", slug=department.slug)
