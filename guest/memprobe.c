/*
 * memprobe: one page of memory whose physical address the host can
 * poison (x-rme-poison-granule), read on request.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 *   memprobe catch   stays in the background: maps, fills and locks one
 *                    page, prints "MEMPROBE: pid=<pid> pa=0x<physical
 *                    address>", then on each SIGUSR1 reads the page and
 *                    prints "MEMPROBE: read ok" (the pattern is intact),
 *                    "MEMPROBE: read bad" or, when the read takes a
 *                    SIGBUS, "MEMPROBE: SIGBUS code=<si_code>" and keeps
 *                    the page (so that it never goes back to the kernel)
 *   memprobe kill    the same without a SIGBUS handler: the signal's
 *                    default action ends the process
 *
 * The physical address comes from /proc/self/pagemap (root only).
 */

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf read_env;
static volatile sig_atomic_t bus_code = -1;
static volatile sig_atomic_t read_req;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    bus_code = si->si_code;
    siglongjmp(read_env, 1);
}

static void on_usr1(int sig)
{
    (void)sig;
    read_req = 1;
}

static uint64_t pattern(size_t i)
{
    return 0x9e3779b97f4a7c15ULL * (i + 1);
}

static uint64_t phys_addr(const void *p, long pg)
{
    uint64_t entry;
    off_t off = ((uintptr_t)p / pg) * sizeof(entry);
    int fd = open("/proc/self/pagemap", O_RDONLY);

    if (fd < 0 || pread(fd, &entry, sizeof(entry), off) != sizeof(entry)) {
        perror("memprobe: /proc/self/pagemap");
        exit(1);
    }
    close(fd);
    if (!(entry >> 63) || !(entry & ((1ULL << 55) - 1))) {
        fprintf(stderr, "memprobe: no physical address (not root?)\n");
        exit(1);
    }
    return (entry & ((1ULL << 55) - 1)) * pg;
}

/* Read every word of the page; false if one is not the pattern. */
static int read_page(volatile const uint64_t *w, size_t n)
{
    size_t i;
    int ok = 1;

    for (i = 0; i < n; i++) {
        ok &= w[i] == pattern(i);
    }
    return ok;
}

int main(int argc, char **argv)
{
    long pg = sysconf(_SC_PAGESIZE);
    int catch;
    struct sigaction sa;
    uint64_t *w;
    size_t i, n = pg / sizeof(uint64_t);

    if (argc != 2 || (strcmp(argv[1], "catch") && strcmp(argv[1], "kill"))) {
        fprintf(stderr, "usage: memprobe catch|kill\n");
        return 2;
    }
    catch = !strcmp(argv[1], "catch");
    w = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (w == MAP_FAILED || mlock(w, pg)) {
        perror("memprobe: mmap/mlock");
        return 1;
    }
    for (i = 0; i < n; i++) {
        w[i] = pattern(i);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    if (catch) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigaction(SIGBUS, &sa, NULL);
    }
    printf("MEMPROBE: pid=%d pa=0x%llx\n", (int)getpid(),
           (unsigned long long)phys_addr(w, pg));
    fflush(stdout);
    for (;;) {
        while (!read_req) {
            pause();
        }
        read_req = 0;
        bus_code = -1;
        if (!sigsetjmp(read_env, 1)) {
            printf("MEMPROBE: read %s\n", read_page(w, n) ? "ok" : "bad");
        } else {
            printf("MEMPROBE: SIGBUS code=%d\n", (int)bus_code);
        }
        fflush(stdout);
    }
}
