/*
 * callgrind_ops.c - one hot path of the core, a fixed number of times, for
 * instruction counts under valgrind --tool=callgrind (bench/callgrind.sh).
 *
 *   callgrind_ops OP N
 *
 * Builds the state OP needs, runs OP WARMUP times (the table past its
 * quarantine, malloc's free lists filled, every branch of the path taken
 * once), then N more times, tears everything down and exits 0.  The
 * instructions of one operation are (Ir(OP, N) - Ir(OP, 0)) / N: the set-up,
 * the warm-up, the teardown and the process's start and exit are the same
 * in both runs and cancel out.  `callgrind_ops --list` prints the ops.
 * Any syscall failure exits 1 (so a broken op cannot pass for a cheap one).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxhandles.h"

#define EV_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                   MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define CH_RIGHTS (MXH_RIGHT_TRANSFER | MXH_RIGHT_READ | MXH_RIGHT_WRITE)
#define JOB_RIGHTS (MXH_RIGHT_DUPLICATE | MXH_RIGHT_TRANSFER | \
                    MXH_RIGHT_READ | MXH_RIGHT_WRITE | MXH_RIGHT_ENUMERATE)
#define U0 (1u << 24)
/* Warm-up runs of an op: past MXH_QUARANTINE (8192) closed slots, so that
 * every measured dup reuses a slot, as in a long-running program. */
#define WARMUP 10000L

static int64_t ok(int64_t rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "callgrind_ops: %s failed (%lld)\n", what,
                (long long)rc);
        exit(1);
    }
    return rc;
}

/* A booted kernel (root job, init, init's thread) and init's handle to
 * the root job: every op runs as init. */
typedef struct {
    mxh_kernel_t *k;
    mxh_obj_t *root, *thread;
    mxh_proc_t *init;
    uint64_t rj;
} booted;

static void boot(booted *b)
{
    b->k = mxh_kernel_create(0);
    if (!b->k)
        ok(MXH_ERR_NO_MEMORY, "mxh_kernel_create");
    ok(mxh_kernel_boot(b->k, 7, &b->root, &b->init, &b->thread), "boot");
    b->rj = (uint64_t)ok(mxh_handle_create(b->init, b->root, JOB_RIGHTS),
                         "root job handle");
}

static void unboot(booted *b)
{
    ok(mxh_handle_close(b->init, b->rj), "close");
    mxh_object_release(b->thread);
    mxh_object_release(mxh_proc_object(b->init));
    mxh_object_release(b->root);
    mxh_kernel_release(b->k);
}

static uint64_t event(booted *b)
{
    return (uint64_t)ok(mxh_object_create_handle(b->init, MXH_OBJ_EVENT,
                                                 EV_RIGHTS), "event");
}

static void op_dup_close(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    uint64_t h = event(b);
    for (long i = 0; i < n; i++)
        ok(mxh_handle_close(p, (uint64_t)ok(
            mxh_handle_duplicate(p, h, MXH_RIGHT_SAME_RIGHTS), "dup")),
           "close");
}

static void channel_rt(booted *b, long n, size_t nh)
{
    mxh_proc_t *p = b->init;
    uint32_t c[2];
    ok(mxh_pair_create_handles(p, MXH_OBJ_CHANNEL, CH_RIGHTS, c, NULL),
       "channel");
    uint64_t hs[4];
    uint32_t out[4];
    for (size_t j = 0; j < nh; j++)
        hs[j] = event(b);
    unsigned char msg[8] = "0123456", buf[8];
    uint64_t actual[3];
    for (long i = 0; i < n; i++) {
        ok(mxh_channel_write(p, c[0], msg, sizeof msg, hs, nh), "write");
        ok(mxh_channel_read(p, c[1], 0, sizeof buf, 4, buf, out, actual),
           "read");
        for (size_t j = 0; j < nh; j++)
            hs[j] = out[j];
    }
}

static void op_channel0(booted *b, long n) { channel_rt(b, n, 0); }
static void op_channel1(booted *b, long n) { channel_rt(b, n, 1); }
static void op_channel4(booted *b, long n) { channel_rt(b, n, 4); }

static void op_object_signal(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    uint64_t h = event(b);
    for (long i = 0; i < n; i++)   /* as the Python row: clear U0, set U0 */
        ok(mxh_object_signal(p, h, U0, U0, 0), "signal");
}

static void op_wait_one(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    uint64_t h = event(b);
    ok(mxh_object_signal(p, h, 0, U0, 0), "signal");
    uint32_t observed;
    for (long i = 0; i < n; i++)   /* asserted already: returns at once */
        ok(mxh_object_wait_one(p, h, U0, UINT64_MAX, &observed), "wait");
}

static void op_port(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    uint64_t port = (uint64_t)ok(mxh_object_create_handle(
        p, MXH_OBJ_PORT, EV_RIGHTS), "port");
    unsigned char payload[MXH_PORT_PAYLOAD] = "0123456789abcdef";
    mxh_packet_t pk;
    for (long i = 0; i < n; i++) {
        ok(mxh_port_queue(p, port, (uint64_t)i, 0, payload, sizeof payload),
           "queue");
        ok(mxh_port_wait(p, port, UINT64_MAX, &pk), "wait");
    }
}

static void op_get_info(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    uint64_t h = event(b);
    mxh_handle_info_t info;
    for (long i = 0; i < n; i++)   /* INFO_HANDLE_BASIC */
        ok(mxh_handle_basic(p, h, &info), "basic");
}

static void op_process(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    for (long i = 0; i < n; i++) {
        mxh_proc_t *np;
        uint64_t ph = (uint64_t)ok(mxh_process_create(p, b->rj, (uint64_t)i,
                                                      0, &np), "process");
        ok(mxh_task_kill(p, ph), "kill");
        ok(mxh_handle_close(p, ph), "close");
        mxh_object_unpin(mxh_proc_object(np));
    }
}

static void op_close_many(booted *b, long n, size_t m)
{
    mxh_proc_t *p = b->init;
    uint64_t h = event(b), hs[1024];
    for (long i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++)
            hs[j] = (uint64_t)ok(mxh_handle_duplicate(
                p, h, MXH_RIGHT_SAME_RIGHTS), "dup");
        ok(mxh_handle_close_many(p, hs, m), "close_many");
    }
}

static void op_close_many64(booted *b, long n) { op_close_many(b, n, 64); }

static void op_dup64_close_each(booted *b, long n)
{
    mxh_proc_t *p = b->init;
    uint64_t h = event(b), hs[64];
    for (long i = 0; i < n; i++) {
        for (size_t j = 0; j < 64; j++)
            hs[j] = (uint64_t)ok(mxh_handle_duplicate(
                p, h, MXH_RIGHT_SAME_RIGHTS), "dup");
        for (size_t j = 0; j < 64; j++)
            ok(mxh_handle_close(p, hs[j]), "close");
    }
}

static const struct {
    const char *name;
    const char *doc;
    void (*run)(booted *, long);
    long warmup;                    /* runs before the measured ones */
} OPS[] = {
    {"dup_close", "mxh_handle_duplicate + mxh_handle_close", op_dup_close,
     WARMUP},
    {"channel_rt_0", "channel write + read, 8 bytes, 0 handles", op_channel0,
     WARMUP},
    {"channel_rt_1", "channel write + read, 8 bytes, 1 handle", op_channel1,
     WARMUP},
    {"channel_rt_4", "channel write + read, 8 bytes, 4 handles", op_channel4,
     WARMUP},
    {"object_signal", "mxh_object_signal(h, U0, U0) on an event",
     op_object_signal, WARMUP},
    {"wait_one_ready", "mxh_object_wait_one, signal already asserted",
     op_wait_one, WARMUP},
    {"port_queue_wait", "mxh_port_queue (32-byte payload) + mxh_port_wait",
     op_port, WARMUP},
    {"get_info_basic", "mxh_handle_basic (INFO_HANDLE_BASIC)", op_get_info,
     WARMUP},
    {"process_create_kill",
     "mxh_process_create + mxh_task_kill + mxh_handle_close", op_process,
     2000},
    {"dup64_close_many", "64 x mxh_handle_duplicate + one close_many of 64",
     op_close_many64, 200},
    {"dup64_close_each", "64 x mxh_handle_duplicate + 64 x mxh_handle_close",
     op_dup64_close_each, 200},
};
#define NOPS (sizeof OPS / sizeof OPS[0])

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NOPS; i++)
            printf("%s\t%s\n", OPS[i].name, OPS[i].doc);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: callgrind_ops OP N | --list\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[2], &end, 10);
    if (*end || n < 0) {
        fprintf(stderr, "callgrind_ops: bad count %s\n", argv[2]);
        return 2;
    }
    for (size_t i = 0; i < NOPS; i++) {
        if (strcmp(OPS[i].name, argv[1]) == 0) {
            booted b;
            boot(&b);
            OPS[i].run(&b, OPS[i].warmup + n);
            unboot(&b);
            return 0;
        }
    }
    fprintf(stderr, "callgrind_ops: no op %s (--list)\n", argv[1]);
    return 2;
}
