#!/bin/sh
# sizes.sh NM OBJ... - a Markdown table of every function defined in the
# objects: its flash bytes (the symbol's size, NM -S) and its stack
# bytes (the .su file -fstack-usage wrote beside each object: bytes and
# "static", or "dynamic" when it depends on the call).
set -eu
nm=$1
shift
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
