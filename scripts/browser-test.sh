#!/usr/bin/env bash
# The page test in a real browser: Debian's chromium driven by Playwright
# (from PyPI, in a venv; never `playwright install`). Trains a small model
# on a synthetic cohort, starts `radial serve` with an API key, uploads a
# case through the page and compares the probability shown with `radial
# predict`. Everything it starts is stopped, even on failure.
#
#   scripts/browser-test.sh [RADIAL_BINARY]   (default: target/debug/radial)
# Needs: apt-get install chromium chromium-driver fonts-liberation python3-venv
set -euo pipefail
cd "$(dirname "$0")/.."
RADIAL=${1:-${CARGO_TARGET_DIR:-target}/debug/radial}
RADIAL=$(realpath "$RADIAL")
VENV=${RADIAL_VENV:-$HOME/.cache/radial-venv}
[ -x /usr/bin/chromium ] || { echo "browser-test: /usr/bin/chromium is missing (apt-get install chromium)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import playwright' 2> /dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q playwright
fi
WORK=$(mktemp -d /tmp/radial-browser.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
"$VENV/bin/python" scripts/browser_test.py "$RADIAL" "$WORK"
echo "browser-test: $(($(date +%s) - START)) s"
