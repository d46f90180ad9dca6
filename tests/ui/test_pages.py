"""Every page for every role: 200 where the role allows it, 403 where it does not, 404 for another department's
objects, a login redirect for anonymous visitors. Expectations come from accounts.permissions (the one matrix)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.permissions import ROLE_ACTIONS, Action, Role
from tests.helpers import assert_cross_department_404

ROLES = ["manager", "hr", "auditor", "dept_admin"]

#: page -> the action it needs (None: any member)
PAGES = {
    "home": None,
    "presenters": Action.VIEW_MEDIA,
    "presenter_detail": Action.VIEW_MEDIA,
    "presenter_upload": Action.MANAGE_PRESENTERS,
    "presenter_edit": Action.MANAGE_PRESENTERS,
    "presenter_remove": Action.MANAGE_PRESENTERS,
    "audio": Action.VIEW_MEDIA,
    "audio_detail": Action.VIEW_MEDIA,
    "audio_upload": Action.MANAGE_AUDIO,
    "audio_tts": Action.MANAGE_AUDIO,
    "audio_edit": Action.MANAGE_AUDIO,
    "audio_remove": Action.MANAGE_AUDIO,
    "job_list": Action.VIEW_JOBS,
    "job_export": Action.VIEW_JOBS,
    "job_create": Action.RUN_JOBS,
    "job_detail": Action.VIEW_JOBS,
    "job_status": Action.VIEW_JOBS,
    "job_zip": Action.DOWNLOAD_OUTPUTS,
    "item_download": Action.DOWNLOAD_OUTPUTS,
    "item_preview": Action.DOWNLOAD_OUTPUTS,
    "members": Action.MANAGE_MEMBERS,
}


def page_urls(media_set, batch) -> dict[str, str]:
    presenter, audio = media_set["presenters"][0], media_set["audio"]
    done = batch.items.get(status="succeeded")
    return {
        "home": reverse("home"),
        "presenters": reverse("media_library:presenters"),
        "presenter_detail": reverse("media_library:presenter_detail", args=[presenter.pk]),
        "presenter_upload": reverse("media_library:presenter_upload"),
        "presenter_edit": reverse("media_library:presenter_edit", args=[presenter.pk]),
        "presenter_remove": reverse("media_library:remove", args=["presenter", presenter.pk]),
        "audio": reverse("media_library:audio"),
        "audio_detail": reverse("media_library:audio_detail", args=[audio.pk]),
        "audio_upload": reverse("media_library:audio_upload"),
        "audio_tts": reverse("media_library:audio_tts"),
        "audio_edit": reverse("media_library:audio_edit", args=[audio.pk]),
        "audio_remove": reverse("media_library:remove", args=["audio", audio.pk]),
        "job_list": reverse("job_list"),
        "job_export": reverse("job_export"),
        "job_create": reverse("job_create"),
        "job_detail": reverse("job_detail", args=[batch.pk]),
        "job_status": reverse("job_status", args=[batch.pk]),
        "job_zip": reverse("job_zip", args=[batch.pk]),
        "item_download": reverse("item_download", args=[done.pk]),
        "item_preview": reverse("item_preview", args=[done.pk]),
        "members": reverse("members", args=["hr"]),
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_what_the_role_allows(role, users, login, media_set, batch):
    client = login(users[role])
    for name, url in page_urls(media_set, batch).items():
        action = PAGES[name]
        expected = 200 if action is None or action in ROLE_ACTIONS[Role(role)] else 403
        response = client.get(url)
        assert response.status_code == expected, f"{role} GET {name} ({url}) -> {response.status_code}, not {expected}"
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


def test_staff_sees_every_page(users, login, media_set, batch):
    client = login(users["staff"])
    for name, url in page_urls(media_set, batch).items():
        assert client.get(url).status_code == 200, name


def test_anonymous_visitors_are_sent_to_the_login_page(client, media_set, batch):
    for name, url in page_urls(media_set, batch).items():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name


def test_another_departments_objects_answer_404(users, login, media_set, batch):
    """A Sales manager (and Sales' admin) guessing HR's URLs learns nothing: 404 for every object page and action."""
    urls = page_urls(media_set, batch)
    object_pages = [
        urls[name]
        for name in (
            "presenter_detail", "presenter_edit", "presenter_remove", "audio_detail", "audio_edit", "audio_remove",
            "job_detail", "job_status", "job_zip", "item_download", "item_preview", "members",
        )
    ]
    presenter = media_set["presenters"][0]
    actions = [
        reverse("job_cancel", args=[batch.pk]),
        reverse("job_retry", args=[batch.pk]),
        reverse("job_duplicate", args=[batch.pk]),
        reverse("media_library:presenter_file", args=[presenter.pk, "original"]),
        reverse("media_library:restore", args=["presenter", presenter.pk]),
        reverse("media_library:reanalyse", args=["audio", media_set["audio"].pk]),
    ]
    for role in ("sales_manager", "sales_admin"):
        client = login(users[role])
        assert_cross_department_404(client, object_pages, methods=("get",))
        assert_cross_department_404(client, actions, methods=("post",))


def test_lists_only_show_the_active_department(users, login, media_set, batch, sales_batch):
    client = login(users["sales_manager"])
    presenters = client.get(reverse("media_library:presenters")).content.decode()
    assert "Dana" in presenters and "Anna" not in presenters
    jobs = client.get(reverse("job_list")).content.decode()
    assert f"#{sales_batch.pk}<" in jobs and f"#{batch.pk}<" not in jobs
    export = client.get(reverse("job_export")).content.decode("utf-8-sig")
    assert len(export.strip().splitlines()) == 2  # header + Sales' batch


def test_two_department_user_gets_the_role_of_the_active_department(users, login, media_set, batch, departments):
    client = login(users["two_departments"])  # manager in HR, auditor in Sales
    assert client.get(reverse("job_create")).status_code == 200
    client.post(reverse("switch_department", args=["sales"]), {"next": reverse("job_create")})
    assert client.get(reverse("job_create")).status_code == 403
    page = client.get(reverse("home")).content.decode()
    assert 'selected>Sales</option>' in page
    assert client.get(reverse("job_detail", args=[batch.pk])).status_code == 200  # still a member of HR


def test_member_without_department_sees_what_to_do(make_user, client, departments):
    client.force_login(make_user("newcomer"))
    page = client.get(reverse("home")).content.decode()
    assert "No department yet" in page and "Ask your department administrator" in page
