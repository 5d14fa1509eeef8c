/*
 * kernel.c - a kernel: its counters, object registry, handle quota and
 * the small runtime pieces (allocation, spin locks) the other files share.
 *
 * Handle quota.  `max_handles` must be exact, but a kernel-wide atomic
 * touched by every duplicate and close would make parallel threads fight
 * over one cache line.  So each process pre-charges handles from the
 * kernel in chunks of QUOTA_CHUNK and spends them under its own table lock;
 * `charged` counts live handles plus what processes hold in reserve.  When
 * the kernel runs dry, the caller drops its table lock, takes every
 * process's reserve back (mxh_quota_reclaim) and tries once more, so a
 * call fails with NO_RESOURCES only when the live handles really are at
 * the limit.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocation ------------------------------------------------------------ */

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

void *mxh_xmalloc(size_t n) { return FAULT() ? NULL : malloc(n); }
void *mxh_xcalloc(size_t n, size_t m) { return FAULT() ? NULL : calloc(n, m); }
void *mxh_xrealloc(void *p, size_t n) { return FAULT() ? NULL : realloc(p, n); }

/* ---- spin lock ---------------------------------------------------------------- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void mxh_spin_lock_slow(spin_t *l)
{
    for (;;) {
        for (int n = 0; atomic_load_explicit(l, memory_order_relaxed); n++) {
            if (n < 100)
                cpu_relax();
            else
                sched_yield();
        }
        if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
            return;
    }
}

/* ---- kernel ------------------------------------------------------------------- */

mxh_kernel_t *mxh_kernel_create(uint64_t max_handles)
{
    mxh_kernel_t *k = mxh_xcalloc(1, sizeof(*k));
    if (!k)
        return NULL;
    if (pthread_mutex_init(&k->gc_mutex, NULL) != 0) {
        free(k);
        return NULL;
    }
    atomic_init(&k->next_koid, 1024);
    atomic_init(&k->refs, 1);
    k->max_handles = max_handles ? max_handles : MXH_DEFAULT_MAX_HANDLES;
    return k;
}

void mxh_kernel_unref(mxh_kernel_t *k)
{
    if (atomic_fetch_sub(&k->refs, 1) == 1) {
        pthread_mutex_destroy(&k->gc_mutex);
        free(k);
    }
}

void mxh_kernel_release(mxh_kernel_t *k)
{
    if (!k)
        return;
    /* Killing every process closes every table; what the tables held goes
     * with them, and the rest goes as its last outside reference does. */
    for (;;) {
        spin_lock(&k->procs_lock);
        mxh_proc_t *p = k->procs;
        if (p)
            mxh_object_ref(&p->obj);
        spin_unlock(&k->procs_lock);
        if (!p)
            break;
        mxh_proc_kill(p);   /* unlinks p from the list */
        mxh_object_release(&p->obj);
    }
    /* With no process left nothing is reachable: channels held only
     * through each other's queues would never go otherwise. */
    mxh_kernel_collect(k);
    mxh_kernel_unref(k);
}

static uint64_t cached_quota(mxh_kernel_t *k)
{
    uint64_t cached = 0;
    spin_lock(&k->procs_lock);
    for (mxh_proc_t *p = k->procs; p; p = p->next) {
        spin_lock(&p->lock);
        cached += p->quota;
        spin_unlock(&p->lock);
    }
    spin_unlock(&k->procs_lock);
    return cached;
}

void mxh_kernel_stats(mxh_kernel_t *k, mxh_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t cached = cached_quota(k);
    out->live_handles = atomic_load(&k->charged) - cached;
    out->in_transit_handles = atomic_load(&k->in_transit);
    for (int i = 0; i < 8; i++)
        out->live_objects[i] = atomic_load(&k->live_objects[i]);
    out->destroyed_objects = atomic_load(&k->destroyed);
}

mxh_koid_t mxh_kernel_peek_koid(mxh_kernel_t *k)
{
    return atomic_load(&k->next_koid);
}

/* ---- handle quota ---------------------------------------------------------------- */

static bool charge(mxh_kernel_t *k, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&k->charged, memory_order_relaxed);
    do {
        if (cur + n > k->max_handles || cur + n < cur)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(
        &k->charged, &cur, cur + n, memory_order_relaxed,
        memory_order_relaxed));
    return true;
}

void mxh_charge_return(mxh_kernel_t *k, uint64_t n)
{
    if (n)
        atomic_fetch_sub_explicit(&k->charged, n, memory_order_relaxed);
}

bool mxh_quota_take(mxh_proc_t *p, uint32_t n)
{
    if (p->quota >= n) {
        p->quota -= n;
        return true;
    }
    mxh_kernel_t *k = p->obj.kernel;
    uint32_t need = n - p->quota;
    if (charge(k, (uint64_t)need + QUOTA_CHUNK)) {
        p->quota = QUOTA_CHUNK;
        return true;
    }
    if (charge(k, need)) {
        p->quota = 0;
        return true;
    }
    return false;
}

void mxh_quota_give(mxh_proc_t *p, uint32_t n)
{
    p->quota += n;
    if (p->quota > 2 * QUOTA_CHUNK) {
        mxh_charge_return(p->obj.kernel, p->quota - QUOTA_CHUNK);
        p->quota = QUOTA_CHUNK;
    }
}

void mxh_quota_reclaim(mxh_kernel_t *k)
{
    spin_lock(&k->procs_lock);
    for (mxh_proc_t *p = k->procs; p; p = p->next) {
        spin_lock(&p->lock);
        mxh_charge_return(k, p->quota);
        p->quota = 0;
        spin_unlock(&p->lock);
    }
    spin_unlock(&k->procs_lock);
}

/* ---- registry --------------------------------------------------------------------- */

void mxh_registry_add(mxh_obj_t *o)
{
    mxh_kernel_t *k = o->kernel;
    unsigned s = (unsigned)(o->koid % REGISTRY_SHARDS);
    spin_lock(&k->registry[s].lock);
    o->reg_prev = NULL;
    o->reg_next = k->registry[s].head;
    if (o->reg_next)
        o->reg_next->reg_prev = o;
    k->registry[s].head = o;
    spin_unlock(&k->registry[s].lock);
}

void mxh_registry_remove(mxh_obj_t *o)
{
    mxh_kernel_t *k = o->kernel;
    unsigned s = (unsigned)(o->koid % REGISTRY_SHARDS);
    spin_lock(&k->registry[s].lock);
    if (o->reg_prev)
        o->reg_prev->reg_next = o->reg_next;
    else
        k->registry[s].head = o->reg_next;
    if (o->reg_next)
        o->reg_next->reg_prev = o->reg_prev;
    o->reg_next = o->reg_prev = NULL;
    spin_unlock(&k->registry[s].lock);
}

int64_t mxh_kernel_objects(mxh_kernel_t *k, mxh_object_info_t *out, size_t cap)
{
    size_t n = 0;
    for (unsigned s = 0; s < REGISTRY_SHARDS; s++) {
        spin_lock(&k->registry[s].lock);
        for (mxh_obj_t *o = k->registry[s].head; o; o = o->reg_next) {
            if (n < cap) {
                out[n].koid = o->koid;
                out[n].related_koid = o->related_koid;
                out[n].type = o->type;
                out[n].handle_count = (uint32_t)(atomic_load(&o->counts) >> 32);
                out[n].signals = atomic_load(&o->signals);
                out[n].queued = 0;
                if (o->type == MXH_OBJ_CHANNEL) {
                    /* qlen changes under the object's lock (registry ->
                     * object is the order mxh_kernel_messages uses too). */
                    spin_lock(&o->lock);
                    out[n].queued = ((mxh_chan_t *)o)->qlen;
                    spin_unlock(&o->lock);
                }
            }
            n++;
        }
        spin_unlock(&k->registry[s].lock);
    }
    return (int64_t)n;
}

/* ---- collection handshake ------------------------------------------------------------ */

bool mxh_gc_try_enter(mxh_kernel_t *k)
{
    atomic_fetch_add(&k->ep_movers, 1);
    if (!atomic_load(&k->gc_active))
        return true;
    atomic_fetch_sub(&k->ep_movers, 1);
    return false;
}

void mxh_gc_wait(mxh_kernel_t *k)
{
    while (atomic_load(&k->gc_active))
        sched_yield();
}

void mxh_gc_leave(mxh_kernel_t *k)
{
    atomic_fetch_sub(&k->ep_movers, 1);
}
