#!/usr/bin/env python3
"""bigprog.py [--loops] N: print a straight-line dx program of N statements,
or with --loops one of N for loops one after the other.

Used to measure how compile time and memory grow with program size
(see README.md, Benchmark). Every statement reads the parameter x and
earlier variables, and the result sums a spread of them, so nothing is
dead and the whole program survives to the generated C; each loop
carries one value from the one before.
"""
import sys

OPS = [
    "sin({a}) * x[{i}]",
    "{a} * x[{i}] + exp({b} * 0.001)",
    "{a} - {b} / (1 + x[{i}] * x[{i}])",
    "cos({b}) + {a} * 0.5",
    "tanh({a} + {b})",
    "{a} * {b} - x[{i}]",
    "log(1 + {a} * {a})",
    "sqrt(1 + {b} * {b}) * {a}",
]


def var(k):
    return "x[0]" if k < 1 else "a%d" % k


def loops(n):
    out = ["fn f(x[8]) {", "    s = x[0]"]
    for k in range(n):
        out.append("    for i%d in 0..4 {" % k)
        out.append("        s = s * 0.5 + sin(s) * x[%d]" % (k % 8))
        out.append("    }")
    out.append("    return s")
    out.append("}")
    print("\n".join(out))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--loops":
        loops(int(args[1]) if len(args) > 1 else 2000)
        return
    n = int(args[0]) if args else 2000
    out = ["fn f(x[8]) {"]
    for k in range(1, n + 1):
        a, b = var(k - 1), var(k - 1 - (k * 7) % 13)
        e = OPS[k % len(OPS)].format(a=a, b=b, i=k % 8)
        out.append("    a%d = %s" % (k, e))
    tail = " + ".join(var(k) for k in range(n, 0, -max(1, n // 16)))
    out.append("    return %s" % tail)
    out.append("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
