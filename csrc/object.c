/*
 * object.c - kernel objects: creation, references, the zero-handles
 * actions, destruction, signals and the threads waiting on them.
 *
 * `counts` packs the handle count (high 32 bits) and the reference count
 * (low 32) in one atomic word; a handle holds one of each.  When the handle
 * count reaches zero the zero-handles action runs (a peered object detaches
 * and flags its peer), then the reference is dropped; the drop that reaches
 * zero destroys the object: a channel's queue is handed to the reaper
 * (channel.c), the counters move, and the memory goes once it is also
 * unpinned.  Nothing here recurses through user-built structures.
 */
#include "internal.h"

#include <stdlib.h>

int mxh_stats_index(uint32_t type)
{
    switch (type) {
    case MXH_OBJ_EVENT: return MXH_STATS_EVENT;
    case MXH_OBJ_EVENT_PAIR: return MXH_STATS_EVENTPAIR;
    case MXH_OBJ_CHANNEL: return MXH_STATS_CHANNEL;
    case MXH_OBJ_PORT: return MXH_STATS_PORT;
    case MXH_OBJ_JOB: return MXH_STATS_JOB;
    case MXH_OBJ_PROCESS: return MXH_STATS_PROCESS;
    case MXH_OBJ_THREAD: return MXH_STATS_THREAD;
    default: return 7;
    }
}

bool mxh_valid_type(uint32_t type) { return mxh_stats_index(type) != 7; }

uint32_t mxh_default_rights(uint32_t type)
{
    const uint32_t basic = MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER |
                           MXH_RIGHT_READ | MXH_RIGHT_WRITE;
    switch (type) {
    case MXH_OBJ_EVENT:
    case MXH_OBJ_EVENT_PAIR:
    case MXH_OBJ_PORT:
        return basic;
    case MXH_OBJ_CHANNEL:
        return MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE;
    case MXH_OBJ_JOB:
        return basic | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY |
               MXH_RIGHT_SET_PROPERTY | MXH_RIGHT_GET_POLICY |
               MXH_RIGHT_SET_POLICY;
    case MXH_OBJ_PROCESS:
        return basic | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY |
               MXH_RIGHT_SET_PROPERTY;
    case MXH_OBJ_THREAD:
        return basic | MXH_RIGHT_GET_PROPERTY | MXH_RIGHT_SET_PROPERTY;
    default:
        return 0;
    }
}

uint32_t mxh_user_signals(uint32_t type)
{
    switch (type) {
    case MXH_OBJ_EVENT: return MXH_SIGNAL_USER_ALL | MXH_SIGNAL_EVENT_SIGNALED;
    case MXH_OBJ_EVENT_PAIR: return MXH_SIGNAL_USER_ALL | MXH_SIGNAL_EPAIR_SIGNALED;
    default: return MXH_SIGNAL_USER_ALL;
    }
}

/* ---- life cycle -------------------------------------------------------------- */

static size_t object_size(uint32_t type)
{
    switch (type) {
    case MXH_OBJ_CHANNEL: return sizeof(mxh_chan_t);
    case MXH_OBJ_PROCESS: return sizeof(mxh_proc_t);
    case MXH_OBJ_PORT: return sizeof(mxh_port_t);
    case MXH_OBJ_JOB: return sizeof(mxh_job_t);
    case MXH_OBJ_THREAD: return sizeof(mxh_thread_t);
    default: return sizeof(mxh_obj_t);
    }
}

mxh_obj_t *mxh_obj_alloc(mxh_kernel_t *k, size_t size, uint32_t type,
                         mxh_koid_t related)
{
    if (size == 0)
        size = object_size(type);
    mxh_obj_t *o = mxh_xcalloc(1, size);
    if (!o)
        return NULL;
    atomic_init(&o->counts, 1);
    atomic_init(&o->mem, 1);
    o->type = (uint16_t)type;
    o->related_koid = related;
    o->kernel = k;
    return o;
}

void mxh_obj_publish(mxh_obj_t *o)
{
    mxh_obj_publish_as(o, atomic_fetch_add(&o->kernel->next_koid, 1));
}

void mxh_obj_publish_as(mxh_obj_t *o, mxh_koid_t koid)
{
    mxh_kernel_t *k = o->kernel;
    o->koid = koid;
    atomic_fetch_add(&k->refs, 1);
    atomic_fetch_add(&k->live_objects[mxh_stats_index(o->type)], 1);
    mxh_registry_add(o);
}

void mxh_obj_discard(mxh_obj_t *o)
{
    free(o);
}

static void obj_free_memory(mxh_obj_t *o)
{
    mxh_kernel_t *k = o->kernel;
    if (o->type == MXH_OBJ_PROCESS)
        free(((mxh_proc_t *)o)->slots);
    free(o);
    mxh_kernel_unref(k);
}

static void obj_unmem(mxh_obj_t *o)
{
    if (atomic_fetch_sub(&o->mem, 1) == 1)
        obj_free_memory(o);
}

static void link_unref(mxh_link_t *l)
{
    if (atomic_fetch_sub(&l->refs, 1) == 1)
        free(l);
}

static void obj_destroy(mxh_obj_t *o)
{
    mxh_kernel_t *k = o->kernel;
    if (o->type == MXH_OBJ_PROCESS || o->type == MXH_OBJ_JOB ||
        o->type == MXH_OBJ_THREAD)
        mxh_task_destroy(o);
    if (o->type == MXH_OBJ_PORT)
        mxh_port_destroy((mxh_port_t *)o);
    if (o->type == MXH_OBJ_CHANNEL)
        mxh_chan_destroy_queue((mxh_chan_t *)o);
    mxh_registry_remove(o);
    if (o->link) {
        link_unref(o->link);
        o->link = NULL;
    }
    atomic_store(&o->destroyed, 1);
    atomic_fetch_sub(&k->live_objects[mxh_stats_index(o->type)], 1);
    atomic_fetch_add(&k->destroyed, 1);
    mxh_count_destroyed(o);
    obj_unmem(o);
}

void mxh_object_ref(mxh_obj_t *o) { atomic_fetch_add(&o->counts, 1); }

void mxh_object_release(mxh_obj_t *o)
{
    if ((uint32_t)atomic_fetch_sub(&o->counts, 1) == 1)
        obj_destroy(o);
}

void mxh_object_pin(mxh_obj_t *o) { atomic_fetch_add(&o->mem, 1); }
void mxh_object_unpin(mxh_obj_t *o) { obj_unmem(o); }
int mxh_object_destroyed(const mxh_obj_t *o) { return (int)atomic_load(&o->destroyed); }

mxh_koid_t mxh_object_koid(const mxh_obj_t *o) { return o->koid; }
uint32_t mxh_object_type(const mxh_obj_t *o) { return o->type; }

uint32_t mxh_object_handle_count(const mxh_obj_t *o)
{
    return (uint32_t)(atomic_load(&o->counts) >> 32);
}

uint32_t mxh_object_signals(const mxh_obj_t *o) { return atomic_load(&o->signals); }

mxh_koid_t mxh_object_peer_koid(mxh_obj_t *o)
{
    mxh_link_t *l = o->link;
    if (!l)
        return 0;
    spin_lock(&l->lock);
    mxh_obj_t *peer = l->ends[1 - o->side];
    mxh_koid_t koid = peer ? peer->koid : 0;
    spin_unlock(&l->lock);
    return koid;
}

mxh_obj_t *mxh_object_create(mxh_kernel_t *k, uint32_t type,
                             mxh_koid_t related_koid)
{
    /* A job made here has no parent (a root of its own); threads need a
     * process (mxh_thread_create), processes mxh_proc_create. */
    if (type != MXH_OBJ_EVENT && type != MXH_OBJ_PORT && type != MXH_OBJ_JOB)
        return NULL;
    mxh_obj_t *o = mxh_obj_alloc(k, 0, type, related_koid);
    if (o)
        mxh_obj_publish(o);
    return o;
}

/* ---- waiters --------------------------------------------------------------------- */

void mxh_waiter_unlink(mxh_waiter_t *w)
{
    mxh_obj_t *o = w->obj;
    if (!o)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        o->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->next = w->prev = NULL;
    w->obj = NULL;
    atomic_fetch_sub(&o->nwaiters, 1);
}

/* Finishes a blocked thread's waiter (object lock held): the sleeper is
 * woken while the lock is still held, so the thread cannot have left. */
void mxh_waiter_finish(mxh_waiter_t *w, int32_t status)
{
    mxh_waiter_unlink(w);
    w->status = status;
    mxh_sleeper_wake(w->sleeper);
}

/* Async waits need port_lock; a port's own lock already is port_lock. */
static void port_lock_once(mxh_obj_t *o, bool *locked)
{
    if (!*locked && o->type != MXH_OBJ_PORT)
        spin_lock(&o->kernel->port_lock);
    *locked = true;
}

static void port_unlock_if(mxh_obj_t *o, bool locked)
{
    if (locked && o->type != MXH_OBJ_PORT)
        spin_unlock(&o->kernel->port_lock);
}

void mxh_cancel_waiters(mxh_obj_t *o, mxh_proc_t *p, uint32_t handle,
                        bool any_handle)
{
    if (atomic_load_explicit(&o->nwaiters, memory_order_acquire) == 0)
        return;
    mxh_obj_lock(o);
    bool port_locked = false;
    mxh_waiter_t *w = o->waiters;
    while (w) {
        mxh_waiter_t *next = w->next;
        if (w->proc == p && (any_handle || w->handle == handle)) {
            if (w->kind != WAIT_ASYNC) {
                mxh_waiter_finish(w, MXH_ERR_CANCELED);
            } else {
                port_lock_once(o, &port_locked);
                mxh_async_end(w);
            }
        }
        w = next;
    }
    port_unlock_if(o, port_locked);
    mxh_obj_unlock(o);
}

uint32_t mxh_signal_locked(mxh_obj_t *o, uint32_t clear, uint32_t set)
{
    uint32_t old = atomic_load_explicit(&o->signals, memory_order_relaxed);
    uint32_t now = (old & ~clear) | set;
    atomic_store_explicit(&o->signals, now, memory_order_release);
    uint32_t rising = now & ~old;
    if (rising && o->waiters) {
        bool port_locked = false;
        mxh_waiter_t *w = o->waiters;
        while (w) {
            mxh_waiter_t *next = w->next;
            if (w->kind == WAIT_SIGNALS && (w->want & now)) {
                w->observed = now;
                mxh_waiter_finish(w, MXH_OK);
            } else if (w->kind == WAIT_ASYNC && (w->want & rising)) {
                port_lock_once(o, &port_locked);
                mxh_async_fire(w, now);
            }
            w = next;
        }
        port_unlock_if(o, port_locked);
    }
    return now;
}

uint32_t mxh_object_signal_raw(mxh_obj_t *o, uint32_t clear, uint32_t set)
{
    mxh_obj_lock(o);
    uint32_t now = mxh_signal_locked(o, clear, set);
    mxh_obj_unlock(o);
    return now;
}

/* ---- handles coming and going ------------------------------------------------------ */

/* The last handle of `o` went away; the caller still holds a reference. */
static void zero_handles(mxh_obj_t *o)
{
    if (o->type == MXH_OBJ_PROCESS || o->type == MXH_OBJ_THREAD) {
        mxh_task_zero_handles(o);
        return;
    }
    mxh_link_t *l = o->link;
    if (!l)
        return;
    spin_lock(&l->lock);
    mxh_obj_t *peer = l->ends[1 - o->side];
    l->ends[0] = l->ends[1] = NULL;
    spin_unlock(&l->lock);
    if (!peer)
        return;
    if (peer->type == MXH_OBJ_CHANNEL) {
        mxh_chan_peer_gone(peer);
    } else {
        mxh_object_signal_raw(peer, 0, MXH_SIGNAL_EPAIR_PEER_CLOSED);
    }
    mxh_object_release(peer);   /* o's reference on its peer */
    mxh_object_release(o);      /* the peer's reference on o */
}

void mxh_handle_drop(mxh_obj_t *o)
{
    uint64_t cur = atomic_load_explicit(&o->counts, memory_order_relaxed);
    for (;;) {
        if ((cur >> 32) > 1 || (uint32_t)cur == 1) {
            /* Not the last handle, or the last reference too: one step. */
            if (atomic_compare_exchange_weak(&o->counts, &cur,
                                             cur - ONE_HANDLE - 1))
                break;
        } else if (atomic_compare_exchange_weak(&o->counts, &cur,
                                                cur - ONE_HANDLE)) {
            /* Last handle, other references remain: act, then release. */
            zero_handles(o);
            mxh_object_release(o);
            return;
        }
    }
    if ((cur >> 32) > 1)
        return;
    /* Last handle and last reference at once: nothing peers with o. */
    zero_handles(o);
    obj_destroy(o);
}
