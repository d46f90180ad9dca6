"""The user's API tokens page: list, create (the key is shown once, on this response only), revoke."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.models import ApiToken


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100, required=False,
                           help_text=gettext_lazy("What uses it, e.g. 'LMS sync'."))
    days = forms.IntegerField(label=gettext_lazy("Expires after (days)"), min_value=0, max_value=3650, initial=90,
                              help_text=gettext_lazy("0 = never expires."))
    read_only = forms.BooleanField(label=gettext_lazy("Read-only"), required=False)


@login_required
def tokens(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            token, new_key = ApiToken.issue(request.user, name=data["name"], days=data["days"] or None,
                                            read_only=data["read_only"])
            audit.record("api_token.create", actor=request.user, obj=token, request=request,
                         details={"via": "web", "name": token.name, "read_only": token.read_only})
        form = TokenForm()
    rows = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    response = render(request, "accounts/tokens.html", {"form": form, "tokens": rows, "new_key": new_key})
    response["Cache-Control"] = "no-store"  # the page may carry a freshly created key
    return response


@login_required
@require_POST
def revoke_token(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    with transaction.atomic():
        token.revoke()
        audit.record("api_token.revoke", actor=request.user, obj=token, request=request,
                     details={"via": "web", "name": token.name})
    messages.success(request, _("Token %(hint)s… revoked.") % {"hint": token.key_hint})
    return redirect("api_tokens")
