/*
 * mxhandles.c - handle tables, objects and transit for a simulated kernel.
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
 * scramble, takes the index and generation apart and compares the slot's
 * generation: O(1), no hashing, and ownership is implicit (a value is looked
 * up only in its own process's table).  Value 0 is never produced: the one
 * (index, generation) pair that scrambles to 0 is skipped.
 *
 * Stale values.  Freeing a slot bumps its 7-bit generation and appends it to
 * a FIFO free queue; a slot is taken from the queue only while the queue is
 * longer than MXH_QUARANTINE (8192); otherwise the array grows.  Once the
 * queue has reached that length it never drops below it, so every slot freed
 * from then on waits behind >= 8192 others, i.e. >= 8192 allocations of this
 * process.  A value reappears only after its slot has gone through all 128
 * generations, at most one of which can have been reused early (before the
 * queue first filled) and at most one skipped (value 0): at least
 * 126 * 8192 = 1,032,192 allocations in that process.  The price is at most
 * 8192 idle slots (128 KiB) in a process that churns handles.  Only a table
 * that has reached all 2**24 slots dips into the quarantine.
 *
 * Objects
 * -------
 * `counts` packs the handle count (high 32 bits) and the reference count
 * (low 32) in one atomic word; a handle holds one of each.  When the handle
 * count reaches zero the object's zero-handles action runs (a peered object
 * detaches and flags its peer; a managed object is reported to the caller as
 * a note), then the reference is dropped; the drop that reaches zero
 * destroys the object.  `mem` keeps the memory: one for being alive plus one
 * per pin, so a destroyed process can still be asked about by a debugger's
 * view.  Objects never call out of this file.
 *
 * Locks
 * -----
 * One spin lock per process table (held only for table work; teardown
 * detaches the array under the lock and closes outside it), one per peer
 * link, one per kernel for its list of processes.  Order: table -> link, and
 * two tables in address order.  Counts and signals are atomics.
 */
#include "mxhandles.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define IDX_BITS   24u
#define IDX_MASK   ((1u << IDX_BITS) - 1u)
#define GEN_MASK   0x7fu
#define VALUE_MASK 0x7fffffffu
#define NIL        0xffffffffu
#define ONE_HANDLE (1ull << 32)
#define MARK_BIT   (1u << 31)   /* transient mark in a live slot's rights */

_Static_assert(IDX_BITS + 7u == 31u, "index and generation fill 31 bits");
_Static_assert(MXH_PROC_MAX_SLOTS == (1u << IDX_BITS), "slot limit");

/* ---- allocation (fault-injectable) ---------------------------------------- */

#ifdef MXH_FAULT_INJECTION
static _Atomic uint64_t fault_countdown;

void mxh_fault_fail_nth(uint64_t n) { atomic_store(&fault_countdown, n); }

static bool fault_now(void)
{
    uint64_t c = atomic_load(&fault_countdown);
    while (c != 0) {
        if (atomic_compare_exchange_weak(&fault_countdown, &c, c - 1))
            return c == 1;
    }
    return false;
}
#define FAULT() fault_now()
#else
void mxh_fault_fail_nth(uint64_t n) { (void)n; }
#define FAULT() false
#endif

static void *xmalloc(size_t n) { return FAULT() ? NULL : malloc(n); }
static void *xcalloc(size_t n, size_t m) { return FAULT() ? NULL : calloc(n, m); }
static void *xrealloc(void *p, size_t n) { return FAULT() ? NULL : realloc(p, n); }

/* ---- spin lock --------------------------------------------------------------- */

typedef _Atomic int spin_t;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void spin_lock(spin_t *l)
{
    for (;;) {
        if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
            return;
        for (int n = 0; atomic_load_explicit(l, memory_order_relaxed); n++) {
            if (n < 100)
                cpu_relax();
            else
                sched_yield();
        }
    }
}

static inline void spin_unlock(spin_t *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

/* ---- structures -------------------------------------------------------------- */

struct mxh_kernel {
    _Atomic uint64_t next_koid;
    _Atomic uint64_t live_handles;
    _Atomic uint64_t in_transit;
    _Atomic uint64_t live_objects[8];
    _Atomic uint64_t destroyed;
    _Atomic uint64_t refs;          /* creator + every object in memory */
    uint64_t max_handles;
    spin_t procs_lock;
    mxh_proc_t *procs;              /* live (not killed) processes */
};

/* Shared by the two ends of a pair while either is in memory. */
typedef struct mxh_link {
    spin_t lock;
    _Atomic int refs;
    mxh_obj_t *ends[2];             /* both NULL once detached */
} mxh_link_t;

struct mxh_obj {
    _Atomic uint64_t counts;        /* handles << 32 | references */
    _Atomic uint32_t signals;
    _Atomic uint32_t mem;           /* alive (1) + pins */
    _Atomic uint32_t destroyed;
    uint16_t type;
    uint8_t flags;
    uint8_t side;                   /* index in link->ends */
    mxh_koid_t koid;
    mxh_koid_t related_koid;
    mxh_kernel_t *kernel;
    mxh_link_t *link;               /* peered objects only */
};

typedef struct slot {
    mxh_obj_t *obj;                 /* NULL when free */
    uint32_t rights;                /* next free index when free */
    uint32_t gen;
} slot_t;

_Static_assert(sizeof(slot_t) == 16 || sizeof(void *) != 8, "16-byte slots");

struct mxh_proc {
    mxh_obj_t obj;                  /* must be first */
    spin_t lock;
    bool dead;
    slot_t *slots;
    uint32_t cap;                   /* slots allocated */
    uint32_t used;                  /* slots ever handed out (high water) */
    uint32_t live;                  /* live handles */
    uint32_t fq_head, fq_tail, fq_len;
    uint32_t k0, k1, m1, m2, m1inv, m2inv;
    mxh_proc_t *prev, *next;        /* kernel's list, while alive */
};

struct mxh_transit {
    mxh_kernel_t *kernel;
    size_t count;
    struct { mxh_obj_t *obj; uint64_t rights; } h[];
};

/* ---- small helpers ---------------------------------------------------------- */

static int stats_index(uint32_t type)
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

static bool valid_type(uint32_t type) { return stats_index(type) != 7; }

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

/* ---- kernel ----------------------------------------------------------------- */

mxh_kernel_t *mxh_kernel_create(uint64_t max_handles)
{
    mxh_kernel_t *k = xcalloc(1, sizeof(*k));
    if (!k)
        return NULL;
    atomic_init(&k->next_koid, 1024);
    atomic_init(&k->refs, 1);
    k->max_handles = max_handles ? max_handles : MXH_DEFAULT_MAX_HANDLES;
    return k;
}

static void kernel_unref(mxh_kernel_t *k)
{
    if (atomic_fetch_sub(&k->refs, 1) == 1)
        free(k);
}

void mxh_kernel_release(mxh_kernel_t *k)
{
    if (!k)
        return;
    for (;;) {
        spin_lock(&k->procs_lock);
        mxh_proc_t *p = k->procs;
        if (p)
            mxh_object_ref(&p->obj);
        spin_unlock(&k->procs_lock);
        if (!p)
            break;
        mxh_notes_t notes = {0};
        mxh_proc_kill(p, &notes);   /* unlinks p from the list */
        mxh_notes_release(&notes);
        mxh_object_release(&p->obj);
    }
    kernel_unref(k);
}

void mxh_kernel_stats(mxh_kernel_t *k, mxh_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->live_handles = atomic_load(&k->live_handles);
    out->in_transit_handles = atomic_load(&k->in_transit);
    for (int i = 0; i < 8; i++)
        out->live_objects[i] = atomic_load(&k->live_objects[i]);
    out->destroyed_objects = atomic_load(&k->destroyed);
}

mxh_koid_t mxh_kernel_peek_koid(mxh_kernel_t *k)
{
    return atomic_load(&k->next_koid);
}

static bool quota_take(mxh_kernel_t *k, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&k->live_handles, memory_order_relaxed);
    do {
        if (cur + n > k->max_handles)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(
        &k->live_handles, &cur, cur + n, memory_order_relaxed,
        memory_order_relaxed));
    return true;
}

static void quota_give(mxh_kernel_t *k, uint64_t n)
{
    atomic_fetch_sub_explicit(&k->live_handles, n, memory_order_relaxed);
}

/* ---- objects ---------------------------------------------------------------- */

/* Memory for an object not yet visible anywhere (no koid, not counted). */
static mxh_obj_t *obj_alloc(mxh_kernel_t *k, size_t size, uint32_t type,
                            uint32_t flags, mxh_koid_t related)
{
    mxh_obj_t *o = xcalloc(1, size);
    if (!o)
        return NULL;
    atomic_init(&o->counts, 1);
    atomic_init(&o->mem, 1);
    o->type = (uint16_t)type;
    o->flags = (uint8_t)flags;
    o->related_koid = related;
    o->kernel = k;
    return o;
}

/* Makes an allocated object real: koid, counters, kernel reference. */
static void obj_publish(mxh_obj_t *o)
{
    mxh_kernel_t *k = o->kernel;
    o->koid = atomic_fetch_add(&k->next_koid, 1);
    atomic_fetch_add(&k->refs, 1);
    atomic_fetch_add(&k->live_objects[stats_index(o->type)], 1);
}

static void obj_free_memory(mxh_obj_t *o)
{
    mxh_kernel_t *k = o->kernel;
    if (o->type == MXH_OBJ_PROCESS)
        free(((mxh_proc_t *)o)->slots);
    free(o);
    kernel_unref(k);
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
    if (o->type == MXH_OBJ_PROCESS) {
        mxh_notes_t notes = {0};
        mxh_proc_kill((mxh_proc_t *)o, &notes);
        mxh_notes_release(&notes);
    }
    if (o->link) {
        link_unref(o->link);
        o->link = NULL;
    }
    atomic_store(&o->destroyed, 1);
    atomic_fetch_sub(&k->live_objects[stats_index(o->type)], 1);
    atomic_fetch_add(&k->destroyed, 1);
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

uint32_t mxh_object_signal_raw(mxh_obj_t *o, uint32_t clear, uint32_t set)
{
    uint32_t cur = atomic_load(&o->signals), next;
    do {
        next = (cur & ~clear) | set;
    } while (!atomic_compare_exchange_weak(&o->signals, &cur, next));
    return next;
}

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

/* The last handle of `o` went away; the caller still holds a reference.
 * Returns o's koid if the caller must run a managed zero-handles action. */
static mxh_koid_t zero_handles(mxh_obj_t *o)
{
    mxh_link_t *l = o->link;
    if (l) {
        spin_lock(&l->lock);
        mxh_obj_t *peer = l->ends[1 - o->side];
        l->ends[0] = l->ends[1] = NULL;
        spin_unlock(&l->lock);
        if (peer) {
            if (peer->type == MXH_OBJ_CHANNEL)
                mxh_object_signal_raw(peer, MXH_SIGNAL_CHANNEL_WRITABLE,
                                      MXH_SIGNAL_CHANNEL_PEER_CLOSED);
            else
                mxh_object_signal_raw(peer, 0, MXH_SIGNAL_EPAIR_PEER_CLOSED);
            mxh_object_release(peer);   /* o's reference on its peer */
            mxh_object_release(o);      /* the peer's reference on o */
        }
    }
    return (o->flags & MXH_OBJ_F_MANAGED) ? o->koid : 0;
}

/* Drops one handle's count and reference.  Returns a note koid or 0. */
static mxh_koid_t handle_drop(mxh_obj_t *o)
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
            mxh_koid_t note = zero_handles(o);
            mxh_object_release(o);
            return note;
        }
    }
    if ((cur >> 32) > 1)
        return 0;
    /* Last handle and last reference at once: nothing peers with o. */
    mxh_koid_t note = zero_handles(o);
    obj_destroy(o);
    return note;
}

mxh_obj_t *mxh_object_create(mxh_kernel_t *k, uint32_t type, uint32_t flags,
                             mxh_koid_t related_koid)
{
    if (!valid_type(type) || type == MXH_OBJ_PROCESS)
        return NULL;
    mxh_obj_t *o = obj_alloc(k, sizeof(mxh_obj_t), type, flags, related_koid);
    if (o)
        obj_publish(o);
    return o;
}

static int64_t pair_alloc(mxh_kernel_t *k, uint32_t type, uint32_t flags,
                          mxh_obj_t **out0, mxh_obj_t **out1)
{
    mxh_link_t *l = xcalloc(1, sizeof(*l));
    mxh_obj_t *a = obj_alloc(k, sizeof(mxh_obj_t), type, flags, 0);
    mxh_obj_t *b = obj_alloc(k, sizeof(mxh_obj_t), type, flags, 0);
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
    atomic_init(&a->counts, 2);   /* caller's + b's peer reference */
    atomic_init(&b->counts, 2);
    if (type == MXH_OBJ_CHANNEL) {
        atomic_init(&a->signals, MXH_SIGNAL_CHANNEL_WRITABLE);
        atomic_init(&b->signals, MXH_SIGNAL_CHANNEL_WRITABLE);
    }
    *out0 = a;
    *out1 = b;
    return MXH_OK;
}

static void pair_publish(mxh_obj_t *a, mxh_obj_t *b)
{
    obj_publish(a);
    obj_publish(b);
    a->related_koid = b->koid;
    b->related_koid = a->koid;
}

int64_t mxh_object_create_pair(mxh_kernel_t *k, uint32_t type, uint32_t flags,
                               mxh_obj_t **out0, mxh_obj_t **out1)
{
    if (type != MXH_OBJ_CHANNEL && type != MXH_OBJ_EVENT_PAIR)
        return MXH_ERR_INVALID_ARGS;
    int64_t rc = pair_alloc(k, type, flags, out0, out1);
    if (rc == MXH_OK)
        pair_publish(*out0, *out1);
    return rc;
}

/* ---- process tables ---------------------------------------------------------- */

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

mxh_proc_t *mxh_proc_create(mxh_kernel_t *k, uint64_t secret,
                            mxh_koid_t job_koid)
{
    mxh_proc_t *p = (mxh_proc_t *)obj_alloc(k, sizeof(mxh_proc_t),
                                            MXH_OBJ_PROCESS, MXH_OBJ_F_MANAGED,
                                            job_koid);
    if (!p)
        return NULL;
    p->fq_head = p->fq_tail = NIL;
    proc_keys(p, secret);
    obj_publish(&p->obj);
    spin_lock(&k->procs_lock);
    p->next = k->procs;
    if (k->procs)
        k->procs->prev = p;
    k->procs = p;
    spin_unlock(&k->procs_lock);
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

/* Looks `h` up in p's table (lock held).  NULL unless a live handle. */
static inline slot_t *lookup(mxh_proc_t *p, uint64_t h)
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

/* Makes room for `n` more slots without touching the free queue's
 * contents (lock held).  MXH_OK, NO_MEMORY or NO_RESOURCES. */
static int64_t reserve_slots(mxh_proc_t *p, uint32_t n)
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
    slot_t *s = xrealloc(p->slots, cap * sizeof(slot_t));
    if (!s)
        return MXH_ERR_NO_MEMORY;
    p->slots = s;
    p->cap = (uint32_t)cap;
    return MXH_OK;
}

/* Binds `o` with `rights` into a slot made available by reserve_slots
 * (lock held).  The caller has already counted the handle and reference. */
static uint32_t slot_bind(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights)
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

/* Frees a live slot (lock held); the handle's count and reference now
 * belong to the caller. */
static void slot_unbind(mxh_proc_t *p, slot_t *s)
{
    uint32_t idx = (uint32_t)(s - p->slots);
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

static void proc_unlink(mxh_proc_t *p)
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

int64_t mxh_proc_kill(mxh_proc_t *p, mxh_notes_t *notes)
{
    notes->koids = NULL;
    notes->count = 0;
    spin_lock(&p->lock);
    if (p->dead) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_STATE;
    }
    p->dead = true;
    slot_t *slots = p->slots;
    uint32_t used = p->used, live = p->live;
    p->slots = NULL;
    p->cap = p->used = p->live = p->fq_len = 0;
    p->fq_head = p->fq_tail = NIL;
    spin_unlock(&p->lock);
    proc_unlink(p);

    /* Notes are written over the detached array: note j lands at byte 8j,
     * and slot i (read before) starts at byte 16i >= 8j. */
    mxh_koid_t *out = (mxh_koid_t *)(void *)slots;
    size_t n = 0;
    for (uint32_t i = 0; i < used; i++) {
        mxh_obj_t *o = slots[i].obj;
        if (!o)
            continue;
        mxh_koid_t note = handle_drop(o);
        if (note)
            out[n++] = note;
    }
    quota_give(p->obj.kernel, live);
    if (n) {
        notes->koids = out;
        notes->count = n;
    } else {
        free(slots);
    }
    return live;
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

/* ---- handle syscalls ------------------------------------------------------------ */

/* Locks p's table and fails BAD_STATE if p is dead. */
#define LOCK_ALIVE(p)                      \
    do {                                   \
        spin_lock(&(p)->lock);             \
        if ((p)->dead) {                   \
            spin_unlock(&(p)->lock);       \
            return MXH_ERR_BAD_STATE;      \
        }                                  \
    } while (0)

int64_t mxh_handle_create(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights)
{
    mxh_kernel_t *k = p->obj.kernel;
    LOCK_ALIVE(p);
    if (!quota_take(k, 1)) {
        spin_unlock(&p->lock);
        return MXH_ERR_NO_RESOURCES;
    }
    int64_t rc = reserve_slots(p, 1);
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        quota_give(k, 1);
        return rc;
    }
    atomic_fetch_add(&o->counts, ONE_HANDLE + 1);
    uint32_t v = slot_bind(p, o, rights);
    spin_unlock(&p->lock);
    return v;
}

int64_t mxh_object_create_handle(mxh_proc_t *p, uint32_t type, uint32_t rights)
{
    mxh_kernel_t *k = p->obj.kernel;
    if (!valid_type(type) || type == MXH_OBJ_PROCESS ||
        type == MXH_OBJ_CHANNEL || type == MXH_OBJ_EVENT_PAIR)
        return MXH_ERR_INVALID_ARGS;
    mxh_obj_t *o = obj_alloc(k, sizeof(mxh_obj_t), type, 0, 0);
    if (!o)
        return MXH_ERR_NO_MEMORY;
    atomic_init(&o->counts, ONE_HANDLE + 1);    /* the new handle's */
    spin_lock(&p->lock);
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : !quota_take(k, 1) ? MXH_ERR_NO_RESOURCES
               : MXH_OK;
    if (rc == MXH_OK && (rc = reserve_slots(p, 1)) != MXH_OK)
        quota_give(k, 1);
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        free(o);
        return rc;
    }
    obj_publish(o);
    uint32_t v = slot_bind(p, o, rights);
    spin_unlock(&p->lock);
    return v;
}

int64_t mxh_pair_create_handles(mxh_proc_t *p, uint32_t type, uint32_t flags,
                                uint32_t rights, uint32_t *out,
                                mxh_koid_t *koids)
{
    mxh_kernel_t *k = p->obj.kernel;
    if (type != MXH_OBJ_CHANNEL && type != MXH_OBJ_EVENT_PAIR)
        return MXH_ERR_INVALID_ARGS;
    mxh_obj_t *a, *b;
    if (pair_alloc(k, type, flags, &a, &b) != MXH_OK)
        return MXH_ERR_NO_MEMORY;
    /* Each end: its handle's count and reference plus its peer's ref. */
    atomic_init(&a->counts, ONE_HANDLE + 2);
    atomic_init(&b->counts, ONE_HANDLE + 2);
    spin_lock(&p->lock);
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE
               : !quota_take(k, 2) ? MXH_ERR_NO_RESOURCES
               : MXH_OK;
    if (rc == MXH_OK && (rc = reserve_slots(p, 2)) != MXH_OK)
        quota_give(k, 2);
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        free(a->link);
        free(a);
        free(b);
        return rc;
    }
    pair_publish(a, b);
    out[0] = slot_bind(p, a, rights);
    out[1] = slot_bind(p, b, rights);
    spin_unlock(&p->lock);
    if (koids) {
        koids[0] = a->koid;
        koids[1] = b->koid;
    }
    return MXH_OK;
}

int64_t mxh_handle_close(mxh_proc_t *p, uint64_t h)
{
    LOCK_ALIVE(p);
    slot_t *s = lookup(p, h);
    if (!s) {
        spin_unlock(&p->lock);
        return MXH_ERR_BAD_HANDLE;
    }
    mxh_obj_t *o = s->obj;
    slot_unbind(p, s);
    spin_unlock(&p->lock);
    quota_give(p->obj.kernel, 1);
    return (int64_t)handle_drop(o);
}

int64_t mxh_handle_close_many(mxh_proc_t *p, const uint64_t *hs, size_t n,
                              mxh_notes_t *notes)
{
    notes->koids = NULL;
    notes->count = 0;
    mxh_obj_t **objs = NULL;
    if (n) {
        objs = xmalloc(n * sizeof(*objs));
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
        slot_t *s = lookup(p, hs[i]);
        if (!s) {
            bad = true;
            continue;
        }
        objs[closed++] = s->obj;
        slot_unbind(p, s);
    }
    spin_unlock(&p->lock);
    quota_give(p->obj.kernel, closed);
    /* Reuse objs for the notes: note j overwrites entry j <= i. */
    mxh_koid_t *out = (mxh_koid_t *)(void *)objs;
    size_t m = 0;
    for (size_t i = 0; i < closed; i++) {
        mxh_koid_t note = handle_drop(objs[i]);
        if (note)
            out[m++] = note;
    }
    if (m) {
        notes->koids = out;
        notes->count = m;
    } else {
        free(objs);
    }
    return bad ? MXH_ERR_BAD_HANDLE : MXH_OK;
}

static inline bool rights_ok(uint32_t have, uint32_t want)
{
    return want == MXH_RIGHT_SAME_RIGHTS || (want & ~have) == 0;
}

int64_t mxh_handle_duplicate(mxh_proc_t *p, uint64_t h, uint32_t rights)
{
    mxh_kernel_t *k = p->obj.kernel;
    LOCK_ALIVE(p);
    slot_t *s = lookup(p, h);
    int64_t rc = !s ? MXH_ERR_BAD_HANDLE
               : !(s->rights & MXH_RIGHT_DUPLICATE) ? MXH_ERR_ACCESS_DENIED
               : !rights_ok(s->rights, rights) ? MXH_ERR_INVALID_ARGS
               : !quota_take(k, 1) ? MXH_ERR_NO_RESOURCES
               : MXH_OK;
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    mxh_obj_t *o = s->obj;
    uint32_t r = rights == MXH_RIGHT_SAME_RIGHTS ? s->rights : rights;
    if ((rc = reserve_slots(p, 1)) != MXH_OK) {   /* may move p->slots */
        spin_unlock(&p->lock);
        quota_give(k, 1);
        return rc;
    }
    atomic_fetch_add_explicit(&o->counts, ONE_HANDLE + 1, memory_order_relaxed);
    uint32_t v = slot_bind(p, o, r);
    spin_unlock(&p->lock);
    return v;
}

int64_t mxh_handle_replace(mxh_proc_t *p, uint64_t h, uint32_t rights)
{
    LOCK_ALIVE(p);
    slot_t *s = lookup(p, h);
    int64_t rc = !s ? MXH_ERR_BAD_HANDLE
               : !rights_ok(s->rights, rights) ? MXH_ERR_INVALID_ARGS
               : MXH_OK;
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    uint32_t idx = (uint32_t)(s - p->slots);
    uint32_t r = rights == MXH_RIGHT_SAME_RIGHTS ? s->rights : rights;
    rc = reserve_slots(p, 1);
    if (rc == MXH_ERR_NO_RESOURCES) {
        /* A full table: the old slot is the room (quarantine dipped). */
        rc = MXH_OK;
    }
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    s = &p->slots[idx];
    mxh_obj_t *o = s->obj;
    /* Bind first so the new value cannot be the one being retired. */
    uint32_t v;
    if (p->used < MXH_PROC_MAX_SLOTS || p->fq_len) {
        v = slot_bind(p, o, r);
        slot_unbind(p, &p->slots[idx]);
    } else {
        slot_unbind(p, s);
        v = slot_bind(p, o, r);
    }
    spin_unlock(&p->lock);
    return v;
}

int64_t mxh_handle_get(mxh_proc_t *p, uint64_t h, uint32_t type,
                       uint32_t rights, mxh_obj_t **out)
{
    LOCK_ALIVE(p);
    slot_t *s = lookup(p, h);
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
    slot_t *s = lookup(p, h);
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

/* ---- transit ------------------------------------------------------------------ */

/* Validates hs[0..n) for a move out of p (lock held), in SPEC order. */
static int64_t check_transfer(mxh_proc_t *p, const uint64_t *hs, size_t n,
                              const mxh_obj_t *self)
{
    for (size_t i = 0; i < n; i++) {
        slot_t *s = lookup(p, hs[i]);
        if (!s)
            return MXH_ERR_BAD_HANDLE;
        if (self && s->obj == self)
            return MXH_ERR_NOT_SUPPORTED;
        if (!(s->rights & MXH_RIGHT_TRANSFER))
            return MXH_ERR_ACCESS_DENIED;
    }
    /* The same handle twice: mark each slot, look for a mark, unmark. */
    int64_t rc = MXH_OK;
    size_t i = 0;
    for (; i < n; i++) {
        slot_t *s = lookup(p, hs[i]);
        if (s->rights & MARK_BIT) {
            rc = MXH_ERR_INVALID_ARGS;
            break;
        }
        s->rights |= MARK_BIT;
    }
    while (i-- > 0)
        lookup(p, hs[i])->rights &= ~MARK_BIT;
    return rc;
}

/* Moves validated hs[0..n) into t (lock held). */
static void move_out(mxh_proc_t *p, const uint64_t *hs, size_t n,
                     mxh_transit_t *t)
{
    t->kernel = p->obj.kernel;
    t->count = n;
    for (size_t i = 0; i < n; i++) {
        slot_t *s = lookup(p, hs[i]);
        t->h[i].obj = s->obj;
        t->h[i].rights = s->rights;
        slot_unbind(p, s);
    }
    atomic_fetch_add(&p->obj.kernel->in_transit, n);
}

static mxh_transit_t *transit_alloc(size_t n)
{
    return xmalloc(sizeof(mxh_transit_t) + n * sizeof(((mxh_transit_t *)0)->h[0]));
}

int64_t mxh_transit_take(mxh_proc_t *p, const uint64_t *hs, size_t n,
                         const mxh_obj_t *self, mxh_transit_t **out)
{
    *out = NULL;
    if (n > MXH_TRANSIT_MAX)
        return MXH_ERR_OUT_OF_RANGE;
    mxh_transit_t *t = n ? transit_alloc(n) : NULL;
    if (n && !t)
        return MXH_ERR_NO_MEMORY;
    spin_lock(&p->lock);
    int64_t rc = p->dead ? MXH_ERR_BAD_STATE : check_transfer(p, hs, n, self);
    if (rc == MXH_OK && n)
        move_out(p, hs, n, t);
    spin_unlock(&p->lock);
    if (rc != MXH_OK) {
        free(t);
        return rc;
    }
    *out = t;
    return MXH_OK;
}

int64_t mxh_channel_write_take(mxh_proc_t *p, uint64_t ch, const uint64_t *hs,
                               size_t n, size_t nbytes, size_t max_bytes,
                               mxh_transit_t **out)
{
    *out = NULL;
    mxh_transit_t *t = NULL;
    if (n && n <= MXH_TRANSIT_MAX && !(t = transit_alloc(n)))
        return MXH_ERR_NO_MEMORY;
    LOCK_ALIVE(p);
    slot_t *s = lookup(p, ch);
    mxh_obj_t *self = s ? s->obj : NULL;
    int64_t rc = !s ? MXH_ERR_BAD_HANDLE
               : self->type != MXH_OBJ_CHANNEL ? MXH_ERR_WRONG_TYPE
               : !(s->rights & MXH_RIGHT_WRITE) ? MXH_ERR_ACCESS_DENIED
               : (n > MXH_TRANSIT_MAX || nbytes > max_bytes) ? MXH_ERR_OUT_OF_RANGE
               : check_transfer(p, hs, n, self);
    if (rc == MXH_OK) {
        mxh_link_t *l = self->link;
        spin_lock(&l->lock);
        mxh_obj_t *peer = l->ends[1 - self->side];
        if (peer) {
            rc = (int64_t)peer->koid;
            if (n)
                move_out(p, hs, n, t);
        } else {
            rc = MXH_ERR_PEER_CLOSED;
        }
        spin_unlock(&l->lock);
    }
    spin_unlock(&p->lock);
    if (rc < 0) {
        free(t);
        return rc;
    }
    *out = t;
    return rc;
}

size_t mxh_transit_count(const mxh_transit_t *t) { return t ? t->count : 0; }

int64_t mxh_transit_bind(mxh_proc_t *p, mxh_transit_t *t, uint32_t *out)
{
    if (!t)
        return MXH_OK;
    size_t n = t->count;
    LOCK_ALIVE(p);
    int64_t rc = reserve_slots(p, (uint32_t)n);
    if (rc != MXH_OK) {
        spin_unlock(&p->lock);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = slot_bind(p, t->h[i].obj, (uint32_t)t->h[i].rights);
    spin_unlock(&p->lock);
    atomic_fetch_sub(&t->kernel->in_transit, n);
    free(t);
    return (int64_t)n;
}

void mxh_transit_close(mxh_transit_t *t, mxh_notes_t *notes)
{
    notes->koids = NULL;
    notes->count = 0;
    if (!t)
        return;
    mxh_kernel_t *k = t->kernel;
    size_t n = t->count;
    atomic_fetch_sub(&k->in_transit, n);
    quota_give(k, n);
    /* Notes overwrite the bundle from its start: note j is at byte 8j, the
     * entry i it may come from starts at byte 16 + 16i > 8j. */
    mxh_koid_t *out = (mxh_koid_t *)(void *)t;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        mxh_koid_t note = handle_drop(t->h[i].obj);
        if (note)
            out[m++] = note;
    }
    if (m) {
        notes->koids = out;
        notes->count = m;
    } else {
        free(t);
    }
}

size_t mxh_transit_koids(const mxh_transit_t *t, mxh_koid_t *out, size_t cap)
{
    if (!t)
        return 0;
    for (size_t i = 0; i < t->count && i < cap; i++)
        out[i] = t->h[i].obj->koid;
    return t->count;
}

int64_t mxh_handle_move(mxh_proc_t *src, uint64_t h, mxh_proc_t *dst)
{
    mxh_proc_t *first = src < dst ? src : dst, *second = src < dst ? dst : src;
    spin_lock(&first->lock);
    if (second != first)
        spin_lock(&second->lock);
    slot_t *s = src->dead ? NULL : lookup(src, h);
    int64_t rc = !s || !(s->rights & MXH_RIGHT_TRANSFER) ? MXH_ERR_INVALID_ARGS
               : dst->dead ? MXH_ERR_BAD_STATE
               : MXH_OK;
    if (rc == MXH_OK) {
        uint32_t idx = (uint32_t)(s - src->slots);
        rc = reserve_slots(dst, 1);
        if (rc == MXH_OK) {
            s = &src->slots[idx];
            mxh_obj_t *o = s->obj;
            uint32_t r = s->rights;
            slot_unbind(src, s);
            rc = slot_bind(dst, o, r);
        }
    }
    if (second != first)
        spin_unlock(&second->lock);
    spin_unlock(&first->lock);
    return rc;
}

void mxh_notes_release(mxh_notes_t *notes)
{
    free(notes->koids);
    notes->koids = NULL;
    notes->count = 0;
}

/* ---- signals ------------------------------------------------------------------- */

int64_t mxh_object_signal(mxh_proc_t *p, uint64_t h, uint32_t clear,
                          uint32_t set, int peer)
{
    LOCK_ALIVE(p);
    slot_t *s = lookup(p, h);
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
