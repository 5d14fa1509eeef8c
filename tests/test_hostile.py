"""Hostile input: every syscall fed every class of bad argument.

The sweep (``tests/hostile_sweep.py``) runs in a subprocess, so that a crash
of the interpreter (a segfault in the core or in cffi's conversions) fails
this test instead of killing the run.  Its own checks (status, TypeError,
kernel unchanged) decide its exit code.  Single reproducers of the bugs it
found are below; they run in subprocesses too, under ``PYTHONMALLOC=debug``
so that a use-after-free crashes instead of reading stale memory.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

import mxhandles as mx

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_PAIRS = 15000


def run_python(code: str, timeout: float = 60, **env: str):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **env))


def test_hostile_sweep_in_subprocess():
    proc = subprocess.run([sys.executable, os.path.join(HERE, "hostile_sweep.py")],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    pairs = re.search(r"^pairs tried: (\d+)$", proc.stdout, re.M)
    assert pairs is not None, out[-4000:]
    assert int(pairs.group(1)) >= MIN_PAIRS, out[-4000:]
    assert re.search(r"^mismatches: 0$", proc.stdout, re.M), out[-4000:]


# -- the bugs the sweep found, one reproducer each --------------------------------

@pytest.mark.parametrize("syscall", ["close_many", "write"])
def test_item_int_that_empties_the_list_does_not_crash(syscall):
    """An item whose ``__int__`` empties the list cffi is converting left
    cffi reading freed item pointers (segfault under PYTHONMALLOC=debug)."""
    proc = run_python("""
        import mxhandles as mx
        k = mx.Kernel(seed=1)
        p = k.init
        a, b = p.mx_channel_create()
        lst = []
        class Evil:
            def __int__(self):
                lst.clear()
                return 0
        lst[:] = [Evil()] + [10**30 + i for i in range(50)]
        try:
            if %r == "write":
                p.mx_channel_write(a, b"", lst)
            else:
                p.mx_handle_close_many(lst)
        except (TypeError, mx.MxError):
            pass
        st = k.stats()
        assert st.live_handles == 3 and st.in_transit_handles == 0, st
        print("survived")
    """ % syscall, PYTHONMALLOC="debug")
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.parametrize("n", [0, 2, 1000, 2**40])
@pytest.mark.parametrize("base", [list, tuple])
def test_sequence_whose_len_lies(kernel, init, n, base):
    """A list or tuple subclass whose ``__len__`` lies: the message carries
    what iterating it gives (C used to be told the lie and read past cffi's
    copy of the items)."""
    class Lies(base):
        def __len__(self):
            return n

    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    k_ev = init.mx_object_get_info(ev, mx.INFO_HANDLE_BASIC).koid
    init.mx_channel_write(a, b"x", Lies([ev]))
    data, (got,) = init.mx_channel_read(b)
    assert data == b"x"
    assert init.mx_object_get_info(got, mx.INFO_HANDLE_BASIC).koid == k_ev
    assert kernel.stats().in_transit_handles == 0


@pytest.mark.parametrize("call", ["close_many", "write", "wait_many"])
def test_sequence_whose_len_raises_is_read_by_iteration(kernel, init, call):
    class LenRaises(list):
        def __len__(self):
            raise RuntimeError("hostile __len__")

    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    if call == "close_many":
        init.mx_handle_close_many(LenRaises([ev]))
        with pytest.raises(mx.MxError) as e:
            init.mx_handle_close(ev)
        assert e.value.status == mx.ERR_BAD_HANDLE
    elif call == "write":
        init.mx_channel_write(a, b"", LenRaises([ev]))
        assert len(init.mx_channel_read(b)[1]) == 1
    else:
        with pytest.raises(mx.MxError) as e:
            init.mx_object_wait_many(LenRaises([(ev, mx.EVENT_SIGNALED)]), 0)
        assert e.value.status == mx.ERR_TIMED_OUT


def test_dead_caller_wrong_type_handle_is_type_error(kernel, init):
    """Types are checked before a dead caller's BAD_STATE (design.md), the
    write's channel handle included."""
    job = init.mx_job_default()
    ph = init.mx_process_create(job, "d")
    th = init.mx_thread_create(ph, "t")
    boot, boot_r = init.mx_channel_create()
    init.mx_process_start(ph, th, 0, 0, boot_r, 0)
    dead = kernel.process(init.mx_object_get_info(ph, mx.INFO_HANDLE_BASIC).koid)
    init.mx_task_kill(ph)
    for bad in ("1", 1.5, None):
        with pytest.raises(TypeError):
            dead.mx_channel_write(bad, b"x")
    with pytest.raises(TypeError):
        dead.mx_channel_call(1, b"x", deadline=None)
    with pytest.raises(mx.MxError) as e:
        dead.mx_channel_write(1, b"x")
    assert e.value.status == mx.ERR_BAD_STATE


def _int_likes(v):
    """Objects cffi alone would convert through ``__int__``; SPEC wants
    TypeError for anything that is not an int or an ``__index__`` object."""
    from decimal import Decimal
    from fractions import Fraction
    return [Fraction(2 * v + 1, 2), Decimal(v), float(v)]


def test_int_like_arguments_are_type_errors_and_change_nothing(kernel, init):
    p = init
    ev = p.mx_event_create()
    a, b = p.mx_channel_create()
    before = kernel.snapshot()
    calls = []
    for x in _int_likes(ev):
        calls += [
            lambda x=x: p.mx_handle_close(x),
            lambda x=x: p.mx_handle_close_many([ev, x]),
            lambda x=x: p.mx_handle_close_many(iter([ev, x])),
            lambda x=x: p.mx_handle_duplicate(x, mx.RIGHT_SAME_RIGHTS),
            lambda x=x: p.mx_handle_duplicate(ev, type(x)(int(mx.RIGHT_SAME_RIGHTS))),
            lambda x=x: p.mx_handle_replace(x, mx.RIGHT_SAME_RIGHTS),
            lambda x=x: p.mx_object_signal(x, 0, mx.USER_SIGNAL_0),
            lambda x=x: p.mx_object_signal(ev, 0, type(x)(int(mx.USER_SIGNAL_0))),
            lambda x=x: p.mx_channel_write(a, b"", [ev, x]),
            lambda x=x: p.mx_channel_write(type(x)(a), b"", [ev]),
            lambda x=x: p.mx_channel_read(type(x)(b)),
            lambda x=x: p.mx_object_get_info(ev, type(x)(int(mx.INFO_HANDLE_BASIC))),
        ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
        assert kernel.snapshot() == before
    # An __index__ object is an int to every syscall (SPEC section 3).
    class Index:
        def __init__(self, v):
            self.v = v

        def __index__(self):
            return self.v

    same = Index(int(mx.RIGHT_SAME_RIGHTS))
    p.mx_channel_write(a, b"", [Index(p.mx_handle_duplicate(Index(ev), same))])
    _, (got,) = p.mx_channel_read(Index(b))
    p.mx_handle_close_many((Index(got), Index(ev)))
    p.mx_handle_close_many(x for x in (a, b))
