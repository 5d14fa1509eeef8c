/*
 * channel.c - messages, channel queues, calls, the reaper and collection.
 *
 * A message (mxh_transit_t) carries its bytes and its handles in one
 * allocation.  Writing moves every handle out of the writer's table and
 * appends the message to the peer endpoint's queue in one call; reading
 * pops it and binds its handles into the reader's table in one call.
 *
 * The reaper.  Destroying an endpoint closes the handles in its queue,
 * which may destroy more endpoints and so on, as deep as users nest
 * channels.  Instead of recursing, a thread keeps one work list of messages
 * to close (tl_reaper): the first caller drains it, and any destruction
 * that happens meanwhile only appends its queue.  Stack use is constant.
 *
 * Collection.  Channels can form cycles that no process can reach (A's
 * queue holds B's only handle, B's holds A's).  mxh_kernel_collect finds
 * them as Linux's SCM_RIGHTS collector finds sockets in flight: candidates
 * are endpoints all of whose handles are in transit; from each candidate's
 * in-transit count, subtract the handles that sit in other candidates'
 * queues; a candidate left with a positive count is held from outside the
 * candidate set (a reachable queue, a reply being delivered) and is a root;
 * everything reachable from the roots through queues is live; the rest is
 * garbage and its queues are reaped.  Moves of endpoints in and out of
 * transit stand aside while the candidates are examined (mxh_gc_try_enter);
 * everything else runs on, and since it can only remove references, what
 * the collector calls garbage stays garbage.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- messages --------------------------------------------------------------- */

static mxh_transit_t *msg_alloc(size_t n, size_t nbytes)
{
    mxh_transit_t *m = mxh_xmalloc(sizeof(mxh_transit_t) +
                                   n * sizeof(m->h[0]) + nbytes);
    if (m) {
        m->next = NULL;
        m->count = (uint32_t)n;
        m->nbytes = (uint32_t)nbytes;
        m->txid = 0;
        m->endpoints = 0;
    }
    return m;
}

static inline char *msg_data(mxh_transit_t *m)
{
    return (char *)&m->h[m->count];
}

static void msg_set_data(mxh_transit_t *m, const void *data, size_t nbytes)
{
    if (nbytes)
        memcpy(msg_data(m), data, nbytes);
    if (nbytes >= 4) {
        const unsigned char *b = data;
        m->txid = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                  (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    }
}

/* Closes every handle m carries (not the message itself). */
static void msg_close_handles(mxh_transit_t *m)
{
    mxh_kernel_t *k = m->kernel;
    uint32_t n = m->count;
    if (!n)
        return;
    atomic_fetch_sub(&k->in_transit, n);
    mxh_charge_return(k, n);
    for (uint32_t i = 0; i < n; i++) {
        mxh_obj_t *o = m->h[i].obj;
        atomic_fetch_sub(&o->in_transit, 1);
        mxh_handle_drop(o);
    }
    m->count = 0;
}

/* ---- the reaper ------------------------------------------------------------------ */

typedef struct reaper {
    mxh_transit_t *head, *tail;
    mxh_proc_t *procs;              /* killed tables to close (reap_next) */
    uint64_t destroyed;
} reaper_t;

static _Thread_local reaper_t *tl_reaper;

/* Counts an object destroyed in the current frame.  Garbage a collection
 * found is counted by that collection whichever thread drops the last
 * reference (a writer may still hold one on a garbage endpoint). */
void mxh_count_destroyed(mxh_obj_t *o)
{
    if (tl_reaper && !atomic_load(&o->gc_garbage))
        tl_reaper->destroyed++;
}

static void reaper_append(reaper_t *r, mxh_transit_t *head, mxh_transit_t *tail)
{
    if (r->tail)
        r->tail->next = head;
    else
        r->head = head;
    r->tail = tail;
}

static void reaper_drain(reaper_t *r)
{
    for (;;) {
        if (r->head) {
            mxh_transit_t *m = r->head;
            r->head = m->next;
            if (!r->head)
                r->tail = NULL;
            msg_close_handles(m);
            free(m);
        } else if (r->procs) {
            mxh_proc_t *p = r->procs;
            r->procs = p->reap_next;
            slot_t *slots = p->reap_slots;
            p->reap_slots = NULL;
            p->reap_next = NULL;
            mxh_table_close(p, slots, p->reap_used);
            mxh_object_unpin(&p->obj);
        } else {
            break;
        }
    }
}

void mxh_reap(mxh_transit_t *head, mxh_transit_t *tail)
{
    if (!head)
        return;
    if (tl_reaper) {
        reaper_append(tl_reaper, head, tail);
        return;
    }
    reaper_t r = {head, tail, NULL, 0};
    tl_reaper = &r;
    reaper_drain(&r);
    tl_reaper = NULL;
}

void mxh_reap_table(mxh_proc_t *p, slot_t *slots, uint32_t used)
{
    if (tl_reaper) {
        /* A process dying in a cascade (its last reference went with a
         * handle being closed): closing its table here would recurse. */
        mxh_object_pin(&p->obj);
        p->reap_slots = slots;
        p->reap_used = used;
        p->reap_next = tl_reaper->procs;
        tl_reaper->procs = p;
        return;
    }
    reaper_t r = {NULL, NULL, NULL, 0};
    tl_reaper = &r;
    mxh_table_close(p, slots, used);
    reaper_drain(&r);
    tl_reaper = NULL;
}

static void reap_one(mxh_transit_t *m)
{
    if (m) {
        m->next = NULL;
        mxh_reap(m, m);
    }
}

void mxh_chan_destroy_queue(mxh_chan_t *c)
{
    spin_lock(&c->obj.lock);
    mxh_transit_t *head = c->head, *tail = c->tail;
    c->head = c->tail = NULL;
    c->qlen = 0;
    spin_unlock(&c->obj.lock);
    mxh_reap(head, tail);
}

void mxh_chan_peer_gone(mxh_obj_t *o)
{
    spin_lock(&o->lock);
    mxh_signal_locked(o, MXH_SIGNAL_CHANNEL_WRITABLE,
                      MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    mxh_waiter_t *w = o->waiters;
    while (w) {
        mxh_waiter_t *next = w->next;
        if (w->kind == WAIT_CALL && !w->reply)
            mxh_waiter_finish(w, MXH_ERR_PEER_CLOSED);
        w = next;
    }
    spin_unlock(&o->lock);
}

/* ---- transit: moving handles out of and into tables ------------------------------ */

/* Validates hs[0..n) for a move out of p (lock held), in SPEC order, and
 * counts the channel endpoints among them. */
static int64_t check_transfer(mxh_proc_t *p, const uint64_t *hs, size_t n,
                              const mxh_obj_t *self, uint32_t *endpoints)
{
    uint32_t eps = 0;
    for (size_t i = 0; i < n; i++) {
        slot_t *s = mxh_lookup(p, hs[i]);
        if (!s)
            return MXH_ERR_BAD_HANDLE;
        if (self && s->obj == self)
            return MXH_ERR_NOT_SUPPORTED;
        if (!(s->rights & MXH_RIGHT_TRANSFER))
            return MXH_ERR_ACCESS_DENIED;
        eps += s->obj->type == MXH_OBJ_CHANNEL;
    }
    /* The same handle twice: mark each slot, look for a mark, unmark. */
    int64_t rc = MXH_OK;
    size_t i = 0;
    for (; i < n; i++) {
        slot_t *s = mxh_lookup(p, hs[i]);
        if (s->rights & MARK_BIT) {
            rc = MXH_ERR_INVALID_ARGS;
            break;
        }
        s->rights |= MARK_BIT;
    }
    while (i-- > 0)
        mxh_lookup(p, hs[i])->rights &= ~MARK_BIT;
    *endpoints = eps;
    return rc;
}

/* Moves validated hs[0..n) into m (lock held). */
static void move_out(mxh_proc_t *p, const uint64_t *hs, size_t n,
                     mxh_transit_t *m)
{
    m->kernel = p->obj.kernel;
    for (size_t i = 0; i < n; i++) {
        slot_t *s = mxh_lookup(p, hs[i]);
        m->h[i].obj = s->obj;
        m->h[i].rights = s->rights;
        atomic_fetch_add(&s->obj->in_transit, 1);
        mxh_slot_unbind(p, s);
    }
    if (n)
        atomic_fetch_add(&p->obj.kernel->in_transit, n);
}

/* Waits through moved handles end: they were transferred away. */
static void cancel_moved(mxh_proc_t *p, const uint64_t *hs, mxh_transit_t *m)
{
    for (uint32_t i = 0; i < m->count; i++)
        mxh_cancel_waiters(m->h[i].obj, p, (uint32_t)hs[i], false);
}

/* Binds m's handles into p (lock held, room reserved). */
static void bind_in(mxh_proc_t *p, mxh_transit_t *m, uint32_t *out)
{
    for (uint32_t i = 0; i < m->count; i++) {
        mxh_obj_t *o = m->h[i].obj;
        out[i] = mxh_slot_bind(p, o, (uint32_t)m->h[i].rights);
        atomic_fetch_sub(&o->in_transit, 1);
    }
}

int64_t mxh_transit_take(mxh_proc_t *p, const uint64_t *hs, size_t n,
                         const mxh_obj_t *self, mxh_transit_t **out)
{
    *out = NULL;
    mxh_transit_t *m = NULL;
    if (n <= MXH_TRANSIT_MAX && !(m = msg_alloc(n, 0)))
        return MXH_ERR_NO_MEMORY;
    for (;;) {
        spin_lock(&p->lock);
        uint32_t eps = 0;
        int64_t rc = p->dead ? MXH_ERR_BAD_STATE
                   : n > MXH_TRANSIT_MAX ? MXH_ERR_OUT_OF_RANGE
                   : check_transfer(p, hs, n, self, &eps);
        if (rc == MXH_OK && eps && !mxh_gc_try_enter(p->obj.kernel)) {
            spin_unlock(&p->lock);
            mxh_gc_wait(p->obj.kernel);
            continue;
        }
        if (rc == MXH_OK) {
            m->endpoints = eps;
            move_out(p, hs, n, m);
        }
        spin_unlock(&p->lock);
        if (rc != MXH_OK) {
            free(m);
            return rc;
        }
        cancel_moved(p, hs, m);
        if (eps)
            mxh_gc_leave(p->obj.kernel);
        if (n == 0) {           /* the contract: no bundle for no handles */
            free(m);
            m = NULL;
        }
        *out = m;
        return MXH_OK;
    }
}

size_t mxh_transit_count(const mxh_transit_t *t) { return t ? t->count : 0; }

int64_t mxh_transit_bind(mxh_proc_t *p, mxh_transit_t *t, uint32_t *out)
{
    if (!t)
        return MXH_OK;
    size_t n = t->count;
    for (;;) {
        spin_lock(&p->lock);
        int64_t rc = p->dead ? MXH_ERR_BAD_STATE : mxh_reserve_slots(p, (uint32_t)n);
        if (rc == MXH_OK && t->endpoints && !mxh_gc_try_enter(p->obj.kernel)) {
            spin_unlock(&p->lock);
            mxh_gc_wait(p->obj.kernel);
            continue;
        }
        if (rc != MXH_OK) {
            spin_unlock(&p->lock);
            return rc;
        }
        bind_in(p, t, out);
        spin_unlock(&p->lock);
        if (n)
            atomic_fetch_sub(&t->kernel->in_transit, n);
        if (t->endpoints)
            mxh_gc_leave(p->obj.kernel);
        free(t);
        return (int64_t)n;
    }
}

void mxh_transit_close(mxh_transit_t *t)
{
    reap_one(t);
}

size_t mxh_transit_koids(const mxh_transit_t *t, mxh_koid_t *out, size_t cap)
{
    if (!t)
        return 0;
    for (size_t i = 0; i < t->count && i < cap; i++)
        out[i] = t->h[i].obj->koid;
    return t->count;
}

/* ---- write, read, call --------------------------------------------------------------- */

/* Appends m to c's queue, or hands it to a call waiting for its txid. */
static void deliver(mxh_obj_t *c, mxh_transit_t *m)
{
    mxh_chan_t *ch = (mxh_chan_t *)c;
    spin_lock(&c->lock);
    if (atomic_load_explicit(&c->nwaiters, memory_order_relaxed)) {
        for (mxh_waiter_t *w = c->waiters; w; w = w->next) {
            if (w->kind == WAIT_CALL && !w->reply && w->txid == m->txid) {
                w->reply = m;
                mxh_waiter_finish(w, MXH_OK);
                spin_unlock(&c->lock);
                return;
            }
        }
    }
    m->next = NULL;
    if (ch->tail)
        ch->tail->next = m;
    else
        ch->head = m;
    ch->tail = m;
    if (ch->qlen++ == 0)
        mxh_signal_locked(c, 0, MXH_SIGNAL_CHANNEL_READABLE);
    spin_unlock(&c->lock);
}

/* The write half of write and call.  With `call`, registers it on the
 * caller's endpoint (returned with a reference in *self_out) before the
 * message can reach the peer. */
static int64_t chan_write(mxh_proc_t *p, uint64_t h, const void *data,
                          size_t nbytes, const uint64_t *hs, size_t n,
                          mxh_waiter_t *call, mxh_obj_t **self_out)
{
    mxh_kernel_t *k = p->obj.kernel;
    bool sizes_ok = nbytes <= MXH_CHANNEL_MAX_BYTES && n <= MXH_TRANSIT_MAX;
    mxh_transit_t *m = NULL;
    if (sizes_ok) {
        if (!(m = msg_alloc(n, nbytes)))
            return MXH_ERR_NO_MEMORY;
        msg_set_data(m, data, nbytes);
        m->kernel = k;
    }
    mxh_obj_t *peer = NULL, *self = NULL;
    uint32_t eps = 0;
    for (;;) {
        spin_lock(&p->lock);
        if (p->dead) {
            spin_unlock(&p->lock);
            free(m);
            return MXH_ERR_BAD_STATE;
        }
        slot_t *s = mxh_lookup(p, h);
        self = s ? s->obj : NULL;
        int64_t rc = !s ? MXH_ERR_BAD_HANDLE
                   : self->type != MXH_OBJ_CHANNEL ? MXH_ERR_WRONG_TYPE
                   : !(s->rights & MXH_RIGHT_WRITE) ? MXH_ERR_ACCESS_DENIED
                   : !sizes_ok ? MXH_ERR_OUT_OF_RANGE
                   : check_transfer(p, hs, n, self, &eps);
        if (rc == MXH_OK) {
            mxh_link_t *l = self->link;
            spin_lock(&l->lock);
            peer = l->ends[1 - self->side];
            if (peer)
                mxh_object_ref(peer);
            else
                rc = MXH_ERR_PEER_CLOSED;
            spin_unlock(&l->lock);
        }
        if (rc == MXH_OK && eps && !mxh_gc_try_enter(k)) {
            spin_unlock(&p->lock);
            mxh_object_release(peer);
            mxh_gc_wait(k);
            continue;
        }
        if (rc != MXH_OK) {
            spin_unlock(&p->lock);
            free(m);
            return rc;
        }
        if (call) {
            mxh_object_ref(self);
            spin_lock(&self->lock);
            call->target = self;
            mxh_waiter_link(self, call);
            spin_unlock(&self->lock);
            *self_out = self;
        }
        m->endpoints = eps;
        move_out(p, hs, n, m);
        spin_unlock(&p->lock);
        break;
    }
    cancel_moved(p, hs, m);
    deliver(peer, m);
    if (eps)
        mxh_gc_leave(k);
    mxh_object_release(peer);
    return MXH_OK;
}

int64_t mxh_channel_write(mxh_proc_t *p, uint64_t h, const void *data,
                          size_t nbytes, const uint64_t *hs, size_t n)
{
    return chan_write(p, h, data, nbytes, hs, n, NULL, NULL);
}

static inline int64_t packed(const mxh_transit_t *m)
{
    return (int64_t)m->count << 32 | m->nbytes;
}

/* Binds a popped or delivered message into p and copies its bytes out.
 * The table lock is held, room reserved; frees m. */
static int64_t take_message(mxh_proc_t *p, mxh_transit_t *m, void *data_out,
                            uint32_t *handles_out)
{
    int64_t rc = packed(m);
    bind_in(p, m, handles_out);
    if (m->count)
        atomic_fetch_sub(&m->kernel->in_transit, m->count);
    if (m->nbytes)
        memcpy(data_out, msg_data(m), m->nbytes);
    free(m);
    return rc;
}

int64_t mxh_channel_read(mxh_proc_t *p, uint64_t h, uint32_t options,
                         uint64_t max_bytes, uint64_t max_handles,
                         void *data_out, uint32_t *handles_out,
                         uint64_t *actual)
{
    mxh_kernel_t *k = p->obj.kernel;
    for (;;) {
        spin_lock(&p->lock);
        if (p->dead) {
            spin_unlock(&p->lock);
            return MXH_ERR_BAD_STATE;
        }
        if (options & ~(uint32_t)MXH_CHANNEL_READ_MAY_DISCARD) {
            spin_unlock(&p->lock);
            return MXH_ERR_NOT_SUPPORTED;
        }
        slot_t *s = mxh_lookup(p, h);
        int64_t rc = !s ? MXH_ERR_BAD_HANDLE
                   : s->obj->type != MXH_OBJ_CHANNEL ? MXH_ERR_WRONG_TYPE
                   : !(s->rights & MXH_RIGHT_READ) ? MXH_ERR_ACCESS_DENIED
                   : MXH_OK;
        if (rc != MXH_OK) {
            spin_unlock(&p->lock);
            return rc;
        }
        mxh_chan_t *c = (mxh_chan_t *)s->obj;
        spin_lock(&c->obj.lock);
        mxh_transit_t *m = c->head, *dropped = NULL;
        if (!m) {
            rc = (atomic_load(&c->obj.signals) & MXH_SIGNAL_CHANNEL_PEER_CLOSED)
                     ? MXH_ERR_PEER_CLOSED : MXH_ERR_SHOULD_WAIT;
        } else if (m->nbytes > max_bytes || m->count > max_handles) {
            actual[0] = m->nbytes;
            actual[1] = m->count;
            rc = MXH_ERR_BUFFER_TOO_SMALL;
            if (options & MXH_CHANNEL_READ_MAY_DISCARD)
                dropped = m;
        } else if (m->endpoints && !mxh_gc_try_enter(k)) {
            spin_unlock(&c->obj.lock);
            spin_unlock(&p->lock);
            mxh_gc_wait(k);
            continue;
        } else {
            rc = mxh_reserve_slots(p, m->count);
            if (rc != MXH_OK && m->endpoints)
                mxh_gc_leave(k);
        }
        bool take = rc == MXH_OK || dropped;
        if (take) {
            c->head = m->next;
            if (!c->head)
                c->tail = NULL;
            if (--c->qlen == 0)
                mxh_signal_locked(&c->obj, MXH_SIGNAL_CHANNEL_READABLE, 0);
        }
        spin_unlock(&c->obj.lock);
        if (rc == MXH_OK) {
            bool eps = m->endpoints != 0;
            rc = take_message(p, m, data_out, handles_out);
            spin_unlock(&p->lock);
            if (eps)
                mxh_gc_leave(k);
            return rc;
        }
        spin_unlock(&p->lock);
        reap_one(dropped);
        return rc;
    }
}

int64_t mxh_channel_call(mxh_proc_t *p, uint64_t h, const void *data,
                         size_t nbytes, const uint64_t *hs, size_t n,
                         uint64_t deadline, uint64_t max_bytes,
                         uint64_t max_handles, void *data_out,
                         uint32_t *handles_out, uint64_t *actual)
{
    mxh_kernel_t *k = p->obj.kernel;
    mxh_sleeper_t sl;
    mxh_sleeper_init(&sl);
    mxh_waiter_t w;
    memset(&w, 0, sizeof(w));
    w.kind = WAIT_CALL;
    w.proc = p;
    w.handle = (uint32_t)h;
    w.sleeper = &sl;
    if (nbytes >= 4) {
        const unsigned char *b = data;
        w.txid = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                 (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    }
    mxh_obj_t *self = NULL;
    int64_t rc = chan_write(p, h, data, nbytes, hs, n, &w, &self);
    if (rc != MXH_OK) {
        mxh_sleeper_fini(&sl);
        return rc;
    }
    mxh_sleeper_sleep(&sl, deadline);
    /* Whoever finished w did so under self's lock; taking it settles. */
    spin_lock(&self->lock);
    if (w.obj) {
        mxh_waiter_unlink(&w);
        w.status = MXH_ERR_TIMED_OUT;
    }
    spin_unlock(&self->lock);
    mxh_object_release(self);
    mxh_sleeper_fini(&sl);
    actual[2] = 0;
    if (w.status == MXH_ERR_TIMED_OUT)
        return MXH_ERR_TIMED_OUT;
    if (w.status != MXH_OK) {
        actual[2] = (uint64_t)(int64_t)w.status;
        return MXH_ERR_CALL_FAILED;
    }
    mxh_transit_t *m = w.reply;
    if (m->nbytes > max_bytes || m->count > max_handles) {
        actual[0] = m->nbytes;
        actual[1] = m->count;
        actual[2] = (uint64_t)(int64_t)MXH_ERR_BUFFER_TOO_SMALL;
        reap_one(m);
        return MXH_ERR_CALL_FAILED;
    }
    for (;;) {
        spin_lock(&p->lock);
        rc = p->dead ? MXH_ERR_CANCELED : mxh_reserve_slots(p, m->count);
        if (rc == MXH_OK && m->endpoints && !mxh_gc_try_enter(k)) {
            spin_unlock(&p->lock);
            mxh_gc_wait(k);
            continue;
        }
        break;
    }
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        actual[2] = (uint64_t)rc;
        reap_one(m);
        return MXH_ERR_CALL_FAILED;
    }
    bool eps = m->endpoints != 0;
    rc = take_message(p, m, data_out, handles_out);
    spin_unlock(&p->lock);
    if (eps)
        mxh_gc_leave(k);
    return rc;
}

/* ---- inspection ------------------------------------------------------------------------ */

int64_t mxh_kernel_messages(mxh_kernel_t *k, mxh_message_info_t *out,
                            size_t cap, mxh_koid_t *koids, size_t koid_cap,
                            uint64_t *total_koids)
{
    size_t n = 0, nk = 0;
    for (unsigned s = 0; s < REGISTRY_SHARDS; s++) {
        spin_lock(&k->registry[s].lock);
        for (mxh_obj_t *o = k->registry[s].head; o; o = o->reg_next) {
            if (o->type != MXH_OBJ_CHANNEL)
                continue;
            mxh_chan_t *c = (mxh_chan_t *)o;
            spin_lock(&o->lock);
            for (mxh_transit_t *m = c->head; m; m = m->next) {
                if (n < cap) {
                    out[n].endpoint_koid = o->koid;
                    out[n].nbytes = m->nbytes;
                    out[n].handle_count = m->count;
                }
                for (uint32_t i = 0; i < m->count; i++, nk++) {
                    if (nk < koid_cap)
                        koids[nk] = m->h[i].obj->koid;
                }
                n++;
            }
            spin_unlock(&o->lock);
        }
        spin_unlock(&k->registry[s].lock);
    }
    *total_koids = nk;
    return (int64_t)n;
}

/* ---- collection -------------------------------------------------------------------------- */

/* Takes a reference unless the object is already on its way out. */
static bool ref_if_alive(mxh_obj_t *o)
{
    uint64_t cur = atomic_load(&o->counts);
    do {
        if ((uint32_t)cur == 0)
            return false;
    } while (!atomic_compare_exchange_weak(&o->counts, &cur, cur + 1));
    return true;
}

/* Calls fn on every unmarked candidate held in c's queue (c's lock taken
 * here; gc_refs is the collector's alone, under gc_mutex). */
static void for_each_queued(mxh_chan_t *c, void (*fn)(mxh_obj_t *, void *),
                            void *arg)
{
    spin_lock(&c->obj.lock);
    for (mxh_transit_t *m = c->head; m; m = m->next) {
        if (!m->endpoints)
            continue;
        for (uint32_t i = 0; i < m->count; i++) {
            mxh_obj_t *o = m->h[i].obj;
            if (o->type == MXH_OBJ_CHANNEL && o->gc_refs)
                fn(o, arg);
        }
    }
    spin_unlock(&c->obj.lock);
}

/* A candidate's gc_refs is 1 + its handles in transit; each one found in
 * a candidate's queue is internal and comes off. */
static void subtract_internal(mxh_obj_t *o, void *arg)
{
    (void)arg;
    if (o->gc_refs > 1)
        o->gc_refs--;
}

typedef struct gc_stack {
    mxh_obj_t **items;
    size_t n;
} gc_stack_t;

static void mark_live(mxh_obj_t *o, void *arg)
{
    gc_stack_t *st = arg;
    /* An unmarked candidate has gc_refs >= 1; marking zeroes it. */
    if (o->gc_refs) {
        o->gc_refs = 0;
        st->items[st->n++] = o;
    }
}

int64_t mxh_kernel_collect(mxh_kernel_t *k)
{
    pthread_mutex_lock(&k->gc_mutex);
    atomic_store(&k->gc_active, 1);
    while (atomic_load(&k->ep_movers))
        sched_yield();

    /* 1. Candidates: endpoints every handle of which is in transit. */
    size_t cap = 64, n = 0;
    mxh_obj_t **cand = mxh_xmalloc(cap * sizeof(*cand));
    bool oom = cand == NULL;
    for (unsigned s = 0; s < REGISTRY_SHARDS && !oom; s++) {
        spin_lock(&k->registry[s].lock);
        for (mxh_obj_t *o = k->registry[s].head; o && !oom; o = o->reg_next) {
            if (o->type != MXH_OBJ_CHANNEL)
                continue;
            uint32_t handles = (uint32_t)(atomic_load(&o->counts) >> 32);
            uint32_t moving = atomic_load(&o->in_transit);
            if (handles == 0 || handles != moving || !ref_if_alive(o))
                continue;
            if (n == cap) {
                mxh_obj_t **bigger = mxh_xrealloc(cand, 2 * cap * sizeof(*cand));
                if (!bigger) {
                    mxh_object_release(o);   /* still referenced elsewhere */
                    oom = true;
                    break;
                }
                cand = bigger;
                cap *= 2;
            }
            o->gc_refs = 1 + moving;
            cand[n++] = o;
        }
        spin_unlock(&k->registry[s].lock);
    }
    int64_t result = 0;
    mxh_obj_t **stack = NULL;
    if (!oom && n)
        oom = (stack = mxh_xmalloc(n * sizeof(*stack))) == NULL;
    if (!oom) {
        /* 2. Subtract references from candidates' own queues. */
        for (size_t i = 0; i < n; i++)
            for_each_queued((mxh_chan_t *)cand[i], subtract_internal, NULL);
        /* 3. Roots: candidates still held from outside; mark through
         *    queues.  Marked ones end with gc_refs == 0. */
        gc_stack_t st = {stack, 0};
        for (size_t i = 0; i < n; i++) {
            if (cand[i]->gc_refs > 1) {
                cand[i]->gc_refs = 0;
                st.items[st.n++] = cand[i];
            }
        }
        while (st.n) {
            mxh_obj_t *o = st.items[--st.n];
            for_each_queued((mxh_chan_t *)o, mark_live, &st);
        }
    }
    atomic_store(&k->gc_active, 0);

    /* 4. Garbage: candidates never marked (moved to cand[0..ng)), each
     *    flagged first: every one of them dies once the garbage queues are
     *    reaped, in this thread or in one that still held a reference, and
     *    counts as collected either way.  Reap their queues; our references
     *    on them go last, inside the same reaper frame, so what else dies
     *    with them is counted too. */
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        mxh_obj_t *o = cand[i];
        bool garbage = !oom && o->gc_refs != 0;
        o->gc_refs = 0;
        if (garbage) {
            atomic_store(&o->gc_garbage, 1);
            cand[i] = cand[ng];
            cand[ng++] = o;
        }
    }
    reaper_t frame = {NULL, NULL, NULL, 0};
    reaper_t *outer = tl_reaper;
    tl_reaper = &frame;
    for (size_t i = 0; i < ng; i++)
        mxh_chan_destroy_queue((mxh_chan_t *)cand[i]);
    reaper_drain(&frame);
    for (size_t i = 0; i < ng; i++)
        mxh_object_release(cand[i]);
    reaper_drain(&frame);
    tl_reaper = outer;
    /* Live candidates: one whose handles were closed meanwhile dies with
     * this release, but it was reachable: not ours to count. */
    for (size_t i = ng; i < n; i++)
        mxh_object_release(cand[i]);
    result = oom ? MXH_ERR_NO_MEMORY : (int64_t)(ng + frame.destroyed);
    free(stack);
    free(cand);
    pthread_mutex_unlock(&k->gc_mutex);
    return result;
}
