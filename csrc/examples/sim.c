/*
 * sim.c - a small simulated system on the mxhandles C library.
 *
 * init starts two processes, a "server" and a "client", each with one end
 * of a channel as its bootstrap handle.  Then, all in one thread, acting
 * as one process or another by passing its mxh_proc_t:
 *
 *   1. init hands the server a read-only duplicate of an event through a
 *      channel; the server's attempts to signal or duplicate it are
 *      denied (MXH_ERR_ACCESS_DENIED), waiting on it works;
 *   2. the server makes a channel and sends one end to init, which
 *      forwards it to the client: a handle crossing three tables;
 *   3. client and server talk over that channel;
 *   4. init kills the server: its table is closed, the objects only it
 *      held die, the client sees PEER_CLOSED;
 *   5. two channels holding each other's only handles are reclaimed by
 *      mxh_kernel_collect;
 *   6. the client exits with a code init reads back; everything is let go.
 *
 * Every call's result is checked against what the contract in mxhandles.h
 * promises; the first surprise prints where and exits with status 1.  The
 * output depends on nothing but the fixed secrets below, so two runs (or
 * two builds: static and shared library) print the same trace.
 *
 * Build: cc -std=c11 -I csrc examples/sim.c -L csrc/build -lmxhandles -lpthread
 * (or `make -C csrc example`, which builds and compares three variants).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxhandles.h"

/* ---- checking every call ------------------------------------------------- */

static void fail(const char *file, int line, const char *expr, int64_t got,
                 const char *want)
{
    fprintf(stderr, "%s:%d: %s returned %" PRId64 ", expected %s\n", file,
            line, expr, got, want);
    exit(1);
}

static int64_t ok_(int64_t rc, const char *file, int line, const char *expr)
{
    if (rc < 0)
        fail(file, line, expr, rc, "success (>= 0)");
    return rc;
}

static void expect_(int64_t rc, int64_t want, const char *file, int line,
                    const char *expr, const char *want_s)
{
    if (rc != want)
        fail(file, line, expr, rc, want_s);
}

/* OK(call): the call must succeed; evaluates to its (non-negative) value. */
#define OK(e) ok_((int64_t)(e), __FILE__, __LINE__, #e)
/* EXPECT(call, value): the call must return exactly `value`. */
#define EXPECT(e, v) expect_((int64_t)(e), (int64_t)(v), __FILE__, __LINE__, #e, #v)
/* CHECK(cond): anything else the simulation relies on. */
#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #c); \
            exit(1);                                                      \
        }                                                                 \
    } while (0)

/* ---- printing -------------------------------------------------------------- */

static const char *type_name(uint32_t type)
{
    switch (type) {
    case MXH_OBJ_PROCESS: return "process";
    case MXH_OBJ_THREAD: return "thread";
    case MXH_OBJ_CHANNEL: return "channel";
    case MXH_OBJ_EVENT: return "event";
    case MXH_OBJ_EVENT_PAIR: return "eventpair";
    case MXH_OBJ_JOB: return "job";
    case MXH_OBJ_PORT: return "port";
    default: return "?";
    }
}

static void print_rights(uint32_t r)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {MXH_RIGHT_DUPLICATE, "dup"}, {MXH_RIGHT_TRANSFER, "xfer"},
        {MXH_RIGHT_READ, "read"}, {MXH_RIGHT_WRITE, "write"},
        {MXH_RIGHT_ENUMERATE, "enum"}, {MXH_RIGHT_GET_PROPERTY, "get_prop"},
        {MXH_RIGHT_SET_PROPERTY, "set_prop"}, {MXH_RIGHT_GET_POLICY, "get_pol"},
        {MXH_RIGHT_SET_POLICY, "set_pol"},
    };
    const char *sep = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (r & names[i].bit) {
            printf("%s%s", sep, names[i].name);
            sep = ",";
        }
    }
    uint32_t known = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        known |= names[i].bit;
    if (r & ~known)
        printf("%s0x%" PRIx32, sep, r & ~known);
}

/* A process of the simulation: the library's process and a name. */
typedef struct {
    const char *name;
    mxh_proc_t *p;
} actor_t;

/* Prints a process's table, as a debugger would see it. */
static void print_table(const actor_t *a)
{
    mxh_handle_info_t tab[16];
    int64_t n = OK(mxh_proc_handles(a->p, tab, 16));
    CHECK(n <= 16);
    printf("  %s's table, %" PRId64 " handle%s:\n", a->name, n,
           n == 1 ? "" : "s");
    for (int64_t i = 0; i < n; i++) {
        printf("    0x%08" PRIx32 "  %-9s koid %-5" PRIu64 " rights ",
               tab[i].value, type_name(tab[i].type), tab[i].koid);
        print_rights(tab[i].rights);
        printf("\n");
    }
}

static void print_stats(mxh_kernel_t *k, const char *when)
{
    mxh_stats_t st;
    mxh_kernel_stats(k, &st);
    printf("  counters %s: %" PRIu64 " live handles (%" PRIu64
           " in transit); live objects: %" PRIu64 " job, %" PRIu64
           " process, %" PRIu64 " thread, %" PRIu64 " channel, %" PRIu64
           " event; %" PRIu64 " destroyed so far\n",
           when, st.live_handles, st.in_transit_handles,
           st.live_objects[MXH_STATS_JOB], st.live_objects[MXH_STATS_PROCESS],
           st.live_objects[MXH_STATS_THREAD],
           st.live_objects[MXH_STATS_CHANNEL],
           st.live_objects[MXH_STATS_EVENT], st.destroyed_objects);
}

/* Reads one message of at most 64 bytes and 4 handles from `h`, expecting
 * `want_handles` handles.  The text is NUL-terminated into text[64]. */
static void read_msg(const actor_t *a, uint64_t h, char text[64],
                     uint32_t *handles, uint32_t want_handles)
{
    uint64_t actual[2] = {0, 0};
    int64_t r = OK(mxh_channel_read(a->p, h, 0, 63, 4, text, handles, actual));
    uint32_t nbytes = (uint32_t)(r & 0xffffffff), nh = (uint32_t)(r >> 32);
    CHECK(nbytes < 64);
    EXPECT(nh, want_handles);
    text[nbytes] = '\0';
    printf("  %s reads \"%s\"", a->name, text);
    for (uint32_t i = 0; i < nh; i++)
        printf("%s0x%08" PRIx32, i ? ", " : " with handle ", handles[i]);
    printf("\n");
}

/* Writes a text (without its NUL) and hs[0..n) to `h`. */
static void write_msg(const actor_t *a, uint64_t h, const char *text,
                      const uint64_t *hs, size_t n)
{
    OK(mxh_channel_write(a->p, h, text, strlen(text), hs, n));
    printf("  %s writes \"%s\"%s\n", a->name, text,
           n ? " (its handles leave its table)" : "");
}

/* ---- the simulation --------------------------------------------------------- */

/* Starts a new process in the job `job` of `parent`, with `boot` (a handle
 * of the parent) moved in as its bootstrap handle.  Returns the parent's
 * handle to the process; *th gets the parent's handle to its thread (a
 * thread whose last handle goes is killed, and with it a process whose last
 * thread that was), *boot_in the bootstrap handle's value in the child, a->p
 * the child (pinned for us: unpin it when done). */
static uint64_t spawn(const actor_t *parent, uint64_t job, actor_t *a,
                      uint64_t secret, uint64_t boot, uint64_t *th_out,
                      uint64_t *boot_in)
{
    uint64_t ph = (uint64_t)OK(mxh_process_create(parent->p, job, secret, 0,
                                                  &a->p));
    uint64_t th = (uint64_t)OK(mxh_thread_create(parent->p, ph, 0));
    mxh_koid_t koid = 0;
    *boot_in = (uint64_t)OK(mxh_process_start(parent->p, ph, th, boot, &koid));
    EXPECT(mxh_object_koid(mxh_proc_object(a->p)), koid);
    *th_out = th;
    printf("  init starts \"%s\" (koid %" PRIu64 "); its bootstrap handle "
           "is 0x%08" PRIx64 " there\n", a->name, koid, *boot_in);
    return ph;
}

int main(void)
{
    char text[64];
    uint32_t got[4];

    /* ---- boot ----------------------------------------------------------- */
    printf("== boot\n");
    mxh_kernel_t *k = mxh_kernel_create(0);
    CHECK(k != NULL);
    mxh_obj_t *root_job, *init_thread;
    actor_t init = {"init", NULL};
    EXPECT(mxh_kernel_boot(k, 0x1111, &root_job, &init.p, &init_thread),
           MXH_OK);
    printf("  root job koid %" PRIu64 ", init koid %" PRIu64
           ", init's thread koid %" PRIu64 "\n", mxh_object_koid(root_job),
           mxh_object_koid(mxh_proc_object(init.p)),
           mxh_object_koid(init_thread));
    /* init's handle to the root job: what it creates processes in. */
    uint64_t rj = (uint64_t)OK(mxh_handle_create(
        init.p, root_job, mxh_default_rights(MXH_OBJ_JOB)));

    /* ---- two processes, each with a channel end as bootstrap ------------ */
    printf("== processes\n");
    uint32_t cs[2], cc[2];
    OK(mxh_pair_create_handles(init.p, MXH_OBJ_CHANNEL,
                               mxh_default_rights(MXH_OBJ_CHANNEL), cs, NULL));
    OK(mxh_pair_create_handles(init.p, MXH_OBJ_CHANNEL,
                               mxh_default_rights(MXH_OBJ_CHANNEL), cc, NULL));
    actor_t server = {"server", NULL}, client = {"client", NULL};
    uint64_t s_boot, c_boot, s_thread, c_thread;
    uint64_t server_h = spawn(&init, rj, &server, 0x2222, cs[1], &s_thread,
                              &s_boot);
    uint64_t client_h = spawn(&init, rj, &client, 0x3333, cc[1], &c_thread,
                              &c_boot);
    /* The bootstrap ends moved: init's old values are stale now. */
    EXPECT(mxh_handle_close(init.p, cs[1]), MXH_ERR_BAD_HANDLE);
    print_table(&init);
    print_stats(k, "after spawning");

    /* ---- 1. a read-only event for the server ------------------------------ */
    printf("== 1. rights\n");
    uint64_t ev = (uint64_t)OK(mxh_object_create_handle(
        init.p, MXH_OBJ_EVENT, mxh_default_rights(MXH_OBJ_EVENT)));
    uint64_t ro = (uint64_t)OK(mxh_handle_duplicate(
        init.p, ev, MXH_RIGHT_TRANSFER | MXH_RIGHT_READ));
    write_msg(&init, cs[0], "an event to watch", &ro, 1);
    EXPECT(mxh_handle_close(init.p, ro), MXH_ERR_BAD_HANDLE);   /* moved */
    read_msg(&server, s_boot, text, got, 1);
    uint64_t s_ev = got[0];
    mxh_handle_info_t info;
    EXPECT(mxh_handle_basic(server.p, s_ev, &info), MXH_OK);
    EXPECT(info.type, MXH_OBJ_EVENT);
    EXPECT(info.rights, MXH_RIGHT_TRANSFER | MXH_RIGHT_READ);
    EXPECT(mxh_object_signal(server.p, s_ev, 0, MXH_SIGNAL_EVENT_SIGNALED, 0),
           MXH_ERR_ACCESS_DENIED);
    printf("  server signals it: ACCESS_DENIED (no WRITE right)\n");
    EXPECT(mxh_handle_duplicate(server.p, s_ev, MXH_RIGHT_SAME_RIGHTS),
           MXH_ERR_ACCESS_DENIED);
    printf("  server duplicates it: ACCESS_DENIED (no DUPLICATE right)\n");
    EXPECT(mxh_handle_duplicate(init.p, ev, MXH_RIGHT_DESTROY),
           MXH_ERR_INVALID_ARGS);
    printf("  init asks for a right it lacks: INVALID_ARGS\n");
    uint32_t seen = 0;
    EXPECT(mxh_object_wait_one(server.p, s_ev, MXH_SIGNAL_EVENT_SIGNALED, 0,
                               &seen), MXH_ERR_TIMED_OUT);
    OK(mxh_object_signal(init.p, ev, 0, MXH_SIGNAL_EVENT_SIGNALED, 0));
    EXPECT(mxh_object_wait_one(server.p, s_ev, MXH_SIGNAL_EVENT_SIGNALED, 0,
                               &seen), MXH_SIGNAL_EVENT_SIGNALED);
    printf("  init signals it; server's poll sees 0x%" PRIx32 "\n", seen);

    /* ---- 2. a handle through three tables ------------------------------------ */
    printf("== 2. forwarding a channel end\n");
    uint32_t svc[2];
    mxh_koid_t svc_koid[2];
    OK(mxh_pair_create_handles(server.p, MXH_OBJ_CHANNEL,
                               mxh_default_rights(MXH_OBJ_CHANNEL), svc,
                               svc_koid));
    uint64_t give = svc[1];
    write_msg(&server, s_boot, "my service", &give, 1);
    read_msg(&init, cs[0], text, got, 1);
    uint64_t fwd = got[0];
    write_msg(&init, cc[0], "talk to the server here", &fwd, 1);
    read_msg(&client, c_boot, text, got, 1);
    uint64_t c_svc = got[0];
    EXPECT(mxh_handle_get(client.p, c_svc, MXH_OBJ_CHANNEL, 0, NULL),
           svc_koid[1]);
    printf("  the client's 0x%08" PRIx64 " is koid %" PRIu64
           ", the end the server made\n", c_svc, svc_koid[1]);

    /* ---- 3. client and server talk ------------------------------------------- */
    printf("== 3. messages\n");
    write_msg(&client, c_svc, "ping", NULL, 0);
    read_msg(&server, svc[0], text, got, 0);
    write_msg(&server, svc[0], "pong", NULL, 0);
    read_msg(&client, c_svc, text, got, 0);
    uint64_t actual[2];
    EXPECT(mxh_channel_read(client.p, c_svc, 0, 63, 4, text, got, actual),
           MXH_ERR_SHOULD_WAIT);
    print_table(&server);
    print_table(&client);
    print_stats(k, "before the kill");

    /* ---- 4. the server dies ----------------------------------------------------- */
    printf("== 4. init kills the server\n");
    mxh_stats_t before, after;
    uint32_t sig = 0;
    mxh_kernel_stats(k, &before);
    OK(mxh_task_kill(init.p, server_h));
    mxh_kernel_stats(k, &after);
    int64_t code = 0;
    EXPECT(mxh_proc_state(server.p, &code), 2);     /* exited */
    EXPECT(code, -1);
    EXPECT(mxh_proc_handle_count(server.p), 0);
    /* Its table held three handles: its bootstrap end and its service end,
     * whose objects die with them (each peer just sees PEER_CLOSED), and
     * the read-only event handle, whose event lives on through init's. */
    EXPECT(before.live_handles - after.live_handles, 3);
    EXPECT(after.destroyed_objects - before.destroyed_objects, 2);
    EXPECT(mxh_object_wait_one(init.p, cs[0], MXH_SIGNAL_CHANNEL_PEER_CLOSED,
                               0, &sig), MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    EXPECT(mxh_handle_get(init.p, ev, MXH_OBJ_EVENT, 0, NULL),
           info.koid);
    printf("  server's table closed: 3 handles fewer; its two channel ends "
           "destroyed (init's and the client's ends see PEER_CLOSED); the "
           "event lives on through init's handle\n");
    EXPECT(mxh_object_signal(server.p, s_ev, 0, 0, 0), MXH_ERR_BAD_STATE);
    printf("  the dead server's calls: BAD_STATE\n");
    EXPECT(mxh_object_wait_one(client.p, c_svc,
                               MXH_SIGNAL_CHANNEL_PEER_CLOSED, 0, &sig),
           MXH_SIGNAL_CHANNEL_PEER_CLOSED);
    EXPECT(mxh_channel_write(client.p, c_svc, "ping", 4, NULL, 0),
           MXH_ERR_PEER_CLOSED);
    printf("  client's service end: PEER_CLOSED\n");
    mxh_process_info_t pi;
    EXPECT(mxh_task_info(init.p, server_h, MXH_INFO_PROCESS, &pi, NULL, 0), 0);
    printf("  init's view: started %d, exited %d, return code %" PRId64 "\n",
           pi.started, pi.exited, pi.return_code);
    OK(mxh_handle_close(init.p, server_h));
    OK(mxh_handle_close(init.p, s_thread));
    OK(mxh_handle_close(init.p, cs[0]));        /* the server's old channel */
    OK(mxh_handle_close(client.p, c_svc));

    /* ---- 5. a cycle no process can reach ------------------------------------------- */
    printf("== 5. collecting an unreachable cycle\n");
    uint32_t x[2], y[2];
    OK(mxh_pair_create_handles(init.p, MXH_OBJ_CHANNEL,
                               mxh_default_rights(MXH_OBJ_CHANNEL), x, NULL));
    OK(mxh_pair_create_handles(init.p, MXH_OBJ_CHANNEL,
                               mxh_default_rights(MXH_OBJ_CHANNEL), y, NULL));
    uint64_t hx = x[0], hy = y[1];
    write_msg(&init, y[0], "x0, to y1's queue", &hx, 1);
    write_msg(&init, x[1], "y1, to x0's queue", &hy, 1);
    uint64_t rest[2] = {x[1], y[0]};
    OK(mxh_handle_close_many(init.p, rest, 2));
    mxh_kernel_stats(k, &before);
    printf("  init closed x1 and y0: %" PRIu64 " channels live, %" PRIu64
           " handles in transit, none reachable\n",
           before.live_objects[MXH_STATS_CHANNEL], before.in_transit_handles);
    EXPECT(mxh_kernel_collect(k), 2);
    mxh_kernel_stats(k, &after);
    EXPECT(after.in_transit_handles, 0);
    printf("  mxh_kernel_collect: 2 endpoints destroyed, %" PRIu64
           " handles in transit\n", after.in_transit_handles);

    /* ---- 6. the client exits ---------------------------------------------------------- */
    printf("== 6. the client exits\n");
    OK(mxh_process_exit(client.p, 7));
    EXPECT(mxh_task_info(init.p, client_h, MXH_INFO_PROCESS, &pi, NULL, 0), 0);
    EXPECT(pi.return_code, 7);
    printf("  init's view: exited %d, return code %" PRId64 "\n", pi.exited,
           pi.return_code);
    OK(mxh_handle_close(init.p, c_thread));
    OK(mxh_handle_close(init.p, client_h));     /* the last reference */
    EXPECT(mxh_object_destroyed(mxh_proc_object(client.p)), 1);
    EXPECT(mxh_object_destroyed(mxh_proc_object(server.p)), 1);
    OK(mxh_handle_close(init.p, cc[0]));
    OK(mxh_handle_close(init.p, ev));
    print_table(&init);
    print_stats(k, "at the end");
    mxh_kernel_stats(k, &after);
    EXPECT(after.live_handles, 1);              /* init's root-job handle */
    EXPECT(after.live_objects[MXH_STATS_CHANNEL], 0);
    EXPECT(after.live_objects[MXH_STATS_EVENT], 0);
    EXPECT(after.live_objects[MXH_STATS_PROCESS], 1);   /* init */

    /* ---- teardown ----------------------------------------------------------------------- */
    /* The process views mxh_process_create pinned for us, the kernel's
     * three references from mxh_kernel_boot, then the kernel itself. */
    mxh_object_unpin(mxh_proc_object(server.p));
    mxh_object_unpin(mxh_proc_object(client.p));
    mxh_object_release(init_thread);
    mxh_object_release(mxh_proc_object(init.p));
    mxh_object_release(root_job);
    mxh_kernel_release(k);
    printf("== done\n");
    return 0;
}
