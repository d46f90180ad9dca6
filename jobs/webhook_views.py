"""Department admins' webhooks page: endpoints (secret shown once), test send, and the delivery log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.permissions import Action, can
from accounts.tenancy import get_for_user_or_404
from jobs import webhooks
from jobs.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=gettext_lazy("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), choices=WebhookEvent.choices,
                                       widget=forms.CheckboxSelectMultiple, initial=list(WebhookEvent.values))

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not webhooks.is_allowed_url(url):
            raise forms.ValidationError(_("Only http:// and https:// URLs are allowed."))
        return url


def _department(request):
    department = request.department or None
    if not can(request.user, Action.MANAGE_INTEGRATIONS, department):
        raise PermissionDenied
    return department


@login_required
def webhook_list(request):
    department = _department(request)
    form = EndpointForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            created = form.save(commit=False)
            created.department, created.created_by = department, request.user
            created.save()
            audit.record("webhook.create", actor=request.user, department=department, obj=created, request=request,
                         details={"url": created.url, "events": created.events})
        form = EndpointForm()
    endpoints = WebhookEndpoint.objects.for_user(request.user, Action.MANAGE_INTEGRATIONS).filter(department=department)
    deliveries = WebhookDelivery.objects.filter(department=department).select_related("endpoint")[:50]
    response = render(request, "jobs/webhooks.html", {"form": form, "endpoints": endpoints, "created": created,
                                                      "deliveries": deliveries, "department": department})
    response["Cache-Control"] = "no-store"  # may carry a new endpoint's secret
    return response


@login_required
@require_POST
def webhook_test(request, pk: int):
    endpoint = get_for_user_or_404(WebhookEndpoint, request.user, Action.MANAGE_INTEGRATIONS, pk=pk)
    with transaction.atomic():
        webhooks.send_test(endpoint)
        audit.record("webhook.test", actor=request.user, department=endpoint.department, obj=endpoint, request=request)
    messages.success(request, _("Test event queued; its result appears in the delivery log."))
    return redirect("webhooks")


@login_required
@require_POST
def webhook_delete(request, pk: int):
    endpoint = get_for_user_or_404(WebhookEndpoint, request.user, Action.MANAGE_INTEGRATIONS, pk=pk)
    with transaction.atomic():
        audit.record("webhook.delete", actor=request.user, department=endpoint.department, obj=endpoint,
                     request=request, details={"url": endpoint.url})
        endpoint.delete()
    messages.success(request, _("Webhook removed."))
    return redirect("webhooks")
