"""The main flow in a real browser: log in, upload a presenter and an audio through the file inputs, wait for the
worker to analyse them, start a batch, watch it reach 100% without a reload, play a result and download the ZIP."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest

from tests.browser.conftest import log_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sample_media(tmp_path_factory):
    from synthesis.samples import make_presenter_clip, make_speech

    folder = tmp_path_factory.mktemp("browser-media")
    return {
        "clip": make_presenter_clip(folder / "anna.mp4", seconds=2.0, width=320, height=240),
        "speech": make_speech(folder / "welcome.wav", text="Welcome to the team. Please read the travel policy."),
    }


def _reload_until(page, selector: str, timeout: float) -> None:
    """Reload a library page until `selector` is on it (the worker analyses in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.query_selector(selector):
            return
        page.wait_for_timeout(1000)
        page.reload()
    raise AssertionError(f"{selector} did not appear on {page.url} within {timeout}s")


def test_upload_generate_watch_play_download(
    live_server, new_page, screenshot, users, media_root, clean_queues, worker_process, sample_media, tmp_path
):
    worker = worker_process("gpu", "ingest", "default", burst=False)
    base = live_server.url
    page = new_page("en")
    log_in(page, base, users["dept_admin"].username, PASSWORD)
    screenshot(page, "01-dashboard-empty")

    # --- a presenter through the drag-and-drop uploader's file input (XHR with per-file progress)
    page.goto(f"{base}/media/presenters/upload/")
    page.set_input_files("input[type=file][name=files]", str(sample_media["clip"]))
    page.fill("#id_tags", "sales, onboarding")
    assert page.locator(".upload-list li").count() == 1
    page.click("form[data-uploader] button[type=submit]")
    page.wait_for_url("**/media/presenters/*/")
    assert "it is being analysed" in page.inner_text(".messages")

    # --- an audio track the same way
    page.goto(f"{base}/media/audio/upload/")
    page.set_input_files("input[type=file][name=file]", str(sample_media["speech"]))
    page.fill("#id_title", "Welcome")
    page.fill("#id_language", "en")
    page.click("form[data-uploader] button[type=submit]")
    page.wait_for_url("**/media/audio/*/")

    # --- both become ready once the real worker has analysed them
    page.goto(f"{base}/media/presenters/")
    _reload_until(page, "#presenter-grid [data-status=ready] img.thumb", timeout=120)
    screenshot(page, "02-presenter-library")
    page.goto(f"{base}/media/audio/")
    _reload_until(page, "#audio-table [data-status=ready]", timeout=120)
    page.click("#audio-table a")
    page.wait_for_selector("img.waveform")
    screenshot(page, "03-audio-detail")
    assert worker.poll() is None, "the worker died"

    # --- new batch in three steps: audio, presenters by tag, estimate, start
    page.goto(f"{base}/jobs/new/")
    page.check("input[name=audio]")
    page.click("[data-select-tag=sales]")
    assert page.locator("input[name=presenters]:checked").count() == 1
    assert page.inner_text("[data-count]") == "1"
    assert page.inner_text("[data-total]") not in ("", "—")
    screenshot(page, "04-new-batch")
    page.click("#start-batch")
    page.wait_for_url("**/jobs/*/")

    # --- live progress: the same document (marker survives) sees the bar move to 100%
    page.evaluate(
        """() => {
            window.__marker = "same-document";
            window.__seen = [];
            const pct = document.querySelector("[data-batch-pct]");
            new MutationObserver(() => window.__seen.push(pct.textContent)).observe(pct, {childList: true,
              characterData: true, subtree: true});
        }"""
    )
    start_text = page.inner_text("[data-batch-pct]")
    page.wait_for_function("document.getElementById('job').dataset.status === 'succeeded'", timeout=180_000)
    assert page.evaluate("window.__marker") == "same-document", "the page was reloaded"
    assert page.inner_text("[data-batch-pct]") == "100%"
    seen = page.evaluate("window.__seen")
    assert seen and seen[-1] == "100%" and start_text != "100%", (start_text, seen)
    assert int(page.get_attribute("#job", "data-polls")) >= 1
    assert page.inner_text("[data-batch-badge]") == "Succeeded"
    assert not page.is_visible("form[data-show-when=active]"), "cancel is offered for a finished batch"

    # --- the finished item's preview was inserted live and plays
    video = page.locator("#items video")
    video.wait_for()
    page.evaluate("() => { const v = document.querySelector('#items video'); v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => { const v = document.querySelector('#items video'); return v.readyState >= 2 && v.currentTime > 0.2; }",
        timeout=20_000,
    )
    screenshot(page, "05-job-detail")

    # --- download all as ZIP through the browser
    with page.expect_download() as info:
        page.click("#download-zip")
    target = tmp_path / "batch.zip"
    info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert "manifest.csv" in names
        videos = [n for n in names if n.endswith(".mp4")]
        assert len(videos) == 1 and archive.getinfo(videos[0]).file_size > 10_000
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    assert [row["status"] for row in manifest] == ["succeeded"]

    # --- the dashboard now shows the finished job and the minutes used
    page.goto(f"{base}/")
    assert page.locator("#recent-jobs tbody tr").count() == 1
    screenshot(page, "06-dashboard")
