"""Assertions reused by every issue's tests."""

from __future__ import annotations

from collections.abc import Iterable


def assert_cross_department_404(client, urls: Iterable[str], methods: Iterable[str] = ("get", "post")) -> None:
    """Every URL of another department's object answers 404 (never 403, never data) for every method."""
    for url in urls:
        for method in methods:
            response = getattr(client, method)(url)
            assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}, expected 404"
