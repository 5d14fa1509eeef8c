/*
 * test_fault.c - allocation failure at every point of a fixed workload.
 *
 * Built with -DMXH_FAULT_INJECTION.  For N = 1, 2, 3, ... the Nth
 * allocation of a run fails.  Every call must then succeed or answer
 * MXH_ERR_NO_MEMORY (NULL from the creators) with nothing changed; after
 * every step the kernel's counters must match what the test holds, and the
 * workload carries on.  The loop ends when runs stop meeting a failure.
 *
 * The workload boots the kernel (p[0] is init) and runs the task calls
 * too: job, process and thread creates (a failed one uses no koid),
 * process_start (the bootstrap handle stays with the caller on failure),
 * thread_start, creates by the started process itself, and a job kill.
 */
#define _POSIX_C_SOURCE 200809L
#include "mxh_test.h"

#ifndef MXH_FAULT_INJECTION
int main(void) {
    printf("test_fault: skipped (build with -DMXH_FAULT_INJECTION)\n");
    return 0;
}
#else

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define JOB_RIGHTS (EV_RIGHTS | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY | \
                    MXH_RIGHT_SET_PROPERTY | MXH_RIGHT_GET_POLICY |         \
                    MXH_RIGHT_SET_POLICY)
#define NPROC 3
#define MAXPINS 64
#define MAXV 8192
#define MAXB 16

/* What the test holds: every value of every process, every bundle. */
typedef struct {
    mxh_kernel_t *k;
    mxh_proc_t *p[NPROC];
    uint64_t *v[NPROC];
    size_t n[NPROC];
    mxh_transit_t *b[MAXB];
    size_t nb;
    uint64_t queued;     /* handles in channel queues */
    int have_channel;    /* the workload's channel pair was created */
    uint64_t created;    /* objects made (destroyed by the end) */
    int failures;        /* NO_MEMORY / NULL answers this run */
    mxh_obj_t *root;     /* the kernel's tasks: p[0] is init */
    mxh_obj_t *ithread;
    uint64_t extra;      /* handles in tables of processes not in p[] */
    mxh_proc_t *pins[MAXPINS];   /* views from mxh_process_create */
    size_t npins;
} world;

/* rc must be a success or NO_MEMORY; returns 1 on success. */
static int allow_at(world *w, int64_t rc, const char *file, int line,
                    const char *expr) {
    if (rc >= 0)
        return 1;
    if (rc == MXH_ERR_NO_MEMORY) {
        w->failures++;
        return 0;
    }
    fprintf(stderr, "%s:%d: %s returned %" PRId64
            " (only success or NO_MEMORY allowed)\n", file, line, expr, rc);
    exit(1);
}
#define ALLOW(w, e) allow_at((w), (int64_t)(e), __FILE__, __LINE__, #e)

/* e must succeed, or fail with NO_MEMORY having changed nothing (no koid
 * used either) and then succeed when tried again (one failure per run).
 * Evaluates to e's value. */
#define RETRY(w, e)                                                         \
    ({                                                                      \
        mxh_koid_t k_ = mxh_kernel_peek_koid((w)->k);                       \
        int64_t r_ = (int64_t)(e);                                          \
        if (!allow_at((w), r_, __FILE__, __LINE__, #e)) {                   \
            CHECK_EQ(mxh_kernel_peek_koid((w)->k), k_);                     \
            consistent(w);                                                  \
            r_ = OK(e);                                                     \
        }                                                                   \
        r_;                                                                 \
    })

static void consistent(world *w);

static void push(world *w, int i, uint64_t v) {
    CHECK(w->n[i] < MAXV);
    CHECK(v >= 1 && v <= 0x7fffffffu);
    w->v[i][w->n[i]++] = v;
}

static void remove_at(world *w, int i, size_t j) {
    w->v[i][j] = w->v[i][--w->n[i]];
}

/* Counters and tables agree with what the test holds. */
static void consistent(world *w) {
    uint64_t live = 0, transit = 0;
    for (int i = 0; i < NPROC; i++) {
        if (!w->p[i])
            continue;
        CHECK_EQ(mxh_proc_handle_count(w->p[i]), w->n[i]);
        for (size_t j = 0; j < w->n[i]; j++) {
            mxh_handle_info_t inf;
            CHECK_EQ(mxh_handle_basic(w->p[i], w->v[i][j], &inf), MXH_OK);
        }
        live += w->n[i];
    }
    live += w->extra;
    for (size_t j = 0; j < w->nb; j++)
        transit += mxh_transit_count(w->b[j]);
    transit += w->queued;
    mxh_stats_t s;
    mxh_kernel_stats(w->k, &s);
    CHECK_EQ(s.in_transit_handles, transit);
    CHECK_EQ(s.live_handles, live + transit);
    uint64_t objs = 0;
    for (int i = 0; i < 8; i++)
        objs += s.live_objects[i];
    CHECK_EQ(objs + s.destroyed_objects, w->created);
}

static void event_handles(world *w, int i, int count) {
    for (int c = 0; c < count; c++) {
        int64_t v = mxh_object_create_handle(w->p[i], MXH_OBJ_EVENT, EV_RIGHTS);
        if (ALLOW(w, v)) {
            push(w, i, (uint64_t)v);
            w->created++;
        }
    }
}

/* Takes up to `count` handles from the end of i's list into a bundle. */
static void take(world *w, int i, size_t count) {
    if (!w->p[i] || w->n[i] < count || w->nb == MAXB)
        return;
    uint64_t *hs = malloc((count ? count : 1) * sizeof *hs);
    CHECK(hs);
    memcpy(hs, w->v[i] + w->n[i] - count, count * sizeof *hs);
    mxh_transit_t *t = NULL;
    if (ALLOW(w, mxh_transit_take(w->p[i], hs, count, NULL, &t))) {
        w->n[i] -= count;
        if (t)
            w->b[w->nb++] = t;
        else
            CHECK_EQ(count, 0);
    }
    free(hs);
    consistent(w);
}

/* Binds the newest bundle into i; on NO_MEMORY the bundle is untouched
 * and is closed instead. */
static void bind_last(world *w, int i) {
    if (!w->nb || !w->p[i])
        return;
    mxh_transit_t *t = w->b[w->nb - 1];
    size_t n = mxh_transit_count(t);
    uint32_t *out = calloc(n, sizeof *out);
    CHECK(out);
    if (ALLOW(w, mxh_transit_bind(w->p[i], t, out))) {
        w->nb--;
        for (size_t j = 0; j < n; j++)
            push(w, i, out[j]);
    } else {
        CHECK_EQ(mxh_transit_count(t), n);
        consistent(w);
        mxh_transit_close(t);
        w->nb--;
    }
    free(out);
    consistent(w);
}

/* Finds a channel handle and the handle to its peer: (i, j) in processes
 * (pi, pj).  Returns 0 if there is no such pair. */
static int find_channel(world *w, int *pi, size_t *ji, int *pj, size_t *jj) {
    for (int i = 0; i < NPROC; i++) {
        for (size_t j = 0; w->p[i] && j < w->n[i]; j++) {
            mxh_handle_info_t a;
            OK(mxh_handle_basic(w->p[i], w->v[i][j], &a));
            if (a.type != MXH_OBJ_CHANNEL)
                continue;
            for (int i2 = 0; i2 < NPROC; i2++) {
                for (size_t j2 = 0; w->p[i2] && j2 < w->n[i2]; j2++) {
                    mxh_handle_info_t b;
                    OK(mxh_handle_basic(w->p[i2], w->v[i2][j2], &b));
                    if (b.koid == a.related_koid) {
                        *pi = i, *ji = j, *pj = i2, *jj = j2;
                        return 1;
                    }
                }
            }
        }
    }
    return 0;
}

static uint64_t round_trips;   /* channel_round_trip runs that got through */

static void channel_round_trip(world *w) {
    int pi, pj;
    size_t ji, jj;
    if (!find_channel(w, &pi, &ji, &pj, &jj)) {
        CHECK(!w->have_channel);
        return;
    }
    uint64_t ch = w->v[pi][ji], peer = w->v[pj][jj];
    /* Carry three of pi's handles that are neither end. */
    uint64_t hs[3];
    size_t nh = 0;
    for (size_t j = w->n[pi]; j-- > 0 && nh < 3;)
        if (w->v[pi][j] != ch && w->v[pi][j] != peer)
            hs[nh++] = w->v[pi][j];
    CHECK_EQ(nh, 3);
    mxh_koid_t koids[3];
    for (int l = 0; l < 3; l++) {
        mxh_handle_info_t inf;
        OK(mxh_handle_basic(w->p[pi], hs[l], &inf));
        koids[l] = inf.koid;
    }
    RETRY(w, mxh_channel_write(w->p[pi], ch, "fault", 5, hs, 3));
    for (int l = 0; l < 3; l++) {
        for (size_t j = 0; j < w->n[pi]; j++) {
            if (w->v[pi][j] == hs[l]) {
                remove_at(w, pi, j);
                break;
            }
        }
    }
    w->queued += 3;
    consistent(w);
    /* Too small: nothing moves, nothing is allocated. */
    char buf[8];
    uint32_t got[3];
    uint64_t actual[3] = {0, 0, 0};
    CHECK_EQ(mxh_channel_read(w->p[pj], peer, 0, 4, 3, buf, got, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(actual[0], 5);
    CHECK_EQ(actual[1], 3);
    consistent(w);
    int64_t rc = RETRY(w, mxh_channel_read(w->p[pj], peer, 0, sizeof buf, 3,
                                           buf, got, actual));
    CHECK_EQ(rc, (3ll << 32) | 5);
    CHECK(memcmp(buf, "fault", 5) == 0);
    w->queued -= 3;
    for (int l = 0; l < 3; l++) {
        mxh_handle_info_t inf;
        OK(mxh_handle_basic(w->p[pj], got[l], &inf));
        CHECK_EQ(inf.koid, koids[l]);
        push(w, pj, got[l]);
    }
    consistent(w);
    round_trips++;
}

/* Writes process i's handle h through channel ch; h leaves i's list. */
static void send_one(world *w, int i, uint64_t ch, uint64_t h) {
    RETRY(w, mxh_channel_write(w->p[i], ch, "h", 1, &h, 1));
    for (size_t j = 0; j < w->n[i]; j++) {
        if (w->v[i][j] == h) {
            remove_at(w, i, j);
            break;
        }
    }
    w->queued++;
    consistent(w);
}

/* Two garbage cycles in p1 (a 2-cycle and an endpoint in its own queue),
 * then a collection: NO_MEMORY reclaims nothing, a retry reclaims both. */
static void garbage_and_collect(world *w) {
    mxh_proc_t *p = w->p[1];
    uint32_t a[2], b[2], c[2];
    RETRY(w, mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, a, NULL));
    w->created += 2;
    push(w, 1, a[0]);
    push(w, 1, a[1]);
    RETRY(w, mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, b, NULL));
    w->created += 2;
    push(w, 1, b[0]);
    push(w, 1, b[1]);
    RETRY(w, mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    w->created += 2;
    push(w, 1, c[0]);
    push(w, 1, c[1]);
    consistent(w);
    send_one(w, 1, a[1], b[0]);
    send_one(w, 1, b[1], a[0]);
    send_one(w, 1, c[1], c[0]);
    uint64_t writers[] = {a[1], b[1], c[1]};
    CHECK_EQ(RETRY(w, mxh_handle_close_many(p, writers, 3)), MXH_OK);
    for (int l = 0; l < 3; l++)
        for (size_t j = 0; j < w->n[1]; j++)
            if (w->v[1][j] == writers[l])
                remove_at(w, 1, j);
    consistent(w);
    int64_t got = RETRY(w, mxh_kernel_collect(w->k));
    CHECK_EQ(got, 3);
    w->queued -= 3;
    consistent(w);
}

static void remove_value(world *w, int i, uint64_t h) {
    for (size_t j = 0; j < w->n[i]; j++) {
        if (w->v[i][j] == h) {
            remove_at(w, i, j);
            return;
        }
    }
    CHECK(!"value not held");
}

static void add_pin(world *w, mxh_proc_t *p) {
    CHECK(p != NULL && w->npins < MAXPINS);
    w->pins[w->npins++] = p;
}

/* Moves duplicates of init's handles src[0..8) into t, one by one: t's
 * table is then exactly full (8 slots), so t's next handle needs room.
 * Returns the first one's value in t. */
static uint64_t load8(world *w, mxh_proc_t *t, const uint64_t *src) {
    uint64_t first = 0;
    for (int k = 0; k < 8; k++) {
        uint64_t d = (uint64_t)RETRY(w, mxh_handle_duplicate(
            w->p[0], src[k], MXH_RIGHT_SAME_RIGHTS));
        push(w, 0, d);
        int64_t m = RETRY(w, mxh_handle_move(w->p[0], d, t));
        remove_value(w, 0, d);
        w->extra++;
        if (k == 0)
            first = (uint64_t)m;
    }
    CHECK_EQ(mxh_proc_handle_count(t), 8);
    consistent(w);
    return first;
}

/* A create by t that needs its table to grow: works, or NO_MEMORY with no
 * trace (no koid used). */
static int grown_create(world *w, int64_t rc, mxh_koid_t koid_before) {
    if (ALLOW(w, rc)) {
        w->extra++;
        w->created++;
        consistent(w);
        return 1;
    }
    CHECK_EQ(mxh_kernel_peek_koid(w->k), koid_before);
    consistent(w);
    return 0;
}

/* init (p[0]) makes a job tree, a process with two threads, starts it with
 * an event as its bootstrap handle; the child makes handles, a job, a
 * process and a thread of its own; then the tree is killed. */
static void tasks(world *w) {
    mxh_proc_t *init = w->p[0];
    uint64_t rj = (uint64_t)RETRY(w, mxh_handle_create(init, w->root,
                                                       JOB_RIGHTS));
    push(w, 0, rj);
    consistent(w);
    uint64_t j = (uint64_t)RETRY(w, mxh_job_create(init, rj, 0));
    push(w, 0, j);
    w->created++;
    uint64_t j2 = (uint64_t)RETRY(w, mxh_job_create(init, j, 0));
    push(w, 0, j2);
    w->created++;
    consistent(w);

    mxh_proc_t *child = NULL;
    uint64_t ph = (uint64_t)RETRY(w, mxh_process_create(init, j2, 0x77, 0,
                                                        &child));
    add_pin(w, child);
    push(w, 0, ph);
    w->created++;
    uint64_t th = (uint64_t)RETRY(w, mxh_thread_create(init, ph, 0));
    push(w, 0, th);
    w->created++;
    uint64_t th2 = (uint64_t)RETRY(w, mxh_thread_create(init, ph, 0));
    push(w, 0, th2);
    w->created++;
    uint64_t bev = (uint64_t)RETRY(w, mxh_object_create_handle(
        init, MXH_OBJ_EVENT, EV_RIGHTS));
    push(w, 0, bev);
    w->created++;
    consistent(w);

    /* Start: room in the child's table may run out; then the bootstrap
     * event is still init's and the child still new. */
    mxh_koid_t koid = 0, bkoid;
    mxh_handle_info_t inf;
    OK(mxh_handle_basic(init, bev, &inf));
    bkoid = inf.koid;
    int64_t v = mxh_process_start(init, ph, th, bev, &koid);
    if (!ALLOW(w, v)) {
        CHECK_EQ(mxh_handle_basic(init, bev, &inf), MXH_OK);
        CHECK_EQ(inf.koid, bkoid);
        CHECK_EQ(mxh_proc_state(child, NULL), 0);
        CHECK_EQ(mxh_proc_handle_count(child), 0);
        consistent(w);
        v = OK(mxh_process_start(init, ph, th, bev, &koid));
    }
    remove_value(w, 0, bev);
    w->extra++;
    CHECK_EQ(mxh_proc_state(child, NULL), 1);
    OK(mxh_handle_basic(child, (uint64_t)v, &inf));
    CHECK_EQ(inf.koid, bkoid);
    consistent(w);
    CHECK_EQ(mxh_thread_start(init, th2), MXH_OK);
    CHECK_EQ(mxh_process_start(init, ph, th2, rj, &koid), MXH_ERR_BAD_STATE);

    /* The child's own calls: a job handle moved in, events, a job, a
     * process and its thread. */
    uint64_t d = (uint64_t)RETRY(w, mxh_handle_duplicate(init, j2,
                                                         MXH_RIGHT_SAME_RIGHTS));
    push(w, 0, d);
    int64_t cj = mxh_handle_move(init, d, child);
    if (ALLOW(w, cj)) {
        remove_value(w, 0, d);
        w->extra++;
    }
    consistent(w);
    for (int c = 0; c < 20; c++) {
        int64_t e = mxh_object_create_handle(child, MXH_OBJ_EVENT, EV_RIGHTS);
        if (ALLOW(w, e)) {
            w->extra++;
            w->created++;
        }
    }
    consistent(w);
    int gc_made = 0;
    if (cj > 0) {
        mxh_koid_t k0 = mxh_kernel_peek_koid(w->k);
        int64_t r = mxh_job_create(child, (uint64_t)cj, 0);
        if (ALLOW(w, r)) {
            w->extra++;
            w->created++;
        } else {
            CHECK_EQ(mxh_kernel_peek_koid(w->k), k0);
        }
        consistent(w);
        mxh_proc_t *gc = NULL;
        k0 = mxh_kernel_peek_koid(w->k);
        r = mxh_process_create(child, (uint64_t)cj, 0x78, 0, &gc);
        if (ALLOW(w, r)) {
            add_pin(w, gc);
            gc_made = 1;
            w->extra++;
            w->created++;
            consistent(w);
            k0 = mxh_kernel_peek_koid(w->k);
            int64_t t = mxh_thread_create(child, (uint64_t)r, 0);
            if (ALLOW(w, t)) {
                w->extra++;
                w->created++;
            } else {
                CHECK_EQ(mxh_kernel_peek_koid(w->k), k0);
            }
        } else {
            CHECK(gc == NULL);
            CHECK_EQ(mxh_kernel_peek_koid(w->k), k0);
        }
        consistent(w);
    }
    mxh_process_info_t pi;
    CHECK_EQ(mxh_task_info(init, ph, MXH_INFO_PROCESS, &pi, NULL, 0), 0);
    CHECK_EQ(pi.started, 1);
    mxh_koid_t ks[4];
    CHECK_EQ(mxh_task_info(init, ph, MXH_INFO_PROCESS_THREADS, NULL, ks, 4), 2);
    CHECK_EQ(mxh_task_info(init, j2, MXH_INFO_JOB_PROCESSES, NULL, ks, 4),
             1 + gc_made);

    /* New processes with full tables create a job, a process and a thread:
     * the room for the handle is the allocation that may fail. */
    mxh_proc_t *fp[3];
    for (int i = 0; i < 3; i++) {
        uint64_t h = (uint64_t)RETRY(w, mxh_process_create(
            init, j2, 0x80 + (uint64_t)i, 0, &fp[i]));
        add_pin(w, fp[i]);
        push(w, 0, h);
        w->created++;
    }
    uint64_t jobs8[8] = {j2, j2, j2, j2, j2, j2, j2, j2};
    uint64_t a = load8(w, fp[0], jobs8);
    mxh_koid_t k0 = mxh_kernel_peek_koid(w->k);
    grown_create(w, mxh_job_create(fp[0], a, 0), k0);
    uint64_t b = load8(w, fp[1], jobs8);
    mxh_proc_t *bp = NULL;
    k0 = mxh_kernel_peek_koid(w->k);
    if (grown_create(w, mxh_process_create(fp[1], b, 0x90, 0, &bp), k0))
        add_pin(w, bp);
    else
        CHECK(bp == NULL);
    uint64_t procs8[8] = {ph, ph, ph, ph, ph, ph, ph, ph};
    uint64_t c = load8(w, fp[2], procs8);
    k0 = mxh_kernel_peek_koid(w->k);
    grown_create(w, mxh_thread_create(fp[2], c, 0), k0);

    /* Killing the tree allocates nothing: the child and all it held go. */
    CHECK_EQ(mxh_task_kill(init, j), MXH_OK);
    int64_t code = 0;
    CHECK_EQ(mxh_proc_state(child, &code), 2);
    CHECK_EQ(code, -1);
    w->extra = 0;
    consistent(w);
    CHECK_EQ(mxh_job_create(init, j2, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_task_info(init, j2, MXH_INFO_JOB_PROCESSES, NULL, ks, 4), 0);
    consistent(w);
}

static void workload(world *w) {
    w->k = mxh_kernel_create(0);
    if (!w->k) {
        w->failures++;
        return;
    }
    for (int i = 0; i < NPROC; i++) {
        w->v[i] = malloc(MAXV * sizeof *w->v[i]);
        CHECK(w->v[i]);
    }
    /* Boot: all or nothing, koids 1024..1026 either way. */
    int64_t rc = mxh_kernel_boot(w->k, 0x100, &w->root, &w->p[0], &w->ithread);
    if (!ALLOW(w, rc)) {
        CHECK_EQ(mxh_kernel_peek_koid(w->k), 1024);
        consistent(w);
        OK(mxh_kernel_boot(w->k, 0x100, &w->root, &w->p[0], &w->ithread));
    }
    CHECK_EQ(mxh_object_koid(w->root), 1024);
    CHECK_EQ(mxh_object_koid(mxh_proc_object(w->p[0])), 1025);
    CHECK_EQ(mxh_object_koid(w->ithread), 1026);
    w->created += 3;
    for (int i = 1; i < NPROC; i++) {
        w->p[i] = mxh_proc_create(w->k, 0x100 + (uint64_t)i, 0);
        if (w->p[i])
            w->created++;
        else
            w->failures++;
    }
    if (!w->p[1] || !w->p[2]) {
        /* Retry once: the single injected failure is spent. */
        for (int i = 1; i < NPROC; i++) {
            if (!w->p[i]) {
                w->p[i] = mxh_proc_create(w->k, 0x200 + (uint64_t)i, 0);
                CHECK(w->p[i] != NULL);
                w->created++;
            }
        }
    }
    consistent(w);

    /* Objects and handles. */
    for (int i = 0; i < NPROC; i++)
        event_handles(w, i, 20);
    consistent(w);
    mxh_obj_t *m = mxh_object_create(w->k, MXH_OBJ_PORT, 0);
    if (m) {
        w->created++;
        int64_t v = mxh_handle_create(w->p[0], m, EV_RIGHTS);
        if (ALLOW(w, v))
            push(w, 0, (uint64_t)v);
        mxh_object_release(m);
    } else {
        w->failures++;
    }
    consistent(w);
    uint32_t pv[2];
    mxh_koid_t pk[2];
    if (ALLOW(w, mxh_pair_create_handles(w->p[0], MXH_OBJ_CHANNEL, CH_RIGHTS,
                                         pv, pk))) {
        w->have_channel = 1;
        push(w, 0, pv[0]);
        push(w, 0, pv[1]);
        w->created += 2;
    }
    if (ALLOW(w, mxh_pair_create_handles(w->p[1], MXH_OBJ_EVENT_PAIR,
                                         EV_RIGHTS, pv, NULL))) {
        push(w, 1, pv[0]);
        push(w, 1, pv[1]);
        w->created += 2;
    }
    consistent(w);

    /* Grow p1's table through several doublings. */
    for (int c = 0; c < 3000; c++) {
        int64_t v = mxh_handle_duplicate(w->p[1], w->v[1][c % 10],
                                         MXH_RIGHT_SAME_RIGHTS);
        if (ALLOW(w, v))
            push(w, 1, (uint64_t)v);
    }
    consistent(w);

    /* Replace: NO_MEMORY leaves the handle as it was. */
    for (int c = 0; c < 40; c++) {
        size_t j = (size_t)c * 7 % w->n[1];
        int64_t v = mxh_handle_replace(w->p[1], w->v[1][j], MXH_RIGHT_SAME_RIGHTS);
        if (ALLOW(w, v))
            w->v[1][j] = (uint64_t)v;
    }
    consistent(w);

    /* Transit: small bundles p0 -> p2, a full one p1 -> p2, empty ones. */
    for (int c = 0; c < 4; c++) {
        take(w, 0, 4);
        bind_last(w, 2);
    }
    take(w, 1, MXH_TRANSIT_MAX);
    bind_last(w, 2);
    take(w, 1, 0);
    take(w, 1, 10);
    take(w, 2, 300);
    bind_last(w, 0);

    /* A channel message carrying three handles, read by whoever holds the
     * other end. */
    channel_round_trip(w);

    /* close_many in p1: some valid, one twice, one invalid. */
    if (w->n[1] >= 200) {
        uint64_t hs[202];
        memcpy(hs, w->v[1] + w->n[1] - 200, 200 * sizeof *hs);
        hs[200] = hs[0];
        hs[201] = 0;
        int64_t rc = mxh_handle_close_many(w->p[1], hs, 202);
        if (rc != MXH_ERR_NO_MEMORY)
            CHECK_EQ(rc, MXH_ERR_BAD_HANDLE);
        if (ALLOW(w, rc == MXH_ERR_BAD_HANDLE ? 0 : rc))
            w->n[1] -= 200;
        consistent(w);
    }

    /* Move a few p0 -> p1. */
    for (int c = 0; c < 10 && w->n[0] > 0; c++) {
        uint64_t h = w->v[0][w->n[0] - 1];
        int64_t rc = mxh_handle_move(w->p[0], h, w->p[1]);
        if (ALLOW(w, rc)) {
            w->n[0]--;
            push(w, 1, (uint64_t)rc);
        }
    }
    consistent(w);

    /* Cycles of channels only collection reclaims. */
    garbage_and_collect(w);

    /* Jobs, processes, threads. */
    tasks(w);

    /* More growth after churn, then a kill of p2. */
    event_handles(w, 2, 100);
    consistent(w);
    int64_t killed = mxh_proc_kill(w->p[2]);
    CHECK_EQ(killed, (int64_t)w->n[2]);
    w->n[2] = 0;
    consistent(w);
    /* A dead process refuses a bundle; it stays whole. */
    take(w, 1, 5);
    if (w->nb) {
        uint32_t out[5];
        CHECK_EQ(mxh_transit_bind(w->p[2], w->b[w->nb - 1], out),
                 MXH_ERR_BAD_STATE);
        bind_last(w, 1);
    }
}

/* Kills everything, closes bundles, checks that every object is gone. */
static void teardown(world *w) {
    if (!w->k)
        return;
    for (size_t j = 0; j < w->nb; j++)
        mxh_transit_close(w->b[j]);
    w->nb = 0;
    for (int i = 0; i < NPROC; i++) {
        if (!w->p[i])
            continue;
        if (!mxh_proc_is_dead(w->p[i]))
            CHECK_EQ(mxh_proc_kill(w->p[i]), (int64_t)w->n[i]);
        w->n[i] = 0;
        mxh_object_release(mxh_proc_object(w->p[i]));
    }
    if (w->ithread)
        mxh_object_release(w->ithread);   /* init goes with it */
    if (w->root)
        mxh_object_release(w->root);
    w->extra = 0;
    w->queued = 0;   /* queues went with their endpoints */
    CHECK_EQ(mxh_kernel_collect(w->k), 0);   /* nothing left to find */
    mxh_stats_t e = {0};
    e.destroyed_objects = w->created;
    STATS_EQ(w->k, &e);
    for (size_t i = 0; i < w->npins; i++) {
        CHECK_EQ(mxh_object_destroyed(mxh_proc_object(w->pins[i])), 1);
        mxh_object_unpin(mxh_proc_object(w->pins[i]));
    }
    mxh_kernel_release(w->k);
}

int main(void) {
    uint64_t injected = 0, runs = 0, clean_streak = 0, first_clean = 0;
    for (uint64_t n = 1; clean_streak < 20; n++) {
        world w;
        memset(&w, 0, sizeof w);
        mxh_fault_fail_nth(n);
        workload(&w);
        mxh_fault_fail_nth(0);
        teardown(&w);
        for (int i = 0; i < NPROC; i++)
            free(w.v[i]);
        runs++;
        CHECK(w.failures <= 1);
        injected += (uint64_t)w.failures;
        if (w.failures) {
            if (clean_streak)
                fprintf(stderr, "note: failure at N=%" PRIu64
                        " after a clean run at N=%" PRIu64 "\n", n, first_clean);
            clean_streak = 0;
        } else if (clean_streak++ == 0) {
            first_clean = n;
        }
        CHECK(n < 100000);
    }
    CHECK(round_trips > runs / 2);
    printf("test_fault: %" PRIu64 " runs, %" PRIu64 " failures injected,"
           " first clean run at N=%" PRIu64 "\n", runs, injected, first_clean);
    return 0;
}
#endif
