/*
 * mxh_test.h - the tiny assertion kit shared by the C tests.
 *
 * Every CHECK prints file:line and the failing expression and exits with
 * status 1, so a failing test binary stops at the first broken promise.
 */
#ifndef MXH_TEST_H
#define MXH_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxhandles.h"

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                       \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* Compares as signed 64-bit integers and prints both sides on failure. */
#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                       \
        if (a_ != b_) {                                                     \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s"              \
                    " (%" PRId64 " vs %" PRId64 ")\n", __FILE__, __LINE__,  \
                    #a, #b, a_, b_);                                        \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* OK(expr): expr must be >= 0; evaluates to it. */
static inline int64_t mxt_ok(int64_t r, const char *file, int line,
                             const char *expr) {
    if (r < 0) {
        fprintf(stderr, "%s:%d: expected success from %s, got %" PRId64 "\n",
                file, line, expr, r);
        exit(1);
    }
    return r;
}
#define OK(e) mxt_ok((int64_t)(e), __FILE__, __LINE__, #e)

/* Compares every counter of the kernel with *exp. */
static inline void mxt_stats_eq(mxh_kernel_t *k, const mxh_stats_t *exp,
                                const char *file, int line) {
    mxh_stats_t s;
    mxh_kernel_stats(k, &s);
    int bad = s.live_handles != exp->live_handles ||
              s.in_transit_handles != exp->in_transit_handles ||
              s.destroyed_objects != exp->destroyed_objects;
    for (int i = 0; i < 8; i++)
        bad |= s.live_objects[i] != exp->live_objects[i];
    if (!bad)
        return;
    fprintf(stderr, "%s:%d: stats mismatch (got / expected)\n", file, line);
    fprintf(stderr, "  live_handles       %" PRIu64 " / %" PRIu64 "\n",
            s.live_handles, exp->live_handles);
    fprintf(stderr, "  in_transit_handles %" PRIu64 " / %" PRIu64 "\n",
            s.in_transit_handles, exp->in_transit_handles);
    fprintf(stderr, "  destroyed_objects  %" PRIu64 " / %" PRIu64 "\n",
            s.destroyed_objects, exp->destroyed_objects);
    for (int i = 0; i < 8; i++)
        fprintf(stderr, "  live_objects[%d]    %" PRIu64 " / %" PRIu64 "\n",
                i, s.live_objects[i], exp->live_objects[i]);
    exit(1);
}
#define STATS_EQ(k, exp) mxt_stats_eq((k), (exp), __FILE__, __LINE__)

/* xorshift64*: the tests' deterministic randomness. */
static inline uint64_t mxt_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

#endif /* MXH_TEST_H */
