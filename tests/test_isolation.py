"""Isolation and rights as properties (SPEC sections 1 and 4).

- a process never uses, reads, closes, waits on or enumerates a handle it
  does not own (the debugger topic, ``INFO_PROCESS_HANDLES`` through a
  process handle with ``RIGHT_ENUMERATE``, and ``Kernel.process``, are the
  documented ways in);
- rights never grow through duplicate, replace, channel transfer or read;
- every value ``1 .. 2**20`` tried from a process that owns nothing finds
  nothing;
- a stale value never names a newer handle;
- two processes creating the same objects in the same order get unrelated
  values.
"""
from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mxhandles as mx
from mxhandles import _core

settings.register_profile(
    "isolation-ci", max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile(
    "isolation-long", max_examples=2000, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILE = ("isolation-long" if os.environ.get("HYPOTHESIS_PROFILE") == "long"
           else "isolation-ci")

BAD = int(mx.ERR_BAD_HANDLE)
U7 = int(mx.USER_SIGNAL_7)


def basic(p, h):
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)


def status(fn, *args):
    try:
        fn(*args)
    except mx.MxError as e:
        return int(e.status)
    return None


def child(k, name, boot_rights=None):
    """A started child of init; returns (its Process, init's handle to it,
    init's end of its bootstrap channel)."""
    init = k.init
    ph = init.mx_process_create(init.mx_job_default(), name)
    th = init.mx_thread_create(ph, "main")
    mine, theirs = init.mx_channel_create()
    init.mx_process_start(ph, th, 0, 0, theirs, 0)
    # (init keeps th: a thread whose last handle goes is killed.)
    return k.process(basic(init, ph).koid), ph, mine


def make_objects(p, kinds):
    """Objects of the given kinds created by p, in order: their values."""
    out = []
    for kind in kinds:
        if kind == "event":
            out.append(p.mx_event_create())
        elif kind == "port":
            out.append(p.mx_port_create())
        elif kind == "channel":
            out.extend(p.mx_channel_create())
        elif kind == "eventpair":
            out.extend(p.mx_eventpair_create())
        elif kind == "dup" and out:
            try:
                out.append(p.mx_handle_duplicate(out[0], mx.RIGHT_SAME_RIGHTS))
            except mx.MxError:
                pass
    return out


def every_use(p, v, port):
    """Everything p can try with a value v it does not own: the statuses."""
    ev = p.mx_event_create()
    a, b = p.mx_channel_create()
    job = p.mx_job_default() or None
    tries = [
        (p.mx_handle_close, v),
        (p.mx_handle_close_many, [v]),
        (p.mx_handle_duplicate, v, mx.RIGHT_SAME_RIGHTS),
        (p.mx_handle_replace, v, mx.RIGHT_SAME_RIGHTS),
        (p.mx_object_signal, v, 0, U7),
        (p.mx_object_signal_peer, v, 0, U7),
        (p.mx_object_wait_one, v, U7, 0),
        (p.mx_object_wait_many, [(v, U7)], 0),
        (p.mx_object_wait_async, v, port, 1, U7, 0),
        (p.mx_object_wait_async, ev, v, 1, U7, 0),
        (p.mx_port_queue, v, mx.PortPacket(1)),
        (p.mx_port_wait, v, 0),
        (p.mx_port_cancel, v, ev, 1),
        (p.mx_port_cancel, port, v, 1),
        (p.mx_channel_read, v),
        (p.mx_channel_write, v, b"x"),
        (p.mx_channel_write, a, b"x", [v]),
        (p.mx_channel_call, v, b"xxxx", (), 0),
        (p.mx_task_kill, v),
        (p.mx_thread_create, v, "t"),
        (p.mx_process_create, v, "p"),
        (p.mx_job_create, v),
    ] + [(p.mx_object_get_info, v, t) for t in (
        mx.INFO_HANDLE_VALID, mx.INFO_HANDLE_BASIC, mx.INFO_PROCESS,
        mx.INFO_PROCESS_THREADS, mx.INFO_JOB_CHILDREN, mx.INFO_JOB_PROCESSES,
        mx.INFO_PROCESS_HANDLES)]
    out = [(fn.__name__, status(fn, *args)) for fn, *args in tries]
    p.mx_handle_close_many([ev, a, b])
    del job
    return out


KINDS = st.lists(st.sampled_from(["event", "port", "channel", "eventpair", "dup"]),
                 min_size=1, max_size=12)


@settings.get_profile(PROFILE)
@given(kinds_a=KINDS, kinds_b=KINDS, transfer=st.booleans())
def test_no_process_reaches_another_process_s_handles(kinds_a, kinds_b, transfer):
    k = mx.Kernel()
    A, ph_a, boot_a = child(k, "a")
    B, ph_b, boot_b = child(k, "b")
    make_objects(A, kinds_a)
    make_objects(B, kinds_b)
    if transfer:
        # Handles that came to B from init through a channel are B's only.
        sent = make_objects(k.init, ["event", "port", "channel"])
        k.init.mx_channel_write(boot_b, b"", sent)
        B.mx_channel_read(B.start_info.arg1)
    port = A.mx_port_create()
    before = k.snapshot()
    own_a = {h[0] for h in A.handles()}
    own_b = {h[0] for h in B.handles()}
    own_init = {h[0] for h in k.init.handles()}
    for v in sorted((own_b | own_init) - own_a):
        for name, got in every_use(A, v, port):
            assert got == BAD, (name, v, got)
        assert k.snapshot() == before
    # Nothing A can enumerate names B's handles: it holds no task handles.
    assert all(t != mx.OBJ_TYPE_PROCESS and t != mx.OBJ_TYPE_JOB
               for _, _, t, _ in A.handles())
    # The debugger topic: init's handle to B (ENUMERATE) lists B's table,
    # without it ACCESS_DENIED.
    listed = {e.value for e in k.init.mx_object_get_info(ph_b, mx.INFO_PROCESS_HANDLES)}
    assert listed == own_b
    no_enum = k.init.mx_handle_duplicate(ph_b, int(mx.DEFAULT_PROCESS_RIGHTS)
                                         & ~int(mx.RIGHT_ENUMERATE))
    assert status(k.init.mx_object_get_info, no_enum,
                  mx.INFO_PROCESS_HANDLES) == int(mx.ERR_ACCESS_DENIED)
    assert k.process(B.koid) is B


RIGHTS = st.integers(0, 0xFFF) | st.just(int(mx.RIGHT_SAME_RIGHTS))
OPS = st.lists(st.tuples(st.sampled_from(["dup", "replace", "transfer", "back"]),
                         st.integers(0, 50), RIGHTS), max_size=40)


@settings.get_profile(PROFILE)
@given(ops=OPS, kind=st.sampled_from(["event", "port", "eventpair", "channel", "process"]))
def test_rights_never_grow(ops, kind):
    """Every handle's rights are within the rights of the handle it was
    made from, whatever dup/replace/transfer/read sequence made it."""
    k = mx.Kernel(seed=7)
    init = k.init
    B, ph_b, to_b = child(k, "b")
    from_b = B.start_info.arg1               # B's end of the channel
    if kind == "event":
        root = init.mx_event_create()
    elif kind == "port":
        root = init.mx_port_create()
    elif kind == "eventpair":
        root, _ = init.mx_eventpair_create()
    elif kind == "channel":
        root, _ = init.mx_channel_create()
    else:
        root = init.mx_process_create(init.mx_job_default(), "x")
    # bound[(process koid, value)] = the most rights the handle may have.
    bound = {(init.koid, root): basic(init, root).rights}
    where = {init.koid: init, B.koid: B}
    koid = basic(init, root).koid

    def live():
        return [key for key in bound if key[0] in where]

    for op, pick, rights in ops:
        keys = sorted(live())
        if not keys:
            break
        pk, v = keys[pick % len(keys)]
        p = where[pk]
        have = basic(p, v).rights
        assert have & ~bound[(pk, v)] == 0
        if op in ("dup", "replace"):
            fn = p.mx_handle_duplicate if op == "dup" else p.mx_handle_replace
            try:
                new = fn(v, rights)
            except mx.MxError as e:
                grows = (rights != mx.RIGHT_SAME_RIGHTS and rights & ~have)
                assert grows or (op == "dup" and not have & mx.RIGHT_DUPLICATE), e
                continue
            got = basic(p, new).rights
            want = have if rights == mx.RIGHT_SAME_RIGHTS else rights
            assert got == want and got & ~have == 0
            if op == "replace":
                del bound[(pk, v)]
            bound[(pk, new)] = got
        else:
            if (op == "transfer") != (p is init):
                continue
            out, inp, dst = (to_b, from_b, B) if p is init else (from_b, to_b, init)
            try:
                p.mx_channel_write(out, b"", [v])
            except mx.MxError as e:
                assert not have & mx.RIGHT_TRANSFER, e
                continue
            _, (new,) = dst.mx_channel_read(inp)
            assert basic(dst, new).rights == have and basic(dst, new).koid == koid
            del bound[(pk, v)]
            bound[(dst.koid, new)] = have
    for pk, v in live():
        info = basic(where[pk], v)
        assert info.koid == koid and info.rights & ~bound[(pk, v)] == 0


def test_every_value_up_to_2_20_finds_nothing_in_an_empty_process():
    k = mx.Kernel()
    init = k.init
    # Plenty of live handles elsewhere: init and a busy child.
    evs = [init.mx_event_create() for _ in range(5000)]
    B, ph_b, _ = child(k, "busy")
    b_evs = [B.mx_event_create() for _ in range(5000)]
    # The prober: started, then its only handle (the bootstrap) closed.
    E, ph_e, _ = child(k, "empty")
    E.mx_handle_close(E.start_info.arg1)
    assert E.handle_count() == 0
    before = k.stats()
    # Every value through the C call that mx_handle_close's fast path makes
    # (raising a million MxErrors would take ~10 s), ...
    close, pc = _core.handle_close, E._p
    found = [v for v in range(1, 2**20 + 1) if close(pc, v) != BAD]
    assert found == []
    # ... every 61st through the syscalls themselves, ...
    for v in range(1, 2**20 + 1, 61):
        assert status(E.mx_handle_close, v) == BAD
        assert status(E.mx_object_get_info, v, mx.INFO_HANDLE_BASIC) == BAD
    # ... and all of them in one close_many.
    assert status(E.mx_handle_close_many, range(1, 2**20 + 1)) == BAD
    assert k.stats() == before and E.handle_count() == 0
    assert len(evs) == 5000 and len(b_evs) == 5000


def test_stale_values_never_name_newer_handles():
    """1,000 closed values stay BAD_HANDLE while the process makes more
    than 1,000,000 further handles, none of which gets one of them."""
    k = mx.Kernel()
    p = k.init
    ev = p.mx_event_create()
    stale = [p.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS) for _ in range(1000)]
    p.mx_handle_close_many(stale)
    stale_set = set(stale)
    made = 0
    dup, close_many = p.mx_handle_duplicate, p.mx_handle_close_many
    same = mx.RIGHT_SAME_RIGHTS
    while made < 1_050_000:
        batch = [dup(ev, same) for _ in range(2000)]
        made += len(batch)
        assert not stale_set.intersection(batch), made
        close_many(batch)
        if made % 100_000 < 2000:
            assert all(status(p.mx_handle_close, v) == BAD for v in stale[:50])
    assert all(status(p.mx_object_get_info, v, mx.INFO_HANDLE_VALID) == BAD
               for v in stale)


@pytest.mark.parametrize("seeded", [True, False])
def test_two_processes_making_the_same_objects_get_unrelated_values(seeded):
    k = mx.Kernel(seed=99 if seeded else None)
    kinds = ["event", "channel", "port", "eventpair", "dup"] * 300
    X, _, _ = child(k, "x")
    Y, _, _ = child(k, "y")
    vx, vy = make_objects(X, kinds), make_objects(Y, kinds)
    assert len(vx) == len(vy) > 1000
    n = len(vx)
    # No value equal at the same position, few in common at all (by chance
    # about n*n/2**31, under 2 here).
    assert not any(a == b for a, b in zip(vx, vy))
    assert len(set(vx) & set(vy)) <= 3
    # No constant xor, difference or ratio between the two sequences.
    for rel in (lambda a, b: a ^ b, lambda a, b: (a - b) % 2**31,
                lambda a, b: (a * pow(b, -1, 2**31)) % 2**31 if b % 2 else None):
        counts = Counter(r for a, b in zip(vx, vy) if (r := rel(a, b)) is not None)
        assert counts.most_common(1)[0][1] <= 3, counts.most_common(3)
    # Nor inside one process: consecutive values do not step evenly.
    steps = Counter((b - a) % 2**31 for a, b in zip(vx, vx[1:]))
    assert steps.most_common(1)[0][1] <= 3
    # Bits look uniform: each of the 31 bits set in 40..60% of values.
    for bit in range(31):
        share = sum((v >> bit) & 1 for v in vx) / n
        assert 0.4 < share < 0.6, (bit, share)
    # A second kernel with another seed gives other values again.
    k2 = mx.Kernel(seed=100 if seeded else None)
    Z, _, _ = child(k2, "x")
    vz = make_objects(Z, kinds)
    assert not any(a == b for a, b in zip(vx, vz))
