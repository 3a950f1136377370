#!/usr/bin/env bash
# Sets up and builds tyq (scripts/setup.sh), then runs the main job on the built-in defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/bin/tyq info
