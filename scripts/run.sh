#!/usr/bin/env bash
# Sets up and builds tyq (scripts/setup.sh), generates the sample dataset on first run
# (data/sample, 2000 train / 400 val images), then opens tyq-studio on the default experiment.
# Without a display it says how to get one and shows the network with the CLI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [[ ! -f data/sample/dac.data ]]; then
  build/bin/tyq gen-data --out data/sample
fi
if [[ -n "${DISPLAY:-}" || -n "${WAYLAND_DISPLAY:-}" ]]; then
  exec build/bin/tyq-studio "$@"
fi
cat <<'MSG'
tyq-studio needs a display and none is set (DISPLAY is empty). Either:
  - log in with X forwarding (ssh -X) or from a desktop session and run build/bin/tyq-studio;
  - or run it on a virtual X server: xvfb-run -a build/bin/tyq-studio --screenshot studio.png
  - or use the command line: build/bin/tyq train --data data/sample/dac.data --out exps/fp-demo
Meanwhile, the default network and bit-widths:
MSG
exec build/bin/tyq info
