#!/bin/sh
# bench/run.sh - instructions per call of the MLP in bench/mlp.dx: the
# function and gradient dxc generates against a hand-written baseline
# (bench/mlp_hand.c), counted by callgrind.
#
#     DXC=build/dxc B=build sh bench/run.sh        (make bench does this)
#
# Environment: DXC (the compiler), B (build directory; output goes to
# $B/bench), BENCH_CC (gcc), N (calls per measurement, 10).  MLP_C=x.c
# benchmarks x.c, with x.h beside it, as the "generated" code instead of
# running dxc: a way to test this script, or to time other code.
#
# How one call is measured.  callgrind --toggle-collect=FN counts only the
# instructions executed while FN is on the stack, so the count is FN's
# inclusive cost: its own code and everything it calls (exp, log, any
# helper), nothing of the driver.  The first call of FN also pays one-time
# costs, chiefly the dynamic linker resolving exp and log on first use
# (about 700 instructions), so rather than divide by the number of calls
# the script runs the driver twice, with 1 call and with N+1 calls, and
# takes (count(N+1) - count(1)) / N: the steady-state cost of one call.
# Every call does exactly the same work on the same inputs, so the
# difference divides evenly; the script says so if it does not.
#
# The script first checks that the generated gradient agrees with the
# hand-written one to 1e-9 relative (bench compare) and fails if not.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DXC=${DXC:-$ROOT/build/dxc}
B=${B:-$ROOT/build}
CC=${BENCH_CC:-gcc}
N=${N:-10}
OUT=$B/bench
CFLAGS="-O2 -std=c99"

mkdir -p "$OUT"
if [ -n "${MLP_C:-}" ]; then
    echo "bench: using $MLP_C instead of dxc's output"
    cp "$MLP_C" "$OUT/mlp.c"
    cp "${MLP_C%.c}.h" "$OUT/mlp.h"
else
    "$DXC" "$ROOT/bench/mlp.dx" -o "$OUT/mlp.c" --header "$OUT/mlp.h"
fi

# Three translation units, so every measured call is a real call.
$CC $CFLAGS -c "$OUT/mlp.c" -o "$OUT/mlp.o"
$CC $CFLAGS -I"$ROOT/bench" -c "$ROOT/bench/mlp_hand.c" -o "$OUT/mlp_hand.o"
$CC $CFLAGS -I"$OUT" -I"$ROOT/bench" -c "$ROOT/bench/bench.c" -o "$OUT/bench.o"
$CC -o "$OUT/bench" "$OUT/bench.o" "$OUT/mlp.o" "$OUT/mlp_hand.o" -lm

"$OUT/bench" compare || { echo "bench: the generated gradient disagrees with the hand one" >&2; exit 1; }

# count MODE FN CALLS: instructions executed inside FN over CALLS calls.
count() {
    f="$OUT/callgrind.$1.$3.out"
    if ! valgrind --tool=callgrind --callgrind-out-file="$f" --toggle-collect="$2" \
            "$OUT/bench" "$1" "$3" >"$OUT/bench.log" 2>"$OUT/valgrind.log"; then
        cat "$OUT/valgrind.log" >&2
        echo "bench: valgrind failed on '$1 $3'" >&2
        exit 1
    fi
    sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$f"
}

# per_call MODE FN: steady-state instructions of one call of FN (see top).
per_call() {
    c1=$(count "$1" "$2" 1)
    cn=$(count "$1" "$2" $((N + 1)))
    if [ -z "$c1" ] || [ -z "$cn" ] || [ "$c1" -eq 0 ]; then
        echo "bench: callgrind counted nothing inside $2 (no such function?)" >&2
        exit 1
    fi
    if [ $(((cn - c1) % N)) -ne 0 ]; then
        echo "bench: note: calls of $2 differ in cost; the mean is shown" >&2
    fi
    echo $(((cn - c1) / N))
}

f=$(per_call f mlp)
grad=$(per_call grad mlp_grad)
hand_f=$(per_call hand_f mlp_hand)
hand_grad=$(per_call hand_grad mlp_hand_grad)

# verdict RATIO TARGET
verdict() {
    awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "MISSED") }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

r_gf=$(ratio "$grad" "$f")
r_gh=$(ratio "$grad" "$hand_grad")
r_hh=$(ratio "$hand_grad" "$hand_f")
echo
echo "MLP 784-128-10, instructions per call (callgrind, $CC $CFLAGS)"
printf '  %-24s %12s\n' "f (generated)" "$f" "grad (generated)" "$grad" \
    "hand_f" "$hand_f" "hand_grad" "$hand_grad"
printf '  %-24s %12s   target <= 3    %s\n' "grad / f" "$r_gf" "$(verdict "$r_gf" 3)"
printf '  %-24s %12s   target <= 1.1  %s\n' "grad / hand_grad" "$r_gh" "$(verdict "$r_gh" 1.1)"
printf '  %-24s %12s   (for reference)\n' "hand_grad / hand_f" "$r_hh"
