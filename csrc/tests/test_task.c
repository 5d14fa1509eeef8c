/*
 * test_task.c - jobs, processes and threads (SPEC §4 Tasks, §5).
 *
 * Boot, the creates and their error orders, process_start and its
 * bootstrap handle (all or nothing), thread_start, exit codes, task_kill
 * of threads, processes and jobs, the zero-handles rules for processes and
 * threads, the last thread of a started process, deep and wide job trees
 * killed and destroyed on a 256 KiB stack (no recursion), processes that
 * hold each other's last handle, a cycle through a channel that lives
 * until its job is killed, the INFO topics, and threads racing creates,
 * kills and a victim's own syscalls.
 *
 * Every test boots its own kernel, tracks the expected counters by hand
 * and ends with them exact: everything it made destroyed exactly once, only
 * the kernel's own root job, init and init's thread left, which then go
 * too.  A failed create must leave no trace: no koid used, nothing counted.
 * Run under ASan (leaks, use after free) and TSan (races).
 *
 * White-box in one respect, as test_wait.c: internal.h gives an object's
 * waiter count, so that a test can wait until another thread is really
 * blocked.
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
#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define JOB_RIGHTS (EV_RIGHTS | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY | \
                    MXH_RIGHT_SET_PROPERTY | MXH_RIGHT_GET_POLICY |         \
                    MXH_RIGHT_SET_POLICY)
#define PROC_RIGHTS (EV_RIGHTS | MXH_RIGHT_ENUMERATE | \
                     MXH_RIGHT_GET_PROPERTY | MXH_RIGHT_SET_PROPERTY)
#define THREAD_RIGHTS (EV_RIGHTS | MXH_RIGHT_GET_PROPERTY | \
                       MXH_RIGHT_SET_PROPERTY)
#define TERM MXH_SIGNAL_TASK_TERMINATED
#define ST_NEW 0
#define ST_RUNNING 1
#define ST_EXITED 2
#define INF UINT64_MAX
#define BIG_VALUE 0x7fffffffu

/* ---- a booted kernel and what the test expects of it ------------------------ */

typedef struct {
    mxh_kernel_t *k;
    mxh_obj_t *root;            /* the kernel's references */
    mxh_proc_t *init;
    mxh_obj_t *ithread;
    uint64_t rj;                /* init's handle to the root job */
    mxh_stats_t e;              /* expected counters */
    mxh_proc_t **pins;          /* process views from mxh_process_create */
    size_t npins, cappins;
    uint64_t secret;
} world_t;

#define W_STATS(w) STATS_EQ((w)->k, &(w)->e)

static void boot(world_t *w, uint64_t max_handles) {
    memset(w, 0, sizeof *w);
    w->k = mxh_kernel_create(max_handles);
    CHECK(w->k != NULL);
    CHECK_EQ(mxh_kernel_boot(w->k, 0xb007, &w->root, &w->init, &w->ithread),
             MXH_OK);
    w->e.live_objects[MXH_STATS_JOB] = 1;
    w->e.live_objects[MXH_STATS_PROCESS] = 1;
    w->e.live_objects[MXH_STATS_THREAD] = 1;
    W_STATS(w);
    w->rj = (uint64_t)OK(mxh_handle_create(w->init, w->root, JOB_RIGHTS));
    w->e.live_handles++;
    W_STATS(w);
    w->secret = 0x5eed;
}

static void add_pin(world_t *w, mxh_proc_t *p) {
    if (w->npins == w->cappins) {
        w->cappins = w->cappins ? 2 * w->cappins : 64;
        w->pins = realloc(w->pins, w->cappins * sizeof *w->pins);
        CHECK(w->pins != NULL);
    }
    w->pins[w->npins++] = p;
}

/* Closes init's root-job handle and checks that only the kernel's own
 * tasks are left; then lets them go and releases the kernel. */
static void shutdown_world(world_t *w) {
    OK(mxh_handle_close(w->init, w->rj));
    w->e.live_handles--;
    CHECK_EQ(mxh_kernel_collect(w->k), 0);
    W_STATS(w);
    mxh_stats_t own = {0};
    own.live_objects[MXH_STATS_JOB] = 1;
    own.live_objects[MXH_STATS_PROCESS] = 1;
    own.live_objects[MXH_STATS_THREAD] = 1;
    own.destroyed_objects = w->e.destroyed_objects;
    STATS_EQ(w->k, &own);
    /* Every process view: its process destroyed by now. */
    for (size_t i = 0; i < w->npins; i++) {
        CHECK_EQ(mxh_object_destroyed(mxh_proc_object(w->pins[i])), 1);
        mxh_object_unpin(mxh_proc_object(w->pins[i]));
    }
    free(w->pins);
    CHECK_EQ(mxh_proc_state(w->init, NULL), ST_RUNNING);
    /* init's thread goes without a handle ever closing: init, whose last
     * thread it was, exits with 0. */
    mxh_object_release(w->ithread);
    int64_t rc = 99;
    CHECK_EQ(mxh_proc_state(w->init, &rc), ST_EXITED);
    CHECK_EQ(rc, 0);
    mxh_object_release(mxh_proc_object(w->init));
    mxh_object_release(w->root);
    mxh_stats_t none = {0};
    none.destroyed_objects = w->e.destroyed_objects + 3;
    STATS_EQ(w->k, &none);
    mxh_kernel_release(w->k);
}

static mxh_koid_t peek(world_t *w) { return mxh_kernel_peek_koid(w->k); }

static mxh_handle_info_t basic(mxh_proc_t *p, uint64_t h) {
    mxh_handle_info_t i;
    memset(&i, 0, sizeof i);
    OK(mxh_handle_basic(p, h, &i));
    return i;
}

static mxh_koid_t koid_of(mxh_proc_t *p, uint64_t h) { return basic(p, h).koid; }

static int valid(mxh_proc_t *p, uint64_t h) {
    mxh_handle_info_t i;
    int64_t r = mxh_handle_basic(p, h, &i);
    CHECK(r == MXH_OK || r == MXH_ERR_BAD_HANDLE);
    return r == MXH_OK;
}

static uint64_t mkev(world_t *w, mxh_proc_t *p) {
    int64_t v = OK(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS));
    w->e.live_handles++;
    w->e.live_objects[MXH_STATS_EVENT]++;
    return (uint64_t)v;
}

static uint64_t mkjob(world_t *w, mxh_proc_t *p, uint64_t parent) {
    mxh_koid_t next = peek(w);
    mxh_koid_t parent_koid = koid_of(p, parent);
    int64_t h = OK(mxh_job_create(p, parent, 0));
    CHECK(h >= 1 && h <= BIG_VALUE);
    mxh_handle_info_t i = basic(p, (uint64_t)h);
    CHECK_EQ(i.type, MXH_OBJ_JOB);
    CHECK_EQ(i.rights, JOB_RIGHTS);
    CHECK_EQ(i.koid, next);
    CHECK_EQ(i.related_koid, parent_koid);
    CHECK_EQ(i.signals, 0);
    w->e.live_handles++;
    w->e.live_objects[MXH_STATS_JOB]++;
    return (uint64_t)h;
}

/* A new process in `job` (its view pinned until shutdown). */
static uint64_t mkproc(world_t *w, mxh_proc_t *p, uint64_t job,
                       mxh_proc_t **out) {
    mxh_koid_t next = peek(w);
    mxh_koid_t job_koid = koid_of(p, job);
    mxh_proc_t *np = NULL;
    int64_t h = OK(mxh_process_create(p, job, w->secret++, 0, &np));
    CHECK(np != NULL);
    add_pin(w, np);
    mxh_handle_info_t i = basic(p, (uint64_t)h);
    CHECK_EQ(i.type, MXH_OBJ_PROCESS);
    CHECK_EQ(i.rights, PROC_RIGHTS);
    CHECK_EQ(i.koid, next);
    CHECK_EQ(i.related_koid, job_koid);
    CHECK_EQ(i.signals, 0);
    CHECK_EQ(mxh_object_koid(mxh_proc_object(np)), next);
    CHECK(mxh_object_proc(mxh_proc_object(np)) == np);
    int64_t rc = 99;
    CHECK_EQ(mxh_proc_state(np, &rc), ST_NEW);
    CHECK_EQ(rc, 0);
    CHECK_EQ(mxh_proc_is_dead(np), 0);
    CHECK_EQ(mxh_proc_handle_count(np), 0);
    w->e.live_handles++;
    w->e.live_objects[MXH_STATS_PROCESS]++;
    if (out)
        *out = np;
    return (uint64_t)h;
}

static uint64_t mkthread(world_t *w, mxh_proc_t *p, uint64_t proc) {
    mxh_koid_t next = peek(w);
    mxh_koid_t proc_koid = koid_of(p, proc);
    int64_t h = OK(mxh_thread_create(p, proc, 0));
    mxh_handle_info_t i = basic(p, (uint64_t)h);
    CHECK_EQ(i.type, MXH_OBJ_THREAD);
    CHECK_EQ(i.rights, THREAD_RIGHTS);
    CHECK_EQ(i.koid, next);
    CHECK_EQ(i.related_koid, proc_koid);
    CHECK_EQ(i.signals, 0);
    w->e.live_handles++;
    w->e.live_objects[MXH_STATS_THREAD]++;
    return (uint64_t)h;
}

/* A process started in `job` by p with a new thread and a new event as its
 * bootstrap handle (which moves into it).  *th gets the thread handle. */
static uint64_t mkstarted(world_t *w, mxh_proc_t *p, uint64_t job,
                          mxh_proc_t **out, uint64_t *th) {
    mxh_proc_t *np;
    uint64_t ph = mkproc(w, p, job, &np);
    uint64_t t = mkthread(w, p, ph);
    uint64_t ev = mkev(w, p);
    mxh_koid_t ev_koid = koid_of(p, ev), koid = 0;
    int64_t v = OK(mxh_process_start(p, ph, t, ev, &koid));
    CHECK_EQ(koid, mxh_object_koid(mxh_proc_object(np)));
    CHECK_EQ(koid_of(np, (uint64_t)v), ev_koid);
    CHECK(!valid(p, ev));
    CHECK_EQ(mxh_proc_state(np, NULL), ST_RUNNING);
    if (out)
        *out = np;
    if (th)
        *th = t;
    return ph;
}

static int state(mxh_proc_t *p, int64_t *rc) { return mxh_proc_state(p, rc); }

static void check_exited(mxh_proc_t *p, int64_t code) {
    int64_t rc = 12345;
    CHECK_EQ(state(p, &rc), ST_EXITED);
    CHECK_EQ(rc, code);
    CHECK_EQ(mxh_proc_is_dead(p), 1);
    CHECK_EQ(mxh_proc_handle_count(p), 0);
    CHECK(mxh_object_signals(mxh_proc_object(p)) & TERM);
}

static mxh_process_info_t pinfo(mxh_proc_t *p, uint64_t h) {
    mxh_process_info_t i;
    memset(&i, 0x55, sizeof i);
    CHECK_EQ(mxh_task_info(p, h, MXH_INFO_PROCESS, &i, NULL, 0), 0);
    return i;
}

/* The koids a list topic reports (at most 64 here), or with out NULL
 * just how many. */
static int64_t klist(mxh_proc_t *p, uint64_t h, uint32_t topic,
                     mxh_koid_t *out) {
    mxh_koid_t buf[64];
    if (!out)       /* just the count */
        return OK(mxh_task_info(p, h, topic, NULL, NULL, 0));
    int64_t n = OK(mxh_task_info(p, h, topic, NULL, buf, 64));
    CHECK(n <= 64);
    if (out)
        memcpy(out, buf, (size_t)n * sizeof *buf);
    return n;
}

static int in_list(mxh_proc_t *p, uint64_t h, uint32_t topic, mxh_koid_t k) {
    mxh_koid_t buf[64];
    int64_t n = klist(p, h, topic, buf);
    for (int64_t i = 0; i < n; i++)
        if (buf[i] == k)
            return 1;
    return 0;
}

static void close_h(world_t *w, mxh_proc_t *p, uint64_t h) {
    CHECK_EQ(mxh_handle_close(p, h), MXH_OK);
    w->e.live_handles--;
}

/* Counts a destruction of an object of stats index i. */
static void gone(world_t *w, int i, int n) {
    w->e.live_objects[i] -= (uint64_t)n;
    w->e.destroyed_objects += (uint64_t)n;
}

static uint32_t nwaiters_of(mxh_proc_t *p, uint64_t h) {
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, h, 0, 0, &o));
    uint32_t n = atomic_load(&o->nwaiters);
    mxh_object_release(o);
    return n;
}

/* Runs fn(arg) on a thread with a 256 KiB stack: a cascade or a walk that
 * recursed would overflow it. */
typedef struct {
    void (*fn)(void *);
    void *arg;
} small_call;

static void *small_tramp(void *a) {
    small_call *c = a;
    c->fn(c->arg);
    return NULL;
}

static void on_small_stack(void (*fn)(void *), void *arg) {
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
    small_call c = {fn, arg};
    pthread_t t;
    CHECK(pthread_create(&t, &attr, small_tramp, &c) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_attr_destroy(&attr);
}

/* ---- 1. boot ---------------------------------------------------------------------- */

static void test_boot(void) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k != NULL);
    CHECK_EQ(mxh_kernel_peek_koid(k), 1024);
    mxh_obj_t *root = NULL, *th = NULL;
    mxh_proc_t *init = NULL;
    CHECK_EQ(mxh_kernel_boot(k, 99, &root, &init, &th), MXH_OK);
    mxh_obj_t *io = mxh_proc_object(init);
    CHECK_EQ(mxh_object_koid(root), 1024);
    CHECK_EQ(mxh_object_koid(io), 1025);
    CHECK_EQ(mxh_object_koid(th), 1026);
    CHECK_EQ(mxh_kernel_peek_koid(k), 1027);
    CHECK_EQ(mxh_object_type(root), MXH_OBJ_JOB);
    CHECK_EQ(mxh_object_type(io), MXH_OBJ_PROCESS);
    CHECK_EQ(mxh_object_type(th), MXH_OBJ_THREAD);
    CHECK(mxh_object_proc(io) == init);
    CHECK(mxh_object_proc(root) == NULL && mxh_object_proc(th) == NULL);
    CHECK_EQ(mxh_object_handle_count(root), 0);
    CHECK_EQ(mxh_object_handle_count(io), 0);
    CHECK_EQ(mxh_object_handle_count(th), 0);
    CHECK_EQ(mxh_object_signals(io), 0);
    CHECK_EQ(mxh_object_signals(th), 0);
    mxh_stats_t e = {0};
    e.live_objects[MXH_STATS_JOB] = 1;
    e.live_objects[MXH_STATS_PROCESS] = 1;
    e.live_objects[MXH_STATS_THREAD] = 1;
    STATS_EQ(k, &e);
    int64_t rc = 99;
    CHECK_EQ(mxh_proc_state(init, &rc), ST_RUNNING);
    CHECK_EQ(rc, 0);
    CHECK_EQ(mxh_proc_is_dead(init), 0);
    CHECK_EQ(mxh_proc_handle_count(init), 0);

    /* What handles to them show. */
    uint64_t rj = (uint64_t)OK(mxh_handle_create(init, root, JOB_RIGHTS));
    uint64_t ih = (uint64_t)OK(mxh_handle_create(init, io, PROC_RIGHTS));
    uint64_t thh = (uint64_t)OK(mxh_handle_create(init, th, THREAD_RIGHTS));
    e.live_handles += 3;
    STATS_EQ(k, &e);
    mxh_handle_info_t i = basic(init, rj);
    CHECK_EQ(i.koid, 1024);
    CHECK_EQ(i.related_koid, 0);
    i = basic(init, ih);
    CHECK_EQ(i.koid, 1025);
    CHECK_EQ(i.related_koid, 1024);
    i = basic(init, thh);
    CHECK_EQ(i.koid, 1026);
    CHECK_EQ(i.related_koid, 1025);
    mxh_process_info_t pi = pinfo(init, ih);
    CHECK_EQ(pi.started, 1);
    CHECK_EQ(pi.exited, 0);
    CHECK_EQ(pi.return_code, 0);
    mxh_koid_t ks[64];
    CHECK_EQ(klist(init, ih, MXH_INFO_PROCESS_THREADS, ks), 1);
    CHECK_EQ(ks[0], 1026);
    CHECK_EQ(klist(init, rj, MXH_INFO_JOB_PROCESSES, ks), 1);
    CHECK_EQ(ks[0], 1025);
    CHECK_EQ(klist(init, rj, MXH_INFO_JOB_CHILDREN, ks), 0);
    mxh_handle_info_t tab[8];
    CHECK_EQ(mxh_process_handles_of(init, ih, tab, 8), 3);

    /* init's only handle goes: init is killed like any process (rule 2);
     * its thread dies with it and its table (these three handles) closes. */
    CHECK_EQ(mxh_handle_close(init, ih), MXH_OK);
    e.live_handles = 0;
    STATS_EQ(k, &e);
    rc = 0;
    CHECK_EQ(mxh_proc_state(init, &rc), ST_EXITED);
    CHECK_EQ(rc, -1);
    CHECK(mxh_object_signals(io) & TERM);
    CHECK(mxh_object_signals(th) & TERM);
    CHECK_EQ(mxh_object_create_handle(init, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_object_destroyed(io), 0);     /* our references */
    mxh_object_release(th);
    mxh_object_release(io);
    mxh_object_release(root);
    e.live_objects[MXH_STATS_JOB] = 0;
    e.live_objects[MXH_STATS_PROCESS] = 0;
    e.live_objects[MXH_STATS_THREAD] = 0;
    e.destroyed_objects = 3;
    STATS_EQ(k, &e);
    mxh_kernel_release(k);

    /* Kernels share nothing: each boots with the same koids. */
    for (int n = 0; n < 2; n++) {
        world_t w;
        boot(&w, 0);
        CHECK_EQ(mxh_object_koid(w.root), 1024);
        CHECK_EQ(mxh_object_koid(mxh_proc_object(w.init)), 1025);
        CHECK_EQ(mxh_object_koid(w.ithread), 1026);
        shutdown_world(&w);
    }
}

/* ---- 2. creates and their errors ----------------------------------------------- */

/* A second process q (started in the root job) that holds a handle of its
 * own to the root job, and one killed process whose calls all fail. */
static void test_job_create(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t ev = mkev(&w, init);
    uint64_t ro = (uint64_t)OK(mxh_handle_duplicate(
        init, w.rj, JOB_RIGHTS & ~MXH_RIGHT_WRITE));
    w.e.live_handles++;
    mxh_proc_t *q;
    uint64_t qt;
    uint64_t qh = mkstarted(&w, init, w.rj, &q, &qt);
    uint64_t q_rj = (uint64_t)OK(mxh_handle_create(q, w.root, JOB_RIGHTS));
    w.e.live_handles++;
    W_STATS(&w);

    mxh_koid_t before = peek(&w);
    CHECK_EQ(mxh_job_create(init, 0, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_job_create(init, BIG_VALUE, 1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_job_create(init, 1ull << 40, 0), MXH_ERR_BAD_HANDLE);
    if (q_rj != w.rj)   /* another process's value names nothing here */
        CHECK_EQ(mxh_job_create(init, q_rj, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_job_create(init, ev, 1), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_job_create(init, ro, 1), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_job_create(init, w.rj, 1), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_job_create(init, w.rj, 0x80000000u), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(peek(&w), before);
    W_STATS(&w);

    uint64_t j1 = mkjob(&w, init, w.rj);
    mxh_koid_t j1k = koid_of(init, j1);
    CHECK_EQ(j1k, before);
    uint64_t j2 = mkjob(&w, init, j1);
    uint64_t j3 = mkjob(&w, q, q_rj);   /* q makes one too */
    mxh_koid_t ks[64];
    CHECK_EQ(klist(init, w.rj, MXH_INFO_JOB_CHILDREN, ks), 2);
    CHECK(in_list(init, w.rj, MXH_INFO_JOB_CHILDREN, j1k));
    CHECK(in_list(init, w.rj, MXH_INFO_JOB_CHILDREN, koid_of(q, j3)));
    CHECK_EQ(klist(init, j1, MXH_INFO_JOB_CHILDREN, ks), 1);
    CHECK_EQ(ks[0], koid_of(init, j2));
    W_STATS(&w);

    /* A killed parent: the options are checked first, then BAD_STATE; a
     * job below a killed one is killed too. */
    CHECK_EQ(mxh_task_kill(init, j1), MXH_OK);
    before = peek(&w);
    CHECK_EQ(mxh_job_create(init, j1, 1), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_job_create(init, j1, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_job_create(init, j2, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(peek(&w), before);
    W_STATS(&w);
    /* A live job elsewhere still takes children. */
    uint64_t j4 = mkjob(&w, init, w.rj);

    /* A job goes when nothing holds it: a child's reference keeps its
     * parent after the parent's last handle goes. */
    close_h(&w, init, j1);
    W_STATS(&w);
    CHECK(in_list(init, w.rj, MXH_INFO_JOB_CHILDREN, j1k));
    close_h(&w, init, j2);
    gone(&w, MXH_STATS_JOB, 2);
    W_STATS(&w);
    CHECK(!in_list(init, w.rj, MXH_INFO_JOB_CHILDREN, j1k));
    close_h(&w, q, j3);
    close_h(&w, init, j4);
    gone(&w, MXH_STATS_JOB, 2);
    W_STATS(&w);
    CHECK_EQ(klist(init, w.rj, MXH_INFO_JOB_CHILDREN, NULL), 0);

    /* A dead caller: BAD_STATE before anything else. */
    CHECK_EQ(mxh_process_exit(q, 3), MXH_OK);
    w.e.live_handles -= 2;               /* its bootstrap event, q_rj */
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_job_create(q, q_rj, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_job_create(q, 0, 7), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_job_create(init, ev, 0), MXH_ERR_WRONG_TYPE);

    close_h(&w, init, ro);
    close_h(&w, init, ev);
    gone(&w, MXH_STATS_EVENT, 1);
    /* q's process and thread handles are init's: closing them destroys
     * both (the thread holds the process). */
    close_h(&w, init, qh);
    W_STATS(&w);
    close_h(&w, init, qt);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

static void test_process_create(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t ev = mkev(&w, init);
    uint64_t ro = (uint64_t)OK(mxh_handle_duplicate(
        init, w.rj, JOB_RIGHTS & ~MXH_RIGHT_WRITE));
    w.e.live_handles++;
    mxh_proc_t *out = NULL;
    mxh_koid_t before = peek(&w);
    CHECK_EQ(mxh_process_create(init, 0, 1, 0, &out), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_process_create(init, BIG_VALUE, 1, 5, &out),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_process_create(init, ev, 1, 5, &out), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_process_create(init, ro, 1, 5, &out), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_process_create(init, w.rj, 1, 5, &out), MXH_ERR_INVALID_ARGS);
    CHECK(out == NULL);
    CHECK_EQ(peek(&w), before);
    W_STATS(&w);

    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *a, *b;
    uint64_t ah = mkproc(&w, init, j, &a);
    uint64_t bh = mkproc(&w, init, j, &b);
    CHECK(a != b);
    mxh_koid_t ak = mxh_object_koid(mxh_proc_object(a));
    mxh_koid_t bk = mxh_object_koid(mxh_proc_object(b));
    CHECK_EQ(bk, ak + 1);
    mxh_process_info_t pi = pinfo(init, ah);
    CHECK_EQ(pi.started, 0);
    CHECK_EQ(pi.exited, 0);
    CHECK_EQ(pi.return_code, 0);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 2);
    CHECK(in_list(init, j, MXH_INFO_JOB_PROCESSES, ak));
    CHECK(in_list(init, j, MXH_INFO_JOB_PROCESSES, bk));
    CHECK_EQ(klist(init, ah, MXH_INFO_PROCESS_THREADS, NULL), 0);
    mxh_handle_info_t tab[4];
    CHECK_EQ(mxh_process_handles_of(init, ah, tab, 4), 0);
    /* A new process can hold handles (a debugger or a parent gives them)
     * and make calls. */
    uint64_t x = mkev(&w, a);
    CHECK_EQ(mxh_process_handles_of(init, ah, tab, 4), 1);
    CHECK_EQ(tab[0].value, x);
    W_STATS(&w);

    /* A new process whose last handle goes is killed (return code -1) and,
     * nothing else holding it, destroyed; its table closes. */
    close_h(&w, init, ah);
    w.e.live_handles--;                  /* x */
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    check_exited(a, -1);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(a)), 1);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 1);
    /* A thread holds its process: the process dies, but stays until the
     * thread goes too. */
    uint64_t bt = mkthread(&w, init, bh);
    close_h(&w, init, bh);
    check_exited(b, -1);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(b)), 0);
    CHECK(basic(init, bt).signals & TERM);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 0);
    W_STATS(&w);
    close_h(&w, init, bt);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(b)), 1);

    /* A killed job refuses processes: options first, then BAD_STATE. */
    OK(mxh_task_kill(init, j));
    before = peek(&w);
    CHECK_EQ(mxh_process_create(init, j, 1, 1, &out), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_process_create(init, j, 1, 0, &out), MXH_ERR_BAD_STATE);
    CHECK(out == NULL);
    CHECK_EQ(peek(&w), before);
    W_STATS(&w);

    /* A dead caller. */
    mxh_proc_t *c;
    uint64_t ct;
    uint64_t ch = mkstarted(&w, init, w.rj, &c, &ct);
    uint64_t c_rj = (uint64_t)OK(mxh_handle_create(c, w.root, JOB_RIGHTS));
    w.e.live_handles++;
    uint64_t cp = mkproc(&w, c, c_rj, NULL);   /* c makes one itself */
    CHECK(valid(c, cp));
    OK(mxh_task_kill(init, ch));
    /* c's table: the bootstrap event, c_rj and cp (its process dies). */
    w.e.live_handles -= 3;
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_process_create(c, c_rj, 1, 0, &out), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_process_create(c, 0, 1, 9, &out), MXH_ERR_BAD_STATE);
    CHECK(out == NULL);

    close_h(&w, init, ct);
    close_h(&w, init, ch);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    close_h(&w, init, j);
    gone(&w, MXH_STATS_JOB, 1);
    close_h(&w, init, ro);
    close_h(&w, init, ev);
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

static void test_thread_create(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t ev = mkev(&w, init);
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p;
    uint64_t ph = mkproc(&w, init, j, &p);
    uint64_t ro = (uint64_t)OK(mxh_handle_duplicate(
        init, ph, PROC_RIGHTS & ~MXH_RIGHT_WRITE));
    w.e.live_handles++;
    mxh_koid_t before = peek(&w);
    CHECK_EQ(mxh_thread_create(init, 0, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_thread_create(init, BIG_VALUE, 3), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_thread_create(init, ev, 3), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_thread_create(init, j, 3), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_thread_create(init, ro, 3), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_thread_create(init, ph, 3), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(peek(&w), before);
    W_STATS(&w);

    /* Threads of a new process: listed, not yet started. */
    uint64_t t1 = mkthread(&w, init, ph);
    uint64_t t2 = mkthread(&w, init, ph);
    mxh_koid_t ks[64];
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, ks), 2);
    CHECK(in_list(init, ph, MXH_INFO_PROCESS_THREADS, koid_of(init, t1)));
    CHECK(in_list(init, ph, MXH_INFO_PROCESS_THREADS, koid_of(init, t2)));
    CHECK_EQ(state(p, NULL), ST_NEW);

    /* A process making a thread of its own (its table and the target's
     * are one). */
    uint64_t self = (uint64_t)OK(mxh_handle_create(p, mxh_proc_object(p),
                                                   PROC_RIGHTS));
    w.e.live_handles++;
    uint64_t t3 = mkthread(&w, p, self);
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 3);
    CHECK(in_list(p, self, MXH_INFO_PROCESS_THREADS, koid_of(p, t3)));
    W_STATS(&w);

    /* A dead process: INVALID_ARGS first, then BAD_STATE, nothing made. */
    OK(mxh_task_kill(init, ph));
    check_exited(p, -1);
    /* p's table held self and t3: t3's thread had no other handle. */
    w.e.live_handles -= 2;
    gone(&w, MXH_STATS_THREAD, 1);
    W_STATS(&w);
    CHECK(basic(init, t1).signals & TERM);
    CHECK(basic(init, t2).signals & TERM);
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 0);
    before = peek(&w);
    CHECK_EQ(mxh_thread_create(init, ph, 1), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_thread_create(init, ph, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(peek(&w), before);
    /* And a dead caller. */
    CHECK_EQ(mxh_thread_create(p, self, 0), MXH_ERR_BAD_STATE);
    W_STATS(&w);

    close_h(&w, init, t1);
    close_h(&w, init, t2);
    gone(&w, MXH_STATS_THREAD, 2);
    close_h(&w, init, ro);
    close_h(&w, init, ph);
    gone(&w, MXH_STATS_PROCESS, 1);
    close_h(&w, init, j);
    gone(&w, MXH_STATS_JOB, 1);
    close_h(&w, init, ev);
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* Handles below max: job, process and thread creates fail with
 * NO_RESOURCES and leave no trace. */
static void test_create_limits(void) {
    world_t w;
    boot(&w, 3);                         /* rj is the first */
    mxh_proc_t *init = w.init;
    mxh_proc_t *p;
    uint64_t ph = mkproc(&w, init, w.rj, &p);
    uint64_t ev = mkev(&w, init);        /* 3 of 3 */
    mxh_koid_t before = peek(&w);
    mxh_proc_t *out = NULL;
    CHECK_EQ(mxh_job_create(init, w.rj, 0), MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_process_create(init, w.rj, 1, 0, &out), MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_thread_create(init, ph, 0), MXH_ERR_NO_RESOURCES);
    CHECK(out == NULL);
    CHECK_EQ(peek(&w), before);
    W_STATS(&w);
    /* Argument errors still come first. */
    CHECK_EQ(mxh_job_create(init, w.rj, 1), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_thread_create(init, ev, 0), MXH_ERR_WRONG_TYPE);
    close_h(&w, init, ev);
    gone(&w, MXH_STATS_EVENT, 1);
    uint64_t t = mkthread(&w, init, ph);
    CHECK_EQ(mxh_job_create(init, w.rj, 0), MXH_ERR_NO_RESOURCES);
    /* process_start moves a handle: never NO_RESOURCES. */
    mxh_koid_t koid;
    int64_t v = OK(mxh_process_start(init, ph, t, ph, &koid));
    CHECK_EQ(koid_of(p, (uint64_t)v), koid);
    W_STATS(&w);
    /* p holds its own last handle; its thread's goes: it exits with 0. */
    close_h(&w, init, t);
    check_exited(p, 0);
    w.e.live_handles--;
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* ---- 3. process_start and thread_start -------------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    int64_t rc;
} wait_arg;

static void *waiter_thread(void *arg) {
    wait_arg *a = arg;
    uint32_t obs = 0;
    a->rc = mxh_object_wait_one(a->p, a->h, MXH_SIGNAL_EVENT_SIGNALED, INF,
                                &obs);
    return NULL;
}

/* A failed start: the bootstrap handle is still the caller's, with the
 * same value and object, and nothing else changed. */
static void start_fails(world_t *w, uint64_t ph, uint64_t th, uint64_t arg1,
                        int64_t want, mxh_proc_t *target) {
    mxh_koid_t before = peek(w);
    mxh_koid_t koid = 777;
    int a1valid = valid(w->init, arg1);
    mxh_koid_t a1koid = a1valid ? koid_of(w->init, arg1) : 0;
    uint64_t target_handles = target ? mxh_proc_handle_count(target) : 0;
    int target_state = target ? state(target, NULL) : 0;
    CHECK_EQ(mxh_process_start(w->init, ph, th, arg1, &koid), want);
    CHECK_EQ(peek(w), before);
    if (a1valid)
        CHECK_EQ(koid_of(w->init, arg1), a1koid);
    if (target) {
        CHECK_EQ(mxh_proc_handle_count(target), target_handles);
        CHECK_EQ(state(target, NULL), target_state);
    }
    W_STATS(w);
}

static void test_process_start(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p, *q;
    uint64_t ph = mkproc(&w, init, j, &p);
    uint64_t t = mkthread(&w, init, ph);
    uint64_t qh = mkproc(&w, init, j, &q);
    uint64_t qt = mkthread(&w, init, qh);
    uint64_t ev = mkev(&w, init);
    uint64_t ph_ro = (uint64_t)OK(mxh_handle_duplicate(
        init, ph, PROC_RIGHTS & ~MXH_RIGHT_WRITE));
    uint64_t t_ro = (uint64_t)OK(mxh_handle_duplicate(
        init, t, THREAD_RIGHTS & ~MXH_RIGHT_WRITE));
    uint64_t ev_nt = (uint64_t)OK(mxh_handle_duplicate(
        init, ev, EV_RIGHTS & ~MXH_RIGHT_TRANSFER));
    w.e.live_handles += 3;
    uint32_t c[2];
    mxh_koid_t ck[2];
    OK(mxh_pair_create_handles(init, MXH_OBJ_CHANNEL, CH_RIGHTS, c, ck));
    w.e.live_handles += 2;
    w.e.live_objects[MXH_STATS_CHANNEL] += 2;
    /* A handle value of another process (q's own event). */
    uint64_t qev = mkev(&w, q);
    W_STATS(&w);

    /* The process handle. */
    start_fails(&w, 0, t, ev, MXH_ERR_BAD_HANDLE, p);
    start_fails(&w, BIG_VALUE, 0, 0, MXH_ERR_BAD_HANDLE, p);
    start_fails(&w, ev, t, ev, MXH_ERR_WRONG_TYPE, p);
    start_fails(&w, t, t, ev, MXH_ERR_WRONG_TYPE, p);
    start_fails(&w, j, 0, 0, MXH_ERR_WRONG_TYPE, p);
    start_fails(&w, ph_ro, t, ev, MXH_ERR_ACCESS_DENIED, p);
    start_fails(&w, ph_ro, 0, 0, MXH_ERR_ACCESS_DENIED, p);
    /* Then the thread handle. */
    start_fails(&w, ph, 0, ev, MXH_ERR_BAD_HANDLE, p);
    start_fails(&w, ph, BIG_VALUE, 0, MXH_ERR_BAD_HANDLE, p);
    start_fails(&w, ph, ev, ev, MXH_ERR_WRONG_TYPE, p);
    start_fails(&w, ph, ph, ev, MXH_ERR_WRONG_TYPE, p);
    start_fails(&w, ph, t_ro, ev, MXH_ERR_ACCESS_DENIED, p);
    start_fails(&w, ph, qt, ev, MXH_ERR_ACCESS_DENIED, p);  /* q's thread */
    start_fails(&w, ph, qt, 0, MXH_ERR_ACCESS_DENIED, p);
    /* Then arg1: anything but a handle of the caller with TRANSFER. */
    start_fails(&w, ph, t, 0, MXH_ERR_INVALID_ARGS, p);
    start_fails(&w, ph, t, BIG_VALUE, MXH_ERR_INVALID_ARGS, p);
    start_fails(&w, ph, t, 1ull << 40, MXH_ERR_INVALID_ARGS, p);
    start_fails(&w, ph, t, UINT64_MAX, MXH_ERR_INVALID_ARGS, p);
    start_fails(&w, ph, t, ev_nt, MXH_ERR_INVALID_ARGS, p);
    if (!valid(init, qev))
        start_fails(&w, ph, t, qev, MXH_ERR_INVALID_ARGS, p);
    CHECK_EQ(state(p, NULL), ST_NEW);
    CHECK_EQ(pinfo(init, ph).started, 0);

    /* A waiter on the bootstrap handle in the caller: the move ends its
     * wait (CANCELED), as any transfer does. */
    wait_arg wa = {init, c[1], 0};
    pthread_t wt;
    CHECK(pthread_create(&wt, NULL, waiter_thread, &wa) == 0);
    while (nwaiters_of(init, c[1]) == 0)
        sched_yield();

    mxh_koid_t koid = 0;
    int64_t v = OK(mxh_process_start(init, ph, t, c[1], &koid));
    CHECK(v >= 1 && v <= BIG_VALUE);
    CHECK(pthread_join(wt, NULL) == 0);
    CHECK_EQ(wa.rc, MXH_ERR_CANCELED);
    CHECK_EQ(koid, mxh_object_koid(mxh_proc_object(p)));
    CHECK(!valid(init, c[1]));
    mxh_handle_info_t bi = basic(p, (uint64_t)v);
    CHECK_EQ(bi.koid, ck[1]);
    CHECK_EQ(bi.rights, CH_RIGHTS);
    CHECK_EQ(mxh_proc_handle_count(p), 1);
    mxh_handle_info_t tab[4];
    CHECK_EQ(mxh_process_handles_of(init, ph, tab, 4), 1);
    CHECK_EQ(tab[0].value, (uint64_t)v);
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    mxh_process_info_t pi = pinfo(init, ph);
    CHECK_EQ(pi.started, 1);
    CHECK_EQ(pi.exited, 0);
    W_STATS(&w);                          /* a move: nothing counted */
    /* The bootstrap channel works: p says hello to its parent. */
    OK(mxh_channel_write(p, (uint64_t)v, "hello", 5, NULL, 0));
    char buf[8];
    uint32_t got[1];
    uint64_t actual[3];
    CHECK_EQ(mxh_channel_read(init, c[0], 0, sizeof buf, 1, buf, got, actual),
             5);
    CHECK(memcmp(buf, "hello", 5) == 0);

    /* Started already: arg1 is checked first, then BAD_STATE; ev stays. */
    start_fails(&w, ph, t, 0, MXH_ERR_INVALID_ARGS, p);
    start_fails(&w, ph, t, ev, MXH_ERR_BAD_STATE, p);
    uint64_t t2 = mkthread(&w, init, ph);
    start_fails(&w, ph, t2, ev, MXH_ERR_BAD_STATE, p);

    /* A dead thread of a new process, and a dead new process. */
    OK(mxh_task_kill(init, qt));
    CHECK(basic(init, qt).signals & TERM);
    CHECK_EQ(state(q, NULL), ST_NEW);     /* not started: no exit */
    start_fails(&w, qh, qt, ev, MXH_ERR_BAD_STATE, q);
    uint64_t qt2 = mkthread(&w, init, qh);
    OK(mxh_task_kill(init, qh));
    check_exited(q, -1);
    w.e.live_handles--;                   /* qev */
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    start_fails(&w, qh, qt2, ev, MXH_ERR_BAD_STATE, q);
    start_fails(&w, qh, qt2, 0, MXH_ERR_INVALID_ARGS, q);

    /* A dead caller: BAD_STATE first. */
    mxh_koid_t k2;
    CHECK_EQ(mxh_process_start(q, 0, 0, 0, &k2), MXH_ERR_BAD_STATE);

    /* The bootstrap handle may be the process's own handle: it then holds
     * itself; when its thread's last handle goes, it exits with 0 and
     * everything goes. */
    mxh_proc_t *r;
    uint64_t rh = mkproc(&w, init, j, &r);
    uint64_t rt = mkthread(&w, init, rh);
    v = OK(mxh_process_start(init, rh, rt, rh, &koid));
    CHECK_EQ(koid_of(r, (uint64_t)v), koid);
    CHECK(!valid(init, rh));
    W_STATS(&w);
    close_h(&w, init, rt);
    check_exited(r, 0);
    w.e.live_handles--;                   /* its own handle */
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(r)), 1);

    /* Clean up: p exits (its bootstrap end goes), the rest closes. */
    OK(mxh_process_exit(p, 0));
    check_exited(p, 0);
    w.e.live_handles--;
    gone(&w, MXH_STATS_CHANNEL, 1);
    W_STATS(&w);
    uint64_t hs[] = {t, t2, t_ro, ph, ph_ro, qt, qt2, qh, ev, ev_nt, c[0], j};
    OK(mxh_handle_close_many(init, hs, sizeof hs / sizeof hs[0]));
    w.e.live_handles -= sizeof hs / sizeof hs[0];
    gone(&w, MXH_STATS_THREAD, 4);
    gone(&w, MXH_STATS_PROCESS, 2);
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_CHANNEL, 1);
    gone(&w, MXH_STATS_JOB, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

static void test_thread_start(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p, *q;
    uint64_t t1;
    uint64_t ph = mkstarted(&w, init, j, &p, &t1);
    uint64_t t2 = mkthread(&w, init, ph);
    uint64_t t3 = mkthread(&w, init, ph);
    uint64_t t2_ro = (uint64_t)OK(mxh_handle_duplicate(
        init, t2, THREAD_RIGHTS & ~MXH_RIGHT_WRITE));
    w.e.live_handles++;
    uint64_t qh = mkproc(&w, init, j, &q);
    uint64_t qt = mkthread(&w, init, qh);
    uint64_t ev = mkev(&w, init);
    W_STATS(&w);

    CHECK_EQ(mxh_thread_start(init, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_thread_start(init, BIG_VALUE), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_thread_start(init, ev), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_thread_start(init, ph), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_thread_start(init, t2_ro), MXH_ERR_ACCESS_DENIED);
    /* The process was never started. */
    CHECK_EQ(mxh_thread_start(init, qt), MXH_ERR_BAD_STATE);
    /* Started already (t1 started with the process). */
    CHECK_EQ(mxh_thread_start(init, t1), MXH_ERR_BAD_STATE);
    W_STATS(&w);

    CHECK_EQ(mxh_thread_start(init, t2), MXH_OK);
    CHECK_EQ(mxh_thread_start(init, t2), MXH_ERR_BAD_STATE);
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 3);
    /* Killing a thread is not killing its process. */
    OK(mxh_task_kill(init, t1));
    CHECK(basic(init, t1).signals & TERM);
    CHECK_EQ(mxh_thread_start(init, t1), MXH_ERR_BAD_STATE);   /* dead */
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 2);
    CHECK(!in_list(init, ph, MXH_INFO_PROCESS_THREADS, koid_of(init, t1)));
    OK(mxh_task_kill(init, t2));
    /* t3 was never started, but it is not dead: p lives on. */
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    CHECK_EQ(mxh_thread_start(init, t3), MXH_OK);
    OK(mxh_task_kill(init, t3));
    check_exited(p, 0);
    w.e.live_handles--;                   /* its bootstrap event */
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    /* A thread of a dead process. */
    CHECK_EQ(mxh_thread_create(init, ph, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_thread_start(init, t3), MXH_ERR_BAD_STATE);
    /* A dead caller. */
    CHECK_EQ(mxh_thread_start(p, 1), MXH_ERR_BAD_STATE);

    uint64_t hs[] = {t1, t2, t3, t2_ro, ph, qt, qh, ev, j};
    OK(mxh_handle_close_many(init, hs, sizeof hs / sizeof hs[0]));
    w.e.live_handles -= sizeof hs / sizeof hs[0];
    gone(&w, MXH_STATS_THREAD, 4);
    gone(&w, MXH_STATS_PROCESS, 2);
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_JOB, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* ---- 4. exit, kill, the last thread, zero handles ------------------------------------ */

static void test_exit(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p;
    uint64_t ph = mkproc(&w, init, j, &p);
    uint64_t t = mkthread(&w, init, ph);
    uint64_t t2 = mkthread(&w, init, ph);
    uint32_t c[2];
    OK(mxh_pair_create_handles(init, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    w.e.live_handles += 2;
    w.e.live_objects[MXH_STATS_CHANNEL] += 2;
    mxh_koid_t koid;
    OK(mxh_process_start(init, ph, t, c[1], &koid));
    OK(mxh_thread_start(init, t2));
    uint64_t own = mkev(&w, p);
    uint64_t pj = (uint64_t)OK(mxh_handle_duplicate(init, j, JOB_RIGHTS));
    int64_t pjv = OK(mxh_handle_move(init, pj, p));   /* p holds its job */
    w.e.live_handles++;
    (void)own;
    (void)pjv;
    W_STATS(&w);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 1);

    CHECK_EQ(mxh_process_exit(p, 42), MXH_OK);
    check_exited(p, 42);
    w.e.live_handles -= 3;                /* c[1], own, pj */
    gone(&w, MXH_STATS_CHANNEL, 1);
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    mxh_process_info_t pi = pinfo(init, ph);
    CHECK_EQ(pi.return_code, 42);
    CHECK_EQ(pi.started, 1);
    CHECK_EQ(pi.exited, 1);
    CHECK(basic(init, ph).signals & TERM);
    CHECK(basic(init, t).signals & TERM);
    CHECK(basic(init, t2).signals & TERM);
    CHECK(basic(init, c[0]).signals & MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 0);
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 0);
    /* Its calls: BAD_STATE, exit included; a kill changes nothing. */
    CHECK_EQ(mxh_process_exit(p, 1), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_task_kill(p, 1), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_task_info(p, 1, 0, NULL, NULL, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_task_info(p, 1, MXH_INFO_PROCESS, NULL, NULL, 0),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_process_handles_of(p, 1, NULL, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_task_kill(init, ph), MXH_OK);
    CHECK_EQ(mxh_task_kill(init, j), MXH_OK);
    check_exited(p, 42);
    W_STATS(&w);

    /* Any 64-bit code; a new process may exit too. */
    static const int64_t codes[] = {0, -7, INT64_MIN, INT64_MAX, 1};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        mxh_proc_t *q;
        uint64_t qt = 0;
        uint64_t qh = i % 2 ? mkproc(&w, init, w.rj, &q)
                            : mkstarted(&w, init, w.rj, &q, &qt);
        CHECK_EQ(mxh_process_exit(q, codes[i]), MXH_OK);
        check_exited(q, codes[i]);
        pi = pinfo(init, qh);
        CHECK_EQ(pi.return_code, codes[i]);
        CHECK_EQ(pi.started, !(i % 2));
        CHECK_EQ(pi.exited, 1);
        if (!(i % 2)) {
            w.e.live_handles--;           /* its bootstrap event */
            gone(&w, MXH_STATS_EVENT, 1);
            close_h(&w, init, qt);
            gone(&w, MXH_STATS_THREAD, 1);
        }
        close_h(&w, init, qh);
        gone(&w, MXH_STATS_PROCESS, 1);
        W_STATS(&w);
    }

    uint64_t hs[] = {t, t2, ph, c[0], j};
    OK(mxh_handle_close_many(init, hs, sizeof hs / sizeof hs[0]));
    w.e.live_handles -= sizeof hs / sizeof hs[0];
    gone(&w, MXH_STATS_THREAD, 2);
    gone(&w, MXH_STATS_PROCESS, 1);
    gone(&w, MXH_STATS_CHANNEL, 1);
    gone(&w, MXH_STATS_JOB, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

static void test_kill(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t ev = mkev(&w, init);
    uint64_t port = (uint64_t)OK(mxh_object_create_handle(init, MXH_OBJ_PORT,
                                                          EV_RIGHTS));
    w.e.live_handles++;
    w.e.live_objects[MXH_STATS_PORT]++;
    uint32_t c[2];
    OK(mxh_pair_create_handles(init, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    w.e.live_handles += 2;
    w.e.live_objects[MXH_STATS_CHANNEL] += 2;

    /* A tree: j { j1 { j2 }, k } with processes in each, and one in a
     * sibling job s that must survive. */
    uint64_t j = mkjob(&w, init, w.rj);
    uint64_t j1 = mkjob(&w, init, j);
    uint64_t j2 = mkjob(&w, init, j1);
    uint64_t kj = mkjob(&w, init, j);
    uint64_t s = mkjob(&w, init, w.rj);
    mxh_proc_t *pa, *pb, *pc, *pd, *ps;
    uint64_t ta, tb, tps;
    uint64_t ha = mkstarted(&w, init, j, &pa, &ta);
    uint64_t hb = mkstarted(&w, init, j2, &pb, &tb);
    uint64_t hc = mkproc(&w, init, j2, &pc);          /* never started */
    uint64_t hd = mkproc(&w, init, kj, &pd);
    uint64_t hs_ = mkstarted(&w, init, s, &ps, &tps);
    W_STATS(&w);

    /* Errors. */
    uint64_t ro_p = (uint64_t)OK(mxh_handle_duplicate(
        init, ha, PROC_RIGHTS & ~MXH_RIGHT_WRITE));
    uint64_t ro_t = (uint64_t)OK(mxh_handle_duplicate(
        init, ta, THREAD_RIGHTS & ~MXH_RIGHT_WRITE));
    uint64_t ro_j = (uint64_t)OK(mxh_handle_duplicate(
        init, j, JOB_RIGHTS & ~MXH_RIGHT_WRITE));
    w.e.live_handles += 3;
    CHECK_EQ(mxh_task_kill(init, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_task_kill(init, BIG_VALUE), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_task_kill(init, ev), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_kill(init, port), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_kill(init, c[0]), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_kill(init, ro_p), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_task_kill(init, ro_t), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_task_kill(init, ro_j), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(state(pa, NULL), ST_RUNNING);
    W_STATS(&w);

    /* Kill the tree. */
    CHECK_EQ(mxh_task_kill(init, j), MXH_OK);
    check_exited(pa, -1);
    check_exited(pb, -1);
    check_exited(pc, -1);
    check_exited(pd, -1);
    CHECK_EQ(state(ps, NULL), ST_RUNNING);
    w.e.live_handles -= 2;               /* pa's and pb's bootstrap events */
    gone(&w, MXH_STATS_EVENT, 2);
    W_STATS(&w);
    CHECK(basic(init, ta).signals & TERM);
    CHECK(basic(init, tb).signals & TERM);
    CHECK(!(basic(init, tps).signals & TERM));
    uint64_t jobs[] = {j, j1, j2, kj};
    mxh_proc_t *out = NULL;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(klist(init, jobs[i], MXH_INFO_JOB_PROCESSES, NULL), 0);
        CHECK_EQ(mxh_job_create(init, jobs[i], 0), MXH_ERR_BAD_STATE);
        CHECK_EQ(mxh_process_create(init, jobs[i], 1, 0, &out),
                 MXH_ERR_BAD_STATE);
    }
    CHECK_EQ(klist(init, s, MXH_INFO_JOB_PROCESSES, NULL), 1);
    mxh_proc_t *ps2;
    uint64_t hs2 = mkproc(&w, init, s, &ps2);  /* the sibling still works */
    CHECK_EQ(mxh_task_kill(init, j), MXH_OK);  /* again: nothing to do */
    CHECK_EQ(mxh_task_kill(init, ha), MXH_OK);
    check_exited(pa, -1);
    W_STATS(&w);

    /* A thread, the only one of its process: the process exits with 0,
     * not -1. */
    CHECK_EQ(mxh_task_kill(init, tps), MXH_OK);
    check_exited(ps, 0);
    w.e.live_handles--;
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);

    /* A process kills itself, and one kills its own job. */
    mxh_proc_t *me, *me2;
    uint64_t tme, tme2;
    uint64_t hme = mkstarted(&w, init, s, &me, &tme);
    uint64_t self = (uint64_t)OK(mxh_handle_create(me, mxh_proc_object(me),
                                                   PROC_RIGHTS));
    w.e.live_handles++;
    CHECK_EQ(mxh_task_kill(me, self), MXH_OK);
    check_exited(me, -1);
    w.e.live_handles -= 2;               /* its bootstrap event and self */
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_task_kill(me, self), MXH_ERR_BAD_STATE);
    uint64_t sub = mkjob(&w, init, s);
    uint64_t hme2 = mkstarted(&w, init, sub, &me2, &tme2);
    int64_t subv = OK(mxh_handle_move(init, sub, me2));
    CHECK_EQ(mxh_task_kill(me2, (uint64_t)subv), MXH_OK);
    check_exited(me2, -1);
    /* me2's table: its bootstrap event and the only handle to sub, which
     * goes once me2 does (me2 holds it as its job). */
    w.e.live_handles -= 2;
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    CHECK_EQ(klist(init, s, MXH_INFO_JOB_CHILDREN, NULL), 1);
    close_h(&w, init, tme2);
    close_h(&w, init, hme2);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    gone(&w, MXH_STATS_JOB, 1);          /* sub, held by me2 until now */
    W_STATS(&w);
    CHECK_EQ(klist(init, s, MXH_INFO_JOB_CHILDREN, NULL), 0);

    uint64_t hs[] = {ha, hb, hc, hd, hs_, hs2, hme, ta, tb, tps, tme,
                     ro_p, ro_t, ro_j, ev, port, c[0], c[1], j, j1, j2, kj, s};
    OK(mxh_handle_close_many(init, hs, sizeof hs / sizeof hs[0]));
    w.e.live_handles -= sizeof hs / sizeof hs[0];
    gone(&w, MXH_STATS_PROCESS, 7);
    gone(&w, MXH_STATS_THREAD, 4);
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_PORT, 1);
    gone(&w, MXH_STATS_CHANNEL, 2);
    gone(&w, MXH_STATS_JOB, 5);
    W_STATS(&w);
    check_exited(ps2, -1);                /* its last handle went */
    shutdown_world(&w);
}

/* The last thread of a started process ends it with 0, whether killed or
 * its last handle closed, directly or in a channel's queue. */
static void test_last_thread(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    mxh_proc_t *p;
    uint64_t t;
    uint64_t ph = mkstarted(&w, init, w.rj, &p, &t);
    /* Replacing the thread's handle is not losing it. */
    t = (uint64_t)OK(mxh_handle_replace(init, t, MXH_RIGHT_SAME_RIGHTS));
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    close_h(&w, init, t);
    check_exited(p, 0);
    w.e.live_handles--;
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_THREAD, 1);
    W_STATS(&w);

    /* The thread's only handle in a channel's queue; then the queue goes. */
    close_h(&w, init, ph);
    gone(&w, MXH_STATS_PROCESS, 1);
    ph = mkstarted(&w, init, w.rj, &p, &t);
    uint32_t c[2];
    OK(mxh_pair_create_handles(init, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    w.e.live_handles += 2;
    w.e.live_objects[MXH_STATS_CHANNEL] += 2;
    OK(mxh_channel_write(init, c[0], "t", 1, &t, 1));
    w.e.in_transit_handles++;
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    W_STATS(&w);
    close_h(&w, init, c[1]);              /* the reader: its queue goes */
    w.e.live_handles--;
    w.e.in_transit_handles--;
    gone(&w, MXH_STATS_CHANNEL, 1);
    gone(&w, MXH_STATS_THREAD, 1);
    w.e.live_handles--;                   /* p's bootstrap event */
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    check_exited(p, 0);
    close_h(&w, init, c[0]);
    close_h(&w, init, ph);
    gone(&w, MXH_STATS_CHANNEL, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);

    /* A process that called exit keeps its code when its thread dies. */
    ph = mkstarted(&w, init, w.rj, &p, &t);
    OK(mxh_process_exit(p, 9));
    OK(mxh_task_kill(init, t));
    check_exited(p, 9);
    w.e.live_handles--;
    gone(&w, MXH_STATS_EVENT, 1);
    close_h(&w, init, t);
    close_h(&w, init, ph);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* A process or a thread whose last handle goes is killed. */
static void test_zero_handles(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p;
    uint64_t t;
    uint64_t ph = mkstarted(&w, init, j, &p, &t);
    uint64_t t2 = mkthread(&w, init, ph);
    OK(mxh_thread_start(init, t2));
    mxh_koid_t t2k = koid_of(init, t2);
    /* Duplicates, replace and a move into a bundle and back: alive. */
    uint64_t d = (uint64_t)OK(mxh_handle_duplicate(init, ph,
                                                   MXH_RIGHT_SAME_RIGHTS));
    close_h(&w, init, ph);
    d = (uint64_t)OK(mxh_handle_replace(init, d, MXH_RIGHT_SAME_RIGHTS));
    mxh_transit_t *b = NULL;
    OK(mxh_transit_take(init, &d, 1, NULL, &b));
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    uint32_t back[1];
    OK(mxh_transit_bind(init, b, back));
    ph = back[0];
    w.e.live_handles++;                   /* the duplicate */
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    W_STATS(&w);

    /* A thread whose last handle goes dies; its process does not. */
    close_h(&w, init, t2);
    gone(&w, MXH_STATS_THREAD, 1);
    W_STATS(&w);
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 1);
    CHECK(!in_list(init, ph, MXH_INFO_PROCESS_THREADS, t2k));

    /* A running process whose last handle goes is killed (-1); its thread
     * dies with it and stays while init holds its handle. */
    close_h(&w, init, ph);
    check_exited(p, -1);
    w.e.live_handles--;
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    CHECK(basic(init, t).signals & TERM);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(p)), 0);
    close_h(&w, init, t);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(p)), 1);

    /* A process holding its own only handle lives; moved into a channel's
     * queue it lives; that queue destroyed, it dies. */
    ph = mkstarted(&w, init, j, &p, &t);
    int64_t own = OK(mxh_handle_move(init, ph, p));
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    uint32_t c[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    w.e.live_handles += 2;
    w.e.live_objects[MXH_STATS_CHANNEL] += 2;
    uint64_t ownv = (uint64_t)own;
    OK(mxh_channel_write(p, c[0], "me", 2, &ownv, 1));
    w.e.in_transit_handles++;
    CHECK_EQ(state(p, NULL), ST_RUNNING);
    W_STATS(&w);
    int64_t cv = OK(mxh_handle_move(p, c[1], init));
    close_h(&w, init, (uint64_t)cv);      /* the reader goes, its queue too */
    w.e.in_transit_handles--;
    w.e.live_handles--;                   /* p's own handle */
    w.e.live_handles -= 2;                /* p's table: c[0], bootstrap */
    gone(&w, MXH_STATS_CHANNEL, 2);
    gone(&w, MXH_STATS_EVENT, 1);
    W_STATS(&w);
    check_exited(p, -1);
    close_h(&w, init, t);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);

    /* A thread of a new process: its last handle goes, the process stays
     * new (never started: no exit). */
    mxh_proc_t *q;
    uint64_t qh = mkproc(&w, init, j, &q);
    uint64_t qt = mkthread(&w, init, qh);
    close_h(&w, init, qt);
    gone(&w, MXH_STATS_THREAD, 1);
    CHECK_EQ(state(q, NULL), ST_NEW);
    CHECK_EQ(klist(init, qh, MXH_INFO_PROCESS_THREADS, NULL), 0);
    W_STATS(&w);
    close_h(&w, init, qh);
    gone(&w, MXH_STATS_PROCESS, 1);
    check_exited(q, -1);
    close_h(&w, init, j);
    gone(&w, MXH_STATS_JOB, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* A blocked call of a process that dies ends with CANCELED, even when its
 * death would otherwise have satisfied it first: a wait for its own
 * thread's TASK_TERMINATED, a call whose peer sits earlier in its own
 * table, a port wait fed by an async wait on its thread. */
typedef struct {
    mxh_proc_t *p;
    int kind;
    uint64_t h, h2;
    int64_t rc;
    uint64_t actual[3];
} blocked_arg;

static void *blocked_call(void *arg) {
    blocked_arg *a = arg;
    uint32_t obs[2];
    char buf[8];
    uint32_t got[1];
    mxh_packet_t pkt;
    switch (a->kind) {
    case 0:
        a->rc = mxh_object_wait_one(a->p, a->h, TERM, INF, obs);
        break;
    case 1: {
        uint64_t hs[2] = {a->h, a->h2};
        uint32_t sig[2] = {TERM, MXH_SIGNAL_CHANNEL_PEER_CLOSED};
        a->rc = mxh_object_wait_many(a->p, hs, sig, 2, INF, obs);
        break;
    }
    case 2:
        a->rc = mxh_channel_call(a->p, a->h, "\1\0\0\0", 4, NULL, 0, INF,
                                 sizeof buf, 1, buf, got, a->actual);
        break;
    default:
        a->rc = mxh_port_wait(a->p, a->h, INF, &pkt);
        break;
    }
    return NULL;
}

static void test_blocked_calls_of_the_dead(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    for (int kind = 0; kind < 4; kind++) {
        mxh_proc_t *p;
        uint64_t t;
        uint64_t ph = mkstarted(&w, init, w.rj, &p, &t);
        blocked_arg a;
        memset(&a, 0, sizeof a);
        a.p = p;
        a.kind = kind;
        uint32_t c[2];
        OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
        w.e.live_handles += 2;
        w.e.live_objects[MXH_STATS_CHANNEL] += 2;
        uint64_t port = 0;
        if (kind <= 1) {
            /* p holds a handle to its own thread (after c: closed later). */
            a.h = (uint64_t)OK(mxh_handle_move(
                init, (uint64_t)OK(mxh_handle_duplicate(
                          init, t, MXH_RIGHT_SAME_RIGHTS)), p));
            w.e.live_handles++;
            a.h2 = c[1];
        } else if (kind == 2) {
            a.h = c[1];                  /* its peer c[0] comes first */
        } else {
            port = (uint64_t)OK(mxh_object_create_handle(init, MXH_OBJ_PORT,
                                                         EV_RIGHTS));
            a.h = (uint64_t)OK(mxh_handle_move(
                init, (uint64_t)OK(mxh_handle_duplicate(
                          init, port, MXH_RIGHT_SAME_RIGHTS)), p));
            w.e.live_handles += 2;
            w.e.live_objects[MXH_STATS_PORT]++;
            OK(mxh_object_wait_async(init, t, port, 1, TERM,
                                     MXH_WAIT_ASYNC_ONCE, 0));
        }
        pthread_t bt;
        CHECK(pthread_create(&bt, NULL, blocked_call, &a) == 0);
        while (nwaiters_of(p, a.h) == 0)
            sched_yield();
        OK(mxh_task_kill(init, ph));
        CHECK(pthread_join(bt, NULL) == 0);
        if (kind == 2) {
            CHECK_EQ(a.rc, MXH_ERR_CALL_FAILED);
            CHECK_EQ((int64_t)a.actual[2], MXH_ERR_CANCELED);
        } else {
            CHECK_EQ(a.rc, MXH_ERR_CANCELED);
        }
        check_exited(p, -1);
        /* p's table: its bootstrap event, c, and a.h unless it is c[1]. */
        w.e.live_handles -= kind == 2 ? 3 : 4;
        gone(&w, MXH_STATS_EVENT, 1);
        gone(&w, MXH_STATS_CHANNEL, 2);
        if (kind == 3) {
            /* init's async wait fired when the thread died: one packet. */
            mxh_packet_t pkt;
            CHECK_EQ(mxh_port_wait(init, port, 0, &pkt), MXH_OK);
            CHECK_EQ(pkt.key, 1);
            close_h(&w, init, port);
            gone(&w, MXH_STATS_PORT, 1);
        }
        W_STATS(&w);
        close_h(&w, init, t);
        close_h(&w, init, ph);
        gone(&w, MXH_STATS_THREAD, 1);
        gone(&w, MXH_STATS_PROCESS, 1);
        W_STATS(&w);
    }
    shutdown_world(&w);
}

/* ---- 5. deep and wide job trees: no recursion ----------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    int64_t rc;
} call_arg;

static void kill_fn(void *a) {
    call_arg *c = a;
    c->rc = mxh_task_kill(c->p, c->h);
}

static void close_fn(void *a) {
    call_arg *c = a;
    c->rc = mxh_handle_close(c->p, c->h);
}

#define CHAIN 10000

/* A chain of 10,000 jobs, each held only by its child (and the top and the
 * leaf by init's handles), with started processes along it.  Killing the
 * top walks all of it; later the leaf thread's handle is the last thing
 * holding the whole chain up: closing it destroys the thread, its process
 * and then every job, one after another.  Both on a 256 KiB stack. */
static void test_job_chain(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t top = mkjob(&w, init, w.rj);
    uint64_t cur = top;
    enum { NP = 10 };
    mxh_proc_t *procs[NP];
    uint64_t ph[NP], th[NP];
    int np = 0;
    for (int d = 1; d < CHAIN; d++) {
        uint64_t nxt = (uint64_t)OK(mxh_job_create(init, cur, 0));
        w.e.live_handles++;
        w.e.live_objects[MXH_STATS_JOB]++;
        if (cur != top)
            close_h(&w, init, cur);       /* the child holds it */
        cur = nxt;
        if (d % 1000 == 0) {
            ph[np] = mkstarted(&w, init, cur, &procs[np], &th[np]);
            np++;
        }
    }
    ph[np] = mkstarted(&w, init, cur, &procs[np], &th[np]);   /* the leaf */
    np++;
    CHECK_EQ(np, NP);
    W_STATS(&w);
    CHECK_EQ(w.e.live_objects[MXH_STATS_JOB], CHAIN + 1);
    CHECK_EQ(klist(init, top, MXH_INFO_JOB_CHILDREN, NULL), 1);

    call_arg a = {init, top, 1};
    on_small_stack(kill_fn, &a);
    CHECK_EQ(a.rc, MXH_OK);
    for (int i = 0; i < np; i++)
        check_exited(procs[i], -1);
    w.e.live_handles -= (uint64_t)np;     /* their bootstrap events */
    gone(&w, MXH_STATS_EVENT, np);
    W_STATS(&w);
    mxh_proc_t *out = NULL;
    CHECK_EQ(mxh_job_create(init, cur, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_process_create(init, cur, 1, 0, &out), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_job_create(init, top, 0), MXH_ERR_BAD_STATE);

    /* Everything but the leaf process goes; then the top's and the leaf
     * job's handles: the chain now hangs from the leaf thread's handle. */
    for (int i = 0; i < np - 1; i++) {
        close_h(&w, init, th[i]);
        close_h(&w, init, ph[i]);
    }
    gone(&w, MXH_STATS_THREAD, np - 1);
    gone(&w, MXH_STATS_PROCESS, np - 1);
    close_h(&w, init, ph[np - 1]);
    close_h(&w, init, top);
    close_h(&w, init, cur);
    W_STATS(&w);
    CHECK_EQ(klist(init, w.rj, MXH_INFO_JOB_CHILDREN, NULL), 1);
    a = (call_arg){init, th[np - 1], 1};
    on_small_stack(close_fn, &a);
    CHECK_EQ(a.rc, MXH_OK);
    w.e.live_handles--;
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    gone(&w, MXH_STATS_JOB, CHAIN);
    W_STATS(&w);
    CHECK_EQ(klist(init, w.rj, MXH_INFO_JOB_CHILDREN, NULL), 0);

    /* The same chain without processes, its top handle closed first and
     * the leaf's last, on a small stack. */
    top = mkjob(&w, init, w.rj);
    cur = top;
    for (int d = 1; d < CHAIN; d++) {
        uint64_t nxt = (uint64_t)OK(mxh_job_create(init, cur, 0));
        w.e.live_handles++;
        w.e.live_objects[MXH_STATS_JOB]++;
        close_h(&w, init, cur);
        cur = nxt;
    }
    W_STATS(&w);
    a = (call_arg){init, cur, 1};
    on_small_stack(close_fn, &a);
    CHECK_EQ(a.rc, MXH_OK);
    w.e.live_handles--;
    gone(&w, MXH_STATS_JOB, CHAIN);
    W_STATS(&w);
    shutdown_world(&w);
}

typedef struct {
    mxh_proc_t *p;
    uint64_t *hs;
    size_t n;
    int64_t rc;
} many_arg;

static void close_many_fn(void *a) {
    many_arg *m = a;
    m->rc = mxh_handle_close_many(m->p, m->hs, m->n);
}

/* 100 jobs of 100 jobs each, processes in some: one kill reaches all. */
static void test_job_tree(void) {
    enum { WIDE = 100 };
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    uint64_t *leaves = malloc(WIDE * WIDE * sizeof *leaves);
    CHECK(leaves != NULL);
    mxh_proc_t *procs[WIDE], *newp[WIDE];
    uint64_t ph[WIDE], th[WIDE], nh[WIDE];
    for (int i = 0; i < WIDE; i++) {
        uint64_t c = mkjob(&w, init, j);
        for (int k = 0; k < WIDE; k++)
            leaves[i * WIDE + k] = mkjob(&w, init, c);
        close_h(&w, init, c);             /* its children hold it */
        ph[i] = mkstarted(&w, init, leaves[i * WIDE + i], &procs[i], &th[i]);
        nh[i] = mkproc(&w, init, leaves[i * WIDE + (WIDE - 1 - i)], &newp[i]);
    }
    W_STATS(&w);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_CHILDREN, NULL), WIDE);

    call_arg a = {init, j, 1};
    on_small_stack(kill_fn, &a);
    CHECK_EQ(a.rc, MXH_OK);
    for (int i = 0; i < WIDE; i++) {
        check_exited(procs[i], -1);
        check_exited(newp[i], -1);
    }
    w.e.live_handles -= WIDE;
    gone(&w, MXH_STATS_EVENT, WIDE);
    W_STATS(&w);
    for (int i = 0; i < WIDE * WIDE; i++)
        CHECK_EQ(mxh_job_create(init, leaves[i], 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_CHILDREN, NULL), WIDE);
    W_STATS(&w);

    for (int i = 0; i < WIDE; i++) {
        close_h(&w, init, th[i]);
        close_h(&w, init, ph[i]);
        close_h(&w, init, nh[i]);
    }
    gone(&w, MXH_STATS_THREAD, WIDE);
    gone(&w, MXH_STATS_PROCESS, 2 * WIDE);
    close_h(&w, init, j);
    W_STATS(&w);
    many_arg m = {init, leaves, WIDE * WIDE, 1};
    on_small_stack(close_many_fn, &m);
    CHECK_EQ(m.rc, MXH_OK);
    w.e.live_handles -= WIDE * WIDE;
    gone(&w, MXH_STATS_JOB, 1 + WIDE + WIDE * WIDE);
    W_STATS(&w);
    free(leaves);
    shutdown_world(&w);
}

/* ---- 6. lifetimes through processes and channels ----------------------------------------- */

/* Two processes each holding the other's last handle end together when
 * one's thread dies; a pair that also holds its own threads lives (a
 * collection finds nothing: live processes are roots) until its job is
 * killed. */
static void test_mutual(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p1, *p2;
    uint64_t t1, t2;
    uint64_t h1 = mkstarted(&w, init, j, &p1, &t1);
    uint64_t h2 = mkstarted(&w, init, j, &p2, &t2);
    OK(mxh_handle_move(init, h2, p1));
    OK(mxh_handle_move(init, h1, p2));
    W_STATS(&w);
    CHECK_EQ(mxh_kernel_collect(w.k), 0);
    CHECK_EQ(state(p1, NULL), ST_RUNNING);
    CHECK_EQ(state(p2, NULL), ST_RUNNING);

    OK(mxh_task_kill(init, t1));
    check_exited(p1, 0);                  /* its last thread */
    check_exited(p2, -1);                 /* its last handle */
    w.e.live_handles -= 4;                /* both tables: bootstrap + peer */
    gone(&w, MXH_STATS_EVENT, 2);
    W_STATS(&w);
    CHECK(basic(init, t2).signals & TERM);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 0);
    close_h(&w, init, t1);
    close_h(&w, init, t2);
    gone(&w, MXH_STATS_THREAD, 2);
    gone(&w, MXH_STATS_PROCESS, 2);
    W_STATS(&w);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(p1)), 1);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(p2)), 1);

    /* Self-contained: each holds its own thread and the other's process. */
    h1 = mkstarted(&w, init, j, &p1, &t1);
    h2 = mkstarted(&w, init, j, &p2, &t2);
    OK(mxh_handle_move(init, t1, p1));
    OK(mxh_handle_move(init, t2, p2));
    OK(mxh_handle_move(init, h2, p1));
    OK(mxh_handle_move(init, h1, p2));
    CHECK_EQ(mxh_kernel_collect(w.k), 0);
    CHECK_EQ(state(p1, NULL), ST_RUNNING);
    CHECK_EQ(state(p2, NULL), ST_RUNNING);
    W_STATS(&w);
    OK(mxh_task_kill(init, j));
    check_exited(p1, -1);
    check_exited(p2, -1);
    w.e.live_handles -= 6;
    gone(&w, MXH_STATS_EVENT, 2);
    gone(&w, MXH_STATS_THREAD, 2);
    gone(&w, MXH_STATS_PROCESS, 2);
    W_STATS(&w);
    close_h(&w, init, j);
    gone(&w, MXH_STATS_JOB, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* A running process whose only handle sits in the queue of a channel it
 * holds itself (and whose thread's handle is its own): nothing outside
 * holds it, yet it is a live process, so it stays through collections
 * until its job is killed; then everything goes. */
static void test_channel_cycle(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    mxh_proc_t *p;
    uint64_t t;
    uint64_t ph = mkstarted(&w, init, j, &p, &t);
    OK(mxh_handle_move(init, t, p));
    uint64_t own = (uint64_t)OK(mxh_handle_move(init, ph, p));
    uint32_t c[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    w.e.live_handles += 2;
    w.e.live_objects[MXH_STATS_CHANNEL] += 2;
    OK(mxh_channel_write(p, c[1], "cycle", 5, &own, 1));
    w.e.in_transit_handles++;
    close_h(&w, p, c[1]);
    gone(&w, MXH_STATS_CHANNEL, 1);
    W_STATS(&w);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(mxh_kernel_collect(w.k), 0);
        CHECK_EQ(state(p, NULL), ST_RUNNING);
        W_STATS(&w);
    }
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, NULL), 1);

    OK(mxh_task_kill(init, j));
    check_exited(p, -1);
    /* p's table: bootstrap event, its thread, c[0] (whose queue held p). */
    w.e.live_handles -= 4;
    w.e.in_transit_handles--;
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_THREAD, 1);
    gone(&w, MXH_STATS_CHANNEL, 1);
    gone(&w, MXH_STATS_PROCESS, 1);
    W_STATS(&w);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(p)), 1);
    close_h(&w, init, j);
    gone(&w, MXH_STATS_JOB, 1);
    W_STATS(&w);
    shutdown_world(&w);
}

/* ---- 7. INFO topics ------------------------------------------------------------------------ */

static void test_info(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    uint64_t j1 = mkjob(&w, init, j);
    uint64_t j2 = mkjob(&w, init, j);
    mxh_proc_t *p, *q, *r;
    uint64_t t, rt;
    uint64_t ph = mkstarted(&w, init, j, &p, &t);
    uint64_t t2 = mkthread(&w, init, ph);
    OK(mxh_thread_start(init, t2));
    uint64_t t3 = mkthread(&w, init, ph);      /* new, alive */
    uint64_t qh = mkproc(&w, init, j, &q);
    uint64_t rh = mkstarted(&w, init, j, &r, &rt);
    OK(mxh_task_kill(init, rh));
    w.e.live_handles--;
    gone(&w, MXH_STATS_EVENT, 1);
    uint64_t ev = mkev(&w, init);
    uint64_t p_noread = (uint64_t)OK(mxh_handle_duplicate(
        init, ph, PROC_RIGHTS & ~MXH_RIGHT_READ));
    uint64_t p_noenum = (uint64_t)OK(mxh_handle_duplicate(
        init, ph, PROC_RIGHTS & ~MXH_RIGHT_ENUMERATE));
    uint64_t j_noenum = (uint64_t)OK(mxh_handle_duplicate(
        init, j, JOB_RIGHTS & ~MXH_RIGHT_ENUMERATE));
    w.e.live_handles += 3;
    W_STATS(&w);
    mxh_process_info_t pi;
    mxh_koid_t ks[8];

    /* The topic first (after a dead caller's BAD_STATE). */
    static const uint32_t unknown[] = {0, MXH_INFO_HANDLE_VALID,
                                       MXH_INFO_HANDLE_BASIC, 5, 7, 10,
                                       MXH_INFO_PROCESS_HANDLES, 0xffffffffu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_EQ(mxh_task_info(init, BIG_VALUE, unknown[i], &pi, ks, 8),
                 MXH_ERR_NOT_SUPPORTED);
        CHECK_EQ(mxh_task_info(init, ph, unknown[i], &pi, ks, 8),
                 MXH_ERR_NOT_SUPPORTED);
        CHECK_EQ(mxh_task_info(r, BIG_VALUE, unknown[i], &pi, ks, 8),
                 MXH_ERR_BAD_STATE);
    }
    static const uint32_t known[] = {MXH_INFO_PROCESS,
                                     MXH_INFO_PROCESS_THREADS,
                                     MXH_INFO_JOB_CHILDREN,
                                     MXH_INFO_JOB_PROCESSES};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(mxh_task_info(init, 0, known[i], &pi, ks, 8),
                 MXH_ERR_BAD_HANDLE);
        CHECK_EQ(mxh_task_info(init, BIG_VALUE, known[i], &pi, ks, 8),
                 MXH_ERR_BAD_HANDLE);
        CHECK_EQ(mxh_task_info(init, ev, known[i], &pi, ks, 8),
                 MXH_ERR_WRONG_TYPE);
        CHECK_EQ(mxh_task_info(init, t, known[i], &pi, ks, 8),
                 MXH_ERR_WRONG_TYPE);
        CHECK_EQ(mxh_task_info(r, ph, known[i], &pi, ks, 8),
                 MXH_ERR_BAD_STATE);
    }
    CHECK_EQ(mxh_task_info(init, j, MXH_INFO_PROCESS, &pi, ks, 8),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_info(init, j, MXH_INFO_PROCESS_THREADS, &pi, ks, 8),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_info(init, ph, MXH_INFO_JOB_CHILDREN, &pi, ks, 8),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_info(init, ph, MXH_INFO_JOB_PROCESSES, &pi, ks, 8),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_task_info(init, p_noread, MXH_INFO_PROCESS, &pi, ks, 8),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_task_info(init, p_noenum, MXH_INFO_PROCESS_THREADS, &pi,
                           ks, 8), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_task_info(init, j_noenum, MXH_INFO_JOB_CHILDREN, &pi, ks,
                           8), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_task_info(init, j_noenum, MXH_INFO_JOB_PROCESSES, &pi, ks,
                           8), MXH_ERR_ACCESS_DENIED);
    /* What each topic needs, and only that. */
    pi = pinfo(init, p_noenum);
    CHECK_EQ(pi.started, 1);
    CHECK_EQ(klist(init, p_noread, MXH_INFO_PROCESS_THREADS, NULL), 3);

    /* INFO_PROCESS of each kind. */
    CHECK_EQ(pinfo(init, qh).started, 0);
    CHECK_EQ(pinfo(init, qh).exited, 0);
    pi = pinfo(init, rh);
    CHECK_EQ(pi.started, 1);
    CHECK_EQ(pi.exited, 1);
    CHECK_EQ(pi.return_code, -1);

    /* Lists: dead tasks vanish; the count is the whole even past cap. */
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, ks), 3);
    CHECK(in_list(init, ph, MXH_INFO_PROCESS_THREADS, koid_of(init, t3)));
    CHECK_EQ(klist(init, rh, MXH_INFO_PROCESS_THREADS, NULL), 0);
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, ks), 2);
    CHECK(in_list(init, j, MXH_INFO_JOB_PROCESSES, koid_of(init, ph)));
    CHECK(in_list(init, j, MXH_INFO_JOB_PROCESSES, koid_of(init, qh)));
    CHECK(!in_list(init, j, MXH_INFO_JOB_PROCESSES, koid_of(init, rh)));
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_CHILDREN, ks), 2);
    CHECK(in_list(init, j, MXH_INFO_JOB_CHILDREN, koid_of(init, j1)));
    CHECK(in_list(init, j, MXH_INFO_JOB_CHILDREN, koid_of(init, j2)));
    CHECK_EQ(klist(init, j1, MXH_INFO_JOB_CHILDREN, NULL), 0);
    CHECK_EQ(klist(init, j1, MXH_INFO_JOB_PROCESSES, NULL), 0);
    mxh_koid_t small[3] = {0, 0, 0xabc};
    CHECK_EQ(mxh_task_info(init, ph, MXH_INFO_PROCESS_THREADS, NULL, small, 2),
             3);
    CHECK_EQ(small[2], 0xabc);
    CHECK(small[0] != 0 && small[1] != 0 && small[0] != small[1]);
    CHECK_EQ(mxh_task_info(init, j, MXH_INFO_JOB_PROCESSES, NULL, NULL, 0), 2);
    OK(mxh_task_kill(init, t2));
    CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 2);
    CHECK(!in_list(init, ph, MXH_INFO_PROCESS_THREADS, koid_of(init, t2)));
    OK(mxh_task_kill(init, qh));
    CHECK_EQ(klist(init, j, MXH_INFO_JOB_PROCESSES, ks), 1);
    CHECK_EQ(ks[0], koid_of(init, ph));

    /* INFO_PROCESS_HANDLES: the target's table. */
    mxh_handle_info_t tab[8];
    CHECK_EQ(mxh_process_handles_of(init, 0, tab, 8), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_process_handles_of(init, j, tab, 8), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_process_handles_of(init, t, tab, 8), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_process_handles_of(init, p_noenum, tab, 8),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_process_handles_of(r, ph, tab, 8), MXH_ERR_BAD_STATE);
    uint64_t pe = mkev(&w, p);
    int64_t n = OK(mxh_process_handles_of(init, p_noread, tab, 8));
    CHECK_EQ(n, 2);
    int seen = 0;
    for (int64_t i = 0; i < n; i++) {
        CHECK_EQ(tab[i].type, MXH_OBJ_EVENT);
        CHECK_EQ(tab[i].rights, EV_RIGHTS);
        CHECK_EQ(tab[i].koid, koid_of(p, tab[i].value));
        seen += tab[i].value == pe;
    }
    CHECK_EQ(seen, 1);
    CHECK_EQ(mxh_process_handles_of(init, ph, tab, 1), 2);
    CHECK_EQ(mxh_process_handles_of(init, rh, tab, 8), 0);   /* dead */
    W_STATS(&w);

    OK(mxh_task_kill(init, j));
    w.e.live_handles -= 2;                /* p's table */
    gone(&w, MXH_STATS_EVENT, 2);
    uint64_t hs[] = {ph, t, t2, t3, qh, rh, rt, ev, p_noread, p_noenum,
                     j_noenum, j, j1, j2};
    OK(mxh_handle_close_many(init, hs, sizeof hs / sizeof hs[0]));
    w.e.live_handles -= sizeof hs / sizeof hs[0];
    gone(&w, MXH_STATS_PROCESS, 3);
    gone(&w, MXH_STATS_THREAD, 4);
    gone(&w, MXH_STATS_EVENT, 1);
    gone(&w, MXH_STATS_JOB, 3);
    W_STATS(&w);
    shutdown_world(&w);
}

/* ---- 8. threads ------------------------------------------------------------------------------ */

#define NCREATORS 3
#define CREATE_ITERS 150
#define MAXH (CREATE_ITERS * 4 + 8)

typedef struct {
    mxh_proc_t *init;
    uint64_t job;
    uint64_t secret;
    pthread_barrier_t *bar;
    _Atomic int *made;
    uint64_t hs[MAXH];             /* handles to close at the end */
    size_t nh;
    mxh_proc_t *pins[CREATE_ITERS];
    size_t npins;
    uint64_t jobs[CREATE_ITERS];   /* the nested chain this thread grew */
    size_t njobs;
    int procs, threads, events, started;
} creator_arg;

/* Creates processes (with a thread, started with an event as bootstrap)
 * down a chain of nested jobs it grows under `job`, until the job's kill
 * stops it. */
static void *creator(void *arg) {
    creator_arg *a = arg;
    pthread_barrier_wait(a->bar);
    uint64_t cur = a->job;
    for (int i = 0; i < CREATE_ITERS; i++) {
        int64_t nj = mxh_job_create(a->init, cur, 0);
        if (nj == MXH_ERR_BAD_STATE)
            break;
        CHECK(nj > 0);
        a->jobs[a->njobs++] = (uint64_t)nj;
        cur = (uint64_t)nj;
        mxh_proc_t *np = NULL;
        int64_t ph = mxh_process_create(a->init, cur, a->secret + (uint64_t)i,
                                        0, &np);
        if (ph == MXH_ERR_BAD_STATE) {
            CHECK(np == NULL);
            break;
        }
        CHECK(ph > 0 && np != NULL);
        a->pins[a->npins++] = np;
        a->hs[a->nh++] = (uint64_t)ph;
        a->procs++;
        atomic_fetch_add(a->made, 1);
        int64_t th = mxh_thread_create(a->init, (uint64_t)ph, 0);
        CHECK(th > 0 || th == MXH_ERR_BAD_STATE);
        int64_t ev = OK(mxh_object_create_handle(a->init, MXH_OBJ_EVENT,
                                                 EV_RIGHTS));
        a->events++;
        if (th > 0) {
            a->hs[a->nh++] = (uint64_t)th;
            a->threads++;
            mxh_koid_t koid;
            int64_t rc = mxh_process_start(a->init, (uint64_t)ph,
                                           (uint64_t)th, (uint64_t)ev, &koid);
            CHECK(rc > 0 || rc == MXH_ERR_BAD_STATE);
            if (rc > 0) {
                a->started++;
                continue;
            }
        }
        a->hs[a->nh++] = (uint64_t)ev;
    }
    return NULL;
}

typedef struct {
    mxh_proc_t *init;
    uint64_t job;
    _Atomic int *made;
    int threshold;
    pthread_barrier_t *bar;
} killer_arg;

static void *job_killer(void *arg) {
    killer_arg *a = arg;
    pthread_barrier_wait(a->bar);
    while (atomic_load(a->made) < a->threshold)
        sched_yield();
    CHECK_EQ(mxh_task_kill(a->init, a->job), MXH_OK);
    return NULL;
}

/* Threads create jobs, processes and threads under a job while another
 * kills it: nothing escapes the kill, nothing leaks, and since a failed
 * create leaves no trace the counters are exact. */
static void test_create_vs_kill(void) {
    int raced = 0;
    for (int round = 0; round < 6; round++) {
        world_t w;
        boot(&w, 0);
        mxh_proc_t *init = w.init;
        uint64_t j = mkjob(&w, init, w.rj);
        _Atomic int made = 0;
        pthread_barrier_t bar;
        CHECK(pthread_barrier_init(&bar, NULL, NCREATORS + 1) == 0);
        creator_arg *ca = calloc(NCREATORS, sizeof *ca);
        CHECK(ca != NULL);
        pthread_t t[NCREATORS + 1];
        for (int i = 0; i < NCREATORS; i++) {
            ca[i].init = init;
            ca[i].job = j;
            ca[i].secret = 1000u * (uint64_t)(i + 1);
            ca[i].bar = &bar;
            ca[i].made = &made;
            CHECK(pthread_create(&t[i], NULL, creator, &ca[i]) == 0);
        }
        killer_arg ka = {init, j, &made, 10 + 40 * round, &bar};
        CHECK(pthread_create(&t[NCREATORS], NULL, job_killer, &ka) == 0);
        for (int i = 0; i <= NCREATORS; i++)
            CHECK(pthread_join(t[i], NULL) == 0);
        pthread_barrier_destroy(&bar);

        int procs = 0, threads = 0, events = 0, started = 0, jobs = 0;
        size_t handles = 0;
        mxh_proc_t *out = NULL;
        for (int i = 0; i < NCREATORS; i++) {
            creator_arg *a = &ca[i];
            for (size_t k = 0; k < a->npins; k++) {
                check_exited(a->pins[k], -1);
                add_pin(&w, a->pins[k]);
            }
            for (size_t k = 0; k < a->njobs; k++) {
                CHECK_EQ(mxh_job_create(init, a->jobs[k], 0),
                         MXH_ERR_BAD_STATE);
                CHECK_EQ(mxh_process_create(init, a->jobs[k], 1, 0, &out),
                         MXH_ERR_BAD_STATE);
                CHECK_EQ(klist(init, a->jobs[k], MXH_INFO_JOB_PROCESSES,
                               NULL), 0);
            }
            procs += a->procs;
            threads += a->threads;
            events += a->events;
            started += a->started;
            jobs += (int)a->njobs;
            handles += a->nh + a->njobs;
        }
        CHECK(out == NULL);
        CHECK(procs >= ka.threshold);
        if (procs < NCREATORS * CREATE_ITERS)
            raced++;
        /* The started processes took their events along. */
        w.e.live_handles += handles;
        w.e.live_objects[MXH_STATS_PROCESS] += (uint64_t)procs;
        w.e.live_objects[MXH_STATS_THREAD] += (uint64_t)threads;
        w.e.live_objects[MXH_STATS_JOB] += (uint64_t)jobs;
        w.e.live_objects[MXH_STATS_EVENT] += (uint64_t)(events - started);
        w.e.destroyed_objects += (uint64_t)started;
        W_STATS(&w);

        for (int i = 0; i < NCREATORS; i++) {
            OK(mxh_handle_close_many(init, ca[i].hs, ca[i].nh));
            OK(mxh_handle_close_many(init, ca[i].jobs, ca[i].njobs));
        }
        w.e.live_handles -= handles;
        gone(&w, MXH_STATS_PROCESS, procs);
        gone(&w, MXH_STATS_THREAD, threads);
        gone(&w, MXH_STATS_JOB, jobs);
        gone(&w, MXH_STATS_EVENT, events - started);
        close_h(&w, init, j);
        gone(&w, MXH_STATS_JOB, 1);
        W_STATS(&w);
        free(ca);
        shutdown_world(&w);
    }
    fprintf(stderr, "  create vs kill: the kill stopped the creators in %d of 6"
            " rounds\n", raced);
}

/* A victim's own syscalls from several threads while it is killed (through
 * its handle and through its job at once): each call works or answers
 * BAD_STATE (a wait: TIMED_OUT or CANCELED); afterwards the victim's table
 * is empty, everything it made is gone, and the counters are exact. */
#define NWORKERS 3

typedef struct {
    mxh_proc_t *v;
    uint64_t ev, c0, c1, jv;
    _Atomic int *ops;
    pthread_barrier_t *bar;
    mxh_proc_t *pins[4096];
    size_t npins;
    int events, jobs, procs, threads;
    int seed;
} victim_arg;

static int dead_or(int64_t rc, int64_t ok_floor) {
    if (rc == MXH_ERR_BAD_STATE)
        return 1;
    if (rc < ok_floor) {
        fprintf(stderr, "victim call: %" PRId64 "\n", rc);
        CHECK(rc >= ok_floor);
    }
    return 0;
}

static void *victim_worker(void *arg) {
    victim_arg *a = arg;
    mxh_proc_t *v = a->v;
    pthread_barrier_wait(a->bar);
    for (int i = 0;; i++) {
        int64_t rc;
        atomic_fetch_add(a->ops, 1);
        switch ((i + a->seed) % 7) {
        case 0: {
            rc = mxh_object_create_handle(v, MXH_OBJ_EVENT, EV_RIGHTS);
            if (dead_or(rc, 1))
                return NULL;
            a->events++;
            int64_t d = mxh_handle_duplicate(v, (uint64_t)rc,
                                             MXH_RIGHT_SAME_RIGHTS);
            if (dead_or(d, 1))
                return NULL;
            uint64_t two[2] = {(uint64_t)rc, (uint64_t)d};
            if (dead_or(mxh_handle_close_many(v, two, 2), 0))
                return NULL;
            break;
        }
        case 1:
            rc = mxh_job_create(v, a->jv, 0);
            if (dead_or(rc, 1))
                return NULL;
            a->jobs++;
            if (dead_or(mxh_handle_close(v, (uint64_t)rc), 0))
                return NULL;
            break;
        case 2: {
            mxh_proc_t *np = NULL;
            rc = mxh_process_create(v, a->jv, (uint64_t)i, 0, &np);
            if (dead_or(rc, 1))
                return NULL;
            a->procs++;
            CHECK(a->npins < 4096);
            a->pins[a->npins++] = np;
            int64_t th = mxh_thread_create(v, (uint64_t)rc, 0);
            if (dead_or(th, 1))
                return NULL;
            a->threads++;
            if (dead_or(mxh_handle_close(v, (uint64_t)th), 0) ||
                dead_or(mxh_handle_close(v, (uint64_t)rc), 0))
                return NULL;
            break;
        }
        case 3: {
            int64_t d = mxh_handle_duplicate(v, a->ev, MXH_RIGHT_SAME_RIGHTS);
            if (dead_or(d, 1))
                return NULL;
            uint64_t dv = (uint64_t)d;
            if (dead_or(mxh_channel_write(v, a->c0, "x", 1, &dv, 1), 0))
                return NULL;
            char buf[4];
            uint32_t got[1];
            uint64_t actual[3];
            rc = mxh_channel_read(v, a->c1, 0, sizeof buf, 1, buf, got, actual);
            if (rc == MXH_ERR_SHOULD_WAIT)  /* another worker took it */
                break;
            if (dead_or(rc, 0))
                return NULL;
            if (dead_or(mxh_handle_close(v, got[0]), 0))
                return NULL;
            break;
        }
        case 4: {
            uint32_t obs;
            rc = mxh_object_wait_one(v, a->ev, MXH_SIGNAL_EVENT_SIGNALED,
                                     mxh_now() + 200000, &obs);
            if (rc == MXH_ERR_TIMED_OUT || rc == MXH_ERR_CANCELED)
                break;
            if (dead_or(rc, 0))
                return NULL;
            break;
        }
        case 5: {
            mxh_koid_t ks[4];
            rc = mxh_task_info(v, a->jv, MXH_INFO_JOB_PROCESSES, NULL, ks, 4);
            if (dead_or(rc, 0))
                return NULL;
            break;
        }
        default:
            rc = mxh_object_signal(v, a->ev, 0, 1u << 24, 0);
            if (dead_or(rc, 0))
                return NULL;
            break;
        }
    }
}

typedef struct {
    mxh_proc_t *init;
    uint64_t h;
    _Atomic int *ops;
    int threshold;
    pthread_barrier_t *bar;
} handle_killer_arg;

static void *handle_killer(void *arg) {
    handle_killer_arg *a = arg;
    pthread_barrier_wait(a->bar);
    while (atomic_load(a->ops) < a->threshold)
        sched_yield();
    CHECK_EQ(mxh_task_kill(a->init, a->h), MXH_OK);
    return NULL;
}

static void test_kill_vs_syscalls(void) {
    for (int round = 0; round < 4; round++) {
        world_t w;
        boot(&w, 0);
        mxh_proc_t *init = w.init;
        uint64_t j = mkjob(&w, init, w.rj);
        uint64_t j2 = mkjob(&w, init, w.rj);
        mxh_proc_t *v;
        uint64_t vt;
        uint64_t vh = mkstarted(&w, init, j, &v, &vt);
        victim_arg base;
        memset(&base, 0, sizeof base);
        base.v = v;
        base.jv = (uint64_t)OK(mxh_handle_move(init, j2, v));
        base.ev = mkev(&w, v);
        uint32_t c[2];
        OK(mxh_pair_create_handles(v, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
        w.e.live_handles += 2;
        w.e.live_objects[MXH_STATS_CHANNEL] += 2;
        base.c0 = c[0];
        base.c1 = c[1];
        W_STATS(&w);
        _Atomic int ops = 0;
        pthread_barrier_t bar;
        CHECK(pthread_barrier_init(&bar, NULL, NWORKERS + 2) == 0);
        base.ops = &ops;
        base.bar = &bar;
        victim_arg *va = calloc(NWORKERS, sizeof *va);
        CHECK(va != NULL);
        pthread_t t[NWORKERS + 2];
        for (int i = 0; i < NWORKERS; i++) {
            va[i] = base;
            va[i].seed = i * 3;
            CHECK(pthread_create(&t[i], NULL, victim_worker, &va[i]) == 0);
        }
        int threshold = 200 + 300 * round;
        handle_killer_arg k1 = {init, vh, &ops, threshold, &bar};
        handle_killer_arg k2 = {init, j, &ops, threshold, &bar};
        CHECK(pthread_create(&t[NWORKERS], NULL, handle_killer, &k1) == 0);
        CHECK(pthread_create(&t[NWORKERS + 1], NULL, handle_killer, &k2) == 0);
        for (int i = 0; i < NWORKERS + 2; i++)
            CHECK(pthread_join(t[i], NULL) == 0);
        pthread_barrier_destroy(&bar);

        check_exited(v, -1);
        CHECK(basic(init, vt).signals & TERM);
        int made = 0;
        for (int i = 0; i < NWORKERS; i++) {
            for (size_t k = 0; k < va[i].npins; k++) {
                check_exited(va[i].pins[k], -1);
                add_pin(&w, va[i].pins[k]);
            }
            made += va[i].events + va[i].jobs + va[i].procs + va[i].threads;
        }
        /* v's table closed: its bootstrap event, the job j2 (nothing else
         * held it), its event and channel; everything it made is gone. */
        w.e.live_handles -= 5;
        gone(&w, MXH_STATS_EVENT, 2);
        gone(&w, MXH_STATS_CHANNEL, 2);
        gone(&w, MXH_STATS_JOB, 1);
        w.e.destroyed_objects += (uint64_t)made;
        W_STATS(&w);
        CHECK_EQ(mxh_proc_handle_count(v), 0);
        close_h(&w, init, vt);
        close_h(&w, init, vh);
        gone(&w, MXH_STATS_THREAD, 1);
        gone(&w, MXH_STATS_PROCESS, 1);
        close_h(&w, init, j);
        gone(&w, MXH_STATS_JOB, 1);
        W_STATS(&w);
        free(va);
        shutdown_world(&w);
    }
}

/* Every thread of a started process killed at once from several threads,
 * sometimes with the process itself: it exits exactly once, with 0 (its
 * last thread) or -1 (killed first); extra threads created and started
 * meanwhile die with it. */
#define RACE_THREADS 4

typedef struct {
    mxh_proc_t *init;
    uint64_t h;
    pthread_barrier_t *bar;
} one_kill_arg;

static void *one_kill(void *arg) {
    one_kill_arg *a = arg;
    pthread_barrier_wait(a->bar);
    CHECK_EQ(mxh_task_kill(a->init, a->h), MXH_OK);
    return NULL;
}

typedef struct {
    mxh_proc_t *init;
    uint64_t ph;
    pthread_barrier_t *bar;
    uint64_t made[256];
    int n;
} spawner_arg;

static void *spawner(void *arg) {
    spawner_arg *a = arg;
    pthread_barrier_wait(a->bar);
    while (a->n < 256) {
        int64_t th = mxh_thread_create(a->init, a->ph, 0);
        if (th == MXH_ERR_BAD_STATE)
            break;
        CHECK(th > 0);
        a->made[a->n++] = (uint64_t)th;
        int64_t rc = mxh_thread_start(a->init, (uint64_t)th);
        if (rc == MXH_ERR_BAD_STATE)
            break;
        CHECK_EQ(rc, MXH_OK);
    }
    return NULL;
}

static void test_thread_races(void) {
    world_t w;
    boot(&w, 0);
    mxh_proc_t *init = w.init;
    uint64_t j = mkjob(&w, init, w.rj);
    int zero = 0, minus = 0;
    for (int round = 0; round < 60; round++) {
        int with_proc = round % 2;
        mxh_proc_t *p;
        uint64_t th[RACE_THREADS];
        uint64_t ph = mkstarted(&w, init, j, &p, &th[0]);
        for (int i = 1; i < RACE_THREADS; i++) {
            th[i] = mkthread(&w, init, ph);
            OK(mxh_thread_start(init, th[i]));
        }
        pthread_barrier_t bar;
        int nthreads = RACE_THREADS + 2 * with_proc;
        CHECK(pthread_barrier_init(&bar, NULL, (unsigned)nthreads) == 0);
        pthread_t t[RACE_THREADS + 2];
        one_kill_arg ka[RACE_THREADS + 1];
        for (int i = 0; i < RACE_THREADS; i++) {
            ka[i] = (one_kill_arg){init, th[i], &bar};
            CHECK(pthread_create(&t[i], NULL, one_kill, &ka[i]) == 0);
        }
        spawner_arg *sa = calloc(1, sizeof *sa);
        CHECK(sa != NULL);
        if (with_proc) {
            ka[RACE_THREADS] = (one_kill_arg){init, ph, &bar};
            CHECK(pthread_create(&t[RACE_THREADS], NULL, one_kill,
                                 &ka[RACE_THREADS]) == 0);
            *sa = (spawner_arg){init, ph, &bar, {0}, 0};
            CHECK(pthread_create(&t[RACE_THREADS + 1], NULL, spawner, sa) == 0);
        }
        for (int i = 0; i < nthreads; i++)
            CHECK(pthread_join(t[i], NULL) == 0);
        pthread_barrier_destroy(&bar);
        int64_t rc = 7;
        CHECK_EQ(state(p, &rc), ST_EXITED);
        CHECK(rc == 0 || (with_proc && rc == -1));
        zero += rc == 0;
        minus += rc == -1;
        check_exited(p, rc);
        for (int i = 0; i < RACE_THREADS; i++)
            CHECK(basic(init, th[i]).signals & TERM);
        for (int i = 0; i < sa->n; i++)
            CHECK(basic(init, sa->made[i]).signals & TERM);
        CHECK_EQ(klist(init, ph, MXH_INFO_PROCESS_THREADS, NULL), 0);
        w.e.live_handles--;               /* its bootstrap event */
        gone(&w, MXH_STATS_EVENT, 1);
        w.e.live_handles += (uint64_t)sa->n;
        w.e.live_objects[MXH_STATS_THREAD] += (uint64_t)sa->n;
        W_STATS(&w);
        OK(mxh_handle_close_many(init, th, RACE_THREADS));
        OK(mxh_handle_close_many(init, sa->made, (size_t)sa->n));
        w.e.live_handles -= RACE_THREADS + (uint64_t)sa->n;
        gone(&w, MXH_STATS_THREAD, RACE_THREADS + sa->n);
        close_h(&w, init, ph);
        gone(&w, MXH_STATS_PROCESS, 1);
        W_STATS(&w);
        free(sa);
    }
    CHECK(zero > 0);
    fprintf(stderr, "  thread races: %d exits with 0, %d with -1\n", zero, minus);
    close_h(&w, init, j);
    gone(&w, MXH_STATS_JOB, 1);
    shutdown_world(&w);
}

/* ---- main --------------------------------------------------------------------------------- */

int main(void) {
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"boot", test_boot},
        {"job_create", test_job_create},
        {"process_create", test_process_create},
        {"thread_create", test_thread_create},
        {"create_limits", test_create_limits},
        {"process_start", test_process_start},
        {"thread_start", test_thread_start},
        {"exit", test_exit},
        {"kill", test_kill},
        {"last_thread", test_last_thread},
        {"zero_handles", test_zero_handles},
        {"blocked_calls_of_the_dead", test_blocked_calls_of_the_dead},
        {"job_chain", test_job_chain},
        {"job_tree", test_job_tree},
        {"mutual", test_mutual},
        {"channel_cycle", test_channel_cycle},
        {"info", test_info},
        {"create_vs_kill", test_create_vs_kill},
        {"kill_vs_syscalls", test_kill_vs_syscalls},
        {"thread_races", test_thread_races},
    };
    size_t n = sizeof tests / sizeof tests[0];
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, "test_task: %s\n", tests[i].name);
        tests[i].fn();
    }
    printf("test_task: %zu tests passed\n", n);
    return 0;
}
