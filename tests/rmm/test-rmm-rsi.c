/*
 * Unit tests of the emulated RMM's realm side (rmm-rsi.c, rmm-psci.c)
 *
 * Every SMC a realm can make, through rmm_rec_smc(), rmm_rec_complete(),
 * rmm_rtt_set_ripas() and rmm_psci_complete(): SMCCC architecture calls,
 * PSCI, and the ten RSI 1.0 commands of DEN0137, with their results in
 * x0..x8, every failure condition, the REC exits and what the host does
 * with them, and the registers a command must leave alone.
 *
 * Each test runs on a fresh ACTIVE realm (see env_setup()): 8 MiB of
 * protected RAM at IPA 0x40000000, of which the first 6 MiB are RIPAS RAM
 * (the first 1 MiB assigned) and the last 2 MiB RIPAS EMPTY, and two RECs,
 * REC 0 running and REC 1 off.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"         /* _GNU_SOURCE: memmem() */

#include <string.h>

#include <glib.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-attest.h"         /* rmm_attest_token_max_size() */
#include "rmm-measure.h"
#include "rmm-host.h"

#define G           RMM_GRANULE_SIZE
#define MIB         (1ULL << 20)
#define IPA_WIDTH   33
#define PROT_SIZE   (1ULL << (IPA_WIDTH - 1))
#define BASE        0x40000000ULL           /* RAM range */
#define RAM_SIZE    (8 * MIB)
#define RAM_END     (BASE + RAM_SIZE)
#define RAM_TOP     (BASE + 6 * MIB)        /* RIPAS RAM below, EMPTY above */
#define ASSIGNED    (BASE + MIB)            /* assigned below */

/* SMCCC (DEN0028) */
#define SMCCC_VERSION           0x80000000ULL
#define SMCCC_ARCH_FEATURES     0x80000001ULL
#define SMCCC_ARCH_WORKAROUND_1 0x80008000ULL
#define SMCCC_SVE_HINT          (1ULL << 16)
#define NOT_SUPPORTED           ((uint64_t)-1)

/* PSCI (DEN0022) */
#define PSCI_VERSION            0x84000000ULL
#define PSCI_CPU_SUSPEND_32     0x84000001ULL
#define PSCI_CPU_SUSPEND_64     0xC4000001ULL
#define PSCI_CPU_OFF            0x84000002ULL
#define PSCI_CPU_ON_32          0x84000003ULL
#define PSCI_CPU_ON_64          0xC4000003ULL
#define PSCI_AFFINITY_INFO_32   0x84000004ULL
#define PSCI_AFFINITY_INFO_64   0xC4000004ULL
#define PSCI_MIGRATE            0x84000005ULL
#define PSCI_MIGRATE_INFO_TYPE  0x84000006ULL
#define PSCI_MIGRATE_INFO_UP    0x84000007ULL
#define PSCI_SYSTEM_OFF         0x84000008ULL
#define PSCI_SYSTEM_RESET       0x84000009ULL
#define PSCI_FEATURES           0x8400000AULL
#define PSCI_SYSTEM_SUSPEND     0x8400000EULL
#define PSCI_INVALID_PARAMS     ((uint64_t)-2)
#define PSCI_ALREADY_ON         ((uint64_t)-4)
#define PSCI_INVALID_ADDRESS    ((uint64_t)-9)
#define PSCI_DENIED             (-3)        /* PSCI_COMPLETE status */

/* RSI (DEN0137 1.0) */
#define RSI_VERSION             0xC4000190ULL
#define RSI_FEATURES            0xC4000191ULL
#define RSI_MEASUREMENT_READ    0xC4000192ULL
#define RSI_MEASUREMENT_EXTEND  0xC4000193ULL
#define RSI_ATTEST_INIT         0xC4000194ULL
#define RSI_ATTEST_CONTINUE     0xC4000195ULL
#define RSI_REALM_CONFIG        0xC4000196ULL
#define RSI_IPA_STATE_SET       0xC4000197ULL
#define RSI_IPA_STATE_GET       0xC4000198ULL
#define RSI_HOST_CALL           0xC4000199ULL
#define RSI_ABI_1_0             0x10000ULL
#define RSI_CHANGE_DESTROYED    1

static RmmPlatform *plat;

typedef struct Env {
    RmiHashAlgo algo;
    RmiRealmParams params;
    RmmRealm *r;
    uint8_t *store;
    RmmRec *rec[2];
    uint64_t in[RMM_SMC_NREGS];     /* the registers of the last call */
    uint64_t regs[RMM_SMC_NREGS];   /* ... and what the model made of them */
    RmmRecExit exit;
} Env;

static void env_setup(Env *e, gconstpointer data)
{
    RmmRecParams rp;
    uint64_t top, ipa;
    unsigned i;

    memset(e, 0, sizeof(*e));
    e->algo = GPOINTER_TO_INT(data);
    e->params.ipa_width = IPA_WIDTH;
    e->params.hash_algo = e->algo;
    e->params.num_bps = 1;
    e->params.num_wps = 1;
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        e->params.rpv[i] = 0x40 + i * 3;
    }
    g_assert_cmpint(rmm_realm_create(plat, &e->params, &e->r), ==,
                    RMI_SUCCESS);
    e->store = g_malloc0(RAM_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(e->r, BASE, RAM_SIZE, e->store), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(e->r, BASE, RAM_SIZE, 3));
    g_assert_cmpint(rmm_rtt_init_ripas(e->r, BASE, RAM_TOP, &top), ==,
                    RMI_SUCCESS);
    for (ipa = BASE; ipa < ASSIGNED; ipa += G) {
        g_assert_cmpint(rmm_data_create_unknown(e->r, ipa), ==, RMI_SUCCESS);
    }
    for (i = 0; i < 2; i++) {
        memset(&rp, 0, sizeof(rp));
        rp.mpidr = i;
        rp.flags = i == 0 ? RMI_REC_FLAG_RUNNABLE : 0;
        rp.pc = BASE;
        g_assert_cmpint(rmm_rec_create(e->r, &rp, &e->rec[i]), ==,
                        RMI_SUCCESS);
    }
    g_assert_cmpint(rmm_realm_activate(e->r), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_false(rmm_rec_may_enter(e->rec[1]));
}

static void env_teardown(Env *e, gconstpointer data)
{
    rmm_realm_destroy(e->r);
    g_free(e->store);
}

/*
 * An SMC from REC @rec: x0 = args[0] (the function ID), x1.. = args[1..],
 * every other register a recognisable value.  Returns the exit reason.
 */
static int call(Env *e, unsigned rec, const uint64_t *args,
                size_t n)
{
    unsigned i;

    for (i = 0; i < RMM_SMC_NREGS; i++) {
        e->in[i] = 0x5e5e5e5e00000000ULL | i << 8 | i;
    }
    memcpy(e->in, args, n * sizeof(uint64_t));
    memcpy(e->regs, e->in, sizeof(e->regs));
    memset(&e->exit, 0xa5, sizeof(e->exit));
    rmm_rec_smc(e->rec[rec], e->regs, &e->exit);
    return e->exit.reason;
}

#define CALL(e, rec, ...) \
    call((e), (rec), (const uint64_t[]){ __VA_ARGS__ }, \
         sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

/* Registers x@from..x17 are what the realm passed in. */
static void assert_kept(Env *e, unsigned from)
{
    unsigned i;

    for (i = from; i < RMM_SMC_NREGS; i++) {
        g_assert_cmphex(e->regs[i], ==, e->in[i]);
    }
}

/* A call answered at once: x0 = @x0, x1..x17 untouched. */
static void assert_answer(Env *e, uint64_t x0)
{
    g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
    g_assert_cmphex(e->regs[0], ==, x0);
    assert_kept(e, 1);
}

static uint8_t *store_at(Env *e, uint64_t ipa)
{
    g_assert_cmphex(ipa, >=, BASE);
    g_assert_cmphex(ipa, <, RAM_END);
    return e->store + (ipa - BASE);
}

static void assert_ripas(Env *e, uint64_t ipa, RmmHipas hipas, RmiRipas ripas)
{
    RmmHipas h;
    RmiRipas s;

    g_assert_cmpint(rmm_rtt_read_entry(e->r, ipa, &h, &s), ==, RMI_SUCCESS);
    g_assert_cmpint(h, ==, hipas);
    g_assert_cmpint(s, ==, ripas);
}

/* Make REC 1 runnable the way the realm does: CPU_ON from REC 0. */
static void start_rec1(Env *e)
{
    g_assert_cmpint(CALL(e, 0, PSCI_CPU_ON_64, 1, BASE, 0), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], 0), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(e->rec[1]));
}

/* ---- SMCCC ---- */

static void test_smccc_version(Env *e, gconstpointer data)
{
    CALL(e, 0, SMCCC_VERSION);
    assert_answer(e, 0x10002);
}

static void test_smccc_arch_features(Env *e, gconstpointer data)
{
    CALL(e, 0, SMCCC_ARCH_FEATURES, SMCCC_VERSION);
    assert_answer(e, 0);
    CALL(e, 0, SMCCC_ARCH_FEATURES, SMCCC_ARCH_FEATURES);
    assert_answer(e, 0);
    /* An SMC32 call: the upper half of w1 is ignored */
    CALL(e, 0, SMCCC_ARCH_FEATURES, 0xdead00000000ULL | SMCCC_VERSION);
    assert_answer(e, 0);
    CALL(e, 0, SMCCC_ARCH_FEATURES, SMCCC_ARCH_WORKAROUND_1);
    assert_answer(e, NOT_SUPPORTED);
    CALL(e, 0, SMCCC_ARCH_FEATURES, RSI_VERSION);
    assert_answer(e, NOT_SUPPORTED);
    CALL(e, 0, SMCCC_ARCH_FEATURES, 0);
    assert_answer(e, NOT_SUPPORTED);
}

static void test_smccc_sve_hint(Env *e, gconstpointer data)
{
    /* SMCCC 1.3: bit 16 of the function ID is a hint, not part of it */
    CALL(e, 0, SMCCC_VERSION | SMCCC_SVE_HINT);
    assert_answer(e, 0x10002);
    CALL(e, 0, PSCI_VERSION | SMCCC_SVE_HINT);
    assert_answer(e, 0x10001);
    CALL(e, 0, RSI_VERSION | SMCCC_SVE_HINT, RSI_ABI_1_0);
    g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    g_assert_cmphex(e->regs[1], ==, RSI_ABI_1_0);
    g_assert_cmphex(e->regs[2], ==, RSI_ABI_1_0);
    assert_kept(e, 3);
    CALL(e, 0, RSI_MEASUREMENT_READ | SMCCC_SVE_HINT, RMM_NUM_REMS + 1);
    assert_answer(e, RSI_ERROR_INPUT);
}

static void test_smccc_high_bits(Env *e, gconstpointer data)
{
    /* Function IDs are 32 bits: anything above is not SMCCC at all. */
    CALL(e, 0, 1ULL << 32 | RSI_VERSION, RSI_ABI_1_0);
    assert_answer(e, NOT_SUPPORTED);
    CALL(e, 0, 1ULL << 63 | SMCCC_VERSION);
    assert_answer(e, NOT_SUPPORTED);
    CALL(e, 0, 0xffffffff00000000ULL | PSCI_SYSTEM_OFF);
    assert_answer(e, NOT_SUPPORTED);
    g_assert_cmpint(rmm_realm_state(e->r), ==, RMM_REALM_ACTIVE);
    CALL(e, 0, 1ULL << 40 | RSI_IPA_STATE_SET, BASE, BASE + G,
         RMI_RIPAS_EMPTY, 0);
    assert_answer(e, NOT_SUPPORTED);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
}

static void test_smccc_unknown(Env *e, gconstpointer data)
{
    static const uint64_t fids[] = {
        0, 0x80000002, SMCCC_ARCH_WORKAROUND_1, 0x8000ffff,
        PSCI_MIGRATE, PSCI_MIGRATE_INFO_UP, 0x8400000B, 0x8400000C,
        PSCI_SYSTEM_SUSPEND, 0x84000012, 0xC4000000, 0xC4000008,
        0x84000050 /* TRNG_VERSION */, 0x8400ff00,
        0x84000190 /* SMC32 "RSI_VERSION" */, 0xC400018F, 0xC400019A,
        0xC40001FF, 0x82000000, 0x86000000, 0x8600ff01, 0xC2000000,
        0xC3000000, 0xC5000000, 0xF2000000, 0x7fffffff, 0xffffffff,
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(fids); i++) {
        CALL(e, 0, fids[i], 1, 2, 3);
        assert_answer(e, NOT_SUPPORTED);
    }
    g_assert_cmpint(rmm_realm_state(e->r), ==, RMM_REALM_ACTIVE);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
}

/* ---- PSCI ---- */

static void test_psci_version(Env *e, gconstpointer data)
{
    CALL(e, 0, PSCI_VERSION);
    assert_answer(e, 0x10001);
}

static void test_psci_features(Env *e, gconstpointer data)
{
    static const uint64_t ok[] = {
        SMCCC_VERSION, PSCI_VERSION, PSCI_CPU_SUSPEND_32,
        PSCI_CPU_SUSPEND_64, PSCI_CPU_OFF, PSCI_CPU_ON_32, PSCI_CPU_ON_64,
        PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64,
        PSCI_MIGRATE_INFO_TYPE, PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET,
        PSCI_FEATURES,
    };
    static const uint64_t not_ok[] = {
        SMCCC_ARCH_FEATURES, PSCI_MIGRATE, PSCI_MIGRATE_INFO_UP,
        PSCI_SYSTEM_SUSPEND, 0xC4000002, 0xC4000008, RSI_VERSION,
        RSI_HOST_CALL, 0, 0xffffffff,
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(ok); i++) {
        CALL(e, 0, PSCI_FEATURES, ok[i]);
        assert_answer(e, 0);
    }
    for (i = 0; i < G_N_ELEMENTS(not_ok); i++) {
        CALL(e, 0, PSCI_FEATURES, not_ok[i]);
        assert_answer(e, NOT_SUPPORTED);
    }
}

static void test_psci_migrate_info_type(Env *e, gconstpointer data)
{
    CALL(e, 0, PSCI_MIGRATE_INFO_TYPE);
    assert_answer(e, 2);            /* Trusted OS not present */
}

/* A PSCI call that exits to the host: registers untouched, args passed. */
static void assert_psci_exit(Env *e, uint64_t fid)
{
    unsigned i;

    g_assert_cmpint(e->exit.reason, ==, RMI_EXIT_PSCI);
    g_assert_cmphex(e->exit.psci_fid, ==, fid);
    for (i = 0; i < 3; i++) {
        g_assert_cmphex(e->exit.psci_args[i], ==, e->in[i + 1]);
    }
    assert_kept(e, 0);
}

static void test_psci_cpu_on(Env *e, gconstpointer data)
{
    /* No such MPIDR */
    CALL(e, 0, PSCI_CPU_ON_64, 2, BASE, 0);
    assert_answer(e, PSCI_INVALID_PARAMS);
    CALL(e, 0, PSCI_CPU_ON_64, 1ULL << 32 | 1, BASE, 0);
    assert_answer(e, PSCI_INVALID_PARAMS);
    /* Entry point not a protected address */
    CALL(e, 0, PSCI_CPU_ON_64, 1, PROT_SIZE, 0);
    assert_answer(e, PSCI_INVALID_ADDRESS);
    CALL(e, 0, PSCI_CPU_ON_64, 1, PROT_SIZE + BASE, 0);
    assert_answer(e, PSCI_INVALID_ADDRESS);
    /* Already on: the caller itself */
    CALL(e, 0, PSCI_CPU_ON_64, 0, BASE, 0);
    assert_answer(e, PSCI_ALREADY_ON);
    g_assert_false(rmm_rec_may_enter(e->rec[1]));

    /* Valid: exits to the host, which completes it */
    g_assert_cmpint(CALL(e, 0, PSCI_CPU_ON_64, 1, PROT_SIZE - 4, 0x1234),
                    ==, RMI_EXIT_PSCI);
    assert_psci_exit(e, PSCI_CPU_ON_64);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_false(rmm_rec_may_enter(e->rec[1]));
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], 0), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(e->rec[1]));

    /* Now it is on. */
    CALL(e, 0, PSCI_CPU_ON_64, 1, BASE, 0);
    assert_answer(e, PSCI_ALREADY_ON);
    CALL(e, 1, PSCI_CPU_ON_64, 0, BASE, 0);
    assert_answer(e, PSCI_ALREADY_ON);
}

static void test_psci_cpu_on_32(Env *e, gconstpointer data)
{
    /* SMC32: only w1 and w2 count. */
    CALL(e, 0, PSCI_CPU_ON_32, 1, 1ULL << 32, 0);
    g_assert_cmpint(e->exit.reason, ==, RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], PSCI_DENIED),
                    ==, RMI_SUCCESS);
    g_assert_false(rmm_rec_may_enter(e->rec[1]));

    CALL(e, 0, PSCI_CPU_ON_32, 0xabcd00000001ULL, BASE, 7);
    assert_psci_exit(e, PSCI_CPU_ON_32);
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], 0), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(e->rec[1]));
    CALL(e, 0, PSCI_CPU_ON_32, 0xabcd00000001ULL, BASE, 7);
    assert_answer(e, PSCI_ALREADY_ON);
}

static void test_psci_cpu_off(Env *e, gconstpointer data)
{
    start_rec1(e);
    g_assert_cmpint(CALL(e, 0, PSCI_CPU_OFF), ==, RMI_EXIT_PSCI);
    assert_psci_exit(e, PSCI_CPU_OFF);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));
    g_assert_true(rmm_rec_may_enter(e->rec[1]));
    g_assert_cmpint(rmm_realm_state(e->r), ==, RMM_REALM_ACTIVE);

    /* REC 1 turns it on again. */
    g_assert_cmpint(CALL(e, 1, PSCI_CPU_ON_64, 0, BASE, 0), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(e->rec[1], e->rec[0], 0), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
}

static void test_psci_cpu_suspend(Env *e, gconstpointer data)
{
    g_assert_cmpint(CALL(e, 0, PSCI_CPU_SUSPEND_64, 0, BASE, 5), ==,
                    RMI_EXIT_PSCI);
    assert_psci_exit(e, PSCI_CPU_SUSPEND_64);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_cmpint(CALL(e, 0, PSCI_CPU_SUSPEND_32, 1, 2, 3), ==,
                    RMI_EXIT_PSCI);
    assert_psci_exit(e, PSCI_CPU_SUSPEND_32);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    /* Nothing for PSCI_COMPLETE */
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], 0), ==,
                    RMI_ERROR_INPUT);
}

static void test_psci_affinity_info(Env *e, gconstpointer data)
{
    /* lowest_affinity_level must be 0 */
    CALL(e, 0, PSCI_AFFINITY_INFO_64, 1, 1);
    assert_answer(e, PSCI_INVALID_PARAMS);
    /* Unknown MPIDR */
    CALL(e, 0, PSCI_AFFINITY_INFO_64, 2, 0);
    assert_answer(e, PSCI_INVALID_PARAMS);
    /* The caller itself is on. */
    CALL(e, 0, PSCI_AFFINITY_INFO_64, 0, 0);
    assert_answer(e, 0);

    /* Another REC: the host answers */
    g_assert_cmpint(CALL(e, 0, PSCI_AFFINITY_INFO_64, 1, 0), ==,
                    RMI_EXIT_PSCI);
    assert_psci_exit(e, PSCI_AFFINITY_INFO_64);
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], 0), ==,
                    RMI_SUCCESS);
    g_assert_false(rmm_rec_may_enter(e->rec[1]));

    /* SMC32: upper halves ignored */
    g_assert_cmpint(CALL(e, 0, PSCI_AFFINITY_INFO_32, 1ULL << 32 | 1,
                         1ULL << 32), ==, RMI_EXIT_PSCI);
    assert_psci_exit(e, PSCI_AFFINITY_INFO_32);
    g_assert_cmpint(rmm_psci_complete(e->rec[0], e->rec[1], 0), ==,
                    RMI_SUCCESS);
}

static void check_system_off(Env *e, uint64_t fid)
{
    g_assert_cmpint(CALL(e, 0, fid), ==, RMI_EXIT_PSCI);
    g_assert_cmphex(e->exit.psci_fid, ==, fid);
    assert_kept(e, 0);
    g_assert_cmpint(rmm_realm_state(e->r), ==, RMM_REALM_SYSTEM_OFF);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));
    g_assert_false(rmm_rec_may_enter(e->rec[1]));
}

static void test_psci_system_off(Env *e, gconstpointer data)
{
    start_rec1(e);
    check_system_off(e, PSCI_SYSTEM_OFF);
}

static void test_psci_system_reset(Env *e, gconstpointer data)
{
    start_rec1(e);
    check_system_off(e, PSCI_SYSTEM_RESET);
}

/* ---- RSI_VERSION, RSI_FEATURES ---- */

static void test_rsi_version(Env *e, gconstpointer data)
{
    static const uint64_t bad[] = {
        0x20000, 0x10001, 0x0ffff, 0, 1ULL << 32 | RSI_ABI_1_0,
    };
    unsigned i;

    CALL(e, 0, RSI_VERSION, RSI_ABI_1_0);
    g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    g_assert_cmphex(e->regs[1], ==, RSI_ABI_1_0);      /* lower */
    g_assert_cmphex(e->regs[2], ==, RSI_ABI_1_0);      /* higher */
    assert_kept(e, 3);

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        CALL(e, 0, RSI_VERSION, bad[i]);
        g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
        g_assert_cmphex(e->regs[0], ==, RSI_ERROR_INPUT);
        g_assert_cmphex(e->regs[1], ==, RSI_ABI_1_0);
        g_assert_cmphex(e->regs[2], ==, RSI_ABI_1_0);
        assert_kept(e, 3);
    }
}

static void test_rsi_features(Env *e, gconstpointer data)
{
    static const uint64_t index[] = { 0, 1, 0xffff, UINT64_MAX };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(index); i++) {
        CALL(e, 0, RSI_FEATURES, index[i]);
        g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
        g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
        g_assert_cmphex(e->regs[1], ==, 0);
        assert_kept(e, 2);
    }
}

/* ---- MEASUREMENT_READ / EXTEND ---- */

static void read_meas(Env *e, unsigned index, uint8_t out[RMM_HASH_MAX])
{
    unsigned i;

    CALL(e, 0, RSI_MEASUREMENT_READ, index);
    g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    assert_kept(e, 9);
    for (i = 0; i < 8; i++) {
        rmi_st64(out + 8 * i, e->regs[1 + i]);
    }
}

static void test_measurement_read(Env *e, gconstpointer data)
{
    uint8_t m[RMM_HASH_MAX], expect[RMM_HASH_MAX];
    unsigned i;

    /* Give REM 3 a value. */
    CALL(e, 0, RSI_MEASUREMENT_EXTEND, 3, 8, 0x0123456789abcdefULL);
    assert_answer(e, RSI_SUCCESS);

    for (i = 0; i <= RMM_NUM_REMS; i++) {
        g_assert_cmpuint(rmm_realm_measurement(e->r, i, expect), ==,
                         rmm_hash_len(e->algo));
        read_meas(e, i, m);
        g_assert_cmpmem(m, RMM_HASH_MAX, expect, RMM_HASH_MAX);
        if (e->algo == RMI_HASH_SHA256) {
            /* x5..x8 are zero for a 32-byte hash */
            g_assert_cmphex(e->regs[5] | e->regs[6] | e->regs[7] |
                            e->regs[8], ==, 0);
        }
    }
    /* Little-endian: the first byte of the RIM is the low byte of x1. */
    read_meas(e, 0, m);
    g_assert_cmphex(e->regs[1] & 0xff, ==, m[0]);
    g_assert_cmphex(e->regs[1] >> 56, ==, m[7]);
    g_assert_cmphex(e->regs[2] & 0xff, ==, m[8]);

    CALL(e, 0, RSI_MEASUREMENT_READ, RMM_NUM_REMS + 1);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_MEASUREMENT_READ, 1ULL << 32);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_MEASUREMENT_READ, UINT64_MAX);
    assert_answer(e, RSI_ERROR_INPUT);
}

static void test_measurement_extend(Env *e, gconstpointer data)
{
    uint8_t rim[RMM_HASH_MAX], m[RMM_HASH_MAX], expect[RMM_HASH_MAX];
    uint8_t bytes[64];
    uint64_t args[11];
    unsigned i;

    g_assert_cmpuint(rmm_realm_measurement(e->r, 0, rim), >, 0);

    /* Failures: index 0 (the RIM), index 5, size 65 */
    CALL(e, 0, RSI_MEASUREMENT_EXTEND, 0, 8, 1);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_MEASUREMENT_EXTEND, RMM_NUM_REMS + 1, 8, 1);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_MEASUREMENT_EXTEND, 1ULL << 32 | 1, 8, 1);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_MEASUREMENT_EXTEND, 1, 65, 1);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_MEASUREMENT_EXTEND, 1, UINT64_MAX, 1);
    assert_answer(e, RSI_ERROR_INPUT);
    for (i = 1; i <= RMM_NUM_REMS; i++) {
        rmm_realm_measurement(e->r, i, m);
        g_assert_cmpmem(m, RMM_HASH_MAX, (uint8_t[RMM_HASH_MAX]){ 0 },
                        RMM_HASH_MAX);
    }

    /* REM 2: 37 bytes of x3..x10; the bytes after them do not count. */
    args[0] = RSI_MEASUREMENT_EXTEND;
    args[1] = 2;
    args[2] = 37;
    for (i = 0; i < 8; i++) {
        args[3 + i] = 0x0807060504030201ULL * (i + 1) ^ 0xf0f0f0f0f0f0f0f0;
        rmi_st64(bytes + 8 * i, args[3 + i]);
    }
    call(e, 0, args, 11);
    assert_answer(e, RSI_SUCCESS);
    memset(expect, 0, sizeof(expect));
    rmm_measure_extend(e->algo, expect, bytes, 37);
    rmm_realm_measurement(e->r, 2, m);
    g_assert_cmpmem(m, RMM_HASH_MAX, expect, RMM_HASH_MAX);
    read_meas(e, 2, m);
    g_assert_cmpmem(m, RMM_HASH_MAX, expect, RMM_HASH_MAX);

    /* Again, 64 bytes, then 0 bytes: it chains */
    args[2] = 64;
    call(e, 0, args, 11);
    assert_answer(e, RSI_SUCCESS);
    rmm_measure_extend(e->algo, expect, bytes, 64);
    args[2] = 0;
    call(e, 0, args, 11);
    assert_answer(e, RSI_SUCCESS);
    rmm_measure_extend(e->algo, expect, bytes, 0);
    rmm_realm_measurement(e->r, 2, m);
    g_assert_cmpmem(m, RMM_HASH_MAX, expect, RMM_HASH_MAX);

    /* REM 4 (the last one) */
    args[1] = 4;
    args[2] = 1;
    call(e, 0, args, 11);
    assert_answer(e, RSI_SUCCESS);
    memset(expect, 0, sizeof(expect));
    rmm_measure_extend(e->algo, expect, bytes, 1);
    rmm_realm_measurement(e->r, 4, m);
    g_assert_cmpmem(m, RMM_HASH_MAX, expect, RMM_HASH_MAX);

    /* The other REMs and the RIM did not move. */
    for (i = 1; i <= 3; i += 2) {
        rmm_realm_measurement(e->r, i, m);
        g_assert_true(m[0] == 0 && !memcmp(m, m + 1, RMM_HASH_MAX - 1));
    }
    rmm_realm_measurement(e->r, 0, m);
    g_assert_cmpmem(m, RMM_HASH_MAX, rim, RMM_HASH_MAX);
}

/* ---- REALM_CONFIG ---- */

static void check_config(Env *e, uint64_t ipa)
{
    uint8_t *buf = store_at(e, ipa);
    unsigned i;

    g_assert_cmphex(rmi_ld64(buf), ==, IPA_WIDTH);
    g_assert_cmphex(buf[8], ==, e->algo);
    for (i = 9; i < 0x200; i++) {
        g_assert_cmphex(buf[i], ==, 0);
    }
    g_assert_cmpmem(buf + 0x200, RMM_RPV_SIZE, e->params.rpv, RMM_RPV_SIZE);
    for (i = 0x200 + RMM_RPV_SIZE; i < G; i++) {
        g_assert_cmphex(buf[i], ==, 0);
    }
}

static void test_realm_config(Env *e, gconstpointer data)
{
    uint64_t ipa = BASE + 0x2000;

    /* Whatever was there is replaced, the neighbours are not touched. */
    memset(store_at(e, ipa - G), 0xff, 3 * G);
    CALL(e, 0, RSI_REALM_CONFIG, ipa);
    assert_answer(e, RSI_SUCCESS);
    check_config(e, ipa);
    g_assert_cmphex(store_at(e, ipa)[-1], ==, 0xff);
    g_assert_cmphex(store_at(e, ipa)[G], ==, 0xff);

    /* Failures */
    memset(store_at(e, ipa), 0xff, G);
    CALL(e, 0, RSI_REALM_CONFIG, ipa + 8);             /* unaligned */
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_REALM_CONFIG, PROT_SIZE);           /* unprotected */
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_REALM_CONFIG, PROT_SIZE + ipa);
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_REALM_CONFIG, ~(G - 1));
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_REALM_CONFIG, RAM_TOP);             /* RIPAS EMPTY */
    assert_answer(e, RSI_ERROR_INPUT);
    CALL(e, 0, RSI_REALM_CONFIG, 0);                   /* no RAM there */
    assert_answer(e, RSI_ERROR_INPUT);
    g_assert_cmphex(store_at(e, ipa)[0], ==, 0xff);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));

    /* RIPAS RAM, not assigned yet: the host assigns, the realm retries */
    ipa = ASSIGNED + 5 * G;
    g_assert_cmpint(CALL(e, 0, RSI_REALM_CONFIG, ipa), ==,
                    RMI_EXIT_SYNC);
    g_assert_cmphex(e->exit.fault_ipa, ==, ipa);
    assert_kept(e, 0);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_cmpint(rmm_data_create_unknown(e->r, ipa), ==, RMI_SUCCESS);
    CALL(e, 0, RSI_REALM_CONFIG, ipa);
    assert_answer(e, RSI_SUCCESS);
    check_config(e, ipa);
}

/* ---- IPA_STATE_SET ---- */

static void test_ipa_state_set_input(Env *e, gconstpointer data)
{
    static const uint64_t bad[][4] = {
        /* base, top, ripas, flags */
        { BASE, BASE + G, RMI_RIPAS_DESTROYED, 0 },
        { BASE, BASE + G, 3, 0 },
        { BASE, BASE + G, 1ULL << 32 | RMI_RIPAS_RAM, 0 },
        { BASE, BASE + G, RMI_RIPAS_EMPTY, 2 },
        { BASE, BASE + G, RMI_RIPAS_EMPTY, 1ULL << 63 },
        { BASE + 8, BASE + G, RMI_RIPAS_EMPTY, 0 },
        { BASE, BASE + G + 8, RMI_RIPAS_EMPTY, 0 },
        { BASE, BASE, RMI_RIPAS_EMPTY, 0 },
        { BASE + G, BASE, RMI_RIPAS_EMPTY, 0 },
        { ~(G - 1), G, RMI_RIPAS_EMPTY, 0 },
        { PROT_SIZE - G, PROT_SIZE + G, RMI_RIPAS_EMPTY, 0 },
        { PROT_SIZE, PROT_SIZE + G, RMI_RIPAS_EMPTY, 0 },
        { BASE, ~(G - 1), RMI_RIPAS_RAM, 0 },
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        CALL(e, 0, RSI_IPA_STATE_SET, bad[i][0], bad[i][1], bad[i][2],
             bad[i][3]);
        assert_answer(e, RSI_ERROR_INPUT);
        g_assert_true(rmm_rec_may_enter(e->rec[0]));
    }
    /* Both flags values, up to the end of protected space, are fine. */
    CALL(e, 0, RSI_IPA_STATE_SET, PROT_SIZE - G, PROT_SIZE, RMI_RIPAS_EMPTY,
         RSI_CHANGE_DESTROYED);
    g_assert_cmpint(e->exit.reason, ==, RMI_EXIT_RIPAS_CHANGE);
}

/* RIPAS change request: the exit, and the REC held until it completes. */
static void request(Env *e, uint64_t base, uint64_t top, RmiRipas ripas)
{
    g_assert_cmpint(CALL(e, 0, RSI_IPA_STATE_SET, base, top, ripas, 0), ==,
                    RMI_EXIT_RIPAS_CHANGE);
    g_assert_cmphex(e->exit.ripas_base, ==, base);
    g_assert_cmphex(e->exit.ripas_top, ==, top);
    g_assert_cmpint(e->exit.ripas_value, ==, ripas);
    assert_kept(e, 0);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));
}

static void set_ripas(Env *e, uint64_t base, uint64_t top,
                      RmiCommandReturnCode status,
                      uint64_t out_top)
{
    uint64_t out = 0;

    g_assert_cmpint(rmm_rtt_set_ripas(e->r, e->rec[0], base, top, &out), ==,
                    status);
    g_assert_cmphex(out, ==, out_top);
}

/* Complete the request: x0..x2 as given, the rest untouched. */
static void complete(Env *e, RmmRipasResponse response, uint64_t next,
                     RmmRipasResponse answer)
{
    g_assert_cmpint(rmm_rec_complete(e->rec[0], response, &e->exit,
                                     e->regs), ==, RMI_SUCCESS);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    g_assert_cmphex(e->regs[1], ==, next);
    g_assert_cmphex(e->regs[2], ==, answer);
    assert_kept(e, 3);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
}

static void test_ipa_state_set_empty(Env *e, gconstpointer data)
{
    RmiRealmParams p = e->params;
    RmmRealm *r2;
    uint64_t out;

    request(e, BASE, BASE + 4 * G, RMI_RIPAS_EMPTY);

    /* Any SMC of the REC while the exit is pending: ERROR_STATE */
    CALL(e, 0, RSI_VERSION, RSI_ABI_1_0);
    assert_answer(e, RSI_ERROR_STATE);
    CALL(e, 0, RSI_IPA_STATE_SET, BASE, BASE + G, RMI_RIPAS_RAM, 0);
    assert_answer(e, RSI_ERROR_STATE);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));

    /* RTT_SET_RIPAS checks */
    set_ripas(e, BASE + G, BASE + 2 * G, RMI_ERROR_INPUT, BASE + G);
    set_ripas(e, BASE - G, BASE + 2 * G, RMI_ERROR_INPUT, BASE - G);
    set_ripas(e, BASE + 8, BASE + 2 * G, RMI_ERROR_INPUT, BASE + 8);
    set_ripas(e, BASE, BASE + 5 * G, RMI_ERROR_INPUT, BASE);
    set_ripas(e, BASE, BASE + G + 8, RMI_ERROR_INPUT, BASE);
    set_ripas(e, BASE, BASE, RMI_ERROR_INPUT, BASE);
    g_assert_cmpint(rmm_rtt_set_ripas(e->r, e->rec[1], BASE, BASE + G,
                                      &out), ==, RMI_ERROR_REC);
    g_assert_cmphex(out, ==, BASE);
    p.vmid = 99;
    g_assert_cmpint(rmm_realm_create(plat, &p, &r2), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_set_ripas(r2, e->rec[0], BASE, BASE + G, &out),
                    ==, RMI_ERROR_REC);
    rmm_realm_destroy(r2);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);

    /* Partial progress, from where the last call stopped */
    set_ripas(e, BASE, BASE + 2 * G, RMI_SUCCESS, BASE + 2 * G);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    assert_ripas(e, BASE + G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    assert_ripas(e, BASE + 2 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
    g_assert_cmpint(rmm_realm_s2_lookup(e->r, BASE), ==, RMM_S2_ABORT);
    set_ripas(e, BASE, BASE + 3 * G, RMI_ERROR_INPUT, BASE);
    set_ripas(e, BASE + 2 * G, BASE + 3 * G, RMI_SUCCESS, BASE + 3 * G);
    assert_ripas(e, BASE + 3 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);

    /* ACCEPT: x1 is the first address not changed */
    e->in[0] = e->regs[0] = RSI_IPA_STATE_SET;
    complete(e, RMM_RIPAS_ACCEPT, BASE + 3 * G, RMM_RIPAS_ACCEPT);
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_ACCEPT, &e->exit,
                                     e->regs), ==, RMI_ERROR_REC);
    set_ripas(e, BASE + 3 * G, BASE + 4 * G, RMI_ERROR_REC, BASE + 3 * G);

    /* The realm goes on from there. */
    request(e, BASE + 3 * G, BASE + 4 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, BASE + 3 * G, BASE + 4 * G, RMI_SUCCESS, BASE + 4 * G);
    complete(e, RMM_RIPAS_ACCEPT, BASE + 4 * G, RMM_RIPAS_ACCEPT);
    assert_ripas(e, BASE + 3 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    assert_ripas(e, BASE + 4 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
}

static void test_ipa_state_set_no_progress(Env *e, gconstpointer data)
{
    /* ACCEPT of nothing is REJECT: the realm must never loop. */
    request(e, BASE, BASE + 4 * G, RMI_RIPAS_EMPTY);
    complete(e, RMM_RIPAS_ACCEPT, BASE, RMM_RIPAS_REJECT);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);

    /* Same after a failed RTT_SET_RIPAS */
    request(e, BASE, BASE + 4 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, BASE + G, BASE + 4 * G, RMI_ERROR_INPUT, BASE + G);
    complete(e, RMM_RIPAS_ACCEPT, BASE, RMM_RIPAS_REJECT);
}

static void test_ipa_state_set_reject(Env *e, gconstpointer data)
{
    request(e, BASE, BASE + 4 * G, RMI_RIPAS_EMPTY);
    complete(e, RMM_RIPAS_REJECT, BASE, RMM_RIPAS_REJECT);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);

    /* Rejected after some progress: x1 still says what changed */
    request(e, BASE, BASE + 4 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, BASE, BASE + G, RMI_SUCCESS, BASE + G);
    complete(e, RMM_RIPAS_REJECT, BASE + G, RMM_RIPAS_REJECT);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    assert_ripas(e, BASE + G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
}

static void test_ipa_state_set_ram(Env *e, gconstpointer data)
{
    /* EMPTY -> RAM: unassigned until the host assigns on first touch */
    request(e, RAM_TOP, RAM_TOP + 2 * G, RMI_RIPAS_RAM);
    set_ripas(e, RAM_TOP, RAM_TOP + 2 * G, RMI_SUCCESS, RAM_TOP + 2 * G);
    complete(e, RMM_RIPAS_ACCEPT, RAM_TOP + 2 * G, RMM_RIPAS_ACCEPT);
    assert_ripas(e, RAM_TOP, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);
    assert_ripas(e, RAM_TOP + G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);
    assert_ripas(e, RAM_TOP + 2 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    g_assert_cmpint(rmm_realm_s2_lookup(e->r, RAM_TOP), ==,
                    RMM_S2_UNASSIGNED);

    /* RAM -> RAM changes nothing but is fine */
    request(e, BASE, BASE + G, RMI_RIPAS_RAM);
    set_ripas(e, BASE, BASE + G, RMI_SUCCESS, BASE + G);
    complete(e, RMM_RIPAS_ACCEPT, BASE + G, RMM_RIPAS_ACCEPT);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
}

static void test_ipa_state_set_ram_end(Env *e, gconstpointer data)
{
    /* RAM past the end of the RAM range: stops there */
    request(e, RAM_END - 2 * G, RAM_END + 2 * G, RMI_RIPAS_RAM);
    set_ripas(e, RAM_END - 2 * G, RAM_END + 2 * G, RMI_SUCCESS, RAM_END);
    assert_ripas(e, RAM_END - G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);
    complete(e, RMM_RIPAS_ACCEPT, RAM_END, RMM_RIPAS_ACCEPT);

    /* ... and the next call cannot make progress at all */
    request(e, RAM_END, RAM_END + 2 * G, RMI_RIPAS_RAM);
    set_ripas(e, RAM_END, RAM_END + 2 * G, rmi_return(RMI_ERROR_RTT, 2),
              RAM_END);
    complete(e, RMM_RIPAS_ACCEPT, RAM_END, RMM_RIPAS_REJECT);
    assert_ripas(e, RAM_END, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);

    /* Unbacked space is EMPTY already: EMPTY goes through it */
    request(e, RAM_END - G, RAM_END + 2 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, RAM_END - G, RAM_END + 2 * G, RMI_SUCCESS, RAM_END + 2 * G);
    complete(e, RMM_RIPAS_ACCEPT, RAM_END + 2 * G, RMM_RIPAS_ACCEPT);
    assert_ripas(e, RAM_END - G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    assert_ripas(e, RAM_END - 2 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);

    request(e, BASE - 2 * G, BASE + G, RMI_RIPAS_EMPTY);
    set_ripas(e, BASE - 2 * G, BASE + G, RMI_SUCCESS, BASE + G);
    complete(e, RMM_RIPAS_ACCEPT, BASE + G, RMM_RIPAS_ACCEPT);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);

    request(e, 0, 4 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, 0, 4 * G, RMI_SUCCESS, 4 * G);
    complete(e, RMM_RIPAS_ACCEPT, 4 * G, RMM_RIPAS_ACCEPT);

    /* RAM from unbacked space: no progress */
    request(e, BASE - G, BASE + G, RMI_RIPAS_RAM);
    set_ripas(e, BASE - G, BASE + G, rmi_return(RMI_ERROR_RTT, 1),
              BASE - G);
    complete(e, RMM_RIPAS_ACCEPT, BASE - G, RMM_RIPAS_REJECT);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
}

static void test_ipa_state_set_realm_off(Env *e, gconstpointer data)
{
    start_rec1(e);
    request(e, BASE, BASE + G, RMI_RIPAS_EMPTY);
    g_assert_cmpint(CALL(e, 1, PSCI_SYSTEM_OFF), ==, RMI_EXIT_PSCI);
    e->in[0] = e->regs[0] = RSI_IPA_STATE_SET;
    set_ripas(e, BASE, BASE + G, RMI_ERROR_REALM, BASE);
    assert_ripas(e, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_ACCEPT, &e->exit,
                                     e->regs), ==, RMI_SUCCESS);
    g_assert_cmphex(e->regs[1], ==, BASE);
    g_assert_cmphex(e->regs[2], ==, RMM_RIPAS_REJECT);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));
}

/* ---- IPA_STATE_GET ---- */

static void state_get(Env *e, uint64_t base, uint64_t end, uint64_t top,
                      RmiRipas ripas)
{
    CALL(e, 0, RSI_IPA_STATE_GET, base, end);
    g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    g_assert_cmphex(e->regs[1], ==, top);
    g_assert_cmphex(e->regs[2], ==, ripas);
    assert_kept(e, 3);
}

static void test_ipa_state_get(Env *e, gconstpointer data)
{
    static const uint64_t bad[][2] = {
        { BASE + 8, BASE + G }, { BASE, BASE + G + 8 }, { BASE, BASE },
        { BASE + G, BASE }, { BASE, PROT_SIZE + G },
        { PROT_SIZE, PROT_SIZE + G }, { ~(G - 1), 0 },
    };
    unsigned i;

    /* RAM, assigned or not, up to the EMPTY part */
    state_get(e, BASE, RAM_END, RAM_TOP, RMI_RIPAS_RAM);
    state_get(e, BASE, PROT_SIZE, RAM_TOP, RMI_RIPAS_RAM);
    state_get(e, ASSIGNED - G, RAM_TOP + G, RAM_TOP, RMI_RIPAS_RAM);
    /* Capped at end */
    state_get(e, BASE, BASE + 2 * G, BASE + 2 * G, RMI_RIPAS_RAM);
    state_get(e, RAM_TOP - G, RAM_TOP, RAM_TOP, RMI_RIPAS_RAM);
    /* EMPTY RAM, then unbacked space: all EMPTY */
    state_get(e, RAM_TOP, RAM_END, RAM_END, RMI_RIPAS_EMPTY);
    state_get(e, RAM_TOP, RAM_END + 1024 * MIB, RAM_END + 1024 * MIB,
              RMI_RIPAS_EMPTY);
    state_get(e, RAM_TOP, PROT_SIZE, PROT_SIZE, RMI_RIPAS_EMPTY);
    state_get(e, RAM_END - G, RAM_END + G, RAM_END + G, RMI_RIPAS_EMPTY);
    /* Unbacked space up to the RAM */
    state_get(e, 0, BASE + G, BASE, RMI_RIPAS_EMPTY);
    state_get(e, 0, PROT_SIZE, BASE, RMI_RIPAS_EMPTY);
    state_get(e, BASE - G, RAM_END, BASE, RMI_RIPAS_EMPTY);
    state_get(e, 0, G, G, RMI_RIPAS_EMPTY);
    state_get(e, PROT_SIZE - G, PROT_SIZE, PROT_SIZE, RMI_RIPAS_EMPTY);

    /* After a change in the middle of the RAM */
    request(e, BASE + 4 * G, BASE + 6 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, BASE + 4 * G, BASE + 6 * G, RMI_SUCCESS, BASE + 6 * G);
    complete(e, RMM_RIPAS_ACCEPT, BASE + 6 * G, RMM_RIPAS_ACCEPT);
    state_get(e, BASE, RAM_END, BASE + 4 * G, RMI_RIPAS_RAM);
    state_get(e, BASE + 4 * G, RAM_END, BASE + 6 * G, RMI_RIPAS_EMPTY);
    state_get(e, BASE + 5 * G, RAM_END, BASE + 6 * G, RMI_RIPAS_EMPTY);
    state_get(e, BASE + 6 * G, RAM_END, RAM_TOP, RMI_RIPAS_RAM);

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        CALL(e, 0, RSI_IPA_STATE_GET, bad[i][0], bad[i][1]);
        assert_answer(e, RSI_ERROR_INPUT);
    }
}

/*
 * A granule the host took away (DATA_DESTROY of RIPAS RAM) is DESTROYED:
 * the realm's accesses and RSI buffers never reach it, assigning it again
 * does not bring it back, and a RIPAS change goes past it only if the
 * realm allows it (RSI_CHANGE_DESTROYED).
 */
static void test_ipa_state_set_destroyed(Env *e, gconstpointer data)
{
    const uint64_t p = BASE + 2 * G;
    uint64_t out = 0;

    g_assert_cmpint(rmm_data_destroy(e->r, p), ==, RMI_SUCCESS);
    assert_ripas(e, p, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_DESTROYED);
    state_get(e, BASE, RAM_END, p, RMI_RIPAS_RAM);
    state_get(e, p, RAM_END, p + G, RMI_RIPAS_DESTROYED);
    g_assert_cmpint(rmm_realm_s2_lookup(e->r, p), ==, RMM_S2_DESTROYED);
    g_assert_cmpint(rmm_data_create_unknown(e->r, p), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_s2_lookup(e->r, p), ==, RMM_S2_DESTROYED);
    /* An RSI buffer there: refused, no exit the host could resolve. */
    CALL(e, 0, RSI_REALM_CONFIG, p);
    assert_answer(e, RSI_ERROR_INPUT);

    /* Without RSI_CHANGE_DESTROYED: the change stops at the granule... */
    request(e, BASE, BASE + 4 * G, RMI_RIPAS_EMPTY);
    set_ripas(e, BASE, BASE + 4 * G, RMI_SUCCESS, p);
    complete(e, RMM_RIPAS_ACCEPT, p, RMM_RIPAS_ACCEPT);
    assert_ripas(e, BASE + G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    /* ...and makes no progress from it. */
    request(e, p, BASE + 4 * G, RMI_RIPAS_RAM);
    set_ripas(e, p, BASE + 4 * G, rmi_return(RMI_ERROR_RTT, 3), p);
    complete(e, RMM_RIPAS_ACCEPT, p, RMM_RIPAS_REJECT);
    assert_ripas(e, p, RMM_HIPAS_ASSIGNED, RMI_RIPAS_DESTROYED);

    /* With it, the realm takes the granule back (its old contents lost). */
    g_assert_cmpint(CALL(e, 0, RSI_IPA_STATE_SET, p, BASE + 4 * G,
                         RMI_RIPAS_RAM, RSI_CHANGE_DESTROYED), ==,
                    RMI_EXIT_RIPAS_CHANGE);
    g_assert_cmpint(rmm_rtt_set_ripas(e->r, e->rec[0], p, BASE + 4 * G,
                                      &out), ==, RMI_SUCCESS);
    g_assert_cmphex(out, ==, BASE + 4 * G);
    complete(e, RMM_RIPAS_ACCEPT, BASE + 4 * G, RMM_RIPAS_ACCEPT);
    assert_ripas(e, p, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
    g_assert_cmpint(rmm_realm_s2_lookup(e->r, p), ==, RMM_S2_OK);
}

/* ---- HOST_CALL ---- */

static void test_host_call(Env *e, gconstpointer data)
{
    uint64_t ipa = BASE + 0x3100;
    uint8_t *buf = store_at(e, ipa);
    RmmRecExit answer;
    unsigned i;

    memset(store_at(e, BASE + 0x3000), 0x33, G);
    buf[0] = 0xef;
    buf[1] = 0xbe;
    memset(buf + 2, 0x77, 6);
    for (i = 0; i < 31; i++) {
        rmi_st64(buf + 8 + 8 * i, 0x1000 + i);
    }

    g_assert_cmpint(CALL(e, 0, RSI_HOST_CALL, ipa), ==, RMI_EXIT_HOST_CALL);
    g_assert_cmphex(e->exit.imm, ==, 0xbeef);
    for (i = 0; i < 31; i++) {
        g_assert_cmphex(e->exit.gprs[i], ==, 0x1000 + i);
    }
    assert_kept(e, 0);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));

    /* Pending: the REC's SMCs fail, nothing else changes */
    CALL(e, 0, RSI_FEATURES, 0);
    assert_answer(e, RSI_ERROR_STATE);
    g_assert_false(rmm_rec_may_enter(e->rec[0]));

    /* The host's results go back into the structure. */
    e->in[0] = e->regs[0] = RSI_HOST_CALL;
    e->in[1] = e->regs[1] = ipa;
    memset(&answer, 0, sizeof(answer));
    answer.reason = RMI_EXIT_HOST_CALL;
    for (i = 0; i < 31; i++) {
        answer.gprs[i] = 0xa0a0a0a000000000ULL + i;
    }
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_REJECT, &answer,
                                     e->regs), ==, RMI_SUCCESS);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    assert_kept(e, 1);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_cmphex(buf[0], ==, 0xef);
    g_assert_cmphex(buf[1], ==, 0xbe);
    for (i = 2; i < 8; i++) {
        g_assert_cmphex(buf[i], ==, 0x77);
    }
    for (i = 0; i < 31; i++) {
        g_assert_cmphex(rmi_ld64(buf + 8 + 8 * i), ==, 0xa0a0a0a000000000ULL + i);
    }
    g_assert_cmphex(buf[-1], ==, 0x33);
    g_assert_cmphex(buf[256], ==, 0x33);
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_ACCEPT, &answer,
                                     e->regs), ==, RMI_ERROR_REC);

    /* The last 256 bytes of a granule */
    g_assert_cmpint(CALL(e, 0, RSI_HOST_CALL, BASE + 0x3f00), ==,
                    RMI_EXIT_HOST_CALL);
    g_assert_cmphex(e->exit.imm, ==, 0x3333);
    g_assert_cmphex(e->exit.gprs[30], ==, 0x3333333333333333ULL);
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_ACCEPT, &answer,
                                     e->regs), ==, RMI_SUCCESS);
    g_assert_cmphex(rmi_ld64(store_at(e, BASE + 0x3ff8)), ==,
                    0xa0a0a0a000000000ULL + 30);
}

static void test_host_call_errors(Env *e, gconstpointer data)
{
    static const uint64_t bad[] = {
        BASE + 0x3108, BASE + 0x3080, BASE + 1, PROT_SIZE,
        PROT_SIZE + BASE, ~(G - 1), RAM_TOP, RAM_TOP + 0x100, 0, RAM_END,
    };
    uint64_t ipa = ASSIGNED + 0x100;
    RmmRecExit answer;
    unsigned i;

    memset(&answer, 0, sizeof(answer));
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        CALL(e, 0, RSI_HOST_CALL, bad[i]);
        assert_answer(e, RSI_ERROR_INPUT);
        g_assert_true(rmm_rec_may_enter(e->rec[0]));
    }

    /* Nothing to complete */
    memset(e->regs, 0x11, sizeof(e->regs));
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_ACCEPT, &answer,
                                     e->regs), ==, RMI_ERROR_REC);
    g_assert_cmphex(e->regs[0], ==, 0x1111111111111111ULL);

    /* RIPAS RAM, unassigned: exit so the host assigns, then retry */
    g_assert_cmpint(CALL(e, 0, RSI_HOST_CALL, ipa), ==, RMI_EXIT_SYNC);
    g_assert_cmphex(e->exit.fault_ipa, ==, ASSIGNED);
    assert_kept(e, 0);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_cmpint(rmm_data_create_unknown(e->r, ASSIGNED), ==, RMI_SUCCESS);
    g_assert_cmpint(CALL(e, 0, RSI_HOST_CALL, ipa), ==, RMI_EXIT_HOST_CALL);
    g_assert_cmphex(e->exit.imm, ==, 0);
    g_assert_cmphex(e->exit.gprs[0], ==, 0);

    /* The granule is gone when the host completes: ERROR_INPUT */
    g_assert_cmpint(rmm_data_destroy(e->r, ASSIGNED), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rec_complete(e->rec[0], RMM_RIPAS_ACCEPT, &answer,
                                     e->regs), ==, RMI_SUCCESS);
    g_assert_cmphex(e->regs[0], ==, RSI_ERROR_INPUT);
    assert_kept(e, 1);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
}

/* ---- ATTESTATION_TOKEN_INIT / CONTINUE ---- */

#define TOKEN_BUF   (BASE + 0x10000)

static void attest_init(Env *e, unsigned rec, const uint64_t challenge[8])
{
    uint64_t args[9];

    args[0] = RSI_ATTEST_INIT;
    memcpy(args + 1, challenge, 8 * sizeof(uint64_t));
    call(e, rec, args, 9);
    g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
    g_assert_cmphex(e->regs[0], ==, RSI_SUCCESS);
    g_assert_cmpuint(e->regs[1], ==, rmm_attest_token_max_size(e->algo));
    g_assert_cmpuint(e->regs[1], >, 0);
    assert_kept(e, 2);
}

/*
 * Read the token (@whole: all of it, else what is left) in chunks of
 * @chunk at @off of TOKEN_BUF.
 */
static GByteArray *attest_read(Env *e, uint64_t off, uint64_t chunk,
                               bool whole)
{
    GByteArray *tok = g_byte_array_new();
    uint8_t *buf = store_at(e, TOKEN_BUF);
    size_t max = rmm_attest_token_max_size(e->algo);
    unsigned calls = 0;
    uint64_t n;

    for (;;) {
        memset(buf, 0xee, G);
        CALL(e, 0, RSI_ATTEST_CONTINUE, TOKEN_BUF, off, chunk);
        g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
        assert_kept(e, 2);
        n = e->regs[1];
        g_assert_cmpuint(n, <=, chunk);
        g_byte_array_append(tok, buf + off, n);
        /* Only [off, off + n) was written. */
        g_assert_true(off == 0 || buf[off - 1] == 0xee);
        g_assert_true(off + n == G || buf[off + n] == 0xee);
        g_assert_cmpuint(++calls, <=, max / chunk + 1);
        if (e->regs[0] == RSI_SUCCESS) {
            break;
        }
        g_assert_cmphex(e->regs[0], ==, RSI_INCOMPLETE);
        g_assert_cmpuint(n, ==, chunk);
    }
    g_assert_cmpuint(tok->len, <=, max);
    if (whole) {
        /* CBOR tag 399 (CCA token) over a map of two tokens */
        g_assert_cmpuint(tok->len, >, 4);
        g_assert_cmphex(tok->data[0], ==, 0xd9);
        g_assert_cmphex(tok->data[1], ==, 0x01);
        g_assert_cmphex(tok->data[2], ==, 0x8f);
        g_assert_cmphex(tok->data[3], ==, 0xa2);
    }

    /* Done: nothing in progress any more */
    CALL(e, 0, RSI_ATTEST_CONTINUE, TOKEN_BUF, off, chunk);
    assert_answer(e, RSI_ERROR_STATE);
    return tok;
}

static bool has_bytes(GByteArray *tok, const uint64_t words[8])
{
    uint8_t b[64];
    unsigned i;

    for (i = 0; i < 8; i++) {
        rmi_st64(b + 8 * i, words[i]);
    }
    return memmem(tok->data, tok->len, b, sizeof(b)) != NULL;
}

static void test_attest(Env *e, gconstpointer data)
{
    static const uint64_t c1[8] = {
        0x0102030405060708ULL, 0x1112131415161718ULL, 0x2122232425262728ULL,
        0x3132333435363738ULL, 0x4142434445464748ULL, 0x5152535455565758ULL,
        0x6162636465666768ULL, 0x7172737475767778ULL,
    };
    static const uint64_t c2[8] = { 0xc2, 0, 0, 0, 0, 0, 0, 0xc2c2 };
    GByteArray *tok;

    /* CONTINUE without INIT */
    CALL(e, 0, RSI_ATTEST_CONTINUE, TOKEN_BUF, 0, G);
    assert_answer(e, RSI_ERROR_STATE);

    /* Chunks of 1000 bytes at offset 96 */
    attest_init(e, 0, c1);
    /* The state is per REC. */
    CALL(e, 1, RSI_ATTEST_CONTINUE, TOKEN_BUF, 0, G);
    assert_answer(e, RSI_ERROR_STATE);
    tok = attest_read(e, 96, 1000, true);
    g_assert_true(has_bytes(tok, c1));
    g_byte_array_unref(tok);

    /* A whole granule at a time; INIT again restarts */
    attest_init(e, 0, c1);
    CALL(e, 0, RSI_ATTEST_CONTINUE, TOKEN_BUF, 0, 16);
    g_assert_cmphex(e->regs[0], ==, RSI_INCOMPLETE);
    attest_init(e, 0, c2);
    tok = attest_read(e, 0, G, true);
    g_assert_true(has_bytes(tok, c2));
    g_assert_false(has_bytes(tok, c1));
    g_byte_array_unref(tok);

    /* The last byte of the granule, one byte at a time */
    attest_init(e, 0, c2);
    tok = attest_read(e, G - 1, 1, true);
    g_assert_true(has_bytes(tok, c2));
    g_byte_array_unref(tok);
}

static void test_attest_errors(Env *e, gconstpointer data)
{
    static const uint64_t c[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    static const uint64_t bad[][3] = {
        /* addr, offset, size */
        { TOKEN_BUF + 8, 0, 64 },
        { TOKEN_BUF, G, 0 },
        { TOKEN_BUF, G, 1 },
        { TOKEN_BUF, 4000, 97 },
        { TOKEN_BUF, 0, G + 1 },
        { TOKEN_BUF, 8, UINT64_MAX },
        { TOKEN_BUF, UINT64_MAX, 2 },
        { PROT_SIZE, 0, 64 },
        { ~(G - 1), 0, 64 },
        { RAM_TOP, 0, 64 },            /* RIPAS EMPTY */
        { 0, 0, 64 },                  /* unbacked */
    };
    uint64_t ipa = ASSIGNED + 7 * G;
    GByteArray *tok;
    unsigned i;

    attest_init(e, 0, c);
    memset(store_at(e, TOKEN_BUF), 0xee, G);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        CALL(e, 0, RSI_ATTEST_CONTINUE, bad[i][0], bad[i][1], bad[i][2]);
        assert_answer(e, RSI_ERROR_INPUT);
    }
    g_assert_cmphex(store_at(e, TOKEN_BUF)[0], ==, 0xee);

    /* offset + size == 4096 is fine */
    CALL(e, 0, RSI_ATTEST_CONTINUE, TOKEN_BUF, 4000, 96);
    g_assert_cmphex(e->regs[0], ==, RSI_INCOMPLETE);
    g_assert_cmphex(e->regs[1], ==, 96);
    g_assert_cmphex(store_at(e, TOKEN_BUF)[4000], ==, 0xd9);

    /* Unassigned RAM buffer: exit so the host assigns it, then retry */
    attest_init(e, 0, c);
    g_assert_cmpint(CALL(e, 0, RSI_ATTEST_CONTINUE, ipa, 0, G), ==,
                    RMI_EXIT_SYNC);
    g_assert_cmphex(e->exit.fault_ipa, ==, ipa);
    assert_kept(e, 0);
    g_assert_true(rmm_rec_may_enter(e->rec[0]));
    g_assert_cmpint(rmm_data_create_unknown(e->r, ipa), ==, RMI_SUCCESS);
    CALL(e, 0, RSI_ATTEST_CONTINUE, ipa, 0, 3);
    g_assert_cmphex(e->regs[0], ==, RSI_INCOMPLETE);
    g_assert_cmphex(e->regs[1], ==, 3);
    g_assert_cmpmem(store_at(e, ipa), 3, "\xd9\x01\x8f", 3);

    /* The rest follows on, within the bound. */
    tok = attest_read(e, 0, G, false);
    g_assert_cmpuint(3 + tok->len, <=, rmm_attest_token_max_size(e->algo));
    g_byte_array_unref(tok);
}

/* ---- Registers a command does not return values in ---- */

static void test_regs_preserved(Env *e, gconstpointer data)
{
    static const struct {
        uint64_t args[4];
        unsigned first_kept;
    } calls[] = {
        { { SMCCC_VERSION }, 1 },
        { { SMCCC_ARCH_FEATURES, SMCCC_VERSION }, 1 },
        { { PSCI_VERSION }, 1 },
        { { PSCI_FEATURES, PSCI_CPU_ON_64 }, 1 },
        { { PSCI_MIGRATE_INFO_TYPE }, 1 },
        { { PSCI_AFFINITY_INFO_64, 0, 0 }, 1 },
        { { PSCI_CPU_ON_64, 0, BASE }, 1 },
        { { RSI_VERSION, RSI_ABI_1_0 }, 3 },
        { { RSI_FEATURES, 0 }, 2 },
        { { RSI_MEASUREMENT_READ, 0 }, 9 },
        { { RSI_MEASUREMENT_EXTEND, 1, 64 }, 1 },
        { { RSI_ATTEST_INIT }, 2 },
        { { RSI_ATTEST_CONTINUE, TOKEN_BUF, 0, 64 }, 2 },
        { { RSI_REALM_CONFIG, TOKEN_BUF }, 1 },
        { { RSI_IPA_STATE_GET, BASE, RAM_END }, 3 },
        { { 0xC4000300 }, 1 },
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(calls); i++) {
        call(e, 0, calls[i].args, 4);
        g_assert_cmpint(e->exit.reason, ==, RMM_EXIT_NONE);
        assert_kept(e, calls[i].first_kept);
    }
}

static void add(const char *name, RmiHashAlgo algo,
                void (*fn)(Env *, gconstpointer))
{
    char *path = g_strdup_printf("/rmm/rsi/%s/%s", name,
                                 algo == RMI_HASH_SHA256 ? "sha256"
                                                         : "sha512");

    g_test_add(path, Env, GINT_TO_POINTER(algo), env_setup, fn,
               env_teardown);
    g_free(path);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(Env *, gconstpointer);
        bool both_algos;
    } tests[] = {
        { "smccc/version", test_smccc_version },
        { "smccc/arch-features", test_smccc_arch_features },
        { "smccc/sve-hint", test_smccc_sve_hint },
        { "smccc/high-bits", test_smccc_high_bits },
        { "smccc/unknown", test_smccc_unknown },
        { "psci/version", test_psci_version },
        { "psci/features", test_psci_features },
        { "psci/migrate-info-type", test_psci_migrate_info_type },
        { "psci/cpu-on", test_psci_cpu_on },
        { "psci/cpu-on-32", test_psci_cpu_on_32 },
        { "psci/cpu-off", test_psci_cpu_off },
        { "psci/cpu-suspend", test_psci_cpu_suspend },
        { "psci/affinity-info", test_psci_affinity_info },
        { "psci/system-off", test_psci_system_off },
        { "psci/system-reset", test_psci_system_reset },
        { "version", test_rsi_version },
        { "features", test_rsi_features },
        { "measurement-read", test_measurement_read, true },
        { "measurement-extend", test_measurement_extend, true },
        { "realm-config", test_realm_config, true },
        { "ipa-state-set/input", test_ipa_state_set_input },
        { "ipa-state-set/empty", test_ipa_state_set_empty },
        { "ipa-state-set/no-progress", test_ipa_state_set_no_progress },
        { "ipa-state-set/reject", test_ipa_state_set_reject },
        { "ipa-state-set/ram", test_ipa_state_set_ram },
        { "ipa-state-set/ram-end", test_ipa_state_set_ram_end },
        { "ipa-state-set/destroyed", test_ipa_state_set_destroyed },
        { "ipa-state-set/realm-off", test_ipa_state_set_realm_off },
        { "ipa-state-get", test_ipa_state_get },
        { "host-call", test_host_call },
        { "host-call/errors", test_host_call_errors },
        { "attest", test_attest, true },
        { "attest/errors", test_attest_errors },
        { "regs-preserved", test_regs_preserved },
    };
    char *err = NULL;
    unsigned i;
    int ret;

    g_test_init(&argc, &argv, NULL);
    plat = rmm_platform_new(&err);
    g_assert_nonnull(plat);

    for (i = 0; i < G_N_ELEMENTS(tests); i++) {
        add(tests[i].name, RMI_HASH_SHA512, tests[i].fn);
        if (tests[i].both_algos) {
            add(tests[i].name, RMI_HASH_SHA256, tests[i].fn);
        }
    }

    ret = g_test_run();
    rmm_platform_free(plat);
    return ret;
}
