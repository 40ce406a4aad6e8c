#!/bin/sh
# sizes.sh NM ELF OBJ... - a Markdown table of every function defined in
# the objects OBJ (the generated code): its flash bytes (the symbol's
# size, NM -S) and its stack bytes (the .su file -fstack-usage wrote
# beside each object: "static" sizes as they are, others marked); then
# the C library's functions they call, as linked into ELF (their stack is
# not measured: newlib is built without -fstack-usage).
set -eu
nm=$1
elf=$2
shift 2
printf '| function | flash (bytes) | stack (bytes) |\n'
printf '| --- | ---: | ---: |\n'
for o in "$@"; do
    su=${o%.o}.su
    "$nm" -S --size-sort -t d "$o" | awk -v su="$su" '
        BEGIN {
            while ((getline line < su) > 0) {
                split(line, f, "\t")
                n = split(f[1], loc, ":")
                stack[loc[n]] = f[2] (f[3] == "static" ? "" : " (" f[3] ")")
            }
        }
        $3 ~ /^[Tt]$/ { printf "| `%s` | %d | %s |\n", $4, $2, ($4 in stack) ? stack[$4] : "?" }'
done
# the library functions the objects call, as the linker kept them, with
# the __ieee754_ kernel behind a maths wrapper (newlib's expf calls
# __ieee754_expf)
for f in $(for o in "$@"; do "$nm" -u "$o"; done | awk '{ print $2 }' | sort -u); do
    "$nm" -S -t d "$elf" | awk -v f="$f" '
        $3 ~ /^[Tt]$/ && $4 == f { n += $2; found = 1 }
        $3 ~ /^[Tt]$/ && $4 == "__ieee754_" f { n += $2; k = 1 }
        END { if (found) printf "| `%s` (newlib%s) | %d | - |\n", f, k ? ", with `__ieee754_" f "`" : "", n }'
done
