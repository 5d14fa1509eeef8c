/*
 * bench_core.c - nanoseconds per operation of the handle-table core.
 *
 *   bench_core          a table for people
 *   bench_core --json   one JSON object (read by the Python bench)
 *
 * Every figure is the best of several repeats (CLOCK_MONOTONIC): the
 * handle syscalls, transit, dup+close throughput with 1 and 2 threads (in
 * their own processes and in one shared process), process teardown,
 * channel write+read round trips with 0/1/4/64 handles, the close of a
 * nest of channels 10k/100k/1M deep (ns per level: the reaper is linear),
 * the wake-up latency of mxh_object_signal -> mxh_object_wait_one across
 * two threads (the median of many ping-pongs, next to a plain pthread
 * condition-variable ping-pong measured in the same run), a port's
 * queue + wait round trip, and tasks: the teardown of a process of a booted
 * kernel holding 1k/100k/1M handles by mx_task_kill (ns per handle: linear,
 * target <= 100 at 1M) and a process create + thread create + start + kill
 * cycle (ns per cycle).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mxhandles.h"

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define REPEATS 5
#define U0 (1u << 24)

static void die(const char *what, int64_t rc) {
    fprintf(stderr, "bench_core: %s failed (%lld)\n", what, (long long)rc);
    exit(1);
}

static int64_t ok(int64_t rc, const char *what) {
    if (rc < 0)
        die(what, rc);
    return rc;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static mxh_proc_t *proc(mxh_kernel_t *k, uint64_t secret) {
    mxh_proc_t *p = mxh_proc_create(k, secret, 0);
    if (!p)
        die("mxh_proc_create", MXH_ERR_NO_MEMORY);
    return p;
}

static void drop(mxh_proc_t *p) {
    if (!mxh_proc_is_dead(p))
        mxh_proc_kill(p);
    mxh_object_release(mxh_proc_object(p));
}

/* Accumulated so dead-code elimination cannot drop the loops. */
static volatile uint64_t sink;

/* ---- single-thread loops ------------------------------------------------- */

static double dup_close(mxh_proc_t *p, uint64_t h, long iters) {
    uint64_t acc = 0;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        int64_t v = mxh_handle_duplicate(p, h, MXH_RIGHT_SAME_RIGHTS);
        acc += (uint64_t)v;
        mxh_handle_close(p, (uint64_t)v);
    }
    double t = now_ns() - t0;
    sink += acc;
    return t / (double)iters;
}

static double bench_dup_close(void) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    mxh_proc_t *p = proc(k, 1);
    uint64_t h = (uint64_t)ok(mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                       EV_RIGHTS), "create");
    dup_close(p, h, 200000);   /* warm the table past its quarantine */
    double best = 1e300;
    for (int r = 0; r < REPEATS; r++) {
        double t = dup_close(p, h, 2000000);
        if (t < best)
            best = t;
    }
    drop(p);
    mxh_kernel_release(k);
    return best;
}

static double bench_create_close(void) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    mxh_proc_t *p = proc(k, 2);
    double best = 1e300;
    for (int r = 0; r < REPEATS; r++) {
        long iters = 1000000;
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            int64_t v = mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS);
            mxh_handle_close(p, (uint64_t)v);
        }
        double t = (now_ns() - t0) / (double)iters;
        if (t < best)
            best = t;
    }
    drop(p);
    mxh_kernel_release(k);
    return best;
}

/* Four handles go p -> q -> p ...: one op is one take plus one bind. */
static double bench_transit4(void) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    mxh_proc_t *ps[2] = {proc(k, 3), proc(k, 4)};
    uint64_t hs[4];
    for (int i = 0; i < 4; i++)
        hs[i] = (uint64_t)ok(mxh_object_create_handle(ps[0], MXH_OBJ_EVENT,
                                                      EV_RIGHTS), "create");
    double best = 1e300;
    for (int r = 0; r < REPEATS; r++) {
        long iters = 500000;
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            mxh_transit_t *t;
            uint32_t out[4];
            ok(mxh_transit_take(ps[i & 1], hs, 4, NULL, &t), "take");
            ok(mxh_transit_bind(ps[(i + 1) & 1], t, out), "bind");
            for (int j = 0; j < 4; j++)
                hs[j] = out[j];
        }
        double t = (now_ns() - t0) / (double)iters;
        if (t < best)
            best = t;
        if (iters & 1) {   /* keep the handles in ps[0] for the next round */
            mxh_transit_t *t2;
            uint32_t out[4];
            ok(mxh_transit_take(ps[1], hs, 4, NULL, &t2), "take");
            ok(mxh_transit_bind(ps[0], t2, out), "bind");
            for (int j = 0; j < 4; j++)
                hs[j] = out[j];
        }
    }
    drop(ps[0]);
    drop(ps[1]);
    mxh_kernel_release(k);
    return best;
}

/* ---- channels ------------------------------------------------------------------- */

#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)

/* One write of a 16-byte message carrying `nh` handles through one end
 * and one read of it at the other (same process): ns per round trip. */
static double bench_channel_rt(size_t nh) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    mxh_proc_t *p = proc(k, 30);
    uint32_t c[2];
    ok(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL),
       "pair");
    uint64_t hs[64];
    uint32_t out[64];
    for (size_t i = 0; i < nh; i++)
        hs[i] = (uint64_t)ok(mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                      EV_RIGHTS), "create");
    unsigned char msg[16] = "0123456789abcde", buf[16];
    uint64_t actual[3];
    long iters = nh >= 64 ? 100000 : 1000000;
    double best = 1e300;
    for (int r = 0; r < REPEATS + 1; r++) {   /* the first warms up */
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            ok(mxh_channel_write(p, c[0], msg, sizeof msg, hs, nh), "write");
            ok(mxh_channel_read(p, c[1], 0, sizeof buf, 64, buf, out, actual),
               "read");
            for (size_t j = 0; j < nh; j++)
                hs[j] = out[j];
        }
        double t = (now_ns() - t0) / (double)iters;
        if (r > 0 && t < best)
            best = t;
    }
    drop(p);
    mxh_kernel_release(k);
    return best;
}

/* A nest `depth` channels deep (level i's two ends travel in level i+1's
 * queue), then one close of the outer reading end: ns per level. */
static double bench_nest_close(long depth) {
    int reps = depth >= 1000000 ? 2 : REPEATS;
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        mxh_kernel_t *k = mxh_kernel_create(0);
        mxh_proc_t *p = proc(k, 31);
        uint32_t cur[2];
        ok(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, cur, NULL),
           "pair");
        for (long i = 1; i < depth; i++) {
            uint32_t nxt[2];
            ok(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, nxt,
                                       NULL), "pair");
            uint64_t both[2] = {cur[0], cur[1]};
            ok(mxh_channel_write(p, nxt[0], "n", 1, both, 2), "write");
            cur[0] = nxt[0];
            cur[1] = nxt[1];
        }
        double t0 = now_ns();
        ok(mxh_handle_close(p, cur[1]), "close");
        double t = (now_ns() - t0) / (double)depth;
        mxh_stats_t s;
        mxh_kernel_stats(k, &s);
        if (s.live_objects[MXH_STATS_CHANNEL] != 1)
            die("nest close left channels", (int64_t)s.live_objects[MXH_STATS_CHANNEL]);
        if (t < best)
            best = t;
        drop(p);
        mxh_kernel_release(k);
    }
    return best;
}

/* ---- waking ------------------------------------------------------------------- */

/* Ping-pong between the main thread and a server thread: the main thread
 * sets e1 and waits for e2 (then clears it); the server waits for e1,
 * clears it and sets e2.  One round trip is two one-way wakes: a round's
 * time / 2 is one signal -> wait wake-up.  The condvar version does the
 * same with two {mutex, condition variable, flag} events. */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flag;
} cv_event;

static void cv_set(cv_event *e) {
    pthread_mutex_lock(&e->mu);
    e->flag = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

static void cv_wait_clear(cv_event *e, int clear) {
    pthread_mutex_lock(&e->mu);
    while (!e->flag)
        pthread_cond_wait(&e->cv, &e->mu);
    if (clear)
        e->flag = 0;
    pthread_mutex_unlock(&e->mu);
}

typedef struct {
    int mx;                 /* 1: mxh events, 0: condvars */
    mxh_proc_t *p;
    uint64_t e1, e2;
    cv_event *c1, *c2;
    long rounds;
} pp_arg;

static void *pp_server(void *arg) {
    pp_arg *a = arg;
    for (long i = 0; i < a->rounds; i++) {
        if (a->mx) {
            uint32_t obs;
            ok(mxh_object_wait_one(a->p, a->e1, U0, UINT64_MAX, &obs), "wait");
            ok(mxh_object_signal(a->p, a->e1, U0, 0, 0), "clear");
            ok(mxh_object_signal(a->p, a->e2, 0, U0, 0), "signal");
        } else {
            cv_wait_clear(a->c1, 1);
            cv_set(a->c2);
        }
    }
    return NULL;
}

/* `rounds` round trips; each one's time (ns) into out[0..rounds). */
static void pp_block(pp_arg *a, double *out) {
    pthread_t t;
    pthread_create(&t, NULL, pp_server, a);
    for (long i = 0; i < a->rounds; i++) {
        double t0 = now_ns();
        if (a->mx) {
            uint32_t obs;
            ok(mxh_object_signal(a->p, a->e1, 0, U0, 0), "signal");
            ok(mxh_object_wait_one(a->p, a->e2, U0, UINT64_MAX, &obs), "wait");
            ok(mxh_object_signal(a->p, a->e2, U0, 0, 0), "clear");
        } else {
            cv_set(a->c1);
            cv_wait_clear(a->c2, 1);
        }
        out[i] = now_ns() - t0;
    }
    pthread_join(t, NULL);
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, long n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median one-way wake-up (µs) of mx and of condvars, blocks of each
 * alternating so that both see the same machine. */
static void bench_wake(double *mx_us, double *cv_us) {
    enum { BLOCKS = 10, ROUNDS = 2000, WARM = 200 };
    mxh_kernel_t *k = mxh_kernel_create(0);
    mxh_proc_t *p = proc(k, 40);
    cv_event c1 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    cv_event c2 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    pp_arg a = {0, p,
                (uint64_t)ok(mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                      EV_RIGHTS), "create"),
                (uint64_t)ok(mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                      EV_RIGHTS), "create"),
                &c1, &c2, WARM};
    double *block = malloc(sizeof(double) * ROUNDS);
    double *all[2] = {malloc(sizeof(double) * BLOCKS * ROUNDS),
                      malloc(sizeof(double) * BLOCKS * ROUNDS)};
    if (!block || !all[0] || !all[1])
        die("malloc", MXH_ERR_NO_MEMORY);
    for (int mx = 0; mx < 2; mx++) {       /* warm both up */
        a.mx = mx;
        pp_block(&a, block);
    }
    a.rounds = ROUNDS;
    for (int b = 0; b < BLOCKS; b++) {
        for (int i = 0; i < 2; i++) {
            a.mx = (b + i) % 2;
            pp_block(&a, all[a.mx] + (long)b * ROUNDS);
        }
    }
    *mx_us = median(all[1], (long)BLOCKS * ROUNDS) / 2 / 1000;
    *cv_us = median(all[0], (long)BLOCKS * ROUNDS) / 2 / 1000;
    free(block);
    free(all[0]);
    free(all[1]);
    drop(p);
    mxh_kernel_release(k);
}

/* A user packet queued and taken back (one thread): ns per round trip. */
static double bench_port_rt(void) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    mxh_proc_t *p = proc(k, 41);
    uint64_t port = (uint64_t)ok(mxh_object_create_handle(p, MXH_OBJ_PORT,
                                                          EV_RIGHTS), "port");
    unsigned char payload[MXH_PORT_PAYLOAD] = "0123456789abcdef0123456789abcde";
    mxh_packet_t pk;
    long iters = 1000000;
    double best = 1e300;
    uint64_t acc = 0;
    for (int r = 0; r < REPEATS + 1; r++) {   /* the first warms up */
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            ok(mxh_port_queue(p, port, (uint64_t)i, 0, payload, sizeof payload),
               "queue");
            ok(mxh_port_wait(p, port, UINT64_MAX, &pk), "wait");
            acc += pk.key;
        }
        double t = (now_ns() - t0) / (double)iters;
        if (r > 0 && t < best)
            best = t;
    }
    sink += acc;
    drop(p);
    mxh_kernel_release(k);
    return best;
}

/* ---- threads ------------------------------------------------------------------ */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    long iters;
    pthread_barrier_t *bar;
    double elapsed;
} thr_arg;

static void *thr_dup_close(void *arg) {
    thr_arg *a = arg;
    dup_close(a->p, a->h, 100000);   /* warm up */
    pthread_barrier_wait(a->bar);
    double t0 = now_ns();
    dup_close(a->p, a->h, a->iters);
    a->elapsed = now_ns() - t0;
    return NULL;
}

enum { OWN_PROCESS, SHARED_PROCESS, OWN_KERNEL };

/* Total dup+close pairs per second with `n` threads (the best of `reps`
 * runs): each thread in its own process of one kernel, all in one process
 * on one handle, or each in a kernel of its own (nothing shared at all:
 * the machine's own limit for n threads). */
static double throughput(int n, int mode, int reps) {
    int shared = mode == SHARED_PROCESS;
    double best = 0;
    for (int r = 0; r < reps; r++) {
        mxh_kernel_t *k = mxh_kernel_create(0), *ks[8];
        for (int i = 0; i < n; i++)
            ks[i] = mode == OWN_KERNEL && i > 0 ? mxh_kernel_create(0) : k;
        mxh_proc_t *ps[8];
        thr_arg args[8];
        pthread_t t[8];
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)n);
        for (int i = 0; i < n; i++) {
            ps[i] = (shared && i > 0) ? ps[0] : proc(ks[i], 10 + (uint64_t)i);
            uint64_t h = (shared && i > 0)
                ? args[0].h
                : (uint64_t)ok(mxh_object_create_handle(ps[i], MXH_OBJ_EVENT,
                                                        EV_RIGHTS), "create");
            args[i] = (thr_arg){ps[i], h, 1000000, &bar, 0};
        }
        for (int i = 0; i < n; i++)
            pthread_create(&t[i], NULL, thr_dup_close, &args[i]);
        double slowest = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(t[i], NULL);
            if (args[i].elapsed > slowest)
                slowest = args[i].elapsed;
        }
        double ops = (double)n * 1000000.0 / (slowest / 1e9);
        if (ops > best)
            best = ops;
        pthread_barrier_destroy(&bar);
        for (int i = 0; i < n; i++)
            if (!shared || i == 0)
                drop(ps[i]);
        for (int i = 1; i < n; i++)
            if (ks[i] != k)
                mxh_kernel_release(ks[i]);
        mxh_kernel_release(k);
    }
    return best;
}

/* ---- teardown ------------------------------------------------------------------- */

static double bench_kill(long n) {
    int reps = n >= 1000000 ? 3 : REPEATS;
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        mxh_kernel_t *k = mxh_kernel_create(0);
        mxh_proc_t *p = proc(k, 20);
        /* One object per 16 handles: a mix of shared and private objects. */
        uint64_t h = 0;
        for (long i = 0; i < n; i++) {
            if (i % 16 == 0)
                h = (uint64_t)ok(mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                          EV_RIGHTS), "create");
            else
                ok(mxh_handle_duplicate(p, h, MXH_RIGHT_SAME_RIGHTS), "dup");
        }
        double t0 = now_ns();
        int64_t closed = mxh_proc_kill(p);
        double t = (now_ns() - t0) / (double)n;
        if (closed != n)
            die("mxh_proc_kill count", closed);
        if (t < best)
            best = t;
        mxh_object_release(mxh_proc_object(p));
        mxh_kernel_release(k);
    }
    return best;
}

/* ---- tasks ---------------------------------------------------------------------- */

#define JOB_RIGHTS (EV_RIGHTS | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY | \
                    MXH_RIGHT_SET_PROPERTY | MXH_RIGHT_GET_POLICY |         \
                    MXH_RIGHT_SET_POLICY)

typedef struct {
    mxh_kernel_t *k;
    mxh_obj_t *root, *thread;
    mxh_proc_t *init;
    uint64_t rj;                    /* init's root-job handle */
} booted;

static void boot(booted *b) {
    b->k = mxh_kernel_create(0);
    if (!b->k)
        die("mxh_kernel_create", MXH_ERR_NO_MEMORY);
    ok(mxh_kernel_boot(b->k, 40, &b->root, &b->init, &b->thread), "boot");
    b->rj = (uint64_t)ok(mxh_handle_create(b->init, b->root, JOB_RIGHTS),
                         "root job handle");
}

static void unboot(booted *b) {
    ok(mxh_handle_close(b->init, b->rj), "close");
    mxh_object_release(b->thread);
    mxh_object_release(mxh_proc_object(b->init));
    mxh_object_release(b->root);
    mxh_kernel_release(b->k);
}

/* A process of the root job (made by init, as mx_process_create) holding
 * n handles, one object per 16 (as bench_kill), then one mx_task_kill of
 * it by init: ns per handle. */
static double bench_task_teardown(long n) {
    int reps = n >= 1000000 ? 3 : REPEATS;
    double best = 1e300;
    for (int r = 0; r < reps; r++) {
        booted b;
        boot(&b);
        mxh_proc_t *child;
        uint64_t ph = (uint64_t)ok(mxh_process_create(b.init, b.rj, 41, 0,
                                                      &child), "process");
        uint64_t h = 0;
        for (long i = 0; i < n; i++) {
            if (i % 16 == 0)
                h = (uint64_t)ok(mxh_object_create_handle(child, MXH_OBJ_EVENT,
                                                          EV_RIGHTS), "create");
            else
                ok(mxh_handle_duplicate(child, h, MXH_RIGHT_SAME_RIGHTS), "dup");
        }
        double t0 = now_ns();
        ok(mxh_task_kill(b.init, ph), "kill");
        double t = (now_ns() - t0) / (double)n;
        mxh_stats_t s;
        mxh_kernel_stats(b.k, &s);
        if (s.live_handles != 2 || s.live_objects[MXH_STATS_EVENT] != 0 ||
            mxh_proc_handle_count(child) != 0)
            die("task teardown left handles", (int64_t)s.live_handles);
        if (t < best)
            best = t;
        ok(mxh_handle_close(b.init, ph), "close");
        mxh_object_unpin(mxh_proc_object(child));
        unboot(&b);
    }
    return best;
}

/* mx_process_create, mx_thread_create, an event for the bootstrap handle,
 * mx_process_start, mx_task_kill, and the thread's and process's handles
 * closed: ns per cycle (everything made is destroyed each time). */
static double bench_task_cycle(void) {
    booted b;
    boot(&b);
    long iters = 200000;
    double best = 1e300;
    for (int r = 0; r < REPEATS + 1; r++) {   /* the first warms up */
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            mxh_proc_t *np;
            uint64_t ph = (uint64_t)ok(mxh_process_create(
                b.init, b.rj, (uint64_t)i, 0, &np), "process");
            uint64_t th = (uint64_t)ok(mxh_thread_create(b.init, ph, 0),
                                       "thread");
            uint64_t ev = (uint64_t)ok(mxh_object_create_handle(
                b.init, MXH_OBJ_EVENT, EV_RIGHTS), "event");
            mxh_koid_t koid;
            ok(mxh_process_start(b.init, ph, th, ev, &koid), "start");
            ok(mxh_task_kill(b.init, ph), "kill");
            ok(mxh_handle_close(b.init, th), "close");
            ok(mxh_handle_close(b.init, ph), "close");
            mxh_object_unpin(mxh_proc_object(np));
        }
        double t = (now_ns() - t0) / (double)iters;
        if (r > 0 && t < best)
            best = t;
    }
    mxh_stats_t s;
    mxh_kernel_stats(b.k, &s);
    if (s.live_handles != 1 || s.live_objects[MXH_STATS_PROCESS] != 1)
        die("task cycle left objects", (int64_t)s.live_objects[MXH_STATS_PROCESS]);
    unboot(&b);
    return best;
}

int main(int argc, char **argv) {
    int json = argc > 1 && strcmp(argv[1], "--json") == 0;
    double dc = bench_dup_close();
    double cc = bench_create_close();
    double tr = bench_transit4();
    /* Scaling: 1 thread, 2 threads in their own processes and 2 in one
     * process, measured in interleaved rounds and compared round by round
     * (median of the ratios).  A virtual CPU's clock moves a lot when the
     * other one idles (turbo, neighbours): best-of-N figures taken minutes
     * apart compare a boosted single thread with two unboosted ones. */
    enum { ROUNDS = 9 };
    double own[ROUNDS], same[ROUNDS], apart[ROUNDS];
    double t1 = 0, t2 = 0, t2s = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double a = throughput(1, OWN_PROCESS, 1);
        double b = throughput(2, OWN_PROCESS, 1);
        double c = throughput(2, SHARED_PROCESS, 1);
        double d = throughput(2, OWN_KERNEL, 1);
        own[r] = b / a;
        same[r] = c / a;
        apart[r] = b / d;
        t1 = a > t1 ? a : t1;
        t2 = b > t2 ? b : t2;
        t2s = c > t2s ? c : t2s;
    }
    qsort(own, ROUNDS, sizeof own[0], cmp_double);
    qsort(same, ROUNDS, sizeof same[0], cmp_double);
    qsort(apart, ROUNDS, sizeof apart[0], cmp_double);
    double own_med = own[ROUNDS / 2], same_med = same[ROUNDS / 2];
    double apart_med = apart[ROUNDS / 2];
    double k1k = bench_kill(1000);
    double k100k = bench_kill(100000);
    double k1m = bench_kill(1000000);
    double rt0 = bench_channel_rt(0), rt1 = bench_channel_rt(1);
    double rt4 = bench_channel_rt(4), rt64 = bench_channel_rt(64);
    double n10k = bench_nest_close(10000), n100k = bench_nest_close(100000);
    double n1m = bench_nest_close(1000000);
    double wake_mx, wake_cv;
    bench_wake(&wake_mx, &wake_cv);
    double port_rt = bench_port_rt();
    double td1k = bench_task_teardown(1000);
    double td100k = bench_task_teardown(100000);
    double td1m = bench_task_teardown(1000000);
    double cyc = bench_task_cycle();
    if (json) {
        printf("{\"dup_close_ns\": %.2f, \"create_close_ns\": %.2f, "
               "\"transit4_take_bind_ns\": %.2f, "
               "\"dup_close_ops_per_s_1t\": %.0f, "
               "\"dup_close_ops_per_s_2t_own_process\": %.0f, "
               "\"dup_close_ops_per_s_2t_same_process\": %.0f, "
               "\"ratio_2t_own_over_1t\": %.3f, "
               "\"ratio_2t_same_over_1t\": %.3f, "
               "\"ratio_2t_own_over_1t_min\": %.3f, "
               "\"ratio_2t_own_over_1t_max\": %.3f, "
               "\"ratio_2t_one_kernel_over_2t_two_kernels\": %.3f, "
               "\"kill_ns_per_handle_1k\": %.2f, "
               "\"kill_ns_per_handle_100k\": %.2f, "
               "\"kill_ns_per_handle_1m\": %.2f, "
               "\"channel_rt_ns_0h\": %.2f, \"channel_rt_ns_1h\": %.2f, "
               "\"channel_rt_ns_4h\": %.2f, \"channel_rt_ns_64h\": %.2f, "
               "\"nest_close_ns_per_level_10k\": %.2f, "
               "\"nest_close_ns_per_level_100k\": %.2f, "
               "\"nest_close_ns_per_level_1m\": %.2f, "
               "\"wake_us_median\": %.3f, "
               "\"condvar_wake_us_median\": %.3f, "
               "\"ratio_wake_mx_over_condvar\": %.3f, "
               "\"port_queue_wait_ns\": %.2f, "
               "\"task_teardown_ns_per_handle_1k\": %.2f, "
               "\"task_teardown_ns_per_handle_100k\": %.2f, "
               "\"task_teardown_ns_per_handle_1m\": %.2f, "
               "\"process_create_start_kill_ns\": %.2f}\n",
               dc, cc, tr, t1, t2, t2s, own_med, same_med, own[0],
               own[ROUNDS - 1], apart_med, k1k, k100k, k1m,
               rt0, rt1, rt4, rt64, n10k, n100k, n1m, wake_mx, wake_cv,
               wake_mx / wake_cv, port_rt, td1k, td100k, td1m, cyc);
        return 0;
    }
    printf("bench_core (best of %d, ns per op)\n", REPEATS);
    printf("  duplicate+close, 1 thread          %8.2f ns   (target <= 25)\n", dc);
    printf("  object_create_handle+close         %8.2f ns\n", cc);
    printf("  transit take+bind, 4 handles       %8.2f ns\n", tr);
    printf("  dup+close throughput, 1 thread     %8.2f Mops/s\n", t1 / 1e6);
    printf("  dup+close, 2 threads own process   %8.2f Mops/s  (x%.2f of 1 thread, "
           "median of %d interleaved rounds [%.2f-%.2f]; target >= 1.6)\n",
           t2 / 1e6, own_med, ROUNDS, own[0], own[ROUNDS - 1]);
    printf("  dup+close, 2 threads same process  %8.2f Mops/s  (x%.2f of 1 thread, "
           "median; one table lock)\n", t2s / 1e6, same_med);
    printf("  2 threads in one kernel vs two      x%.2f  (median [%.2f-%.2f]; 1.00: "
           "the core adds no contention between processes)\n", apart_med,
           apart[0], apart[ROUNDS - 1]);
    printf("  proc_kill teardown, 1,000 handles  %8.2f ns/handle\n", k1k);
    printf("  proc_kill teardown, 100,000        %8.2f ns/handle\n", k100k);
    printf("  proc_kill teardown, 1,000,000      %8.2f ns/handle\n", k1m);
    printf("  channel write+read, 0 handles      %8.2f ns\n", rt0);
    printf("  channel write+read, 1 handle       %8.2f ns\n", rt1);
    printf("  channel write+read, 4 handles      %8.2f ns\n", rt4);
    printf("  channel write+read, 64 handles     %8.2f ns\n", rt64);
    printf("  close of a nest, 10,000 deep       %8.2f ns/level\n", n10k);
    printf("  close of a nest, 100,000 deep      %8.2f ns/level\n", n100k);
    printf("  close of a nest, 1,000,000 deep    %8.2f ns/level"
           "  (x%.2f the 10k figure per level)\n", n1m, n1m / n10k);
    printf("  wake-up signal -> wait_one, 2 thr  %8.2f us median one-way"
           "  (x%.2f of a pthread condvar: %.2f us)\n",
           wake_mx, wake_mx / wake_cv, wake_cv);
    printf("  port queue+wait, 1 user packet     %8.2f ns\n", port_rt);
    printf("  task_kill teardown, 1,000 handles  %8.2f ns/handle\n", td1k);
    printf("  task_kill teardown, 100,000        %8.2f ns/handle\n", td100k);
    printf("  task_kill teardown, 1,000,000      %8.2f ns/handle"
           "  (target <= 100; x%.2f the 1k figure per handle)\n",
           td1m, td1m / td1k);
    printf("  process create+thread+start+kill   %8.2f ns/cycle"
           "  (7 calls; all destroyed)\n", cyc);
    return 0;
}
