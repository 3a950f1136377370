#!/usr/bin/env bash
# tyq-studio on a real X server (Xvfb, the xcb platform, not offscreen): it starts, shows its
# window with every panel, saves a screenshot, and quits; the screenshot must be a non-blank
# window. Usage: studio_smoke.sh TYQ_STUDIO SCREENSHOT_CHECK   (exit 77 = no xvfb-run here)
set -uo pipefail
studio=$1
check=$2
if ! command -v xvfb-run >/dev/null; then
    echo "SKIP: xvfb-run is not installed (apt-get install xvfb xauth)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export XDG_CONFIG_HOME=$work/config # the user's studio settings stay untouched
unset QT_QPA_PLATFORM
if ! timeout 120 xvfb-run -a -s "-screen 0 1600x1000x24" "$studio" --screenshot "$work/studio.png" \
    --screenshot-delay 3 >"$work/out.txt" 2>&1; then
    echo "FAIL: tyq-studio did not run under Xvfb:"
    cat "$work/out.txt"
    exit 1
fi
cat "$work/out.txt"
grep -q "platform xcb" "$work/out.txt" || { echo "FAIL: not on the xcb platform"; exit 1; }
"$check" "$work/studio.png" 1000 700
