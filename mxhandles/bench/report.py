"""Running the rows and presenting the results: table, JSON and plot."""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

from .._version import __version__
from .harness import (Measurement, Stats, VariantError, loop_overhead_ns,
                      measure)
from .memory import MemoryReport, run_memory
from .rows import (METRICS, NS_METRICS, SCALING, VARIANTS, Row, Scaling,
                   Target)
from .threads import ThreadsReport, run_threads

JSON_SCHEMA = "mxhandles-bench/1"


@dataclass(frozen=True)
class Settings:
    """How long to measure: ``repeats`` interleaved samples per variant,
    each a loop calibrated to last about ``sample_ms`` milliseconds."""

    mode: str
    repeats: int
    sample_ms: float

    @property
    def sample_ns(self) -> int:
        """The sample length in nanoseconds."""
        return int(self.sample_ms * 1_000_000)


#: ~0.4 s a row: the whole report in a few seconds.
QUICK = Settings("quick", repeats=30, sample_ms=3.0)
#: ~5 s a row: seven rows in well under a minute, fifteen in under two.
FULL = Settings("full", repeats=150, sample_ms=8.0)


@dataclass(frozen=True)
class TargetResult:
    """A target and how the run fared: ``actual`` is the median ratio, or
    ``None`` (and ``met`` is ``None``) when the row lacks a variant."""

    target: Target
    actual: Optional[float]  # a median ratio, or ns for an absolute target
    met: Optional[bool]

    def as_dict(self) -> Dict[str, Any]:
        """Plain-data form for JSON."""
        return {"metric": self.target.metric, "op": self.target.op,
                "value": self.target.value, "actual": self.actual,
                "met": self.met}


@dataclass
class RowResult:
    """One row's measurement and the verdicts on its targets, or the error
    that stopped it (``measurement`` is then ``None``)."""

    row: Row
    measurement: Optional[Measurement]
    error: Optional[str] = None
    notes: List[str] = field(default_factory=list)   # from the fixture
    info: Dict[str, Any] = field(default_factory=dict)

    def has(self, variant: str) -> bool:
        """Whether ``variant`` was measured."""
        return (self.measurement is not None
                and variant in self.measurement.samples)

    def ns(self, variant: str) -> Optional[Stats]:
        """ns per operation of ``variant``, or ``None`` if not measured."""
        if self.measurement is None or not self.has(variant):
            return None
        return self.measurement.stats(variant)

    def ratio(self, metric: str) -> Optional[Stats]:
        """The per-repeat ratio named ``metric`` (``"os/mx"``...)."""
        num, den = METRICS[metric]
        if self.measurement is None or not (self.has(num) and self.has(den)):
            return None
        return self.measurement.ratio(num, den)

    def targets(self) -> List[TargetResult]:
        """Every declared target with its verdict."""
        out = []
        for target in self.row.targets:
            if target.metric in NS_METRICS:
                stats = self.ns(NS_METRICS[target.metric])
            else:
                stats = self.ratio(target.metric)
            if stats is None:
                out.append(TargetResult(target, None, None))
            else:
                out.append(TargetResult(target, stats.median,
                                        target.met(stats.median)))
        return out

    def all_met(self) -> bool:
        """No error and no target missed (targets without data do not
        count)."""
        return self.error is None and all(t.met is not False
                                          for t in self.targets())

    def as_dict(self) -> Dict[str, Any]:
        """Plain-data form for JSON."""
        m = self.measurement
        variants: Dict[str, Any] = {}
        for name in VARIANTS:
            if m is None or not self.has(name):
                continue
            variants[name] = {
                "statement": self.row.statement(name),
                "loops": m.loops[name],
                "ns": m.stats(name).as_dict(),
                "samples_ns": m.samples[name],
            }
        ratios = {}
        for metric in METRICS:
            r = self.ratio(metric)
            if r is not None:
                ratios[metric] = r.as_dict()
        return {
            "name": self.row.name,
            "doc": self.row.doc,
            "unit": self.row.unit,
            "repeats": len(m.samples["mx"]) if m is not None
            and "mx" in m.samples else None,
            "floor_doc": self.row.floor_doc,
            "os_doc": self.row.os_doc if self.has("os") else None,
            "variants": variants,
            "ratios": ratios,
            "targets": [t.as_dict() for t in self.targets()],
            "all_met": self.all_met(),
            "error": self.error,
            "notes": list(self.notes),
            "info": self.info,
        }


@dataclass(frozen=True)
class ScalingResult:
    """A :class:`Scaling` target judged between two of its rows measured in
    this run (consecutive sizes among those measured)."""

    scaling: Scaling
    rows: Tuple[str, str]
    sizes: Tuple[int, int]
    ns: Tuple[float, float]  # median ns per unit at each size
    growth: float  # whole cost growth per tenfold size
    met: bool

    def as_dict(self) -> Dict[str, Any]:
        """Plain-data form for JSON."""
        return {"name": self.scaling.name, "variant": self.scaling.variant,
                "rows": list(self.rows), "sizes": list(self.sizes),
                "ns_per_unit": list(self.ns), "growth_per_decade": self.growth,
                "max_per_decade": self.scaling.max_per_decade,
                "met": self.met}


def judge_scaling(scaling: Scaling, rows: Sequence[RowResult]
                  ) -> List[ScalingResult]:
    """``scaling``'s verdicts on ``rows``: one per pair of consecutive sizes
    whose rows both measured the variant (none if fewer than two did)."""
    by_name = {r.row.name: r for r in rows}
    present = []
    for name, size in zip(scaling.rows, scaling.sizes):
        result = by_name.get(name)
        stats = result.ns(scaling.variant) if result is not None else None
        if stats is not None:
            present.append((name, size, stats.median))
    out = []
    for (n0, s0, ns0), (n1, s1, ns1) in zip(present, present[1:]):
        growth = scaling.growth(s0, ns0, s1, ns1)
        out.append(ScalingResult(scaling, (n0, n1), (s0, s1), (ns0, ns1),
                                 growth, scaling.met(growth)))
    return out


@dataclass
class Report:
    """A whole run: settings, machine, loop overhead, the rows, the rows
    left out (``--quick``) and the cross-row targets to judge."""

    settings: Settings
    machine: Dict[str, Any]
    loop_overhead_ns: float
    rows: List[RowResult] = field(default_factory=list)
    seconds: float = 0.0
    skipped: List[Row] = field(default_factory=list)
    scaling: Sequence[Scaling] = field(default_factory=lambda: SCALING)
    memory: Optional[MemoryReport] = None  # the memory section, if run
    threads: Optional[ThreadsReport] = None  # the threads section, if run

    def scaling_results(self) -> List[ScalingResult]:
        """Every cross-row target's verdicts on the rows measured."""
        return [res for sc in self.scaling
                for res in judge_scaling(sc, self.rows)]

    def target_counts(self) -> Tuple[int, int]:
        """(targets met, targets judged), cross-row targets included."""
        verdicts = [t.met for r in self.rows for t in r.targets()
                    if t.met is not None]
        verdicts += [s.met for s in self.scaling_results()]
        if self.memory is not None:
            verdicts += self.memory.verdicts()
        return sum(1 for v in verdicts if v), len(verdicts)

    def errors(self) -> List[RowResult]:
        """The rows that could not be measured."""
        return [r for r in self.rows if r.error is not None]

    def all_met(self) -> bool:
        """Every judged target was met and every row was measured."""
        met, judged = self.target_counts()
        return met == judged and not self.errors() and not (
            self.memory is not None and self.memory.errors())

    def as_dict(self) -> Dict[str, Any]:
        """The JSON document written by ``--json``."""
        met, judged = self.target_counts()
        return {
            "schema": JSON_SCHEMA,
            "mode": self.settings.mode,
            "settings": {"repeats": self.settings.repeats,
                         "sample_ms": self.settings.sample_ms},
            "machine": self.machine,
            "loop_overhead_ns": self.loop_overhead_ns,
            "seconds": self.seconds,
            "rows": [r.as_dict() for r in self.rows],
            "skipped": [r.name for r in self.skipped],
            "scaling": [s.as_dict() for s in self.scaling_results()],
            "memory": (self.memory.as_dict() if self.memory is not None
                       else None),
            "threads": (self.threads.as_dict() if self.threads is not None
                        else None),
            "targets_met": met,
            "targets_judged": judged,
            "errors": len(self.errors()),
            "all_met": self.all_met(),
        }


def machine_info() -> Dict[str, Any]:
    """Python, cffi, mxhandles and platform facts for the header and JSON."""
    try:
        import cffi
        cffi_version: Optional[str] = cffi.__version__
    except ImportError:  # pragma: no cover - cffi is a dependency
        cffi_version = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cffi": cffi_version,
        "mxhandles": __version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


# -- running ------------------------------------------------------------------


class Progress:
    """The status line on stderr: rewritten in place (``\\r``) on a terminal,
    one line per row otherwise."""

    def __init__(self, stream: Optional[IO[str]] = None,
                 enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = enabled and bool(getattr(self.stream, "isatty",
                                            lambda: False)())
        self._width = 0
        self._prefix = ""

    def row(self, index: int, total: int, name: str) -> None:
        """A new row starts."""
        self._prefix = "[%d/%d] %s" % (index, total, name)
        if self.enabled and not self.tty:
            self.stream.write(self._prefix + " ...\n")
            self.stream.flush()
        else:
            self.update("...")

    def update(self, status: str) -> None:
        """The row's current step."""
        if not self.tty:
            return
        text = "%s %s" % (self._prefix, status)
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def done(self) -> None:
        """Clears the line."""
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def run_rows(rows: Sequence[Row], settings: Settings,
             progress: Optional[Progress] = None,
             memory: bool = False, threads: bool = False) -> Report:
    """Measures ``rows`` (each on a fresh fixture) and returns the report;
    with ``memory``, then the memory section (:mod:`.memory`); with
    ``threads``, then the threads section (:mod:`.threads`).

    A row whose setup or statements raise is recorded with its error and
    the run goes on with the next row.  A quick run leaves out the rows
    marked ``quick=False`` (listed in ``report.skipped``); a row's
    ``max_repeats`` caps its repeats."""
    progress = progress or Progress(enabled=False)
    start = time.perf_counter()
    report = Report(settings, machine_info(), loop_overhead_ns())
    quick = settings.mode == "quick"
    if quick:
        report.skipped = [row for row in rows if not row.quick]
        rows = [row for row in rows if row.quick]
    for i, row in enumerate(rows, 1):
        progress.row(i, len(rows), row.name)
        try:
            fixture = row.setup()
        except Exception as exc:
            report.rows.append(RowResult(row, None, "setup raised %s: %s"
                                         % (type(exc).__name__, exc)))
            continue
        try:
            m = measure(row.variants(fixture),
                        repeats=row.repeats(settings.repeats, quick),
                        sample_ns=settings.sample_ns,
                        progress=progress.update)
        except VariantError as exc:
            report.rows.append(RowResult(row, None, str(exc)))
            continue
        finally:
            fixture.close()
        report.rows.append(RowResult(row, m, notes=list(fixture.notes),
                                     info=dict(fixture.info)))
    if memory:
        report.memory = run_memory(quick, progress.row)
    if threads:
        report.threads = run_threads(quick, progress.row)
    progress.done()
    report.seconds = time.perf_counter() - start
    return report


# -- presentation -------------------------------------------------------------


def _num(x: float) -> str:
    if x < 10:
        return "%.1f" % x
    return "{:,.0f}".format(x)


def _size(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    for div, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div and n % div == 0:
            return "%d%s" % (n // div, suffix)
    return str(n)


def _ns_cell(s: Optional[Stats]) -> str:
    if s is None:
        return "\u2014"
    return "%s [%s\u2013%s]" % (_num(s.median), _num(s.min), _num(s.max))


def _ns_target_cell(result: RowResult, variant: str,
                    marks: Tuple[str, str]) -> str:
    """The ns cell of ``variant``, with the verdicts of the row's targets
    on that variant's own ns (``Target("mx ns", ...)``)."""
    cell = _ns_cell(result.ns(variant))
    for t in result.targets():
        if (t.met is not None
                and NS_METRICS.get(t.target.metric) == variant):
            cell += " %s %s" % (t.target, marks[0] if t.met else marks[1])
    return cell


def _marks(stream: IO[str]) -> Tuple[str, str]:
    """(met, missed) marks the stream can encode."""
    try:
        "\u2713\u2717\u2265\u2264\u2013\u2014".encode(
            getattr(stream, "encoding", None) or "ascii")
        return "\u2713", "\u2717"
    except (UnicodeEncodeError, LookupError):
        return "ok", "MISS"


def _ratio_cell(result: RowResult, metric: str,
                marks: Tuple[str, str]) -> str:
    r = result.ratio(metric)
    if r is None:
        return "\u2014"
    cell = "%.2f" % r.median
    for t in result.targets():
        if t.target.metric == metric and t.met is not None:
            cell += " %s %s" % (t.target, marks[0] if t.met else marks[1])
    return cell


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> List[str]:
    widths = [max(len(line[i]) for line in [header, *body])
              for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w
                    for i, w in enumerate(widths))
    lines = [fmt.format(*header).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*line).rstrip() for line in body]
    return lines


def format_report(report: Report, stream: Optional[IO[str]] = None) -> str:
    """The human-readable report: header, ns table, ratio table, legend,
    summary and the one-line reading guide."""
    marks = _marks(stream if stream is not None else sys.stdout)
    mi = report.machine
    s = report.settings
    out = [
        "mxhandles %s benchmark (%s: %d repeats x ~%g ms samples per variant, "
        "interleaved)" % (mi["mxhandles"], s.mode, s.repeats, s.sample_ms),
        "%s %s, cffi %s, %s CPUs, %s; empty-loop overhead %.1f ns/op "
        "(included below)" % (mi["implementation"], mi["python"], mi["cffi"],
                              mi["cpu_count"], mi["platform"],
                              report.loop_overhead_ns),
        "",
        "ns per operation (or per unit: level, object): median "
        "[min\u2013max]",
    ]
    out += _table(["operation", "per", *VARIANTS],
                  [[r.row.name, r.row.unit,
                    *(_ns_target_cell(r, v, marks) for v in VARIANTS)]
                   for r in report.rows])
    out += ["", "ratios (median of per-repeat ratios) and targets"]
    body = []
    in_scaling = {name for sc in report.scaling for name in sc.rows}
    for r in report.rows:
        verdicts = [t.met for t in r.targets() if t.met is not None]
        body.append([r.row.name,
                     *(_ratio_cell(r, m, marks) for m in METRICS),
                     "ERROR" if r.error
                     else "scaling" if not r.row.targets
                     and r.row.name in in_scaling
                     else "%d/%d" % (sum(verdicts), len(verdicts))])
    out += _table(["operation", "model/mx", "os/mx", "mx/floor", "met"], body)
    scaling = report.scaling_results()
    if scaling:
        out += ["", "scaling across rows: growth of the whole operation per "
                "tenfold size (10 = linear), from the median ns per unit"]
        out += _table(
            ["target", "sizes", "ns per unit", "per decade"],
            [["%s (%s)" % (sr.scaling.name, sr.scaling.variant),
              "%s \u2192 %s" % (_size(sr.sizes[0]), _size(sr.sizes[1])),
              "%s \u2192 %s" % (_num(sr.ns[0]), _num(sr.ns[1])),
              "%.2f %s %s" % (sr.growth, sr.scaling,
                              marks[0] if sr.met else marks[1])]
             for sr in scaling])
    if report.skipped:
        out += ["", "quick run: left out %s (full run only)"
                % ", ".join(r.name for r in report.skipped)]
    out += ["", "baselines:"]
    for r in report.rows:
        if r.row.os is None:
            os_doc = "no real equivalent"
        elif r.has("os") or r.error is not None:
            os_doc = r.row.os_doc or r.row.os
        else:
            os_doc = "not available on this system"
        out.append("  %-30s floor = %s; os = %s" % (r.row.name,
                                                    r.row.floor_doc, os_doc))
    no_model = [r.row.name for r in report.rows
                if r.error is None and not r.has("model")]
    if no_model:
        out.append("  model = \u2014: the model lacks the calls (channels, "
                   "collect, tasks) or the row leaves it out (nests deeper "
                   "than 10k, teardowns of more than 100k handles): %s"
                   % ", ".join(no_model))
    for r in report.errors():
        out.append("ERROR %s: %s" % (r.row.name, r.error))
    noted = [r for r in report.rows if r.notes]
    if noted:
        out += ["", "notes:"]
        for r in noted:
            out += ["  %s: %s" % (r.row.name, note) for note in r.notes]
    if report.memory is not None:
        out += ["", *report.memory.format_lines(marks)]
    if report.threads is not None:
        out += ["", *report.threads.format_lines()]
    met, judged = report.target_counts()
    out += ["",
            "targets met: %d/%d %s%s   (%.1f s)" % (
                met, judged, marks[0] if met == judged else marks[1],
                ", %d row(s) failed" % len(report.errors())
                if report.errors() else "", report.seconds),
            "read: model/mx, os/mx = times faster than the pure-Python model"
            " / the real kernel (higher is better); mx/floor = times the cost"
            " of bare cffi calls with the same argument types (1.0 is the"
            " limit, lower is better)"]
    return "\n".join(out)


def write_json(report: Report, path: str) -> None:
    """Writes :meth:`Report.as_dict` to ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report.as_dict(), f, indent=2)
        f.write("\n")


def write_plot(report: Report, path: str) -> bool:
    """Writes a PNG bar chart of the ratios (one panel per ratio, a bar per
    row, the targets marked).  Returns ``False``, writing nothing, when
    matplotlib is not importable."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    names = [r.row.name for r in report.rows]
    fig, axes = plt.subplots(1, len(METRICS), sharey=True,
                             figsize=(4.2 * len(METRICS),
                                      1.2 + 0.45 * len(names)))
    for ax, metric in zip(axes, METRICS):
        values, colours = [], []
        for r in report.rows:
            ratio = r.ratio(metric)
            values.append(ratio.median if ratio is not None else 0.0)
            verdicts = [t.met for t in r.targets()
                        if t.target.metric == metric and t.met is not None]
            colours.append("tab:gray" if not verdicts else
                           "tab:green" if all(verdicts) else "tab:red")
            for t in r.row.targets:
                if t.metric == metric and ratio is not None:
                    ax.plot([t.value], [len(values) - 1], marker="|",
                            markersize=18, color="black")
        # A log axis: the ratios span from ~0.5 to several hundred (fork
        # against a simulated process start), and a linear axis would
        # squeeze every other bar to nothing.  Bars start at ``base``.
        base = 0.1
        shown = [v if v else base for v in values]
        bars = ax.barh(range(len(names)), [v - base for v in shown],
                       left=base, color=colours)
        ax.bar_label(bars, labels=["%.2f" % v if v else "n/a"
                                   for v in values], padding=3, fontsize=8)
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle=":")
        better = "lower is better" if metric == "mx/floor" \
            else "higher is better"
        ax.set_title("%s (%s, log scale)" % (metric, better), fontsize=10)
        ax.set_xscale("log")
        ax.set_xlim(base, max(shown + [10.0]) * 4)
    axes[0].set_yticks(range(len(names)))
    axes[0].set_yticklabels(names)
    axes[0].invert_yaxis()
    fig.suptitle("mxhandles %s: ratios of ns per operation (| = target)"
                 % report.machine["mxhandles"], fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
