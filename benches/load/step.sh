#!/usr/bin/env bash
# Steps a load figure until it fails; prints every RESULT line and the highest passing step.
# usage: benches/load/step.sh concurrent [N...]   (default 100 200 300 500 600 800 1000)
#        benches/load/step.sh cps [RATE...]       (default 50 100 200 400 800 1600)
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
kind="${1:?usage: step.sh concurrent|relay|cps|ivr [steps...]}"; shift
case "$kind" in
    concurrent) steps=("${@:-}"); [ -z "${steps[0]}" ] && steps=(100 200 300 500 600 800 1000) ;;
    cps) steps=("${@:-}"); [ -z "${steps[0]}" ] && steps=(50 100 200 400 800 1600) ;;
    relay) steps=("${@:-}"); [ -z "${steps[0]}" ] && steps=(500 1000 1500 2000 2400) ;;
    ivr) steps=("${@:-}"); [ -z "${steps[0]}" ] && steps=(100 300 500 700 1000) ;;
    *) echo "unknown figure $kind" >&2; exit 2 ;;
esac
best=none
for s in "${steps[@]}"; do
    if "$HERE/$kind.sh" "$s"; then best=$s; else break; fi
    sleep 3   # let TIME_WAIT sockets and the load average settle
done
echo "BEST $kind $best"
