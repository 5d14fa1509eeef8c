/*
 * test_fault.c - allocation failure at every point of a fixed workload.
 *
 * Built with -DMXH_FAULT_INJECTION.  For N = 1, 2, 3, ... the Nth
 * allocation of a run fails.  Every call must then succeed or answer
 * MXH_ERR_NO_MEMORY (NULL from the creators) with nothing changed; after
 * every step the kernel's counters must match what the test holds, and the
 * workload carries on.  The loop ends when runs stop meeting a failure.
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
#define NPROC 3
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
    uint64_t created;    /* objects made (destroyed by the end) */
    int failures;        /* NO_MEMORY / NULL answers this run */
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
    for (size_t j = 0; j < w->nb; j++)
        transit += mxh_transit_count(w->b[j]);
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
        mxh_notes_t notes;
        mxh_transit_close(t, &notes);
        mxh_notes_release(&notes);
        w->nb--;
    }
    free(out);
    consistent(w);
}

static void workload(world *w) {
    w->k = mxh_kernel_create(0);
    if (!w->k) {
        w->failures++;
        return;
    }
    for (int i = 0; i < NPROC; i++) {
        w->p[i] = mxh_proc_create(w->k, 0x100 + (uint64_t)i, 0);
        if (w->p[i])
            w->created++;
        else
            w->failures++;
        w->v[i] = malloc(MAXV * sizeof *w->v[i]);
        CHECK(w->v[i]);
    }
    if (!w->p[0] || !w->p[1] || !w->p[2]) {
        /* Retry once: the single injected failure is spent. */
        for (int i = 0; i < NPROC; i++) {
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
    mxh_obj_t *m = mxh_object_create(w->k, MXH_OBJ_PORT, MXH_OBJ_F_MANAGED, 0);
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
    if (ALLOW(w, mxh_pair_create_handles(w->p[0], MXH_OBJ_CHANNEL,
                                         MXH_OBJ_F_MANAGED, CH_RIGHTS, pv,
                                         pk))) {
        push(w, 0, pv[0]);
        push(w, 0, pv[1]);
        w->created += 2;
    }
    if (ALLOW(w, mxh_pair_create_handles(w->p[1], MXH_OBJ_EVENT_PAIR, 0,
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

    /* A channel write carrying three handles, bound into p2. */
    if (w->n[0] >= 4) {
        uint64_t ch = 0;
        for (size_t j = 0; j < w->n[0] && !ch; j++) {
            mxh_handle_info_t inf;
            OK(mxh_handle_basic(w->p[0], w->v[0][j], &inf));
            if (inf.type == MXH_OBJ_CHANNEL) {
                ch = w->v[0][j];
                remove_at(w, 0, j);   /* keep it out of the carried set */
            }
        }
        if (ch && w->n[0] >= 3 && w->nb < MAXB) {
            uint64_t hs[3];
            memcpy(hs, w->v[0] + w->n[0] - 3, sizeof hs);
            mxh_transit_t *t = NULL;
            int64_t rc = mxh_channel_write_take(w->p[0], ch, hs, 3, 100, 65536,
                                                &t);
            CHECK(rc != MXH_ERR_PEER_CLOSED);
            if (ALLOW(w, rc)) {
                w->n[0] -= 3;
                w->b[w->nb++] = t;
            }
        }
        if (ch)
            push(w, 0, ch);
        consistent(w);
        bind_last(w, 2);
    }

    /* close_many in p1: some valid, one twice, one invalid. */
    if (w->n[1] >= 200) {
        uint64_t hs[202];
        memcpy(hs, w->v[1] + w->n[1] - 200, 200 * sizeof *hs);
        hs[200] = hs[0];
        hs[201] = 0;
        mxh_notes_t notes;
        int64_t rc = mxh_handle_close_many(w->p[1], hs, 202, &notes);
        mxh_notes_release(&notes);
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

    /* More growth after churn, then a kill of p2 with notes. */
    event_handles(w, 2, 100);
    consistent(w);
    mxh_notes_t notes;
    int64_t killed = mxh_proc_kill(w->p[2], &notes);
    mxh_notes_release(&notes);
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
    for (size_t j = 0; j < w->nb; j++) {
        mxh_notes_t notes;
        mxh_transit_close(w->b[j], &notes);
        mxh_notes_release(&notes);
    }
    w->nb = 0;
    for (int i = 0; i < NPROC; i++) {
        if (!w->p[i])
            continue;
        if (!mxh_proc_is_dead(w->p[i])) {
            mxh_notes_t notes;
            CHECK_EQ(mxh_proc_kill(w->p[i], &notes), (int64_t)w->n[i]);
            mxh_notes_release(&notes);
        }
        w->n[i] = 0;
        mxh_object_release(mxh_proc_object(w->p[i]));
    }
    mxh_stats_t s, e = {0};
    e.destroyed_objects = w->created;
    mxh_kernel_stats(w->k, &s);
    STATS_EQ(w->k, &e);
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
    printf("test_fault: %" PRIu64 " runs, %" PRIu64 " failures injected,"
           " first clean run at N=%" PRIu64 "\n", runs, injected, first_clean);
    return 0;
}
#endif
