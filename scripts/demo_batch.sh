#!/usr/bin/env bash
# Part of `make demo`: the main job on sample media, through Redis and the worker just started.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python manage.py demo_batch
