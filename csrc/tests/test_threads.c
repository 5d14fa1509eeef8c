/*
 * test_threads.c - the handle-table core under real parallelism.
 *
 * Run under TSan and ASan.  Each scenario checks every return code against
 * the set the contract allows, and ends with exact counters: no live
 * handles, nothing in transit, and every object created destroyed once.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "mxh_test.h"

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define NTHREADS 4

static _Atomic uint64_t created;   /* objects created in the current test */

static void start_all(pthread_t *t, int n, void *(*fn)(void *), void *args,
                      size_t arg_size) {
    for (int i = 0; i < n; i++)
        CHECK(pthread_create(&t[i], NULL, fn, (char *)args + i * arg_size) == 0);
}

static void join_all(pthread_t *t, int n) {
    for (int i = 0; i < n; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
}

static mxh_proc_t *new_proc(mxh_kernel_t *k, uint64_t secret) {
    mxh_proc_t *p = mxh_proc_create(k, secret, 0);
    CHECK(p != NULL);
    atomic_fetch_add(&created, 1);
    return p;
}

static int64_t kill_proc(mxh_proc_t *p) {
    mxh_notes_t n = {0};
    int64_t r = mxh_proc_kill(p, &n);
    mxh_notes_release(&n);
    return r;
}

static int64_t new_event(mxh_proc_t *p) {
    int64_t v = mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS);
    if (v >= 0)
        atomic_fetch_add(&created, 1);
    return v;
}

/* Everything closed and released: only destroyed objects remain. */
static void expect_empty(mxh_kernel_t *k) {
    mxh_stats_t e = {0};
    e.destroyed_objects = atomic_load(&created);
    STATS_EQ(k, &e);
}

/* ---- 1. every thread in its own process --------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t seed;
    int iters;
} own_arg;

static void *own_worker(void *arg) {
    own_arg *a = arg;
    enum { MAXH = 512 };
    uint64_t vals[MAXH];
    mxh_koid_t koids[MAXH];
    int n = 0;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        int op = (int)(r % 8);
        int j = n ? (int)((r >> 16) % (uint64_t)n) : 0;
        if (n == 0 || (op <= 1 && n < MAXH)) {
            int64_t v = OK(new_event(a->p));
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(a->p, (uint64_t)v, &inf));
            vals[n] = (uint64_t)v;
            koids[n++] = inf.koid;
        } else if (op == 2 && n < MAXH) {
            int64_t v = OK(mxh_handle_duplicate(a->p, vals[j],
                                                MXH_RIGHT_SAME_RIGHTS));
            vals[n] = (uint64_t)v;
            koids[n++] = koids[j];
        } else if (op == 3) {
            vals[j] = (uint64_t)OK(mxh_handle_replace(a->p, vals[j],
                                                      MXH_RIGHT_SAME_RIGHTS));
        } else if (op == 4) {
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(a->p, vals[j], &inf));
            CHECK_EQ(inf.koid, koids[j]);
            CHECK_EQ(mxh_handle_basic(a->p, vals[j] + (1ull << 31), &inf),
                     MXH_ERR_BAD_HANDLE);
        } else if (op == 5 && n >= 3) {
            /* Take up to three and bind them straight back. */
            uint64_t hs[3];
            mxh_koid_t ks[3];
            for (int l = 0; l < 3; l++) {
                hs[l] = vals[n - 1 - l];
                ks[l] = koids[n - 1 - l];
            }
            mxh_transit_t *t = NULL;
            OK(mxh_transit_take(a->p, hs, 3, NULL, &t));
            uint32_t out[3];
            OK(mxh_transit_bind(a->p, t, out));
            for (int l = 0; l < 3; l++) {
                vals[n - 1 - l] = out[l];
                koids[n - 1 - l] = ks[l];
            }
        } else if (op == 6 && n >= 2) {
            mxh_notes_t nt;
            uint64_t hs[3] = {vals[n - 1], vals[n - 2], vals[n - 1]};
            CHECK_EQ(mxh_handle_close_many(a->p, hs, 3, &nt),
                     MXH_ERR_BAD_HANDLE);
            CHECK_EQ(nt.count, 0);
            mxh_notes_release(&nt);
            n -= 2;
        } else {
            CHECK_EQ(mxh_handle_close(a->p, vals[j]), 0);
            vals[j] = vals[n - 1];
            koids[j] = koids[n - 1];
            n--;
        }
    }
    CHECK_EQ(mxh_proc_handle_count(a->p), n);
    CHECK_EQ(kill_proc(a->p), n);
    return NULL;
}

static void test_own_processes(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k);
    own_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        args[i] = (own_arg){new_proc(k, 100 + (uint64_t)i), 7 + (uint64_t)i,
                            60000};
    pthread_t t[NTHREADS];
    start_all(t, NTHREADS, own_worker, args, sizeof args[0]);
    join_all(t, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        mxh_object_release(mxh_proc_object(args[i].p));
    expect_empty(k);
    mxh_kernel_release(k);
}

/* ---- 2. one shared process, one shared object --------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h0;
    mxh_koid_t koid;
    uint64_t seed;
    int iters;
    /* Shared slots: value | koid << 32, or 0.  Claimed by exchange. */
    _Atomic uint64_t *slots;
    int nslots;
} shared_arg;

static void *shared_worker(void *arg) {
    shared_arg *a = arg;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        int op = (int)(r & 3);
        int j = (int)((r >> 8) % (uint64_t)a->nslots);
        if (op == 0) {
            /* Hammer the one object through the one handle. */
            int64_t v = OK(mxh_handle_duplicate(a->p, a->h0,
                                                MXH_RIGHT_SAME_RIGHTS));
            if (r & 256)
                v = OK(mxh_handle_replace(a->p, (uint64_t)v, MXH_RIGHT_READ));
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(a->p, (uint64_t)v, &inf));
            CHECK_EQ(inf.koid, a->koid);
            CHECK_EQ(mxh_handle_close(a->p, (uint64_t)v), 0);
        } else if (op == 1) {
            /* Claim a shared slot and close its handle: always ours. */
            uint64_t e = atomic_exchange(&a->slots[j], 0);
            if (e)
                CHECK_EQ(mxh_handle_close(a->p, (uint32_t)e), 0);
        } else if (op == 2) {
            /* Duplicate an unclaimed slot's value: it may be closed under us,
             * but a success must name the slot's object, never another. */
            uint64_t e = atomic_load(&a->slots[j]);
            if (!e)
                continue;
            int64_t v = mxh_handle_duplicate(a->p, (uint32_t)e,
                                             MXH_RIGHT_SAME_RIGHTS);
            if (v == MXH_ERR_BAD_HANDLE)
                continue;
            OK(v);
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(a->p, (uint64_t)v, &inf));
            CHECK_EQ(inf.koid, e >> 32);
            uint64_t want = 0;
            uint64_t mine = (uint64_t)v | (inf.koid << 32);
            int k2 = (int)((r >> 40) % (uint64_t)a->nslots);
            if (!atomic_compare_exchange_strong(&a->slots[k2], &want, mine))
                CHECK_EQ(mxh_handle_close(a->p, (uint64_t)v), 0);
        } else {
            /* Fill an empty slot with a fresh object. */
            uint64_t want = 0;
            if (atomic_load(&a->slots[j]))
                continue;
            int64_t v = OK(new_event(a->p));
            mxh_koid_t koid = (mxh_koid_t)OK(mxh_handle_get(a->p, (uint64_t)v,
                                                            0, 0, NULL));
            CHECK(koid < (1ull << 32));
            if (!atomic_compare_exchange_strong(&a->slots[j], &want,
                                                (uint64_t)v | (koid << 32)))
                CHECK_EQ(mxh_handle_close(a->p, (uint64_t)v), 0);
        }
    }
    return NULL;
}

/* Rounds: K handles to one managed object, closed by all threads at once;
 * exactly one close reports the koid. */
typedef struct {
    mxh_proc_t *p;
    uint64_t *vals;   /* K values for this round */
    int per;          /* values per thread */
    int index;
    pthread_barrier_t *start, *done;
    _Atomic int *notes;
    mxh_koid_t *koid;
    int rounds;
} managed_arg;

static void *managed_worker(void *arg) {
    managed_arg *a = arg;
    for (int r = 0; r < a->rounds; r++) {
        pthread_barrier_wait(a->start);
        for (int i = 0; i < a->per; i++) {
            int64_t rc = OK(mxh_handle_close(a->p,
                                             a->vals[a->index * a->per + i]));
            if (rc) {
                CHECK_EQ(rc, *a->koid);
                atomic_fetch_add(a->notes, 1);
            }
        }
        pthread_barrier_wait(a->done);
    }
    return NULL;
}

static void test_shared_process(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k);
    mxh_proc_t *p = new_proc(k, 555);
    uint64_t h0 = (uint64_t)OK(new_event(p));
    mxh_koid_t koid = (mxh_koid_t)OK(mxh_handle_get(p, h0, 0, 0, NULL));
    enum { NSLOTS = 64 };
    _Atomic uint64_t slots[NSLOTS];
    for (int i = 0; i < NSLOTS; i++)
        atomic_init(&slots[i], 0);
    shared_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        args[i] = (shared_arg){p, h0, koid, 31 + (uint64_t)i, 60000, slots,
                               NSLOTS};
    pthread_t t[NTHREADS];
    start_all(t, NTHREADS, shared_worker, args, sizeof args[0]);
    join_all(t, NTHREADS);
    int left = 0;
    for (int i = 0; i < NSLOTS; i++) {
        uint64_t e = atomic_load(&slots[i]);
        if (e) {
            CHECK_EQ(mxh_handle_close(p, (uint32_t)e), 0);
            left++;
        }
    }
    (void)left;
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, h0, 0, 0, &o));
    CHECK_EQ(mxh_object_handle_count(o), 1);
    mxh_object_release(o);
    CHECK_EQ(mxh_proc_handle_count(p), 1);

    /* Managed rounds. */
    enum { PER = 32, ROUNDS = 200 };
    uint64_t vals[NTHREADS * PER];
    mxh_koid_t mkoid = 0;
    _Atomic int notes = 0;
    pthread_barrier_t b1, b2;
    CHECK(pthread_barrier_init(&b1, NULL, NTHREADS + 1) == 0);
    CHECK(pthread_barrier_init(&b2, NULL, NTHREADS + 1) == 0);
    managed_arg margs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        margs[i] = (managed_arg){p, vals, PER, i, &b1, &b2, &notes, &mkoid,
                                 ROUNDS};
    start_all(t, NTHREADS, managed_worker, margs, sizeof margs[0]);
    for (int r = 0; r < ROUNDS; r++) {
        mxh_obj_t *m = mxh_object_create(k, r & 1 ? MXH_OBJ_PORT : MXH_OBJ_JOB,
                                         MXH_OBJ_F_MANAGED, 0);
        CHECK(m);
        atomic_fetch_add(&created, 1);
        mkoid = mxh_object_koid(m);
        for (int i = 0; i < NTHREADS * PER; i++)
            vals[i] = (uint64_t)OK(mxh_handle_create(p, m, EV_RIGHTS));
        mxh_object_release(m);
        atomic_store(&notes, 0);
        pthread_barrier_wait(&b1);
        pthread_barrier_wait(&b2);
        CHECK_EQ(atomic_load(&notes), 1);
    }
    join_all(t, NTHREADS);
    pthread_barrier_destroy(&b1);
    pthread_barrier_destroy(&b2);

    CHECK_EQ(mxh_proc_handle_count(p), 1);
    CHECK_EQ(kill_proc(p), 1);
    mxh_object_release(mxh_proc_object(p));
    expect_empty(k);
    mxh_kernel_release(k);
}

/* ---- 3. transit pipeline: take / bind / close in three threads ----------- */

#define QCAP 64
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *items[QCAP];
    int head, len;
    int closed;
} queue;

static void q_init(queue *q) {
    memset(q, 0, sizeof *q);
    CHECK(pthread_mutex_init(&q->mu, NULL) == 0);
    CHECK(pthread_cond_init(&q->cv, NULL) == 0);
}

static void q_destroy(queue *q) {
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

static void q_push(queue *q, void *item) {
    pthread_mutex_lock(&q->mu);
    while (q->len == QCAP)
        pthread_cond_wait(&q->cv, &q->mu);
    q->items[(q->head + q->len++) % QCAP] = item;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void q_close(queue *q) {
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* NULL once the queue is closed and empty. */
static void *q_pop(queue *q) {
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    void *item = NULL;
    if (q->len) {
        item = q->items[q->head];
        q->head = (q->head + 1) % QCAP;
        q->len--;
        pthread_cond_broadcast(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return item;
}

enum { NVICTIMS = 16 };

typedef struct {
    mxh_kernel_t *k;
    mxh_proc_t *p1, *p2;
    queue bundles;   /* mxh_transit_t * from the producer */
    queue values;    /* uint32_t[4] arrays bound into p2 */
    int bundles_to_make;
    _Atomic uint64_t victims[NVICTIMS];   /* p1 values the sniper may close */
    _Atomic int producing;
    _Atomic uint64_t sniped, taken_whole;
} pipe_state;

static void *producer(void *arg) {
    pipe_state *st = arg;
    for (int i = 0; i < st->bundles_to_make; i++) {
        uint64_t hs[4];
        for (int l = 0; l < 4; l++)
            hs[l] = (uint64_t)OK(new_event(st->p1));
        /* Offer the last one to the sniper. */
        uint64_t prev = atomic_exchange(&st->victims[i % NVICTIMS], hs[3]);
        (void)prev;   /* a value the sniper did not get to: in transit now */
        mxh_transit_t *t = NULL;
        int64_t rc = mxh_transit_take(st->p1, hs, 4, NULL, &t);
        size_t n = 4;
        if (rc == MXH_ERR_BAD_HANDLE) {
            /* The sniper closed hs[3]; the other three are untouched. */
            atomic_fetch_add(&st->sniped, 1);
            mxh_handle_info_t inf;
            CHECK_EQ(mxh_handle_basic(st->p1, hs[3], &inf), MXH_ERR_BAD_HANDLE);
            for (int l = 0; l < 3; l++)
                OK(mxh_handle_basic(st->p1, hs[l], &inf));
            OK(mxh_transit_take(st->p1, hs, 3, NULL, &t));
            n = 3;
        } else {
            OK(rc);
            atomic_fetch_add(&st->taken_whole, 1);
        }
        CHECK_EQ(mxh_transit_count(t), n);
        q_push(&st->bundles, t);
    }
    q_close(&st->bundles);
    atomic_store(&st->producing, 0);
    return NULL;
}

static void *sniper(void *arg) {
    pipe_state *st = arg;
    uint64_t s = 77;
    while (atomic_load(&st->producing)) {
        int j = (int)(mxt_rand(&s) % NVICTIMS);
        uint64_t v = atomic_exchange(&st->victims[j], 0);
        if (!v)
            continue;
        int64_t rc = mxh_handle_close(st->p1, v);
        CHECK(rc == 0 || rc == MXH_ERR_BAD_HANDLE);
    }
    return NULL;
}

static void *binder(void *arg) {
    pipe_state *st = arg;
    mxh_transit_t *t;
    while ((t = q_pop(&st->bundles)) != NULL) {
        size_t n = mxh_transit_count(t);
        uint32_t *out = calloc(5, sizeof *out);
        CHECK(out);
        OK(mxh_transit_bind(st->p2, t, out));
        out[4] = (uint32_t)n;
        q_push(&st->values, out);
    }
    q_close(&st->values);
    return NULL;
}

static void *closer(void *arg) {
    pipe_state *st = arg;
    uint32_t *out;
    while ((out = q_pop(&st->values)) != NULL) {
        for (uint32_t l = 0; l < out[4]; l++) {
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(st->p2, out[l], &inf));
            CHECK_EQ(inf.type, MXH_OBJ_EVENT);
            CHECK_EQ(mxh_handle_close(st->p2, out[l]), 0);
        }
        free(out);
    }
    return NULL;
}

static void *churner(void *arg) {
    pipe_state *st = arg;
    uint64_t s = 4242;
    uint64_t h1 = (uint64_t)OK(new_event(st->p1));
    uint64_t h2 = (uint64_t)OK(new_event(st->p2));
    while (atomic_load(&st->producing)) {
        mxh_proc_t *p = mxt_rand(&s) & 1 ? st->p1 : st->p2;
        uint64_t h = p == st->p1 ? h1 : h2;
        uint64_t d = (uint64_t)OK(mxh_handle_duplicate(p, h, MXH_RIGHT_READ));
        CHECK_EQ(mxh_handle_close(p, d), 0);
        mxh_handle_info_t tab[8];
        OK(mxh_proc_handles(p, tab, 8));
        mxh_stats_t sts;
        mxh_kernel_stats(st->k, &sts);   /* racing readers: must not trip */
    }
    CHECK_EQ(mxh_handle_close(st->p1, h1), 0);
    CHECK_EQ(mxh_handle_close(st->p2, h2), 0);
    return NULL;
}

static void test_pipeline(void) {
    atomic_store(&created, 0);
    static pipe_state st;
    memset(&st, 0, sizeof st);
    st.k = mxh_kernel_create(0);
    CHECK(st.k);
    st.p1 = new_proc(st.k, 1001);
    st.p2 = new_proc(st.k, 1002);
    st.bundles_to_make = 20000;
    atomic_store(&st.producing, 1);
    q_init(&st.bundles);
    q_init(&st.values);
    pthread_t t[5];
    CHECK(pthread_create(&t[0], NULL, producer, &st) == 0);
    CHECK(pthread_create(&t[1], NULL, binder, &st) == 0);
    CHECK(pthread_create(&t[2], NULL, closer, &st) == 0);
    CHECK(pthread_create(&t[3], NULL, sniper, &st) == 0);
    CHECK(pthread_create(&t[4], NULL, churner, &st) == 0);
    join_all(t, 5);
    /* Values the sniper never claimed were moved away: stale in p1. */
    for (int i = 0; i < NVICTIMS; i++) {
        uint64_t v = atomic_load(&st.victims[i]);
        if (v)
            CHECK_EQ(mxh_handle_close(st.p1, v), MXH_ERR_BAD_HANDLE);
    }
    CHECK_EQ(mxh_proc_handle_count(st.p1), 0);
    CHECK_EQ(mxh_proc_handle_count(st.p2), 0);
    printf("  pipeline: %" PRIu64 " whole bundles, %" PRIu64 " sniped\n",
           atomic_load(&st.taken_whole), atomic_load(&st.sniped));
    CHECK_EQ(kill_proc(st.p1), 0);
    CHECK_EQ(kill_proc(st.p2), 0);
    mxh_object_release(mxh_proc_object(st.p1));
    mxh_object_release(mxh_proc_object(st.p2));
    q_destroy(&st.bundles);
    q_destroy(&st.values);
    expect_empty(st.k);
    mxh_kernel_release(st.k);
}

/* ---- 4. mxh_proc_kill racing other threads' calls on the process -------- */

typedef struct {
    mxh_kernel_t *k;
    mxh_proc_t *victim, *other;
    uint64_t *base;      /* victim values to duplicate from (read-only) */
    int nbase;
    _Atomic int go;
    _Atomic int kills_ok, kills_refused;
    _Atomic int64_t killed_handles;
    _Atomic uint64_t ops_before_kill;   /* successes on the victim */
} kill_state;

static int dead_or(int64_t rc, int64_t ok_min) {
    CHECK(rc == MXH_ERR_BAD_STATE || rc >= ok_min);
    return rc == MXH_ERR_BAD_STATE;
}

/* Dup / replace / close / basic / signal on the victim's handles. */
static void *kill_w_dup(void *arg) {
    kill_state *st = arg;
    uint64_t s = 11;
    while (!atomic_load(&st->go))
        ;
    int dead_seen = 0;
    while (dead_seen < 50) {
        uint64_t b = st->base[mxt_rand(&s) % (uint64_t)st->nbase];
        int64_t v = mxh_handle_duplicate(st->victim, b, MXH_RIGHT_SAME_RIGHTS);
        if (dead_or(v, 1)) {
            dead_seen++;
            continue;
        }
        atomic_fetch_add(&st->ops_before_kill, 1);
        v = mxh_handle_replace(st->victim, (uint64_t)v, MXH_RIGHT_READ |
                               MXH_RIGHT_WRITE | MXH_RIGHT_TRANSFER);
        if (dead_or(v, 1))
            continue;
        mxh_handle_info_t inf;
        dead_or(mxh_handle_basic(st->victim, (uint64_t)v, &inf), 0);
        dead_or(mxh_object_signal(st->victim, (uint64_t)v, 0, 1u << 24, 0), 0);
        if (mxt_rand(&s) & 1) {
            dead_or(mxh_handle_close(st->victim, (uint64_t)v), 0);
        } else {
            mxh_notes_t n;
            uint64_t hs[1] = {(uint64_t)v};
            int64_t rc = mxh_handle_close_many(st->victim, hs, 1, &n);
            mxh_notes_release(&n);
            dead_or(rc, 0);
        }
    }
    return NULL;
}

/* Creates in the victim, takes from it, binds the bundles into `other`. */
static void *kill_w_take(void *arg) {
    kill_state *st = arg;
    while (!atomic_load(&st->go))
        ;
    int dead_seen = 0;
    while (dead_seen < 50) {
        uint64_t hs[3];
        int n = 0;
        for (; n < 3; n++) {
            int64_t v = mxh_object_create_handle(st->victim, MXH_OBJ_PORT,
                                                 EV_RIGHTS);
            if (dead_or(v, 1))
                break;
            atomic_fetch_add(&created, 1);
            hs[n] = (uint64_t)v;
        }
        if (n < 3) {
            dead_seen++;
            continue;   /* killed: the kill closes what we made */
        }
        mxh_transit_t *t = NULL;
        int64_t rc = mxh_transit_take(st->victim, hs, 3, NULL, &t);
        if (dead_or(rc, 0))
            continue;
        uint32_t out[3];
        OK(mxh_transit_bind(st->other, t, out));
        for (int l = 0; l < 3; l++)
            CHECK_EQ(mxh_handle_close(st->other, out[l]), 0);
    }
    return NULL;
}

/* Pushes handles into the victim from `other`: moves and bundle binds. */
static void *kill_w_push(void *arg) {
    kill_state *st = arg;
    while (!atomic_load(&st->go))
        ;
    int dead_seen = 0;
    while (dead_seen < 50) {
        int64_t v = OK(new_event(st->other));
        int64_t m = mxh_handle_move(st->other, (uint64_t)v, st->victim);
        if (!dead_or(m, 1)) {
            atomic_fetch_add(&st->ops_before_kill, 1);
        } else {
            dead_seen++;
            CHECK_EQ(mxh_handle_close(st->other, (uint64_t)v), 0);
        }
        int64_t w = OK(new_event(st->other));
        uint64_t hw = (uint64_t)w;
        mxh_transit_t *t = NULL;
        OK(mxh_transit_take(st->other, &hw, 1, NULL, &t));
        uint32_t out[1];
        int64_t rc = mxh_transit_bind(st->victim, t, out);
        if (dead_or(rc, 0)) {
            CHECK_EQ(mxh_transit_count(t), 1);   /* untouched */
            mxh_notes_t n;
            mxh_transit_close(t, &n);
            CHECK_EQ(n.count, 0);
            mxh_notes_release(&n);
        }
    }
    return NULL;
}

static void *kill_w_kill(void *arg) {
    kill_state *st = arg;
    while (!atomic_load(&st->go))
        ;
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
    mxh_notes_t n;
    int64_t r = mxh_proc_kill(st->victim, &n);
    mxh_notes_release(&n);
    if (r == MXH_ERR_BAD_STATE) {
        atomic_fetch_add(&st->kills_refused, 1);
    } else {
        OK(r);
        atomic_fetch_add(&st->kills_ok, 1);
        atomic_fetch_add(&st->killed_handles, r);
    }
    return NULL;
}

static void test_kill_race(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k);
    mxh_proc_t *other = new_proc(k, 2);
    enum { ROUNDS = 30, NBASE = 200 };
    uint64_t raced = 0;
    for (int r = 0; r < ROUNDS; r++) {
        static kill_state st;
        memset(&st, 0, sizeof st);
        st.k = k;
        st.other = other;
        st.victim = new_proc(k, 1000 + (uint64_t)r);
        uint64_t base[NBASE];
        for (int i = 0; i < NBASE; i++)
            base[i] = i < 20 ? (uint64_t)OK(new_event(st.victim))
                             : (uint64_t)OK(mxh_handle_duplicate(
                                   st.victim, base[i % 20],
                                   MXH_RIGHT_SAME_RIGHTS));
        st.base = base;
        st.nbase = NBASE;
        pthread_t t[5];
        CHECK(pthread_create(&t[0], NULL, kill_w_dup, &st) == 0);
        CHECK(pthread_create(&t[1], NULL, kill_w_take, &st) == 0);
        CHECK(pthread_create(&t[2], NULL, kill_w_push, &st) == 0);
        CHECK(pthread_create(&t[3], NULL, kill_w_kill, &st) == 0);
        CHECK(pthread_create(&t[4], NULL, kill_w_kill, &st) == 0);
        atomic_store(&st.go, 1);
        join_all(t, 5);
        raced += atomic_load(&st.ops_before_kill);
        CHECK_EQ(atomic_load(&st.kills_ok), 1);
        CHECK_EQ(atomic_load(&st.kills_refused), 1);
        CHECK(atomic_load(&st.killed_handles) >= NBASE);
        CHECK_EQ(mxh_proc_is_dead(st.victim), 1);
        CHECK_EQ(mxh_proc_handle_count(st.victim), 0);
        CHECK_EQ(kill_proc(st.victim), MXH_ERR_BAD_STATE);
        mxh_object_release(mxh_proc_object(st.victim));
        /* Only `other`'s handles are left, nothing in transit. */
        mxh_stats_t s;
        mxh_kernel_stats(k, &s);
        CHECK_EQ(s.live_handles, mxh_proc_handle_count(other));
        CHECK_EQ(s.in_transit_handles, 0);
        CHECK_EQ(s.live_objects[MXH_STATS_PROCESS], 1);
    }
    printf("  kill_race: %" PRIu64 " calls on victims succeeded before"
           " their kills\n", raced);
    CHECK(raced > 0);
    CHECK_EQ(mxh_proc_handle_count(other), 0);
    CHECK_EQ(kill_proc(other), 0);
    mxh_object_release(mxh_proc_object(other));
    expect_empty(k);
    mxh_kernel_release(k);
}

int main(void) {
    struct { const char *name; void (*fn)(void); } tests[] = {
        {"own_processes", test_own_processes},
        {"shared_process", test_shared_process},
        {"pipeline", test_pipeline},
        {"kill_race", test_kill_race},
    };
    size_t n = sizeof tests / sizeof tests[0];
    for (size_t i = 0; i < n; i++) {
        printf("test_threads: %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
    }
    printf("test_threads: %zu tests passed\n", n);
    return 0;
}
