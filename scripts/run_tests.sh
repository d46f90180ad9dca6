#!/usr/bin/env bash
# The whole suite: lint, then pytest against the configured (or a private) Redis and database.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests use their own Redis database (index 14) so they never touch a developer's queues.
REDIS_URL="$(scripts/ensure_redis.sh)"
REDIS_URL="${REDIS_URL%/*}/14"
export REDIS_URL
echo "Database: ${DATABASE_URL:-sqlite (var/)}   Redis: $REDIS_URL"
.venv/bin/ruff check .
exec .venv/bin/pytest "$@"
