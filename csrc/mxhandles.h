/*
 * mxhandles.h - the handle-table core of mxhandles, as a C library.
 *
 * A simulated Magenta kernel keeps kernel objects (events, channel
 * endpoints, processes, ...) and per-process handle tables.  This library is
 * the part of that kernel that must be fast and thread safe: the tables,
 * the object reference counts, the signal words and the moves of handles in
 * and out of transit.  It has no Python in it; the Python package drives it
 * through cffi and a C simulator can link it directly (libmxhandles.a/.so).
 *
 * Building and linking
 *   `make -C csrc` builds csrc/build/libmxhandles.a and libmxhandles.so from
 *   the .c files directly in csrc/, the sources the Python extension
 *   compiles (csrc/build_ffi.py).  A simulator
 *   includes this header and links either one:
 *       cc -std=c11 -I csrc sim.c csrc/build/libmxhandles.a -lpthread
 *       cc -std=c11 -I csrc sim.c -L csrc/build -lmxhandles -lpthread
 *   The shared library exports exactly the functions declared here, and
 *   every global symbol of either library starts with mxh_.
 *   csrc/examples/sim.c is a complete, checked program.
 *
 * Lifecycle
 *   1. mxh_kernel_create: an empty kernel.  Kernels share nothing; a
 *      program may run several at once.
 *   2. mxh_kernel_boot: the root job, init (running) and init's thread, one
 *      reference each for the caller.  Given a handle to the root job
 *      (mxh_handle_create), init creates jobs, processes and threads and
 *      starts them with a bootstrap handle (mxh_process_start).
 *   3. Syscalls: a function that takes an mxh_proc_t * acts *as* that
 *      process; handle values are looked up in its table only.  A simulator
 *      plays any process by passing its pointer (the view
 *      mxh_process_create returned).
 *   4. Teardown: give back what the calls handed out (unpin the views from
 *      mxh_process_create; release the references from mxh_kernel_boot,
 *      mxh_object_create, mxh_proc_create and mxh_handle_get) and call
 *      mxh_kernel_release once, in either order: it kills every process
 *      still alive and collects what that leaves unreachable; the kernel's
 *      memory goes with the last object.
 *
 * Value conventions
 *  - Statuses are Magenta's: MXH_OK is 0, every MXH_ERR_* is negative.
 *  - A function that can fail returns int64_t: a negative MXH_ERR_* status,
 *    or a non-negative result (a handle value, a koid, a count, or MXH_OK).
 *  - Syscalls check their arguments in the order their comment lists the
 *    errors (SPEC's order) and return the first that applies.  Where a
 *    comment lists NO_MEMORY first, that allocation precedes every check.
 *  - On failure nothing observable has changed, and out-parameters are
 *    not written, unless the comment says otherwise.
 *  - Handle values are non-zero 31-bit numbers, scrambled per process with
 *    the process's secret (deterministic given the secrets).  They arrive
 *    as uint64_t so that callers need not range-check them: anything that
 *    is not a live handle of the calling process is MXH_ERR_BAD_HANDLE.  A
 *    closed value stays invalid for at least 1,032,192 further handle
 *    allocations in that process (table.c).
 *  - Koids count up from 1024 in creation order and are never reused in a
 *    kernel; 0 means "none".  A create that fails uses no koid.
 *  - Deadlines are absolute CLOCK_MONOTONIC nanoseconds; 0 (or any time
 *    already past) polls, UINT64_MAX never expires.
 *
 * Ownership
 *  - A reference (mxh_object_ref / mxh_object_release) keeps an object
 *    alive; a pin (mxh_object_pin / mxh_object_unpin) keeps only its
 *    memory, so that its accessors and a process's syscalls (which then
 *    fail with MXH_ERR_BAD_STATE) stay safe after it is destroyed.  Every
 *    function that hands out an object pointer says which of the two the
 *    caller gets; the caller gives it back exactly once.  A function given
 *    a pointer needs it kept valid by a reference or pin the caller holds;
 *    handle values need no such care.
 *  - A handle belongs to the table it is in.  A function that closes or
 *    moves handles says so; a handle in transit (in a queued message or an
 *    mxh_transit_t bundle) belongs to the kernel, and counts as live.
 *  - Caller buffers are only used during the call: inputs are read (and
 *    copied if kept), outputs written.  The library keeps no pointer to
 *    caller memory.  An array may be NULL when its length or cap is 0.
 *
 * Thread safety
 *  - Every function may run on any number of threads at once, on one
 *    kernel and even as one process, except mxh_kernel_release, which must
 *    be the last call on its kernel (only releases and unpins of what the
 *    caller still holds may follow it), and the mxh_transit_* calls on one
 *    bundle, which belongs to one caller.
 *  - Locks are internal spin locks held only for bounded work, never while
 *    blocked: one per handle table, per object, per pair of peers, per
 *    registry shard, the kernel's process list, and one per kernel for all
 *    its ports and async waits (so ports do not run in parallel with each
 *    other).  A spinning thread yields its CPU after 100 rounds.
 *  - Blocking: mxh_object_wait_one, mxh_object_wait_many, mxh_port_wait
 *    and mxh_channel_call sleep (a condition variable, no library lock
 *    held) until satisfied, their deadline, or cancellation (the handle
 *    waited through closed, replaced or moved away, or the process dead).
 *    mxh_kernel_collect takes a mutex (one collection at a time); while it
 *    examines channels, calls that move channel endpoints in or out of
 *    transit wait for it (yielding).  Nothing else sleeps.
 *  - Destruction runs in the thread that drops the last reference, before
 *    that call returns: reference counts, the zero-handles actions (a peer
 *    is told, a process or thread with no handles left is killed, a
 *    channel's queue goes with it) and cascades of any depth, never by
 *    recursion.  Nothing calls back out of the library.
 */
#ifndef MXHANDLES_H
#define MXHANDLES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- statuses (Magenta's values) ------------------------------------ */
#define MXH_OK                    0
#define MXH_ERR_INTERNAL        (-1)
#define MXH_ERR_NOT_SUPPORTED   (-2)
#define MXH_ERR_NO_RESOURCES    (-3)
#define MXH_ERR_NO_MEMORY       (-4)
#define MXH_ERR_CALL_FAILED     (-5)
#define MXH_ERR_INVALID_ARGS   (-10)
#define MXH_ERR_BAD_HANDLE     (-11)
#define MXH_ERR_WRONG_TYPE     (-12)
#define MXH_ERR_BAD_SYSCALL    (-13)
#define MXH_ERR_OUT_OF_RANGE   (-14)
#define MXH_ERR_BUFFER_TOO_SMALL (-15)
#define MXH_ERR_BAD_STATE      (-20)
#define MXH_ERR_TIMED_OUT      (-21)
#define MXH_ERR_SHOULD_WAIT    (-22)
#define MXH_ERR_CANCELED       (-23)
#define MXH_ERR_PEER_CLOSED    (-24)
#define MXH_ERR_NOT_FOUND      (-25)
#define MXH_ERR_ALREADY_EXISTS (-26)
#define MXH_ERR_ALREADY_BOUND  (-27)
#define MXH_ERR_UNAVAILABLE    (-28)
#define MXH_ERR_ACCESS_DENIED  (-30)

/* ---- object types ---------------------------------------------------- */
#define MXH_OBJ_NONE        0
#define MXH_OBJ_PROCESS     1
#define MXH_OBJ_THREAD      2
#define MXH_OBJ_CHANNEL     4
#define MXH_OBJ_EVENT       5
#define MXH_OBJ_EVENT_PAIR 16
#define MXH_OBJ_JOB        17
#define MXH_OBJ_PORT       20

/* ---- rights ------------------------------------------------------------ */
#define MXH_RIGHT_NONE          0u
#define MXH_RIGHT_DUPLICATE     (1u << 0)
#define MXH_RIGHT_TRANSFER      (1u << 1)
#define MXH_RIGHT_READ          (1u << 2)
#define MXH_RIGHT_WRITE         (1u << 3)
#define MXH_RIGHT_EXECUTE       (1u << 4)
#define MXH_RIGHT_MAP           (1u << 5)
#define MXH_RIGHT_GET_PROPERTY  (1u << 6)
#define MXH_RIGHT_SET_PROPERTY  (1u << 7)
#define MXH_RIGHT_ENUMERATE     (1u << 8)
#define MXH_RIGHT_DESTROY       (1u << 9)
#define MXH_RIGHT_SET_POLICY    (1u << 10)
#define MXH_RIGHT_GET_POLICY    (1u << 11)
#define MXH_RIGHT_SAME_RIGHTS   (1u << 31)

/* ---- signals ------------------------------------------------------------ */
#define MXH_SIGNAL_CHANNEL_READABLE     (1u << 0)
#define MXH_SIGNAL_CHANNEL_WRITABLE     (1u << 1)
#define MXH_SIGNAL_CHANNEL_PEER_CLOSED  (1u << 2)
#define MXH_SIGNAL_EPAIR_PEER_CLOSED    (1u << 2)
#define MXH_SIGNAL_EVENT_SIGNALED       (1u << 3)
#define MXH_SIGNAL_EPAIR_SIGNALED       (1u << 3)
#define MXH_SIGNAL_TASK_TERMINATED      (1u << 3)
#define MXH_SIGNAL_PORT_READABLE        (1u << 0)
#define MXH_SIGNAL_USER_ALL             0xff000000u

/* ---- limits ------------------------------------------------------------- */
/* Slots one process table can address (24 index bits of a handle value). */
#define MXH_PROC_MAX_SLOTS      (1u << 24)
/* A freed slot waits behind at least this many others before reuse. */
#define MXH_QUARANTINE          8192u
/* Handles one transit bundle (one channel message) can carry. */
#define MXH_TRANSIT_MAX         1024u
/* Bytes one channel message can carry. */
#define MXH_CHANNEL_MAX_BYTES   65536u
/* mxh_channel_read option: drop a message too large for the buffers. */
#define MXH_CHANNEL_READ_MAY_DISCARD 1u
/* Ports. */
#define MXH_PORT_MAX_PACKETS    4096u   /* user packets queued at once */
#define MXH_PORT_PAYLOAD        32u     /* bytes of a user packet */
#define MXH_WAIT_ASYNC_ONCE     0u
#define MXH_WAIT_ASYNC_REPEATING 1u
#define MXH_PKT_TYPE_USER       0u
#define MXH_PKT_TYPE_SIGNAL_ONE 1u
#define MXH_PKT_TYPE_SIGNAL_REP 2u
/* Default live-handle limit of a kernel (SPEC: at least 2**24). */
#define MXH_DEFAULT_MAX_HANDLES (1ull << 26)

typedef int32_t  mxh_status_t;
typedef uint32_t mxh_handle_t;
typedef uint32_t mxh_rights_t;
typedef uint32_t mxh_signals_t;
typedef uint64_t mxh_koid_t;

typedef struct mxh_kernel  mxh_kernel_t;   /* one simulated kernel        */
typedef struct mxh_obj     mxh_obj_t;      /* one kernel object           */
typedef struct mxh_proc    mxh_proc_t;     /* a process and its table     */
typedef struct mxh_transit mxh_transit_t;  /* handles in transit together */

/* Kernel-wide counters (mxh_kernel_stats). */
typedef struct mxh_stats {
    uint64_t live_handles;        /* owned by a process or in transit    */
    uint64_t in_transit_handles;  /* owned by the kernel (in a bundle)   */
    uint64_t live_objects[8];     /* by MXH_STATS_* index, see below     */
    uint64_t destroyed_objects;   /* total since the kernel was created  */
} mxh_stats_t;

/* Indices into mxh_stats_t.live_objects. */
#define MXH_STATS_EVENT      0
#define MXH_STATS_EVENTPAIR  1
#define MXH_STATS_CHANNEL    2
#define MXH_STATS_PORT       3
#define MXH_STATS_JOB        4
#define MXH_STATS_PROCESS    5
#define MXH_STATS_THREAD     6

/* What a handle is (mxh_handle_basic, mxh_proc_handles). */
typedef struct mxh_handle_info {
    uint32_t   value;         /* the handle's value in its process */
    uint32_t   type;          /* MXH_OBJ_*                         */
    uint32_t   rights;
    uint32_t   signals;       /* the object's signal word, now     */
    mxh_koid_t koid;
    mxh_koid_t related_koid;
} mxh_handle_info_t;

/* One live object (mxh_kernel_objects). */
typedef struct mxh_object_info {
    mxh_koid_t koid;
    mxh_koid_t related_koid;
    uint32_t   type;
    uint32_t   handle_count;
    uint32_t   signals;
    uint32_t   queued;        /* messages in a channel endpoint's queue */
} mxh_object_info_t;

/* A packet taken from a port (mxh_port_wait).  Signal packets fill
 * trigger, observed and count; user packets fill user. */
typedef struct mxh_packet {
    uint64_t key;
    uint32_t type;            /* MXH_PKT_TYPE_* */
    int32_t  status;
    uint32_t trigger;
    uint32_t observed;
    uint64_t count;
    uint8_t  user[32];
} mxh_packet_t;

/* One queued message (mxh_kernel_messages). */
typedef struct mxh_message_info {
    mxh_koid_t endpoint_koid; /* the endpoint whose reader will get it */
    uint32_t   nbytes;
    uint32_t   handle_count;
} mxh_message_info_t;

/* ---- kernel -------------------------------------------------------------- */

/* A new, empty kernel: no objects, next koid 1024.  max_handles caps the
 * live handles (in tables and in transit) of all its processes together;
 * 0 means MXH_DEFAULT_MAX_HANDLES.  The caller owns the kernel (give it back
 * with mxh_kernel_release).  Returns NULL when out of memory. */
mxh_kernel_t *mxh_kernel_create(uint64_t max_handles);

/* Gives back the kernel from mxh_kernel_create (k may be NULL: nothing
 * done).  Every process still alive is killed as by mxh_proc_kill (its
 * table closed, its blocked calls CANCELED), then mxh_kernel_collect runs;
 * so once the caller's own references and pins are gone, everything is
 * freed.  The kernel's memory goes when the last object's does.  Must be
 * the last call on k: no other call may be in flight or follow, except
 * mxh_object_release / mxh_object_unpin of what the caller still holds
 * (and the accessors of those objects until then). */
void mxh_kernel_release(mxh_kernel_t *k);

/* Copies the counters to *out.  Each is exact when read, but they are
 * read one after another while other threads go on, so the set is a
 * snapshot only when nothing else runs.  Takes the process list's lock and
 * each table's lock in turn, briefly (for the handles processes hold in
 * reserve); never fails. */
void mxh_kernel_stats(mxh_kernel_t *k, mxh_stats_t *out);

/* The koid the next object will get (koids are handed out in order; with
 * other threads creating, only a hint).  Lock-free. */
mxh_koid_t mxh_kernel_peek_koid(mxh_kernel_t *k);

/* Copies up to `cap` live (not yet destroyed) objects to out, in no
 * particular order; returns how many there are (may exceed cap: call again
 * with more room).  Walks the registry one shard lock at a time, so with
 * other threads running the list is not one instant's.  Never fails. */
int64_t mxh_kernel_objects(mxh_kernel_t *k, mxh_object_info_t *out, size_t cap);

/* Copies up to `cap` queued messages to out, and the koids of the handles
 * they carry, message after message, to koids (up to koid_cap); writes the
 * total number of such koids to *total_koids.  Returns the number of
 * messages (may exceed cap).  Locks as mxh_kernel_objects, plus each
 * channel's lock while its queue is read.  Never fails. */
int64_t mxh_kernel_messages(mxh_kernel_t *k, mxh_message_info_t *out,
                            size_t cap, mxh_koid_t *koids, size_t koid_cap,
                            uint64_t *total_koids);

/* Reclaims channel endpoints no process can reach any more (cycles through
 * channel queues: every handle of each is in transit in the others'
 * queues) and everything that dies with them.  Returns how many objects
 * were destroyed, or MXH_ERR_NO_MEMORY (nothing reclaimed).  Runs
 * alongside other calls: one collection at a time (a mutex: a second
 * caller sleeps until the first is done); while it examines the channels,
 * calls moving channel endpoints in or out of transit wait for it. */
int64_t mxh_kernel_collect(mxh_kernel_t *k);

/* ---- objects -------------------------------------------------------------- */

/* A new object of `type` (event, port, or a job with no parent: processes
 * come from mxh_proc_create, threads from mxh_thread_create, pairs from
 * mxh_pair_create_handles) with one reference (the caller's: give it back
 * with mxh_object_release) and no handles.  related_koid is reported by
 * mxh_handle_basic.  NULL when out of memory or for another type (no koid
 * used). */
mxh_obj_t *mxh_object_create(mxh_kernel_t *k, uint32_t type,
                             mxh_koid_t related_koid);

/* Accessors, lock-free, safe on a pinned object after its destruction.
 * Koid and type never change; the handle count (handles in tables and in
 * transit) and the signal word are read atomically, as of that instant. */
mxh_koid_t mxh_object_koid(const mxh_obj_t *o);
uint32_t   mxh_object_type(const mxh_obj_t *o);
uint32_t   mxh_object_handle_count(const mxh_obj_t *o);
uint32_t   mxh_object_signals(const mxh_obj_t *o);

/* The koid of the object's peer while peered, else 0 (never peered, or
 * either end's last handle gone).  Needs a reference on o; takes the pair's
 * lock. */
mxh_koid_t mxh_object_peer_koid(mxh_obj_t *o);

/* Takes / drops one reference (lock-free).  The caller must already hold
 * a reference (or a handle's worth, through mxh_handle_get) to take one.
 * The drop that takes the count to zero destroys the object in the calling
 * thread: its counters move, its peer link goes, a channel's queued
 * messages are closed (a cascade, run iteratively), a process or thread is
 * killed, a port's packets are dropped.  Its memory goes when it is also
 * unpinned. */
void mxh_object_ref(mxh_obj_t *o);
void mxh_object_release(mxh_obj_t *o);

/* Pins keep an object's memory (not its life) after destruction, so that an
 * outside view of it (a debugger's Process) can still ask about it.  Pin
 * while holding a reference or another pin; each pin is given back once
 * with mxh_object_unpin, which frees the memory if it was the last and the
 * object is destroyed.  Lock-free.  mxh_object_destroyed: non-zero once
 * the object is destroyed (lock-free). */
void mxh_object_pin(mxh_obj_t *o);
void mxh_object_unpin(mxh_obj_t *o);
int  mxh_object_destroyed(const mxh_obj_t *o);

/* Atomically: signals = (signals & ~clear) | set, as the kernel (no rights
 * or settable-bit checks).  Rising bits end the matching waits and fire
 * matching async waits, in the calling thread.  Needs a reference on o;
 * takes o's lock (and the port lock).  Returns the new word. */
uint32_t mxh_object_signal_raw(mxh_obj_t *o, uint32_t clear, uint32_t set);

/* ---- processes and their tables ------------------------------------------ */

/* A bare process object (type MXH_OBJ_PROCESS) with an empty table: in no
 * job (job_koid is only reported as its related koid), never started, no
 * threads; mxh_process_create makes a process of the task model instead.
 * `secret` keys the scrambling of its handle values (see table.c).  Its
 * table works at once; mxh_kernel_release kills it.  The caller gets one
 * reference (give it back with mxh_object_release(mxh_proc_object(p))).
 * NULL when out of memory (no koid used). */
mxh_proc_t *mxh_proc_create(mxh_kernel_t *k, uint64_t secret,
                            mxh_koid_t job_koid);
/* A process is an object: these convert, without touching references. */
mxh_obj_t  *mxh_proc_object(mxh_proc_t *p);
mxh_proc_t *mxh_object_proc(mxh_obj_t *o);   /* NULL unless a process */

/* Live handles in the process's table right now (0 once dead).  Takes its
 * table lock. */
uint64_t mxh_proc_handle_count(mxh_proc_t *p);

/* Non-zero once the process is dead (killed, exited, its last handle or
 * last thread gone).  Takes its table lock. */
int mxh_proc_is_dead(mxh_proc_t *p);

/* Kills the process, as the kernel (no handle or rights needed; return
 * code -1 unless it called mxh_process_exit): marks it and its threads
 * dead, ends its blocked calls with MXH_ERR_CANCELED and its async waits,
 * asserts MXH_SIGNAL_TASK_TERMINATED on it and its threads, and closes
 * every handle in its table (with whatever that destroys) before
 * returning, in time proportional to its own handles.  Returns the number
 * of handles closed, or MXH_ERR_BAD_STATE if it was already dead (nothing
 * done).  A dead process's calls all fail with MXH_ERR_BAD_STATE.  Needs a
 * reference or pin on p; takes its table lock, then each object's. */
int64_t mxh_proc_kill(mxh_proc_t *p);

/* Copies up to `cap` entries of the table into `out`, in slot order, under
 * the table lock (one instant's table).  Returns the total number of live
 * handles (may exceed cap; 0 once dead).  Never fails.  As the kernel: no
 * rights needed (mxh_process_handles_of is the syscall). */
int64_t mxh_proc_handles(mxh_proc_t *p, mxh_handle_info_t *out, size_t cap);

/* ---- handles: the syscall core ---------------------------------------------
 * Every function below fails with MXH_ERR_BAD_STATE first if the process is
 * dead, then with MXH_ERR_BAD_HANDLE if `h` is not a live handle of it.
 * Each takes p's table lock for its table work only; none blocks.  Calls
 * that add handles fail with MXH_ERR_NO_RESOURCES at the kernel's handle
 * limit (checked exactly: the handles other processes hold in reserve are
 * reclaimed, one table lock at a time, before giving up) or when the table
 * has all MXH_PROC_MAX_SLOTS slots in use, and MXH_ERR_NO_MEMORY when the
 * table cannot grow. */

/* As the kernel: binds a new handle to `o` in `p` with exactly `rights`
 * (not checked against anything; bit 31 is dropped).  The handle takes its
 * own reference: the caller's reference on o, which it must hold, is
 * unaffected.  Returns the value; BAD_STATE, NO_RESOURCES, NO_MEMORY. */
int64_t mxh_handle_create(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights);

/* Creates an object of `type` (MXH_OBJ_EVENT, MXH_OBJ_PORT, or a job with
 * no parent; else INVALID_ARGS) and its first handle, with `rights`, in one
 * step: the handle holds the only reference.  Returns the handle value;
 * BAD_STATE, INVALID_ARGS, NO_MEMORY, NO_RESOURCES (nothing created, no
 * koid used). */
int64_t mxh_object_create_handle(mxh_proc_t *p, uint32_t type,
                                 uint32_t rights);

/* Creates a peered pair (MXH_OBJ_CHANNEL or MXH_OBJ_EVENT_PAIR; else
 * INVALID_ARGS) and one handle to each end in `p`, both with `rights`:
 * values in out[0..1], koids (consecutive; each end's related koid is the
 * other's) in koids[0..1] (koids may be NULL).  Channel ends start
 * WRITABLE.  Returns MXH_OK; BAD_STATE, INVALID_ARGS, NO_MEMORY,
 * NO_RESOURCES (nothing created, no koid used, out untouched). */
int64_t mxh_pair_create_handles(mxh_proc_t *p, uint32_t type, uint32_t rights,
                                uint32_t *out, mxh_koid_t *koids);

/* Closes `h`: threads waiting through it end with MXH_ERR_CANCELED, async
 * waits through it end.  If it was the object's last handle, the
 * zero-handles action runs (a peer gets PEER_CLOSED, a process or thread is
 * killed), and if it held the last reference the object is destroyed,
 * cascades included, before the call returns.  Returns MXH_OK; BAD_STATE,
 * BAD_HANDLE. */
int64_t mxh_handle_close(mxh_proc_t *p, uint64_t h);

/* Closes every valid value in hs[0..n), as mxh_handle_close, the table
 * work in one step.  A value given twice is closed once.  Returns MXH_OK,
 * or MXH_ERR_BAD_HANDLE if any value was not valid (the valid ones are
 * closed anyway: the one partial failure), or MXH_ERR_NO_MEMORY or
 * MXH_ERR_BAD_STATE (nothing closed). */
int64_t mxh_handle_close_many(mxh_proc_t *p, const uint64_t *hs, size_t n);

/* A new handle to the same object, with h's rights (MXH_RIGHT_SAME_RIGHTS)
 * or `rights`, which must be a subset of them; h is untouched.  Returns the
 * new value; BAD_STATE, BAD_HANDLE, ACCESS_DENIED (h lacks
 * MXH_RIGHT_DUPLICATE), INVALID_ARGS (not a subset), NO_RESOURCES,
 * NO_MEMORY. */
int64_t mxh_handle_duplicate(mxh_proc_t *p, uint64_t h, uint32_t rights);

/* A new handle replacing `h` (which is gone on success, untouched on
 * failure), with rights as for duplicate; needs no right.  The new value
 * differs from h's.  Waits through h end with CANCELED.  Returns the new
 * value; BAD_STATE, BAD_HANDLE, INVALID_ARGS, NO_MEMORY.  Never
 * NO_RESOURCES: the count of live handles does not change. */
int64_t mxh_handle_replace(mxh_proc_t *p, uint64_t h, uint32_t rights);

/* Checks that `h` is a handle of `p` to an object of `type` (0: any type)
 * carrying every bit of `rights`, in that order (BAD_STATE, BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED).  Returns the object's koid (> 0).  If `out`
 * is not NULL it gets the object with a new reference the caller must give
 * back with mxh_object_release (written on success only). */
int64_t mxh_handle_get(mxh_proc_t *p, uint64_t h, uint32_t type,
                       uint32_t rights, mxh_obj_t **out);

/* Fills *out for `h` (value, type, rights, koid, related koid, signals as
 * of now).  Returns MXH_OK; BAD_STATE, BAD_HANDLE (*out untouched). */
int64_t mxh_handle_basic(mxh_proc_t *p, uint64_t h, mxh_handle_info_t *out);

/* ---- transit: handles owned by the kernel ----------------------------------
 * A bundle is the set of handles one channel message carries.  Moving
 * handles into a bundle and binding a bundle to a process are each one
 * atomic step under the process's table lock. */

/* Moves hs[0..n) out of `p` into a new bundle, all or nothing.  Checks:
 * NO_MEMORY, BAD_STATE, n > MXH_TRANSIT_MAX -> MXH_ERR_OUT_OF_RANGE; then
 * per handle in order: not a live handle -> MXH_ERR_BAD_HANDLE, names the
 * object `self` (may be NULL) -> MXH_ERR_NOT_SUPPORTED, lacks
 * MXH_RIGHT_TRANSFER -> MXH_ERR_ACCESS_DENIED; then the same handle twice
 * -> MXH_ERR_INVALID_ARGS.  On MXH_OK the handles have left p's table
 * (waits through them end with CANCELED) and *out is a bundle the caller
 * owns until it gives it to mxh_transit_bind or mxh_transit_close; with
 * n == 0, *out is NULL.  On failure *out is NULL and the table unchanged. */
int64_t mxh_transit_take(mxh_proc_t *p, const uint64_t *hs, size_t n,
                         const mxh_obj_t *self, mxh_transit_t **out);

/* Handles in the bundle (0 for NULL). */
size_t mxh_transit_count(const mxh_transit_t *t);

/* Binds every handle of `t` to `p` (in order, rights kept) and frees `t`;
 * values are written to out[0..count).  Returns the count (0 for t NULL).
 * MXH_ERR_BAD_STATE if `p` is dead, MXH_ERR_NO_RESOURCES if the table has
 * no room, MXH_ERR_NO_MEMORY: nothing bound, t still the caller's. */
int64_t mxh_transit_bind(mxh_proc_t *p, mxh_transit_t *t, uint32_t *out);

/* Closes every handle of `t` (with whatever that destroys, before
 * returning) and frees it (t may be NULL). */
void mxh_transit_close(mxh_transit_t *t);

/* Copies the koids of t's handles (up to cap) to out; returns the count
 * (0 for NULL). */
size_t mxh_transit_koids(const mxh_transit_t *t, mxh_koid_t *out, size_t cap);

/* As the kernel: moves one handle from `src` to `dst` (a bootstrap handle),
 * rights kept, under both table locks (one step).  Returns its value in
 * dst; waits through it in src end with CANCELED.  Errors in order:
 * MXH_ERR_BAD_STATE if src is dead, MXH_ERR_INVALID_ARGS if `h` is not a
 * live handle of src with MXH_RIGHT_TRANSFER, MXH_ERR_BAD_STATE if dst is
 * dead, NO_RESOURCES / NO_MEMORY if dst's table has no room. */
int64_t mxh_handle_move(mxh_proc_t *src, uint64_t h, mxh_proc_t *dst);

/* ---- channels ----------------------------------------------------------------
 * A channel endpoint's queue holds whole messages: bytes and handles.
 * Write and read take p's table lock, the pair's lock and the endpoint's
 * lock, briefly; neither blocks (but see mxh_kernel_collect). */

/* mx_channel_write: checks, in order, NO_MEMORY, BAD_STATE, BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED (no WRITE), OUT_OF_RANGE (nbytes >
 * MXH_CHANNEL_MAX_BYTES or n > MXH_TRANSIT_MAX), each handle as
 * mxh_transit_take (with `self` the channel), then PEER_CLOSED; then moves
 * the handles and queues the message at the peer (or hands it to a call
 * waiting there for its txid), all or nothing.  Returns MXH_OK.  `data` is
 * copied.  On success hs[0..n) have left p's table (waits through them end
 * with CANCELED) and belong to the kernel until read; on failure they stay
 * p's. */
int64_t mxh_channel_write(mxh_proc_t *p, uint64_t h, const void *data,
                          size_t nbytes, const uint64_t *hs, size_t n);

/* mx_channel_read: BAD_STATE, NOT_SUPPORTED for options other than
 * MXH_CHANNEL_READ_MAY_DISCARD, BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no
 * READ); an empty queue is SHOULD_WAIT, or PEER_CLOSED once the peer is
 * gone.  A first message larger than max_bytes / max_handles is
 * BUFFER_TOO_SMALL with actual[0] = its bytes, actual[1] = its handles
 * (the message stays queued, or with MAY_DISCARD is dropped, its handles
 * closed); NO_RESOURCES / NO_MEMORY if p's table has no room for its
 * handles (it stays queued).  On success the first message leaves the
 * queue: its bytes go to data_out (room for max_bytes), its handles are
 * bound to p, rights kept, with values in handles_out (room for
 * max_handles), and the result is (handles << 32) | bytes.  actual (two
 * elements) is written only with BUFFER_TOO_SMALL. */
int64_t mxh_channel_read(mxh_proc_t *p, uint64_t h, uint32_t options,
                         uint64_t max_bytes, uint64_t max_handles,
                         void *data_out, uint32_t *handles_out,
                         uint64_t *actual);

/* mx_channel_call: writes as mxh_channel_write (same errors; on them the
 * handles stay with the caller and actual is untouched), then blocks, no
 * lock held, until the reply whose first four bytes (little-endian; 0 if
 * shorter) equal the request's comes straight to it, and returns it as
 * mxh_channel_read does.  Once written, the request stays sent whatever
 * follows.  actual has three elements; actual[2] is 0 unless CALL_FAILED.
 * TIMED_OUT at `deadline` (a later reply goes to the queue).  CALL_FAILED
 * with actual[2] = PEER_CLOSED (the peer went), CANCELED (the caller's
 * handle closed, replaced or moved, or its process died; also if it died
 * once the reply came: the reply's handles are closed), BUFFER_TOO_SMALL
 * (reply discarded, its handles closed; actual[0..1] its sizes), or
 * NO_RESOURCES / NO_MEMORY (no room in p's table; reply discarded). */
int64_t mxh_channel_call(mxh_proc_t *p, uint64_t h, const void *data,
                         size_t nbytes, const uint64_t *hs, size_t n,
                         uint64_t deadline, uint64_t max_bytes,
                         uint64_t max_handles, void *data_out,
                         uint32_t *handles_out, uint64_t *actual);

/* ---- signals -------------------------------------------------------------- */

/* mx_object_signal: user-settable bits only (mxh_user_signals).
 * BAD_STATE; BAD_HANDLE; ACCESS_DENIED without WRITE; INVALID_ARGS for a bit
 * outside the object's settable set in either mask.  `peer` != 0 acts on
 * the peer: NOT_SUPPORTED on an object that was never peered, PEER_CLOSED
 * once the peer is gone.  Returns MXH_OK.  Rising bits end the matching
 * waits and queue the matching async packets before the call returns;
 * takes the table lock, the pair's lock (peer), the object's lock and the
 * port lock; never blocks. */
int64_t mxh_object_signal(mxh_proc_t *p, uint64_t h, uint32_t clear,
                          uint32_t set, int peer);

/* mx_object_wait_one: BAD_STATE; BAD_HANDLE; ACCESS_DENIED without READ;
 * then blocks (no lock held; a reference keeps the object) until any of
 * `signals` is asserted on h's object and returns the signals then
 * (>= 0, also in *observed).  TIMED_OUT at `deadline` (a past deadline
 * polls); CANCELED if h is closed, replaced or moved away, or p dies,
 * meanwhile; with both, *observed gets the signals as the wait ends. */
int64_t mxh_object_wait_one(mxh_proc_t *p, uint64_t h, uint32_t signals,
                            uint64_t deadline, uint32_t *observed);

/* mx_object_wait_many: NO_MEMORY, BAD_STATE, then as wait_one over n
 * (handle, signals) items, checked in order; returns MXH_OK (not the
 * signals) once any item is satisfied, TIMED_OUT, or CANCELED (which wins
 * over satisfied items: p died, or an item's handle went).  observed[i]
 * gets each item's signals in every outcome but an argument error.
 * n == 0 waits for the deadline (or p's death). */
int64_t mxh_object_wait_many(mxh_proc_t *p, const uint64_t *hs,
                             const uint32_t *signals, size_t n,
                             uint64_t deadline, uint32_t *observed);

/* mx_port_queue: a user packet with `key`, `status` and user[0..user_len)
 * (copied; the rest of the 32 bytes is zero).  NO_MEMORY, BAD_STATE,
 * BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no WRITE), INVALID_ARGS
 * (user_len > 32), SHOULD_WAIT with MXH_PORT_MAX_PACKETS user packets
 * queued.  Returns MXH_OK; wakes a waiter.  Never blocks. */
int64_t mxh_port_queue(mxh_proc_t *p, uint64_t port, uint64_t key,
                       int32_t status, const void *user, size_t user_len);

/* mx_port_wait: takes the first packet, in queue order, into *out (written
 * only on MXH_OK); blocks (no lock held; a reference keeps the port) until
 * one comes or the deadline (TIMED_OUT).  BAD_STATE, BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED (no READ); CANCELED if p dies or the port
 * handle goes meanwhile.  Taking a repeating wait's packet re-arms it.
 * Several threads may wait on one port: each packet goes to one. */
int64_t mxh_port_wait(mxh_proc_t *p, uint64_t port, uint64_t deadline,
                      mxh_packet_t *out);

/* mx_object_wait_async: NO_MEMORY, BAD_STATE, the port first (BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED without WRITE), then h (BAD_HANDLE,
 * ACCESS_DENIED without READ), then options (INVALID_ARGS unless ONCE or
 * REPEATING); returns MXH_OK.  A packet
 * with `key` is queued when any of `signals` is asserted (at once if it
 * already is); a repeating wait fires again on the next assertion after its
 * packet was taken.  Closing, replacing or moving h, or p's death, ends the
 * wait (a queued packet stays; with notify_cancel a packet with status
 * MXH_ERR_CANCELED is queued instead of silence).  No reference is held on
 * the port: once it is destroyed the wait ends at its next firing.  A
 * signal packet lives inside its wait, so queueing one never fails and does
 * not count against MXH_PORT_MAX_PACKETS.  Never blocks. */
int64_t mxh_object_wait_async(mxh_proc_t *p, uint64_t h, uint64_t port,
                              uint64_t key, uint32_t signals, uint32_t options,
                              int notify_cancel);

/* mx_port_cancel: BAD_STATE, the port (BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED without WRITE), then h (BAD_HANDLE, ACCESS_DENIED without
 * READ); ends p's async waits through h on that port with `key` (no
 * CANCELED packet) and drops their packets not yet taken.  MXH_OK, or
 * NOT_FOUND if there was neither. */
int64_t mxh_port_cancel(mxh_proc_t *p, uint64_t port, uint64_t h,
                        uint64_t key);

/* Bits a process may set on objects of `type` (MXH_SIGNAL_USER_ALL, plus
 * SIGNALED for events and event pairs).  Pure. */
uint32_t mxh_user_signals(uint32_t type);

/* Default rights of objects of `type` (what the creating syscalls give;
 * 0 for an unknown type).  Pure. */
uint32_t mxh_default_rights(uint32_t type);

/* ---- tasks: jobs, processes, threads ---------------------------------------------
 * Every call fails with MXH_ERR_BAD_STATE first if the caller is dead.  A
 * created job, process or thread is published (koid, counters) only once
 * nothing can fail, so a failed create leaves no trace.  The handles they
 * return carry the type's default rights.  None of these blocks; kills run
 * their whole teardown (tables closed, cascades) before returning. */

#define MXH_INFO_HANDLE_VALID      1u
#define MXH_INFO_HANDLE_BASIC      2u
#define MXH_INFO_PROCESS           3u
#define MXH_INFO_PROCESS_THREADS   4u
#define MXH_INFO_JOB_CHILDREN      8u
#define MXH_INFO_JOB_PROCESSES     9u
#define MXH_INFO_PROCESS_HANDLES   0x100u

typedef struct mxh_process_info {
    int64_t return_code;
    int32_t started;
    int32_t exited;
} mxh_process_info_t;

/* The kernel's own tasks: the root job, the running init process in it and
 * init's running thread, each with one reference for the caller (give each
 * back with mxh_object_release; init's thread has no handle, so releasing
 * it ends the thread and init exits with 0: do it at teardown).  init's
 * table is empty: give it a handle to the root job.  Call once, on a fresh
 * kernel: koids 1024, 1025, 1026.  MXH_OK, or MXH_ERR_NO_MEMORY (nothing
 * created, outputs untouched). */
int64_t mxh_kernel_boot(mxh_kernel_t *k, uint64_t init_secret,
                        mxh_obj_t **root_job, mxh_proc_t **init,
                        mxh_obj_t **init_thread);

/* mx_job_create: a child of the job `parent`.  BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED (no WRITE), INVALID_ARGS (options != 0), BAD_STATE (parent
 * killed), NO_RESOURCES, NO_MEMORY.  Returns the new job's handle in p. */
int64_t mxh_job_create(mxh_proc_t *p, uint64_t parent, uint32_t options);

/* mx_process_create: as job_create, in the job `job`.  The new process is
 * NEW (not started, no threads, empty table) and handle values in it are
 * keyed by `secret`.  Returns its handle in p; *out (written on success
 * only) gets the process, pinned once for the caller (not referenced: its
 * life is its handles; give the pin back with
 * mxh_object_unpin(mxh_proc_object(*out))).  The caller acts as the new
 * process by passing *out; after it dies its calls fail BAD_STATE. */
int64_t mxh_process_create(mxh_proc_t *p, uint64_t job, uint64_t secret,
                           uint32_t options, mxh_proc_t **out);

/* mx_thread_create: a NEW thread in the process `process`.  BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED (no WRITE), INVALID_ARGS (options != 0),
 * BAD_STATE (process dead), NO_RESOURCES, NO_MEMORY.  Returns its handle
 * in p.  A thread whose last handle goes is killed, and the last thread of
 * a started process takes the process with it: keep a handle. */
int64_t mxh_thread_create(mxh_proc_t *p, uint64_t process, uint32_t options);

/* mx_process_start: the process handle (BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED without WRITE), then the thread handle (the same, and
 * ACCESS_DENIED for a thread of another process), then arg1 (INVALID_ARGS
 * unless a handle of p with TRANSFER), then BAD_STATE (process or thread
 * already started, or dead), then NO_RESOURCES / NO_MEMORY (no room in
 * the process's table).  Moves arg1 (rights kept) into the process and
 * starts both, in one step under both table locks; on failure arg1 stays
 * p's.  Returns arg1's value in the process; *koid (not NULL) gets the
 * process's koid. */
int64_t mxh_process_start(mxh_proc_t *p, uint64_t process, uint64_t thread,
                          uint64_t arg1, mxh_koid_t *koid);

/* mx_thread_start: another thread of a started process.  BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED (no WRITE), BAD_STATE (the process was never
 * started or is dead; the thread is not new).  Returns MXH_OK. */
int64_t mxh_thread_start(mxh_proc_t *p, uint64_t thread);

/* mx_process_exit: p exits with retcode: everything mxh_proc_kill does,
 * with that return code.  MXH_OK; BAD_STATE if p was already dead. */
int64_t mxh_process_exit(mxh_proc_t *p, int64_t retcode);

/* mx_task_kill: a job (no new children; every process in its subtree,
 * walked without recursion), a process (return code -1) or a thread (the
 * last thread of a started process takes it along, return code 0).
 * BAD_HANDLE, WRONG_TYPE (not a task), ACCESS_DENIED (no WRITE).  MXH_OK,
 * also when the task was already dead; p may kill itself or its own job. */
int64_t mxh_task_kill(mxh_proc_t *p, uint64_t task);

/* mx_object_get_info for tasks: INFO_PROCESS (a process handle with READ;
 * fills *info, returns 0), INFO_PROCESS_THREADS (a process with ENUMERATE;
 * also fills *info), INFO_JOB_CHILDREN, INFO_JOB_PROCESSES (a job with
 * ENUMERATE): koids of the live ones into koids[0..cap); returns how many
 * there are (may exceed cap).  info may be NULL.  NOT_SUPPORTED for any
 * other topic (checked before the handle), BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED. */
int64_t mxh_task_info(mxh_proc_t *p, uint64_t h, uint32_t topic,
                      mxh_process_info_t *info, mxh_koid_t *koids, size_t cap);

/* INFO_PROCESS_HANDLES: the handle table of the process behind h
 * (BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED without ENUMERATE), as
 * mxh_proc_handles; returns the total count. */
int64_t mxh_process_handles_of(mxh_proc_t *p, uint64_t h,
                               mxh_handle_info_t *out, size_t cap);

/* 0 new, 1 running, 2 exited (dead); *retcode (may be NULL) its return code
 * (0 until it dies).  As the kernel, no handle needed; safe on a pinned
 * process after its destruction.  Takes its table lock. */
int mxh_proc_state(mxh_proc_t *p, int64_t *retcode);

/* ---- testing aid ---------------------------------------------------------- */

/* In builds with -DMXH_FAULT_INJECTION, the nth allocation from now fails
 * (0 turns failure off); one countdown for the whole program, every kernel
 * and thread.  Elsewhere (the libraries `make` builds) it does nothing. */
void mxh_fault_fail_nth(uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* MXHANDLES_H */
