#!/bin/bash
# The migration benchmark matrix: bench/migration.py for each
# configuration below (realm and plain VM alternately, --runs each), then
# one plot of them all (bench/plot.py).  Results in bench/results/<name>/:
# one .md and .json per configuration, matrix.png.
#
#   bench/matrix.sh [--runs N] [--name NAME] [--only REGEX] [--qemu BIN]
#
# --qemu runs another build (a previous one, side by side); default: the
# tree's.
# A configuration is: memory, vCPUs, memstress rate cap (MiB/s, 0: none),
# multifd channels (0: off).  Uncapped runs use auto-converge (both
# kinds), as a workload that dirties faster than the link needs it.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=5
name=matrix-$(date -u +%Y%m%d)
only=.
qemu=()
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --qemu) qemu=(--qemu "$2"); shift 2 ;;
    *) echo "usage: $0 [--runs N] [--name NAME] [--only REGEX] [--qemu BIN]" >&2
       exit 2 ;;
    esac
done
configs=(
    # mem smp rate multifd
    "1G 1 0 0"
    "1G 1 0 2"
    "1G 1 0 4"
    "1G 1 64 0"
    "1G 1 64 2"
    "1G 2 0 0"
    "1G 2 0 2"
    "4G 1 0 0"
    "4G 1 0 4"
)
out=$top/bench/results/$name
mkdir -p "$out"
jsons=()
for c in "${configs[@]}"; do
    read -r mem smp rate mfd <<< "$c"
    tag=$mem-smp$smp-$([ "$rate" = 0 ] && echo uncapped || echo "${rate}mibs")-mfd$mfd
    if ! [[ $tag =~ $only ]]; then
        continue
    fi
    extra=()
    [ "$rate" = 0 ] && extra+=(--auto-converge)
    echo "=== $tag ($runs runs each)"
    /usr/bin/python3 "$top/bench/migration.py" --runs "$runs" --mem "$mem" \
        --smp "$smp" --rate "$rate" --multifd "$mfd" "${extra[@]}" "${qemu[@]}" \
        --out "$out/$tag.md"
    jsons+=("$out/$tag.json")
done
/usr/bin/python3 "$top/bench/plot.py" --out "$out/matrix.png" \
    --table "$out/matrix.md" "${jsons[@]}"
