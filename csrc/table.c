/*
 * table.c - per-process handle tables and the handle syscalls.
 *
 * Handle values
 * -------------
 * Each process has its own table: a growable array of 16-byte slots
 * {object, rights, generation}.  A live handle's value is
 *
 *     value = scramble_p((generation << 24) | slot_index)
 *
 * where scramble_p is a keyed bijection of the 31-bit space (xor, multiply by
 * an odd constant, xorshift, add, multiply, xorshift; every step invertible
 * mod 2**31), keyed by a 64-bit secret per process.  A lookup inverts the
 * scramble, splits index and generation and compares the slot's
 * generation: O(1), no hashing, and ownership is implicit (a value is only
 * looked up in its own process's table).  Value 0 is never produced: the
 * one (index, generation) pair that scrambles to 0 is skipped.
 *
 * Stale values.  Freeing a slot bumps its 7-bit generation and appends it to
 * a FIFO free queue; a slot is taken from the queue only while the queue is
 * longer than MXH_QUARANTINE (8192), otherwise the array grows.  Once the
 * queue has reached that length it never drops below it, so every slot freed
 * from then on waits behind >= 8192 others, i.e. >= 8192 allocations of this
 * process.  A value reappears only after its slot has gone through all 128
 * generations, at most one of which can have been reused early (before the
 * queue first filled) and at most one skipped (value 0): at least
 * 126 * 8192 = 1,032,192 allocations in that process.  The price is at most
 * 8192 idle slots (128 KiB) in a process that churns handles.  Only a table
 * that has reached all 2**24 slots dips into the quarantine.
 *
 * Locks: one spin lock per table, held only for table work.  Teardown
 * detaches the slot array under the lock and closes the handles outside it.
 */
#include "internal.h"

#include <stdlib.h>

_Static_assert(IDX_BITS + 7u == 31u, "index and generation fill 31 bits");
_Static_assert(MXH_PROC_MAX_SLOTS == (1u << IDX_BITS), "slot limit");
_Static_assert(sizeof(void *) != 8 || sizeof(slot_t) == 16, "16-byte slots");

/* ---- value scrambling ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t inverse_mod_2_32(uint32_t m)   /* m odd */
{
    uint32_t inv = m;                           /* correct to 3 bits */
    for (int i = 0; i < 4; i++)
        inv *= 2u - m * inv;                    /* doubles correct bits */
    return inv;
}

static inline uint32_t scramble(const mxh_proc_t *p, uint32_t x)
{
    x ^= p->k0;
    x = (x * p->m1) & VALUE_MASK;
    x ^= x >> 15;
    x = (x + p->k1) & VALUE_MASK;
    x = (x * p->m2) & VALUE_MASK;
    x ^= x >> 16;
    return x;
}

static inline uint32_t unscramble(const mxh_proc_t *p, uint32_t y)
{
    y ^= y >> 16;
    y = (y * p->m2inv) & VALUE_MASK;
    y = (y - p->k1) & VALUE_MASK;
    y ^= (y >> 15) ^ (y >> 30);
    y = (y * p->m1inv) & VALUE_MASK;
    y ^= p->k0;
    return y;
}

static inline uint32_t slot_value(const mxh_proc_t *p, uint32_t idx)
{
    return scramble(p, (p->slots[idx].gen << IDX_BITS) | idx);
}

static void proc_keys(mxh_proc_t *p, uint64_t secret)
{
    uint64_t s = secret;
    uint64_t a = splitmix64(&s), b = splitmix64(&s);
    p->k0 = (uint32_t)a & VALUE_MASK;
    p->k1 = (uint32_t)(a >> 32) & VALUE_MASK;
    p->m1 = (uint32_t)b | 1u;
    p->m2 = (uint32_t)(b >> 32) | 1u;
    p->m1inv = inverse_mod_2_32(p->m1);
    p->m2inv = inverse_mod_2_32(p->m2);
}

/* ---- processes ------------------------------------------------------------------- */

mxh_proc_t *mxh_proc_alloc(mxh_kernel_t *k, uint64_t secret,
                           mxh_koid_t job_koid)
{
    mxh_proc_t *p = (mxh_proc_t *)mxh_obj_alloc(k, sizeof(mxh_proc_t),
                                                MXH_OBJ_PROCESS, job_koid);
    if (!p)
        return NULL;
    p->fq_head = p->fq_tail = NIL;
    proc_keys(p, secret);
    return p;
}

void mxh_proc_list_add(mxh_proc_t *p)
{
    mxh_kernel_t *k = p->obj.kernel;
    spin_lock(&k->procs_lock);
    p->prev = NULL;
    p->next = k->procs;
    if (k->procs)
        k->procs->prev = p;
    k->procs = p;
    spin_unlock(&k->procs_lock);
}

mxh_proc_t *mxh_proc_create(mxh_kernel_t *k, uint64_t secret,
                            mxh_koid_t job_koid)
{
    mxh_proc_t *p = mxh_proc_alloc(k, secret, job_koid);
    if (!p)
        return NULL;
    mxh_obj_publish(&p->obj);
    mxh_proc_list_add(p);
    return p;
}

mxh_obj_t *mxh_proc_object(mxh_proc_t *p) { return &p->obj; }

mxh_proc_t *mxh_object_proc(mxh_obj_t *o)
{
    return o->type == MXH_OBJ_PROCESS ? (mxh_proc_t *)o : NULL;
}

uint64_t mxh_proc_handle_count(mxh_proc_t *p)
{
    spin_lock(&p->lock);
    uint64_t n = p->live;
    spin_unlock(&p->lock);
    return n;
}

int mxh_proc_is_dead(mxh_proc_t *p)
{
    spin_lock(&p->lock);
    int dead = p->dead;
    spin_unlock(&p->lock);
    return dead;
}

/* ---- slots ------------------------------------------------------------------------- */

slot_t *mxh_lookup(mxh_proc_t *p, uint64_t h)
{
    if (h == 0 || h > VALUE_MASK)
        return NULL;
    uint32_t x = unscramble(p, (uint32_t)h);
    uint32_t idx = x & IDX_MASK;
    if (idx >= p->used)
        return NULL;
    slot_t *s = &p->slots[idx];
    if (!s->obj || s->gen != (x >> IDX_BITS))
        return NULL;
    return s;
}

int64_t mxh_reserve_slots(mxh_proc_t *p, uint32_t n)
{
    uint64_t from_queue = p->fq_len > MXH_QUARANTINE ? p->fq_len - MXH_QUARANTINE : 0;
    if (from_queue >= n)
        return MXH_OK;
    uint64_t need = (uint64_t)p->used + (n - from_queue);
    if (need > MXH_PROC_MAX_SLOTS) {
        /* A full table dips into the quarantine. */
        if ((uint64_t)p->fq_len + (MXH_PROC_MAX_SLOTS - p->used) >= n)
            return MXH_OK;
        return MXH_ERR_NO_RESOURCES;
    }
    if (need <= p->cap)
        return MXH_OK;
    uint64_t cap = p->cap ? p->cap : 8;
    while (cap < need)
        cap *= 2;
    if (cap > MXH_PROC_MAX_SLOTS)
        cap = MXH_PROC_MAX_SLOTS;
    slot_t *s = mxh_xrealloc(p->slots, cap * sizeof(slot_t));
    if (!s)
        return MXH_ERR_NO_MEMORY;
    p->slots = s;
    p->cap = (uint32_t)cap;
    return MXH_OK;
}

uint32_t mxh_slot_bind(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights)
{
    uint32_t idx;
    if (p->fq_len > MXH_QUARANTINE || (p->fq_len && p->used == MXH_PROC_MAX_SLOTS)) {
        idx = p->fq_head;
        p->fq_head = p->slots[idx].rights;
        if (--p->fq_len == 0)
            p->fq_tail = NIL;
    } else {
        idx = p->used++;
        p->slots[idx].gen = 0;
    }
    slot_t *s = &p->slots[idx];
    s->obj = o;
    s->rights = rights & ~MARK_BIT;
    uint32_t value = slot_value(p, idx);
    if (value == 0) {
        s->gen = (s->gen + 1) & GEN_MASK;
        value = slot_value(p, idx);
    }
    p->live++;
    return value;
}

void mxh_slot_unbind(mxh_proc_t *p, slot_t *s)
{
    uint32_t idx = slot_index(p, s);
    s->obj = NULL;
    s->gen = (s->gen + 1) & GEN_MASK;
    s->rights = NIL;
    if (p->fq_tail == NIL)
        p->fq_head = idx;
    else
        p->slots[p->fq_tail].rights = idx;
    p->fq_tail = idx;
    p->fq_len++;
    p->live--;
}

/* ---- teardown and enumeration -------------------------------------------------- */

void mxh_proc_list_remove(mxh_proc_t *p)
{
    mxh_kernel_t *k = p->obj.kernel;
    spin_lock(&k->procs_lock);
    if (p->prev)
        p->prev->next = p->next;
    else if (k->procs == p)
        k->procs = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    spin_unlock(&k->procs_lock);
}

int64_t mxh_proc_kill(mxh_proc_t *p)
{
    return mxh_proc_kill_code(p, -1);
}

int64_t mxh_proc_kill_code(mxh_proc_t *p, int64_t code)
{
    spin_lock(&p->lock);
    if (p->dead) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_STATE;
    }
    p->dead = true;
    p->state = TASK_DEAD;
    if (!p->exit_called)
        p->retcode = code;
    slot_t *slots = p->slots;
    uint32_t used = p->used, live = p->live, quota = p->quota;
    p->slots = NULL;
    p->cap = p->used = p->live = p->fq_len = p->quota = 0;
    p->fq_head = p->fq_tail = NIL;
    /* Its threads die with it (their TASK_TERMINATED comes below). */
    for (mxh_thread_t *t = p->threads; t; t = t->next)
        t->state = TASK_DEAD;
    p->live_threads = 0;
    spin_unlock(&p->lock);
    mxh_proc_list_remove(p);
    mxh_charge_return(p->obj.kernel, (uint64_t)live + quota);
    /* Its blocked calls end with CANCELED before anything its death sets
     * off can wake them instead: its threads' or its own TASK_TERMINATED,
     * a peer closed as its table is torn down, a packet from an async wait
     * on one of its threads.  They wait through handles of its table (an
     * empty wait_many on p itself), and no new one starts now that it is
     * dead.  Its async waits end here too. */
    mxh_cancel_waiters(&p->obj, p, 0, true);
    for (uint32_t i = 0; i < used; i++) {
        if (slots[i].obj)
            mxh_cancel_waiters(slots[i].obj, p, 0, true);
    }
    spin_lock(&p->lock);            /* table -> object lock order */
    for (mxh_thread_t *t = p->threads; t; t = t->next)
        mxh_object_signal_raw(&t->obj, 0, MXH_SIGNAL_TASK_TERMINATED);
    spin_unlock(&p->lock);
    mxh_object_signal_raw(&p->obj, 0, MXH_SIGNAL_TASK_TERMINATED);
    mxh_reap_table(p, slots, used);
    return live;
}

/* The waits through these handles ended when p died (mxh_proc_kill_code). */
void mxh_table_close(mxh_proc_t *p, slot_t *slots, uint32_t used)
{
    (void)p;
    for (uint32_t i = 0; i < used; i++) {
        mxh_obj_t *o = slots[i].obj;
        if (o)
            mxh_handle_drop(o);
    }
    free(slots);
}

int64_t mxh_proc_handles(mxh_proc_t *p, mxh_handle_info_t *out, size_t cap)
{
    spin_lock(&p->lock);
    size_t n = 0;
    for (uint32_t i = 0; i < p->used; i++) {
        slot_t *s = &p->slots[i];
        if (!s->obj)
            continue;
        if (n < cap) {
            mxh_handle_info_t *e = &out[n];
            e->value = slot_value(p, i);
            e->type = s->obj->type;
            e->rights = s->rights;
            e->signals = atomic_load(&s->obj->signals);
            e->koid = s->obj->koid;
            e->related_koid = s->obj->related_koid;
        }
        n++;
    }
    spin_unlock(&p->lock);
    return (int64_t)n;
}

/* ---- handle syscalls ----------------------------------------------------------------- */

/* Locks p's table and fails BAD_STATE if p is dead. */
#define LOCK_ALIVE(p)                      \
    do {                                   \
        spin_lock(&(p)->lock);             \
        if ((p)->dead) {                   \
            spin_unlock(&(p)->lock);       \
            return MXH_ERR_BAD_STATE;      \
        }                                  \
    } while (0)

/* Charges n handles and makes room for them (table lock held).  On
 * NO_RESOURCES from the kernel's limit, *retry says whether a reclaim of
 * every process's reserve might help (the caller unlocks and retries). */
static int64_t make_room(mxh_proc_t *p, uint32_t n, bool *retry)
{
    if (!mxh_quota_take(p, n)) {
        *retry = true;
        return MXH_ERR_NO_RESOURCES;
    }
    int64_t rc = mxh_reserve_slots(p, n);
    if (rc != MXH_OK)
        mxh_quota_give(p, n);
    return rc;
}

int64_t mxh_handle_create(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights)
{
    for (int attempt = 0;; attempt++) {
        LOCK_ALIVE(p);
        bool retry = false;
        int64_t rc = make_room(p, 1, &retry);
        if (rc == MXH_OK) {
            atomic_fetch_add(&o->counts, ONE_HANDLE + 1);
            rc = mxh_slot_bind(p, o, rights);
        }
        spin_unlock(&p->lock);
        if (!retry || attempt)
            return rc;
        mxh_quota_reclaim(p->obj.kernel);
    }
}

int64_t mxh_object_create_handle(mxh_proc_t *p, uint32_t type, uint32_t rights)
{
    if (mxh_proc_is_dead(p))
        return MXH_ERR_BAD_STATE;
    /* As mxh_object_create: events, ports and parentless jobs (a thread
     * needs a process: mxh_thread_create). */
    if (type != MXH_OBJ_EVENT && type != MXH_OBJ_PORT && type != MXH_OBJ_JOB)
        return MXH_ERR_INVALID_ARGS;
    mxh_obj_t *o = mxh_obj_alloc(p->obj.kernel, 0, type, 0);
    if (!o)
        return MXH_ERR_NO_MEMORY;
    atomic_init(&o->counts, ONE_HANDLE + 1);    /* the new handle's */
    for (int attempt = 0;; attempt++) {
        spin_lock(&p->lock);
        bool retry = false;
        int64_t rc = p->dead ? MXH_ERR_BAD_STATE : make_room(p, 1, &retry);
        if (rc == MXH_OK) {
            mxh_obj_publish(o);
            rc = mxh_slot_bind(p, o, rights);
        }
        spin_unlock(&p->lock);
        if (rc >= 0)
            return rc;
        if (!retry || attempt) {
            mxh_obj_discard(o);
            return rc;
        }
        mxh_quota_reclaim(p->obj.kernel);
    }
}

static int64_t pair_alloc(mxh_kernel_t *k, uint32_t type, mxh_obj_t **out0,
                          mxh_obj_t **out1)
{
    mxh_link_t *l = mxh_xcalloc(1, sizeof(*l));
    mxh_obj_t *a = mxh_obj_alloc(k, 0, type, 0);
    mxh_obj_t *b = mxh_obj_alloc(k, 0, type, 0);
    if (!l || !a || !b) {
        free(l);
        free(a);
        free(b);
        return MXH_ERR_NO_MEMORY;
    }
    atomic_init(&l->refs, 2);
    l->ends[0] = a;
    l->ends[1] = b;
    a->link = b->link = l;
    a->side = 0;
    b->side = 1;
    /* Each end: its handle's count and reference plus its peer's ref. */
    atomic_init(&a->counts, ONE_HANDLE + 2);
    atomic_init(&b->counts, ONE_HANDLE + 2);
    if (type == MXH_OBJ_CHANNEL) {
        atomic_init(&a->signals, MXH_SIGNAL_CHANNEL_WRITABLE);
        atomic_init(&b->signals, MXH_SIGNAL_CHANNEL_WRITABLE);
    }
    *out0 = a;
    *out1 = b;
    return MXH_OK;
}

int64_t mxh_pair_create_handles(mxh_proc_t *p, uint32_t type, uint32_t rights,
                                uint32_t *out, mxh_koid_t *koids)
{
    if (mxh_proc_is_dead(p))
        return MXH_ERR_BAD_STATE;
    if (type != MXH_OBJ_CHANNEL && type != MXH_OBJ_EVENT_PAIR)
        return MXH_ERR_INVALID_ARGS;
    mxh_obj_t *a, *b;
    if (pair_alloc(p->obj.kernel, type, &a, &b) != MXH_OK)
        return MXH_ERR_NO_MEMORY;
    for (int attempt = 0;; attempt++) {
        spin_lock(&p->lock);
        bool retry = false;
        int64_t rc = p->dead ? MXH_ERR_BAD_STATE : make_room(p, 2, &retry);
        if (rc == MXH_OK) {
            /* related_koid is set before the registry shows either end. */
            mxh_koid_t ka = atomic_fetch_add(&p->obj.kernel->next_koid, 2);
            a->related_koid = ka + 1;
            b->related_koid = ka;
            mxh_obj_publish_as(a, ka);
            mxh_obj_publish_as(b, ka + 1);
            out[0] = mxh_slot_bind(p, a, rights);
            out[1] = mxh_slot_bind(p, b, rights);
        }
        spin_unlock(&p->lock);
        if (rc == MXH_OK) {
            if (koids) {
                koids[0] = a->koid;
                koids[1] = b->koid;
            }
            return MXH_OK;
        }
        if (!retry || attempt) {
            free(a->link);
            free(a);
            free(b);
            return rc;
        }
        mxh_quota_reclaim(p->obj.kernel);
    }
}

int64_t mxh_handle_close(mxh_proc_t *p, uint64_t h)
{
    LOCK_ALIVE(p);
    slot_t *s = mxh_lookup(p, h);
    if (!s) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_HANDLE;
    }
    mxh_obj_t *o = s->obj;
    mxh_slot_unbind(p, s);
    mxh_quota_give(p, 1);
    spin_unlock(&p->lock);
    mxh_cancel_waiters(o, p, (uint32_t)h, false);
    mxh_handle_drop(o);
    return MXH_OK;
}

int64_t mxh_handle_close_many(mxh_proc_t *p, const uint64_t *hs, size_t n)
{
    struct closed { mxh_obj_t *obj; uint32_t value; } *objs = NULL;
    if (n) {
        objs = mxh_xmalloc(n * sizeof(*objs));
        if (!objs)
            return MXH_ERR_NO_MEMORY;
    }
    spin_lock(&p->lock);
    if (p->dead) {
        spin_unlock(&p->lock);
        free(objs);
        return MXH_ERR_BAD_STATE;
    }
    size_t closed = 0;
    bool bad = false;
    for (size_t i = 0; i < n; i++) {
        slot_t *s = mxh_lookup(p, hs[i]);
        if (!s) {
            bad = true;
            continue;
        }
        objs[closed].obj = s->obj;
        objs[closed].value = (uint32_t)hs[i];
        closed++;
        mxh_slot_unbind(p, s);
    }
    mxh_quota_give(p, (uint32_t)closed);
    spin_unlock(&p->lock);
    for (size_t i = 0; i < closed; i++) {
        mxh_cancel_waiters(objs[i].obj, p, objs[i].value, false);
        mxh_handle_drop(objs[i].obj);
    }
    free(objs);
    return bad ? MXH_ERR_BAD_HANDLE : MXH_OK;
}

static inline bool rights_ok(uint32_t have, uint32_t want)
{
    return want == MXH_RIGHT_SAME_RIGHTS || (want & ~have) == 0;
}

int64_t mxh_handle_duplicate(mxh_proc_t *p, uint64_t h, uint32_t rights)
{
    for (int attempt = 0;; attempt++) {
        LOCK_ALIVE(p);
        slot_t *s = mxh_lookup(p, h);
        bool retry = false;
        int64_t rc = !s ? MXH_ERR_BAD_HANDLE
                   : !(s->rights & MXH_RIGHT_DUPLICATE) ? MXH_ERR_ACCESS_DENIED
                   : !rights_ok(s->rights, rights) ? MXH_ERR_INVALID_ARGS
                   : MXH_OK;
        if (rc == MXH_OK) {
            mxh_obj_t *o = s->obj;
            uint32_t r = rights == MXH_RIGHT_SAME_RIGHTS ? s->rights : rights;
            rc = make_room(p, 1, &retry);     /* may move p->slots */
            if (rc == MXH_OK) {
                atomic_fetch_add_explicit(&o->counts, ONE_HANDLE + 1,
                                          memory_order_relaxed);
                rc = mxh_slot_bind(p, o, r);
            }
        }
        spin_unlock(&p->lock);
        if (!retry || attempt)
            return rc;
        mxh_quota_reclaim(p->obj.kernel);
    }
}

int64_t mxh_handle_replace(mxh_proc_t *p, uint64_t h, uint32_t rights)
{
    LOCK_ALIVE(p);
    slot_t *s = mxh_lookup(p, h);
    int64_t rc = !s ? MXH_ERR_BAD_HANDLE
               : !rights_ok(s->rights, rights) ? MXH_ERR_INVALID_ARGS
               : MXH_OK;
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    uint32_t idx = slot_index(p, s);
    uint32_t r = rights == MXH_RIGHT_SAME_RIGHTS ? s->rights : rights;
    rc = mxh_reserve_slots(p, 1);
    if (rc == MXH_ERR_NO_RESOURCES)
        rc = MXH_OK;    /* a full table: the old slot is the room */
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    mxh_obj_t *o = p->slots[idx].obj;
    uint32_t v;
    if (p->used < MXH_PROC_MAX_SLOTS || p->fq_len) {
        /* Bind first so the new value cannot be the one being retired. */
        v = mxh_slot_bind(p, o, r);
        mxh_slot_unbind(p, &p->slots[idx]);
    } else {
        mxh_slot_unbind(p, &p->slots[idx]);
        v = mxh_slot_bind(p, o, r);
    }
    /* Under the table lock: once it drops, another thread may close the
     * new handle and free o (table -> object is the lock order). */
    mxh_cancel_waiters(o, p, (uint32_t)h, false);
    spin_unlock(&p->lock);
    return v;
}

int64_t mxh_handle_get(mxh_proc_t *p, uint64_t h, uint32_t type,
                       uint32_t rights, mxh_obj_t **out)
{
    LOCK_ALIVE(p);
    slot_t *s = mxh_lookup(p, h);
    int64_t rc = !s ? MXH_ERR_BAD_HANDLE
               : (type && s->obj->type != type) ? MXH_ERR_WRONG_TYPE
               : (s->rights & rights) != rights ? MXH_ERR_ACCESS_DENIED
               : (int64_t)s->obj->koid;
    if (rc > 0 && out) {
        mxh_object_ref(s->obj);
        *out = s->obj;
    }
    spin_unlock(&p->lock);
    return rc;
}

int64_t mxh_handle_basic(mxh_proc_t *p, uint64_t h, mxh_handle_info_t *out)
{
    LOCK_ALIVE(p);
    slot_t *s = mxh_lookup(p, h);
    if (!s) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_HANDLE;
    }
    out->value = (uint32_t)h;
    out->type = s->obj->type;
    out->rights = s->rights;
    out->signals = atomic_load(&s->obj->signals);
    out->koid = s->obj->koid;
    out->related_koid = s->obj->related_koid;
    spin_unlock(&p->lock);
    return MXH_OK;
}

int64_t mxh_handle_move(mxh_proc_t *src, uint64_t h, mxh_proc_t *dst)
{
    mxh_proc_t *first = src < dst ? src : dst, *second = src < dst ? dst : src;
    spin_lock(&first->lock);
    if (second != first)
        spin_lock(&second->lock);
    slot_t *s = src->dead ? NULL : mxh_lookup(src, h);
    int64_t rc = src->dead ? MXH_ERR_BAD_STATE
               : !s || !(s->rights & MXH_RIGHT_TRANSFER) ? MXH_ERR_INVALID_ARGS
               : dst->dead ? MXH_ERR_BAD_STATE
               : MXH_OK;
    mxh_obj_t *o = NULL;
    if (rc == MXH_OK) {
        uint32_t idx = slot_index(src, s);
        rc = mxh_reserve_slots(dst, 1);
        if (rc == MXH_OK) {
            s = &src->slots[idx];
            o = s->obj;
            uint32_t r = s->rights;
            mxh_slot_unbind(src, s);    /* still live: no quota moves */
            rc = mxh_slot_bind(dst, o, r);
            /* Under the locks: dst may close the handle (and free o)
             * as soon as they drop. */
            mxh_cancel_waiters(o, src, (uint32_t)h, false);
        }
    }
    if (second != first)
        spin_unlock(&second->lock);
    spin_unlock(&first->lock);
    return rc;
}

/* ---- signals ------------------------------------------------------------------------- */

int64_t mxh_object_signal(mxh_proc_t *p, uint64_t h, uint32_t clear,
                          uint32_t set, int peer)
{
    LOCK_ALIVE(p);
    slot_t *s = mxh_lookup(p, h);
    if (!s) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_HANDLE;
    }
    mxh_obj_t *o = s->obj;
    int64_t rc = !(s->rights & MXH_RIGHT_WRITE) ? MXH_ERR_ACCESS_DENIED
               : ((clear | set) & ~mxh_user_signals(o->type)) ? MXH_ERR_INVALID_ARGS
               : (peer && !o->link) ? MXH_ERR_NOT_SUPPORTED
               : MXH_OK;
    if (rc == MXH_OK && !peer) {
        mxh_object_signal_raw(o, clear, set);
    } else if (rc == MXH_OK) {
        /* Table -> link -> object: the peer cannot go while the link holds
         * it and we hold the link. */
        mxh_link_t *l = o->link;
        spin_lock(&l->lock);
        mxh_obj_t *other = l->ends[1 - o->side];
        if (other)
            mxh_object_signal_raw(other, clear, set);
        else
            rc = MXH_ERR_PEER_CLOSED;
        spin_unlock(&l->lock);
    }
    spin_unlock(&p->lock);
    return rc;
}

/* ---- handles for objects made elsewhere (task.c) ----------------------------------- */

int64_t mxh_charge_one(mxh_proc_t *p)
{
    for (int attempt = 0;; attempt++) {
        LOCK_ALIVE(p);
        bool ok = mxh_quota_take(p, 1);
        spin_unlock(&p->lock);
        if (ok)
            return MXH_OK;
        if (attempt)
            return MXH_ERR_NO_RESOURCES;
        mxh_quota_reclaim(p->obj.kernel);
    }
}

void mxh_uncharge_one(mxh_proc_t *p)
{
    spin_lock(&p->lock);
    if (p->dead)
        mxh_charge_return(p->obj.kernel, 1);
    else
        mxh_quota_give(p, 1);
    spin_unlock(&p->lock);
}
