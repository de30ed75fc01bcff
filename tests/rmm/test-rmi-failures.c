/*
 * One unit test per failure condition of the RMI commands of the model
 *
 * Each test starts from the same realm (see setup()), breaks exactly one
 * condition of one command and checks the command's RmiCommandReturnCode
 * (status and, for RMI_ERROR_RTT, the level) and that nothing changed.
 * Tests are named /rmi/<command>/<condition>, the conditions after the
 * failure conditions of DEN0137 1.0 where the model has them; the
 * "order-*" tests break two conditions at once and check which one the
 * command reports, as DEN0137 orders them.
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
#include "rmm-host.h"

#define G           RMM_GRANULE_SIZE
#define MIB         (1ULL << 20)
#define BLOCK       (2 * MIB)
#define IPA_WIDTH   33              /* RTT start level 1 */
#define PROT_SIZE   (1ULL << (IPA_WIDTH - 1))
#define BASE        0x40000000ULL   /* RAM [BASE, BASE + 4 MiB) */
#define RAM_SIZE    (4 * MIB)
#define UNDEL       (BASE + RAM_SIZE - G)   /* the one undelegated granule */
#define NS          PROT_SIZE               /* first unprotected IPA */

#define PSCI_SYSTEM_OFF         0x84000008ULL
#define RSI_IPA_STATE_SET       0xC4000197ULL

static RmmPlatform *plat;

/*
 * A NEW realm: RAM [BASE, BASE + 4 MiB) delegated but for UNDEL; RTTs:
 * level 2 for its gigabyte, level 3 for the first 2 MiB block only;
 * RIPAS RAM in [BASE, BASE + 1 MiB); one runnable REC.
 */
typedef struct F {
    RmmRealm *r;
    RmmRec *rec;
    uint8_t *store;
    uint8_t src[G];
} F;

static void default_params(RmiRealmParams *p, uint16_t vmid)
{
    memset(p, 0, sizeof(*p));
    p->ipa_width = IPA_WIDTH;
    p->hash_algo = RMI_HASH_SHA256;
    p->num_bps = 1;             /* two of each, the fewest a realm has */
    p->num_wps = 1;
    p->vmid = vmid;
}

static void setup(F *f, gconstpointer data)
{
    RmiRealmParams p;
    RmmRecParams rp = { .flags = RMI_REC_FLAG_RUNNABLE, .pc = BASE };
    uint64_t top;

    default_params(&p, 1);
    memset(f->src, 0x5a, sizeof(f->src));
    g_assert_cmpint(rmm_realm_create(plat, &p, &f->r), ==, RMI_SUCCESS);
    f->store = g_malloc0(RAM_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(f->r, BASE, RAM_SIZE, f->store), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_delegate_range(f->r, BASE, UNDEL), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_create(f->r, BASE, 2), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_create(f->r, BASE, 3), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(f->r, BASE, BASE + MIB, &top), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rec_create(f->r, &rp, &f->rec), ==, RMI_SUCCESS);
}

static void teardown(F *f, gconstpointer data)
{
    rmm_realm_destroy(f->r);
    g_free(f->store);
}

static void activate(F *f)
{
    g_assert_cmpint(rmm_realm_activate(f->r), ==, RMI_SUCCESS);
}

/* An SMC of the REC; returns the exit reason. */
static int smc(F *f, uint64_t fid, uint64_t a1, uint64_t a2, uint64_t a3)
{
    uint64_t regs[RMM_SMC_NREGS] = { fid, a1, a2, a3 };
    RmmRecExit exit;

    rmm_rec_smc(f->rec, regs, &exit);
    return exit.reason;
}

/* The REC asks for RIPAS RAM over [base, top) (realm ACTIVE). */
static void ripas_request(F *f, uint64_t base, uint64_t top)
{
    activate(f);
    g_assert_cmpint(smc(f, RSI_IPA_STATE_SET, base, top, RMI_RIPAS_RAM),
                    ==, RMI_EXIT_RIPAS_CHANGE);
}

static RmiCommandReturnCode rtt_error(unsigned level)
{
    return rmi_return(RMI_ERROR_RTT, level);
}

static void assert_granule(F *f, uint64_t pa, RmmGranuleState state)
{
    g_assert_cmpint(rmm_granule_state(f->r, pa), ==, state);
}

#define CASE(name) static void name(F *f, gconstpointer data)

/* ---- RMI_GRANULE_DELEGATE ---- */

CASE(delegate_gran_align)
{
    g_assert_cmpint(rmm_granule_delegate(f->r, UNDEL + 8), ==,
                    RMI_ERROR_INPUT);
    assert_granule(f, UNDEL, RMM_GRANULE_UNDELEGATED);
}

CASE(delegate_gran_bound)
{
    g_assert_cmpint(rmm_granule_delegate(f->r, BASE + RAM_SIZE), ==,
                    RMI_ERROR_INPUT);
}

CASE(delegate_gran_state)
{
    g_assert_cmpint(rmm_granule_delegate(f->r, BASE), ==, RMI_ERROR_INPUT);
    assert_granule(f, BASE, RMM_GRANULE_DELEGATED);
}

/* ---- RMI_GRANULE_UNDELEGATE ---- */

CASE(undelegate_gran_align)
{
    g_assert_cmpint(rmm_granule_undelegate(f->r, BASE + 8), ==,
                    RMI_ERROR_INPUT);
    assert_granule(f, BASE, RMM_GRANULE_DELEGATED);
}

CASE(undelegate_gran_bound)
{
    g_assert_cmpint(rmm_granule_undelegate(f->r, BASE - G), ==,
                    RMI_ERROR_INPUT);
}

CASE(undelegate_gran_state)
{
    g_assert_cmpint(rmm_granule_undelegate(f->r, UNDEL), ==,
                    RMI_ERROR_INPUT);
    assert_granule(f, UNDEL, RMM_GRANULE_UNDELEGATED);
}

CASE(undelegate_gran_state_data)
{
    g_assert_cmpint(rmm_data_create(f->r, BASE, f->src, true), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_undelegate(f->r, BASE), ==,
                    RMI_ERROR_INPUT);
    assert_granule(f, BASE, RMM_GRANULE_DATA);
    g_assert_cmpmem(f->store, G, f->src, G);
}

/* ---- RMI_REALM_CREATE ---- */

typedef void ParamsFn(RmiRealmParams *p);

static void realm_create_fails(ParamsFn *fn)
{
    RmiRealmParams p;
    RmmRealm *r = (RmmRealm *)&p;

    default_params(&p, 2);
    fn(&p);
    g_assert_cmpint(rmm_realm_create(plat, &p, &r), ==, RMI_ERROR_INPUT);
    g_assert_null(r);
}

#define PARAMS_CASE(name, stmt)                                     \
    static void name##_params(RmiRealmParams *p) { stmt; }          \
    CASE(name) { realm_create_fails(name##_params); }

PARAMS_CASE(realm_create_ipa_width_low, p->ipa_width = RMI_IPA_WIDTH_MIN - 1)
PARAMS_CASE(realm_create_ipa_width_high,
            p->ipa_width = RMI_IPA_WIDTH_MAX + 1)
PARAMS_CASE(realm_create_hash_algo, p->hash_algo = RMI_HASH_SHA512 + 1)
PARAMS_CASE(realm_create_flags_unknown, p->flags = 1ULL << 3)
PARAMS_CASE(realm_create_flags_lpa2, p->flags = RMI_REALM_FLAGS_LPA2)
PARAMS_CASE(realm_create_sve_vl, p->sve_vl = 1)
PARAMS_CASE(realm_create_pmu_num_ctrs, p->pmu_num_ctrs = 1)
PARAMS_CASE(realm_create_num_bps, p->num_bps = RMM_MAX_NUM_BPS + 1)
PARAMS_CASE(realm_create_num_wps, p->num_wps = RMM_MAX_NUM_WPS + 1)
PARAMS_CASE(realm_create_vmid_in_use, p->vmid = 1)

/* ---- RMI_REALM_ACTIVATE ---- */

CASE(realm_activate_realm_state)
{
    activate(f);
    g_assert_cmpint(rmm_realm_activate(f->r), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_realm_state(f->r), ==, RMM_REALM_ACTIVE);
}

/* ---- RMI_RTT_CREATE ---- */

CASE(rtt_create_level_start)
{
    g_assert_cmpint(rmm_rtt_create(f->r, 0, 1), ==, RMI_ERROR_INPUT);
}

CASE(rtt_create_level_bound)
{
    g_assert_cmpint(rmm_rtt_create(f->r, BASE, 4), ==, RMI_ERROR_INPUT);
}

CASE(rtt_create_ipa_align)
{
    g_assert_cmpint(rmm_rtt_create(f->r, BASE + BLOCK + G, 3), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE + BLOCK), ==, 2);
}

CASE(rtt_create_ipa_bound)
{
    g_assert_cmpint(rmm_rtt_create(f->r, 1ULL << IPA_WIDTH, 2), ==,
                    RMI_ERROR_INPUT);
}

CASE(rtt_create_rtt_walk)
{
    g_assert_cmpint(rmm_rtt_create(f->r, 0, 3), ==, rtt_error(1));
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, 0), ==, 1);
}

CASE(rtt_create_rtt_state)
{
    g_assert_cmpint(rmm_rtt_create(f->r, BASE, 3), ==, rtt_error(2));
}

/* ---- RMI_RTT_DESTROY ---- */

CASE(rtt_destroy_level_start)
{
    g_assert_cmpint(rmm_rtt_destroy(f->r, 0, 1), ==, RMI_ERROR_INPUT);
}

CASE(rtt_destroy_ipa_align)
{
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE + G, 3), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE), ==, 3);
}

CASE(rtt_destroy_ipa_bound)
{
    g_assert_cmpint(rmm_rtt_destroy(f->r, 1ULL << IPA_WIDTH, 2), ==,
                    RMI_ERROR_INPUT);
}

CASE(rtt_destroy_rtt_walk)
{
    g_assert_cmpint(rmm_rtt_destroy(f->r, 0, 3), ==, rtt_error(1));
}

CASE(rtt_destroy_rtt_state)
{
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE + BLOCK, 3), ==,
                    rtt_error(2));
}

CASE(rtt_destroy_live_child)
{
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE, 2), ==, rtt_error(2));
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE), ==, 3);
}

CASE(rtt_destroy_live_assigned)
{
    uint64_t top;

    g_assert_cmpint(rmm_rtt_init_ripas(f->r, BASE + MIB, BASE + BLOCK,
                                       &top), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(f->r, BASE), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE, 3), ==, rtt_error(3));
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE), ==, 3);
}

/*
 * Not a failure: entries of different RIPAS do not make a table live
 * (DEN0137 A5.5.9); what it mapped becomes RIPAS DESTROYED, whatever it
 * was.
 */
CASE(rtt_destroy_mixed_ripas)
{
    RmmHipas hipas;
    RmiRipas ripas;

    /* RIPAS RAM in the first half of the block only */
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE, 3), ==, RMI_SUCCESS);
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE), ==, 2);
    g_assert_cmpint(rmm_rtt_read_entry(f->r, BASE, &hipas, &ripas), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(ripas, ==, RMI_RIPAS_DESTROYED);
    g_assert_cmpint(rmm_rtt_read_entry(f->r, BASE + BLOCK - G, &hipas,
                                       &ripas), ==, RMI_SUCCESS);
    g_assert_cmpint(ripas, ==, RMI_RIPAS_DESTROYED);
    g_assert_cmpint(rmm_realm_s2_lookup(f->r, BASE), ==, RMM_S2_DESTROYED);
}

CASE(rtt_destroy_mixed_block_ripas)
{
    RmmHipas hipas;
    RmiRipas ripas;
    uint64_t top;

    /* Block 0 all RIPAS RAM: its level 3 table goes; the rest EMPTY. */
    g_assert_cmpint(rmm_rtt_init_ripas(f->r, BASE + MIB, BASE + BLOCK,
                                       &top), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE, 3), ==, RMI_SUCCESS);
    /* Level 2: no table below, so not live; all of it DESTROYED. */
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE, 2), ==, RMI_SUCCESS);
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE), ==, 1);
    g_assert_cmpint(rmm_rtt_read_entry(f->r, BASE + BLOCK + G, &hipas,
                                       &ripas), ==, RMI_SUCCESS);
    g_assert_cmpint(ripas, ==, RMI_RIPAS_DESTROYED);
}

CASE(rtt_destroy_live_unprotected)
{
    g_assert_cmpint(rmm_rtt_create_range(f->r, NS, NS + G, 3), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, NS, 3, 0x80000000), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_destroy(f->r, NS, 3), ==, rtt_error(3));
}

CASE(rtt_destroy_ok)
{
    g_assert_cmpint(rmm_rtt_create(f->r, BASE + BLOCK, 3), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_destroy(f->r, BASE + BLOCK, 3), ==,
                    RMI_SUCCESS);
    g_assert_cmpuint(rmm_rtt_walk_level(f->r, BASE + BLOCK), ==, 2);
}

/* ---- RMI_RTT_MAP_UNPROTECTED / UNMAP_UNPROTECTED ---- */

static void map_ns_tables(F *f)
{
    g_assert_cmpint(rmm_rtt_create_range(f->r, NS, NS + G, 3), ==,
                    RMI_SUCCESS);
}

CASE(map_unprotected_level)
{
    map_ns_tables(f);
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, NS, 2, 0), ==,
                    RMI_ERROR_INPUT);
}

CASE(map_unprotected_ipa_align)
{
    map_ns_tables(f);
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, NS + 8, 3, 0), ==,
                    RMI_ERROR_INPUT);
}

CASE(map_unprotected_ipa_protected)
{
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, BASE, 3, 0), ==,
                    RMI_ERROR_INPUT);
}

CASE(map_unprotected_ipa_bound)
{
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, 1ULL << IPA_WIDTH, 3, 0),
                    ==, RMI_ERROR_INPUT);
}

CASE(map_unprotected_rtt_walk)
{
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, NS, 3, 0), ==,
                    rtt_error(1));
}

CASE(map_unprotected_rtt_state)
{
    bool mapped;
    uint64_t desc;

    map_ns_tables(f);
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, NS, 3, 0x1000), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_map_unprotected(f->r, NS, 3, 0x2000), ==,
                    rtt_error(3));
    g_assert_cmpint(rmm_rtt_read_unprotected(f->r, NS, &mapped, &desc), ==,
                    RMI_SUCCESS);
    g_assert_true(mapped);
    g_assert_cmphex(desc, ==, 0x1000);
}

CASE(unmap_unprotected_rtt_state)
{
    map_ns_tables(f);
    g_assert_cmpint(rmm_rtt_unmap_unprotected(f->r, NS, 3), ==,
                    rtt_error(3));
}

/* ---- RMI_RTT_INIT_RIPAS ---- */

static void init_ripas_fails(F *f, uint64_t base, uint64_t top,
                             RmiCommandReturnCode expect)
{
    uint8_t before[RMM_HASH_MAX], after[RMM_HASH_MAX];
    uint64_t out;

    rmm_realm_measurement(f->r, 0, before);
    g_assert_cmpint(rmm_rtt_init_ripas(f->r, base, top, &out), ==, expect);
    rmm_realm_measurement(f->r, 0, after);
    g_assert_cmpmem(before, RMM_HASH_MAX, after, RMM_HASH_MAX);
}

CASE(init_ripas_realm_state)
{
    activate(f);
    init_ripas_fails(f, BASE + MIB, BASE + MIB + G, RMI_ERROR_REALM);
}

CASE(init_ripas_base_align)
{
    init_ripas_fails(f, BASE + MIB + 8, BASE + MIB + G, RMI_ERROR_INPUT);
}

CASE(init_ripas_top_align)
{
    init_ripas_fails(f, BASE + MIB, BASE + MIB + 8, RMI_ERROR_INPUT);
}

CASE(init_ripas_size)
{
    init_ripas_fails(f, BASE + MIB, BASE + MIB, RMI_ERROR_INPUT);
}

CASE(init_ripas_top_bound)
{
    init_ripas_fails(f, PROT_SIZE - G, PROT_SIZE + G, RMI_ERROR_INPUT);
}

CASE(init_ripas_rtt_walk)
{
    init_ripas_fails(f, 0, G, rtt_error(1));
}

CASE(init_ripas_rtt_block)
{
    init_ripas_fails(f, BASE + BLOCK, BASE + BLOCK + G, rtt_error(2));
}

CASE(init_ripas_unbacked)
{
    init_ripas_fails(f, BASE + RAM_SIZE, BASE + RAM_SIZE + BLOCK,
                     rtt_error(2));
}

CASE(init_ripas_rtt_state)
{
    init_ripas_fails(f, BASE + MIB - G, BASE + MIB + G, rtt_error(3));
}

CASE(init_ripas_order_realm_before_input)
{
    activate(f);
    init_ripas_fails(f, BASE + 8, BASE + G, RMI_ERROR_REALM);
}

/* ---- RMI_DATA_CREATE ---- */

static void data_create_fails(F *f, uint64_t ipa,
                              RmiCommandReturnCode expect)
{
    g_assert_cmpint(rmm_data_create(f->r, ipa, f->src, true), ==, expect);
}

CASE(data_create_data_align)
{
    data_create_fails(f, BASE + 8, RMI_ERROR_INPUT);
}

CASE(data_create_data_bound)
{
    data_create_fails(f, BASE - G, RMI_ERROR_INPUT);
}

CASE(data_create_data_state)
{
    data_create_fails(f, UNDEL, RMI_ERROR_INPUT);
    assert_granule(f, UNDEL, RMM_GRANULE_UNDELEGATED);
}

CASE(data_create_data_state_data)
{
    g_assert_cmpint(rmm_data_create_unknown(f->r, BASE), ==, RMI_SUCCESS);
    data_create_fails(f, BASE, RMI_ERROR_INPUT);
    g_assert_true(f->store[0] == 0);
}

CASE(data_create_realm_state)
{
    activate(f);
    data_create_fails(f, BASE, RMI_ERROR_REALM);
    assert_granule(f, BASE, RMM_GRANULE_DELEGATED);
}

CASE(data_create_rtt_walk)
{
    data_create_fails(f, BASE + BLOCK, rtt_error(2));
    assert_granule(f, BASE + BLOCK, RMM_GRANULE_DELEGATED);
}

CASE(data_create_ripas)
{
    data_create_fails(f, BASE + MIB, rtt_error(3));
    assert_granule(f, BASE + MIB, RMM_GRANULE_DELEGATED);
}

CASE(data_create_order_realm_before_rtt)
{
    activate(f);
    data_create_fails(f, BASE + BLOCK, RMI_ERROR_REALM);
}

CASE(data_create_order_granule_before_realm)
{
    activate(f);
    data_create_fails(f, UNDEL, RMI_ERROR_INPUT);
}

/* ---- RMI_DATA_CREATE_UNKNOWN ---- */

CASE(data_create_unknown_data_align)
{
    g_assert_cmpint(rmm_data_create_unknown(f->r, BASE + 8), ==,
                    RMI_ERROR_INPUT);
}

CASE(data_create_unknown_data_bound)
{
    g_assert_cmpint(rmm_data_create_unknown(f->r, 0), ==, RMI_ERROR_INPUT);
}

CASE(data_create_unknown_data_state)
{
    g_assert_cmpint(rmm_data_create_unknown(f->r, UNDEL), ==,
                    RMI_ERROR_INPUT);
}

CASE(data_create_unknown_realm_state)
{
    activate(f);
    g_assert_cmpint(smc(f, PSCI_SYSTEM_OFF, 0, 0, 0), ==, RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_data_create_unknown(f->r, BASE), ==,
                    RMI_ERROR_REALM);
    assert_granule(f, BASE, RMM_GRANULE_DELEGATED);
}

CASE(data_create_unknown_rtt_walk)
{
    g_assert_cmpint(rmm_data_create_unknown(f->r, BASE + BLOCK), ==,
                    rtt_error(2));
}

/* ---- RMI_DATA_DESTROY ---- */

CASE(data_destroy_ipa_align)
{
    g_assert_cmpint(rmm_data_destroy(f->r, BASE + 8), ==, RMI_ERROR_INPUT);
}

CASE(data_destroy_ipa_bound)
{
    g_assert_cmpint(rmm_data_destroy(f->r, PROT_SIZE), ==, RMI_ERROR_INPUT);
}

CASE(data_destroy_rtt_walk)
{
    g_assert_cmpint(rmm_data_destroy(f->r, BASE + BLOCK), ==,
                    rtt_error(2));
}

CASE(data_destroy_rtt_state)
{
    g_assert_cmpint(rmm_data_destroy(f->r, BASE), ==, rtt_error(3));
    assert_granule(f, BASE, RMM_GRANULE_DELEGATED);
}

CASE(data_destroy_ok_delegated)
{
    g_assert_cmpint(rmm_data_create(f->r, BASE, f->src, true), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_data_destroy(f->r, BASE), ==, RMI_SUCCESS);
    assert_granule(f, BASE, RMM_GRANULE_DELEGATED);
    g_assert_true(f->store[0] == 0);
    g_assert_cmpint(rmm_granule_undelegate(f->r, BASE), ==, RMI_SUCCESS);
    assert_granule(f, BASE, RMM_GRANULE_UNDELEGATED);
}

/* ---- RMI_REC_CREATE ---- */

static void rec_create_fails(F *f, uint64_t flags, uint64_t mpidr,
                             RmiCommandReturnCode expect)
{
    RmmRecParams p = { .flags = flags, .mpidr = mpidr };
    RmmRec *rec = f->rec;

    g_assert_cmpint(rmm_rec_create(f->r, &p, &rec), ==, expect);
    g_assert_null(rec);
    g_assert_cmpuint(rmm_realm_num_recs(f->r), ==, 1);
}

CASE(rec_create_flags)
{
    rec_create_fails(f, 1ULL << 1, 1, RMI_ERROR_INPUT);
}

CASE(rec_create_realm_state)
{
    activate(f);
    rec_create_fails(f, 0, 1, RMI_ERROR_REALM);
}

CASE(rec_create_mpidr)
{
    rec_create_fails(f, 0, 1ULL << 40, RMI_ERROR_INPUT);
}

CASE(rec_create_mpidr_order)
{
    rec_create_fails(f, 0, 2, RMI_ERROR_INPUT);
}

/* ---- RMI_RTT_SET_RIPAS ---- */

static void set_ripas_fails(F *f, RmmRec *rec, uint64_t base, uint64_t top,
                            RmiCommandReturnCode expect)
{
    uint64_t out = 1;

    g_assert_cmpint(rmm_rtt_set_ripas(f->r, rec, base, top, &out), ==,
                    expect);
    g_assert_cmphex(out, ==, base);
}

CASE(set_ripas_rec_state)
{
    activate(f);
    set_ripas_fails(f, f->rec, BASE, BASE + G, RMI_ERROR_REC);
}

CASE(set_ripas_base)
{
    ripas_request(f, BASE + MIB, BASE + MIB + 2 * G);
    set_ripas_fails(f, f->rec, BASE + MIB + G, BASE + MIB + 2 * G,
                    RMI_ERROR_INPUT);
}

CASE(set_ripas_top)
{
    ripas_request(f, BASE + MIB, BASE + MIB + 2 * G);
    set_ripas_fails(f, f->rec, BASE + MIB, BASE + MIB + 3 * G,
                    RMI_ERROR_INPUT);
}

CASE(set_ripas_rtt_walk)
{
    ripas_request(f, 0, G);
    set_ripas_fails(f, f->rec, 0, G, rtt_error(1));
}

CASE(set_ripas_rtt_block)
{
    ripas_request(f, BASE + BLOCK, BASE + BLOCK + G);
    set_ripas_fails(f, f->rec, BASE + BLOCK, BASE + BLOCK + G,
                    rtt_error(2));
}

typedef struct Case {
    const char *path;
    void (*fn)(F *f, gconstpointer data);
} Case;

#define C(path, fn) { "/rmi/" path, fn }

static const Case cases[] = {
    C("granule-delegate/gran-align", delegate_gran_align),
    C("granule-delegate/gran-bound", delegate_gran_bound),
    C("granule-delegate/gran-state", delegate_gran_state),
    C("granule-undelegate/gran-align", undelegate_gran_align),
    C("granule-undelegate/gran-bound", undelegate_gran_bound),
    C("granule-undelegate/gran-state", undelegate_gran_state),
    C("granule-undelegate/gran-state-data", undelegate_gran_state_data),
    C("realm-create/ipa-width-low", realm_create_ipa_width_low),
    C("realm-create/ipa-width-high", realm_create_ipa_width_high),
    C("realm-create/hash-algo", realm_create_hash_algo),
    C("realm-create/flags-unknown", realm_create_flags_unknown),
    C("realm-create/flags-lpa2", realm_create_flags_lpa2),
    C("realm-create/sve-vl", realm_create_sve_vl),
    C("realm-create/pmu-num-ctrs", realm_create_pmu_num_ctrs),
    C("realm-create/num-bps", realm_create_num_bps),
    C("realm-create/num-wps", realm_create_num_wps),
    C("realm-create/vmid-in-use", realm_create_vmid_in_use),
    C("realm-activate/realm-state", realm_activate_realm_state),
    C("rtt-create/level-start", rtt_create_level_start),
    C("rtt-create/level-bound", rtt_create_level_bound),
    C("rtt-create/ipa-align", rtt_create_ipa_align),
    C("rtt-create/ipa-bound", rtt_create_ipa_bound),
    C("rtt-create/rtt-walk", rtt_create_rtt_walk),
    C("rtt-create/rtt-state", rtt_create_rtt_state),
    C("rtt-destroy/level-start", rtt_destroy_level_start),
    C("rtt-destroy/ipa-align", rtt_destroy_ipa_align),
    C("rtt-destroy/ipa-bound", rtt_destroy_ipa_bound),
    C("rtt-destroy/rtt-walk", rtt_destroy_rtt_walk),
    C("rtt-destroy/rtt-state", rtt_destroy_rtt_state),
    C("rtt-destroy/live-child", rtt_destroy_live_child),
    C("rtt-destroy/live-assigned", rtt_destroy_live_assigned),
    C("rtt-destroy/mixed-ripas", rtt_destroy_mixed_ripas),
    C("rtt-destroy/mixed-block-ripas", rtt_destroy_mixed_block_ripas),
    C("rtt-destroy/live-unprotected", rtt_destroy_live_unprotected),
    C("rtt-destroy/ok", rtt_destroy_ok),
    C("rtt-map-unprotected/level", map_unprotected_level),
    C("rtt-map-unprotected/ipa-align", map_unprotected_ipa_align),
    C("rtt-map-unprotected/ipa-protected", map_unprotected_ipa_protected),
    C("rtt-map-unprotected/ipa-bound", map_unprotected_ipa_bound),
    C("rtt-map-unprotected/rtt-walk", map_unprotected_rtt_walk),
    C("rtt-map-unprotected/rtt-state", map_unprotected_rtt_state),
    C("rtt-unmap-unprotected/rtt-state", unmap_unprotected_rtt_state),
    C("rtt-init-ripas/realm-state", init_ripas_realm_state),
    C("rtt-init-ripas/base-align", init_ripas_base_align),
    C("rtt-init-ripas/top-align", init_ripas_top_align),
    C("rtt-init-ripas/size", init_ripas_size),
    C("rtt-init-ripas/top-bound", init_ripas_top_bound),
    C("rtt-init-ripas/rtt-walk", init_ripas_rtt_walk),
    C("rtt-init-ripas/rtt-block", init_ripas_rtt_block),
    C("rtt-init-ripas/unbacked", init_ripas_unbacked),
    C("rtt-init-ripas/rtt-state", init_ripas_rtt_state),
    C("rtt-init-ripas/order-realm-before-input",
      init_ripas_order_realm_before_input),
    C("data-create/data-align", data_create_data_align),
    C("data-create/data-bound", data_create_data_bound),
    C("data-create/data-state", data_create_data_state),
    C("data-create/data-state-data", data_create_data_state_data),
    C("data-create/realm-state", data_create_realm_state),
    C("data-create/rtt-walk", data_create_rtt_walk),
    C("data-create/ripas", data_create_ripas),
    C("data-create/order-realm-before-rtt",
      data_create_order_realm_before_rtt),
    C("data-create/order-granule-before-realm",
      data_create_order_granule_before_realm),
    C("data-create-unknown/data-align", data_create_unknown_data_align),
    C("data-create-unknown/data-bound", data_create_unknown_data_bound),
    C("data-create-unknown/data-state", data_create_unknown_data_state),
    C("data-create-unknown/realm-state", data_create_unknown_realm_state),
    C("data-create-unknown/rtt-walk", data_create_unknown_rtt_walk),
    C("data-destroy/ipa-align", data_destroy_ipa_align),
    C("data-destroy/ipa-bound", data_destroy_ipa_bound),
    C("data-destroy/rtt-walk", data_destroy_rtt_walk),
    C("data-destroy/rtt-state", data_destroy_rtt_state),
    C("data-destroy/ok-delegated", data_destroy_ok_delegated),
    C("rec-create/flags", rec_create_flags),
    C("rec-create/realm-state", rec_create_realm_state),
    C("rec-create/mpidr", rec_create_mpidr),
    C("rec-create/mpidr-order", rec_create_mpidr_order),
    C("rtt-set-ripas/rec-state", set_ripas_rec_state),
    C("rtt-set-ripas/base", set_ripas_base),
    C("rtt-set-ripas/top", set_ripas_top),
    C("rtt-set-ripas/rtt-walk", set_ripas_rtt_walk),
    C("rtt-set-ripas/rtt-block", set_ripas_rtt_block),
};

int main(int argc, char **argv)
{
    char *err = NULL;
    unsigned i;
    int ret;

    g_test_init(&argc, &argv, NULL);
    plat = rmm_platform_new(&err);
    g_assert_nonnull(plat);
    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_add(cases[i].path, F, NULL, setup, cases[i].fn, teardown);
    }
    ret = g_test_run();
    rmm_platform_free(plat);
    return ret;
}
