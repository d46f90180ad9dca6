#!/usr/bin/env bash
# Prints a usable Redis URL: $REDIS_URL when it answers, else a private redis-server started
# under var/redis (port 6391) for this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
if redis-cli -u "$url" ping >/dev/null 2>&1; then echo "$url"; exit 0; fi
port=6391
private="redis://127.0.0.1:${port}/0"
if ! redis-cli -u "$private" ping >/dev/null 2>&1; then
  mkdir -p var/redis var/log
  echo "Redis at $url is not reachable; starting a private redis-server on port $port" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$PWD/var/redis" \
    --pidfile "$PWD/var/redis/redis.pid" --logfile "$PWD/var/log/redis.log" --save "" --appendonly no >&2
  for _ in $(seq 50); do redis-cli -u "$private" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
echo "$private"
