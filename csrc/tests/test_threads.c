/*
 * test_threads.c - the handle-table core under real parallelism.
 *
 * Run under TSan and ASan.  Each scenario checks every return code against
 * the set the contract allows, and ends with exact counters: no live
 * handles, nothing in transit, and every object created destroyed once.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
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
    return mxh_proc_kill(p);
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
            uint64_t hs[3] = {vals[n - 1], vals[n - 2], vals[n - 1]};
            CHECK_EQ(mxh_handle_close_many(a->p, hs, 3), MXH_ERR_BAD_HANDLE);
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

/* Rounds: K handles to one object (a port, a channel end or an event pair
 * end), closed by all threads at once: its zero-handles action runs once
 * (the peer is told once) and it is destroyed exactly once. */
typedef struct {
    mxh_proc_t *p;
    uint64_t *vals;   /* K values for this round */
    int per;          /* values per thread */
    int index;
    pthread_barrier_t *start, *done;
    int rounds;
} last_arg;

static void *last_worker(void *arg) {
    last_arg *a = arg;
    for (int r = 0; r < a->rounds; r++) {
        pthread_barrier_wait(a->start);
        for (int i = 0; i < a->per; i++)
            CHECK_EQ(mxh_handle_close(a->p, a->vals[a->index * a->per + i]),
                     MXH_OK);
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

    /* Last-handle rounds. */
    enum { PER = 32, ROUNDS = 210 };
    uint64_t vals[NTHREADS * PER];
    pthread_barrier_t b1, b2;
    CHECK(pthread_barrier_init(&b1, NULL, NTHREADS + 1) == 0);
    CHECK(pthread_barrier_init(&b2, NULL, NTHREADS + 1) == 0);
    last_arg largs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        largs[i] = (last_arg){p, vals, PER, i, &b1, &b2, ROUNDS};
    start_all(t, NTHREADS, last_worker, largs, sizeof largs[0]);
    for (int r = 0; r < ROUNDS; r++) {
        mxh_obj_t *m = NULL;
        uint32_t pv[2] = {0, 0};
        int first = 0;
        uint32_t peer_closed = 0;
        if (r % 3 == 0) {
            m = mxh_object_create(k, r & 1 ? MXH_OBJ_PORT : MXH_OBJ_JOB, 0);
            CHECK(m);
            atomic_fetch_add(&created, 1);
        } else {
            uint32_t type = r % 3 == 1 ? MXH_OBJ_CHANNEL : MXH_OBJ_EVENT_PAIR;
            peer_closed = r % 3 == 1 ? MXH_SIGNAL_CHANNEL_PEER_CLOSED
                                     : MXH_SIGNAL_EPAIR_PEER_CLOSED;
            OK(mxh_pair_create_handles(p, type, mxh_default_rights(type), pv,
                                       NULL));
            atomic_fetch_add(&created, 2);
            OK(mxh_handle_get(p, pv[0], type, 0, &m));
            vals[0] = pv[0];
            first = 1;
        }
        mxh_object_pin(m);
        for (int i = first; i < NTHREADS * PER; i++)
            vals[i] = (uint64_t)OK(mxh_handle_create(p, m, EV_RIGHTS));
        mxh_object_release(m);
        mxh_stats_t before;
        mxh_kernel_stats(k, &before);
        pthread_barrier_wait(&b1);
        pthread_barrier_wait(&b2);
        mxh_stats_t after;
        mxh_kernel_stats(k, &after);
        CHECK_EQ(mxh_object_destroyed(m), 1);
        CHECK_EQ(mxh_object_handle_count(m), 0);
        CHECK_EQ(after.destroyed_objects, before.destroyed_objects + 1);
        CHECK_EQ(after.live_handles, before.live_handles - NTHREADS * PER);
        mxh_object_unpin(m);
        if (pv[1]) {
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(p, pv[1], &inf));
            CHECK_EQ(inf.signals, peer_closed);
            CHECK_EQ(mxh_handle_close(p, pv[1]), MXH_OK);
        }
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
            uint64_t hs[1] = {(uint64_t)v};
            dead_or(mxh_handle_close_many(st->victim, hs, 1), 0);
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
            mxh_transit_close(t);
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
    int64_t r = mxh_proc_kill(st->victim);
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

/* ---- 5. many writers and readers on one channel --------------------------- */

#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
enum { MW = 3, MR = 3, MSGS = 4000, MAXH = 3 };

/* A message: writer, seq, handle count, then the koids of its handles. */
typedef struct {
    uint32_t writer, seq, nh, pad;
    uint64_t koids[MAXH];
} mw_msg;

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    uint32_t id;
    _Atomic uint64_t *received;                /* messages read, all readers */
    _Atomic uint8_t (*seen)[MSGS];             /* [writer][seq] */
    _Atomic uint64_t *handles_seen;
    uint64_t reads;
} mw_arg;

static void *mw_writer(void *arg) {
    mw_arg *a = arg;
    for (uint32_t seq = 0; seq < MSGS; seq++) {
        mw_msg m;
        memset(&m, 0, sizeof m);
        m.writer = a->id;
        m.seq = seq;
        m.nh = seq % (MAXH + 1);
        uint64_t hs[MAXH];
        for (uint32_t j = 0; j < m.nh; j++) {
            hs[j] = (uint64_t)OK(new_event(a->p));
            m.koids[j] = (mxh_koid_t)OK(mxh_handle_get(a->p, hs[j], 0, 0,
                                                         NULL));
        }
        CHECK_EQ(mxh_channel_write(a->p, a->h, &m, sizeof m, hs, m.nh), MXH_OK);
        for (uint32_t j = 0; j < m.nh; j++) {
            mxh_handle_info_t inf;
            CHECK_EQ(mxh_handle_basic(a->p, hs[j], &inf), MXH_ERR_BAD_HANDLE);
        }
    }
    return NULL;
}

static void *mw_reader(void *arg) {
    mw_arg *a = arg;
    int64_t last[MW];
    for (int w = 0; w < MW; w++)
        last[w] = -1;
    uint64_t actual[3];
    while (atomic_load(a->received) < (uint64_t)MW * MSGS) {
        mw_msg m;
        uint32_t hv[MAXH];
        int64_t r = mxh_channel_read(a->p, a->h, 0, sizeof m, MAXH, &m, hv,
                                     actual);
        if (r == MXH_ERR_SHOULD_WAIT) {
            sched_yield();
            continue;
        }
        OK(r);
        atomic_fetch_add(a->received, 1);
        a->reads++;
        CHECK_EQ(r & 0xffffffff, sizeof m);
        CHECK_EQ(r >> 32, m.nh);
        CHECK(m.writer < MW && m.seq < MSGS);
        CHECK_EQ(m.nh, m.seq % (MAXH + 1));
        /* Each writer's messages reach each reader in order. */
        CHECK(last[m.writer] < (int64_t)m.seq);
        last[m.writer] = m.seq;
        CHECK_EQ(atomic_fetch_add(&a->seen[m.writer][m.seq], 1), 0);
        for (uint32_t j = 0; j < m.nh; j++) {
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(a->p, hv[j], &inf));
            CHECK_EQ(inf.koid, m.koids[j]);
            CHECK_EQ(inf.type, MXH_OBJ_EVENT);
            CHECK_EQ(mxh_handle_close(a->p, hv[j]), MXH_OK);
            atomic_fetch_add(a->handles_seen, 1);
        }
    }
    return NULL;
}

static void test_many_writers_readers(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k);
    mxh_proc_t *setup = new_proc(k, 3000);
    uint32_t c[2];
    OK(mxh_pair_create_handles(setup, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    atomic_fetch_add(&created, 2);
    mxh_obj_t *wend = NULL, *rend = NULL;
    OK(mxh_handle_get(setup, c[0], 0, 0, &wend));
    OK(mxh_handle_get(setup, c[1], 0, 0, &rend));
    static _Atomic uint8_t seen[MW][MSGS];
    for (int w = 0; w < MW; w++)
        for (int s = 0; s < MSGS; s++)
            atomic_init(&seen[w][s], 0);
    _Atomic uint64_t received = 0, handles_seen = 0;
    mw_arg args[MW + MR];
    for (int i = 0; i < MW + MR; i++) {
        mxh_proc_t *p = new_proc(k, 3001 + (uint64_t)i);
        uint64_t h = (uint64_t)OK(mxh_handle_create(p, i < MW ? wend : rend,
                                                    CH_RIGHTS));
        args[i] = (mw_arg){p, h, (uint32_t)(i < MW ? i : i - MW), &received,
                           seen, &handles_seen, 0};
    }
    mxh_object_release(wend);
    mxh_object_release(rend);
    CHECK_EQ(kill_proc(setup), 2);
    mxh_object_release(mxh_proc_object(setup));
    pthread_t t[MW + MR];
    for (int i = 0; i < MW + MR; i++)
        CHECK(pthread_create(&t[i], NULL, i < MW ? mw_writer : mw_reader,
                             &args[i]) == 0);
    join_all(t, MW + MR);
    uint64_t expect_handles = 0;
    for (int w = 0; w < MW; w++)
        for (int s = 0; s < MSGS; s++) {
            CHECK_EQ(atomic_load(&seen[w][s]), 1);
            expect_handles += (uint64_t)(s % (MAXH + 1));
        }
    CHECK_EQ(atomic_load(&received), (uint64_t)MW * MSGS);
    CHECK_EQ(atomic_load(&handles_seen), expect_handles);
    printf("  many_writers_readers: %d messages, %" PRIu64 " handles; reads"
           " per reader %" PRIu64 " / %" PRIu64 " / %" PRIu64 "\n",
           MW * MSGS, expect_handles, args[MW].reads, args[MW + 1].reads,
           args[MW + 2].reads);
    mxh_stats_t s;
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.in_transit_handles, 0);
    CHECK_EQ(s.live_handles, MW + MR);
    CHECK_EQ(s.live_objects[MXH_STATS_EVENT], 0);
    for (int i = 0; i < MW + MR; i++) {
        CHECK_EQ(kill_proc(args[i].p), 1);
        mxh_object_release(mxh_proc_object(args[i].p));
    }
    expect_empty(k);
    mxh_kernel_release(k);
}

/* ---- 6. collection racing channel traffic that moves endpoints ------------ */

typedef struct {
    mxh_kernel_t *k;
    mxh_proc_t *p;
    int iters;
    uint64_t seed;
    uint64_t garbage;        /* objects this worker made unreachable */
    uint64_t closed;         /* writing ends of garbage it closed */
    uint64_t moved;          /* endpoints that went round a queue and back */
} gcw_arg;

static void gc_write(mxh_proc_t *p, uint64_t ch, const char *s, uint64_t *hs,
                     size_t n) {
    CHECK_EQ(mxh_channel_write(p, ch, s, strlen(s), hs, n), MXH_OK);
}

static void *gc_worker(void *arg) {
    gcw_arg *a = arg;
    mxh_proc_t *p = a->p;
    uint64_t s = a->seed;
    uint32_t car[2];   /* the carrier: stays in the table */
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, car, NULL));
    atomic_fetch_add(&created, 2);
    uint64_t actual[3];
    char buf[16];
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        uint32_t x[2];
        OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, x, NULL));
        atomic_fetch_add(&created, 2);
        if (r % 3 == 0) {
            /* Reachable the whole time: x's ends ride the carrier's queue
             * (x1 with a message of its own queued) and come back whole. */
            uint64_t ev1 = (uint64_t)OK(new_event(p));
            gc_write(p, x[0], "ping", &ev1, 1);
            uint64_t both[2] = {x[0], x[1]};
            gc_write(p, car[0], "ride", both, 2);
            if (r & 8)
                sched_yield();
            uint32_t back[2];
            CHECK_EQ(mxh_channel_read(p, car[1], 0, sizeof buf, 2, buf, back,
                                      actual), (2ll << 32) | 4);
            uint32_t got[1];
            CHECK_EQ(mxh_channel_read(p, back[1], 0, sizeof buf, 1, buf, got,
                                      actual), (1ll << 32) | 4);
            CHECK(memcmp(buf, "ping", 4) == 0);
            CHECK_EQ(mxh_handle_close(p, got[0]), MXH_OK);
            gc_write(p, back[0], "pong", NULL, 0);   /* the peer is there */
            uint64_t bb[2] = {back[0], back[1]};
            CHECK_EQ(mxh_handle_close_many(p, bb, 2), MXH_OK);
            a->moved += 2;
        } else if (r % 3 == 1) {
            /* A 2-cycle with an event: y0 and x0 in each other's queues. */
            uint32_t y[2];
            OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, y,
                                       NULL));
            atomic_fetch_add(&created, 2);
            uint64_t y0 = y[0], x0 = x[0];
            uint64_t e1 = (uint64_t)OK(new_event(p));
            uint64_t m1[2] = {y0, e1};
            gc_write(p, x[1], "y0", m1, 2);
            gc_write(p, y[1], "x0", &x0, 1);
            uint64_t wr[2] = {x[1], y[1]};
            CHECK_EQ(mxh_handle_close_many(p, wr, 2), MXH_OK);
            a->garbage += 3;
            a->closed += 2;
        } else {
            /* x0 in its own queue, written through x1, which goes too. */
            uint64_t x0 = x[0];
            gc_write(p, x[1], "self", &x0, 1);
            CHECK_EQ(mxh_handle_close(p, x[1]), MXH_OK);
            a->garbage += 1;
            a->closed += 1;
        }
    }
    CHECK_EQ(mxh_proc_handle_count(p), 2);
    return NULL;
}

typedef struct {
    mxh_kernel_t *k;
    _Atomic int *stop;
    uint64_t collected, runs;
} gcc_arg;

static void *gc_collector(void *arg) {
    gcc_arg *a = arg;
    while (!atomic_load(a->stop)) {
        a->collected += (uint64_t)OK(mxh_kernel_collect(a->k));
        a->runs++;
        mxh_stats_t s;
        mxh_kernel_stats(a->k, &s);
        mxh_object_info_t oi[4];
        mxh_kernel_objects(a->k, oi, 4);
        mxh_message_info_t mi[4];
        mxh_koid_t mk[4];
        uint64_t nk;
        mxh_kernel_messages(a->k, mi, 4, mk, 4, &nk);
    }
    return NULL;
}

static void test_collect_race(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k);
    enum { NW = 3 };
    gcw_arg w[NW];
    for (int i = 0; i < NW; i++)
        w[i] = (gcw_arg){k, new_proc(k, 4000 + (uint64_t)i), 3000,
                         17 + (uint64_t)i, 0, 0, 0};
    _Atomic int stop = 0;
    gcc_arg c = {k, &stop, 0, 0};
    pthread_t t[NW + 1];
    CHECK(pthread_create(&t[NW], NULL, gc_collector, &c) == 0);
    for (int i = 0; i < NW; i++)
        CHECK(pthread_create(&t[i], NULL, gc_worker, &w[i]) == 0);
    join_all(t, NW);
    atomic_store(&stop, 1);
    CHECK(pthread_join(t[NW], NULL) == 0);
    uint64_t garbage = 0, moved = 0, closed = 0;
    for (int i = 0; i < NW; i++) {
        garbage += w[i].garbage;
        moved += w[i].moved;
        closed += w[i].closed;
    }
    uint64_t during = c.collected;
    c.collected += (uint64_t)OK(mxh_kernel_collect(k));
    printf("  collect_race: %" PRIu64 " collections reclaimed %" PRIu64
           " objects meanwhile, %" PRIu64 " in all (garbage made %" PRIu64
           "); %" PRIu64 " endpoints went round a queue\n", c.runs, during,
           c.collected, garbage, moved);
    /* Every piece of garbage counted.  A collection may also count the
     * writing end a worker closes while the collection detaches it from
     * its garbage peer (the collector then drops the end's last
     * reference), so the excess is at most the ends the workers closed. */
    CHECK(c.collected >= garbage);
    CHECK(c.collected - garbage <= closed);
    CHECK_EQ(mxh_kernel_collect(k), 0);
    mxh_stats_t s;
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.in_transit_handles, 0);
    CHECK_EQ(s.live_handles, 2 * NW);
    for (int i = 0; i < NW; i++) {
        CHECK_EQ(kill_proc(w[i].p), 2);
        mxh_object_release(mxh_proc_object(w[i].p));
    }
    expect_empty(k);
    mxh_kernel_release(k);
}

/* ---- 7. a kill racing a blocked call ---------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    uint64_t ev;     /* sent with the request */
    int64_t rc;
    uint64_t actual[3];
} kc_call;

static void *kc_caller(void *arg) {
    kc_call *a = arg;
    unsigned char req[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    unsigned char buf[16];
    uint32_t hv[2];
    a->rc = mxh_channel_call(a->p, a->h, req, sizeof req, &a->ev, 1,
                             UINT64_MAX, sizeof buf, 2, buf, hv, a->actual);
    if (a->rc >= 0) {
        CHECK_EQ(a->rc, (1ll << 32) | 8);
        /* The reply's handle is the caller's until the kill closes it. */
        mxh_handle_info_t inf;
        int64_t r = mxh_handle_basic(a->p, hv[0], &inf);
        CHECK(r == MXH_OK || r == MXH_ERR_BAD_STATE);
    }
    return NULL;
}

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    int reply;
    int64_t delay_spins;
    _Atomic int *request_seen;
} kc_server;

static void *kc_serve(void *arg) {
    kc_server *a = arg;
    unsigned char buf[16];
    uint32_t hv[2];
    uint64_t actual[3];
    int64_t r;
    while ((r = mxh_channel_read(a->p, a->h, 0, sizeof buf, 2, buf, hv,
                                 actual)) == MXH_ERR_SHOULD_WAIT)
        sched_yield();
    if (r == MXH_ERR_PEER_CLOSED)
        return NULL;   /* the caller died before its request got out */
    CHECK_EQ(r, (1ll << 32) | 8);
    atomic_store(a->request_seen, 1);
    CHECK_EQ(mxh_handle_close(a->p, hv[0]), MXH_OK);
    if (!a->reply)
        return NULL;
    for (int64_t i = 0; i < a->delay_spins; i++)
        sched_yield();
    uint64_t e = (uint64_t)OK(new_event(a->p));
    r = mxh_channel_write(a->p, a->h, buf, 8, &e, 1);
    CHECK(r == MXH_OK || r == MXH_ERR_PEER_CLOSED);
    if (r != MXH_OK)
        CHECK_EQ(mxh_handle_close(a->p, e), MXH_OK);
    return NULL;
}

static void test_kill_call_race(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k);
    mxh_proc_t *sp = new_proc(k, 5000);
    enum { ROUNDS = 400 };
    int outcomes[4] = {0, 0, 0, 0};   /* ok, canceled, bad_state, other */
    uint64_t s = 99;
    for (int r = 0; r < ROUNDS; r++) {
        mxh_proc_t *cp = new_proc(k, 5001 + (uint64_t)r);
        uint32_t c[2];
        OK(mxh_pair_create_handles(cp, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
        atomic_fetch_add(&created, 2);
        uint64_t sc = (uint64_t)OK(mxh_handle_move(cp, c[1], sp));
        _Atomic int seen = 0;
        uint64_t x = mxt_rand(&s);
        /* Every fourth round the kill surely finds the call blocked. */
        int blocked = r % 4 == 0;
        kc_call call = {cp, c[0], (uint64_t)OK(new_event(cp)), 0, {0, 0, 0}};
        kc_server srv = {sp, sc, !blocked && (x & 1),
                         (int64_t)((x >> 8) % 20), &seen};
        pthread_t tc, ts;
        CHECK(pthread_create(&ts, NULL, kc_serve, &srv) == 0);
        CHECK(pthread_create(&tc, NULL, kc_caller, &call) == 0);
        if (blocked) {
            while (!atomic_load(&seen))
                sched_yield();
        } else {
            for (uint64_t i = 0; i < (x >> 16) % 30; i++)
                sched_yield();
        }
        int64_t killed = mxh_proc_kill(cp);
        CHECK(killed >= 0);
        CHECK(pthread_join(tc, NULL) == 0);
        CHECK(pthread_join(ts, NULL) == 0);
        if (call.rc >= 0) {
            outcomes[0]++;
        } else if (call.rc == MXH_ERR_CALL_FAILED &&
                   (int64_t)call.actual[2] == MXH_ERR_CANCELED) {
            outcomes[1]++;
        } else if (call.rc == MXH_ERR_BAD_STATE) {
            outcomes[2]++;
        } else {
            fprintf(stderr, "call returned %" PRId64 " (%" PRId64 ")\n",
                    call.rc, (int64_t)call.actual[2]);
            outcomes[3]++;
        }
        if (blocked)
            CHECK(call.rc == MXH_ERR_CALL_FAILED &&
                  (int64_t)call.actual[2] == MXH_ERR_CANCELED);
        CHECK_EQ(mxh_handle_close(sp, sc), MXH_OK);
        mxh_object_release(mxh_proc_object(cp));
        mxh_stats_t st;
        mxh_kernel_stats(k, &st);
        CHECK_EQ(st.live_handles, 0);
        CHECK_EQ(st.in_transit_handles, 0);
        CHECK_EQ(st.live_objects[MXH_STATS_CHANNEL], 0);
        CHECK_EQ(st.live_objects[MXH_STATS_EVENT], 0);
    }
    printf("  kill_call_race: %d replied, %d canceled, %d killed before the"
           " call\n", outcomes[0], outcomes[1], outcomes[2]);
    CHECK_EQ(outcomes[3], 0);
    CHECK(outcomes[1] >= ROUNDS / 4);
    CHECK_EQ(kill_proc(sp), 0);
    mxh_object_release(mxh_proc_object(sp));
    expect_empty(k);
    mxh_kernel_release(k);
}

int main(void) {
    struct { const char *name; void (*fn)(void); } tests[] = {
        {"own_processes", test_own_processes},
        {"shared_process", test_shared_process},
        {"pipeline", test_pipeline},
        {"kill_race", test_kill_race},
        {"many_writers_readers", test_many_writers_readers},
        {"collect_race", test_collect_race},
        {"kill_call_race", test_kill_call_race},
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
