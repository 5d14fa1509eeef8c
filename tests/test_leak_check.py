"""The module leak check of conftest.py: it cleans what tests leave behind
and reports what cannot be cleaned."""
from __future__ import annotations

import pytest

import mxhandles as mx
from mxhandles.model import ModelKernel
import conftest


def koid(p, h):
    return p.mx_object_get_info(h, mx.INFO_HANDLE_BASIC).koid


def leave_a_mess(k):
    """Everything a careless test leaves: handles in init and in a started
    child (one to itself), a nest in transit, an unreachable cycle, a
    process created but not started, a port with waits and packets."""
    p = k.init
    job = p.mx_job_create(p.mx_job_default())
    ph = p.mx_process_create(job, "child")
    th = p.mx_thread_create(ph, "main")
    a, b = p.mx_channel_create()
    p.mx_process_start(ph, th, None, None, b, 0)
    child = k.process(koid(p, ph))
    child.mx_channel_write(child.start_info.arg1, b"",
                           [child.mx_event_create()])
    p.mx_channel_write(a, b"", [p.mx_handle_duplicate(ph, mx.RIGHT_SAME_RIGHTS)])
    p.mx_process_create(job, "unstarted")
    x, y = p.mx_channel_create()
    p.mx_channel_write(x, b"", [y, p.mx_eventpair_create()[0]])
    p.mx_handle_close(x)
    port = p.mx_port_create()
    ev = p.mx_event_create()
    p.mx_object_wait_async(ev, port, 1, mx.EVENT_SIGNALED,
                           mx.WAIT_ASYNC_REPEATING)
    p.mx_port_queue(port, mx.PortPacket(2))
    p.mx_job_create(job)


@pytest.mark.parametrize("cls", [mx.Kernel, ModelKernel])
def test_a_mess_is_cleaned_to_the_boot_state(cls):
    k = cls(seed=1)
    leave_a_mess(k)
    assert k.stats().live_handles > 10
    assert conftest.leaks(k) == []
    conftest.assert_baseline(k)


@pytest.mark.parametrize("cls", [mx.Kernel, ModelKernel])
def test_a_kernel_whose_collect_reclaims_nothing_is_reported(cls):
    k = cls(seed=1)
    leave_a_mess(k)
    collect = k.collect
    k.collect = lambda: 0
    problems = conftest.leaks(k)
    assert problems and "stats" in problems[0]
    assert any("messages" in p for p in problems)
    k.collect = collect
    assert conftest.leaks(k) == []


def test_init_dead_or_without_its_root_job_handle_is_no_leak():
    k = mx.Kernel()
    k.init.mx_handle_close(k.init.mx_job_default())
    assert conftest.leaks(k) == []
    k = mx.Kernel()
    k.init.mx_event_create()
    k.init.mx_task_kill(k.init.mx_job_default())
    assert conftest.leaks(k) == []
