/*
 * test_channel.c - channels in the C core: write, read, call, the reaper,
 * collection and the inspection calls.
 *
 * Every test builds its own kernel, tracks the expected counters by hand
 * (mxh_stats_t) and releases the kernel at the end, so ASan's leak check
 * catches what the library forgets.  The call tests run real threads (a
 * server, other callers, a thread that closes or kills).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "mxh_test.h"

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define RD MXH_SIGNAL_CHANNEL_READABLE
#define WR MXH_SIGNAL_CHANNEL_WRITABLE
#define PC MXH_SIGNAL_CHANNEL_PEER_CLOSED
#define MAYD MXH_CHANNEL_READ_MAY_DISCARD
#define NO_LIMIT UINT64_MAX
#define PACKED(h, b) ((int64_t)(h) << 32 | (int64_t)(b))

/* ---- helpers ------------------------------------------------------------------ */

static mxh_kernel_t *new_kernel(void) {
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k != NULL);
    return k;
}

static mxh_proc_t *new_proc(mxh_kernel_t *k, uint64_t secret, mxh_stats_t *e) {
    mxh_proc_t *p = mxh_proc_create(k, secret, 0);
    CHECK(p != NULL);
    if (e)
        e->live_objects[MXH_STATS_PROCESS]++;
    return p;
}

/* Kills p if alive and drops the creator's reference (the process object
 * goes: one more destroyed object). */
static void drop_proc(mxh_proc_t *p, mxh_stats_t *e) {
    if (!mxh_proc_is_dead(p))
        OK(mxh_proc_kill(p));
    mxh_object_release(mxh_proc_object(p));
    if (e) {
        e->live_objects[MXH_STATS_PROCESS]--;
        e->destroyed_objects++;
    }
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
    return i;
}

static uint32_t sigs(mxh_proc_t *p, uint64_t h) { return info(p, h).signals; }
static mxh_koid_t koid_of(mxh_proc_t *p, uint64_t h) { return info(p, h).koid; }

static uint64_t ev(mxh_proc_t *p, mxh_stats_t *e) {
    int64_t v = OK(mxh_object_create_handle(p, MXH_OBJ_EVENT, EV_RIGHTS));
    if (e) {
        e->live_handles++;
        e->live_objects[MXH_STATS_EVENT]++;
    }
    return (uint64_t)v;
}

/* A channel in p: ends in v[0], v[1]; koids in kk (may be NULL). */
static void chan(mxh_proc_t *p, uint32_t v[2], mxh_koid_t *kk, mxh_stats_t *e) {
    OK(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, v, kk));
    if (e) {
        e->live_handles += 2;
        e->live_objects[MXH_STATS_CHANNEL] += 2;
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads one message that must be there; returns the packed result. */
static int64_t read_ok(mxh_proc_t *p, uint64_t h, void *buf, size_t cap,
                       uint32_t *hv, size_t hcap) {
    uint64_t actual[3] = {0, 0, 0};
    return OK(mxh_channel_read(p, h, 0, cap, hcap, buf, hv, actual));
}

/* Polls until a message can be read (the C core has no wait call). */
static int64_t read_wait(mxh_proc_t *p, uint64_t h, void *buf, size_t cap,
                         uint32_t *hv, size_t hcap) {
    uint64_t actual[3] = {0, 0, 0};
    for (;;) {
        int64_t r = mxh_channel_read(p, h, 0, cap, hcap, buf, hv, actual);
        if (r != MXH_ERR_SHOULD_WAIT)
            return r;
        sched_yield();
    }
}

static void put_u32(unsigned char *b, uint32_t x) {
    b[0] = (unsigned char)x;
    b[1] = (unsigned char)(x >> 8);
    b[2] = (unsigned char)(x >> 16);
    b[3] = (unsigned char)(x >> 24);
}

static uint32_t get_u32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

/* ---- write and read ------------------------------------------------------------- */

static void test_round_trip(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 1, &e), *q = new_proc(k, 2, &e);
    uint32_t c[2];
    mxh_koid_t ck[2];
    chan(p, c, ck, &e);
    uint64_t qc = (uint64_t)OK(mxh_handle_move(p, c[1], q));
    CHECK_EQ(sigs(p, c[0]), WR);
    CHECK_EQ(sigs(q, qc), WR);

    /* Bytes and three handles (different objects and rights). */
    uint64_t hs[3];
    hs[0] = ev(p, &e);
    hs[1] = (uint64_t)OK(mxh_object_create_handle(p, MXH_OBJ_PORT,
                                                  MXH_RIGHT_TRANSFER |
                                                  MXH_RIGHT_READ));
    e.live_handles++;
    e.live_objects[MXH_STATS_PORT]++;
    hs[2] = (uint64_t)OK(mxh_handle_duplicate(p, hs[0], MXH_RIGHT_TRANSFER));
    e.live_handles++;
    mxh_handle_info_t before[3];
    for (int i = 0; i < 3; i++)
        before[i] = info(p, hs[i]);
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_channel_write(p, c[0], "hello", 5, hs, 3), MXH_OK);
    e.in_transit_handles += 3;
    STATS_EQ(k, &e);
    for (int i = 0; i < 3; i++)
        CHECK(!valid(p, hs[i]));   /* gone from the writer */
    CHECK_EQ(mxh_proc_handle_count(p), 1);
    CHECK_EQ(sigs(q, qc), RD | WR);
    CHECK_EQ(sigs(p, c[0]), WR);
    char buf[16];
    uint32_t got[4] = {0, 0, 0, 0};
    CHECK_EQ(read_ok(q, qc, buf, sizeof buf, got, 4), PACKED(3, 5));
    e.in_transit_handles -= 3;
    STATS_EQ(k, &e);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(got[3], 0);   /* nothing written past the message */
    for (int i = 0; i < 3; i++) {
        mxh_handle_info_t now = info(q, got[i]);   /* valid in the reader */
        CHECK_EQ(now.koid, before[i].koid);
        CHECK_EQ(now.rights, before[i].rights);
        CHECK_EQ(now.type, before[i].type);
    }
    CHECK_EQ(sigs(q, qc), WR);
    CHECK_EQ(mxh_proc_handle_count(q), 4);

    /* Many messages come out whole and in order, both ways. */
    enum { M = 50 };
    for (uint32_t i = 0; i < M; i++) {
        unsigned char msg[8];
        put_u32(msg, i);
        put_u32(msg + 4, ~i);
        uint64_t h = ev(p, &e);
        OK(mxh_channel_write(p, c[0], msg, i % 9, &h, i % 2));
        if (i % 2 == 0)
            OK(mxh_handle_close(p, h)), e.live_handles--,
                e.live_objects[MXH_STATS_EVENT]--, e.destroyed_objects++;
        else
            e.in_transit_handles++;
        OK(mxh_channel_write(q, qc, msg, 8, NULL, 0));
    }
    STATS_EQ(k, &e);
    for (uint32_t i = 0; i < M; i++) {
        unsigned char msg[8], want[8];
        put_u32(want, i);
        put_u32(want + 4, ~i);
        uint32_t h[1] = {0};
        CHECK_EQ(read_ok(q, qc, msg, sizeof msg, h, 1),
                 PACKED(i % 2, i % 9));
        CHECK(memcmp(msg, want, i % 9) == 0);
        if (i % 2) {
            CHECK(valid(q, h[0]));
            OK(mxh_handle_close(q, h[0]));
            e.in_transit_handles--;
            e.live_handles--;
            e.live_objects[MXH_STATS_EVENT]--;
            e.destroyed_objects++;
        }
        CHECK_EQ(read_ok(p, c[0], msg, sizeof msg, NULL, 0), PACKED(0, 8));
        CHECK(memcmp(msg, want, 8) == 0);
    }
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(q, qc), WR);
    CHECK_EQ(sigs(p, c[0]), WR);

    /* The limits themselves: 65536 bytes and 1024 handles in one message;
     * an empty message; NULL buffers where nothing is copied. */
    size_t big = MXH_CHANNEL_MAX_BYTES;
    unsigned char *data = malloc(big), *back = malloc(big);
    CHECK(data && back);
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char)(i * 7 + 3);
    uint64_t *many = malloc(MXH_TRANSIT_MAX * sizeof *many);
    uint32_t *gotm = malloc(MXH_TRANSIT_MAX * sizeof *gotm);
    CHECK(many && gotm);
    uint64_t base = ev(p, &e);
    for (size_t i = 0; i < MXH_TRANSIT_MAX; i++)
        many[i] = (uint64_t)OK(mxh_handle_duplicate(p, base,
                                                    MXH_RIGHT_SAME_RIGHTS));
    e.live_handles += MXH_TRANSIT_MAX;
    OK(mxh_channel_write(p, c[0], data, big, many, MXH_TRANSIT_MAX));
    OK(mxh_channel_write(p, c[0], NULL, 0, NULL, 0));
    e.in_transit_handles += MXH_TRANSIT_MAX;
    STATS_EQ(k, &e);
    CHECK_EQ(read_ok(q, qc, back, big, gotm, MXH_TRANSIT_MAX),
             PACKED(MXH_TRANSIT_MAX, big));
    CHECK(memcmp(data, back, big) == 0);
    e.in_transit_handles -= MXH_TRANSIT_MAX;
    STATS_EQ(k, &e);
    mxh_koid_t bk = koid_of(p, base);
    for (size_t i = 0; i < MXH_TRANSIT_MAX; i++) {
        CHECK_EQ(koid_of(q, gotm[i]), bk);
        many[i] = gotm[i];
    }
    CHECK_EQ(read_ok(q, qc, NULL, 0, NULL, 0), PACKED(0, 0));
    CHECK_EQ(sigs(q, qc), WR);
    CHECK_EQ(mxh_handle_close_many(q, many, MXH_TRANSIT_MAX), MXH_OK);
    e.live_handles -= MXH_TRANSIT_MAX;
    STATS_EQ(k, &e);
    free(data);
    free(back);
    free(many);
    free(gotm);

    /* A reader may be the writer's own process: values are fresh ones. */
    uint32_t d[2];
    chan(p, d, NULL, &e);
    uint64_t h = ev(p, &e);
    OK(mxh_channel_write(p, d[0], "x", 1, &h, 1));
    uint32_t h2[1];
    CHECK_EQ(read_ok(p, d[1], buf, sizeof buf, h2, 1), PACKED(1, 1));
    CHECK(!valid(p, h));
    CHECK(valid(p, h2[0]));
    STATS_EQ(k, &e);

    drop_proc(p, &e);
    drop_proc(q, &e);
    mxh_kernel_release(k);
}

/* Each handle still the writer's with the same value, koid and rights. */
static void expect_kept(mxh_proc_t *p, const uint64_t *hs, size_t n,
                        const mxh_handle_info_t *before) {
    for (size_t i = 0; i < n; i++) {
        mxh_handle_info_t now = info(p, hs[i]);
        CHECK_EQ(now.koid, before[i].koid);
        CHECK_EQ(now.rights, before[i].rights);
    }
}

static void test_write_errors(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 15, &e);
    mxh_proc_t *q = new_proc(k, 16, &e);
    uint32_t c[2];
    mxh_koid_t ck[2];
    chan(p, c, ck, &e);
    uint64_t a = ev(p, &e), b = ev(p, &e);
    uint64_t notr = (uint64_t)OK(mxh_handle_duplicate(p, a, MXH_RIGHT_READ));
    e.live_handles++;
    uint32_t c2[2];
    chan(p, c2, NULL, &e);
    uint64_t ro = (uint64_t)OK(mxh_handle_replace(
        p, c2[0], MXH_RIGHT_READ | MXH_RIGHT_TRANSFER));
    uint64_t stale = ev(p, &e);
    OK(mxh_handle_close(p, stale));
    e.live_handles--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects++;
    uint64_t foreign = ev(q, &e);
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), 7);
    uint64_t c0 = c[0], c1 = c[1];
    uint64_t all[] = {c0, c1, a, b, notr, c2[1], ro};
    mxh_handle_info_t before[7];
    for (int i = 0; i < 7; i++)
        before[i] = info(p, all[i]);
    uint64_t hs[4];
    uint64_t *zeros = calloc(MXH_TRANSIT_MAX + 1, sizeof *zeros);
    CHECK(zeros);
    size_t too_big = MXH_CHANNEL_MAX_BYTES + 1;
    char *bytes = calloc(too_big, 1);
    CHECK(bytes);

    /* The channel handle first: BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED. */
    hs[0] = a;
    CHECK_EQ(mxh_channel_write(p, 0, NULL, 0, hs, 1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_write(p, stale, bytes, too_big, zeros, 1),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_write(p, foreign, NULL, 0, hs, 1),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_write(p, (uint64_t)c0 | (1ull << 32), NULL, 0, hs,
                               1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_write(p, a, NULL, 0, hs, 1), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_channel_write(p, a, bytes, too_big, zeros,
                               MXH_TRANSIT_MAX + 1), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_channel_write(p, ro, NULL, 0, zeros, 1),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_channel_write(p, ro, bytes, too_big, NULL, 0),
             MXH_ERR_ACCESS_DENIED);
    /* Then the sizes, before any handle. */
    CHECK_EQ(mxh_channel_write(p, c0, NULL, 0, zeros, MXH_TRANSIT_MAX + 1),
             MXH_ERR_OUT_OF_RANGE);
    CHECK_EQ(mxh_channel_write(p, c0, bytes, too_big, zeros, 1),
             MXH_ERR_OUT_OF_RANGE);
    CHECK_EQ(mxh_channel_write(p, c0, bytes, too_big, NULL, 0),
             MXH_ERR_OUT_OF_RANGE);
    CHECK_EQ(mxh_channel_write(p, c0, bytes, SIZE_MAX, NULL, 0),
             MXH_ERR_OUT_OF_RANGE);
    /* Then the handles, in order: invalid, the channel itself, no
     * TRANSFER; only then the same handle twice. */
    uint64_t w0[] = {a, 0, c0};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w0, 3), MXH_ERR_BAD_HANDLE);
    uint64_t w1[] = {a, c0, 0};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w1, 3), MXH_ERR_NOT_SUPPORTED);
    uint64_t w1b[] = {c0};
    CHECK_EQ(mxh_channel_write(p, c0, NULL, 0, w1b, 1), MXH_ERR_NOT_SUPPORTED);
    uint64_t w2[] = {a, notr, c0};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w2, 3), MXH_ERR_ACCESS_DENIED);
    uint64_t w2b[] = {foreign};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w2b, 1), MXH_ERR_BAD_HANDLE);
    uint64_t w3[] = {a, b, a};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w3, 3), MXH_ERR_INVALID_ARGS);
    uint64_t w4[] = {a, a, 5};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w4, 3), MXH_ERR_BAD_HANDLE);
    uint64_t w5[] = {a, a, notr};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w5, 3), MXH_ERR_ACCESS_DENIED);
    uint64_t w6[] = {b, b, c0};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w6, 3), MXH_ERR_NOT_SUPPORTED);
    uint64_t w7[] = {notr, c0};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w7, 2), MXH_ERR_ACCESS_DENIED);
    uint64_t w8[] = {b, (uint64_t)a + (1ull << 32)};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w8, 2), MXH_ERR_BAD_HANDLE);
    /* The peer end may travel, but not twice in one message. */
    uint64_t w9[] = {c1, c1};
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, w9, 2), MXH_ERR_INVALID_ARGS);
    /* All or nothing: every handle still there, same value, nothing
     * queued. */
    expect_kept(p, all, 7, before);
    CHECK_EQ(sigs(p, c1), WR);
    CHECK_EQ(mxh_proc_handle_count(p), 7);
    STATS_EQ(k, &e);

    /* Success: the peer end itself may travel, into its own queue. */
    uint64_t w10[] = {a, c1};
    CHECK_EQ(mxh_channel_write(p, c0, "ab", 2, w10, 2), MXH_OK);
    CHECK(!valid(p, a) && !valid(p, c1));
    e.in_transit_handles += 2;
    STATS_EQ(k, &e);
    /* No handles at all is a valid message too. */
    CHECK_EQ(mxh_channel_write(p, c0, "abc", 3, NULL, 0), MXH_OK);
    CHECK_EQ(sigs(p, c0), WR);
    STATS_EQ(k, &e);
    mxh_message_info_t mi[3];
    mxh_koid_t mk[3];
    uint64_t nk = 0;
    CHECK_EQ(mxh_kernel_messages(k, mi, 3, mk, 3, &nk), 2);
    CHECK_EQ(nk, 2);
    CHECK_EQ(mi[0].endpoint_koid, ck[1]);
    CHECK_EQ(mi[0].nbytes, 2);
    CHECK_EQ(mi[0].handle_count, 2);
    CHECK_EQ(mk[0], before[2].koid);
    CHECK_EQ(mk[1], ck[1]);
    CHECK_EQ(mi[1].nbytes, 3);
    CHECK_EQ(mi[1].handle_count, 0);

    /* c1 is now held only by its own queue: collection reclaims it and
     * closes the handle travelling with it (its event lives on through
     * notr), and c0 sees its peer gone. */
    CHECK_EQ(mxh_kernel_collect(k), 1);
    e.in_transit_handles -= 2;
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects += 1;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c0), PC);
    /* PEER_CLOSED comes after every other check. */
    hs[0] = b;
    CHECK_EQ(mxh_channel_write(p, c0, NULL, 0, hs, 1), MXH_ERR_PEER_CLOSED);
    CHECK_EQ(mxh_channel_write(p, c0, "x", 1, NULL, 0), MXH_ERR_PEER_CLOSED);
    uint64_t w11[] = {b, 9};
    CHECK_EQ(mxh_channel_write(p, c0, NULL, 0, w11, 2), MXH_ERR_BAD_HANDLE);
    uint64_t w12[] = {b, b};
    CHECK_EQ(mxh_channel_write(p, c0, NULL, 0, w12, 2), MXH_ERR_INVALID_ARGS);
    uint64_t w13[] = {notr};
    CHECK_EQ(mxh_channel_write(p, c0, NULL, 0, w13, 1),
             MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(mxh_channel_write(p, c0, bytes, too_big, NULL, 0),
             MXH_ERR_OUT_OF_RANGE);
    CHECK(valid(p, b) && valid(p, notr));
    STATS_EQ(k, &e);

    free(zeros);
    free(bytes);
    drop_proc(p, &e);
    drop_proc(q, &e);
    mxh_kernel_release(k);
}

static void test_read_errors(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 21, &e);
    uint32_t c[2];
    chan(p, c, NULL, &e);
    uint64_t a = ev(p, &e);
    uint64_t wo = (uint64_t)OK(mxh_handle_replace(
        p, c[1], MXH_RIGHT_WRITE | MXH_RIGHT_TRANSFER));
    char buf[64];
    uint32_t hv[4];
    uint64_t actual[3] = {0, 0, 0};

    /* Options first (before the handle), then BAD_HANDLE, WRONG_TYPE,
     * ACCESS_DENIED. */
    CHECK_EQ(mxh_channel_read(p, 0, 2, 64, 4, buf, hv, actual),
             MXH_ERR_NOT_SUPPORTED);
    CHECK_EQ(mxh_channel_read(p, c[0], 0xffffffffu, 64, 4, buf, hv, actual),
             MXH_ERR_NOT_SUPPORTED);
    CHECK_EQ(mxh_channel_read(p, wo, MAYD | 4, 64, 4, buf, hv, actual),
             MXH_ERR_NOT_SUPPORTED);
    CHECK_EQ(mxh_channel_read(p, 0, 0, 64, 4, buf, hv, actual),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_read(p, 12345, MAYD, 64, 4, buf, hv, actual),
             MXH_ERR_BAD_HANDLE);
    CHECK_EQ(mxh_channel_read(p, a, 0, 64, 4, buf, hv, actual),
             MXH_ERR_WRONG_TYPE);
    CHECK_EQ(mxh_channel_read(p, wo, 0, 64, 4, buf, hv, actual),
             MXH_ERR_ACCESS_DENIED);
    /* Empty queue, peer open: SHOULD_WAIT (with or without MAY_DISCARD). */
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 64, 4, buf, hv, actual),
             MXH_ERR_SHOULD_WAIT);
    CHECK_EQ(mxh_channel_read(p, c[0], MAYD, 0, 0, NULL, NULL, actual),
             MXH_ERR_SHOULD_WAIT);
    STATS_EQ(k, &e);

    /* BUFFER_TOO_SMALL: actual sizes, the message stays. */
    uint64_t h2[2] = {a, ev(p, &e)};
    mxh_koid_t ak = koid_of(p, a);
    OK(mxh_channel_write(p, wo, "0123456789", 10, h2, 2));
    OK(mxh_channel_write(p, wo, "second", 6, NULL, 0));
    e.in_transit_handles += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 9, 2, buf, hv, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(actual[0], 10);
    CHECK_EQ(actual[1], 2);
    actual[0] = actual[1] = 0;
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 10, 1, buf, hv, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(actual[0], 10);
    CHECK_EQ(actual[1], 2);
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 0, 0, NULL, NULL, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(sigs(p, c[0]), RD | WR);
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 10, 2, buf, hv, actual),
             PACKED(2, 10));
    CHECK(memcmp(buf, "0123456789", 10) == 0);
    CHECK_EQ(koid_of(p, hv[0]), ak);
    e.in_transit_handles -= 2;
    STATS_EQ(k, &e);

    /* MAY_DISCARD on a message that fits is an ordinary read. */
    CHECK_EQ(mxh_channel_read(p, c[0], MAYD, 64, 0, buf, NULL, actual),
             PACKED(0, 6));
    CHECK(memcmp(buf, "second", 6) == 0);
    CHECK_EQ(sigs(p, c[0]), WR);

    /* MAY_DISCARD on one that does not fit: dropped, its handles closed,
     * the next message comes up. */
    uint64_t h3[2] = {hv[0], hv[1]};
    OK(mxh_channel_write(p, wo, "big message", 11, h3, 2));
    OK(mxh_channel_write(p, wo, "next", 4, NULL, 0));
    e.in_transit_handles += 2;
    STATS_EQ(k, &e);
    actual[0] = actual[1] = 0;
    CHECK_EQ(mxh_channel_read(p, c[0], MAYD, 64, 1, buf, hv, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(actual[0], 11);
    CHECK_EQ(actual[1], 2);
    e.in_transit_handles -= 2;
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_EVENT] -= 2;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c[0]), RD | WR);
    CHECK_EQ(mxh_channel_read(p, c[0], MAYD, 3, 0, buf, NULL, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(actual[0], 4);
    CHECK_EQ(actual[1], 0);
    CHECK_EQ(sigs(p, c[0]), WR);   /* the last one went: not readable */
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 64, 4, buf, hv, actual),
             MXH_ERR_SHOULD_WAIT);
    STATS_EQ(k, &e);

    /* Peer gone: queued messages still come out, then PEER_CLOSED. */
    OK(mxh_channel_write(p, wo, "last", 4, NULL, 0));
    OK(mxh_handle_close(p, wo));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c[0]), RD | PC);
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 3, 0, buf, hv, actual),
             MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 64, 0, buf, hv, actual),
             PACKED(0, 4));
    CHECK_EQ(sigs(p, c[0]), PC);
    CHECK_EQ(mxh_channel_read(p, c[0], 0, 64, 4, buf, hv, actual),
             MXH_ERR_PEER_CLOSED);
    CHECK_EQ(mxh_channel_read(p, c[0], MAYD, 0, 0, NULL, NULL, actual),
             MXH_ERR_PEER_CLOSED);
    /* ...but the handle checks still come first. */
    CHECK_EQ(mxh_channel_read(p, c[0], 8, 64, 4, buf, hv, actual),
             MXH_ERR_NOT_SUPPORTED);
    STATS_EQ(k, &e);
    drop_proc(p, &e);
    mxh_kernel_release(k);
}

static void test_signals(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 31, &e);
    uint32_t c[2];
    chan(p, c, NULL, &e);
    CHECK_EQ(sigs(p, c[0]), WR);
    CHECK_EQ(sigs(p, c[1]), WR);
    /* User bits live beside the channel's own. */
    OK(mxh_object_signal(p, c[1], 0, 1u << 24, 0));
    OK(mxh_channel_write(p, c[0], "1", 1, NULL, 0));
    OK(mxh_channel_write(p, c[0], "2", 1, NULL, 0));
    CHECK_EQ(sigs(p, c[1]), RD | WR | (1u << 24));
    CHECK_EQ(sigs(p, c[0]), WR);
    char buf[4];
    read_ok(p, c[1], buf, 4, NULL, 0);
    CHECK_EQ(sigs(p, c[1]), RD | WR | (1u << 24));   /* one left */
    read_ok(p, c[1], buf, 4, NULL, 0);
    CHECK_EQ(sigs(p, c[1]), WR | (1u << 24));
    OK(mxh_channel_write(p, c[1], "3", 1, NULL, 0));
    CHECK_EQ(sigs(p, c[0]), RD | WR);

    /* A second handle to c[0]: closing one of them changes nothing. */
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, c[0], MXH_OBJ_CHANNEL, 0, &o));
    uint64_t extra = (uint64_t)OK(mxh_handle_create(p, o, CH_RIGHTS));
    mxh_object_release(o);
    e.live_handles++;
    OK(mxh_handle_close(p, c[0]));
    e.live_handles--;
    CHECK_EQ(sigs(p, c[1]), WR | (1u << 24));
    STATS_EQ(k, &e);
    /* The last handle of c[0]: c[1] loses WRITABLE, gains PEER_CLOSED
     * (and its queue was empty). */
    OK(mxh_handle_close(p, extra));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c[1]), PC | (1u << 24));
    OK(mxh_handle_close(p, c[1]));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;

    /* Closing a reader with messages queued: the writer sees PEER_CLOSED;
     * a reader whose writer goes keeps READABLE while messages remain. */
    uint32_t d[2];
    chan(p, d, NULL, &e);
    OK(mxh_channel_write(p, d[0], "x", 1, NULL, 0));
    OK(mxh_channel_write(p, d[1], "y", 1, NULL, 0));
    OK(mxh_handle_close(p, d[1]));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    CHECK_EQ(sigs(p, d[0]), RD | PC);
    STATS_EQ(k, &e);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    drop_proc(p, &e);
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* A destroyed endpoint closes every handle still in its queue. */
static void test_destroy_queue(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 41, &e);
    uint32_t c[2], other[2], pair[2];
    chan(p, c, NULL, &e);
    chan(p, other, NULL, &e);
    OK(mxh_pair_create_handles(p, MXH_OBJ_EVENT_PAIR, EV_RIGHTS, pair, NULL));
    e.live_handles += 2;
    e.live_objects[MXH_STATS_EVENTPAIR] += 2;
    uint64_t e1 = ev(p, &e), e2 = ev(p, &e);
    uint64_t keep = (uint64_t)OK(mxh_handle_duplicate(p, e2,
                                                      MXH_RIGHT_SAME_RIGHTS));
    e.live_handles++;
    uint64_t m1[] = {e1, e2, pair[0]};
    uint64_t m2[] = {other[0]};
    OK(mxh_channel_write(p, c[0], "m1", 2, m1, 3));
    OK(mxh_channel_write(p, c[0], "m2", 2, m2, 1));
    e.in_transit_handles += 4;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, other[1]), WR);
    CHECK_EQ(sigs(p, pair[1]), 0);

    /* Close the reading end: it goes, and so do e1, pair[0] and other[0];
     * e2 lives on through `keep`. */
    OK(mxh_handle_close(p, c[1]));
    e.in_transit_handles -= 4;
    e.live_handles -= 5;
    e.live_objects[MXH_STATS_CHANNEL] -= 2;   /* c[1], other[0] */
    e.live_objects[MXH_STATS_EVENT]--;
    e.live_objects[MXH_STATS_EVENTPAIR]--;
    e.destroyed_objects += 4;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c[0]), PC);
    CHECK_EQ(sigs(p, other[1]), PC);
    CHECK_EQ(sigs(p, pair[1]), MXH_SIGNAL_EPAIR_PEER_CLOSED);
    CHECK(valid(p, keep));
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(p, keep, 0, 0, &o));
    CHECK_EQ(mxh_object_handle_count(o), 1);
    mxh_object_release(o);
    CHECK_EQ(mxh_channel_write(p, c[0], "x", 1, NULL, 0), MXH_ERR_PEER_CLOSED);
    drop_proc(p, &e);
    mxh_kernel_release(k);
}

/* ---- the reaper: a deep nest ------------------------------------------------------- */

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    int64_t rc;
    double ns;
} close_arg;

static void *close_thread(void *arg) {
    close_arg *a = arg;
    uint64_t t0 = now_ns();
    a->rc = mxh_handle_close(a->p, a->h);
    a->ns = (double)(now_ns() - t0);
    return NULL;
}

/* Runs mxh_handle_close(p, h) on a thread with a small stack: a recursive
 * cascade would overflow it. */
static double close_on_small_stack(mxh_proc_t *p, uint64_t h) {
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
    close_arg a = {p, h, -1, 0};
    pthread_t t;
    CHECK(pthread_create(&t, &attr, close_thread, &a) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    pthread_attr_destroy(&attr);
    CHECK_EQ(a.rc, MXH_OK);
    return a.ns;
}

static void test_nest(void) {
    enum { N = 100000 };
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 51, &e);
    /* Level i's two endpoints travel in level i+1's queue: at the end only
     * the outermost pair is in the table. */
    uint32_t cur[2];
    chan(p, cur, NULL, &e);
    uint64_t ev0 = ev(p, &e);   /* an event at the very bottom */
    OK(mxh_channel_write(p, cur[0], "bottom", 6, &ev0, 1));
    e.in_transit_handles++;
    for (int i = 1; i < N; i++) {
        uint32_t nxt[2];
        chan(p, nxt, NULL, &e);
        uint64_t both[2] = {cur[0], cur[1]};
        OK(mxh_channel_write(p, nxt[0], "level", 5, both, 2));
        e.in_transit_handles += 2;
        cur[0] = nxt[0];
        cur[1] = nxt[1];
    }
    STATS_EQ(k, &e);
    CHECK_EQ(mxh_proc_handle_count(p), 2);
    mxh_stats_t s;
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.live_objects[MXH_STATS_CHANNEL], 2 * N);
    /* Nothing is garbage: everything hangs off the table. */
    CHECK_EQ(mxh_kernel_collect(k), 0);
    STATS_EQ(k, &e);

    /* One close of the outer reading end unwinds the whole nest. */
    double ns = close_on_small_stack(p, cur[1]);
    printf("  nest: %d levels closed in %.1f ms (%.1f ns per level)\n", N,
           ns / 1e6, ns / N);
    e.in_transit_handles = 0;
    e.live_handles = 1;
    e.live_objects[MXH_STATS_CHANNEL] = 1;
    e.live_objects[MXH_STATS_EVENT] = 0;
    e.destroyed_objects += 2 * N - 1 + 1;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, cur[0]), PC);
    OK(mxh_handle_close(p, cur[0]));
    e.live_handles = 0;
    e.live_objects[MXH_STATS_CHANNEL] = 0;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* The same through a kill, and through a garbage nest reclaimed by
     * collection (the outer pair in its own queue). */
    chan(p, cur, NULL, &e);
    for (int i = 1; i < N / 10; i++) {
        uint32_t nxt[2];
        chan(p, nxt, NULL, &e);
        uint64_t both[2] = {cur[0], cur[1]};
        OK(mxh_channel_write(p, nxt[0], NULL, 0, both, 2));
        cur[0] = nxt[0];
        cur[1] = nxt[1];
    }
    CHECK_EQ(mxh_proc_kill(p), 2);
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.live_handles, 0);
    CHECK_EQ(s.live_objects[MXH_STATS_CHANNEL], 0);
    drop_proc(p, NULL);

    p = new_proc(k, 52, NULL);
    chan(p, cur, NULL, NULL);
    for (int i = 1; i < N / 10; i++) {
        uint32_t nxt[2];
        chan(p, nxt, NULL, NULL);
        uint64_t both[2] = {cur[0], cur[1]};
        OK(mxh_channel_write(p, nxt[0], NULL, 0, both, 2));
        cur[0] = nxt[0];
        cur[1] = nxt[1];
    }
    uint64_t self_in[1] = {cur[1]};
    OK(mxh_channel_write(p, cur[0], NULL, 0, self_in, 1));
    OK(mxh_handle_close(p, cur[0]));
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.live_objects[MXH_STATS_CHANNEL], 2 * (N / 10) - 1);
    CHECK_EQ(mxh_kernel_collect(k), 2 * (N / 10) - 1);
    mxh_kernel_stats(k, &s);
    CHECK_EQ(s.live_handles, 0);
    CHECK_EQ(s.in_transit_handles, 0);
    CHECK_EQ(s.live_objects[MXH_STATS_CHANNEL], 0);
    drop_proc(p, NULL);
    mxh_kernel_release(k);
}

/* ---- collection ----------------------------------------------------------------------- */

/* n channels (r[i], w[i]) in p: r[i]'s queue gets r[(i+1) % n], written
 * through w[i], with an event if `events`.  Afterwards the r's are in
 * transit only (each in another's queue); the w's are still in p. */
static void make_cycle(mxh_proc_t *p, int n, uint32_t *r, uint32_t *w,
                       int events, mxh_stats_t *e) {
    for (int i = 0; i < n; i++) {
        uint32_t v[2];
        chan(p, v, NULL, e);
        r[i] = v[0];
        w[i] = v[1];
    }
    for (int i = 0; i < n; i++) {
        uint64_t hs[2] = {r[(i + 1) % n], 0};
        if (events)
            hs[1] = ev(p, e);
        OK(mxh_channel_write(p, w[i], "cycle", 5, hs, events ? 2 : 1));
        if (e)
            e->in_transit_handles += events ? 2 : 1;
    }
}

static void close_all(mxh_proc_t *p, const uint32_t *hs, int n) {
    for (int i = 0; i < n; i++)
        OK(mxh_handle_close(p, hs[i]));
}

static void test_collect_cycles(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 61, &e);
    CHECK_EQ(mxh_kernel_collect(k), 0);   /* nothing to do */
    static const int sizes[] = {2, 3, 1000};
    uint32_t *r = malloc(1000 * sizeof *r), *w = malloc(1000 * sizeof *w);
    CHECK(r && w);
    for (size_t s = 0; s < 3; s++) {
        int n = sizes[s];
        for (int events = 0; events < 2; events++) {
            make_cycle(p, n, r, w, events, &e);
            STATS_EQ(k, &e);
            close_all(p, w, n);   /* the r's see PEER_CLOSED, stay queued */
            e.live_handles -= (uint64_t)n;
            e.live_objects[MXH_STATS_CHANNEL] -= (uint64_t)n;
            e.destroyed_objects += (uint64_t)n;
            STATS_EQ(k, &e);
            for (int i = 0; i < n; i++)
                CHECK(!valid(p, r[i]));
            int64_t got = mxh_kernel_collect(k);
            CHECK_EQ(got, n * (1 + events));
            e.in_transit_handles = 0;
            e.live_handles = 0;
            e.live_objects[MXH_STATS_CHANNEL] = 0;
            e.live_objects[MXH_STATS_EVENT] = 0;
            e.destroyed_objects += (uint64_t)got;
            STATS_EQ(k, &e);
            CHECK_EQ(mxh_kernel_collect(k), 0);
        }
    }
    /* Collecting with the writers still open: the r's are unreachable all
     * the same (holding a writing end does not count). */
    make_cycle(p, 3, r, w, 0, &e);
    CHECK_EQ(mxh_kernel_collect(k), 3);
    e.in_transit_handles = 0;
    e.live_handles -= 3;
    e.live_objects[MXH_STATS_CHANNEL] -= 3;
    e.destroyed_objects += 3;
    STATS_EQ(k, &e);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(sigs(p, w[i]), PC);
    close_all(p, w, 3);
    e.live_handles -= 3;
    e.live_objects[MXH_STATS_CHANNEL] -= 3;
    e.destroyed_objects += 3;
    STATS_EQ(k, &e);
    free(r);
    free(w);
    drop_proc(p, &e);
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* An endpoint written through its peer into its own queue. */
static void test_collect_self(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 62, &e);
    uint32_t c[2];
    mxh_koid_t ck[2];
    chan(p, c, ck, &e);
    uint64_t a = c[0], x = ev(p, &e);
    uint64_t hs[2] = {x, a};
    OK(mxh_channel_write(p, c[1], "self", 4, hs, 2));   /* A into A's queue */
    e.in_transit_handles += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c[1]), WR);   /* B: A still there, not yet collected */
    mxh_object_info_t oi[8];
    CHECK_EQ(mxh_kernel_objects(k, oi, 8), 4);
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        if (oi[i].koid == ck[0]) {
            seen++;
            CHECK_EQ(oi[i].handle_count, 1);
            CHECK_EQ(oi[i].queued, 1);
            CHECK_EQ(oi[i].signals, RD | WR);
        }
    }
    CHECK_EQ(seen, 1);
    /* B is kept, yet A is unreachable: reclaimed with the event. */
    CHECK_EQ(mxh_kernel_collect(k), 2);
    e.in_transit_handles -= 2;
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.live_objects[MXH_STATS_EVENT]--;
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(p, c[1]), PC);
    CHECK_EQ(mxh_channel_write(p, c[1], "x", 1, NULL, 0), MXH_ERR_PEER_CLOSED);
    uint64_t actual[3];
    CHECK_EQ(mxh_channel_read(p, c[1], 0, 0, 0, NULL, NULL, actual),
             MXH_ERR_PEER_CLOSED);
    CHECK_EQ(mxh_kernel_collect(k), 0);
    drop_proc(p, &e);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* A cycle hanging off a reachable channel, directly and through a chain;
 * collected only once the channel goes. */
static void test_collect_reachable(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 63, &e);
    for (int round = 0; round < 2; round++) {
        uint32_t h[2], x[2], r[3], w[3];
        mxh_koid_t rk[3];
        chan(p, h, NULL, &e);
        chan(p, x, NULL, &e);
        /* Round 0: h[1] -> r[0]; round 1: h[1] -> x[0] -> r[0]; then the
         * cycle r[0] -> r[1] -> r[2] -> r[0] (r[0] has two handles). */
        for (int i = 0; i < 3; i++) {
            uint32_t v[2];
            chan(p, v, NULL, &e);
            r[i] = v[0];
            w[i] = v[1];
            rk[i] = koid_of(p, r[i]);
        }
        mxh_obj_t *o = NULL;
        OK(mxh_handle_get(p, r[0], MXH_OBJ_CHANNEL, 0, &o));
        uint64_t r0b = (uint64_t)OK(mxh_handle_create(p, o, CH_RIGHTS));
        mxh_object_release(o);
        e.live_handles++;
        for (int i = 0; i < 3; i++) {
            uint64_t hs[2] = {r[(i + 1) % 3], ev(p, &e)};
            OK(mxh_channel_write(p, w[i], "cycle", 5, hs, 2));
            e.in_transit_handles += 2;
        }
        close_all(p, w, 3);
        e.live_handles -= 3;
        e.live_objects[MXH_STATS_CHANNEL] -= 3;
        e.destroyed_objects += 3;
        if (round == 0) {
            /* Directly: r0b in h[1]'s queue. */
            OK(mxh_channel_write(p, h[0], "hang", 4, &r0b, 1));
        } else {
            /* Through a chain: r0b in x[0]'s queue, x[0] in h[1]'s. */
            OK(mxh_channel_write(p, x[1], "hang", 4, &r0b, 1));
            uint64_t x0 = x[0];
            OK(mxh_channel_write(p, h[0], "chain", 5, &x0, 1));
            e.in_transit_handles++;
        }
        e.in_transit_handles++;
        STATS_EQ(k, &e);
        CHECK_EQ(mxh_kernel_collect(k), 0);   /* all reachable */
        STATS_EQ(k, &e);
        CHECK_EQ(mxh_kernel_collect(k), 0);

        if (round == 0) {
            /* Read the whole structure back: every endpoint alive. */
            char buf[8];
            uint32_t got[2];
            CHECK_EQ(read_ok(p, h[1], buf, 8, got, 2), PACKED(1, 4));
            uint64_t cur = got[0];
            CHECK_EQ(koid_of(p, cur), rk[0]);
            uint64_t mine[8];
            int nm = 0;
            mine[nm++] = cur;
            for (int i = 0; i < 3; i++) {
                CHECK_EQ(read_ok(p, cur, buf, 8, got, 2), PACKED(2, 5));
                CHECK_EQ(koid_of(p, got[0]), rk[(i + 1) % 3]);
                CHECK_EQ(sigs(p, cur), PC);
                mine[nm++] = got[1];   /* the event */
                cur = got[0];
                if (i < 2)
                    mine[nm++] = cur;
            }
            /* cur is r[0]'s second value now; both name r[0]. */
            mine[nm++] = cur;
            e.in_transit_handles -= 7;
            STATS_EQ(k, &e);
            CHECK_EQ(mxh_handle_close_many(p, mine, (size_t)nm), MXH_OK);
            e.live_handles -= 7;
            e.live_objects[MXH_STATS_CHANNEL] -= 3;
            e.live_objects[MXH_STATS_EVENT] -= 3;
            e.destroyed_objects += 6;
            STATS_EQ(k, &e);
            uint32_t rest[] = {h[0], h[1], x[0], x[1]};
            close_all(p, rest, 4);
            e.live_handles -= 4;
            e.live_objects[MXH_STATS_CHANNEL] -= 4;
            e.destroyed_objects += 4;
            STATS_EQ(k, &e);
        } else {
            /* Drop the root: h[1] goes, x[0] with it, r0b with that, and
             * the cycle is garbage now. */
            OK(mxh_handle_close(p, h[1]));
            e.live_handles -= 3;   /* h[1], x[0], r0b */
            e.in_transit_handles -= 2;
            e.live_objects[MXH_STATS_CHANNEL] -= 2;
            e.destroyed_objects += 2;
            STATS_EQ(k, &e);
            CHECK_EQ(sigs(p, h[0]), PC);
            CHECK_EQ(sigs(p, x[1]), PC);
            CHECK_EQ(mxh_kernel_collect(k), 6);
            e.live_handles -= 6;
            e.in_transit_handles -= 6;
            e.live_objects[MXH_STATS_CHANNEL] -= 3;
            e.live_objects[MXH_STATS_EVENT] -= 3;
            e.destroyed_objects += 6;
            STATS_EQ(k, &e);
            uint32_t rest[] = {h[0], x[1]};
            close_all(p, rest, 2);
            e.live_handles -= 2;
            e.live_objects[MXH_STATS_CHANNEL] -= 2;
            e.destroyed_objects += 2;
            STATS_EQ(k, &e);
        }
    }
    drop_proc(p, &e);
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* ---- calls ------------------------------------------------------------------------------ */

/* A server: reads `nreq` requests on (p, h), then either closes h or
 * replies to each (in reverse order if `reverse`) with the request's txid,
 * the payload txid * 3 and `reply_events` new events, padded to
 * `reply_bytes`.  Before replying it may send one message with txid
 * `unsolicited` that no call waits for. */
typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    int nreq;
    int reverse;
    int close_instead;
    size_t reply_bytes;
    int reply_events;
    uint32_t unsolicited;
    /* out */
    uint32_t txids[16];
    size_t req_bytes[16];
    uint32_t req_handles[16];
} server_t;

static void *server_thread(void *arg) {
    server_t *s = arg;
    unsigned char buf[256];
    for (int i = 0; i < s->nreq; i++) {
        uint32_t hv[8];
        int64_t r = OK(read_wait(s->p, s->h, buf, sizeof buf, hv, 8));
        size_t nb = (size_t)(r & 0xffffffff);
        uint32_t nh = (uint32_t)(r >> 32);
        s->txids[i] = nb >= 4 ? get_u32(buf) : 0;
        s->req_bytes[i] = nb;
        s->req_handles[i] = nh;
        for (uint32_t j = 0; j < nh; j++)
            CHECK_EQ(mxh_handle_close(s->p, hv[j]), MXH_OK);
    }
    if (s->close_instead) {
        CHECK_EQ(mxh_handle_close(s->p, s->h), MXH_OK);
        return NULL;
    }
    if (s->unsolicited) {
        unsigned char m[4];
        put_u32(m, s->unsolicited);
        OK(mxh_channel_write(s->p, s->h, m, 4, NULL, 0));
    }
    for (int n = 0; n < s->nreq; n++) {
        int i = s->reverse ? s->nreq - 1 - n : n;
        unsigned char reply[256];
        memset(reply, 0xee, sizeof reply);
        size_t len = s->reply_bytes;
        if (s->req_bytes[i] >= 4 || len >= 4)
            put_u32(reply, s->txids[i]);
        if (len >= 8)
            put_u32(reply + 4, s->txids[i] * 3);
        uint64_t hs[8];
        for (int j = 0; j < s->reply_events; j++)
            hs[j] = (uint64_t)OK(mxh_object_create_handle(s->p, MXH_OBJ_EVENT,
                                                          EV_RIGHTS));
        OK(mxh_channel_write(s->p, s->h, reply, len, hs,
                             (size_t)s->reply_events));
    }
    return NULL;
}

typedef struct {
    mxh_proc_t *p;
    uint64_t h;
    uint32_t txid;
    size_t nbytes;
    uint64_t hs[4];
    size_t nh;
    uint64_t deadline;
    uint64_t max_bytes, max_handles;
    /* out */
    int64_t rc;
    uint64_t actual[3];
    unsigned char buf[256];
    uint32_t hv[8];
    uint64_t elapsed;
} call_t;

static void *call_thread(void *arg) {
    call_t *c = arg;
    unsigned char req[64];
    memset(req, 0x5a, sizeof req);
    put_u32(req, c->txid);
    uint64_t t0 = now_ns();
    c->actual[0] = c->actual[1] = c->actual[2] = 0xdead;
    c->rc = mxh_channel_call(c->p, c->h, req, c->nbytes, c->hs, c->nh,
                             c->deadline, c->max_bytes, c->max_handles,
                             c->buf, c->hv, c->actual);
    c->elapsed = now_ns() - t0;
    return NULL;
}

static call_t call_args(mxh_proc_t *p, uint64_t h, uint32_t txid) {
    call_t c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.h = h;
    c.txid = txid;
    c.nbytes = 8;
    c.deadline = UINT64_MAX;
    c.max_bytes = sizeof c.buf;
    c.max_handles = 8;
    return c;
}

/* Polls until the endpoint (p, h) has a message queued. */
static void wait_readable(mxh_proc_t *p, uint64_t h) {
    while (!(sigs(p, h) & RD))
        sched_yield();
}

static void test_call_basic(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *cp = new_proc(k, 71, &e), *sp = new_proc(k, 72, &e);
    uint32_t c[2];
    chan(cp, c, NULL, &e);
    uint64_t sc = (uint64_t)OK(mxh_handle_move(cp, c[1], sp));

    /* One call with two handles; the reply brings one back. */
    server_t srv;
    memset(&srv, 0, sizeof srv);
    srv = (server_t){.p = sp, .h = sc, .nreq = 1, .reply_bytes = 12,
                     .reply_events = 1};
    call_t call = call_args(cp, c[0], 0x11223344);
    call.hs[0] = ev(cp, &e);
    call.hs[1] = ev(cp, &e);
    call.nh = 2;
    pthread_t st, ct;
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    CHECK(pthread_create(&ct, NULL, call_thread, &call) == 0);
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, PACKED(1, 12));
    CHECK_EQ(get_u32(call.buf), 0x11223344);
    CHECK_EQ(get_u32(call.buf + 4), 0x11223344u * 3);
    CHECK_EQ(srv.txids[0], 0x11223344);
    CHECK_EQ(srv.req_handles[0], 2);
    CHECK(!valid(cp, call.hs[0]) && !valid(cp, call.hs[1]));
    CHECK(valid(cp, call.hv[0]));
    CHECK_EQ(info(cp, call.hv[0]).type, MXH_OBJ_EVENT);
    CHECK_EQ(sigs(cp, c[0]), WR);   /* the reply did not go to the queue */
    OK(mxh_handle_close(cp, call.hv[0]));
    e.live_handles -= 2;
    e.live_objects[MXH_STATS_EVENT] -= 2;
    e.destroyed_objects += 3;   /* the server's event too */
    STATS_EQ(k, &e);

    /* A short request has txid 0; so does a short reply. */
    srv = (server_t){.p = sp, .h = sc, .nreq = 1, .reply_bytes = 3};
    call = call_args(cp, c[0], 0);
    call.nbytes = 2;
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    CHECK(pthread_create(&ct, NULL, call_thread, &call) == 0);
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, PACKED(0, 3));
    CHECK_EQ(srv.txids[0], 0);
    CHECK_EQ(srv.req_bytes[0], 2);

    /* Several callers on one handle, different txids, replies in reverse
     * order, and a message no call waits for, which goes to the queue. */
    enum { NC = 6 };
    call_t calls[NC];
    pthread_t cts[NC];
    srv = (server_t){.p = sp, .h = sc, .nreq = NC, .reverse = 1,
                     .reply_bytes = 8, .unsolicited = 999};
    for (int i = 0; i < NC; i++) {
        calls[i] = call_args(cp, c[0], 1000 + (uint32_t)i);
        CHECK(pthread_create(&cts[i], NULL, call_thread, &calls[i]) == 0);
    }
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    for (int i = 0; i < NC; i++)
        CHECK(pthread_join(cts[i], NULL) == 0);
    CHECK(pthread_join(st, NULL) == 0);
    for (int i = 0; i < NC; i++) {
        CHECK_EQ(calls[i].rc, PACKED(0, 8));
        CHECK_EQ(get_u32(calls[i].buf), 1000 + (uint32_t)i);
        CHECK_EQ(get_u32(calls[i].buf + 4), (1000 + (uint32_t)i) * 3);
    }
    unsigned char buf[8];
    CHECK_EQ(sigs(cp, c[0]), RD | WR);
    CHECK_EQ(read_ok(cp, c[0], buf, 8, NULL, 0), PACKED(0, 4));
    CHECK_EQ(get_u32(buf), 999);
    CHECK_EQ(sigs(cp, c[0]), WR);

    /* Call needs WRITE only: a handle without READ can call. */
    uint64_t wonly = (uint64_t)OK(mxh_handle_replace(
        cp, c[0], MXH_RIGHT_WRITE | MXH_RIGHT_TRANSFER));
    srv = (server_t){.p = sp, .h = sc, .nreq = 1, .reply_bytes = 8};
    call = call_args(cp, wonly, 5);
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    CHECK(pthread_create(&ct, NULL, call_thread, &call) == 0);
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, PACKED(0, 8));
    STATS_EQ(k, &e);
    uint64_t actual[3];
    CHECK_EQ(mxh_channel_read(cp, wonly, 0, 8, 0, buf, NULL, actual),
             MXH_ERR_ACCESS_DENIED);
    drop_proc(cp, &e);
    drop_proc(sp, &e);
    mxh_kernel_release(k);
}

/* The write half's errors; the handles stay with the caller. */
static void test_call_write_errors(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *p = new_proc(k, 73, &e);
    uint32_t c[2];
    chan(p, c, NULL, &e);
    uint64_t a = ev(p, &e);
    uint64_t notr = (uint64_t)OK(mxh_handle_duplicate(p, a, MXH_RIGHT_READ));
    uint64_t ro = (uint64_t)OK(mxh_handle_replace(
        p, c[1], MXH_RIGHT_READ | MXH_RIGHT_TRANSFER));
    e.live_handles++;
    mxh_koid_t ak = koid_of(p, a);
    unsigned char big[MXH_CHANNEL_MAX_BYTES + 1];
    memset(big, 0, sizeof big);
    uint64_t *zeros = calloc(MXH_TRANSIT_MAX + 1, sizeof *zeros);
    CHECK(zeros);
    unsigned char buf[8];
    uint32_t hv[2];
    uint64_t actual[3];
    uint64_t hs[3] = {a, 0, 0};
#define CALL(h, nb, list, n) \
    mxh_channel_call(p, (h), big, (nb), (list), (n), 0, 8, 2, buf, hv, actual)
    CHECK_EQ(CALL(0, 4, hs, 1), MXH_ERR_BAD_HANDLE);
    CHECK_EQ(CALL(a, 4, hs, 1), MXH_ERR_WRONG_TYPE);
    CHECK_EQ(CALL(ro, 4, hs, 1), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(CALL(ro, sizeof big, zeros, 1), MXH_ERR_ACCESS_DENIED);
    CHECK_EQ(CALL(c[0], sizeof big, hs, 1), MXH_ERR_OUT_OF_RANGE);
    CHECK_EQ(CALL(c[0], 4, zeros, MXH_TRANSIT_MAX + 1), MXH_ERR_OUT_OF_RANGE);
    hs[1] = 0;
    CHECK_EQ(CALL(c[0], 4, hs, 2), MXH_ERR_BAD_HANDLE);
    hs[1] = c[0];
    CHECK_EQ(CALL(c[0], 4, hs, 2), MXH_ERR_NOT_SUPPORTED);
    hs[1] = notr;
    CHECK_EQ(CALL(c[0], 4, hs, 2), MXH_ERR_ACCESS_DENIED);
    hs[1] = a;
    CHECK_EQ(CALL(c[0], 4, hs, 2), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(sigs(p, ro), WR);   /* nothing was written */
    CHECK_EQ(koid_of(p, a), ak);
    STATS_EQ(k, &e);
    /* Peer closed: PEER_CLOSED, after the handle checks. */
    OK(mxh_handle_close(p, ro));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    CHECK_EQ(CALL(c[0], 4, hs, 1), MXH_ERR_PEER_CLOSED);
    CHECK_EQ(CALL(c[0], 4, hs, 2), MXH_ERR_INVALID_ARGS);
    CHECK_EQ(CALL(c[0], 0, NULL, 0), MXH_ERR_PEER_CLOSED);
#undef CALL
    CHECK_EQ(koid_of(p, a), ak);
    STATS_EQ(k, &e);
    free(zeros);
    drop_proc(p, &e);
    mxh_kernel_release(k);
}

static void test_call_timeout(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *cp = new_proc(k, 74, &e), *sp = new_proc(k, 75, &e);
    uint32_t c[2];
    chan(cp, c, NULL, &e);
    uint64_t sc = (uint64_t)OK(mxh_handle_move(cp, c[1], sp));

    /* Nobody answers: TIMED_OUT at the deadline, the request was sent. */
    call_t call = call_args(cp, c[0], 77);
    call.hs[0] = ev(cp, &e);
    call.nh = 1;
    call.deadline = now_ns() + 50 * 1000000ull;
    call_thread(&call);
    CHECK_EQ(call.rc, MXH_ERR_TIMED_OUT);
    CHECK(now_ns() >= call.deadline);
    CHECK(call.elapsed >= 40 * 1000000ull);
    CHECK(!valid(cp, call.hs[0]));   /* it went with the request */
    e.in_transit_handles++;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(sp, sc), RD | WR);
    /* The late reply lands in the ordinary queue. */
    unsigned char buf[16];
    uint32_t hv[2];
    CHECK_EQ(read_ok(sp, sc, buf, sizeof buf, hv, 2), PACKED(1, 8));
    CHECK_EQ(get_u32(buf), 77);
    e.in_transit_handles--;
    OK(mxh_channel_write(sp, sc, buf, 8, NULL, 0));
    CHECK_EQ(sigs(cp, c[0]), RD | WR);
    CHECK_EQ(read_ok(cp, c[0], buf, sizeof buf, NULL, 0), PACKED(0, 8));
    CHECK_EQ(get_u32(buf), 77);

    /* A deadline in the past polls: written, then TIMED_OUT at once. */
    call = call_args(cp, c[0], 78);
    call.deadline = 0;
    call_thread(&call);
    CHECK_EQ(call.rc, MXH_ERR_TIMED_OUT);
    CHECK_EQ(read_ok(sp, sc, buf, sizeof buf, hv, 2), PACKED(0, 8));
    CHECK_EQ(get_u32(buf), 78);
    call.deadline = now_ns() - 1000;
    call_thread(&call);
    CHECK_EQ(call.rc, MXH_ERR_TIMED_OUT);
    CHECK_EQ(read_ok(sp, sc, buf, sizeof buf, hv, 2), PACKED(0, 8));

    /* A reply in time beats a finite deadline. */
    server_t srv = {.p = sp, .h = sc, .nreq = 1, .reply_bytes = 8};
    call = call_args(cp, c[0], 79);
    call.deadline = now_ns() + 10ull * 1000000000ull;
    pthread_t st;
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    call_thread(&call);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, PACKED(0, 8));
    CHECK_EQ(get_u32(call.buf), 79);
    STATS_EQ(k, &e);
    drop_proc(cp, &e);
    drop_proc(sp, &e);
    mxh_kernel_release(k);
}

/* CALL_FAILED: the peer goes, the caller's handle is closed, its process
 * is killed, the reply is too large. */
static void test_call_failed(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_stats_t e = {0};
    mxh_proc_t *cp = new_proc(k, 76, &e), *sp = new_proc(k, 77, &e);
    uint32_t c[2];
    chan(cp, c, NULL, &e);
    uint64_t sc = (uint64_t)OK(mxh_handle_move(cp, c[1], sp));
    pthread_t st, ct;

    /* The server reads the request and closes its end. */
    server_t srv = {.p = sp, .h = sc, .nreq = 1, .close_instead = 1};
    call_t call = call_args(cp, c[0], 81);
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    call_thread(&call);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, MXH_ERR_CALL_FAILED);
    CHECK_EQ((int64_t)call.actual[2], MXH_ERR_PEER_CLOSED);
    CHECK_EQ(sigs(cp, c[0]), PC);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    OK(mxh_handle_close(cp, c[0]));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;

    /* The caller's handle is closed by another thread while it waits. */
    chan(cp, c, NULL, &e);
    sc = (uint64_t)OK(mxh_handle_move(cp, c[1], sp));
    call = call_args(cp, c[0], 82);
    CHECK(pthread_create(&ct, NULL, call_thread, &call) == 0);
    wait_readable(sp, sc);   /* the request is there: the call waits */
    OK(mxh_handle_close(cp, c[0]));
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK_EQ(call.rc, MXH_ERR_CALL_FAILED);
    CHECK_EQ((int64_t)call.actual[2], MXH_ERR_CANCELED);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(sp, sc), RD | PC);
    OK(mxh_handle_close(sp, sc));
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);

    /* ... and closing another handle to the same endpoint does not. */
    chan(cp, c, NULL, &e);
    sc = (uint64_t)OK(mxh_handle_move(cp, c[1], sp));
    mxh_obj_t *o = NULL;
    OK(mxh_handle_get(cp, c[0], 0, 0, &o));
    uint64_t other = (uint64_t)OK(mxh_handle_create(cp, o, CH_RIGHTS));
    mxh_object_release(o);
    srv = (server_t){.p = sp, .h = sc, .nreq = 1, .reply_bytes = 8};
    call = call_args(cp, c[0], 83);
    CHECK(pthread_create(&ct, NULL, call_thread, &call) == 0);
    wait_readable(sp, sc);
    OK(mxh_handle_close(cp, other));
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, PACKED(0, 8));
    STATS_EQ(k, &e);

    /* The reply is too large: discarded, its handles closed. */
    srv = (server_t){.p = sp, .h = sc, .nreq = 1, .reply_bytes = 100,
                     .reply_events = 2};
    call = call_args(cp, c[0], 84);
    call.max_bytes = 16;
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    call_thread(&call);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, MXH_ERR_CALL_FAILED);
    CHECK_EQ((int64_t)call.actual[2], MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(call.actual[0], 100);
    CHECK_EQ(call.actual[1], 2);
    e.destroyed_objects += 2;   /* the two events came and went */
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(cp, c[0]), WR);   /* not queued either */
    srv = (server_t){.p = sp, .h = sc, .nreq = 1, .reply_bytes = 8,
                     .reply_events = 2};
    call = call_args(cp, c[0], 85);
    call.max_handles = 1;
    CHECK(pthread_create(&st, NULL, server_thread, &srv) == 0);
    call_thread(&call);
    CHECK(pthread_join(st, NULL) == 0);
    CHECK_EQ(call.rc, MXH_ERR_CALL_FAILED);
    CHECK_EQ((int64_t)call.actual[2], MXH_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(call.actual[0], 8);
    CHECK_EQ(call.actual[1], 2);
    e.destroyed_objects += 2;
    STATS_EQ(k, &e);

    /* The caller's process is killed while it waits. */
    call = call_args(cp, c[0], 86);
    CHECK(pthread_create(&ct, NULL, call_thread, &call) == 0);
    wait_readable(sp, sc);
    CHECK_EQ(mxh_proc_kill(cp), 1);
    CHECK(pthread_join(ct, NULL) == 0);
    CHECK_EQ(call.rc, MXH_ERR_CALL_FAILED);
    CHECK_EQ((int64_t)call.actual[2], MXH_ERR_CANCELED);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    STATS_EQ(k, &e);
    CHECK_EQ(sigs(sp, sc), RD | PC);
    /* A dead process calls no more. */
    call_thread(&call);
    CHECK_EQ(call.rc, MXH_ERR_BAD_STATE);
    drop_proc(cp, &e);
    e.live_handles--;
    e.live_objects[MXH_STATS_CHANNEL]--;
    e.destroyed_objects++;
    drop_proc(sp, &e);
    STATS_EQ(k, &e);
    mxh_kernel_release(k);
}

/* ---- inspection --------------------------------------------------------------------------- */

static const mxh_object_info_t *find_obj(const mxh_object_info_t *oi, size_t n,
                                         mxh_koid_t koid) {
    const mxh_object_info_t *found = NULL;
    for (size_t i = 0; i < n; i++) {
        if (oi[i].koid == koid) {
            CHECK(found == NULL);   /* listed once */
            found = &oi[i];
        }
    }
    CHECK(found != NULL);
    return found;
}

static void test_inspect(void) {
    mxh_kernel_t *k = new_kernel();
    mxh_object_info_t oi[16];
    mxh_message_info_t mi[8];
    mxh_koid_t mk[8];
    uint64_t nk = 77;
    CHECK_EQ(mxh_kernel_objects(k, oi, 16), 0);
    CHECK_EQ(mxh_kernel_messages(k, mi, 8, mk, 8, &nk), 0);
    CHECK_EQ(nk, 0);

    mxh_proc_t *p = new_proc(k, 91, NULL);
    mxh_koid_t pk = mxh_object_koid(mxh_proc_object(p));
    uint32_t c[2];
    mxh_koid_t ck[2];
    chan(p, c, ck, NULL);
    uint64_t a = ev(p, NULL);
    mxh_koid_t ak = koid_of(p, a);
    OK(mxh_object_signal(p, a, 0, MXH_SIGNAL_EVENT_SIGNALED, 0));
    uint64_t port = (uint64_t)OK(mxh_object_create_handle(p, MXH_OBJ_PORT,
                                                          EV_RIGHTS));
    mxh_koid_t portk = koid_of(p, port);
    uint64_t port2 = (uint64_t)OK(mxh_handle_duplicate(p, port,
                                                       MXH_RIGHT_SAME_RIGHTS));
    mxh_obj_t *job = mxh_object_create(k, MXH_OBJ_JOB, 1234);
    CHECK(job);
    mxh_koid_t jk = mxh_object_koid(job);
    /* Messages in c[1]'s queue: {a, port2} with 10 bytes, then an empty
     * one; in c[0]'s: 3 bytes, no handles. */
    uint64_t two[2] = {a, port2};
    OK(mxh_channel_write(p, c[0], "0123456789", 10, two, 2));
    OK(mxh_channel_write(p, c[0], NULL, 0, NULL, 0));
    OK(mxh_channel_write(p, c[1], "abc", 3, NULL, 0));

    CHECK_EQ(mxh_kernel_objects(k, oi, 16), 6);
    const mxh_object_info_t *o;
    o = find_obj(oi, 6, pk);
    CHECK_EQ(o->type, MXH_OBJ_PROCESS);
    CHECK_EQ(o->handle_count, 0);
    CHECK_EQ(o->queued, 0);
    o = find_obj(oi, 6, ck[0]);
    CHECK_EQ(o->type, MXH_OBJ_CHANNEL);
    CHECK_EQ(o->related_koid, ck[1]);
    CHECK_EQ(o->handle_count, 1);
    CHECK_EQ(o->signals, RD | WR);
    CHECK_EQ(o->queued, 1);
    o = find_obj(oi, 6, ck[1]);
    CHECK_EQ(o->related_koid, ck[0]);
    CHECK_EQ(o->queued, 2);
    CHECK_EQ(o->signals, RD | WR);
    o = find_obj(oi, 6, ak);
    CHECK_EQ(o->type, MXH_OBJ_EVENT);
    CHECK_EQ(o->handle_count, 1);   /* in transit counts */
    CHECK_EQ(o->signals, MXH_SIGNAL_EVENT_SIGNALED);
    o = find_obj(oi, 6, portk);
    CHECK_EQ(o->type, MXH_OBJ_PORT);
    CHECK_EQ(o->handle_count, 2);
    o = find_obj(oi, 6, jk);
    CHECK_EQ(o->type, MXH_OBJ_JOB);
    CHECK_EQ(o->handle_count, 0);
    CHECK_EQ(o->related_koid, 1234);
    /* A short buffer: the count is whole, only cap entries written. */
    mxh_object_info_t few[3];
    memset(few, 0, sizeof few);
    CHECK_EQ(mxh_kernel_objects(k, few, 2), 6);
    CHECK(few[0].koid != 0 && few[1].koid != 0);
    CHECK_EQ(few[2].koid, 0);
    CHECK_EQ(mxh_kernel_objects(k, NULL, 0), 6);

    CHECK_EQ(mxh_kernel_messages(k, mi, 8, mk, 8, &nk), 3);
    CHECK_EQ(nk, 2);
    int at1 = -1, at0 = -1;
    for (int i = 0; i < 3; i++) {
        if (mi[i].endpoint_koid == ck[1] && at1 < 0)
            at1 = i;
        if (mi[i].endpoint_koid == ck[0])
            at0 = i;
    }
    CHECK(at1 >= 0 && at0 >= 0);
    /* c[1]'s messages are listed in queue order, one after the other. */
    CHECK(at1 + 1 < 3 && mi[at1 + 1].endpoint_koid == ck[1]);
    CHECK_EQ(mi[at1].nbytes, 10);
    CHECK_EQ(mi[at1].handle_count, 2);
    CHECK_EQ(mi[at1 + 1].nbytes, 0);
    CHECK_EQ(mi[at1 + 1].handle_count, 0);
    CHECK_EQ(mi[at0].nbytes, 3);
    CHECK_EQ(mi[at0].handle_count, 0);
    CHECK_EQ(mk[0], ak);
    CHECK_EQ(mk[1], portk);
    /* Short buffers. */
    mxh_message_info_t m1[2];
    mxh_koid_t k1[2] = {0, 0};
    memset(m1, 0, sizeof m1);
    CHECK_EQ(mxh_kernel_messages(k, m1, 1, k1, 1, &nk), 3);
    CHECK_EQ(nk, 2);
    CHECK(k1[0] == ak);
    CHECK_EQ(k1[1], 0);
    CHECK_EQ(m1[1].nbytes, 0);
    CHECK_EQ(mxh_kernel_messages(k, NULL, 0, NULL, 0, &nk), 3);
    CHECK_EQ(nk, 2);

    /* Destroyed objects leave the list; read messages leave theirs. */
    mxh_object_release(job);
    unsigned char buf[16];
    uint32_t hv[2];
    CHECK_EQ(read_ok(p, c[1], buf, sizeof buf, hv, 2), PACKED(2, 10));
    CHECK_EQ(mxh_kernel_messages(k, mi, 8, mk, 8, &nk), 2);
    CHECK_EQ(nk, 0);
    OK(mxh_handle_close(p, hv[0]));
    CHECK_EQ(mxh_kernel_objects(k, oi, 16), 4);
    for (int i = 0; i < 4; i++)
        CHECK(oi[i].koid != jk && oi[i].koid != ak);
    drop_proc(p, NULL);
    CHECK_EQ(mxh_kernel_objects(k, oi, 16), 0);
    CHECK_EQ(mxh_kernel_messages(k, mi, 8, mk, 8, &nk), 0);
    mxh_kernel_release(k);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(void) {
    struct { const char *name; void (*fn)(void); } tests[] = {
        {"round_trip", test_round_trip},
        {"write_errors", test_write_errors},
        {"read_errors", test_read_errors},
        {"signals", test_signals},
        {"destroy_queue", test_destroy_queue},
        {"nest", test_nest},
        {"collect_cycles", test_collect_cycles},
        {"collect_self", test_collect_self},
        {"collect_reachable", test_collect_reachable},
        {"call_basic", test_call_basic},
        {"call_write_errors", test_call_write_errors},
        {"call_timeout", test_call_timeout},
        {"call_failed", test_call_failed},
        {"inspect", test_inspect},
    };
    size_t n = sizeof tests / sizeof tests[0];
    for (size_t i = 0; i < n; i++) {
        printf("test_channel: %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
    }
    printf("test_channel: %zu tests passed\n", n);
    return 0;
}
