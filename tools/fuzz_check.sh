#!/bin/sh
# fuzz_check.sh N SEED [REAL]: the random programs of fuzz_diff (seeds from
# SEED), each through dxc --emit=check (with --real=REAL, double by
# default), compiled with gcc and clang in turn, strict, and run; a program
# whose check program fails (exit status 1), does not compile or crashes is
# a failure, kept in $OUT (default build/fuzz-check) with its output.
# Prints the tally: programs passed, failed, with skipped values.
# CHECK_CFLAGS replaces the compilers' flags (strict C99 at -O1): in GNU
# C with -mfma, gcc would contract a * b + c but for the file's pragma.
# CHECK_CC replaces the two compilers with one, and CHECK_RUN is put
# before each program run: the x87 (32-bit x86, FLT_EVAL_METHOD 2) with
# a cross compiler under qemu-user.
#   make fuzz-check N=1000 SEED=1 [REAL=float]
#   make fuzz-check N=400 CHECK_CFLAGS='-std=gnu99 -Wall -Wextra -Werror -O2 -mfma'
#   make fuzz-check N=200 CHECK_CC=i686-linux-gnu-gcc CHECK_RUN=qemu-i386 \
#        CHECK_CFLAGS='-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -static'
set -u
N=${1:-100}
SEED=${2:-1}
REAL=${3:-double}
B=${B:-build}
OUT=${OUT:-$B/fuzz-check}
DXC=${DXC:-$B/dxc}
FUZZ=${FUZZ:-$B/fuzz_diff}
CFLAGS_USED=${CHECK_CFLAGS:--std=c99 -Wall -Wextra -Wpedantic -Werror -O1}
rm -rf "$OUT"
mkdir -p "$OUT"
"$FUZZ" -n "$N" -s "$SEED" --print > "$OUT/all.txt" || exit 1
awk -v dir="$OUT" '/^# program/ { n++; f = sprintf("%s/p%05d.dx", dir, n) } { print > f }' "$OUT/all.txt"
one() {
    f=$1
    b=${f%.dx}
    k=$(basename "$b" | tr -dc 0-9 | sed "s/^0*//")
    k=${k:-0}
    cc=gcc
    [ $((k % 2)) = 1 ] && command -v clang >/dev/null 2>&1 && cc=clang
    [ -n "${CHECK_CC:-}" ] && cc=$CHECK_CC
    if ! "$DXC" --real="$REAL" "$f" --emit=check -o "$b.c" 2>"$b.err"; then
        echo "fail dxc $f"
        return
    fi
    if ! $cc $CFLAGS_USED "$b.c" -lm -o "$b" 2>>"$b.err"; then
        echo "fail $cc $f"
        return
    fi
    timeout 120 ${CHECK_RUN:-} "$b" > "$b.out" 2>&1
    rc=$?
    if [ $rc != 0 ]; then
        echo "fail status=$rc $f"
    elif grep -q "more skipped" "$b.out"; then
        echo "skips $f"
        rm -f "$b" "$b.c"
    else
        echo "pass $f"
        rm -f "$b" "$b.c"
    fi
}
ls "$OUT"/p*.dx | while read -r f; do one "$f"; done > "$OUT/results.txt"
passed=$(grep -c '^pass\|^skips' "$OUT/results.txt")
skips=$(grep -c '^skips' "$OUT/results.txt")
failed=$(grep -c '^fail' "$OUT/results.txt")
echo "fuzz-check: $N programs (seed $SEED, $REAL, $CFLAGS_USED): $passed passed ($skips with values skipped), $failed failed"
grep '^fail' "$OUT/results.txt" | head -20
[ "$failed" = 0 ]
