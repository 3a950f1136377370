# The prologue every e2e script shares (sourced): Debian's python3 (it has torch and numpy; the
# first python3 on PATH may be another one), a scratch folder `$work` removed on exit, and the
# fail/pass reporting each script ends with `$failures` of.
python=/usr/bin/python3
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
