#!/bin/sh
# bench/compile_time.sh - how dxc's time and memory grow with the size of
# the program it compiles: the table of README.md, "Compile time against
# program size".
#
#     DXC=build/dxc B=build sh bench/compile_time.sh   (make bench-compile)
#
# For each N of SIZES, bench/bigprog.py N writes a straight-line function
# of N statements (every statement read, so all of it reaches the C), and
# dxc compiles it to C with its default --jobs and with --jobs=1, RUNS
# times each; the table gives the best elapsed time and the largest
# resident set of those runs (/usr/bin/time's %e and %M: the machine is
# shared, so the best time is the least disturbed).  With valgrind, it
# also counts the instructions of one compilation of CG_N statements with
# --jobs=1 (callgrind: exact and repeatable, where times are not).
#
# Environment: DXC (the compiler), B (build directory; the programs and
# their C go to $B/bench-compile), SIZES ("2000 20000 200000"), RUNS (3),
# CG_N (5000; 0 skips the count), PYTHON (python3).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DXC=${DXC:-$ROOT/build/dxc}
B=${B:-$ROOT/build}
SIZES=${SIZES:-2000 20000 200000}
RUNS=${RUNS:-3}
CG_N=${CG_N:-5000}
PYTHON=${PYTHON:-python3}
OUT=$B/bench-compile
mkdir -p "$OUT"

if [ ! -x /usr/bin/time ]; then
    echo "bench-compile: needs /usr/bin/time (Debian: apt-get install time)" >&2
    exit 1
fi

# best TIME and peak KB of RUNS compilations of $1 with options $2, as
# "seconds kilobytes"
measure() {
    best_s= peak_kb=0 r=0
    while [ "$r" -lt "$RUNS" ]; do
        /usr/bin/time -f "%e %M" -o "$OUT/time.txt" "$DXC" $2 "$1" -o "$OUT/out.c"
        read -r s kb < "$OUT/time.txt"
        if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
            best_s=$s
        fi
        if [ "$kb" -gt "$peak_kb" ]; then peak_kb=$kb; fi
        r=$((r + 1))
    done
    echo "$best_s $peak_kb"
}

echo "| N | seconds | peak MB | with --jobs=1 |"
echo "| --- | --- | --- | --- |"
for n in $SIZES; do
    "$PYTHON" "$ROOT/bench/bigprog.py" "$n" > "$OUT/big$n.dx"
    set -- $(measure "$OUT/big$n.dx" "")
    s=$1 kb=$2
    set -- $(measure "$OUT/big$n.dx" "--jobs=1")
    echo "| $n | $s | $((kb / 1024)) | $1 s, $(($2 / 1024)) MB |"
done

if [ "$CG_N" -gt 0 ] && command -v valgrind >/dev/null 2>&1; then
    "$PYTHON" "$ROOT/bench/bigprog.py" "$CG_N" > "$OUT/cg.dx"
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
        "$DXC" --jobs=1 "$OUT/cg.dx" -o "$OUT/out.c" 2> "$OUT/callgrind.txt"
    ir=$(sed -n 's/.*refs: *//p' "$OUT/callgrind.txt")
    echo
    echo "callgrind: $ir instructions for $CG_N statements (--jobs=1)"
fi
