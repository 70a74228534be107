#!/bin/sh
# The chaos test's ground truth: every job runs this. It appends `start <tag> <pid> <ns>` to the
# ledger (O_APPEND through `>>`, so concurrent runs never interleave a record), runs the payload
# (half the lines, the sleep, the other half; every third line on stderr; then the exit code) and
# appends `end <tag> <code> <ns>`. Only the command writes the ledger, never the daemon, so it
# says what really ran, whatever the daemon recorded.
# usage: job-wrapper.sh LEDGER TAG SLEEP_MS LINES EXIT_CODE
set -u
# Jobs may get an explicit environment: find date and sleep without relying on it.
PATH=${PATH:-/usr/bin:/bin}:/usr/bin:/bin
ledger=$1 tag=$2 sleep_ms=$3 lines=$4 code=$5

printf 'start %s %s %s\n' "$tag" "$$" "$(date +%s%N)" >>"$ledger"

emit() {
  i=$1
  while [ "$i" -le "$2" ]; do
    if [ $((i % 3)) -eq 0 ]; then
      echo "chaos $tag line $i/$lines" >&2
    else
      echo "chaos $tag line $i/$lines"
    fi
    i=$((i + 1))
  done
}

half=$((lines / 2))
emit 1 "$half"
sleep "$((sleep_ms / 1000)).$(printf '%03d' $((sleep_ms % 1000)))"
emit $((half + 1)) "$lines"

printf 'end %s %s %s\n' "$tag" "$code" "$(date +%s%N)" >>"$ledger"
exit "$code"
