#!/usr/bin/env bash
# `make demo`: database, demo users, Redis, the web server and one worker, then the URL.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ADDR="${DEMO_ADDR:-127.0.0.1:8000}"
REDIS_URL="$(scripts/ensure_redis.sh)"
export REDIS_URL
mkdir -p var/run var/log
scripts/stop.sh >/dev/null 2>&1 || true
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo
nohup $PY manage.py rqworker gpu ingest default --with-scheduler >var/log/worker.log 2>&1 &
echo $! > var/run/worker.pid
nohup $PY manage.py runserver "$ADDR" --noreload >var/log/web.log 2>&1 &
echo $! > var/run/web.pid
for _ in $(seq 100); do curl -fs "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
if [ -x scripts/demo_batch.sh ]; then scripts/demo_batch.sh; fi
echo
echo "Portal running at http://$ADDR/  (worker log: var/log/worker.log, web log: var/log/web.log)"
echo "Stop it with: make stop"
