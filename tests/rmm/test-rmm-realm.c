/*
 * Unit tests of the emulated RMM's host interface: realm, granule, RTT,
 * data and REC commands
 *
 * Realm lifecycle, protected RAM ranges, RTT_INIT_RIPAS, DATA_CREATE,
 * DATA_CREATE_UNKNOWN, DATA_DESTROY, RTT_READ_ENTRY, the stage 2 walk,
 * REC_CREATE, the REC enter gate, REALM_DESTROY and PSCI_COMPLETE: every
 * command's success and every failure condition it checks, with the exact
 * status, and the check that a failed command changes nothing.  Expected
 * RIMs are recomputed here with the rmm-measure.c primitives, called the
 * way DEN0137 1.0 asks for (once per RTT entry, per granule, per REC).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <string.h>

#include <glib.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-internal.h"       /* RMM_MAX_RAM_RANGES */
#include "rmm-host.h"
#include "rmm-measure.h"

#define G           RMM_GRANULE_SIZE
#define MIB         (1ULL << 20)
#define BASE        0x40000000ULL   /* RAM base of the test realms */
#define IPA_WIDTH   33              /* protected space: [0, 4 GiB) */
#define PROT_SIZE   (1ULL << (IPA_WIDTH - 1))

/* SMCs the tests need to reach REC states (DEN0022, DEN0137). */
#define PSCI_CPU_OFF            0x84000002ULL
#define PSCI_CPU_ON_64          0xC4000003ULL
#define PSCI_AFFINITY_INFO_64   0xC4000004ULL
#define PSCI_SYSTEM_OFF         0x84000008ULL
#define RSI_ATTEST_TOKEN_INIT   0xC4000194ULL
#define RSI_IPA_STATE_SET       0xC4000197ULL
#define PSCI_DENIED             (-3)

static RmmPlatform *plat;

/* ---- Helpers ---- */

static void default_params(RmiRealmParams *p, RmiHashAlgo algo,
                           uint16_t vmid)
{
    unsigned i;

    memset(p, 0, sizeof(*p));
    p->ipa_width = IPA_WIDTH;
    p->hash_algo = algo;
    p->num_bps = 5;
    p->num_wps = 3;
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        p->rpv[i] = 0xa0 + i;
    }
    p->vmid = vmid;
}

static RmmRealm *realm_new(RmiHashAlgo algo, uint16_t vmid)
{
    RmiRealmParams p;
    RmmRealm *r = NULL;

    default_params(&p, algo, vmid);
    g_assert_cmpint(rmm_realm_create(plat, &p, &r), ==, RMI_SUCCESS);
    g_assert_nonnull(r);
    return r;
}

static void get_rim(RmmRealm *r, uint8_t rim[RMM_HASH_MAX])
{
    g_assert_cmpuint(rmm_realm_measurement(r, 0, rim), ==,
                     rmm_hash_len(rmm_realm_params(r)->hash_algo));
}

static void assert_rim(RmmRealm *r, const uint8_t expect[RMM_HASH_MAX])
{
    uint8_t rim[RMM_HASH_MAX];

    get_rim(r, rim);
    g_assert_cmpmem(rim, RMM_HASH_MAX, expect, RMM_HASH_MAX);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static void assert_entry(RmmRealm *r, uint64_t ipa, RmmHipas hipas,
                         RmiRipas ripas)
{
    RmmHipas h = 0xff;
    RmiRipas s = 0xff;

    g_assert_cmpint(rmm_rtt_read_entry(r, ipa, &h, &s), ==, RMI_SUCCESS);
    g_assert_cmpint(h, ==, hipas);
    g_assert_cmpint(s, ==, ripas);
}

/* The MPIDR of REC index @i: Aff0[3:0], Aff1, Aff2 (DEN0137 RmiRecMpidr). */
static uint64_t mpidr_of(unsigned i)
{
    return (i & 0xf) | (uint64_t)((i >> 4) & 0xff) << 8 |
           (uint64_t)((i >> 12) & 0xff) << 16;
}

static void rec_params(RmmRecParams *p, uint64_t mpidr, bool runnable)
{
    unsigned i;

    memset(p, 0, sizeof(*p));
    p->flags = runnable ? RMI_REC_FLAG_RUNNABLE : 0;
    p->mpidr = mpidr;
    p->pc = BASE + 0x1000 * (mpidr + 1);
    for (i = 0; i < 8; i++) {
        p->gprs[i] = 0x1111111100000000ULL * (i + 1) + mpidr;
    }
}

static RmmRec *rec_new(RmmRealm *r, uint64_t mpidr, bool runnable)
{
    RmmRecParams p;
    RmmRec *rec = NULL;

    rec_params(&p, mpidr, runnable);
    g_assert_cmpint(rmm_rec_create(r, &p, &rec), ==, RMI_SUCCESS);
    g_assert_nonnull(rec);
    return rec;
}

/* An SMC from @rec with up to four arguments; returns the exit reason. */
static int smc(RmmRec *rec, uint64_t fid, uint64_t a1,
               uint64_t a2, uint64_t a3, uint64_t regs[],
               RmmRecExit *exit)
{
    memset(regs, 0, RMM_SMC_NREGS * sizeof(uint64_t));
    regs[0] = fid;
    regs[1] = a1;
    regs[2] = a2;
    regs[3] = a3;
    rmm_rec_smc(rec, regs, exit);
    return exit->reason;
}

/*
 * A NEW realm with RAM [BASE, BASE + size) backed by a fresh store, its
 * granules delegated and RTTs down to @level (2: level 3 only at the
 * edges of the RAM).
 */
static RmmRealm *realm_with_rtts(RmiHashAlgo algo, uint64_t size,
                                 uint8_t **store, unsigned level)
{
    RmmRealm *r = realm_new(algo, 1);

    *store = g_malloc0(size);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, size, *store), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(r, BASE, size, level));
    return r;
}

/* The same, mapped with level 3 RTTs everywhere. */
static RmmRealm *realm_with_ram(RmiHashAlgo algo, uint64_t size,
                                uint8_t **store)
{
    return realm_with_rtts(algo, size, store, 3);
}

/* ---- Platform and REALM_CREATE ---- */

static void test_platform(void)
{
    char *err = NULL;
    RmmPlatform *p = rmm_platform_new(&err);

    g_assert_nonnull(p);
    g_assert_null(err);
    rmm_platform_free(p);
    rmm_platform_free(NULL);
}

static void test_create_ok(void)
{
    static const uint32_t widths[] = {
        RMI_IPA_WIDTH_MIN, IPA_WIDTH, 48, RMI_IPA_WIDTH_MAX,
    };
    static const RmiHashAlgo algos[] = { RMI_HASH_SHA256, RMI_HASH_SHA512 };
    unsigned i, j, k;

    for (i = 0; i < G_N_ELEMENTS(widths); i++) {
        for (j = 0; j < G_N_ELEMENTS(algos); j++) {
            const RmiRealmParams *q;
            RmiRealmParams p;
            RmmRealm *r = NULL;
            uint8_t expect[RMM_HASH_MAX], m[RMM_HASH_MAX];

            default_params(&p, algos[j], 2);
            p.ipa_width = widths[i];
            p.num_bps = RMM_MAX_NUM_BPS;
            p.num_wps = RMM_MAX_NUM_WPS;
            g_assert_cmpint(rmm_realm_create(plat, &p, &r), ==, RMI_SUCCESS);
            g_assert_nonnull(r);
            g_assert_cmpint(rmm_realm_state(r), ==, RMM_REALM_NEW);
            q = rmm_realm_params(r);
            g_assert_cmphex(q->flags, ==, p.flags);
            g_assert_cmpuint(q->ipa_width, ==, p.ipa_width);
            g_assert_cmpuint(q->num_bps, ==, p.num_bps);
            g_assert_cmpuint(q->num_wps, ==, p.num_wps);
            g_assert_cmpint(q->hash_algo, ==, p.hash_algo);
            g_assert_cmpmem(q->rpv, RMM_RPV_SIZE, p.rpv, RMM_RPV_SIZE);
            g_assert_cmpuint(q->vmid, ==, p.vmid);
            g_assert_cmphex(rmm_realm_prot_size(r), ==,
                            1ULL << (widths[i] - 1));
            g_assert_cmpuint(rmm_realm_num_recs(r), ==, 0);
            g_assert_null(rmm_realm_rec(r, 0));
            g_assert_null(rmm_realm_rec_by_mpidr(r, 0));

            /* RIM = measurement of the parameters, REMs zero. */
            rmm_measure_realm_create(&p, expect);
            assert_rim(r, expect);
            for (k = 1; k <= RMM_NUM_REMS; k++) {
                g_assert_cmpuint(rmm_realm_measurement(r, k, m), ==,
                                 algos[j] == RMI_HASH_SHA256 ? 32 : 64);
                g_assert_true(all_zero(m, RMM_HASH_MAX));
            }
            /* Bad measurement index: 0, @out untouched. */
            memset(m, 0x5a, sizeof(m));
            g_assert_cmpuint(rmm_realm_measurement(r, RMM_NUM_REMS + 1, m),
                             ==, 0);
            g_assert_cmpuint(rmm_realm_measurement(r, ~0u, m), ==, 0);
            g_assert_cmpuint(m[0], ==, 0x5a);
            g_assert_cmpuint(m[RMM_HASH_MAX - 1], ==, 0x5a);
            rmm_realm_destroy(r);
        }
    }
}

static void create_expect_input(const RmiRealmParams *p)
{
    RmmRealm *r = (RmmRealm *)&r;      /* not NULL: must be cleared */

    g_assert_cmpint(rmm_realm_create(plat, p, &r), ==, RMI_ERROR_INPUT);
    g_assert_null(r);
}

static void test_create_bad_params(void)
{
    RmiRealmParams p;
    RmmRealm *r;

    /* ipa_width below and above the supported range */
    default_params(&p, RMI_HASH_SHA256, 3);
    p.ipa_width = RMI_IPA_WIDTH_MIN - 1;
    create_expect_input(&p);
    p.ipa_width = 0;
    create_expect_input(&p);
    p.ipa_width = RMI_IPA_WIDTH_MAX + 1;
    create_expect_input(&p);
    p.ipa_width = 64;
    create_expect_input(&p);

    /* Hash algorithm: reserved encodings */
    default_params(&p, RMI_HASH_SHA256, 3);
    p.hash_algo = 2;
    create_expect_input(&p);
    p.hash_algo = 0xff;
    create_expect_input(&p);

    /* Reserved flags */
    default_params(&p, RMI_HASH_SHA256, 3);
    p.flags = 1ULL << 3;
    create_expect_input(&p);
    p.flags = 1ULL << 63;
    create_expect_input(&p);

    /* Features a new platform does not offer realms */
    default_params(&p, RMI_HASH_SHA256, 3);
    p.flags = RMI_REALM_FLAGS_LPA2;
    create_expect_input(&p);
    p.flags = RMI_REALM_FLAGS_SVE;
    create_expect_input(&p);
    p.flags = RMI_REALM_FLAGS_PMU;
    create_expect_input(&p);
    p.flags = 0;
    p.sve_vl = 1;
    create_expect_input(&p);
    p.sve_vl = 0;
    p.pmu_num_ctrs = 1;
    create_expect_input(&p);
    p.pmu_num_ctrs = 0;
    p.num_bps = RMM_MAX_NUM_BPS + 1;
    create_expect_input(&p);
    p.num_bps = 0;
    p.num_wps = RMM_MAX_NUM_WPS + 1;
    create_expect_input(&p);

    /* None of the failures reserved VMID 3. */
    default_params(&p, RMI_HASH_SHA256, 3);
    g_assert_cmpint(rmm_realm_create(plat, &p, &r), ==, RMI_SUCCESS);
    rmm_realm_destroy(r);
}

/*
 * RMI_FEATURES(0) says what the platform offers, and REALM_CREATE takes
 * each feature only as far as that: a platform's own maximums (SVE
 * vector length, PMU counters, breakpoints, watchpoints, IPA width),
 * not the model's.  Features change only while the platform has no
 * realm.
 */
/* @f refused by platform @p, which keeps what it had. */
static void features_refused(RmmPlatform *p, const RmmPlatformFeatures *f)
{
    uint64_t before = rmm_platform_features0(p);
    char *err = NULL;

    g_assert_false(rmm_platform_set_features(p, f, &err));
    g_assert_nonnull(err);
    g_free(err);
    g_assert_cmphex(rmm_platform_features0(p), ==, before);
}

static void test_create_features(void)
{
    /* The platform below: 40-bit IPA, SVE to 512 bits, 6+4, 6 counters */
    const uint64_t reg0 = 40 | 1ULL << 9 | 3ULL << 10 | 5ULL << 14 |
                          3ULL << 20 | 1ULL << 26 | 6ULL << 27 | 3ULL << 32;
    RmmPlatformFeatures f, base;
    RmmPlatform *p;
    RmiRealmParams rp;
    RmmRealm *r = NULL;
    char *err = NULL;

    p = rmm_platform_new(&err);
    g_assert_nonnull(p);
    rmm_platform_get_features(p, &base);
    /* A new platform: 52-bit IPA, 16 + 16 debug registers, SHA-256/512. */
    g_assert_cmphex(rmm_platform_features0(p), ==,
                    52 | 15ULL << 14 | 15ULL << 20 | 3ULL << 32);

    f = base;
    f.s2sz = 40;
    f.sve = true;
    f.sve_vl = 3;               /* 512 bits */
    f.num_bps = 5;
    f.num_wps = 3;
    f.pmu = true;
    f.pmu_num_ctrs = 6;
    g_assert_true(rmm_platform_set_features(p, &f, &err));
    g_assert_cmphex(rmm_platform_features0(p), ==, reg0);

    default_params(&rp, RMI_HASH_SHA256, 40);
    rp.ipa_width = 40;
    rp.flags = RMI_REALM_FLAGS_SVE | RMI_REALM_FLAGS_PMU;
    rp.sve_vl = 3;
    rp.pmu_num_ctrs = 6;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_SUCCESS);
    g_assert_cmpuint(rmm_realm_params(r)->sve_vl, ==, 3);
    /* With a realm, the platform's features stay what it was made with. */
    g_assert_false(rmm_platform_set_features(p, &base, &err));
    g_assert_nonnull(strstr(err, "the platform has realms"));
    g_clear_pointer(&err, g_free);
    rmm_realm_destroy(r);
    r = NULL;

    /* Each above what the platform offers. */
    rp.vmid = 41;
    rp.sve_vl = 4;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.sve_vl = 3;
    rp.pmu_num_ctrs = 7;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.pmu_num_ctrs = 6;
    rp.num_bps = 6;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.num_bps = 5;
    rp.num_wps = 4;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    /* One breakpoint or watchpoint (0, a reserved value), as TF-RMM. */
    rp.num_wps = 0;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.num_wps = 3;
    rp.num_bps = 0;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.num_bps = 5;
    rp.ipa_width = 41;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.ipa_width = 40;
    /* A vector length or counters without their flag. */
    rp.flags = RMI_REALM_FLAGS_PMU;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    rp.flags = RMI_REALM_FLAGS_SVE;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_ERROR_INPUT);
    g_assert_null(r);
    /* None of the failures kept VMID 41. */
    rp.flags |= RMI_REALM_FLAGS_PMU;
    g_assert_cmpint(rmm_realm_create(p, &rp, &r), ==, RMI_SUCCESS);
    rmm_realm_destroy(r);

    /* Out of range: refused, the features unchanged. */
    f.sve = false;
    features_refused(p, &f);
    f.sve = true;
    f.num_bps = 0;
    features_refused(p, &f);
    f.num_bps = 5;
    f.s2sz = RMI_IPA_WIDTH_MAX + 1;
    features_refused(p, &f);
    f.s2sz = 40;
    f.pmu = false;
    features_refused(p, &f);
    g_assert_cmphex(rmm_platform_features0(p), ==, reg0);
    rmm_platform_free(p);
}

static void test_create_vmid(void)
{
    RmiRealmParams p;
    RmmRealm *a, *b, *c, *d;
    RmmPlatform *other;
    char *err = NULL;

    default_params(&p, RMI_HASH_SHA512, 7);
    g_assert_cmpint(rmm_realm_create(plat, &p, &a), ==, RMI_SUCCESS);
    /* VMID 7 is in use by a live realm of this platform. */
    create_expect_input(&p);
    p.vmid = 8;
    g_assert_cmpint(rmm_realm_create(plat, &p, &b), ==, RMI_SUCCESS);
    p.vmid = UINT16_MAX;
    g_assert_cmpint(rmm_realm_create(plat, &p, &c), ==, RMI_SUCCESS);
    create_expect_input(&p);

    /* Another platform has VMIDs of its own. */
    other = rmm_platform_new(&err);
    g_assert_nonnull(other);
    p.vmid = 7;
    g_assert_cmpint(rmm_realm_create(other, &p, &d), ==, RMI_SUCCESS);
    rmm_realm_destroy(d);
    rmm_platform_free(other);

    /* Destroying a realm frees its VMID. */
    rmm_realm_destroy(a);
    g_assert_cmpint(rmm_realm_create(plat, &p, &a), ==, RMI_SUCCESS);
    rmm_realm_destroy(a);
    rmm_realm_destroy(b);
    rmm_realm_destroy(c);
}

/* ---- Protected RAM ranges ---- */

static void test_add_ram(void)
{
    RmmRealm *r = realm_new(RMI_HASH_SHA256, 1);
    uint8_t *store = g_malloc0(16 * MIB);
    uint8_t junk[G];
    unsigned i;

    /* Bad base, size and store */
    g_assert_cmpint(rmm_realm_add_ram(r, BASE + 1, G, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE + G / 2, G, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, G + 1, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, 0, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, G, NULL), ==,
                    RMI_ERROR_INPUT);
    /* base + size wraps around */
    g_assert_cmpint(rmm_realm_add_ram(r, ~(G - 1), 2 * G, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, G, ~(G - 1), store), ==,
                    RMI_ERROR_INPUT);
    /* Beyond protected IPA space, or in the unprotected half */
    g_assert_cmpint(rmm_realm_add_ram(r, PROT_SIZE - G, 2 * G, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, PROT_SIZE, G, store), ==,
                    RMI_ERROR_INPUT);
    /* None of them was added: the realm has no RAM at all. */
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE), ==, RMM_S2_ABORT);
    assert_entry(r, PROT_SIZE - G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);

    /* The last granule of protected space is fine. */
    g_assert_cmpint(rmm_realm_add_ram(r, PROT_SIZE - G, G, junk), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, 4 * MIB, store), ==,
                    RMI_SUCCESS);

    /* Overlaps: same, inside, straddling either end, containing */
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, 4 * MIB, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE + MIB, G, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE - G, 2 * G, store), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE + 4 * MIB - G, 2 * G, store),
                    ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE - MIB, 8 * MIB, store), ==,
                    RMI_ERROR_INPUT);

    /* Adjacent ranges are fine, up to RMM_MAX_RAM_RANGES in all. */
    for (i = 2; i < RMM_MAX_RAM_RANGES; i++) {
        g_assert_cmpint(rmm_realm_add_ram(r, BASE + 4 * MIB + (i - 2) * MIB,
                                          MIB, store + 4 * MIB +
                                          (i - 2) * MIB),
                        ==, RMI_SUCCESS);
    }
    g_assert_cmpint(rmm_realm_add_ram(r, 0, G, junk), ==, RMI_ERROR_INPUT);

    /* Only while the realm is NEW */
    rmm_realm_destroy(r);
    r = realm_new(RMI_HASH_SHA256, 1);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, G, store), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE), ==, RMM_S2_ABORT);
    rmm_realm_destroy(r);
    g_free(store);
}

static void test_activate(void)
{
    RmmRealm *r = realm_new(RMI_HASH_SHA256, 1);
    RmmRec *rec = rec_new(r, 0, true);
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;

    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_state(r), ==, RMM_REALM_ACTIVE);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_realm_state(r), ==, RMM_REALM_ACTIVE);

    g_assert_cmpint(smc(rec, PSCI_SYSTEM_OFF, 0, 0, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_realm_state(r), ==, RMM_REALM_SYSTEM_OFF);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_realm_state(r), ==, RMM_REALM_SYSTEM_OFF);
    rmm_realm_destroy(r);
}

/* ---- RTT_INIT_RIPAS ---- */

static void test_init_ripas_errors(void)
{
    uint8_t *store, before[RMM_HASH_MAX];
    RmmRealm *r = realm_with_rtts(RMI_HASH_SHA256, 4 * MIB, &store, 2);
    uint64_t top;

    get_rim(r, before);

    /* Range: alignment, order, protected space */
    top = 1;
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE + 1, BASE + G, &top), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmphex(top, ==, BASE + 1);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + G + 8, &top), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmphex(top, ==, BASE);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE, &top), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE + G, BASE, &top), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_rtt_init_ripas(r, PROT_SIZE - G, PROT_SIZE + G,
                                       &top), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_rtt_init_ripas(r, PROT_SIZE, PROT_SIZE + G, &top),
                    ==, RMI_ERROR_INPUT);

    /* Unbacked: before the RAM, running past its end */
    g_assert_cmpint(rmm_rtt_init_ripas(r, 0, G, &top), ==,
                    rmi_return(RMI_ERROR_RTT, 1));
    g_assert_cmphex(top, ==, 0);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE - G, BASE + G, &top), ==,
                    rmi_return(RMI_ERROR_RTT, 1));
    /* A level 2 block entry the range covers in part */
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE + 4 * MIB - G,
                                       BASE + 4 * MIB + G, &top), ==,
                    rmi_return(RMI_ERROR_RTT, 2));
    g_assert_cmphex(top, ==, BASE + 4 * MIB - G);

    /* Already RAM: stops at the first RAM granule, changes nothing */
    g_assert_cmpint(rmm_rtt_create_range(r, BASE, BASE + 2 * MIB, 3), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE + 8 * G, BASE + 9 * G, &top),
                    ==, RMI_SUCCESS);
    get_rim(r, before);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + 16 * G, &top), ==,
                    rmi_return(RMI_ERROR_RTT, 3));
    g_assert_cmphex(top, ==, BASE + 8 * G);
    assert_entry(r, BASE, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    assert_entry(r, BASE + 7 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    assert_entry(r, BASE + 9 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE + 8 * G, BASE + 9 * G, &top),
                    ==, rmi_return(RMI_ERROR_RTT, 3));
    assert_rim(r, before);

    /* Only while the realm is NEW */
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + G, &top), ==,
                    RMI_ERROR_REALM);
    g_assert_cmphex(top, ==, BASE);
    assert_entry(r, BASE, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    assert_rim(r, before);

    rmm_realm_destroy(r);
    g_free(store);
}

/*
 * The RIM that RTT_INIT_RIPAS of [base, top) must give: one RIPAS
 * descriptor per RTT entry, 2 MiB blocks where the range covers an aligned
 * block, 4 KiB granules elsewhere.
 */
static unsigned expect_init_ripas(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                                  uint64_t base, uint64_t top)
{
    unsigned entries = 0;

    while (base < top) {
        uint64_t next = base + G;

        if (!(base % RMM_L2_BLOCK_SIZE) && top - base >= RMM_L2_BLOCK_SIZE) {
            next = base + RMM_L2_BLOCK_SIZE;
        }
        rmm_measure_init_ripas(algo, rim, base, next);
        entries++;
        base = next;
    }
    return entries;
}

static void check_init_ripas(RmiHashAlgo algo, uint64_t base, uint64_t top,
                             unsigned nr_entries)
{
    uint8_t *store, expect[RMM_HASH_MAX], whole[RMM_HASH_MAX];
    RmmRealm *r = realm_with_rtts(algo, 8 * MIB, &store, 2);
    uint64_t out = 0, ipa;

    /* Level 3 tables where [base, top) covers 2 MiB blocks in part */
    g_assert_cmpint(rmm_rtt_create_range(r, base, top, 2), ==, RMI_SUCCESS);
    get_rim(r, expect);
    memcpy(whole, expect, sizeof(whole));
    g_assert_cmpuint(expect_init_ripas(algo, expect, base, top), ==,
                     nr_entries);
    g_assert_cmpint(rmm_rtt_init_ripas(r, base, top, &out), ==, RMI_SUCCESS);
    g_assert_cmphex(out, ==, top);
    assert_rim(r, expect);
    if (nr_entries > 1) {
        /* Not one descriptor for the whole range */
        rmm_measure_init_ripas(algo, whole, base, top);
        g_assert_true(memcmp(whole, expect, sizeof(whole)) != 0);
    }

    for (ipa = BASE; ipa < BASE + 8 * MIB; ipa += G) {
        RmiRipas ripas = ipa >= base && ipa < top ? RMI_RIPAS_RAM
                                                  : RMI_RIPAS_EMPTY;

        assert_entry(r, ipa, RMM_HIPAS_UNASSIGNED, ripas);
    }
    /* The store is not touched. */
    g_assert_true(all_zero(store, 8 * MIB));
    rmm_realm_destroy(r);
    g_free(store);
}

static void test_init_ripas_measure(void)
{
    static const RmiHashAlgo algos[] = { RMI_HASH_SHA256, RMI_HASH_SHA512 };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(algos); i++) {
        /* One granule, a few granules */
        check_init_ripas(algos[i], BASE, BASE + G, 1);
        check_init_ripas(algos[i], BASE + 3 * G, BASE + 7 * G, 4);
        /* Two aligned 2 MiB blocks */
        check_init_ripas(algos[i], BASE, BASE + 4 * MIB, 2);
        /* Block, then granules after it */
        check_init_ripas(algos[i], BASE + 2 * MIB, BASE + 4 * MIB + 2 * G,
                         3);
        /* Granules up to the 2 MiB boundary, a block, granules */
        check_init_ripas(algos[i], BASE + 2 * MIB - 3 * G,
                         BASE + 4 * MIB + G, 3 + 1 + 1);
        /* Aligned start but shorter than a block: granules only */
        check_init_ripas(algos[i], BASE, BASE + 2 * MIB - G, 511);
        /* The whole RAM range */
        check_init_ripas(algos[i], BASE, BASE + 8 * MIB, 4);
    }
}

/* ---- DATA_CREATE, DATA_CREATE_UNKNOWN, DATA_DESTROY ---- */

static void fill(uint8_t *buf, uint8_t seed)
{
    size_t i;

    for (i = 0; i < G; i++) {
        buf[i] = (uint8_t)(seed + i * 7);
    }
}

static void test_data_create(void)
{
    static const RmiHashAlgo algos[] = { RMI_HASH_SHA256, RMI_HASH_SHA512 };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(algos); i++) {
        RmiHashAlgo algo = algos[i];
        uint8_t *store, src[G], expect[RMM_HASH_MAX];
        RmmRealm *r = realm_with_ram(algo, 4 * MIB, &store);
        uint64_t top;

        g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + 2 * MIB, &top),
                        ==, RMI_SUCCESS);
        get_rim(r, expect);
        /* DATA granules are level 3 entries; unfolding is not measured. */
        g_assert_cmpint(rmm_rtt_create_range(r, BASE, BASE + 4 * MIB, 3),
                        ==, RMI_SUCCESS);

        /* Measured: content copied, RIM extended with its hash */
        fill(src, 1);
        g_assert_cmpint(rmm_data_create(r, BASE + 5 * G, src, true), ==,
                        RMI_SUCCESS);
        rmm_measure_data_create(algo, expect, BASE + 5 * G, src);
        assert_rim(r, expect);
        g_assert_cmpmem(store + 5 * G, G, src, G);
        g_assert_true(all_zero(store, 5 * G));
        g_assert_true(all_zero(store + 6 * G, 4 * MIB - 6 * G));
        assert_entry(r, BASE + 5 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
        g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 5 * G), ==,
                        RMM_S2_OK);

        /* Unmeasured: content copied, RIM extended without it */
        fill(src, 2);
        g_assert_cmpint(rmm_data_create(r, BASE + 6 * G, src, false), ==,
                        RMI_SUCCESS);
        rmm_measure_data_create(algo, expect, BASE + 6 * G, NULL);
        assert_rim(r, expect);
        g_assert_cmpmem(store + 6 * G, G, src, G);
        assert_entry(r, BASE + 6 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);

        /* Failures change neither the RIM nor the store. */
        fill(src, 3);
        g_assert_cmpint(rmm_data_create(r, BASE + 5 * G, src, true), ==,
                        RMI_ERROR_INPUT);               /* DATA already */
        g_assert_cmpint(rmm_data_create(r, BASE + 6 * G, src, false), ==,
                        RMI_ERROR_INPUT);               /* DATA already */
        g_assert_cmpint(rmm_data_create(r, BASE + 2 * MIB, src, true), ==,
                        rmi_return(RMI_ERROR_RTT, 3));  /* RIPAS EMPTY */
        g_assert_cmpint(rmm_data_create(r, BASE + 7 * G + 8, src, true), ==,
                        RMI_ERROR_INPUT);               /* unaligned */
        g_assert_cmpint(rmm_data_create(r, PROT_SIZE, src, true), ==,
                        RMI_ERROR_INPUT);               /* not protected */
        g_assert_cmpint(rmm_data_create(r, BASE - G, src, true), ==,
                        RMI_ERROR_INPUT);               /* outside RAM */
        g_assert_cmpint(rmm_data_create(r, BASE + 4 * MIB, src, true), ==,
                        RMI_ERROR_INPUT);               /* outside RAM */
        assert_rim(r, expect);
        fill(src, 1);
        g_assert_cmpmem(store + 5 * G, G, src, G);
        g_assert_true(all_zero(store + 2 * MIB, G));
        assert_entry(r, BASE + 2 * MIB, RMM_HIPAS_UNASSIGNED,
                     RMI_RIPAS_EMPTY);

        /* Only while the realm is NEW */
        g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
        g_assert_cmpint(rmm_data_create(r, BASE + 7 * G, src, true), ==,
                        RMI_ERROR_REALM);
        assert_entry(r, BASE + 7 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);
        g_assert_true(all_zero(store + 7 * G, G));
        assert_rim(r, expect);

        rmm_realm_destroy(r);
        g_free(store);
    }
}

static void test_data_create_unknown(void)
{
    uint8_t *store, rim[RMM_HASH_MAX];
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA256, 4 * MIB, &store);
    RmmRec *rec = rec_new(r, 0, true);
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;
    uint64_t top;

    g_assert_cmpint(rmm_rtt_create_range(r, BASE, BASE + 4 * MIB, 3), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + MIB, &top), ==,
                    RMI_SUCCESS);
    get_rim(r, rim);

    /* NEW realm, RIPAS RAM and RIPAS EMPTY: not measured */
    g_assert_cmpint(rmm_data_create_unknown(r, BASE), ==, RMI_SUCCESS);
    assert_entry(r, BASE, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + 2 * MIB), ==,
                    RMI_SUCCESS);
    assert_entry(r, BASE + 2 * MIB, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 2 * MIB), ==,
                    RMM_S2_ABORT);
    assert_rim(r, rim);

    /* Failures */
    g_assert_cmpint(rmm_data_create_unknown(r, BASE), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + G + 1), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_create_unknown(r, PROT_SIZE), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_create_unknown(r, ~(G - 1)), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_create_unknown(r, 0), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + 4 * MIB), ==,
                    RMI_ERROR_INPUT);
    assert_entry(r, BASE + G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);

    /* ACTIVE realm */
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + G), ==, RMI_SUCCESS);
    assert_entry(r, BASE + G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + G), ==, RMM_S2_OK);
    assert_rim(r, rim);

    /* Not once the realm is SYSTEM_OFF */
    g_assert_cmpint(smc(rec, PSCI_SYSTEM_OFF, 0, 0, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + 2 * G), ==,
                    RMI_ERROR_REALM);
    assert_entry(r, BASE + 2 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);
    g_assert_true(all_zero(store, 4 * MIB));

    rmm_realm_destroy(r);
    g_free(store);
}

static void test_data_destroy(void)
{
    uint8_t *store, src[G];
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA256, 4 * MIB, &store);
    uint64_t top;

    g_assert_cmpint(rmm_rtt_create_range(r, BASE, BASE + 4 * MIB, 3), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + MIB, &top), ==,
                    RMI_SUCCESS);
    fill(src, 9);
    g_assert_cmpint(rmm_data_create(r, BASE + G, src, true), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create(r, BASE + 2 * G, src, true), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + 3 * MIB), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);

    /* Failures */
    g_assert_cmpint(rmm_data_destroy(r, BASE), ==,
                    rmi_return(RMI_ERROR_RTT, 3));
    g_assert_cmpint(rmm_data_destroy(r, BASE + G + 8), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_destroy(r, PROT_SIZE + G), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_data_destroy(r, BASE - G), ==,
                    rmi_return(RMI_ERROR_RTT, 1));
    g_assert_cmpmem(store + G, G, src, G);

    /* Scrubs the granule, and only it; RIPAS RAM becomes DESTROYED */
    g_assert_cmpint(rmm_data_destroy(r, BASE + G), ==, RMI_SUCCESS);
    g_assert_true(all_zero(store + G, G));
    g_assert_cmpmem(store + 2 * G, G, src, G);
    assert_entry(r, BASE + G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_DESTROYED);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + G), ==, RMM_S2_DESTROYED);
    g_assert_cmpint(rmm_data_destroy(r, BASE + G), ==,
                    rmi_return(RMI_ERROR_RTT, 3));

    /* RIPAS EMPTY granule: stays EMPTY */
    g_assert_cmpint(rmm_data_destroy(r, BASE + 3 * MIB), ==, RMI_SUCCESS);
    assert_entry(r, BASE + 3 * MIB, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);

    /*
     * The host can assign the granule again (zero), but the realm never
     * reads those zeros as its memory: it stays DESTROYED, and so after
     * a second DATA_DESTROY.
     */
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + G), ==, RMI_SUCCESS);
    g_assert_true(all_zero(store + G, G));
    assert_entry(r, BASE + G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_DESTROYED);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + G), ==, RMM_S2_DESTROYED);
    g_assert_cmpint(rmm_data_destroy(r, BASE + G), ==, RMI_SUCCESS);
    assert_entry(r, BASE + G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_DESTROYED);

    rmm_realm_destroy(r);
    g_free(store);
}

/* ---- Stage 2 walk and RTT_READ_ENTRY ---- */

static void test_s2_lookup(void)
{
    uint8_t *store;
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA512, 4 * MIB, &store);
    uint64_t top;

    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + 2 * MIB, &top), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + G), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + 3 * MIB), ==,
                    RMI_SUCCESS);

    /* RIPAS RAM, unassigned: the host must assign */
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE), ==, RMM_S2_UNASSIGNED);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 2 * MIB - 1), ==,
                    RMM_S2_UNASSIGNED);
    /* RIPAS RAM, assigned, at any offset in the granule */
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + G), ==, RMM_S2_OK);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 2 * G - 1), ==, RMM_S2_OK);
    /* RIPAS EMPTY, assigned or not */
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 2 * MIB), ==,
                    RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 3 * MIB), ==,
                    RMM_S2_ABORT);
    /* Protected, outside RAM */
    g_assert_cmpint(rmm_realm_s2_lookup(r, 0), ==, RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE - 1), ==, RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(r, BASE + 4 * MIB), ==,
                    RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(r, PROT_SIZE - 1), ==, RMM_S2_ABORT);
    /* Not protected */
    g_assert_cmpint(rmm_realm_s2_lookup(r, PROT_SIZE), ==, RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(r, PROT_SIZE + BASE + G), ==,
                    RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(r, UINT64_MAX), ==, RMM_S2_ABORT);

    rmm_realm_destroy(r);
    g_free(store);
}

static void test_read_entry(void)
{
    uint8_t *store;
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA256, 4 * MIB, &store);
    RmmHipas h = 0x55;
    RmiRipas s = 0x55;
    uint64_t top;

    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + 2 * G, &top), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + G), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(r, BASE + 2 * G), ==,
                    RMI_SUCCESS);

    g_assert_cmpint(rmm_rtt_read_entry(r, BASE + 1, &h, &s), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_rtt_read_entry(r, PROT_SIZE, &h, &s), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_rtt_read_entry(r, ~(G - 1), &h, &s), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(h, ==, 0x55);
    g_assert_cmpint(s, ==, 0x55);

    assert_entry(r, 0, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    assert_entry(r, PROT_SIZE - G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);
    assert_entry(r, BASE, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_RAM);
    assert_entry(r, BASE + G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_RAM);
    assert_entry(r, BASE + 2 * G, RMM_HIPAS_ASSIGNED, RMI_RIPAS_EMPTY);
    assert_entry(r, BASE + 3 * G, RMM_HIPAS_UNASSIGNED, RMI_RIPAS_EMPTY);

    rmm_realm_destroy(r);
    g_free(store);
}

/* ---- REC_CREATE and the REC enter gate ---- */

static void rec_expect_input(RmmRealm *r, const RmmRecParams *p)
{
    RmmRec *rec = (RmmRec *)&rec;

    g_assert_cmpint(rmm_rec_create(r, p, &rec), ==, RMI_ERROR_INPUT);
    g_assert_null(rec);
}

static void test_rec_create(void)
{
    static const RmiHashAlgo algos[] = { RMI_HASH_SHA256, RMI_HASH_SHA512 };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(algos); i++) {
        RmmRealm *r = realm_new(algos[i], 1);
        uint8_t expect[RMM_HASH_MAX];
        RmmRecParams p;
        RmmRec *a, *b, *c;

        get_rim(r, expect);

        /* Runnable: measured */
        rec_params(&p, 0, true);
        g_assert_cmpint(rmm_rec_create(r, &p, &a), ==, RMI_SUCCESS);
        rmm_measure_rec_create(algos[i], expect, &p);
        assert_rim(r, expect);
        g_assert_cmpuint(rmm_rec_index(a), ==, 0);

        /* Not runnable: RIM unchanged */
        rec_params(&p, 1, false);
        g_assert_cmpint(rmm_rec_create(r, &p, &b), ==, RMI_SUCCESS);
        assert_rim(r, expect);
        g_assert_cmpuint(rmm_rec_index(b), ==, 1);

        /* Bad flags */
        rec_params(&p, 2, true);
        p.flags |= 1ULL << 1;
        rec_expect_input(r, &p);
        p.flags = 1ULL << 63;
        rec_expect_input(r, &p);

        /* Duplicate MPIDR, or not the next REC index */
        rec_params(&p, 0, true);
        rec_expect_input(r, &p);
        rec_params(&p, 1, false);
        rec_expect_input(r, &p);
        rec_params(&p, 3, true);
        rec_expect_input(r, &p);
        rec_params(&p, 0x100 | 2, true);       /* Aff1 = 1: index 18 */
        rec_expect_input(r, &p);
        /* Bits outside Aff0[3:0], Aff1, Aff2, Aff3 */
        rec_params(&p, 2 | 0x10, true);        /* Aff0[7:4] */
        rec_expect_input(r, &p);
        rec_params(&p, 2 | 1ULL << 31, true);  /* MPIDR RES1 bit */
        rec_expect_input(r, &p);
        rec_params(&p, 2 | 1ULL << 24, true);  /* MT, U, ... */
        rec_expect_input(r, &p);
        rec_params(&p, 2 | 1ULL << 40, true);
        rec_expect_input(r, &p);
        assert_rim(r, expect);
        g_assert_cmpuint(rmm_realm_num_recs(r), ==, 2);

        rec_params(&p, 2, true);
        g_assert_cmpint(rmm_rec_create(r, &p, &c), ==, RMI_SUCCESS);
        rmm_measure_rec_create(algos[i], expect, &p);
        assert_rim(r, expect);

        g_assert_cmpuint(rmm_realm_num_recs(r), ==, 3);
        g_assert_true(rmm_realm_rec(r, 0) == a);
        g_assert_true(rmm_realm_rec(r, 1) == b);
        g_assert_true(rmm_realm_rec(r, 2) == c);
        g_assert_null(rmm_realm_rec(r, 3));
        g_assert_true(rmm_realm_rec_by_mpidr(r, 1) == b);
        g_assert_true(rmm_realm_rec_by_mpidr(r, 2) == c);
        g_assert_null(rmm_realm_rec_by_mpidr(r, 3));

        /* Only while the realm is NEW */
        g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
        rec_params(&p, 3, false);
        a = (RmmRec *)&a;
        g_assert_cmpint(rmm_rec_create(r, &p, &a), ==, RMI_ERROR_REALM);
        g_assert_null(a);
        g_assert_cmpuint(rmm_realm_num_recs(r), ==, 3);
        assert_rim(r, expect);
        rmm_realm_destroy(r);
    }
}

static void test_rec_create_max(void)
{
    RmmRealm *r = realm_new(RMI_HASH_SHA256, 1);
    RmmRecParams p;
    unsigned i;

    for (i = 0; i < RMM_MAX_RECS; i++) {
        RmmRec *rec = rec_new(r, mpidr_of(i), i == 0);

        g_assert_cmpuint(rmm_rec_index(rec), ==, i);
    }
    /* Aff1 counts 16 RECs of Aff0[3:0] each. */
    g_assert_true(rmm_realm_rec_by_mpidr(r, 0x1f0f) ==
                  rmm_realm_rec(r, 0x1ff));
    g_assert_cmpuint(rmm_realm_num_recs(r), ==, RMM_MAX_RECS);
    rec_params(&p, mpidr_of(RMM_MAX_RECS), false);
    rec_expect_input(r, &p);
    rmm_realm_destroy(r);
}

static void test_rec_may_enter(void)
{
    uint8_t *store;
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA256, 4 * MIB, &store);
    RmmRec *on = rec_new(r, 0, true), *off = rec_new(r, 1, false);
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;

    /* NEW realm: nothing runs */
    g_assert_false(rmm_rec_may_enter(on));
    g_assert_false(rmm_rec_may_enter(off));

    /* ACTIVE: runnable RECs only */
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(on));
    g_assert_false(rmm_rec_may_enter(off));

    /* A pending exit holds the REC until it is complete. */
    g_assert_cmpint(smc(on, RSI_IPA_STATE_SET, BASE, BASE + G,
                        RMI_RIPAS_EMPTY, regs, &exit), ==,
                    RMI_EXIT_RIPAS_CHANGE);
    g_assert_false(rmm_rec_may_enter(on));
    g_assert_cmpint(rmm_rec_complete(on, RMM_RIPAS_REJECT, &exit, regs), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(on));

    /* SYSTEM_OFF: nothing runs any more */
    g_assert_cmpint(smc(on, PSCI_SYSTEM_OFF, 0, 0, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_false(rmm_rec_may_enter(on));
    g_assert_false(rmm_rec_may_enter(off));

    rmm_realm_destroy(r);
    g_free(store);
}

/* ---- REALM_DESTROY ---- */

/* A realm with two RAM ranges full of data, RECs and an attestation. */
static RmmRealm *busy_realm(uint8_t *store1, uint8_t *store2)
{
    RmmRealm *r = realm_new(RMI_HASH_SHA512, 1);
    uint64_t regs[RMM_SMC_NREGS], top, ipa;
    RmmRecExit exit;
    uint8_t src[G];
    RmmRec *rec;

    g_assert_cmpint(rmm_realm_add_ram(r, BASE, 2 * MIB, store1), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_add_ram(r, 0x10000000, MIB, store2), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(r, BASE, 2 * MIB, 3));
    g_assert_true(host_map(r, 0x10000000, MIB, 3));
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + 2 * MIB, &top), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(r, 0x10000000, 0x10000000 + MIB,
                                       &top), ==, RMI_SUCCESS);
    for (ipa = BASE; ipa < BASE + 2 * MIB; ipa += G) {
        fill(src, ipa >> 12);
        g_assert_cmpint(rmm_data_create(r, ipa, src, ipa & G), ==,
                        RMI_SUCCESS);
    }
    for (ipa = 0x10000000; ipa < 0x10000000 + MIB; ipa += G) {
        fill(src, 0xff);
        g_assert_cmpint(rmm_data_create(r, ipa, src, false), ==,
                        RMI_SUCCESS);
    }
    rec = rec_new(r, 0, true);
    rec_new(r, 1, false);
    g_assert_false(all_zero(store1, 2 * MIB));
    g_assert_false(all_zero(store2, MIB));
    /* An attestation in progress: the REC holds a token. */
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_cmpint(smc(rec, RSI_ATTEST_TOKEN_INIT, 1, 2, 3, regs, &exit),
                    ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
    return r;
}

static void test_destroy(void)
{
    uint8_t *store1 = g_malloc0(2 * MIB), *store2 = g_malloc0(MIB);
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;
    RmmRealm *r;

    /* ACTIVE, with a pending exit */
    r = busy_realm(store1, store2);
    g_assert_cmpint(smc(rmm_realm_rec(r, 0), RSI_IPA_STATE_SET, BASE,
                        BASE + G, RMI_RIPAS_EMPTY, regs, &exit), ==,
                    RMI_EXIT_RIPAS_CHANGE);
    rmm_realm_destroy(r);
    g_assert_true(all_zero(store1, 2 * MIB));
    g_assert_true(all_zero(store2, MIB));

    /* SYSTEM_OFF */
    r = busy_realm(store1, store2);
    g_assert_cmpint(smc(rmm_realm_rec(r, 0), PSCI_SYSTEM_OFF, 0, 0, 0, regs,
                        &exit), ==, RMI_EXIT_PSCI);
    rmm_realm_destroy(r);
    g_assert_true(all_zero(store1, 2 * MIB));
    g_assert_true(all_zero(store2, MIB));

    /* NEW, with data and RECs */
    r = realm_new(RMI_HASH_SHA256, 1);
    g_assert_cmpint(rmm_realm_add_ram(r, BASE, 2 * MIB, store1), ==,
                    RMI_SUCCESS);
    memset(store1, 0x77, 2 * MIB);      /* whatever the realm left there */
    rec_new(r, 0, true);
    rmm_realm_destroy(r);
    g_assert_true(all_zero(store1, 2 * MIB));

    /* Empty NEW realm, and NULL */
    rmm_realm_destroy(realm_new(RMI_HASH_SHA256, 1));
    rmm_realm_destroy(NULL);

    g_free(store1);
    g_free(store2);
}

/* ---- PSCI_COMPLETE ---- */

static void test_psci_complete(void)
{
    uint8_t *store;
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA256, 4 * MIB, &store);
    RmmRealm *r2 = realm_new(RMI_HASH_SHA256, 2);
    RmmRec *a = rec_new(r, 0, true), *b = rec_new(r, 1, true);
    RmmRec *c = rec_new(r, 2, false), *d = rec_new(r, 3, false);
    RmmRec *other;
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;

    /* A REC of another realm with the MPIDR of c */
    rec_new(r2, 0, false);
    rec_new(r2, 1, false);
    other = rec_new(r2, 2, false);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);

    /* Nothing pending */
    g_assert_cmpint(rmm_psci_complete(a, c, 0), ==, RMI_ERROR_INPUT);
    g_assert_false(rmm_rec_may_enter(c));

    /* CPU_ON pending for c */
    g_assert_cmpint(smc(a, PSCI_CPU_ON_64, 2, BASE, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(a, a, 0), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, d, 0), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, other, 0), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(b, c, 0), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, -1), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, -2), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, -4), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, 1), ==, RMI_ERROR_INPUT);
    g_assert_false(rmm_rec_may_enter(c));
    g_assert_false(rmm_rec_may_enter(d));

    /* The host denies it: c stays off, nothing pending any more */
    g_assert_cmpint(rmm_psci_complete(a, c, PSCI_DENIED), ==, RMI_SUCCESS);
    g_assert_false(rmm_rec_may_enter(c));
    g_assert_cmpint(rmm_psci_complete(a, c, 0), ==, RMI_ERROR_INPUT);

    /* Again, accepted: c runs */
    g_assert_cmpint(smc(a, PSCI_CPU_ON_64, 2, BASE, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(a, c, 0), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(c));
    g_assert_cmpint(rmm_psci_complete(a, c, 0), ==, RMI_ERROR_INPUT);

    /*
     * Two CPU_ON of d race: once the first is complete, the second may
     * not be denied (d is on), only completed.
     */
    g_assert_cmpint(smc(a, PSCI_CPU_ON_64, 3, BASE, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(smc(b, PSCI_CPU_ON_64, 3, BASE, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(b, d, 0), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(d));
    g_assert_cmpint(rmm_psci_complete(a, d, PSCI_DENIED), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, d, 0), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(d));

    /* AFFINITY_INFO: SUCCESS only, runnable state unchanged */
    g_assert_cmpint(smc(a, PSCI_AFFINITY_INFO_64, 2, 0, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(a, b, 0), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, PSCI_DENIED), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, -1), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_psci_complete(a, c, 0), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(c));
    g_assert_cmpint(rmm_psci_complete(a, c, 0), ==, RMI_ERROR_INPUT);

    g_assert_cmpint(smc(d, PSCI_CPU_OFF, 0, 0, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_false(rmm_rec_may_enter(d));
    g_assert_cmpint(smc(a, PSCI_AFFINITY_INFO_64, 3, 0, 0, regs, &exit), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(a, d, 0), ==, RMI_SUCCESS);
    g_assert_false(rmm_rec_may_enter(d));

    rmm_realm_destroy(r2);
    rmm_realm_destroy(r);
    g_free(store);
}

/* ---- Write notifier ---- */

typedef struct WriteLog {
    unsigned n;
    uint64_t ipa[8];
    uint64_t len[8];
} WriteLog;

static void log_write(void *opaque, uint64_t ipa, uint64_t len)
{
    WriteLog *log = opaque;

    g_assert_cmpuint(log->n, <, G_N_ELEMENTS(log->ipa));
    log->ipa[log->n] = ipa;
    log->len[log->n++] = len;
}

static void assert_logged(WriteLog *log, uint64_t ipa, uint64_t len)
{
    g_assert_cmpuint(log->n, ==, 1);
    g_assert_cmphex(log->ipa[0], ==, ipa);
    g_assert_cmphex(log->len[0], ==, len);
    log->n = 0;
}

/*
 * Every write the model makes to protected memory is reported; failed
 * commands and commands that write nothing report nothing.
 */
static void test_write_notifier(void)
{
    uint8_t src[RMM_GRANULE_SIZE], *store;
    RmmRealm *r = realm_with_ram(RMI_HASH_SHA256, 4 * RMM_GRANULE_SIZE,
                                 &store);
    uint64_t top, regs[RMM_SMC_NREGS];
    WriteLog log = { 0 };
    RmmRecExit exit;
    RmmRec *rec;

    rmm_realm_set_write_notifier(r, log_write, &log);
    g_assert_cmpint(rmm_rtt_init_ripas(r, BASE, BASE + 4 * RMM_GRANULE_SIZE,
                                       &top), ==, RMI_SUCCESS);
    g_assert_cmpuint(log.n, ==, 0);

    fill(src, 7);
    g_assert_cmpint(rmm_data_create(r, BASE + RMM_GRANULE_SIZE, src, true),
                    ==, RMI_SUCCESS);
    assert_logged(&log, BASE + RMM_GRANULE_SIZE, RMM_GRANULE_SIZE);
    g_assert_cmpint(rmm_data_create(r, BASE + RMM_GRANULE_SIZE, src, true),
                    ==, RMI_ERROR_INPUT);       /* DATA already */
    g_assert_cmpuint(log.n, ==, 0);

    /* Assigning an unknown granule writes nothing: it is already zero. */
    g_assert_cmpint(rmm_data_create_unknown(r, BASE), ==, RMI_SUCCESS);
    g_assert_cmpuint(log.n, ==, 0);

    /* RSI_REALM_CONFIG writes its buffer. */
    rec = rec_new(r, mpidr_of(0), true);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_SUCCESS);
    g_assert_cmpint(smc(rec, 0xC4000196, BASE, 0, 0, regs, &exit), ==,
                    RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
    assert_logged(&log, BASE, RMM_GRANULE_SIZE);

    g_assert_cmpint(rmm_data_destroy(r, BASE + RMM_GRANULE_SIZE), ==,
                    RMI_SUCCESS);
    assert_logged(&log, BASE + RMM_GRANULE_SIZE, RMM_GRANULE_SIZE);

    /* The scrub at destroy covers the whole range. */
    rmm_realm_destroy(r);
    assert_logged(&log, BASE, 4 * RMM_GRANULE_SIZE);
    g_free(store);
}

int main(int argc, char **argv)
{
    char *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    plat = rmm_platform_new(&err);
    g_assert_nonnull(plat);

    g_test_add_func("/rmm/realm/platform", test_platform);
    g_test_add_func("/rmm/realm/create/ok", test_create_ok);
    g_test_add_func("/rmm/realm/create/bad-params", test_create_bad_params);
    g_test_add_func("/rmm/realm/create/vmid", test_create_vmid);
    g_test_add_func("/rmm/realm/create/features", test_create_features);
    g_test_add_func("/rmm/realm/add-ram", test_add_ram);
    g_test_add_func("/rmm/realm/activate", test_activate);
    g_test_add_func("/rmm/realm/init-ripas/errors", test_init_ripas_errors);
    g_test_add_func("/rmm/realm/init-ripas/measure", test_init_ripas_measure);
    g_test_add_func("/rmm/realm/data-create", test_data_create);
    g_test_add_func("/rmm/realm/data-create-unknown",
                    test_data_create_unknown);
    g_test_add_func("/rmm/realm/data-destroy", test_data_destroy);
    g_test_add_func("/rmm/realm/write-notifier", test_write_notifier);
    g_test_add_func("/rmm/realm/s2-lookup", test_s2_lookup);
    g_test_add_func("/rmm/realm/read-entry", test_read_entry);
    g_test_add_func("/rmm/realm/rec-create", test_rec_create);
    g_test_add_func("/rmm/realm/rec-create-max", test_rec_create_max);
    g_test_add_func("/rmm/realm/rec-may-enter", test_rec_may_enter);
    g_test_add_func("/rmm/realm/destroy", test_destroy);
    g_test_add_func("/rmm/realm/psci-complete", test_psci_complete);

    ret = g_test_run();
    rmm_platform_free(plat);
    return ret;
}
