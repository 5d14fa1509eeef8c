/* fuzz/standalone.c - a driver for fuzz_core.c without libFuzzer.
 *
 * For a machine without clang's libFuzzer runtime (gcc only): it runs every
 * input of the given corpus directories, then, until the time is up,
 * mutated copies of them (bit flips, byte changes, inserts, deletions,
 * splices of two inputs), with no coverage guidance.  Built with gcc's
 * -fsanitize=address,undefined it checks the same invariants as the
 * libFuzzer build (they are asserted inside LLVMFuzzerTestOneInput) but
 * explores far less; `make fuzz` with clang is the real fuzzer.
 *
 *     fuzz_standalone SECONDS DIR...
 *
 * Before each run the input is written to $FUZZ_CRASH_FILE (default
 * fuzz-standalone-input): if a run aborts, that file is the input that
 * did it (replay it with the libFuzzer build, or with this driver and a
 * directory holding only that file).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LEN 4096

typedef struct { uint8_t *data; size_t len; } input_t;

static input_t *corpus;
static size_t ncorpus, capcorpus;
static const char *crash_file;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void add(const uint8_t *data, size_t len)
{
    if (ncorpus == capcorpus) {
        capcorpus = capcorpus ? 2 * capcorpus : 256;
        corpus = realloc(corpus, capcorpus * sizeof *corpus);
        if (!corpus) {
            perror("realloc");
            exit(2);
        }
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        perror("malloc");
        exit(2);
    }
    memcpy(copy, data, len);
    corpus[ncorpus++] = (input_t){copy, len};
}

static void load_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;                         /* a corpus directory may not exist yet */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t buf[MAX_LEN];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        add(buf, len);
    }
    closedir(d);
}

static void run(const uint8_t *data, size_t len)
{
    FILE *f = fopen(crash_file, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
    LLVMFuzzerTestOneInput(data, len);
}

/* One mutated input in buf (returns its length). */
static size_t mutate(uint8_t *buf)
{
    const input_t *a = &corpus[rnd() % ncorpus];
    size_t len = a->len;
    memcpy(buf, a->data, len);
    int steps = 1 + (int)(rnd() % 4);
    for (int s = 0; s < steps; s++) {
        switch (rnd() % 6) {
        case 0:                         /* flip a bit */
            if (len)
                buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1:                         /* a random byte */
            if (len)
                buf[rnd() % len] = (uint8_t)rnd();
            break;
        case 2:                         /* an interesting byte */
            if (len) {
                static const uint8_t special[] = {0, 1, 0x7f, 0x80, 0xff};
                buf[rnd() % len] = special[rnd() % sizeof special];
            }
            break;
        case 3:                         /* insert a byte */
            if (len < MAX_LEN) {
                size_t at = len ? rnd() % (len + 1) : 0;
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = (uint8_t)rnd();
                len++;
            }
            break;
        case 4:                         /* delete a run */
            if (len > 1) {
                size_t at = rnd() % len;
                size_t n = 1 + rnd() % (len - at);
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        default: {                      /* splice: a tail from another input */
            const input_t *b = &corpus[rnd() % ncorpus];
            size_t cut = len ? rnd() % (len + 1) : 0;
            size_t from = b->len ? rnd() % b->len : 0;
            size_t n = b->len - from;
            if (cut + n > MAX_LEN)
                n = MAX_LEN - cut;
            memcpy(buf + cut, b->data + from, n);
            len = cut + n;
            break;
        }
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SECONDS DIR...\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    crash_file = getenv("FUZZ_CRASH_FILE");
    if (!crash_file)
        crash_file = "fuzz-standalone-input";
    for (int i = 2; i < argc; i++)
        load_dir(argv[i]);
    if (!ncorpus)
        add((const uint8_t *)"", 0);
    double t0 = now_s();
    for (size_t i = 0; i < ncorpus; i++)
        run(corpus[i].data, corpus[i].len);
    unsigned long runs = ncorpus;
    static uint8_t buf[MAX_LEN];
    while (now_s() - t0 < seconds) {
        size_t len = mutate(buf);
        run(buf, len);
        runs++;
    }
    remove(crash_file);
    printf("fuzz_standalone: %lu runs (%zu corpus inputs, then mutations) in "
           "%.0f s, no failure\n", runs, ncorpus, now_s() - t0);
    return 0;
}
