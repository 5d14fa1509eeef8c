"""The timing machinery behind ``python -m mxhandles bench``.

An operation is measured the way :mod:`timeit` measures a statement: the
statement is compiled into a loop whose names are *local variables* of the
loop function (the bound methods, handle values and constants it uses are
looked up once, before the clock starts), and the loop runs ``n`` times with
the garbage collector off.  The result of one such run divided by ``n`` is
one *sample*, in nanoseconds per operation.

Each row's variants (mx, the pure-Python model, the floor of empty cffi
calls, the real kernel) are measured *interleaved*: every repeat takes one
sample of each variant, in an order that rotates from repeat to repeat, so
that the noise of a shared machine (another VM's burst, a frequency change)
falls on all of them alike.  Ratios are then formed per repeat from samples
taken a few milliseconds apart, and summarised by their median.

A *one-shot* variant (one with ``prepare``) measures an operation that
consumes its state, such as closing a nest of channels built beforehand:
every sample first calls ``prepare(env)`` with the clock stopped (and the
garbage collector as it was), then times exactly one execution of the
statement.  Its sample is divided by ``per``, the number of units the
operation handles (the nest's depth, the objects a collection destroyed),
so that it reads "ns per level" or "ns per object".
"""
from __future__ import annotations

import gc
import itertools
import math
import statistics
import time
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple, Union)

#: Signature of a compiled loop: ``loop(n, clock, env) -> elapsed_ns``.
LoopFn = Callable[[int, Callable[[], int], Dict[str, Any]], int]

_NAME_PREFIX = "_bench_"


@dataclass
class Variant:
    """One way to perform a row's operation.

    ``stmt`` is Python source (one or more lines) executed once per
    operation; every free name in it must be a key of ``env``.  Names listed
    in ``keep`` are state the statement rebinds (``h = replace(h, R)``):
    their final values are written back to ``env`` after each run so that the
    next run continues from them.

    ``prepare``, if given, makes the variant one-shot (see the module
    docstring): it rebuilds the state in ``env`` before every sample, and
    the sample times one execution.  ``per`` divides a sample: a number of
    units, or the name of a local (listed in ``keep``) that the statement
    sets to it.
    """

    stmt: str
    env: Dict[str, Any]
    keep: Tuple[str, ...] = ()
    prepare: Optional[Callable[[Dict[str, Any]], None]] = None
    per: Union[int, str] = 1
    _loop: Optional[LoopFn] = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.per, str) and self.per not in self.keep:
            raise ValueError("per=%r must be a name in keep" % self.per)

    @property
    def one_shot(self) -> bool:
        """Whether each sample needs ``prepare`` and times one execution."""
        return self.prepare is not None

    def loop(self) -> LoopFn:
        """The compiled timing loop (built on first use)."""
        if self._loop is None:
            self._loop = compile_loop(self.stmt, sorted(self.env), self.keep)
        return self._loop

    def run(self, n: int, clock: Callable[[], int] = time.perf_counter_ns) -> int:
        """Performs the operation ``n`` times; returns the elapsed ns."""
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self.loop()(n, clock, self.env)
        finally:
            if gc_was_enabled:
                gc.enable()

    def units(self) -> float:
        """What the last run's time is divided by besides the loop count."""
        if isinstance(self.per, str):
            return float(self.env[self.per])
        return float(self.per)

    def sample(self, n: int) -> float:
        """One sample: ns per operation (per unit) over ``n`` operations,
        or over one after ``prepare`` for a one-shot variant."""
        if self.prepare is not None:
            self.prepare(self.env)
            n = 1
        elapsed = self.run(n)
        units = self.units()
        if units <= 0:
            raise ValueError("the operation handled %r units" % units)
        return elapsed / (n * units)

    def as_function(self) -> Callable[..., None]:
        """A function performing the operation once whose keyword
        arguments are the names of ``env`` (for pytest-benchmark's
        ``pedantic`` mode, whose setup passes a freshly prepared env)."""
        names = sorted(self.env)
        src = ["def _bench_op(%s):" % ", ".join(names)]
        src += ["    " + line for line in _stmt_lines(self.stmt)]
        namespace: Dict[str, Any] = {}
        exec(compile("\n".join(src), "<bench %s>" % self.stmt, "exec"),
             namespace)
        op: Callable[..., None] = namespace["_bench_op"]
        return op

    def as_callable(self) -> Callable[[], None]:
        """A zero-argument function performing the operation once (for
        pytest-benchmark, which does its own looping); state named in
        ``keep`` lives in the function's closure."""
        names = sorted(self.env)
        src = ["def _bench_make(%s):" % ", ".join(names) if names
               else "def _bench_make():",
               "    def _bench_op():"]
        if self.keep:
            src.append("        nonlocal " + ", ".join(self.keep))
        src += ["        " + line for line in _stmt_lines(self.stmt)]
        src.append("    return _bench_op")
        namespace: Dict[str, Any] = {}
        exec(compile("\n".join(src), "<bench %s>" % self.stmt, "exec"),
             namespace)
        op: Callable[[], None] = namespace["_bench_make"](**self.env)
        return op


def _stmt_lines(stmt: str) -> List[str]:
    lines = [line for line in stmt.strip("\n").splitlines() if line.strip()]
    if not lines:
        return ["pass"]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    return [line[indent:] for line in lines]


def compile_loop(stmt: str, names: Sequence[str],
                 keep: Sequence[str] = ()) -> LoopFn:
    """Compiles ``stmt`` into a timing loop.

    The generated function copies every name of ``names`` from the env dict
    into a local before starting the clock, iterates over
    ``itertools.repeat(None, n)`` (the cheapest Python loop, as timeit
    does), and after stopping the clock stores the names of ``keep`` back.
    """
    for name in itertools.chain(names, keep):
        if not name.isidentifier() or name.startswith(_NAME_PREFIX):
            raise ValueError("bad name for a benchmark local: %r" % name)
    missing = [k for k in keep if k not in names]
    if missing:
        raise ValueError("keep names not in env: %r" % missing)
    body = ["def _bench_loop(_bench_n, _bench_clock, _bench_env):"]
    body += ["    %s = _bench_env[%r]" % (name, name) for name in names]
    body += ["    _bench_it = _bench_repeat(None, _bench_n)",
             "    _bench_t0 = _bench_clock()",
             "    for _bench_i in _bench_it:"]
    body += ["        " + line for line in _stmt_lines(stmt)]
    body += ["    _bench_t1 = _bench_clock()"]
    body += ["    _bench_env[%r] = %s" % (name, name) for name in keep]
    body += ["    return _bench_t1 - _bench_t0"]
    namespace: Dict[str, Any] = {"_bench_repeat": itertools.repeat}
    exec(compile("\n".join(body), "<bench %s>" % stmt.strip(), "exec"),
         namespace)
    loop: LoopFn = namespace["_bench_loop"]
    return loop


def calibrate(variant: Variant, sample_ns: int, max_loops: int = 10**7) -> int:
    """The loop count whose run takes about ``sample_ns``.

    Doubles the count from 1 until a run takes at least a fifth of the
    target (this also warms the variant up and proves that its statement
    runs), then scales to the target.  Always at least 1.
    """
    n = 1
    while True:
        elapsed = variant.run(n)
        if elapsed * 5 >= sample_ns or n >= max_loops:
            break
        n *= 2
    per_op = max(elapsed, 1) / n
    return max(1, min(max_loops, int(math.ceil(sample_ns / per_op))))


@dataclass(frozen=True)
class Stats:
    """Summary of a series of per-operation samples (or of ratios)."""

    min: float
    median: float
    max: float
    mean: float

    @classmethod
    def of(cls, values: Sequence[float]) -> "Stats":
        """Summarises ``values`` (must not be empty)."""
        return cls(min(values), statistics.median(values), max(values),
                   statistics.fmean(values))

    def as_dict(self) -> Dict[str, float]:
        """Plain-data form for JSON."""
        return {"min": self.min, "median": self.median, "max": self.max,
                "mean": self.mean}


@dataclass
class Measurement:
    """The interleaved samples of a set of variants."""

    loops: Dict[str, int]
    samples: Dict[str, List[float]]

    def stats(self, name: str) -> Stats:
        """min/median/max/mean of ``name``'s ns per operation."""
        return Stats.of(self.samples[name])

    def ratio(self, num: str, den: str) -> Stats:
        """Per-repeat ratio ``num / den`` over the paired samples."""
        pairs = zip(self.samples[num], self.samples[den])
        return Stats.of([a / b for a, b in pairs if b > 0])


ProgressFn = Callable[[str], None]


class VariantError(Exception):
    """A variant's statement raised: names the variant and the statement,
    the original exception is the ``__cause__``."""

    def __init__(self, variant: str, stmt: str, exc: BaseException) -> None:
        super().__init__("%s: `%s` raised %s: %s" % (
            variant, " / ".join(_stmt_lines(stmt)), type(exc).__name__, exc))
        self.variant = variant


def measure(variants: Mapping[str, Variant], *, repeats: int,
            sample_ns: int, progress: Optional[ProgressFn] = None
            ) -> Measurement:
    """Calibrates every variant (one-shot variants run once per sample),
    then takes ``repeats`` interleaved samples of each (the order rotates
    every repeat).  ``progress`` is called with a
    short status text now and then."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    names = list(variants)
    loops: Dict[str, int] = {}
    for name in names:
        if variants[name].one_shot:
            loops[name] = 1  # each sample is one execution, not calibrated
            continue
        if progress is not None:
            progress("calibrating %s" % name)
        try:
            loops[name] = calibrate(variants[name], sample_ns)
        except Exception as exc:
            raise VariantError(name, variants[name].stmt, exc) from exc
    samples: Dict[str, List[float]] = {name: [] for name in names}
    step = max(1, repeats // 20)
    for r in range(repeats):
        if progress is not None and r % step == 0:
            progress("repeat %d/%d" % (r + 1, repeats))
        k = r % len(names)
        for name in names[k:] + names[:k]:
            try:
                samples[name].append(variants[name].sample(loops[name]))
            except Exception as exc:
                raise VariantError(name, variants[name].stmt, exc) from exc
    return Measurement(loops, samples)


def loop_overhead_ns(sample_ns: int = 2_000_000, repeats: int = 5) -> float:
    """ns per iteration of an empty timing loop (included in every number)."""
    empty = Variant("pass", {})
    n = calibrate(empty, sample_ns)
    return min(empty.run(n) / n for _ in range(repeats))
