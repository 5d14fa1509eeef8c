"""The C-backed kernel against the pure-Python model, step by step.

A hypothesis state machine makes the same random syscalls on a real
``Kernel`` and a ``ModelKernel`` and compares every result, every error
status and ``stats()`` after each step.  Handle values differ between the
two (each scrambles its own), so the machine keeps a map from each real
value to its model twin; closed values stay in the map and are used again
as stale values.  Profiles: ``HYPOTHESIS_PROFILE=ci`` (the default here)
and ``long``.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import mxhandles as mx
from mxhandles import _core
from mxhandles._core import ffi
from mxhandles.model import ModelKernel

settings.register_profile(
    "ci", max_examples=300, stateful_step_count=50, deadline=None,
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


def outcome(fn, *args):
    """('ok', result) or ('err', status) or ('type', None)."""
    try:
        return "ok", fn(*args)
    except mx.MxError as e:
        return "err", e.status
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
        self.calls = 0

    # -- helpers --------------------------------------------------------------

    def pick(self, data):
        if self.order and data.draw(st.integers(0, 9)) > 0:
            r = data.draw(st.sampled_from(self.order))
            return r, self.twin[r]
        junk = data.draw(JUNK)
        return junk, junk

    def learn(self, real, model):
        assert (real in self.twin) == False, "a value was handed out twice"
        self.twin[real] = model
        self.order.append(real)

    def same(self, name, real_args, model_args):
        self.calls += 1
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
    def live_handles_agree(self):
        for r in self.order:
            m = self.twin[r]
            sig = real_signals(self.rp, r)
            assert (sig is None) == (m not in self.mp.handle_values())
            if sig is not None:
                koid = self.mp.mx_object_get_info(m, mx.INFO_HANDLE_BASIC).koid
                assert sig == self.m.signals_of(koid)


KernelVsModel.TestCase.settings = settings.get_profile(PROFILE)
TestKernelVsModel = KernelVsModel.TestCase
