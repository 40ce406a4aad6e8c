#!/bin/sh
# train_sizes.sh NM SIZE ELF OBJ... - what the on-device training costs,
# as a Markdown table: every function defined in the objects OBJ (the
# generated model, the runtime) that the linker kept in ELF, with its
# flash bytes (the symbol's size in ELF, NM -S) and its stack bytes (the
# .su file -fstack-usage wrote beside each object); then the functions
# of newlib and libgcc they call, as linked (a maths wrapper with its
# __ieee754_ kernel; their stack is not measured: the libraries are
# built without -fstack-usage); then the image's flash and RAM (SIZE).
set -eu
nm=$1
size=$2
elf=$3
shift 3
syms=$("$nm" -S -t d "$elf")
printf '| function | flash (bytes) | stack (bytes) |\n'
printf '| --- | ---: | ---: |\n'
for o in "$@"; do
    su=${o%.o}.su
    "$nm" -t d "$o" | awk '$2 ~ /^[Tt]$/ { print $3 }' | while read -r f; do
        printf '%s\n' "$syms" | awk -v f="$f" -v su="$su" '
            BEGIN {
                while ((getline line < su) > 0) {
                    split(line, a, "\t")
                    n = split(a[1], loc, ":")
                    stack[loc[n]] = a[2] (a[3] == "static" ? "" : " (" a[3] ")")
                }
            }
            $3 ~ /^[Tt]$/ && $4 == f { printf "%d\t| `%s` | %d | %s |\n", $2, f, $2, (f in stack) ? stack[f] : "?"; exit }'
    done
done | sort -n | cut -f2-
# the library functions called from the objects (not defined in any of them)
defined=$(for o in "$@"; do "$nm" "$o" | awk '$2 ~ /^[TtDdBbRr]$/ { print $3 }'; done | sort -u)
for f in $(for o in "$@"; do "$nm" -u "$o"; done | awk '{ print $2 }' | sort -u); do
    if printf '%s\n' "$defined" | grep -qx "$f"; then
        continue
    fi
    printf '%s\n' "$syms" | awk -v f="$f" '
        $3 ~ /^[Tt]$/ && $4 == f { n += $2; found = 1 }
        $3 ~ /^[Tt]$/ && $4 == "__ieee754_" f { n += $2; k = 1 }
        END { if (found) printf "| `%s` (library%s) | %d | - |\n", f, k ? ", with `__ieee754_" f "`" : "", n }'
done
"$size" "$elf" | awk 'NR == 2 {
    printf "\nimage: %d bytes of flash (code and constants %d, data image %d); %d bytes of RAM (data %d, bss %d, the stack included)\n",
        $1 + $2, $1, $2, $2 + $3, $2, $3 }'
