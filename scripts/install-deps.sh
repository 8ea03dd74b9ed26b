#!/usr/bin/env bash
# Installs the system packages tapo-recorder needs, from Debian/Ubuntu's
# repositories, only where missing (idempotent). Used by the README's Quick
# start and by CI.
#   ffmpeg        records (and ffprobe verifies) segments
#   redis-server  the queue, when no REDIS_URL is given
#   GStreamer RTSP server + Debian's python3-gi: the simulated camera (demo, tests)
set -euo pipefail

PACKAGES=(
  ffmpeg
  redis-server
  redis-tools
  python3-gi
  gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-rtsp
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly
  gstreamer1.0-plugins-bad
  gstreamer1.0-x
  util-linux
)

# --dev: also what the test suite needs beyond running (Chromium for the browser test).
if [ "${1:-}" = "--dev" ]; then
  PACKAGES+=(chromium)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all system packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
