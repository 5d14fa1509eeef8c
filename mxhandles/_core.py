"""The only module that imports the compiled core.

Everything else in the package takes ``ffi`` and ``lib`` from here, so the
boundary to C is one obvious place.  Functions are bound once as module
attributes (``lib.fn`` looked up on every call would cost ~18 ns).
"""
from __future__ import annotations

from typing import Any, List

from ._mxhandles_cffi import ffi as ffi  # re-exported
from ._mxhandles_cffi import lib as lib  # re-exported

NULL = ffi.NULL

# Constants from the header (filled in by the compiler at build time).
TRANSIT_MAX = lib.MXH_TRANSIT_MAX
CHANNEL_MAX_BYTES = lib.MXH_CHANNEL_MAX_BYTES
QUARANTINE = lib.MXH_QUARANTINE
PROC_MAX_SLOTS = lib.MXH_PROC_MAX_SLOTS
DEFAULT_MAX_HANDLES = lib.MXH_DEFAULT_MAX_HANDLES

kernel_create = lib.mxh_kernel_create
kernel_release = lib.mxh_kernel_release
kernel_stats = lib.mxh_kernel_stats
kernel_objects = lib.mxh_kernel_objects
kernel_messages = lib.mxh_kernel_messages
kernel_collect = lib.mxh_kernel_collect

object_create = lib.mxh_object_create
object_koid = lib.mxh_object_koid
object_type = lib.mxh_object_type
object_handle_count = lib.mxh_object_handle_count
object_signals = lib.mxh_object_signals
object_signal_raw = lib.mxh_object_signal_raw
object_release = lib.mxh_object_release
object_unpin = lib.mxh_object_unpin
object_pin = lib.mxh_object_pin
object_destroyed = lib.mxh_object_destroyed

proc_create = lib.mxh_proc_create
proc_object = lib.mxh_proc_object
proc_is_dead = lib.mxh_proc_is_dead
proc_kill = lib.mxh_proc_kill
proc_handles = lib.mxh_proc_handles
proc_handle_count = lib.mxh_proc_handle_count

handle_create = lib.mxh_handle_create
object_create_handle = lib.mxh_object_create_handle
pair_create_handles = lib.mxh_pair_create_handles
handle_close = lib.mxh_handle_close
handle_close_many = lib.mxh_handle_close_many
handle_duplicate = lib.mxh_handle_duplicate
handle_replace = lib.mxh_handle_replace
handle_get = lib.mxh_handle_get
handle_basic = lib.mxh_handle_basic
object_signal = lib.mxh_object_signal

transit_take = lib.mxh_transit_take
transit_bind = lib.mxh_transit_bind
transit_close = lib.mxh_transit_close
transit_count = lib.mxh_transit_count
transit_koids = lib.mxh_transit_koids
handle_move = lib.mxh_handle_move

channel_write = lib.mxh_channel_write
channel_read = lib.mxh_channel_read
channel_read_bufs = lib.mxh_py_channel_read
channel_call = lib.mxh_channel_call

object_wait_one = lib.mxh_object_wait_one
object_wait_many = lib.mxh_object_wait_many
object_wait_async = lib.mxh_object_wait_async
port_queue = lib.mxh_port_queue
port_wait = lib.mxh_port_wait
port_cancel = lib.mxh_port_cancel
PORT_PAYLOAD = lib.MXH_PORT_PAYLOAD

kernel_boot = lib.mxh_kernel_boot
job_create = lib.mxh_job_create
process_create = lib.mxh_process_create
thread_create = lib.mxh_thread_create
process_start = lib.mxh_process_start
thread_start = lib.mxh_thread_start
process_exit = lib.mxh_process_exit
task_kill = lib.mxh_task_kill
task_info = lib.mxh_task_info
process_handles_of = lib.mxh_process_handles_of
proc_state = lib.mxh_proc_state

bench_empty_p = lib.mxh_bench_empty_p
bench_empty_ph = lib.mxh_bench_empty_ph
bench_empty_phr = lib.mxh_bench_empty_phr

# Buffers handed to C without zeroing them first (C writes before Python
# reads, and only what it wrote is read).
new_uncleared = ffi.new_allocator(should_clear_after_alloc=False)


class ReadBuffers:
    """Out-buffers for one channel read: bytes, handle values, sizes.

    Reads borrow a set from a pool (``list.pop``/``append`` are atomic under
    the GIL), so a read allocates nothing once the pool is warm."""

    __slots__ = ("bufs", "data", "handles", "actual", "data_view",
                 "handle_view")

    def __init__(self) -> None:
        # One struct (mxh_read_bufs_t, the binding's glue in build_ffi.py):
        # the default read passes it whole.  The fields are views into it.
        self.bufs = new_uncleared("mxh_read_bufs_t *")
        self.data = self.bufs.data
        self.handles = self.bufs.handles
        self.actual = self.bufs.actual
        # What a read returns is sliced out of these: a memoryview slice
        # and tobytes()/tolist() cost less than ffi.unpack's argument
        # parsing.
        self.data_view = memoryview(ffi.buffer(self.data))
        self.handle_view = memoryview(ffi.buffer(self.handles)).cast("I")


if memoryview(b"\0" * 4).cast("I").itemsize != ffi.sizeof("uint32_t"):
    raise ImportError("mxhandles: the 'I' format is not uint32_t here")


def unpack_u32(buf: Any, n: int) -> List[int]:
    return ffi.unpack(buf, n)  # type: ignore[no-any-return]
