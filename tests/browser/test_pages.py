"""The main pages in a real browser, in Simplified Chinese (from the browser's Accept-Language) and English, at
desktop and phone widths; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD
from tests.ui import conftest as ui_fixtures

# the page tests' fixtures: HR's media and a batch with a finished, a failed and a running item
make_audio, make_presenter, media_set, batch = (
    ui_fixtures.make_audio, ui_fixtures.make_presenter, ui_fixtures.media_set, ui_fixtures.batch
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    ("dashboard", "/", "已用存储"),
    ("presenters", "/media/presenters/", "上传出镜人"),
    ("audio", "/media/audio/", "用文字生成音频"),
    ("new-batch", "/jobs/new/", "选择出镜人"),
    ("job-history", "/jobs/", "任务历史"),
    ("members", "/departments/hr/members/", "各角色的权限"),
]


def test_main_pages_in_chinese(live_server, new_page, screenshot, users, batch):
    base = live_server.url
    page = new_page("zh-Hans")
    log_in(page, base, users["dept_admin"].username, PASSWORD)
    for name, path, text in PAGES:
        page.goto(base + path)
        assert page.evaluate("document.documentElement.lang") == "zh-hans"
        assert text in page.inner_text("main"), f"{name}: {text} not shown"
        assert "退出登录" in page.inner_text("header")
        screenshot(page, f"zh-{name}")

    page.goto(f"{base}/jobs/{batch.pk}/")
    assert "正在生成口型" in page.inner_text("#items") and "没有找到" not in page.inner_text("#items")
    page.wait_for_function("Number(document.getElementById('job').dataset.polls || 0) >= 1")
    assert page.inner_text("[data-batch-badge]") == "运行中"  # the live update speaks Chinese too
    screenshot(page, "zh-job-detail")

    page.goto(f"{base}/no/such/page/")
    assert "返回仪表板" in page.inner_text("main")
    screenshot(page, "zh-404")


def test_language_switcher_and_phone_layout(live_server, new_page, screenshot, users, batch):
    base = live_server.url
    page = new_page("zh-Hans")
    log_in(page, base, users["manager"].username, PASSWORD)
    with page.expect_navigation():
        page.select_option("#language-switcher select", "en")
    assert "Dashboard" in page.inner_text("header") and page.evaluate("document.documentElement.lang") == "en"
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/jobs/{batch.pk}/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the job page scrolls sideways on a phone ({width}px)"
    screenshot(page, "phone-job-detail")
    page.goto(f"{base}/")
    screenshot(page, "phone-dashboard")
