"""Account pages: dashboard, department switcher, member management."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.departments import departments_of, set_active_department
from accounts.forms import AddMemberForm, ChangeRoleForm
from accounts.models import Department, Membership
from accounts.permissions import ROLE_ACTIONS, Action, Role, can
from accounts.tenancy import get_for_user_or_404
from jobs import summary
from jobs.models import BatchJob
from jobs.services import output_seconds_this_month
from media_library.models import AudioTrack, MediaStatus, Presenter
from media_library.validation import department_usage


def _status_counts(model, department) -> dict:
    """Library rows (not archived) by status: ready, busy (waiting or analysing), rejected."""
    rows = dict(
        model.objects.filter(department=department, archived_at__isnull=True)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        "ready": rows.get(MediaStatus.READY, 0),
        "busy": rows.get(MediaStatus.PENDING, 0) + rows.get(MediaStatus.ANALYSING, 0),
        "rejected": rows.get(MediaStatus.REJECTED, 0),
    }


@login_required
def home(request):
    """Dashboard: storage used vs quota, output minutes this month, running and recent jobs."""
    department = request.department or None
    context = {"department": department}
    if department is not None:
        context.update(
            storage_used=department_usage(department),
            minutes_used=output_seconds_this_month(department) / 60,
        )
        if can(request.user, Action.VIEW_MEDIA, department):
            context["media_counts"] = {
                "presenters": _status_counts(Presenter, department),
                "audio": _status_counts(AudioTrack, department),
            }
        if can(request.user, Action.VIEW_JOBS, department):
            batches = summary.with_progress(
                BatchJob.objects.for_user(request.user, Action.VIEW_JOBS)
                .filter(department=department)
                .select_related("audio", "creator")
            )
            context["running"] = list(batches.filter(status__in=summary.ACTIVE).order_by("created_at")[:10])
            context["recent"] = list(batches.filter(status__in=summary.FINISHED)[:8])
    return render(request, "accounts/home.html", context)


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
        {
            "department": department,
            "memberships": rows,
            "form": form,
            "role_form": ChangeRoleForm(),
            "roles": role_summaries(),
        },
    )


#: what each action means to a person choosing a role (the matrix itself lives in accounts.permissions)
ACTION_LABELS = {
    Action.VIEW_MEDIA: gettext_lazy("see the media library"),
    Action.MANAGE_PRESENTERS: gettext_lazy("upload and edit presenters"),
    Action.MANAGE_AUDIO: gettext_lazy("upload audio and create it from text"),
    Action.RUN_JOBS: gettext_lazy("start, cancel and retry batches"),
    Action.VIEW_JOBS: gettext_lazy("see jobs"),
    Action.DOWNLOAD_OUTPUTS: gettext_lazy("download videos"),
    Action.VIEW_AUDIT: gettext_lazy("read the audit trail"),
    Action.MANAGE_MEMBERS: gettext_lazy("manage members and roles"),
    Action.MANAGE_INTEGRATIONS: gettext_lazy("manage webhooks"),
}


def role_summaries() -> list[tuple[str, list[str]]]:
    """(role label, what it may do) for every role, read from the one role -> actions matrix."""
    return [
        (label, [str(ACTION_LABELS.get(a, a.value.replace("_", " "))) for a in Action if a in ROLE_ACTIONS[value]])
        for value, label in Role.choices
    ]


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
