/*
 * test_table.c - single-threaded tests of every function in mxhandles.h.
 *
 * Each test_* builds its own kernel and releases it at the end, so that
 * ASan's leak check catches anything the library forgets to free.  The
 * expected counters (mxh_stats_t) are tracked by hand and compared after
 * every step that changes them.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "mxh_test.h"

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define MAX_VALUE 0x7fffffffu

static int stats_index(uint32_t type) {
    switch (type) {
    case MXH_OBJ_EVENT: return MXH_STATS_EVENT;
    case MXH_OBJ_EVENT_PAIR: return MXH_STATS_EVENTPAIR;
    case MXH_OBJ_CHANNEL: return MXH_STATS_CHANNEL;
    case MXH_OBJ_PORT: return MXH_STATS_PORT;
    case MXH_OBJ_JOB: return MXH_STATS_JOB;
    case MXH_OBJ_PROCESS: return MXH_STATS_PROCESS;
    case MXH_OBJ_THREAD: return MXH_STATS_THREAD;
    }
    CHECK(!"unknown type");
    return 0;
}

static mxh_kernel_t *new_kernel(uint64_t max_handles) {
    mxh_kernel_t *k = mxh_kernel_create(max_handles);
    CHECK(k != NULL);
    return k;
}

static mxh_proc_t *new_proc(mxh_kernel_t *k, uint64_t secret,
                            mxh_stats_t *e) {
    mxh_proc_t *p = mxh_proc_create(k, secret, 0);
    CHECK(p != NULL);
    if (e)
        e->live_objects[MXH_STATS_PROCESS]++;
    return p;
}

/* Kills p if alive and drops the creator's reference. */
static void drop_proc(mxh_proc_t *p) {
    if (!mxh_proc_is_dead(p))
        OK(mxh_proc_kill(p));
    mxh_object_release(mxh_proc_object(p));
}

static int valid(mxh_proc_t *p, uint64_t h) {
    mxh_handle_info_t i;
    int64_t r = mxh_handle_basic(p, h, &i);
    CHECK(r == MXH_OK || r == MXH_ERR_BAD_HANDLE);
    return r == MXH_OK;
}

static mxh_handle_info_t info(mxh_proc_t *p, uint64_t h) {
    mxh_handle_info_t i;
    memset(&i, 0, sizeof i);
    OK(mxh_handle_basic(p, h, &i));
    CHECK_EQ(i.value, h);
    return i;
}

static void check_value(int64_t v) {
    CHECK(v >= 1 && v <= (int64_t)MAX_VALUE);
}

static uint64_t ev(mxh_proc_t *p, uint32_t rights, mxh_stats_t *e) {
    int64_t v = OK(mxh_object_create_handle(p, MXH_OBJ_EVENT, rights));
    check_value(v);
    if (e) {
        e->live_handles++;
        e->live_objects[MXH_STATS_EVENT]++;
    }
    return (uint64_t)v;
}

/* An object of `type` (event, port or a parentless job) made by
 * mxh_object_create, with one handle in p (creator ref dropped). */
static uint64_t obj_handle(mxh_kernel_t *k, mxh_proc_t *p, uint32_t type,
                           mxh_koid_t *koid, mxh_stats_t *e) {
    mxh_obj_t *o = mxh_object_create(k, type, 0);
    CHECK(o != NULL);
    int64_t v = OK(mxh_handle_create(p, o, mxh_default_rights(type)));
    check_value(v);
    if (koid)
        *koid = mxh_object_koid(o);
    mxh_object_release(o);
    if (e) {
        e->live_handles++;
        e->live_objects[stats_index(type)]++;
    }
    return (uint64_t)v;
}

static uint32_t handle_count(mxh_proc_t *p, uint64_t h) {
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, h, 0, 0, &o));
    uint32_t n = mxh_object_handle_count(o);
    mxh_object_release(o);
    return n;
}

/* ---- kernel and objects --------------------------------------------------- */

static void test_kernel(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    STATS_EQ(k, &e);
    CHECK(mxh_kernel_peek_koid(k) >= 2);   /* koid 1 is the kernel's */
    CHECK_EQ(mxh_kernel_peek_koid(k), mxh_kernel_peek_koid(k));
    mxh_kernel_release(k);

    k = new_kernel(3);
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

static void test_objects(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    static const uint32_t types[] = {MXH_OBJ_EVENT, MXH_OBJ_PORT, MXH_OBJ_JOB};
    enum { NT = 3, N = 24 };
    mxh_obj_t *objs[N];
    mxh_koid_t prev = 1;

    /* Processes, threads (they need a process: mxh_thread_create), pairs
     * and unknown types are refused: NULL, no koid used. */
    static const uint32_t refused[] = {MXH_OBJ_PROCESS, MXH_OBJ_THREAD,
                                       MXH_OBJ_CHANNEL, MXH_OBJ_EVENT_PAIR,
                                       MXH_OBJ_NONE, 3, 6, 99, 0xffffffffu};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        mxh_koid_t before = mxh_kernel_peek_koid(k);
        CHECK(mxh_object_create(k, refused[i], 0) == NULL);
        CHECK_EQ(mxh_kernel_peek_koid(k), before);
        STATS_EQ(k, &e);
    }

    for (int i = 0; i < N; i++) {
        uint32_t t = types[i % NT];
        mxh_koid_t next = mxh_kernel_peek_koid(k);
        objs[i] = mxh_object_create(k, t, (mxh_koid_t)(1000 + i));
        CHECK(objs[i] != NULL);
        mxh_koid_t koid = mxh_object_koid(objs[i]);
        CHECK_EQ(koid, next);
        CHECK(koid > prev);
        prev = koid;
        CHECK_EQ(mxh_object_type(objs[i]), t);
        CHECK_EQ(mxh_object_handle_count(objs[i]), 0);
        CHECK_EQ(mxh_object_signals(objs[i]), 0);
        CHECK_EQ(mxh_object_peer_koid(objs[i]), 0);
        CHECK(mxh_object_proc(objs[i]) == NULL);
        e.live_objects[stats_index(t)]++;
        STATS_EQ(k, &e);
    }

    /* signal_raw returns the new word. */
    CHECK_EQ(mxh_object_signal_raw(objs[0], 0, 0x5), 0x5);
    CHECK_EQ(mxh_object_signals(objs[0]), 0x5);
    CHECK_EQ(mxh_object_signal_raw(objs[0], 0x1, 0x10), 0x14);
    CHECK_EQ(mxh_object_signal_raw(objs[0], 0xffffffffu, 0), 0);

    /* related_koid shows through mxh_handle_basic. */
    mxh_proc_t *p = new_proc(k, 7, &e);
    int64_t h = OK(mxh_handle_create(p, objs[2], MXH_RIGHT_READ));
    e.live_handles++;
    CHECK_EQ(mxh_object_handle_count(objs[2]), 1);
    mxh_handle_info_t i = info(p, (uint64_t)h);
    CHECK_EQ(i.koid, mxh_object_koid(objs[2]));
    CHECK_EQ(i.related_koid, 1002);
    CHECK_EQ(i.type, MXH_OBJ_JOB);
    CHECK_EQ(i.rights, MXH_RIGHT_READ);
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_close(p, (uint64_t)h), MXH_OK);
    e.live_handles--;
    CHECK_EQ(mxh_object_handle_count(objs[2]), 0);
    STATS_EQ(k, &e);   /* still referenced by us */

    /* Extra references keep an object alive; the last drop destroys it. */
    mxh_object_pin(objs[0]);
    mxh_object_ref(objs[0]);
    mxh_object_release(objs[0]);
    CHECK_EQ(mxh_object_destroyed(objs[0]), 0);
    STATS_EQ(k, &e);
    mxh_object_release(objs[0]);
    CHECK_EQ(mxh_object_destroyed(objs[0]), 1);
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_object_unpin(objs[0]);

    for (int j = 1; j < N; j++) {
        mxh_object_release(objs[j]);
        e.live_objects[stats_index(types[j % NT])]--;
        e.destroyed_objects++;
        STATS_EQ(k, &e);
    }
    drop_proc(p);
    e.live_objects[MXH_STATS_PROCESS]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* Peered pairs (only through mxh_pair_create_handles): each end names
     * the other. */
    p = new_proc(k, 8, &e);
    uint32_t pv[2];
    mxh_koid_t pk[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, pv, pk));
    e.live_handles += 2;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    STATS_EQ(k, &e);
    mxh_obj_t *a = NULL, *b = NULL;
    OK(mxh_handle_get(p, pv[0], MXH_OBJ_EVENT_PAIR, 0, &a));
    OK(mxh_handle_get(p, pv[1], MXH_OBJ_EVENT_PAIR, 0, &b));
    CHECK(a != NULL && b != NULL && a != b);
    CHECK(mxh_object_koid(a) > prev && mxh_object_koid(b) > prev);
    CHECK(mxh_object_koid(a) != mxh_object_koid(b));
    CHECK_EQ(mxh_object_koid(a), pk[0]);
    CHECK_EQ(mxh_object_koid(b), pk[1]);
    CHECK_EQ(mxh_object_peer_koid(a), mxh_object_koid(b));
    CHECK_EQ(mxh_object_peer_koid(b), mxh_object_koid(a));
    CHECK_EQ(mxh_object_type(a), MXH_OBJ_EVENT_PAIR);
    CHECK_EQ(mxh_object_handle_count(a), 1);
    /* Extra handles through mxh_handle_create; close them all: the pair goes
     * away once our references go too. */
    int64_t ha = OK(mxh_handle_create(p, a, EV_RIGHTS));
    int64_t hb = OK(mxh_handle_create(p, b, EV_RIGHTS));
    e.live_handles += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_close(p, (uint64_t)ha), MXH_OK);
    CHECK_EQ(mxh_handle_close(p, pv[0]), MXH_OK);
    /* a's last handle went: b sees PEER_CLOSED; our reference keeps a. */
    CHECK(mxh_object_signals(b) & MXH_SIGNAL_EPAIR_PEER_CLOSED);
    CHECK_EQ(mxh_object_peer_koid(b), 0);
    CHECK_EQ(mxh_object_destroyed(a), 0);
    e.live_handles -= 2;
    STATS_EQ(k, &e);
    mxh_object_release(a);
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_close(p, (uint64_t)hb), MXH_OK);
    CHECK_EQ(mxh_handle_close(p, pv[1]), MXH_OK);
    e.live_handles -= 2;
    STATS_EQ(k, &e);
    mxh_object_release(b);
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    drop_proc(p);
    e.live_objects[MXH_STATS_PROCESS]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

static void test_defaults(void) {
    const uint32_t base = EV_RIGHTS;
    CHECK_EQ(mxh_default_rights(MXH_OBJ_EVENT), base);
    CHECK_EQ(mxh_default_rights(MXH_OBJ_EVENT_PAIR), base);
    CHECK_EQ(mxh_default_rights(MXH_OBJ_CHANNEL), CH_RIGHTS);
    CHECK_EQ(mxh_default_rights(MXH_OBJ_PORT), base);
    CHECK_EQ(mxh_default_rights(MXH_OBJ_JOB),
             base | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY |
             MXH_RIGHT_SET_PROPERTY | MXH_RIGHT_GET_POLICY |
             MXH_RIGHT_SET_POLICY);
    CHECK_EQ(mxh_default_rights(MXH_OBJ_PROCESS),
             base | MXH_RIGHT_ENUMERATE | MXH_RIGHT_GET_PROPERTY |
             MXH_RIGHT_SET_PROPERTY);
    CHECK_EQ(mxh_default_rights(MXH_OBJ_THREAD),
             base | MXH_RIGHT_GET_PROPERTY | MXH_RIGHT_SET_PROPERTY);

    CHECK_EQ(mxh_user_signals(MXH_OBJ_EVENT),
             MXH_SIGNAL_USER_ALL | MXH_SIGNAL_EVENT_SIGNALED);
    CHECK_EQ(mxh_user_signals(MXH_OBJ_EVENT_PAIR),
             MXH_SIGNAL_USER_ALL | MXH_SIGNAL_EPAIR_SIGNALED);
    CHECK_EQ(mxh_user_signals(MXH_OBJ_CHANNEL), MXH_SIGNAL_USER_ALL);
    CHECK_EQ(mxh_user_signals(MXH_OBJ_PORT), MXH_SIGNAL_USER_ALL);
    CHECK_EQ(mxh_user_signals(MXH_OBJ_JOB), MXH_SIGNAL_USER_ALL);
    CHECK_EQ(mxh_user_signals(MXH_OBJ_PROCESS), MXH_SIGNAL_USER_ALL);
    CHECK_EQ(mxh_user_signals(MXH_OBJ_THREAD), MXH_SIGNAL_USER_ALL);
}

/* ---- processes ------------------------------------------------------------ */

static void test_proc_create(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_koid_t next = mxh_kernel_peek_koid(k);
    mxh_proc_t *p = mxh_proc_create(k, 1, 77);
    CHECK(p != NULL);
    e.live_objects[MXH_STATS_PROCESS]++;
    mxh_obj_t *po = mxh_proc_object(p);
    CHECK(po != NULL);
    CHECK_EQ(mxh_object_koid(po), next);
    CHECK_EQ(mxh_object_type(po), MXH_OBJ_PROCESS);
    CHECK(mxh_object_proc(po) == p);
    CHECK_EQ(mxh_proc_handle_count(p), 0);
    CHECK_EQ(mxh_proc_is_dead(p), 0);
    CHECK_EQ(mxh_object_handle_count(po), 0);
    STATS_EQ(k, &e);

    /* Handles to a process object: counted like any other. */
    mxh_proc_t *q = new_proc(k, 2, &e);
    CHECK(mxh_object_koid(mxh_proc_object(q)) > mxh_object_koid(po));
    int64_t h = OK(mxh_handle_create(q, po,
                                     mxh_default_rights(MXH_OBJ_PROCESS)));
    e.live_handles++;
    CHECK_EQ(mxh_object_handle_count(po), 1);
    CHECK_EQ(mxh_proc_handle_count(q), 1);
    CHECK_EQ(mxh_proc_handle_count(p), 0);
    mxh_handle_info_t i = info(q, (uint64_t)h);
    CHECK_EQ(i.type, MXH_OBJ_PROCESS);
    CHECK_EQ(i.koid, mxh_object_koid(po));
    CHECK_EQ(i.related_koid, 77);
    int64_t d = OK(mxh_handle_duplicate(q, (uint64_t)h, MXH_RIGHT_SAME_RIGHTS));
    e.live_handles++;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_close(q, (uint64_t)h), MXH_OK);
    CHECK_EQ(mxh_object_handle_count(po), 1);
    CHECK_EQ(mxh_proc_is_dead(p), 0);
    CHECK_EQ(mxh_handle_close(q, (uint64_t)d), MXH_OK);
    CHECK_EQ(mxh_object_handle_count(po), 0);
    e.live_handles -= 2;
    /* SPEC §5 rule 2: a process whose last handle goes is killed, also one
     * made with mxh_proc_create (return code -1, TASK_TERMINATED).  The
     * creator's reference keeps the object, dead, in memory. */
    CHECK_EQ(mxh_proc_is_dead(p), 1);
    int64_t rc = 0;
    CHECK_EQ(mxh_proc_state(p, &rc), 2);
    CHECK_EQ(rc, -1);
    CHECK(mxh_object_signals(po) & MXH_SIGNAL_TASK_TERMINATED);
    CHECK_EQ(mxh_object_destroyed(po), 0);
    CHECK_EQ(mxh_proc_kill(p), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_BAD_STATE);
    STATS_EQ(k, &e);

    drop_proc(p);
    drop_proc(q);
    e.live_objects[MXH_STATS_PROCESS] -= 2;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* ---- handle rules ----------------------------------------------------------- */

static void test_rights(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 42, &e);
    uint64_t h = ev(p, EV_RIGHTS, &e);
    mxh_handle_info_t i = info(p, h);
    CHECK_EQ(i.type, MXH_OBJ_EVENT);
    CHECK_EQ(i.rights, EV_RIGHTS);
    CHECK_EQ(i.related_koid, 0);
    CHECK_EQ(i.signals, 0);
    CHECK(i.koid >= 2);
    mxh_koid_t koid = i.koid;

    int64_t d1 = OK(mxh_handle_duplicate(p, h, MXH_RIGHT_SAME_RIGHTS));
    check_value(d1);
    CHECK(d1 != (int64_t)h);
    CHECK_EQ(info(p, (uint64_t)d1).rights, EV_RIGHTS);
    CHECK_EQ(info(p, (uint64_t)d1).koid, koid);
    int64_t d2 = OK(mxh_handle_duplicate(p, h,
                                         MXH_RIGHT_READ | MXH_RIGHT_DUPLICATE));
    CHECK_EQ(info(p, (uint64_t)d2).rights,
             MXH_RIGHT_READ | MXH_RIGHT_DUPLICATE);
    e.live_handles += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(handle_count(p, h), 3);

    /* Not a subset -> INVALID_ARGS; nothing created. */
    CHECK_EQ(mxh_handle_duplicate(p, (uint64_t)d2,
                                  MXH_RIGHT_READ | MXH_RIGHT_WRITE),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_duplicate(p, h, EV_RIGHTS | MXH_RIGHT_EXECUTE),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_duplicate(p, h,
                                  MXH_RIGHT_SAME_RIGHTS | MXH_RIGHT_READ),
             MXH_ERR_INVALID_ARGS);
    STATS_EQ(k, &e);

    /* rights == 0 is a valid subset. */
    int64_t d3 = OK(mxh_handle_duplicate(p, h, 0));
    e.live_handles++;
    CHECK_EQ(info(p, (uint64_t)d3).rights, 0);
    /* ...and such a handle cannot be duplicated, but can be replaced. */
    CHECK_EQ(mxh_handle_duplicate(p, (uint64_t)d3, 0), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_handle_duplicate(p, (uint64_t)d3, MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_handle_replace(p, (uint64_t)d3, MXH_RIGHT_READ),
             MXH_ERR_INVALID_ARGS);
    CHECK(valid(p, (uint64_t)d3));
    int64_t r3 = OK(mxh_handle_replace(p, (uint64_t)d3, 0));
    check_value(r3);
    CHECK(!valid(p, (uint64_t)d3));
    CHECK_EQ(info(p, (uint64_t)r3).rights, 0);
    CHECK_EQ(info(p, (uint64_t)r3).koid, koid);
    STATS_EQ(k, &e);

    /* Without DUPLICATE: duplicate is denied (before the subset check),
     * replace needs no DUPLICATE right. */
    int64_t t = OK(mxh_handle_duplicate(p, h,
                                        MXH_RIGHT_READ | MXH_RIGHT_WRITE));
    e.live_handles++;
    CHECK_EQ(mxh_handle_duplicate(p, (uint64_t)t, MXH_RIGHT_READ),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_handle_duplicate(p, (uint64_t)t, MXH_RIGHT_EXECUTE),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_handle_replace(p, (uint64_t)t,
                                MXH_RIGHT_READ | MXH_RIGHT_DUPLICATE),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_replace(p, (uint64_t)t,
                                MXH_RIGHT_SAME_RIGHTS | MXH_RIGHT_READ),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(info(p, (uint64_t)t).rights, MXH_RIGHT_READ | MXH_RIGHT_WRITE);
    STATS_EQ(k, &e);
    int64_t t2 = OK(mxh_handle_replace(p, (uint64_t)t, MXH_RIGHT_READ));
    CHECK(!valid(p, (uint64_t)t));
    CHECK_EQ(info(p, (uint64_t)t2).rights, MXH_RIGHT_READ);
    int64_t t3 = OK(mxh_handle_replace(p, (uint64_t)t2, MXH_RIGHT_SAME_RIGHTS));
    CHECK(!valid(p, (uint64_t)t2));
    CHECK_EQ(info(p, (uint64_t)t3).rights, MXH_RIGHT_READ);
    STATS_EQ(k, &e);
    CHECK_EQ(handle_count(p, h), 5);
    CHECK_EQ(mxh_proc_handle_count(p), 5);

    /* mxh_handle_create accepts any rights, including none. */
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, h, MXH_OBJ_EVENT, 0, &o));
    int64_t c0 = OK(mxh_handle_create(p, o, 0));
    mxh_object_release(o);
    e.live_handles++;
    CHECK_EQ(info(p, (uint64_t)c0).rights, 0);
    CHECK_EQ(info(p, (uint64_t)c0).koid, koid);

    uint64_t all[] = {h, (uint64_t)d1, (uint64_t)d2, (uint64_t)r3,
                      (uint64_t)t3, (uint64_t)c0};
    for (size_t j = 0; j < 6; j++) {
        for (size_t l = j + 1; l < 6; l++)
            CHECK(all[j] != all[l]);
        CHECK_EQ(mxh_handle_close(p, all[j]), 0);
        CHECK_EQ(mxh_handle_close(p, all[j]), MXH_ERR_BAD_HANDLE);
        e.live_handles--;
        if (j == 5) {
            e.live_objects[MXH_STATS_EVENT]--;
            e.destroyed_objects++;
        }
        STATS_EQ(k, &e);
    }
    drop_proc(p);
    mxh_kernel_release(k);
}

/* Every handle-taking call must answer BAD_HANDLE (INVALID_ARGS for move). */
static void expect_bad(mxh_proc_t *p, mxh_proc_t *other, uint64_t v) {
    mxh_handle_info_t i;
    mxh_obj_t *o = NULL;
    mxh_transit_t *t = NULL;
    uint64_t actual[3] = {0, 0, 0};
    char buf[8];
    uint32_t hv[2];
    CHECK_EQ(mxh_handle_basic(p, v, &i), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_handle_close(p, v), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_handle_duplicate(p, v, MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_handle_replace(p, v, MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_handle_get(p, v, 0, 0, &o), MXH_ERR_BAD_HANDLE);
    CHECK(o == NULL);
    CHECK_EQ(mxh_object_signal(p, v, 0, 0, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_object_signal(p, v, 0, 0, 1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_transit_take(p, &v, 1, NULL, &t), MXH_ERR_BAD_HANDLE);
    CHECK(t == NULL);
    CHECK_EQ(mxh_channel_write(p, v, "x", 1, NULL, 0), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_read(p, v, 0, sizeof buf, 2, buf, hv, actual),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_call(p, v, "abcd", 4, NULL, 0, 0, sizeof buf, 2,
                              buf, hv, actual), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_handle_move(p, v, other), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_close_many(p, &v, 1), MXH_ERR_BAD_HANDLE);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_bad_values(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 0x1234, &e);
    mxh_proc_t *q = new_proc(k, 0x9876, &e);
    enum { N = 64 };
    uint64_t live[N];
    for (int i = 0; i < N; i++)
        live[i] = ev(p, EV_RIGHTS, &e);
    uint64_t h = live[0];
    uint64_t stale = ev(p, EV_RIGHTS, &e);
    OK(mxh_handle_close(p, stale));
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    uint64_t foreign = ev(q, EV_RIGHTS, &e);
    qsort(live, N, sizeof live[0], cmp_u64);
    CHECK(bsearch(&foreign, live, N, sizeof live[0], cmp_u64) == NULL);
    STATS_EQ(k, &e);

    const uint64_t bad[] = {
        0, 1ull << 31, 0xffffffffull, 1ull << 32, (1ull << 32) + h,
        (1ull << 33) + h, h | (1ull << 63), h | 0x80000000ull, UINT64_MAX,
        UINT64_MAX - 1, (uint64_t)INT64_MAX, (uint64_t)-(int64_t)h, stale,
        foreign,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_bad(p, q, bad[i]);
    STATS_EQ(k, &e);

    /* Random values that are not live must all be BAD_HANDLE. */
    uint64_t s = 0x5eed;
    for (int i = 0; i < 200000; i++) {
        uint64_t v = mxt_rand(&s) & (i & 1 ? MAX_VALUE : UINT64_MAX);
        if (bsearch(&v, live, N, sizeof live[0], cmp_u64))
            continue;
        mxh_handle_info_t inf;
        CHECK_EQ(mxh_handle_basic(p, v, &inf), MXH_ERR_BAD_HANDLE);
    }
    for (int i = 0; i < N; i++)
        CHECK(valid(p, live[i]));
    STATS_EQ(k, &e);
    drop_proc(p);
    drop_proc(q);
    mxh_kernel_release(k);
}

/* ---- the stale-value guarantee ----------------------------------------------- */

/* Open-addressing map: handle value -> allocation number when it was freed. */
typedef struct {
    uint32_t *keys;
    uint32_t *vals;
    size_t mask;
} freed_map;

static uint32_t *freed_slot(freed_map *m, uint32_t key) {
    size_t i = (key * 0x9E3779B1u) & m->mask;
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & m->mask;
    m->keys[i] = key;
    return &m->vals[i];
}

static void test_stale(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 0xabcdef, &e);
    uint64_t base = ev(p, EV_RIGHTS, &e);
    uint64_t old = (uint64_t)OK(mxh_handle_duplicate(p, base,
                                                     MXH_RIGHT_SAME_RIGHTS));
    OK(mxh_handle_close(p, old));

    /* The simple form: one slot's worth of churn. */
    for (uint32_t i = 0; i < 1000000; i++) {
        int64_t v = OK(mxh_handle_duplicate(p, base, MXH_RIGHT_SAME_RIGHTS));
        CHECK((uint64_t)v != old);
        check_value(v);
        CHECK_EQ(mxh_handle_close(p, (uint64_t)v), 0);
        if ((i & 4095) == 0)
            CHECK(!valid(p, old));
    }
    CHECK(!valid(p, old));
    CHECK_EQ(mxh_proc_handle_count(p), 1);

    /* The general form: a window of up to 200 live handles, random order;
     * every value freed must not come back within 1,000,000 allocations. */
    freed_map m;
    m.mask = (1u << 22) - 1;
    m.keys = calloc(m.mask + 1, sizeof *m.keys);
    m.vals = calloc(m.mask + 1, sizeof *m.vals);
    CHECK(m.keys && m.vals);
    enum { W = 200 };
    uint64_t win[W];
    int nwin = 0;
    uint32_t allocs = 0;
    uint64_t s = 99;
    while (allocs < 1100000) {
        uint64_t r = mxt_rand(&s);
        if (nwin < W && (nwin == 0 || (r & 1))) {
            int64_t v = OK(mxh_handle_duplicate(p, base,
                                                MXH_RIGHT_SAME_RIGHTS));
            check_value(v);
            allocs++;
            uint32_t *f = freed_slot(&m, (uint32_t)v);
            if (*f != 0 && allocs - *f < 1000000) {
                fprintf(stderr, "value %#x reused after %u allocations\n",
                        (unsigned)v, allocs - *f);
                CHECK(!"stale value reused too early");
            }
            win[nwin++] = (uint64_t)v;
        } else {
            int j = (int)((r >> 8) % (uint64_t)nwin);
            CHECK_EQ(mxh_handle_close(p, win[j]), 0);
            *freed_slot(&m, (uint32_t)win[j]) = allocs;
            win[j] = win[--nwin];
        }
    }
    while (nwin > 0)
        OK(mxh_handle_close(p, win[--nwin]));
    free(m.keys);
    free(m.vals);
    CHECK(!valid(p, old));
    STATS_EQ(k, &e);
    drop_proc(p);
    mxh_kernel_release(k);
}

/* ---- secrets and determinism --------------------------------------------- */

enum { SEQ = 300 };

/* A fixed mix of calls; writes every value handed out and every koid. */
static void run_seq(mxh_proc_t *p, uint64_t *vals, mxh_koid_t *koids) {
    uint64_t live[SEQ];
    int n = 0;
    for (int i = 0; i < SEQ; i++) {
        int64_t v;
        if (n == 0 || i % 3 == 0) {
            v = OK(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS));
        } else if (i % 3 == 1) {
            v = OK(mxh_handle_duplicate(p, live[i % n], MXH_RIGHT_SAME_RIGHTS));
        } else {
            int j = i % n;
            v = OK(mxh_handle_replace(p, live[j], MXH_RIGHT_SAME_RIGHTS));
            live[j] = live[--n];
        }
        if (i % 7 == 6 && n > 0) {
            OK(mxh_handle_close(p, live[0]));
            live[0] = live[--n];
        }
        live[n++] = (uint64_t)v;
        vals[i] = (uint64_t)v;
        koids[i] = info(p, (uint64_t)v).koid;
    }
}

static void det_run(uint64_t *a, uint64_t *b, uint64_t *c, mxh_koid_t *ka,
                    mxh_koid_t *kb, mxh_koid_t *kc) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_proc_t *p1 = new_proc(k, 0x1111111111ull, NULL);
    mxh_proc_t *p2 = new_proc(k, 0x2222222222ull, NULL);
    mxh_proc_t *p3 = new_proc(k, 0x1111111111ull, NULL);
    run_seq(p1, a, ka);
    run_seq(p2, b, kb);
    run_seq(p3, c, kc);
    drop_proc(p1);
    drop_proc(p2);
    drop_proc(p3);
    mxh_kernel_release(k);
}

static void test_determinism(void) {
    static uint64_t a1[SEQ], b1[SEQ], c1[SEQ], a2[SEQ], b2[SEQ], c2[SEQ];
    static mxh_koid_t ka1[SEQ], kb1[SEQ], kc1[SEQ], ka2[SEQ], kb2[SEQ],
        kc2[SEQ];
    det_run(a1, b1, c1, ka1, kb1, kc1);
    det_run(a2, b2, c2, ka2, kb2, kc2);
    /* Same secret, same calls: same values (in one kernel or two). */
    CHECK(memcmp(a1, c1, sizeof a1) == 0);
    CHECK(memcmp(a1, a2, sizeof a1) == 0);
    CHECK(memcmp(b1, b2, sizeof b1) == 0);
    /* Same calls on two fresh kernels: same koids. */
    CHECK(memcmp(ka1, ka2, sizeof ka1) == 0);
    CHECK(memcmp(kb1, kb2, sizeof kb1) == 0);
    CHECK(memcmp(kc1, kc2, sizeof kc1) == 0);
    /* Different secrets: different values (nearly everywhere). */
    int same = 0;
    for (int i = 0; i < SEQ; i++)
        same += a1[i] == b1[i];
    CHECK(same < SEQ / 10);
    CHECK(a1[0] != b1[0]);
}

/* ---- close_many ---------------------------------------------------------- */

static void test_close_many(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 5, &e);
    uint64_t a = ev(p, EV_RIGHTS, &e), b = ev(p, EV_RIGHTS, &e);
    uint64_t c = ev(p, EV_RIGHTS, &e);
    mxh_koid_t mk;
    uint64_t m = obj_handle(k, p, MXH_OBJ_PORT, &mk, &e);
    uint64_t m2 = (uint64_t)OK(mxh_handle_duplicate(p, m, MXH_RIGHT_SAME_RIGHTS));
    e.live_handles++;
    STATS_EQ(k, &e);

    /* A value given twice: closed once, reported as BAD_HANDLE. */
    uint64_t hs1[] = {a, b, a};
    CHECK_EQ(mxh_handle_close_many(p, hs1, 3), MXH_ERR_BAD_HANDLE);
    CHECK(!valid(p, a) && !valid(p, b) && valid(p, c));
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_EVENT] -= 2;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);

    /* 0 is invalid; the valid ones are still closed. */
    uint64_t hs2[] = {0, c, UINT64_MAX};
    CHECK_EQ(mxh_handle_close_many(p, hs2, 3), MXH_ERR_BAD_HANDLE);
    CHECK(!valid(p, c));
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* Empty list. */
    CHECK_EQ(mxh_handle_close_many(p, hs2, 0), MXH_OK);
    CHECK_EQ(mxh_handle_close_many(p, NULL, 0), MXH_OK);
    STATS_EQ(k, &e);

    /* Two handles to one object in one call: destroyed once. */
    uint64_t x = ev(p, EV_RIGHTS, &e);
    uint64_t hs3[] = {m, x, m2};
    CHECK_EQ(mxh_handle_close_many(p, hs3, 3), MXH_OK);
    e.live_handles -= 3;
    e.live_objects[MXH_STATS_EVENT]--;
    e.live_objects[MXH_STATS_PORT]--;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);

    /* Several objects, one with a handle left open. */
    mxh_koid_t k1, k2, k3;
    uint64_t m1 = obj_handle(k, p, MXH_OBJ_PORT, &k1, &e);
    uint64_t n2 = obj_handle(k, p, MXH_OBJ_JOB, &k2, &e);
    uint64_t n3 = obj_handle(k, p, MXH_OBJ_EVENT, &k3, &e);
    uint64_t n3b = (uint64_t)OK(mxh_handle_duplicate(p, n3, MXH_RIGHT_SAME_RIGHTS));
    e.live_handles++;
    uint64_t hs4[] = {n3, m1, 12345, n2, m1};
    CHECK_EQ(mxh_handle_close_many(p, hs4, 5), MXH_ERR_BAD_HANDLE);
    e.live_handles -= 3;
    e.live_objects[MXH_STATS_PORT]--;
    e.live_objects[MXH_STATS_JOB]--;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);
    CHECK(valid(p, n3b));
    CHECK_EQ(info(p, n3b).koid, k3);
    CHECK_EQ(handle_count(p, n3b), 1);
    CHECK_EQ(mxh_handle_close(p, n3b), MXH_OK);
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), 0);

    /* Peered objects: closing one end of each pair in one call tells each
     * peer; closing both ends of a pair in one call destroys both. */
    uint32_t c1[2], c2[2], ep[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c1, NULL));
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c2, NULL));
    OK(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, ep, NULL));
    e.live_handles += 6;
    e.live_objects[MXH_STATS_CHANNEL] += 4;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    STATS_EQ(k, &e);
    uint64_t hs5[] = {c1[0], ep[1], c2[0], c2[1]};
    CHECK_EQ(mxh_handle_close_many(p, hs5, 4), MXH_OK);
    e.live_handles -= 4;
    e.live_objects[MXH_STATS_CHANNEL] -= 3;
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects += 4;
    STATS_EQ(k, &e);
    CHECK_EQ(info(p, c1[1]).signals, MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    CHECK_EQ(info(p, ep[0]).signals, MXH_SIGNAL_EPAIR_PEER_CLOSED);
    uint64_t hs6[] = {c1[1], ep[0]};
    CHECK_EQ(mxh_handle_close_many(p, hs6, 2), MXH_OK);
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);

    drop_proc(p);
    e.live_objects[MXH_STATS_PROCESS]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* ---- references, event pairs, channels ----------------------------------- */

static void test_refs(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 6, &e);
    mxh_koid_t mk;
    uint64_t m = obj_handle(k, p, MXH_OBJ_PORT, &mk, &e);
    uint64_t m2 = (uint64_t)OK(mxh_handle_duplicate(p, m, MXH_RIGHT_SAME_RIGHTS));
    uint64_t m3 = (uint64_t)OK(mxh_handle_replace(p, m2, MXH_RIGHT_READ));
    e.live_handles++;
    CHECK_EQ(info(p, m3).koid, mk);
    CHECK_EQ(mxh_handle_close(p, m), MXH_OK);
    e.live_handles--;
    STATS_EQ(k, &e);   /* one handle left */
    CHECK_EQ(mxh_handle_close(p, m3), MXH_OK);
    e.live_handles--;
    e.live_objects[MXH_STATS_PORT]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* An object still referenced by its creator is not destroyed when its
     * last handle goes, and can get handles again. */
    mxh_obj_t *o = mxh_object_create(k, MXH_OBJ_JOB, 0);
    CHECK(o != NULL);
    e.live_objects[MXH_STATS_JOB]++;
    int64_t h = OK(mxh_handle_create(p, o, MXH_RIGHT_READ));
    CHECK_EQ(mxh_handle_close(p, (uint64_t)h), MXH_OK);
    CHECK_EQ(mxh_object_destroyed(o), 0);
    STATS_EQ(k, &e);
    h = OK(mxh_handle_create(p, o, MXH_RIGHT_READ));   /* a second life */
    CHECK_EQ(mxh_object_handle_count(o), 1);
    CHECK_EQ(mxh_handle_close(p, (uint64_t)h), MXH_OK);
    CHECK_EQ(mxh_object_handle_count(o), 0);
    mxh_object_release(o);
    e.live_objects[MXH_STATS_JOB]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* Events: the last close destroys at once. */
    uint64_t x = ev(p, EV_RIGHTS, &e);
    CHECK_EQ(mxh_handle_close(p, x), MXH_OK);
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    drop_proc(p);
    mxh_kernel_release(k);
}

static void test_eventpair(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 7, &e);
    uint32_t v[2] = {0, 0};
    mxh_koid_t kk[2] = {0, 0};
    CHECK_EQ(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, v,
                                     kk), MXH_OK);
    check_value(v[0]);
    check_value(v[1]);
    CHECK(v[0] != v[1]);
    e.live_handles += 2;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    STATS_EQ(k, &e);
    mxh_handle_info_t i0 = info(p, v[0]), i1 = info(p, v[1]);
    CHECK_EQ(i0.type, MXH_OBJ_EVENT_PAIR);
    CHECK_EQ(i0.rights, EV_RIGHTS);
    CHECK_EQ(i0.related_koid, i1.koid);
    CHECK_EQ(i1.related_koid, i0.koid);
    CHECK_EQ(i0.signals, 0);
    CHECK_EQ(i1.signals, 0);

    /* A second handle to end 0: closing one of two changes nothing. */
    uint64_t d = (uint64_t)OK(mxh_handle_duplicate(p, v[0], MXH_RIGHT_SAME_RIGHTS));
    CHECK_EQ(mxh_handle_close(p, d), MXH_OK);
    CHECK_EQ(info(p, v[1]).signals, 0);
    STATS_EQ(k, &e);
    /* The last handle of end 0: end 1 sees PEER_CLOSED. */
    CHECK_EQ(mxh_handle_close(p, v[0]), MXH_OK);
    mxh_handle_info_t after = info(p, v[1]);
    CHECK(after.signals & MXH_SIGNAL_EPAIR_PEER_CLOSED);
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_obj_t *o1 = NULL;
    OK(mxh_handle_get(p, v[1], MXH_OBJ_EVENT_PAIR, 0, &o1));
    CHECK_EQ(mxh_object_peer_koid(o1), 0);
    mxh_object_release(o1);
    CHECK_EQ(mxh_object_signal(p, v[1], 0, MXH_SIGNAL_USER_ALL, 1),
             MXH_ERR_PEER_CLOSED);
    CHECK_EQ(mxh_handle_close(p, v[1]), MXH_OK);
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* Wrong type for a pair: nothing created, no koid used. */
    static const uint32_t bad_types[] = {MXH_OBJ_EVENT, MXH_OBJ_PROCESS,
                                         MXH_OBJ_PORT, MXH_OBJ_NONE, 99};
    for (size_t j = 0; j < sizeof bad_types / sizeof bad_types[0]; j++) {
        mxh_koid_t next = mxh_kernel_peek_koid(k);
        int64_t r = mxh_pair_create_handles(p, bad_types[j], EV_RIGHTS, v,
                                            NULL);
        CHECK(r < 0);
        CHECK_EQ(mxh_kernel_peek_koid(k), next);
        STATS_EQ(k, &e);
    }
    CHECK_EQ(mxh_proc_handle_count(p), 0);
    drop_proc(p);
    mxh_kernel_release(k);
}

static void test_channel(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 8, &e);
    uint32_t v[2];
    mxh_koid_t kk[2] = {0, 0};
    CHECK_EQ(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, v, kk), MXH_OK);
    e.live_handles += 2;
    e.live_objects[MXH_STATS_CHANNEL] += 2;
    STATS_EQ(k, &e);
    mxh_handle_info_t i0 = info(p, v[0]), i1 = info(p, v[1]);
    CHECK_EQ(i0.koid, kk[0]);
    CHECK_EQ(i1.koid, kk[1]);
    CHECK_EQ(i0.related_koid, kk[1]);
    CHECK_EQ(i1.related_koid, kk[0]);
    CHECK_EQ(i0.type, MXH_OBJ_CHANNEL);
    CHECK_EQ(i0.rights, CH_RIGHTS);
    CHECK(i0.signals & MXH_SIGNAL_CHANNEL_WRITABLE);
    CHECK(i1.signals & MXH_SIGNAL_CHANNEL_WRITABLE);
    CHECK(!(i1.signals & MXH_SIGNAL_CHANNEL_PEER_CLOSED));

    /* koids may be NULL. */
    uint32_t w[2];
    CHECK_EQ(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, w, NULL), MXH_OK);
    e.live_handles += 2;
    e.live_objects[MXH_STATS_CHANNEL] += 2;

    CHECK_EQ(info(p, w[0]).related_koid, info(p, w[1]).koid);
    CHECK_EQ(mxh_handle_close(p, v[0]), MXH_OK);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_handle_info_t a = info(p, v[1]);
    CHECK(a.signals & MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    CHECK(!(a.signals & MXH_SIGNAL_CHANNEL_WRITABLE));
    CHECK_EQ(a.related_koid, kk[0]);   /* fixed at creation, as in Magenta */
    CHECK_EQ(mxh_handle_close(p, v[1]), MXH_OK);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* Killing the owner closes both ends of the second channel. */
    CHECK_EQ(mxh_proc_kill(p), 2);
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_CHANNEL] -= 2;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);
    drop_proc(p);
    mxh_kernel_release(k);
}

/* ---- signals -------------------------------------------------------------- */

static void test_signal(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 9, &e);
    uint64_t h = ev(p, EV_RIGHTS, &e);

    OK(mxh_object_signal(p, h, 0, MXH_SIGNAL_USER_ALL, 0));
    CHECK_EQ(info(p, h).signals, MXH_SIGNAL_USER_ALL);
    OK(mxh_object_signal(p, h, 1u << 24, MXH_SIGNAL_EVENT_SIGNALED, 0));
    CHECK_EQ(info(p, h).signals,
             (MXH_SIGNAL_USER_ALL & ~(1u << 24)) | MXH_SIGNAL_EVENT_SIGNALED);
    OK(mxh_object_signal(p, h, MXH_SIGNAL_USER_ALL | MXH_SIGNAL_EVENT_SIGNALED,
                         0, 0));
    CHECK_EQ(info(p, h).signals, 0);
    /* Bits outside the settable set, in either mask. */
    CHECK_EQ(mxh_object_signal(p, h, 0, 1u << 0, 0), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, h, 1u << 2, 0, 0), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, h, 1u << 23, MXH_SIGNAL_USER_ALL, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(info(p, h).signals, 0);
    /* Peer variant on an object with no peer. */
    CHECK_EQ(mxh_object_signal(p, h, 0, MXH_SIGNAL_USER_ALL, 1),
             MXH_ERR_NOT_SUPPORTED);
    /* WRITE needed (before the mask check). */
    uint64_t ro = (uint64_t)OK(mxh_handle_duplicate(p, h, MXH_RIGHT_READ));
    e.live_handles++;
    CHECK_EQ(mxh_object_signal(p, ro, 0, MXH_SIGNAL_USER_ALL, 0),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_object_signal(p, ro, 0, 1u << 0, 0), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(info(p, h).signals, 0);

    /* Event pair: EPAIR_SIGNALED and user bits, on itself or its peer. */
    uint32_t v[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, v, NULL));
    e.live_handles += 2;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    OK(mxh_object_signal(p, v[0], 0, MXH_SIGNAL_EPAIR_SIGNALED, 0));
    CHECK_EQ(info(p, v[0]).signals, MXH_SIGNAL_EPAIR_SIGNALED);
    CHECK_EQ(info(p, v[1]).signals, 0);
    OK(mxh_object_signal(p, v[0], 0, MXH_SIGNAL_EPAIR_SIGNALED | (1u << 31), 1));
    CHECK_EQ(info(p, v[1]).signals, MXH_SIGNAL_EPAIR_SIGNALED | (1u << 31));
    CHECK_EQ(info(p, v[0]).signals, MXH_SIGNAL_EPAIR_SIGNALED);
    OK(mxh_object_signal(p, v[1], MXH_SIGNAL_EPAIR_SIGNALED, 0, 1));
    CHECK_EQ(info(p, v[0]).signals, 0);
    CHECK_EQ(mxh_object_signal(p, v[0], 0, MXH_SIGNAL_EPAIR_PEER_CLOSED, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, v[0], 0, MXH_SIGNAL_EPAIR_PEER_CLOSED, 1),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, v[0], 1u << 1, 0, 1), MXH_ERR_INVALID_ARGS);
    uint64_t ro2 = (uint64_t)OK(mxh_handle_duplicate(p, v[0], MXH_RIGHT_READ));
    e.live_handles++;
    CHECK_EQ(mxh_object_signal(p, ro2, 0, 1u << 24, 1), MXH_ERR_ACCESS_DENIED);
    OK(mxh_handle_close(p, ro2));
    e.live_handles--;

    /* Channel: user bits only; peer variant; kernel bits refused. */
    uint32_t c[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    e.live_handles += 2;
    e.live_objects[MXH_STATS_CHANNEL] += 2;
    uint32_t c1sig = info(p, c[1]).signals;
    OK(mxh_object_signal(p, c[0], 0, 1u << 25, 1));
    CHECK_EQ(info(p, c[1]).signals, c1sig | (1u << 25));
    CHECK_EQ(mxh_object_signal(p, c[0], 0, MXH_SIGNAL_CHANNEL_READABLE, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, c[0], MXH_SIGNAL_CHANNEL_WRITABLE, 0, 1),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, c[0], 0, MXH_SIGNAL_EVENT_SIGNALED, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(info(p, c[1]).signals, c1sig | (1u << 25));
    OK(mxh_handle_close(p, c[1]));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    CHECK_EQ(mxh_object_signal(p, c[0], 0, 1u << 25, 1), MXH_ERR_PEER_CLOSED);
    OK(mxh_object_signal(p, c[0], 0, 1u << 25, 0));

    /* Process objects: user bits only. */
    mxh_proc_t *q = new_proc(k, 10, &e);
    uint64_t ph = (uint64_t)OK(mxh_handle_create(
        p, mxh_proc_object(q), mxh_default_rights(MXH_OBJ_PROCESS)));
    e.live_handles++;
    OK(mxh_object_signal(p, ph, 0, 1u << 30, 0));
    CHECK_EQ(mxh_object_signal(p, ph, 0, MXH_SIGNAL_TASK_TERMINATED, 0),
             MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_object_signal(p, ph, 0, 1u << 30, 1), MXH_ERR_NOT_SUPPORTED);
    CHECK_EQ(info(p, ph).signals, 1u << 30);
    STATS_EQ(k, &e);
    drop_proc(q);
    drop_proc(p);
    mxh_kernel_release(k);
}

/* ---- max_handles ------------------------------------------------------------ */

static void test_max_handles(void) {
    enum { N = 10 };
    mxh_kernel_t *k = new_kernel(N);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 11, &e);
    mxh_proc_t *q = new_proc(k, 12, &e);
    uint64_t h[N];
    for (int i = 0; i < N - 1; i++)
        h[i] = ev(p, EV_RIGHTS, &e);
    /* A pair needs two: refused at N-1, nothing created. */
    uint32_t pv[2];
    CHECK_EQ(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, pv,
                                     NULL), MXH_ERR_NO_RESOURCES);
    STATS_EQ(k, &e);
    h[N - 1] = (uint64_t)OK(mxh_handle_duplicate(p, h[0], MXH_RIGHT_SAME_RIGHTS));
    e.live_handles++;
    STATS_EQ(k, &e);

    /* Full: every call that adds a handle fails and changes nothing. */
    CHECK_EQ(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_object_create_handle(q, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_handle_duplicate(p, h[0], MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_pair_create_handles(q, MXH_OBJ_CHANNEL, CH_RIGHTS, pv, NULL),
             MXH_ERR_NO_RESOURCES);
    mxh_obj_t *o = mxh_object_create(k, MXH_OBJ_EVENT, 0);
    CHECK(o != NULL);
    CHECK_EQ(mxh_handle_create(q, o, EV_RIGHTS), MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_object_handle_count(o), 0);
    mxh_object_release(o);
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), N);
    CHECK_EQ(mxh_proc_handle_count(q), 0);

    /* Calls that only move or swap handles still work. */
    h[0] = (uint64_t)OK(mxh_handle_replace(p, h[0], MXH_RIGHT_SAME_RIGHTS));
    STATS_EQ(k, &e);
    mxh_transit_t *t = NULL;
    uint64_t four[4] = {h[1], h[2], h[3], h[4]};
    OK(mxh_transit_take(p, four, 4, NULL, &t));
    e.in_transit_handles += 4;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_duplicate(p, h[0], MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    uint32_t out[4];
    OK(mxh_transit_bind(q, t, out));
    e.in_transit_handles -= 4;
    STATS_EQ(k, &e);
    int64_t mv = OK(mxh_handle_move(p, h[5], q));
    CHECK(valid(q, (uint64_t)mv));
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), N - 5);
    CHECK_EQ(mxh_proc_handle_count(q), 5);

    /* After a close there is room for exactly one more. */
    OK(mxh_handle_close(q, out[0]));
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    uint64_t again = (uint64_t)OK(mxh_handle_duplicate(p, h[0],
                                                      MXH_RIGHT_SAME_RIGHTS));
    e.live_handles++;
    CHECK_EQ(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    STATS_EQ(k, &e);
    OK(mxh_handle_close(p, again));
    OK(mxh_handle_close(p, h[0]));
    e.live_handles -= 2;
    OK(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, pv, NULL));
    e.live_handles += 2;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    STATS_EQ(k, &e);
    drop_proc(p);
    drop_proc(q);
    e.live_handles = 0;
    mxh_kernel_release(k);
}

/* ---- per-process quota caches ------------------------------------------------ */

/* max_handles stays exact although processes cache pre-charged handles:
 * a call that finds the kernel dry takes every cache back and retries. */
static void test_quota(void) {
    enum { MAX = 1000, NP = 8 };
    mxh_kernel_t *k = new_kernel(MAX);
    mxh_stats_t e = {0};
    mxh_proc_t *ps[NP];
    for (int i = 0; i < NP; i++)
        ps[i] = new_proc(k, 300 + (uint64_t)i, &e);
    uint64_t *hs = calloc(MAX + 1, sizeof *hs);
    CHECK(hs);
    /* Every process churns a little, leaving a cache of pre-charged
     * handles behind; none is live. */
    for (int i = 0; i < NP; i++) {
        for (int j = 0; j < 100; j++)
            hs[j] = ev(ps[i], EV_RIGHTS, NULL);
        CHECK_EQ(mxh_handle_close_many(ps[i], hs, 100), MXH_OK);
    }
    e.destroyed_objects += NP * 100;
    STATS_EQ(k, &e);
    /* One process still gets exactly MAX handles, then NO_RESOURCES. */
    mxh_proc_t *r = ps[NP - 1];
    hs[0] = ev(r, EV_RIGHTS, &e);
    for (int j = 1; j < MAX; j++) {
        int64_t v = (j & 1) ? mxh_handle_duplicate(r, hs[0],
                                                   MXH_RIGHT_SAME_RIGHTS)
                            : mxh_object_create_handle(r, MXH_OBJ_EVENT,
                                                       EV_RIGHTS);
        hs[j] = (uint64_t)OK(v);
        e.live_handles++;
        if (!(j & 1))
            e.live_objects[MXH_STATS_EVENT]++;
    }
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_object_create_handle(r, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    CHECK_EQ(mxh_handle_duplicate(r, hs[0], MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    uint32_t pv[2];
    CHECK_EQ(mxh_pair_create_handles(ps[0], MXH_OBJ_CHANNEL, CH_RIGHTS, pv,
                                     NULL), MXH_ERR_NO_RESOURCES);
    STATS_EQ(k, &e);
    /* Another process gets the one a close frees, and only that one. */
    OK(mxh_handle_close(r, hs[MAX - 1]));   /* a duplicate of hs[0] */
    e.live_handles--;
    hs[MAX - 1] = ev(ps[0], EV_RIGHTS, &e);
    CHECK_EQ(mxh_object_create_handle(ps[1], MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    STATS_EQ(k, &e);
    /* Two freed: a pair fits in a third process. */
    CHECK_EQ(mxh_handle_close_many(r, hs + 1, 2), MXH_OK);
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_EVENT]--;   /* hs[2]'s own event */
    e.destroyed_objects++;
    OK(mxh_pair_create_handles(ps[2], MXH_OBJ_CHANNEL, CH_RIGHTS, pv, NULL));
    e.live_handles += 2;
    e.live_objects[MXH_STATS_CHANNEL] += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_duplicate(r, hs[0], MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_NO_RESOURCES);

    /* At the limit, messages still move handles both ways. */
    uint64_t three[3] = {hs[3], hs[4], hs[5]};
    mxh_koid_t kk[3];
    for (int j = 0; j < 3; j++)
        kk[j] = info(r, three[j]).koid;
    uint64_t c0 = (uint64_t)OK(mxh_handle_move(ps[2], pv[0], r));
    OK(mxh_channel_write(r, c0, "abc", 3, three, 3));
    e.in_transit_handles += 3;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_handle_duplicate(r, hs[0], MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    char buf[8];
    uint32_t got[3];
    uint64_t actual[3];
    CHECK_EQ(mxh_channel_read(ps[2], pv[1], 0, sizeof buf, 3, buf, got,
                              actual), (3ll << 32) | 3);
    e.in_transit_handles -= 3;
    STATS_EQ(k, &e);
    for (int j = 0; j < 3; j++)
        CHECK_EQ(info(ps[2], got[j]).koid, kk[j]);
    CHECK_EQ(mxh_object_create_handle(ps[2], MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_NO_RESOURCES);

    /* Teardown gives everything back: a fresh process can fill up again. */
    for (int i = 0; i < NP; i++)
        drop_proc(ps[i]);
    mxh_stats_t s;
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.live_handles, 0);
    CHECK_EQ(s.in_transit_handles, 0);
    mxh_proc_t *f = new_proc(k, 399, NULL);
    hs[0] = ev(f, EV_RIGHTS, NULL);
    for (int j = 1; j < MAX; j++)
        OK(mxh_handle_duplicate(f, hs[0], MXH_RIGHT_SAME_RIGHTS));
    CHECK_EQ(mxh_handle_duplicate(f, hs[0], MXH_RIGHT_SAME_RIGHTS),
             MXH_ERR_NO_RESOURCES);
    drop_proc(f);
    free(hs);
    mxh_kernel_release(k);
}

/* ---- transit ---------------------------------------------------------------- */

static void expect_same(mxh_proc_t *p, const uint64_t *hs, size_t n,
                        const mxh_handle_info_t *before) {
    for (size_t i = 0; i < n; i++) {
        mxh_handle_info_t now = info(p, hs[i]);
        CHECK_EQ(now.koid, before[i].koid);
        CHECK_EQ(now.rights, before[i].rights);
    }
}

static void test_transit(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 13, &e);
    mxh_proc_t *q = new_proc(k, 14, &e);
    mxh_transit_t *t = NULL;
    enum { N = 6 };
    uint64_t hs[N];
    mxh_handle_info_t before[N];
    for (int i = 0; i < N; i++) {
        hs[i] = ev(p, EV_RIGHTS, &e);
        before[i] = info(p, hs[i]);
    }
    uint64_t notr = (uint64_t)OK(mxh_handle_duplicate(
        p, hs[0], MXH_RIGHT_READ | MXH_RIGHT_WRITE | MXH_RIGHT_DUPLICATE));
    e.live_handles++;
    mxh_obj_t *self = NULL;
    OK(mxh_handle_get(p, hs[5], 0, 0, &self));
    STATS_EQ(k, &e);

    /* Ordered checks; on failure every handle is still there. */
    uint64_t l1[] = {hs[0], 0, hs[1]};
    CHECK_EQ(mxh_transit_take(p, l1, 3, NULL, &t), MXH_ERR_BAD_HANDLE);
    uint64_t l2[] = {hs[0], hs[5], 777};
    CHECK_EQ(mxh_transit_take(p, l2, 3, self, &t), MXH_ERR_NOT_SUPPORTED);
    uint64_t l3[] = {hs[0], notr, hs[1]};
    CHECK_EQ(mxh_transit_take(p, l3, 3, NULL, &t), MXH_ERR_ACCESS_DENIED);
    uint64_t l4[] = {hs[0], notr, 777};
    CHECK_EQ(mxh_transit_take(p, l4, 3, NULL, &t), MXH_ERR_ACCESS_DENIED);
    uint64_t l5[] = {hs[0], hs[1], hs[0]};
    CHECK_EQ(mxh_transit_take(p, l5, 3, NULL, &t), MXH_ERR_INVALID_ARGS);
    uint64_t l6[] = {hs[0], hs[0], 777};
    CHECK_EQ(mxh_transit_take(p, l6, 3, NULL, &t), MXH_ERR_BAD_HANDLE);
    uint64_t l7[] = {hs[0], hs[0], notr};
    CHECK_EQ(mxh_transit_take(p, l7, 3, NULL, &t), MXH_ERR_ACCESS_DENIED);
    uint64_t l8[] = {hs[1], hs[1], hs[5]};
    CHECK_EQ(mxh_transit_take(p, l8, 3, self, &t), MXH_ERR_NOT_SUPPORTED);
    uint64_t l9[] = {notr, hs[5]};
    CHECK_EQ(mxh_transit_take(p, l9, 2, self, &t), MXH_ERR_ACCESS_DENIED);
    uint64_t l10[] = {hs[1], hs[0] + (1ull << 32)};
    CHECK_EQ(mxh_transit_take(p, l10, 2, NULL, &t), MXH_ERR_BAD_HANDLE);
    expect_same(p, hs, N, before);
    STATS_EQ(k, &e);

    /* More than MXH_TRANSIT_MAX handles. */
    size_t big = MXH_TRANSIT_MAX + 1;
    uint64_t *many = calloc(big, sizeof *many);
    CHECK(many);
    for (size_t i = 0; i < big; i++)
        many[i] = (uint64_t)OK(mxh_handle_duplicate(p, hs[1],
                                                   MXH_RIGHT_SAME_RIGHTS));
    e.live_handles += big;
    CHECK_EQ(mxh_transit_take(p, many, big, NULL, &t), MXH_ERR_OUT_OF_RANGE);
    STATS_EQ(k, &e);
    /* Exactly MXH_TRANSIT_MAX is fine. */
    OK(mxh_transit_take(p, many, MXH_TRANSIT_MAX, NULL, &t));
    CHECK_EQ(mxh_transit_count(t), MXH_TRANSIT_MAX);
    e.in_transit_handles += MXH_TRANSIT_MAX;
    STATS_EQ(k, &e);
    uint32_t *bound = calloc(MXH_TRANSIT_MAX, sizeof *bound);
    CHECK(bound);
    OK(mxh_transit_bind(q, t, bound));
    e.in_transit_handles -= MXH_TRANSIT_MAX;
    STATS_EQ(k, &e);
    uint64_t *b64 = calloc(MXH_TRANSIT_MAX, sizeof *b64);
    CHECK(b64);
    for (size_t i = 0; i < MXH_TRANSIT_MAX; i++)
        b64[i] = bound[i];
    CHECK_EQ(mxh_handle_close_many(q, b64, MXH_TRANSIT_MAX), MXH_OK);
    OK(mxh_handle_close(p, many[MXH_TRANSIT_MAX]));
    e.live_handles -= big;
    STATS_EQ(k, &e);
    free(many);
    free(bound);
    free(b64);

    /* n == 0: *out is NULL. */
    t = (mxh_transit_t *)hs;   /* any non-NULL */
    OK(mxh_transit_take(p, hs, 0, NULL, &t));
    CHECK(t == NULL);

    /* Take three, bind them into q: valid there, gone from p. */
    uint64_t three[] = {hs[2], hs[0], hs[4]};
    OK(mxh_transit_take(p, three, 3, self, &t));
    CHECK(t != NULL);
    CHECK_EQ(mxh_transit_count(t), 3);
    mxh_koid_t tk[4] = {0, 0, 0, 0};
    CHECK_EQ(mxh_transit_koids(t, tk, 4), 3);
    CHECK_EQ(tk[0], before[2].koid);
    CHECK_EQ(tk[1], before[0].koid);
    CHECK_EQ(tk[2], before[4].koid);
    CHECK_EQ(tk[3], 0);
    mxh_koid_t tk1[1];
    CHECK_EQ(mxh_transit_koids(t, tk1, 1), 3);
    CHECK_EQ(tk1[0], before[2].koid);
    for (int i = 0; i < 3; i++)
        CHECK(!valid(p, three[i]));
    e.in_transit_handles += 3;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), N - 2);   /* 3 left + notr */
    uint32_t out[3] = {0, 0, 0};
    OK(mxh_transit_bind(q, t, out));
    e.in_transit_handles -= 3;
    STATS_EQ(k, &e);
    for (int i = 0; i < 3; i++) {
        check_value(out[i]);
        mxh_handle_info_t in = info(q, out[i]);
        CHECK_EQ(in.koid, tk[i]);
        CHECK_EQ(in.rights, EV_RIGHTS);
    }
    CHECK_EQ(mxh_proc_handle_count(q), 3);

    /* Transit close destroys what it held the last handles of. */
    mxh_koid_t mk;
    uint64_t m = obj_handle(k, p, MXH_OBJ_PORT, &mk, &e);
    uint64_t two[] = {m, hs[1]};
    OK(mxh_transit_take(p, two, 2, NULL, &t));
    e.in_transit_handles += 2;
    STATS_EQ(k, &e);
    mxh_koid_t k2[2];
    CHECK_EQ(mxh_transit_koids(t, k2, 2), 2);
    CHECK_EQ(k2[0], mk);
    CHECK_EQ(k2[1], before[1].koid);
    mxh_transit_close(t);
    e.in_transit_handles -= 2;
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_PORT]--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);

    /* A bundle with a handle whose object has other handles: survives. */
    uint64_t one[] = {out[0]};
    OK(mxh_transit_take(q, one, 1, NULL, &t));
    uint64_t d = (uint64_t)OK(mxh_handle_duplicate(p, notr, MXH_RIGHT_READ));
    (void)d;
    e.live_handles++;
    e.in_transit_handles++;
    STATS_EQ(k, &e);
    mxh_transit_close(t);
    e.in_transit_handles--;
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;   /* out[0] was hs[2]'s object */
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    mxh_object_release(self);
    drop_proc(p);
    drop_proc(q);
    mxh_kernel_release(k);
}

/* ---- move, kill, enumeration -------------------------------------------------- */

static void test_move(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 17, &e);
    mxh_proc_t *q = new_proc(k, 18, &e);
    uint64_t a = ev(p, EV_RIGHTS, &e);
    mxh_handle_info_t ia = info(p, a);
    int64_t v = OK(mxh_handle_move(p, a, q));
    check_value(v);
    CHECK(!valid(p, a));
    mxh_handle_info_t iq = info(q, (uint64_t)v);
    CHECK_EQ(iq.koid, ia.koid);
    CHECK_EQ(iq.rights, ia.rights);
    STATS_EQ(k, &e);

    uint64_t nt = (uint64_t)OK(mxh_handle_duplicate(q, (uint64_t)v,
                                                    MXH_RIGHT_READ));
    e.live_handles++;
    CHECK_EQ(mxh_handle_move(q, nt, p), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_move(q, 0, p), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_move(q, a, p), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(mxh_handle_move(q, (uint64_t)v + (1ull << 32), p),
             MXH_ERR_INVALID_ARGS);
    CHECK(valid(q, nt) && valid(q, (uint64_t)v));
    STATS_EQ(k, &e);

    /* Moving within a process gives a fresh value. */
    int64_t v2 = OK(mxh_handle_move(q, (uint64_t)v, q));
    CHECK(valid(q, (uint64_t)v2));
    CHECK_EQ(mxh_proc_handle_count(q), 2);

    /* Dead destination: BAD_STATE, the handle stays with src. */
    CHECK_EQ(mxh_proc_kill(p), 0);
    CHECK_EQ(mxh_handle_move(q, (uint64_t)v2, p), MXH_ERR_BAD_STATE);
    CHECK(valid(q, (uint64_t)v2));
    /* Dead source: BAD_STATE. */
    CHECK_EQ(mxh_handle_move(p, 1, q), MXH_ERR_BAD_STATE);
    STATS_EQ(k, &e);
    drop_proc(p);
    drop_proc(q);
    mxh_kernel_release(k);
}

static void test_kill(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 19, &e);
    mxh_proc_t *q = new_proc(k, 20, &e);
    uint64_t a = ev(p, EV_RIGHTS, &e);
    OK(mxh_handle_duplicate(p, a, MXH_RIGHT_SAME_RIGHTS));
    uint64_t shared = ev(q, EV_RIGHTS, &e);
    OK(mxh_handle_move(q, (uint64_t)OK(mxh_handle_duplicate(
                              q, shared, MXH_RIGHT_SAME_RIGHTS)), p));
    mxh_koid_t mk;
    obj_handle(k, p, MXH_OBJ_PORT, &mk, &e);
    uint32_t pr[2];
    mxh_koid_t pk[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, pr, pk));
    uint32_t ep[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, ep, NULL));
    uint64_t ep1 = (uint64_t)OK(mxh_handle_move(p, ep[1], q));
    /* q holds a handle to p's process object, p one to q's; q holds one
     * to itself too, so that it outlives p's.  p holds the only handle to
     * r's process object: r dies with p (SPEC §5 rule 2). */
    uint64_t qp = (uint64_t)OK(mxh_handle_create(
        q, mxh_proc_object(p), mxh_default_rights(MXH_OBJ_PROCESS)));
    OK(mxh_handle_create(p, mxh_proc_object(q),
                         mxh_default_rights(MXH_OBJ_PROCESS)));
    OK(mxh_handle_create(q, mxh_proc_object(q),
                         mxh_default_rights(MXH_OBJ_PROCESS)));
    mxh_proc_t *r = new_proc(k, 21, &e);
    OK(mxh_handle_create(p, mxh_proc_object(r),
                         mxh_default_rights(MXH_OBJ_PROCESS)));
    uint64_t r_own = ev(r, EV_RIGHTS, &e);
    (void)r_own;
    e.live_handles += 1 + 1 + 2 + 2 + 2 + 1 + 1;
    e.live_objects[MXH_STATS_CHANNEL] += 2;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), 9);

    /* A channel between p and q with a message queued each way: p's end
     * holds an event q sent, q's end an event p sent. */
    uint32_t xc[2];
    mxh_koid_t xk[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, xc, xk));
    uint64_t xq = (uint64_t)OK(mxh_handle_move(p, xc[1], q));
    uint64_t to_q = ev(p, EV_RIGHTS, &e), to_p = ev(q, EV_RIGHTS, &e);
    mxh_koid_t to_q_koid = info(p, to_q).koid;
    OK(mxh_channel_write(p, xc[0], "pq", 2, &to_q, 1));
    OK(mxh_channel_write(q, xq, "qp", 2, &to_p, 1));
    e.live_handles += 2;
    e.in_transit_handles += 2;
    e.live_objects[MXH_STATS_CHANNEL] += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), 10);
    CHECK_EQ(info(q, xq).signals,
             MXH_SIGNAL_CHANNEL_READABLE | MXH_SIGNAL_CHANNEL_WRITABLE);

    mxh_transit_t *held = NULL;
    uint64_t one = (uint64_t)OK(mxh_object_create_handle(q, MXH_OBJ_EVENT,
                                                         EV_RIGHTS));
    OK(mxh_transit_take(q, &one, 1, NULL, &held));
    e.live_handles++;
    e.in_transit_handles++;
    e.live_objects[MXH_STATS_EVENT]++;
    STATS_EQ(k, &e);

    CHECK_EQ(mxh_proc_kill(p), 10);
    /* Gone: a's object, the port, both ends of pr, event pair end 0, p's
     * end of xc and the event q had queued there; r lost its last handle
     * and was killed, closing its event (r's object stays: ours). */
    e.live_handles -= 10 + 1 + 1;
    e.in_transit_handles -= 1;
    e.live_objects[MXH_STATS_EVENT] -= 3;    /* a's object, to_p, r_own */
    e.live_objects[MXH_STATS_PORT]--;
    e.live_objects[MXH_STATS_CHANNEL] -= 3;
    e.live_objects[MXH_STATS_EVENTPAIR]--;   /* end 0 */
    e.destroyed_objects += 8;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_is_dead(p), 1);
    CHECK_EQ(mxh_proc_handle_count(p), 0);
    CHECK_EQ(mxh_proc_is_dead(r), 1);
    CHECK_EQ(mxh_proc_handle_count(r), 0);
    int64_t r_code = 0;
    CHECK_EQ(mxh_proc_state(r, &r_code), 2);
    CHECK_EQ(r_code, -1);
    CHECK(mxh_object_signals(mxh_proc_object(r)) & MXH_SIGNAL_TASK_TERMINATED);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(r)), 0);
    drop_proc(r);
    e.live_objects[MXH_STATS_PROCESS]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK(info(q, ep1).signals & MXH_SIGNAL_EPAIR_PEER_CLOSED);
    CHECK(valid(q, shared));
    CHECK_EQ(handle_count(q, shared), 1);
    /* q's process object lost p's handle to it; its own keeps it. */
    CHECK_EQ(mxh_object_handle_count(mxh_proc_object(q)), 1);
    CHECK_EQ(mxh_proc_is_dead(q), 0);
    /* q's end of xc: peer closed, the message p sent still readable. */
    CHECK_EQ(info(q, xq).signals,
             MXH_SIGNAL_CHANNEL_READABLE | MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    char buf[4];
    uint32_t got[1];
    uint64_t actual[3];
    CHECK_EQ(mxh_channel_read(q, xq, 0, sizeof buf, 1, buf, got, actual),
             (1ll << 32) | 2);
    CHECK(memcmp(buf, "pq", 2) == 0);
    CHECK_EQ(info(q, got[0]).koid, to_q_koid);
    e.in_transit_handles--;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_channel_read(q, xq, 0, sizeof buf, 1, buf, got, actual),
             MXH_ERR_PEER_CLOSED);
    CHECK_EQ(mxh_channel_write(q, xq, "x", 1, NULL, 0), MXH_ERR_PEER_CLOSED);
    OK(mxh_handle_close(q, xq));
    OK(mxh_handle_close(q, got[0]));
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);

    /* Second kill; every call of a dead process. */
    CHECK_EQ(mxh_proc_kill(p), MXH_ERR_BAD_STATE);
    mxh_obj_t *o = mxh_object_create(k, MXH_OBJ_EVENT, 0);
    CHECK(o);
    mxh_obj_t *g = NULL;
    mxh_handle_info_t hi;
    mxh_transit_t *t = NULL;
    uint32_t vals[2];
    uint64_t hs[1] = {1};
    CHECK_EQ(mxh_handle_create(p, o, EV_RIGHTS), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS,
                                     vals, NULL), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS,
                                     vals, NULL), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_close(p, 1), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_close(p, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_close_many(p, hs, 1), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_duplicate(p, 1, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_replace(p, 1, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_get(p, 1, 0, 0, &g), MXH_ERR_BAD_STATE);
    CHECK(g == NULL);
    CHECK_EQ(mxh_handle_basic(p, 1, &hi), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_transit_take(p, hs, 1, NULL, &t), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_transit_take(p, hs, 0, NULL, &t), MXH_ERR_BAD_STATE);
    uint64_t *over = calloc(MXH_TRANSIT_MAX + 1, sizeof *over);
    CHECK(over);
    CHECK_EQ(mxh_transit_take(p, over, MXH_TRANSIT_MAX + 1, NULL, &t),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_channel_write(p, 1, NULL, 0, over, MXH_TRANSIT_MAX + 1),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_channel_write(p, 1, NULL, MXH_CHANNEL_MAX_BYTES + 1, NULL,
                               0), MXH_ERR_BAD_STATE);
    free(over);
    CHECK_EQ(mxh_object_create_handle(p, MXH_OBJ_PORT, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_channel_write(p, 1, "x", 1, hs, 1), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_channel_read(p, 1, 0, sizeof buf, 1, buf, got, actual),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_channel_read(p, 1, 77, sizeof buf, 1, buf, got, actual),
             MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_channel_call(p, 1, "abcd", 4, hs, 1, 0, sizeof buf, 1, buf,
                              got, actual), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_object_signal(p, 1, 0, 0, 0), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_handle_move(p, 1, q), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_transit_bind(p, held, vals), MXH_ERR_BAD_STATE);
    CHECK_EQ(mxh_transit_count(held), 1);
    CHECK_EQ(mxh_proc_handles(p, NULL, 0), 0);
    mxh_object_release(o);
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    /* The bundle refused by the dead process binds elsewhere. */
    OK(mxh_transit_bind(q, held, vals));
    e.in_transit_handles--;
    STATS_EQ(k, &e);

    /* q's handle to dead p: closing it leaves p to its creator's
     * reference. */
    CHECK_EQ(mxh_handle_close(q, qp), MXH_OK);
    e.live_handles--;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_object_destroyed(mxh_proc_object(p)), 0);
    drop_proc(p);
    e.live_objects[MXH_STATS_PROCESS]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    CHECK_EQ(mxh_proc_kill(q), 4);
    e.live_handles -= 4;
    e.live_objects[MXH_STATS_EVENT] -= 2;
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects += 3;
    STATS_EQ(k, &e);
    drop_proc(q);
    e.live_objects[MXH_STATS_PROCESS]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_stats_t zero = {0};
    zero.destroyed_objects = e.destroyed_objects;
    STATS_EQ(k, &zero);
    mxh_kernel_release(k);
}

static void test_proc_handles(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 21, &e);
    CHECK_EQ(mxh_proc_handles(p, NULL, 0), 0);
    enum { N = 50 };
    uint64_t hs[N];
    for (int i = 0; i < N; i++) {
        if (i % 5 == 4)
            hs[i] = (uint64_t)OK(mxh_handle_duplicate(p, hs[i - 1],
                                                      MXH_RIGHT_READ));
        else
            hs[i] = ev(p, EV_RIGHTS, NULL);
    }
    for (int i = 0; i < N; i += 3)
        OK(mxh_handle_close(p, hs[i]));
    int live = 0;
    for (int i = 0; i < N; i++)
        live += i % 3 != 0;
    mxh_handle_info_t tab[N + 5];
    memset(tab, 0, sizeof tab);
    CHECK_EQ(mxh_proc_handles(p, tab, N + 5), live);
    CHECK_EQ(mxh_proc_handle_count(p), live);
    for (int j = 0; j < live; j++) {
        mxh_handle_info_t i = info(p, tab[j].value);
        CHECK_EQ(i.koid, tab[j].koid);
        CHECK_EQ(i.rights, tab[j].rights);
        CHECK_EQ(i.type, tab[j].type);
        for (int l = j + 1; l < live; l++)
            CHECK(tab[j].value != tab[l].value);
        int found = 0;
        for (int l = 0; l < N; l++)
            found |= l % 3 != 0 && hs[l] == tab[j].value;
        CHECK(found);
    }
    /* A short buffer: the total comes back, only cap entries written. */
    mxh_handle_info_t few[4];
    memset(few, 0, sizeof few);
    CHECK_EQ(mxh_proc_handles(p, few, 3), live);
    for (int j = 0; j < 3; j++)
        CHECK_EQ(few[j].value, tab[j].value);
    CHECK_EQ(few[3].value, 0);
    drop_proc(p);
    mxh_kernel_release(k);
}

/* ---- cascades through processes ------------------------------------------------ */

typedef struct {
    mxh_proc_t *p;
    int64_t rc;
} kill_arg;

static void *kill_thread(void *arg) {
    kill_arg *a = arg;
    a->rc = mxh_proc_kill(a->p);
    return NULL;
}

/* mxh_proc_kill(p) on a thread with a 256 KiB stack: a cascade that
 * recursed would overflow it. */
static int64_t kill_on_small_stack(mxh_proc_t *p) {
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
    kill_arg a = {p, 0};
    pthread_t t;
    CHECK(pthread_create(&t, &attr, kill_thread, &a) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_attr_destroy(&attr);
    return a.rc;
}

/* Processes whose only reference is a handle in another process die with
 * it, as deep as the chain goes: P0 -> P1 -> ... directly, and alternating
 * with channels (P_i holds a reader whose queue holds P_i+1's handle). */
static void test_proc_chain(void) {
    enum { N = 100000 };
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p0 = new_proc(k, 600, &e);
    mxh_proc_t *prev = p0;
    for (int i = 1; i <= N; i++) {
        mxh_proc_t *q = new_proc(k, 600 + (uint64_t)i, &e);
        OK(mxh_handle_create(prev, mxh_proc_object(q),
                             mxh_default_rights(MXH_OBJ_PROCESS)));
        e.live_handles++;
        ev(q, EV_RIGHTS, &e);   /* something for q's teardown to close */
        mxh_object_release(mxh_proc_object(q));
        prev = q;
    }
    STATS_EQ(k, &e);
    CHECK_EQ(kill_on_small_stack(p0), 1);
    e.live_handles = 0;
    e.live_objects[MXH_STATS_EVENT] = 0;
    e.live_objects[MXH_STATS_PROCESS] = 1;
    e.destroyed_objects += 2 * N;
    STATS_EQ(k, &e);
    drop_proc(p0);
    e.live_objects[MXH_STATS_PROCESS] = 0;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* Alternating with channels. */
    p0 = new_proc(k, 700, &e);
    prev = p0;
    for (int i = 1; i <= N / 10; i++) {
        mxh_proc_t *q = new_proc(k, 700 + (uint64_t)i, &e);
        uint32_t c[2];
        OK(mxh_pair_create_handles(prev, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
        uint64_t qh = (uint64_t)OK(mxh_handle_create(
            prev, mxh_proc_object(q), mxh_default_rights(MXH_OBJ_PROCESS)));
        OK(mxh_channel_write(prev, c[1], "p", 1, &qh, 1));
        OK(mxh_handle_close(prev, c[1]));
        mxh_object_release(mxh_proc_object(q));
        e.live_handles += 2;
        e.in_transit_handles++;
        e.live_objects[MXH_STATS_CHANNEL]++;
        e.destroyed_objects++;   /* c[1] */
        prev = q;
    }
    STATS_EQ(k, &e);
    CHECK_EQ(kill_on_small_stack(p0), 1);
    e.live_handles = 0;
    e.in_transit_handles = 0;
    e.live_objects[MXH_STATS_CHANNEL] = 0;
    e.live_objects[MXH_STATS_PROCESS] = 1;
    e.destroyed_objects += 2 * (N / 10);
    STATS_EQ(k, &e);
    drop_proc(p0);
    mxh_kernel_release(k);
}

/* ---- pins, get, growth ---------------------------------------------------- */

static void test_pin(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_obj_t *o = mxh_object_create(k, MXH_OBJ_PORT, 5);
    CHECK(o);
    mxh_koid_t koid = mxh_object_koid(o);
    mxh_object_pin(o);
    mxh_object_pin(o);
    mxh_object_release(o);
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_object_destroyed(o), 1);
    CHECK_EQ(mxh_object_koid(o), koid);
    CHECK_EQ(mxh_object_type(o), MXH_OBJ_PORT);
    CHECK_EQ(mxh_object_handle_count(o), 0);
    mxh_object_unpin(o);
    CHECK_EQ(mxh_object_destroyed(o), 1);
    mxh_object_unpin(o);   /* memory goes now */

    /* A pinned process outlives its destruction as a view. */
    mxh_proc_t *p = new_proc(k, 22, &e);
    mxh_obj_t *po = mxh_proc_object(p);
    ev(p, EV_RIGHTS, &e);
    mxh_object_pin(po);
    CHECK_EQ(mxh_proc_kill(p), 1);
    mxh_object_release(po);
    e.live_handles = 0;
    e.live_objects[MXH_STATS_EVENT] = 0;
    e.live_objects[MXH_STATS_PROCESS] = 0;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_object_destroyed(po), 1);
    CHECK(mxh_object_proc(po) == p);
    CHECK_EQ(mxh_proc_is_dead(p), 1);
    CHECK_EQ(mxh_proc_handle_count(p), 0);
    CHECK_EQ(mxh_handle_close(p, 1), MXH_ERR_BAD_STATE);

    /* Pins outlive the kernel's release too. */
    mxh_obj_t *last = mxh_object_create(k, MXH_OBJ_EVENT, 0);
    CHECK(last);
    mxh_object_pin(last);
    mxh_object_release(last);
    mxh_kernel_release(k);
    CHECK_EQ(mxh_object_destroyed(po), 1);
    CHECK_EQ(mxh_object_destroyed(last), 1);
    mxh_object_unpin(po);
    mxh_object_unpin(last);
}

static void test_get(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 23, &e);
    uint64_t h = ev(p, MXH_RIGHT_READ | MXH_RIGHT_DUPLICATE, &e);
    mxh_koid_t koid = info(p, h).koid;
    mxh_obj_t *o = NULL;
    CHECK_EQ(mxh_handle_get(p, h, MXH_OBJ_EVENT, MXH_RIGHT_READ, NULL), koid);
    CHECK_EQ(mxh_handle_get(p, h, 0, 0, NULL), koid);
    CHECK_EQ(mxh_handle_get(p, h, MXH_OBJ_CHANNEL, MXH_RIGHT_READ, &o),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_handle_get(p, h, MXH_OBJ_CHANNEL, MXH_RIGHT_WRITE, &o),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_handle_get(p, h, MXH_OBJ_EVENT, MXH_RIGHT_WRITE, &o),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_handle_get(p, h, 0, MXH_RIGHT_READ | MXH_RIGHT_TRANSFER, &o),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_handle_get(p, h + 1, MXH_OBJ_CHANNEL, MXH_RIGHT_WRITE, &o),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_handle_get(p, 0, MXH_OBJ_CHANNEL, MXH_RIGHT_WRITE, &o),
             MXH_ERR_BAD_HANDLE);
    CHECK(o == NULL);
    CHECK_EQ(mxh_handle_get(p, h, MXH_OBJ_EVENT, MXH_RIGHT_READ, &o), koid);
    CHECK(o != NULL);
    CHECK_EQ(mxh_object_koid(o), koid);
    /* The reference outlives the handle. */
    CHECK_EQ(mxh_handle_close(p, h), 0);
    e.live_handles--;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_object_destroyed(o), 0);
    CHECK_EQ(mxh_object_handle_count(o), 0);
    mxh_object_release(o);
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    drop_proc(p);
    mxh_kernel_release(k);
}

static void test_growth(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 24, &e);
    mxh_proc_t *q = new_proc(k, 25, &e);
    enum { N = 100000 };
    uint64_t *hs = malloc(N * sizeof *hs);
    CHECK(hs);
    hs[0] = ev(p, EV_RIGHTS, &e);
    uint64_t qa = ev(q, EV_RIGHTS, &e);
    mxh_koid_t koid = info(p, hs[0]).koid;
    for (int i = 1; i < N; i++) {
        /* Alternate creations and duplicates; every 1000th a close + redo. */
        int64_t v = (i & 1) ? mxh_handle_duplicate(p, hs[0],
                                                   MXH_RIGHT_SAME_RIGHTS)
                            : mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                       EV_RIGHTS);
        hs[i] = (uint64_t)OK(v);
        check_value(v);
        if (!(i & 1))
            e.live_objects[MXH_STATS_EVENT]++;
        e.live_handles++;
        if (i % 1000 == 0)
            CHECK(valid(p, hs[i / 2]));
    }
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), N);
    CHECK(valid(q, qa));
    uint64_t *sorted = malloc(N * sizeof *sorted);
    CHECK(sorted);
    memcpy(sorted, hs, N * sizeof *hs);
    qsort(sorted, N, sizeof *sorted, cmp_u64);
    for (int i = 1; i < N; i++)
        CHECK(sorted[i] != sorted[i - 1]);
    for (int i = 0; i < N; i++) {
        mxh_handle_info_t in = info(p, hs[i]);
        if (i & 1)
            CHECK_EQ(in.koid, koid);
    }
    CHECK_EQ(handle_count(p, hs[0]), N / 2 + 1);
    mxh_handle_info_t *tab = malloc(N * sizeof *tab);
    CHECK(tab);
    CHECK_EQ(mxh_proc_handles(p, tab, N), N);
    for (int i = 0; i < N; i++)
        CHECK(bsearch(&(uint64_t){tab[i].value}, sorted, N, sizeof *sorted,
                      cmp_u64) != NULL);
    free(tab);
    free(sorted);
    /* Close half, then kill the process with the rest. */
    for (int i = 0; i < N; i += 2)
        OK(mxh_handle_close(p, hs[i]));
    for (int i = 1; i < N; i += 2)
        CHECK(valid(p, hs[i]));
    for (int i = 0; i < N; i += 2)
        CHECK(!valid(p, hs[i]));
    CHECK_EQ(mxh_proc_kill(p), N / 2);
    free(hs);
    e.live_handles = 1;
    e.live_objects[MXH_STATS_EVENT] = 1;
    e.destroyed_objects = N / 2;
    STATS_EQ(k, &e);
    drop_proc(p);
    drop_proc(q);
    mxh_kernel_release(k);
}

/* The kernel goes away with processes, handles and a bundle still alive;
 * the bundle and the creator's references are dropped afterwards. */
static void test_teardown(void) {
    mxh_kernel_t *k = new_kernel(0);
    mxh_proc_t *p = new_proc(k, 26, NULL);
    mxh_proc_t *q = new_proc(k, 27, NULL);
    uint32_t c[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL));
    OK(mxh_pair_create_handles(q, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, c, NULL));
    for (int i = 0; i < 5000; i++)
        OK(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS));
    OK(mxh_handle_create(p, mxh_proc_object(p), EV_RIGHTS));   /* a cycle */
    OK(mxh_handle_create(q, mxh_proc_object(p), EV_RIGHTS));
    uint64_t x = (uint64_t)OK(mxh_object_create_handle(q, MXH_OBJ_PORT,
                                                       EV_RIGHTS));
    mxh_transit_t *t = NULL;
    OK(mxh_transit_take(q, &x, 1, NULL, &t));
    mxh_obj_t *kept = mxh_object_create(k, MXH_OBJ_EVENT, 0);
    CHECK(kept);
    /* A message with a handle queued in p's channel. */
    uint32_t d[2];
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, d, NULL));
    uint64_t y = (uint64_t)OK(mxh_object_create_handle(p, MXH_OBJ_EVENT,
                                                       EV_RIGHTS));
    OK(mxh_channel_write(p, d[0], "y", 1, &y, 1));
    /* A cycle only collection can reclaim: a0 and b0 sit in each other's
     * queues; the kernel's release must not leak them. */
    uint32_t ca[2], cb[2];
    OK(mxh_pair_create_handles(q, MXH_OBJ_CHANNEL, CH_RIGHTS, ca, NULL));
    OK(mxh_pair_create_handles(q, MXH_OBJ_CHANNEL, CH_RIGHTS, cb, NULL));
    uint64_t b0 = cb[0], a0 = ca[0];
    OK(mxh_channel_write(q, ca[1], NULL, 0, &b0, 1));
    OK(mxh_channel_write(q, cb[1], NULL, 0, &a0, 1));
    mxh_kernel_release(k);
    CHECK_EQ(mxh_proc_is_dead(q), 1);
    mxh_object_release(mxh_proc_object(q));
    CHECK_EQ(mxh_proc_is_dead(p), 1);
    mxh_transit_close(t);
    mxh_object_release(kept);
    mxh_object_release(mxh_proc_object(p));
}

int main(void) {
    struct { const char *name; void (*fn)(void); } tests[] = {
        {"kernel", test_kernel},         {"objects", test_objects},
        {"defaults", test_defaults},     {"proc_create", test_proc_create},
        {"rights", test_rights},         {"bad_values", test_bad_values},
        {"stale", test_stale},           {"determinism", test_determinism},
        {"close_many", test_close_many}, {"refs", test_refs},
        {"eventpair", test_eventpair},   {"channel", test_channel},
        {"signal", test_signal},         {"max_handles", test_max_handles},
        {"quota", test_quota},
        {"transit", test_transit},
        {"move", test_move},             {"kill", test_kill},
        {"proc_handles", test_proc_handles}, {"pin", test_pin},
        {"get", test_get},               {"growth", test_growth},
        {"proc_chain", test_proc_chain},
        {"teardown", test_teardown},
    };
    size_t n = sizeof tests / sizeof tests[0];
    for (size_t i = 0; i < n; i++) {
        printf("test_table: %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
    }
    printf("test_table: %zu tests passed\n", n);
    return 0;
}
