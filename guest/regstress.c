/*
 * regstress: vCPU register state a migration must carry, checked from
 * inside the guest (the CCA migration tests, issue 27)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A static aarch64 Linux program.  Each mode starts, prints one
 * "REGSTRESS: <mode> started ..." line once it is set up, runs until
 * SIGUSR1 (or SIGTERM) and then prints one verdict line,
 * "REGSTRESS: <mode> OK ..." or "REGSTRESS: <mode> FAIL ...", exiting 0
 * or 1 (2: the vCPU lacks the feature, said in a "REGSTRESS: <mode>
 * none ..." line).  Run it in the background across a migration, then
 * signal it:
 *
 *   sve    one worker per online CPU, pinned: loads all of Z0-Z31,
 *          P0-P15 and FFR with a pattern of its CPU and round, spins
 *          without a system call (which would discard SVE state), stores
 *          them and compares, round after round.  A register a vCPU lost
 *          or another's value shows as "z<n> byte <i>".
 *   pmu    one worker per online CPU, pinned: counts its own CPU cycles
 *          (and instructions, where the PMU counts them) with
 *          perf_event_open while it spins; every read must be above the
 *          last and the counts must keep increasing.
 *   watch  a traced child spins on the last CPU with a hardware
 *          watchpoint on a variable and a hardware breakpoint on a
 *          function, both set through ptrace before; at SIGUSR1 it
 *          writes the variable and calls the function: the watchpoint,
 *          then the breakpoint must fire, at their addresses.  Linux
 *          reinstalls a task's debug registers whenever it switches the
 *          task in, so only with that CPU isolated (isolcpus=, the child
 *          alone on it) does the first event test the registers the
 *          vCPU kept.
 *
 * $REGSTRESS_ID names the pid file, /tmp/regstress-<mode>.pid by default.
 */

#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/param.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <asm/hwcap.h>
#include <asm/ptrace.h>

#define MAX_CPUS        64
#define SPIN            2000000         /* loop iterations a round spins */
#define ZREG_MAX        256             /* bytes of a Z register at most */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void msg(const char *fmt, ...)
{
    static const char prefix[] = "REGSTRESS: ";
    char line[512];
    size_t p = sizeof(prefix) - 1;
    va_list ap;
    int n;

    memcpy(line, prefix, p);
    va_start(ap, fmt);
    n = vsnprintf(line + p, sizeof(line) - p - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    n = MIN((size_t)n, sizeof(line) - p - 2) + p;
    line[n++] = '\n';
    /* One write: lines of several workers do not mix. */
    if (write(STDOUT_FILENO, line, n) < 0) {
        _exit(3);
    }
}

static void pin(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set)) {
        msg("cannot pin to cpu%d: %s", cpu, strerror(errno));
        exit(1);
    }
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    return x ^ (x >> 33);
}

static void fill(uint8_t *b, size_t len, uint64_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        b[i] = (uint8_t)mix(seed + i);
    }
}

/* ---- sve ---- */

struct sve_regs {
    uint8_t z[32][ZREG_MAX];
    uint8_t p[16][ZREG_MAX / 8];
    uint8_t ffr[ZREG_MAX / 8];
};

/*
 * Load every register from @in (FFR through P0), spin @spin iterations,
 * store every register to @out.  One asm statement: nothing the compiler
 * makes touches them in between.  Register k's bytes lie at k * VL in
 * each array (mul vl), so both are packed at the vector length.
 */
static void sve_round(const uint8_t *in, uint8_t *out, size_t vl,
                      uint64_t spin)
{
    const uint8_t *pin_ = in + 32 * vl, *fin = pin_ + 16 * (vl / 8);
    uint8_t *pout = out + 32 * vl, *fout = pout + 16 * (vl / 8);

    asm volatile(
        ".arch_extension sve\n"
        "ldr p0, [%[fin]]\n"
        "wrffr p0.b\n"
#define LDZ(n) "ldr z" #n ", [%[zin], #" #n ", mul vl]\n"
#define LDP(n) "ldr p" #n ", [%[pin], #" #n ", mul vl]\n"
#define STZ(n) "str z" #n ", [%[zout], #" #n ", mul vl]\n"
#define STP(n) "str p" #n ", [%[pout], #" #n ", mul vl]\n"
        LDZ(0) LDZ(1) LDZ(2) LDZ(3) LDZ(4) LDZ(5) LDZ(6) LDZ(7)
        LDZ(8) LDZ(9) LDZ(10) LDZ(11) LDZ(12) LDZ(13) LDZ(14) LDZ(15)
        LDZ(16) LDZ(17) LDZ(18) LDZ(19) LDZ(20) LDZ(21) LDZ(22) LDZ(23)
        LDZ(24) LDZ(25) LDZ(26) LDZ(27) LDZ(28) LDZ(29) LDZ(30) LDZ(31)
        LDP(0) LDP(1) LDP(2) LDP(3) LDP(4) LDP(5) LDP(6) LDP(7)
        LDP(8) LDP(9) LDP(10) LDP(11) LDP(12) LDP(13) LDP(14) LDP(15)
        "mov x9, %[spin]\n"
        "1: subs x9, x9, #1\n"
        "b.ne 1b\n"
        STZ(0) STZ(1) STZ(2) STZ(3) STZ(4) STZ(5) STZ(6) STZ(7)
        STZ(8) STZ(9) STZ(10) STZ(11) STZ(12) STZ(13) STZ(14) STZ(15)
        STZ(16) STZ(17) STZ(18) STZ(19) STZ(20) STZ(21) STZ(22) STZ(23)
        STZ(24) STZ(25) STZ(26) STZ(27) STZ(28) STZ(29) STZ(30) STZ(31)
        STP(0) STP(1) STP(2) STP(3) STP(4) STP(5) STP(6) STP(7)
        STP(8) STP(9) STP(10) STP(11) STP(12) STP(13) STP(14) STP(15)
        "rdffr p0.b\n"
        "str p0, [%[fout]]\n"
        :
        : [zin] "r" (in), [pin] "r" (pin_), [fin] "r" (fin),
          [zout] "r" (out), [pout] "r" (pout), [fout] "r" (fout),
          [spin] "r" (spin)
        : "x9", "cc", "memory",
          "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",
          "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15",
          "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
          "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31",
          "p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7",
          "p8", "p9", "p10", "p11", "p12", "p13", "p14", "p15", "ffr");
#undef LDZ
#undef LDP
#undef STZ
#undef STP
}

/* Where the first difference is: "z<n> byte <i>", "p<n> ...", "ffr". */
static bool sve_compare(const uint8_t *a, const uint8_t *b, size_t vl,
                        char *where, size_t len)
{
    size_t zlen = 32 * vl, plen = 16 * (vl / 8), i;

    for (i = 0; i < zlen + plen + vl / 8; i++) {
        if (a[i] == b[i]) {
            continue;
        }
        if (i < zlen) {
            snprintf(where, len, "z%zu byte %zu: 0x%02x, not 0x%02x",
                     i / vl, i % vl, b[i], a[i]);
        } else if (i < zlen + plen) {
            snprintf(where, len, "p%zu byte %zu: 0x%02x, not 0x%02x",
                     (i - zlen) / (vl / 8), (i - zlen) % (vl / 8), b[i],
                     a[i]);
        } else {
            snprintf(where, len, "ffr byte %zu: 0x%02x, not 0x%02x",
                     i - zlen - plen, b[i], a[i]);
        }
        return false;
    }
    return true;
}

static int sve_worker(int cpu)
{
    static uint8_t in[sizeof(struct sve_regs)], out[sizeof(struct sve_regs)];
    int vl = prctl(PR_SVE_GET_VL);
    size_t len, ffr_bits, i;
    uint64_t round;
    char where[128];

    pin(cpu);
    if (vl < 0) {
        msg("sve cpu%d: PR_SVE_GET_VL: %s", cpu, strerror(errno));
        return 1;
    }
    vl &= PR_SVE_VL_LEN_MASK;
    len = 32 * vl + 17 * (vl / 8);
    for (round = 0; !stop; round++) {
        fill(in, len, (uint64_t)cpu << 48 | round << 8);
        /* FFR as the architecture writes it: the first elements only. */
        ffr_bits = mix(round) % (vl + 1);
        memset(in + len - vl / 8, 0, vl / 8);
        for (i = 0; i < ffr_bits; i++) {
            in[len - vl / 8 + i / 8] |= 1 << (i % 8);
        }
        memset(out, 0, len);
        sve_round(in, out, vl, SPIN);
        if (!sve_compare(in, out, vl, where, sizeof(where))) {
            msg("sve FAIL cpu%d round %" PRIu64 ": %s", cpu, round, where);
            return 1;
        }
    }
    msg("sve cpu%d vl %d bytes: %" PRIu64 " rounds ok", cpu, vl, round);
    return 0;
}

/* ---- pmu ---- */

static int perf_open(uint64_t config)
{
    struct perf_event_attr a;

    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_HARDWARE;
    a.config = config;
    a.exclude_hv = 1;
    return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static bool perf_read(int fd, uint64_t *v)
{
    return read(fd, v, sizeof(*v)) == sizeof(*v);
}

static void spin(uint64_t n)
{
    asm volatile("1: subs %0, %0, #1\n b.ne 1b" : "+r" (n) : : "cc");
}

static int pmu_worker(int cpu)
{
    uint64_t cyc = 0, ins = 0, c, n, reads;
    int fc, fi;

    pin(cpu);
    fc = perf_open(PERF_COUNT_HW_CPU_CYCLES);
    if (fc < 0) {
        msg("pmu FAIL cpu%d: cycles: %s", cpu, strerror(errno));
        return 1;
    }
    fi = perf_open(PERF_COUNT_HW_INSTRUCTIONS);
    for (reads = 0; !stop; reads++) {
        spin(SPIN);
        if (!perf_read(fc, &c) || (fi >= 0 && !perf_read(fi, &n))) {
            msg("pmu FAIL cpu%d: read: %s", cpu, strerror(errno));
            return 1;
        }
        if (c <= cyc || (fi >= 0 && n <= ins)) {
            msg("pmu FAIL cpu%d read %" PRIu64 ": cycles %" PRIu64
                " after %" PRIu64 ", instructions %" PRIu64 " after %"
                PRIu64, cpu, reads, c, cyc, fi >= 0 ? n : 0, ins);
            return 1;
        }
        cyc = c;
        ins = fi >= 0 ? n : 0;
    }
    if (fi >= 0) {
        msg("pmu cpu%d: %" PRIu64 " reads, cycles %" PRIu64 ", instructions "
            "%" PRIu64 " ok", cpu, reads, cyc, ins);
    } else {
        msg("pmu cpu%d: %" PRIu64 " reads, cycles %" PRIu64 " ok "
            "(instructions: %s)", cpu, reads, cyc, strerror(errno));
    }
    return 0;
}

/* ---- watch ---- */

static volatile int *go;
static volatile uint64_t watched;

static void __attribute__((noinline)) break_here(void)
{
    asm volatile("" ::: "memory");
}

static void child_spin(void)
{
    while (!*go) {
        /* no system call: the debug registers stay loaded */
    }
    watched = 0x5a5a;
    break_here();
    _exit(0);
}

/* Hardware debug register 0 of @type (NT_ARM_HW_BREAK/WATCH) at @addr. */
static bool set_hw(pid_t pid, int type, uint64_t addr, uint32_t ctrl)
{
    struct user_hwdebug_state st;
    struct iovec iov = { .iov_base = &st };

    memset(&st, 0, sizeof(st));
    iov.iov_len = sizeof(st);
    if (ptrace(PTRACE_GETREGSET, pid, type, &iov)) {
        msg("watch FAIL: PTRACE_GETREGSET: %s", strerror(errno));
        return false;
    }
    if ((st.dbg_info & 0xff) == 0) {
        msg("watch none: no %s registers",
            type == NT_ARM_HW_BREAK ? "breakpoint" : "watchpoint");
        exit(2);
    }
    st.dbg_regs[0].addr = addr;
    st.dbg_regs[0].ctrl = ctrl;
    iov.iov_len = offsetof(struct user_hwdebug_state, dbg_regs) +
                  sizeof(st.dbg_regs[0]);
    if (ptrace(PTRACE_SETREGSET, pid, type, &iov)) {
        msg("watch FAIL: PTRACE_SETREGSET: %s", strerror(errno));
        return false;
    }
    return true;
}

/* The child's next stop: a SIGTRAP at @addr, else false. */
static bool trapped(pid_t pid, uint64_t addr, const char *what)
{
    siginfo_t si;
    int status;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            msg("watch FAIL: waitpid: %s", strerror(errno));
            return false;
        }
    }
    if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
        msg("watch FAIL: the %s did not fire (child status 0x%x)", what,
            status);
        return false;
    }
    if (ptrace(PTRACE_GETSIGINFO, pid, 0, &si)) {
        msg("watch FAIL: PTRACE_GETSIGINFO: %s", strerror(errno));
        return false;
    }
    if ((uint64_t)(uintptr_t)si.si_addr != addr) {
        msg("watch FAIL: the %s fired at %p, not 0x%" PRIx64, what,
            si.si_addr, addr);
        return false;
    }
    return true;
}

/* ARM debug control: enable, EL0, length (watch: 8 bytes, write). */
#define HW_BREAK_CTRL   (1u | 2u << 1 | 0xfu << 5)
#define HW_WATCH_CTRL   (1u | 2u << 1 | 2u << 3 | 0xffu << 5)

static int watch_mode(int cpu)
{
    uint64_t bp = (uint64_t)(uintptr_t)break_here;
    uint64_t wp = (uint64_t)(uintptr_t)&watched;
    sigset_t none;
    int status;
    pid_t pid;

    go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
              -1, 0);
    if (go == MAP_FAILED) {
        msg("watch FAIL: mmap: %s", strerror(errno));
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        pin(cpu);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0)) {
            _exit(4);
        }
        raise(SIGSTOP);
        child_spin();
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
        msg("watch FAIL: no traced child");
        return 1;
    }
    if (!set_hw(pid, NT_ARM_HW_BREAK, bp, HW_BREAK_CTRL) ||
        !set_hw(pid, NT_ARM_HW_WATCH, wp, HW_WATCH_CTRL) ||
        ptrace(PTRACE_CONT, pid, 0, 0)) {
        kill(pid, SIGKILL);
        return 1;
    }
    msg("watch started: breakpoint at 0x%" PRIx64 ", watchpoint at 0x%"
        PRIx64 ", child %d spinning on cpu%d", bp, wp, (int)pid, cpu);
    sigemptyset(&none);
    while (!stop) {
        sigsuspend(&none);
    }
    /*
     * The first event comes before any context switch of the child
     * (Linux reinstalls a task's debug registers when it switches it
     * in): it shows the registers as the migration left them, if the
     * child had its CPU to itself (isolcpus).
     */
    *go = 1;
    if (!trapped(pid, wp, "watchpoint")) {
        kill(pid, SIGKILL);
        return 1;
    }
    /* Off again, or it fires for ever; then on to the call. */
    if (!set_hw(pid, NT_ARM_HW_WATCH, 0, 0) ||
        ptrace(PTRACE_CONT, pid, 0, 0)) {
        kill(pid, SIGKILL);
        return 1;
    }
    if (!trapped(pid, bp, "breakpoint")) {
        kill(pid, SIGKILL);
        return 1;
    }
    kill(pid, SIGKILL);
    msg("watch OK: the watchpoint and the breakpoint fired");
    return 0;
}

/* ---- workers ---- */

static int run_workers(const char *mode, int (*worker)(int))
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    pid_t pids[MAX_CPUS];
    int cpu, status, failed = 0;
    sigset_t none;

    if (n < 1 || n > MAX_CPUS) {
        msg("%s FAIL: %ld CPUs", mode, n);
        return 1;
    }
    for (cpu = 0; cpu < n; cpu++) {
        pids[cpu] = fork();
        if (pids[cpu] == 0) {
            _exit(worker(cpu));
        }
        if (pids[cpu] < 0) {
            msg("%s FAIL: fork: %s", mode, strerror(errno));
            return 1;
        }
    }
    msg("%s started on %ld CPUs", mode, n);
    sigemptyset(&none);
    while (!stop) {
        sigsuspend(&none);
    }
    for (cpu = 0; cpu < n; cpu++) {
        kill(pids[cpu], SIGUSR1);
    }
    for (cpu = 0; cpu < n; cpu++) {
        while (waitpid(pids[cpu], &status, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status)) {
            failed++;
        }
    }
    if (failed) {
        msg("%s FAIL: %d of %ld workers", mode, failed, n);
        return 1;
    }
    msg("%s OK on %ld CPUs", mode, n);
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    const char *mode = argc == 2 ? argv[1] : "";
    char path[64];
    FILE *f;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "sve") && strcmp(mode, "pmu") && strcmp(mode, "watch")) {
        fprintf(stderr, "usage: regstress sve|pmu|watch\n");
        return 2;
    }
    if (getenv("REGSTRESS_ID")) {
        snprintf(path, sizeof(path), "/tmp/%s.pid", getenv("REGSTRESS_ID"));
    } else {
        snprintf(path, sizeof(path), "/tmp/regstress-%s.pid", mode);
    }
    f = fopen(path, "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
        msg("%s FAIL: cannot write %s", mode, path);
        return 1;
    }
    if (!strcmp(mode, "sve")) {
        if (!(getauxval(AT_HWCAP) & HWCAP_SVE)) {
            msg("sve none: the vCPU has no SVE");
            return 2;
        }
        return run_workers("sve", sve_worker);
    }
    if (!strcmp(mode, "pmu")) {
        int fd = perf_open(PERF_COUNT_HW_CPU_CYCLES);

        if (fd < 0) {
            msg("pmu none: no cycle counter (%s)", strerror(errno));
            return 2;
        }
        close(fd);
        return run_workers("pmu", pmu_worker);
    }
    return watch_mode((int)(sysconf(_SC_NPROCESSORS_ONLN) - 1));
}
