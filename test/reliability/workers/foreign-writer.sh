#!/bin/sh
# Foreign writer for the concurrency suite, doing what runsc and other tools do:
#   foreign-writer.sh MODE ROOT SCRATCH ROUNDS GO_FILE ID...
# ROUNDS times over the IDs, under `flock -x <id>_sandbox:<id>.lock` (runsc's
# lock), read-modify-write the state file with jq: counter + 1 and the
# "test.counter" annotation. MODE "mv" writes a temporary file in the root and
# renames it over the state file; MODE "inplace" truncates and rewrites the
# state file itself, as runsc's os.WriteFile does.
set -eu
mode=$1 root=$2 scratch=$3 rounds=$4 go=$5
shift 5
filter='.counter += 1 | .spec.annotations["test.counter"] = (.counter | tostring)'
echo ready
while [ ! -e "$go" ]; do sleep 0.01; done
i=0
while [ "$i" -lt "$rounds" ]; do
  for id in "$@"; do
    state="$root/${id}_sandbox:${id}.state"
    lock="$root/${id}_sandbox:${id}.lock"
    if [ "$mode" = mv ]; then
      tmp="$root/.foreign-tmp.$$"
      flock -x "$lock" sh -c 'jq -cj "$1" "$2" > "$3" && mv "$3" "$2"' sh "$filter" "$state" "$tmp"
    else
      tmp="$scratch/inplace.$$"
      flock -x "$lock" sh -c 'jq -cj "$1" "$2" > "$3" && cat "$3" > "$2"' sh "$filter" "$state" "$tmp"
    fi
  done
  i=$((i + 1))
done
echo "done $((rounds * $#))"
