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
 *  - "Managed" objects (created with MXH_OBJ_F_MANAGED) have state outside
 *    this library (the Python layer's queues, task records).  When the last
 *    handle to a managed object goes away the library does not act on it but
 *    reports its koid as a *note*, and the owner of that outside state runs
 *    the object's zero-handles action.  Unmanaged objects (events, event
 *    pairs) are handled entirely here.
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

/* Object flags (mxh_object_create). */
#define MXH_OBJ_F_MANAGED   1u  /* report zero handles as a note */

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

/* Koids of managed objects whose last handle went away during a call that
 * can close many handles.  The caller owns the struct; the library owns the
 * array until mxh_notes_release. */
typedef struct mxh_notes {
    mxh_koid_t *koids;
    size_t      count;
} mxh_notes_t;

/* ---- kernel -------------------------------------------------------------- */

/* A new, empty kernel.  max_handles == 0 means MXH_DEFAULT_MAX_HANDLES.
 * Returns NULL when out of memory. */
mxh_kernel_t *mxh_kernel_create(uint64_t max_handles);

/* Drops the creator's reference.  Every process still alive is killed
 * (its table closed); the kernel's memory goes when the last object and
 * process pin is gone.  Notes produced by that teardown are discarded. */
void mxh_kernel_release(mxh_kernel_t *k);

/* A consistent-enough copy of the counters (each counter is exact; they are
 * read one after another without stopping other threads). */
void mxh_kernel_stats(mxh_kernel_t *k, mxh_stats_t *out);

/* The koid the next object will get (koids are handed out in order). */
mxh_koid_t mxh_kernel_peek_koid(mxh_kernel_t *k);

/* ---- objects -------------------------------------------------------------- */

/* A new object of `type` with one reference (the caller's) and no handles.
 * related_koid is reported by mxh_handle_basic.  NULL when out of memory. */
mxh_obj_t *mxh_object_create(mxh_kernel_t *k, uint32_t type, uint32_t flags,
                             mxh_koid_t related_koid);

/* Two peered objects (channel endpoints or event pair ends) with one
 * reference each for the caller, plus the peer references each holds on
 * the other.  Returns MXH_OK or MXH_ERR_NO_MEMORY (nothing created). */
int64_t mxh_object_create_pair(mxh_kernel_t *k, uint32_t type, uint32_t flags,
                               mxh_obj_t **out0, mxh_obj_t **out1);

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

/* A new process object (type MXH_OBJ_PROCESS, managed) with an empty table.
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
 * proportional to its own handles.  Notes for managed objects whose last
 * handle this was are returned in *notes (release them).  Returns the number
 * of handles closed, or MXH_ERR_BAD_STATE if it was already dead (nothing
 * done).  A dead process's calls all fail with MXH_ERR_BAD_STATE. */
int64_t mxh_proc_kill(mxh_proc_t *p, mxh_notes_t *notes);

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

/* Creates a peered pair and one handle to each in `p`: values in out[0..1].
 * Managed pairs (channels) also report koids in koids[0..1] (may be NULL). */
int64_t mxh_pair_create_handles(mxh_proc_t *p, uint32_t type, uint32_t flags,
                                uint32_t rights, uint32_t *out,
                                mxh_koid_t *koids);

/* Closes `h`.  Returns 0, or the koid (> 0) of a managed object whose last
 * handle this was (the caller runs its zero-handles action), or an error. */
int64_t mxh_handle_close(mxh_proc_t *p, uint64_t h);

/* Closes every valid value in hs[0..n).  A value given twice is closed once.
 * Returns MXH_OK, or MXH_ERR_BAD_HANDLE if any value was not valid (the valid
 * ones are closed anyway), or MXH_ERR_NO_MEMORY (nothing closed).  Notes as
 * for mxh_proc_kill; release them in every case. */
int64_t mxh_handle_close_many(mxh_proc_t *p, const uint64_t *hs, size_t n,
                              mxh_notes_t *notes);

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

/* As mxh_transit_take, but first checks the channel handle `ch` (BAD_HANDLE,
 * WRONG_TYPE, ACCESS_DENIED without WRITE), then n > MXH_TRANSIT_MAX or
 * nbytes > max_bytes (OUT_OF_RANGE), then the handles, then that the peer
 * is still there (MXH_ERR_PEER_CLOSED).  The whole check and the move are
 * one step.  Returns the koid of the *peer* endpoint (the one whose queue
 * the message joins). */
int64_t mxh_channel_write_take(mxh_proc_t *p, uint64_t ch, const uint64_t *hs,
                               size_t n, size_t nbytes, size_t max_bytes,
                               mxh_transit_t **out);

size_t mxh_transit_count(const mxh_transit_t *t);

/* Binds every handle of `t` to `p` (in order) and frees `t`.  Values are
 * written to out[0..count).  MXH_ERR_BAD_STATE if `p` is dead, MXH_ERR_
 * NO_MEMORY (nothing bound, t untouched). */
int64_t mxh_transit_bind(mxh_proc_t *p, mxh_transit_t *t, uint32_t *out);

/* Closes every handle of `t` and frees it.  Notes as for mxh_proc_kill. */
void mxh_transit_close(mxh_transit_t *t, mxh_notes_t *notes);

/* Copies the koids of t's handles (up to cap) to out; returns the count. */
size_t mxh_transit_koids(const mxh_transit_t *t, mxh_koid_t *out, size_t cap);

/* Moves one handle from `src` to `dst` (a bootstrap handle).  Returns its
 * value in dst.  MXH_ERR_INVALID_ARGS if `h` is not a live handle of src
 * with MXH_RIGHT_TRANSFER; MXH_ERR_BAD_STATE if dst is dead. */
int64_t mxh_handle_move(mxh_proc_t *src, uint64_t h, mxh_proc_t *dst);

void mxh_notes_release(mxh_notes_t *notes);

/* ---- signals -------------------------------------------------------------- */

/* mx_object_signal: user-settable bits only.  BAD_HANDLE; ACCESS_DENIED
 * without WRITE; INVALID_ARGS for a bit outside the object's settable set in
 * either mask.  `peer` != 0 acts on the peer: NOT_SUPPORTED on an object
 * with no peer, PEER_CLOSED once it is gone. */
int64_t mxh_object_signal(mxh_proc_t *p, uint64_t h, uint32_t clear,
                          uint32_t set, int peer);

/* Bits a process may set on objects of `type`. */
uint32_t mxh_user_signals(uint32_t type);

/* Default rights of objects of `type`. */
uint32_t mxh_default_rights(uint32_t type);

/* ---- testing aid ---------------------------------------------------------- */

/* In builds with -DMXH_FAULT_INJECTION, the nth allocation from now fails
 * (0 turns failure off).  Elsewhere it does nothing. */
void mxh_fault_fail_nth(uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* MXHANDLES_H */
