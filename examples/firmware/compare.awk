# compare.awk - compares the "name value" lines of two runs of main.c,
# the host's (first file) and the board's (second), at float tolerance:
# |board - host| <= RTOL * max(|board|, |host|) + ATOL.  Lines starting
# with '#' are skipped; a line only one run printed, or any FAIL line,
# fails.  Prints one line per difference and a summary.
#   awk -f compare.awk host.out board.out
BEGIN { RTOL = 1e-4; ATOL = 1e-6; bad = 0; n = 0 }
/^#/ || NF == 0 { next }
/^FAIL/ { print FILENAME ": " $0; bad++; next }
FNR == NR { host[$1] = $2; next }
{
    if (!($1 in host)) { print "only on the board: " $0; bad++; next }
    h = host[$1] + 0; b = $2 + 0; delete host[$1]; n++
    d = b - h; if (d < 0) d = -d
    m = h < 0 ? -h : h; mb = b < 0 ? -b : b; if (mb > m) m = mb
    if (!(d <= RTOL * m + ATOL)) { printf "differs: %s board %s host %.9g\n", $1, $2, h; bad++ }
}
END {
    for (k in host) { print "only on the host: " k; bad++ }
    printf "compare: %d values, %d differences\n", n, bad
    exit bad != 0
}
