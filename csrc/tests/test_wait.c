/*
 * test_wait.c - signals, blocking waits, ports and asynchronous waits.
 *
 * Single-threaded tests pin the contracts of mxhandles.h (return values,
 * errors in SPEC order, packet contents, what ends a wait); the threaded
 * ones block real pthreads in the core and wake or cancel them from other
 * threads.  The test is white-box in one respect: it includes internal.h
 * to read an object's waiter count, so that a test can wait until another
 * thread is really blocked (or an async wait really gone) instead of
 * sleeping and hoping.
 *
 * Every test builds its own kernel and ends with exact counters: no live
 * handles, nothing in transit, every object created destroyed once.  Run
 * under ASan (leaks, use after free of ports and async waits) and TSan.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"
#include "mxh_test.h"

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define PORT_RIGHTS EV_RIGHTS
#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define U0 (1u << 24)
#define U1 (1u << 25)
#define U2 (1u << 26)
#define U3 (1u << 27)
#define SIG MXH_SIGNAL_EVENT_SIGNALED
#define READABLE MXH_SIGNAL_PORT_READABLE
#define ONCE MXH_WAIT_ASYNC_ONCE
#define REP MXH_WAIT_ASYNC_REPEATING
#define INF UINT64_MAX
#define MS 1000000ull

/* ---- helpers ------------------------------------------------------------------ */

static _Atomic uint64_t created;   /* objects created in the current test */

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t after_ms(uint64_t ms) { return now_ns() + ms * MS; }

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static mxh_kernel_t *new_kernel(void) {
    atomic_store(&created, 0);
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k != NULL);
    return k;
}

static mxh_proc_t *new_proc(mxh_kernel_t *k, uint64_t secret) {
    mxh_proc_t *p = mxh_proc_create(k, secret, 0);
    CHECK(p != NULL);
    atomic_fetch_add(&created, 1);
    return p;
}

/* Kills p if alive and drops the creator's reference. */
static void drop_proc(mxh_proc_t *p) {
    if (!mxh_proc_is_dead(p))
        OK(mxh_proc_kill(p));
    mxh_object_release(mxh_proc_object(p));
}

static uint64_t new_obj(mxh_proc_t *p, uint32_t type) {
    int64_t v = OK(mxh_object_create_handle(p, type, EV_RIGHTS));
    atomic_fetch_add(&created, 1);
    return (uint64_t)v;
}

static uint64_t ev(mxh_proc_t *p) { return new_obj(p, MXH_OBJ_EVENT); }
static uint64_t port(mxh_proc_t *p) { return new_obj(p, MXH_OBJ_PORT); }

static void new_pair(mxh_proc_t *p, uint32_t type, uint32_t rights,
                     uint32_t out[2]) {
    OK(mxh_pair_create_handles(p, type, rights, out, NULL));
    atomic_fetch_add(&created, 2);
}

static uint64_t dup(mxh_proc_t *p, uint64_t h, uint32_t rights) {
    return (uint64_t)OK(mxh_handle_duplicate(p, h, rights));
}

static void close_h(mxh_proc_t *p, uint64_t h) {
    CHECK_EQ(mxh_handle_close(p, h), MXH_OK);
}

/* A second handle, in q, to the object of p's handle h. */
static uint64_t share(mxh_proc_t *p, uint64_t h, mxh_proc_t *q) {
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, h, 0, 0, &o));
    int64_t v = OK(mxh_handle_create(q, o, EV_RIGHTS));
    mxh_object_release(o);
    return (uint64_t)v;
}

static uint32_t sigs(mxh_proc_t *p, uint64_t h) {
    mxh_handle_info_t i;
    OK(mxh_handle_basic(p, h, &i));
    return i.signals;
}

static void sig(mxh_proc_t *p, uint64_t h, uint32_t clear, uint32_t set) {
    CHECK_EQ(mxh_object_signal(p, h, clear, set, 0), MXH_OK);
}

/* How many waiters (blocked threads, async waits) h's object has now. */
static uint32_t nwaiters(mxh_proc_t *p, uint64_t h) {
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, h, 0, 0, &o));
    uint32_t n = atomic_load(&o->nwaiters);
    mxh_object_release(o);
    return n;
}

static uint32_t obj_nwaiters(mxh_obj_t *o) { return atomic_load(&o->nwaiters); }

/* Waits (at most 10 s) until h's object has at least n waiters. */
static void await_waiters(mxh_proc_t *p, uint64_t h, uint32_t n) {
    uint64_t end = after_ms(10000);
    while (nwaiters(p, h) < n) {
        CHECK(now_ns() < end);
        sched_yield();
    }
}

/* The next packet, which must be there. */
static mxh_packet_t take(mxh_proc_t *p, uint64_t port_h) {
    mxh_packet_t pk;
    memset(&pk, 0xa5, sizeof pk);
    CHECK_EQ(mxh_port_wait(p, port_h, 0, &pk), MXH_OK);
    return pk;
}

static void expect_no_packet(mxh_proc_t *p, uint64_t port_h) {
    mxh_packet_t pk;
    CHECK_EQ(mxh_port_wait(p, port_h, 0, &pk), MXH_ERR_TIMED_OUT);
    CHECK_EQ(sigs(p, port_h) & READABLE, 0);
}

static void expect_signal_packet(const mxh_packet_t *pk, uint64_t key,
                                 uint32_t type, uint32_t trigger,
                                 uint32_t observed_has) {
    CHECK_EQ(pk->key, key);
    CHECK_EQ(pk->type, type);
    CHECK_EQ(pk->status, MXH_OK);
    CHECK_EQ(pk->trigger, trigger);
    CHECK((pk->observed & observed_has) == observed_has);
    CHECK(pk->observed & trigger);
    CHECK_EQ(pk->count, 1);
}

static void expect_cancel_packet(const mxh_packet_t *pk, uint64_t key) {
    CHECK_EQ(pk->key, key);
    CHECK(pk->type == MXH_PKT_TYPE_SIGNAL_ONE ||
          pk->type == MXH_PKT_TYPE_SIGNAL_REP);
    CHECK_EQ(pk->status, MXH_ERR_CANCELED);
}

static void queue_user(mxh_proc_t *p, uint64_t port_h, uint64_t key,
                       int32_t status, const char *payload) {
    CHECK_EQ(mxh_port_queue(p, port_h, key, status, payload,
                            payload ? strlen(payload) : 0), MXH_OK);
}

/* Everything closed and released: only destroyed objects remain. */
static void expect_empty(mxh_kernel_t *k) {
    mxh_stats_t e;
    memset(&e, 0, sizeof e);
    e.destroyed_objects = atomic_load(&created);
    STATS_EQ(k, &e);
}

static void finish(mxh_kernel_t *k) {
    expect_empty(k);
    mxh_kernel_release(k);
}

/* ---- blocking calls on a thread of their own ------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    uint32_t signals;
    uint64_t deadline;
    int64_t rc;
    uint32_t observed;
    uint64_t elapsed;
    pthread_t t;
} one_job;

static void *one_thread(void *arg) {
    one_job *j = arg;
    uint64_t t0 = now_ns();
    j->rc = mxh_object_wait_one(j->p, j->h, j->signals, j->deadline,
                                &j->observed);
    j->elapsed = now_ns() - t0;
    return NULL;
}

/* Starts a wait_one on its own thread and returns once it is blocked
 * (the object has waiters_before + 1 waiters), or at once with NO_AWAIT
 * (a wait that may time out before anyone sees it blocked). */
#define NO_AWAIT UINT32_MAX
static void start_one(one_job *j, mxh_proc_t *p, uint64_t h, uint32_t want,
                      uint64_t deadline, uint32_t waiters_before) {
    memset(j, 0, sizeof *j);
    j->p = p;
    j->h = h;
    j->signals = want;
    j->deadline = deadline;
    j->observed = 0xdeadbeef;
    CHECK(pthread_create(&j->t, NULL, one_thread, j) == 0);
    if (waiters_before != NO_AWAIT)
        await_waiters(p, h, waiters_before + 1);
}

static void join_one(one_job *j) { CHECK(pthread_join(j->t, NULL) == 0); }

#define MANY_MAX 8
typedef struct {
    mxh_proc_t *p;
    size_t n;
    uint64_t hs[MANY_MAX];
    uint32_t want[MANY_MAX];
    uint64_t deadline;
    int64_t rc;
    uint32_t observed[MANY_MAX];
    uint64_t elapsed;
    pthread_t t;
} many_job;

static void *many_thread(void *arg) {
    many_job *j = arg;
    uint64_t t0 = now_ns();
    j->rc = mxh_object_wait_many(j->p, j->hs, j->want, j->n, j->deadline,
                                 j->observed);
    j->elapsed = now_ns() - t0;
    return NULL;
}

typedef struct {
    mxh_proc_t *p;
    uint64_t port;
    uint64_t deadline;
    int64_t rc;
    mxh_packet_t pk;
    pthread_t t;
} port_job;

static void *port_thread(void *arg) {
    port_job *j = arg;
    j->rc = mxh_port_wait(j->p, j->port, j->deadline, &j->pk);
    return NULL;
}

static void start_port_wait(port_job *j, mxh_proc_t *p, uint64_t port_h,
                            uint64_t deadline, uint32_t waiters_before) {
    memset(j, 0, sizeof *j);
    j->p = p;
    j->port = port_h;
    j->deadline = deadline;
    CHECK(pthread_create(&j->t, NULL, port_thread, j) == 0);
    if (waiters_before != NO_AWAIT)
        await_waiters(p, port_h, waiters_before + 1);
}

/* ---- 1. wait_one without other threads ------------------------------------------ */

static void test_wait_one_now(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 1);
    uint64_t e = ev(p);
    uint32_t obs = 0;

    /* Satisfied at once: the result is the whole signal word. */
    sig(p, e, 0, U0 | U2);
    CHECK_EQ(mxh_object_wait_one(p, e, U0, INF, &obs), U0 | U2);
    CHECK_EQ(obs, U0 | U2);
    CHECK_EQ(mxh_object_wait_one(p, e, U1 | U2, 0, &obs), U0 | U2);
    CHECK_EQ(obs, U0 | U2);
    /* A past deadline polls: TIMED_OUT with the signals observed. */
    obs = 0;
    CHECK_EQ(mxh_object_wait_one(p, e, U1, 0, &obs), MXH_ERR_TIMED_OUT);
    CHECK_EQ(obs, U0 | U2);
    CHECK_EQ(mxh_object_wait_one(p, e, U1, 1, &obs), MXH_ERR_TIMED_OUT);
    CHECK_EQ(mxh_object_wait_one(p, e, U1, now_ns() - 1, &obs),
             MXH_ERR_TIMED_OUT);
    /* Nothing asked for: never satisfied. */
    CHECK_EQ(mxh_object_wait_one(p, e, 0, 0, &obs), MXH_ERR_TIMED_OUT);
    CHECK_EQ(obs, U0 | U2);

    /* A real timeout: blocks until the deadline, not much longer. */
    sig(p, e, U0 | U2, 0);
    uint64_t t0 = now_ns(), dl = t0 + 30 * MS;
    obs = 77;
    CHECK_EQ(mxh_object_wait_one(p, e, U0, dl, &obs), MXH_ERR_TIMED_OUT);
    CHECK(now_ns() >= dl);
    CHECK_EQ(obs, 0);
    CHECK_EQ(nwaiters(p, e), 0);

    /* Errors: BAD_HANDLE, then ACCESS_DENIED without READ. */
    CHECK_EQ(mxh_object_wait_one(p, 0, U0, 0, &obs), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_wait_one(p, e + (1ull << 32), U0, 0, &obs),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_wait_one(p, e ^ 0x40000000u, U0, 0, &obs),
             MXH_ERR_BAD_HANDLE);
    uint64_t wonly = dup(p, e, MXH_RIGHT_WRITE);
    CHECK_EQ(mxh_object_wait_one(p, wonly, U0, 0, &obs),
             MXH_ERR_ACCESS_DENIED);
    uint64_t ronly = dup(p, e, MXH_RIGHT_READ);
    sig(p, e, 0, SIG);
    CHECK_EQ(mxh_object_wait_one(p, ronly, SIG, 0, &obs), SIG);

    /* Kernel-driven signals: a port's READABLE, a pair's PEER_CLOSED, a
     * process's TASK_TERMINATED (waited on through another process). */
    uint64_t po = port(p);
    CHECK_EQ(mxh_object_wait_one(p, po, READABLE, 0, &obs),
             MXH_ERR_TIMED_OUT);
    queue_user(p, po, 1, 0, NULL);
    CHECK_EQ(mxh_object_wait_one(p, po, READABLE, 0, &obs), READABLE);
    uint32_t ep[2];
    new_pair(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, ep);
    close_h(p, ep[1]);
    CHECK_EQ(mxh_object_wait_one(p, ep[0], MXH_SIGNAL_EPAIR_PEER_CLOSED, 0,
                                 &obs), MXH_SIGNAL_EPAIR_PEER_CLOSED);
    mxh_proc_t *q = new_proc(k, 2);
    int64_t qh = OK(mxh_handle_create(p, mxh_proc_object(q), EV_RIGHTS));
    CHECK_EQ(mxh_object_wait_one(p, (uint64_t)qh, MXH_SIGNAL_TASK_TERMINATED,
                                 0, &obs), MXH_ERR_TIMED_OUT);
    OK(mxh_proc_kill(q));
    CHECK_EQ(mxh_object_wait_one(p, (uint64_t)qh, MXH_SIGNAL_TASK_TERMINATED,
                                 0, &obs), MXH_SIGNAL_TASK_TERMINATED);
    drop_proc(q);
    close_h(p, (uint64_t)qh);

    /* A dead process's waits fail with BAD_STATE first. */
    OK(mxh_proc_kill(p));
    CHECK_EQ(mxh_object_wait_one(p, e, U0, 0, &obs), MXH_ERR_BAD_STATE);
    drop_proc(p);
    finish(k);
}

/* ---- 2. wait_one woken by other threads -------------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    uint32_t clear, set;
    uint64_t delay_ms;
} signal_job;

static void *signal_thread(void *arg) {
    signal_job *j = arg;
    sleep_ms(j->delay_ms);
    sig(j->p, j->h, j->clear, j->set);
    return NULL;
}

static void test_wait_one_woken(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 3);
    uint64_t e = ev(p);

    /* Blocked, then another thread's mx_object_signal wakes it; the
     * result is the signals at the moment of the wake. */
    one_job j;
    start_one(&j, p, e, U1, INF, 0);
    sig(p, e, 0, U0);                   /* not wanted: still blocked */
    sleep_ms(5);
    CHECK_EQ(nwaiters(p, e), 1);
    sig(p, e, 0, U1 | U2);
    join_one(&j);
    CHECK_EQ(j.rc, U0 | U1 | U2);
    CHECK_EQ(j.observed, U0 | U1 | U2);
    CHECK_EQ(nwaiters(p, e), 0);

    /* A signal from a thread that starts before the wait blocks. */
    sig(p, e, U0 | U1 | U2, 0);
    signal_job sj = {p, e, 0, SIG, 20};
    pthread_t st;
    CHECK(pthread_create(&st, NULL, signal_thread, &sj) == 0);
    uint32_t obs = 0;
    CHECK_EQ(mxh_object_wait_one(p, e, SIG, after_ms(10000), &obs), SIG);
    CHECK_EQ(obs, SIG);
    CHECK(pthread_join(st, NULL) == 0);

    /* Several threads on one event (through several handles and two
     * processes): one assertion wakes them all. */
    sig(p, e, SIG, 0);
    mxh_proc_t *q = new_proc(k, 4);
    uint64_t e2 = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    uint64_t eq = share(p, e, q);
    enum { N = 6 };
    one_job js[N];
    for (int i = 0; i < N; i++) {
        mxh_proc_t *wp = i % 3 == 2 ? q : p;
        uint64_t wh = i % 3 == 0 ? e : i % 3 == 1 ? e2 : eq;
        start_one(&js[i], wp, wh, U3 | SIG, INF, (uint32_t)i);
    }
    sig(p, e2, 0, U3);
    for (int i = 0; i < N; i++) {
        join_one(&js[i]);
        CHECK_EQ(js[i].rc, U3);
        CHECK_EQ(js[i].observed, U3);
    }

    /* A deadline that passes while blocked: TIMED_OUT, observed set. */
    start_one(&j, p, e, U0, after_ms(40), NO_AWAIT);
    join_one(&j);
    CHECK_EQ(j.rc, MXH_ERR_TIMED_OUT);
    CHECK_EQ(j.observed, U3);
    CHECK(j.elapsed >= 30 * MS);

    close_h(p, e);
    close_h(p, e2);
    close_h(q, eq);
    drop_proc(q);
    drop_proc(p);
    finish(k);
}

/* ---- 3. wait_one canceled ------------------------------------------------------------ */

static void test_wait_one_canceled(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 5);
    mxh_proc_t *q = new_proc(k, 6);
    uint64_t e = ev(p);
    uint64_t keep = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    sig(p, keep, 0, U2);
    one_job j, other;

    /* Closed by another thread; a wait through another handle to the same
     * object goes on. */
    uint64_t h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    start_one(&other, p, keep, U0, INF, 0);
    start_one(&j, p, h, U0, INF, 1);
    close_h(p, h);
    join_one(&j);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    CHECK_EQ(j.observed, U2);
    CHECK_EQ(nwaiters(p, keep), 1);

    /* Replaced: the old value's waits end, the new handle is fine. */
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    start_one(&j, p, h, U0, INF, 1);
    uint64_t h2 = (uint64_t)OK(mxh_handle_replace(p, h, MXH_RIGHT_SAME_RIGHTS));
    join_one(&j);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    CHECK_EQ(nwaiters(p, keep), 1);

    /* Moved to another process. */
    start_one(&j, p, h2, U0, INF, 1);
    uint64_t hq = (uint64_t)OK(mxh_handle_move(p, h2, q));
    join_one(&j);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    /* ... while q's own wait through the moved handle is not touched by
     * closing p's handles. */
    start_one(&j, q, hq, U1, INF, 1);
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    close_h(p, h);
    sleep_ms(2);
    CHECK_EQ(nwaiters(p, keep), 2);
    sig(p, keep, 0, U1);
    join_one(&j);
    CHECK_EQ(j.rc, U1 | U2);
    sig(p, keep, U1, 0);

    /* Transferred in a channel message. */
    uint32_t c[2];
    new_pair(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c);
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    start_one(&j, p, h, U0, INF, 1);
    CHECK_EQ(mxh_channel_write(p, c[0], "x", 1, &h, 1), MXH_OK);
    join_one(&j);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    close_h(p, c[1]);       /* the message and the handle in it go */
    close_h(p, c[0]);

    /* The process dies: CANCELED (its own handle, its other waits). */
    uint64_t pe = ev(p);
    one_job j2;
    start_one(&j, p, pe, U0, INF, 0);
    start_one(&j2, p, pe, U1, after_ms(60000), 1);
    OK(mxh_proc_kill(p));
    join_one(&j);
    join_one(&j2);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    CHECK_EQ(j2.rc, MXH_ERR_CANCELED);
    join_one(&other);
    CHECK_EQ(other.rc, MXH_ERR_CANCELED);

    /* q still works: its handle still waits and gets signaled. */
    uint32_t obs = 0;
    CHECK_EQ(mxh_object_wait_one(q, hq, U2, 0, &obs), U2);
    close_h(q, hq);
    drop_proc(q);
    drop_proc(p);
    finish(k);
}

/* ---- 4. wait_many ---------------------------------------------------------------------- */

static void test_wait_many(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 7);
    uint64_t a = ev(p), b = ev(p), c = ev(p);
    uint64_t hs[3] = {a, b, c};
    uint32_t want[3] = {U0, U1, U2};
    uint32_t obs[3] = {0, 0, 0};

    /* Any item satisfied: OK at once, observed per item. */
    sig(p, b, 0, U1 | U3);
    sig(p, c, 0, U0);
    CHECK_EQ(mxh_object_wait_many(p, hs, want, 3, INF, obs), MXH_OK);
    CHECK_EQ(obs[0], 0);
    CHECK_EQ(obs[1], U1 | U3);
    CHECK_EQ(obs[2], U0);
    /* None: a poll times out with every item observed. */
    sig(p, b, U1, 0);
    memset(obs, 0xff, sizeof obs);
    CHECK_EQ(mxh_object_wait_many(p, hs, want, 3, 0, obs), MXH_ERR_TIMED_OUT);
    CHECK_EQ(obs[0], 0);
    CHECK_EQ(obs[1], U3);
    CHECK_EQ(obs[2], U0);
    uint64_t dl = after_ms(25);
    CHECK_EQ(mxh_object_wait_many(p, hs, want, 3, dl, obs), MXH_ERR_TIMED_OUT);
    CHECK(now_ns() >= dl);
    CHECK_EQ(obs[1], U3);
    /* The same handle twice. */
    uint64_t twice[2] = {a, a};
    uint32_t w2[2] = {U1, U0};
    sig(p, a, 0, U0);
    CHECK_EQ(mxh_object_wait_many(p, twice, w2, 2, 0, obs), MXH_OK);
    CHECK_EQ(obs[0], U0);
    CHECK_EQ(obs[1], U0);
    sig(p, a, U0, 0);

    /* An empty list waits for the deadline. */
    CHECK_EQ(mxh_object_wait_many(p, NULL, NULL, 0, 0, obs), MXH_ERR_TIMED_OUT);
    dl = after_ms(25);
    CHECK_EQ(mxh_object_wait_many(p, NULL, NULL, 0, dl, obs), MXH_ERR_TIMED_OUT);
    CHECK(now_ns() >= dl);

    /* Errors in item order; observed untouched. */
    uint64_t wonly = dup(p, a, MXH_RIGHT_WRITE);
    uint64_t bad1[3] = {a, 12345, wonly};
    uint64_t bad2[3] = {a, wonly, 12345};
    memset(obs, 0x5a, sizeof obs);
    CHECK_EQ(mxh_object_wait_many(p, bad1, want, 3, 0, obs),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_wait_many(p, bad2, want, 3, 0, obs),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(obs[0], 0x5a5a5a5a);
    CHECK_EQ(obs[2], 0x5a5a5a5a);
    CHECK_EQ(nwaiters(p, a), 0);

    /* Blocked; another thread signals the third item. */
    many_job m;
    memset(&m, 0, sizeof m);
    m.p = p;
    m.n = 3;
    memcpy(m.hs, hs, sizeof hs);
    m.want[0] = U0; m.want[1] = U1; m.want[2] = U3;
    m.deadline = INF;
    CHECK(pthread_create(&m.t, NULL, many_thread, &m) == 0);
    await_waiters(p, c, 1);
    CHECK_EQ(nwaiters(p, a), 1);
    CHECK_EQ(nwaiters(p, b), 1);
    CHECK_EQ(nwaiters(p, c), 1);
    sig(p, c, 0, U3);
    CHECK(pthread_join(m.t, NULL) == 0);
    CHECK_EQ(m.rc, MXH_OK);
    CHECK_EQ(m.observed[0], 0);
    CHECK_EQ(m.observed[1], U3);
    CHECK_EQ(m.observed[2], U0 | U3);
    CHECK_EQ(nwaiters(p, a) + nwaiters(p, b) + nwaiters(p, c), 0);

    /* CANCELED when one item's handle is closed by another thread;
     * observed per item still filled. */
    uint64_t hb = dup(p, b, MXH_RIGHT_SAME_RIGHTS);
    m.hs[1] = hb;
    m.want[2] = U2;
    memset(m.observed, 0xff, sizeof m.observed);
    CHECK(pthread_create(&m.t, NULL, many_thread, &m) == 0);
    await_waiters(p, c, 1);
    close_h(p, hb);
    CHECK(pthread_join(m.t, NULL) == 0);
    CHECK_EQ(m.rc, MXH_ERR_CANCELED);
    CHECK_EQ(m.observed[0], 0);
    CHECK_EQ(m.observed[1], U3);
    CHECK_EQ(m.observed[2], U0 | U3);
    CHECK_EQ(nwaiters(p, a) + nwaiters(p, b) + nwaiters(p, c), 0);

    /* An empty wait with no deadline ends when the process dies; so does
     * a wait on items. */
    many_job empty, items;
    memset(&empty, 0, sizeof empty);
    empty.p = p;
    empty.deadline = INF;
    memset(&items, 0, sizeof items);
    items.p = p;
    items.n = 2;
    items.hs[0] = a; items.hs[1] = b;
    items.want[0] = U1; items.want[1] = U1;
    items.deadline = INF;
    mxh_obj_t *po = mxh_proc_object(p);
    uint32_t before = obj_nwaiters(po);
    CHECK(pthread_create(&empty.t, NULL, many_thread, &empty) == 0);
    CHECK(pthread_create(&items.t, NULL, many_thread, &items) == 0);
    await_waiters(p, b, 1);
    uint64_t end = after_ms(10000);
    while (obj_nwaiters(po) < before + 2) {   /* both wait on p itself too */
        CHECK(now_ns() < end);
        sched_yield();
    }
    sleep_ms(2);
    OK(mxh_proc_kill(p));
    CHECK(pthread_join(empty.t, NULL) == 0);
    CHECK(pthread_join(items.t, NULL) == 0);
    CHECK_EQ(empty.rc, MXH_ERR_CANCELED);
    CHECK_EQ(items.rc, MXH_ERR_CANCELED);
    CHECK(empty.elapsed < 5000 * MS);
    CHECK_EQ(mxh_object_wait_many(p, NULL, NULL, 0, 0, obs), MXH_ERR_BAD_STATE);
    drop_proc(p);
    finish(k);
}

/* ---- 5. ports: user packets ---------------------------------------------------------- */

static void test_port_user(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 8);
    uint64_t po = port(p);
    uint64_t e = ev(p);
    mxh_packet_t pk;

    CHECK_EQ(sigs(p, po), 0);
    expect_no_packet(p, po);
    /* FIFO, payload zero-padded to 32 bytes, status carried. */
    queue_user(p, po, 10, 0, "first");
    CHECK_EQ(sigs(p, po), READABLE);
    queue_user(p, po, 11, -7, "");
    char full[32];
    for (int i = 0; i < 32; i++)
        full[i] = (char)('a' + i % 26);
    CHECK_EQ(mxh_port_queue(p, po, UINT64_MAX, 5, full, 32), MXH_OK);
    pk = take(p, po);
    CHECK_EQ(pk.key, 10);
    CHECK_EQ(pk.type, MXH_PKT_TYPE_USER);
    CHECK_EQ(pk.status, 0);
    CHECK(memcmp(pk.user, "first", 5) == 0);
    for (int i = 5; i < 32; i++)
        CHECK_EQ(pk.user[i], 0);
    pk = take(p, po);
    CHECK_EQ(pk.key, 11);
    CHECK_EQ(pk.status, -7);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(pk.user[i], 0);
    CHECK_EQ(sigs(p, po), READABLE);
    pk = take(p, po);
    CHECK_EQ((uint64_t)pk.key, UINT64_MAX);
    CHECK_EQ(pk.status, 5);
    CHECK(memcmp(pk.user, full, 32) == 0);
    expect_no_packet(p, po);

    /* port_queue errors: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (WRITE),
     * INVALID_ARGS (payload over 32). */
    uint64_t ro = dup(p, po, MXH_RIGHT_READ);
    uint64_t wo = dup(p, po, MXH_RIGHT_WRITE);
    CHECK_EQ(mxh_port_queue(p, 999, 1, 0, NULL, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_port_queue(p, e, 1, 0, full, 33), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_port_queue(p, ro, 1, 0, full, 33), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_port_queue(p, wo, 1, 0, full, 33), MXH_ERR_INVALID_ARGS);
    expect_no_packet(p, po);
    CHECK_EQ(mxh_port_queue(p, wo, 1, 0, full, 1), MXH_OK);
    /* port_wait errors: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (READ). */
    CHECK_EQ(mxh_port_wait(p, 999, 0, &pk), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_port_wait(p, e, 0, &pk), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_port_wait(p, wo, 0, &pk), MXH_ERR_ACCESS_DENIED);
    pk = take(p, ro);
    CHECK_EQ(pk.key, 1);
    CHECK_EQ(pk.user[0], 'a');
    CHECK_EQ(pk.user[1], 0);

    /* A deadline: TIMED_OUT after it. */
    uint64_t dl = after_ms(25);
    CHECK_EQ(mxh_port_wait(p, po, dl, &pk), MXH_ERR_TIMED_OUT);
    CHECK(now_ns() >= dl);

    /* A port that goes with packets queued frees them. */
    queue_user(p, po, 1, 0, "x");
    queue_user(p, po, 2, 0, "y");
    close_h(p, ro);
    close_h(p, wo);
    close_h(p, po);
    OK(mxh_proc_kill(p));
    CHECK_EQ(mxh_port_queue(p, po, 1, 0, NULL, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_port_wait(p, po, 0, &pk), MXH_ERR_BAD_STATE);
    drop_proc(p);
    finish(k);
}

static void test_port_limit(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 9);
    uint64_t po = port(p);
    uint64_t e = ev(p);
    for (uint32_t i = 0; i < MXH_PORT_MAX_PACKETS; i++)
        CHECK_EQ(mxh_port_queue(p, po, i, 0, &i, sizeof i), MXH_OK);
    CHECK_EQ(mxh_port_queue(p, po, 1, 0, NULL, 0), MXH_ERR_SHOULD_WAIT);
    /* Signal packets do not count and are never refused. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 77, U0, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 78, U0, REP, 0), MXH_OK);
    sig(p, e, 0, U0);
    CHECK_EQ(mxh_port_queue(p, po, 1, 0, NULL, 0), MXH_ERR_SHOULD_WAIT);
    /* One taken: one more fits, and no more. */
    mxh_packet_t pk = take(p, po);
    CHECK_EQ(pk.key, 0);
    CHECK_EQ(mxh_port_queue(p, po, 5000, 0, NULL, 0), MXH_OK);
    CHECK_EQ(mxh_port_queue(p, po, 5001, 0, NULL, 0), MXH_ERR_SHOULD_WAIT);
    /* FIFO across kinds: the rest of the users, the two signal packets
     * (in firing order), the late user packet. */
    for (uint32_t i = 1; i < MXH_PORT_MAX_PACKETS; i++) {
        pk = take(p, po);
        CHECK_EQ(pk.key, i);
        CHECK_EQ(pk.type, MXH_PKT_TYPE_USER);
        uint32_t v;
        memcpy(&v, pk.user, sizeof v);
        CHECK_EQ(v, i);
    }
    mxh_packet_t s1 = take(p, po), s2 = take(p, po);
    CHECK((s1.key == 77 && s2.key == 78) || (s1.key == 78 && s2.key == 77));
    pk = take(p, po);
    CHECK_EQ(pk.key, 5000);
    expect_no_packet(p, po);
    /* Full again, then the port goes with 4096 packets queued. */
    for (uint32_t i = 0; i < MXH_PORT_MAX_PACKETS; i++)
        CHECK_EQ(mxh_port_queue(p, po, i, 0, NULL, 0), MXH_OK);
    CHECK_EQ(mxh_port_queue(p, po, 1, 0, NULL, 0), MXH_ERR_SHOULD_WAIT);
    close_h(p, po);
    close_h(p, e);
    drop_proc(p);
    finish(k);
}

/* ---- 6. port_wait across threads ----------------------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t port;
    int n;
    _Atomic int *got;
    _Atomic uint64_t *keysum;
} consumer_job;

static void *consumer_thread(void *arg) {
    consumer_job *j = arg;
    mxh_packet_t pk;
    for (;;) {
        int64_t rc = mxh_port_wait(j->p, j->port, INF, &pk);
        if (rc == MXH_ERR_CANCELED)
            return NULL;
        CHECK_EQ(rc, MXH_OK);
        if (pk.key == 0)
            return NULL;    /* the stop packet: one per consumer */
        atomic_fetch_add(j->got, 1);
        atomic_fetch_add(j->keysum, pk.key);
    }
}

static void test_port_wait_threads(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 10);
    uint64_t po = port(p);
    port_job j;

    /* Blocked, woken by another thread's queue. */
    start_port_wait(&j, p, po, INF, 0);
    queue_user(p, po, 42, 3, "hi");
    CHECK(pthread_join(j.t, NULL) == 0);
    CHECK_EQ(j.rc, MXH_OK);
    CHECK_EQ(j.pk.key, 42);
    CHECK_EQ(j.pk.status, 3);
    CHECK(memcmp(j.pk.user, "hi", 3) == 0);
    expect_no_packet(p, po);

    /* Woken by an async wait's signal packet. */
    uint64_t e = ev(p);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 9, SIG, ONCE, 0), MXH_OK);
    start_port_wait(&j, p, po, INF, 0);
    sig(p, e, 0, SIG);
    CHECK(pthread_join(j.t, NULL) == 0);
    CHECK_EQ(j.rc, MXH_OK);
    expect_signal_packet(&j.pk, 9, MXH_PKT_TYPE_SIGNAL_ONE, SIG, SIG);

    /* A deadline while blocked. */
    start_port_wait(&j, p, po, after_ms(40), NO_AWAIT);
    CHECK(pthread_join(j.t, NULL) == 0);
    CHECK_EQ(j.rc, MXH_ERR_TIMED_OUT);

    /* Canceled: the handle closed (another handle keeps the port), the
     * handle replaced, the process killed. */
    uint64_t po2 = dup(p, po, MXH_RIGHT_SAME_RIGHTS);
    start_port_wait(&j, p, po2, INF, 0);
    close_h(p, po2);
    CHECK(pthread_join(j.t, NULL) == 0);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    po2 = dup(p, po, MXH_RIGHT_SAME_RIGHTS);
    start_port_wait(&j, p, po2, INF, 0);
    po2 = (uint64_t)OK(mxh_handle_replace(p, po2, MXH_RIGHT_SAME_RIGHTS));
    CHECK(pthread_join(j.t, NULL) == 0);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);
    close_h(p, po2);
    /* The only handle: the port outlives it while the wait holds it. */
    uint64_t lone = port(p);
    start_port_wait(&j, p, lone, INF, 0);
    close_h(p, lone);
    CHECK(pthread_join(j.t, NULL) == 0);
    CHECK_EQ(j.rc, MXH_ERR_CANCELED);

    /* Many consumers, several producers: every packet once. */
    enum { NC = 4, PER = 3000 };
    _Atomic int got = 0;
    _Atomic uint64_t keysum = 0;
    consumer_job cj[NC];
    pthread_t ct[NC];
    for (int i = 0; i < NC; i++) {
        cj[i] = (consumer_job){p, po, 0, &got, &keysum};
        CHECK(pthread_create(&ct[i], NULL, consumer_thread, &cj[i]) == 0);
    }
    uint64_t expect_sum = 0;
    for (int i = 1; i <= PER; i++) {
        int64_t rc;
        while ((rc = mxh_port_queue(p, po, (uint64_t)i, 0, NULL, 0)) ==
               MXH_ERR_SHOULD_WAIT)
            sched_yield();
        CHECK_EQ(rc, MXH_OK);
        expect_sum += (uint64_t)i;
    }
    for (int i = 0; i < NC; i++)
        queue_user(p, po, 0, 0, NULL);
    for (int i = 0; i < NC; i++)
        CHECK(pthread_join(ct[i], NULL) == 0);
    CHECK_EQ(atomic_load(&got), PER);
    CHECK_EQ(atomic_load(&keysum), expect_sum);
    expect_no_packet(p, po);

    /* Blocked consumers end with CANCELED when the process dies. */
    for (int i = 0; i < NC; i++) {
        cj[i] = (consumer_job){p, po, 0, &got, &keysum};
        CHECK(pthread_create(&ct[i], NULL, consumer_thread, &cj[i]) == 0);
    }
    await_waiters(p, po, NC);
    OK(mxh_proc_kill(p));
    for (int i = 0; i < NC; i++)
        CHECK(pthread_join(ct[i], NULL) == 0);
    CHECK_EQ(atomic_load(&got), PER);
    drop_proc(p);
    finish(k);
}

/* A close racing a port_wait that has checked its handle but not yet
 * blocked must still end the wait (CANCELED), never leave it asleep until
 * its deadline. */
typedef struct {
    mxh_proc_t *p;
    uint64_t port;
    int64_t rc;
    _Atomic int *go;
} race_job;

static void *race_port_wait(void *arg) {
    race_job *j = arg;
    mxh_packet_t pk;
    atomic_store(j->go, 1);
    j->rc = mxh_port_wait(j->p, j->port, after_ms(3000), &pk);
    return NULL;
}

static void test_port_wait_close_race(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 11);
    uint64_t s = 4242;
    enum { ROUNDS = 1500 };
    int outcome[3] = {0, 0, 0};    /* canceled, bad handle, other */
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t po = port(p);
        _Atomic int go = 0;
        race_job j = {p, po, 0, &go};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, race_port_wait, &j) == 0);
        uint64_t spins = mxt_rand(&s) % 400;
        while (!atomic_load(&go))
            ;
        for (volatile uint64_t i = 0; i < spins; i++)
            ;
        if (r % 2)
            close_h(p, po);
        else
            close_h(p, (uint64_t)OK(mxh_handle_replace(p, po,
                                                       MXH_RIGHT_SAME_RIGHTS)));
        CHECK(pthread_join(t, NULL) == 0);
        if (j.rc == MXH_ERR_CANCELED)
            outcome[0]++;
        else if (j.rc == MXH_ERR_BAD_HANDLE)
            outcome[1]++;
        else {
            fprintf(stderr, "round %d: port_wait returned %" PRId64 "\n", r,
                    j.rc);
            outcome[2]++;
            break;
        }
    }
    printf("  port_wait vs close: %d canceled, %d closed before the wait\n",
           outcome[0], outcome[1]);
    CHECK_EQ(outcome[2], 0);
    drop_proc(p);
    finish(k);
}

/* ---- 7. async waits: once and repeating -------------------------------------------- */

static void test_async_once(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 12);
    uint64_t po = port(p), e = ev(p);

    /* Not yet asserted: nothing queued; the first assertion queues one
     * packet; later ones nothing. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 7, U0 | U1, ONCE, 0), MXH_OK);
    CHECK_EQ(nwaiters(p, e), 1);
    sig(p, e, 0, U2);
    expect_no_packet(p, po);
    sig(p, e, 0, U1);
    CHECK_EQ(nwaiters(p, e), 0);        /* fired: off the object */
    sig(p, e, U1, U0 | U1);
    mxh_packet_t pk = take(p, po);
    expect_signal_packet(&pk, 7, MXH_PKT_TYPE_SIGNAL_ONE, U0 | U1, U1 | U2);
    CHECK_EQ(pk.observed, U1 | U2);
    expect_no_packet(p, po);

    /* Already asserted: at once. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 8, U0, ONCE, 0), MXH_OK);
    CHECK_EQ(sigs(p, po), READABLE);
    pk = take(p, po);
    expect_signal_packet(&pk, 8, MXH_PKT_TYPE_SIGNAL_ONE, U0, U0 | U1 | U2);
    CHECK_EQ(nwaiters(p, e), 0);
    expect_no_packet(p, po);

    /* Several waits on one object fire in one assertion, FIFO by firing,
     * each with its own key; different ports get their own. */
    uint64_t po2 = port(p);
    sig(p, e, U0 | U1 | U2, 0);
    for (uint64_t key = 100; key < 105; key++)
        CHECK_EQ(mxh_object_wait_async(p, e, key % 2 ? po2 : po, key, SIG,
                                       ONCE, 0), MXH_OK);
    sig(p, e, 0, SIG);
    int n1 = 0, n2 = 0;
    mxh_packet_t pks[5];
    while (mxh_port_wait(p, po, 0, &pks[n1]) == MXH_OK)
        n1++;
    while (mxh_port_wait(p, po2, 0, &pk) == MXH_OK) {
        CHECK(pk.key % 2 == 1);
        n2++;
    }
    CHECK_EQ(n1, 3);
    CHECK_EQ(n2, 2);
    for (int i = 0; i < n1; i++)
        CHECK(pks[i].key % 2 == 0);

    /* A wait through a dup is independent of the original handle. */
    uint64_t e2 = dup(p, e, MXH_RIGHT_READ);
    sig(p, e, SIG, 0);
    CHECK_EQ(mxh_object_wait_async(p, e2, po, 200, SIG, ONCE, 0), MXH_OK);
    close_h(p, e);
    CHECK_EQ(nwaiters(p, e2), 1);
    /* Signal through a new handle to the object (e2 has no WRITE). */
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, e2, 0, 0, &o));
    mxh_object_signal_raw(o, 0, SIG);
    mxh_object_release(o);
    pk = take(p, po);
    expect_signal_packet(&pk, 200, MXH_PKT_TYPE_SIGNAL_ONE, SIG, SIG);

    close_h(p, e2);
    close_h(p, po);
    close_h(p, po2);
    drop_proc(p);
    finish(k);
}

static void test_async_repeating(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 13);
    uint64_t po = port(p), e = ev(p);
    mxh_packet_t pk;

    CHECK_EQ(mxh_object_wait_async(p, e, po, 5, U0, REP, 0), MXH_OK);
    sig(p, e, 0, U0);
    /* While its packet is queued, more assertions queue nothing. */
    sig(p, e, U0, 0);
    sig(p, e, 0, U0);
    sig(p, e, U0, U0);
    pk = take(p, po);
    expect_signal_packet(&pk, 5, MXH_PKT_TYPE_SIGNAL_REP, U0, U0);
    CHECK(pk.count >= 1);
    expect_no_packet(p, po);
    /* Still asserted at the dequeue: no new packet by itself. */
    sig(p, e, 0, U1);               /* another bit rising: not wanted */
    expect_no_packet(p, po);
    CHECK_EQ(nwaiters(p, e), 1);    /* still on the object */
    /* A new assertion after the dequeue: a new packet. */
    sig(p, e, U0, 0);
    expect_no_packet(p, po);
    sig(p, e, 0, U0);
    pk = take(p, po);
    expect_signal_packet(&pk, 5, MXH_PKT_TYPE_SIGNAL_REP, U0, U0 | U1);
    /* Many rounds. */
    for (int i = 0; i < 100; i++) {
        sig(p, e, U0, 0);
        sig(p, e, 0, U0);
        pk = take(p, po);
        CHECK_EQ(pk.key, 5);
        expect_no_packet(p, po);
    }
    /* Asserted already when registered: fires at once. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 6, U1, REP, 0), MXH_OK);
    pk = take(p, po);
    expect_signal_packet(&pk, 6, MXH_PKT_TYPE_SIGNAL_REP, U1, U1);
    /* A rise of U0 only fires key 5's; U1 rising only key 6's. */
    sig(p, e, U0 | U1, 0);
    sig(p, e, 0, U1);
    pk = take(p, po);
    CHECK_EQ(pk.key, 6);
    expect_no_packet(p, po);
    CHECK_EQ(nwaiters(p, e), 2);

    close_h(p, e);                  /* ends both */
    expect_no_packet(p, po);
    close_h(p, po);
    drop_proc(p);
    finish(k);
}

/* ---- 8. async wait and port_cancel errors: the port first ------------------------ */

static void test_async_errors(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 14);
    uint64_t po = port(p), e = ev(p);
    uint64_t po_r = dup(p, po, MXH_RIGHT_READ);      /* no WRITE */
    uint64_t e_w = dup(p, e, MXH_RIGHT_WRITE);       /* no READ */
    const uint64_t bad = 0x12345;

    /* Port: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED (WRITE) before anything
     * about h. */
    CHECK_EQ(mxh_object_wait_async(p, bad, bad, 1, U0, 9, 0),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_wait_async(p, bad, e, 1, U0, 9, 0),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_object_wait_async(p, bad, po_r, 1, U0, 9, 0),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_object_wait_async(p, e_w, bad, 1, U0, ONCE, 0),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_wait_async(p, e_w, e, 1, U0, ONCE, 0),
             MXH_ERR_WRONG_TYPE);
    /* Then h: BAD_HANDLE, ACCESS_DENIED (READ); then options. */
    CHECK_EQ(mxh_object_wait_async(p, bad, po, 1, U0, 9, 0),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_wait_async(p, e_w, po, 1, U0, 9, 0),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 1, U0, 2, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 1, U0, 0xffffffffu, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(nwaiters(p, e), 0);
    /* A port handle without READ still takes packets (WRITE is what the
     * port needs); a watched port needs READ on its handle. */
    uint64_t po_w = dup(p, po, MXH_RIGHT_WRITE);
    CHECK_EQ(mxh_object_wait_async(p, e, po_w, 1, U0, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, po_w, po, 1, U0, ONCE, 0),
             MXH_ERR_ACCESS_DENIED);

    /* port_cancel: the port (BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED), then
     * h (BAD_HANDLE, ACCESS_DENIED), then NOT_FOUND. */
    CHECK_EQ(mxh_port_cancel(p, bad, bad, 1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_port_cancel(p, e, bad, 1), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_port_cancel(p, po_r, bad, 1), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_port_cancel(p, po, bad, 1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_port_cancel(p, po, e_w, 1), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_port_cancel(p, po, e, 2), MXH_ERR_NOT_FOUND);
    CHECK_EQ(mxh_port_cancel(p, po, e, 1), MXH_OK);
    CHECK_EQ(mxh_port_cancel(p, po, e, 1), MXH_ERR_NOT_FOUND);
    CHECK_EQ(nwaiters(p, e), 0);

    /* A dead process: BAD_STATE before anything. */
    OK(mxh_proc_kill(p));
    CHECK_EQ(mxh_object_wait_async(p, bad, bad, 1, U0, 9, 0),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_port_cancel(p, bad, bad, 1), MXH_ERR_BAD_STATE);
    drop_proc(p);
    finish(k);
}

/* ---- 9. what ends an async wait --------------------------------------------------- */

static void test_async_end(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 15);
    mxh_proc_t *q = new_proc(k, 16);
    uint64_t po = port(p), e = ev(p);
    uint64_t keep = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    mxh_packet_t pk;

    /* Closing the watched handle ends the wait; its queued packet stays. */
    uint64_t h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 1, U0, REP, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 2, U1, ONCE, 0), MXH_OK);
    sig(p, keep, 0, U0);
    close_h(p, h);
    CHECK_EQ(nwaiters(p, keep), 0);
    sig(p, keep, U0, U0 | U1);          /* would have fired both */
    pk = take(p, po);
    expect_signal_packet(&pk, 1, MXH_PKT_TYPE_SIGNAL_REP, U0, U0);
    expect_no_packet(p, po);
    sig(p, keep, U0 | U1, 0);

    /* A once-wait that already fired is off the object: its packet stays
     * after the close too. */
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 3, U2, ONCE, 0), MXH_OK);
    sig(p, keep, 0, U2);
    close_h(p, h);
    pk = take(p, po);
    expect_signal_packet(&pk, 3, MXH_PKT_TYPE_SIGNAL_ONE, U2, U2);
    sig(p, keep, U2, 0);

    /* Replaced, moved away, sent in a message: each ends the wait. */
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 4, U0, REP, 0), MXH_OK);
    h = (uint64_t)OK(mxh_handle_replace(p, h, MXH_RIGHT_SAME_RIGHTS));
    CHECK_EQ(nwaiters(p, keep), 0);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 5, U0, REP, 0), MXH_OK);
    uint64_t hq = (uint64_t)OK(mxh_handle_move(p, h, q));
    CHECK_EQ(nwaiters(p, keep), 0);
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 6, U0, ONCE, 0), MXH_OK);
    uint32_t c[2];
    new_pair(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c);
    CHECK_EQ(mxh_channel_write(p, c[0], "m", 1, &h, 1), MXH_OK);
    CHECK_EQ(nwaiters(p, keep), 0);
    sig(p, keep, 0, U0);
    expect_no_packet(p, po);
    sig(p, keep, U0, 0);
    close_h(p, c[0]);
    close_h(p, c[1]);

    /* notify_cancel: a CANCELED packet instead of silence. */
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 7, U0, ONCE, 1), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 8, U0, REP, 1), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 9, U0, ONCE, 0), MXH_OK);
    close_h(p, h);
    mxh_packet_t c1 = take(p, po), c2 = take(p, po);
    CHECK_EQ(c1.key + c2.key, 15);
    expect_cancel_packet(&c1, c1.key);
    expect_cancel_packet(&c2, c2.key);
    CHECK_EQ((c1.key == 7 ? c1 : c2).type, MXH_PKT_TYPE_SIGNAL_ONE);
    CHECK_EQ((c1.key == 8 ? c1 : c2).type, MXH_PKT_TYPE_SIGNAL_REP);
    expect_no_packet(p, po);
    /* With its packet still queued the wait has nothing more to say; the
     * signal packet stays first. */
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 10, U0, REP, 1), MXH_OK);
    sig(p, keep, 0, U0);
    close_h(p, h);
    pk = take(p, po);
    expect_signal_packet(&pk, 10, MXH_PKT_TYPE_SIGNAL_REP, U0, U0);
    if (mxh_port_wait(p, po, 0, &pk) == MXH_OK)
        expect_cancel_packet(&pk, 10);
    expect_no_packet(p, po);
    sig(p, keep, U0, 0);
    /* A fired once-wait has ended: closing its handle says nothing. */
    h = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_object_wait_async(p, h, po, 11, U0, ONCE, 1), MXH_OK);
    sig(p, keep, 0, U0);
    pk = take(p, po);
    expect_signal_packet(&pk, 11, MXH_PKT_TYPE_SIGNAL_ONE, U0, U0);
    close_h(p, h);
    expect_no_packet(p, po);
    sig(p, keep, U0, 0);

    /* The owner dies: its waits end (CANCELED packets where asked) in a
     * port another process still holds. */
    mxh_proc_t *r = new_proc(k, 17);
    uint64_t rport = port(r);
    uint64_t rev = share(p, e, r);
    uint64_t pport = share(r, rport, p);
    uint64_t pev = share(r, rev, p);
    CHECK_EQ(mxh_object_wait_async(p, pev, pport, 20, U3, ONCE, 1), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, pev, pport, 21, U3, REP, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(r, rev, rport, 22, U3, REP, 0), MXH_OK);
    OK(mxh_proc_kill(p));
    CHECK_EQ(nwaiters(r, rev), 1);      /* r's own wait is still there */
    sig(r, rev, 0, U3);
    mxh_packet_t a = take(r, rport), b = take(r, rport);
    expect_cancel_packet(&a, 20);
    expect_signal_packet(&b, 22, MXH_PKT_TYPE_SIGNAL_REP, U3, U3);
    expect_no_packet(r, rport);

    close_h(r, rev);
    close_h(r, rport);
    close_h(q, hq);
    drop_proc(r);
    drop_proc(q);
    drop_proc(p);
    finish(k);
}

/* ---- 10. port_cancel ---------------------------------------------------------------- */

static void test_port_cancel(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 18);
    uint64_t po = port(p), po2 = port(p), e = ev(p), f = ev(p);
    mxh_packet_t pk;

    /* A pending wait: ended, nothing queued later. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 1, U0, REP, 0), MXH_OK);
    CHECK_EQ(mxh_port_cancel(p, po, e, 1), MXH_OK);
    CHECK_EQ(nwaiters(p, e), 0);
    sig(p, e, 0, U0);
    expect_no_packet(p, po);
    CHECK_EQ(mxh_port_cancel(p, po, e, 1), MXH_ERR_NOT_FOUND);
    sig(p, e, U0, 0);

    /* A repeating wait with its packet queued: both go. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 2, U0, REP, 0), MXH_OK);
    sig(p, e, 0, U0);
    CHECK_EQ(sigs(p, po), READABLE);
    CHECK_EQ(mxh_port_cancel(p, po, e, 2), MXH_OK);
    expect_no_packet(p, po);
    sig(p, e, U0, U0);
    expect_no_packet(p, po);
    sig(p, e, U0, 0);

    /* A once-wait that fired: its packet goes (the wait is already off the
     * object), then NOT_FOUND. */
    CHECK_EQ(mxh_object_wait_async(p, e, po, 3, U0, ONCE, 0), MXH_OK);
    sig(p, e, 0, U0);
    CHECK_EQ(nwaiters(p, e), 0);
    CHECK_EQ(mxh_port_cancel(p, po, e, 3), MXH_OK);
    expect_no_packet(p, po);
    CHECK_EQ(mxh_port_cancel(p, po, e, 3), MXH_ERR_NOT_FOUND);
    sig(p, e, U0, 0);

    /* Only the matching (port, handle, key): other keys, other handles to
     * the same object, other ports and user packets stay, in order. */
    uint64_t e2 = dup(p, e, MXH_RIGHT_SAME_RIGHTS);
    queue_user(p, po, 4, 0, "u1");
    CHECK_EQ(mxh_object_wait_async(p, e, po, 4, U1, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 5, U1, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e2, po, 4, U1, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e, po2, 4, U1, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, f, po, 4, U1, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 4, U2, REP, 0), MXH_OK);
    sig(p, e, 0, U1);
    sig(p, f, 0, U1);
    queue_user(p, po, 4, 0, "u2");
    CHECK_EQ(mxh_port_cancel(p, po, e, 4), MXH_OK);  /* both key-4 waits */
    CHECK_EQ(nwaiters(p, e), 0);
    pk = take(p, po);
    CHECK_EQ(pk.type, MXH_PKT_TYPE_USER);
    CHECK(memcmp(pk.user, "u1", 3) == 0);
    int seen4 = 0, seen5 = 0;
    for (int i = 0; i < 3; i++) {   /* e2's, f's and the other key */
        pk = take(p, po);
        expect_signal_packet(&pk, pk.key, MXH_PKT_TYPE_SIGNAL_ONE, U1, U1);
        seen4 += pk.key == 4;
        seen5 += pk.key == 5;
    }
    CHECK_EQ(seen4, 2);
    CHECK_EQ(seen5, 1);
    pk = take(p, po);
    CHECK_EQ(pk.type, MXH_PKT_TYPE_USER);
    CHECK(memcmp(pk.user, "u2", 3) == 0);
    expect_no_packet(p, po);
    pk = take(p, po2);
    CHECK_EQ(pk.key, 4);
    expect_no_packet(p, po2);

    /* No CANCELED packet for a wait canceled on request. */
    sig(p, e, U1, 0);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 6, U0, ONCE, 1), MXH_OK);
    CHECK_EQ(mxh_port_cancel(p, po, e, 6), MXH_OK);
    close_h(p, e);
    expect_no_packet(p, po);

    /* Through the port watching itself. */
    CHECK_EQ(mxh_object_wait_async(p, po, po, 7, READABLE, REP, 0), MXH_OK);
    queue_user(p, po, 70, 0, NULL);
    CHECK_EQ(mxh_port_cancel(p, po, po, 7), MXH_OK);
    pk = take(p, po);
    CHECK_EQ(pk.key, 70);
    expect_no_packet(p, po);
    CHECK_EQ(nwaiters(p, po), 0);

    close_h(p, e2);
    close_h(p, f);
    close_h(p, po);
    close_h(p, po2);
    drop_proc(p);
    finish(k);
}

/* ---- 11. a port destroyed under its async waits ------------------------------------ */

static void test_port_destroyed(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 19);
    uint64_t e = ev(p), f = ev(p), g = ev(p);

    /* Waits pending on e and f, a fired once-wait and a queued repeating
     * packet from g, a user packet: then the port's last handle goes. */
    uint64_t po = port(p);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 1, U0, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 2, U0, REP, 1), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, f, po, 3, U0, REP, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, g, po, 4, U0, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, g, po, 5, U0, REP, 0), MXH_OK);
    sig(p, g, 0, U0);
    queue_user(p, po, 6, 0, "u");
    close_h(p, po);
    mxh_stats_t s;
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.live_objects[MXH_STATS_PORT], 0);
    CHECK_EQ(nwaiters(p, e), 2);
    CHECK_EQ(nwaiters(p, g), 1);
    /* Their next firing ends them (nothing to queue into). */
    sig(p, e, 0, U0);
    CHECK_EQ(nwaiters(p, e), 0);
    sig(p, g, U0, 0);
    sig(p, g, 0, U0);
    CHECK_EQ(nwaiters(p, g), 0);
    /* f's wait has not fired: closing f ends it (no CANCELED packet to a
     * dead port). */
    CHECK_EQ(nwaiters(p, f), 1);
    close_h(p, f);

    /* A dead port's notify_cancel waits end quietly on close too, and a
     * port_cancel through a new port finds nothing. */
    po = port(p);
    uint64_t po2 = port(p);
    CHECK_EQ(mxh_object_wait_async(p, e, po, 7, U3, ONCE, 1), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, e, po2, 7, U3, ONCE, 1), MXH_OK);
    close_h(p, po);
    CHECK_EQ(mxh_port_cancel(p, po2, e, 8), MXH_ERR_NOT_FOUND);
    close_h(p, e);                      /* both end; po2 gets one packet */
    mxh_packet_t pk = take(p, po2);
    expect_cancel_packet(&pk, 7);
    expect_no_packet(p, po2);
    close_h(p, po2);

    /* Many ports dying under many waits, then the process dies. */
    uint64_t ports[16];
    for (int i = 0; i < 16; i++) {
        ports[i] = port(p);
        for (int j = 0; j < 8; j++)
            CHECK_EQ(mxh_object_wait_async(p, g, ports[i], (uint64_t)j,
                                           U1 << (j % 3), j % 2 ? REP : ONCE,
                                           j % 3 == 0), MXH_OK);
    }
    sig(p, g, 0, U1);
    for (int i = 0; i < 16; i += 2)
        close_h(p, ports[i]);
    sig(p, g, U1, U1 | U2 | U3);
    for (int i = 1; i < 16; i += 2)
        CHECK(mxh_port_wait(p, ports[i], 0, &pk) == MXH_OK);
    drop_proc(p);
    finish(k);
}

/* ---- 12. ports watching ports -------------------------------------------------------- */

static void test_port_watch_port(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 20);
    mxh_packet_t pk;

    /* A watches B. */
    uint64_t a = port(p), b = port(p);
    CHECK_EQ(mxh_object_wait_async(p, b, a, 1, READABLE, REP, 0), MXH_OK);
    queue_user(p, b, 100, 0, NULL);
    pk = take(p, a);
    expect_signal_packet(&pk, 1, MXH_PKT_TYPE_SIGNAL_REP, READABLE, READABLE);
    queue_user(p, b, 101, 0, NULL);     /* B was not empty: no new edge */
    expect_no_packet(p, a);
    CHECK_EQ(take(p, b).key, 100);
    CHECK_EQ(take(p, b).key, 101);
    queue_user(p, b, 102, 0, NULL);     /* a new edge */
    CHECK_EQ(take(p, a).key, 1);
    CHECK_EQ(take(p, b).key, 102);
    /* B's user signals too. */
    CHECK_EQ(mxh_object_wait_async(p, b, a, 2, U0, ONCE, 0), MXH_OK);
    sig(p, b, 0, U0);
    pk = take(p, a);
    expect_signal_packet(&pk, 2, MXH_PKT_TYPE_SIGNAL_ONE, U0, U0);
    CHECK_EQ(mxh_port_cancel(p, a, b, 1), MXH_OK);

    /* A port watching itself: its own packet follows the one that made it
     * readable; taking both clears READABLE; the next edge fires again. */
    uint64_t s = port(p);
    CHECK_EQ(mxh_object_wait_async(p, s, s, 9, READABLE, REP, 0), MXH_OK);
    for (int round = 0; round < 3; round++) {
        queue_user(p, s, 90, 0, NULL);
        CHECK_EQ(take(p, s).key, 90);
        CHECK_EQ(sigs(p, s), READABLE);
        pk = take(p, s);
        expect_signal_packet(&pk, 9, MXH_PKT_TYPE_SIGNAL_REP, READABLE,
                             READABLE);
        expect_no_packet(p, s);
    }
    /* ... and for its user signal, once; then the wait is gone. */
    CHECK_EQ(mxh_object_wait_async(p, s, s, 10, U1, ONCE, 1), MXH_OK);
    sig(p, s, 0, U1);
    pk = take(p, s);            /* key 10 first: the readable edge is next */
    CHECK_EQ(pk.key, 10);
    CHECK_EQ(take(p, s).key, 9);
    expect_no_packet(p, s);
    /* Already readable when the self-wait comes: at once. */
    queue_user(p, s, 91, 0, NULL);
    CHECK_EQ(take(p, s).key, 91);
    CHECK_EQ(take(p, s).key, 9);
    queue_user(p, s, 92, 0, NULL);
    CHECK_EQ(mxh_object_wait_async(p, s, s, 11, READABLE, ONCE, 1), MXH_OK);
    /* Closing its only handle with a CANCELED packet due into itself. */
    close_h(p, s);

    /* Two ports watching each other: one edge each, then quiet. */
    uint64_t x = port(p), y = port(p);
    CHECK_EQ(mxh_object_wait_async(p, x, y, 1, READABLE, REP, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, y, x, 2, READABLE, REP, 0), MXH_OK);
    queue_user(p, x, 50, 0, NULL);
    CHECK_EQ(take(p, x).key, 50);
    CHECK_EQ(take(p, x).key, 2);        /* y's edge came back to x */
    expect_no_packet(p, x);
    CHECK_EQ(take(p, y).key, 1);
    expect_no_packet(p, y);
    close_h(p, x);                      /* y's wait on x ends */
    queue_user(p, y, 51, 0, NULL);      /* x is gone: nothing to fire */
    CHECK_EQ(take(p, y).key, 51);
    expect_no_packet(p, y);
    close_h(p, y);

    /* A long chain: P[i] watches P[i+1]; one packet at the far end runs
     * the whole chain without recursion, and again after draining. */
    enum { N = 20000 };
    uint64_t *ch = malloc(N * sizeof *ch);
    CHECK(ch);
    for (int i = 0; i < N; i++)
        ch[i] = port(p);
    for (int i = 0; i + 1 < N; i++)
        CHECK_EQ(mxh_object_wait_async(p, ch[i + 1], ch[i], (uint64_t)i,
                                       READABLE, REP, 0), MXH_OK);
    for (int round = 0; round < 2; round++) {
        queue_user(p, ch[N - 1], 777, 0, NULL);
        for (int i = 0; i + 1 < N; i++) {
            pk = take(p, ch[i]);
            CHECK_EQ(pk.key, i);
            CHECK_EQ(pk.type, MXH_PKT_TYPE_SIGNAL_REP);
        }
        for (int i = 0; i < N; i += N / 7)
            if (i + 1 < N)
                expect_no_packet(p, ch[i]);
        CHECK_EQ(take(p, ch[N - 1]).key, 777);
    }
    /* A ring of them: one packet and the ring is quiet after one turn. */
    CHECK_EQ(mxh_object_wait_async(p, ch[0], ch[N - 1], N, READABLE, REP, 0),
             MXH_OK);
    queue_user(p, ch[N - 1], 778, 0, NULL);
    CHECK_EQ(take(p, ch[N - 1]).key, 778);
    CHECK_EQ(take(p, ch[N - 1]).key, N);
    expect_no_packet(p, ch[N - 1]);
    for (int i = 0; i + 1 < N; i++)
        CHECK_EQ(take(p, ch[i]).key, i);
    /* The chain dies from its far end inward and from the middle. */
    close_h(p, ch[N / 2]);
    for (int i = N - 1; i > N / 2; i--)
        close_h(p, ch[i]);
    queue_user(p, ch[N / 2 - 1], 1, 0, NULL);   /* fires down to ch[0] */
    CHECK_EQ(take(p, ch[0]).key, 0);
    free(ch);
    drop_proc(p);               /* the rest with the process */
    finish(k);
}

/* Async waits on a port firing other waits back into it while the core
 * walks that port's waiters: every wait still fires or ends exactly as
 * it should, and none is left behind. */
static void test_port_reentrant(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 21);
    mxh_packet_t pk;

    /* A user signal on A fires X into B; B's readable edge fires W back
     * into A, whose readable edge fires Y (a once-wait, gone from A's list
     * in the middle of the walk); Z, later in the walk, must still fire. */
    uint64_t a = port(p), b = port(p), c = port(p), d = port(p);
    CHECK_EQ(mxh_object_wait_async(p, a, d, 3, U0, REP, 0), MXH_OK);       /* Z */
    CHECK_EQ(mxh_object_wait_async(p, a, c, 2, READABLE, ONCE, 0), MXH_OK); /* Y */
    CHECK_EQ(mxh_object_wait_async(p, a, b, 1, U0, ONCE, 0), MXH_OK);      /* X */
    CHECK_EQ(mxh_object_wait_async(p, b, a, 4, READABLE, ONCE, 0), MXH_OK); /* W */
    sig(p, a, 0, U0);
    CHECK_EQ(take(p, b).key, 1);
    CHECK_EQ(take(p, a).key, 4);
    CHECK_EQ(take(p, c).key, 2);
    pk = take(p, d);
    expect_signal_packet(&pk, 3, MXH_PKT_TYPE_SIGNAL_REP, U0, U0);
    expect_no_packet(p, a);
    expect_no_packet(p, b);
    expect_no_packet(p, c);
    expect_no_packet(p, d);
    CHECK_EQ(nwaiters(p, a), 1);        /* Z */

    /* Closing A's handle: X' queues its CANCELED packet into A itself,
     * whose edge fires Y' (through another handle) off A's list in the
     * middle of the cancel walk; Z' and the waits after it must still
     * end. */
    uint64_t a2 = dup(p, a, MXH_RIGHT_SAME_RIGHTS);
    CHECK_EQ(mxh_port_cancel(p, d, a, 3), MXH_OK);
    sig(p, a, U0, 0);
    CHECK_EQ(mxh_object_wait_async(p, a, d, 13, U1, REP, 1), MXH_OK);      /* Z2 */
    CHECK_EQ(mxh_object_wait_async(p, a, d, 14, U1, ONCE, 0), MXH_OK);     /* Z1 */
    CHECK_EQ(mxh_object_wait_async(p, a2, c, 12, READABLE, ONCE, 0), MXH_OK); /* Y' */
    CHECK_EQ(mxh_object_wait_async(p, a, a, 11, U0, ONCE, 1), MXH_OK);     /* X' */
    close_h(p, a);
    CHECK_EQ(nwaiters(p, a2), 0);
    pk = take(p, a2);
    expect_cancel_packet(&pk, 11);
    CHECK_EQ(take(p, c).key, 12);
    pk = take(p, d);
    expect_cancel_packet(&pk, 13);      /* Z2 ended with notify_cancel */
    expect_no_packet(p, d);
    sig(p, a2, 0, U1);                  /* Z1, Z2 must be gone */
    expect_no_packet(p, d);
    expect_no_packet(p, c);

    /* The same with threads blocked on A: a port_wait and a wait_one
     * through the closing handle must end too. */
    uint64_t a3 = dup(p, a2, MXH_RIGHT_SAME_RIGHTS);
    port_job pj;
    one_job oj;
    start_port_wait(&pj, p, a3, INF, 0);
    start_one(&oj, p, a3, U3, after_ms(20000), 1);   /* not INF: fail, not hang */
    CHECK_EQ(mxh_object_wait_async(p, a2, c, 22, READABLE, ONCE, 0), MXH_OK);
    CHECK_EQ(mxh_object_wait_async(p, a3, a2, 21, U0, ONCE, 1), MXH_OK);
    close_h(p, a3);
    CHECK(pthread_join(oj.t, NULL) == 0);
    CHECK(pthread_join(pj.t, NULL) == 0);
    CHECK_EQ(oj.rc, MXH_ERR_CANCELED);
    /* The port_wait may have taken the CANCELED packet first. */
    if (pj.rc == MXH_OK) {
        expect_cancel_packet(&pj.pk, 21);
    } else {
        CHECK_EQ(pj.rc, MXH_ERR_CANCELED);
        pk = take(p, a2);
        expect_cancel_packet(&pk, 21);
    }
    CHECK_EQ(take(p, c).key, 22);
    CHECK_EQ(nwaiters(p, a2), 0);

    close_h(p, a2);
    close_h(p, b);
    close_h(p, c);
    close_h(p, d);
    drop_proc(p);
    finish(k);
}

/* ---- 13. stress --------------------------------------------------------------------- */

#define NEV 8
#define NPORT 3
#define NCHURN 8
#define USER_KEY (1ull << 63)

typedef struct {
    mxh_kernel_t *k;
    mxh_proc_t *p;
    uint64_t ev[NEV];
    uint64_t port[NPORT];
    _Atomic uint64_t churn[NCHURN];   /* handles the churner replaces */
    _Atomic int stop;
    _Atomic uint64_t queued[NPORT];   /* user packets accepted */
    _Atomic uint64_t got_user[NPORT];
    _Atomic uint64_t got_signal;
    _Atomic uint64_t got_cancel;
    _Atomic uint64_t next_key;
    _Atomic uint64_t outcomes[8];     /* ok, timed out, canceled, bad handle */
} world;

typedef struct {
    world *w;
    uint64_t seed;
    int iters;
    int index;
} actor;

static void count(world *w, int64_t rc) {
    int i = rc >= 0 ? 0 : rc == MXH_ERR_TIMED_OUT ? 1
          : rc == MXH_ERR_CANCELED ? 2 : rc == MXH_ERR_BAD_HANDLE ? 3 : 4;
    atomic_fetch_add(&w->outcomes[i], 1);
}

static void *st_signaler(void *arg) {
    actor *a = arg;
    world *w = a->w;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        uint32_t bit = U0 << (r % 4);
        if ((r >> 8) % 8 == 0) {
            int64_t rc = mxh_object_signal(w->p, w->port[(r >> 12) % NPORT],
                                           (r >> 16) & 1 ? bit : 0, bit, 0);
            CHECK_EQ(rc, MXH_OK);
        } else {
            uint64_t e = w->ev[(r >> 12) % NEV];
            uint32_t set = (r >> 16) & 1 ? bit : 0;
            CHECK_EQ(mxh_object_signal(w->p, e, set ? 0 : bit, set, 0), MXH_OK);
        }
        if (i % 64 == 0)
            sched_yield();
    }
    return NULL;
}

static void *st_waiter(void *arg) {
    actor *a = arg;
    world *w = a->w;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        uint64_t dl = (r >> 40) % 4 == 0 ? 0 : now_ns() + (r >> 20) % 200000;
        if (r % 3 == 0) {
            uint64_t hs[3];
            uint32_t want[3], obs[3];
            size_t n = (size_t)((r >> 4) % 4);
            for (size_t j = 0; j < n; j++) {
                hs[j] = w->ev[(r >> (8 + 4 * j)) % NEV];
                want[j] = U0 << ((r >> (24 + 2 * j)) % 4);
            }
            int64_t rc = mxh_object_wait_many(w->p, hs, want, n, dl, obs);
            CHECK(rc == MXH_OK || rc == MXH_ERR_TIMED_OUT);
            if (rc == MXH_ERR_TIMED_OUT)
                for (size_t j = 0; j < n; j++)
                    CHECK_EQ(obs[j] & want[j], 0);
            count(w, rc);
        } else {
            uint64_t h = r % 3 == 1 ? w->ev[(r >> 8) % NEV]
                                    : atomic_load(&w->churn[(r >> 8) % NCHURN]);
            uint32_t want = U0 << ((r >> 16) % 4);
            uint32_t obs = 0;
            int64_t rc = mxh_object_wait_one(w->p, h, want, dl, &obs);
            if (rc >= 0) {
                CHECK_EQ(rc, obs);
                CHECK(obs & want);
            } else if (rc == MXH_ERR_TIMED_OUT) {
                CHECK_EQ(obs & want, 0);
            } else {
                /* Only the churned handles may go. */
                CHECK(r % 3 == 2);
                CHECK(rc == MXH_ERR_CANCELED || rc == MXH_ERR_BAD_HANDLE);
            }
            count(w, rc);
        }
    }
    return NULL;
}

/* Replaces, closes and recreates the churned handles (dups of events). */
static void *st_churner(void *arg) {
    actor *a = arg;
    world *w = a->w;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        int j = (int)(r % NCHURN);
        uint64_t h = atomic_load(&w->churn[j]);
        if ((r >> 8) % 2) {
            int64_t v = OK(mxh_handle_replace(w->p, h, MXH_RIGHT_SAME_RIGHTS));
            atomic_store(&w->churn[j], (uint64_t)v);
        } else {
            uint64_t v = dup(w->p, w->ev[(r >> 16) % NEV], MXH_RIGHT_SAME_RIGHTS);
            atomic_store(&w->churn[j], v);
            close_h(w->p, h);
        }
        if (i % 16 == 0)
            sched_yield();
    }
    return NULL;
}

/* Registers async waits (on events, churned handles and the ports
 * themselves) and cancels some of them. */
static void *st_registrar(void *arg) {
    actor *a = arg;
    world *w = a->w;
    uint64_t s = a->seed;
    uint64_t recent[16][2] = {{0}};
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        uint64_t po = w->port[r % NPORT];
        if ((r >> 4) % 4 == 0) {
            uint64_t *c = recent[(r >> 8) % 16];
            if (c[1] == 0)
                continue;
            int64_t rc = mxh_port_cancel(w->p, po, c[0], c[1]);
            CHECK(rc == MXH_OK || rc == MXH_ERR_NOT_FOUND ||
                  rc == MXH_ERR_BAD_HANDLE);
            continue;
        }
        int what = (int)((r >> 8) % 8);
        uint64_t h = what < 5 ? w->ev[(r >> 12) % NEV]
                   : what < 7 ? atomic_load(&w->churn[(r >> 12) % NCHURN])
                   : w->port[(r >> 12) % NPORT];
        uint32_t want = what == 7 && (r >> 20) % 2 ? READABLE
                                                   : U0 << ((r >> 24) % 4);
        uint64_t key = atomic_fetch_add(&w->next_key, 1);
        int64_t rc = mxh_object_wait_async(w->p, h, po, key, want,
                                           (r >> 28) % 2 ? REP : ONCE,
                                           (r >> 30) % 2);
        if (rc == MXH_ERR_BAD_HANDLE) {
            CHECK(what >= 5 && what < 7);
            continue;
        }
        CHECK_EQ(rc, MXH_OK);
        uint64_t *c = recent[(r >> 32) % 16];
        c[0] = h;
        c[1] = key;
    }
    return NULL;
}

static void *st_queuer(void *arg) {
    actor *a = arg;
    world *w = a->w;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        int j = (int)(r % NPORT);
        int64_t rc = mxh_port_queue(w->p, w->port[j], USER_KEY | (uint64_t)i,
                                    a->index, &r, sizeof r);
        if (rc == MXH_OK)
            atomic_fetch_add(&w->queued[j], 1);
        else
            CHECK_EQ(rc, MXH_ERR_SHOULD_WAIT);
    }
    return NULL;
}

static void take_packet(world *w, int j, const mxh_packet_t *pk) {
    if (pk->type == MXH_PKT_TYPE_USER) {
        CHECK(pk->key & USER_KEY);
        atomic_fetch_add(&w->got_user[j], 1);
        return;
    }
    CHECK(pk->type == MXH_PKT_TYPE_SIGNAL_ONE ||
          pk->type == MXH_PKT_TYPE_SIGNAL_REP);
    CHECK(!(pk->key & USER_KEY));
    if (pk->status == MXH_ERR_CANCELED) {
        atomic_fetch_add(&w->got_cancel, 1);
    } else {
        CHECK_EQ(pk->status, MXH_OK);
        CHECK(pk->observed & pk->trigger);
        CHECK_EQ(pk->count, 1);
        atomic_fetch_add(&w->got_signal, 1);
    }
}

static void *st_consumer(void *arg) {
    actor *a = arg;
    world *w = a->w;
    int j = a->index;
    mxh_packet_t pk;
    while (!atomic_load(&w->stop)) {
        int64_t rc = mxh_port_wait(w->p, w->port[j], now_ns() + 2 * MS, &pk);
        if (rc == MXH_ERR_TIMED_OUT)
            continue;
        CHECK_EQ(rc, MXH_OK);
        take_packet(w, j, &pk);
    }
    return NULL;
}

/* Processes that live briefly: threads blocked in them die with them. */
static void *st_killer(void *arg) {
    actor *a = arg;
    world *w = a->w;
    uint64_t s = a->seed;
    for (int i = 0; i < a->iters; i++) {
        uint64_t r = mxt_rand(&s);
        mxh_proc_t *q = new_proc(w->k, 1000 + (uint64_t)i);
        uint64_t qe = share(w->p, w->ev[r % NEV], q);
        uint64_t qp = share(w->p, w->port[(r >> 8) % NPORT], q);
        CHECK_EQ(mxh_object_wait_async(q, qe, qp, 1, U0, (r >> 12) % 2 ? REP
                                       : ONCE, 1), MXH_OK);
        one_job oj;
        memset(&oj, 0, sizeof oj);
        oj.p = q;
        oj.h = qe;
        oj.signals = 1u << 30;          /* nobody sets it */
        oj.deadline = INF;
        port_job pj;
        memset(&pj, 0, sizeof pj);
        pj.p = q;
        pj.port = ev(q);                /* an event: wrong type, at once */
        pj.port = (r >> 16) % 2 ? qp : pj.port;
        pj.deadline = INF;
        many_job mj;
        memset(&mj, 0, sizeof mj);
        mj.p = q;
        mj.deadline = INF;
        CHECK(pthread_create(&oj.t, NULL, one_thread, &oj) == 0);
        CHECK(pthread_create(&pj.t, NULL, port_thread, &pj) == 0);
        CHECK(pthread_create(&mj.t, NULL, many_thread, &mj) == 0);
        for (uint64_t y = 0; y < (r >> 20) % 50; y++)
            sched_yield();
        OK(mxh_proc_kill(q));
        CHECK(pthread_join(oj.t, NULL) == 0);
        CHECK(pthread_join(pj.t, NULL) == 0);
        CHECK(pthread_join(mj.t, NULL) == 0);
        CHECK(oj.rc == MXH_ERR_CANCELED || oj.rc == MXH_ERR_BAD_STATE);
        CHECK(mj.rc == MXH_ERR_CANCELED || mj.rc == MXH_ERR_BAD_STATE);
        CHECK(pj.rc == MXH_ERR_CANCELED || pj.rc == MXH_ERR_BAD_STATE ||
              pj.rc == MXH_ERR_WRONG_TYPE || pj.rc == MXH_OK);
        if (pj.rc == MXH_OK)            /* took a packet meant for others */
            take_packet(w, (int)((r >> 8) % NPORT), &pj.pk);
        mxh_object_release(mxh_proc_object(q));
    }
    return NULL;
}

static void test_stress(void) {
    world *w = calloc(1, sizeof *w);
    CHECK(w);
    w->k = new_kernel();
    w->p = new_proc(w->k, 99);
    for (int i = 0; i < NEV; i++)
        w->ev[i] = ev(w->p);
    for (int i = 0; i < NPORT; i++)
        w->port[i] = port(w->p);
    for (int i = 0; i < NCHURN; i++)
        atomic_store(&w->churn[i], dup(w->p, w->ev[i % NEV],
                                       MXH_RIGHT_SAME_RIGHTS));
    atomic_store(&w->next_key, 1);

    enum { NSIG = 2, NWAIT = 3, NREG = 2, NQ = 2 };
    struct { void *(*fn)(void *); int n, iters; } kinds[] = {
        {st_signaler, NSIG, 20000},
        {st_waiter, NWAIT, 4000},
        {st_churner, 1, 8000},
        {st_registrar, NREG, 4000},
        {st_queuer, NQ, 6000},
        {st_killer, 1, 60},
    };
    enum { NT = NSIG + NWAIT + 1 + NREG + NQ + 1 };
    pthread_t t[NT], ct[NPORT];
    actor acts[NT], cacts[NPORT];
    int n = 0;
    for (int i = 0; i < NPORT; i++) {
        cacts[i] = (actor){w, 0, 0, i};
        CHECK(pthread_create(&ct[i], NULL, st_consumer, &cacts[i]) == 0);
    }
    for (size_t kd = 0; kd < sizeof kinds / sizeof kinds[0]; kd++)
        for (int i = 0; i < kinds[kd].n; i++, n++) {
            acts[n] = (actor){w, 7919u * (uint64_t)(n + 1), kinds[kd].iters, i};
            CHECK(pthread_create(&t[n], NULL, kinds[kd].fn, &acts[n]) == 0);
        }
    CHECK_EQ(n, NT);
    for (int i = 0; i < NT; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    atomic_store(&w->stop, 1);
    for (int i = 0; i < NPORT; i++)
        CHECK(pthread_join(ct[i], NULL) == 0);

    /* Drain: every user packet accepted was taken exactly once. */
    mxh_packet_t pk;
    for (int j = 0; j < NPORT; j++) {
        while (mxh_port_wait(w->p, w->port[j], 0, &pk) == MXH_OK)
            take_packet(w, j, &pk);
        CHECK_EQ(atomic_load(&w->got_user[j]), atomic_load(&w->queued[j]));
    }
    printf("  stress: waits %" PRIu64 " ok / %" PRIu64 " timed out / %" PRIu64
           " canceled / %" PRIu64 " bad handle; packets %" PRIu64 " user, %"
           PRIu64 " signal, %" PRIu64 " canceled\n",
           atomic_load(&w->outcomes[0]), atomic_load(&w->outcomes[1]),
           atomic_load(&w->outcomes[2]), atomic_load(&w->outcomes[3]),
           atomic_load(&w->got_user[0]) + atomic_load(&w->got_user[1]) +
               atomic_load(&w->got_user[2]),
           atomic_load(&w->got_signal), atomic_load(&w->got_cancel));
    CHECK_EQ(atomic_load(&w->outcomes[4]), 0);
    CHECK(atomic_load(&w->got_signal) > 0);

    /* Everything goes: half the handles closed by hand, the rest with the
     * process; async waits and queued packets with them. */
    for (int i = 0; i < NCHURN; i++)
        close_h(w->p, atomic_load(&w->churn[i]));
    for (int i = 0; i < NEV; i += 2)
        close_h(w->p, w->ev[i]);
    close_h(w->p, w->port[0]);
    mxh_kernel_t *k = w->k;
    drop_proc(w->p);
    free(w);
    finish(k);
}

/* wait_many racing two signalers, one per item: the item found asserted
 * while registering and the item woken meanwhile both finish it. */
typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    _Atomic int *phase;
    int rounds;
    uint32_t bit;
} pulse_job;

static void *pulser(void *arg) {
    pulse_job *j = arg;
    for (int r = 0; r < j->rounds; r++) {
        while (atomic_load(j->phase) < 2 * r + 1)
            sched_yield();
        sig(j->p, j->h, 0, j->bit);
        while (atomic_load(j->phase) < 2 * r + 2)
            sched_yield();
    }
    return NULL;
}

static void test_wait_many_race(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_proc_t *p = new_proc(k, 22);
    uint64_t hs[2] = {ev(p), ev(p)};
    uint32_t want[2] = {U0, U1};
    _Atomic int phase = 0;
    enum { ROUNDS = 2000 };
    pulse_job pa = {p, hs[0], &phase, ROUNDS, U0};
    pulse_job pb = {p, hs[1], &phase, ROUNDS, U1};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, pulser, &pa) == 0);
    CHECK(pthread_create(&tb, NULL, pulser, &pb) == 0);
    for (int r = 0; r < ROUNDS; r++) {
        uint32_t obs[2];
        atomic_store(&phase, 2 * r + 1);
        CHECK_EQ(mxh_object_wait_many(p, hs, want, 2, INF, obs), MXH_OK);
        CHECK((obs[0] & U0) || (obs[1] & U1));
        /* Both pulses in before the next round. */
        uint32_t o;
        CHECK_EQ(mxh_object_wait_one(p, hs[0], U0, INF, &o), U0);
        CHECK_EQ(mxh_object_wait_one(p, hs[1], U1, INF, &o), U1);
        sig(p, hs[0], U0, 0);
        sig(p, hs[1], U1, 0);
        atomic_store(&phase, 2 * r + 2);
    }
    CHECK(pthread_join(ta, NULL) == 0);
    CHECK(pthread_join(tb, NULL) == 0);
    drop_proc(p);
    finish(k);
}

/* With an argument, runs only the tests whose names contain it. */
int main(int argc, char **argv) {
    struct { const char *name; void (*fn)(void); } tests[] = {
        {"wait_one_now", test_wait_one_now},
        {"wait_one_woken", test_wait_one_woken},
        {"wait_one_canceled", test_wait_one_canceled},
        {"wait_many", test_wait_many},
        {"port_user", test_port_user},
        {"port_limit", test_port_limit},
        {"port_wait_threads", test_port_wait_threads},
        {"port_wait_close_race", test_port_wait_close_race},
        {"async_once", test_async_once},
        {"async_repeating", test_async_repeating},
        {"async_errors", test_async_errors},
        {"async_end", test_async_end},
        {"port_cancel", test_port_cancel},
        {"port_destroyed", test_port_destroyed},
        {"port_watch_port", test_port_watch_port},
        {"port_reentrant", test_port_reentrant},
        {"wait_many_race", test_wait_many_race},
        {"stress", test_stress},
    };
    size_t n = sizeof tests / sizeof tests[0], ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        printf("test_wait: %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
        ran++;
    }
    printf("test_wait: %zu tests passed\n", ran);
    return 0;
}
