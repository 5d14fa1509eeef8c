"""The only module that imports the compiled core.

Everything else in the package takes ``ffi`` and ``lib`` from here, so the
boundary to C is one obvious place.  Functions are bound once as module
attributes (``lib.fn`` looked up on every call would cost ~18 ns).
"""
from __future__ import annotations

from ._mxhandles_cffi import ffi, lib  # noqa: F401  (re-exported)

NULL = ffi.NULL

# Constants from the header (filled in by the compiler at build time).
MANAGED = lib.MXH_OBJ_F_MANAGED
TRANSIT_MAX = lib.MXH_TRANSIT_MAX
QUARANTINE = lib.MXH_QUARANTINE
PROC_MAX_SLOTS = lib.MXH_PROC_MAX_SLOTS
DEFAULT_MAX_HANDLES = lib.MXH_DEFAULT_MAX_HANDLES

kernel_create = lib.mxh_kernel_create
kernel_release = lib.mxh_kernel_release
kernel_stats = lib.mxh_kernel_stats

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
notes_release = lib.mxh_notes_release

transit_take = lib.mxh_transit_take
channel_write_take = lib.mxh_channel_write_take
transit_bind = lib.mxh_transit_bind
transit_close = lib.mxh_transit_close
transit_count = lib.mxh_transit_count
transit_koids = lib.mxh_transit_koids
handle_move = lib.mxh_handle_move

bench_empty_p = lib.mxh_bench_empty_p
bench_empty_ph = lib.mxh_bench_empty_ph
bench_empty_phr = lib.mxh_bench_empty_phr


def take_notes(notes) -> list:  # type: ignore[no-untyped-def]
    """Copies the koids out of an ``mxh_notes_t`` and releases it."""
    n = notes.count
    koids = ffi.unpack(notes.koids, n) if n else []
    notes_release(notes)
    return koids
