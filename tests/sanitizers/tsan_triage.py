#!/usr/bin/env python3
"""Sorts ThreadSanitizer reports from tyq's ui suites into tyq's and Qt's own.

Debian's Qt is not instrumented and its QMutex/QSemaphore are futexes TSan cannot see, so memory
Qt hands between its own threads (thread-pool queues, signal connection lists) is reported as a
race even though only Qt code touches it, in functions Debian ships without symbols (so no
suppression can name them). A report is Qt's own when *both* accesses are made by Qt: the top
frame is in a libQt6 module, or is an interceptor (malloc, free, memmove, operator new/delete,
pthread_*) called directly from one. Any report where tyq's code (or anything else) makes an access
is printed in full and fails the run.

Usage: tsan_triage.py LOG...   (exit 1 if any report is not Qt's own)
"""
import re
import sys

INTERCEPTORS = re.compile(r"^(malloc|calloc|realloc|free|memmove|memcpy|memset|operator new|operator delete|"
                          r"pthread_\w+)")
FRAME = re.compile(r"^\s+#\d+ (.*)$")
MODULE = re.compile(r"\(([^()\s]+)\+0x[0-9a-f]+\)")


def access_is_qts(frames):
    """frames: [(function, module)] of one access stack, top first."""
    if not frames:
        return False
    func, module = frames[0]
    if "libQt6" in module:
        return True
    return bool(INTERCEPTORS.match(func)) and len(frames) > 1 and "libQt6" in frames[1][1]


def reports(text):
    for block in text.split("==================\nWARNING: ThreadSanitizer:")[1:]:
        yield "WARNING: ThreadSanitizer:" + block.split("\n==================")[0]


def classify(report):
    stacks, current = [], None
    for line in report.splitlines():
        # "Write of size", "Previous read of size", "Atomic read of size", "Previous atomic write of size"
        if re.match(r"^\s+(previous )?(atomic )?(write|read) of size", line, re.IGNORECASE):
            current = []
            stacks.append(current)
        elif current is not None and FRAME.match(line):
            func = FRAME.match(line).group(1)
            modules = MODULE.findall(line)
            current.append((func, modules[-1] if modules else ""))
        elif not line.startswith("    "):
            current = None
    return len(stacks) >= 2 and all(access_is_qts(s) for s in stacks)


def main(paths):
    own, ours = 0, []
    for path in paths:
        with open(path, errors="replace") as f:
            for report in reports(f.read()):
                if "data race" in report.splitlines()[0] and classify(report):
                    own += 1
                else:
                    ours.append((path, report))
    for path, report in ours:
        print(f"--- {path}\n{report}\n")
    print(f"tsan_triage: {own} report(s) with both accesses inside Qt, {len(ours)} other(s)")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
