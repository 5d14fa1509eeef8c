/*
 * fuzz_core.c - a libFuzzer harness for the C core (mxhandles.h).
 *
 * Each input is a program: a byte picks an operation, the bytes after it its
 * arguments (a missing byte reads as 0).  The program runs on a fresh,
 * booted kernel with a handle limit taken from the input, as several
 * processes: init, two bare processes (mxh_proc_create) and the processes
 * the program creates itself (mxh_process_create).  Calls cover tables
 * (create, duplicate, replace, close, close_many, move), channels (write,
 * read, call, with handles), signals and polling waits, ports (queue, wait,
 * async waits, cancel), tasks (jobs, processes, threads, start, exit, kill,
 * info) and collection.  Every call is single-threaded and never blocks
 * (deadlines are in the past).  An operation may be prefixed by a fault: its
 * nth allocation fails (the library is built with -DMXH_FAULT_INJECTION),
 * and a call that then fails with NO_MEMORY must leave the kernel exactly
 * as it was.
 *
 * The harness keeps a shadow of the kernel - every process's handles
 * (value, rights, koid, type) and every queued message (bytes checksum,
 * handles' koids and rights) - and after every operation asserts:
 *  - each table holds exactly the shadow's handles, with the same rights;
 *    a dead process holds none;
 *  - every value a process is given is new to it (a stale value never
 *    names a newer handle);
 *  - a value not in a process's shadow (stale, another process's, random,
 *    over 32 bits) is MXH_ERR_BAD_HANDLE, and every call of a dead process
 *    is MXH_ERR_BAD_STATE;
 *  - duplicate and replace give exactly the rights asked (never more) and
 *    fail exactly as documented; creates fail with NO_RESOURCES exactly
 *    when the kernel's limit would be exceeded; reads give back the bytes,
 *    koids and rights that were written;
 *  - a failed call changes nothing observable (stats, koid counter, every
 *    table, every object, every queued message, every task's state);
 *  - the counters agree with the object and message listings: live objects
 *    per type, handles per object (tables + transit), in-transit handles;
 *    live handles never exceed the limit; channel signals agree with queue
 *    lengths and peers;
 *  - at the end, with every process killed and init's handles closed and
 *    collect() run, only the kernel's own three objects are left, and
 *    (ASan's leak check) no memory is.
 *
 * Build and run: make -C csrc fuzz (FUZZ_SECONDS, FUZZ_ARGS).  A failed
 * assertion prints the operation number and aborts, which libFuzzer
 * reports as a crash with the input saved.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxhandles.h"

/* ---- assertions -------------------------------------------------------------- */

static unsigned long g_step;    /* operation number in this input */
static int g_op;

#define FAIL(...)                                                            \
    do {                                                                     \
        fprintf(stderr, "fuzz_core: step %lu op %d: %s:%d: ", g_step, g_op,  \
                __FILE__, __LINE__);                                         \
        fprintf(stderr, __VA_ARGS__);                                        \
        fprintf(stderr, "\n");                                               \
        abort();                                                             \
    } while (0)

#define ASSERT(c)                                                            \
    do {                                                                     \
        if (!(c))                                                            \
            FAIL("assertion failed: %s", #c);                                \
    } while (0)

#define ASSERT_EQ(a, b)                                                      \
    do {                                                                     \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                        \
        if (a_ != b_)                                                        \
            FAIL("%s == %s (%" PRId64 " vs %" PRId64 ")", #a, #b, a_, b_);   \
    } while (0)

static void *xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

static void *xgrow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    p = realloc(p, c * elem);
    if (!p)
        abort();
    *cap = c;
    return p;
}

/* ---- input ------------------------------------------------------------------- */

typedef struct {
    const uint8_t *d;
    size_t n, i;
} input_t;

static uint8_t u8(input_t *in) { return in->i < in->n ? in->d[in->i++] : 0; }
static uint32_t u16(input_t *in) { return u8(in) | (uint32_t)u8(in) << 8; }
static uint32_t u32(input_t *in) { return u16(in) | u16(in) << 16; }

/* ---- the shadow -------------------------------------------------------------- */

#define MAXP 12          /* processes tracked */
#define STALE 16         /* recent values a process lost, per process */
#define MAXOPS 2000

typedef struct {
    uint32_t value, rights, type;
    mxh_koid_t koid;
} sh_t;

enum { P_INIT, P_BARE, P_CREATED };

typedef struct {
    mxh_proc_t *p;
    int kind;
    mxh_koid_t koid;
    sh_t *h;
    size_t n, cap;
    uint32_t stale[STALE];
    unsigned nstale;
} proc_t;

typedef struct {
    mxh_koid_t ep;          /* the endpoint whose queue holds it */
    uint32_t nbytes;
    uint64_t sum;
    uint32_t n;
    mxh_koid_t *koids;
    uint32_t *rights;
} msg_t;

typedef struct {
    mxh_kernel_t *k;
    uint64_t max_handles;
    mxh_obj_t *root, *ithread;
    proc_t pr[MAXP];
    int np;
    msg_t *msgs;
    size_t nmsgs, capmsgs;
    /* Values ever given to a process in this input: (proc << 32 | value). */
    uint64_t *seen;
    size_t seen_cap, seen_n;
} world_t;

static uint64_t fnv(const uint8_t *d, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ d[i]) * 1099511628211ull;
    return h ^ n;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Records that process `pi` was given `value`; it must be new. */
static void seen_add(world_t *w, int pi, uint32_t value)
{
    uint64_t key = (uint64_t)(pi + 1) << 32 | value;
    size_t mask = w->seen_cap - 1;
    for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
        if (w->seen[i] == 0) {
            w->seen[i] = key;
            w->seen_n++;
            ASSERT(w->seen_n < w->seen_cap / 2);
            return;
        }
        if (w->seen[i] == key)
            FAIL("process %d given value %#x a second time", pi, value);
    }
}

static int find(const proc_t *p, uint64_t v)
{
    if (v > UINT32_MAX)
        return -1;
    for (size_t i = 0; i < p->n; i++)
        if (p->h[i].value == (uint32_t)v)
            return (int)i;
    return -1;
}

static void sh_add(world_t *w, int pi, uint32_t value, uint32_t rights,
                   uint32_t type, mxh_koid_t koid)
{
    proc_t *p = &w->pr[pi];
    ASSERT(value >= 1 && value <= 0x7fffffffu);
    ASSERT(find(p, value) < 0);
    seen_add(w, pi, value);
    p->h = xgrow(p->h, &p->cap, p->n + 1, sizeof *p->h);
    p->h[p->n++] = (sh_t){value, rights, type, koid};
}

static sh_t sh_remove(proc_t *p, int idx)
{
    sh_t s = p->h[idx];
    p->h[idx] = p->h[--p->n];
    p->stale[p->nstale++ % STALE] = s.value;
    return s;
}

static sh_t *sh_get(proc_t *p, uint64_t v)
{
    int i = find(p, v);
    return i < 0 ? NULL : &p->h[i];
}

static int proc_by_koid(world_t *w, mxh_koid_t koid)
{
    for (int i = 0; i < w->np; i++)
        if (w->pr[i].koid == koid)
            return i;
    return -1;
}

static int proc_dead(proc_t *p) { return mxh_proc_is_dead(p->p); }

/* ---- handle selection -------------------------------------------------------- */

/* A handle value for process pi to use: one of its own (any, or of `type`
 * when type != 0), or a value it must not be able to use. */
static uint64_t pick(world_t *w, input_t *in, int pi, uint32_t type)
{
    proc_t *p = &w->pr[pi];
    uint8_t b = u8(in);
    switch (b >> 6) {
    case 0:
    case 1:
        if (p->n)
            return p->h[(b & 0x7f) % p->n].value;
        return 0;
    case 2: {
        size_t cnt = 0;
        for (size_t i = 0; i < p->n; i++)
            cnt += !type || p->h[i].type == type;
        if (!cnt)
            return p->n ? p->h[(b & 0x3f) % p->n].value : 0;
        size_t want = (b & 0x3f) % cnt;
        for (size_t i = 0; i < p->n; i++)
            if ((!type || p->h[i].type == type) && want-- == 0)
                return p->h[i].value;
        return 0;
    }
    default: {
        unsigned sub = b & 0x3f;
        if (sub < 16)
            return p->nstale ? p->stale[sub % (p->nstale < STALE ? p->nstale
                                                                  : STALE)]
                             : 0;
        if (sub < 32) {
            proc_t *o = &w->pr[sub % w->np];
            return o->n ? o->h[u8(in) % o->n].value : 0;
        }
        if (sub < 48)
            return u32(in);
        if (sub < 56)
            return (uint64_t)u32(in) | (uint64_t)(1 + sub) << 32;
        return sub & 1 ? 0x80000000u | u32(in) : 0xffffffffffffffffull;
    }
    }
}

/* ---- snapshots: everything observable, serialized ------------------------------ */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
    if (!n)
        return;
    b->b = xgrow(b->b, &b->cap, b->n + n, 1);
    memcpy(b->b + b->n, d, n);
    b->n += n;
}

static mxh_object_info_t *g_objs;
static size_t g_objs_cap;
static mxh_message_info_t *g_msgs;
static size_t g_msgs_cap;
static mxh_koid_t *g_mkoids;
static size_t g_mkoids_cap;
static mxh_handle_info_t *g_hinfo;
static size_t g_hinfo_cap;

static size_t list_objects(world_t *w)
{
    for (;;) {
        int64_t n = mxh_kernel_objects(w->k, g_objs, g_objs_cap);
        ASSERT(n >= 0);
        if ((size_t)n <= g_objs_cap)
            return (size_t)n;
        g_objs = xgrow(g_objs, &g_objs_cap, (size_t)n, sizeof *g_objs);
    }
}

static size_t list_messages(world_t *w, size_t *nkoids)
{
    for (;;) {
        uint64_t tk = 0;
        int64_t n = mxh_kernel_messages(w->k, g_msgs, g_msgs_cap, g_mkoids,
                                        g_mkoids_cap, &tk);
        ASSERT(n >= 0);
        if ((size_t)n <= g_msgs_cap && tk <= g_mkoids_cap) {
            *nkoids = tk;
            return (size_t)n;
        }
        g_msgs = xgrow(g_msgs, &g_msgs_cap, (size_t)n, sizeof *g_msgs);
        g_mkoids = xgrow(g_mkoids, &g_mkoids_cap, tk, sizeof *g_mkoids);
    }
}

static size_t list_handles(mxh_proc_t *p)
{
    for (;;) {
        int64_t n = mxh_proc_handles(p, g_hinfo, g_hinfo_cap);
        ASSERT(n >= 0);
        if ((size_t)n <= g_hinfo_cap)
            return (size_t)n;
        g_hinfo = xgrow(g_hinfo, &g_hinfo_cap, (size_t)n, sizeof *g_hinfo);
    }
}

static void snapshot(world_t *w, buf_t *b)
{
    b->n = 0;
    mxh_stats_t s;
    memset(&s, 0, sizeof s);
    mxh_kernel_stats(w->k, &s);
    put(b, &s, sizeof s);
    mxh_koid_t next = mxh_kernel_peek_koid(w->k);
    put(b, &next, sizeof next);
    size_t no = list_objects(w);
    put(b, g_objs, no * sizeof *g_objs);
    size_t nk = 0, nm = list_messages(w, &nk);
    put(b, g_msgs, nm * sizeof *g_msgs);
    put(b, g_mkoids, nk * sizeof *g_mkoids);
    for (int i = 0; i < w->np; i++) {
        int64_t rc = 0;
        int st = mxh_proc_state(w->pr[i].p, &rc);
        int dead = mxh_proc_is_dead(w->pr[i].p);
        put(b, &st, sizeof st);
        put(b, &rc, sizeof rc);
        put(b, &dead, sizeof dead);
        size_t nh = list_handles(w->pr[i].p);
        put(b, g_hinfo, nh * sizeof *g_hinfo);
    }
}

/* ---- invariants ------------------------------------------------------------------ */

static int stats_index(uint32_t type)
{
    switch (type) {
    case MXH_OBJ_EVENT: return MXH_STATS_EVENT;
    case MXH_OBJ_EVENT_PAIR: return MXH_STATS_EVENTPAIR;
    case MXH_OBJ_CHANNEL: return MXH_STATS_CHANNEL;
    case MXH_OBJ_PORT: return MXH_STATS_PORT;
    case MXH_OBJ_JOB: return MXH_STATS_JOB;
    case MXH_OBJ_PROCESS: return MXH_STATS_PROCESS;
    case MXH_OBJ_THREAD: return MXH_STATS_THREAD;
    }
    FAIL("unknown object type %u", type);
}

static const mxh_object_info_t *obj_find(size_t no, mxh_koid_t koid)
{
    for (size_t i = 0; i < no; i++)
        if (g_objs[i].koid == koid)
            return &g_objs[i];
    return NULL;
}

static void msg_free(msg_t *m)
{
    free(m->koids);
    free(m->rights);
}

static void msg_drop(world_t *w, size_t i)
{
    msg_free(&w->msgs[i]);
    memmove(&w->msgs[i], &w->msgs[i + 1],
            (w->nmsgs - i - 1) * sizeof *w->msgs);
    w->nmsgs--;
}

/* The first shadow message queued at endpoint ep, or -1. */
static long msg_first(world_t *w, mxh_koid_t ep)
{
    for (size_t i = 0; i < w->nmsgs; i++)
        if (w->msgs[i].ep == ep)
            return (long)i;
    return -1;
}

/* Brings the shadow up to date with deaths (a dead process's handles are
 * gone; a destroyed endpoint's queue is gone), then checks every invariant. */
static void check_world(world_t *w)
{
    for (int i = 0; i < w->np; i++) {
        proc_t *p = &w->pr[i];
        if (proc_dead(p))
            while (p->n)
                sh_remove(p, 0);
    }
    size_t no = list_objects(w);
    for (size_t i = 0; i < w->nmsgs;)
        if (!obj_find(no, w->msgs[i].ep))
            msg_drop(w, i);
        else
            i++;

    mxh_stats_t s;
    memset(&s, 0, sizeof s);
    mxh_kernel_stats(w->k, &s);
    ASSERT(s.live_handles <= w->max_handles);

    /* Objects against the counters. */
    uint64_t per_type[8] = {0}, handles = 0;
    for (size_t i = 0; i < no; i++) {
        per_type[stats_index(g_objs[i].type)]++;
        handles += g_objs[i].handle_count;
    }
    for (int t = 0; t < 8; t++)
        ASSERT_EQ(per_type[t], s.live_objects[t]);
    ASSERT_EQ(handles, s.live_handles);

    /* Handles per object: tables + transit.  Count tables first. */
    uint32_t *cnt = xalloc((no ? no : 1) * sizeof *cnt);
    uint64_t in_tables = 0;
    for (int pi = 0; pi < w->np; pi++) {
        proc_t *p = &w->pr[pi];
        size_t nh = list_handles(p->p);
        ASSERT_EQ(mxh_proc_handle_count(p->p), nh);
        if (proc_dead(p))
            ASSERT_EQ(nh, 0);
        ASSERT_EQ(nh, p->n);
        for (size_t j = 0; j < nh; j++) {
            const mxh_handle_info_t *hi = &g_hinfo[j];
            sh_t *sh = sh_get(p, hi->value);
            if (!sh)
                FAIL("process %d holds %#x, not in the shadow", pi,
                     hi->value);
            ASSERT_EQ(hi->rights, sh->rights);
            ASSERT_EQ(hi->koid, sh->koid);
            ASSERT_EQ(hi->type, sh->type);
            const mxh_object_info_t *o = obj_find(no, hi->koid);
            ASSERT(o != NULL);
            cnt[o - g_objs]++;
            in_tables++;
        }
    }

    /* Messages against the shadow queues and the transit counter. */
    size_t nk = 0, nm = list_messages(w, &nk);
    ASSERT_EQ(nk, s.in_transit_handles);
    ASSERT_EQ(nm, w->nmsgs);
    ASSERT_EQ(in_tables + nk, s.live_handles);
    size_t ko = 0;
    for (size_t i = 0; i < nm; i++) {
        size_t rank = 0;
        for (size_t j = 0; j < i; j++)
            rank += g_msgs[j].endpoint_koid == g_msgs[i].endpoint_koid;
        msg_t *m = NULL;
        for (size_t j = 0; j < w->nmsgs; j++)
            if (w->msgs[j].ep == g_msgs[i].endpoint_koid && rank-- == 0) {
                m = &w->msgs[j];
                break;
            }
        if (!m)
            FAIL("message %zu at endpoint %" PRIu64 " not in the shadow", i,
                 g_msgs[i].endpoint_koid);
        ASSERT_EQ(g_msgs[i].nbytes, m->nbytes);
        ASSERT_EQ(g_msgs[i].handle_count, m->n);
        for (uint32_t j = 0; j < m->n; j++, ko++) {
            ASSERT_EQ(g_mkoids[ko], m->koids[j]);
            const mxh_object_info_t *o = obj_find(no, m->koids[j]);
            ASSERT(o != NULL);
            cnt[o - g_objs]++;
        }
    }
    for (size_t i = 0; i < no; i++)
        if (cnt[i] != g_objs[i].handle_count)
            FAIL("object %" PRIu64 " (type %u) counts %u handles, %u found",
                 g_objs[i].koid, g_objs[i].type, g_objs[i].handle_count,
                 cnt[i]);
    free(cnt);

    /* Channel and event pair signals. */
    for (size_t i = 0; i < no; i++) {
        const mxh_object_info_t *o = &g_objs[i];
        if (o->type != MXH_OBJ_CHANNEL && o->type != MXH_OBJ_EVENT_PAIR)
            continue;
        if (o->type == MXH_OBJ_CHANNEL) {
            size_t q = 0;
            for (size_t j = 0; j < w->nmsgs; j++)
                q += w->msgs[j].ep == o->koid;
            ASSERT_EQ(o->queued, q);
            ASSERT_EQ(!!(o->signals & MXH_SIGNAL_CHANNEL_READABLE), q > 0);
        }
        const mxh_object_info_t *peer = obj_find(no, o->related_koid);
        uint32_t pc = MXH_SIGNAL_CHANNEL_PEER_CLOSED;
        if (!peer)
            ASSERT(o->signals & pc);
        else if (peer->handle_count > 0 && o->handle_count > 0)
            ASSERT(!(o->signals & pc));
        if (o->type == MXH_OBJ_CHANNEL)
            ASSERT_EQ(!!(o->signals & MXH_SIGNAL_CHANNEL_WRITABLE),
                      !(o->signals & pc));
    }
}

/* ---- expectations common to every call ------------------------------------------- */

/* The status a call of pi's must fail with before looking any further:
 * BAD_STATE from a dead process, then BAD_HANDLE for a value not its own.
 * 0 when neither applies. */
static int64_t pre_status(world_t *w, int pi, uint64_t h)
{
    if (proc_dead(&w->pr[pi]))
        return MXH_ERR_BAD_STATE;
    if (find(&w->pr[pi], h) < 0)
        return MXH_ERR_BAD_HANDLE;
    return 0;
}

static void expect_pre(int64_t rc, int64_t pre)
{
    if (pre)
        ASSERT_EQ(rc, pre);
}

/* An allocation failure is armed for this operation (op FAULT): any call
 * may then fail with NO_MEMORY, which must leave the kernel unchanged. */
static bool g_fault;
#define NOMEM(rc) (g_fault && (rc) == MXH_ERR_NO_MEMORY)

static uint64_t live_handles(world_t *w)
{
    mxh_stats_t s;
    mxh_kernel_stats(w->k, &s);
    return s.live_handles;
}

static uint32_t some_rights(input_t *in, uint32_t type)
{
    uint8_t b = u8(in);
    uint32_t def = mxh_default_rights(type);
    if (b < 160)
        return def;
    if (b < 240)
        return def & u16(in);
    return u32(in) & ~MXH_RIGHT_SAME_RIGHTS;
}

static uint32_t dup_rights(input_t *in)
{
    uint8_t b = u8(in);
    if (b < 128)
        return MXH_RIGHT_SAME_RIGHTS;
    if (b < 250)
        return u16(in) & 0xfffu;
    return u32(in);
}

static const uint32_t k_types[] = {MXH_OBJ_EVENT, MXH_OBJ_PORT,
                                   MXH_OBJ_CHANNEL, MXH_OBJ_EVENT_PAIR,
                                   MXH_OBJ_JOB, MXH_OBJ_PROCESS,
                                   MXH_OBJ_THREAD, 3};

/* ---- the operations ---------------------------------------------------------------- */

#define NOPS 31      /* operations run_op knows */
#define OP_FAULT 31  /* the next operation runs with its nth allocation failing */
enum { CHANGES, UNCHANGED_ON_FAILURE, QUERY };

static uint8_t g_data[MXH_CHANNEL_MAX_BYTES + 64];
static uint8_t g_rbuf[MXH_CHANNEL_MAX_BYTES + 64];
static uint32_t g_rhandles[MXH_TRANSIT_MAX + 8];

static void add_proc(world_t *w, mxh_proc_t *p, int kind)
{
    ASSERT(w->np < MAXP);
    proc_t *pr = &w->pr[w->np++];
    memset(pr, 0, sizeof *pr);
    pr->p = p;
    pr->kind = kind;
    pr->koid = mxh_object_koid(mxh_proc_object(p));
}

/* Runs one operation; returns its status and how a failure must leave the
 * kernel (*mode). */
static int64_t run_op(world_t *w, input_t *in, int op, int *mode)
{
    int pi = u8(in) % w->np;
    proc_t *p = &w->pr[pi];
    mxh_proc_t *pp = p->p;
    int dead = proc_dead(p);
    int64_t rc = 0;
    *mode = UNCHANGED_ON_FAILURE;

    switch (op) {
    case 0: { /* create an event or port handle */
        uint32_t type = u8(in) & 1 ? MXH_OBJ_PORT : MXH_OBJ_EVENT;
        uint32_t r = some_rights(in, type);
        uint64_t before = live_handles(w);
        rc = mxh_object_create_handle(pp, type, r);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else if (before + 1 > w->max_handles)
            ASSERT_EQ(rc, MXH_ERR_NO_RESOURCES);
        else
            ASSERT(rc > 0);
        if (rc > 0) {
            mxh_handle_info_t hi;
            ASSERT_EQ(mxh_handle_basic(pp, (uint64_t)rc, &hi), MXH_OK);
            sh_add(w, pi, (uint32_t)rc, r, type, hi.koid);
        }
        break;
    }
    case 1: { /* a channel or event pair */
        uint32_t type = u8(in) & 1 ? MXH_OBJ_EVENT_PAIR : MXH_OBJ_CHANNEL;
        uint32_t r = some_rights(in, type);
        uint32_t out[2] = {0, 0};
        mxh_koid_t koids[2] = {0, 0};
        uint64_t before = live_handles(w);
        rc = mxh_pair_create_handles(pp, type, r, out, koids);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else if (before + 2 > w->max_handles)
            ASSERT_EQ(rc, MXH_ERR_NO_RESOURCES);
        else
            ASSERT_EQ(rc, MXH_OK);
        if (rc == MXH_OK) {
            ASSERT(out[0] != out[1]);
            sh_add(w, pi, out[0], r, type, koids[0]);
            sh_add(w, pi, out[1], r, type, koids[1]);
        }
        break;
    }
    case 2: { /* an object made by mxh_object_create, bound by handle_create */
        static const uint32_t t3[] = {MXH_OBJ_EVENT, MXH_OBJ_PORT,
                                      MXH_OBJ_JOB};
        uint32_t type = t3[u8(in) % 3];
        uint32_t r = some_rights(in, type);
        mxh_obj_t *o = mxh_object_create(w->k, type, 0);
        if (!o) {
            ASSERT(g_fault);
            return 0;
        }
        uint64_t before = live_handles(w);
        rc = mxh_handle_create(pp, o, r);
        if (NOMEM(rc)) {
            mxh_object_release(o);
            *mode = CHANGES;
            break;
        }
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else if (before + 1 > w->max_handles)
            ASSERT_EQ(rc, MXH_ERR_NO_RESOURCES);
        else
            ASSERT(rc > 0);
        if (rc > 0)
            sh_add(w, pi, (uint32_t)rc, r, type, mxh_object_koid(o));
        mxh_object_release(o);
        *mode = CHANGES;   /* the object was made and destroyed */
        break;
    }
    case 3: { /* close */
        uint64_t h = pick(w, in, pi, 0);
        int64_t pre = pre_status(w, pi, h);
        rc = mxh_handle_close(pp, h);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre)
            ASSERT_EQ(rc, MXH_OK);
        if (rc == MXH_OK)
            sh_remove(p, find(p, h));
        break;
    }
    case 4: { /* close_many */
        uint64_t hs[12];
        size_t n = u8(in) % 13;
        bool any_bad = false;
        size_t nvalid = 0;
        for (size_t i = 0; i < n; i++) {
            hs[i] = pick(w, in, pi, 0);
            /* a value given twice counts as invalid the second time */
            bool again = false;
            for (size_t j = 0; j < i; j++)
                again |= hs[j] == hs[i];
            bool bad = again || find(p, hs[i]) < 0;
            any_bad |= bad;
            nvalid += !bad;
        }
        rc = mxh_handle_close_many(pp, hs, n);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else
            ASSERT_EQ(rc, any_bad ? MXH_ERR_BAD_HANDLE : MXH_OK);
        if (!dead) {
            for (size_t i = 0; i < n; i++) {
                int j = find(p, hs[i]);
                if (j >= 0)
                    sh_remove(p, j);
            }
            if (any_bad && nvalid)
                *mode = CHANGES;   /* the valid ones were closed */
        }
        break;
    }
    case 5:   /* duplicate */
    case 6: { /* replace */
        uint64_t h = pick(w, in, pi, 0);
        uint32_t r = dup_rights(in);
        int64_t pre = pre_status(w, pi, h);
        sh_t old = {0};
        if (!pre)
            old = *sh_get(p, h);
        uint64_t before = live_handles(w);
        rc = op == 5 ? mxh_handle_duplicate(pp, h, r)
                     : mxh_handle_replace(pp, h, r);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (pre)
            break;
        bool sub = r == MXH_RIGHT_SAME_RIGHTS || (r & ~old.rights) == 0;
        if (op == 5 && !(old.rights & MXH_RIGHT_DUPLICATE))
            ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
        else if (!sub)
            ASSERT_EQ(rc, MXH_ERR_INVALID_ARGS);
        else if (op == 5 && before + 1 > w->max_handles)
            ASSERT_EQ(rc, MXH_ERR_NO_RESOURCES);
        else
            ASSERT(rc > 0);
        if (rc > 0) {
            uint32_t nr = r == MXH_RIGHT_SAME_RIGHTS ? old.rights : r;
            if (op == 6)
                sh_remove(p, find(p, h));
            sh_add(w, pi, (uint32_t)rc, nr, old.type, old.koid);
        }
        break;
    }
    case 7:   /* channel write */
    case 8: { /* channel call, deadline passed */
        uint64_t h = pick(w, in, pi, MXH_OBJ_CHANNEL);
        uint8_t sz = u8(in);
        size_t nbytes = sz < 200 ? sz % 48
                      : sz < 250 ? u16(in)
                      : MXH_CHANNEL_MAX_BYTES + (sz & 1);
        for (size_t i = 0; i < nbytes; i++)
            g_data[i] = (uint8_t)(i < 48 ? u8(in) : i * 7u);
        uint64_t hs[MXH_TRANSIT_MAX + 2];
        uint8_t hb = u8(in);
        size_t n = hb < 250 ? hb % 6 : hb == 255 ? MXH_TRANSIT_MAX + 1 : 0;
        for (size_t i = 0; i < n; i++)
            hs[i] = i < 8 ? pick(w, in, pi, 0) : 0;
        int64_t pre = pre_status(w, pi, h);
        sh_t ch = {0};
        if (!pre)
            ch = *sh_get(p, h);
        /* what the message would carry */
        msg_t m = {0};
        m.nbytes = (uint32_t)nbytes;
        m.sum = fnv(g_data, nbytes);
        m.n = (uint32_t)n;
        m.koids = xalloc((n + 1) * sizeof *m.koids);
        m.rights = xalloc((n + 1) * sizeof *m.rights);
        for (size_t i = 0; i < n; i++) {
            sh_t *s = sh_get(p, hs[i]);
            if (s) {
                m.koids[i] = s->koid;
                m.rights[i] = s->rights;
            }
        }
        uint64_t actual[3] = {0, 0, 0};
        if (op == 7)
            rc = mxh_channel_write(pp, h, g_data, nbytes, hs, n);
        else
            rc = mxh_channel_call(pp, h, g_data, nbytes, hs, n, 0,
                                  MXH_CHANNEL_MAX_BYTES, MXH_TRANSIT_MAX,
                                  g_rbuf, g_rhandles, actual);
        if (NOMEM(rc)) {
            msg_free(&m);
            break;
        }
        expect_pre(rc, pre);
        /* Sent: the write succeeded, or the call wrote and then timed out
         * (no thread can reply: the caller is the only thread). */
        bool sent = op == 7 ? rc == MXH_OK : rc == MXH_ERR_TIMED_OUT;
        if (op == 8)
            ASSERT(rc != MXH_OK);
        if (!pre && ch.type != MXH_OBJ_CHANNEL)
            ASSERT_EQ(rc, MXH_ERR_WRONG_TYPE);
        else if (!pre && !(ch.rights & MXH_RIGHT_WRITE))
            ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
        else if (!pre && (nbytes > MXH_CHANNEL_MAX_BYTES ||
                          n > MXH_TRANSIT_MAX))
            ASSERT_EQ(rc, MXH_ERR_OUT_OF_RANGE);
        if (sent) {
            mxh_obj_t *o = NULL;
            ASSERT(mxh_handle_get(pp, h, 0, 0, &o) >= 0);
            m.ep = mxh_object_peer_koid(o);
            mxh_object_release(o);
            ASSERT(m.ep != 0);
            for (size_t i = 0; i < n; i++) {
                int j = find(p, hs[i]);
                ASSERT(j >= 0);
                ASSERT(m.rights[i] & MXH_RIGHT_TRANSFER);
                ASSERT(p->h[j].koid != ch.koid);
                sh_remove(p, j);
            }
            w->msgs = xgrow(w->msgs, &w->capmsgs, w->nmsgs + 1,
                            sizeof *w->msgs);
            w->msgs[w->nmsgs++] = m;
            *mode = CHANGES;
        } else {
            msg_free(&m);
        }
        break;
    }
    case 9: { /* channel read */
        uint64_t h = pick(w, in, pi, MXH_OBJ_CHANNEL);
        uint32_t opts = u8(in) < 200 ? 0 : u8(in) < 128
                                               ? MXH_CHANNEL_READ_MAY_DISCARD
                                               : u32(in);
        uint8_t b = u8(in);
        uint64_t max_bytes = b < 128 ? MXH_CHANNEL_MAX_BYTES : b % 40;
        b = u8(in);
        uint64_t max_handles = b < 128 ? MXH_TRANSIT_MAX : b % 4;
        int64_t pre = pre_status(w, pi, h);
        sh_t ch = {0};
        if (!pre)
            ch = *sh_get(p, h);
        long mi = pre ? -1 : msg_first(w, ch.koid);
        uint64_t actual[2] = {0, 0};
        rc = mxh_channel_read(pp, h, opts, max_bytes, max_handles, g_rbuf,
                              g_rhandles, actual);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else if (opts & ~MXH_CHANNEL_READ_MAY_DISCARD)
            ASSERT_EQ(rc, MXH_ERR_NOT_SUPPORTED);
        else if (pre)
            ASSERT_EQ(rc, pre);
        else if (ch.type != MXH_OBJ_CHANNEL)
            ASSERT_EQ(rc, MXH_ERR_WRONG_TYPE);
        else if (!(ch.rights & MXH_RIGHT_READ))
            ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
        else if (mi < 0)
            ASSERT(rc == MXH_ERR_SHOULD_WAIT || rc == MXH_ERR_PEER_CLOSED);
        else {
            msg_t *m = &w->msgs[mi];
            if (m->nbytes > max_bytes || m->n > max_handles) {
                ASSERT_EQ(rc, MXH_ERR_BUFFER_TOO_SMALL);
                ASSERT_EQ(actual[0], m->nbytes);
                ASSERT_EQ(actual[1], m->n);
                if (opts & MXH_CHANNEL_READ_MAY_DISCARD) {
                    msg_drop(w, (size_t)mi);
                    *mode = CHANGES;
                }
            } else {
                ASSERT(rc >= 0);
                ASSERT_EQ((uint64_t)rc & 0xffffffffu, m->nbytes);
                ASSERT_EQ((uint64_t)rc >> 32, m->n);
                ASSERT_EQ(fnv(g_rbuf, m->nbytes), m->sum);
                for (uint32_t i = 0; i < m->n; i++) {
                    mxh_handle_info_t hi;
                    ASSERT_EQ(mxh_handle_basic(pp, g_rhandles[i], &hi),
                              MXH_OK);
                    ASSERT_EQ(hi.koid, m->koids[i]);
                    ASSERT_EQ(hi.rights, m->rights[i]);
                    sh_add(w, pi, g_rhandles[i], m->rights[i], hi.type,
                           hi.koid);
                }
                msg_drop(w, (size_t)mi);
            }
        }
        break;
    }
    case 10: { /* object_signal */
        uint64_t h = pick(w, in, pi, 0);
        uint8_t b = u8(in);
        uint32_t clear = b & 1 ? u32(in) : (uint32_t)u8(in) << 24;
        uint32_t set = b & 2 ? u32(in) : (uint32_t)u8(in) << 24;
        if (b & 4 && !(b & 3))
            set |= MXH_SIGNAL_EVENT_SIGNALED;
        int peer = (b >> 3) & 1;
        int64_t pre = pre_status(w, pi, h);
        rc = mxh_object_signal(pp, h, clear, set, peer);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre && !(sh_get(p, h)->rights & MXH_RIGHT_WRITE))
            ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
        break;
    }
    case 11: { /* wait_one, polling */
        uint64_t h = pick(w, in, pi, 0);
        uint32_t sig = u32(in);
        uint32_t obs = 0;
        int64_t pre = pre_status(w, pi, h);
        rc = mxh_object_wait_one(pp, h, sig, 0, &obs);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre && !(sh_get(p, h)->rights & MXH_RIGHT_READ))
            ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
        else if (!pre) {
            ASSERT(rc >= 0 || rc == MXH_ERR_TIMED_OUT);
            if (rc == MXH_ERR_TIMED_OUT)
                ASSERT((obs & sig) == 0);
            else
                ASSERT(((uint32_t)rc & sig) != 0);
        }
        *mode = QUERY;
        break;
    }
    case 12: { /* wait_many, polling */
        uint64_t hs[8];
        uint32_t sig[8], obs[8];
        size_t n = u8(in) % 9;
        for (size_t i = 0; i < n; i++) {
            hs[i] = pick(w, in, pi, 0);
            sig[i] = u8(in) & 1 ? u32(in) : 0xffffffffu;
        }
        rc = mxh_object_wait_many(pp, hs, sig, n, 0, obs);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        for (size_t i = 0; i < n && !dead; i++) {   /* checked in order */
            sh_t *s = sh_get(p, hs[i]);
            if (!s) {
                ASSERT_EQ(rc, MXH_ERR_BAD_HANDLE);
                break;
            }
            if (!(s->rights & MXH_RIGHT_READ)) {
                ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
                break;
            }
        }
        *mode = QUERY;
        break;
    }
    case 13: { /* port_queue */
        uint64_t port = pick(w, in, pi, MXH_OBJ_PORT);
        uint64_t key = u32(in);
        uint8_t user[40];
        size_t len = u8(in) % 41;
        for (size_t i = 0; i < len; i++)
            user[i] = u8(in);
        int64_t pre = pre_status(w, pi, port);
        rc = mxh_port_queue(pp, port, key, (int32_t)u32(in), user, len);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre) {
            sh_t *s = sh_get(p, port);
            if (s->type != MXH_OBJ_PORT)
                ASSERT_EQ(rc, MXH_ERR_WRONG_TYPE);
            else if (!(s->rights & MXH_RIGHT_WRITE))
                ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
            else if (len > MXH_PORT_PAYLOAD)
                ASSERT_EQ(rc, MXH_ERR_INVALID_ARGS);
        }
        *mode = CHANGES;   /* the port's queue is not in the snapshot... */
        if (rc < 0)
            *mode = UNCHANGED_ON_FAILURE;
        break;
    }
    case 14: { /* port_wait, polling */
        uint64_t port = pick(w, in, pi, MXH_OBJ_PORT);
        mxh_packet_t pkt;
        int64_t pre = pre_status(w, pi, port);
        rc = mxh_port_wait(pp, port, 0, &pkt);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre) {
            sh_t *s = sh_get(p, port);
            if (s->type != MXH_OBJ_PORT)
                ASSERT_EQ(rc, MXH_ERR_WRONG_TYPE);
            else if (!(s->rights & MXH_RIGHT_READ))
                ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
            else
                ASSERT(rc == MXH_OK || rc == MXH_ERR_TIMED_OUT);
        }
        break;
    }
    case 15: { /* wait_async */
        uint64_t h = pick(w, in, pi, 0);
        uint64_t port = pick(w, in, pi, MXH_OBJ_PORT);
        uint64_t key = u8(in);
        uint32_t sig = u8(in) & 1 ? u32(in) : 0xffffffffu;
        uint8_t b = u8(in);
        uint32_t opts = b < 250 ? b & 1 : b;
        int64_t pre = pre_status(w, pi, port);
        rc = mxh_object_wait_async(pp, h, port, key, sig, opts, (b >> 1) & 1);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre && sh_get(p, port)->type == MXH_OBJ_PORT &&
            (sh_get(p, port)->rights & MXH_RIGHT_WRITE) && find(p, h) < 0)
            ASSERT_EQ(rc, MXH_ERR_BAD_HANDLE);
        if (rc >= 0)
            *mode = CHANGES;
        break;
    }
    case 16: { /* port_cancel */
        uint64_t port = pick(w, in, pi, MXH_OBJ_PORT);
        uint64_t h = pick(w, in, pi, 0);
        int64_t pre = pre_status(w, pi, port);
        rc = mxh_port_cancel(pp, port, h, u8(in));
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (rc >= 0)
            *mode = CHANGES;
        break;
    }
    case 17: { /* handle_move to another process */
        int di = u8(in) % w->np;
        proc_t *d = &w->pr[di];
        uint64_t h = pick(w, in, pi, 0);
        sh_t *s = sh_get(p, h);
        bool ok = !dead && s && (s->rights & MXH_RIGHT_TRANSFER);
        bool ddead = proc_dead(d);
        rc = mxh_handle_move(pp, h, d->p);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else if (!ok)
            ASSERT_EQ(rc, MXH_ERR_INVALID_ARGS);
        else if (ddead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else
            ASSERT(rc > 0);
        if (rc > 0) {
            sh_t moved = sh_remove(p, find(p, h));
            sh_add(w, di, (uint32_t)rc, moved.rights, moved.type, moved.koid);
        }
        break;
    }
    case 18: /* collect */
        rc = mxh_kernel_collect(w->k);
        if (NOMEM(rc))
            break;
        ASSERT(rc >= 0);
        *mode = CHANGES;
        break;
    case 19: { /* job_create */
        uint64_t job = pick(w, in, pi, MXH_OBJ_JOB);
        uint32_t opts = u8(in) < 240 ? 0 : u8(in);
        int64_t pre = pre_status(w, pi, job);
        uint64_t before = live_handles(w);
        rc = mxh_job_create(pp, job, opts);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (rc == MXH_ERR_NO_RESOURCES)
            ASSERT(before + 1 > w->max_handles);
        if (rc > 0) {
            mxh_handle_info_t hi;
            ASSERT_EQ(mxh_handle_basic(pp, (uint64_t)rc, &hi), MXH_OK);
            ASSERT_EQ(hi.type, MXH_OBJ_JOB);
            sh_add(w, pi, (uint32_t)rc, hi.rights, MXH_OBJ_JOB, hi.koid);
        }
        break;
    }
    case 20: { /* process_create */
        if (w->np == MAXP)
            return 0;
        uint64_t job = pick(w, in, pi, MXH_OBJ_JOB);
        uint32_t opts = u8(in) < 240 ? 0 : u8(in);
        int64_t pre = pre_status(w, pi, job);
        uint64_t before = live_handles(w);
        mxh_proc_t *np = NULL;
        rc = mxh_process_create(pp, job, mix(w->np + 77), opts, &np);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (rc == MXH_ERR_NO_RESOURCES)
            ASSERT(before + 1 > w->max_handles);
        if (rc > 0) {
            ASSERT(np != NULL);
            add_proc(w, np, P_CREATED);
            mxh_handle_info_t hi;
            ASSERT_EQ(mxh_handle_basic(pp, (uint64_t)rc, &hi), MXH_OK);
            ASSERT_EQ(hi.koid, w->pr[w->np - 1].koid);
            ASSERT_EQ(mxh_proc_state(np, NULL), 0);
            sh_add(w, pi, (uint32_t)rc, hi.rights, MXH_OBJ_PROCESS, hi.koid);
        }
        break;
    }
    case 21: { /* thread_create */
        uint64_t proc = pick(w, in, pi, MXH_OBJ_PROCESS);
        uint32_t opts = u8(in) < 240 ? 0 : u8(in);
        int64_t pre = pre_status(w, pi, proc);
        rc = mxh_thread_create(pp, proc, opts);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (rc > 0) {
            mxh_handle_info_t hi;
            ASSERT_EQ(mxh_handle_basic(pp, (uint64_t)rc, &hi), MXH_OK);
            ASSERT_EQ(hi.type, MXH_OBJ_THREAD);
            sh_add(w, pi, (uint32_t)rc, hi.rights, MXH_OBJ_THREAD, hi.koid);
        }
        break;
    }
    case 22: { /* process_start */
        uint64_t proc = pick(w, in, pi, MXH_OBJ_PROCESS);
        uint64_t th = pick(w, in, pi, MXH_OBJ_THREAD);
        uint64_t arg = pick(w, in, pi, 0);
        int64_t pre = pre_status(w, pi, proc);
        sh_t a = {0};
        if (sh_get(p, arg))
            a = *sh_get(p, arg);
        mxh_koid_t koid = 0;
        rc = mxh_process_start(pp, proc, th, arg, &koid);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (rc > 0) {
            int di = proc_by_koid(w, koid);
            ASSERT(di >= 0);
            ASSERT(a.value != 0);
            sh_remove(p, find(p, arg));
            sh_add(w, di, (uint32_t)rc, a.rights, a.type, a.koid);
            *mode = CHANGES;
        }
        break;
    }
    case 23: { /* thread_start */
        uint64_t th = pick(w, in, pi, MXH_OBJ_THREAD);
        int64_t pre = pre_status(w, pi, th);
        rc = mxh_thread_start(pp, th);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        break;
    }
    case 24: /* process_exit */
        rc = mxh_process_exit(pp, (int64_t)u32(in));
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        *mode = CHANGES;
        break;
    case 25: { /* task_kill */
        uint64_t t = pick(w, in, pi, u8(in) & 1 ? MXH_OBJ_PROCESS
                                                : MXH_OBJ_JOB);
        int64_t pre = pre_status(w, pi, t);
        rc = mxh_task_kill(pp, t);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre) {
            sh_t *s = sh_get(p, t);
            if (s->type != MXH_OBJ_PROCESS && s->type != MXH_OBJ_JOB &&
                s->type != MXH_OBJ_THREAD)
                ASSERT_EQ(rc, MXH_ERR_WRONG_TYPE);
            else if (!(s->rights & MXH_RIGHT_WRITE))
                ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
        }
        if (rc >= 0)
            *mode = CHANGES;
        break;
    }
    case 26: { /* a process killed from outside (the debugger's kill) */
        if (p->kind == P_INIT && u8(in) < 200)
            return 0;
        rc = mxh_proc_kill(pp);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        else
            ASSERT(rc >= 0);
        ASSERT(proc_dead(p));
        *mode = CHANGES;
        break;
    }
    case 27: { /* handle_basic and handle_get agree with the shadow */
        uint64_t h = pick(w, in, pi, 0);
        uint32_t type = k_types[u8(in) % 8];
        uint32_t rights = u8(in) & 1 ? 0 : 1u << (u8(in) % 12);
        int64_t pre = pre_status(w, pi, h);
        mxh_handle_info_t hi;
        rc = mxh_handle_basic(pp, h, &hi);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre) {
            sh_t *s = sh_get(p, h);
            ASSERT_EQ(rc, MXH_OK);
            ASSERT_EQ(hi.value, h);
            ASSERT_EQ(hi.koid, s->koid);
            ASSERT_EQ(hi.rights, s->rights);
            ASSERT_EQ(hi.type, s->type);
        }
        mxh_obj_t *o = NULL;
        rc = mxh_handle_get(pp, h, type, rights, &o);
        if (NOMEM(rc))
            break;
        expect_pre(rc, pre);
        if (!pre) {
            sh_t *s = sh_get(p, h);
            if (s->type != type)
                ASSERT_EQ(rc, MXH_ERR_WRONG_TYPE);
            else if ((s->rights & rights) != rights)
                ASSERT_EQ(rc, MXH_ERR_ACCESS_DENIED);
            else
                ASSERT_EQ(rc, s->koid);
        }
        if (rc >= 0) {
            sh_t *s = sh_get(p, h);
            ASSERT(o != NULL);
            ASSERT_EQ(mxh_object_koid(o), rc);
            ASSERT_EQ(mxh_object_type(o), s->type);
            ASSERT(!mxh_object_destroyed(o));
            ASSERT(mxh_object_handle_count(o) >= 1);
            ASSERT_EQ(mxh_object_signals(o), hi.signals);
            ASSERT_EQ(mxh_object_proc(o) != NULL,
                      s->type == MXH_OBJ_PROCESS);
            mxh_object_release(o);
        }
        *mode = QUERY;
        break;
    }
    case 28: { /* task info and the debugger topic */
        uint64_t h = pick(w, in, pi, 0);
        static const uint32_t topics[] = {
            MXH_INFO_PROCESS, MXH_INFO_PROCESS_THREADS, MXH_INFO_JOB_CHILDREN,
            MXH_INFO_JOB_PROCESSES, MXH_INFO_PROCESS_HANDLES, 0};
        uint32_t topic = topics[u8(in) % 6];
        int64_t pre = pre_status(w, pi, h);
        if (topic == MXH_INFO_PROCESS_HANDLES) {
            rc = mxh_process_handles_of(pp, h, g_hinfo, g_hinfo_cap);
            if (NOMEM(rc))
                break;
            expect_pre(rc, pre);
            sh_t *s = pre ? NULL : sh_get(p, h);
            if (s && s->type == MXH_OBJ_PROCESS &&
                (s->rights & MXH_RIGHT_ENUMERATE)) {
                int ti = proc_by_koid(w, s->koid);
                ASSERT(ti >= 0);
                ASSERT_EQ(rc, w->pr[ti].n);
            }
        } else {
            mxh_process_info_t info;
            mxh_koid_t koids[16];
            rc = mxh_task_info(pp, h, topic, &info, koids, 16);
            if (NOMEM(rc))
                break;
            if (topic == 0 && !dead)   /* the topic is checked first */
                ASSERT_EQ(rc, MXH_ERR_NOT_SUPPORTED);
            else
                expect_pre(rc, pre);
        }
        *mode = QUERY;
        break;
    }
    case 30: { /* the transit API: handles out of p, then bound to a process
                * (maybe another) or closed */
        uint64_t hs[8];
        size_t n = u8(in) % 9;
        for (size_t i = 0; i < n; i++)
            hs[i] = pick(w, in, pi, 0);
        int di = u8(in) % w->np;
        uint8_t how = u8(in);
        mxh_transit_t *t = NULL;
        rc = mxh_transit_take(pp, hs, n, NULL, &t);
        if (NOMEM(rc))
            break;
        if (dead)
            ASSERT_EQ(rc, MXH_ERR_BAD_STATE);
        if (rc < 0) {
            ASSERT(t == NULL);
            break;
        }
        ASSERT_EQ(rc, MXH_OK);
        sh_t taken[8];
        for (size_t i = 0; i < n; i++) {
            int j = find(p, hs[i]);
            ASSERT(j >= 0);
            ASSERT(p->h[j].rights & MXH_RIGHT_TRANSFER);
            taken[i] = sh_remove(p, j);
        }
        if (n == 0) {
            ASSERT(t == NULL);
            break;
        }
        *mode = CHANGES;
        ASSERT_EQ(mxh_transit_count(t), n);
        mxh_koid_t koids[8];
        ASSERT_EQ(mxh_transit_koids(t, koids, 8), n);
        for (size_t i = 0; i < n; i++)
            ASSERT_EQ(koids[i], taken[i].koid);
        if (how & 1) {
            uint32_t vals[8];
            bool ddead = proc_dead(&w->pr[di]);
            int64_t b = mxh_transit_bind(w->pr[di].p, t, vals);
            if (b < 0) {
                ASSERT(NOMEM(b) || (ddead && b == MXH_ERR_BAD_STATE));
                mxh_transit_close(t);   /* untouched: still ours */
            } else {
                ASSERT_EQ(b, n);
                for (size_t i = 0; i < n; i++)
                    sh_add(w, di, vals[i], taken[i].rights, taken[i].type,
                           taken[i].koid);
            }
        } else {
            mxh_transit_close(t);
        }
        break;
    }
    default: { /* 29: a value that is not the process's own is BAD_HANDLE */
        uint8_t b = u8(in);
        uint64_t h = (b & 1) ? u32(in) : pick(w, in, pi, 0);
        int64_t pre = pre_status(w, pi, h);
        mxh_handle_info_t hi;
        rc = mxh_handle_basic(pp, h, &hi);
        if (NOMEM(rc))
            break;
        if (pre)
            ASSERT_EQ(rc, pre);
        else
            ASSERT_EQ(rc, MXH_OK);
        *mode = QUERY;
        break;
    }
    }
    return rc;
}

/* ---- one input ----------------------------------------------------------------------- */

static buf_t g_before, g_after;

static void world_boot(world_t *w, uint64_t max_handles)
{
    memset(w, 0, sizeof *w);
    w->max_handles = max_handles;
    w->k = mxh_kernel_create(max_handles);
    ASSERT(w->k != NULL);
    mxh_proc_t *init = NULL;
    ASSERT_EQ(mxh_kernel_boot(w->k, 0xb007, &w->root, &init, &w->ithread),
              MXH_OK);
    w->seen_cap = 1u << 14;
    w->seen = xalloc(w->seen_cap * sizeof *w->seen);
    add_proc(w, init, P_INIT);
    int64_t rj = mxh_handle_create(init, w->root,
                                   mxh_default_rights(MXH_OBJ_JOB));
    if (rj > 0) {
        sh_add(w, 0, (uint32_t)rj, mxh_default_rights(MXH_OBJ_JOB),
               MXH_OBJ_JOB, mxh_object_koid(w->root));
    }
    for (int i = 0; i < 2; i++) {
        mxh_proc_t *p = mxh_proc_create(w->k, mix(0x5eed + i), 0);
        ASSERT(p != NULL);
        add_proc(w, p, P_BARE);
    }
}

static void world_teardown(world_t *w)
{
    g_step = MAXOPS + 1;
    g_op = -1;
    for (int i = 1; i < w->np; i++)
        if (!proc_dead(&w->pr[i]))
            ASSERT(mxh_proc_kill(w->pr[i].p) >= 0);
    check_world(w);
    proc_t *init = &w->pr[0];
    if (!proc_dead(init)) {
        uint64_t *hs = xalloc((init->n + 1) * sizeof *hs);
        for (size_t i = 0; i < init->n; i++)
            hs[i] = init->h[i].value;
        ASSERT_EQ(mxh_handle_close_many(init->p, hs, init->n), MXH_OK);
        free(hs);
        while (init->n)
            sh_remove(init, 0);
    }
    ASSERT(mxh_kernel_collect(w->k) >= 0);
    check_world(w);
    ASSERT_EQ(w->nmsgs, 0);
    for (int i = 1; i < w->np; i++) {
        mxh_obj_t *o = mxh_proc_object(w->pr[i].p);
        if (w->pr[i].kind == P_BARE)
            mxh_object_release(o);
        else
            mxh_object_unpin(o);
    }
    /* Only the kernel's own objects are left. */
    mxh_stats_t s;
    mxh_kernel_stats(w->k, &s);
    ASSERT_EQ(s.live_handles, 0);
    ASSERT_EQ(s.in_transit_handles, 0);
    for (int t = 0; t < 8; t++) {
        uint64_t want = t == MXH_STATS_JOB || t == MXH_STATS_PROCESS ||
                        t == MXH_STATS_THREAD;
        if (s.live_objects[t] != want)
            FAIL("after teardown, %" PRIu64 " live objects of stats index "
                 "%d (want %" PRIu64 ")", s.live_objects[t], t, want);
    }
    mxh_object_release(w->ithread);
    mxh_object_release(mxh_proc_object(init->p));
    mxh_object_release(w->root);
    mxh_kernel_stats(w->k, &s);
    for (int t = 0; t < 8; t++)
        ASSERT_EQ(s.live_objects[t], 0);
    mxh_kernel_release(w->k);
    for (int i = 0; i < w->np; i++)
        free(w->pr[i].h);
    for (size_t i = 0; i < w->nmsgs; i++)
        msg_free(&w->msgs[i]);
    free(w->msgs);
    free(w->seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in = {data, size, 0};
    /* The handle limit: small ones exercise exhaustion. */
    uint8_t lim = u8(&in);
    uint64_t max_handles = lim < 64 ? 1 + lim : lim < 128 ? 64 + lim * 4 : 0;
    world_t w;
    world_boot(&w, max_handles);
    if (!max_handles)
        w.max_handles = MXH_DEFAULT_MAX_HANDLES;
    g_step = 0;
    check_world(&w);
    while (in.i < in.n && g_step < MAXOPS) {
        g_step++;
        int op = u8(&in) % (NOPS + 1);
        uint64_t nth = 0;
        if (op == OP_FAULT) {
            nth = 1 + u8(&in) % 8;
            op = u8(&in) % NOPS;
        }
        g_op = op;
        int mode = 0;
        snapshot(&w, &g_before);
        g_fault = nth != 0;
        mxh_fault_fail_nth(nth);
        int64_t rc = run_op(&w, &in, op, &mode);
        mxh_fault_fail_nth(0);
        g_fault = false;
        if (rc == MXH_ERR_NO_MEMORY) {
            ASSERT(nth != 0);
            if (op != 2)
                mode = UNCHANGED_ON_FAILURE;
        }
        if (mode == QUERY || (mode == UNCHANGED_ON_FAILURE && rc < 0)) {
            snapshot(&w, &g_after);
            if (g_before.n != g_after.n ||
                memcmp(g_before.b, g_after.b, g_before.n) != 0)
                FAIL("call failed with %" PRId64 " (or was a query) but "
                     "changed the kernel", rc);
        }
        check_world(&w);
    }
    world_teardown(&w);
    return 0;
}
