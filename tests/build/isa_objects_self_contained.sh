#!/usr/bin/env bash
# The kernels built for one instruction set (files *_avx2.cpp, *_avx512.cpp, *_vnni.cpp, compiled
# with -mavx2 or -mavx512f) must define no weak function: an inline function or template they
# instantiate out of line (a std::vector member, say) is merged with the baseline build's copy,
# and the linker may keep theirs for every caller, which then faults on a CPU without that ISA.
# Usage: isa_objects_self_contained.sh OBJECTS (the library's objects, a CMake ;-list; the
# others are skipped)
set -uo pipefail
IFS=';' read -r -a objects <<<"$*"
checked=0 bad=0
for object in "${objects[@]}"; do
    case $(basename "$object") in
        *_avx2.cpp.o | *_avx512.cpp.o | *_vnni.cpp.o) ;;
        *) continue ;;
    esac
    checked=$((checked + 1))
    weak=$(nm -C --defined-only "$object" | awk '$2 == "W" { $1 = ""; $2 = ""; sub(/^  /, ""); print }')
    if [[ -n $weak ]]; then
        echo "FAIL: $(basename "$object") defines weak functions other builds share:"
        sed 's/^/    /' <<<"$weak"
        bad=$((bad + 1))
    fi
done
((checked > 0)) || { echo "FAIL: no instruction-set objects among the ${#objects[@]} given"; exit 1; }
((bad == 0)) || exit 1
echo "ok: $checked instruction-set objects define no weak functions"
