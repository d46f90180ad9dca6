"""Template filters for batch rows (texts come from jobs.summary, shared with the live job page)."""

from django import template

from jobs import summary

register = template.Library()


@register.filter
def batch_counts(batch) -> str:
    """'3 of 5 videos done, 1 failed' for a batch annotated by summary.with_progress."""
    return summary.counts_label(batch.n_items, batch.n_succeeded, batch.n_failed)
