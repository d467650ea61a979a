#!/usr/bin/env bash
# Runs the built test suite one test at a time (see the Makefile's `test`) and keeps its
# output in .build/test-output.log. When the run fails, it ends by repeating what a log cut
# to its last lines would lose: the tests that failed, any fatal error, and the test that was
# running when the process died. A crash prints only the crashed thread's frames, without
# the register dump and the list of loaded images that would otherwise fill the tail.
#
#   scripts/run-tests.sh [swift test options...]
set -uo pipefail
cd "$(dirname "$0")/.."
log=.build/test-output.log
mkdir -p .build
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=yes,interactive=no,color=no,threads=crashed,registers=none,images=none,limit=40}"
"${SWIFT:-swift}" test --skip-build --no-parallel "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo
    echo "=== the test run failed (exit status $status); from $log:"
    echo "--- tests that recorded issues or failed:"
    grep -aE "✘|recorded an issue" "$log" | head -40
    echo "--- fatal errors:"
    grep -aE "Fatal error|Crash|signal" "$log" | head -10
    echo "--- the last tests started (the last one was running if the process died):"
    grep -aE "Test .* started" "$log" | tail -3
fi
exit "$status"
