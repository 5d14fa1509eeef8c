#!/usr/bin/env python3
"""Hostile-input sweep: every syscall, every argument, every kind of bad value.

Run standalone (``python3 tests/hostile_sweep.py [-v]``) or through
``tests/test_hostile.py``, which runs it in a subprocess so that a crash of
the interpreter is a failure rather than a lost run.

A *scene* is a seeded kernel whose init process ``P`` holds one handle of
every object type (with default rights, and copies lacking each right),
channels and event pairs whose peer is closed, a full port, a killed job, a
new, a running and a dead process, values that are closed, in transit, or
another process's.  Each syscall of SPEC section 4 (and ``Kernel.process``
and the ``aio`` awaitables) has one or more *base* calls; the sweep replaces
one argument at a time with every input of a pool (wrong Python types,
objects whose ``__index__`` raises or returns huge ints, ints from
``-2**200`` to ``2**200``, every value of the scene, bytes-likes of every
shape and size, sequences that mutate while being read ...) and decides from
SPEC sections 3 and 4 what must happen: ``TypeError``, or ``MxError`` with
one status.  A substitution that SPEC calls valid and that would change the
kernel is skipped (not counted).  After every call ``Kernel.snapshot()`` and
``Kernel.stats()`` must equal what they were before it.

The same sweep then runs from a dead process (everything is ``BAD_STATE``
or ``TypeError``) and, for the calls that add handles, in a kernel whose
``max_handles`` is reached (valid calls give ``NO_RESOURCES``).

Prints ``pairs tried: N`` and exits 1 on any mismatch (listing them).
"""
from __future__ import annotations

import array
import asyncio
import sys
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Dict, List, Optional

import mxhandles as mx
from mxhandles import aio

SEED = 20170401
TE = "TypeError"                     # expected: TypeError
SKIP = "skip"                        # SPEC calls it valid: not tried
U32, U64 = 2**32, 2**64
DEFAULTS = {int(t): int(r) for t, r in mx.DEFAULT_RIGHTS.items()}
USER_BITS = {int(mx.ObjType.EVENT): 0xFF000000 | int(mx.EVENT_SIGNALED),
             int(mx.ObjType.EVENT_PAIR): 0xFF000000 | int(mx.EPAIR_SIGNALED)}
EV, EP, CH, PORT, JOB, PROC, THR = (int(mx.ObjType.EVENT),
                                    int(mx.ObjType.EVENT_PAIR),
                                    int(mx.ObjType.CHANNEL),
                                    int(mx.ObjType.PORT), int(mx.ObjType.JOB),
                                    int(mx.ObjType.PROCESS),
                                    int(mx.ObjType.THREAD))
R_DUP, R_XFER, R_READ, R_WRITE, R_ENUM = (int(mx.RIGHT_DUPLICATE),
                                          int(mx.RIGHT_TRANSFER),
                                          int(mx.RIGHT_READ),
                                          int(mx.RIGHT_WRITE),
                                          int(mx.RIGHT_ENUMERATE))
S = {name: int(getattr(mx, name)) for name in dir(mx) if name.startswith("ERR_")}
TOPICS = {int(mx.INFO_HANDLE_VALID), int(mx.INFO_HANDLE_BASIC),
          int(mx.INFO_PROCESS), int(mx.INFO_PROCESS_THREADS),
          int(mx.INFO_JOB_CHILDREN), int(mx.INFO_JOB_PROCESSES),
          int(mx.INFO_PROCESS_HANDLES)}

RAW_INTS = [-2**200, -2**64 - 1, -2**64, -2**63 - 1, -2**63, -2**32,
            -2**31 - 1, -2**31, -2, -1, 0, 1, 2, 3, 255, 2**24, 2**31 - 2,
            2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1, 2**32, 2**32 + 1,
            2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**64 + 1, 2**70, 2**200]


# -- inputs ----------------------------------------------------------------------

class In:
    """One argument to try: ``make()`` builds a fresh object; ``iv`` is the
    int it stands for, or ``None`` when SPEC wants ``TypeError``."""

    __slots__ = ("label", "make", "iv", "extra")

    def __init__(self, label: str, make: Callable[[], Any],
                 iv: Optional[int], extra: Any = None) -> None:
        self.label, self.make, self.iv, self.extra = label, make, iv, extra


class Index:
    def __init__(self, v: int) -> None:
        self.v = v

    def __index__(self) -> int:
        return self.v


class IndexRaises:
    def __index__(self) -> int:
        raise ValueError("hostile __index__")


class IndexReturnsStr:
    def __index__(self) -> Any:
        return "7"


class IntSub(int):
    pass


class IntOnly:
    """Has ``__int__`` (as Fraction and Decimal do) but no ``__index__``:
    not an int, so ``TypeError`` wherever an int is taken."""

    def __init__(self, v: int) -> None:
        self.v = v

    def __int__(self) -> int:
        return self.v


def int_inputs(values: Dict[str, int]) -> List[In]:
    """Every int of the pool, and some of them wrapped (bool, int subclass,
    ``__index__``)."""
    out = [In("int %s" % v, (lambda v=v: v), v) for v in RAW_INTS]
    out += [In("bool %s" % b, (lambda b=b: b), int(b)) for b in (False, True)]
    for v in (0, 1, 2**31 - 1, 2**31, 2**64 + 1, 2**70, -1):
        out.append(In("Index(%s)" % v, (lambda v=v: Index(v)), v))
        out.append(In("IntSub(%s)" % v, (lambda v=v: IntSub(v)), v))
    for name, v in values.items():
        out.append(In(name, (lambda v=v: v), v))
    for name in ("ev", "port", "procN", "ch0", "job"):
        if name in values:
            out.append(In("Index(%s)" % name, (lambda v=values[name]: Index(v)),
                          values[name]))
    return out


def type_inputs(values: Dict[str, int]) -> List[In]:
    """Objects that are not ints (SPEC section 3: ``TypeError``)."""
    v = values.get("ev", 1)
    return [In(label, make, None) for label, make in (
        ("str", lambda: "1"), ("str-value", lambda: str(v)), ("empty str", lambda: ""),
        ("float", lambda: 1.0), ("float-value", lambda: float(v)),
        ("nan", lambda: float("nan")), ("None", lambda: None),
        ("bytes", lambda: b"\x01"), ("bytearray", lambda: bytearray(b"\x01")),
        ("list", lambda: [v]), ("tuple", lambda: (v,)), ("dict", lambda: {v: v}),
        ("object", object), ("complex", lambda: complex(v)),
        ("Fraction", lambda: Fraction(2 * v + 1, 2)),
        ("Decimal", lambda: Decimal(v)), ("IntOnly(value)", lambda: IntOnly(v)),
        ("IndexRaises", IndexRaises), ("IndexReturnsStr", IndexReturnsStr),
        ("type", lambda: int))]


# -- the scene ---------------------------------------------------------------------

class Scene:
    """A seeded kernel with one of everything; see the module docstring."""

    def __init__(self, max_handles: Optional[int] = None) -> None:
        k = self.k = mx.Kernel(seed=SEED, max_handles=max_handles)
        P = self.P = k.init
        v: Dict[str, int] = {}
        v["root"] = P.mx_job_default()
        v["ev"] = P.mx_event_create()
        v["evT"] = P.mx_event_create()            # process_start's arg1
        v["ep0"], v["ep1"] = P.mx_eventpair_create()
        v["epc0"], gone = P.mx_eventpair_create()
        P.mx_handle_close(gone)                  # epc0: peer closed
        v["ch0"], v["ch1"] = P.mx_channel_create()
        v["chp0"], gone = P.mx_channel_create()
        P.mx_handle_close(gone)                  # chp0: peer closed
        v["port"] = P.mx_port_create()
        v["portfull"] = P.mx_port_create()
        for i in range(int(mx.PORT_MAX_PACKETS)):
            P.mx_port_queue(v["portfull"], mx.PortPacket(i))
        v["job"] = P.mx_job_create(v["root"])
        v["jobk"] = P.mx_job_create(v["root"])
        P.mx_task_kill(v["jobk"])                # a killed job
        v["procN"] = P.mx_process_create(v["job"], "new")
        v["thrN"] = P.mx_thread_create(v["procN"], "t")
        v["procR"] = P.mx_process_create(v["job"], "running")
        v["thrR"] = P.mx_thread_create(v["procR"], "main")
        boot, boot_r = P.mx_channel_create()
        P.mx_process_start(v["procR"], v["thrR"], 0, 0, boot_r, 0)
        v["thrX"] = P.mx_thread_create(v["procR"], "extra")
        v["boot"] = boot
        self.C = C = k.process(self.koid(P, v["procR"]))
        other = {"C.ev": C.mx_event_create(), "C.port": C.mx_port_create()}
        other["C.ch0"], other["C.ch1"] = C.mx_channel_create()
        other["C.boot"] = C.start_info.arg1
        v["procD"] = P.mx_process_create(v["job"], "dead")
        v["thrD"] = P.mx_thread_create(v["procD"], "main")
        bd, bd_r = P.mx_channel_create()
        P.mx_process_start(v["procD"], v["thrD"], 0, 0, bd_r, 0)
        self.D = D = k.process(self.koid(P, v["procD"]))
        dead = {"D.ev": D.mx_event_create(), "D.boot": D.start_info.arg1}
        dead["D.ch0"], dead["D.ch1"] = D.mx_channel_create()
        P.mx_task_kill(v["procD"])
        P.mx_handle_close(bd)
        # Copies lacking rights: none at all, and each right in turn.
        for name in ("ev", "ep0", "port", "job", "procN", "thrN", "procR",
                     "thrX"):
            h = v[name]
            have = P.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).rights
            v[name + "/0"] = P.mx_handle_duplicate(h, 0)
            for r in (R_DUP, R_XFER, R_READ, R_WRITE, R_ENUM):
                if have & r:
                    v["%s/-%d" % (name, r)] = P.mx_handle_duplicate(h, have & ~r)
        for r in (0, R_XFER, R_READ, R_WRITE):
            a, b = P.mx_channel_create()
            rights = 0 if r == 0 else DEFAULTS[CH] & ~r
            v["chr%d" % r] = P.mx_handle_replace(a, rights)
            v["chr%d.peer" % r] = b
        # Values that name nothing any more: closed, and in transit.
        closed = {}
        for name, mk in (("ev", P.mx_event_create), ("port", P.mx_port_create),
                         ("ch", lambda: P.mx_channel_create()[0])):
            h = mk()
            P.mx_handle_close(h)
            closed["closed." + name] = h
        v["chq0"], v["chq1"] = P.mx_channel_create()
        for name, mk in (("ev", P.mx_event_create),
                         ("ch", lambda: P.mx_channel_create()[1])):
            h = mk()
            P.mx_channel_write(v["chq0"], b"transit", [h])
            closed["transit." + name] = h
        self.values = v
        self.foreign = dict(closed, **other, **dead)
        self.facts = {}
        snap = k.snapshot()
        related = {o["koid"]: o["related_koid"] for o in snap["objects"]}
        for value, koid, typ, rights in P.handles():
            self.facts[value] = (koid, typ, rights, related.get(koid, 0))
        self.state_of = {p["koid"]: p["state"] for p in snap["processes"]}
        self.signals = {o["koid"]: o["signals"] for o in snap["objects"]}
        self.started_threads = {self.koid(P, v["thrR"]), self.koid(P, v["thrD"])}
        self.killed_jobs = {self.koid(P, v["jobk"])}
        self.ref = self.state()

    @staticmethod
    def koid(proc: mx.Process, h: int) -> int:
        return proc.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid

    def state(self) -> Any:
        return self.k.snapshot(), self.k.stats()

    def fact(self, iv: int) -> Optional[tuple]:
        return self.facts.get(iv) if 0 < iv < 2**31 else None

    def all_values(self) -> Dict[str, int]:
        return dict(self.values, **self.foreign)


# -- slots: what SPEC says about one argument --------------------------------------
#
# A slot classifies an input for its argument position, the others being the
# base call's: it returns TE, an int status, a set of statuses, or SKIP.

class Slot:
    def inputs(self, sc: Scene) -> List[In]:
        vals = sc.all_values()
        return int_inputs(vals) + type_inputs(vals)

    def classify(self, sc: Scene, inp: In) -> Any:
        raise NotImplementedError


class H(Slot):
    """A handle.  ``types``: the object types it may name (None: any);
    ``rights``: rights needed; ``more(sc, fact)``: further checks, returning
    a status, SKIP or None (then ``valid``)."""

    def __init__(self, types: Any = None, rights: int = 0,
                 bad: int = S["ERR_BAD_HANDLE"], denied: int = S["ERR_ACCESS_DENIED"],
                 more: Optional[Callable[[Scene, tuple], Any]] = None,
                 valid: Any = SKIP) -> None:
        self.types, self.rights, self.bad, self.denied = types, rights, bad, denied
        self.more, self.valid = more, valid

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        f = sc.fact(inp.iv)
        if f is None:
            return self.bad
        if self.types is not None and f[1] not in self.types:
            return S["ERR_WRONG_TYPE"]
        if f[2] & self.rights != self.rights:
            return self.denied
        if self.more is not None:
            r = self.more(sc, f)
            if r is not None:
                return r
        return self.valid


class U(Slot):
    """An unsigned int (rights, masks, options: 32 bits; deadlines, keys: 64).
    Out of range: ``INVALID_ARGS`` (SPEC section 3); ``check(sc, v)`` gives
    the status of an in-range value or None (then ``valid``)."""

    def __init__(self, bits: int = 32, check: Any = None, valid: Any = SKIP) -> None:
        self.top, self.check, self.valid = 2**bits, check, valid

    def inputs(self, sc: Scene) -> List[In]:
        return int_inputs({}) + type_inputs(sc.values)

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        if not 0 <= inp.iv < self.top:
            return S["ERR_INVALID_ARGS"]
        r = self.check(sc, inp.iv) if self.check is not None else None
        return self.valid if r is None else r


def options_must_be_zero(status: str) -> Callable[[Scene, int], Any]:
    return lambda sc, v: S[status] if v else None


def deadline(valid: Any) -> U:
    """A deadline: any u64; a past one polls (``valid``), a future one would
    block (not tried)."""
    return U(64, lambda sc, v: None if v <= time.monotonic_ns() else SKIP, valid)


class AnyInt(Slot):
    """Any int is valid (``thread_start``'s ``arg1``/``arg2``)."""

    def __init__(self, valid: Any = SKIP) -> None:
        self.valid = valid

    def inputs(self, sc: Scene) -> List[In]:
        return int_inputs({}) + type_inputs(sc.values)

    def classify(self, sc: Scene, inp: In) -> Any:
        return TE if inp.iv is None else self.valid


class Topic(Slot):
    """An info topic: checked first; an unknown one is ``NOT_SUPPORTED``."""

    def __init__(self, valid: Any) -> None:
        self.valid = valid

    def inputs(self, sc: Scene) -> List[In]:
        return int_inputs({}) + type_inputs(sc.values)

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        return self.valid if inp.iv in TOPICS else S["ERR_NOT_SUPPORTED"]


class Limit(Slot):
    """``max_bytes``/``max_handles``: None or >= 0; negative is
    ``INVALID_ARGS``, above 2**64-1 no limit (design.md)."""

    def __init__(self, valid: Any) -> None:
        self.valid = valid

    def inputs(self, sc: Scene) -> List[In]:
        return (int_inputs({}) + [In("None", lambda: None, 0)]
                + [i for i in type_inputs(sc.values) if i.label != "None"])

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        return S["ERR_INVALID_ARGS"] if inp.iv < 0 else self.valid


class Int64(Slot):
    """``mx_process_exit``'s return code: an int64 (valid ones would end
    the caller: not tried)."""

    def inputs(self, sc: Scene) -> List[In]:
        return int_inputs({}) + type_inputs(sc.values)

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        return SKIP if -2**63 <= inp.iv < 2**63 else S["ERR_INVALID_ARGS"]


class Name(Slot):
    def __init__(self, valid: Any) -> None:
        self.valid = valid

    def inputs(self, sc: Scene) -> List[In]:
        strs = [In("name " + repr(s[:12]), (lambda s=s: s), 0)
                for s in ("", "x" * 100, "\0", "\udcff", "é" * 40)]
        return strs + [i for i in type_inputs(sc.values) if not i.label.endswith("str")
                       and i.label != "str-value"]

    def classify(self, sc: Scene, inp: In) -> Any:
        return TE if inp.iv is None else self.valid


def bytes_likes(sizes: List[int]) -> List[In]:
    """Every shape of bytes-like object at each size (``iv`` = nbytes)."""
    out = []
    for n in sizes:
        shapes = [
            ("bytes", lambda n=n: b"\xab" * n),
            ("bytearray", lambda n=n: bytearray(n)),
            ("memoryview", lambda n=n: memoryview(bytes(n))),
            ("readonly memoryview", lambda n=n: memoryview(bytearray(n)).toreadonly()),
            ("array B", lambda n=n: array.array("B", bytes(n))),
            ("non-contiguous memoryview", lambda n=n: memoryview(bytes(2 * n))[::2]),
        ]
        if n and n % 8 == 0:
            shapes += [("array d", lambda n=n: array.array("d", [0.0]) * (n // 8)),
                       ("2-d memoryview",
                        lambda n=n: memoryview(bytearray(n)).cast("B", (n // 8, 8)))]
        out += [In("%s[%d]" % (label, n), make, n) for label, make in shapes]
    return out


class Data(Slot):
    """Message bytes: any bytes-like object; over ``limit`` bytes is
    ``over``; anything else ``TypeError``."""

    def __init__(self, limit: int, over: int, valid: Any) -> None:
        self.limit, self.over, self.valid = limit, over, valid

    def inputs(self, sc: Scene) -> List[In]:
        sizes = sorted({0, 1, 4, self.limit, self.limit + 1, 65537, 2**20})
        nonbuf = [i for i in type_inputs(sc.values)
                  if i.label not in ("bytes", "bytearray")]
        return bytes_likes(sizes) + nonbuf + [
            In("int", lambda: 5, None), In("str data", lambda: "abc", None),
            In("list of ints", lambda: [1, 2, 3], None)]

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        return self.over if inp.iv > self.limit else self.valid


def item_status(sc: Scene, iv: Optional[int], through_koid: int) -> Any:
    """What SPEC says of one item of a message's handle list."""
    if iv is None:
        return TE
    f = sc.fact(iv)
    if f is None:
        return S["ERR_BAD_HANDLE"]
    if f[0] == through_koid:
        return S["ERR_NOT_SUPPORTED"]
    if not f[2] & R_XFER:
        return S["ERR_ACCESS_DENIED"]
    return None


class HandleList(Slot):
    """The handles of a message written through ``through`` (a scene name)."""

    def __init__(self, through: str, valid: Any) -> None:
        self.through, self.valid = through, valid

    def inputs(self, sc: Scene) -> List[In]:
        vals = sc.all_values()
        out = []
        for i in int_inputs(vals) + type_inputs(vals):
            out.append(In("[%s]" % i.label, (lambda m=i.make: [m()]), 0, [i.iv]))
        ev, evT, ep0 = (sc.values[n] for n in ("ev", "evT", "ep0"))
        bad = sc.foreign["closed.ev"]
        for label, items in (("[]", []), ("(ev, evT)", (ev, evT)),
                             ("[ev, ev]", [ev, ev]), ("[ev, bad]", [ev, bad]),
                             ("[bad, ev, ev]", [bad, ev, ev]),
                             ("[ev, ev, bad]", [ev, ev, bad]),
                             ("[ev]*1025", [ev] * 1025), ("[bad]*1025", [bad] * 1025),
                             ("[ep0]*1024", [ep0] * 1024),
                             ("range(5)", range(1, 6))):
            out.append(In(label, (lambda items=items: items), 0, list(items)))
        out += [In("seq " + i.label, i.make, None) for i in type_inputs(vals)
                if i.label in ("str", "float", "None", "bytes", "bytearray", "object",
                               "IndexRaises")]
        out.append(In("[ev, 'x']", lambda: [ev, "x"], None))
        out.append(In("[ev, None]", lambda: [ev, None], None))
        return out

    def classify(self, sc: Scene, inp: In) -> Any:
        items = inp.extra
        if items is None:
            return TE
        if any(x is None for x in items):
            return TE
        if len(items) > 1024:
            return S["ERR_OUT_OF_RANGE"]
        through = sc.facts[sc.values[self.through]][0]
        for x in items:
            r = item_status(sc, x, through)
            if r is not None:
                return r
        if len(set(items)) != len(items):
            return S["ERR_INVALID_ARGS"]
        return self.valid


class CloseList(Slot):
    """``mx_handle_close_many``'s sequence: only invalid items are tried
    (valid ones would be closed)."""

    def inputs(self, sc: Scene) -> List[In]:
        vals = dict(sc.foreign)
        out = []
        for i in int_inputs(vals) + type_inputs(vals):
            out.append(In("[%s]" % i.label, (lambda m=i.make: [m()]), 0, [i.iv]))
        bad = sc.foreign["closed.ev"]
        ev = sc.values["ev"]
        for label, items in (("[]", []), ("()", ()), ("[bad, bad]", [bad, bad]),
                             ("[bad]*5000", [bad] * 5000), ("[0, -1, 2**64]", [0, -1, 2**64])):
            out.append(In(label, (lambda items=items: items), 0, list(items)))
        out += [In("seq " + i.label, i.make, None) for i in type_inputs(vals)
                if i.label in ("str", "float", "None", "bytes", "object")]
        # A wrong item after a valid one: TypeError before anything closes.
        out.append(In("[ev, 'x']", lambda: [ev, "x"], None))
        out.append(In("[ev, IndexRaises]", lambda: [ev, IndexRaises()], None))
        out.append(In("[ev, Fraction]", lambda: [ev, Fraction(1, 2)], None))
        return out

    def classify(self, sc: Scene, inp: In) -> Any:
        items = inp.extra
        if items is None or any(x is None for x in items):
            return TE
        if any(sc.fact(x) is not None for x in items):
            return SKIP
        return S["ERR_BAD_HANDLE"] if items else None   # None: success


class WaitItems(Slot):
    """``mx_object_wait_many``'s ``(handle, signals)`` items; with the
    deadline in the past a valid list times out."""

    def inputs(self, sc: Scene) -> List[In]:
        vals = sc.all_values()
        ev = sc.values["ev"]
        out = [In("[(%s, U7)]" % i.label, (lambda m=i.make: [(m(), 1 << 31)]),
                  0, [(i.iv, 0)]) for i in int_inputs(vals) + type_inputs(vals)]
        out += [In("[(ev, %s)]" % i.label, (lambda m=i.make: [(ev, m())]), 0, [(ev, i.iv)])
                for i in int_inputs({}) + type_inputs(vals)]
        out += [In("[]", lambda: [], 0, []),
                In("[(ev,)]", lambda: [(ev,)], None),
                In("[(ev, 1, 2)]", lambda: [(ev, 1, 2)], None),
                In("[ev]", lambda: [ev], None), In("None", lambda: None, None),
                In("str", lambda: "ab", None), In("[None]", lambda: [None], None),
                In("[(ev, 8)]*1000", lambda: [(ev, 8)] * 1000, 0, [(ev, 8)] * 1000)]
        return out

    def classify(self, sc: Scene, inp: In) -> Any:
        items = inp.extra
        if items is None or any(h is None or s is None for h, s in items):
            return TE
        for h, s in items:
            f = sc.fact(h)
            if not 0 <= s < U32:
                continue
            if f is None:
                return S["ERR_BAD_HANDLE"]
            if not f[2] & R_READ:
                return S["ERR_ACCESS_DENIED"]
        if any(not 0 <= s < U32 for _, s in items):
            return S["ERR_INVALID_ARGS"]
        return S["ERR_TIMED_OUT"]


class Packet(Slot):
    """``mx_port_queue``'s packet (port full in the base call: a valid one
    gives ``SHOULD_WAIT``)."""

    class P:
        def __init__(self, key: Any, status: Any, user: Any) -> None:
            self.key, self.status, self.user = key, status, user

    def inputs(self, sc: Scene) -> List[In]:
        P = Packet.P
        out = []
        for i in int_inputs({}) + type_inputs(sc.values):
            out.append(In("key " + i.label, (lambda m=i.make: P(m(), 0, b"")), 0, ("key", i.iv)))
        for v in (-2**31 - 1, -2**31, -1, 0, 2**31 - 1, 2**31, 2**64, 2**70):
            out.append(In("status %s" % v, (lambda v=v: P(1, v, b"")), 0, ("status", v)))
        for i in type_inputs(sc.values):
            if i.label not in ("bytes", "bytearray"):
                out.append(In("status " + i.label, (lambda m=i.make: P(1, m(), b"")), 0,
                              ("status", None)))
        for i in bytes_likes([0, 1, 32, 33, 65537]):
            out.append(In("user " + i.label, (lambda m=i.make: P(1, 0, m())), 0, ("user", i.iv)))
        out.append(In("user None", lambda: P(1, 0, None), 0, ("user", 0)))
        for i in type_inputs(sc.values):
            if i.label not in ("bytes", "bytearray", "None", "list", "tuple"):
                out.append(In("user " + i.label, (lambda m=i.make: P(1, 0, m())), 0,
                              ("user", None)))
        out += [In("PortPacket(7)", lambda: mx.PortPacket(7), 0, ("ok", 0)),
                In("no attributes", object, None), In("None packet", lambda: None, None),
                In("tuple packet", lambda: (1, 0, b""), None)]
        return out

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        what, v = inp.extra
        if v is None:
            return TE
        if what == "key" and not 0 <= v < U64:
            return S["ERR_INVALID_ARGS"]
        if what == "status" and not -2**31 <= v < 2**31:
            return S["ERR_INVALID_ARGS"]
        if what == "user" and v > 32:
            return S["ERR_INVALID_ARGS"]
        return S["ERR_SHOULD_WAIT"]


class Koid(Slot):
    """``Kernel.process``'s koid."""

    def inputs(self, sc: Scene) -> List[In]:
        koids = {"koid(%s)" % n: f[0] for n, v in sc.values.items()
                 for f in [sc.facts[v]]}
        return int_inputs(koids) + type_inputs(sc.values)

    def classify(self, sc: Scene, inp: In) -> Any:
        if inp.iv is None:
            return TE
        if sc.state_of.get(inp.iv) is not None:
            return SKIP
        return S["ERR_NOT_FOUND"]


# -- the syscalls --------------------------------------------------------------------

def koid_of(sc: Scene, name: str) -> int:
    return sc.facts[sc.values[name]][0]


def peer_state(sc: Scene, f: tuple) -> Any:
    """For a channel/event pair end: PEER_CLOSED if its peer is gone."""
    if f[1] in (CH, EP) and sc.signals[f[0]] & int(mx.CHANNEL_PEER_CLOSED):
        return S["ERR_PEER_CLOSED"]
    return None


def mask(typ_of_base: str, peer: bool = False) -> U:
    """A signal mask for ``mx_object_signal`` on the base handle's object."""
    def check(sc: Scene, v: int) -> Any:
        typ = sc.facts[sc.values[typ_of_base]][1]
        allowed = USER_BITS.get(typ, 0xFF000000)
        return S["ERR_INVALID_ARGS"] if v & ~allowed else None
    return U(32, check)


def signal_peer_more(sc: Scene, f: tuple) -> Any:
    if f[1] not in (CH, EP):
        return S["ERR_NOT_SUPPORTED"]
    return peer_state(sc, f) or SKIP


def process_state_more(sc: Scene, f: tuple) -> Any:
    return S["ERR_BAD_STATE"] if sc.state_of.get(f[0]) == "exited" else SKIP


def job_more(sc: Scene, f: tuple) -> Any:
    return S["ERR_BAD_STATE"] if f[0] in sc.killed_jobs else SKIP


def dup_rights(base: str, valid: Any = SKIP) -> U:
    def check(sc: Scene, v: int) -> Any:
        have = sc.facts[sc.values[base]][2]
        if v == int(mx.RIGHT_SAME_RIGHTS) or v & ~have == 0:
            return None
        return S["ERR_INVALID_ARGS"]
    return U(32, check, valid)


def start_process_more(sc: Scene, f: tuple) -> Any:
    # The base thread (thrN) belongs to procN only.
    return S["ERR_ACCESS_DENIED"] if f[0] != koid_of(sc, "procN") else SKIP


def start_thread_more(sc: Scene, f: tuple) -> Any:
    return S["ERR_ACCESS_DENIED"] if f[3] != koid_of(sc, "procN") else SKIP


def thread_start_more(sc: Scene, f: tuple) -> Any:
    if f[0] in sc.started_threads or sc.state_of.get(f[3]) != "running":
        return S["ERR_BAD_STATE"]
    return SKIP


def arg1_more(sc: Scene, f: tuple) -> Any:
    return SKIP


class Call:
    """One syscall with one base call: ``fn(proc, *args)`` and the slots."""

    def __init__(self, name: str, fn: Callable[..., Any], base: List[Any],
                 slots: List[Optional[Slot]], valid: Any = SKIP,
                 adds_handles: bool = False, is_async: bool = False) -> None:
        self.name, self.fn, self.base, self.slots = name, fn, base, slots
        self.valid, self.adds_handles, self.is_async = valid, adds_handles, is_async


def m(name: str) -> Callable[..., Any]:
    return lambda proc, *args: getattr(proc, name)(*args)


TI = int(mx.TIME_INFINITE)
ES = int(mx.EVENT_SIGNALED)
N = None   # a slot not swept (opaque objects: entry, stack, arg2)


def calls() -> List[Call]:
    """Every syscall of SPEC section 4 with its base calls.  Base
    arguments that are str name scene handles."""
    G = int(mx.INFO_HANDLE_BASIC)
    RS = int(mx.RIGHT_SAME_RIGHTS)
    out = [
        Call("mx_handle_close", m("mx_handle_close"), ["closed.ev"], [H()]),
        Call("mx_handle_close_many", m("mx_handle_close_many"), [[]], [CloseList()]),
        Call("mx_handle_duplicate", m("mx_handle_duplicate"), ["ev", RS],
             [H(rights=R_DUP), dup_rights("ev")], adds_handles=True),
        Call("mx_handle_replace", m("mx_handle_replace"), ["ev", RS],
             [H(), dup_rights("ev")]),
        Call("mx_event_create", m("mx_event_create"), [0],
             [U(32, options_must_be_zero("ERR_INVALID_ARGS"))], adds_handles=True),
        Call("mx_eventpair_create", m("mx_eventpair_create"), [0],
             [U(32, options_must_be_zero("ERR_NOT_SUPPORTED"))], adds_handles=True),
        Call("mx_channel_create", m("mx_channel_create"), [0],
             [U(32, options_must_be_zero("ERR_INVALID_ARGS"))], adds_handles=True),
        Call("mx_port_create", m("mx_port_create"), [0],
             [U(32, options_must_be_zero("ERR_INVALID_ARGS"))], adds_handles=True),
        # chp0's peer is closed: a write that passes every other check fails
        # last with PEER_CLOSED and changes nothing.
        Call("mx_channel_write", m("mx_channel_write"), ["chp0", b"x", [], 0],
             [H({CH}, R_WRITE, more=lambda sc, f: peer_state(sc, f) or SKIP),
              Data(65536, S["ERR_OUT_OF_RANGE"], S["ERR_PEER_CLOSED"]),
              HandleList("chp0", S["ERR_PEER_CLOSED"]),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"), S["ERR_PEER_CLOSED"])],
             valid=S["ERR_PEER_CLOSED"]),
        Call("mx_channel_read", m("mx_channel_read"), ["chp0", 0, None, None],
             [H({CH}, R_READ),
              U(32, lambda sc, v: None if v in (0, 1) else S["ERR_NOT_SUPPORTED"],
                S["ERR_PEER_CLOSED"]),
              Limit(S["ERR_PEER_CLOSED"]), Limit(S["ERR_PEER_CLOSED"])],
             valid=S["ERR_PEER_CLOSED"]),
        Call("mx_channel_call", m("mx_channel_call"),
             ["chp0", b"\0\0\0\0", [], 0, None, None, 0],
             [H({CH}, R_WRITE, more=lambda sc, f: peer_state(sc, f) or SKIP),
              Data(65536, S["ERR_OUT_OF_RANGE"], S["ERR_PEER_CLOSED"]),
              HandleList("chp0", S["ERR_PEER_CLOSED"]),
              U(64, None, S["ERR_PEER_CLOSED"]),
              Limit(S["ERR_PEER_CLOSED"]), Limit(S["ERR_PEER_CLOSED"]),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"), S["ERR_PEER_CLOSED"])],
             valid=S["ERR_PEER_CLOSED"]),
        Call("mx_object_signal", m("mx_object_signal"), ["ev", 0, 0],
             [H(rights=R_WRITE), mask("ev"), mask("ev")]),
        Call("mx_object_signal_peer", m("mx_object_signal_peer"), ["ep0", 0, 0],
             [H(rights=R_WRITE, more=signal_peer_more), mask("ep0"), mask("ep0")]),
        Call("mx_object_signal_peer(peer closed)", m("mx_object_signal_peer"),
             ["epc0", 0, 0], [None, mask("epc0"), mask("epc0")],
             valid=S["ERR_PEER_CLOSED"]),
        Call("mx_object_wait_one", m("mx_object_wait_one"), ["ev", ES, 0],
             [H(rights=R_READ, valid={None, S["ERR_TIMED_OUT"]}),
              U(32, None, S["ERR_TIMED_OUT"]), deadline(S["ERR_TIMED_OUT"])],
             valid=S["ERR_TIMED_OUT"]),
        Call("mx_object_wait_many", m("mx_object_wait_many"), [[], 0],
             [WaitItems(), deadline(S["ERR_TIMED_OUT"])], valid=S["ERR_TIMED_OUT"]),
        Call("mx_object_wait_async", m("mx_object_wait_async"), ["ev", "port", 1, ES, 0],
             [H(rights=R_READ), H({PORT}, R_WRITE), U(64), U(32),
              U(32, lambda sc, v: None if v in (0, 1) else S["ERR_INVALID_ARGS"])]),
        Call("mx_port_queue", m("mx_port_queue"), ["portfull", mx.PortPacket(1)],
             [H({PORT}, R_WRITE, more=lambda sc, f: S["ERR_SHOULD_WAIT"]
                if f[0] == koid_of(sc, "portfull") else SKIP), Packet()],
             valid=S["ERR_SHOULD_WAIT"]),
        Call("mx_port_wait", m("mx_port_wait"), ["port", 0],
             [H({PORT}, R_READ), deadline(S["ERR_TIMED_OUT"])], valid=S["ERR_TIMED_OUT"]),
        Call("mx_port_cancel", m("mx_port_cancel"), ["port", "ev", 12345],
             [H({PORT}, R_WRITE, valid=S["ERR_NOT_FOUND"]),
              H(rights=R_READ, valid=S["ERR_NOT_FOUND"]), U(64, None, S["ERR_NOT_FOUND"])],
             valid=S["ERR_NOT_FOUND"]),
        Call("mx_object_get_info", m("mx_object_get_info"), ["closed.ev", G],
             [None, Topic(S["ERR_BAD_HANDLE"])], valid=S["ERR_BAD_HANDLE"]),
        Call("mx_job_default", m("mx_job_default"), [], []),
        Call("mx_job_create", m("mx_job_create"), ["job", 0],
             [H({JOB}, R_WRITE, more=job_more),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"))], adds_handles=True),
        Call("mx_job_create(killed)", m("mx_job_create"), ["jobk", 0],
             [None, U(32, options_must_be_zero("ERR_INVALID_ARGS"), S["ERR_BAD_STATE"])],
             valid=S["ERR_BAD_STATE"]),
        Call("mx_process_create", m("mx_process_create"), ["job", "p", 0],
             [H({JOB}, R_WRITE, more=job_more), Name(SKIP),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"))], adds_handles=True),
        Call("mx_process_create(killed)", m("mx_process_create"), ["jobk", "p", 0],
             [None, Name(S["ERR_BAD_STATE"]),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"), S["ERR_BAD_STATE"])],
             valid=S["ERR_BAD_STATE"]),
        Call("mx_thread_create", m("mx_thread_create"), ["procN", "t", 0],
             [H({PROC}, R_WRITE, more=process_state_more), Name(SKIP),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"))], adds_handles=True),
        Call("mx_thread_create(dead)", m("mx_thread_create"), ["procD", "t", 0],
             [None, Name(S["ERR_BAD_STATE"]),
              U(32, options_must_be_zero("ERR_INVALID_ARGS"), S["ERR_BAD_STATE"])],
             valid=S["ERR_BAD_STATE"]),
        Call("mx_process_start", m("mx_process_start"),
             ["procN", "thrN", 0, 0, "evT", 0],
             [H({PROC}, R_WRITE, more=start_process_more),
              H({THR}, R_WRITE, more=start_thread_more), N, N,
              H(rights=R_XFER, bad=S["ERR_INVALID_ARGS"], denied=S["ERR_INVALID_ARGS"]), N]),
        Call("mx_process_start(started)", m("mx_process_start"),
             ["procR", "thrX", 0, 0, "evT", 0],
             [None, None, N, N,
              H(rights=R_XFER, bad=S["ERR_INVALID_ARGS"], denied=S["ERR_INVALID_ARGS"],
                valid=S["ERR_BAD_STATE"]), N], valid=S["ERR_BAD_STATE"]),
        Call("mx_thread_start", m("mx_thread_start"), ["thrN", 0, 0, 0, 0],
             [H({THR}, R_WRITE, more=thread_start_more), N, N,
              AnyInt(S["ERR_BAD_STATE"]), AnyInt(S["ERR_BAD_STATE"])],
             valid=S["ERR_BAD_STATE"]),
        Call("mx_process_exit", m("mx_process_exit"), [0], [Int64()]),
        Call("mx_task_kill", m("mx_task_kill"), ["closed.ev"], [H({JOB, PROC, THR}, R_WRITE)]),
        Call("Kernel.process", lambda proc, koid: proc.kernel.process(koid), [0], [Koid()],
             valid=S["ERR_NOT_FOUND"]),
        Call("aio.wait_one", lambda proc, *a: aio.wait_one(proc, *a), ["ev", ES, 0],
             [H(rights=R_READ), U(32, None, S["ERR_TIMED_OUT"]), deadline(S["ERR_TIMED_OUT"])],
             valid=S["ERR_TIMED_OUT"], is_async=True),
        Call("aio.channel_read", lambda proc, *a: aio.channel_read(proc, *a),
             ["chp0", 0, None, None, 0],
             [H({CH}, R_READ), U(32, lambda sc, v: None if v in (0, 1)
                                 else S["ERR_NOT_SUPPORTED"], S["ERR_PEER_CLOSED"]),
              Limit(S["ERR_PEER_CLOSED"]), Limit(S["ERR_PEER_CLOSED"]), None],
             valid=S["ERR_PEER_CLOSED"], is_async=True),
        Call("aio.port_wait", lambda proc, *a: aio.port_wait(proc, *a), ["port", 0],
             [H({PORT}, R_READ), deadline(S["ERR_TIMED_OUT"])],
             valid=S["ERR_TIMED_OUT"], is_async=True),
    ]
    info_needs = [(int(mx.INFO_HANDLE_VALID), None, 0), (G, None, 0),
                  (int(mx.INFO_PROCESS), {PROC}, R_READ),
                  (int(mx.INFO_PROCESS_THREADS), {PROC}, R_ENUM),
                  (int(mx.INFO_JOB_CHILDREN), {JOB}, R_ENUM),
                  (int(mx.INFO_JOB_PROCESSES), {JOB}, R_ENUM),
                  (int(mx.INFO_PROCESS_HANDLES), {PROC}, R_ENUM)]
    for topic, types, rights in info_needs:
        out.append(Call("mx_object_get_info(%#x)" % topic, m("mx_object_get_info"),
                        ["closed.ev", topic], [H(types, rights, valid=None), None],
                        valid=S["ERR_BAD_HANDLE"]))
    return out


# -- running -------------------------------------------------------------------------

class Sweep:
    def __init__(self, verbose: bool = False) -> None:
        self.pairs = 0
        self.skipped = 0
        self.failures: List[str] = []
        self.verbose = verbose
        self.loop = asyncio.new_event_loop()

    def resolve(self, sc: Scene, arg: Any) -> Any:
        if isinstance(arg, str) and arg in sc.values:
            return sc.values[arg]
        if isinstance(arg, str) and arg in sc.foreign:
            return sc.foreign[arg]
        return arg

    def run_one(self, sc: Scene, proc: mx.Process, call: Call, args: List[Any],
                expected: Any, label: str) -> Scene:
        """Makes one call, checks its outcome and the kernel; returns the
        scene to go on with (a fresh one after a mismatch)."""
        self.pairs += 1
        detail = ""
        try:
            result = call.fn(proc, *args)
            if call.is_async:
                result = self.loop.run_until_complete(result)
            got: Any = None
        except mx.MxError as e:
            got = int(e.status)
        except TypeError:
            got = TE
        except Exception as e:  # noqa: BLE001 - reported as a mismatch
            got = type(e).__name__
            detail = " (%s: %s)" % (got, e)
        want = expected if isinstance(expected, (set, frozenset)) else {expected}
        problems = []
        if got not in want:
            problems.append("got %s, want %s%s" % (
                self.name(got), "/".join(self.name(w) for w in want), detail))
        after = sc.state()
        if after != sc.ref:
            problems.append("kernel changed")
        if problems:
            self.failures.append("%s %s: %s" % (call.name, label, "; ".join(problems)))
            if self.verbose:
                print("MISMATCH", self.failures[-1])
            return type(sc)()
        return sc

    @staticmethod
    def name(status: Any) -> str:
        if isinstance(status, int):
            return mx.Status(status).name if status in set(map(int, mx.Status)) else str(status)
        return str(status)

    def sweep(self, make_scene: Callable[[], Scene], mode: str,
              only: Optional[Callable[[Call], bool]] = None) -> None:
        sc = make_scene()
        for call in calls():
            if only is not None and not only(call):
                continue
            if mode == "dead" and (call.name.startswith(("aio.", "Kernel."))):
                continue
            proc = sc.D if mode == "dead" else sc.P
            base = [self.resolve(sc, a) for a in call.base]
            if mode == "dead":
                # Every argument valid in type: BAD_STATE before any check.
                sc = self.run_one(sc, proc, call, base, S["ERR_BAD_STATE"], "(base)")
            elif call.valid is not SKIP:
                want = call.valid
                if mode == "full" and call.adds_handles:
                    want = S["ERR_NO_RESOURCES"]
                sc = self.run_one(sc, proc, call, base, want, "(base)")
            elif mode == "full" and call.adds_handles:
                sc = self.run_one(sc, proc, call, base, S["ERR_NO_RESOURCES"], "(base)")
            for pos, slot in enumerate(call.slots):
                if slot is None:
                    continue
                for inp in slot.inputs(sc):
                    want = slot.classify(sc, inp)
                    if mode == "dead":
                        want = TE if want == TE else S["ERR_BAD_STATE"]
                    elif want is SKIP and mode == "full" and call.adds_handles:
                        want = S["ERR_NO_RESOURCES"]
                    if want is SKIP:
                        self.skipped += 1
                        continue
                    args = list(base)
                    args[pos] = inp.make()
                    sc = self.run_one(sc, proc, call, args, want,
                                      "[%d]=%s" % (pos, inp.label))
                    base = [self.resolve(sc, a) for a in call.base]
                    proc = sc.D if mode == "dead" else sc.P


class FullScene(Scene):
    """The scene in a kernel whose ``max_handles`` it exactly fills."""

    max_handles = 0

    def __init__(self, max_handles: Optional[int] = None) -> None:
        super().__init__(max_handles=FullScene.max_handles)


# -- mutation while reading ------------------------------------------------------------

def mutation_cases(sw: Sweep) -> None:
    """Bytes-likes resized and sequences mutated while the call reads them:
    no crash, the error SPEC names for what the call saw, kernel unchanged.
    Each call is made to fail (peer closed, bad options, bad handle)."""
    sc = Scene()
    P, v = sc.P, sc.values
    ev, evT, ep0 = v["ev"], v["evT"], v["ep0"]
    bad = sc.foreign["closed.ev"]
    PC, IA, BH = S["ERR_PEER_CLOSED"], S["ERR_INVALID_ARGS"], S["ERR_BAD_HANDLE"]
    OOR = S["ERR_OUT_OF_RANGE"]

    def resizer(buf: Any, ret: int) -> Index:
        class R(Index):
            def __index__(self) -> int:
                for op in (lambda: buf.extend(b"!" * 100000),
                           lambda: buf.__delitem__(slice(None)),
                           lambda: buf.__delitem__(slice(0, 2))):
                    try:
                        op()
                    except BufferError:
                        pass
                return ret
        return R(ret)

    class Grows(list):
        """``__iter__`` appends to the list while it is being read."""
        def __iter__(self):  # type: ignore[override]
            for i, x in enumerate(list.__iter__(self)):
                if i < 3:
                    self.append(x)
                yield x

    class Clears(list):
        def __iter__(self):  # type: ignore[override]
            items = list(list.__iter__(self))
            self.clear()
            return iter(items)

    class LenLies(list):
        def __init__(self, items: Any, n: int) -> None:
            super().__init__(items)
            self.n = n

        def __len__(self) -> int:
            return self.n

    class LenRaises(list):
        def __len__(self) -> int:
            raise RuntimeError("hostile __len__")

    class GetitemMutates(list):
        def __getitem__(self, i: Any) -> Any:
            self.append(bad)
            return list.__getitem__(self, i)

    class TupleLenLies(tuple):
        def __len__(self) -> int:
            return 1000

    def seqs(items: List[int]) -> List[Any]:
        return [("Grows", lambda: Grows(items)), ("Clears", lambda: Clears(items)),
                ("LenLies(1000)", lambda: LenLies(items, 1000)),
                ("LenLies(0)", lambda: LenLies(items, 0)),
                ("LenLies(2**40)", lambda: LenLies(items, 2**40)),
                ("LenRaises", lambda: LenRaises(items)),
                ("GetitemMutates", lambda: GetitemMutates(items)),
                ("TupleLenLies", lambda: TupleLenLies(items))]

    call_write = Call("mx_channel_write", m("mx_channel_write"), [], [])
    call_call = Call("mx_channel_call", m("mx_channel_call"), [], [])
    call_close = Call("mx_handle_close_many", m("mx_handle_close_many"), [], [])
    call_wait = Call("mx_object_wait_many", m("mx_object_wait_many"), [], [])
    chp0, ch0 = v["chp0"], v["ch0"]
    for label, mk in seqs([ev, evT, ep0]):
        # Grows re-reads items (duplicates): INVALID_ARGS; LenRaises: the
        # sequence is unusable (TypeError or read via iteration).
        want_w = {PC, IA, TE} if label in ("Grows", "LenRaises", "GetitemMutates") else {PC}
        if label in ("Grows",):
            want_w = {IA}
        sc = sw.run_one(sc, P, call_write, [chp0, b"x", mk()], want_w, "seq " + label)
        sc = sw.run_one(sc, P, call_write, [ch0, b"x", mk(), 1], {IA, TE}, "seq+opt " + label)
        sc = sw.run_one(sc, P, call_call, [chp0, b"\0" * 4, mk()], want_w, "seq " + label)
        P, v = sc.P, sc.values
    for label, mk in seqs([bad, sc.foreign["closed.port"]]):
        sc = sw.run_one(sc, P, call_close, [mk()], {BH, TE}, "seq " + label)
        P = sc.P
    ev = sc.values["ev"]
    for label, mk in seqs([(ev, 8)]):
        sc = sw.run_one(sc, P, call_wait, [mk(), 0], {S["ERR_TIMED_OUT"], TE},
                        "seq " + label)
        P = sc.P
    # Buffers resized from another argument's __index__ (pinned: the
    # resize fails; if it succeeded the call would see the new size).
    for label, mkbuf in (("bytearray", lambda: bytearray(b"abcdef")),
                         ("array", lambda: array.array("B", b"abcdef"))):
        v = sc.values
        buf = mkbuf()
        sc = sw.run_one(sc, sc.P, call_write, [v["chp0"], buf, [resizer(buf, v["ev"])]],
                        {PC, OOR}, "resized by item __index__ " + label)
        buf = mkbuf()
        sc = sw.run_one(sc, sc.P, call_write, [sc.values["ch0"], buf, [], resizer(buf, 1)],
                        {IA, OOR}, "resized by options __index__ " + label)
        buf = mkbuf()
        sc = sw.run_one(sc, sc.P, call_write,
                        [resizer(buf, sc.foreign["closed.ch"]), buf], {BH, OOR},
                        "resized by h __index__ " + label)
        buf = mkbuf()
        sc = sw.run_one(sc, sc.P, call_call,
                        [sc.values["chp0"], buf, [resizer(buf, sc.values["ev"])]],
                        {PC, OOR}, "resized by item __index__ " + label)
        buf = mkbuf()
        sc = sw.run_one(sc, sc.P, call_call,
                        [sc.values["chp0"], buf, [], resizer(buf, 2**64)], {IA, OOR},
                        "resized by deadline __index__ " + label)
    # A released memoryview: Python's ValueError or TypeError, nothing else.
    mv = memoryview(b"abc")
    mv.release()
    sc = sw.run_one(sc, sc.P, call_write, [sc.values["chp0"], mv], {TE, "ValueError"},
                    "released memoryview")


def run(verbose: bool = False) -> Sweep:
    sw = Sweep(verbose)
    t0 = time.monotonic()
    sw.sweep(Scene, "live")
    t1 = time.monotonic()
    sw.sweep(Scene, "dead")
    probe = Scene()
    FullScene.max_handles = probe.k.stats().live_handles
    sw.sweep(FullScene, "full", only=lambda c: c.adds_handles)
    mutation_cases(sw)
    if verbose:
        print("live sweep %.1f s, total %.1f s" % (t1 - t0, time.monotonic() - t0))
    return sw


def main(argv: List[str]) -> int:
    sw = run("-v" in argv)
    for f in sw.failures:
        print("MISMATCH", f)
    print("pairs tried: %d" % sw.pairs)
    print("pairs skipped as valid: %d" % sw.skipped)
    print("mismatches: %d" % len(sw.failures))
    return 1 if sw.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
