/*
 * wait.c - blocking waits on signals, ports and asynchronous waits.
 *
 * A blocked thread sleeps on a sleeper (a mutex and a CLOCK_MONOTONIC
 * condition variable on its own stack) with no core lock held; each object
 * it waits on carries a waiter that points at the sleeper.  Whoever changes
 * the object's state finishes the waiter under the object's lock and wakes
 * the sleeper; the sleeping thread takes each object's lock again before it
 * returns, so nothing touches its stack afterwards.
 *
 * Ports.  Every port of a kernel, and the state of every asynchronous wait,
 * is guarded by one kernel lock, `port_lock`, which is also the lock that
 * guards a port object's signal word and waiters (a port has no use for its
 * own object lock).  The order is: any other object's lock, then
 * port_lock.  So an event's signal change can queue a packet straight into
 * a port, and a port becoming readable can queue packets into other ports
 * (an async wait on a port) under the one lock it already holds; the
 * cascade is a loop over a work list, not recursion.  Ports thus do not run
 * in parallel with each other; everything else does.
 *
 * An async wait is a heap waiter (kind WAIT_ASYNC) linked on the watched
 * object and carrying its one signal packet, so queueing a signal packet
 * can neither fail nor exceed PORT_MAX_PACKETS.  It pins the port's memory
 * (not its life): a destroyed port is seen as `dead` and the wait ends at
 * its next firing.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- sleepers ------------------------------------------------------------- */

uint64_t mxh_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mxh_sleeper_init(mxh_sleeper_t *s)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&s->mu, NULL);
    s->done = false;
}

void mxh_sleeper_fini(mxh_sleeper_t *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

/* Wakes the sleeper.  The signal goes after the unlock (the woken thread
 * need not wait for our mutex): safe because every waker holds the lock of
 * the object the waiter is on, and the sleeping thread takes that lock
 * again before it leaves, so the sleeper outlives this call. */
void mxh_sleeper_wake(mxh_sleeper_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_mutex_unlock(&s->mu);
    pthread_cond_signal(&s->cv);
}

bool mxh_sleeper_sleep(mxh_sleeper_t *s, uint64_t deadline)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline / 1000000000u);
    ts.tv_nsec = (long)(deadline % 1000000000u);
    bool infinite = deadline == UINT64_MAX;
    pthread_mutex_lock(&s->mu);
    while (!s->done) {
        if (infinite) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    bool done = s->done;
    pthread_mutex_unlock(&s->mu);
    return done;
}

/* ---- object locks: a port's is the kernel's port_lock ------------------------ */

/* Ports that became readable and whose PORT_READABLE is still to be
 * asserted (port_lock held).  Asserting it may fire async waits on the
 * port into other ports, which may become readable in turn: a per-thread
 * work list instead of recursion.  While tl_edges_busy is set, edges only
 * join the list: so nothing walks a port's waiters while another walk of
 * them is under way further up the stack (a walk that unlinks or frees
 * waiters would break the outer one's `next`). */
static _Thread_local mxh_port_t *tl_edges;
static _Thread_local bool tl_edges_busy;

static void edges_drain(void)
{
    mxh_port_t *port;
    while ((port = tl_edges) != NULL) {
        tl_edges = port->edge_next;
        port->edge_next = NULL;
        if (port->head)     /* still readable */
            mxh_signal_locked(&port->obj, 0, MXH_SIGNAL_PORT_READABLE);
    }
}

/* Whoever holds a port's object lock may be walking its waiters
 * (mxh_signal_locked, mxh_cancel_waiters): readable edges raised meanwhile
 * wait for the unlock. */
void mxh_obj_lock(mxh_obj_t *o)
{
    if (o->type != MXH_OBJ_PORT) {
        spin_lock(&o->lock);
        return;
    }
    spin_lock(&o->kernel->port_lock);
    tl_edges_busy = true;
}

void mxh_obj_unlock(mxh_obj_t *o)
{
    if (o->type != MXH_OBJ_PORT) {
        spin_unlock(&o->lock);
        return;
    }
    edges_drain();
    tl_edges_busy = false;
    spin_unlock(&o->kernel->port_lock);
}

void mxh_waiter_link(mxh_obj_t *o, mxh_waiter_t *w)
{
    w->obj = o;
    w->prev = NULL;
    w->next = o->waiters;
    if (o->waiters)
        o->waiters->prev = w;
    o->waiters = w;
    atomic_fetch_add(&o->nwaiters, 1);
}

/* ---- wait_one / wait_many ------------------------------------------------------ */

int64_t mxh_object_wait_one(mxh_proc_t *p, uint64_t h, uint32_t signals,
                            uint64_t deadline, uint32_t *observed)
{
    spin_lock(&p->lock);
    if (p->dead) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_STATE;
    }
    slot_t *s = mxh_lookup(p, h);
    int64_t rc = !s ? MXH_ERR_BAD_HANDLE
               : !(s->rights & MXH_RIGHT_READ) ? MXH_ERR_ACCESS_DENIED
               : MXH_OK;
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    mxh_obj_t *o = s->obj;
    mxh_obj_lock(o);
    uint32_t now = atomic_load(&o->signals);
    if ((now & signals) || deadline <= mxh_now()) {
        mxh_obj_unlock(o);
        spin_unlock(&p->lock);
        *observed = now;
        return (now & signals) ? (int64_t)now : MXH_ERR_TIMED_OUT;
    }
    mxh_sleeper_t sl;
    mxh_sleeper_init(&sl);
    mxh_waiter_t w;
    memset(&w, 0, sizeof(w));
    w.kind = WAIT_SIGNALS;
    w.want = signals;
    w.proc = p;
    w.handle = (uint32_t)h;
    w.sleeper = &sl;
    mxh_waiter_link(o, &w);
    mxh_object_ref(o);
    mxh_obj_unlock(o);
    spin_unlock(&p->lock);

    mxh_sleeper_sleep(&sl, deadline);

    mxh_obj_lock(o);
    if (w.obj) {
        mxh_waiter_unlink(&w);
        w.status = MXH_ERR_TIMED_OUT;
    }
    now = atomic_load(&o->signals);
    mxh_obj_unlock(o);
    mxh_object_release(o);
    mxh_sleeper_fini(&sl);
    if (w.status == MXH_OK) {
        *observed = w.observed;
        return (int64_t)w.observed;
    }
    *observed = now;
    return w.status;
}

int64_t mxh_object_wait_many(mxh_proc_t *p, const uint64_t *hs,
                             const uint32_t *signals, size_t n,
                             uint64_t deadline, uint32_t *observed)
{
    /* One extra waiter on the process itself, so that its death wakes an
     * empty wait too. */
    mxh_waiter_t *ws = mxh_xcalloc(n + 1, sizeof(mxh_waiter_t));
    if (!ws)
        return MXH_ERR_NO_MEMORY;
    spin_lock(&p->lock);
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE : MXH_OK;
    for (size_t i = 0; i < n && rc == MXH_OK; i++) {
        slot_t *s = mxh_lookup(p, hs[i]);
        rc = !s ? MXH_ERR_BAD_HANDLE
           : !(s->rights & MXH_RIGHT_READ) ? MXH_ERR_ACCESS_DENIED
           : MXH_OK;
        if (rc == MXH_OK)
            ws[i].obj = s->obj;     /* until registered: just the object */
    }
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        free(ws);
        return rc;
    }
    /* Already satisfied, or a deadline already past: answer at once. */
    bool ready = false;
    for (size_t i = 0; i < n; i++) {
        mxh_obj_t *o = ws[i].obj;
        observed[i] = atomic_load(&o->signals);
        ready |= (observed[i] & signals[i]) != 0;
    }
    if (ready || deadline <= mxh_now()) {
        spin_unlock(&p->lock);
        free(ws);
        return ready ? MXH_OK : MXH_ERR_TIMED_OUT;
    }
    mxh_sleeper_t sl;
    mxh_sleeper_init(&sl);
    for (size_t i = 0; i <= n; i++) {
        mxh_obj_t *o = i < n ? ws[i].obj : &p->obj;
        mxh_waiter_t *w = &ws[i];
        memset(w, 0, sizeof(*w));
        w->kind = WAIT_SIGNALS;
        w->want = i < n ? signals[i] : 0;
        w->proc = p;
        w->handle = i < n ? (uint32_t)hs[i] : 0;
        w->sleeper = &sl;
        w->target = o;
        mxh_object_ref(o);
        mxh_obj_lock(o);
        if (atomic_load(&o->signals) & w->want) {
            w->observed = atomic_load(&o->signals);
            w->status = MXH_OK;
            /* w is not linked, but an earlier item's waker may be in
             * mxh_sleeper_wake on another thread: done under the mutex. */
            mxh_sleeper_wake(&sl);
        } else {
            mxh_waiter_link(o, w);
        }
        mxh_obj_unlock(o);
    }
    spin_unlock(&p->lock);

    mxh_sleeper_sleep(&sl, deadline);

    bool canceled = false, satisfied = false;
    for (size_t i = 0; i <= n; i++) {
        mxh_waiter_t *w = &ws[i];
        mxh_obj_t *o = w->target;
        mxh_obj_lock(o);
        if (w->obj) {
            mxh_waiter_unlink(w);
            w->status = MXH_ERR_TIMED_OUT;
        }
        if (i < n)
            observed[i] = atomic_load(&o->signals);
        mxh_obj_unlock(o);
        mxh_object_release(o);
        canceled |= w->status == MXH_ERR_CANCELED;
        satisfied |= w->status == MXH_OK && i < n;
    }
    mxh_sleeper_fini(&sl);
    free(ws);
    return canceled ? MXH_ERR_CANCELED
         : satisfied ? MXH_OK
         : MXH_ERR_TIMED_OUT;
}

/* ---- ports ----------------------------------------------------------------------- */

static inline mxh_port_t *as_port(mxh_obj_t *o) { return (mxh_port_t *)o; }

/* A port became readable (port_lock held): its edge joins the work list,
 * drained now unless a drain or a walk of a port's waiters is under way
 * (then by that drain, or at that port's mxh_obj_unlock). */
static void port_readable(mxh_port_t *port)
{
    port->edge_next = tl_edges;
    tl_edges = port;
    if (tl_edges_busy)
        return;
    tl_edges_busy = true;
    edges_drain();
    tl_edges_busy = false;
}

/* Appends pkt to port's queue (port_lock held). */
static void port_push(mxh_port_t *port, mxh_pkt_t *pkt)
{
    pkt->next = NULL;
    if (port->tail)
        port->tail->next = pkt;
    else
        port->head = pkt;
    port->tail = pkt;
    if (!pkt->owner)
        port->user_count++;
    if (port->head == pkt)
        port_readable(port);
}

static void port_unlink(mxh_port_t *port, mxh_pkt_t *pkt)
{
    mxh_pkt_t **pp = &port->head, *prev = NULL;
    while (*pp && *pp != pkt) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = pkt->next;
    if (port->tail == pkt)
        port->tail = prev;
    if (!pkt->owner)
        port->user_count--;
    if (!port->head)
        mxh_signal_locked(&port->obj, MXH_SIGNAL_PORT_READABLE, 0);
}

/* Frees an async wait that is on no object and has no packet queued
 * (port_lock held).  Unpinning may free the port's memory: port_lock is the
 * kernel's, and every caller holds a process of that kernel, so the lock
 * outlives it. */
static void async_free(mxh_waiter_t *w)
{
    mxh_obj_t *port = &w->port->obj;
    free(w);
    mxh_object_unpin(port);
}

/* An async wait fires (port_lock held, and the watched object's lock). */
void mxh_async_fire(mxh_waiter_t *w, uint32_t observed)
{
    mxh_port_t *port = w->port;
    if (port->dead) {
        /* Its port is gone: the wait ends here (port_destroy took back any
         * packet, so none is queued).  The watched object is alive (it is
         * being signaled), so the kernel outlives the unpin. */
        mxh_waiter_unlink(w);
        w->detached = true;
        async_free(w);
        return;
    }
    if (w->queued)
        return;
    mxh_pkt_t *pkt = &w->pkt;
    pkt->owner = w;
    pkt->key = w->key;
    pkt->type = w->repeating ? MXH_PKT_TYPE_SIGNAL_REP : MXH_PKT_TYPE_SIGNAL_ONE;
    pkt->status = MXH_OK;
    pkt->trigger = w->want;
    pkt->observed = observed;
    pkt->count = 1;
    w->queued = true;
    if (!w->repeating) {
        mxh_waiter_unlink(w);   /* fires once: leaves the object now */
        w->detached = true;
    }
    port_push(port, pkt);
}

/* The watched handle went (closed, moved, owner died): the wait ends; a
 * queued packet stays.  Object lock and port_lock held. */
void mxh_async_end(mxh_waiter_t *w)
{
    if (w->obj)
        mxh_waiter_unlink(w);
    w->detached = true;
    if (!w->queued && w->notify_cancel && !w->port->dead) {
        mxh_pkt_t *pkt = &w->pkt;
        memset(pkt, 0, sizeof(*pkt));
        pkt->owner = w;
        pkt->key = w->key;
        pkt->type = w->repeating ? MXH_PKT_TYPE_SIGNAL_REP : MXH_PKT_TYPE_SIGNAL_ONE;
        pkt->status = MXH_ERR_CANCELED;
        pkt->trigger = w->want;
        w->queued = true;
        port_push(w->port, pkt);
    }
    if (!w->queued)
        async_free(w);
}

void mxh_port_destroy(mxh_port_t *port)
{
    spin_lock(&port->obj.kernel->port_lock);
    port->dead = true;
    mxh_pkt_t *pkt = port->head;
    port->head = port->tail = NULL;
    port->user_count = 0;
    while (pkt) {
        mxh_pkt_t *next = pkt->next;
        mxh_waiter_t *w = pkt->owner;
        if (!w) {
            free(pkt);
        } else {
            w->queued = false;
            if (w->detached)
                async_free(w);
        }
        pkt = next;
    }
    spin_unlock(&port->obj.kernel->port_lock);
}

/* Looks up a port handle (table lock held) with `rights`. */
static int64_t get_port(mxh_proc_t *p, uint64_t h, uint32_t rights,
                        mxh_port_t **out)
{
    slot_t *s = mxh_lookup(p, h);
    if (!s)
        return MXH_ERR_BAD_HANDLE;
    if (s->obj->type != MXH_OBJ_PORT)
        return MXH_ERR_WRONG_TYPE;
    if ((s->rights & rights) != rights)
        return MXH_ERR_ACCESS_DENIED;
    *out = as_port(s->obj);
    return MXH_OK;
}

int64_t mxh_port_queue(mxh_proc_t *p, uint64_t port_h, uint64_t key,
                       int32_t status, const void *user, size_t user_len)
{
    mxh_pkt_t *pkt = mxh_xcalloc(1, sizeof(*pkt));
    if (!pkt)
        return MXH_ERR_NO_MEMORY;
    spin_lock(&p->lock);
    mxh_port_t *port = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_port(p, port_h, MXH_RIGHT_WRITE, &port);
    if (rc == MXH_OK && user_len > MXH_PORT_PAYLOAD)
        rc = MXH_ERR_INVALID_ARGS;
    if (rc == MXH_OK) {
        spin_lock(&p->obj.kernel->port_lock);
        if (port->user_count >= MXH_PORT_MAX_PACKETS) {
            rc = MXH_ERR_SHOULD_WAIT;
        } else {
            pkt->key = key;
            pkt->type = MXH_PKT_TYPE_USER;
            pkt->status = status;
            if (user_len)
                memcpy(pkt->user, user, user_len);
            port_push(port, pkt);
            pkt = NULL;
        }
        spin_unlock(&p->obj.kernel->port_lock);
    }
    spin_unlock(&p->lock);
    free(pkt);
    return rc;
}

/* Pops the first packet into *out (port_lock held).  False if empty. */
static bool port_pop(mxh_port_t *port, mxh_packet_t *out)
{
    mxh_pkt_t *pkt = port->head;
    if (!pkt)
        return false;
    port_unlink(port, pkt);
    out->key = pkt->key;
    out->type = pkt->type;
    out->status = pkt->status;
    out->trigger = pkt->trigger;
    out->observed = pkt->observed;
    out->count = pkt->count;
    memcpy(out->user, pkt->user, sizeof(out->user));
    mxh_waiter_t *w = pkt->owner;
    if (!w) {
        free(pkt);
    } else {
        w->queued = false;      /* a repeating wait may fire again */
        if (w->detached)
            async_free(w);
    }
    return true;
}

int64_t mxh_port_wait(mxh_proc_t *p, uint64_t port_h, uint64_t deadline,
                      mxh_packet_t *out)
{
    mxh_kernel_t *k = p->obj.kernel;
    spin_lock(&p->lock);
    mxh_port_t *port = NULL;
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : get_port(p, port_h, MXH_RIGHT_READ, &port);
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    mxh_object_ref(&port->obj);
    mxh_sleeper_t sl;
    bool sleeper = false;
    /* Every round looks at the handle and links its waiter under the table
     * lock (the first round still holds it from the checks above): a
     * close, replace or move of the handle, or p's death, takes that lock
     * before it cancels the handle's waiters, so it either finds the
     * waiter linked or makes the next round end with CANCELED.  Without
     * this a close between the check and the link would be missed and the
     * wait would sleep until its deadline. */
    for (bool locked = true;; locked = false) {
        if (!locked) {
            spin_lock(&p->lock);
            slot_t *s = p->dead ? NULL : mxh_lookup(p, port_h);
            if (!s || s->obj != &port->obj) {
                spin_unlock(&p->lock);
                rc = MXH_ERR_CANCELED;
                break;
            }
        }
        spin_lock(&k->port_lock);
        if (port_pop(port, out)) {
            spin_unlock(&k->port_lock);
            spin_unlock(&p->lock);
            rc = MXH_OK;
            break;
        }
        if (deadline <= mxh_now()) {
            spin_unlock(&k->port_lock);
            spin_unlock(&p->lock);
            rc = MXH_ERR_TIMED_OUT;
            break;
        }
        if (!sleeper) {
            /* Not under the spin locks: set up, then look again. */
            spin_unlock(&k->port_lock);
            spin_unlock(&p->lock);
            mxh_sleeper_init(&sl);
            sleeper = true;
            continue;
        }
        sl.done = false;
        mxh_waiter_t w;
        memset(&w, 0, sizeof(w));
        w.kind = WAIT_SIGNALS;
        w.want = MXH_SIGNAL_PORT_READABLE;
        w.proc = p;
        w.handle = (uint32_t)port_h;
        w.sleeper = &sl;
        w.target = &port->obj;
        mxh_waiter_link(&port->obj, &w);
        spin_unlock(&k->port_lock);
        spin_unlock(&p->lock);
        mxh_sleeper_sleep(&sl, deadline);
        spin_lock(&k->port_lock);
        if (w.obj)
            mxh_waiter_unlink(&w);
        spin_unlock(&k->port_lock);
        if (w.status == MXH_ERR_CANCELED) {
            rc = MXH_ERR_CANCELED;
            break;
        }
    }
    if (sleeper)
        mxh_sleeper_fini(&sl);
    mxh_object_release(&port->obj);
    return rc;
}

/* wait_async and port_cancel examine the port (WRITE) before the watched
 * handle (READ), as Magenta did (table lock held). */
static int64_t get_port_and_watched(mxh_proc_t *p, uint64_t port_h,
                                    uint64_t h, mxh_port_t **port,
                                    slot_t **watched)
{
    if (p->dead)
        return MXH_ERR_BAD_STATE;
    int64_t rc = get_port(p, port_h, MXH_RIGHT_WRITE, port);
    if (rc != MXH_OK)
        return rc;
    slot_t *s = mxh_lookup(p, h);
    if (!s)
        return MXH_ERR_BAD_HANDLE;
    if (!(s->rights & MXH_RIGHT_READ))
        return MXH_ERR_ACCESS_DENIED;
    *watched = s;
    return MXH_OK;
}

int64_t mxh_object_wait_async(mxh_proc_t *p, uint64_t h, uint64_t port_h,
                              uint64_t key, uint32_t signals, uint32_t options,
                              int notify_cancel)
{
    mxh_kernel_t *k = p->obj.kernel;
    mxh_waiter_t *w = mxh_xcalloc(1, sizeof(*w));
    if (!w)
        return MXH_ERR_NO_MEMORY;
    spin_lock(&p->lock);
    mxh_port_t *port = NULL;
    slot_t *s = NULL;
    int64_t rc = get_port_and_watched(p, port_h, h, &port, &s);
    if (rc == MXH_OK && options != MXH_WAIT_ASYNC_ONCE &&
        options != MXH_WAIT_ASYNC_REPEATING)
        rc = MXH_ERR_INVALID_ARGS;
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        free(w);
        return rc;
    }
    mxh_obj_t *o = s->obj;
    w->kind = WAIT_ASYNC;
    w->want = signals;
    w->proc = p;
    w->handle = (uint32_t)h;
    w->port = port;
    w->key = key;
    w->repeating = options == MXH_WAIT_ASYNC_REPEATING;
    w->notify_cancel = notify_cancel != 0;
    w->target = o;
    mxh_object_pin(&port->obj);
    mxh_obj_lock(o);
    if (o->type != MXH_OBJ_PORT)
        spin_lock(&k->port_lock);
    mxh_waiter_link(o, w);
    uint32_t now = atomic_load(&o->signals);
    if (now & signals)
        mxh_async_fire(w, now);     /* already asserted: at once */
    if (o->type != MXH_OBJ_PORT)
        spin_unlock(&k->port_lock);
    mxh_obj_unlock(o);
    spin_unlock(&p->lock);
    return MXH_OK;
}

int64_t mxh_port_cancel(mxh_proc_t *p, uint64_t port_h, uint64_t h,
                        uint64_t key)
{
    mxh_kernel_t *k = p->obj.kernel;
    spin_lock(&p->lock);
    mxh_port_t *port = NULL;
    slot_t *s = NULL;
    int64_t rc = get_port_and_watched(p, port_h, h, &port, &s);
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    mxh_obj_t *o = s->obj;
    bool found = false;
    mxh_obj_lock(o);
    if (o->type != MXH_OBJ_PORT)
        spin_lock(&k->port_lock);
    /* Waits still on the object. */
    for (mxh_waiter_t *w = o->waiters, *next; w; w = next) {
        next = w->next;
        if (w->kind == WAIT_ASYNC && w->port == port && w->key == key &&
            w->proc == p && w->handle == (uint32_t)h) {
            found = true;
            if (w->queued) {
                port_unlink(port, &w->pkt);
                w->queued = false;
            }
            w->notify_cancel = false;   /* asked for: no CANCELED packet */
            mxh_async_end(w);
        }
    }
    /* Packets of once-waits that fired and left the object. */
    for (mxh_pkt_t *pkt = port->head, *next; pkt; pkt = next) {
        next = pkt->next;
        mxh_waiter_t *w = pkt->owner;
        if (w && w->detached && w->key == key && w->proc == p &&
            w->handle == (uint32_t)h && w->target == o) {
            found = true;
            port_unlink(port, pkt);
            w->queued = false;
            async_free(w);
        }
    }
    if (o->type != MXH_OBJ_PORT)
        spin_unlock(&k->port_lock);
    mxh_obj_unlock(o);
    spin_unlock(&p->lock);
    return found ? MXH_OK : MXH_ERR_NOT_FOUND;
}
