#!/usr/bin/env python3
"""Drive the lip-sync portal from another system, using only `requests`.

Uploads an audio file, creates a batch over two presenters (existing ids, or two uploaded files), polls the
batch's progress and downloads the ZIP of videos (with manifest.csv).

    python examples/api_client.py --url http://portal.example --token lsp_... --audio speech.wav \\
        --presenter 12 --presenter 15 --out batch.zip

The token comes from the portal's "API tokens" page (or `manage.py create_api_token USER`), or the
LIPSYNC_TOKEN environment variable.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import requests

TERMINAL = {"succeeded", "partially_failed", "failed", "canceled"}


class Portal:
    """A thin client: every call raises SystemExit with the API's readable message on an error."""

    def __init__(self, url: str, token: str, department: str | None = None, timeout: float = 60.0) -> None:
        self.base = url.rstrip("/") + "/api/v1/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        if department:
            self.session.headers["X-Department"] = department
        self.timeout = timeout

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            try:
                error = response.json()
                message = f"{error.get('code')}: {error.get('message')} {error.get('errors') or ''}".strip()
            except ValueError:
                message = response.text[:300]
            raise SystemExit(f"{method} {path} failed ({response.status_code}) - {message}")
        return response

    def upload(self, kind: str, path: Path, **fields) -> dict:
        with path.open("rb") as handle:
            return self.call("POST", f"{kind}/", files={"file": (path.name, handle)}, data=fields).json()

    def wait_ready(self, kind: str, row: dict, deadline: float) -> dict:
        """Media is analysed in the background: wait until it is ready (or say why it was rejected)."""
        while row["status"] not in ("ready", "rejected"):
            if time.monotonic() > deadline:
                raise SystemExit(f"{kind} #{row['id']} is still {row['status']}; giving up.")
            time.sleep(1)
            row = self.call("GET", f"{kind}/{row['id']}/").json()
        if row["status"] == "rejected":
            raise SystemExit(f"{kind} #{row['id']} was rejected: {row['rejection_reason']}")
        return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("LIPSYNC_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("LIPSYNC_TOKEN"), help="API token (or LIPSYNC_TOKEN)")
    parser.add_argument("--department", help="department slug, when your token's user belongs to several")
    parser.add_argument("--audio", type=Path, required=True, help="audio file to lip-sync")
    parser.add_argument("--language", default="en")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--presenter", type=int, action="append", help="presenter id (give two)")
    group.add_argument("--presenter-file", type=Path, action="append", help="presenter video/photo (give two)")
    parser.add_argument("--backend", default="warp", choices=["warp", "wav2lip"])
    parser.add_argument("--out", type=Path, default=Path("batch.zip"))
    parser.add_argument("--max-wait", type=float, default=1800, help="seconds to wait for the whole batch")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("an API token is required (--token or LIPSYNC_TOKEN)")
    chosen = args.presenter or args.presenter_file
    if len(chosen) != 2:
        parser.error("give exactly two presenters")

    portal = Portal(args.url, args.token, args.department)
    deadline = time.monotonic() + args.max_wait
    me = portal.call("GET", "me/").json()
    print(f"Signed in as {me['username']} ({', '.join(d['slug'] for d in me['departments'])})")

    audio = portal.upload("audio", args.audio, title=args.audio.stem, language=args.language)
    print(f"Uploaded audio #{audio['id']} '{audio['title']}', waiting for analysis...")
    audio = portal.wait_ready("audio", audio, deadline)
    print(f"Audio ready: {audio['duration']:.1f} s")

    if args.presenter:
        presenter_ids = args.presenter
    else:
        presenter_ids = []
        for path in args.presenter_file:
            row = portal.upload("presenters", path, title=path.stem)
            print(f"Uploaded presenter #{row['id']} '{row['title']}', waiting for analysis...")
            presenter_ids.append(portal.wait_ready("presenters", row, deadline)["id"])

    body = {"audio": audio["id"], "presenters": presenter_ids, "backend": args.backend, "options": {}}
    # the key makes a retried POST (after a timeout, say) return the same batch instead of starting another
    batch = portal.call("POST", "jobs/", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}).json()
    print(f"Batch #{batch['id']} created with {len(batch['items'])} items")

    last = None
    while batch["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise SystemExit(f"Batch #{batch['id']} still {batch['status']} after {args.max_wait:.0f} s")
        time.sleep(2)
        batch = portal.call("GET", f"jobs/{batch['id']}/").json()
        line = f"  {batch['status']:<16} {batch['progress']:5.1f}%  " + "  ".join(
            f"{i['presenter']['title']}: {i['status']} {i['progress']:.0f}%" for i in batch["items"]
        )
        if line != last:
            print(line)
            last = line
    print(f"Batch #{batch['id']} finished: {batch['status']}")
    for item in batch["items"]:
        if item["status"] == "failed":
            print(f"  {item['presenter']['title']} failed: {item['error']}")

    with portal.call("GET", f"jobs/{batch['id']}/download/", stream=True) as response, args.out.open("wb") as out:
        for chunk in response.iter_content(chunk_size=1024 * 1024):
            out.write(chunk)
    print(f"Saved {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0 if batch["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
