#!/usr/bin/env bash
# Stops what `make demo` started (web server, worker; the private Redis if one was started).
cd "$(dirname "$0")/.."
for name in web worker; do
  if [ -f "var/run/$name.pid" ]; then kill "$(cat var/run/$name.pid)" 2>/dev/null && echo "stopped $name"; rm -f "var/run/$name.pid"; fi
done
if [ -f var/redis/redis.pid ]; then kill "$(cat var/redis/redis.pid)" 2>/dev/null && echo "stopped private redis"; fi
exit 0
