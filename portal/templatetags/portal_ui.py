"""Small template helpers shared by every page: query-string links, durations, percentages."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" removes them): `?{% query page=2 %}`."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def duration(seconds) -> str:
    """Seconds as a short human duration: 3.6 s, 42 s, 3:05 min, 1:02:03 h."""
    if seconds is None or seconds == "":
        return "—"
    if float(seconds) < 10:
        return _("%(s).1f s") % {"s": float(seconds)}
    total = int(round(float(seconds)))
    if total < 60:
        return _("%(s)d s") % {"s": total}
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return _("%(m)d:%(s)02d min") % {"m": minutes, "s": secs}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d:%(m)02d:%(s)02d h") % {"h": hours, "m": minutes, "s": secs}


@register.filter
def percent_of(part, whole) -> int:
    """Integer percentage of part in whole, clamped to 0..100 (0 when whole is empty)."""
    try:
        return max(0, min(100, int(round(100 * float(part) / float(whole)))))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0


@register.filter
def share(value) -> int:
    """A 0..1 ratio as an integer percentage."""
    try:
        return int(round(100 * float(value)))
    except (TypeError, ValueError):
        return 0
