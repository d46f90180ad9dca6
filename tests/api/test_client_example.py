"""examples/api_client.py against a live server (`runserver`) and a real worker process, end to end."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from accounts.models import ApiToken
from tests.jobs.conftest import speech_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server_url(worker_env):
    """`manage.py runserver` on a free port, sharing the test database, Redis and media."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2)  # noqa: S310 - local test server
            break
        except urllib.error.HTTPError:
            break  # answering (503 when a check fails is fine here)
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("runserver did not start") from None
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=10)


def test_example_client_runs_a_batch_end_to_end(users, media_set, worker_process, live_server_url, tmp_path):
    _, key = ApiToken.issue(users["dept_admin"], name="example")
    worker_process("gpu", "ingest", "default", "--with-scheduler", burst=False)
    out = tmp_path / "batch.zip"
    anna, ben = media_set["presenters"][:2]
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "api_client.py"), "--url", live_server_url, "--token", key,
         "--audio", str(speech_file()), "--presenter", str(anna.pk), "--presenter", str(ben.pk),
         "--out", str(out), "--max-wait", "400"],
        capture_output=True, text=True, timeout=480,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finished: succeeded" in result.stdout
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        assert archive.testzip() is None
    videos = [n for n in names if n.endswith(".mp4")]
    assert len(videos) == 2 and "manifest.csv" in names, names
