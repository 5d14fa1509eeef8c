"""Command line: ``python -m mxhandles bench [options]``.

``bench`` measures every operation of the benchmark registry against the
pure-Python model, the floor of empty cffi calls and the real kernel, and
prints a table (see ``mxhandles/bench``).  It is a report: it exits 0 unless
``--check`` is given and a target was missed (exit 1), a row could not run
at all (exit 1), or the arguments are wrong (exit 2).
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, List, Optional, Sequence

if TYPE_CHECKING:
    from .bench import Row


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (a ``bench`` sub-command, room for more)."""
    parser = argparse.ArgumentParser(
        prog="python -m mxhandles",
        description="Tools of the mxhandles package.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    bench = sub.add_parser(
        "bench", help="benchmark report: mx vs model, floor and os",
        description="Measure each operation (ns per op) for mxhandles, the "
        "pure-Python model, the floor of empty cffi calls and the real "
        "kernel, interleaved, and print a table with the ratios and "
        "whether each row's targets are met.")
    bench.add_argument("--quick", action="store_true",
                       help="a short run (a few seconds) instead of the "
                       "full one (about a minute)")
    bench.add_argument("--rows", metavar="PATTERN",
                       help="only the rows whose name matches: comma-"
                       "separated substrings or globs, case-insensitive")
    bench.add_argument("--json", metavar="FILE",
                       help="also write the results as JSON to FILE")
    bench.add_argument("--plot", metavar="FILE",
                       help="also write a PNG bar chart of the ratios "
                       "(needs matplotlib)")
    bench.add_argument("--check", action="store_true",
                       help="exit 1 if any target is missed")
    bench.add_argument("--list", action="store_true",
                       help="list the rows and their targets, run nothing")
    bench.add_argument("--repeats", type=_positive_int, metavar="N",
                       help="interleaved samples per variant (overrides the "
                       "mode's)")
    bench.add_argument("--sample-ms", type=_positive_float, metavar="MS",
                       help="length of one sample in ms (overrides the "
                       "mode's)")
    bench.add_argument("--no-progress", action="store_true",
                       help="do not print the progress line on stderr")
    bench.add_argument("--no-memory", action="store_true",
                       help="leave out the memory section (bytes per live "
                       "handle at 1M and, in a full run, 16M handles; "
                       "selected by --rows memory)")
    bench.add_argument("--no-threads", action="store_true",
                       help="leave out the threads section (1 and 2 Python "
                       "threads calling syscalls; selected by --rows "
                       "threads)")
    return parser


def _list_rows(rows: Sequence["Row"]) -> None:
    for row in rows:
        targets = ", ".join("%s %s" % (t.metric, t) for t in row.targets)
        print("%-30s %s" % (row.name, targets or "(no targets)"))
        print("    %s" % row.doc)


def bench_main(args: argparse.Namespace) -> int:
    """Runs the ``bench`` sub-command; returns the exit status."""
    from dataclasses import replace

    from .bench import (FULL, QUICK, ROWS, Progress, format_report,
                        run_rows, select_rows, write_json, write_plot)
    from .bench.memory import CASES, SECTION, selected

    rows = select_rows(args.rows)
    memory = selected(args.rows) and not args.no_memory
    threads = selected(args.rows, "threads") and not args.no_threads
    if not rows and not memory and not threads:
        print("no row matches %r; rows: %s, %s, threads"
              % (args.rows, ", ".join(r.name for r in ROWS), SECTION),
              file=sys.stderr)
        return 2
    if args.list:
        _list_rows(rows)
        if memory:
            print("%-30s %s" % (SECTION, ", ".join(
                c.name + ("" if c.quick else " (full run only)")
                for c in CASES)))
            print("    bytes per live handle, all layers, each case in a "
                  "fresh interpreter")
        if threads:
            print("%-30s %s" % ("threads", "1 thread vs 2 threads (own "
                                "processes, same process), ops/s"))
            print("    Python threads calling syscalls in parallel: "
                  "duplicate+close, write+read of 64 KiB")
        return 0
    settings = QUICK if args.quick else FULL
    if args.repeats is not None:
        settings = replace(settings, repeats=args.repeats)
    if args.sample_ms is not None:
        settings = replace(settings, sample_ms=args.sample_ms)
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            # Say so before a long run rather than after it.
            print("--plot needs matplotlib (pip install matplotlib); "
                  "no plot will be written", file=sys.stderr)

    report = run_rows(rows, settings,
                      Progress(enabled=not args.no_progress), memory=memory,
                      threads=threads)
    print(format_report(report, sys.stdout))
    if args.json:
        write_json(report, args.json)
        print("wrote %s" % args.json)
    if args.plot:
        if write_plot(report, args.plot):
            print("wrote %s" % args.plot)
        else:
            print("--plot: matplotlib is not installed, no plot written "
                  "(pip install matplotlib)", file=sys.stderr)
    if report.errors() or (report.memory is not None
                           and report.memory.errors()):
        return 1  # a row that could not run is a broken benchmark
    if args.check and not report.all_met():
        return 1
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``python -m mxhandles``; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "bench":
        return bench_main(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
