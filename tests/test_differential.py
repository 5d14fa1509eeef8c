"""The C-backed kernel against the pure-Python model, step by step.

A hypothesis state machine makes the same random syscalls on a real
``Kernel`` and a ``ModelKernel`` and compares every result, every error
status (with ``actual_bytes``/``actual_handles``/``read_status`` where set)
and, after each step, ``stats()`` and ``snapshot()``.  Handle values differ
between the two (each scrambles its own), so the machine keeps a map from
each real value to its model twin; closed values stay in the map and are
used again as stale values.  Values a read returns are learned in message
order (both sides return them so).

Channels: create, write (random bytes, random subsets of known values --
channel endpoints, the one written through, its peer, junk, repeats),
read (limits, ``CHANNEL_READ_MAY_DISCARD``, bad options), a call that
polls (deadline 0: the write phase, then ``TIMED_OUT``), and
``collect()``.

Snapshots are compared as: objects exactly; each process's handles as a
set of ``(value, koid, type, rights)`` with real values mapped to their
model twins (table order differs); messages as a multiset of
``(endpoint_koid, bytes, sorted handle koids)``.

Profiles: ``HYPOTHESIS_PROFILE=ci`` (the default here) and ``long``.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import pytest

import mxhandles as mx
from mxhandles import _core
from mxhandles._core import ffi
from mxhandles.model import ModelKernel

settings.register_profile(
    "ci", max_examples=300, stateful_step_count=100, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "long", max_examples=5000, stateful_step_count=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

RIGHTS = st.one_of(
    st.sampled_from([mx.RIGHT_SAME_RIGHTS, 0, mx.RIGHT_READ,
                     mx.RIGHT_READ | mx.RIGHT_WRITE, mx.RIGHT_DUPLICATE,
                     mx.RIGHT_TRANSFER | mx.RIGHT_DUPLICATE, mx.RIGHT_ENUMERATE,
                     -1, 2**32]),
    st.integers(0, 2**12 - 1))
MASKS = st.one_of(
    st.sampled_from([0, mx.EVENT_SIGNALED, mx.USER_SIGNAL_0, mx.USER_SIGNAL_ALL,
                     mx.USER_SIGNAL_7 | mx.EPAIR_SIGNALED, 1, 2**32, -1]),
    st.integers(0, 2**32 - 1))
JUNK = st.sampled_from([0, -1, 2**31, 2**32 + 1, 2**64 + 1, 2**31 - 1])
TOPICS = st.sampled_from([mx.INFO_HANDLE_VALID, mx.INFO_HANDLE_BASIC, 0, 77,
                          2**40])
CREATE_OPTIONS = st.sampled_from([0, 0, 0, 0, 1, -1, 2**32])
WRITE_OPTIONS = st.sampled_from([0] * 30 + [1, -1, 2**32])
READ_OPTIONS = st.sampled_from([0] * 12 + [mx.CHANNEL_READ_MAY_DISCARD] * 6
                               + [2, 3, -1, 2**32, 2**32 + 1])
LIMITS = st.one_of(st.none(), st.none(), st.none(), st.integers(0, 6),
                   st.sampled_from([-1, 2**64, 2**70]))
#: Mostly short payloads (the first four bytes are the call txid), sometimes
#: a size at or just over CHANNEL_MAX_MSG_BYTES.
DATA = st.one_of(
    *[st.binary(max_size=6)] * 9,
    st.sampled_from([mx.CHANNEL_MAX_MSG_BYTES, mx.CHANNEL_MAX_MSG_BYTES + 1])
    .map(lambda n: bytes(range(256)) * (n // 256) + b"x" * (n % 256)))
TXIDS = [b"", b"\x01\x00\x00\x00", b"\x02\x00\x00\x00tail"]
#: Syscalls made by every run, for the report (see test_call_count).
CALLS = Counter()


def outcome(fn, *args):
    """('ok', result) or ('err', (status, actual_bytes, actual_handles,
    read_status)) or ('type', None)."""
    try:
        return "ok", fn(*args)
    except mx.MxError as e:
        return "err", (e.status, getattr(e, "actual_bytes", None),
                       getattr(e, "actual_handles", None),
                       getattr(e, "read_status", None))
    except TypeError:
        return "type", None


def real_signals(proc, h):
    info = ffi.new("mxh_handle_info_t *")
    if _core.handle_basic(proc._p, h, info) < 0:
        return None
    return info.signals


class KernelVsModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.k = mx.Kernel(seed=3)
        self.m = ModelKernel(seed=3)
        self.rp, self.mp = self.k.init, self.m.init
        # Real value -> model value, for every value ever handed out.
        self.twin = {self.rp.mx_job_default(): self.mp.mx_job_default()}
        self.order = list(self.twin)
        # Real values that ever named a channel endpoint, and each one's
        # peer's value at creation (writes and reads aim mostly at these).
        self.channels = []
        self.peer_of = {}
        self.calls = 0
        # Two channels from the start, so that short runs reach reads.
        for _ in range(2):
            self.channel_create(0)

    # -- helpers --------------------------------------------------------------

    def live(self, type_=None):
        """Real values of init's live handles (of one type if given)."""
        return [v for v, _, t, _ in self.rp.handles()
                if type_ is None or t == type_]

    def pick(self, data):
        """Mostly a live value, sometimes any value ever handed out (so
        often a stale one), sometimes junk."""
        roll = data.draw(st.integers(0, 9))
        if roll >= 3:
            live = self.live()
            if live:
                r = data.draw(st.sampled_from(live))
                return r, self.twin[r]
        if self.order and roll > 0:
            r = data.draw(st.sampled_from(self.order))
            return r, self.twin[r]
        junk = data.draw(JUNK)
        return junk, junk

    def learn(self, real, model):
        assert (real in self.twin) == False, "a value was handed out twice"
        self.twin[real] = model
        self.order.append(real)
        info = self.rp.mx_object_get_info(real, mx.INFO_HANDLE_BASIC)
        if info.type == mx.OBJ_TYPE_CHANNEL:
            self.channels.append(real)
        return info

    def pick_channel(self, data, readable=False):
        """Mostly a live channel value (with ``readable``, preferably one
        with messages queued), sometimes a stale one, else any pick."""
        roll = data.draw(st.integers(0, 9))
        if roll >= 2:
            live = self.live(mx.OBJ_TYPE_CHANNEL)
            if readable and roll >= 3:
                live = [v for v in live if real_signals(self.rp, v)
                        & mx.CHANNEL_READABLE] or live
            if live:
                r = data.draw(st.sampled_from(live))
                return r, self.twin[r]
        if self.channels and roll == 1:
            r = data.draw(st.sampled_from(self.channels))
            return r, self.twin[r]
        return self.pick(data)

    def pick_handles(self, data, hr, hm):
        """A list of handle values to send through ``hr``: known values,
        junk, sometimes the endpoint itself or its peer, sometimes a value
        twice, rarely more than CHANNEL_MAX_MSG_HANDLES."""
        if data.draw(st.integers(0, 49)) == 0:
            n = mx.CHANNEL_MAX_MSG_HANDLES + 1
            return [hr] * n, [hm] * n
        live = self.live()
        pairs = []
        for _ in range(data.draw(st.integers(0, 3))):
            if live and data.draw(st.integers(0, 9)) > 1:
                r = data.draw(st.sampled_from(live))
                pairs.append((r, self.twin[r]))
            else:
                pairs.append(self.pick(data))
        extra = data.draw(st.integers(0, 9))
        if extra == 0:
            pairs.insert(data.draw(st.integers(0, len(pairs))), (hr, hm))
        elif extra <= 3 and hr in self.peer_of:
            p = self.peer_of[hr]
            pairs.insert(data.draw(st.integers(0, len(pairs))),
                         (p, self.twin[p]))
        if pairs and data.draw(st.integers(0, 9)) == 0:
            pairs.append(data.draw(st.sampled_from(pairs)))
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def same(self, name, real_args, model_args):
        self.calls += 1
        CALLS[name] += 1
        r = outcome(getattr(self.rp, name), *real_args)
        m = outcome(getattr(self.mp, name), *model_args)
        assert r[0] == m[0], (name, real_args, r, m)
        if r[0] == "err":
            assert r[1] == m[1], (name, real_args, r, m)
        return r, m

    # -- rules ----------------------------------------------------------------

    @rule(options=st.sampled_from([0, 0, 0, 1, -1]))
    def event_create(self, options):
        r, m = self.same("mx_event_create", (options,), (options,))
        if r[0] == "ok":
            self.learn(r[1], m[1])

    @rule(options=st.sampled_from([0, 0, 0, 1, 2**32]))
    def eventpair_create(self, options):
        r, m = self.same("mx_eventpair_create", (options,), (options,))
        if r[0] == "ok":
            self.learn(r[1][0], m[1][0])
            self.learn(r[1][1], m[1][1])

    @rule(options=CREATE_OPTIONS)
    def channel_create(self, options):
        r, m = self.same("mx_channel_create", (options,), (options,))
        if r[0] == "ok":
            a, b = r[1]
            ia = self.learn(a, m[1][0])
            ib = self.learn(b, m[1][1])
            assert ib.koid == ia.koid + 1
            self.peer_of[a], self.peer_of[b] = b, a

    def sane_write(self, data):
        """A write that should mostly succeed: a live channel with
        RIGHT_WRITE and an open peer, live handles with RIGHT_TRANSFER other
        than that endpoint, no repeats (None if there is no such channel)."""
        rows = self.rp.handles()
        ends = [v for v, _, t, r in rows
                if t == mx.OBJ_TYPE_CHANNEL and r & mx.RIGHT_WRITE
                and real_signals(self.rp, v) & mx.CHANNEL_WRITABLE]
        if not ends:
            return None
        hr = data.draw(st.sampled_from(ends))
        # Channel endpoints travel now and then only, so that some stay
        # behind to be read from.
        ends_too = data.draw(st.sampled_from([False, False, False, True]))
        movable = [v for v, _, t, r in rows
                   if v != hr and r & mx.RIGHT_TRANSFER
                   and (ends_too or t != mx.OBJ_TYPE_CHANNEL)]
        hsr = data.draw(st.lists(st.sampled_from(movable), max_size=3,
                                 unique=True)) if movable else []
        return hr, hsr

    @rule(data=st.data(), payload=DATA, options=WRITE_OPTIONS,
          sane=st.sampled_from([True, True, True, False]))
    def channel_write(self, data, payload, options, sane):
        chosen = self.sane_write(data) if sane else None
        if chosen is None:
            hr, hm = self.pick_channel(data)
            hsr, hsm = self.pick_handles(data, hr, hm)
        else:
            hr, hsr = chosen
            hm, hsm = self.twin[hr], [self.twin[v] for v in hsr]
            payload, options = payload[:8], 0
        self.same("mx_channel_write", (hr, payload, hsr, options),
                  (hm, payload, hsm, options))

    @rule(data=st.data(), payloads=st.lists(st.binary(max_size=6),
                                            min_size=1, max_size=3))
    def channel_write_burst(self, data, payloads):
        """Sane writes only, a few in a row, so that queues fill up faster
        than reads drain them."""
        for payload in payloads:
            chosen = self.sane_write(data)
            if chosen is None:
                return
            hr, hsr = chosen
            self.same("mx_channel_write", (hr, payload, hsr, 0),
                      (self.twin[hr], payload, [self.twin[v] for v in hsr],
                       0))

    @rule(data=st.data(), options=READ_OPTIONS, max_bytes=LIMITS,
          max_handles=LIMITS, sane=st.sampled_from([True, True, True, False]))
    def channel_read(self, data, options, max_bytes, max_handles, sane):
        hr, hm = self.pick_channel(data, readable=True)
        if sane:        # limits that mostly fit, options that are valid
            options &= mx.CHANNEL_READ_MAY_DISCARD
            max_bytes = None if max_bytes is None or max_bytes < 0 \
                else max_bytes + 2
            max_handles = None if max_handles is None or max_handles < 0 \
                else max_handles
        r, m = self.same("mx_channel_read",
                         (hr, options, max_bytes, max_handles),
                         (hm, options, max_bytes, max_handles))
        if r[0] == "ok":
            assert r[1][0] == m[1][0]
            assert len(r[1][1]) == len(m[1][1])
            for real, model in zip(r[1][1], m[1][1]):
                self.learn(real, model)

    @rule(data=st.data(), txid=st.sampled_from(TXIDS), options=WRITE_OPTIONS,
          deadline=st.sampled_from([0] * 8 + [1, -1, 2**64]),
          max_bytes=LIMITS, sane=st.sampled_from([True, True, False]))
    def channel_call_poll(self, data, txid, options, deadline, max_bytes,
                          sane):
        """A call that cannot get its reply: the write phase, then
        TIMED_OUT (a reply written later goes to the ordinary queue)."""
        chosen = self.sane_write(data) if sane else None
        if chosen is None:
            hr, hm = self.pick_channel(data)
            hsr, hsm = self.pick_handles(data, hr, hm)
        else:
            hr, hsr = chosen
            hm, hsm = self.twin[hr], [self.twin[v] for v in hsr]
            options, deadline = 0, min(max(deadline, 0), 1)
        self.same("mx_channel_call",
                  (hr, txid, hsr, deadline, max_bytes, None, options),
                  (hm, txid, hsm, deadline, max_bytes, None, options))

    @rule()
    def collect(self):
        self.calls += 1
        CALLS["collect"] += 1
        assert self.k.collect() == self.m.collect()

    @rule(data=st.data(), case=st.sampled_from([
        ("mx_channel_write", ("text",)), ("mx_channel_write", (b"", "1")),
        ("mx_channel_write", (b"", [None])), ("mx_channel_write", (b"", None)),
        ("mx_channel_write", (b"", (), "0")), ("mx_channel_write", (3,)),
        ("mx_channel_write", (bytearray(b"abcd"), iter(()))),
        ("mx_channel_write", (memoryview(b"abcdef")[::2],)),
        ("mx_channel_read", ("0",)), ("mx_channel_read", (0, "1")),
        ("mx_channel_read", (0, None, 1.5)),
        ("mx_channel_read", (2**32, "x")),
        ("mx_channel_call", ("text",)), ("mx_channel_call", (b"", [1.0])),
        ("mx_channel_create", ("0",))]))
    def channel_odd_types(self, data, case):
        """Arguments of the wrong Python type (TypeError), and bytes-like
        or iterable ones of unusual types (accepted)."""
        name, args = case
        if name == "mx_channel_create":
            self.same(name, args, args)
            return
        hr, hm = self.pick_channel(data)
        self.same(name, (hr,) + args, (hm,) + args)

    @rule(data=st.data(), rights=RIGHTS)
    def duplicate(self, data, rights):
        hr, hm = self.pick(data)
        r, m = self.same("mx_handle_duplicate", (hr, rights), (hm, rights))
        if r[0] == "ok":
            self.learn(r[1], m[1])

    @rule(data=st.data(), rights=RIGHTS)
    def replace(self, data, rights):
        hr, hm = self.pick(data)
        r, m = self.same("mx_handle_replace", (hr, rights), (hm, rights))
        if r[0] == "ok":
            self.learn(r[1], m[1])

    @rule(data=st.data())
    def close(self, data):
        hr, hm = self.pick(data)
        self.same("mx_handle_close", (hr,), (hm,))

    @rule(data=st.data(), n=st.integers(0, 5))
    def close_many(self, data, n):
        pairs = [self.pick(data) for _ in range(n)]
        if pairs and data.draw(st.booleans()):
            pairs.append(pairs[0])          # a value given twice
        self.same("mx_handle_close_many", ([p[0] for p in pairs],),
                  ([p[1] for p in pairs],))

    @rule(data=st.data(), topic=TOPICS)
    def get_info(self, data, topic):
        hr, hm = self.pick(data)
        r, m = self.same("mx_object_get_info", (hr, topic), (hm, topic))
        if r[0] == "ok":
            assert r[1] == m[1]

    @rule(data=st.data(), clear=MASKS, set_=MASKS, peer=st.booleans())
    def signal(self, data, clear, set_, peer):
        hr, hm = self.pick(data)
        name = "mx_object_signal_peer" if peer else "mx_object_signal"
        self.same(name, (hr, clear, set_), (hm, clear, set_))

    @rule(value=st.integers(1, 2**31 - 1))
    def random_value(self, value):
        if value in self.twin or value in self.twin.values():
            return
        self.same("mx_handle_close", (value,), (value,))

    @rule()
    def bad_types(self):
        for args in (("1", 0), (None, 0), (1.0, 0)):
            self.same("mx_handle_duplicate", args, args)

    # -- invariants -------------------------------------------------------------

    @invariant()
    def stats_agree(self):
        assert self.k.stats() == self.m.stats()

    @invariant()
    def snapshots_agree(self):
        rs, ms = self.k.snapshot(), self.m.snapshot()
        assert rs["objects"] == ms["objects"]
        assert len(rs["processes"]) == len(ms["processes"])
        for rp, mp in zip(rs["processes"], ms["processes"]):
            assert (rp["koid"], rp["name"], rp["state"]) == \
                (mp["koid"], mp["name"], mp["state"])
            rh = {(self.twin[h["value"]], h["koid"], h["type"], h["rights"])
                  for h in rp["handles"]}
            mh = {(h["value"], h["koid"], h["type"], h["rights"])
                  for h in mp["handles"]}
            assert len(rh) == len(rp["handles"]) and rh == mh

        def messages(snap):
            return Counter((x["endpoint_koid"], x["bytes"],
                            tuple(sorted(x["handle_koids"])))
                           for x in snap["messages"])
        assert messages(rs) == messages(ms)

    @invariant()
    def live_handles_agree(self):
        for r in self.order:
            m = self.twin[r]
            sig = real_signals(self.rp, r)
            assert (sig is None) == (m not in self.mp.handle_values())
            if sig is not None:
                koid = self.mp.mx_object_get_info(m, mx.INFO_HANDLE_BASIC).koid
                assert sig == self.m.signals_of(koid)


    def teardown(self):
        CALLS["runs"] += 1


KernelVsModel.TestCase.settings = settings.get_profile(PROFILE)
TestKernelVsModel = KernelVsModel.TestCase


def test_call_count():
    """Reports (with ``-s``) how many syscalls the machine made above."""
    if CALLS["runs"]:
        total = sum(v for k, v in CALLS.items() if k != "runs")
        print("\ndifferential: %d runs, %d calls: %s"
              % (CALLS["runs"], total, dict(sorted(CALLS.items()))))


# -- calls with replies: scripted, the same script on both kernels -----------

def _observe(fn, *args, **kwargs):
    """What a call did: ('ok', bytes, n handles) or ('err', status,
    actual_bytes, actual_handles, read_status) or ('type',)."""
    try:
        data, hs = fn(*args, **kwargs)
        return ("ok", data, len(hs))
    except mx.MxError as e:
        return ("err", e.status, getattr(e, "actual_bytes", None),
                getattr(e, "actual_handles", None),
                getattr(e, "read_status", None))
    except TypeError:
        return ("type",)


def _txid(n):
    return n.to_bytes(4, "little")


def _call_in_thread(p, *args, **kwargs):
    """Starts ``p.mx_channel_call(*args, **kwargs)`` in a thread; returns a
    function that joins it and gives its observation."""
    box = []
    t = threading.Thread(target=lambda: box.append(
        _observe(p.mx_channel_call, *args, **kwargs)))
    t.start()

    def join():
        t.join(30)
        assert not t.is_alive(), "call never returned"
        return box[0]
    return join


def _take_request(p, h):
    """Reads the next message on ``h``, waiting for it to arrive (a call's
    request arriving means the call is registered)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return p.mx_channel_read(h)
        except mx.MxError as e:
            if e.status != mx.ERR_SHOULD_WAIT or time.monotonic() > deadline:
                raise
        time.sleep(0.001)


def _call_script(k):
    """Calls that get replies, fail or time out; returns what happened."""
    p = k.init
    seen = []
    c, s = p.mx_channel_create()
    ev = p.mx_event_create()
    # 1. A reply with the request's txid comes straight back (handles too);
    #    a message with another txid meanwhile goes to the queue.
    join = _call_in_thread(p, c, _txid(7) + b"req", [ev])
    data, hs = _take_request(p, s)
    seen.append((data, len(hs)))
    p.mx_channel_write(s, _txid(8) + b"other")
    e2 = p.mx_event_create()
    p.mx_channel_write(s, _txid(7) + b"reply", [hs[0], e2])
    seen.append(join())
    seen.append(_observe(p.mx_channel_read, c))
    # 2. Two calls at once, replies in the other order.
    j1 = _call_in_thread(p, c, _txid(1) + b"one")
    _take_request(p, s)
    j2 = _call_in_thread(p, c, _txid(2) + b"two")
    _take_request(p, s)
    p.mx_channel_write(s, _txid(2) + b"r2")
    p.mx_channel_write(s, _txid(1) + b"r1")
    seen += [j2(), j1()]
    # 3. A short request has txid 0; so does a short reply.
    join = _call_in_thread(p, c, b"ab")
    _take_request(p, s)
    p.mx_channel_write(s, b"z")
    seen.append(join())
    # 4. The reply is too large: discarded, its handles closed.
    join = _call_in_thread(p, c, _txid(4), max_bytes=6, max_handles=0)
    _take_request(p, s)
    e3 = p.mx_event_create()
    p.mx_channel_write(s, _txid(4) + b"xy", [e3])
    seen.append(join())
    # 5. Timed out; the late reply goes to the queue.
    seen.append(_observe(p.mx_channel_call, c, _txid(5),
                         deadline=mx.deadline_after(1_000_000)))
    _take_request(p, s)
    p.mx_channel_write(s, _txid(5) + b"late")
    seen.append(_observe(p.mx_channel_read, c))
    # 6. Canceled: the caller's handle replaced, then closed, then moved.
    for how in ("replace", "close", "move"):
        c2, s2 = p.mx_channel_create()
        join = _call_in_thread(p, c2, _txid(6) + how.encode())
        _take_request(p, s2)
        if how == "replace":
            c2 = p.mx_handle_replace(c2, mx.RIGHT_SAME_RIGHTS)
        elif how == "close":
            p.mx_handle_close(c2)
        else:
            p.mx_channel_write(c, b"carry", [c2])
        seen.append((how, join()))
        seen.append(_observe(p.mx_channel_read, s2))
        if how == "move":
            seen.append(_observe(p.mx_channel_read, s))
        for h in (c2, s2):
            try:
                p.mx_handle_close(h)
            except mx.MxError:
                pass
    # 7. The request carries the peer: it lands in the peer's own queue,
    #    nothing can answer, collect() reclaims the peer and the call fails.
    c3, s3 = p.mx_channel_create()
    join = _call_in_thread(p, c3, _txid(11), [s3])
    deadline = time.monotonic() + 30
    while not k.snapshot()["messages"] and time.monotonic() < deadline:
        time.sleep(0.001)
    seen.append(k.collect())
    seen.append(join())
    p.mx_handle_close(c3)
    # 8. The peer closes while the call waits.
    join = _call_in_thread(p, c, _txid(9))
    _take_request(p, s)
    p.mx_handle_close(s)
    seen.append(join())
    seen.append(_observe(p.mx_channel_call, c, _txid(10)))
    seen.append(_observe(p.mx_channel_read, c))
    return seen


def _settled(k):
    snap = k.snapshot()
    for proc in snap["processes"]:
        for h in proc["handles"]:
            del h["value"]
        proc["handles"].sort(key=lambda h: (h["koid"], h["rights"]))
    return k.stats(), snap


def test_calls_agree():
    real, model = mx.Kernel(seed=5), ModelKernel(seed=5)
    assert _call_script(real) == _call_script(model)
    assert _settled(real) == _settled(model)
    assert real.collect() == model.collect()
    assert _settled(real) == _settled(model)


def test_create_at_max_handles_agree():
    """NO_RESOURCES changes nothing and uses no koid, on both sides."""
    seen = []
    for k in (mx.Kernel(seed=1, max_handles=4), ModelKernel(seed=1,
                                                             max_handles=4)):
        p = k.init
        a, b = p.mx_channel_create()
        run = [_observe(lambda: (b"", [p.mx_channel_create()]))]
        e = p.mx_event_create()
        run.append(p.mx_object_get_info(e, mx.INFO_HANDLE_BASIC).koid)
        p.mx_channel_write(a, b"", [e])
        run.append(_observe(p.mx_channel_read, b))   # a move: never refused
        seen.append((run, _settled(k)))
    assert seen[0] == seen[1]


def test_call_type_errors_come_first():
    """Every argument's type is checked before any range (SPEC §3)."""
    k = mx.Kernel()
    c, _ = k.init.mx_channel_create()
    for kwargs in (dict(options=1, deadline="soon"),
                   dict(deadline=-1, max_bytes="x"),
                   dict(options=2**32, max_handles=1.5)):
        with pytest.raises(TypeError):
            k.init.mx_channel_call(c, b"", **kwargs)
