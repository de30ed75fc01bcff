/*
 * memstress: guest memory workload for the CCA migration tests
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A static aarch64 Linux program that fills memory with a pattern every
 * byte of which can be checked at any time, optionally keeps rewriting it
 * (dirtying memory while a migration runs) and verifies it on request.
 *
 * Layout: the region is cut into 4 KiB blocks of 512 64-bit words.  Word 0
 * of block b written in generation g is KEY ^ (g << 32 | b); words 1..511
 * are an xorshift64 stream seeded from (KEY, b, g).  KEY derives from the
 * seed.  A stale block (an older generation), a misplaced block or a single
 * flipped bit are all detected, and the header says which.
 *
 * Commands (sizes in MiB, seeds decimal or 0x-hex):
 *   fill <MiB> <seed> [file]   fill anonymous memory, or a shared file
 *                              mapping (e.g. in /tmp, which is guest RAM),
 *                              verify once and exit
 *   verify <MiB> <seed> <file> verify a file written by "fill" and exit
 *   hold <MiB> <seed>          fill anonymous memory and keep it, verifying
 *                              on request (see signals)
 *   run <MiB> <seed> [passes [MiB/s]]
 *                              fill, then rewrite the blocks over and over,
 *                              each pass with the next generation; passes 0
 *                              (default) runs until stopped, otherwise a
 *                              final verify follows the last pass; MiB/s
 *                              caps the rewrite rate (0: no cap)
 *   secret <MiB> [seed]        fill with a 64-byte recognisable record
 *                              "CCA-REALM-SECRET:<seed %016x>:<mix %016x>
 *                              -END-OF-SECRET" (no line break, no NUL)
 *                              repeated, print it in hex and keep it
 *   check [timeout-s]          ask the running hold/run/secret instance to
 *                              verify now; print its result line and exit
 *                              0 (OK), 1 (FAIL) or 2 (no answer)
 *   stop [timeout-s]           same, and the instance exits after it
 *   counter                    print the virtual counter (CNTVCT_EL0) and
 *                              its frequency, "MEMSTRESS: counter <n> freq
 *                              <Hz>"
 *
 * Signals to a hold/run/secret instance: SIGUSR1 verify and go on,
 * SIGUSR2 verify and exit (status 0 or 1), SIGTERM/SIGINT/SIGHUP exit.
 * The instance writes its pid to /tmp/$MEMSTRESS_ID.pid (default id
 * "memstress") and the result of each verify to /tmp/$MEMSTRESS_ID.status,
 * which is what "check" and "stop" wait for.
 *
 * Every line printed starts with "MEMSTRESS: "; a verify prints exactly one
 * of "MEMSTRESS: verify OK <bytes> ..." or
 * "MEMSTRESS: verify FAIL at offset 0x<off> ...".  $MEMSTRESS_PROGRESS sets
 * the seconds between "run" progress lines (default 10, 0: none).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MS_BLOCK        4096
#define MS_WORDS        (MS_BLOCK / sizeof(uint64_t))
#define MS_MIB          (1024 * 1024)
#define MS_BLOCKS_MIB   (MS_MIB / MS_BLOCK)
#define MS_SECRET_LEN   64
#define MS_LINE         512

typedef struct Region {
    uint8_t *base;
    uint64_t size;
    uint64_t nblocks;
    uint64_t seed;
    uint64_t key;
    /* blocks below cursor hold generation gen, the others gen - 1 */
    uint32_t gen;
    uint64_t cursor;
    bool secret;
    char record[MS_SECRET_LEN + 1];
    bool daemon;            /* pid and status files */
    uint64_t verifies;
} Region;

static volatile sig_atomic_t verify_req;
static volatile sig_atomic_t stop_req;
static volatile sig_atomic_t quit_sig;

static char pid_path[256];
static char status_path[256];
static char req_path[256];

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void msg(const char *fmt, ...)
{
    char line[MS_LINE];
    va_list ap;
    int n;

    n = snprintf(line, sizeof(line), "MEMSTRESS: ");
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2) {
        n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* one write per line, so that lines from several writers stay whole */
    if (write(STDOUT_FILENO, line, n) < 0) {
        /* nothing sensible to do */
    }
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64 finaliser */
static inline uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t block_header(uint64_t key, uint64_t block, uint32_t gen)
{
    return key ^ (((uint64_t)gen << 32) | (block & UINT64_C(0xffffffff)));
}

static inline uint64_t block_state(uint64_t key, uint64_t block, uint32_t gen)
{
    return mix64(key ^ mix64(((uint64_t)gen << 32) | block)) | 1;
}

static inline uint64_t xorshift64(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

static void fill_block(uint64_t *w, uint64_t key, uint64_t block,
                       uint32_t gen)
{
    uint64_t x = block_state(key, block, gen);
    size_t i;

    w[0] = block_header(key, block, gen);
    for (i = 1; i < MS_WORDS; i++) {
        x = xorshift64(x);
        w[i] = x;
    }
}

/* The word expected at index i of a block (i >= 1). */
static uint64_t block_word(uint64_t key, uint64_t block, uint32_t gen,
                           size_t i)
{
    uint64_t x = block_state(key, block, gen);

    while (i-- > 0) {
        x = xorshift64(x);
    }
    return x;
}

/* Index of the first bad word of a block, MS_WORDS when it is intact. */
static size_t check_block(const uint64_t *w, uint64_t key, uint64_t block,
                          uint32_t gen)
{
    uint64_t x;
    size_t i;

    if (w[0] != block_header(key, block, gen)) {
        return 0;
    }
    x = block_state(key, block, gen);
    for (i = 1; i < MS_WORDS; i++) {
        x = xorshift64(x);
        if (w[i] != x) {
            return i;
        }
    }
    return MS_WORDS;
}

static inline uint32_t expected_gen(const Region *r, uint64_t block)
{
    return block < r->cursor ? r->gen : r->gen - 1;
}

static void secret_record(uint64_t seed, char *out)
{
    int n;

    n = snprintf(out, MS_SECRET_LEN + 1,
                 "CCA-REALM-SECRET:%016" PRIx64 ":%016" PRIx64
                 "-END-OF-SECRET", seed, mix64(seed ^ 0x5ec2e75ec2e75ec2ULL));
    if (n != MS_SECRET_LEN) {
        msg("internal error: secret record is %d bytes", n);
        exit(2);
    }
}

static bool write_file_atomic(const char *path, const char *text)
{
    char tmp[300];
    int fd;
    ssize_t len = strlen(text);
    bool ok;

    snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        return false;
    }
    ok = write(fd, text, len) == len;
    close(fd);
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return false;
    }
    return true;
}

static bool read_small_file(const char *path, char *buf, size_t size)
{
    ssize_t n;
    int fd;

    fd = open(path, O_RDONLY);
    if (fd < 0) {
        return false;
    }
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) {
        return false;
    }
    buf[n] = '\0';
    return true;
}

/*
 * Verify every byte of the region; print and return the verdict.  In daemon
 * modes the verdict also goes to the status file, tagged with the token of
 * the "check"/"stop" that asked for it.
 */
static bool verify_region(Region *r)
{
    char line[MS_LINE], token[32] = "-", status[MS_LINE + 40];
    uint64_t b, bad = 0, first_off = 0, want = 0, got = 0;
    uint32_t first_gen = 0;
    double t0, dt;
    size_t i;

    if (r->daemon && read_small_file(req_path, token, sizeof(token))) {
        token[strcspn(token, " \n")] = '\0';
        unlink(req_path);
        if (!token[0]) {
            strcpy(token, "-");
        }
    }

    t0 = now_s();
    if (r->secret) {
        for (b = 0; b < r->size; b += MS_SECRET_LEN) {
            if (memcmp(r->base + b, r->record, MS_SECRET_LEN) != 0) {
                if (bad++ == 0) {
                    for (i = 0; r->base[b + i] == (uint8_t)r->record[i]; i++) {
                        /* find the first differing byte */
                    }
                    first_off = b + i;
                    want = (uint8_t)r->record[i];
                    got = r->base[b + i];
                }
            }
        }
    } else {
        for (b = 0; b < r->nblocks; b++) {
            const uint64_t *w = (const uint64_t *)(r->base + b * MS_BLOCK);
            uint32_t g = expected_gen(r, b);

            i = check_block(w, r->key, b, g);
            if (i == MS_WORDS) {
                continue;
            }
            if (bad++ == 0) {
                first_off = b * MS_BLOCK + i * sizeof(uint64_t);
                first_gen = g;
                got = w[i];
                want = i ? block_word(r->key, b, g, i)
                         : block_header(r->key, b, g);
            }
        }
    }
    dt = now_s() - t0;
    r->verifies++;

    if (!bad) {
        snprintf(line, sizeof(line),
                 "MEMSTRESS: verify OK %" PRIu64 " bytes in %.2fs"
                 " (gen %" PRIu32 ", verify #%" PRIu64 ")",
                 r->size, dt, r->secret ? 0 : r->gen, r->verifies);
    } else if (r->secret) {
        snprintf(line, sizeof(line),
                 "MEMSTRESS: verify FAIL at offset 0x%" PRIx64
                 ": expected byte 0x%02" PRIx64 " got 0x%02" PRIx64
                 "; %" PRIu64 " bad records of %" PRIu64,
                 first_off, want, got, bad, r->size / MS_SECRET_LEN);
    } else {
        uint64_t b0 = first_off / MS_BLOCK;
        uint64_t h = *(const uint64_t *)(r->base + b0 * MS_BLOCK) ^ r->key;

        snprintf(line, sizeof(line),
                 "MEMSTRESS: verify FAIL at offset 0x%" PRIx64
                 ": expected 0x%016" PRIx64 " got 0x%016" PRIx64
                 "; block %" PRIu64 " want gen %" PRIu32
                 ", header says block %" PRIu64 " gen %" PRIu64
                 "; %" PRIu64 " bad blocks of %" PRIu64,
                 first_off, want, got, b0, first_gen,
                 h & UINT64_C(0xffffffff), h >> 32, bad, r->nblocks);
    }
    msg("%s", line + strlen("MEMSTRESS: "));
    if (r->daemon) {
        snprintf(status, sizeof(status), "%s %s\n", token, line);
        if (!write_file_atomic(status_path, status)) {
            msg("warning: cannot write %s: %s", status_path, strerror(errno));
        }
    }
    return bad == 0;
}

static void on_signal(int sig)
{
    switch (sig) {
    case SIGUSR1:
        verify_req = 1;
        break;
    case SIGUSR2:
        stop_req = 1;
        break;
    default:
        quit_sig = sig;
        break;
    }
}

static void setup_signals(void)
{
    static const int sigs[] = { SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP };
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: sleeps end early on a request */
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
}

static void setup_paths(void)
{
    const char *id = getenv("MEMSTRESS_ID");

    if (!id || !*id || strchr(id, '/')) {
        id = "memstress";
    }
    snprintf(pid_path, sizeof(pid_path), "/tmp/%s.pid", id);
    snprintf(status_path, sizeof(status_path), "/tmp/%s.status", id);
    snprintf(req_path, sizeof(req_path), "/tmp/%s.req", id);
}

static void __attribute__((noreturn)) quit(Region *r, int status)
{
    if (r && r->daemon) {
        unlink(pid_path);
    }
    exit(status);
}

static void check_quit(Region *r)
{
    if (quit_sig) {
        msg("exit on signal %d", (int)quit_sig);
        quit(r, 128 + quit_sig);
    }
}

static void become_daemon(Region *r)
{
    char text[32];

    r->daemon = true;
    snprintf(text, sizeof(text), "%d\n", (int)getpid());
    unlink(status_path);
    if (!write_file_atomic(pid_path, text)) {
        msg("warning: cannot write %s: %s", pid_path, strerror(errno));
    }
}

static uint64_t parse_u64(const char *s, const char *what)
{
    unsigned long long v;
    char *end;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        msg("bad %s: %s", what, s);
        exit(2);
    }
    return v;
}

static void map_region(Region *r, uint64_t mib, const char *path, bool create)
{
    void *p;
    int fd;

    if (mib == 0 || mib > (UINT64_C(1) << 32)) {
        msg("bad size: %" PRIu64 " MiB", mib);
        exit(2);
    }
    r->size = mib * MS_MIB;
    r->nblocks = r->size / MS_BLOCK;
    if (!path) {
        p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    } else {
        fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
        if (fd < 0) {
            msg("cannot open %s: %s", path, strerror(errno));
            exit(2);
        }
        if (create) {
            if (ftruncate(fd, r->size) < 0) {
                msg("cannot size %s: %s", path, strerror(errno));
                exit(2);
            }
        } else {
            struct stat st;

            if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != r->size) {
                msg("%s is not %" PRIu64 " MiB", path, mib);
                exit(2);
            }
        }
        p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, fd, 0);
        close(fd);
    }
    if (p == MAP_FAILED) {
        msg("cannot map %" PRIu64 " MiB: %s", mib, strerror(errno));
        exit(2);
    }
    r->base = p;
}

static void set_seed(Region *r, uint64_t seed)
{
    r->seed = seed;
    r->key = mix64(seed ^ 0x6d656d7374726573ULL);
}

/* Write every block with generation 0 (the state of a fresh region). */
static void fill_region(Region *r)
{
    double t0 = now_s(), dt;
    uint64_t b;

    for (b = 0; b < r->nblocks; b++) {
        fill_block((uint64_t *)(r->base + b * MS_BLOCK), r->key, b, 0);
        if ((b % MS_BLOCKS_MIB) == 0) {
            check_quit(r);
        }
    }
    r->gen = 0;
    r->cursor = r->nblocks;
    dt = now_s() - t0;
    msg("fill done %" PRIu64 " bytes in %.2fs (%.0f MiB/s)",
        r->size, dt, dt > 0 ? r->size / MS_MIB / dt : 0.0);
}

static void fill_secret(Region *r)
{
    double t0 = now_s();
    char hex[2 * MS_SECRET_LEN + 1];
    uint64_t off;
    int i;

    secret_record(r->seed, r->record);
    for (off = 0; off < r->size; off += MS_SECRET_LEN) {
        memcpy(r->base + off, r->record, MS_SECRET_LEN);
    }
    for (i = 0; i < MS_SECRET_LEN; i++) {
        snprintf(hex + 2 * i, 3, "%02x", (uint8_t)r->record[i]);
    }
    msg("secret record %s", hex);
    msg("secret fill done %" PRIu64 " bytes in %.2fs", r->size, now_s() - t0);
}

/* Keep the region, verifying on request, until stopped. */

/*
 * Serve a pending verify or stop request (SIGUSR1/SIGUSR2): verify every
 * byte; a stop request then exits with the result.  Returns true if there
 * was a request.
 */
static bool serve_request(Region *r)
{
    bool ok;

    if (!verify_req && !stop_req) {
        return false;
    }
    verify_req = 0;
    ok = verify_region(r);
    if (stop_req) {
        quit(r, ok ? 0 : 1);
    }
    return true;
}

static void __attribute__((noreturn)) hold(Region *r)
{
    sigset_t mask, old;

    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &old);
    msg("holding %" PRIu64 " bytes, pid %d", r->size, (int)getpid());
    for (;;) {
        while (!verify_req && !stop_req && !quit_sig) {
            sigsuspend(&old);
        }
        check_quit(r);
        serve_request(r);
    }
}

static void __attribute__((noreturn)) run(Region *r, uint64_t passes,
                                          double rate)
{
    double t_sched, t_prog, t_pass, interval = 10;
    uint64_t done_passes = 0, sched_blocks = 0;
    const char *env = getenv("MEMSTRESS_PROGRESS");
    bool ok;

    if (env) {
        interval = atof(env);
    }
    fill_region(r);
    r->gen = 1;
    r->cursor = 0;
    msg("run started %" PRIu64 " bytes seed 0x%" PRIx64 " passes %" PRIu64
        " rate %.0f MiB/s (0: unlimited), pid %d", r->size, r->seed, passes,
        rate > 0 ? rate : 0.0, (int)getpid());
    t_sched = t_prog = t_pass = now_s();
    for (;;) {
        check_quit(r);
        if (serve_request(r)) {
            t_sched = now_s();
            sched_blocks = 0;
        }
        fill_block((uint64_t *)(r->base + r->cursor * MS_BLOCK), r->key,
                   r->cursor, r->gen);
        r->cursor++;
        if (rate > 0 && (++sched_blocks % MS_BLOCKS_MIB) == 0) {
            double ahead = t_sched + sched_blocks / MS_BLOCKS_MIB / rate
                           - now_s();

            if (ahead > 0) {
                struct timespec ts = {
                    .tv_sec = (time_t)ahead,
                    .tv_nsec = (long)((ahead - (time_t)ahead) * 1e9),
                };
                nanosleep(&ts, NULL);
            }
        }
        if (r->cursor == r->nblocks) {
            double t = now_s();

            done_passes++;
            if (interval > 0 && t - t_prog >= interval) {
                msg("run pass %" PRIu64 " gen %" PRIu32 " %.0f MiB/s",
                    done_passes, r->gen,
                    t > t_pass ? r->size / MS_MIB / (t - t_pass) : 0.0);
                t_prog = t;
            }
            t_pass = t;
            if (passes && done_passes == passes) {
                ok = verify_region(r);
                quit(r, ok ? 0 : 1);
            }
            r->gen++;
            r->cursor = 0;
        }
    }
}

/* "check" and "stop": signal the instance and wait for its verdict. */
static int control(int sig, double timeout)
{
    char buf[MS_LINE + 64], token[32], *sp;
    double deadline;
    long pid;

    if (!read_small_file(pid_path, buf, sizeof(buf)) ||
        (pid = strtol(buf, NULL, 10)) <= 0 || kill(pid, 0) < 0) {
        msg("no running instance (%s)", pid_path);
        return 2;
    }
    snprintf(token, sizeof(token), "%d", (int)getpid());
    snprintf(buf, sizeof(buf), "%s\n", token);
    if (!write_file_atomic(req_path, buf) || kill(pid, sig) < 0) {
        msg("cannot signal pid %ld: %s", pid, strerror(errno));
        return 2;
    }
    deadline = now_s() + timeout;
    while (now_s() < deadline) {
        struct timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };

        if (read_small_file(status_path, buf, sizeof(buf)) &&
            (sp = strchr(buf, ' ')) != NULL) {
            *sp = '\0';
            if (strcmp(buf, token) == 0) {
                sp++;
                if (write(STDOUT_FILENO, sp, strlen(sp)) < 0) {
                    /* ignore */
                }
                return strstr(sp, "verify OK") ? 0 : 1;
            }
        }
        if (kill(pid, 0) < 0) {
            msg("instance %ld exited without answering", pid);
            return 2;
        }
        nanosleep(&ts, NULL);
    }
    msg("no answer from pid %ld within %.0fs", pid, timeout);
    return 2;
}

/* The virtual counter, as the realm's timekeeping reads it. */
static int print_counter(void)
{
    uint64_t cnt, frq;

    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(cnt));
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
    msg("counter %" PRIu64 " freq %" PRIu64, cnt, frq);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: memstress fill <MiB> <seed> [file]\n"
            "       memstress verify <MiB> <seed> <file>\n"
            "       memstress hold <MiB> <seed>\n"
            "       memstress run <MiB> <seed> [passes [MiB/s]]\n"
            "       memstress secret <MiB> [seed]\n"
            "       memstress check|stop [timeout-s]\n"
            "       memstress counter\n");
    exit(2);
}

int main(int argc, char **argv)
{
    Region r;
    const char *cmd;

    memset(&r, 0, sizeof(r));
    if (argc < 2) {
        usage();
    }
    cmd = argv[1];
    setup_paths();
    if (!strcmp(cmd, "counter")) {
        return print_counter();
    }

    if (!strcmp(cmd, "check") || !strcmp(cmd, "stop")) {
        if (argc > 3) {
            usage();
        }
        return control(!strcmp(cmd, "check") ? SIGUSR1 : SIGUSR2,
                       argc > 2 ? atof(argv[2]) : 600);
    }

    setup_signals();
    if (!strcmp(cmd, "fill")) {
        if (argc < 4 || argc > 5) {
            usage();
        }
        set_seed(&r, parse_u64(argv[3], "seed"));
        map_region(&r, parse_u64(argv[2], "size"), argc > 4 ? argv[4] : NULL,
                   true);
        fill_region(&r);
        return verify_region(&r) ? 0 : 1;
    } else if (!strcmp(cmd, "verify")) {
        if (argc != 5) {
            usage();
        }
        set_seed(&r, parse_u64(argv[3], "seed"));
        map_region(&r, parse_u64(argv[2], "size"), argv[4], false);
        r.gen = 0;
        r.cursor = r.nblocks;
        return verify_region(&r) ? 0 : 1;
    } else if (!strcmp(cmd, "hold")) {
        if (argc != 4) {
            usage();
        }
        set_seed(&r, parse_u64(argv[3], "seed"));
        map_region(&r, parse_u64(argv[2], "size"), NULL, true);
        become_daemon(&r);
        fill_region(&r);
        hold(&r);
    } else if (!strcmp(cmd, "run")) {
        if (argc < 4 || argc > 6) {
            usage();
        }
        set_seed(&r, parse_u64(argv[3], "seed"));
        map_region(&r, parse_u64(argv[2], "size"), NULL, true);
        become_daemon(&r);
        run(&r, argc > 4 ? parse_u64(argv[4], "passes") : 0,
            argc > 5 ? atof(argv[5]) : 0);
    } else if (!strcmp(cmd, "secret")) {
        if (argc < 3 || argc > 4) {
            usage();
        }
        set_seed(&r, argc > 3 ? parse_u64(argv[3], "seed") : 1);
        r.secret = true;
        map_region(&r, parse_u64(argv[2], "size"), NULL, true);
        become_daemon(&r);
        fill_secret(&r);
        hold(&r);
    }
    usage();
    return 2;
}
