"""The "upload audio, pick presenters, click generate" form. Choices come from the tenancy scope."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action
from jobs.models import Backend
from media_library.models import AudioTrack, MediaStatus, Presenter


class BatchForm(forms.Form):
    audio = forms.ModelChoiceField(label=_("Audio"), queryset=AudioTrack.objects.none())
    presenters = forms.ModelMultipleChoiceField(
        label=_("Presenters"), queryset=Presenter.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    backend = forms.ChoiceField(label=_("Lip-sync engine"), choices=Backend.choices, initial=Backend.WARP)
    preview = forms.BooleanField(
        label=_("Try a 5-second sample of one presenter first"), required=False
    )

    def __init__(self, *args, user, department, **kwargs):
        super().__init__(*args, **kwargs)
        ready = {"status": MediaStatus.READY, "archived_at__isnull": True, "department": department}
        self.fields["audio"].queryset = AudioTrack.objects.for_user(user, Action.VIEW_MEDIA).filter(**ready)
        self.fields["presenters"].queryset = (
            Presenter.objects.for_user(user, Action.RUN_JOBS).filter(**ready).prefetch_related("tags")
        )
