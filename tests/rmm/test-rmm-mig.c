/*
 * Unit tests of the emulated RMM's realm migration (rmm-mig*.c)
 *
 * A source realm (two RAM ranges, measured and unmeasured data, three
 * RECs) is exported while it runs: the realm changes RIPAS, writes
 * through RSI, extends REMs, leaves exits pending; the host logs guest
 * writes.  The stream is imported into a second realm of the same
 * platform, and everything is compared: protected memory, stage 2 state,
 * RIM, REMs, RECs and the host's vCPU contexts.  Then every way to break
 * the stream (bit flips, swaps, drops, duplicates, replays, forged but
 * well-sealed records out of order, parameter mismatches, wrong key) must
 * be refused with a message naming the record, and the phases (abort,
 * commit tokens, REC gate, destroy) must hold.
 *
 * "test-rmm-mig --write-corpus DIR" writes the seed corpus of
 * fuzz-rmm-mig instead of running tests.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"
#include "rmm-mig-record.h"     /* plays the source: record layouts, sealing */
#include "rmm-internal.h"       /* RmmRec fields, RmmMig */
#include "rmm-mig-fuzz.h"
#include "rmm-host.h"
#include "test-pki.h"

#define G           RMM_GRANULE_SIZE
#define KIB         1024ULL
#define IPA_WIDTH   33
#define RAM0        0x40000000ULL
#define RAM0_SIZE   (1024 * KIB)
#define RAM0_RIPAS  (768 * KIB)             /* RIPAS RAM below, EMPTY above */
#define RAM1        0x80000000ULL
#define RAM1_SIZE   (128 * KIB)
#define NRECS       3
#define HDR         RMM_MIG_HEADER_SIZE

/* SMCs (DEN0022, DEN0137) */
#define PSCI_CPU_ON_64          0xC4000003ULL
#define RSI_MEASUREMENT_EXTEND  0xC4000193ULL
#define RSI_ATTEST_INIT         0xC4000194ULL
#define RSI_ATTEST_CONTINUE     0xC4000195ULL
#define RSI_REALM_CONFIG        0xC4000196ULL
#define RSI_IPA_STATE_SET       0xC4000197ULL
#define RSI_HOST_CALL           0xC4000199ULL

static RmmPlatform *plat;
static uint8_t *xbuf;                   /* RMM_MIG_RECORD_MAX bytes */
static Pki pki;                         /* the platform's identity */
static GString *policy;                 /* its CA as the only anchor */

/* The platform's physical counter, as the tests set it. */
static uint64_t counter;

static uint64_t read_counter(void *opaque)
{
    return *(uint64_t *)opaque;
}

static const char AUTH[] = "authentication failed (not sealed in this "
                           "session, or tampered)";

/*
 * A value the source sealed: a rejection must not quote it (the host
 * sees the error).  Set by tests that forge such values.
 */
static const char *reject_secret;

static const uint8_t key[HOST_KEY_SIZE] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
};

static const size_t ctx_len[NRECS] = { 300, 0, 5000 };

/* ---- Realms ---- */

typedef struct Realm {
    RmmRealm *r;
    uint8_t *store[2];          /* RAM0, RAM1 */
    RmmRec *rec[NRECS];
    unsigned nr_recs;
} Realm;

static const uint64_t ram_base[2] = { RAM0, RAM1 };
static const uint64_t ram_size[2] = { RAM0_SIZE, RAM1_SIZE };

/* RmiRealmParams.flags of the realms params_init() makes... */
static uint64_t realm_flags;
/* ...and, with RMI_REALM_FLAGS_SVE / _PMU, their vector length, counters. */
static uint8_t realm_sve_vl, realm_pmu_ctrs;
/*
 * How long migrate_out()'s reads of the dirty log wait after its first
 * round, as if for the vCPUs (0: they do not).
 */
static unsigned log_wait_us;
/* Parallel lanes of the driver migrate_out() runs (0: lane 0 only). */
static unsigned driver_lanes;

static void params_init(RmiRealmParams *p, RmiHashAlgo algo, uint16_t vmid)
{
    unsigned i;

    memset(p, 0, sizeof(*p));
    p->flags = realm_flags;
    p->sve_vl = realm_flags & RMI_REALM_FLAGS_SVE ? realm_sve_vl : 0;
    p->pmu_num_ctrs = realm_flags & RMI_REALM_FLAGS_PMU ? realm_pmu_ctrs : 0;
    p->ipa_width = IPA_WIDTH;
    p->hash_algo = algo;
    p->num_bps = 3;
    p->num_wps = 2;
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        p->rpv[i] = 0x30 + 7 * i;
    }
    p->vmid = vmid;
    pki_policy_hash(policy, p->mig_policy);
}

static void fill(uint8_t *p, uint64_t seed)
{
    unsigned i;

    for (i = 0; i < G; i++) {
        p[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
    }
}

static uint8_t *store_at(Realm *t, uint64_t ipa)
{
    unsigned i;

    for (i = 0; i < 2; i++) {
        if (ipa >= ram_base[i] && ipa < ram_base[i] + ram_size[i]) {
            return t->store[i] + (ipa - ram_base[i]);
        }
    }
    g_assert_not_reached();
}

/* A NEW realm with both RAM ranges (RAM1 added first when @rev). */
static void realm_new(Realm *t, const RmiRealmParams *p, bool rev)
{
    unsigned i, k;

    memset(t, 0, sizeof(*t));
    g_assert_cmpint(rmm_realm_create(plat, p, &t->r), ==, RMI_SUCCESS);
    for (k = 0; k < 2; k++) {
        i = rev ? 1 - k : k;
        t->store[i] = g_malloc0(ram_size[i]);
        g_assert_cmpint(rmm_realm_add_ram(t->r, ram_base[i], ram_size[i],
                                          t->store[i]), ==, RMI_SUCCESS);
        g_assert_true(host_map(t->r, ram_base[i], ram_size[i], 3));
    }
}

static void realm_free(Realm *t)
{
    rmm_realm_destroy(t->r);
    g_free(t->store[0]);
    g_free(t->store[1]);
    memset(t, 0, sizeof(*t));
}

static void rec_new(Realm *t, bool runnable)
{
    RmmRecParams rp;

    memset(&rp, 0, sizeof(rp));
    rp.mpidr = t->nr_recs;
    rp.flags = runnable ? RMI_REC_FLAG_RUNNABLE : 0;
    rp.pc = RAM0 + t->nr_recs * 0x100;
    rp.gprs[0] = 0x1000 + t->nr_recs;
    g_assert_cmpint(rmm_rec_create(t->r, &rp, &t->rec[t->nr_recs]), ==,
                    RMI_SUCCESS);
    t->nr_recs++;
}

/*
 * The source: RAM0 RIPAS RAM up to RAM0_RIPAS, granules 0..15 measured
 * DATA_CREATE, 16..19 unmeasured, 20..63 DATA_CREATE_UNKNOWN; RAM1 all
 * RIPAS RAM, granules 0..7 measured; REC 0 runnable, RECs 1, 2 off.
 */
static void source_new(Realm *t, RmiHashAlgo algo, uint16_t vmid)
{
    RmiRealmParams p;
    uint8_t src[G];
    uint64_t top;
    unsigned i;

    params_init(&p, algo, vmid);
    realm_new(t, &p, true);
    g_assert_cmpint(rmm_rtt_init_ripas(t->r, RAM0, RAM0 + RAM0_RIPAS, &top),
                    ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(t->r, RAM1, RAM1 + RAM1_SIZE, &top),
                    ==, RMI_SUCCESS);
    for (i = 0; i < 20; i++) {
        fill(src, RAM0 + i * G);
        g_assert_cmpint(rmm_data_create(t->r, RAM0 + i * G, src, i < 16), ==,
                        RMI_SUCCESS);
    }
    for (i = 20; i < 64; i++) {
        g_assert_cmpint(rmm_data_create_unknown(t->r, RAM0 + i * G), ==,
                        RMI_SUCCESS);
    }
    for (i = 0; i < 8; i++) {
        fill(src, RAM1 + i * G);
        g_assert_cmpint(rmm_data_create(t->r, RAM1 + i * G, src, true), ==,
                        RMI_SUCCESS);
    }
    for (i = 0; i < NRECS; i++) {
        rec_new(t, i == 0);
    }
    g_assert_cmpint(rmm_realm_activate(t->r), ==, RMI_SUCCESS);
}

static void dest_new(Realm *t, RmiHashAlgo algo, uint16_t vmid)
{
    RmiRealmParams p;

    params_init(&p, algo, vmid);
    realm_new(t, &p, false);
}

/* An SMC of @rec with x0..x4; returns the exit reason, results in regs. */
static int smc(RmmRec *rec, uint64_t *regs, RmmRecExit *exit,
               uint64_t x0, uint64_t x1, uint64_t x2,
               uint64_t x3, uint64_t x4)
{
    memset(regs, 0, RMM_SMC_NREGS * sizeof(uint64_t));
    regs[0] = x0;
    regs[1] = x1;
    regs[2] = x2;
    regs[3] = x3;
    regs[4] = x4;
    rmm_rec_smc(rec, regs, exit);
    return exit->reason;
}

/* RSI_IPA_STATE_SET [base, top) to @ripas, applied and accepted. */
static void set_ripas(Realm *t, unsigned rec, uint64_t base, uint64_t top,
                      RmiRipas ripas)
{
    uint64_t regs[RMM_SMC_NREGS], out;
    RmmRecExit exit;

    g_assert_cmpint(smc(t->rec[rec], regs, &exit, RSI_IPA_STATE_SET, base,
                        top, ripas, 0), ==, RMI_EXIT_RIPAS_CHANGE);
    g_assert_cmpint(rmm_rtt_set_ripas(t->r, t->rec[rec], base, top, &out),
                    ==, RMI_SUCCESS);
    g_assert_cmphex(out, ==, top);
    g_assert_cmpint(rmm_rec_complete(t->rec[rec], RMM_RIPAS_ACCEPT, &exit,
                                     regs), ==, RMI_SUCCESS);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
}

/* ---- Streams: arrays of GBytes records ---- */

static GPtrArray *stream_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void push(GPtrArray *st, size_t len)
{
    if (len) {
        g_ptr_array_add(st, g_bytes_new(xbuf, len));
    }
}

static GPtrArray *stream_copy(GPtrArray *st)
{
    GPtrArray *c = stream_new();
    unsigned i;

    for (i = 0; i < st->len; i++) {
        g_ptr_array_add(c, g_bytes_ref(st->pdata[i]));
    }
    return c;
}

static const uint8_t *rdata(GPtrArray *st, unsigned i, size_t *len)
{
    return g_bytes_get_data(st->pdata[i], len);
}

static unsigned rtype(GPtrArray *st, unsigned i)
{
    size_t len;

    return rdata(st, i, &len)[5];
}

static uint32_t repoch(GPtrArray *st, unsigned i)
{
    size_t len;
    const uint8_t *p = rdata(st, i, &len);

    return p[12] | p[13] << 8 | p[14] << 16 | (uint32_t)p[15] << 24;
}

static uint64_t rseq(GPtrArray *st, unsigned i)
{
    size_t len;
    const uint8_t *p = rdata(st, i, &len);
    uint64_t v = 0;
    int k;

    for (k = 7; k >= 0; k--) {
        v = v << 8 | p[16 + k];
    }
    return v;
}

/* The granule count of DATA record @i. */
static uint32_t rcount(GPtrArray *st, unsigned i)
{
    size_t len;
    const uint8_t *p = rdata(st, i, &len);

    return p[HDR] | p[HDR + 1] << 8 | p[HDR + 2] << 16 |
           (uint32_t)p[HDR + 3] << 24;
}

/* Index of the @nth record of @type, or -1. */
static int find(GPtrArray *st, unsigned type, unsigned nth)
{
    unsigned i;

    for (i = 0; i < st->len; i++) {
        if (rtype(st, i) == type && nth-- == 0) {
            return i;
        }
    }
    return -1;
}

/* Replace record @i by a copy of @buf. */
static void put(GPtrArray *st, unsigned i, const uint8_t *buf, size_t len)
{
    g_bytes_unref(st->pdata[i]);
    st->pdata[i] = g_bytes_new(buf, len);
}

/* Flip bit @bit of byte @off of record @i. */
static void flip(GPtrArray *st, unsigned i, size_t off, unsigned bit)
{
    size_t len;
    const uint8_t *q = rdata(st, i, &len);
    uint8_t *p = g_memdup2(q, len);

    g_assert_cmpuint(off, <, len);
    p[off] ^= 1u << bit;
    put(st, i, p, len);
    g_free(p);
}

/* ---- Host side of the export ---- */

/* Export the granules of the dirty log as DATA records. */
static unsigned export_dirty(RmmRealm *r, GPtrArray *st)
{
    unsigned i, total = 0;

    for (i = 0; i < 2; i++) {
        uint64_t n = ram_size[i] / G, got, g;
        uint64_t *bm = g_new0(uint64_t, (n + 63) / 64);
        uint64_t ipas[RMM_MIG_BATCH_MAX];
        unsigned k = 0, exp;
        size_t len;

        got = rmm_mig_dirty_log(r, ram_base[i], n, bm);
        for (g = 0; g <= n; g++) {
            if (k == RMM_MIG_BATCH_MAX || (g == n && k)) {
                g_assert_cmpint(rmm_mig_export_data(r, ipas, k, xbuf,
                                                    RMM_MIG_RECORD_MAX, &len,
                                                    &exp), ==, RMI_SUCCESS);
                push(st, len);
                total += exp;
                got -= k;
                k = 0;
            }
            if (g < n && (bm[g / 64] >> (g % 64) & 1)) {
                ipas[k++] = ram_base[i] + g * G;
            }
        }
        g_assert_cmpuint(got, ==, 0);
        g_free(bm);
    }
    return total;
}

/* Export every granule of RAM (unassigned ones are skipped). */
static void export_all(RmmRealm *r, GPtrArray *st)
{
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    unsigned i, k, exp;
    size_t len;

    for (i = 0; i < 2; i++) {
        uint64_t ipa = ram_base[i];

        while (ipa < ram_base[i] + ram_size[i]) {
            for (k = 0; k < RMM_MIG_BATCH_MAX &&
                 ipa < ram_base[i] + ram_size[i]; k++, ipa += G) {
                ipas[k] = ipa;
            }
            g_assert_cmpint(rmm_mig_export_data(r, ipas, k, xbuf,
                                                RMM_MIG_RECORD_MAX, &len,
                                                &exp), ==, RMI_SUCCESS);
            push(st, len);
        }
    }
}

static void export_ripas(RmmRealm *r, GPtrArray *st)
{
    bool more;
    size_t len;

    do {
        g_assert_cmpint(rmm_mig_export_ripas(r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len, &more), ==, RMI_SUCCESS);
        push(st, len);
    } while (more);
}

static void export_epoch(RmmRealm *r, GPtrArray *st)
{
    size_t len;

    g_assert_cmpint(rmm_mig_export_epoch(r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_SUCCESS);
    push(st, len);
}

/* One pre-copy round: DATA of the dirty log, RIPAS changes, EPOCH. */
static void export_round(RmmRealm *r, GPtrArray *st, bool ripas_first)
{
    if (ripas_first) {
        export_ripas(r, st);
    }
    export_dirty(r, st);
    if (!ripas_first) {
        export_ripas(r, st);
    }
    export_epoch(r, st);
}

static void export_start(Realm *t, GPtrArray *st)
{
    size_t len;

    g_assert_cmpint(host_export_start(t->r, policy, key), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_export_immutable(t->r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_SUCCESS);
    push(st, len);
}

static uint8_t *ctx_make(unsigned i)
{
    uint8_t *c = g_malloc(ctx_len[i] + 1);
    size_t k;

    for (k = 0; k < ctx_len[i]; k++) {
        c[k] = (k * 13 + i * 101) & 0xff;
    }
    return c;
}

/* Final round (the realm paused), RECs with their contexts, END. */
static void export_close(Realm *t, GPtrArray *st)
{
    size_t len;
    unsigned i;

    export_round(t->r, st, false);
    for (i = 0; i < t->nr_recs; i++) {
        uint8_t *c = ctx_make(i);

        g_assert_cmpint(rmm_mig_export_rec(t->rec[i], c, ctx_len[i], xbuf,
                                           RMM_MIG_RECORD_MAX, &len), ==,
                        RMI_SUCCESS);
        push(st, len);
        g_free(c);
    }
    g_assert_cmpint(rmm_mig_export_end(t->r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_mig_phase(t->r), ==, RMM_MIG_OUT_ENDED);
}

/* Pause, final round, RECs with their contexts, END. */
static void export_finish(Realm *t, GPtrArray *st)
{
    g_assert_cmpint(rmm_mig_export_pause(t->r), ==, RMI_SUCCESS);
    export_close(t, st);
}

/* ---- Host side of the import ---- */

/* Import record @i of @st into @r. */
static RmiStatus import_one(RmmRealm *r, GPtrArray *st, unsigned i,
                            RmmMigImported *out, char **err)
{
    size_t len;
    const uint8_t *p = rdata(st, i, &len);

    return host_import_record(r, p, len, out, err);
}

/* REC records import_all() took with architectural state. */
static unsigned arch_imported;

/*
 * REC @index's architectural state as the test's host has it: a pattern
 * of the index in every field, within a realm's limits (ZCR_EL1 0, no
 * counter enabled); what a realm lacks is not sealed.
 */
static void host_rec_arch(void *opaque, unsigned index, RmmRecArch *a)
{
    unsigned i;

    memset(a, 0, sizeof(*a));
    for (i = 0; i < 32; i++) {
        memset(a->z[i], 0x10 * index + i, sizeof(a->z[i]));
    }
    for (i = 0; i < 16; i++) {
        memset(a->p[i], 0x40 + index + i, sizeof(a->p[i]));
        a->bvr[i] = 0x1000 * index + 4 * i;
        a->bcr[i] = i | index << 8;
        a->wvr[i] = 0x2000 * index + 8 * i;
        a->wcr[i] = i | index << 12;
    }
    memset(a->ffr, 0x0f, sizeof(a->ffr));
    a->mdscr_el1 = 0x8000 | index;
    /* What params_init() gives a realm with SVE or a PMU. */
    a->zcr_el1 = realm_sve_vl;
    a->pmcr_el0 = (uint64_t)realm_pmu_ctrs << 11 | 1;
    a->pmcntenset = 1u << 31 | ((1u << realm_pmu_ctrs) - 1);
    a->pmccntr = 1000000 + index;
    for (i = 0; i < 31; i++) {
        a->pmevcntr[i] = 1000 * index + i;
        a->pmevtyper[i] = 0x11;
    }
}

/* What the destination got of REC @index against host_rec_arch()'s. */
static void assert_rec_arch(RmmRealm *r, unsigned index, const RmmRecArch *a)
{
    const RmiRealmParams *p = rmm_realm_params(r);
    g_autofree RmmRecArch *want = g_new(RmmRecArch, 1);
    unsigned i;

    host_rec_arch(NULL, index, want);
    g_assert_nonnull(a);
    g_assert_cmphex(a->mdscr_el1, ==, want->mdscr_el1);
    for (i = 0; i < 16; i++) {
        g_assert_cmphex(a->bvr[i], ==, i <= p->num_bps ? want->bvr[i] : 0);
        g_assert_cmphex(a->bcr[i], ==, i <= p->num_bps ? want->bcr[i] : 0);
        g_assert_cmphex(a->wvr[i], ==, i <= p->num_wps ? want->wvr[i] : 0);
        g_assert_cmphex(a->wcr[i], ==, i <= p->num_wps ? want->wcr[i] : 0);
    }
    if (p->flags & RMI_REALM_FLAGS_SVE) {
        size_t vl = (p->sve_vl + 1) * 16;

        g_assert_cmpmem(a->z[31], vl, want->z[31], vl);
        g_assert_cmpuint(a->z[31][vl], ==, 0);
        g_assert_cmpmem(a->p[15], vl / 8, want->p[15], vl / 8);
        g_assert_cmpmem(a->ffr, vl / 8, want->ffr, vl / 8);
        g_assert_cmphex(a->zcr_el1, ==, want->zcr_el1);
    } else {
        /* No SVE: nothing of Z came. */
        g_assert_cmpuint(a->z[5][0], ==, 0);
    }
    if (p->flags & RMI_REALM_FLAGS_PMU) {
        g_assert_cmphex(a->pmcr_el0, ==, want->pmcr_el0);
        g_assert_cmpuint(a->pmccntr, ==, want->pmccntr);
        g_assert_cmpuint(a->pmevcntr[p->pmu_num_ctrs - 1], ==,
                         want->pmevcntr[p->pmu_num_ctrs - 1]);
        g_assert_cmpuint(a->pmevcntr[p->pmu_num_ctrs], ==, 0);
    } else {
        g_assert_cmphex(a->pmcr_el0, ==, 0);
    }
}

static void import_all(Realm *d, GPtrArray *st)
{
    RmmMigImported out;
    unsigned i, nrec = 0;
    char *err = NULL;

    g_assert_cmpint(host_import_start(d->r, NRECS, policy, key),
                    ==, RMI_SUCCESS);
    for (i = 0; i < st->len; i++) {
        size_t len;
        const uint8_t *p = rdata(st, i, &len);
        RmiStatus ret = host_import_record(d->r, p, len, &out, &err);

        if (ret != RMI_SUCCESS) {
            g_error("record %u: %s", i, err);
        }
        g_assert_null(err);
        g_assert_cmpint(out.type, ==, rtype(st, i));
        if (out.type == RMM_MIG_RT_REC) {
            uint8_t *c = ctx_make(nrec);

            g_assert_nonnull(out.rec);
            g_assert_cmpuint(rmm_rec_index(out.rec), ==, nrec);
            g_assert_cmpuint(out.rec_ctx_len, ==, ctx_len[nrec]);
            g_assert_cmpmem(out.rec_ctx, out.rec_ctx_len, c, ctx_len[nrec]);
            if (out.rec_arch) {
                assert_rec_arch(d->r, nrec, out.rec_arch);
                arch_imported++;
            }
            d->rec[nrec++] = out.rec;
            g_free(c);
        } else {
            g_assert_null(out.rec);
        }
    }
    d->nr_recs = nrec;
}

static void assert_same_recs(RmmRec *a, RmmRec *b)
{
    g_assert_cmpuint(a->index, ==, b->index);
    g_assert_cmphex(a->mpidr, ==, b->mpidr);
    g_assert_cmpint(a->runnable, ==, b->runnable);
    g_assert_cmpint(a->pending, ==, b->pending);
    g_assert_cmphex(a->ripas_base, ==, b->ripas_base);
    g_assert_cmphex(a->ripas_top, ==, b->ripas_top);
    g_assert_cmphex(a->ripas_next, ==, b->ripas_next);
    g_assert_cmpint(a->ripas_value, ==, b->ripas_value);
    g_assert_cmpint(a->ripas_change_destroyed, ==,
                    b->ripas_change_destroyed);
    g_assert_cmphex(a->host_call_ipa, ==, b->host_call_ipa);
    g_assert_cmpint(a->psci_pending, ==, b->psci_pending);
    g_assert_cmphex(a->psci_fid, ==, b->psci_fid);
    g_assert_cmphex(a->psci_mpidr, ==, b->psci_mpidr);
    g_assert_cmpint(!a->token, ==, !b->token);
    if (a->token) {
        g_assert_cmpmem(a->token->data, a->token->len, b->token->data,
                        b->token->len);
        g_assert_cmpuint(a->token_off, ==, b->token_off);
    }
}

/* Memory, stage 2, measurements and RECs of @a and @b are the same. */
static void assert_same(Realm *a, Realm *b)
{
    uint8_t ma[RMM_HASH_MAX], mb[RMM_HASH_MAX];
    RmmIpaState sa, sb;
    unsigned i;
    uint64_t ipa;

    /* The summary QEMU traces at END and at commit agrees too. */
    g_assert_true(rmm_realm_ipa_state(a->r, &sa));
    g_assert_true(rmm_realm_ipa_state(b->r, &sb));
    g_assert_cmpmem(&sa, sizeof(sa), &sb, sizeof(sb));
    g_assert_cmpuint(sa.ripas[0] + sa.ripas[1] + sa.ripas[2], ==,
                     (ram_size[0] + ram_size[1]) / G);

    for (i = 0; i < 2; i++) {
        g_assert_cmpmem(a->store[i], ram_size[i], b->store[i], ram_size[i]);
        for (ipa = ram_base[i]; ipa < ram_base[i] + ram_size[i]; ipa += G) {
            RmmHipas ha, hb;
            RmiRipas ra, rb;

            g_assert_cmpint(rmm_rtt_read_entry(a->r, ipa, &ha, &ra), ==,
                            RMI_SUCCESS);
            g_assert_cmpint(rmm_rtt_read_entry(b->r, ipa, &hb, &rb), ==,
                            RMI_SUCCESS);
            if (ha != hb || ra != rb) {
                g_error("granule 0x%" G_GINT64_MODIFIER "x: HIPAS %d/%d "
                        "RIPAS %d/%d", ipa, ha, hb, ra, rb);
            }
        }
    }
    for (i = 0; i <= RMM_NUM_REMS; i++) {
        g_assert_cmpuint(rmm_realm_measurement(a->r, i, ma), ==,
                         rmm_realm_measurement(b->r, i, mb));
        g_assert_cmpmem(ma, RMM_HASH_MAX, mb, RMM_HASH_MAX);
    }
    g_assert_cmpuint(rmm_realm_num_recs(a->r), ==, rmm_realm_num_recs(b->r));
    for (i = 0; i < rmm_realm_num_recs(a->r); i++) {
        assert_same_recs(rmm_realm_rec(a->r, i), rmm_realm_rec(b->r, i));
    }
}

/* ---- The reference stream: a realm that works while it migrates ---- */

/*
 * Source activity during pre-copy, round @round: RIPAS changes and
 * writes through RSI, host-reported guest writes, DATA_DESTROY and
 * DATA_CREATE_UNKNOWN, a REM extension.
 */
static void workload(Realm *s, unsigned round)
{
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;
    uint8_t *p;

    switch (round) {
    case 0:
        /* RSI_REALM_CONFIG writes granule 2 (model write). */
        g_assert_cmpint(smc(s->rec[0], regs, &exit, RSI_REALM_CONFIG,
                            RAM0 + 2 * G, 0, 0, 0), ==, RMM_EXIT_NONE);
        g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
        /* Guest writes granule 3 and RAM1 granule 1 (host-reported). */
        p = store_at(s, RAM0 + 3 * G);
        memset(p + 100, 0xee, 200);
        rmm_mig_log_write(s->r, RAM0 + 3 * G + 100, 200);
        p = store_at(s, RAM1 + G);
        p[G - 1] ^= 0xff;
        rmm_mig_log_write(s->r, RAM1 + G, G);
        /* New RAM above RAM0_RIPAS, assigned and written. */
        set_ripas(s, 0, RAM0 + RAM0_RIPAS, RAM0 + RAM0_RIPAS + 16 * G,
                  RMI_RIPAS_RAM);
        g_assert_cmpint(rmm_data_create_unknown(s->r, RAM0 + RAM0_RIPAS),
                        ==, RMI_SUCCESS);
        fill(store_at(s, RAM0 + RAM0_RIPAS), 77);
        rmm_mig_log_write(s->r, RAM0 + RAM0_RIPAS, G);
        /* Granules 60..63: assigned, RIPAS EMPTY (contents kept). */
        set_ripas(s, 0, RAM0 + 60 * G, RAM0 + 64 * G, RMI_RIPAS_EMPTY);
        /* Granules 10 and 11 given back: RIPAS DESTROYED. */
        g_assert_cmpint(rmm_data_destroy(s->r, RAM0 + 10 * G), ==,
                        RMI_SUCCESS);
        g_assert_cmpint(rmm_data_destroy(s->r, RAM0 + 11 * G), ==,
                        RMI_SUCCESS);
        /* REM 1 extended. */
        g_assert_cmpint(smc(s->rec[0], regs, &exit, RSI_MEASUREMENT_EXTEND,
                            1, 16, 0x1122334455667788ULL, 0), ==,
                        RMM_EXIT_NONE);
        g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
        break;
    case 1:
        /*
         * Granule 3 again, granule 10 assigned again (zero; still
         * DESTROYED).
         */
        p = store_at(s, RAM0 + 3 * G);
        memset(p, 0x33, 64);
        rmm_mig_log_write(s->r, RAM0 + 3 * G, 64);
        g_assert_cmpint(rmm_data_create_unknown(s->r, RAM0 + 10 * G), ==,
                        RMI_SUCCESS);
        set_ripas(s, 0, RAM1 + 16 * G, RAM1 + 32 * G, RMI_RIPAS_EMPTY);
        break;
    }
}

/*
 * REC state to migrate: REC 0 turns REC 2 on (PSCI CPU_ON completed),
 * starts an attestation token and reads part of it, asks to turn REC 1
 * on (left pending), then makes a host call (left pending).  REC 1 has a
 * RIPAS change half applied (one that may change DESTROYED granules).
 */
static void rec_states(Realm *s)
{
    uint64_t regs[RMM_SMC_NREGS], out;
    RmmRecExit exit;

    g_assert_cmpint(smc(s->rec[0], regs, &exit, PSCI_CPU_ON_64, 2,
                        RAM0, 0, 0), ==, RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_psci_complete(s->rec[0], s->rec[2], 0), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(s->rec[2]));

    g_assert_cmpint(smc(s->rec[0], regs, &exit, RSI_ATTEST_INIT, 0x1234, 0,
                        0, 0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
    g_assert_cmpint(smc(s->rec[0], regs, &exit, RSI_ATTEST_CONTINUE,
                        RAM0 + 4 * G, 0, 100, 0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_INCOMPLETE);
    g_assert_cmpuint(regs[1], ==, 100);

    g_assert_cmpint(smc(s->rec[0], regs, &exit, PSCI_CPU_ON_64, 1,
                        RAM0, 0, 0), ==, RMI_EXIT_PSCI);
    g_assert_cmpint(smc(s->rec[0], regs, &exit, RSI_HOST_CALL,
                        RAM0 + 5 * G + 256, 0, 0, 0), ==, RMI_EXIT_HOST_CALL);

    g_assert_cmpint(smc(s->rec[1], regs, &exit, RSI_IPA_STATE_SET,
                        RAM0 + RAM0_RIPAS + 16 * G,
                        RAM0 + RAM0_RIPAS + 32 * G, RMI_RIPAS_RAM,
                        1 /* RSI_CHANGE_DESTROYED */), ==,
                    RMI_EXIT_RIPAS_CHANGE);
    g_assert_cmpint(rmm_rtt_set_ripas(s->r, s->rec[1],
                                      RAM0 + RAM0_RIPAS + 16 * G,
                                      RAM0 + RAM0_RIPAS + 20 * G, &out), ==,
                    RMI_SUCCESS);
}

/* ---- Plaintext left on the stack ---- */

#define STACK_AREA  (64 * 1024)

/*
 * The stack below the caller's frame, where the frames of the functions
 * it called last were: clear it, or look for @pat there (a plaintext
 * that nobody wiped is still there).  Not inlined, so that the area lies
 * below the caller.
 */
static G_GNUC_NO_INLINE bool stack_area(const uint8_t *pat, size_t len)
{
    uint8_t area[STACK_AREA];
    size_t i;

    /* Whatever the frames left: the compiler must not assume anything. */
    __asm__ volatile("" : : "r"(area) : "memory");
    if (!pat) {
        memset(area, 0, sizeof(area));
        __asm__ volatile("" : : "r"(area) : "memory");
        return false;
    }
    for (i = 0; i + len <= sizeof(area); i++) {
        if (!memcmp(area + i, pat, len)) {
            return true;
        }
    }
    return false;
}

/*
 * IMMUTABLE (the RPV, the RIM) and END (the REMs) are sealed from and
 * opened into plaintext on the stack, on both sides: none of it stays
 * there afterwards.
 */
static void test_wipe_stack(void)
{
    uint8_t rpv[RMM_RPV_SIZE], rem[RMM_HASH_MAX];
    uint64_t regs[RMM_SMC_NREGS];
    GPtrArray *st = stream_new();
    RmmRecExit exit;
    Realm s, d;
    size_t len;

    source_new(&s, RMI_HASH_SHA256, 81);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_MEASUREMENT_EXTEND, 1, 8,
                        0x5eed5eed5eed5eedULL, 0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
    memcpy(rpv, rmm_realm_params(s.r)->rpv, sizeof(rpv));
    g_assert_cmpuint(rmm_realm_measurement(s.r, 1, rem), ==, 32);
    g_assert_cmpint(host_export_start(s.r, policy, key), ==, RMI_SUCCESS);

    stack_area(NULL, 0);
    g_assert_false(stack_area(rpv, 32));
    g_assert_cmpint(rmm_mig_export_immutable(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_SUCCESS);
    g_assert_false(stack_area(rpv, 32));
    push(st, len);
    export_all(s.r, st);
    export_ripas(s.r, st);
    export_epoch(s.r, st);
    stack_area(NULL, 0);
    g_assert_false(stack_area(rem, 32));
    export_finish(&s, st);
    g_assert_false(stack_area(rem, 32));

    dest_new(&d, RMI_HASH_SHA256, 82);
    stack_area(NULL, 0);
    import_all(&d, st);
    g_assert_false(stack_area(rpv, 32));
    g_assert_false(stack_area(rem, 32));
    assert_same(&s, &d);
    realm_free(&d);
    realm_free(&s);
    g_ptr_array_unref(st);
}

/* ---- The host's export driver, as QEMU runs it (rmm-host.c) ---- */

static size_t host_rec_ctx(void *opaque, unsigned index, uint8_t *ctx)
{
    g_autofree uint8_t *c = ctx_make(index);

    memcpy(ctx, c, ctx_len[index]);
    return ctx_len[index];
}

static void host_emit(void *opaque, const uint8_t *buf, size_t len)
{
    g_ptr_array_add(opaque, g_bytes_new(buf, len));
}

/*
 * Migrate @s out into @st with the host driver, as QEMU does: MIG_START,
 * setup, three pre-copy rounds with the workload in between (the log
 * read before each), then pause, final passes, RECs, END.  With
 * @stop_after, each iteration stops after that many records, as under
 * a rate limit.
 */
static void migrate_out(Realm *s, GPtrArray *st, unsigned stop_after)
{
    RmmHost h = {
        .r = s->r, .ram_base = ram_base, .ram_size = ram_size, .nr_ram = 2,
        .rec_ctx = host_rec_ctx, .rec_arch = host_rec_arch,
        .emit = host_emit, .opaque = st,
        .stop_after = stop_after, .lanes = driver_lanes,
    };
    RmeMigDriver *d = rmm_host_driver_new(&h);
    RmmMigStats stats;
    uint64_t left, logged, quick, waited;

    g_assert_cmpint(host_export_start(s->r, policy, key), ==, RMI_SUCCESS);
    g_assert_cmpint(rme_mig_driver_setup(d), ==, RME_MIG_MORE);
    /* The dirty rate auto-converge sees: every assigned granule, first. */
    logged = rme_mig_driver_logged(d);
    g_assert_cmpuint(logged, ==, rme_mig_driver_dirty(d));
    g_assert_true(rmm_rec_may_enter(s->rec[0]));
    /* Nothing exported yet: no cost to weigh the switchover by. */
    g_assert_cmpuint(rme_mig_driver_switchover_us(d, 1000, 0), ==, 0);
    g_assert_cmpint(rmm_host_round(d, &h), ==, RME_MIG_DONE);
    /* Then it grows with the dirty granules, from a cost per granule. */
    g_assert_cmpuint(rme_mig_driver_switchover_us(d, 1000000, 0), >,
                     rme_mig_driver_switchover_us(d, 0, 0));
    g_assert_cmpuint(rme_mig_driver_switchover_us(d, 2000000, 0) -
                     rme_mig_driver_switchover_us(d, 1000000, 0), >=,
                     rme_mig_driver_switchover_us(d, 1000000, 0) -
                     rme_mig_driver_switchover_us(d, 0, 0) - 1);
    quick = rme_mig_driver_switchover_us(d, 0, 0);
    h.log_wait_us = log_wait_us;
    workload(s, 0);
    g_assert_cmpint(rme_mig_driver_sync(d), ==, RME_MIG_MORE);
    g_assert_cmpuint(rme_mig_driver_dirty(d), >, 0);
    /* ...then what the workload wrote, whether sent already or not. */
    g_assert_cmpuint(rme_mig_driver_logged(d) - logged, ==,
                     rme_mig_driver_dirty(d));
    g_assert_cmpint(rme_mig_driver_sync(d), ==, RME_MIG_MORE);
    g_assert_cmpuint(rme_mig_driver_logged(d) - logged, ==,
                     rme_mig_driver_dirty(d));
    waited = rme_mig_driver_dirty(d);
    g_assert_cmpint(rmm_host_round(d, &h), ==, RME_MIG_DONE);
    h.log_wait_us = 0;
    /*
     * Reads of the log that waited (for a throttled vCPU, say) are no
     * part of the estimate: the switchover reads the log with the vCPUs
     * stopped.  Nothing dirty costs the quickest reads (a wait that
     * stayed would hold the migration off the switchover for good), and
     * a granule costs what sending it did, not a share of the wait: the
     * @waited granules the round sent would have taken log_wait_us
     * between them (far beyond what a slow machine or ThreadSanitizer
     * adds to a send, which no timing bound here may depend on).
     */
    if (log_wait_us) {
        g_assert_cmpuint(rme_mig_driver_switchover_us(d, 0, 0), ==, quick);
        g_assert_cmpuint(quick, <, log_wait_us);
        g_assert_cmpuint(waited, >, 0);
        g_assert_cmpuint((rme_mig_driver_switchover_us(d, 1000000, 0) -
                          quick) / 1000000 * waited * 4, <, log_wait_us);
    }
    workload(s, 1);
    rec_states(s);
    g_assert_cmpint(rme_mig_driver_sync(d), ==, RME_MIG_MORE);
    g_assert_cmpint(rmm_host_round(d, &h), ==, RME_MIG_DONE);
    g_assert_true(rmm_rec_may_enter(s->rec[2]));
    /* A round that starts with RIPAS changes closes an epoch for them. */
    rmm_mig_stats(s->r, &stats);
    g_assert_cmpuint(stats.epoch, >=, 3);
    g_assert_cmpint(rme_mig_driver_complete(d, s->nr_recs, &left), ==,
                    RME_MIG_MORE);
    g_assert_cmpuint(left, ==, 0);
    g_assert_cmpint(rme_mig_driver_end(d), ==, RME_MIG_MORE);
    g_assert_cmpint(rmm_mig_phase(s->r), ==, RMM_MIG_OUT_ENDED);
    g_assert_false(rmm_rec_may_enter(s->rec[2]));
    rme_mig_driver_free(d);
}

/*
 * The switchover estimate weighs a granule never sent before at what
 * first sends cost, and one sent again at what that costs: a first pass
 * whose records the destination took slowly (as a host does that gives
 * each granule memory on its first import), then passes that send the
 * same granules again at no wait.  Weighed alike, the cheap passes made
 * the first sends left at a switchover look cheap (issue 26).
 */
static void test_first_send_cost(void)
{
    enum { WAIT_US = 5000, N = 1000 };
    GPtrArray *st = stream_new();
    RmmHost h = {
        .ram_base = ram_base, .ram_size = ram_size, .nr_ram = 2,
        .rec_ctx = host_rec_ctx, .rec_arch = host_rec_arch,
        .emit = host_emit, .opaque = st,
        .data_wait_us = WAIT_US,
    };
    RmeMigDriver *d;
    uint64_t all, base, first_us, again_us, slowest = 0;
    unsigned round, i;
    gint64 t0;
    Realm s;

    source_new(&s, RMI_HASH_SHA256, 100);
    h.r = s.r;
    d = rmm_host_driver_new(&h);
    g_assert_cmpint(host_export_start(s.r, policy, key), ==, RMI_SUCCESS);
    g_assert_cmpint(rme_mig_driver_setup(d), ==, RME_MIG_MORE);
    all = rme_mig_driver_dirty(d);
    g_assert_cmpuint(all, ==, 64 + 8);
    g_assert_cmpuint(rme_mig_driver_fresh(d), ==, all);
    /* An iteration the rate limit cut: the first pass is not over. */
    h.stop_after = 1;
    h.emitted = 0;
    g_assert_cmpint(rme_mig_driver_iterate(d), ==, RME_MIG_MORE);
    g_assert_cmpuint(rme_mig_driver_passes(d), ==, 0);
    g_assert_cmpuint(rme_mig_driver_fresh(d), <, all);
    g_assert_cmpuint(rme_mig_driver_fresh(d), >, 0);
    h.stop_after = 0;
    g_assert_cmpint(rmm_host_round(d, &h), ==, RME_MIG_DONE);
    g_assert_cmpuint(rme_mig_driver_passes(d), ==, 1);
    g_assert_cmpuint(rme_mig_driver_fresh(d), ==, 0);
    h.data_wait_us = 0;
    for (round = 0; round < 4; round++) {
        for (i = 0; i < 64; i++) {
            store_at(&s, RAM0 + i * G)[round] ^= 0x5a;
            rmm_mig_log_write(s.r, RAM0 + i * G, 1);
        }
        g_assert_cmpint(rme_mig_driver_sync(d), ==, RME_MIG_MORE);
        g_assert_cmpuint(rme_mig_driver_dirty(d), ==, 64);
        g_assert_cmpuint(rme_mig_driver_fresh(d), ==, 0);
        t0 = g_get_monotonic_time();
        g_assert_cmpint(rmm_host_round(d, &h), ==, RME_MIG_DONE);
        slowest = MAX(slowest, (uint64_t)(g_get_monotonic_time() - t0));
    }
    base = rme_mig_driver_switchover_us(d, 0, 0);
    first_us = rme_mig_driver_switchover_us(d, N, N) - base;
    again_us = rme_mig_driver_switchover_us(d, N, 0) - base;
    /* A record holds at most 64 granules: each waited WAIT_US / 64. */
    g_assert_cmpuint(first_us, >=, N * WAIT_US / RMM_MIG_BATCH_MAX);
    /*
     * A send again costs at most what the slowest of those rounds took
     * per granule, however slow the machine (no bound on its speed).
     */
    g_assert_cmpuint(again_us, <=, N * slowest / 64 + N);
    /* Half of each kind: half of each cost (to rounding). */
    g_assert_cmpuint(rme_mig_driver_switchover_us(d, N, N / 2) - base, <=,
                     first_us / 2 + again_us / 2 + 2);
    g_assert_cmpuint(rme_mig_driver_switchover_us(d, N, N / 2) - base + 2,
                     >=, first_us / 2 + again_us / 2);
    /* A granule assigned now is sent for the first time. */
    g_assert_cmpint(rmm_data_create_unknown(s.r, RAM0 + 64 * G), ==,
                    RMI_SUCCESS);
    rmm_mig_log_write(s.r, RAM0 + 64 * G, G);
    store_at(&s, RAM0)[0] ^= 1;
    rmm_mig_log_write(s.r, RAM0, 1);
    g_assert_cmpint(rme_mig_driver_sync(d), ==, RME_MIG_MORE);
    g_assert_cmpuint(rme_mig_driver_dirty(d), ==, 2);
    g_assert_cmpuint(rme_mig_driver_fresh(d), ==, 1);
    g_assert_cmpint(rmm_host_round(d, &h), ==, RME_MIG_DONE);
    g_assert_cmpuint(rme_mig_driver_fresh(d), ==, 0);
    rme_mig_driver_free(d);
    g_ptr_array_unref(st);
    realm_free(&s);
}

static GPtrArray *ref_stream;

/* The reference stream (SHA-256 source, vmid 100), built once. */
static GPtrArray *reference(void)
{
    Realm s;

    if (!ref_stream) {
        ref_stream = stream_new();
        source_new(&s, RMI_HASH_SHA256, 100);
        log_wait_us = 100000;
        migrate_out(&s, ref_stream, 0);
        log_wait_us = 0;
        realm_free(&s);
    }
    return ref_stream;
}

/* ---- The attested handshake, as QEMU carries it ---- */

static RmiStatus mig_start(RmmRealm *r, uint8_t *buf, size_t cap,
                           size_t *len, char **err)
{
    return rmm_mig_export_start(r, pem_bytes(policy), policy->len, buf, cap,
                                len, err);
}

static RmiStatus imp_start(RmmRealm *r, char **err)
{
    return rmm_mig_import_start(r, NRECS, pem_bytes(policy), policy->len,
                                err);
}

/*
 * Start a session of @s with destination @d through the real handshake;
 * the HELLO goes to @st (when not NULL) and to @also (a second
 * destination the host sends it to as well, when not NULL: its ACCEPT
 * is returned in *@also_accept, g_bytes_unref() it).
 */
static void attested_start(Realm *s, Realm *d, GPtrArray *st, Realm *also,
                           GBytes **also_accept)
{
    g_autofree uint8_t *hello = g_malloc(RMM_MIG_HS_MAX);
    g_autofree uint8_t *acc = g_malloc(RMM_MIG_HS_MAX);
    size_t hlen, alen;
    char *err = NULL;

    g_assert_cmpint(mig_start(s->r, hello, RMM_MIG_HS_MAX,
                                         &hlen, &err), ==, RMI_SUCCESS);
    if (st) {
        g_ptr_array_add(st, g_bytes_new(hello, hlen));
    }
    if (also) {
        g_assert_cmpint(imp_start(also->r, &err),
                        ==, RMI_SUCCESS);
        g_assert_cmpint(rmm_mig_import_hello(also->r, hello, hlen, acc,
                                             RMM_MIG_HS_MAX, &alen, &err),
                        ==, RMI_SUCCESS);
        *also_accept = g_bytes_new(acc, alen);
    }
    g_assert_cmpint(imp_start(d->r, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(d->r, hello, hlen, acc,
                                         RMM_MIG_HS_MAX, &alen, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_export_accept(s->r, acc, alen, &err), ==,
                    RMI_SUCCESS);
    g_assert_null(err);
}

/*
 * After attested_start(): the whole export of @s into @st (appended)
 * and its import into @d, up to END; the realm is unchanged meanwhile.
 */
static void attested_move(Realm *s, Realm *d, GPtrArray *st)
{
    GPtrArray *out = stream_new();
    RmmHost h = {
        .r = s->r, .ram_base = ram_base, .ram_size = ram_size, .nr_ram = 2,
        .rec_ctx = host_rec_ctx, .rec_arch = host_rec_arch,
        .emit = host_emit, .opaque = out,
    };
    RmeMigDriver *drv = rmm_host_driver_new(&h);
    RmmMigImported imp;
    char *err = NULL;
    uint64_t left;
    unsigned i;
    size_t len;

    g_assert_cmpint(rme_mig_driver_setup(drv), ==, RME_MIG_MORE);
    g_assert_cmpint(rme_mig_driver_complete(drv, s->nr_recs, &left), ==,
                    RME_MIG_MORE);
    g_assert_cmpint(rme_mig_driver_end(drv), ==, RME_MIG_MORE);
    rme_mig_driver_free(drv);
    for (i = 0; i < out->len; i++) {
        const uint8_t *p = rdata(out, i, &len);

        if (rmm_mig_import_record(d->r, p, len, &imp, &err) !=
            RMI_SUCCESS) {
            g_error("record %u: %s", i, err);
        }
        if (imp.rec) {
            d->rec[d->nr_recs++] = imp.rec;
        }
        g_ptr_array_add(st, g_bytes_ref(out->pdata[i]));
    }
    g_ptr_array_unref(out);
}

/*
 * A realm moves with keys only the two RMMs hold; tokens work.  Its
 * virtual counter goes on from where it was, though the destination's
 * counter is behind the source's (finding 7 of issue 9: the host owns the
 * counter, the RMM the realm's offset).
 */
static void test_attested_round_trip(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    GPtrArray *st = stream_new();
    char *err = NULL;
    Realm s, d;
    unsigned i;

    source_new(&s, RMI_HASH_SHA256, 300);
    dest_new(&d, RMI_HASH_SHA256, 301);
    attested_start(&s, &d, st, NULL, NULL);
    g_assert_cmpint(rtype(st, 0), ==, RMM_MIG_RT_HELLO);
    counter = 5000000000ULL;
    attested_move(&s, &d, st);
    assert_same(&s, &d);
    counter = 1234;                     /* the destination's is behind */
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    for (i = 0; i < NRECS; i++) {
        g_assert_cmpuint(rmm_rec_cntvoff(s.rec[i]), ==, 0);
        g_assert_cmpuint(counter - rmm_rec_cntvoff(d.rec[i]), ==,
                         5000000000ULL);
    }
    counter = 0;
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_OUT_MIGRATED);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/*
 * Finding 1 of issue 9: the bytes of a completed migration, recorded
 * on the wire and replayed into a fresh destination.  Its RMM answers
 * the old HELLO with a fresh share, so it has other keys: the first
 * sealed record is refused and nothing of the realm is imported.
 */
static void test_attested_replay(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    g_autofree uint8_t *acc = g_malloc(RMM_MIG_HS_MAX);
    GPtrArray *st = stream_new();
    RmmMigImported imp;
    char *err = NULL;
    Realm s, d, c;
    const uint8_t *p;
    size_t len;

    source_new(&s, RMI_HASH_SHA256, 310);
    dest_new(&d, RMI_HASH_SHA256, 311);
    attested_start(&s, &d, st, NULL, NULL);
    attested_move(&s, &d, st);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);

    dest_new(&c, RMI_HASH_SHA256, 312);
    g_assert_cmpint(imp_start(c.r, &err), ==,
                    RMI_SUCCESS);
    p = rdata(st, 0, &len);
    g_assert_cmpint(rmm_mig_import_hello(c.r, p, len, acc, RMM_MIG_HS_MAX,
                                         &len, &err), ==, RMI_SUCCESS);
    p = rdata(st, 1, &len);
    g_assert_cmpint(rmm_mig_import_record(c.r, p, len, &imp, &err), ==,
                    RMI_ERROR_INPUT);
    g_assert_nonnull(strstr(err, AUTH));
    g_clear_pointer(&err, g_free);
    g_assert_cmpint(rmm_mig_import_commit(c.r, token, &err), ==,
                    RMI_ERROR_REALM);
    g_clear_pointer(&err, g_free);
    realm_free(&c);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/*
 * Finding 2 of issue 9: the host sends the HELLO to a second
 * destination too, and hands its abort token (or its ACCEPT) to the
 * source after END, hoping to run the realm here while the first
 * destination commits.  Both are refused: the second destination's
 * keys are not the session's.
 */
static void test_attested_second_destination(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE], tok_b[RMM_MIG_TOKEN_SIZE];
    GPtrArray *st = stream_new();
    GBytes *acc_b = NULL;
    char *err = NULL;
    Realm s, d, b;
    size_t len;
    const uint8_t *p;

    source_new(&s, RMI_HASH_SHA256, 320);
    dest_new(&d, RMI_HASH_SHA256, 321);
    dest_new(&b, RMI_HASH_SHA256, 322);
    attested_start(&s, &d, st, &b, &acc_b);
    /* One answer per HELLO: B's ACCEPT comes too late. */
    p = g_bytes_get_data(acc_b, &len);
    g_assert_cmpint(rmm_mig_export_accept(s.r, p, len, &err), ==,
                    RMI_ERROR_REALM);
    g_clear_pointer(&err, g_free);
    attested_move(&s, &d, st);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_OUT_ENDED);
    /* B aborts and has a valid token of its own session: refused. */
    g_assert_true(rmm_mig_import_abort(b.r, tok_b));
    g_assert_cmpint(rmm_mig_export_abort(s.r, tok_b), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_OUT_ENDED);
    g_assert_false(rmm_rec_may_enter(s.rec[0]));
    /* A commits; the source becomes MIGRATED. */
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_OUT_MIGRATED);
    g_bytes_unref(acc_b);
    realm_free(&b);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/*
 * Finding 5 of issue 9: a destination that gives up after END (QEMU's
 * devices failed to load, say) has the session's keys from the
 * handshake, so its abort token gives the source its realm back.
 */
static void test_attested_abort_after_end(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    GPtrArray *st = stream_new();
    Realm s, d;

    source_new(&s, RMI_HASH_SHA256, 330);
    dest_new(&d, RMI_HASH_SHA256, 331);
    attested_start(&s, &d, st, NULL, NULL);
    attested_move(&s, &d, st);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_OUT_ENDED);
    g_assert_true(rmm_mig_import_abort(d.r, token));
    g_assert_cmpint(rmm_mig_export_abort(s.r, token), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_NONE);
    g_assert_true(rmm_rec_may_enter(s.rec[0]));
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/* ---- Round trip ---- */

static void test_round_trip(gconstpointer data)
{
    RmiHashAlgo algo = GPOINTER_TO_INT(data);
    uint8_t token[RMM_MIG_TOKEN_SIZE], tok2[RMM_MIG_TOKEN_SIZE];
    uint64_t regs[RMM_SMC_NREGS];
    GPtrArray *st = stream_new();
    RmmMigStats ss, ds;
    RmmRecExit exit;
    Realm s, d;
    char *err = NULL;
    GByteArray *src_token;
    size_t n;

    source_new(&s, algo, 1);
    dest_new(&d, algo, 2);
    /* SHA-512: iterations cut short, as by a rate limit. */
    migrate_out(&s, st, algo == RMI_HASH_SHA512 ? 3 : 0);

    arch_imported = 0;
    import_all(&d, st);
    /* The host's driver sends each REC's architectural state. */
    g_assert_cmpuint(arch_imported, ==, NRECS);
    g_assert_cmpint(rmm_mig_phase(d.r), ==, RMM_MIG_IN_IMPORTING);
    g_assert_cmpint(rmm_realm_state(d.r), ==, RMM_REALM_NEW);
    g_assert_false(rmm_rec_may_enter(d.rec[2]));
    g_assert_cmpint(rmm_realm_activate(d.r), ==, RMI_ERROR_REALM);
    assert_same(&s, &d);
    /*
     * Granules the host took away arrive DESTROYED, assigned again or
     * not: the realm reads neither as memory.
     */
    g_assert_cmpint(rmm_realm_s2_lookup(d.r, RAM0 + 10 * G), ==,
                    RMM_S2_DESTROYED);
    g_assert_cmpint(rmm_realm_s2_lookup(d.r, RAM0 + 11 * G), ==,
                    RMM_S2_DESTROYED);
    g_assert_true(d.rec[1]->ripas_change_destroyed);

    rmm_mig_stats(s.r, &ss);
    rmm_mig_stats(d.r, &ds);
    g_assert_cmpuint(ss.epoch, >=, 4);
    g_assert_cmpuint(ds.epoch, ==, ss.epoch);
    g_assert_cmpuint(ss.data_granules, ==, ds.data_granules);
    g_assert_cmpuint(ss.data_bytes, ==, ds.data_bytes);
    g_assert_cmpuint(ss.ripas_records, ==, ds.ripas_records);
    g_assert_cmpuint(ss.ripas_granules, ==, ds.ripas_granules);
    g_assert_cmpuint(ss.rec_records, ==, NRECS);
    g_assert_cmpuint(ds.rec_records, ==, NRECS);
    g_assert_cmpuint(ss.total_bytes, ==, ds.total_bytes);
    g_assert_cmpuint(ss.dirty_granules, ==, 0);
    g_assert_cmpuint(ss.pending_granules, ==, 0);

    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_null(err);
    g_assert_cmpint(rmm_realm_state(d.r), ==, RMM_REALM_ACTIVE);
    g_assert_cmpint(rmm_mig_phase(d.r), ==, RMM_MIG_NONE);
    /* Committed: no abort token any more, no second commit. */
    g_assert_false(rmm_mig_import_abort(d.r, tok2));
    g_assert_cmpint(rmm_mig_import_commit(d.r, tok2, &err), ==,
                    RMI_ERROR_REALM);
    g_assert_nonnull(err);
    g_clear_pointer(&err, g_free);

    /* The source accepts the token and never runs again. */
    g_assert_true(rmm_rec_may_enter(d.rec[2]));
    g_assert_false(rmm_rec_may_enter(s.rec[2]));
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_OUT_MIGRATED);
    g_assert_false(rmm_rec_may_enter(s.rec[2]));
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_ERROR_REALM);
    g_assert_cmpint(host_export_start(s.r, policy, key), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_data_destroy(s.r, RAM0), ==, RMI_ERROR_REALM);
    g_assert_cmpint(smc(s.rec[2], regs, &exit, RSI_REALM_CONFIG, RAM0, 0, 0,
                        0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_ERROR_STATE);

    /* The destination finishes what the source left pending. */
    memset(&exit, 0, sizeof(exit));
    exit.gprs[0] = 0xabcdef;
    g_assert_cmpint(rmm_rec_complete(d.rec[0], RMM_RIPAS_ACCEPT, &exit, regs),
                    ==, RMI_SUCCESS);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
    g_assert_cmphex(store_at(&d, RAM0 + 5 * G + 256 + 8)[0], ==, 0xef);
    g_assert_cmpint(rmm_psci_complete(d.rec[0], d.rec[1], 0), ==,
                    RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(d.rec[0]));
    /* The rest of the attestation token, after the 100 bytes read. */
    src_token = s.rec[0]->token;
    g_assert_nonnull(src_token);
    n = MIN(G - 100, src_token->len - 100);
    g_assert_cmpint(smc(d.rec[0], regs, &exit, RSI_ATTEST_CONTINUE,
                        RAM0 + 4 * G, 100, G - 100, 0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, 100 + n == src_token->len ? RSI_SUCCESS
                                                             : RSI_INCOMPLETE);
    g_assert_cmpuint(regs[1], ==, n);
    g_assert_cmpmem(store_at(&d, RAM0 + 4 * G) + 100, n,
                    src_token->data + 100, n);
    /* REC 1 finishes its RIPAS change on the destination. */
    {
        uint64_t out;

        g_assert_cmpint(rmm_rtt_set_ripas(d.r, d.rec[1],
                                          RAM0 + RAM0_RIPAS + 20 * G,
                                          RAM0 + RAM0_RIPAS + 32 * G, &out),
                        ==, RMI_SUCCESS);
        g_assert_cmpint(rmm_rec_complete(d.rec[1], RMM_RIPAS_ACCEPT, &exit,
                                         regs), ==, RMI_SUCCESS);
        g_assert_cmphex(regs[1], ==, RAM0 + RAM0_RIPAS + 32 * G);
    }

    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/* A -> B -> C: an imported realm migrates again. */
static void test_migrate_twice(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    GPtrArray *st1 = stream_new(), *st2 = stream_new();
    Realm a, b, c;
    char *err = NULL;
    unsigned i;

    source_new(&a, RMI_HASH_SHA256, 11);
    dest_new(&b, RMI_HASH_SHA256, 12);
    dest_new(&c, RMI_HASH_SHA256, 13);
    export_start(&a, st1);
    export_round(a.r, st1, true);
    export_finish(&a, st1);
    import_all(&b, st1);
    g_assert_cmpint(rmm_mig_import_commit(b.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(a.r, token), ==, RMI_SUCCESS);

    export_start(&b, st2);
    workload(&b, 0);
    export_round(b.r, st2, false);
    export_finish(&b, st2);
    import_all(&c, st2);
    assert_same(&b, &c);
    g_assert_cmpint(rmm_mig_import_commit(c.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(b.r, token), ==, RMI_SUCCESS);
    for (i = 0; i < NRECS; i++) {
        g_assert_false(rmm_rec_may_enter(b.rec[i]));
    }
    g_assert_true(rmm_rec_may_enter(c.rec[0]));
    realm_free(&a);
    realm_free(&b);
    realm_free(&c);
    g_ptr_array_unref(st1);
    g_ptr_array_unref(st2);
}

/* Every phase change reaches the host's notifier, once, in order. */
typedef struct PhaseLog {
    GString *s;
} PhaseLog;

static void phase_logged(void *opaque, RmmMigPhase from, RmmMigPhase to)
{
    PhaseLog *log = opaque;

    g_string_append_printf(log->s, "%s>%s ", rmi_mig_phase_name(from),
                           rmi_mig_phase_name(to));
}

static void test_phase_notifier(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    GPtrArray *st = stream_new();
    PhaseLog src = { g_string_new(NULL) }, dst = { g_string_new(NULL) };
    Realm a, b;
    char *err = NULL;

    source_new(&a, RMI_HASH_SHA256, 14);
    dest_new(&b, RMI_HASH_SHA256, 15);
    rmm_realm_set_phase_notifier(a.r, phase_logged, &src);
    rmm_realm_set_phase_notifier(b.r, phase_logged, &dst);
    export_start(&a, st);
    export_round(a.r, st, true);
    export_finish(&a, st);
    import_all(&b, st);
    g_assert_cmpint(rmm_mig_import_commit(b.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(a.r, token), ==, RMI_SUCCESS);
    /* A refused command changes nothing, so says nothing. */
    g_assert_cmpint(rmm_mig_export_pause(a.r), ==, RMI_ERROR_REALM);
    g_assert_cmpstr(src.s->str, ==, "none>exporting exporting>paused "
                    "paused>ended ended>migrated ");
    g_assert_cmpstr(dst.s->str, ==, "none>importing importing>none ");
    g_string_free(src.s, true);
    g_string_free(dst.s, true);
    realm_free(&a);
    realm_free(&b);
    g_ptr_array_unref(st);
}

/* The newest copy of a granule wins; a granule goes once per epoch. */
static void test_newest_wins(void)
{
    GPtrArray *st = stream_new();
    uint64_t ipa = RAM0 + 7 * G, bm[1] = { 0 };
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    unsigned exported;
    RmmMigStats stats;
    Realm s, d;
    size_t len;
    bool more;
    char *err = NULL;

    source_new(&s, RMI_HASH_SHA256, 21);
    dest_new(&d, RMI_HASH_SHA256, 22);
    export_start(&s, st);
    export_round(s.r, st, true);

    /* Version B of granule 7, exported in epoch 1. */
    memset(store_at(&s, ipa), 0xbb, G);
    rmm_mig_log_write(s.r, ipa, G);
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_SUCCESS);
    g_assert_cmpuint(exported, ==, 1);
    push(st, len);
    /* Version C in the same epoch: deferred, the log keeps it. */
    memset(store_at(&s, ipa), 0xcc, G);
    rmm_mig_log_write(s.r, ipa, G);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, ipa, 1, bm), ==, 1);
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_SUCCESS);
    g_assert_cmpuint(exported, ==, 0);
    g_assert_cmpuint(len, ==, 0);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.dirty_granules, ==, 1);
    g_assert_cmpuint(stats.pending_granules, ==, 1);
    /* Granule 8: DATA sent, then destroyed and assigned again (zero). */
    ipa = RAM0 + 8 * G;
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_data_destroy(s.r, ipa), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(s.r, ipa), ==, RMI_SUCCESS);
    /* Its RIPAS goes in epoch 1; a second change waits for epoch 2. */
    export_ripas(s.r, st);
    g_assert_cmpint(rmm_data_destroy(s.r, ipa), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(s.r, ipa), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_export_ripas(s.r, xbuf, RMM_MIG_RECORD_MAX, &len,
                                         &more), ==, RMI_SUCCESS);
    g_assert_cmpuint(len, ==, 0);
    g_assert_false(more);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.ripas_pending_granules, ==, 1);
    export_round(s.r, st, false);
    /* Epoch 2: C goes out, and granule 8's zero contents. */
    export_round(s.r, st, true);
    export_finish(&s, st);
    import_all(&d, st);
    g_assert_cmphex(store_at(&d, RAM0 + 7 * G)[0], ==, 0xcc);
    g_assert_cmphex(store_at(&d, RAM0 + 8 * G)[0], ==, 0);
    assert_same(&s, &d);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/*
 * The last epoch need not be closed: RECs may follow its DATA and RIPAS
 * records directly, and then nothing but RECs and END.
 */
static void test_rec_in_open_epoch(void)
{
    GPtrArray *st = stream_new();
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    uint64_t ipa = RAM0 + 9 * G;
    RmmMigStats stats;
    unsigned i, n;
    char *err = NULL;
    size_t len;
    Realm s, d;

    source_new(&s, RMI_HASH_SHA256, 25);
    dest_new(&d, RMI_HASH_SHA256, 26);
    export_start(&s, st);
    export_round(s.r, st, false);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    /* Epoch 1: a host-side RIPAS change and one granule written. */
    g_assert_cmpint(rmm_data_create_unknown(s.r, RAM0 + 150 * G), ==,
                    RMI_SUCCESS);
    memset(store_at(&s, ipa), 0x99, G);
    rmm_mig_log_write(s.r, ipa, G);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.pending_granules, ==, 2);
    g_assert_cmpuint(stats.ripas_pending_granules, ==, 1);
    export_ripas(s.r, st);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.ripas_pending_granules, ==, 0);
    export_dirty(s.r, st);
    for (i = 0; i < NRECS; i++) {
        uint8_t *c = ctx_make(i);

        g_assert_cmpint(rmm_mig_export_rec(s.rec[i], c, ctx_len[i], xbuf,
                                           RMM_MIG_RECORD_MAX, &len), ==,
                        RMI_SUCCESS);
        push(st, len);
        g_free(c);
        /* Nothing but RECs from now on. */
        g_assert_cmpint(rmm_mig_export_epoch(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_ERROR_REALM);
        g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                            RMM_MIG_RECORD_MAX, &len, &n),
                        ==, RMI_ERROR_REALM);
    }
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rtype(st, st->len - NRECS - 2), ==, RMM_MIG_RT_DATA);
    import_all(&d, st);
    assert_same(&s, &d);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/* Wire overhead of a realm whose RAM is all assigned: under 1 %. */
static void test_overhead(void)
{
    GPtrArray *st = stream_new();
    RmmMigStats stats;
    RmiRealmParams p;
    Realm s;
    uint64_t top, ipa, data;
    unsigned i;

    params_init(&p, RMI_HASH_SHA256, 31);
    realm_new(&s, &p, false);
    for (i = 0; i < 2; i++) {
        g_assert_cmpint(rmm_rtt_init_ripas(s.r, ram_base[i],
                                           ram_base[i] + ram_size[i], &top),
                        ==, RMI_SUCCESS);
        for (ipa = ram_base[i]; ipa < ram_base[i] + ram_size[i]; ipa += G) {
            g_assert_cmpint(rmm_data_create_unknown(s.r, ipa), ==,
                            RMI_SUCCESS);
        }
    }
    rec_new(&s, true);
    g_assert_cmpint(rmm_realm_activate(s.r), ==, RMI_SUCCESS);
    export_start(&s, st);
    export_round(s.r, st, false);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    export_epoch(s.r, st);
    {
        size_t len;

        g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                           RMM_MIG_RECORD_MAX, &len), ==,
                        RMI_SUCCESS);
        push(st, len);
        g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                           &len), ==, RMI_SUCCESS);
        push(st, len);
    }
    rmm_mig_stats(s.r, &stats);
    data = (RAM0_SIZE + RAM1_SIZE) / G;
    g_assert_cmpuint(stats.data_granules, ==, data);
    g_assert_cmpuint(stats.data_bytes, <, data * G + data * G / 100);
    g_assert_cmpuint(stats.total_bytes, <, data * G + data * G / 100);
    g_test_message("%" G_GUINT64_FORMAT " granules: %" G_GUINT64_FORMAT
                   " bytes of DATA, %" G_GUINT64_FORMAT " in all (%.3f %%)",
                   data, stats.data_bytes, stats.total_bytes,
                   100.0 * (stats.total_bytes - data * G) / (data * G));
    realm_free(&s);
    g_ptr_array_unref(st);
}

/* ---- Rejections ---- */

/*
 * Import @st into @r (NEW, with its RAM): records before @at are
 * accepted, record @at is refused with an error containing @what, and
 * from then on only abort works, with an abort token: the handshake
 * made the session known to this destination before any record.
 */
static void reject_into(RmmRealm *r, const uint8_t *k, GPtrArray *st,
                        unsigned at, const char *what)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    RmmMigImported out;
    char *err = NULL;
    unsigned i;
    size_t len;
    const uint8_t *b;

    g_assert_cmpint(host_import_start(r, NRECS, policy, k), ==, RMI_SUCCESS);
    for (i = 0; i < at; i++) {
        b = rdata(st, i, &len);
        if (host_import_record(r, b, len, &out, &err) != RMI_SUCCESS) {
            g_error("record %u: %s", i, err);
        }
    }
    b = rdata(st, at, &len);
    g_assert_cmpint(host_import_record(r, b, len, &out, &err), !=,
                    RMI_SUCCESS);
    g_assert_nonnull(err);
    g_test_message("record %u refused: %s", at, err);
    if (!strstr(err, what)) {
        g_error("record %u: \"%s\" does not contain \"%s\"", at, err, what);
    }
    if (reject_secret && strstr(err, reject_secret)) {
        g_error("record %u: \"%s\" quotes the sealed value %s", at, err,
                reject_secret);
    }
    g_assert_null(out.rec);
    g_clear_pointer(&err, g_free);
    /* Dead session: nothing more is imported, no commit. */
    g_assert_cmpint(host_import_record(r, b, len, &out, &err), ==,
                    RMI_ERROR_REALM);
    g_assert_nonnull(strstr(err, "failed"));
    g_clear_pointer(&err, g_free);
    if (at + 1 < st->len) {
        b = rdata(st, at + 1, &len);
        g_assert_cmpint(host_import_record(r, b, len, &out, &err), ==,
                        RMI_ERROR_REALM);
        g_clear_pointer(&err, g_free);
    }
    g_assert_cmpint(rmm_mig_import_commit(r, token, &err), ==,
                    RMI_ERROR_REALM);
    g_assert_nonnull(err);
    g_clear_pointer(&err, g_free);
    g_assert_cmpint(rmm_realm_state(r), ==, RMM_REALM_NEW);
    g_assert_cmpint(rmm_realm_activate(r), ==, RMI_ERROR_REALM);
    g_assert_true(rmm_mig_import_abort(r, token));
    g_assert_cmpint(rmm_mig_phase(r), ==, RMM_MIG_IN_ABORTED);
    g_assert_true(rmm_mig_import_abort(r, token));
    g_assert_cmpint(host_import_start(r, NRECS, policy, key),
                    ==, RMI_ERROR_REALM);
}

/* reject_into() a fresh default destination. */
static void expect_reject(GPtrArray *st, unsigned at, const char *what)
{
    Realm d;

    dest_new(&d, RMI_HASH_SHA256, 200);
    reject_into(d.r, key, st, at, what);
    realm_free(&d);
}


/*
 * A copy of @st whose DATA record @i has its first entry (a full one)
 * turned into one without ciphertext: @flag set in its word, its 4096
 * bytes of ciphertext cut, the record's length fixed.  What a host that
 * wants a granule zeroed or wiped would send.
 */
static GPtrArray *cut_first_entry(GPtrArray *st, unsigned i, uint64_t flag)
{
    size_t len, e = HDR + 4, cut;
    const uint8_t *r = rdata(st, i, &len);
    GPtrArray *bad = stream_copy(st);
    uint8_t *p;

    g_assert_false(rmi_ld64(r + e) & RMM_MIG_DATA_NO_CT);
    cut = len - G;
    p = g_malloc(cut);
    memcpy(p, r, e + 8);
    memcpy(p + e + 8, r + e + 8 + G, len - e - 8 - G);
    rmi_st32(p + 8, cut);
    rmi_st64(p + e, rmi_ld64(p + e) | flag);
    put(bad, i, p, cut);
    g_free(p);
    return bad;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

/* Is the granule at @ipa of @t poisoned?  (Host-side query.) */
static bool poisoned(Realm *t, uint64_t ipa)
{
    return rmm_granule_poisoned(t->r, ipa);
}

/* Offset of the first poisoned entry in record @i of @st, or 0. */
static size_t poison_entry(GPtrArray *st, unsigned i)
{
    size_t len, e = HDR + 4;
    const uint8_t *r = rdata(st, i, &len);

    while (rtype(st, i) == RMM_MIG_RT_DATA && e < len) {
        uint64_t word = rmi_ld64(r + e);

        if (word & RMM_MIG_DATA_POISON) {
            return e;
        }
        e += word & RMM_MIG_DATA_NO_CT ? RMM_MIG_DATA_ZERO_ENTRY_SIZE
                                       : RMM_MIG_DATA_ENTRY_SIZE;
    }
    return 0;
}

/*
 * Memory errors: granules the host reports poisoned before the migration
 * (rmm_granule_poison()) lose their contents at once, travel as poisoned
 * entries of 24 bytes (no ciphertext: nothing reads them), through the
 * driver on lane 0 or on parallel lanes, and are poisoned on the
 * destination; one the realm gives back (DATA_DESTROY, granule 10)
 * stops being poisoned there too; one whose RIPAS turns EMPTY (61)
 * stays poisoned.  A tampered poisoned entry is refused.
 */
static void test_poisoned_granules(gconstpointer data)
{
    static const uint64_t bad[] = {
        RAM0 + 7 * G, RAM0 + 10 * G, RAM0 + 61 * G, RAM1 + 3 * G,
    };
    GPtrArray *st = stream_new(), *tam;
    RmmMigStats ss, ds;
    RmmIpaState before, after;
    Realm s, d;
    size_t off = 0;
    unsigned i, at = 0, j;

    driver_lanes = GPOINTER_TO_UINT(data);
    source_new(&s, RMI_HASH_SHA256, 61);
    g_assert_true(rmm_realm_ipa_state(s.r, &before));
    g_assert_cmpuint(before.poisoned, ==, 0);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_cmpint(rmm_granule_poison(s.r, bad[i]), ==, RMI_SUCCESS);
        g_assert_true(poisoned(&s, bad[i]));
        g_assert_true(all_zero(store_at(&s, bad[i]), G));
    }
    /* Again: no change.  Not an assigned granule, unaligned: refused. */
    g_assert_cmpint(rmm_granule_poison(s.r, bad[0]), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + RAM0_RIPAS + 4 * G), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + 6 * G + 8), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_granule_poison(s.r, 0x20000000), ==,
                    RMI_ERROR_INPUT);
    g_assert_false(poisoned(&s, RAM0 + 6 * G));
    /* The realm's accesses abort (stage 2); the RSI's do not reach it. */
    g_assert_cmpint(rmm_realm_s2_lookup(s.r, bad[0]), ==, RMM_S2_ABORT);
    g_assert_cmpint(rmm_realm_s2_lookup(s.r, RAM0 + 6 * G), ==, RMM_S2_OK);

    migrate_out(&s, st, 0);
    dest_new(&d, RMI_HASH_SHA256, 62);
    /* The destination's memory holds something else to begin with. */
    memset(store_at(&d, RAM0), 0xa5, 64 * G);
    import_all(&d, st);
    assert_same(&s, &d);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        bool want = bad[i] != RAM0 + 10 * G;

        g_assert_cmpint(poisoned(&s, bad[i]), ==, want);
        g_assert_cmpint(poisoned(&d, bad[i]), ==, want);
    }
    g_assert_false(poisoned(&d, RAM0 + 6 * G));
    /*
     * Poison changed, and granules 10 and 11, given back, are DESTROYED:
     * otherwise
     * the same RIPAS, a different summary.
     */
    g_assert_true(rmm_realm_ipa_state(d.r, &after));
    g_assert_cmpuint(after.poisoned, ==, 3);
    before.ripas[RMI_RIPAS_RAM] -= 2;
    before.ripas[RMI_RIPAS_DESTROYED] += 2;
    g_assert_cmpmem(after.ripas, sizeof(after.ripas), before.ripas,
                    sizeof(before.ripas));
    g_assert_true(memcmp(after.sha256, before.sha256, 32) != 0);
    rmm_mig_stats(s.r, &ss);
    rmm_mig_stats(d.r, &ds);
    /* All four went poisoned in the first pass (10 before its destroy). */
    g_assert_cmpuint(ss.poisoned_granules, ==, G_N_ELEMENTS(bad));
    g_assert_cmpuint(ds.poisoned_granules, ==, ss.poisoned_granules);
    realm_free(&d);
    realm_free(&s);
    driver_lanes = 0;

    /*
     * A poisoned entry on the wire, tampered with: made a zero entry
     * (the same size), its tag changed.  The word and the tag are
     * authenticated together.
     */
    for (i = 0; i < st->len && !off; i++) {
        off = poison_entry(st, i);
        at = i;
    }
    g_assert_cmpuint(off, >, 0);
    for (j = 0; j < 2; j++) {
        tam = stream_copy(st);
        if (j == 0) {
            flip(tam, at, off, 3);
            flip(tam, at, off, 2);
        } else {
            flip(tam, at, off + 8, 0);
        }
        dest_new(&d, RMI_HASH_SHA256, 63);
        reject_into(d.r, key, tam, at, AUTH);
        realm_free(&d);
        g_ptr_array_unref(tam);
    }

    /*
     * The host says a whole granule is poisoned (POISON set, its
     * ciphertext cut, the record's length fixed), to wipe it on the
     * destination: the tag was over the granule too, so it fails.
     */
    {
        tam = cut_first_entry(st, at, RMM_MIG_DATA_POISON);
        dest_new(&d, RMI_HASH_SHA256, 66);
        reject_into(d.r, key, tam, at, AUTH);
        realm_free(&d);
        g_ptr_array_unref(tam);
    }
    g_ptr_array_unref(st);
}

/*
 * A granule poisoned during pre-copy, after it went out whole, goes
 * again, poisoned, in the next epoch; one poisoned while the realm is
 * paused for the final pass goes in that pass.  Both are poisoned on
 * the destination.
 */
static void test_poisoned_in_flight(void)
{
    GPtrArray *st = stream_new();
    RmmMigStats ss, ds;
    Realm s, d;

    source_new(&s, RMI_HASH_SHA256, 64);
    export_start(&s, st);
    export_round(s.r, st, false);               /* everything, epoch 0 */
    g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + 7 * G), ==, RMI_SUCCESS);
    g_assert_cmpuint(export_dirty(s.r, st), ==, 1);
    g_assert_cmpuint(poison_entry(st, st->len - 1), >, 0);
    g_assert_cmpuint(repoch(st, st->len - 1), ==, 1);
    export_ripas(s.r, st);
    export_epoch(s.r, st);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_poison(s.r, RAM1 + 5 * G), ==, RMI_SUCCESS);
    export_close(&s, st);

    dest_new(&d, RMI_HASH_SHA256, 65);
    import_all(&d, st);
    assert_same(&s, &d);
    g_assert_true(poisoned(&d, RAM0 + 7 * G));
    g_assert_true(poisoned(&d, RAM1 + 5 * G));
    g_assert_false(poisoned(&d, RAM0 + 8 * G));
    rmm_mig_stats(s.r, &ss);
    rmm_mig_stats(d.r, &ds);
    g_assert_cmpuint(ss.poisoned_granules, ==, 2);
    g_assert_cmpuint(ds.poisoned_granules, ==, 2);
    realm_free(&d);
    realm_free(&s);
    g_ptr_array_unref(st);
}

/*
 * Once migration freezes the realm (the first REC record out, END, an
 * import until it commits), a memory error is not recorded: the granule
 * went or goes out as it is.  Before, and once the destination commits,
 * it is.
 */
static void test_poisoned_frozen(void)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    GPtrArray *st = stream_new();
    char *err = NULL;
    uint8_t *c;
    size_t len;
    unsigned i;
    Realm s, d;

    source_new(&s, RMI_HASH_SHA256, 66);
    export_start(&s, st);
    export_round(s.r, st, false);
    export_ripas(s.r, st);
    export_epoch(s.r, st);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    export_round(s.r, st, false);
    /* Paused, no REC out yet: recorded, and it goes in the final pass. */
    g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + 7 * G), ==, RMI_SUCCESS);
    export_round(s.r, st, false);
    for (i = 0; i < s.nr_recs; i++) {
        c = ctx_make(i);
        g_assert_cmpint(rmm_mig_export_rec(s.rec[i], c, ctx_len[i], xbuf,
                                           RMM_MIG_RECORD_MAX, &len), ==,
                        RMI_SUCCESS);
        push(st, len);
        g_free(c);
        g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + 8 * G), ==,
                        RMI_ERROR_REALM);
    }
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + 8 * G), ==,
                    RMI_ERROR_REALM);
    g_assert_false(poisoned(&s, RAM0 + 8 * G));

    dest_new(&d, RMI_HASH_SHA256, 67);
    import_all(&d, st);
    g_assert_cmpint(rmm_granule_poison(d.r, RAM0 + 8 * G), ==,
                    RMI_ERROR_REALM);
    assert_same(&s, &d);
    g_assert_true(poisoned(&d, RAM0 + 7 * G));
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_poison(s.r, RAM0 + 8 * G), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_granule_poison(d.r, RAM0 + 8 * G), ==, RMI_SUCCESS);
    g_assert_true(poisoned(&d, RAM0 + 8 * G));
    realm_free(&d);
    realm_free(&s);
    g_ptr_array_unref(st);
}

/*
 * A realm created with RMI_REALM_FLAGS_MIG_ZERO: its granules of zeros
 * (DATA_CREATE_UNKNOWN, 20..63 of RAM0) travel as zero entries of 24
 * bytes, which the destination turns into zeros over whatever its memory
 * held; a tampered zero entry is refused.
 */
/*
 * The host's envelope (rmm_mig_import(): what QEMU's stream carries in
 * front of each record) must say what the record says: a kind, lane or
 * epoch the host changed is refused like a bad header, and the session
 * is over.
 */
static void test_envelope(void)
{
    GPtrArray *st = stream_new();
    RmmMigImported out;
    RmiMigRecord rec;
    char *err = NULL;
    Realm s, d;
    size_t len;
    unsigned i, bad;

    source_new(&s, RMI_HASH_SHA256, 71);
    migrate_out(&s, st, 0);
    for (bad = 0; bad < 3; bad++) {
        dest_new(&d, RMI_HASH_SHA256, 72 + bad);
        g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                        RMI_SUCCESS);
        /* IMMUTABLE (the keys come with it), then RIPAS in its envelope */
        rec.buf = (uint8_t *)rdata(st, 0, &len);
        g_assert_cmpint(host_import_record(d.r, rec.buf, len, &out, NULL),
                        ==, RMI_SUCCESS);
        for (i = 1; i < 3; i++) {
            rec.buf = (uint8_t *)rdata(st, i, &len);
            rec.len = len;
            g_assert_true(rmi_mig_record_describe(&rec));
            if (i == 2) {
                rec.kind ^= bad == 0 ? 1 : 0;
                rec.lane += bad == 1;
                rec.epoch += bad == 2;
                g_assert_cmpint(rmm_mig_import(d.r, &rec, &out, &err), ==,
                                RMI_ERROR_INPUT);
                g_assert_nonnull(strstr(err, "envelope"));
                g_clear_pointer(&err, g_free);
                /*
                 * The record itself, as it came, is refused now too, and
                 * the refusal names the first error (a record that races
                 * with it on another lane says the same).
                 */
                g_assert_true(rmi_mig_record_describe(&rec));
                g_assert_cmpint(rmm_mig_import(d.r, &rec, &out, &err), ==,
                                RMI_ERROR_REALM);
                g_assert_nonnull(strstr(err, "the import failed"));
                g_assert_nonnull(strstr(err, "envelope"));
                g_clear_pointer(&err, g_free);
                continue;
            }
            g_assert_cmpint(rmm_mig_import(d.r, &rec, &out, NULL), ==,
                            RMI_SUCCESS);
        }
        host_forget(d.r);
        realm_free(&d);
    }
    realm_free(&s);
    g_ptr_array_unref(st);
}

static void test_zero_granules(void)
{
    GPtrArray *st = stream_new(), *bad;
    RmmMigStats ss, ds;
    Realm s, d;
    uint64_t full;
    size_t len, off;
    unsigned i, j;

    realm_flags = RMI_REALM_FLAGS_MIG_ZERO;
    source_new(&s, RMI_HASH_SHA256, 51);
    dest_new(&d, RMI_HASH_SHA256, 52);
    realm_flags = 0;
    /* The destination's memory is not zero to begin with. */
    memset(store_at(&d, RAM0 + 20 * G), 0xa5, 44 * G);
    migrate_out(&s, st, 0);
    import_all(&d, st);
    assert_same(&s, &d);
    rmm_mig_stats(s.r, &ss);
    rmm_mig_stats(d.r, &ds);
    g_assert_cmpuint(ss.zero_granules, >=, 44);
    g_assert_cmpuint(ss.zero_granules, <, ss.data_granules);
    g_assert_cmpuint(ds.zero_granules, ==, ss.zero_granules);
    g_assert_cmpuint(ds.data_bytes, ==, ss.data_bytes);
    full = ss.data_granules - ss.zero_granules;
    g_assert_cmpuint(ss.data_bytes, <=,
                     full * RMM_MIG_DATA_ENTRY_SIZE +
                     ss.zero_granules * RMM_MIG_DATA_ZERO_ENTRY_SIZE +
                     64 * (RMM_MIG_HEADER_SIZE + 4));
    realm_free(&d);

    /* Find a zero entry on the wire; tamper with it two ways. */
    for (i = 0, off = 0; i < st->len && !off; i++) {
        const uint8_t *r = rdata(st, i, &len);
        size_t e = HDR + 4;

        while (rtype(st, i) == RMM_MIG_RT_DATA && e < len && !off) {
            if (rmi_ld64(r + e) & RMM_MIG_DATA_ZERO) {
                off = e;
            } else {
                e += RMM_MIG_DATA_ENTRY_SIZE;
            }
        }
    }
    g_assert_cmpuint(off, >, 0);
    i--;
    for (j = 0; j < 2; j++) {
        bad = stream_copy(st);
        if (j == 0) {
            flip(bad, i, off, 2);               /* ZERO: now a full entry */
        } else {
            flip(bad, i, off + 8, 0);           /* its tag */
        }
        realm_flags = RMI_REALM_FLAGS_MIG_ZERO;
        dest_new(&d, RMI_HASH_SHA256, 53);
        realm_flags = 0;
        reject_into(d.r, key, bad, i, j == 0 ? "DATA body of"
                                             : AUTH);
        realm_free(&d);
        g_ptr_array_unref(bad);
    }

    /*
     * The host turns a full entry into a zero entry (ZERO set, its
     * ciphertext cut, the record's length fixed): the tag was over the
     * granule, the word and the length, so it fails.
     */
    for (i = 0; i < st->len; i++) {
        const uint8_t *r = rdata(st, i, &len);

        if (rtype(st, i) == RMM_MIG_RT_DATA &&
            !(rmi_ld64(r + HDR + 4) & RMM_MIG_DATA_ZERO)) {
            break;
        }
    }
    g_assert_cmpuint(i, <, st->len);
    {
        bad = cut_first_entry(st, i, RMM_MIG_DATA_ZERO);
        realm_flags = RMI_REALM_FLAGS_MIG_ZERO;
        dest_new(&d, RMI_HASH_SHA256, 54);
        realm_flags = 0;
        reject_into(d.r, key, bad, i, AUTH);
        realm_free(&d);
        g_ptr_array_unref(bad);
    }
    realm_free(&s);
    g_ptr_array_unref(st);
}

static void test_reject_data_bits(void)
{
    GPtrArray *ref = reference(), *st;
    int i = find(ref, RMM_MIG_RT_DATA, 1);
    size_t unit = 8 + G + 16, u0 = HDR + 4;
    static const struct {
        size_t off;
        unsigned bit;
    } flips[] = {
        { 0, 0 },                   /* gpa (AAD) */
        { 0, 1 },                   /* ripas (AAD) */
        { 1, 4 },                   /* gpa */
        { 8, 0 },                   /* ciphertext, first byte */
        { 8 + 2000, 7 },            /* ciphertext */
        { 8 + G, 0 },               /* tag */
        { 8 + G + 15, 7 },          /* tag, last byte */
    };
    unsigned k;

    g_assert_cmpint(i, >, 0);
    g_assert_cmpuint(rcount(ref, i), >, 1);
    for (k = 0; k < G_N_ELEMENTS(flips); k++) {
        st = stream_copy(ref);
        flip(st, i, u0 + unit + flips[k].off, flips[k].bit);
        expect_reject(st, i, AUTH);
        g_ptr_array_unref(st);
    }
    /* Header fields are in every unit's associated data. */
    st = stream_copy(ref);
    flip(st, i, 4, 1);              /* version */
    expect_reject(st, i, "version");
    g_ptr_array_unref(st);
}

/* Swap units 0 and 1 of a DATA record: each is bound to its seq. */
static void test_reject_unit_swap(void)
{
    GPtrArray *st = stream_copy(reference());
    int i = find(st, RMM_MIG_RT_DATA, 0);
    size_t unit = 8 + G + 16, len = g_bytes_get_size(st->pdata[i]);
    uint8_t *p = g_memdup2(rdata(st, i, &len), len);
    uint8_t *tmp = g_malloc(unit);

    memcpy(tmp, p + HDR + 4, unit);
    memcpy(p + HDR + 4, p + HDR + 4 + unit, unit);
    memcpy(p + HDR + 4 + unit, tmp, unit);
    put(st, i, p, len);
    expect_reject(st, i, AUTH);
    g_free(tmp);
    g_free(p);
    g_ptr_array_unref(st);
}

static void swap(GPtrArray *st, unsigned a, unsigned b)
{
    gpointer t = st->pdata[a];

    st->pdata[a] = st->pdata[b];
    st->pdata[b] = t;
}

static void test_reject_record_swap(void)
{
    GPtrArray *ref = reference(), *st;
    int i;

    /* Two DATA records */
    i = find(ref, RMM_MIG_RT_DATA, 0);
    g_assert_cmpint(rtype(ref, i + 1), ==, RMM_MIG_RT_DATA);
    st = stream_copy(ref);
    swap(st, i, i + 1);
    expect_reject(st, i, "sequence number");
    g_ptr_array_unref(st);
    /* EPOCH and the record before it */
    i = find(ref, RMM_MIG_RT_EPOCH, 1);
    st = stream_copy(ref);
    swap(st, i - 1, i);
    expect_reject(st, i - 1, "sequence number");
    g_ptr_array_unref(st);
    /* Two RECs */
    i = find(ref, RMM_MIG_RT_REC, 0);
    st = stream_copy(ref);
    swap(st, i, i + 1);
    expect_reject(st, i, "sequence number");
    g_ptr_array_unref(st);
}

static void test_reject_drop(void)
{
    GPtrArray *ref = reference(), *st;
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    unsigned k;
    char *err = NULL;
    Realm d;
    int i;
    static const unsigned types[] = {
        RMM_MIG_RT_DATA, RMM_MIG_RT_RIPAS, RMM_MIG_RT_EPOCH,
        RMM_MIG_RT_IMMUTABLE,
    };

    for (k = 0; k < G_N_ELEMENTS(types); k++) {
        i = find(ref, types[k], types[k] == RMM_MIG_RT_IMMUTABLE ? 0 : 1);
        st = stream_copy(ref);
        g_ptr_array_remove_index(st, i);
        expect_reject(st, i, "sequence number");
        g_ptr_array_unref(st);
    }
    /* The last REC: END is refused. */
    i = find(ref, RMM_MIG_RT_REC, NRECS - 1);
    st = stream_copy(ref);
    g_ptr_array_remove_index(st, i);
    g_assert_cmpint(rtype(st, i), ==, RMM_MIG_RT_END);
    expect_reject(st, i, "sequence number");
    g_ptr_array_unref(st);
    /* END: commit is refused. */
    st = stream_copy(ref);
    g_ptr_array_remove_index(st, st->len - 1);
    dest_new(&d, RMI_HASH_SHA256, 201);
    import_all(&d, st);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_ERROR_REALM);
    g_assert_nonnull(strstr(err, "no END"));
    g_free(err);
    g_assert_false(rmm_rec_may_enter(d.rec[0]));
    g_assert_true(rmm_mig_import_abort(d.r, token));
    realm_free(&d);
    g_ptr_array_unref(st);
}

static void test_reject_duplicate(void)
{
    GPtrArray *ref = reference(), *st;
    unsigned types[] = {
        RMM_MIG_RT_IMMUTABLE, RMM_MIG_RT_DATA, RMM_MIG_RT_RIPAS,
        RMM_MIG_RT_EPOCH, RMM_MIG_RT_REC, RMM_MIG_RT_END,
    };
    unsigned k;
    int i;

    for (k = 0; k < G_N_ELEMENTS(types); k++) {
        i = find(ref, types[k], 0);
        st = stream_copy(ref);
        g_ptr_array_insert(st, i + 1, g_bytes_ref(st->pdata[i]));
        expect_reject(st, i + 1, "sequence number");
        g_ptr_array_unref(st);
    }
}

/* ---- Forged records: a source that knows the key plays tricks ---- */

/* The session keys of stream @st (its IMMUTABLE has the session ID). */
static void stream_keys(GPtrArray *st, RmmMigKeys *k)
{
    size_t len;
    const uint8_t *p = rdata(st, 0, &len);

    host_keys(k, key, p + HDR);
}

/* The plaintext of record @i of @st. */
static uint8_t *open_pt(RmmMigKeys *k, GPtrArray *st, unsigned i,
                        size_t *pt_len)
{
    size_t len;
    const uint8_t *p = rdata(st, i, &len);
    uint8_t *pt = g_malloc(MAX(len, RMM_MIG_BATCH_MAX * (8 + G)));

    g_assert_true(rmm_mig_open_record(k, p, len, pt, pt_len));
    return pt;
}

/* The sequence number and epoch a record appended to @st would have. */
static void next_pos(GPtrArray *st, uint64_t *seq, uint32_t *epoch)
{
    unsigned i = st->len - 1;

    *seq = rseq(st, i) + (rtype(st, i) == RMM_MIG_RT_DATA ? rcount(st, i)
                                                           : 1);
    *epoch = repoch(st, i) + (rtype(st, i) == RMM_MIG_RT_EPOCH);
}

/* Append a record of @type, sealed at the next position (+@dseq). */
static void forge(GPtrArray *st, RmmMigKeys *k, unsigned type,
                  const uint8_t *pt, size_t pt_len, int dseq, int depoch)
{
    uint64_t seq;
    uint32_t epoch;
    size_t len;

    next_pos(st, &seq, &epoch);
    len = rmm_mig_seal_record(k, type, epoch + depoch, seq + dseq, pt,
                              pt_len, xbuf, RMM_MIG_RECORD_MAX);
    g_assert_cmpuint(len, >, 0);
    push(st, len);
}

/* The first @n records of @ref. */
static GPtrArray *prefix(GPtrArray *ref, unsigned n)
{
    GPtrArray *st = stream_copy(ref);

    g_ptr_array_set_size(st, n);
    return st;
}

/* Forge a record of @type with plaintext @pt after the first @n of ref. */
static void forge_reject(unsigned n, unsigned type, const uint8_t *pt,
                         size_t pt_len, const char *what)
{
    GPtrArray *ref = reference(), *st = prefix(ref, n);
    RmmMigKeys k;

    stream_keys(ref, &k);
    forge(st, &k, type, pt, pt_len, 0, 0);
    expect_reject(st, n, what);
    rmm_mig_keys_wipe(&k);
    g_ptr_array_unref(st);
}

static void st32le(uint8_t *p, uint32_t v)
{
    unsigned i;

    for (i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void st64le(uint8_t *p, uint64_t v)
{
    st32le(p, v);
    st32le(p + 4, v >> 32);
}

/* Replays and forgeries bound to an older epoch or a wrong position. */
static void test_reject_replay(void)
{
    GPtrArray *ref = reference(), *st;
    int e0 = find(ref, RMM_MIG_RT_EPOCH, 0);
    int d0 = find(ref, RMM_MIG_RT_DATA, 0);
    int d1 = d0;
    uint8_t *pt;
    size_t pt_len;
    RmmMigKeys k;

    g_assert_cmpint(repoch(ref, e0 + 1), ==, 1);
    /* An epoch 0 DATA record replayed in epoch 1. */
    st = prefix(ref, e0 + 1);
    g_ptr_array_add(st, g_bytes_ref(ref->pdata[d0]));
    expect_reject(st, e0 + 1, "sequence number");
    g_ptr_array_unref(st);

    stream_keys(ref, &k);
    pt = open_pt(&k, ref, d1, &pt_len);
    /* Re-sealed at the right seq but with its old epoch. */
    st = prefix(ref, e0 + 1);
    forge(st, &k, RMM_MIG_RT_DATA, pt, pt_len, 0, -1);
    expect_reject(st, e0 + 1, "epoch 0, expected 1");
    g_ptr_array_unref(st);
    /* ...or a later epoch, or a seq off by one either way. */
    st = prefix(ref, e0 + 1);
    forge(st, &k, RMM_MIG_RT_DATA, pt, pt_len, 0, 1);
    expect_reject(st, e0 + 1, "epoch 2, expected 1");
    g_ptr_array_unref(st);
    st = prefix(ref, e0 + 1);
    forge(st, &k, RMM_MIG_RT_DATA, pt, pt_len, 1, 0);
    expect_reject(st, e0 + 1, "sequence number");
    g_ptr_array_unref(st);
    st = prefix(ref, e0 + 1);
    forge(st, &k, RMM_MIG_RT_DATA, pt, pt_len, -1, 0);
    expect_reject(st, e0 + 1, "sequence number");
    g_ptr_array_unref(st);
    /* Well sealed in epoch 1, again in epoch 1: once per epoch. */
    st = prefix(ref, e0 + 1);
    forge(st, &k, RMM_MIG_RT_DATA, pt, pt_len, 0, 0);
    forge(st, &k, RMM_MIG_RT_DATA, pt, pt_len, 0, 0);
    expect_reject(st, e0 + 2, "already sent in epoch 1");
    g_ptr_array_unref(st);
    /* Twice in one record. */
    {
        uint8_t *two = g_malloc(2 * (8 + G));

        memcpy(two, pt, 8 + G);
        memcpy(two + 8 + G, pt, 8 + G);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 2 * (8 + G),
                     "already sent in epoch 1");
        /* GPA outside RAM, bad RIPAS. */
        st64le(two, 0x20000000);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 8 + G, "outside RAM");
        st64le(two, RAM0 + 3 * G + 3);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 8 + G, "bad RIPAS 3");
        st64le(two, RAM0 + 3 * G + 0x100);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 8 + G,
                     "unknown flags 0x100");
        /* A zero entry for a realm created without MIG_ZERO. */
        memset(two + 8, 0, G);
        st64le(two, RAM0 + 3 * G + RMM_MIG_DATA_ZERO + RMI_RIPAS_RAM);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 8 + G,
                     "unit 0: a zero granule, but the realm was not created");
        /* Poisoned units: outside RAM, twice in a record, with ZERO. */
        st64le(two, 0x20000000 + RMM_MIG_DATA_POISON + RMI_RIPAS_RAM);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 8 + G, "outside RAM");
        st64le(two, RAM0 + 3 * G + RMM_MIG_DATA_POISON + RMI_RIPAS_RAM);
        memcpy(two + 8 + G, two, 8 + G);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 2 * (8 + G),
                     "already sent in epoch 1");
        st64le(two, RAM0 + 3 * G + RMM_MIG_DATA_NO_CT + RMI_RIPAS_RAM);
        forge_reject(e0 + 1, RMM_MIG_RT_DATA, two, 8 + G,
                     "unit 0: both a zero and a poisoned granule");
        /* Whole in one record, poisoned in the next, same epoch. */
        memcpy(two, pt, 8 + G);
        st = prefix(ref, e0 + 1);
        forge(st, &k, RMM_MIG_RT_DATA, two, 8 + G, 0, 0);
        st64le(two, rmi_ld64(pt) | RMM_MIG_DATA_POISON);
        forge(st, &k, RMM_MIG_RT_DATA, two, 8 + G, 0, 0);
        expect_reject(st, e0 + 2, "already sent in epoch 1");
        g_ptr_array_unref(st);
        g_free(two);
    }
    g_free(pt);
    rmm_mig_keys_wipe(&k);
}

/* A record of another session of the same realm (same key). */
static void test_reject_other_session(void)
{
    GPtrArray *ref = reference(), *st = stream_new(), *mix;
    Realm s;
    int i;

    source_new(&s, RMI_HASH_SHA256, 40);
    migrate_out(&s, st, 0);
    /* A session ID is random: the sessions differ. */
    g_assert_true(memcmp(rdata(st, 0, &(size_t){0}) + HDR,
                         rdata(ref, 0, &(size_t){0}) + HDR,
                         RMM_MIG_SESSION_SIZE) != 0);
    for (i = 1; i < 4; i++) {
        g_assert_cmpuint(rseq(st, i), ==, rseq(ref, i));
        mix = stream_copy(ref);
        g_bytes_unref(mix->pdata[i]);
        mix->pdata[i] = g_bytes_ref(st->pdata[i]);
        if (g_bytes_get_size(mix->pdata[i]) ==
            g_bytes_get_size(ref->pdata[i])) {
            expect_reject(mix, i, AUTH);
        } else {
            expect_reject(mix, i, "");
        }
        g_ptr_array_unref(mix);
    }
    realm_free(&s);
    g_ptr_array_unref(st);
}

static void test_reject_ripas(void)
{
    GPtrArray *ref = reference(), *st;
    int i = find(ref, RMM_MIG_RT_RIPAS, 0);
    size_t len, pt_len;
    uint8_t *pt, *q;
    RmmMigKeys k;

    st = stream_copy(ref);
    flip(st, i, HDR + 3, 0);          /* count */
    expect_reject(st, i, AUTH);
    flip(st, i, HDR + 3, 0);
    flip(st, i, HDR + 9, 2);          /* first run's base */
    expect_reject(st, i, AUTH);
    flip(st, i, HDR + 9, 2);
    rdata(st, i, &len);
    flip(st, i, len - 1, 5);          /* tag */
    expect_reject(st, i, AUTH);
    flip(st, i, len - 1, 5);
    flip(st, i, 12, 0);               /* epoch in the header */
    expect_reject(st, i, "epoch 1, expected 0");
    g_ptr_array_unref(st);

    /* Well sealed but wrong runs. */
    stream_keys(ref, &k);
    pt = open_pt(&k, ref, i, &pt_len);
    g_assert_cmpuint(pt_len, >=, 8 + 2 * 16);
    q = g_memdup2(pt, pt_len);
    q[8 + 12] = 3;                  /* no such RIPAS (DEV is RMM 1.1) */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "bad fields");
    memcpy(q, pt, pt_len);
    q[8 + 13] = 2;                  /* assigned */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "bad fields");
    memcpy(q, pt, pt_len);
    q[8 + 15] = 1;                  /* padding */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "bad fields");
    memcpy(q, pt, pt_len);
    st32le(q + 8 + 8, 0);           /* no granules */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "bad fields");
    memcpy(q, pt, pt_len);
    st64le(q + 8, RAM0 + 1);        /* unaligned */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "bad fields");
    memcpy(q, pt, pt_len);
    st32le(q, 1000);                /* count */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "run count does not fit");
    memcpy(q, pt, pt_len);
    st32le(q + 4, 1);               /* reserved */
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "run count does not fit");
    /* Second run before the first. */
    memcpy(q, pt, pt_len);
    memcpy(q + 8, pt + 8 + 16, 16);
    memcpy(q + 8 + 16, pt + 8, 16);
    forge_reject(i, RMM_MIG_RT_RIPAS, q, pt_len, "not in IPA order");
    /* Overlapping: the second run starts inside the first. */
    memcpy(q, pt, pt_len);
    st32le(q, 2);
    st64le(q + 8, RAM0);
    st32le(q + 8 + 8, 2);
    st64le(q + 8 + 16, RAM0 + G);
    st32le(q + 8 + 16 + 8, 1);
    forge_reject(i, RMM_MIG_RT_RIPAS, q, 8 + 2 * 16, "overlapping");
    /* Crossing the end of RAM0, or outside RAM. */
    memcpy(q, pt, pt_len);
    st32le(q, 1);
    st64le(q + 8, RAM0 + RAM0_SIZE - G);
    st32le(q + 8 + 8, 2);
    forge_reject(i, RMM_MIG_RT_RIPAS, q, 8 + 16, "outside RAM");
    st64le(q + 8, 0x1000000);
    st32le(q + 8 + 8, 1);
    forge_reject(i, RMM_MIG_RT_RIPAS, q, 8 + 16, "outside RAM");
    /* The same granule twice in an epoch. */
    st = prefix(ref, i + 1);
    memcpy(q, pt, pt_len);
    forge(st, &k, RMM_MIG_RT_RIPAS, q, pt_len, 0, 0);
    expect_reject(st, i + 1, "already described in epoch 0");
    g_ptr_array_unref(st);
    g_free(q);
    g_free(pt);
    rmm_mig_keys_wipe(&k);
}

static void test_reject_wrong_key(void)
{
    uint8_t other[HOST_KEY_SIZE];
    Realm d;

    memcpy(other, key, sizeof(other));
    other[31] ^= 1;
    dest_new(&d, RMI_HASH_SHA256, 202);
    reject_into(d.r, other, reference(), 0, "IMMUTABLE record seq 0: "
                "authentication failed (not sealed in this session, or "
                "tampered)");
    realm_free(&d);
}

/* The destination realm differs from the source in one parameter. */
static void test_reject_params(void)
{
    GPtrArray *ref = reference();
    RmiRealmParams p;
    Realm d;
    uint8_t *s1;

    /* What a REC's state depends on is named in the destination's terms. */
    static const struct {
        RmiHashAlgo algo;
        uint32_t ipa_width;
        uint64_t flags;
        uint8_t sve_vl, num_bps, num_wps, pmu_num_ctrs;
        bool rpv;
        const char *what;
    } cases[] = {
        { RMI_HASH_SHA256, .ipa_width = 34,
          .what = "ipa_width mismatch (the destination's is 34)" },
        { RMI_HASH_SHA512,
          .what = "hash_algo mismatch (the destination's is 1)" },
        { RMI_HASH_SHA256, .num_bps = 4,
          .what = "num_bps mismatch (the destination's is 4: 5 "
                  "breakpoints)" },
        { RMI_HASH_SHA256, .num_wps = 15,
          .what = "num_wps mismatch (the destination's is 15: 16 "
                  "watchpoints)" },
        { RMI_HASH_SHA256, .flags = RMI_REALM_FLAGS_SVE, .sve_vl = 1,
          .what = "sve_vl mismatch (the destination's is 1: 256-bit "
                  "vectors)" },
        { RMI_HASH_SHA256, .flags = RMI_REALM_FLAGS_PMU, .pmu_num_ctrs = 4,
          .what = "pmu_num_ctrs mismatch (the destination's is 4: 4 event "
                  "counters)" },
        { RMI_HASH_SHA256, .rpv = true, .what = "rpv mismatch" },
    };
    unsigned c;

    for (c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autofree char *what = g_strdup_printf("IMMUTABLE: %s",
                                                cases[c].what);

        params_init(&p, cases[c].algo, 203);
        p.ipa_width = cases[c].ipa_width ?: p.ipa_width;
        p.flags |= cases[c].flags;
        p.sve_vl = cases[c].sve_vl;
        p.num_bps = cases[c].num_bps ?: p.num_bps;
        p.num_wps = cases[c].num_wps ?: p.num_wps;
        p.pmu_num_ctrs = cases[c].pmu_num_ctrs;
        p.rpv[63] ^= cases[c].rpv ? 0x80 : 0;
        realm_new(&d, &p, false);
        reject_into(d.r, key, ref, 0, what);
        realm_free(&d);
    }

    /* RAM layout: one range smaller, missing, moved, or one more. */
    params_init(&p, RMI_HASH_SHA256, 203);
    memset(&d, 0, sizeof(d));
    g_assert_cmpint(rmm_realm_create(plat, &p, &d.r), ==, RMI_SUCCESS);
    d.store[0] = g_malloc0(RAM0_SIZE);
    d.store[1] = g_malloc0(RAM1_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(d.r, RAM0, RAM0_SIZE, d.store[0]), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(d.r, RAM0, RAM0_SIZE, 3));
    reject_into(d.r, key, ref, 0, "IMMUTABLE: number of RAM ranges mismatch "
                "(the destination's is 1)");
    realm_free(&d);

    memset(&d, 0, sizeof(d));
    g_assert_cmpint(rmm_realm_create(plat, &p, &d.r), ==, RMI_SUCCESS);
    d.store[0] = g_malloc0(RAM0_SIZE);
    d.store[1] = g_malloc0(RAM1_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(d.r, RAM0, RAM0_SIZE - G, d.store[0]),
                    ==, RMI_SUCCESS);
    g_assert_true(host_map(d.r, RAM0, RAM0_SIZE - G, 3));
    g_assert_cmpint(rmm_realm_add_ram(d.r, RAM1, RAM1_SIZE, d.store[1]), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(d.r, RAM1, RAM1_SIZE, 3));
    reject_into(d.r, key, ref, 0, "IMMUTABLE: RAM range 0 mismatch (the "
                "destination's is [0x40000000, +0xff000))");
    realm_free(&d);

    memset(&d, 0, sizeof(d));
    g_assert_cmpint(rmm_realm_create(plat, &p, &d.r), ==, RMI_SUCCESS);
    d.store[0] = g_malloc0(RAM0_SIZE);
    d.store[1] = g_malloc0(RAM1_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(d.r, RAM0, RAM0_SIZE, d.store[0]), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(d.r, RAM0, RAM0_SIZE, 3));
    g_assert_cmpint(rmm_realm_add_ram(d.r, RAM1 + G, RAM1_SIZE, d.store[1]),
                    ==, RMI_SUCCESS);
    g_assert_true(host_map(d.r, RAM1 + G, RAM1_SIZE, 3));
    reject_into(d.r, key, ref, 0, "IMMUTABLE: RAM range 1 mismatch");
    realm_free(&d);

    dest_new(&d, RMI_HASH_SHA256, 203);
    s1 = g_malloc0(G);
    g_assert_cmpint(rmm_realm_add_ram(d.r, 0x10000000, G, s1), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(d.r, 0x10000000, G, 3));
    reject_into(d.r, key, ref, 0, "IMMUTABLE: number of RAM ranges mismatch "
                "(the destination's is 3)");
    realm_free(&d);
    g_free(s1);
}

/*
 * A REC's architectural state in the record: the realm's sizes and
 * nothing beyond (what lies beyond comes back zero), and what does not
 * fit the realm is refused.
 */
static void test_rec_arch(void)
{
    RmiRealmParams p = {
        .flags = RMI_REALM_FLAGS_SVE | RMI_REALM_FLAGS_PMU, .sve_vl = 3,
        .pmu_num_ctrs = 4, .num_bps = 2, .num_wps = 1,
    };
    g_autofree RmmRecArch *a = g_new0(RmmRecArch, 1);
    g_autofree RmmRecArch *b = g_new0(RmmRecArch, 1);
    g_autofree uint8_t *buf = NULL;
    size_t len = rmm_rec_arch_size(&p);
    char *err = NULL;
    unsigned i;

    /* 64-byte vectors, 4 counters, 3 breakpoints, 2 watchpoints */
    g_assert_cmpuint(len, ==, 8 + 32 * 64 + 17 * 8 + 8 * 8 + 4 * 16 +
                     8 + 3 * 16 + 2 * 16);
    memset(a->z, 0x5a, sizeof(a->z));
    memset(a->p, 0xa5, sizeof(a->p));
    memset(a->ffr, 0x0f, sizeof(a->ffr));
    a->zcr_el1 = 3;
    a->pmcr_el0 = 4 << 11 | 1;
    a->pmcntenset = 1u << 31 | 0xf;
    a->pmselr = 3;
    for (i = 0; i < 31; i++) {
        a->pmevcntr[i] = 1000 + i;
        a->pmevtyper[i] = 0x11;
    }
    for (i = 0; i < 16; i++) {
        a->bvr[i] = 0x400000 + i * 4;
        a->bcr[i] = 0x1e7;
        a->wvr[i] = 0x500000 + i * 8;
        a->wcr[i] = 0x1ff7;
    }
    a->mdscr_el1 = 1 << 15;
    buf = g_malloc0(len);
    rmm_rec_arch_put(&p, a, buf);
    g_assert_true(rmm_rec_arch_get(&p, buf, len, b, &err));
    g_assert_null(err);
    g_assert_cmpmem(b->z[31], 64, a->z[31], 64);
    g_assert_cmpuint(b->z[0][64], ==, 0);
    g_assert_cmpmem(b->p[15], 8, a->p[15], 8);
    g_assert_cmpuint(b->p[0][8], ==, 0);
    g_assert_cmpmem(b->ffr, 8, a->ffr, 8);
    g_assert_cmpuint(b->pmevcntr[3], ==, 1003);
    g_assert_cmpuint(b->pmevcntr[4], ==, 0);
    g_assert_cmpuint(b->bvr[2], ==, a->bvr[2]);
    g_assert_cmpuint(b->bvr[3], ==, 0);
    g_assert_cmpuint(b->wcr[1], ==, a->wcr[1]);
    g_assert_cmpuint(b->wcr[2], ==, 0);
    g_assert_cmpuint(b->mdscr_el1, ==, a->mdscr_el1);
    g_assert_false(rmm_rec_arch_get(&p, buf, len - 1, b, NULL));

#define REFUSED(field, value, words) do {                       \
        RmmRecArch *c = g_memdup2(a, sizeof(*a));               \
        c->field = (value);                                     \
        rmm_rec_arch_put(&p, c, buf);                           \
        g_assert_false(rmm_rec_arch_get(&p, buf, len, b, &err)); \
        g_test_message("%s: %s", #field, err);                  \
        g_assert_nonnull(strstr(err, words));                   \
        g_free(err);                                            \
        err = NULL;                                             \
        g_free(c);                                              \
    } while (0)
    REFUSED(zcr_el1, 4, "ZCR_EL1 beyond the realm's vector length "
            "(512 bits)");
    REFUSED(zcr_el1, 1 << 4, "ZCR_EL1 beyond");
    REFUSED(pmcr_el0, 6 << 11, "PMCR_EL0.N is not the realm's 4");
    REFUSED(pmcntenset, 1 << 4, "beyond the realm's 4 event counters");
    REFUSED(pmovsset, 1 << 30, "beyond the realm's 4 event counters");
    REFUSED(pmintenset, 1ULL << 32, "beyond the realm's 4 event counters");
    REFUSED(pmselr, 4, "PMSELR_EL0 selects a counter beyond");
#undef REFUSED
    /* The cycle counter is always there. */
    a->pmselr = 31;
    rmm_rec_arch_put(&p, a, buf);
    g_assert_true(rmm_rec_arch_get(&p, buf, len, b, NULL));
    /* Without SVE or a PMU: debug state only. */
    p.flags = 0;
    p.sve_vl = 0;
    p.pmu_num_ctrs = 0;
    g_assert_cmpuint(rmm_rec_arch_size(&p), ==, 8 + 3 * 16 + 2 * 16);
}

/*
 * A realm with SVE (512 bits) and a PMU (4 counters) migrates with its
 * RECs' architectural state at those sizes; a REC record whose state
 * does not fit the realm is refused, sealed as well as it is.
 */
static void test_round_trip_features(void)
{
    GPtrArray *st = stream_new(), *bad;
    RmmMigKeys k;
    size_t pt_len, arch_len;
    uint8_t *pt;
    Realm s, d;
    int rec0;

    realm_flags = RMI_REALM_FLAGS_SVE | RMI_REALM_FLAGS_PMU;
    realm_sve_vl = 3;
    realm_pmu_ctrs = 4;
    source_new(&s, RMI_HASH_SHA256, 61);
    dest_new(&d, RMI_HASH_SHA256, 62);
    migrate_out(&s, st, 0);
    arch_imported = 0;
    import_all(&d, st);
    g_assert_cmpuint(arch_imported, ==, NRECS);
    assert_same(&s, &d);
    realm_free(&d);

    /* ZCR_EL1 above the realm's length, a fifth counter enabled. */
    stream_keys(st, &k);
    rec0 = find(st, RMM_MIG_RT_REC, 0);
    pt = open_pt(&k, st, rec0, &pt_len);
    arch_len = rmm_rec_arch_size(rmm_realm_params(s.r));
    g_assert_cmpuint(rmi_ld32(pt + MIG_REC_ARCH_LEN), ==, arch_len);
    pt[pt_len - arch_len] = 4;
    bad = prefix(st, rec0);
    forge(bad, &k, RMM_MIG_RT_REC, pt, pt_len, 0, 0);
    expect_reject(bad, rec0, "ZCR_EL1 beyond the realm's vector length "
                  "(512 bits)");
    g_ptr_array_unref(bad);
    pt[pt_len - arch_len] = 3;
    /* PMCNTENSET, after ZCR, Z, P, FFR and PMCR */
    pt[pt_len - arch_len + 8 + 32 * 64 + 17 * 8 + 8] |= 1 << 4;
    bad = prefix(st, rec0);
    forge(bad, &k, RMM_MIG_RT_REC, pt, pt_len, 0, 0);
    expect_reject(bad, rec0, "beyond the realm's 4 event counters");
    g_ptr_array_unref(bad);
    /* No state at all, for a realm with SVE and a PMU. */
    rmi_st32(pt + MIG_REC_ARCH_LEN, 0);
    bad = prefix(st, rec0);
    forge(bad, &k, RMM_MIG_RT_REC, pt, pt_len - arch_len, 0, 0);
    expect_reject(bad, rec0, "no architectural state for a realm with SVE "
                  "or a PMU");
    g_ptr_array_unref(bad);
    g_free(pt);
    rmm_mig_keys_wipe(&k);
    realm_free(&s);
    g_ptr_array_unref(st);
    realm_flags = 0;
    realm_sve_vl = realm_pmu_ctrs = 0;
}

/* Parameters the model cannot give a realm, forged in IMMUTABLE. */
static void test_reject_params_forged(void)
{
    GPtrArray *ref = reference(), *st;
    size_t pt_len, len;
    uint8_t *pt, *q;
    RmmMigKeys k;
    static const struct {
        size_t off;
        unsigned bytes;
        uint64_t value;
        const char *what;
    } cases[] = {
        { MIG_IMM_FLAGS, 8, RMI_REALM_FLAGS_SVE,
          "IMMUTABLE: sve_vl mismatch (the destination's realm has no "
          "SVE)" },
        { MIG_IMM_FLAGS, 8, RMI_REALM_FLAGS_LPA2,
          "IMMUTABLE: flags mismatch (the destination's is 0x0)" },
        { MIG_IMM_SVE_VL, 1, 3,
          "IMMUTABLE: sve_vl mismatch (the destination's realm has no "
          "SVE)" },
        { MIG_IMM_PMU_CTRS, 1, 8,
          "IMMUTABLE: pmu_num_ctrs mismatch (the destination's realm has "
          "no PMU)" },
        { MIG_IMM_IPA_WIDTH, 4, 41,
          "IMMUTABLE: ipa_width mismatch (the destination's is 33)" },
        { MIG_IMM_HASH_ALGO, 1, 7,
          "IMMUTABLE: hash_algo mismatch (the destination's is 0)" },
        { MIG_IMM_NR_RECS, 4, RMM_MAX_RECS + 1,
          "REC count mismatch: the destination has 3 (vCPUs" },
        { MIG_IMM_NR_RECS, 4, NRECS - 1,
          "REC count mismatch: the destination has 3 (vCPUs" },
        { MIG_IMM_NR_RECS, 4, NRECS + 1,
          "REC count mismatch: the destination has 3 (vCPUs" },
        { MIG_IMM_NR_RAM, 4, 3, "RAM range count does not fit" },
        { MIG_IMM_NR_RAM, 4, 0xffffffff, "RAM range count does not fit" },
        { MIG_IMM_PMU_CTRS + 1, 1, 1, "reserved bytes not zero" },
        { MIG_IMM_NR_RECS + 4, 1, 1, "reserved bytes not zero" },
        { MIG_IMM_RIM + 32, 1, 1, "RIM not zero padded" },
        { MIG_IMM_RAM + 16 + 8, 8, RAM1_SIZE * 2,
          "IMMUTABLE: RAM range 1 mismatch" },
    };
    unsigned c, b;
    char *secret;

    stream_keys(ref, &k);
    pt = open_pt(&k, ref, 0, &pt_len);
    g_assert_cmpuint(pt_len, ==, MIG_IMM_SIZE(2));
    for (c = 0; c < G_N_ELEMENTS(cases); c++) {
        q = g_memdup2(pt, pt_len);
        for (b = 0; b < cases[c].bytes; b++) {
            q[cases[c].off + b] = cases[c].value >> (8 * b);
        }
        st = stream_copy(ref);
        len = rmm_mig_seal_record(&k, RMM_MIG_RT_IMMUTABLE, 0, 0, q, pt_len,
                                  xbuf, RMM_MIG_RECORD_MAX);
        put(st, 0, xbuf, len);
        secret = cases[c].value >= 10 ?
                 g_strdup_printf("%" G_GUINT64_FORMAT, cases[c].value) :
                 NULL;
        reject_secret = secret;
        expect_reject(st, 0, cases[c].what);
        reject_secret = NULL;
        g_free(secret);
        g_ptr_array_unref(st);
        g_free(q);
    }
    /* The session ID in clear is bound too. */
    st = stream_copy(ref);
    flip(st, 0, HDR + 5, 3);
    expect_reject(st, 0, AUTH);
    g_ptr_array_unref(st);
    g_free(pt);
    rmm_mig_keys_wipe(&k);
}

static void test_reject_truncated(void)
{
    GPtrArray *ref = reference(), *st;
    size_t len;
    const uint8_t *p;
    unsigned types[] = {
        RMM_MIG_RT_IMMUTABLE, RMM_MIG_RT_DATA, RMM_MIG_RT_RIPAS,
        RMM_MIG_RT_EPOCH, RMM_MIG_RT_REC, RMM_MIG_RT_END,
    };
    unsigned k;
    int i;

    for (k = 0; k < G_N_ELEMENTS(types); k++) {
        i = find(ref, types[k], 0);
        p = rdata(ref, i, &len);
        st = stream_copy(ref);
        put(st, i, p, len - 1);
        expect_reject(st, i, "length field");
        put(st, i, p, 20);
        expect_reject(st, i, "truncated header (20 bytes)");
        memcpy(xbuf, p, len);
        xbuf[len] = 0;
        put(st, i, xbuf, len + 1);
        expect_reject(st, i, "length field");
        g_ptr_array_unref(st);
    }
}

/* Bad header fields of the record at @i. */
static void header_cases(unsigned i)
{
    GPtrArray *ref = reference(), *st;
    static const struct {
        size_t off;
        uint8_t xor;
        const char *what;
    } cases[] = {
        { 0, 0x20, "bad magic" },
        { 3, 0x01, "bad magic" },
        { 4, 0x02, "unsupported version 3" },
        { 6, 0x80, "lane 128 for a" },
        { 7, 0x80, "reserved header byte not zero" },
        { 8, 0x01, "length field" },
        { 11, 0x10, "length field" },
        { 12, 0x04, "epoch" },
        { 16, 0x01, "sequence number" },
        { 23, 0x01, "sequence number" },
    };
    unsigned c;
    uint8_t t = rtype(ref, i);
    size_t len;

    for (c = 0; c < G_N_ELEMENTS(cases); c++) {
        st = stream_copy(ref);
        flip(st, i, cases[c].off, __builtin_ctz(cases[c].xor));
        expect_reject(st, i, cases[c].what);
        g_ptr_array_unref(st);
    }
    /*
     * Lane: only DATA may have one; a DATA record moved to another lane
     * no longer authenticates (the lane is in its nonce and AAD).
     */
    st = stream_copy(ref);
    flip(st, i, RMM_MIG_HDR_LANE, 0);
    expect_reject(st, i, t == RMM_MIG_RT_DATA ? "authentication failed"
                                              : "lane 1 for a");
    g_ptr_array_unref(st);
    /* Type: unknown, or another known one. */
    memcpy(xbuf, rdata(ref, i, &len), g_bytes_get_size(ref->pdata[i]));
    st = stream_copy(ref);
    xbuf[5] = 0;
    put(st, i, xbuf, len);
    expect_reject(st, i, "unknown record type 0");
    xbuf[5] = RMM_MIG_RT_ACCEPT + 1;
    put(st, i, xbuf, len);
    expect_reject(st, i, "unknown record type 9");
    xbuf[5] = t == RMM_MIG_RT_EPOCH ? RMM_MIG_RT_END : RMM_MIG_RT_EPOCH;
    put(st, i, xbuf, len);
    expect_reject(st, i, "body of");
    g_ptr_array_unref(st);
}

static void test_reject_header(void)
{
    GPtrArray *ref = reference(), *st;
    int i = find(ref, RMM_MIG_RT_DATA, 0);
    size_t len;

    header_cases(0);
    header_cases(i);
    header_cases(find(ref, RMM_MIG_RT_EPOCH, 0));
    /* DATA count in clear: out of range, or not the body's. */
    memcpy(xbuf, rdata(ref, i, &len), g_bytes_get_size(ref->pdata[i]));
    st = stream_copy(ref);
    xbuf[HDR] = 0;
    xbuf[HDR + 1] = xbuf[HDR + 2] = xbuf[HDR + 3] = 0;
    put(st, i, xbuf, len);
    expect_reject(st, i, "DATA count 0 out of range");
    xbuf[HDR] = RMM_MIG_BATCH_MAX + 1;
    put(st, i, xbuf, len);
    expect_reject(st, i, "DATA count 65 out of range");
    xbuf[HDR] = rcount(ref, i) - 1;
    put(st, i, xbuf, len);
    expect_reject(st, i, "granules");
    g_ptr_array_unref(st);
}

/* Records in an order the source never produces, all well sealed. */
static void test_reject_order(void)
{
    GPtrArray *ref = reference(), *st;
    int e0 = find(ref, RMM_MIG_RT_EPOCH, 0);
    int rec0 = find(ref, RMM_MIG_RT_REC, 0);
    int d0 = find(ref, RMM_MIG_RT_DATA, 0);
    int r0 = find(ref, RMM_MIG_RT_RIPAS, 0);
    int end = ref->len - 1;
    uint8_t *rec_pt, *data_pt, *ripas_pt, *epoch_pt, *end_pt, *imm_pt;
    size_t rec_len, data_len, ripas_len, epoch_len, end_len, imm_len;
    uint64_t seq;
    uint32_t epoch;
    RmmMigKeys k;

    stream_keys(ref, &k);
    rec_pt = open_pt(&k, ref, rec0, &rec_len);
    data_pt = open_pt(&k, ref, d0, &data_len);
    ripas_pt = open_pt(&k, ref, r0, &ripas_len);
    epoch_pt = open_pt(&k, ref, e0, &epoch_len);
    end_pt = open_pt(&k, ref, end, &end_len);
    imm_pt = open_pt(&k, ref, 0, &imm_len);

    /* REC or END before any EPOCH. */
    forge_reject(1, RMM_MIG_RT_REC, rec_pt, rec_len,
                 "out of order: before the first EPOCH record");
    forge_reject(e0, RMM_MIG_RT_REC, rec_pt, rec_len,
                 "out of order: before the first EPOCH record");
    forge_reject(e0, RMM_MIG_RT_END, end_pt, end_len,
                 "out of order: before the first EPOCH record");
    /* DATA, RIPAS, EPOCH after a REC. */
    forge_reject(rec0 + 1, RMM_MIG_RT_DATA, data_pt, data_len,
                 "out of order: after a REC record");
    forge_reject(rec0 + 1, RMM_MIG_RT_RIPAS, ripas_pt, ripas_len,
                 "out of order: after a REC record");
    forge_reject(rec0 + 1, RMM_MIG_RT_EPOCH, epoch_pt, epoch_len,
                 "out of order: after a REC record");
    /* A second IMMUTABLE; anything after END. */
    forge_reject(3, RMM_MIG_RT_IMMUTABLE, imm_pt, imm_len,
                 "IMMUTABLE record twice");
    forge_reject(end + 1, RMM_MIG_RT_EPOCH, epoch_pt, epoch_len,
                 "record after END");
    /* A first record that is not IMMUTABLE (seq 0, epoch 0). */
    st = stream_new();
    g_assert_cmpuint(rmm_mig_seal_record(&k, RMM_MIG_RT_EPOCH, 0, 0,
                                         epoch_pt, epoch_len, xbuf,
                                         RMM_MIG_RECORD_MAX), >, 0);
    push(st, RMM_MIG_HEADER_SIZE + 12 + 16);
    expect_reject(st, 0, "the first record must be IMMUTABLE");
    g_ptr_array_unref(st);
    /* REC 1 first; an extra REC after the last. */
    st32le(rec_pt + MIG_REC_INDEX, 1);
    forge_reject(rec0, RMM_MIG_RT_REC, rec_pt, rec_len,
                 "REC index is not 0 of 3");
    st32le(rec_pt + MIG_REC_INDEX, 3);
    st64le(rec_pt + MIG_REC_MPIDR, 3);
    forge_reject(end, RMM_MIG_RT_REC, rec_pt, rec_len,
                 "REC index is not 3 of 3");
    /* END when a REC is missing. */
    st = prefix(ref, rec0 + 2);
    next_pos(st, &seq, &epoch);
    st64le(end_pt + MIG_END_SEQ, seq);
    forge(st, &k, RMM_MIG_RT_END, end_pt, end_len, 0, 0);
    expect_reject(st, rec0 + 2, "2 of 3 RECs imported");
    g_ptr_array_unref(st);

    g_free(rec_pt);
    g_free(data_pt);
    g_free(ripas_pt);
    g_free(epoch_pt);
    g_free(end_pt);
    g_free(imm_pt);
    rmm_mig_keys_wipe(&k);
}

/* Well-sealed EPOCH, REC and END records with wrong contents. */
static void test_reject_bodies(void)
{
    GPtrArray *ref = reference();
    int e1 = find(ref, RMM_MIG_RT_EPOCH, 1);
    int rec0 = find(ref, RMM_MIG_RT_REC, 0);
    int end = ref->len - 1;
    size_t len, rlen;
    uint8_t *pt, *q;
    RmmMigKeys k;
    unsigned c;
    static const struct {
        size_t off;
        unsigned bytes;
        uint64_t value;
        const char *what;
    } rec_cases[] = {
        { MIG_REC_MPIDR, 8, 0x100, "MPIDR invalid for REC index 0" },
        { MIG_REC_MPIDR, 8, 1ULL << 40, "invalid for REC index 0" },
        { MIG_REC_RUNNABLE, 1, 2, "bad REC flags" },
        { MIG_REC_PSCI_PENDING, 1, 3, "bad REC flags" },
        { MIG_REC_HAS_TOKEN, 1, 2, "bad REC flags" },
        { MIG_REC_RIPAS_FLAGS, 1, 2, "bad REC flags" },
        { MIG_REC_RIPAS_FLAGS + 1, 1, 1, "bad REC flags" },
        { MIG_REC_ARCH_LEN, 1, 1, "token and context sizes do not match" },
        { MIG_REC_RIPAS_VALUE, 1, 2, "bad REC flags" },
        { MIG_REC_PENDING, 1, 3 /* none such */, "bad pending exit" },
        { MIG_REC_PENDING, 1, 200, "bad pending exit" },
        { MIG_REC_TOKEN_OFF, 4, 0xffffffff, "bad attestation token state" },
        { MIG_REC_CTX_LEN, 4, 1, "do not match the record" },
        { MIG_REC_CTX_LEN, 4, RMM_MIG_REC_CTX_MAX + 1,
          "do not match the record" },
        { MIG_REC_TOKEN_LEN, 4, 101, "do not match the record" },
        { MIG_REC_TOKEN_LEN, 4, 0, "bad attestation token state" },
        { MIG_REC_TOKEN_LEN, 4, 0x100000, "bad attestation token state" },
        { MIG_REC_PSCI_FID, 4, 0x84000002, "bad pending PSCI call" },
        { MIG_REC_HOST_CALL_IPA, 8, RAM0 + 8, "bad pending host call" },
        { MIG_REC_HOST_CALL_IPA, 8, 1ULL << 40, "bad pending host call" },
    };

    stream_keys(ref, &k);
    /* EPOCH: wrong epoch closed, wrong granule count. */
    pt = open_pt(&k, ref, e1, &len);
    q = g_memdup2(pt, len);
    st32le(q, 0);
    forge_reject(e1, RMM_MIG_RT_EPOCH, q, len,
                 "closes another epoch than epoch 1");
    memcpy(q, pt, len);
    q[4] ^= 1;
    forge_reject(e1, RMM_MIG_RT_EPOCH, q, len, "granule count is not the");
    g_free(q);
    g_free(pt);

    /* REC 0 (the one with the host call and token pending). */
    pt = open_pt(&k, ref, rec0, &rlen);
    g_assert_cmpuint(pt[MIG_REC_PENDING], ==, RMM_REC_PENDING_HOST_CALL);
    g_assert_cmpuint(pt[MIG_REC_PSCI_PENDING], ==, 1);
    g_assert_cmpuint(pt[MIG_REC_HAS_TOKEN], ==, 1);
    for (c = 0; c < G_N_ELEMENTS(rec_cases); c++) {
        unsigned b;

        q = g_memdup2(pt, rlen);
        for (b = 0; b < rec_cases[c].bytes; b++) {
            q[rec_cases[c].off + b] = rec_cases[c].value >> (8 * b);
        }
        forge_reject(rec0, RMM_MIG_RT_REC, q, rlen, rec_cases[c].what);
        g_free(q);
    }
    /* A RIPAS change request that is not one. */
    q = g_memdup2(pt, rlen);
    q[MIG_REC_PENDING] = RMM_REC_PENDING_RIPAS;
    st64le(q + MIG_REC_RIPAS_BASE, RAM0 + G);
    st64le(q + MIG_REC_RIPAS_TOP, RAM0);
    st64le(q + MIG_REC_RIPAS_NEXT, RAM0);
    forge_reject(rec0, RMM_MIG_RT_REC, q, rlen, "bad pending RIPAS change");
    st64le(q + MIG_REC_RIPAS_BASE, RAM0);
    st64le(q + MIG_REC_RIPAS_TOP, RAM0 + G);
    st64le(q + MIG_REC_RIPAS_NEXT, RAM0 + 2 * G);
    forge_reject(rec0, RMM_MIG_RT_REC, q, rlen, "bad pending RIPAS change");
    st64le(q + MIG_REC_RIPAS_NEXT, RAM0 + G);
    st64le(q + MIG_REC_RIPAS_TOP, 1ULL << 33);
    forge_reject(rec0, RMM_MIG_RT_REC, q, rlen, "bad pending RIPAS change");
    g_free(q);
    g_free(pt);

    /* END */
    pt = open_pt(&k, ref, end, &len);
    q = g_memdup2(pt, len);
    q[MIG_END_SEQ] ^= 1;
    forge_reject(end, RMM_MIG_RT_END, q, len,
                 "final sequence number is not its own");
    memcpy(q, pt, len);
    q[MIG_END_EPOCHS] ^= 1;
    forge_reject(end, RMM_MIG_RT_END, q, len, "epoch count is not the");
    memcpy(q, pt, len);
    q[MIG_END_NR_RECS] ^= 1;
    forge_reject(end, RMM_MIG_RT_END, q, len, "RECs imported");
    memcpy(q, pt, len);
    q[MIG_END_GRANULES] ^= 1;
    forge_reject(end, RMM_MIG_RT_END, q, len, "granule count is not the");
    memcpy(q, pt, len);
    q[MIG_END_REMS + 2 * RMM_HASH_MAX + 40] = 1;
    forge_reject(end, RMM_MIG_RT_END, q, len, "REM 2 not zero padded");
    g_free(q);
    g_free(pt);
    rmm_mig_keys_wipe(&k);
}

/* rmm_mig_record_parse() and rmi_mig_record_length(), on bytes. */
static void test_record_parse(void)
{
    GPtrArray *ref = reference();
    RmmMigRecordView v;
    uint8_t rec[400];
    char *err = NULL;
    unsigned i;
    static const struct {
        unsigned type;
        size_t body;
        bool ok;
    } sizes[] = {
        { RMM_MIG_RT_IMMUTABLE, 32 + 176 + 16, true },
        { RMM_MIG_RT_IMMUTABLE, 32 + 160 + 16, false },
        { RMM_MIG_RT_IMMUTABLE, 32 + 288 + 16, true },
        { RMM_MIG_RT_IMMUTABLE, 32 + 304 + 16, false },
        { RMM_MIG_RT_IMMUTABLE, 32 + 177 + 16, false },
        { RMM_MIG_RT_RIPAS, 8 + 16 + 16, true },
        { RMM_MIG_RT_RIPAS, 8 + 16, false },
        { RMM_MIG_RT_RIPAS, 8 + 48 + 16, true },
        { RMM_MIG_RT_RIPAS, 8 + 47 + 16, false },
        { RMM_MIG_RT_DATA, 3, false },
        { RMM_MIG_RT_EPOCH, 28, true },
        { RMM_MIG_RT_EPOCH, 27, false },
        { RMM_MIG_RT_EPOCH, 29, false },
        { RMM_MIG_RT_REC, 104, true },
        { RMM_MIG_RT_REC, 103, false },
        { RMM_MIG_RT_END, 296, true },
        { RMM_MIG_RT_END, 297, false },
    };

    for (i = 0; i < ref->len; i++) {
        size_t len;
        const uint8_t *p = rdata(ref, i, &len);

        g_assert_true(rmm_mig_record_parse(p, len, &v, &err));
        g_assert_null(err);
        g_assert_cmpint(v.type, ==, rtype(ref, i));
        g_assert_cmpuint(v.length, ==, len);
        g_assert_cmpuint(v.epoch, ==, repoch(ref, i));
        g_assert_cmpuint(v.seq, ==, rseq(ref, i));
        g_assert_true(v.body == p + HDR);
        g_assert_cmpuint(v.body_len, ==, len - HDR);
        g_assert_cmpuint(rmi_mig_record_length(p), ==, len);
        if (i > 0) {
            g_assert_cmpuint(rseq(ref, i), ==, rseq(ref, i - 1) +
                             (rtype(ref, i - 1) == RMM_MIG_RT_DATA ?
                              rcount(ref, i - 1) : 1));
        }
    }
    g_assert_cmpuint(rseq(ref, 0), ==, 0);

    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        size_t len = HDR + sizes[i].body;

        memset(rec, 0, sizeof(rec));
        memcpy(rec, "RMIG", 4);
        rec[4] = 1;
        rec[5] = sizes[i].type;
        st32le(rec + 8, len);
        g_assert_cmpuint(rmi_mig_record_length(rec), ==, len);
        g_assert_cmpint(rmm_mig_record_parse(rec, len, &v, &err), ==,
                        sizes[i].ok);
        if (!sizes[i].ok) {
            g_assert_nonnull(strstr(err, "body of"));
            g_clear_pointer(&err, g_free);
        }
    }
    /* Lengths rmi_mig_record_length() refuses. */
    memset(rec, 0, sizeof(rec));
    memcpy(rec, "RMIG", 4);
    rec[4] = 1;
    rec[5] = RMM_MIG_RT_EPOCH;
    st32le(rec + 8, 23);
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, 0);
    st32le(rec + 8, RMM_MIG_RECORD_MAX + 1);
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, 0);
    g_assert_false(rmm_mig_record_parse(rec, RMM_MIG_RECORD_MAX + 1, &v,
                                        &err));
    g_assert_nonnull(strstr(err, "exceeds"));
    g_clear_pointer(&err, g_free);
    st32le(rec + 8, RMM_MIG_RECORD_MAX);
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, RMM_MIG_RECORD_MAX);
    rec[6] = 1;
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, 0);
    rec[6] = 0;
    rec[4] = 2;
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, 0);
    rec[4] = 1;
    rec[5] = 9;
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, 0);
    rec[5] = RMM_MIG_RT_EPOCH;
    rec[0] = 'r';
    g_assert_cmpuint(rmi_mig_record_length(rec), ==, 0);
    /* NULL err is fine. */
    g_assert_false(rmm_mig_record_parse(rec, 10, &v, NULL));

    for (i = RMM_MIG_RT_IMMUTABLE; i <= RMM_MIG_RT_END; i++) {
        g_assert_cmpstr(rmi_mig_record_type_name(i), !=, "unknown");
    }
    g_assert_cmpstr(rmi_mig_record_type_name(0), ==, "unknown");
    g_assert_cmpstr(rmi_mig_record_type_name(RMM_MIG_RT_DATA), ==, "DATA");
    for (i = RMM_MIG_NONE; i <= RMM_MIG_IN_ABORTED; i++) {
        g_assert_cmpstr(rmi_mig_phase_name(i), !=, "unknown");
    }
    g_assert_cmpstr(rmi_mig_phase_name(99), ==, "unknown");
}

/* ---- Phases, aborts and tokens ---- */

static void snapshot(Realm *t, uint8_t **copy)
{
    copy[0] = g_memdup2(t->store[0], RAM0_SIZE);
    copy[1] = g_memdup2(t->store[1], RAM1_SIZE);
}

static void assert_snapshot(Realm *t, uint8_t **copy)
{
    g_assert_cmpmem(t->store[0], RAM0_SIZE, copy[0], RAM0_SIZE);
    g_assert_cmpmem(t->store[1], RAM1_SIZE, copy[1], RAM1_SIZE);
    g_free(copy[0]);
    g_free(copy[1]);
}

static void test_abort_running_paused(void)
{
    GPtrArray *st = stream_new();
    uint8_t *copy[2];
    uint64_t regs[RMM_SMC_NREGS], bm = 0;
    RmmRecExit exit;
    RmmMigStats stats;
    Realm s, d;
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    char *err = NULL;

    source_new(&s, RMI_HASH_SHA256, 50);
    snapshot(&s, copy);
    /* Not migrating: nothing to abort, nothing logged. */
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_ERROR_REALM);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 64, &bm), ==, 0);

    export_start(&s, st);
    export_round(s.r, st, false);
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_NONE);
    g_assert_cmpint(rmm_realm_state(s.r), ==, RMM_REALM_ACTIVE);
    g_assert_true(rmm_rec_may_enter(s.rec[0]));
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_MEASUREMENT_EXTEND, 2, 8,
                        7, 0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_SUCCESS);
    assert_snapshot(&s, copy);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.dirty_granules, ==, 0);
    g_assert_cmpuint(stats.data_granules, >, 0);    /* the last session's */
    g_assert_cmpint(rmm_mig_export_epoch(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                         &(size_t){0}), ==, RMI_ERROR_REALM);

    /* Again, aborted while paused. */
    g_ptr_array_set_size(st, 0);
    snapshot(&s, copy);
    export_start(&s, st);
    export_round(s.r, st, true);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_ERROR_REALM);
    g_assert_false(rmm_rec_may_enter(s.rec[0]));
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    g_assert_true(rmm_rec_may_enter(s.rec[0]));
    assert_snapshot(&s, copy);

    /* A third session goes through. */
    g_ptr_array_set_size(st, 0);
    dest_new(&d, RMI_HASH_SHA256, 51);
    export_start(&s, st);
    export_round(s.r, st, true);
    export_finish(&s, st);
    import_all(&d, st);
    assert_same(&s, &d);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);
}

/* Two sources X and Y, each ENDED; destinations for both. */
static void test_abort_ended(void)
{
    GPtrArray *sx = stream_new(), *sy = stream_new();
    uint8_t tx[RMM_MIG_TOKEN_SIZE], ty[RMM_MIG_TOKEN_SIZE];
    uint8_t ax[RMM_MIG_TOKEN_SIZE], bogus[RMM_MIG_TOKEN_SIZE];
    uint8_t *copy[2];
    Realm x, y, dx, dy, dz;
    char *err = NULL;

    source_new(&x, RMI_HASH_SHA256, 60);
    source_new(&y, RMI_HASH_SHA256, 61);
    dest_new(&dx, RMI_HASH_SHA256, 62);
    dest_new(&dy, RMI_HASH_SHA256, 63);
    export_start(&x, sx);
    export_round(x.r, sx, false);
    export_finish(&x, sx);
    export_start(&y, sy);
    export_round(y.r, sy, false);
    export_finish(&y, sy);
    snapshot(&x, copy);

    /* ENDED: no abort without a token, nor with a wrong one. */
    g_assert_cmpint(rmm_mig_export_abort(x.r, NULL), ==, RMI_ERROR_INPUT);
    memset(bogus, 0x5a, sizeof(bogus));
    g_assert_cmpint(rmm_mig_export_abort(x.r, bogus), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_commit_ack(x.r, bogus), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_commit_ack(x.r, NULL), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_phase(x.r), ==, RMM_MIG_OUT_ENDED);
    g_assert_false(rmm_rec_may_enter(x.rec[0]));
    /* ENDED is frozen. */
    g_assert_cmpint(rmm_data_destroy(x.r, RAM0), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_data_create_unknown(x.r, RAM0 + 100 * G), ==,
                    RMI_ERROR_REALM);

    /* X's destination commits, Y's aborts. */
    import_all(&dx, sx);
    g_assert_cmpint(rmm_mig_import_commit(dx.r, tx, &err), ==, RMI_SUCCESS);
    import_all(&dy, sy);
    g_assert_true(rmm_mig_import_abort(dy.r, ty));
    g_assert_cmpint(rmm_mig_phase(dy.r), ==, RMM_MIG_IN_ABORTED);
    g_assert_false(rmm_rec_may_enter(dy.rec[0]));
    g_assert_cmpint(rmm_mig_import_commit(dy.r, bogus, &err), ==,
                    RMI_ERROR_REALM);
    g_clear_pointer(&err, g_free);

    /* Tokens of the other session are refused, either way. */
    g_assert_cmpint(rmm_mig_commit_ack(y.r, tx), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_abort(x.r, ty), ==, RMI_ERROR_INPUT);
    /* A commit token is not an abort token, nor the reverse. */
    g_assert_cmpint(rmm_mig_export_abort(x.r, tx), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_commit_ack(y.r, ty), ==, RMI_ERROR_INPUT);

    g_assert_cmpint(rmm_mig_export_abort(y.r, ty), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(y.r), ==, RMM_MIG_NONE);
    g_assert_true(rmm_rec_may_enter(y.rec[0]));
    g_assert_cmpint(rmm_mig_commit_ack(x.r, tx), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_phase(x.r), ==, RMM_MIG_OUT_MIGRATED);
    assert_snapshot(&x, copy);

    /* Y migrates again in a new session; the old abort token is dead. */
    g_ptr_array_set_size(sy, 0);
    dest_new(&dz, RMI_HASH_SHA256, 64);
    export_start(&y, sy);
    export_round(y.r, sy, true);
    export_finish(&y, sy);
    g_assert_cmpint(rmm_mig_export_abort(y.r, ty), ==, RMI_ERROR_INPUT);
    import_all(&dz, sy);
    g_assert_true(rmm_mig_import_abort(dz.r, ax));
    g_assert_true(memcmp(ax, ty, sizeof(ax)) != 0);
    g_assert_cmpint(rmm_mig_export_abort(y.r, ax), ==, RMI_SUCCESS);

    realm_free(&x);
    realm_free(&y);
    realm_free(&dx);
    realm_free(&dy);
    realm_free(&dz);
    g_ptr_array_unref(sx);
    g_ptr_array_unref(sy);
}

static void test_commit_before_end(void)
{
    GPtrArray *ref = reference();
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    RmmMigImported out;
    char *err = NULL;
    size_t len;
    Realm d;
    unsigned i;

    dest_new(&d, RMI_HASH_SHA256, 70);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_ERROR_REALM);
    g_assert_nonnull(strstr(err, "not importing"));
    g_clear_pointer(&err, g_free);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key),
                    ==, RMI_SUCCESS);
    for (i = 0; i < ref->len - 1; i++) {
        const uint8_t *p = rdata(ref, i, &len);

        g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                        RMI_ERROR_REALM);
        g_assert_nonnull(strstr(err, "no END"));
        g_clear_pointer(&err, g_free);
        g_assert_cmpint(host_import_record(d.r, p, len, &out, &err), ==,
                        RMI_SUCCESS);
    }
    /* A failed commit does not hurt: END, then commit. */
    g_assert_cmpint(import_one(d.r, ref, i, &out,
                                          &err), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, NULL), ==, RMI_SUCCESS);
    g_assert_cmpint(import_one(d.r, ref, 0, &out,
                                          &err), ==, RMI_ERROR_REALM);
    g_assert_nonnull(strstr(err, "not importing"));
    g_free(err);
    realm_free(&d);
}

/* What import_start accepts, and what the host may do while importing. */
static void test_import_phase(void)
{
    GPtrArray *ref = reference();
    uint8_t token[RMM_MIG_TOKEN_SIZE], src[G] = { 0 };
    RmmMigImported out;
    RmmRecParams rp = { 0 };
    RmmRec *rec;
    char *err = NULL;
    uint64_t top;
    Realm d;
    unsigned i;

    /* No RAM; RECs; RIPAS; data; ACTIVE: refused. */
    {
        RmiRealmParams p;
        RmmRealm *r;

        params_init(&p, RMI_HASH_SHA256, 80);
        g_assert_cmpint(rmm_realm_create(plat, &p, &r), ==, RMI_SUCCESS);
        g_assert_cmpint(host_import_start(r, NRECS, policy, key), ==,
                        RMI_ERROR_REALM);
        rmm_realm_destroy(r);
    }
    dest_new(&d, RMI_HASH_SHA256, 80);
    g_assert_cmpint(rmm_rtt_init_ripas(d.r, RAM0, RAM0 + G, &top), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_ERROR_REALM);
    realm_free(&d);
    dest_new(&d, RMI_HASH_SHA256, 80);
    g_assert_cmpint(rmm_data_create_unknown(d.r, RAM0), ==, RMI_SUCCESS);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_ERROR_REALM);
    realm_free(&d);
    dest_new(&d, RMI_HASH_SHA256, 80);
    rec_new(&d, true);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_realm_activate(d.r), ==, RMI_SUCCESS);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_ERROR_REALM);
    realm_free(&d);

    /* A REC count a realm cannot have; a granule not delegated. */
    dest_new(&d, RMI_HASH_SHA256, 80);
    g_assert_cmpint(host_import_start(d.r, 0, policy, key),
                    ==, RMI_ERROR_INPUT);
    g_assert_cmpint(host_import_start(d.r, RMM_MAX_RECS + 1, policy, key), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_granule_undelegate(d.r, RAM1), ==, RMI_SUCCESS);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_ERROR_REALM);
    realm_free(&d);

    /* While importing, the realm is the import's only. */
    dest_new(&d, RMI_HASH_SHA256, 80);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key),
                    ==, RMI_SUCCESS);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(host_export_start(d.r, policy, key), ==, RMI_ERROR_REALM);
    for (i = 0; i < 3; i++) {
        g_assert_cmpint(import_one(d.r, ref, i,
                                              &out, &err), ==, RMI_SUCCESS);
    }
    g_assert_cmpint(rmm_realm_add_ram(d.r, 0x10000000, G, src), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_rtt_init_ripas(d.r, RAM0 + RAM0_SIZE - G,
                                       RAM0 + RAM0_SIZE, &top), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_data_create(d.r, RAM0 + RAM0_SIZE - G, src, true), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_data_create_unknown(d.r, RAM0 + RAM0_SIZE - G), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_data_destroy(d.r, RAM0), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_rec_create(d.r, &rp, &rec), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_realm_activate(d.r), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_pause(d.r), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_abort(d.r, NULL), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_commit_ack(d.r, token), ==, RMI_ERROR_REALM);
    g_assert_true(rmm_mig_import_abort(d.r, NULL));
    g_assert_cmpint(rmm_realm_activate(d.r), ==, RMI_ERROR_REALM);
    realm_free(&d);

    /* import_abort on a realm that is not importing. */
    dest_new(&d, RMI_HASH_SHA256, 80);
    g_assert_false(rmm_mig_import_abort(d.r, token));
    g_assert_cmpint(rmm_mig_phase(d.r), ==, RMM_MIG_NONE);
    /* Aborted before IMMUTABLE: no token. */
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key),
                    ==, RMI_SUCCESS);
    g_assert_false(rmm_mig_import_abort(d.r, token));
    g_assert_cmpint(rmm_mig_phase(d.r), ==, RMM_MIG_IN_ABORTED);
    g_assert_cmpint(import_one(d.r, ref, 0,
                                          &out, &err), ==, RMI_ERROR_REALM);
    g_assert_nonnull(strstr(err, "aborted"));
    g_free(err);
    realm_free(&d);
}

/* Export commands in the wrong phase or with bad arguments. */
static void test_export_errors(void)
{
    GPtrArray *st = stream_new();
    uint64_t ipa = RAM0, bad[2] = { RAM0 + 1, RAM0 + RAM0_SIZE };
    uint64_t regs[RMM_SMC_NREGS];
    RmmRecExit exit;
    size_t len;
    unsigned exported;
    bool more;
    Realm s;

    source_new(&s, RMI_HASH_SHA256, 90);
    /* Not migrating. */
    g_assert_cmpint(rmm_mig_export_immutable(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_ripas(s.r, xbuf, RMM_MIG_RECORD_MAX, &len,
                                         &more), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, xbuf), ==, RMI_ERROR_REALM);

    g_assert_cmpint(host_export_start(s.r, policy, key), ==, RMI_SUCCESS);
    g_assert_cmpint(host_export_start(s.r, policy, key), ==, RMI_ERROR_REALM);
    /* Nothing before IMMUTABLE; IMMUTABLE needs room. */
    g_assert_cmpint(rmm_mig_export_epoch(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_immutable(s.r, xbuf, 100, &len), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_immutable(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_mig_export_immutable(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_ERROR_REALM);
    /* DATA arguments. */
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 0, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, RMM_MIG_BATCH_MAX + 1,
                                        xbuf, RMM_MIG_RECORD_MAX, &len,
                                        &exported), ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_data(s.r, &bad[0], 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_data(s.r, &bad[1], 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf, 4000, &len,
                                        &exported), ==, RMI_ERROR_INPUT);
    /* Unassigned granules are skipped: nothing to seal. */
    ipa = RAM0 + 100 * G;
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_SUCCESS);
    g_assert_cmpuint(len, ==, 0);
    g_assert_cmpuint(exported, ==, 0);
    /* A duplicate in one call is sealed once. */
    {
        uint64_t two[3] = { RAM0, RAM0 + 100 * G, RAM0 };

        g_assert_cmpint(rmm_mig_export_data(s.r, two, 3, xbuf,
                                            RMM_MIG_RECORD_MAX, &len,
                                            &exported), ==, RMI_SUCCESS);
        g_assert_cmpuint(exported, ==, 1);
        g_assert_cmpuint(len, ==, HDR + 4 + 8 + G + 16);
        push(st, len);
    }
    /* RIPAS: small buffers give several records; too small: error. */
    g_assert_cmpint(rmm_mig_export_ripas(s.r, xbuf, HDR + 8 + 16 + 15, &len,
                                         &more), ==, RMI_ERROR_INPUT);
    g_assert_false(more);
    g_assert_cmpint(rmm_mig_export_ripas(s.r, xbuf, HDR + 8 + 16 + 16, &len,
                                         &more), ==, RMI_SUCCESS);
    g_assert_true(more);
    g_assert_cmpuint(len, ==, HDR + 8 + 16 + 16);
    push(st, len);
    g_assert_cmpint(rmm_mig_export_ripas(s.r, xbuf, HDR + 8 + 32 + 16, &len,
                                         &more), ==, RMI_SUCCESS);
    push(st, len);
    export_ripas(s.r, st);
    g_assert_cmpint(rmm_mig_export_ripas(s.r, xbuf, RMM_MIG_RECORD_MAX, &len,
                                         &more), ==, RMI_SUCCESS);
    g_assert_cmpuint(len, ==, 0);
    g_assert_false(more);
    /* EPOCH needs room; REC and END need PAUSED. */
    g_assert_cmpint(rmm_mig_export_epoch(s.r, xbuf, 51, &len), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    g_assert_false(rmm_rec_may_enter(s.rec[0]));
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_REALM_CONFIG, RAM0, 0, 0,
                        0), ==, RMM_EXIT_NONE);
    g_assert_cmpuint(regs[0], ==, RSI_ERROR_STATE);
    /* No EPOCH yet. */
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    export_epoch(s.r, st);
    /* Granules are still pending: no REC until they are out. */
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_REALM);
    export_dirty(s.r, st);
    export_epoch(s.r, st);
    /* RECs in index order, with a context that fits. */
    g_assert_cmpint(rmm_mig_export_rec(s.rec[1], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 1, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], xbuf, RMM_MIG_REC_CTX_MAX +
                                       1, xbuf, RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_INPUT);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf, 119, &len),
                    ==, RMI_ERROR_INPUT);
    {
        uint8_t *big = g_malloc0(RMM_MIG_REC_CTX_MAX);

        g_assert_cmpint(rmm_mig_export_rec(s.rec[0], big, RMM_MIG_REC_CTX_MAX,
                                           xbuf, RMM_MIG_RECORD_MAX, &len),
                        ==, RMI_SUCCESS);
        g_assert_cmpuint(len, ==, HDR + MIG_REC_TOKEN + RMM_MIG_REC_CTX_MAX + 16);
        push(st, len);
        g_free(big);
    }
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_INPUT);
    /* Frozen once a REC is out. */
    g_assert_cmpint(rmm_data_destroy(s.r, RAM0), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_psci_complete(s.rec[0], s.rec[1], 0), ==,
                    RMI_ERROR_REALM);
    g_assert_cmpint(rmm_rec_complete(s.rec[0], RMM_RIPAS_ACCEPT, &exit,
                                     regs), ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_epoch(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    ipa = RAM0;
    g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &exported),
                    ==, RMI_ERROR_REALM);
    /* END only once every REC is out. */
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[1], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[2], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[2], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &len), ==,
                    RMI_ERROR_REALM);
    /* A guest write reported now (it should not happen): END refuses. */
    rmm_mig_log_write(s.r, RAM0, 1);
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    realm_free(&s);
    g_ptr_array_unref(st);

    /* A realm that turned itself off cannot end a migration. */
    st = stream_new();
    source_new(&s, RMI_HASH_SHA256, 91);
    export_start(&s, st);
    export_round(s.r, st, false);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, 0x84000008, 0, 0, 0, 0), ==,
                    RMI_EXIT_PSCI);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    export_epoch(s.r, st);
    for (exported = 0; exported < NRECS; exported++) {
        g_assert_cmpint(rmm_mig_export_rec(s.rec[exported], NULL, 0, xbuf,
                                           RMM_MIG_RECORD_MAX, &len), ==,
                        RMI_SUCCESS);
    }
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_ERROR_REALM);
    g_assert_cmpint(host_export_start(s.r, policy, key), ==, RMI_ERROR_REALM);
    realm_free(&s);
    g_ptr_array_unref(st);

    /* Only an ACTIVE realm starts a migration. */
    {
        RmiRealmParams p;
        Realm n;

        params_init(&p, RMI_HASH_SHA256, 92);
        realm_new(&n, &p, false);
        g_assert_cmpint(host_export_start(n.r, policy, key),
                        ==, RMI_ERROR_REALM);
        realm_free(&n);
    }
}

/* ---- Dirty log ---- */

static void test_dirty_log(void)
{
    GPtrArray *st = stream_new();
    uint64_t bm[16], regs[RMM_SMC_NREGS];
    RmmRecExit exit;
    RmmMigStats stats;
    Realm s;

    source_new(&s, RMI_HASH_SHA256, 95);
    export_start(&s, st);
    /* Every assigned granule: RAM0 0..63, RAM1 0..7. */
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.dirty_granules, ==, 72);
    g_assert_cmpuint(stats.pending_granules, ==, 72);
    /* Read from the middle of RAM0: bits relative to the base. */
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0 + 60 * G, 8, bm), ==, 4);
    g_assert_cmphex(bm[0], ==, 0xf);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0 + 60 * G, 8, bm), ==, 0);
    /* From below a range; unaligned base: nothing. */
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM1 - 4 * G, 8, bm), ==, 4);
    g_assert_cmphex(bm[0], ==, 0xf0);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0 + 1, 8, bm), ==, 0);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 0, bm), ==, 0);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.dirty_granules, ==, 72 - 8);
    g_assert_cmpuint(stats.pending_granules, ==, 72);
    /* Everything, with a huge count. */
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 64, bm), ==, 60);
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM1, UINT64_MAX, bm), ==, 4);
    g_assert_cmphex(bm[0], ==, 0xf0);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.dirty_granules, ==, 0);

    /* Host-reported writes: assigned granules only, across granules. */
    rmm_mig_log_write(s.r, RAM0 + 2 * G - 1, 2);
    rmm_mig_log_write(s.r, RAM0 + 200 * G, G);          /* unassigned */
    rmm_mig_log_write(s.r, 0x10000000, G);              /* not RAM */
    rmm_mig_log_write(s.r, RAM0 + 70 * G, 0);
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 256, bm), ==, 2);
    g_assert_cmphex(bm[0], ==, 0x6);
    /* Model writes: RSI_REALM_CONFIG. */
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_REALM_CONFIG,
                        RAM0 + 30 * G, 0, 0, 0), ==, RMM_EXIT_NONE);
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 256, bm), ==, 1);
    g_assert_cmphex(bm[0], ==, 1ULL << 30);
    /* DATA_CREATE_UNKNOWN: new contents; DATA_DESTROY: none pending. */
    g_assert_cmpint(rmm_data_create_unknown(s.r, RAM0 + 100 * G), ==,
                    RMI_SUCCESS);
    memset(bm, 0, sizeof(bm));
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0 + 64 * G, 64, bm), ==, 1);
    g_assert_cmphex(bm[0], ==, 1ULL << 36);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.pending_granules, ==, 73);
    g_assert_cmpint(rmm_data_destroy(s.r, RAM0 + 100 * G), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_data_destroy(s.r, RAM0 + 5 * G), ==, RMI_SUCCESS);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.pending_granules, ==, 71);
    /* Exported granules are no longer pending or logged. */
    export_all(s.r, st);
    export_ripas(s.r, st);
    export_epoch(s.r, st);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.pending_granules, ==, 0);
    g_assert_cmpuint(stats.dirty_granules, ==, 0);
    g_assert_cmpuint(stats.epoch, ==, 1);
    /* A granule read from the log but not exported blocks the end. */
    rmm_mig_log_write(s.r, RAM0, G);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 1, bm), ==, 1);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    export_ripas(s.r, st);
    export_epoch(s.r, st);
    g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                       RMM_MIG_RECORD_MAX, &(size_t){0}), ==,
                    RMI_ERROR_REALM);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.pending_granules, ==, 1);
    g_assert_cmpuint(stats.dirty_granules, ==, 0);
    /* A RIPAS change while paused (host side) blocks it too. */
    {
        uint64_t ipa = RAM0;
        size_t len;
        unsigned n;

        g_assert_cmpint(rmm_mig_export_data(s.r, &ipa, 1, xbuf,
                                            RMM_MIG_RECORD_MAX, &len, &n),
                        ==, RMI_SUCCESS);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpint(rmm_data_create_unknown(s.r, RAM0 + 200 * G), ==,
                        RMI_SUCCESS);
        export_epoch(s.r, st);
        g_assert_cmpint(rmm_mig_export_rec(s.rec[0], NULL, 0, xbuf,
                                           RMM_MIG_RECORD_MAX, &len), ==,
                        RMI_ERROR_REALM);
    }
    /* No log when not migrating. */
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    rmm_mig_log_write(s.r, RAM0, G);
    g_assert_cmpuint(rmm_mig_dirty_log(s.r, RAM0, 64, bm), ==, 0);
    rmm_mig_stats(s.r, &stats);
    g_assert_cmpuint(stats.dirty_granules, ==, 0);
    realm_free(&s);
    g_ptr_array_unref(st);
}

/* ---- Destroy in every phase (valgrind checks the leaks) ---- */

static void test_destroy_phases(void)
{
    GPtrArray *ref = reference(), *st;
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    RmmMigImported out;
    unsigned phase, i;
    char *err = NULL;
    size_t len;
    Realm s, d;

    for (phase = 0; phase < 5; phase++) {
        st = stream_new();
        source_new(&s, RMI_HASH_SHA256, 110);
        export_start(&s, st);
        if (phase >= 1) {
            export_round(s.r, st, false);
            g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
        }
        if (phase >= 2) {
            export_round(s.r, st, false);
            g_assert_cmpint(rmm_mig_export_rec(s.rec[0], "context", 7, xbuf,
                                               RMM_MIG_RECORD_MAX, &len), ==,
                            RMI_SUCCESS);
        }
        if (phase >= 3) {
            for (i = 1; i < NRECS; i++) {
                g_assert_cmpint(rmm_mig_export_rec(s.rec[i], NULL, 0, xbuf,
                                                   RMM_MIG_RECORD_MAX, &len),
                                ==, RMI_SUCCESS);
            }
            g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                               &len), ==, RMI_SUCCESS);
        }
        if (phase >= 4) {
            dest_new(&d, RMI_HASH_SHA256, 111);
            import_all(&d, ref);
            g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                            RMI_SUCCESS);
            realm_free(&d);
            /* Not this session's token: still ENDED. */
            g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==,
                            RMI_ERROR_INPUT);
        }
        realm_free(&s);
        g_ptr_array_unref(st);
    }
    /* MIGRATED */
    st = stream_new();
    source_new(&s, RMI_HASH_SHA256, 110);
    dest_new(&d, RMI_HASH_SHA256, 111);
    export_start(&s, st);
    export_round(s.r, st, false);
    export_finish(&s, st);
    import_all(&d, st);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(st);

    /* IMPORTING, at every record (REC contexts held), and ABORTED. */
    for (i = 0; i <= ref->len; i += (i < 3 || i + 5 >= ref->len) ? 1 : 7) {
        unsigned k;

        dest_new(&d, RMI_HASH_SHA256, 112);
        g_assert_cmpint(host_import_start(d.r, NRECS, policy, key),
                        ==, RMI_SUCCESS);
        for (k = 0; k < i; k++) {
            g_assert_cmpint(import_one(d.r, ref, k, &out, &err), ==,
                            RMI_SUCCESS);
        }
        if (i & 1) {
            rmm_mig_import_abort(d.r, token);
        }
        realm_free(&d);
    }
    /* After an error. */
    dest_new(&d, RMI_HASH_SHA256, 112);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key),
                    ==, RMI_SUCCESS);
    g_assert_cmpint(import_one(d.r, ref, 1, &out,
                                          &err), ==, RMI_ERROR_INPUT);
    g_free(err);
    realm_free(&d);
}

/* ---- Write notifier on import ---- */

typedef struct WriteLog {
    uint64_t bytes;
    unsigned calls;
} WriteLog;

static void on_write(void *opaque, uint64_t ipa, uint64_t len)
{
    WriteLog *w = opaque;

    g_assert_cmpuint(len, >, 0);
    w->bytes += len;
    w->calls++;
}

static void test_import_notifies(void)
{
    GPtrArray *ref = reference();
    RmmMigImported out;
    RmmMigStats stats;
    WriteLog w = { 0 };
    char *err = NULL;
    Realm d;
    unsigned i;

    dest_new(&d, RMI_HASH_SHA256, 120);
    rmm_realm_set_write_notifier(d.r, on_write, &w);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key),
                    ==, RMI_SUCCESS);
    for (i = 0; i < ref->len; i++) {
        g_assert_cmpint(import_one(d.r, ref, i,
                                              &out, &err), ==, RMI_SUCCESS);
    }
    rmm_mig_stats(d.r, &stats);
    /* Every DATA granule written, plus the scrub of granule 10. */
    g_assert_cmpuint(w.bytes, >=, stats.data_granules * G);
    g_assert_cmpuint(w.bytes, <=, (stats.data_granules + 4) * G);
    g_assert_cmpuint(stats.rec_records, ==, NRECS);
    rmm_realm_set_write_notifier(d.r, NULL, NULL);
    realm_free(&d);
}

/* ---- Seed corpus of fuzz-rmm-mig ---- */

static void fuzz_realm(Realm *t, uint16_t vmid, bool source)
{
    RmiRealmParams p;
    uint8_t hash[64];
    uint8_t src[G];
    uint64_t top;
    unsigned i;

    pki_policy_hash(policy, hash);
    fuzz_realm_params(&p, vmid, hash);
    memset(t, 0, sizeof(*t));
    g_assert_cmpint(rmm_realm_create(plat, &p, &t->r), ==, RMI_SUCCESS);
    t->store[0] = g_malloc0(FUZZ_RAM0_SIZE);
    t->store[1] = g_malloc0(FUZZ_RAM1_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(t->r, FUZZ_RAM0, FUZZ_RAM0_SIZE,
                                      t->store[0]), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_add_ram(t->r, FUZZ_RAM1, FUZZ_RAM1_SIZE,
                                      t->store[1]), ==, RMI_SUCCESS);
    g_assert_true(host_map(t->r, FUZZ_RAM0, FUZZ_RAM0_SIZE, 3));
    g_assert_true(host_map(t->r, FUZZ_RAM1, FUZZ_RAM1_SIZE, 3));
    if (!source) {
        return;
    }
    g_assert_cmpint(rmm_rtt_init_ripas(t->r, FUZZ_RAM0,
                                       FUZZ_RAM0 + FUZZ_RAM0_SIZE / 2, &top),
                    ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(t->r, FUZZ_RAM1,
                                       FUZZ_RAM1 + FUZZ_RAM1_SIZE, &top),
                    ==, RMI_SUCCESS);
    for (i = 0; i < 4; i++) {
        fill(src, i);
        g_assert_cmpint(rmm_data_create(t->r, FUZZ_RAM0 + i * G, src, true),
                        ==, RMI_SUCCESS);
    }
    g_assert_cmpint(rmm_data_create_unknown(t->r, FUZZ_RAM1), ==,
                    RMI_SUCCESS);
    for (i = 0; i < FUZZ_NR_RECS; i++) {
        rec_new(t, i == 0);
    }
    g_assert_cmpint(rmm_realm_activate(t->r), ==, RMI_SUCCESS);
}

/* The fuzzer's source: two epochs, RIPAS changes, pending REC state. */
static GPtrArray *fuzz_stream(void)
{
    GPtrArray *st = stream_new();
    uint64_t regs[RMM_SMC_NREGS], ipas[8];
    RmmRecExit exit;
    unsigned i, n;
    size_t len;
    Realm s;

    fuzz_realm(&s, 1000, true);
    g_assert_cmpint(host_export_start(s.r, policy, fuzz_mig_key), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_export_immutable(s.r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_SUCCESS);
    push(st, len);
    /* Epoch 0: RIPAS, then DATA in two records. */
    export_ripas(s.r, st);
    for (i = 0; i < 4; i++) {
        ipas[i] = FUZZ_RAM0 + i * G;
    }
    ipas[4] = FUZZ_RAM1;
    g_assert_cmpint(rmm_mig_export_data(s.r, ipas, 3, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &n), ==,
                    RMI_SUCCESS);
    push(st, len);
    g_assert_cmpint(rmm_mig_export_data(s.r, ipas + 3, 2, xbuf,
                                        RMM_MIG_RECORD_MAX, &len, &n), ==,
                    RMI_SUCCESS);
    push(st, len);
    export_epoch(s.r, st);
    /* Epoch 1: the realm changes RIPAS, writes, gets a page. */
    set_ripas(&s, 0, FUZZ_RAM0 + FUZZ_RAM0_SIZE / 2,
              FUZZ_RAM0 + FUZZ_RAM0_SIZE / 2 + 2 * G, RMI_RIPAS_RAM);
    g_assert_cmpint(rmm_data_create_unknown(s.r, FUZZ_RAM0 +
                                            FUZZ_RAM0_SIZE / 2), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_REALM_CONFIG,
                        FUZZ_RAM0 + 2 * G, 0, 0, 0), ==, RMM_EXIT_NONE);
    /* Granule 3 taken away and assigned again: DESTROYED, zero. */
    g_assert_cmpint(rmm_data_destroy(s.r, FUZZ_RAM0 + 3 * G), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_data_create_unknown(s.r, FUZZ_RAM0 + 3 * G), ==,
                    RMI_SUCCESS);
    set_ripas(&s, 0, FUZZ_RAM1 + G, FUZZ_RAM1 + 3 * G, RMI_RIPAS_EMPTY);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_MEASUREMENT_EXTEND, 3, 8,
                        42, 0), ==, RMM_EXIT_NONE);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_ATTEST_INIT, 7, 0, 0, 0),
                    ==, RMM_EXIT_NONE);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, PSCI_CPU_ON_64, 1, FUZZ_RAM0,
                        0, 0), ==, RMI_EXIT_PSCI);
    g_assert_cmpint(smc(s.rec[0], regs, &exit, RSI_HOST_CALL, FUZZ_RAM0 + G,
                        0, 0, 0), ==, RMI_EXIT_HOST_CALL);
    g_assert_cmpint(rmm_mig_export_pause(s.r), ==, RMI_SUCCESS);
    export_ripas(s.r, st);
    {
        uint64_t bm[1] = { 0 };

        n = 0;
        g_assert_cmpuint(rmm_mig_dirty_log(s.r, FUZZ_RAM0,
                                           FUZZ_RAM0_SIZE / G, bm), >, 0);
        for (i = 0; i < FUZZ_RAM0_SIZE / G; i++) {
            if (bm[0] >> i & 1) {
                ipas[n++] = FUZZ_RAM0 + i * G;
            }
        }
        g_assert_cmpint(rmm_mig_export_data(s.r, ipas, n, xbuf,
                                            RMM_MIG_RECORD_MAX, &len, &n), ==,
                        RMI_SUCCESS);
        push(st, len);
    }
    export_epoch(s.r, st);
    for (i = 0; i < FUZZ_NR_RECS; i++) {
        uint8_t ctx[24];

        memset(ctx, 0x10 + i, sizeof(ctx));
        g_assert_cmpint(rmm_mig_export_rec(s.rec[i], ctx, i ? 0 : sizeof(ctx),
                                           xbuf, RMM_MIG_RECORD_MAX, &len),
                        ==, RMI_SUCCESS);
        push(st, len);
    }
    g_assert_cmpint(rmm_mig_export_end(s.r, xbuf, RMM_MIG_RECORD_MAX, &len),
                    ==, RMI_SUCCESS);
    push(st, len);
    realm_free(&s);
    return st;
}

static void write_seed(const char *dir, const char *name, GByteArray *b)
{
    char *path = g_build_filename(dir, name, NULL);
    GError *gerr = NULL;

    if (!g_file_set_contents(path, (const char *)b->data, b->len, &gerr)) {
        g_error("%s", gerr->message);
    }
    g_free(path);
}

/* A sealed-mode chunk for record @i of @st. */
static void sealed_chunk(GByteArray *b, RmmMigKeys *k, GPtrArray *st,
                         unsigned i)
{
    size_t pt_len, n, u;
    uint8_t *pt = open_pt(k, st, i, &pt_len);
    uint8_t hdr[4] = { rtype(st, i), 0 };

    if (rtype(st, i) == RMM_MIG_RT_DATA) {
        n = pt_len / (8 + G);
        hdr[2] = (1 + n * 9) & 0xff;
        hdr[3] = (1 + n * 9) >> 8;
        g_byte_array_append(b, hdr, 4);
        g_byte_array_append(b, (uint8_t[]){ n }, 1);
        for (u = 0; u < n; u++) {
            g_byte_array_append(b, pt + u * (8 + G), 8);
            g_byte_array_append(b, pt + u * (8 + G) + 8, 1);
        }
    } else {
        hdr[2] = pt_len & 0xff;
        hdr[3] = pt_len >> 8;
        g_byte_array_append(b, hdr, 4);
        g_byte_array_append(b, pt, pt_len);
    }
    g_free(pt);
}

/* Seeds of the handshake modes: a HELLO, patches, an ACCEPT. */
static void write_hs_seeds(const char *dir)
{
    static const uint8_t patches[] = { 0x30, 0x00, 0x01, 0x40, 0x06, 0x80 };
    g_autofree uint8_t *h = g_malloc(RMM_MIG_HS_MAX);
    g_autofree uint8_t *a = g_malloc(RMM_MIG_HS_MAX);
    GByteArray *b;
    size_t hlen, alen;
    Realm s, d;

    fuzz_realm(&s, 1100, true);
    fuzz_realm(&d, 1101, false);
    g_assert_cmpint(mig_start(s.r, h, RMM_MIG_HS_MAX, &hlen, NULL), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_start(d.r, FUZZ_NR_RECS, pem_bytes(policy),
                                         policy->len, NULL), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(d.r, h, hlen, a, RMM_MIG_HS_MAX,
                                         &alen, NULL), ==, RMI_SUCCESS);
    b = g_byte_array_new();
    g_byte_array_append(b, (uint8_t[]){ FUZZ_MODE_HELLO }, 1);
    g_byte_array_append(b, h, hlen);
    write_seed(dir, "hello", b);
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, (uint8_t[]){ FUZZ_MODE_HELLO_PATCH }, 1);
    g_byte_array_append(b, patches, sizeof(patches));
    write_seed(dir, "hello-patch", b);
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, (uint8_t[]){ FUZZ_MODE_ACCEPT }, 1);
    g_byte_array_append(b, a, alen);
    write_seed(dir, "accept", b);
    g_byte_array_unref(b);
    realm_free(&s);
    realm_free(&d);
}

static int write_corpus(const char *dir)
{
    GPtrArray *st;
    GByteArray *b;
    RmmMigKeys k;
    unsigned i, cut;
    char name[64];
    size_t len;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_printerr("%s: %s\n", dir, g_strerror(errno));
        return 1;
    }
    st = fuzz_stream();
    /* Raw: the whole stream, and prefixes of it. */
    for (cut = st->len; cut > 0; cut = cut > 4 ? cut - 3 : 0) {
        b = g_byte_array_new();
        g_byte_array_append(b, (uint8_t[]){ FUZZ_MODE_RAW }, 1);
        for (i = 0; i < cut; i++) {
            const uint8_t *p = rdata(st, i, &len);

            g_byte_array_append(b, p, len);
        }
        snprintf(name, sizeof(name), "raw-%02u", cut);
        write_seed(dir, name, b);
        g_byte_array_unref(b);
    }
    /* Sealed: the plaintexts, re-sealed by the harness. */
    host_keys(&k, fuzz_mig_key, rdata(st, 0, &len) + HDR);
    b = g_byte_array_new();
    g_byte_array_append(b, (uint8_t[]){ FUZZ_MODE_SEALED }, 1);
    for (i = 0; i < st->len; i++) {
        sealed_chunk(b, &k, st, i);
        if (rtype(st, i) == RMM_MIG_RT_EPOCH || i + 1 == st->len) {
            snprintf(name, sizeof(name), "sealed-%02u", i + 1);
            write_seed(dir, name, b);
        }
    }
    g_byte_array_unref(b);
    rmm_mig_keys_wipe(&k);
    write_hs_seeds(dir);
    g_print("seed corpus of %u records written to %s\n", st->len, dir);
    g_ptr_array_unref(st);
    return 0;
}

/* ---- Parallel lanes ---- */

static unsigned rlane(GPtrArray *st, unsigned i)
{
    size_t len;

    return rdata(st, i, &len)[RMM_MIG_HDR_LANE];
}

static GPtrArray *lane_stream[RMM_MIG_LANES_MAX + 1];

/* The stream of the reference migration with DATA on @lanes lanes. */
static GPtrArray *lane_reference(unsigned lanes)
{
    Realm s;

    if (!lane_stream[lanes]) {
        lane_stream[lanes] = stream_new();
        source_new(&s, RMI_HASH_SHA256, 110 + lanes);
        driver_lanes = lanes;
        migrate_out(&s, lane_stream[lanes], 0);
        driver_lanes = 0;
        realm_free(&s);
    }
    return lane_stream[lanes];
}

/*
 * @st with the lane records of each epoch in reverse order, all moved
 * just before the EPOCH that closes their epoch (past lane 0's RIPAS
 * records of the epoch): an order the host's connections may produce.
 */
static GPtrArray *lanes_moved(GPtrArray *st)
{
    GPtrArray *out = stream_new(), *held = g_ptr_array_new();
    unsigned i;

    for (i = 0; i < st->len; i++) {
        if (rlane(st, i)) {
            g_ptr_array_add(held, st->pdata[i]);
            continue;
        }
        if (rtype(st, i) == RMM_MIG_RT_EPOCH) {
            while (held->len) {
                g_ptr_array_add(out, g_bytes_ref(g_ptr_array_steal_index(
                                    held, held->len - 1)));
            }
        }
        g_ptr_array_add(out, g_bytes_ref(st->pdata[i]));
    }
    g_assert_cmpuint(held->len, ==, 0);
    g_ptr_array_unref(held);
    return out;
}

/*
 * A migration whose DATA goes on 2 or 4 lanes: every DATA record is on
 * a lane 1..n (several in use), everything else on lane 0; no (lane,
 * sequence number) pair is used twice, so no nonce is; the destination
 * takes the lane records out of order (each epoch's reversed, past the
 * epoch's RIPAS records) and ends with the source's realm.
 */
static void test_lanes_round_trip(gconstpointer data)
{
    unsigned lanes = GPOINTER_TO_UINT(data), i, u, used = 0;
    GPtrArray *st = lane_reference(lanes), *mine, *moved;
    GHashTable *nonces = g_hash_table_new(g_int64_hash, g_int64_equal);
    GArray *keys = g_array_sized_new(false, false, sizeof(gint64), 4096);
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    RmmMigStats ss, ds;
    char *err = NULL;
    Realm s, d;

    for (i = 0; i < st->len; i++) {
        unsigned lane = rlane(st, i), type = rtype(st, i);
        unsigned units = type == RMM_MIG_RT_DATA ? rcount(st, i) : 1;

        if (type == RMM_MIG_RT_DATA) {
            g_assert_cmpuint(lane, >=, 1);
            g_assert_cmpuint(lane, <=, lanes);
            used |= 1u << lane;
            /* Lanes start after epoch 0 (the IMMUTABLE and RIPAS map). */
            g_assert_cmpuint(repoch(st, i), >=, 1);
        } else {
            g_assert_cmpuint(lane, ==, 0);
        }
        for (u = 0; u < units; u++) {
            gint64 nonce = (gint64)lane << 56 | (rseq(st, i) + u);

            g_array_append_val(keys, nonce);
        }
    }
    for (i = 0; i < keys->len; i++) {
        gint64 *k = &g_array_index(keys, gint64, i);

        g_assert_false(g_hash_table_contains(nonces, k));
        g_hash_table_add(nonces, k);
    }
    g_assert_cmpuint(__builtin_popcount(used), >=, 2);
    g_hash_table_unref(nonces);
    g_array_unref(keys);

    /* The source of lane_reference(), again: same realm, same workload. */
    source_new(&s, RMI_HASH_SHA256, 120 + lanes);
    driver_lanes = lanes;
    mine = stream_new();
    migrate_out(&s, mine, 0);
    driver_lanes = 0;
    moved = lanes_moved(mine);
    dest_new(&d, RMI_HASH_SHA256, 130 + lanes);
    import_all(&d, moved);
    assert_same(&s, &d);
    rmm_mig_stats(s.r, &ss);
    rmm_mig_stats(d.r, &ds);
    g_assert_cmpuint(ds.epoch, ==, ss.epoch);
    g_assert_cmpuint(ds.data_granules, ==, ss.data_granules);
    g_assert_cmpuint(ds.total_bytes, ==, ss.total_bytes);
    g_assert_cmpint(rmm_mig_import_commit(d.r, token, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_commit_ack(s.r, token), ==, RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
    g_ptr_array_unref(mine);
    g_ptr_array_unref(moved);
}

typedef struct LaneImport {
    RmmRealm *r;
    GPtrArray *st;
    GArray *idx;                /* records of @st to import */
    unsigned from, step;        /* this thread's: from, from + step, ... */
} LaneImport;

static gpointer lane_import_thread(gpointer data)
{
    LaneImport *li = data;
    RmmMigImported out;
    char *err = NULL;
    unsigned k;

    for (k = li->from; k < li->idx->len; k += li->step) {
        g_assert_cmpint(import_one(li->r, li->st,
                                   g_array_index(li->idx, unsigned, k), &out,
                                   &err), ==, RMI_SUCCESS);
        g_assert_cmpuint(out.granules, >, 0);
    }
    return NULL;
}

/*
 * Lane records imported by 4 threads at once (each epoch's, before its
 * EPOCH), lane 0's by this one: the RMM opens them in parallel and the
 * realm arrives whole.
 */
static void test_lanes_parallel_import(void)
{
    GPtrArray *st = lane_reference(4);
    GArray *idx = g_array_new(false, false, sizeof(unsigned));
    LaneImport li[4];
    GThread *th[4];
    RmmMigImported out;
    RmmMigStats ds, ss;
    char *err = NULL;
    unsigned i, t;
    Realm d;

    dest_new(&d, RMI_HASH_SHA256, 140);
    g_assert_cmpint(host_import_start(d.r, NRECS, policy, key), ==,
                    RMI_SUCCESS);
    for (i = 0; i < st->len; i++) {
        if (rlane(st, i)) {
            g_array_append_val(idx, i);
            continue;
        }
        if (rtype(st, i) == RMM_MIG_RT_EPOCH && idx->len) {
            for (t = 0; t < 4; t++) {
                li[t] = (LaneImport){ d.r, st, idx, t, 4 };
                th[t] = g_thread_new("lane-import", lane_import_thread,
                                     &li[t]);
            }
            for (t = 0; t < 4; t++) {
                g_thread_join(th[t]);
            }
            g_array_set_size(idx, 0);
        }
        if (import_one(d.r, st, i, &out, &err) != RMI_SUCCESS) {
            g_error("record %u: %s", i, err);
        }
    }
    rmm_mig_stats(d.r, &ds);
    ss.data_granules = 0;
    for (i = 0; i < st->len; i++) {
        ss.data_granules += rtype(st, i) == RMM_MIG_RT_DATA ? rcount(st, i)
                                                            : 0;
    }
    g_assert_cmpuint(ds.data_granules, ==, ss.data_granules);
    g_assert_cmpint(rmm_mig_import_commit(d.r, (uint8_t[32]){ 0 }, &err), ==,
                    RMI_SUCCESS);
    g_array_unref(idx);
    realm_free(&d);
}

/* ---- Lanes racing the host's commands ---- */

/*
 * Runs until RACE_HITS of them had the host's command land while the
 * lane was in flight (the window is short: on a busy machine most runs
 * miss it), RACE_RUNS at most.
 */
#define RACE_HITS   10
#define RACE_RUNS   400

/*
 * A source in epoch 1, @st holding what went before (IMMUTABLE, epoch
 * 0), with 64 granules the destination has not seen assigned at @ipas:
 * those above RAM0_RIPAS, made RIPAS RAM, assigned and written.
 */
static void race_source(Realm *s, GPtrArray *st, uint64_t *ipas)
{
    size_t len;
    unsigned i;

    source_new(s, RMI_HASH_SHA256, 150);
    g_assert_cmpint(host_export_start(s->r, policy, key), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_export_immutable(s->r, xbuf, RMM_MIG_RECORD_MAX,
                                             &len), ==, RMI_SUCCESS);
    push(st, len);
    export_ripas(s->r, st);
    export_all(s->r, st);
    export_epoch(s->r, st);
    set_ripas(s, 0, RAM0 + RAM0_RIPAS, RAM0 + RAM0_SIZE, RMI_RIPAS_RAM);
    for (i = 0; i < RMM_MIG_BATCH_MAX; i++) {
        ipas[i] = RAM0 + RAM0_RIPAS + i * G;
        g_assert_cmpint(rmm_data_create_unknown(s->r, ipas[i]), ==,
                        RMI_SUCCESS);
        fill(store_at(s, ipas[i]), ipas[i]);
        rmm_mig_log_write(s->r, ipas[i], G);
    }
}

/* Seal the 64 granules on lane 1; the record (g_free it), *@len. */
static uint8_t *race_lane_record(Realm *s, const uint64_t *ipas, size_t *len)
{
    unsigned n;

    g_assert_cmpint(rmm_mig_export_data_lane(s->r, 1, ipas,
                                             RMM_MIG_BATCH_MAX, xbuf,
                                             RMM_MIG_RECORD_MAX, len, &n),
                    ==, RMI_SUCCESS);
    g_assert_cmpuint(n, ==, RMM_MIG_BATCH_MAX);
    return g_memdup2(xbuf, *len);
}

/* A destination that imported @st: the lane record comes next. */
static void race_dest(Realm *d, GPtrArray *st, uint16_t vmid)
{
    RmmMigImported out;
    char *err = NULL;
    unsigned i;

    dest_new(d, RMI_HASH_SHA256, vmid);
    g_assert_cmpint(host_import_start(d->r, NRECS, policy, key), ==,
                    RMI_SUCCESS);
    for (i = 0; i < st->len; i++) {
        g_assert_cmpint(import_one(d->r, st, i, &out, &err), ==,
                        RMI_SUCCESS);
    }
}

/* A lane's command, run in a thread of its own. */
typedef struct Race {
    RmmRealm *r;
    const uint8_t *rec;         /* import this record, or */
    const uint64_t *ipas;       /* export these granules on lane 1 */
    uint8_t *out;
    size_t len;
    RmiStatus ret;
    gint done;
} Race;

static gpointer race_lane(gpointer data)
{
    Race *x = data;
    RmmMigImported imported;
    char *err = NULL;
    unsigned n;

    if (x->rec) {
        x->ret = host_import_record(x->r, x->rec, x->len, &imported, &err);
    } else {
        x->ret = rmm_mig_export_data_lane(x->r, 1, x->ipas,
                                          RMM_MIG_BATCH_MAX, x->out,
                                          RMM_MIG_RECORD_MAX, &x->len, &n);
    }
    g_free(err);
    g_atomic_int_set(&x->done, 1);
    return NULL;
}

/*
 * Start @x's lane; true once it is in flight (its granules opened or
 * sealed without the realm lock), false if it was over before this
 * thread saw it in flight.
 */
static bool race_start(Race *x, GThread **th)
{
    unsigned inflight;

    *th = g_thread_new("race-lane", race_lane, x);
    for (;;) {
        g_mutex_lock(&x->r->lock);
        inflight = x->r->mig.inflight;
        g_mutex_unlock(&x->r->lock);
        if (inflight) {
            return true;
        }
        if (g_atomic_int_get(&x->done)) {
            return false;
        }
    }
}

/*
 * What the host does while a lane opens the record into destination @d
 * (run @run; @s is the source, @ipas the record's granules), and checks
 * after the lane (@ret) is done.
 */
typedef struct RaceHost {
    const char *what;
    void (*during)(Realm *d, const uint64_t *ipas, unsigned run,
                   void **state);
    void (*after)(Realm *d, Realm *s, const uint64_t *ipas, unsigned run,
                  RmiStatus ret, void *state);
} RaceHost;

/*
 * A lane's record imported into a fresh destination, over and over,
 * until RACE_HITS runs had @h's command land while the lane was in
 * flight.
 */
static void race_import(const RaceHost *h)
{
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    GPtrArray *st = stream_new();
    unsigned run, hits = 0;
    uint8_t *lane;
    size_t len;
    Realm s;

    race_source(&s, st, ipas);
    lane = race_lane_record(&s, ipas, &len);
    for (run = 0; run < RACE_RUNS && hits < RACE_HITS; run++) {
        Race x = { .rec = lane, .len = len };
        void *state = NULL;
        GThread *th;
        Realm d;

        race_dest(&d, st, 160);
        x.r = d.r;
        g_assert_cmpint(rmm_granule_state(d.r, ipas[63]), ==,
                        RMM_GRANULE_DELEGATED);
        if (!race_start(&x, &th)) {
            g_thread_join(th);
            realm_free(&d);
            continue;
        }
        hits++;
        h->during(&d, ipas, run, &state);
        g_thread_join(th);
        h->after(&d, &s, ipas, run, x.ret, state);
        realm_free(&d);
    }
    g_test_message("%u of %u runs %s while the lane was in flight", hits,
                   run, h->what);
    g_assert_cmpuint(hits, >, 0);
    g_free(lane);
    realm_free(&s);
    g_ptr_array_unref(st);
}

static void race_undelegate(Realm *d, const uint64_t *ipas, unsigned run,
                            void **state)
{
    *state = GINT_TO_POINTER(rmm_granule_undelegate(d->r, ipas[63]));
}

static void race_undelegate_after(Realm *d, Realm *s, const uint64_t *ipas,
                                  unsigned run, RmiStatus ret, void *state)
{
    if (GPOINTER_TO_INT(state) == RMI_SUCCESS) {
        g_error("run %u: the host took back a granule a lane was opening "
                "the realm's data into", run);
    }
    g_assert_cmpint(ret, ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_state(d->r, ipas[63]), ==,
                    RMM_GRANULE_DATA);
    g_assert_cmpmem(store_at(d, ipas[63]), G, store_at(s, ipas[63]), G);
}

/*
 * The host undelegates a granule while a lane opens the realm's data
 * into it: it must not get it back (it would hold the realm's
 * plaintext).  The lane made the granule the realm's before it let go of
 * the lock; the undelegate waits for the lane and fails.
 */
static void test_lanes_undelegate_race(void)
{
    static const RaceHost h = {
        "undelegated", race_undelegate, race_undelegate_after,
    };

    race_import(&h);
}

static void race_destroy(Realm *d, const uint64_t *ipas, unsigned run,
                         void **state)
{
    rmm_realm_destroy(d->r);
    d->r = NULL;
}

static void race_destroy_after(Realm *d, Realm *s, const uint64_t *ipas,
                               unsigned run, RmiStatus ret, void *state)
{
    g_assert_cmpint(ret, ==, RMI_SUCCESS);
    if (!all_zero(d->store[0], RAM0_SIZE) ||
        !all_zero(d->store[1], RAM1_SIZE)) {
        g_error("run %u: the realm's data landed in memory its destroy "
                "had scrubbed and given back", run);
    }
}

/*
 * The host destroys the destination realm while a lane opens into it:
 * the destroy waits for the lane, so that nothing is written into the
 * memory after it was scrubbed and handed back, and the lane never uses
 * a freed realm.
 */
static void test_lanes_destroy_race(void)
{
    static const RaceHost h = {
        "destroyed the realm", race_destroy, race_destroy_after,
    };

    race_import(&h);
}

/*
 * The host destroys a granule (DATA_DESTROY, which scrubs it) while a
 * lane of the source seals it: the destroy waits, the record carries
 * the granule whole, and the granule is scrubbed and DESTROYED after.
 */
static void test_lanes_export_destroy_race(void)
{
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    uint8_t want[G], *pt;
    RmmMigKeys k;
    unsigned run, hits = 0;
    size_t pt_len;

    for (run = 0; run < RACE_RUNS && hits < RACE_HITS; run++) {
        GPtrArray *st = stream_new();
        Race x = { .ipas = ipas, .out = g_malloc(RMM_MIG_RECORD_MAX) };
        GThread *th;
        RmiStatus u;
        Realm s;

        race_source(&s, st, ipas);
        x.r = s.r;
        memcpy(want, store_at(&s, ipas[63]), G);
        if (!race_start(&x, &th)) {
            g_thread_join(th);
            goto next;
        }
        hits++;
        u = rmm_data_destroy(s.r, ipas[63]);
        g_thread_join(th);
        g_assert_cmpint(u, ==, RMI_SUCCESS);
        g_assert_cmpint(x.ret, ==, RMI_SUCCESS);
        g_assert_true(all_zero(store_at(&s, ipas[63]), G));
        g_ptr_array_add(st, g_bytes_new(x.out, x.len));
        stream_keys(st, &k);
        pt = open_pt(&k, st, st->len - 1, &pt_len);
        g_assert_cmpuint(pt_len, ==, RMM_MIG_BATCH_MAX * (8 + G));
        if (memcmp(pt + 63 * (8 + G) + 8, want, G)) {
            g_error("run %u: the granule changed while a lane sealed it",
                    run);
        }
        g_free(pt);
        rmm_mig_keys_wipe(&k);
next:
        g_free(x.out);
        realm_free(&s);
        g_ptr_array_unref(st);
    }
    g_test_message("%u of %u runs destroyed the granule while the lane was "
                   "in flight", hits, run);
    g_assert_cmpuint(hits, >, 0);
}

/* The @nth record on a lane other than 0. */
static unsigned find_lane(GPtrArray *st, unsigned nth)
{
    unsigned i;

    for (i = 0; i < st->len; i++) {
        if (rlane(st, i) && nth-- == 0) {
            return i;
        }
    }
    g_assert_not_reached();
}

/* The EPOCH record after record @i. */
static unsigned next_epoch(GPtrArray *st, unsigned i)
{
    while (rtype(st, i) != RMM_MIG_RT_EPOCH || rlane(st, i)) {
        i++;
    }
    return i;
}

/*
 * What the host gains by dropping, duplicating, delaying, replaying or
 * moving a lane's DATA record: nothing, the import fails.
 */
static void test_lanes_reject(void)
{
    GPtrArray *ref = lane_reference(2), *st;
    unsigned i = find_lane(ref, 3), e = next_epoch(ref, i);
    const uint8_t *p;
    size_t len;

    /* Duplicated at once: its granules were written in this epoch. */
    st = stream_copy(ref);
    g_ptr_array_insert(st, i + 1, g_bytes_ref(st->pdata[i]));
    expect_reject(st, i + 1, "already sent in epoch");
    g_ptr_array_unref(st);
    /* Dropped: the EPOCH's granule count does not match. */
    st = stream_copy(ref);
    g_ptr_array_remove_index(st, i);
    expect_reject(st, e - 1, "granule count");
    g_ptr_array_unref(st);
    /* Delayed past its EPOCH (the count fails there)... */
    st = stream_copy(ref);
    g_ptr_array_insert(st, e + 1, g_bytes_ref(st->pdata[i]));
    g_ptr_array_remove_index(st, i);
    expect_reject(st, e - 1, "granule count");
    g_ptr_array_unref(st);
    /* ...or replayed in the next epoch: not its epoch. */
    st = stream_copy(ref);
    g_ptr_array_insert(st, e + 1, g_bytes_ref(st->pdata[i]));
    expect_reject(st, e + 1, "a lane's DATA is taken in its own epoch");
    g_ptr_array_unref(st);
    /* Moved to another lane: the lane is in the nonce and the AAD. */
    st = stream_copy(ref);
    p = rdata(st, i, &len);
    memcpy(xbuf, p, len);
    xbuf[RMM_MIG_HDR_LANE] ^= 3;
    put(st, i, xbuf, len);
    expect_reject(st, i, "authentication failed");
    /* Moved to lane 0: out of lane 0's sequence. */
    xbuf[RMM_MIG_HDR_LANE] = 0;
    put(st, i, xbuf, len);
    expect_reject(st, i, "sequence number");
    g_ptr_array_unref(st);
}

/*
 * A lane is not ordered with lane 0: the destination refuses a lane's
 * DATA for a granule whose RIPAS came in the same epoch, and a RIPAS run
 * for a granule whose DATA came on a lane in it (a source that knows the
 * key forges them; the exporter never makes them).
 */
static void test_lanes_ripas_rule(void)
{
    GPtrArray *ref = lane_reference(2), *st;
    uint8_t pt[8 + G];
    RmmMigKeys k;
    size_t pt_len, len;
    uint8_t *rpt;
    unsigned i, r;
    uint64_t gpa;

    stream_keys(ref, &k);
    /* A RIPAS record after epoch 0 (the workload's change), its granule */
    for (r = 0; r < ref->len; r++) {
        if (rtype(ref, r) == RMM_MIG_RT_RIPAS && repoch(ref, r) >= 1) {
            break;
        }
    }
    g_assert_cmpuint(r, <, ref->len);
    rpt = open_pt(&k, ref, r, &pt_len);
    gpa = rmi_ld64(rpt + 8);
    memset(pt, 0, sizeof(pt));
    rmi_st64(pt, gpa | RMI_RIPAS_RAM);
    len = rmm_mig_seal_data_lane(&k, 1, repoch(ref, r), 1u << 30, pt,
                                 sizeof(pt), xbuf, RMM_MIG_RECORD_MAX);
    g_assert_cmpuint(len, >, 0);
    st = stream_copy(ref);
    g_ptr_array_insert(st, r + 1, g_bytes_new(xbuf, len));
    expect_reject(st, r + 1, "had its RIPAS in epoch");
    g_ptr_array_unref(st);
    g_free(rpt);

    /* A lane's DATA granule, then a RIPAS run for it in the same epoch. */
    i = find_lane(ref, 0);
    gpa = rmi_ld64(rdata(ref, i, &len) + HDR + 4) & ~(uint64_t)(G - 1);
    r = next_epoch(ref, i);
    memset(pt, 0, sizeof(pt));
    rmi_st32(pt, 1);
    rmi_st64(pt + 8, gpa);
    rmi_st32(pt + 16, 1);
    pt[20] = RMI_RIPAS_EMPTY;
    len = rmm_mig_seal_record(&k, RMM_MIG_RT_RIPAS, repoch(ref, i),
                              rseq(ref, r), pt, 24, xbuf,
                              RMM_MIG_RECORD_MAX);
    g_assert_cmpuint(len, >, 0);
    st = stream_copy(ref);
    g_ptr_array_insert(st, r, g_bytes_new(xbuf, len));
    expect_reject(st, r, "whose DATA came on a lane");
    g_ptr_array_unref(st);
    rmm_mig_keys_wipe(&k);
}

int main(int argc, char **argv)
{
    RmmPlatformFeatures features;
    int ret;

    pki_new(&pki);
    policy = pki_policy((const Cred *[]) { &pki.ca }, 1);
    plat = pki_platform(&pki.plat, &pki.ca);
    rmm_platform_set_counter(plat, read_counter, &counter);
    g_assert_nonnull(plat);
    /* It offers SVE and a PMU: a destination realm may differ in them. */
    rmm_platform_get_features(plat, &features);
    features.sve = true;
    features.sve_vl = 15;
    features.pmu = true;
    features.pmu_num_ctrs = 31;
    g_assert_true(rmm_platform_set_features(plat, &features, NULL));
    xbuf = g_malloc0(RMM_MIG_RECORD_MAX + 1);
    if (argc == 3 && !strcmp(argv[1], "--write-corpus")) {
        ret = write_corpus(argv[2]);
        goto out;
    }
    g_test_init(&argc, &argv, NULL);

    g_test_add_data_func("/rmm/mig/round-trip/sha256",
                         GINT_TO_POINTER(RMI_HASH_SHA256), test_round_trip);
    g_test_add_data_func("/rmm/mig/round-trip/sha512",
                         GINT_TO_POINTER(RMI_HASH_SHA512), test_round_trip);
    g_test_add_func("/rmm/mig/migrate-twice", test_migrate_twice);
    g_test_add_func("/rmm/mig/first-send-cost", test_first_send_cost);
    g_test_add_data_func("/rmm/mig/lanes/round-trip/2", GUINT_TO_POINTER(2),
                         test_lanes_round_trip);
    g_test_add_data_func("/rmm/mig/lanes/round-trip/4", GUINT_TO_POINTER(4),
                         test_lanes_round_trip);
    g_test_add_func("/rmm/mig/lanes/parallel-import",
                    test_lanes_parallel_import);
    g_test_add_func("/rmm/mig/lanes/reject", test_lanes_reject);
    g_test_add_func("/rmm/mig/lanes/ripas-rule", test_lanes_ripas_rule);
    g_test_add_func("/rmm/mig/lanes/undelegate-race",
                    test_lanes_undelegate_race);
    g_test_add_func("/rmm/mig/lanes/destroy-race", test_lanes_destroy_race);
    g_test_add_func("/rmm/mig/lanes/export-destroy-race",
                    test_lanes_export_destroy_race);
    g_test_add_func("/rmm/mig/attested/round-trip",
                    test_attested_round_trip);
    g_test_add_func("/rmm/mig/attested/replay", test_attested_replay);
    g_test_add_func("/rmm/mig/attested/second-destination",
                    test_attested_second_destination);
    g_test_add_func("/rmm/mig/attested/abort-after-end",
                    test_attested_abort_after_end);
    g_test_add_func("/rmm/mig/newest-wins", test_newest_wins);
    g_test_add_func("/rmm/mig/phase-notifier", test_phase_notifier);
    g_test_add_func("/rmm/mig/rec-in-open-epoch", test_rec_in_open_epoch);
    g_test_add_func("/rmm/mig/zero-granules", test_zero_granules);
    g_test_add_func("/rmm/mig/envelope", test_envelope);
    g_test_add_data_func("/rmm/mig/poisoned/lane0", GUINT_TO_POINTER(0),
                         test_poisoned_granules);
    g_test_add_data_func("/rmm/mig/poisoned/lanes", GUINT_TO_POINTER(2),
                         test_poisoned_granules);
    g_test_add_func("/rmm/mig/poisoned/in-flight", test_poisoned_in_flight);
    g_test_add_func("/rmm/mig/poisoned/frozen", test_poisoned_frozen);
    g_test_add_func("/rmm/mig/overhead", test_overhead);
    g_test_add_func("/rmm/mig/record-parse", test_record_parse);
    g_test_add_func("/rmm/mig/reject/data-bits", test_reject_data_bits);
    g_test_add_func("/rmm/mig/reject/unit-swap", test_reject_unit_swap);
    g_test_add_func("/rmm/mig/reject/record-swap", test_reject_record_swap);
    g_test_add_func("/rmm/mig/reject/drop", test_reject_drop);
    g_test_add_func("/rmm/mig/reject/duplicate", test_reject_duplicate);
    g_test_add_func("/rmm/mig/reject/replay", test_reject_replay);
    g_test_add_func("/rmm/mig/reject/other-session",
                    test_reject_other_session);
    g_test_add_func("/rmm/mig/reject/ripas", test_reject_ripas);
    g_test_add_func("/rmm/mig/reject/wrong-key", test_reject_wrong_key);
    g_test_add_func("/rmm/mig/reject/params", test_reject_params);
    g_test_add_func("/rmm/mig/reject/params-forged",
                    test_reject_params_forged);
    g_test_add_func("/rmm/mig/rec-arch", test_rec_arch);
    g_test_add_func("/rmm/mig/round-trip-features", test_round_trip_features);
    g_test_add_func("/rmm/mig/reject/truncated", test_reject_truncated);
    g_test_add_func("/rmm/mig/reject/header", test_reject_header);
    g_test_add_func("/rmm/mig/reject/order", test_reject_order);
    g_test_add_func("/rmm/mig/reject/bodies", test_reject_bodies);
    g_test_add_func("/rmm/mig/wipe/stack", test_wipe_stack);
    g_test_add_func("/rmm/mig/abort/running-paused",
                    test_abort_running_paused);
    g_test_add_func("/rmm/mig/abort/ended", test_abort_ended);
    g_test_add_func("/rmm/mig/commit-before-end", test_commit_before_end);
    g_test_add_func("/rmm/mig/import-phase", test_import_phase);
    g_test_add_func("/rmm/mig/export-errors", test_export_errors);
    g_test_add_func("/rmm/mig/dirty-log", test_dirty_log);
    g_test_add_func("/rmm/mig/destroy", test_destroy_phases);
    g_test_add_func("/rmm/mig/import-notifies", test_import_notifies);

    ret = g_test_run();
    if (ref_stream) {
        g_ptr_array_unref(ref_stream);
    }
out:
    g_free(xbuf);
    rmm_platform_free(plat);
    pki_free(&pki);
    g_string_free(policy, true);
    return ret;
}
