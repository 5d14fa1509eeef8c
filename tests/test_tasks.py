"""Jobs, processes and threads through the public API: SPEC §2 (Kernel
keywords, Kernel.process, Process attributes), §4 "Tasks" and "Information",
§5 lifetime rules 2-6, and the process scenarios of Magenta's own tests.

Conventions:

- ``init`` builds everything under a fresh job (the ``job`` fixture) and
  every test ends by closing all it made, running ``collect()`` and checking
  the kernel is back at its baseline (root job, init and init's thread).
- ``spawn()`` creates and starts a child process; the child's ``Process``
  (from ``Kernel.process(koid)``) makes syscalls as the child.
- A test that needs a thread to be *blocked* in a call before it acts gives
  it a short head start (BLOCK_DELAY); there is no public way to see a
  sleeper.
"""
from __future__ import annotations

import collections
import gc
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import mxhandles as mx
from conftest import assert_baseline, Threads

JOIN = 10.0              # seconds: no helper thread may outlive this
JOIN_NS = int(JOIN * 10**9)
BLOCK_DELAY = 0.1        # seconds: head start for a thread to block
ALL = 0xFFFFFFFF

JOB_RIGHTS = (mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ
              | mx.RIGHT_WRITE | mx.RIGHT_ENUMERATE | mx.RIGHT_GET_PROPERTY
              | mx.RIGHT_SET_PROPERTY | mx.RIGHT_GET_POLICY
              | mx.RIGHT_SET_POLICY)
PROCESS_RIGHTS = (mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ
                  | mx.RIGHT_WRITE | mx.RIGHT_ENUMERATE
                  | mx.RIGHT_GET_PROPERTY | mx.RIGHT_SET_PROPERTY)
THREAD_RIGHTS = (mx.RIGHT_DUPLICATE | mx.RIGHT_TRANSFER | mx.RIGHT_READ
                 | mx.RIGHT_WRITE | mx.RIGHT_GET_PROPERTY
                 | mx.RIGHT_SET_PROPERTY)
CH_RIGHTS = mx.RIGHT_TRANSFER | mx.RIGHT_READ | mx.RIGHT_WRITE


# -- helpers ------------------------------------------------------------------

def status(ei: pytest.ExceptionInfo) -> int:
    return ei.value.status


def expect(code, fn, *args, **kw):
    """Runs fn(*args, **kw) and returns the MxError it raised with `code`."""
    with pytest.raises(mx.MxError) as ei:
        fn(*args, **kw)
    assert ei.value.status == code, (ei.value.name, mx.Status(code).name)
    return ei.value


def basic(p, h):
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)


def koid(p, h) -> int:
    return basic(p, h).koid


def is_valid(p, h) -> bool:
    try:
        p.mx_object_get_info(h, mx.INFO_HANDLE_VALID)
    except mx.MxError as e:
        assert e.status == mx.ERR_BAD_HANDLE
        return False
    return True


def pinfo(p, h):
    return p.mx_object_get_info(h, mx.INFO_PROCESS)


def sigs(p, h) -> int:
    """The signals of h's object now (a poll; needs READ)."""
    try:
        return p.mx_object_wait_one(h, ALL, 0)
    except mx.MxError as e:
        assert e.status == mx.ERR_TIMED_OUT
        return e.observed


def terminated(p, h) -> bool:
    return bool(sigs(p, h) & mx.TASK_TERMINATED)


def snap_process(k, pkoid):
    """The snapshot's entry for process `pkoid`, or None."""
    for entry in k.snapshot()["processes"]:
        if entry["koid"] == pkoid:
            return entry
    return None


def stale(p) -> int:
    """A value that named a handle of `p` and no longer does."""
    h = p.mx_event_create()
    p.mx_handle_close(h)
    return h


def finish(k, init, *hs):
    """Closes every handle given (None entries skipped), collects, and
    checks the kernel is back at its baseline."""
    init.mx_handle_close_many([h for h in hs if h is not None])
    gc.collect()
    k.collect()
    assert_baseline(k)


Child = collections.namedtuple("Child", "p t peer proc boot")


def spawn(k, parent, job, name="child", arg1=None, entry="entry",
          stack="stack", arg2=0):
    """Creates and starts a process in `job` as `parent`.

    Without `arg1`, the bootstrap handle is one end of a new channel and
    `peer` (the other end) stays with `parent`.  Returns the parent's process
    and thread handles, the peer, the child's Process and the bootstrap
    handle's value in the child."""
    p = parent.mx_process_create(job, name)
    t = parent.mx_thread_create(p, "main")
    peer = None
    if arg1 is None:
        peer, arg1 = parent.mx_channel_create()
    parent.mx_process_start(p, t, entry, stack, arg1, arg2)
    proc = k.process(koid(parent, p))
    return Child(p, t, peer, proc, proc.start_info.arg1)


@pytest.fixture
def root(init) -> int:
    return init.mx_job_default()


@pytest.fixture
def job(init, root) -> int:
    """A fresh job under the root job; the test closes it."""
    return init.mx_job_create(root)


# -- mx_job_default -------------------------------------------------------------

def test_job_default_is_inits_root_job_handle(kernel, init):
    h = init.mx_job_default()
    assert h != mx.HANDLE_INVALID
    assert init.mx_job_default() == h == init.mx_job_default()
    b = basic(init, h)
    assert b.type == mx.OBJ_TYPE_JOB
    assert b.rights == JOB_RIGHTS
    assert b.related_koid == 0          # the root job has no parent
    assert b.props == mx.OBJ_PROP_WAITABLE
    assert b.koid > 1                   # 1 is reserved for the kernel
    assert init.mx_object_get_info(h, mx.INFO_JOB_PROCESSES) == [init.koid]
    assert init.mx_object_get_info(h, mx.INFO_JOB_CHILDREN) == []
    assert init.start_info is None
    assert init.name == "init"
    assert kernel.process(init.koid) is init
    assert_baseline(kernel)


def test_job_default_is_handle_invalid_in_other_processes(kernel, init, job):
    c = spawn(kernel, init, job)
    assert c.proc.mx_job_default() == mx.HANDLE_INVALID == 0
    assert c.proc.mx_job_default() == mx.HANDLE_INVALID
    # and it is not init's value either, even when init's happens to be valid
    # in the child: the child's table holds only its bootstrap handle.
    assert [v for v, *_ in c.proc.handles()] == [c.boot]
    finish(kernel, init, c.p, c.t, c.peer, job)


# -- mx_job_create ------------------------------------------------------------------

def test_job_create(kernel, init, root):
    j = init.mx_job_create(root)
    b = basic(init, j)
    assert b.type == mx.OBJ_TYPE_JOB and b.rights == JOB_RIGHTS
    assert b.related_koid == koid(init, root)
    assert b.props == mx.OBJ_PROP_WAITABLE
    j2 = init.mx_job_create(j, options=0)
    assert basic(init, j2).related_koid == b.koid
    assert init.mx_object_get_info(root, mx.INFO_JOB_CHILDREN) == [b.koid]
    assert init.mx_object_get_info(j, mx.INFO_JOB_CHILDREN) == [koid(init, j2)]
    assert init.mx_object_get_info(j, mx.INFO_JOB_PROCESSES) == []
    st = kernel.stats()
    assert st.live_objects["job"] == 3
    assert st.live_handles == 3
    # A job with no handles and no children or processes is destroyed.
    init.mx_handle_close(j2)
    assert init.mx_object_get_info(j, mx.INFO_JOB_CHILDREN) == []
    assert kernel.stats().live_objects["job"] == 2
    finish(kernel, init, j)


def test_job_create_keeps_parent_chain_alive(kernel, init, root):
    """A job holds its parent: closing the parent's handle first is fine."""
    j = init.mx_job_create(root)
    j2 = init.mx_job_create(j)
    jk = koid(init, j)
    init.mx_handle_close(j)
    assert basic(init, j2).related_koid == jk
    assert kernel.stats().live_objects["job"] == 3
    j3 = init.mx_job_create(j2)
    assert basic(init, j3).related_koid == koid(init, j2)
    finish(kernel, init, j2, j3)


def test_job_create_errors_in_column_order(kernel, init, root):
    ev = init.mx_event_create()
    ev0 = init.mx_handle_duplicate(ev, 0)
    ro = init.mx_handle_duplicate(root, mx.RIGHT_READ | mx.RIGHT_ENUMERATE)
    no_write = init.mx_handle_duplicate(root, JOB_RIGHTS & ~mx.RIGHT_WRITE)
    killed = init.mx_job_create(root)
    init.mx_task_kill(killed)
    before = kernel.stats()
    # BAD_HANDLE comes first, whatever else is wrong (options in range).
    for bad in (0, -1, -2**40, 2**31, 2**31 - 1, 2**64, stale(init)):
        expect(mx.ERR_BAD_HANDLE, init.mx_job_create, bad)
        expect(mx.ERR_BAD_HANDLE, init.mx_job_create, bad, 1)
    # then the type (before the rights), ...
    expect(mx.ERR_WRONG_TYPE, init.mx_job_create, ev)
    expect(mx.ERR_WRONG_TYPE, init.mx_job_create, ev0, 1)
    # ... then WRITE, ...
    expect(mx.ERR_ACCESS_DENIED, init.mx_job_create, ro)
    expect(mx.ERR_ACCESS_DENIED, init.mx_job_create, no_write, 1)
    # ... then the options, ...
    for opts in (1, 2, 2**31):
        expect(mx.ERR_INVALID_ARGS, init.mx_job_create, root, opts)
        expect(mx.ERR_INVALID_ARGS, init.mx_job_create, killed, opts)
    # ... and last the parent's state.
    expect(mx.ERR_BAD_STATE, init.mx_job_create, killed)
    # Out-of-range options come before every check of §4.
    for opts in (-1, 2**32, 2**64):
        expect(mx.ERR_INVALID_ARGS, init.mx_job_create, 0, opts)
        expect(mx.ERR_INVALID_ARGS, init.mx_job_create, ev, opts)
    after = kernel.stats()
    assert after.live_handles == before.live_handles
    assert after.live_objects == before.live_objects
    with pytest.raises(TypeError):
        init.mx_job_create("1")
    with pytest.raises(TypeError):
        init.mx_job_create(root, "0")
    with pytest.raises(TypeError):
        init.mx_job_create(None)
    finish(kernel, init, ev, ev0, ro, no_write, killed)


def test_job_create_under_a_killed_ancestor(kernel, init, root):
    a = init.mx_job_create(root)
    b = init.mx_job_create(a)
    c = init.mx_job_create(b)
    init.mx_task_kill(a)
    for j in (a, b, c):
        expect(mx.ERR_BAD_STATE, init.mx_job_create, j)
        expect(mx.ERR_BAD_STATE, init.mx_process_create, j, "p")
    finish(kernel, init, a, b, c)


# -- mx_process_create ------------------------------------------------------------------

def test_process_create(kernel, init, job):
    p = init.mx_process_create(job, "proc")
    b = basic(init, p)
    assert b.type == mx.OBJ_TYPE_PROCESS
    assert b.rights == PROCESS_RIGHTS
    assert b.related_koid == koid(init, job)
    assert b.props == mx.OBJ_PROP_WAITABLE
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == [b.koid]
    i = pinfo(init, p)
    assert (i.return_code, i.started, i.exited) == (0, False, False)
    assert i.debugger_attached is False
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == []
    assert sigs(init, p) & mx.TASK_TERMINATED == 0
    proc = kernel.process(b.koid)
    assert isinstance(proc, mx.Process)
    assert proc.koid == b.koid and proc.name == "proc"
    assert proc.kernel is kernel
    assert proc.start_info is None
    assert kernel.process(b.koid) is proc
    assert snap_process(kernel, b.koid)["state"] == "new"
    assert snap_process(kernel, b.koid)["name"] == "proc"
    assert snap_process(kernel, b.koid)["handles"] == []
    # a new process's table is its own: empty
    assert proc.handles() == []
    p2 = init.mx_process_create(job, "proc", options=0)
    assert koid(init, p2) != b.koid
    assert sorted(init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES)) == \
        sorted([b.koid, koid(init, p2)])
    # An unstarted process with no handles left is destroyed.
    init.mx_handle_close(p2)
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == [b.koid]
    finish(kernel, init, p, job)
    expect(mx.ERR_NOT_FOUND, kernel.process, b.koid)


def test_process_create_errors_in_column_order(kernel, init, root, job):
    ev = init.mx_event_create()
    ro = init.mx_handle_duplicate(job, JOB_RIGHTS & ~mx.RIGHT_WRITE)
    killed = init.mx_job_create(root)
    init.mx_task_kill(killed)
    before = kernel.stats()
    for bad in (0, -5, 2**31, 2**63, stale(init)):
        expect(mx.ERR_BAD_HANDLE, init.mx_process_create, bad, "x")
        expect(mx.ERR_BAD_HANDLE, init.mx_process_create, bad, "x", 3)
    p = init.mx_process_create(job, "x")
    expect(mx.ERR_WRONG_TYPE, init.mx_process_create, ev, "x")
    expect(mx.ERR_WRONG_TYPE, init.mx_process_create, p, "x", 1)
    expect(mx.ERR_ACCESS_DENIED, init.mx_process_create, ro, "x")
    expect(mx.ERR_ACCESS_DENIED, init.mx_process_create, ro, "x", 1)
    expect(mx.ERR_INVALID_ARGS, init.mx_process_create, job, "x", 1)
    expect(mx.ERR_INVALID_ARGS, init.mx_process_create, killed, "x", 1)
    expect(mx.ERR_BAD_STATE, init.mx_process_create, killed, "x")
    for opts in (-1, 2**32):
        expect(mx.ERR_INVALID_ARGS, init.mx_process_create, 0, "x", opts)
    after = kernel.stats()
    assert after.live_handles == before.live_handles + 1
    assert after.live_objects["process"] == before.live_objects["process"] + 1
    finish(kernel, init, ev, ro, killed, p, job)


@pytest.mark.parametrize("name", [b"bytes", None, 7, ["x"], bytearray(b"x")])
def test_process_create_name_must_be_str(kernel, init, job, name):
    before = kernel.stats()
    with pytest.raises(TypeError):
        init.mx_process_create(job, name)
    assert kernel.stats() == before
    finish(kernel, init, job)


def test_process_create_name_type_error_before_bad_handle(kernel, init):
    with pytest.raises(TypeError):
        init.mx_process_create(0, b"x")


@pytest.mark.parametrize("name,expected", [
    ("", ""),
    ("a" * 31, "a" * 31),
    ("a" * 32, "a" * 31),
    ("a" * 100, "a" * 31),
    ("b" * 30 + "é", "b" * 30),                    # 2-byte char cut in half
    ("b" * 29 + "é", "b" * 29 + "é"),              # fits exactly: 31 bytes
    ("é" * 20, "é" * 15),                          # 30 bytes
    ("€" * 11, "€" * 10),                          # 3-byte chars: 30 bytes
    ("x" + "€" * 10, "x" + "€" * 10),              # 31 bytes exactly
    ("xy" + "€" * 10, "xy" + "€" * 9),             # 29 bytes
    ("😀" * 8, "😀" * 7),                           # 4-byte chars: 28 bytes
    ("abc" + "😀" * 8, "abc" + "😀" * 7),           # 31 bytes exactly
    ("abcd" + "😀" * 8, "abcd" + "😀" * 6),         # 28 bytes
    ("日本語のプロセス名前です長い名前", "日本語のプロセス名前"),  # 30 bytes
    ("with\x00nul", "with\x00nul"),
])
def test_process_name_cut_to_31_utf8_bytes(kernel, init, job, name, expected):
    p = init.mx_process_create(job, name)
    pk = koid(init, p)
    got = kernel.process(pk).name
    assert got == expected
    assert len(got.encode("utf-8")) <= 31
    assert snap_process(kernel, pk)["name"] == expected
    # the thread's name is a str too and may be long
    t = init.mx_thread_create(p, name)
    finish(kernel, init, t, p, job)


def test_process_name_with_lone_surrogate_does_not_crash(kernel, init, job):
    p = init.mx_process_create(job, "ab\ud800cd" * 10)
    name = kernel.process(koid(init, p)).name
    assert isinstance(name, str)
    finish(kernel, init, p, job)


# -- mx_thread_create ---------------------------------------------------------------------

def test_thread_create(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    b = basic(init, t)
    assert b.type == mx.OBJ_TYPE_THREAD
    assert b.rights == THREAD_RIGHTS
    assert b.related_koid == koid(init, p)
    assert b.props == mx.OBJ_PROP_WAITABLE
    t2 = init.mx_thread_create(p, "t2", options=0)
    assert sorted(init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS)) == \
        sorted([b.koid, koid(init, t2)])
    assert sigs(init, t) & mx.TASK_TERMINATED == 0
    finish(kernel, init, t, t2, p, job)


def test_thread_create_errors_in_column_order(kernel, init, job):
    p = init.mx_process_create(job, "p")
    ev = init.mx_event_create()
    no_write = init.mx_handle_duplicate(p, PROCESS_RIGHTS & ~mx.RIGHT_WRITE)
    dead = init.mx_process_create(job, "dead")
    init.mx_task_kill(dead)
    for bad in (0, -1, 2**31, 2**64, stale(init)):
        expect(mx.ERR_BAD_HANDLE, init.mx_thread_create, bad, "t")
        expect(mx.ERR_BAD_HANDLE, init.mx_thread_create, bad, "t", 1)
    expect(mx.ERR_WRONG_TYPE, init.mx_thread_create, ev, "t")
    expect(mx.ERR_WRONG_TYPE, init.mx_thread_create, job, "t", 1)
    expect(mx.ERR_ACCESS_DENIED, init.mx_thread_create, no_write, "t")
    expect(mx.ERR_ACCESS_DENIED, init.mx_thread_create, no_write, "t", 1)
    expect(mx.ERR_INVALID_ARGS, init.mx_thread_create, p, "t", 1)
    expect(mx.ERR_INVALID_ARGS, init.mx_thread_create, dead, "t", 1)
    expect(mx.ERR_BAD_STATE, init.mx_thread_create, dead, "t")
    for opts in (-1, 2**32):
        expect(mx.ERR_INVALID_ARGS, init.mx_thread_create, 0, "t", opts)
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == []
    finish(kernel, init, p, ev, no_write, dead, job)


@pytest.mark.parametrize("name", [b"t", None, 3, ["t"], bytearray(b"t")])
def test_thread_create_name_must_be_str(kernel, init, job, name):
    p = init.mx_process_create(job, "p")
    before = kernel.stats()
    with pytest.raises(TypeError):
        init.mx_thread_create(p, name)
    assert kernel.stats() == before
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == []
    finish(kernel, init, p, job)


@pytest.mark.parametrize("how", ["kill", "exit", "last_handle", "job",
                                 "last_thread"])
def test_thread_create_in_dead_process_is_bad_state(kernel, init, root, how):
    job = init.mx_job_create(root)
    c = spawn(kernel, init, job)
    keep = init.mx_handle_duplicate(c.p, mx.RIGHT_SAME_RIGHTS)
    p = c.p
    if how == "kill":
        init.mx_task_kill(p)
    elif how == "exit":
        c.proc.mx_process_exit(3)
    elif how == "last_handle":
        # keep is a second handle: the view goes to a fresh duplicate
        init.mx_handle_close(keep)
        keep = None
        # closing every process handle kills it; a thread handle keeps it
        init.mx_handle_close(p)
        p = None
    elif how == "job":
        init.mx_task_kill(job)
    elif how == "last_thread":
        init.mx_task_kill(c.t)
    assert c.proc.state == "exited"
    if p is not None:
        expect(mx.ERR_BAD_STATE, init.mx_thread_create, p, "late")
        assert pinfo(init, p).exited
    finish(kernel, init, keep, p, c.t, c.peer, job)


# -- related_koid ---------------------------------------------------------------------------

def test_related_koids_of_a_task_tree(kernel, init, root):
    rk = koid(init, root)
    j1 = init.mx_job_create(root)
    j2 = init.mx_job_create(j1)
    p = init.mx_process_create(j2, "p")
    t = init.mx_thread_create(p, "t")
    assert basic(init, root).related_koid == 0
    assert basic(init, j1).related_koid == rk
    assert basic(init, j2).related_koid == koid(init, j1)
    assert basic(init, p).related_koid == koid(init, j2)
    assert basic(init, t).related_koid == koid(init, p)
    # the snapshot agrees
    objs = {o["koid"]: o for o in kernel.snapshot()["objects"]}
    assert objs[koid(init, t)]["related_koid"] == koid(init, p)
    assert objs[koid(init, p)]["related_koid"] == koid(init, j2)
    assert objs[koid(init, j2)]["related_koid"] == koid(init, j1)
    # Kept after death, too.
    init.mx_task_kill(j1)
    assert basic(init, t).related_koid == koid(init, p)
    assert basic(init, p).related_koid == koid(init, j2)
    finish(kernel, init, t, p, j2, j1)


# -- mx_process_start ---------------------------------------------------------------------

def test_process_start_moves_bootstrap_handle(kernel, init, job):
    p = init.mx_process_create(job, "svc")
    t = init.mx_thread_create(p, "main")
    a, b = init.mx_channel_create()
    bk = koid(init, b)
    entry, stack, arg2 = object(), ["stack"], {"arg2": 1}
    before = kernel.stats()
    assert init.mx_process_start(p, t, entry, stack, b, arg2) is None
    after = kernel.stats()
    assert after.live_handles == before.live_handles    # moved, not copied
    assert after.in_transit_handles == 0
    assert not is_valid(init, b)                        # gone from init
    proc = kernel.process(koid(init, p))
    si = proc.start_info
    assert isinstance(si, mx.StartInfo)
    assert si.entry is entry and si.stack is stack and si.arg2 is arg2
    # arg1 is the value in the child, naming the same endpoint, same rights
    assert basic(proc, si.arg1).koid == bk
    assert basic(proc, si.arg1).rights == CH_RIGHTS
    assert proc.handles() == [(si.arg1, bk, mx.OBJ_TYPE_CHANNEL, CH_RIGHTS)]
    i = pinfo(init, p)
    assert (i.started, i.exited, i.return_code) == (True, False, 0)
    assert snap_process(kernel, proc.koid)["state"] == "running"
    assert [h["value"] for h in snap_process(kernel, proc.koid)["handles"]] \
        == [si.arg1]
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == [koid(init, t)]
    # records are immutable
    with pytest.raises((AttributeError, TypeError)):
        si.arg1 = 5
    # The child talks through its bootstrap handle.
    proc.mx_channel_write(si.arg1, b"hello from the child")
    assert init.mx_channel_read(a) == (b"hello from the child", [])
    finish(kernel, init, p, t, a, job)


def test_process_start_records_and_keyword_names(kernel, init, job):
    p = init.mx_process_create(job, "kw")
    t = init.mx_thread_create(p, "main")
    ev = init.mx_event_create()
    init.mx_process_start(process=p, thread=t, entry=0x1000, stack=0x2000,
                          arg1=ev, arg2=42)
    si = kernel.process(koid(init, p)).start_info
    assert (si.entry, si.stack, si.arg2) == (0x1000, 0x2000, 42)
    assert si == (0x1000, 0x2000, si.arg1, 42)
    assert 0 < si.arg1 < 2**31
    finish(kernel, init, p, t, job)


@pytest.mark.parametrize("what", ["process", "thread"])
def test_process_start_bootstrap_may_be_a_task_handle(kernel, init, job, what):
    """arg1 may be the process's own handle or its thread's: it moves in."""
    p = init.mx_process_create(job, "self")
    t = init.mx_thread_create(p, "main")
    pk, tk = koid(init, p), koid(init, t)
    arg1 = p if what == "process" else t
    init.mx_process_start(p, t, None, None, arg1, 0)
    assert not is_valid(init, arg1)
    proc = kernel.process(pk)
    b = basic(proc, proc.start_info.arg1)
    assert b.koid == (pk if what == "process" else tk)
    assert proc.state == "running"
    if what == "process":
        # The process holds itself; its thread (init's handle) runs it.
        init.mx_handle_close(t)          # last thread gone: exits with 0
        with pytest.raises(mx.MxError):
            kernel.process(pk)           # and nothing holds it any more
        finish(kernel, init, job)
    else:
        assert pinfo(init, p).started
        init.mx_handle_close(p)          # last process handle: killed
        with pytest.raises(mx.MxError):
            kernel.process(pk)
        finish(kernel, init, job)


class StartChecker:
    """Runs failing mx_process_start calls and checks each changed nothing:
    the kernel's counts and init's whole table (so arg1, if it was a handle
    of init, is still init's, with the same value, object and rights)."""

    def __init__(self, kernel, init):
        self.kernel, self.init = kernel, init
        self.calls = 0
        self.mark()

    def mark(self):
        st = self.kernel.stats()
        self.before = (st.live_handles, st.in_transit_handles, st.live_objects)
        self.table = sorted(self.init.handles())

    def __call__(self, code, process, thread, arg1):
        e = expect(code, self.init.mx_process_start, process, thread,
                   "entry", "stack", arg1, 0)
        assert "mx_process_start" in str(e)
        st = self.kernel.stats()
        assert (st.live_handles, st.in_transit_handles, st.live_objects) \
            == self.before
        assert sorted(self.init.handles()) == self.table
        self.calls += 1


def test_process_start_errors_in_column_order(kernel, init, job):
    started = []
    kernel.on_process_start = lambda proc, si: started.append(proc)
    p = init.mx_process_create(job, "target")
    t = init.mx_thread_create(p, "main")
    a, b = init.mx_channel_create()
    ev = init.mx_event_create()
    p_nowrite = init.mx_handle_duplicate(p, PROCESS_RIGHTS & ~mx.RIGHT_WRITE)
    t_nowrite = init.mx_handle_duplicate(t, THREAD_RIGHTS & ~mx.RIGHT_WRITE)
    other_p = init.mx_process_create(job, "other")
    other_t = init.mx_thread_create(other_p, "other-main")
    notransfer = init.mx_handle_duplicate(
        ev, mx.RIGHT_READ | mx.RIGHT_WRITE | mx.RIGHT_DUPLICATE)
    gone = stale(init)
    running = spawn(kernel, init, job, name="foreign")
    foreign = running.boot               # a value of another process
    if is_valid(init, foreign):          # pragma: no cover - 2**-31 luck
        pytest.skip("the child's value happens to be valid in init too")
    started.clear()
    check = StartChecker(kernel, init)

    bad_handles = (0, -1, 2**31, 2**64, gone, foreign)
    bad_arg1s = bad_handles + (notransfer,)
    # 1. the process handle: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (WRITE),
    #    whatever is wrong with the thread and arg1
    for bad in bad_handles:
        check(mx.ERR_BAD_HANDLE, bad, t, b)
        check(mx.ERR_BAD_HANDLE, bad, 0, 0)
    check(mx.ERR_WRONG_TYPE, ev, t, b)
    check(mx.ERR_WRONG_TYPE, t, p, 0)                 # a thread as process
    check(mx.ERR_WRONG_TYPE, job, 0, 0)
    check(mx.ERR_ACCESS_DENIED, p_nowrite, t, b)
    check(mx.ERR_ACCESS_DENIED, p_nowrite, 0, 0)
    # 2. the thread handle: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (WRITE,
    #    or a thread of another process)
    for bad in bad_handles:
        check(mx.ERR_BAD_HANDLE, p, bad, b)
        check(mx.ERR_BAD_HANDLE, p, bad, 0)
    check(mx.ERR_WRONG_TYPE, p, ev, b)
    check(mx.ERR_WRONG_TYPE, p, p, 0)                 # a process as thread
    check(mx.ERR_ACCESS_DENIED, p, t_nowrite, b)
    check(mx.ERR_ACCESS_DENIED, p, t_nowrite, 0)
    check(mx.ERR_ACCESS_DENIED, p, other_t, b)
    check(mx.ERR_ACCESS_DENIED, p, other_t, 0)
    check(mx.ERR_ACCESS_DENIED, p, running.t, 0)      # started elsewhere
    # 3. arg1: anything but a handle of the caller with TRANSFER
    for bad in bad_arg1s:
        check(mx.ERR_INVALID_ARGS, p, t, bad)
    assert started == []
    # 4. state, after arg1: a started process ...
    init.mx_process_start(p, t, "e", "s", b, 0)
    assert len(started) == 1
    ev2 = init.mx_event_create()
    check.mark()
    check(mx.ERR_BAD_STATE, p, t, ev2)
    for bad in bad_arg1s:
        check(mx.ERR_INVALID_ARGS, p, t, bad)
    # ... and a dead one (never started; its thread is fine)
    init.mx_task_kill(other_p)
    check.mark()
    check(mx.ERR_BAD_STATE, other_p, other_t, ev2)
    check(mx.ERR_INVALID_ARGS, other_p, other_t, notransfer)
    check(mx.ERR_INVALID_ARGS, other_p, other_t, 0)
    # ... and a dead thread of a running process
    t3 = init.mx_thread_create(p, "third")
    init.mx_task_kill(t3)
    check.mark()
    check(mx.ERR_BAD_STATE, p, t3, ev2)
    assert len(started) == 1
    assert check.calls > 40
    finish(kernel, init, p, t, t3, a, ev, ev2, p_nowrite, t_nowrite, other_p,
           other_t, notransfer, running.p, running.t, running.peer, job)


def test_process_start_arg1_type_errors(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    ev = init.mx_event_create()
    for bad in ("1", None, 1.0, b"\x01"):
        with pytest.raises(TypeError):
            init.mx_process_start(p, t, None, None, bad, 0)
        with pytest.raises(TypeError):
            init.mx_process_start(bad, t, None, None, ev, 0)
        with pytest.raises(TypeError):
            init.mx_process_start(p, bad, None, None, ev, 0)
    assert is_valid(init, ev)
    assert not pinfo(init, p).started
    finish(kernel, init, p, t, ev, job)


def test_process_start_with_transfer_only_bootstrap(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    ev = init.mx_event_create()
    only = init.mx_handle_replace(ev, mx.RIGHT_TRANSFER)
    init.mx_process_start(p, t, None, None, only, 0)
    proc = kernel.process(koid(init, p))
    assert basic(proc, proc.start_info.arg1).rights == mx.RIGHT_TRANSFER
    finish(kernel, init, p, t, job)


def test_process_start_dead_thread_is_bad_state(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    t2 = init.mx_thread_create(p, "t2")
    init.mx_task_kill(t)
    assert terminated(init, t)
    # killing a thread of a process never started leaves the process new
    i = pinfo(init, p)
    assert (i.started, i.exited) == (False, False)
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == [koid(init, t2)]
    ev = init.mx_event_create()
    expect(mx.ERR_BAD_STATE, init.mx_process_start, p, t, None, None, ev, 0)
    assert is_valid(init, ev)
    init.mx_process_start(p, t2, None, None, ev, 0)
    assert pinfo(init, p).started
    finish(kernel, init, p, t, t2, job)


def test_on_process_start_called_in_callers_thread_after_success(init, job):
    calls = []
    k = init.kernel

    def on_start(process, start_info):
        # after success: started, and the bootstrap handle already moved
        calls.append(dict(
            process=process,
            start_info=start_info,
            thread=threading.get_ident(),
            state=process.state,
            snap=snap_process(k, process.koid)["state"],
            boot_koid=basic(process, start_info.arg1).koid,
            caller_still_has=is_valid(init, b),
            seen_start_info=process.start_info,
        ))
        # The simulator may run the child's code right here.
        if basic(process, start_info.arg1).type == mx.OBJ_TYPE_CHANNEL:
            process.mx_channel_write(start_info.arg1, b"ready")

    k.on_process_start = on_start
    p = init.mx_process_create(job, "svc")
    t = init.mx_thread_create(p, "main")
    a, b = init.mx_channel_create()
    bk = koid(init, b)
    # Failures do not call it.
    expect(mx.ERR_INVALID_ARGS, init.mx_process_start, p, t, "e", "s", 0, 9)
    assert calls == []
    init.mx_process_start(p, t, "e", "s", b, 9)
    assert len(calls) == 1
    c = calls[0]
    assert c["process"] is k.process(koid(init, p))
    assert c["start_info"] == ("e", "s", c["start_info"].arg1, 9)
    assert c["seen_start_info"] == c["start_info"]
    assert c["thread"] == threading.get_ident()
    assert c["state"] == "running" and c["snap"] == "running"
    assert c["boot_koid"] == bk
    assert c["caller_still_has"] is False
    assert init.mx_channel_read(a) == (b"ready", [])
    # Exactly once per start, also from another Python thread.
    p2 = init.mx_process_create(job, "svc2")
    t2 = init.mx_thread_create(p2, "main")
    ev = init.mx_event_create()
    th = Threads()
    th.start(init.mx_process_start, p2, t2, None, None, ev, 0, name="start")
    th.join()
    assert len(calls) == 2
    assert calls[1]["thread"] == th.threads[0].ident
    assert calls[1]["process"].koid == koid(init, p2)
    finish(k, init, p, t, a, p2, t2, job)


def test_on_process_start_keyword_of_kernel():
    seen = []
    k = mx.Kernel(seed=7, on_process_start=lambda proc, si: seen.append((proc, si)))
    init = k.init
    job = init.mx_job_create(init.mx_job_default())
    c = spawn(k, init, job, entry="main", arg2=5)
    assert len(seen) == 1
    proc, si = seen[0]
    assert proc is c.proc and si is proc.start_info
    assert si.entry == "main" and si.stack == "stack" and si.arg2 == 5
    finish(k, init, c.p, c.t, c.peer, job)
    with pytest.raises(TypeError):
        mx.Kernel(on_process_start=42)


def test_process_start_never_hits_max_handles():
    """process_start moves a handle: it never fails with NO_RESOURCES."""
    k = mx.Kernel(seed=3, max_handles=6)
    init = k.init
    job = init.mx_job_create(init.mx_job_default())      # 2 live handles
    p = init.mx_process_create(job, "p")                 # 3
    t = init.mx_thread_create(p, "t")                    # 4
    a, b = init.mx_channel_create()                      # 6: full
    expect(mx.ERR_NO_RESOURCES, init.mx_event_create)
    init.mx_process_start(p, t, None, None, b, 0)
    assert k.stats().live_handles == 6
    proc = k.process(koid(init, p))
    proc.mx_channel_write(proc.start_info.arg1, b"x")
    assert init.mx_channel_read(a) == (b"x", [])
    finish(k, init, p, t, a, job)


def test_child_makes_syscalls_and_starts_a_grandchild(kernel, init, job):
    """A child gets a job handle through its bootstrap channel and starts a
    process of its own: on_process_start sees the grandchild."""
    started = []
    kernel.on_process_start = lambda proc, si: started.append(
        (proc, si, threading.get_ident()))
    c = spawn(kernel, init, job, name="parent")
    child = c.proc
    jdup = init.mx_handle_duplicate(job, mx.RIGHT_SAME_RIGHTS)
    init.mx_channel_write(c.peer, b"here is a job", [jdup])
    data, hs = child.mx_channel_read(c.boot)
    assert data == b"here is a job" and len(hs) == 1
    cj = hs[0]
    assert basic(child, cj).koid == koid(init, job)
    sub = child.mx_job_create(cj)
    assert basic(child, sub).related_koid == koid(init, job)
    gp = child.mx_process_create(sub, "grandchild")
    gt = child.mx_thread_create(gp, "main")
    ga, gb = child.mx_channel_create()
    child.mx_process_start(gp, gt, "gentry", None, gb, 1)
    assert len(started) == 2
    gproc, gsi, ident = started[1]
    assert ident == threading.get_ident()
    assert gproc.koid == basic(child, gp).koid
    assert gproc.name == "grandchild"
    assert basic(child, gp).related_koid == basic(child, sub).koid
    assert not is_valid(child, gb)
    gproc.mx_channel_write(gsi.arg1, b"hi grandparent")
    assert child.mx_channel_read(ga) == (b"hi grandparent", [])
    # init sees the whole tree
    assert init.mx_object_get_info(job, mx.INFO_JOB_CHILDREN) == [basic(child, sub).koid]
    # The child dies: its table closes, so the grandchild's last handle goes.
    init.mx_task_kill(c.p)
    assert gproc.state == "exited"
    expect(mx.ERR_NOT_FOUND, kernel.process, gproc.koid)
    finish(kernel, init, c.p, c.t, c.peer, job)


# -- mx_thread_start ------------------------------------------------------------------

def test_thread_start_extra_thread(kernel, init, job):
    c = spawn(kernel, init, job)
    t2 = init.mx_thread_create(c.p, "worker")
    assert sorted(init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS)) == \
        sorted([koid(init, c.t), koid(init, t2)])
    assert init.mx_thread_start(t2, "worker_entry", "stack2", 1, 2) is None
    expect(mx.ERR_BAD_STATE, init.mx_thread_start, t2, None, None, 0, 0)
    # the first thread was started by process_start
    expect(mx.ERR_BAD_STATE, init.mx_thread_start, c.t, None, None, 0, 0)
    # the child can create and start threads of its own through a handle
    own = init.mx_handle_duplicate(c.p, mx.RIGHT_SAME_RIGHTS)
    init.mx_channel_write(c.peer, b"", [own])
    _, (own_c,) = c.proc.mx_channel_read(c.boot)
    t3 = c.proc.mx_thread_create(own_c, "self-made")
    c.proc.mx_thread_start(t3, None, None, 0, 0)
    assert len(init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS)) == 3
    # killing one of several threads leaves the process running
    init.mx_task_kill(t2)
    assert terminated(init, t2)
    assert not pinfo(init, c.p).exited
    assert koid(init, t2) not in init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS)
    expect(mx.ERR_BAD_STATE, init.mx_thread_start, t2, None, None, 0, 0)
    # The child holds its own handle and a running thread: closing init's
    # handles would not end it, so kill it.
    init.mx_task_kill(c.p)
    finish(kernel, init, c.p, c.t, t2, c.peer, job)


def test_thread_start_errors(kernel, init, job):
    p = init.mx_process_create(job, "new")
    t = init.mx_thread_create(p, "t")
    ev = init.mx_event_create()
    t_nowrite = init.mx_handle_duplicate(t, THREAD_RIGHTS & ~mx.RIGHT_WRITE)
    for bad in (0, -1, 2**31, 2**64, stale(init)):
        expect(mx.ERR_BAD_HANDLE, init.mx_thread_start, bad, None, None, 0, 0)
    expect(mx.ERR_WRONG_TYPE, init.mx_thread_start, ev, None, None, 0, 0)
    expect(mx.ERR_WRONG_TYPE, init.mx_thread_start, p, None, None, 0, 0)
    expect(mx.ERR_ACCESS_DENIED, init.mx_thread_start, t_nowrite, None, None, 0, 0)
    # a process never started: BAD_STATE
    expect(mx.ERR_BAD_STATE, init.mx_thread_start, t, None, None, 0, 0)
    assert not pinfo(init, p).started
    # a dead process: BAD_STATE
    c = spawn(kernel, init, job)
    t2 = init.mx_thread_create(c.p, "late")
    init.mx_task_kill(c.p)
    expect(mx.ERR_BAD_STATE, init.mx_thread_start, t2, None, None, 0, 0)
    with pytest.raises(TypeError):
        init.mx_thread_start("t", None, None, 0, 0)
    finish(kernel, init, p, t, ev, t_nowrite, c.p, c.t, t2, c.peer, job)


# -- mx_process_exit --------------------------------------------------------------------

@pytest.mark.parametrize("code", [0, 1, 5, -3, 255, 2**31, -2**31, 2**63 - 1,
                                  -2**63])
def test_process_exit_return_code(kernel, init, job, code):
    c = spawn(kernel, init, job)
    ev = c.proc.mx_event_create()
    assert c.proc.mx_process_exit(code) is None
    i = pinfo(init, c.p)
    assert (i.return_code, i.started, i.exited) == (code, True, True)
    assert terminated(init, c.p) and terminated(init, c.t)
    assert c.proc.state == "exited"
    assert snap_process(kernel, c.proc.koid)["state"] == "exited"
    assert snap_process(kernel, c.proc.koid)["handles"] == []
    assert c.proc.handles() == []
    # its table was closed: the bootstrap channel's peer is closed
    assert sigs(init, c.peer) & mx.CHANNEL_PEER_CLOSED
    expect(mx.ERR_PEER_CLOSED, init.mx_channel_write, c.peer, b"x")
    expect(mx.ERR_BAD_STATE, c.proc.mx_event_create)
    expect(mx.ERR_BAD_STATE, c.proc.mx_handle_close, ev)
    expect(mx.ERR_BAD_STATE, c.proc.mx_process_exit, 9)
    assert pinfo(init, c.p).return_code == code     # the first exit counts
    init.mx_task_kill(c.p)                          # killing the dead: no-op
    assert pinfo(init, c.p).return_code == code
    assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS) == []
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == []
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_process_exit_from_another_python_thread_wakes_waiters(kernel, init, job):
    c = spawn(kernel, init, job)
    th = Threads()
    th.start(init.mx_object_wait_one, c.p, mx.TASK_TERMINATED,
             mx.TIME_INFINITE, name="proc")
    th.start(init.mx_object_wait_one, c.t, mx.TASK_TERMINATED,
             mx.TIME_INFINITE, name="thread")
    time.sleep(BLOCK_DELAY)
    worker = threading.Thread(target=c.proc.mx_process_exit, args=(17,))
    worker.start()
    worker.join(JOIN)
    th.join()
    assert th.results["proc"] & mx.TASK_TERMINATED
    assert th.results["thread"] & mx.TASK_TERMINATED
    assert pinfo(init, c.p).return_code == 17
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_init_exit_in_its_own_kernel():
    k = mx.Kernel(seed=11)
    init = k.init
    ev = init.mx_event_create()
    init.mx_process_exit(4)
    assert init.state == "exited"
    expect(mx.ERR_BAD_STATE, init.mx_job_default)
    expect(mx.ERR_BAD_STATE, init.mx_event_create)
    expect(mx.ERR_BAD_STATE, init.mx_handle_close, ev)
    st = k.stats()
    assert st.live_handles == 0 and st.live_objects["event"] == 0
    assert k.process(init.koid) is init     # the kernel still holds init
    snap = snap_process(k, init.koid)
    assert snap["state"] == "exited" and snap["handles"] == []


# -- mx_task_kill ------------------------------------------------------------------------

def test_task_kill_errors_in_column_order(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    ev = init.mx_event_create()
    ev0 = init.mx_handle_duplicate(ev, 0)
    a, b = init.mx_channel_create()
    port = init.mx_port_create()
    e0, e1 = init.mx_eventpair_create()
    for bad in (0, -1, 2**31, 2**64, stale(init)):
        expect(mx.ERR_BAD_HANDLE, init.mx_task_kill, bad)
    for h in (ev, ev0, a, port, e0):
        expect(mx.ERR_WRONG_TYPE, init.mx_task_kill, h)
    for h, rights in ((job, JOB_RIGHTS), (p, PROCESS_RIGHTS), (t, THREAD_RIGHTS)):
        nw = init.mx_handle_duplicate(h, rights & ~mx.RIGHT_WRITE)
        expect(mx.ERR_ACCESS_DENIED, init.mx_task_kill, nw)
        none = init.mx_handle_duplicate(h, 0)
        expect(mx.ERR_ACCESS_DENIED, init.mx_task_kill, none)
        w = init.mx_handle_duplicate(h, mx.RIGHT_WRITE)  # WRITE alone is enough
        init.mx_handle_close_many([nw, none])
        init.mx_handle_close(w)
    # nothing died
    assert not terminated(init, t) and not pinfo(init, p).exited
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == [koid(init, p)]
    with pytest.raises(TypeError):
        init.mx_task_kill("p")
    finish(kernel, init, p, t, ev, ev0, a, b, port, e0, e1, job)


def test_task_kill_with_write_only_handle(kernel, init, job):
    c = spawn(kernel, init, job)
    w = init.mx_handle_duplicate(c.p, mx.RIGHT_WRITE)
    init.mx_task_kill(w)
    i = pinfo(init, c.p)
    assert i.exited and i.return_code == -1
    sub = init.mx_job_create(job)
    wj = init.mx_handle_duplicate(sub, mx.RIGHT_WRITE)
    init.mx_task_kill(wj)
    expect(mx.ERR_BAD_STATE, init.mx_job_create, sub)
    finish(kernel, init, w, wj, sub, c.p, c.t, c.peer, job)


@pytest.mark.parametrize("started", [True, False])
def test_task_kill_process(kernel, init, job, started):
    if started:
        c = spawn(kernel, init, job)
        p, t, proc = c.p, c.t, c.proc
        extra = [c.peer]
    else:
        p = init.mx_process_create(job, "new")
        t = init.mx_thread_create(p, "t")
        proc = kernel.process(koid(init, p))
        extra = []
    t2 = init.mx_thread_create(p, "second")
    pk = koid(init, p)
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == [pk]
    init.mx_task_kill(p)
    i = pinfo(init, p)
    assert (i.return_code, i.started, i.exited) == (-1, started, True)
    assert terminated(init, p)
    assert terminated(init, t) and terminated(init, t2)
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == []
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == []
    assert proc.state == "exited"
    assert snap_process(kernel, pk)["state"] == "exited"
    assert kernel.process(pk) is proc        # still held by init's handles
    # killing again is harmless and changes nothing
    init.mx_task_kill(p)
    init.mx_task_kill(t)
    assert pinfo(init, p).return_code == -1
    expect(mx.ERR_BAD_STATE, init.mx_process_start, p, t, None, None, job, 0)
    assert is_valid(init, job)
    finish(kernel, init, p, t, t2, job, *extra)
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)


def test_killing_the_last_thread_exits_with_zero(kernel, init, job):
    c = spawn(kernel, init, job)
    t2 = init.mx_thread_create(c.p, "second")
    init.mx_thread_start(t2, None, None, 0, 0)
    init.mx_task_kill(c.t)
    assert terminated(init, c.t)
    i = pinfo(init, c.p)
    assert (i.started, i.exited) == (True, False)
    assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS) == [koid(init, t2)]
    init.mx_task_kill(t2)
    i = pinfo(init, c.p)
    assert (i.return_code, i.started, i.exited) == (0, True, True)
    assert terminated(init, c.p)
    assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS) == []
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == []
    expect(mx.ERR_BAD_STATE, c.proc.mx_event_create)
    assert sigs(init, c.peer) & mx.CHANNEL_PEER_CLOSED
    finish(kernel, init, c.p, c.t, t2, c.peer, job)


def test_unstarted_thread_does_not_keep_a_process_running(kernel, init, job):
    """A created but never started thread is not a live thread of the
    process: when the running one dies, the process exits."""
    c = spawn(kernel, init, job)
    idle = init.mx_thread_create(c.p, "idle")
    init.mx_task_kill(c.t)
    i = pinfo(init, c.p)
    # Magenta counts only running threads; either way the process must
    # not be left half alive: if it still runs, the idle thread can start.
    if i.exited:
        assert i.return_code == 0
        assert terminated(init, idle)
    else:
        init.mx_thread_start(idle, None, None, 0, 0)
        init.mx_task_kill(idle)
        assert pinfo(init, c.p).exited and pinfo(init, c.p).return_code == 0
    finish(kernel, init, c.p, c.t, idle, c.peer, job)


def test_exit_code_survives_later_thread_kill(kernel, init, job):
    c = spawn(kernel, init, job)
    c.proc.mx_process_exit(12)
    init.mx_task_kill(c.t)
    assert pinfo(init, c.p).return_code == 12
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_process_kills_itself(kernel, init, job):
    c = spawn(kernel, init, job)
    own = init.mx_handle_duplicate(c.p, mx.RIGHT_SAME_RIGHTS)
    init.mx_channel_write(c.peer, b"", [own])
    _, (mine,) = c.proc.mx_channel_read(c.boot)
    c.proc.mx_task_kill(mine)
    i = pinfo(init, c.p)
    assert i.exited and i.return_code == -1
    expect(mx.ERR_BAD_STATE, c.proc.mx_task_kill, mine)
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_task_kill_job_kills_everything_below(kernel, init, root):
    top = init.mx_job_create(root)
    mid = init.mx_job_create(top)
    leaf = init.mx_job_create(mid)
    sibling = init.mx_job_create(top)
    outside = init.mx_job_create(root)
    kids = [spawn(kernel, init, j, name=n) for j, n in
            ((top, "top"), (mid, "mid"), (leaf, "leaf"), (leaf, "leaf2"),
             (sibling, "sib"))]
    new = init.mx_process_create(mid, "never-started")
    survivor = spawn(kernel, init, outside, name="outside")
    init.mx_task_kill(top)
    for c in kids:
        i = pinfo(init, c.p)
        assert (i.exited, i.return_code) == (True, -1), c.proc.name
        assert terminated(init, c.p) and terminated(init, c.t)
        assert sigs(init, c.peer) & mx.CHANNEL_PEER_CLOSED
    assert pinfo(init, new).exited and pinfo(init, new).return_code == -1
    for j in (top, mid, leaf, sibling):
        assert init.mx_object_get_info(j, mx.INFO_JOB_PROCESSES) == []
        expect(mx.ERR_BAD_STATE, init.mx_job_create, j)
        expect(mx.ERR_BAD_STATE, init.mx_process_create, j, "late")
    # ... and nothing outside it
    assert not pinfo(init, survivor.p).exited
    assert init.mx_object_get_info(outside, mx.INFO_JOB_PROCESSES) == \
        [survivor.proc.koid]
    x = init.mx_job_create(outside)
    assert sorted(init.mx_object_get_info(root, mx.INFO_JOB_PROCESSES)) == [init.koid]
    assert not pinfo(init, survivor.p).exited
    # killing a killed job again is harmless
    init.mx_task_kill(top)
    hs = [top, mid, leaf, sibling, outside, new, x, survivor.p, survivor.t,
          survivor.peer]
    for c in kids:
        hs += [c.p, c.t, c.peer]
    finish(kernel, init, *hs)


def test_killing_a_process_kills_those_it_held_the_last_handle_of(kernel, init, root):
    j = init.mx_job_create(root)
    c = spawn(kernel, init, j, name="a")
    p2 = init.mx_process_create(j, "b")
    t2 = init.mx_thread_create(p2, "main")
    init.mx_process_start(p2, t2, None, None, c.p, 0)   # a's handle moves to b
    assert not is_valid(init, c.p)
    pk2 = koid(init, p2)
    assert c.proc.state == "running"
    init.mx_handle_close(p2)        # b's last handle: b is killed (rule 2),
    assert kernel.process(pk2).state == "exited"
    assert terminated(init, t2)
    # and b's table held a's last handle: a is killed too.
    assert c.proc.state == "exited"
    assert terminated(init, c.t)
    assert sigs(init, c.peer) & mx.CHANNEL_PEER_CLOSED
    assert init.mx_object_get_info(j, mx.INFO_JOB_PROCESSES) == []
    finish(kernel, init, t2, c.t, c.peer, j)


@pytest.mark.parametrize("depth", [2000])
def test_kill_deep_job_tree_without_recursion(kernel, init, root, depth):
    jobs = [init.mx_job_create(root)]
    for _ in range(depth - 1):
        jobs.append(init.mx_job_create(jobs[-1]))
    kids = [spawn(kernel, init, jobs[i], name="p%d" % i)
            for i in range(0, depth, 250)] + \
        [spawn(kernel, init, jobs[-1], name="deepest")]
    assert basic(init, jobs[-1]).related_koid == koid(init, jobs[-2])
    init.mx_task_kill(jobs[0])
    for c in kids:
        assert pinfo(init, c.p).exited and pinfo(init, c.p).return_code == -1
    expect(mx.ERR_BAD_STATE, init.mx_process_create, jobs[-1], "late")
    expect(mx.ERR_BAD_STATE, init.mx_job_create, jobs[depth // 2])
    hs = []
    for c in kids:
        hs += [c.p, c.t, c.peer]
    # Close the kids, then the jobs from the top down: every job stays
    # alive through its children's references until the leaf goes.
    init.mx_handle_close_many(hs)
    init.mx_handle_close_many(jobs[:-1])
    assert kernel.stats().live_objects["job"] == depth + 1
    init.mx_handle_close(jobs[-1])
    finish(kernel, init)


def test_kill_deep_job_tree_held_only_at_the_ends(kernel, init, root):
    """2,000 nested jobs, init holding only the top and the leaf: killing
    the top reaches the leaf's process through jobs nobody has a handle to."""
    depth = 2000
    top = init.mx_job_create(root)
    j = top
    for _ in range(depth - 1):
        nj = init.mx_job_create(j)
        if j != top:
            init.mx_handle_close(j)
        j = nj
    leaf = j
    c = spawn(kernel, init, leaf, name="leaf")
    assert kernel.stats().live_objects["job"] == depth + 1
    init.mx_task_kill(top)
    assert pinfo(init, c.p).return_code == -1
    init.mx_handle_close(top)
    finish(kernel, init, c.p, c.t, c.peer, leaf)


def test_kill_wide_job_tree(kernel, init, root):
    top = init.mx_job_create(root)
    subs = [init.mx_job_create(top) for _ in range(300)]
    subsubs = [init.mx_job_create(s) for s in subs[::10] for _ in range(10)]
    kids = [spawn(kernel, init, s, name="w") for s in subs[::30] + subsubs[::25]]
    assert len(init.mx_object_get_info(top, mx.INFO_JOB_CHILDREN)) == 300
    init.mx_task_kill(top)
    assert all(pinfo(init, c.p).return_code == -1 for c in kids)
    for s in subs + subsubs:
        expect(mx.ERR_BAD_STATE, init.mx_job_create, s)
    hs = [top] + subs + subsubs
    for c in kids:
        hs += [c.p, c.t, c.peer]
    finish(kernel, init, *hs)


DEEP_SCRIPT = textwrap.dedent("""
    import mxhandles as mx
    k = mx.Kernel(seed=1)
    init = k.init
    top = init.mx_job_create(init.mx_job_default())
    j = top
    for _ in range({depth}):
        nj = init.mx_job_create(j)
        if j != top:
            init.mx_handle_close(j)
        j = nj
    p = init.mx_process_create(j, "deep")
    t = init.mx_thread_create(p, "t")
    a, b = init.mx_channel_create()
    init.mx_process_start(p, t, None, None, b, 0)
    init.mx_task_kill(top)
    assert init.mx_object_get_info(p, mx.INFO_PROCESS).return_code == -1
    init.mx_handle_close_many([top, j, p, t, a])
    k.collect()
    st = k.stats()
    assert st.live_handles == 1, st
    assert st.live_objects["job"] == 1, st
    print("deep ok")
""")


def test_kill_and_destroy_very_deep_job_chain_in_a_subprocess():
    """200,000 nested jobs: killing the top and then dropping the chain must
    not recurse (a C stack overflow would kill the interpreter, hence the
    subprocess)."""
    r = subprocess.run([sys.executable, "-c", DEEP_SCRIPT.format(depth=200000)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert "deep ok" in r.stdout


# -- death rules -------------------------------------------------------------------------------

def test_closing_last_process_handle_kills_it(kernel, init, job):
    c = spawn(kernel, init, job)
    pk = c.proc.koid
    dup = init.mx_handle_duplicate(c.p, mx.RIGHT_SAME_RIGHTS)
    init.mx_handle_close(c.p)
    assert not pinfo(init, dup).exited           # another handle remains
    init.mx_handle_close(dup)
    # The thread (init's handle) keeps the object: it answers, exited.
    proc = kernel.process(pk)
    assert proc.state == "exited"
    assert snap_process(kernel, pk)["state"] == "exited"
    assert terminated(init, c.t)
    assert sigs(init, c.peer) & mx.CHANNEL_PEER_CLOSED
    expect(mx.ERR_BAD_STATE, proc.mx_event_create)
    init.mx_handle_close(c.t)
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)
    finish(kernel, init, c.peer, job)


def test_closing_last_handle_of_unstarted_process(kernel, init, job):
    p = init.mx_process_create(job, "p")
    pk = koid(init, p)
    init.mx_handle_close(p)
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == []
    finish(kernel, init, job)


def test_closing_last_thread_handle_kills_the_thread(kernel, init, job):
    c = spawn(kernel, init, job)
    t2 = init.mx_thread_create(c.p, "worker")
    init.mx_thread_start(t2, None, None, 0, 0)
    k2 = koid(init, t2)
    watch = init.mx_handle_duplicate(t2, mx.RIGHT_READ)
    init.mx_handle_close(t2)
    assert not terminated(init, watch)           # another handle remains
    init.mx_handle_close(watch)
    assert k2 not in init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS)
    assert not pinfo(init, c.p).exited
    # the last thread's last handle: the process exits with 0
    init.mx_handle_close(c.t)
    i = pinfo(init, c.p)
    assert (i.exited, i.return_code) == (True, 0)
    assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS) == []
    finish(kernel, init, c.p, c.peer, job)


def test_handles_moved_into_a_process_die_with_it(kernel, init, job):
    """Objects whose handles the dead process held lose them (rule 4)."""
    c = spawn(kernel, init, job)
    ev = init.mx_event_create()
    e0, e1 = init.mx_eventpair_create()
    x0, x1 = init.mx_channel_create()
    init.mx_channel_write(c.peer, b"gifts", [ev, e1, x1])
    data, gifts = c.proc.mx_channel_read(c.boot)
    assert len(gifts) == 3
    c.proc.mx_event_create()                     # one of its own
    assert len(c.proc.handles()) == 5
    live_before = kernel.stats().live_handles
    init.mx_task_kill(c.p)
    assert kernel.stats().live_handles == live_before - 5
    assert sigs(init, e0) & mx.EPAIR_PEER_CLOSED
    assert sigs(init, x0) & mx.CHANNEL_PEER_CLOSED
    assert kernel.stats().live_objects["event"] == 0     # ev and made
    finish(kernel, init, c.p, c.t, c.peer, e0, x0, job)


DEAD_CALLS = [
    ("handle_close", lambda d, h: d.mx_handle_close(h)),
    ("handle_close_0", lambda d, h: d.mx_handle_close(0)),
    ("handle_close_many", lambda d, h: d.mx_handle_close_many([h, 0, h])),
    ("handle_duplicate", lambda d, h: d.mx_handle_duplicate(h, 2**40)),
    ("handle_replace", lambda d, h: d.mx_handle_replace(h, -1)),
    ("event_create", lambda d, h: d.mx_event_create()),
    ("event_create_opts", lambda d, h: d.mx_event_create(7)),
    ("event_create_range", lambda d, h: d.mx_event_create(2**40)),
    ("eventpair_create", lambda d, h: d.mx_eventpair_create(1)),
    ("channel_create", lambda d, h: d.mx_channel_create()),
    ("channel_write", lambda d, h: d.mx_channel_write(h, b"x")),
    ("channel_write_bad", lambda d, h: d.mx_channel_write(
        0, b"x" * 70000, [0, h], options=2**33)),
    ("channel_read", lambda d, h: d.mx_channel_read(h)),
    ("channel_read_opts", lambda d, h: d.mx_channel_read(0, options=5)),
    ("channel_call", lambda d, h: d.mx_channel_call(h, b"1234", deadline=0)),
    ("channel_call_bad", lambda d, h: d.mx_channel_call(0, b"", deadline=-1)),
    ("object_signal", lambda d, h: d.mx_object_signal(h, 0, mx.USER_SIGNAL_0)),
    ("object_signal_range", lambda d, h: d.mx_object_signal(0, 2**40, 0)),
    ("object_signal_peer", lambda d, h: d.mx_object_signal_peer(h, 0, 0)),
    ("wait_one", lambda d, h: d.mx_object_wait_one(h, ALL, 0)),
    ("wait_one_range", lambda d, h: d.mx_object_wait_one(0, 2**40, -1)),
    ("wait_many", lambda d, h: d.mx_object_wait_many([(h, 1)], 0)),
    ("wait_many_empty", lambda d, h: d.mx_object_wait_many([], 0)),
    ("port_create", lambda d, h: d.mx_port_create()),
    ("port_create_opts", lambda d, h: d.mx_port_create(1)),
    ("wait_async", lambda d, h: d.mx_object_wait_async(h, 0, -1, 1, 99)),
    ("port_queue", lambda d, h: d.mx_port_queue(h, mx.PortPacket(1))),
    ("port_wait", lambda d, h: d.mx_port_wait(h, 0)),
    ("port_cancel", lambda d, h: d.mx_port_cancel(h, h, 0)),
    ("info_valid", lambda d, h: d.mx_object_get_info(h, mx.INFO_HANDLE_VALID)),
    ("info_basic", lambda d, h: d.mx_object_get_info(h, mx.INFO_HANDLE_BASIC)),
    ("info_basic_0", lambda d, h: d.mx_object_get_info(0, mx.INFO_HANDLE_BASIC)),
    ("info_process", lambda d, h: d.mx_object_get_info(h, mx.INFO_PROCESS)),
    ("info_threads", lambda d, h: d.mx_object_get_info(h, mx.INFO_PROCESS_THREADS)),
    ("info_children", lambda d, h: d.mx_object_get_info(h, mx.INFO_JOB_CHILDREN)),
    ("info_handles", lambda d, h: d.mx_object_get_info(h, mx.INFO_PROCESS_HANDLES)),
    ("info_unknown_topic", lambda d, h: d.mx_object_get_info(h, 12345)),
    ("job_default", lambda d, h: d.mx_job_default()),
    ("job_create", lambda d, h: d.mx_job_create(h)),
    ("job_create_bad", lambda d, h: d.mx_job_create(0, 2**40)),
    ("process_create", lambda d, h: d.mx_process_create(h, "x")),
    ("process_create_bad", lambda d, h: d.mx_process_create(0, "x", 1)),
    ("thread_create", lambda d, h: d.mx_thread_create(h, "x")),
    ("process_start", lambda d, h: d.mx_process_start(h, h, None, None, h, 0)),
    ("process_start_0", lambda d, h: d.mx_process_start(0, 0, None, None, 0, 0)),
    ("thread_start", lambda d, h: d.mx_thread_start(h, None, None, 0, 0)),
    ("process_exit", lambda d, h: d.mx_process_exit(3)),
    ("task_kill", lambda d, h: d.mx_task_kill(h)),
    ("task_kill_0", lambda d, h: d.mx_task_kill(0)),
]


@pytest.mark.parametrize("how", ["kill", "exit", "job", "last_thread",
                                 "last_handle"])
def test_dead_process_syscalls_raise_bad_state_first(kernel, init, root, how):
    job = init.mx_job_create(root)
    c = spawn(kernel, init, job)
    d = c.proc
    # h: a value that named a handle of the dead process (its bootstrap)
    h = c.boot
    own = init.mx_handle_duplicate(c.p, mx.RIGHT_SAME_RIGHTS)
    init.mx_channel_write(c.peer, b"", [own])
    _, (own_c,) = d.mx_channel_read(h)
    p = c.p
    if how == "kill":
        init.mx_task_kill(p)
    elif how == "exit":
        d.mx_process_exit(8)
    elif how == "job":
        init.mx_task_kill(job)
    elif how == "last_thread":
        init.mx_task_kill(c.t)
    elif how == "last_handle":
        # the child holds a handle to itself: transfer it back, then close
        init.mx_handle_close(p)
        p = None
        d.mx_handle_close(own_c)
    assert d.state == "exited"
    failures = []
    for name, call in DEAD_CALLS:
        for value in (h, own_c):
            try:
                call(d, value)
            except mx.MxError as e:
                if e.status != mx.ERR_BAD_STATE:
                    failures.append((name, value, e.name))
            else:
                failures.append((name, value, "no error"))
    assert failures == []
    expect_code = {"kill": -1, "exit": 8, "job": -1, "last_thread": 0,
                   "last_handle": -1}[how]
    if p is not None:
        assert pinfo(init, p).return_code == expect_code
    finish(kernel, init, p, c.t, c.peer, job)


def _blocked_call(kind, proc, boot):
    """Starts `kind` of blocking call as `proc` in a helper thread; returns
    (Threads, extra handles of proc)."""
    th = Threads()
    if kind == "wait_one":
        ev = proc.mx_event_create()
        th.start(proc.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                 mx.TIME_INFINITE, name="r")
    elif kind == "wait_many":
        ev = proc.mx_event_create()
        th.start(proc.mx_object_wait_many,
                 [(ev, mx.EVENT_SIGNALED), (boot, mx.CHANNEL_READABLE)],
                 mx.TIME_INFINITE, name="r")
    elif kind == "port_wait":
        port = proc.mx_port_create()
        th.start(proc.mx_port_wait, port, mx.TIME_INFINITE, name="r")
    elif kind == "channel_call":
        th.start(proc.mx_channel_call, boot, struct.pack("<I", 7) + b"req",
                 (), mx.TIME_INFINITE, name="r")
    elif kind == "wait_one_deadline":
        ev = proc.mx_event_create()
        th.start(proc.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
                 mx.deadline_after(JOIN_NS), name="r")
    else:
        raise AssertionError(kind)
    return th


@pytest.mark.parametrize("kind", ["wait_one", "wait_many", "port_wait",
                                  "channel_call", "wait_one_deadline"])
@pytest.mark.parametrize("how", ["kill", "exit", "job", "last_thread",
                                 "last_handle"])
def test_blocked_calls_of_a_dying_process_are_canceled(kernel, init, root,
                                                       kind, how):
    job = init.mx_job_create(root)
    c = spawn(kernel, init, job)
    th = _blocked_call(kind, c.proc, c.boot)
    time.sleep(BLOCK_DELAY)
    assert th.threads[0].is_alive()
    watcher = Threads()
    watcher.start(init.mx_object_wait_one, c.t, mx.TASK_TERMINATED,
                  mx.TIME_INFINITE, name="t")
    t0 = time.monotonic()
    p = c.p
    if how == "kill":
        init.mx_task_kill(p)
    elif how == "exit":
        c.proc.mx_process_exit(0)
    elif how == "job":
        init.mx_task_kill(job)
    elif how == "last_thread":
        init.mx_task_kill(c.t)
    elif how == "last_handle":
        init.mx_handle_close(p)
        p = None
    with pytest.raises(mx.MxError) as ei:
        th.join()
    assert time.monotonic() - t0 < 5.0
    if kind == "channel_call":
        assert status(ei) == mx.ERR_CALL_FAILED
        assert ei.value.read_status == mx.ERR_CANCELED
    else:
        assert status(ei) == mx.ERR_CANCELED
    watcher.join()
    assert watcher.results["t"] & mx.TASK_TERMINATED
    if p is not None:
        assert terminated(init, p) and pinfo(init, p).exited
    # A reply that comes now goes nowhere and breaks nothing.
    if kind == "channel_call":
        expect(mx.ERR_PEER_CLOSED, init.mx_channel_write, c.peer,
               struct.pack("<I", 7))
    finish(kernel, init, p, c.t, c.peer, job)


def test_blocked_call_in_another_process_is_not_canceled(kernel, init, job):
    """init waits on an object the dying process also waits on: only the
    dying process's wait ends."""
    c = spawn(kernel, init, job)
    ev = init.mx_event_create()
    dup = init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
    init.mx_channel_write(c.peer, b"", [dup])
    _, (cev,) = c.proc.mx_channel_read(c.boot)
    mine, theirs = Threads(), Threads()
    mine.start(init.mx_object_wait_one, ev, mx.EVENT_SIGNALED,
               mx.TIME_INFINITE, name="init")
    theirs.start(c.proc.mx_object_wait_one, cev, mx.EVENT_SIGNALED,
                 mx.TIME_INFINITE, name="child")
    time.sleep(BLOCK_DELAY)
    init.mx_task_kill(c.p)
    with pytest.raises(mx.MxError) as ei:
        theirs.join()
    assert status(ei) == mx.ERR_CANCELED
    time.sleep(0.02)
    assert mine.threads[0].is_alive()
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED)
    mine.join()
    assert mine.results["init"] == mx.EVENT_SIGNALED
    finish(kernel, init, ev, c.p, c.t, c.peer, job)


def test_init_waits_for_task_terminated_while_another_thread_kills(kernel, init, job):
    c = spawn(kernel, init, job)
    th = Threads()
    th.start(init.mx_object_wait_many,
             [(c.p, mx.TASK_TERMINATED), (c.t, mx.TASK_TERMINATED)],
             mx.TIME_INFINITE, name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_task_kill(c.p)
    th.join()
    obs = th.results["w"]
    # wait_many wakes at the first item asserted (the threads die before
    # their process, so that may be the thread alone); both end up set.
    assert (obs[0] | obs[1]) & mx.TASK_TERMINATED
    assert terminated(init, c.p) and terminated(init, c.t)
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_task_terminated_is_not_user_settable(kernel, init, job):
    c = spawn(kernel, init, job)
    expect(mx.ERR_INVALID_ARGS, init.mx_object_signal, c.p, 0, mx.TASK_TERMINATED)
    expect(mx.ERR_INVALID_ARGS, init.mx_object_signal, c.t, 0, mx.TASK_TERMINATED)
    init.mx_object_signal(c.p, 0, mx.USER_SIGNAL_3)
    assert sigs(init, c.p) == mx.USER_SIGNAL_3
    init.mx_task_kill(c.p)
    assert sigs(init, c.p) == mx.USER_SIGNAL_3 | mx.TASK_TERMINATED
    # clearing user bits leaves the kernel's bit alone
    init.mx_object_signal(c.p, mx.USER_SIGNAL_ALL, 0)
    assert sigs(init, c.p) == mx.TASK_TERMINATED
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_dead_tasks_vanish_from_enumerations(kernel, init, job):
    kids = [spawn(kernel, init, job, name="k%d" % i) for i in range(4)]
    pk = [c.proc.koid for c in kids]
    assert sorted(init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES)) == sorted(pk)
    extra = [init.mx_thread_create(kids[0].p, "x%d" % i) for i in range(3)]
    for t in extra:
        init.mx_thread_start(t, None, None, 0, 0)
    tk = [koid(init, t) for t in [kids[0].t] + extra]
    assert sorted(init.mx_object_get_info(kids[0].p, mx.INFO_PROCESS_THREADS)) == sorted(tk)
    init.mx_task_kill(extra[1])
    assert sorted(init.mx_object_get_info(kids[0].p, mx.INFO_PROCESS_THREADS)) == \
        sorted(tk[:2] + tk[3:])
    init.mx_task_kill(kids[1].p)                 # killed
    kids[2].proc.mx_process_exit(0)              # exited
    init.mx_task_kill(kids[3].t)                 # last thread died
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == [pk[0]]
    for c in kids[1:]:
        assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_THREADS) == []
    # still listed in the snapshot (not destroyed), as exited
    for c in kids[1:]:
        assert snap_process(kernel, c.proc.koid)["state"] == "exited"
    hs = extra + [job]
    for c in kids:
        hs += [c.p, c.t, c.peer]
    finish(kernel, init, *hs)


# -- Kernel.process -----------------------------------------------------------------------

def test_kernel_process_lookup(kernel, init, job):
    assert kernel.process(init.koid) is init
    ev = init.mx_event_create()
    for bad in (0, 1, koid(init, ev), koid(init, job), 2**63, 2**64 + 5, -1):
        expect(mx.ERR_NOT_FOUND, kernel.process, bad)
    with pytest.raises(TypeError):
        kernel.process("1")
    c = spawn(kernel, init, job)
    pk, tk = c.proc.koid, koid(init, c.t)
    expect(mx.ERR_NOT_FOUND, kernel.process, tk)       # a thread's koid
    assert kernel.process(pk) is c.proc
    init.mx_task_kill(c.p)
    # exited, still held: answers, and its syscalls raise BAD_STATE
    assert kernel.process(pk) is c.proc
    assert kernel.process(pk).state == "exited"
    expect(mx.ERR_BAD_STATE, kernel.process(pk).mx_event_create)
    init.mx_handle_close(c.p)
    assert kernel.process(pk).state == "exited"         # the thread holds it
    init.mx_handle_close(c.t)
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)
    # a stale view never touches freed memory
    expect(mx.ERR_BAD_STATE, c.proc.mx_event_create)
    assert c.proc.handles() == []
    finish(kernel, init, ev, c.peer, job)


def test_kernel_process_answers_while_only_a_channel_holds_it(kernel, init, job):
    c = spawn(kernel, init, job)
    pk = c.proc.koid
    x0, x1 = init.mx_channel_create()
    init.mx_task_kill(c.p)
    init.mx_channel_write(x0, b"", [c.p, c.t])          # in transit
    assert kernel.process(pk).state == "exited"
    init.mx_handle_close(x1)                             # destroys the queue
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)
    finish(kernel, init, x0, c.peer, job)


def test_kernels_do_not_share_processes():
    k1, k2 = mx.Kernel(seed=1), mx.Kernel(seed=1)
    j1 = k1.init.mx_job_create(k1.init.mx_job_default())
    p1 = k1.init.mx_process_create(j1, "only-in-k1")
    pk = koid(k1.init, p1)
    assert k1.process(pk).name == "only-in-k1"
    assert k1.process(pk).kernel is k1
    try:
        other = k2.process(pk)
    except mx.MxError as e:
        assert e.status == mx.ERR_NOT_FOUND
    else:
        assert other.kernel is k2 and other is not k1.process(pk)
    finish(k1, k1.init, p1, j1)
    assert_baseline(k2)


# -- Magenta's process-test scenarios -------------------------------------------------------------

def test_two_processes_holding_each_others_last_handle_end_together(kernel, init, job):
    pa = init.mx_process_create(job, "a")
    pb = init.mx_process_create(job, "b")
    ta = init.mx_thread_create(pa, "a-main")
    tb = init.mx_thread_create(pb, "b-main")
    ka, kb = koid(init, pa), koid(init, pb)
    init.mx_process_start(pa, ta, None, None,
                          init.mx_handle_duplicate(pb, mx.RIGHT_SAME_RIGHTS), 0)
    init.mx_process_start(pb, tb, None, None,
                          init.mx_handle_duplicate(pa, mx.RIGHT_SAME_RIGHTS), 0)
    A, B = kernel.process(ka), kernel.process(kb)
    assert basic(A, A.start_info.arg1).koid == kb
    assert basic(B, B.start_info.arg1).koid == ka
    init.mx_handle_close_many([pa, pb])
    # Each holds the other: both still run.
    assert A.state == B.state == "running"
    assert kernel.collect() == 0                 # live processes are roots
    assert A.state == B.state == "running"
    # One thread dies: a exits (last thread), its table closes, which
    # drops b's last handle: b is killed.
    init.mx_task_kill(ta)
    assert A.state == "exited" and B.state == "exited"
    assert terminated(init, ta) and terminated(init, tb)
    assert snap_process(kernel, ka)["state"] == "exited"
    assert snap_process(kernel, kb)["state"] == "exited"
    init.mx_handle_close(ta)
    expect(mx.ERR_NOT_FOUND, kernel.process, ka)
    init.mx_handle_close(tb)
    expect(mx.ERR_NOT_FOUND, kernel.process, kb)
    finish(kernel, init, job)


def test_mutual_processes_with_an_outside_watcher(kernel, init, job):
    """As above, but init keeps a read-only handle to each: when b's last
    thread goes, b exits, and a lives on until init's watcher of a goes."""
    pa = init.mx_process_create(job, "a")
    pb = init.mx_process_create(job, "b")
    ta = init.mx_thread_create(pa, "a-main")
    tb = init.mx_thread_create(pb, "b-main")
    init.mx_process_start(pa, ta, None, None,
                          init.mx_handle_duplicate(pb, mx.RIGHT_SAME_RIGHTS), 0)
    init.mx_process_start(pb, tb, None, None,
                          init.mx_handle_duplicate(pa, mx.RIGHT_SAME_RIGHTS), 0)
    wa = init.mx_handle_duplicate(pa, mx.RIGHT_READ)
    wb = init.mx_handle_duplicate(pb, mx.RIGHT_READ)
    init.mx_handle_close_many([pa, pb])
    init.mx_handle_close(tb)                     # b's last thread: b exits
    assert pinfo(init, wb).exited and pinfo(init, wb).return_code == 0
    # b's table held a's handle, but init's watcher wa still holds a.
    assert not pinfo(init, wa).exited
    init.mx_handle_close(wa)                     # a's last handle: killed
    assert terminated(init, ta)
    finish(kernel, init, ta, wb, job)


def test_mutual_processes_without_watchers_end_together(kernel, init, job):
    pa = init.mx_process_create(job, "a")
    pb = init.mx_process_create(job, "b")
    ta = init.mx_thread_create(pa, "a-main")
    tb = init.mx_thread_create(pb, "b-main")
    ka, kb = koid(init, pa), koid(init, pb)
    init.mx_process_start(pa, ta, None, None,
                          init.mx_handle_duplicate(pb, mx.RIGHT_SAME_RIGHTS), 0)
    init.mx_process_start(pb, tb, None, None,
                          init.mx_handle_duplicate(pa, mx.RIGHT_SAME_RIGHTS), 0)
    init.mx_handle_close_many([pa, pb])
    init.mx_handle_close(tb)                     # b's thread dies with its handle
    # b exited, dropping a's last handle: a was killed.  Only ta keeps a.
    assert kernel.process(ka).state == "exited"
    expect(mx.ERR_NOT_FOUND, kernel.process, kb)
    assert terminated(init, ta)
    finish(kernel, init, ta, job)


def test_cycle_through_a_channel_survives_until_the_job_is_killed(kernel, init, root):
    j = init.mx_job_create(root)
    c = spawn(kernel, init, j, name="self-holder")
    pk, tk = c.proc.koid, koid(init, c.t)
    # init hands the process its own handle and its thread's, in a message
    # the process could read on its bootstrap channel, then lets go of all.
    init.mx_channel_write(c.peer, b"yourself", [c.p, c.t])
    init.mx_handle_close(c.peer)
    assert sorted(init.handles()) == sorted([
            (root, koid(init, root), mx.OBJ_TYPE_JOB, JOB_RIGHTS),
            (j, koid(init, j), mx.OBJ_TYPE_JOB, JOB_RIGHTS)])
    proc = kernel.process(pk)
    assert proc.state == "running"
    # It is alive, so it is a root: collect() reclaims nothing of it.
    assert kernel.collect() == 0
    assert proc.state == "running"
    st = kernel.stats()
    assert st.in_transit_handles == 2
    assert st.live_objects["process"] == 2 and st.live_objects["thread"] == 2
    assert init.mx_object_get_info(j, mx.INFO_JOB_PROCESSES) == [pk]
    msgs = kernel.snapshot()["messages"]
    assert [sorted(m["handle_koids"]) for m in msgs] == [sorted([pk, tk])]
    # Killing the job ends it: the process dies, its table (the bootstrap
    # endpoint) closes, the queue is destroyed and with it the last handles.
    init.mx_task_kill(j)
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)
    assert kernel.stats().live_objects["process"] == 1
    finish(kernel, init, j)


def test_cycle_through_a_channel_process_reads_itself(kernel, init, root):
    """The same cycle, but the process reads its own handles back; then it
    exits of its own accord."""
    j = init.mx_job_create(root)
    c = spawn(kernel, init, j)
    pk = c.proc.koid
    init.mx_channel_write(c.peer, b"yourself", [c.p, c.t])
    init.mx_handle_close(c.peer)
    data, (own_p, own_t) = c.proc.mx_channel_read(c.boot)
    assert basic(c.proc, own_p).koid == pk
    assert basic(c.proc, own_t).related_koid == pk
    assert kernel.collect() == 0
    assert pinfo(c.proc, own_p).started
    c.proc.mx_process_exit(0)
    expect(mx.ERR_NOT_FOUND, kernel.process, pk)
    finish(kernel, init, j)


def test_info_process_handles_is_the_debuggers_view(kernel, init, job):
    c = spawn(kernel, init, job)
    ev = c.proc.mx_event_create()
    ro = c.proc.mx_handle_duplicate(ev, mx.RIGHT_READ)
    a, b = c.proc.mx_channel_create()
    table = init.mx_object_get_info(c.p, mx.INFO_PROCESS_HANDLES)
    assert isinstance(table, list)
    assert all(isinstance(e, mx.HandleEntry) for e in table)
    got = sorted((e.value, e.koid, e.type, e.rights) for e in table)
    assert got == sorted(c.proc.handles())
    by_value = {e.value: e for e in table}
    assert set(by_value) == {c.boot, ev, ro, a, b}
    assert by_value[ro].rights == mx.RIGHT_READ
    assert by_value[ev].koid == by_value[ro].koid
    assert by_value[ev].type == mx.OBJ_TYPE_EVENT
    assert by_value[c.boot].type == mx.OBJ_TYPE_CHANNEL
    assert by_value[c.boot].rights == CH_RIGHTS
    assert by_value[c.boot].koid == basic(init, c.peer).related_koid
    # The values are the child's: meaningless in init.
    # init's own table through a handle to itself... via the child
    init_dup = init.mx_process_create(job, "unrelated")   # another target
    assert init.mx_object_get_info(init_dup, mx.INFO_PROCESS_HANDLES) == []
    # ENUMERATE gates it; the wrong type is WRONG_TYPE
    no_enum = init.mx_handle_duplicate(c.p, PROCESS_RIGHTS & ~mx.RIGHT_ENUMERATE)
    expect(mx.ERR_ACCESS_DENIED, init.mx_object_get_info, no_enum,
           mx.INFO_PROCESS_HANDLES)
    assert pinfo(init, no_enum).started           # READ is enough for that
    only_enum = init.mx_handle_duplicate(c.p, mx.RIGHT_ENUMERATE)
    assert len(init.mx_object_get_info(only_enum, mx.INFO_PROCESS_HANDLES)) == 5
    expect(mx.ERR_ACCESS_DENIED, init.mx_object_get_info, only_enum, mx.INFO_PROCESS)
    for h in (c.t, job, c.peer):
        expect(mx.ERR_WRONG_TYPE, init.mx_object_get_info, h, mx.INFO_PROCESS_HANDLES)
    expect(mx.ERR_BAD_HANDLE, init.mx_object_get_info, 0, mx.INFO_PROCESS_HANDLES)
    # It follows the table: a handle sent away leaves it
    c.proc.mx_channel_write(c.boot, b"", [ev])
    assert ev not in {e.value for e in
                      init.mx_object_get_info(c.p, mx.INFO_PROCESS_HANDLES)}
    # A dead process's table is empty.
    init.mx_task_kill(c.p)
    assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_HANDLES) == []
    _, hs = init.mx_channel_read(c.peer)
    finish(kernel, init, *hs, init_dup, no_enum, only_enum, c.p, c.t, c.peer, job)


def test_a_process_can_read_its_own_table_given_its_handle(kernel, init, job):
    c = spawn(kernel, init, job)
    own = init.mx_handle_duplicate(c.p, mx.RIGHT_ENUMERATE | mx.RIGHT_TRANSFER)
    init.mx_channel_write(c.peer, b"", [own])
    _, (mine,) = c.proc.mx_channel_read(c.boot)
    table = c.proc.mx_object_get_info(mine, mx.INFO_PROCESS_HANDLES)
    assert sorted((e.value, e.koid, e.type, e.rights) for e in table) == \
        sorted(c.proc.handles())
    finish(kernel, init, c.p, c.t, c.peer, job)


def test_info_topics_on_tasks(kernel, init, job):
    c = spawn(kernel, init, job)
    # wrong types
    for h in (job, c.t):
        expect(mx.ERR_WRONG_TYPE, init.mx_object_get_info, h, mx.INFO_PROCESS)
        expect(mx.ERR_WRONG_TYPE, init.mx_object_get_info, h, mx.INFO_PROCESS_THREADS)
    for h in (c.p, c.t):
        expect(mx.ERR_WRONG_TYPE, init.mx_object_get_info, h, mx.INFO_JOB_CHILDREN)
        expect(mx.ERR_WRONG_TYPE, init.mx_object_get_info, h, mx.INFO_JOB_PROCESSES)
    # rights
    no_read = init.mx_handle_duplicate(c.p, PROCESS_RIGHTS & ~mx.RIGHT_READ)
    expect(mx.ERR_ACCESS_DENIED, init.mx_object_get_info, no_read, mx.INFO_PROCESS)
    init.mx_object_get_info(no_read, mx.INFO_PROCESS_THREADS)
    no_enum = init.mx_handle_duplicate(c.p, mx.RIGHT_READ)
    expect(mx.ERR_ACCESS_DENIED, init.mx_object_get_info, no_enum, mx.INFO_PROCESS_THREADS)
    j_ro = init.mx_handle_duplicate(job, mx.RIGHT_READ)
    expect(mx.ERR_ACCESS_DENIED, init.mx_object_get_info, j_ro, mx.INFO_JOB_CHILDREN)
    expect(mx.ERR_ACCESS_DENIED, init.mx_object_get_info, j_ro, mx.INFO_JOB_PROCESSES)
    # the topic is checked first
    expect(mx.ERR_NOT_SUPPORTED, init.mx_object_get_info, 0, 12345)
    expect(mx.ERR_NOT_SUPPORTED, init.mx_object_get_info, j_ro, 7)
    # basic info needs no rights
    none = init.mx_handle_duplicate(c.p, 0)
    assert basic(init, none).koid == c.proc.koid and basic(init, none).rights == 0
    # INFO_PROCESS is a record, read by attribute
    i = pinfo(init, c.p)
    assert isinstance(i, mx.ProcessInfo)
    assert i == (0, True, False, False)
    finish(kernel, init, no_read, no_enum, j_ro, none, c.p, c.t, c.peer, job)


def test_chain_of_processes_each_holding_the_next(kernel, init, job):
    """Process i holds the only handle to process i+1: killing the first
    kills them all, one after the other, without recursion."""
    n = 3000
    ps, ts = [], []
    for i in range(n):
        p = init.mx_process_create(job, "c%d" % i)
        ps.append(p)
        ts.append(init.mx_thread_create(p, "t"))
    koids = [koid(init, p) for p in ps]
    # start from the end: process i gets process i+1's handle
    a, b = init.mx_channel_create()
    init.mx_process_start(ps[-1], ts[-1], None, None, b, 0)
    for i in range(n - 2, -1, -1):
        init.mx_process_start(ps[i], ts[i], None, None, ps[i + 1], 0)
    head = ps[0]
    assert all(kernel.process(k_).state == "running" for k_ in koids)
    init.mx_task_kill(head)
    assert all(kernel.process(k_).state == "exited" for k_ in koids)
    assert sigs(init, a) & mx.CHANNEL_PEER_CLOSED
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == []
    # the threads (init's handles) keep the processes; drop them
    finish(kernel, init, head, a, *ts, job)


# -- threads and races --------------------------------------------------------------------------

def test_kill_job_while_other_threads_create_under_it(kernel, init, root):
    """Creators racing a job kill either succeed (and their process dies
    with the job) or fail with BAD_STATE; nothing is half made."""
    top = init.mx_job_create(root)
    made = []
    lock = threading.Lock()

    def creator(i):
        while True:
            mine = []
            try:
                j = init.mx_job_create(top)
                mine.append(j)
                p = init.mx_process_create(j, "r%d" % i)
                mine.append(p)
                t = init.mx_thread_create(p, "t")
                mine.append(t)
                ev = init.mx_event_create()
                mine.append(ev)
                init.mx_process_start(p, t, None, None, ev, 0)
                mine.remove(ev)                  # moved into the child
            except mx.MxError as e:
                assert e.status == mx.ERR_BAD_STATE, e.name
                with lock:
                    made.extend(mine)
                return
            with lock:
                made.extend(mine)

    th = Threads()
    for i in range(4):
        th.start(creator, i)
    time.sleep(0.05)
    init.mx_task_kill(top)
    th.join()
    assert made
    for h in made:
        if basic(init, h).type == mx.OBJ_TYPE_PROCESS:
            assert pinfo(init, h).exited
            assert pinfo(init, h).return_code == -1
    assert init.mx_object_get_info(top, mx.INFO_JOB_PROCESSES) == []
    finish(kernel, init, top, *made)


def test_parallel_spawn_and_kill(kernel, init, root):
    job = init.mx_job_create(root)

    def work(i):
        for n in range(100):
            c = spawn(kernel, init, job, name="w%d-%d" % (i, n))
            if n % 3 == 0:
                init.mx_task_kill(c.p)
            elif n % 3 == 1:
                c.proc.mx_process_exit(n)
            else:
                init.mx_task_kill(c.t)
            init.mx_handle_close_many([c.p, c.t, c.peer])

    th = Threads()
    for i in range(4):
        th.start(work, i)
    th.join(60)
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == []
    finish(kernel, init, job)


def test_seeded_kernels_agree_on_task_koids_and_values():
    def run():
        k = mx.Kernel(seed=99)
        init = k.init
        j = init.mx_job_create(init.mx_job_default())
        c = spawn(k, init, j)
        out = (j, c.p, c.t, c.peer, c.boot, c.proc.koid,
               c.proc.mx_event_create())
        finish(k, init, c.p, c.t, c.peer, j)
        return out
    assert run() == run()


def test_racing_starts_of_one_process(kernel, init, job):
    """Many threads start the same process at once: exactly one wins; the
    others get BAD_STATE and keep their bootstrap handle."""
    started = []
    kernel.on_process_start = lambda proc, si: started.append(si.arg1)
    for _round in range(30):
        p = init.mx_process_create(job, "contested")
        t = init.mx_thread_create(p, "main")
        evs = [init.mx_event_create() for _ in range(6)]
        barrier = threading.Barrier(len(evs))
        results = {}

        def go(ev):
            barrier.wait()
            try:
                init.mx_process_start(p, t, None, None, ev, 0)
                results[ev] = "ok"
            except mx.MxError as e:
                results[ev] = e.status

        th = Threads()
        for ev in evs:
            th.start(go, ev)
        th.join()
        winners = [ev for ev, r in results.items() if r == "ok"]
        assert len(winners) == 1, results
        for ev, r in results.items():
            if r != "ok":
                assert r == mx.ERR_BAD_STATE
                assert is_valid(init, ev)
            else:
                assert not is_valid(init, ev)
        init.mx_handle_close_many([ev for ev in evs if ev not in winners])
        init.mx_handle_close_many([p, t])
    assert len(started) == 30
    finish(kernel, init, job)


def test_start_racing_a_kill(kernel, init, job):
    """Start and kill at once: either the start failed with BAD_STATE and
    arg1 is still init's, or it succeeded and the process is dead after."""
    outcomes = collections.Counter()
    for _round in range(60):
        p = init.mx_process_create(job, "r")
        t = init.mx_thread_create(p, "t")
        ev = init.mx_event_create()
        barrier = threading.Barrier(2)
        res = {}

        def start():
            barrier.wait()
            try:
                init.mx_process_start(p, t, None, None, ev, 0)
                res["start"] = "ok"
            except mx.MxError as e:
                res["start"] = e.status

        def kill():
            barrier.wait()
            init.mx_task_kill(p)

        th = Threads()
        th.start(start)
        th.start(kill)
        th.join()
        assert pinfo(init, p).exited and pinfo(init, p).return_code == -1
        if res["start"] == "ok":
            assert not is_valid(init, ev)
            assert pinfo(init, p).started
        else:
            assert res["start"] == mx.ERR_BAD_STATE
            assert is_valid(init, ev)
            init.mx_handle_close(ev)
        outcomes[res["start"]] += 1
        init.mx_handle_close_many([p, t])
    assert kernel.stats().live_objects["event"] == 0
    finish(kernel, init, job)


def test_child_syscalls_racing_its_death_leak_nothing(kernel, init, job):
    """A child creating, duplicating and sending handles while it is killed:
    afterwards its table is empty and everything is accounted for."""
    for _round in range(20):
        c = spawn(kernel, init, job)
        go = threading.Event()

        def busy():
            go.set()
            try:
                while True:
                    ev = c.proc.mx_event_create()
                    d = c.proc.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)
                    a, b = c.proc.mx_channel_create()
                    c.proc.mx_channel_write(c.boot, b"x", [d, b])
                    c.proc.mx_handle_close_many([ev, a])
            except mx.MxError as e:
                # the death shows as BAD_STATE (or a handle already closed)
                assert e.status in (mx.ERR_BAD_STATE, mx.ERR_BAD_HANDLE,
                                    mx.ERR_PEER_CLOSED), e.name

        th = Threads()
        th.start(busy)
        go.wait()
        time.sleep(0.002)
        init.mx_task_kill(c.p)
        th.join()
        assert c.proc.handles() == []
        assert c.proc.handle_count() == 0
        assert init.mx_object_get_info(c.p, mx.INFO_PROCESS_HANDLES) == []
        # drain what it sent, then close it all
        got = []
        while True:
            try:
                _, hs = init.mx_channel_read(c.peer)
            except mx.MxError as e:
                assert e.status == mx.ERR_PEER_CLOSED
                break
            got += hs
        init.mx_handle_close_many(got + [c.p, c.t, c.peer])
        kernel.collect()
        st = kernel.stats()
        assert st.live_objects["event"] == 0 and st.live_objects["channel"] == 0
    finish(kernel, init, job)


def test_creates_at_max_handles_leave_no_half_made_task():
    k = mx.Kernel(seed=5, max_handles=4)
    init = k.init
    job = init.mx_job_create(init.mx_job_default())      # 2
    p = init.mx_process_create(job, "p")                 # 3
    t = init.mx_thread_create(p, "t")                    # 4: full
    before = k.stats()
    expect(mx.ERR_NO_RESOURCES, init.mx_job_create, job)
    expect(mx.ERR_NO_RESOURCES, init.mx_process_create, job, "q")
    expect(mx.ERR_NO_RESOURCES, init.mx_thread_create, p, "u")
    after = k.stats()
    assert after.live_handles == before.live_handles
    assert after.live_objects == before.live_objects
    assert init.mx_object_get_info(job, mx.INFO_JOB_CHILDREN) == []
    assert init.mx_object_get_info(job, mx.INFO_JOB_PROCESSES) == [koid(init, p)]
    assert init.mx_object_get_info(p, mx.INFO_PROCESS_THREADS) == [koid(init, t)]
    assert len(k.snapshot()["processes"]) == 2
    finish(k, init, p, t, job)


def test_process_start_cancels_waits_on_the_moved_handle(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    a, b = init.mx_channel_create()
    th = Threads()
    th.start(init.mx_object_wait_one, b, mx.CHANNEL_READABLE,
             mx.TIME_INFINITE, name="w")
    time.sleep(BLOCK_DELAY)
    init.mx_process_start(p, t, None, None, b, 0)
    with pytest.raises(mx.MxError) as ei:
        th.join()
    assert status(ei) == mx.ERR_CANCELED
    proc = kernel.process(koid(init, p))
    # the child's own waits work on it
    init.mx_channel_write(a, b"x")
    assert proc.mx_object_wait_one(proc.start_info.arg1, mx.CHANNEL_READABLE,
                                   0) & mx.CHANNEL_READABLE
    finish(kernel, init, p, t, a, job)


def test_collect_kills_a_live_process_whose_handles_are_all_unreachable(
        kernel, init, job):
    """A running process whose only handle is in transit in a channel that
    only its own queue holds: collect() closes it, so the process is killed
    (rule 2), while init's thread handle keeps the object to look at."""
    c = spawn(kernel, init, job)
    pk = c.proc.koid
    x0, x1 = init.mx_channel_create()
    init.mx_channel_write(x0, b"", [c.p])      # into x1's queue
    init.mx_channel_write(x0, b"", [x1])       # x1 in its own queue
    init.mx_handle_close(x0)
    assert kernel.process(pk).state == "running"
    n = kernel.collect()
    assert n >= 2                               # x0, x1 at least
    assert kernel.process(pk).state == "exited"
    assert terminated(init, c.t)
    assert sigs(init, c.peer) & mx.CHANNEL_PEER_CLOSED
    finish(kernel, init, c.t, c.peer, job)


def test_process_start_ends_async_waits_on_the_moved_handle(kernel, init, job):
    p = init.mx_process_create(job, "p")
    t = init.mx_thread_create(p, "t")
    a, b = init.mx_channel_create()
    port = init.mx_port_create()
    init.mx_object_wait_async(b, port, 5, mx.CHANNEL_READABLE,
                              mx.WAIT_ASYNC_ONCE)
    init.mx_process_start(p, t, None, None, b, 0)
    init.mx_channel_write(a, b"x")
    expect(mx.ERR_TIMED_OUT, init.mx_port_wait, port, 0)
    expect(mx.ERR_NOT_FOUND, init.mx_port_cancel, port, a, 5)
    finish(kernel, init, p, t, a, port, job)


def test_death_ends_the_dead_process_async_waits(kernel, init, job):
    """Async waits through the dead process's handles end with it: a later
    signal queues nothing on the (shared) port."""
    c = spawn(kernel, init, job)
    port = init.mx_port_create()
    ev = init.mx_event_create()
    init.mx_channel_write(c.peer, b"", [
        init.mx_handle_duplicate(port, mx.RIGHT_SAME_RIGHTS),
        init.mx_handle_duplicate(ev, mx.RIGHT_SAME_RIGHTS)])
    _, (cport, cev) = c.proc.mx_channel_read(c.boot)
    c.proc.mx_object_wait_async(cev, cport, 9, mx.EVENT_SIGNALED,
                                mx.WAIT_ASYNC_REPEATING)
    c.proc.mx_object_wait_async(cev, cport, 10, mx.USER_SIGNAL_0,
                                mx.WAIT_ASYNC_ONCE)
    init.mx_task_kill(c.p)
    init.mx_object_signal(ev, 0, mx.EVENT_SIGNALED | mx.USER_SIGNAL_0)
    expect(mx.ERR_TIMED_OUT, init.mx_port_wait, port, 0)
    finish(kernel, init, port, ev, c.p, c.t, c.peer, job)


def test_killing_the_root_job_kills_init_too():
    """Everything below the root job dies, init included; the kernel still
    holds init, which answers as exited and makes no more syscalls."""
    k = mx.Kernel(seed=13)
    init = k.init
    root = init.mx_job_default()
    job = init.mx_job_create(root)
    c = spawn(k, init, job)
    init.mx_task_kill(root)
    assert init.state == "exited" and c.proc.state == "exited"
    expect(mx.ERR_BAD_STATE, init.mx_event_create)
    expect(mx.ERR_BAD_STATE, init.mx_job_default)
    assert k.process(init.koid) is init
    k.collect()
    st = k.stats()
    assert st.live_handles == 0 and st.in_transit_handles == 0
    assert st.live_objects == {"event": 0, "eventpair": 0, "channel": 0,
                               "port": 0, "job": 1, "process": 1, "thread": 1}
    assert [p["state"] for p in k.snapshot()["processes"]] == ["exited"]
