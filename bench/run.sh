#!/bin/sh
# bench/run.sh - one table: what the derivatives dxc generates cost against
# the function they differentiate, for these models
#
#   toy          bench/toy.dx: sum of (exp(sin(x[i])) x[i + 1])^2, n = 100,
#                beside the hand-written gradient of bench/toy_hand.c
#   mlp          bench/mlp.dx: the 784-128-10 MLP with softmax cross-entropy,
#                beside the hand-written gradient of bench/mlp_hand.c
#   gmm_adbench  bench/gmm_adbench.dx: ADBench's Gaussian mixture objective
#                with its Wishart prior, D = 10, K = 25, N = 100
#   lstm         bench/lstm.dx: an LSTM, T = 40 steps, H = 32
#   spring       tests/models/spring.dx: 10 000 Euler steps of a spring,
#                beside the hand-written gradient of bench/spring_hand.c
#   spring_long  bench/spring_long.dx: 10^6 steps, checkpointed
#                into a 16 KiB stack budget (--stack-budget=16K)
# and, as extra rows without goals, the tanh RNN of bench/rnn.dx and the
# Gaussian mixture of bench/gmm.dx, each also with --tape=small.
#
#     DXC=build/dxc B=build sh bench/run.sh        (make bench does this)
#
# For each model and each derivative entry point (grad: f_grad; jvp: f_jvp;
# hvp: f_hvp) the table gives its cost divided by f's, twice:
#
#   instr  instructions per call, counted by callgrind.  --toggle-collect=FN
#          counts only what executes while FN is on the stack (its own code
#          and everything it calls: exp, log, ...; nothing of the driver).
#          The first call also pays one-time costs (the dynamic linker
#          resolving exp and log, about 700 instructions), so the driver
#          runs twice, with 1 call and with N + 1 calls, and the figure is
#          (count(N + 1) - count(1)) / N: the steady-state cost of a call.
#   time   wall time: RUNS timed runs, each timing in turn a loop of calls
#          of every entry point, the loop taking about 20 ms,
#          clock_gettime(CLOCK_MONOTONIC) around it; the ratio is the
#          median over the runs of the entry point's time per call over
#          f's in the same run (see bench/harness.h).  Noisy on a shared
#          machine; instr is exact.
#
# "f instr" and "f us" are f's own instructions and microseconds (median)
# per call.
# Beside grad: "hand", the hand-written gradient's cost over its own
# function's, where there is one; "tape", the bytes of grad's tape (dxc
# --stats); and PyTorch's f time and (f + backward) / f time
# (bench/torch_bench.py, float64, one thread) on the same inputs.  Each
# goal is judged on both ratios: "met" or "MISSED" for instr, then time.
#
# Everything is compiled with $BENCH_CC -O2 -std=c99, the generated file
# and the hand-written one each in a translation unit of its own, apart
# from the driver's (bench/drv_MODEL.c with bench/harness.h), so every
# call is a real call.  Before anything is
# measured, the driver checks every entry point (harness.h: grad against
# central differences, jvp against grad . v, hvp against central
# differences of grad, the hand gradient against grad); the script stops
# if one is wrong.
#
# Environment: DXC (the compiler), B (build directory; output goes to
# $B/bench), BENCH_CC (gcc), N (calls per callgrind count, 10), RUNS
# (timed runs, 11 at least), BENCH (the rows, by name: "toy mlp gmm_adbench lstm
# spring spring_long rnn rnn_small gmm gmm_small" by default), TORCH=0 to skip
# PyTorch, PYTHON (the Python to run it with; by default python3, or
# /usr/bin/python3 when that one imports torch and python3 does not;
# PyTorch is skipped when neither can import torch).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DXC=${DXC:-$ROOT/build/dxc}
B=${B:-$ROOT/build}
CC=${BENCH_CC:-gcc}
N=${N:-10}
RUNS=${RUNS:-11}
BENCH=${BENCH:-toy mlp gmm_adbench lstm spring spring_long rnn rnn_small gmm gmm_small}
TORCH=${TORCH:-1}
OUT=$B/bench
CFLAGS="-O2 -std=c99"

# row NAME: sets dx (source), opts (dxc options), fn (the function), drv
# (driver), hand (hand-written file, or ""), label, and the goals gg, gj,
# gh ("-" for none).
row() {
    opts="" hand="" gg=- gj=- gh=-
    case $1 in
    toy) dx=bench/toy.dx fn=toy hand=toy_hand label="toy (n=100)" gg=1.6 gj=1.5 gh=4 ;;
    mlp) dx=bench/mlp.dx fn=mlp hand=mlp_hand label="mlp 784-128-10" gg=1.7 gj=1.5 gh=4 ;;
    gmm_adbench) dx=bench/gmm_adbench.dx fn=gmm_adbench label="gmm ADBench D10 K25 N100"
        gg=2.4 gj=1.5 gh=4 ;;
    lstm) dx=bench/lstm.dx fn=lstm label="lstm T=40 H=32" gg=2.3 gj=1.5 gh=4 ;;
    spring) dx=tests/models/spring.dx fn=spring hand=spring_hand label="spring 10000 steps" gg=2.5 gh=6 ;;
    spring_long) dx=bench/spring_long.dx opts=--stack-budget=16K fn=spring
        label="spring 10^6 steps, 16 KiB" gg=6 ;;
    rnn) dx=bench/rnn.dx fn=rnn label="rnn T=50 H=32 D=16" ;;
    rnn_small) dx=bench/rnn.dx opts=--tape=small fn=rnn label="rnn --tape=small" ;;
    gmm) dx=bench/gmm.dx fn=gmm label="gmm K=10 D=8 N=200" ;;
    gmm_small) dx=bench/gmm.dx opts=--tape=small fn=gmm label="gmm --tape=small" ;;
    *) echo "bench: unknown row '$1' (toy mlp gmm_adbench lstm spring spring_long rnn rnn_small gmm gmm_small)" >&2
       exit 1 ;;
    esac
    drv=$fn
}

# count BIN MODE FN CALLS: instructions executed inside FN over CALLS calls.
count() {
    f="$dir/callgrind.$2.$4.out"
    if ! valgrind --tool=callgrind --callgrind-out-file="$f" --toggle-collect="$3" \
            "$1" count "$2" "$4" >"$dir/count.log" 2>"$dir/valgrind.log"; then
        cat "$dir/valgrind.log" >&2
        echo "bench: valgrind failed on '$1 count $2 $4'" >&2
        exit 1
    fi
    sed -n 's/^summary: *\([0-9][0-9]*\).*/\1/p' "$f"
}

# per_call BIN MODE FN: steady-state instructions of one call of FN.
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

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.3f", a / b }'
}

# verdict RATIO GOAL
verdict() {
    awk -v r="$1" -v t="$2" 'BEGIN { if (t == "-" || r == "-") print "-"; else print (r + 0 <= t + 0 ? "met" : "MISSED") }'
}

# timed MODE: the median ns per call of MODE in $dir/time.txt
timed() {
    sed -n "s/^$1 \([^ ]*\) .*/\1/p" "$dir/time.txt"
}

# timed_ratio MODE: the median of MODE's time over f's, run by run
timed_ratio() {
    r=$(sed -n "s/^$1 [^ ]* [^ ]* \([^ ]*\)\$/\1/p" "$dir/time.txt")
    awk -v r="$r" 'BEGIN { printf "%.3f", r }'
}

# torch_python: $PYTHON if set, else the first of python3 and
# /usr/bin/python3 (where Debian's python3-torch installs, when another
# python3 comes first in the PATH), if it can import torch.
torch_python() {
    for py in ${PYTHON:-python3 /usr/bin/python3}; do
        if "$py" -c "import torch" 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

mkdir -p "$OUT"
: >"$OUT/table.txt"
torch_rows=""

for r in $BENCH; do
    row "$r"
    dir=$OUT/$r
    mkdir -p "$dir"
    "$DXC" "$ROOT/$dx" $opts --stats -o "$dir/$fn.c" --header "$dir/$fn.h" 2>"$dir/stats" ||
        { cat "$dir/stats" >&2; echo "bench: dxc failed on $dx" >&2; exit 1; }
    $CC $CFLAGS -c "$dir/$fn.c" -o "$dir/$fn.o"
    objs="$dir/drv.o $dir/$fn.o"
    if [ -n "$hand" ]; then
        $CC $CFLAGS -I"$ROOT/bench" -c "$ROOT/bench/$hand.c" -o "$dir/$hand.o"
        objs="$objs $dir/$hand.o"
    fi
    $CC $CFLAGS -I"$dir" -I"$ROOT/bench" ${hand:+-DHAVE_HAND} -c "$ROOT/bench/drv_$drv.c" -o "$dir/drv.o"
    $CC -o "$dir/drv" $objs -lm

    if ! "$dir/drv" check >"$dir/check.log" 2>&1; then
        cat "$dir/check.log"
        echo "bench: $r: an entry point is WRONG (above); nothing measured" >&2
        exit 1
    fi
    echo "$r ($dx${opts:+ $opts}): $(grep -c ' ok$' "$dir/check.log") checks ok ($dir/check.log)"
    "$dir/drv" dump "$dir/inputs.txt"

    fi_=$(per_call "$dir/drv" f "$fn")
    gi=$(per_call "$dir/drv" grad "${fn}_grad")
    ji=$(per_call "$dir/drv" jvp "${fn}_jvp")
    hi=$(per_call "$dir/drv" hvp "${fn}_hvp")
    hand_i=- hand_t=-
    if [ -n "$hand" ]; then
        hfi=$(per_call "$dir/drv" hand_f "$hand")
        hgi=$(per_call "$dir/drv" hand_grad "${hand}_grad")
        hand_i=$(ratio "$hgi" "$hfi")
    fi
    "$dir/drv" time "$RUNS" >"$dir/time.txt"
    ft=$(timed f)
    [ -n "$hand" ] && hand_t=$(timed_ratio hand_grad)
    tape=$(sed -n "s/^${fn}_grad: tape \([0-9][0-9]*\) bytes.*/\1/p" "$dir/stats")
    # one line per entry point: row mode f_instr f_us ratio_instr ratio_time goal hand_i hand_t tape
    for m in grad jvp hvp; do
        case $m in grad) c=$gi goal=$gg ;; jvp) c=$ji goal=$gj ;; hvp) c=$hi goal=$gh ;; esac
        echo "$r $m $fi_ $(awk -v t="$ft" 'BEGIN { printf "%.2f", t / 1000 }') $(ratio "$c" "$fi_")" \
            "$(timed_ratio $m)" "$goal" "$hand_i" "$hand_t" "${tape:--}" >>"$OUT/table.txt"
        hand_i=- hand_t=- tape=-
    done
    case $r in toy|mlp|gmm_adbench|lstm|spring) torch_rows="$torch_rows $r" ;; esac
done

# PyTorch on the same inputs (the drivers' dumps): "row f_us ratio" lines.
: >"$OUT/torch.txt"
torch_note=""
if [ "$TORCH" = 0 ]; then
    torch_note="PyTorch: skipped (TORCH=0)"
elif [ -z "$torch_rows" ]; then
    :
elif py=$(torch_python); then
    echo "PyTorch ($py):$torch_rows"
    "$py" "$ROOT/bench/torch_bench.py" --runs "$RUNS" "$OUT" $torch_rows >"$OUT/torch.txt" ||
        { cat "$OUT/torch.txt"; echo "bench: bench/torch_bench.py failed (above)" >&2; exit 1; }
    sed -n 's/^check/  &/p' "$OUT/torch.txt"
    torch_note="PyTorch $("$py" -c 'import torch; print(torch.__version__)'): float64, CPU, torch.set_num_threads(1); f under no_grad and f + backward, medians of $RUNS runs"
else
    torch_note="PyTorch: skipped (python3-torch not installed)"
fi

echo
echo "Derivatives against the function: cost ratios, instructions (callgrind, N = $N) and wall time (median of $RUNS runs); $CC $CFLAGS"
[ -r /proc/loadavg ] &&
    echo "(load average $(cut -d' ' -f1-3 /proc/loadavg) on $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo ?) cores: above that, the time columns are noisy)"
fmt='%-26s %11s %9s  %-5s %7s %7s  %-6s %-6s %-6s  %6s %6s %8s  %9s %6s\n'
printf "$fmt" "model" "f instr" "f us" "ratio" "instr" "time" "goal" "instr" "time" \
    "hand" "hand" "tape" "torch f" "torch"
printf "$fmt" "" "" "" "" "" "" "" "" "" "instr" "time" "bytes" "us" "grad/f"
while read -r r m fi_ fus ri rt goal hi ht tape; do
    row "$r"
    tf=$(sed -n "s/^$r \([^ ]*\) \([^ ]*\)\$/\1/p" "$OUT/torch.txt")
    tr=$(sed -n "s/^$r \([^ ]*\) \([^ ]*\)\$/\2/p" "$OUT/torch.txt")
    tf=${tf:--} tr=${tr:--}
    if [ "$m" = grad ]; then
        name=$label
    else
        name="" fi_="" fus="" tf="" tr="" hi="" ht="" tape=""
    fi
    [ "$goal" = - ] && g="" || g="<=$goal"
    vi=$(verdict "$ri" "$goal") vt=$(verdict "$rt" "$goal")
    [ "$goal" = - ] && vi="" vt=""
    printf "$fmt" "$name" "$fi_" "$fus" "$m/f" "$ri" "$rt" "$g" "$vi" "$vt" "$hi" "$ht" "$tape" \
        "$tf" "$tr" | sed 's/ *$//'
done <"$OUT/table.txt"
[ -n "$torch_note" ] && echo "$torch_note"
exit 0
