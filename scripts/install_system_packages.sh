#!/usr/bin/env bash
# Installs the Debian packages the project needs, when missing. As root it runs apt-get;
# otherwise it prints the exact command and fails, so nothing is half set up.
set -euo pipefail
# chromium: the browser tests (tests/browser); gettext: compiling the zh-hans catalogue (make messages)
PACKAGES=(ffmpeg espeak-ng redis-server redis-tools sox chromium gettext fonts-wqy-microhei)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  bash -c "$cmd"
else
  echo "Missing system packages: ${missing[*]}. Run as root:" >&2
  echo "  sudo bash -c '$cmd'" >&2
  exit 1
fi
