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
 * Conventions
 *  - Functions that can fail return int64_t: a negative value is an
 *    MXH_ERR_* status, a non-negative value is the result (a handle value, a
 *    koid, a count, or 0).  On failure nothing observable has changed unless
 *    the comment says otherwise.
 *  - Handle values arrive as uint64_t so that callers need not range-check
 *    them: anything that is not a live handle of the calling process is
 *    MXH_ERR_BAD_HANDLE.
 *  - Every function is safe to call from any number of threads at once on
 *    the same kernel.  A function that takes a process pointer acts *as* that
 *    process.  No function blocks for long: per-table locks are held only for
 *    the table work itself.
 *  - Every object's life is run here: reference counts, the zero-handles
 *    actions (a peer is told, a channel's queue goes with it) and
 *    destruction, including cascades of any depth, never by recursion.
 *    Nothing calls back out of the library.
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

/* A new, empty kernel.  max_handles == 0 means MXH_DEFAULT_MAX_HANDLES.
 * Returns NULL when out of memory. */
mxh_kernel_t *mxh_kernel_create(uint64_t max_handles);

/* Drops the creator's reference.  Every process still alive is killed
 * (its table closed); the kernel's memory goes when the last object and
 * process pin is gone. */
void mxh_kernel_release(mxh_kernel_t *k);

/* A consistent-enough copy of the counters (each counter is exact; they are
 * read one after another without stopping other threads). */
void mxh_kernel_stats(mxh_kernel_t *k, mxh_stats_t *out);

/* The koid the next object will get (koids are handed out in order). */
mxh_koid_t mxh_kernel_peek_koid(mxh_kernel_t *k);

/* Copies up to `cap` live objects to out (in no particular order); returns
 * how many there are (may exceed cap: call again with more room). */
int64_t mxh_kernel_objects(mxh_kernel_t *k, mxh_object_info_t *out, size_t cap);

/* Copies up to `cap` queued messages to out, and the koids of the handles
 * they carry, message after message, to koids (up to koid_cap); writes the
 * total number of such koids to *total_koids.  Returns the number of
 * messages (may exceed cap). */
int64_t mxh_kernel_messages(mxh_kernel_t *k, mxh_message_info_t *out,
                            size_t cap, mxh_koid_t *koids, size_t koid_cap,
                            uint64_t *total_koids);

/* Reclaims channel endpoints no process can reach any more (cycles through
 * channel queues) and everything that dies with them.  Returns how many
 * objects were destroyed, or MXH_ERR_NO_MEMORY (nothing reclaimed).  Runs
 * alongside other calls; one collection at a time. */
int64_t mxh_kernel_collect(mxh_kernel_t *k);

/* ---- objects -------------------------------------------------------------- */

/* A new object of `type` (event, port, or a job with no parent: processes
 * come from mxh_proc_create, threads from mxh_thread_create, pairs from
 * mxh_pair_create_handles) with one reference
 * (the caller's) and no handles.  related_koid is reported by
 * mxh_handle_basic.  NULL when out of memory or for another type. */
mxh_obj_t *mxh_object_create(mxh_kernel_t *k, uint32_t type,
                             mxh_koid_t related_koid);

mxh_koid_t mxh_object_koid(const mxh_obj_t *o);
uint32_t   mxh_object_type(const mxh_obj_t *o);
uint32_t   mxh_object_handle_count(const mxh_obj_t *o);
uint32_t   mxh_object_signals(const mxh_obj_t *o);

/* The koid of the object's peer while peered, else 0. */
mxh_koid_t mxh_object_peer_koid(mxh_obj_t *o);

/* Takes / drops one reference.  The drop that takes the count to zero
 * destroys the object (counters, peer link); its memory goes when it is
 * also unpinned. */
void mxh_object_ref(mxh_obj_t *o);
void mxh_object_release(mxh_obj_t *o);

/* Pins keep an object's memory (not its life) after destruction, so that an
 * outside view of it (a debugger's Process) can still ask about it. */
void mxh_object_pin(mxh_obj_t *o);
void mxh_object_unpin(mxh_obj_t *o);
int  mxh_object_destroyed(const mxh_obj_t *o);

/* Atomically: signals = (signals & ~clear) | set.  Returns the new word. */
uint32_t mxh_object_signal_raw(mxh_obj_t *o, uint32_t clear, uint32_t set);

/* ---- processes and their tables ------------------------------------------ */

/* A new process object (type MXH_OBJ_PROCESS) with an empty table.
 * `secret` keys the scrambling of its handle values (see mxhandles.c).  The
 * caller gets one reference.  NULL when out of memory. */
mxh_proc_t *mxh_proc_create(mxh_kernel_t *k, uint64_t secret,
                            mxh_koid_t job_koid);
mxh_obj_t  *mxh_proc_object(mxh_proc_t *p);
mxh_proc_t *mxh_object_proc(mxh_obj_t *o);   /* NULL unless a process */

/* Live handles in the process's table right now. */
uint64_t mxh_proc_handle_count(mxh_proc_t *p);

/* Non-zero once the process is dead (mxh_proc_kill). */
int mxh_proc_is_dead(mxh_proc_t *p);

/* Marks the process dead and closes every handle in its table, in time
 * proportional to its own handles; its blocked calls end with
 * MXH_ERR_CANCELED.  Returns the number of handles closed, or
 * MXH_ERR_BAD_STATE if it was already dead (nothing done).  A dead
 * process's calls all fail with MXH_ERR_BAD_STATE. */
int64_t mxh_proc_kill(mxh_proc_t *p);

/* Copies up to `cap` entries of the table into `out`, in slot order.
 * Returns the total number of live handles (may exceed cap). */
int64_t mxh_proc_handles(mxh_proc_t *p, mxh_handle_info_t *out, size_t cap);

/* ---- handles: the syscall core ---------------------------------------------
 * Every function below fails with MXH_ERR_BAD_STATE first if the process is
 * dead, then with MXH_ERR_BAD_HANDLE if `h` is not a live handle of it. */

/* Binds a new handle to `o` in `p` with `rights`; takes a reference.
 * Returns the value, MXH_ERR_NO_RESOURCES at the kernel's handle limit or
 * when the table is full, MXH_ERR_NO_MEMORY. */
int64_t mxh_handle_create(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights);

/* Creates an unmanaged object of `type` and its first handle in one step.
 * Returns the handle value or an error (nothing created on error). */
int64_t mxh_object_create_handle(mxh_proc_t *p, uint32_t type,
                                 uint32_t rights);

/* Creates a peered pair (MXH_OBJ_CHANNEL or MXH_OBJ_EVENT_PAIR) and one
 * handle to each end in `p`: values in out[0..1], koids in koids[0..1]
 * (koids may be NULL).  Nothing is created on error. */
int64_t mxh_pair_create_handles(mxh_proc_t *p, uint32_t type, uint32_t rights,
                                uint32_t *out, mxh_koid_t *koids);

/* Closes `h`; threads waiting through it end with MXH_ERR_CANCELED.
 * Returns MXH_OK or an error. */
int64_t mxh_handle_close(mxh_proc_t *p, uint64_t h);

/* Closes every valid value in hs[0..n).  A value given twice is closed once.
 * Returns MXH_OK, or MXH_ERR_BAD_HANDLE if any value was not valid (the valid
 * ones are closed anyway), or MXH_ERR_NO_MEMORY (nothing closed). */
int64_t mxh_handle_close_many(mxh_proc_t *p, const uint64_t *hs, size_t n);

/* A new handle to the same object.  MXH_ERR_ACCESS_DENIED without
 * MXH_RIGHT_DUPLICATE; MXH_ERR_INVALID_ARGS if rights is neither
 * MXH_RIGHT_SAME_RIGHTS nor a subset of h's; MXH_ERR_NO_RESOURCES. */
int64_t mxh_handle_duplicate(mxh_proc_t *p, uint64_t h, uint32_t rights);

/* A new handle replacing `h` (which is closed on success, untouched on
 * failure).  MXH_ERR_INVALID_ARGS as for duplicate.  Never fails with
 * MXH_ERR_NO_RESOURCES: the count of live handles does not change. */
int64_t mxh_handle_replace(mxh_proc_t *p, uint64_t h, uint32_t rights);

/* Checks that `h` is a handle of `p` to an object of `type` (0: any type)
 * carrying every bit of `rights`, in that order (BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED).  Returns the object's koid.  If `out` is not NULL it gets
 * the object with a new reference the caller must release. */
int64_t mxh_handle_get(mxh_proc_t *p, uint64_t h, uint32_t type,
                       uint32_t rights, mxh_obj_t **out);

/* Fills *out for `h` (value, type, rights, koid, related koid, signals). */
int64_t mxh_handle_basic(mxh_proc_t *p, uint64_t h, mxh_handle_info_t *out);

/* ---- transit: handles owned by the kernel ----------------------------------
 * A bundle is the set of handles one channel message carries.  Moving
 * handles into a bundle and binding a bundle to a process are each one
 * atomic step under the process's table lock. */

/* Moves hs[0..n) out of `p` into a new bundle, all or nothing.  Checks, per
 * handle in order: not a live handle -> MXH_ERR_BAD_HANDLE, names the object
 * `self` (may be NULL) -> MXH_ERR_NOT_SUPPORTED, lacks MXH_RIGHT_TRANSFER ->
 * MXH_ERR_ACCESS_DENIED; then the same handle twice -> MXH_ERR_INVALID_ARGS.
 * n > MXH_TRANSIT_MAX -> MXH_ERR_OUT_OF_RANGE.  With n == 0 *out is NULL. */
int64_t mxh_transit_take(mxh_proc_t *p, const uint64_t *hs, size_t n,
                         const mxh_obj_t *self, mxh_transit_t **out);

size_t mxh_transit_count(const mxh_transit_t *t);

/* Binds every handle of `t` to `p` (in order) and frees `t`.  Values are
 * written to out[0..count).  MXH_ERR_BAD_STATE if `p` is dead, MXH_ERR_
 * NO_MEMORY (nothing bound, t untouched). */
int64_t mxh_transit_bind(mxh_proc_t *p, mxh_transit_t *t, uint32_t *out);

/* Closes every handle of `t` and frees it (t may be NULL). */
void mxh_transit_close(mxh_transit_t *t);

/* Copies the koids of t's handles (up to cap) to out; returns the count. */
size_t mxh_transit_koids(const mxh_transit_t *t, mxh_koid_t *out, size_t cap);

/* Moves one handle from `src` to `dst` (a bootstrap handle).  Returns its
 * value in dst.  MXH_ERR_INVALID_ARGS if `h` is not a live handle of src
 * with MXH_RIGHT_TRANSFER; MXH_ERR_BAD_STATE if dst is dead. */
int64_t mxh_handle_move(mxh_proc_t *src, uint64_t h, mxh_proc_t *dst);

/* ---- channels ----------------------------------------------------------------
 * A channel endpoint's queue holds whole messages: bytes and handles. */

/* mx_channel_write: checks, in order, BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED
 * (no WRITE), OUT_OF_RANGE (nbytes > MXH_CHANNEL_MAX_BYTES or n >
 * MXH_TRANSIT_MAX), each handle as mxh_transit_take (with `self` the
 * channel), then PEER_CLOSED; then moves the handles and queues the message
 * at the peer (or hands it to a call waiting there for its txid), all or
 * nothing.  `data` is copied. */
int64_t mxh_channel_write(mxh_proc_t *p, uint64_t h, const void *data,
                          size_t nbytes, const uint64_t *hs, size_t n);

/* mx_channel_read: NOT_SUPPORTED for options other than
 * MXH_CHANNEL_READ_MAY_DISCARD, BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no
 * READ); an empty queue is SHOULD_WAIT, or PEER_CLOSED once the peer is
 * gone.  A first message larger than max_bytes / max_handles is
 * BUFFER_TOO_SMALL with actual[0] = its bytes, actual[1] = its handles (and
 * dropped, its handles closed, with MAY_DISCARD).  On success the message's
 * bytes go to data_out, its handles are bound to p with values in
 * handles_out, and the result is (handles << 32) | bytes. */
int64_t mxh_channel_read(mxh_proc_t *p, uint64_t h, uint32_t options,
                         uint64_t max_bytes, uint64_t max_handles,
                         void *data_out, uint32_t *handles_out,
                         uint64_t *actual);

/* mx_channel_call: writes as mxh_channel_write (same errors; on them the
 * handles stay with the caller), then blocks until the reply whose first
 * four bytes (little-endian; 0 if shorter) equal the request's comes
 * straight to it, and returns it as mxh_channel_read does.  TIMED_OUT at
 * `deadline` (CLOCK_MONOTONIC ns; UINT64_MAX never; a later reply goes to
 * the queue).  CALL_FAILED with actual[2] = PEER_CLOSED (the peer went),
 * CANCELED (the caller's handle closed, or its process died) or
 * BUFFER_TOO_SMALL (reply discarded; actual[0..1] its sizes). */
int64_t mxh_channel_call(mxh_proc_t *p, uint64_t h, const void *data,
                         size_t nbytes, const uint64_t *hs, size_t n,
                         uint64_t deadline, uint64_t max_bytes,
                         uint64_t max_handles, void *data_out,
                         uint32_t *handles_out, uint64_t *actual);

/* ---- signals -------------------------------------------------------------- */

/* mx_object_signal: user-settable bits only.  BAD_HANDLE; ACCESS_DENIED
 * without WRITE; INVALID_ARGS for a bit outside the object's settable set in
 * either mask.  `peer` != 0 acts on the peer: NOT_SUPPORTED on an object
 * with no peer, PEER_CLOSED once it is gone. */
int64_t mxh_object_signal(mxh_proc_t *p, uint64_t h, uint32_t clear,
                          uint32_t set, int peer);

/* mx_object_wait_one: BAD_HANDLE; ACCESS_DENIED without READ; then blocks
 * (no lock held) until any of `signals` is asserted on h's object and
 * returns the signals then (>= 0).  TIMED_OUT at `deadline`
 * (CLOCK_MONOTONIC ns; UINT64_MAX never; a past deadline polls), with
 * *observed set; CANCELED if h is closed, replaced or moved away, or p
 * dies, meanwhile. */
int64_t mxh_object_wait_one(mxh_proc_t *p, uint64_t h, uint32_t signals,
                            uint64_t deadline, uint32_t *observed);

/* mx_object_wait_many: as wait_one over n (handle, signals) items, checked
 * in order; observed[i] gets each item's signals in every outcome but an
 * argument error.  n == 0 waits for the deadline. */
int64_t mxh_object_wait_many(mxh_proc_t *p, const uint64_t *hs,
                             const uint32_t *signals, size_t n,
                             uint64_t deadline, uint32_t *observed);

/* mx_port_queue: a user packet.  BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no
 * WRITE), INVALID_ARGS (user_len > 32; the rest is zero), SHOULD_WAIT with
 * MXH_PORT_MAX_PACKETS user packets queued. */
int64_t mxh_port_queue(mxh_proc_t *p, uint64_t port, uint64_t key,
                       int32_t status, const void *user, size_t user_len);

/* mx_port_wait: the first packet, in queue order, into *out; blocks until
 * one comes or the deadline (TIMED_OUT).  BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED (no READ); CANCELED if p dies or the port handle goes. */
int64_t mxh_port_wait(mxh_proc_t *p, uint64_t port, uint64_t deadline,
                      mxh_packet_t *out);

/* mx_object_wait_async: the port first (BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED without WRITE), then h (BAD_HANDLE, ACCESS_DENIED without
 * READ), then options (INVALID_ARGS unless ONCE or REPEATING).  A packet
 * with `key` is queued when any of `signals` is asserted (at once if it
 * already is); a repeating wait fires again on the next assertion after its
 * packet was taken.  Closing, replacing or moving h, or p's death, ends the
 * wait (a queued packet stays; with notify_cancel a packet with status
 * MXH_ERR_CANCELED is queued instead of silence).  No reference is held on
 * the port. */
int64_t mxh_object_wait_async(mxh_proc_t *p, uint64_t h, uint64_t port,
                              uint64_t key, uint32_t signals, uint32_t options,
                              int notify_cancel);

/* mx_port_cancel: the port (BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED without
 * WRITE), then h (BAD_HANDLE, ACCESS_DENIED without READ); ends h's async
 * waits on that port with `key` and drops their packets not yet taken.
 * NOT_FOUND if there was neither. */
int64_t mxh_port_cancel(mxh_proc_t *p, uint64_t port, uint64_t h,
                        uint64_t key);

/* Bits a process may set on objects of `type`. */
uint32_t mxh_user_signals(uint32_t type);

/* Default rights of objects of `type`. */
uint32_t mxh_default_rights(uint32_t type);

/* ---- tasks: jobs, processes, threads ---------------------------------------------
 * Every call fails with MXH_ERR_BAD_STATE first if the caller is dead. */

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
 * init's running thread, each with one reference for the caller.  Koids
 * 1024, 1025, 1026 on a fresh kernel.  MXH_OK or MXH_ERR_NO_MEMORY. */
int64_t mxh_kernel_boot(mxh_kernel_t *k, uint64_t init_secret,
                        mxh_obj_t **root_job, mxh_proc_t **init,
                        mxh_obj_t **init_thread);

/* mx_job_create: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no WRITE),
 * INVALID_ARGS (options), BAD_STATE (parent killed).  Returns the handle. */
int64_t mxh_job_create(mxh_proc_t *p, uint64_t parent, uint32_t options);

/* mx_process_create: as job_create, in the job `job`.  The new process is
 * NEW (not started); *out gets it, pinned once for the caller (unpin it
 * when done with it).  Returns the handle. */
int64_t mxh_process_create(mxh_proc_t *p, uint64_t job, uint64_t secret,
                           uint32_t options, mxh_proc_t **out);

/* mx_thread_create: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no WRITE),
 * INVALID_ARGS, BAD_STATE (process dead).  Returns the handle. */
int64_t mxh_thread_create(mxh_proc_t *p, uint64_t process, uint32_t options);

/* mx_process_start: the process handle (BAD_HANDLE, WRONG_TYPE,
 * ACCESS_DENIED without WRITE), then the thread handle (the same, and
 * ACCESS_DENIED for a thread of another process), then arg1 (INVALID_ARGS
 * unless a handle of p with TRANSFER), then BAD_STATE (process or thread
 * already started, or dead).  Moves arg1 into the process and starts both,
 * in one step.  Returns arg1's value in the process; *koid the process's. */
int64_t mxh_process_start(mxh_proc_t *p, uint64_t process, uint64_t thread,
                          uint64_t arg1, mxh_koid_t *koid);

/* mx_thread_start: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED, BAD_STATE (the
 * process was never started or is dead; the thread is not new). */
int64_t mxh_thread_start(mxh_proc_t *p, uint64_t thread);

/* mx_process_exit: p exits with retcode. */
int64_t mxh_process_exit(mxh_proc_t *p, int64_t retcode);

/* mx_task_kill: a job (its whole subtree), process (return code -1) or
 * thread.  BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (no WRITE). */
int64_t mxh_task_kill(mxh_proc_t *p, uint64_t task);

/* INFO_PROCESS (READ; fills *info), INFO_PROCESS_THREADS (ENUMERATE),
 * INFO_JOB_CHILDREN, INFO_JOB_PROCESSES (ENUMERATE): koids of the live
 * ones into koids[0..cap); returns how many there are.  BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED. */
int64_t mxh_task_info(mxh_proc_t *p, uint64_t h, uint32_t topic,
                      mxh_process_info_t *info, mxh_koid_t *koids, size_t cap);

/* INFO_PROCESS_HANDLES: the handle table of the process behind h
 * (ENUMERATE), as mxh_proc_handles. */
int64_t mxh_process_handles_of(mxh_proc_t *p, uint64_t h,
                               mxh_handle_info_t *out, size_t cap);

/* 0 new, 1 running, 2 exited; *retcode (may be NULL) its return code. */
int mxh_proc_state(mxh_proc_t *p, int64_t *retcode);

/* ---- testing aid ---------------------------------------------------------- */

/* In builds with -DMXH_FAULT_INJECTION, the nth allocation from now fails
 * (0 turns failure off).  Elsewhere it does nothing. */
void mxh_fault_fail_nth(uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* MXHANDLES_H */
