/*
 * internal.h - structures and helpers shared by the core's source files.
 * Not installed; callers use mxhandles.h.
 */
#ifndef MXH_INTERNAL_H
#define MXH_INTERNAL_H

#include "mxhandles.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Everything declared from here on is the library's own: hidden from the
 * shared library's dynamic symbol table, so libmxhandles.so exports exactly
 * the functions of mxhandles.h (declared above, with default visibility).
 * Inside one link (the static library, the cffi module, the tests) the
 * names still resolve as usual, which is why they all carry the mxh_
 * prefix too. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#define MXH_INTERNAL_VISIBILITY_PUSHED 1
#endif

#define IDX_BITS   24u
#define IDX_MASK   ((1u << IDX_BITS) - 1u)
#define GEN_MASK   0x7fu
#define VALUE_MASK 0x7fffffffu
#define NIL        0xffffffffu
#define ONE_HANDLE (1ull << 32)
#define MARK_BIT   (1u << 31)   /* transient mark in a live slot's rights */
#define QUOTA_CHUNK 64u         /* handles a process pre-charges at once */
#define REGISTRY_SHARDS 8u

/* ---- allocation (fault-injectable) ------------------------------------ */
void *mxh_xmalloc(size_t n);
void *mxh_xcalloc(size_t n, size_t m);
void *mxh_xrealloc(void *p, size_t n);

/* ---- spin lock -------------------------------------------------------------- */
typedef _Atomic int spin_t;
void mxh_spin_lock_slow(spin_t *l);

static inline void spin_lock(spin_t *l)
{
    if (atomic_exchange_explicit(l, 1, memory_order_acquire))
        mxh_spin_lock_slow(l);
}

static inline void spin_unlock(spin_t *l)
{
    atomic_store_explicit(l, 0, memory_order_release);
}

/* ---- structures ------------------------------------------------------------- */

typedef struct mxh_waiter mxh_waiter_t;
typedef struct mxh_port mxh_port_t;
typedef struct mxh_job mxh_job_t;
typedef struct mxh_thread mxh_thread_t;

#define TASK_NEW     0
#define TASK_RUNNING 1
#define TASK_DEAD    2

struct mxh_kernel {
    _Atomic uint64_t next_koid;
    _Atomic uint64_t charged;       /* live handles + processes' caches */
    _Atomic uint64_t in_transit;
    _Atomic uint64_t live_objects[8];
    _Atomic uint64_t destroyed;
    _Atomic uint64_t refs;          /* creator + every object in memory */
    uint64_t max_handles;
    spin_t procs_lock;
    mxh_proc_t *procs;              /* live (not killed) processes */
    struct {
        spin_t lock;
        mxh_obj_t *head;
    } registry[REGISTRY_SHARDS];    /* every live object, by koid % shards */
    /* Collection: moves of channel endpoints in and out of transit count
     * themselves in ep_movers and stand aside while gc_active is set. */
    _Atomic int gc_active;
    _Atomic int ep_movers;
    pthread_mutex_t gc_mutex;
    /* Every port's queue and signals, and every async wait (wait.c). */
    spin_t port_lock;
};

/* Shared by the two ends of a pair while either is in memory. */
typedef struct mxh_link {
    spin_t lock;
    _Atomic int refs;
    mxh_obj_t *ends[2];             /* both NULL once detached */
} mxh_link_t;

struct mxh_obj {
    _Atomic uint64_t counts;        /* handles << 32 | references */
    _Atomic uint32_t signals;       /* changed only under `lock` */
    _Atomic uint32_t mem;           /* alive (1) + pins */
    spin_t lock;                    /* waiters, queue, signal changes */
    _Atomic uint32_t nwaiters;
    _Atomic uint32_t in_transit;    /* handles of this object in transit */
    uint16_t type;
    uint8_t side;                   /* index in link->ends */
    _Atomic uint8_t destroyed;
    uint32_t gc_refs;               /* collection scratch (gc_mutex) */
    _Atomic uint8_t gc_garbage;     /* found unreachable by a collection */
    mxh_koid_t koid;
    mxh_koid_t related_koid;
    mxh_kernel_t *kernel;
    mxh_link_t *link;               /* peered objects only */
    mxh_waiter_t *waiters;          /* under lock */
    mxh_obj_t *reg_next, *reg_prev; /* registry shard list */
};

typedef struct slot {
    mxh_obj_t *obj;                 /* NULL when free */
    uint32_t rights;                /* next free index when free */
    uint32_t gen;
} slot_t;

struct mxh_proc {
    mxh_obj_t obj;                  /* must be first */
    spin_t lock;
    bool dead;
    slot_t *slots;
    uint32_t cap;                   /* slots allocated */
    uint32_t used;                  /* slots ever handed out (high water) */
    uint32_t live;                  /* live handles */
    uint32_t quota;                 /* pre-charged handles not yet used */
    uint32_t fq_head, fq_tail, fq_len;
    uint32_t k0, k1, m1, m2, m1inv, m2inv;
    mxh_proc_t *prev, *next;        /* kernel's list, while alive */
    /* Task state (task.c), under `lock`: */
    _Atomic uint8_t state;          /* TASK_NEW, _RUNNING, _DEAD */
    bool started;                   /* ever started */
    bool exit_called;
    int64_t retcode;
    uint32_t live_threads;          /* threads not dead */
    mxh_thread_t *threads;          /* every thread object, dead or not */
    mxh_job_t *job;                 /* referenced; NULL for none */
    mxh_proc_t *job_next, *job_prev;    /* job->procs, under job's lock */
    mxh_obj_t *drop_next;           /* task.c's deferred parent drops */
    /* A killed table the reaper closes (mxh_reap_table), pinned till then. */
    slot_t *reap_slots;
    uint32_t reap_used;
    mxh_proc_t *reap_next;
};

/* A message: bytes and handles in transit together. */
struct mxh_transit {
    mxh_transit_t *next;
    mxh_kernel_t *kernel;
    uint32_t count;                 /* handles */
    uint32_t nbytes;
    uint32_t txid;
    uint32_t endpoints;             /* how many handles are channel ends */
    struct { mxh_obj_t *obj; uint64_t rights; } h[];
    /* followed by nbytes of data */
};

typedef struct mxh_chan {
    mxh_obj_t obj;                  /* must be first */
    mxh_transit_t *head, *tail;     /* the queue, under obj.lock */
    uint32_t qlen;
} mxh_chan_t;

#define WAIT_CALL    1
#define WAIT_SIGNALS 2
#define WAIT_ASYNC   3

/* What a blocked thread sleeps on: on its own stack. */
typedef struct mxh_sleeper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} mxh_sleeper_t;

/* A packet in a port's queue.  Signal packets live inside their async
 * wait (owner); user packets are allocated one by one. */
typedef struct mxh_pkt {
    struct mxh_pkt *next;
    mxh_waiter_t *owner;
    uint64_t key;
    uint32_t type;
    int32_t status;
    uint32_t trigger;
    uint32_t observed;
    uint64_t count;
    uint8_t user[MXH_PORT_PAYLOAD];
} mxh_pkt_t;

struct mxh_port {
    mxh_obj_t obj;                  /* must be first */
    mxh_pkt_t *head, *tail;         /* under kernel->port_lock */
    uint32_t user_count;
    bool dead;
    mxh_port_t *edge_next;          /* readable-edge work list */
};

struct mxh_job {
    mxh_obj_t obj;                  /* must be first */
    mxh_job_t *parent;              /* referenced; NULL for the root */
    mxh_job_t *children;            /* under obj.lock */
    mxh_job_t *sib_next, *sib_prev; /* parent->children, under its lock */
    mxh_proc_t *procs;              /* not referenced; under obj.lock */
    bool killed;                    /* under obj.lock */
    mxh_obj_t *drop_next;           /* deferred parent drops */
};

struct mxh_thread {
    mxh_obj_t obj;                  /* must be first */
    mxh_proc_t *proc;               /* referenced */
    mxh_thread_t *next, *prev;      /* proc->threads, under proc->lock */
    uint8_t state;                  /* under proc->lock */
    mxh_obj_t *drop_next;           /* deferred parent drops */
};

/* Something waiting on an object: a blocked thread (WAIT_CALL,
 * WAIT_SIGNALS; on its stack) or an async wait (WAIT_ASYNC; on the heap).
 * Linked on obj->waiters under the object's lock (mxh_obj_lock). */
struct mxh_waiter {
    mxh_waiter_t *next, *prev;      /* on obj->waiters */
    mxh_obj_t *obj;                 /* linked on; NULL once unlinked */
    mxh_obj_t *target;              /* the object, linked or not */
    mxh_proc_t *proc;               /* whose handle it waits through */
    uint32_t handle;
    uint32_t kind;
    uint32_t txid;                  /* WAIT_CALL */
    uint32_t want;                  /* WAIT_SIGNALS, WAIT_ASYNC */
    mxh_transit_t *reply;           /* WAIT_CALL result */
    int32_t status;
    uint32_t observed;
    mxh_sleeper_t *sleeper;         /* blocked threads */
    /* WAIT_ASYNC, under port_lock: */
    mxh_port_t *port;               /* pinned, not referenced */
    uint64_t key;
    bool repeating, queued, detached, notify_cancel;
    mxh_pkt_t pkt;
};

/* ---- kernel.c ---------------------------------------------------------------- */
void mxh_kernel_unref(mxh_kernel_t *k);
bool mxh_quota_take(mxh_proc_t *p, uint32_t n);   /* table lock held */
void mxh_quota_give(mxh_proc_t *p, uint32_t n);   /* table lock held */
void mxh_quota_reclaim(mxh_kernel_t *k);          /* no table lock held */
void mxh_charge_return(mxh_kernel_t *k, uint64_t n);
void mxh_registry_add(mxh_obj_t *o);
void mxh_registry_remove(mxh_obj_t *o);
/* A call about to move channel endpoints in or out of transit enters
 * (false: a collection runs; drop every lock, mxh_gc_wait, start over). */
bool mxh_gc_try_enter(mxh_kernel_t *k);
void mxh_gc_wait(mxh_kernel_t *k);
void mxh_gc_leave(mxh_kernel_t *k);

/* ---- object.c ------------------------------------------------------------------ */
mxh_obj_t *mxh_obj_alloc(mxh_kernel_t *k, size_t size, uint32_t type,
                         mxh_koid_t related);
void mxh_obj_publish(mxh_obj_t *o);
/* As mxh_obj_publish with a koid taken from next_koid by the caller (a
 * pair takes two at once and sets related_koid before either is seen). */
void mxh_obj_publish_as(mxh_obj_t *o, mxh_koid_t koid);
void mxh_obj_discard(mxh_obj_t *o);   /* never published */
void mxh_handle_drop(mxh_obj_t *o);
int mxh_stats_index(uint32_t type);
bool mxh_valid_type(uint32_t type);
uint32_t mxh_signal_locked(mxh_obj_t *o, uint32_t clear, uint32_t set);
void mxh_cancel_waiters(mxh_obj_t *o, mxh_proc_t *p, uint32_t handle,
                        bool any_handle);
void mxh_waiter_finish(mxh_waiter_t *w, int32_t status);
void mxh_waiter_unlink(mxh_waiter_t *w);

/* ---- wait.c ------------------------------------------------------------------------ */
uint64_t mxh_now(void);
void mxh_sleeper_init(mxh_sleeper_t *s);
void mxh_sleeper_fini(mxh_sleeper_t *s);
void mxh_sleeper_wake(mxh_sleeper_t *s);
bool mxh_sleeper_sleep(mxh_sleeper_t *s, uint64_t deadline);
/* The lock guarding o's signals and waiters: o->lock, or for a port the
 * kernel's port_lock. */
void mxh_obj_lock(mxh_obj_t *o);
void mxh_obj_unlock(mxh_obj_t *o);
void mxh_waiter_link(mxh_obj_t *o, mxh_waiter_t *w);
void mxh_async_fire(mxh_waiter_t *w, uint32_t observed);  /* port_lock held */
void mxh_async_end(mxh_waiter_t *w);                      /* port_lock held */
void mxh_port_destroy(mxh_port_t *port);

/* ---- table.c --------------------------------------------------------------------- */
slot_t *mxh_lookup(mxh_proc_t *p, uint64_t h);
int64_t mxh_reserve_slots(mxh_proc_t *p, uint32_t n);
uint32_t mxh_slot_bind(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights);
void mxh_slot_unbind(mxh_proc_t *p, slot_t *s);
/* A process object not yet published nor on the kernel's list
 * (mxh_proc_create is alloc, publish, list_add). */
mxh_proc_t *mxh_proc_alloc(mxh_kernel_t *k, uint64_t secret,
                           mxh_koid_t job_koid);
void mxh_proc_list_add(mxh_proc_t *p);
void mxh_proc_list_remove(mxh_proc_t *p);   /* no-op if not on it */
/* Closes a dead process's detached table and frees it. */
void mxh_table_close(mxh_proc_t *p, slot_t *slots, uint32_t used);
static inline uint32_t slot_index(const mxh_proc_t *p, const slot_t *s)
{
    return (uint32_t)(s - p->slots);
}

/* ---- task.c ------------------------------------------------------------------------ */
void mxh_task_zero_handles(mxh_obj_t *o);
void mxh_task_destroy(mxh_obj_t *o);
int64_t mxh_proc_kill_code(mxh_proc_t *p, int64_t code);
/* table.c: one handle's share of the kernel's limit, taken before an
 * object is made so that NO_RESOURCES leaves no trace (charge_one), and
 * given back if the handle is never made (uncharge_one). */
int64_t mxh_charge_one(mxh_proc_t *p);
void mxh_uncharge_one(mxh_proc_t *p);

/* ---- channel.c ------------------------------------------------------------------- */
void mxh_reap(mxh_transit_t *head, mxh_transit_t *tail);
/* mxh_table_close(p, slots, used) in a reaper frame: now (draining what it
 * sets off) or, inside a cascade, later in the active frame. */
void mxh_reap_table(mxh_proc_t *p, slot_t *slots, uint32_t used);
void mxh_chan_destroy_queue(mxh_chan_t *c);
void mxh_chan_peer_gone(mxh_obj_t *o);
void mxh_count_destroyed(mxh_obj_t *o);

#ifdef MXH_INTERNAL_VISIBILITY_PUSHED
#pragma GCC visibility pop
#endif

#endif /* MXH_INTERNAL_H */
