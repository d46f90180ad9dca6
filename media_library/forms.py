"""Forms of the media library pages. They only shape input; services.py does the work and the checks."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

#: languages offered for text to speech (espeak-ng codes); any code espeak-ng knows is accepted by the engine
TTS_LANGUAGES = [
    ("en", _("English")),
    ("en-us", _("English (US)")),
    ("cmn", _("Mandarin Chinese")),
    ("yue", _("Cantonese")),
    ("ja", _("Japanese")),
    ("de", _("German")),
    ("fr", _("French")),
    ("es", _("Spanish")),
]
#: espeak-ng voice variants (blank = the language's default voice)
TTS_VOICES = [
    ("", _("Default")),
    ("m3", _("Male 3")),
    ("f2", _("Female 2")),
    ("f4", _("Female 4")),
    ("klatt", _("Klatt (clear)")),
]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One or more files; empty files pass here so validation.py can name them in its message."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


class PresenterUploadForm(forms.Form):
    files = MultipleFileField(label=_("Video or photo files"))
    title = forms.CharField(
        label=_("Title"), max_length=200, required=False, help_text=_("Leave empty to use each file's name.")
    )
    tags = forms.CharField(label=_("Tags"), max_length=500, required=False, help_text=_("Comma separated."))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class PresenterEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    tags = forms.CharField(label=_("Tags"), max_length=500, required=False, help_text=_("Comma separated."))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AudioUploadForm(forms.Form):
    file = forms.FileField(label=_("Audio file"), allow_empty_file=True)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    language = forms.CharField(label=_("Language"), max_length=20, required=False, help_text=_("e.g. en, cmn, ja"))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AudioEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    language = forms.CharField(label=_("Language"), max_length=20, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class TtsForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(label=_("Text"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))
    language = forms.ChoiceField(label=_("Language"), choices=TTS_LANGUAGES, initial="en")
    voice = forms.ChoiceField(label=_("Voice"), choices=TTS_VOICES, required=False)
    rate = forms.IntegerField(label=_("Speaking rate (words per minute)"), min_value=80, max_value=450, initial=150)
