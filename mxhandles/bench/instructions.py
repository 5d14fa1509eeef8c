"""Instructions per operation, from Python, counted by callgrind.

    python -m mxhandles.bench.instructions [--rows PATTERN] [-n N] [--json FILE]

The timed report's ratios move with the machine's load; instruction counts
do not.  For each row of the report (the rows of :mod:`.rows`, one-shot
rows left out) and each of its variants ``mx``, ``model`` and ``floor``,
this runs a fresh interpreter under ``valgrind --tool=callgrind`` twice:
once building the row's fixture and running its statement 0 times, once
running it ``N`` times; the difference divided by ``N`` is the
instructions one operation costs, the interpreter's own work included
(bytecode, argument conversion, the cffi crossing, the C core).  The
``os`` variant is left out: callgrind does not count the kernel's side of
a system call.

Instructions are not time (a cache miss or a lock costs more than its
count), but a ratio of instruction counts is repeatable to a few parts in
ten thousand, so it shows what a change did to a hot path where the timed
ratios cannot.  docs/callgrind.md keeps a table of them.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Sequence

from .rows import ROWS, Row, select_rows

VARIANTS = ("mx", "model", "floor")


def _child(row_name: str, variant: str, n: int) -> None:
    """In the interpreter under callgrind: the row's fixture, then ``n``
    operations of ``variant`` (the same compiled loop the report times)."""
    (row,) = [r for r in ROWS if r.name == row_name]
    fixture = row.setup()
    try:
        v = row.variants(fixture)[variant]
        if v.one_shot:
            raise SystemExit("%s is one-shot: not counted" % row_name)
        v.run(1)        # warm: pools, specialisation, lazily built state
        v.run(n)
    finally:
        fixture.close()


def _count(row: Row, variant: str, n: int) -> int:
    """Instructions (callgrind's Ir) of a child running ``n`` operations."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
               sys.executable, "-m", "mxhandles.bench.instructions",
               "--child", row.name, variant, str(n)]
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError("%s %s: %s" % (row.name, variant,
                                              proc.stderr[-2000:]))
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if m is None:
            raise RuntimeError("no callgrind total for %s %s"
                               % (row.name, variant))
        return int(m.group(1))


def countable(row: Row) -> List[str]:
    """The variants of ``row`` this counts (those it has, not one-shot)."""
    fixture = row.setup()
    try:
        variants = row.variants(fixture)
        return [v for v in VARIANTS
                if v in variants and not variants[v].one_shot]
    finally:
        fixture.close()


def measure(rows: Sequence[Row], n: int,
            progress: bool = True) -> List[Dict[str, object]]:
    """Instructions per operation for each row and variant."""
    results: List[Dict[str, object]] = []
    for row in rows:
        names = countable(row)
        if not names:
            continue
        per_op: Dict[str, float] = {}
        for variant in names:
            if progress:
                print("  %s: %s ..." % (row.name, variant), file=sys.stderr,
                      flush=True)
            base = _count(row, variant, 0)
            full = _count(row, variant, n)
            units = row.per if isinstance(row.per, int) else 1
            per_op[variant] = (full - base) / (n * units)
        results.append({"row": row.name, "n": n, "instructions": per_op})
    return results


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return "%.2f" % (a / b) if a and b else ""


def format_table(results: List[Dict[str, object]]) -> str:
    """The results as a text table with the model/mx and mx/floor ratios."""
    head = ("operation", "mx", "model", "floor", "model/mx", "mx/floor")
    lines = [head]
    for r in results:
        ins: Dict[str, float] = r["instructions"]  # type: ignore[assignment]
        mx, model, floor = (ins.get(v) for v in VARIANTS)
        lines.append((str(r["row"]),
                      "{:,.0f}".format(mx) if mx else "",
                      "{:,.0f}".format(model) if model else "",
                      "{:,.0f}".format(floor) if floor else "",
                      _ratio(model, mx), _ratio(mx, floor)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[j]) if j == 0
                             else cell.rjust(widths[j])
                             for j, cell in enumerate(line)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mxhandles.bench.instructions",
        description="Instructions per operation from Python (callgrind) "
        "for mxhandles, the pure-Python model and the floor of empty cffi "
        "calls: ratios that do not move with the machine's load.")
    parser.add_argument("--rows", default="*",
                        help="only the rows whose name matches (as bench "
                        "--rows)")
    parser.add_argument("-n", type=int, default=2000,
                        help="operations per counted run (default 2000)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the results as JSON to FILE")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        row_name, variant, n = args.child
        _child(row_name, variant, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)",
              file=sys.stderr)
        return 2
    rows = select_rows(args.rows)
    if not rows:
        print("no row matches %r" % args.rows, file=sys.stderr)
        return 2
    results = measure(rows, args.n)
    print(format_table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
