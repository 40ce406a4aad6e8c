#!/bin/sh
# bench/run.sh - instructions per call, counted by callgrind, of:
#   - the MLP in bench/mlp.dx: the function and gradient dxc generates
#     against a hand-written baseline (bench/mlp_hand.c);
#   - four models with loops and sums: the LSTM of bench/lstm.dx (T = 50,
#     H = 32), the 10 000-step spring of tests/models/spring.dx, the tanh
#     RNN of bench/rnn.dx (T = 50, H = 32, D = 16) and the Gaussian mixture of
#     bench/gmm.dx (K = 10, D = 8, N = 200), function and gradient as dxc
#     generates them (driver bench/loops.c); no baselines, the figure is
#     the gradient / function ratio (for the GMM only for reference: it is
#     not under the <= 3 target).  The RNN's and the GMM's gradients are
#     generated twice, with the default --tape=fast and with --tape=small,
#     and both are timed, with their tape sizes from dxc --stats.
#
#     DXC=build/dxc B=build sh bench/run.sh        (make bench does this)
#
# Environment: DXC (the compiler), B (build directory; output goes to
# $B/bench), BENCH_CC (gcc), N (calls per measurement, 10), BENCH (which
# benchmarks: "mlp loops" by default).  MLP_C=x.c benchmarks x.c, with x.h
# beside it, as the "generated" code instead of running dxc: a way to test
# this script, or to time other code; LSTM_C, SPRING_C, RNN_C,
# RNN_SMALL_C (the --tape=small RNN), GMM_C and GMM_SMALL_C do the same for
# the loops (their tape sizes are then not known and shown as "?").
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
# hand-written one to 1e-9 relative (bench compare), and that the loops'
# gradients agree with central differences (loops check); it fails if not.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DXC=${DXC:-$ROOT/build/dxc}
B=${B:-$ROOT/build}
CC=${BENCH_CC:-gcc}
N=${N:-10}
BENCH=${BENCH:-mlp loops}
OUT=$B/bench
CFLAGS="-O2 -std=c99"

mkdir -p "$OUT"

# count BIN MODE FN CALLS: instructions executed inside FN over CALLS calls
# of BIN MODE CALLS.
count() {
    f="$OUT/callgrind.$2.$4.out"
    if ! valgrind --tool=callgrind --callgrind-out-file="$f" --toggle-collect="$3" \
            "$1" "$2" "$4" >"$OUT/bench.log" 2>"$OUT/valgrind.log"; then
        cat "$OUT/valgrind.log" >&2
        echo "bench: valgrind failed on '$2 $4'" >&2
        exit 1
    fi
    sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$f"
}

# per_call BIN MODE FN: steady-state instructions of one call of FN (see top).
per_call() {
    c1=$(count "$1" "$2" "$3" 1)
    cn=$(count "$1" "$2" "$3" $((N + 1)))
    if [ -z "$c1" ] || [ -z "$cn" ] || [ "$c1" -eq 0 ]; then
        echo "bench: callgrind counted nothing inside $3 (no such function?)" >&2
        exit 1
    fi
    if [ $(((cn - c1) % N)) -ne 0 ]; then
        echo "bench: note: calls of $3 differ in cost; the mean is shown" >&2
    fi
    echo $(((cn - c1) / N))
}

# verdict RATIO TARGET
verdict() {
    awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "MISSED") }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

# gen NAME DX OVERRIDE [DXC OPTIONS...]: NAME.c and NAME.h in $OUT, from
# dxc DX with the options or copied from OVERRIDE (x.c, with x.h beside it)
# when that is set.  dxc's --stats go to $OUT/NAME.stats (empty for an
# override).
gen() {
    name=$1 dx=$2 override=$3
    shift 3
    if [ -n "$override" ]; then
        echo "bench: using $override instead of dxc's output"
        cp "$override" "$OUT/$name.c"
        cp "${override%.c}.h" "$OUT/$name.h"
        : >"$OUT/$name.stats"
    else
        "$DXC" "$dx" "$@" --stats -o "$OUT/$name.c" --header "$OUT/$name.h" \
            2>"$OUT/$name.stats" || { cat "$OUT/$name.stats" >&2; exit 1; }
        grep -v '^[A-Za-z0-9_]*: tape [0-9]* bytes' "$OUT/$name.stats" >&2 || :
    fi
}

# tape NAME FN: the tape bytes of FN in dxc's --stats for NAME ("?" if none).
tape() {
    t=$(sed -n "s/^$2: tape \([0-9][0-9]*\) bytes.*/\1/p" "$OUT/$1.stats")
    echo "${t:-?}"
}

# protos H: the prototypes of header H (without its guard and comments).
protos() {
    grep -v '^#\|^/\*\|^$' "$1"
}

bench_mlp() {
    gen mlp "$ROOT/bench/mlp.dx" "${MLP_C:-}"

    # Three translation units, so every measured call is a real call.
    $CC $CFLAGS -c "$OUT/mlp.c" -o "$OUT/mlp.o"
    $CC $CFLAGS -I"$ROOT/bench" -c "$ROOT/bench/mlp_hand.c" -o "$OUT/mlp_hand.o"
    $CC $CFLAGS -I"$OUT" -I"$ROOT/bench" -c "$ROOT/bench/bench.c" -o "$OUT/bench.o"
    $CC -o "$OUT/bench" "$OUT/bench.o" "$OUT/mlp.o" "$OUT/mlp_hand.o" -lm

    "$OUT/bench" compare || { echo "bench: the generated gradient disagrees with the hand one" >&2; exit 1; }

    f=$(per_call "$OUT/bench" f mlp)
    grad=$(per_call "$OUT/bench" grad mlp_grad)
    hand_f=$(per_call "$OUT/bench" hand_f mlp_hand)
    hand_grad=$(per_call "$OUT/bench" hand_grad mlp_hand_grad)

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
}

bench_loops() {
    gen lstm "$ROOT/bench/lstm.dx" "${LSTM_C:-}"
    gen spring "$ROOT/tests/models/spring.dx" "${SPRING_C:-}"
    gen rnn "$ROOT/bench/rnn.dx" "${RNN_C:-}"
    gen rnn_small "$ROOT/bench/rnn.dx" "${RNN_SMALL_C:-}" --tape=small
    gen gmm "$ROOT/bench/gmm.dx" "${GMM_C:-}"
    gen gmm_small "$ROOT/bench/gmm.dx" "${GMM_SMALL_C:-}" --tape=small
    # loops.c includes rnn.h and gmm.h; the same object links against
    # either build of each.
    for m in rnn gmm; do
        protos "$OUT/$m.h" >"$OUT/$m.protos"
        protos "$OUT/${m}_small.h" | cmp -s "$OUT/$m.protos" - ||
            { echo "bench: $m.h and ${m}_small.h declare different functions" >&2; exit 1; }
    done
    for u in lstm spring rnn rnn_small gmm gmm_small; do
        $CC $CFLAGS -c "$OUT/$u.c" -o "$OUT/$u.o"
    done
    $CC $CFLAGS -I"$OUT" -c "$ROOT/bench/loops.c" -o "$OUT/loops.o"
    $CC -o "$OUT/loops" "$OUT/loops.o" "$OUT/lstm.o" "$OUT/spring.o" "$OUT/rnn.o" \
        "$OUT/gmm.o" -lm
    $CC -o "$OUT/loops_small" "$OUT/loops.o" "$OUT/lstm.o" "$OUT/spring.o" \
        "$OUT/rnn_small.o" "$OUT/gmm_small.o" -lm

    "$OUT/loops" check || { echo "bench: a loop gradient disagrees with differences" >&2; exit 1; }
    "$OUT/loops_small" check >"$OUT/check_small.log" ||
        { cat "$OUT/check_small.log"
          echo "bench: a --tape=small gradient (RNN or GMM) disagrees with differences" >&2
          exit 1; }
    echo "rnn, gmm --tape=small: ok"

    lf=$(per_call "$OUT/loops" lstm_f lstm)
    lg=$(per_call "$OUT/loops" lstm_grad lstm_grad)
    sf=$(per_call "$OUT/loops" spring_f spring)
    sg=$(per_call "$OUT/loops" spring_grad spring_grad)
    rf=$(per_call "$OUT/loops" rnn_f rnn)
    rg=$(per_call "$OUT/loops" rnn_grad rnn_grad)
    rgs=$(per_call "$OUT/loops_small" rnn_grad rnn_grad)
    gf=$(per_call "$OUT/loops" gmm_f gmm)
    gg=$(per_call "$OUT/loops" gmm_grad gmm_grad)
    ggs=$(per_call "$OUT/loops_small" gmm_grad gmm_grad)
    r_l=$(ratio "$lg" "$lf")
    r_s=$(ratio "$sg" "$sf")
    r_r=$(ratio "$rg" "$rf")
    r_rs=$(ratio "$rgs" "$rf")
    r_g=$(ratio "$gg" "$gf")
    r_gs=$(ratio "$ggs" "$gf")
    echo
    echo "Loops, instructions per call (callgrind, $CC $CFLAGS)"
    printf '  %-24s %12s\n' "lstm (T=50, H=32)" "$lf" "lstm_grad" "$lg" \
        "spring (10 000 steps)" "$sf" "spring_grad" "$sg" \
        "rnn (T=50, H=32, D=16)" "$rf" "rnn_grad" "$rg" "rnn_grad --tape=small" "$rgs" \
        "gmm (K=10, D=8, N=200)" "$gf" "gmm_grad" "$gg" "gmm_grad --tape=small" "$ggs"
    printf '  %-24s %12s   target <= 3    %s\n' "lstm_grad / lstm" "$r_l" "$(verdict "$r_l" 3)"
    printf '  %-24s %12s   target <= 3    %s\n' "spring_grad / spring" "$r_s" "$(verdict "$r_s" 3)"
    printf '  %-24s %12s   target <= 3    %s\n' "rnn_grad / rnn" "$r_r" "$(verdict "$r_r" 3)"
    printf '  %-24s %12s   (for reference)\n' "rnn_grad (small) / rnn" "$r_rs" \
        "gmm_grad / gmm" "$r_g" "gmm_grad (small) / gmm" "$r_gs"
    echo "Tape of rnn_grad, bytes (dxc --stats)"
    printf '  %-24s %12s\n' "--tape=fast" "$(tape rnn rnn_grad)" \
        "--tape=small" "$(tape rnn_small rnn_grad)"
    echo "Tape of gmm_grad, bytes (dxc --stats)"
    printf '  %-24s %12s\n' "--tape=fast" "$(tape gmm gmm_grad)" \
        "--tape=small" "$(tape gmm_small gmm_grad)"
}

for b in $BENCH; do
    case $b in
    mlp) bench_mlp ;;
    loops) bench_loops ;;
    *) echo "bench: unknown benchmark '$b' (mlp, loops)" >&2; exit 1 ;;
    esac
done
