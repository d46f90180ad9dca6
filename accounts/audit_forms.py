"""The auditor timeline's filter: one form used by the page and by the CSV export, so both show the same rows."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import AuditAction
from accounts.models import Department


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All actions")), *AuditAction.choices]
    )
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=100,
                                  help_text=_("e.g. jobs.batchjob"))
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    request_id = forms.CharField(label=_("Request id"), required=False, max_length=64)
    department = forms.ModelChoiceField(label=_("Department"), required=False, queryset=Department.objects.all())

    def __init__(self, *args, staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not staff:  # auditors see one department: theirs
            del self.fields["department"]

    def apply(self, events: QuerySet) -> QuerySet:
        """Narrow `events` (already scoped to what the viewer may see) by the valid filters."""
        if not self.is_valid():
            return events
        data = self.cleaned_data
        if data["user"]:
            # failed logins have no actor; the attempted username is in the details
            events = events.filter(
                Q(actor_username=data["user"]) | Q(action=AuditAction.LOGIN_FAILED, details__username=data["user"])
            )
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["object_type"]:
            events = events.filter(object_type=data["object_type"].strip().lower())
        if data["object_id"]:
            events = events.filter(object_id=data["object_id"].strip())
        if data["date_from"]:
            events = events.filter(created_at__gte=_start_of(data["date_from"]))
        if data["date_to"]:
            events = events.filter(created_at__lt=_start_of(data["date_to"] + timedelta(days=1)))
        if data["request_id"]:
            events = events.filter(request_id=data["request_id"].strip())
        if data.get("department"):
            events = events.filter(department=data["department"])
        return events


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
