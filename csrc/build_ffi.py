"""cffi builder for mxhandles' C core (API, out-of-line mode).

Used by setup.py's ``cffi_modules``; not shipped in the wheel.  The cdef
declares only what Python calls: opaque types, ``...`` constants that the
compiler fills in from mxhandles.h, and the functions.  Struct layouts are
declared with a trailing ``...;`` so cffi checks them against the header.

Handle-value arrays (close_many, channel write and call) are declared
``const void *`` here, ``const uint64_t *`` in the header (C converts
``void *`` implicitly): Python hands them over as bytes packed by
``struct``, which is both cheaper than cffi's list conversion and the type
check SPEC wants (cffi would take any object with ``__int__``).
"""
import glob
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
# The library's sources: every .c directly in csrc/ (tests, bench and
# examples live in subdirectories).
SOURCES = sorted(os.path.relpath(p) for p in glob.glob(os.path.join(HERE, "*.c")))

CDEF = r"""
#define MXH_OK ...
#define MXH_PROC_MAX_SLOTS ...
#define MXH_QUARANTINE ...
#define MXH_TRANSIT_MAX ...
#define MXH_CHANNEL_MAX_BYTES ...
#define MXH_CHANNEL_READ_MAY_DISCARD ...
#define MXH_DEFAULT_MAX_HANDLES ...
#define MXH_PORT_MAX_PACKETS ...
#define MXH_PORT_PAYLOAD ...

typedef int32_t mxh_status_t;
typedef uint64_t mxh_koid_t;
typedef struct mxh_kernel mxh_kernel_t;
typedef struct mxh_obj mxh_obj_t;
typedef struct mxh_proc mxh_proc_t;
typedef struct mxh_transit mxh_transit_t;

typedef struct mxh_stats {
    uint64_t live_handles;
    uint64_t in_transit_handles;
    uint64_t live_objects[8];
    uint64_t destroyed_objects;
    ...;
} mxh_stats_t;

typedef struct mxh_handle_info {
    uint32_t value;
    uint32_t type;
    uint32_t rights;
    uint32_t signals;
    mxh_koid_t koid;
    mxh_koid_t related_koid;
    ...;
} mxh_handle_info_t;

typedef struct mxh_object_info {
    mxh_koid_t koid;
    mxh_koid_t related_koid;
    uint32_t type;
    uint32_t handle_count;
    uint32_t signals;
    uint32_t queued;
    ...;
} mxh_object_info_t;

typedef struct mxh_packet {
    uint64_t key;
    uint32_t type;
    int32_t status;
    uint32_t trigger;
    uint32_t observed;
    uint64_t count;
    uint8_t user[32];
    ...;
} mxh_packet_t;

typedef struct mxh_process_info {
    int64_t return_code;
    int32_t started;
    int32_t exited;
    ...;
} mxh_process_info_t;

typedef struct mxh_message_info {
    mxh_koid_t endpoint_koid;
    uint32_t nbytes;
    uint32_t handle_count;
    ...;
} mxh_message_info_t;

mxh_kernel_t *mxh_kernel_create(uint64_t max_handles);
void mxh_kernel_release(mxh_kernel_t *k);
void mxh_kernel_stats(mxh_kernel_t *k, mxh_stats_t *out);
mxh_koid_t mxh_kernel_peek_koid(mxh_kernel_t *k);
int64_t mxh_kernel_objects(mxh_kernel_t *k, mxh_object_info_t *out, size_t cap);
int64_t mxh_kernel_messages(mxh_kernel_t *k, mxh_message_info_t *out,
                            size_t cap, mxh_koid_t *koids, size_t koid_cap,
                            uint64_t *total_koids);
int64_t mxh_kernel_collect(mxh_kernel_t *k);

mxh_obj_t *mxh_object_create(mxh_kernel_t *k, uint32_t type,
                             mxh_koid_t related_koid);
mxh_koid_t mxh_object_koid(const mxh_obj_t *o);
uint32_t mxh_object_type(const mxh_obj_t *o);
uint32_t mxh_object_handle_count(const mxh_obj_t *o);
uint32_t mxh_object_signals(const mxh_obj_t *o);
mxh_koid_t mxh_object_peer_koid(mxh_obj_t *o);
void mxh_object_ref(mxh_obj_t *o);
void mxh_object_release(mxh_obj_t *o);
void mxh_object_pin(mxh_obj_t *o);
void mxh_object_unpin(mxh_obj_t *o);
int mxh_object_destroyed(const mxh_obj_t *o);
uint32_t mxh_object_signal_raw(mxh_obj_t *o, uint32_t clear, uint32_t set);

mxh_proc_t *mxh_proc_create(mxh_kernel_t *k, uint64_t secret,
                            mxh_koid_t job_koid);
mxh_obj_t *mxh_proc_object(mxh_proc_t *p);
mxh_proc_t *mxh_object_proc(mxh_obj_t *o);
uint64_t mxh_proc_handle_count(mxh_proc_t *p);
int mxh_proc_is_dead(mxh_proc_t *p);
int64_t mxh_proc_kill(mxh_proc_t *p);
int64_t mxh_proc_handles(mxh_proc_t *p, mxh_handle_info_t *out, size_t cap);

int64_t mxh_handle_create(mxh_proc_t *p, mxh_obj_t *o, uint32_t rights);
int64_t mxh_object_create_handle(mxh_proc_t *p, uint32_t type,
                                 uint32_t rights);
int64_t mxh_pair_create_handles(mxh_proc_t *p, uint32_t type, uint32_t rights,
                                uint32_t *out, mxh_koid_t *koids);
int64_t mxh_handle_close(mxh_proc_t *p, uint64_t h);
int64_t mxh_handle_close_many(mxh_proc_t *p, const void *hs, size_t n);
int64_t mxh_handle_duplicate(mxh_proc_t *p, uint64_t h, uint32_t rights);
int64_t mxh_handle_replace(mxh_proc_t *p, uint64_t h, uint32_t rights);
int64_t mxh_handle_get(mxh_proc_t *p, uint64_t h, uint32_t type,
                       uint32_t rights, mxh_obj_t **out);
int64_t mxh_handle_basic(mxh_proc_t *p, uint64_t h, mxh_handle_info_t *out);

int64_t mxh_transit_take(mxh_proc_t *p, const uint64_t *hs, size_t n,
                         const mxh_obj_t *self, mxh_transit_t **out);
size_t mxh_transit_count(const mxh_transit_t *t);
int64_t mxh_transit_bind(mxh_proc_t *p, mxh_transit_t *t, uint32_t *out);
void mxh_transit_close(mxh_transit_t *t);
size_t mxh_transit_koids(const mxh_transit_t *t, mxh_koid_t *out, size_t cap);
int64_t mxh_handle_move(mxh_proc_t *src, uint64_t h, mxh_proc_t *dst);

/* data as char * so that cffi passes a bytes object without copying */
int64_t mxh_channel_write(mxh_proc_t *p, uint64_t h, const char *data,
                          size_t nbytes, const void *hs, size_t n);
int64_t mxh_channel_read(mxh_proc_t *p, uint64_t h, uint32_t options,
                         uint64_t max_bytes, uint64_t max_handles,
                         char *data_out, uint32_t *handles_out,
                         uint64_t *actual);
int64_t mxh_channel_call(mxh_proc_t *p, uint64_t h, const char *data,
                         size_t nbytes, const void *hs, size_t n,
                         uint64_t deadline, uint64_t max_bytes,
                         uint64_t max_handles, char *data_out,
                         uint32_t *handles_out, uint64_t *actual);

int64_t mxh_object_signal(mxh_proc_t *p, uint64_t h, uint32_t clear,
                          uint32_t set, int peer);
int64_t mxh_object_wait_one(mxh_proc_t *p, uint64_t h, uint32_t signals,
                            uint64_t deadline, uint32_t *observed);
int64_t mxh_object_wait_many(mxh_proc_t *p, const uint64_t *hs,
                             const uint32_t *signals, size_t n,
                             uint64_t deadline, uint32_t *observed);
int64_t mxh_port_queue(mxh_proc_t *p, uint64_t port, uint64_t key,
                       int32_t status, const char *user, size_t user_len);
int64_t mxh_port_wait(mxh_proc_t *p, uint64_t port, uint64_t deadline,
                      mxh_packet_t *out);
int64_t mxh_object_wait_async(mxh_proc_t *p, uint64_t h, uint64_t port,
                              uint64_t key, uint32_t signals, uint32_t options,
                              int notify_cancel);
int64_t mxh_port_cancel(mxh_proc_t *p, uint64_t port, uint64_t h,
                        uint64_t key);
uint32_t mxh_user_signals(uint32_t type);
uint32_t mxh_default_rights(uint32_t type);

int64_t mxh_kernel_boot(mxh_kernel_t *k, uint64_t init_secret,
                        mxh_obj_t **root_job, mxh_proc_t **init,
                        mxh_obj_t **init_thread);
int64_t mxh_job_create(mxh_proc_t *p, uint64_t parent, uint32_t options);
int64_t mxh_process_create(mxh_proc_t *p, uint64_t job, uint64_t secret,
                           uint32_t options, mxh_proc_t **out);
int64_t mxh_thread_create(mxh_proc_t *p, uint64_t process, uint32_t options);
int64_t mxh_process_start(mxh_proc_t *p, uint64_t process, uint64_t thread,
                          uint64_t arg1, mxh_koid_t *koid);
int64_t mxh_thread_start(mxh_proc_t *p, uint64_t thread);
int64_t mxh_process_exit(mxh_proc_t *p, int64_t retcode);
int64_t mxh_task_kill(mxh_proc_t *p, uint64_t task);
int64_t mxh_task_info(mxh_proc_t *p, uint64_t h, uint32_t topic,
                      mxh_process_info_t *info, mxh_koid_t *koids, size_t cap);
int64_t mxh_process_handles_of(mxh_proc_t *p, uint64_t h,
                               mxh_handle_info_t *out, size_t cap);
int mxh_proc_state(mxh_proc_t *p, int64_t *retcode);

void mxh_fault_fail_nth(uint64_t n);

/* The binding's own: one channel read's out-buffers in one struct, so the
 * default read (no limits given) passes 4 arguments instead of 8. */
typedef struct mxh_read_bufs {
    char data[65536];
    uint32_t handles[1024];
    uint64_t actual[3];
} mxh_read_bufs_t;
int64_t mxh_py_channel_read(mxh_proc_t *p, uint64_t h, uint32_t options,
                            mxh_read_bufs_t *b);

/* Floors for the benchmark: empty calls with the syscalls' argument types. */
int64_t mxh_bench_empty_p(mxh_proc_t *p);
int64_t mxh_bench_empty_ph(mxh_proc_t *p, uint64_t h);
int64_t mxh_bench_empty_phr(mxh_proc_t *p, uint64_t h, uint32_t r);
"""

SOURCE = r"""
#include "mxhandles.h"

/* Binding glue (plain C, no Python): a read into one struct of buffers,
 * sized to SPEC's limits, which are then the read's limits. */
typedef struct mxh_read_bufs {
    char data[MXH_CHANNEL_MAX_BYTES];
    uint32_t handles[MXH_TRANSIT_MAX];
    uint64_t actual[3];
} mxh_read_bufs_t;

static int64_t mxh_py_channel_read(mxh_proc_t *p, uint64_t h,
                                   uint32_t options, mxh_read_bufs_t *b)
{
    return mxh_channel_read(p, h, options, sizeof b->data, MXH_TRANSIT_MAX,
                            b->data, b->handles, b->actual);
}

/* Empty functions with the syscalls' argument types: the cost of crossing
 * from Python into C and back, measured by the benchmark as the floor. */
static int64_t mxh_bench_empty_p(mxh_proc_t *p) { (void)p; return 0; }
static int64_t mxh_bench_empty_ph(mxh_proc_t *p, uint64_t h)
{ (void)p; return (int64_t)(h & 0); }
static int64_t mxh_bench_empty_phr(mxh_proc_t *p, uint64_t h, uint32_t r)
{ (void)p; (void)r; return (int64_t)(h & 0); }
"""

CFLAGS = [
    "-std=c11",
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Werror=incompatible-pointer-types",
    "-Wno-unused-parameter",          # cffi's generated wrappers
    "-Wno-missing-field-initializers",
]

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "mxhandles._mxhandles_cffi",
    SOURCE,
    sources=SOURCES,
    include_dirs=[os.path.relpath(HERE)],
    depends=[os.path.relpath(p) for p in glob.glob(os.path.join(HERE, "*.h"))],
    extra_compile_args=CFLAGS + os.environ.get("MXH_EXTRA_CFLAGS", "").split(),
    extra_link_args=os.environ.get("MXH_EXTRA_LDFLAGS", "").split(),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
