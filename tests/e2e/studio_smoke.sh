#!/usr/bin/env bash
# tyq-studio on a real X server (Xvfb, the xcb platform, not offscreen): it starts in each
# workspace, saves a screenshot, checks its layout, and quits. Usage:
#   studio_smoke.sh TYQ_STUDIO SCREENSHOT_CHECK   (exit 77 = no xvfb-run here)
# TYQ_SMOKE_SCREENSHOTS=DIR keeps the screenshots.
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
# Each workspace at 1280x800 and at 1920x1080: a real, non-blank window whose key widgets (the
# bit-width table, the plots and training form, views A and B, ...) are shown whole and not
# squeezed, and A and B of equal size (tyq-studio --check-layout says which widget is wrong).
status=0
for screen in 1280x800 1920x1080; do
    for workspace in quantize train inspect; do
        shot="$work/$workspace-$screen.png"
        if ! timeout 120 xvfb-run -a -s "-screen 0 ${screen}x24" "$studio" --workspace "$workspace" \
            --screenshot "$shot" --screenshot-delay 3 --check-layout >"$work/out.txt" 2>&1; then
            echo "FAIL: the $workspace workspace at $screen:"
            cat "$work/out.txt"
            status=1
            continue
        fi
        cat "$work/out.txt"
        grep -q "platform xcb" "$work/out.txt" || { echo "FAIL: not on the xcb platform"; exit 1; }
        "$check" "$shot" $(( ${screen%x*} * 8 / 10 )) $(( ${screen#*x} * 7 / 10 )) || status=1
        [[ -n "${TYQ_SMOKE_SCREENSHOTS:-}" ]] && mkdir -p "$TYQ_SMOKE_SCREENSHOTS" && cp "$shot" "$TYQ_SMOKE_SCREENSHOTS/"
    done
done
exit $status
