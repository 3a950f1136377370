#!/usr/bin/env bash
# Inputs from other tools' habits and weights that are not numbers, from the command line:
# a dataset whose every file a Windows editor saved (byte-order mark, CRLF, '\' in paths)
# evaluates exactly like the original; a UTF-16 list is refused by name; an exported state dict
# with a NaN (written by Python) is refused by detect, eval and export naming the tensor, and
# loads with --allow-invalid-weights and a warning.
# Usage: cli_foreign_inputs.sh TYQ   (exit 77 = skipped: no /usr/bin/python3 with torch)
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"

tyq=$1
if ! "$python" -c 'import torch' 2>/dev/null; then
    echo "skip: $python cannot import torch (apt-get install python3-torch)"
    exit 77
fi

cd "$work" || exit 1
toy=(--width 128 --height 96)

"$tyq" --threads 1 -q gen-data --out data --train 6 --val 6 --seed 8 || fail "gen-data failed"
"$tyq" --threads 1 -q train --data data/dac.data --out exps/fp --epochs 1 --batch-size 3 --accumulate 1 \
    --loader-threads 1 "${toy[@]}" >train.log 2>&1 || fail "fp training failed: $(tail -3 train.log)"
weights=exps/fp/checkpoints/last.ckpt

# --- a Windows editor's dataset -----------------------------------------------------------------
"$python" - <<'PY' || fail "could not write the Windows-style dataset"
import pathlib
def windows(text): return "\ufeff" + text.replace("\n", "\r\n")
data = pathlib.Path("data")
lines = [l for l in (data / "val.txt").read_text().splitlines() if l]
(data / "val_win.txt").write_text(windows("\n".join(l.replace("/", "\\") for l in lines) + "\n"), encoding="utf-8")
(data / "dac_win.names").write_text(windows((data / "dac.names").read_text()), encoding="utf-8")
(data / "dac_win.data").write_text(windows("classes = 12\ntrain = val_win.txt\nvalid = val_win.txt\nnames = dac_win.names\n"),
                                   encoding="utf-8")
(data / "val_utf16.txt").write_text((data / "val.txt").read_text(), encoding="utf-16")
PY
"$tyq" --threads 1 -q eval --weights "$weights" --data data/dac.data "${toy[@]}" --json plain.json >/dev/null 2>&1 ||
    fail "eval on the original dataset failed"
if "$tyq" --threads 1 -q eval --weights "$weights" --data data/dac_win.data "${toy[@]}" --json win.json >win.log 2>&1; then
    "$python" - <<'PY' && pass "a BOM + CRLF + backslash dataset evaluates like the original" || fail "metrics differ"
import json
plain, win = json.load(open("plain.json")), json.load(open("win.json"))
assert win["images"] == plain["images"] == 6 and win["truths"] == plain["truths"], (plain, win)
assert abs(win["map"] - plain["map"]) < 1e-12, (plain["map"], win["map"])
PY
else
    fail "eval on the Windows-style dataset failed: $(cat win.log)"
fi
sed -e 's/val_win.txt/val_utf16.txt/' -e 's/dac_win.names/dac.names/' data/dac_win.data >data/dac_utf16.data
if "$tyq" --threads 1 -q eval --weights "$weights" --data data/dac_utf16.data "${toy[@]}" >utf16.log 2>&1; then
    fail "a UTF-16 list was accepted"
else
    grep -q "val_utf16.txt: is UTF-16 text" utf16.log && pass "a UTF-16 list is refused by name" ||
        fail "UTF-16 message: $(cat utf16.log)"
fi

# --- weights that are not numbers ---------------------------------------------------------------
"$tyq" --threads 1 -q export --format pth --weights "$weights" --out good.pth >/dev/null || fail "export failed"
"$python" - <<'PY' || fail "python could not write nan.pth"
import torch
state = torch.load("good.pth")
state["module_list.2.conv_2.weight"].view(-1)[7] = float("nan")
torch.save(state, "nan.pth")
PY
image=$(head -1 data/val.txt)
[[ $image = /* ]] || image=data/$image
for cmd in "detect $image" "eval --data data/dac.data ${toy[*]}" "export --format pth --out again.pth"; do
    name=${cmd%% *}
    # shellcheck disable=SC2086
    "$tyq" --threads 1 -q $cmd --weights nan.pth >"$name.log" 2>&1
    rc=$?
    if [[ $rc -ne 0 ]] && grep -q "nan.pth: invalid weights" "$name.log" &&
        grep -q "module_list.2.conv_2.weight: 1 non-finite value" "$name.log"; then
        pass "$name refuses a NaN weight, naming the tensor"
    else
        fail "$name with a NaN weight: exit $rc, $(cat "$name.log")"
    fi
done
[[ ! -e again.pth ]] && pass "nothing was exported from it" || fail "export wrote again.pth"
if "$tyq" --threads 1 detect "$image" --weights nan.pth --allow-invalid-weights >allow.log 2>&1; then
    grep -q "warning: .*module_list.2.conv_2.weight: 1 non-finite value.*loaded anyway" allow.log &&
        pass "--allow-invalid-weights loads it with a warning" || fail "no warning: $(cat allow.log)"
else
    fail "--allow-invalid-weights still refused: $(cat allow.log)"
fi

if ((failures)); then
    echo "$failures failure(s)"
    exit 1
fi
echo "all foreign-input checks passed"
