/*
 * Unit tests of the attested migration handshake (rmm-mig-handshake.c,
 * rmm-mig-ecdh.c): every way a HELLO or an ACCEPT can be refused.
 *
 * Two test CAs: CA 1 endorses the platforms "src" and "dst", CA 2 the
 * platform "rogue".  The realms' policy is CA 1 unless a test says
 * otherwise.  The tests of the policy's requirements (fitness of the
 * leaf certificate, pinned keys, platform token claims, policy text)
 * make platforms of their own.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <string.h>

#include <glib.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-mig.h"
#include "rmm-internal.h"       /* rmm_mig_may_run() */
#include "rmm-mig-ecdh.h"
#include "rmm-host.h"
#include "test-pki.h"

#define G           RMM_GRANULE_SIZE
#define RAM         0x40000000ULL
#define RAM_SIZE    (16 * G)
#define HDR         RMM_MIG_HEADER_SIZE

static Cred ca1, ca2, src_id, dst_id, rogue_id;
static RmmPlatform *src_plat, *dst_plat, *rogue_plat, *eph_plat;
static GString *policy1, *policy2, *policy12;
static uint8_t *hello, *accept;         /* RMM_MIG_HS_MAX bytes each */

typedef struct Realm {
    RmmRealm *r;
    uint8_t *store;
} Realm;

/* A realm of @plat with @policy and the feature parameters of @f. */
static void realm_new_with(Realm *t, RmmPlatform *plat,
                           const GString *policy, bool source,
                           const RmiRealmParams *f)
{
    static uint16_t vmid;
    RmiRealmParams p = {
        .ipa_width = 33, .hash_algo = RMI_HASH_SHA256, .vmid = ++vmid,
        .flags = f->flags, .sve_vl = f->sve_vl,
        /* Two of each unless @f says (0 is reserved) */
        .num_bps = f->num_bps ?: 1, .num_wps = f->num_wps ?: 1,
        .pmu_num_ctrs = f->pmu_num_ctrs,
    };
    uint64_t top;

    if (policy) {
        pki_policy_hash(policy, p.mig_policy);
    }
    g_assert_cmpint(rmm_realm_create(plat, &p, &t->r), ==, RMI_SUCCESS);
    t->store = g_malloc0(RAM_SIZE);
    g_assert_cmpint(rmm_realm_add_ram(t->r, RAM, RAM_SIZE, t->store), ==,
                    RMI_SUCCESS);
    g_assert_true(host_map(t->r, RAM, RAM_SIZE, 3));
    if (source) {
        g_assert_cmpint(rmm_rtt_init_ripas(t->r, RAM, RAM + RAM_SIZE, &top),
                        ==, RMI_SUCCESS);
        g_assert_cmpint(rmm_realm_activate(t->r), ==, RMI_SUCCESS);
    }
}

static void realm_new(Realm *t, RmmPlatform *plat, const GString *policy,
                      bool source)
{
    RmiRealmParams none = { 0 };

    realm_new_with(t, plat, policy, source, &none);
}

static void realm_free(Realm *t)
{
    rmm_realm_destroy(t->r);
    g_free(t->store);
}


static void expect_err(char *err, const char *words)
{
    g_assert_nonnull(err);
    if (!strstr(err, words)) {
        g_error("error '%s' does not say '%s'", err, words);
    }
    g_free(err);
}

static RmiStatus mig_start(Realm *s, const GString *policy, size_t *len,
                           char **err)
{
    return rmm_mig_export_start(s->r, pem_bytes(policy), policy->len, hello,
                                RMM_MIG_HS_MAX, len, err);
}

static RmiStatus imp_start(Realm *d, const GString *policy, char **err)
{
    return rmm_mig_import_start(d->r, 1, pem_bytes(policy), policy->len,
                                err);
}

/* MIG_START of @s with @policy: its HELLO in hello[]. */
static size_t start(Realm *s, const GString *policy)
{
    char *err = NULL;
    size_t len;

    g_assert_cmpint(mig_start(s, policy, &len, &err), ==,
                    RMI_SUCCESS);
    g_assert_null(err);
    return len;
}

/* @d answers hello[0..@hlen): its ACCEPT in accept[]. */
static size_t answer(Realm *d, const GString *policy, size_t hlen)
{
    char *err = NULL;
    size_t len;

    g_assert_cmpint(imp_start(d, policy, &err), ==,
                    RMI_SUCCESS);
    if (rmm_mig_import_hello(d->r, hello, hlen, accept, RMM_MIG_HS_MAX,
                             &len, &err) != RMI_SUCCESS) {
        g_error("HELLO refused: %s", err);
    }
    return len;
}

/* Without a policy a realm never migrates, in either direction. */
static void test_no_policy(void)
{
    char *err = NULL;
    Realm s, d;
    size_t len;

    realm_new(&s, src_plat, NULL, true);
    realm_new(&d, dst_plat, NULL, false);
    g_assert_cmpint(mig_start(&s, policy1, &len, &err), ==,
                    RMI_ERROR_REALM);
    expect_err(err, "the realm has no migration policy: it never migrates");
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_NONE);
    err = NULL;
    g_assert_cmpint(imp_start(&d, policy1, &err), ==,
                    RMI_ERROR_REALM);
    expect_err(err, "never migrates");
    realm_free(&s);
    realm_free(&d);
}

/* The host cannot pass another policy than the measured one. */
static void test_policy_not_measured(void)
{
    g_autoptr(GString) junk = g_string_new("not a certificate\n");
    uint8_t rim_a[RMM_HASH_MAX], rim_b[RMM_HASH_MAX];
    char *err = NULL;
    Realm s, j, n;
    size_t len;

    realm_new(&s, src_plat, policy1, true);
    g_assert_cmpint(mig_start(&s, policy12, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "the migration policy is not the realm's");
    err = NULL;
    g_assert_cmpint(rmm_mig_export_start(s.r, NULL, 0, hello,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "not the realm's");
    /* A measured policy that holds no certificate. */
    realm_new(&j, src_plat, junk, true);
    err = NULL;
    g_assert_cmpint(mig_start(&j, junk, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "holds no trust anchor");
    /* The policy is measured: another policy, another RIM. */
    realm_new(&n, src_plat, NULL, true);
    rmm_realm_measurement(s.r, 0, rim_a);
    rmm_realm_measurement(n.r, 0, rim_b);
    g_assert_true(memcmp(rim_a, rim_b, 32) != 0);
    rmm_realm_measurement(j.r, 0, rim_b);
    g_assert_true(memcmp(rim_a, rim_b, 32) != 0);
    realm_free(&s);
    realm_free(&j);
    realm_free(&n);
}

/* An ephemeral platform (no platform-identity) takes no part. */
static void test_no_identity(void)
{
    char *err = NULL;
    Realm s, d, e;
    size_t len, hlen;

    realm_new(&e, eph_plat, policy1, true);
    g_assert_cmpint(mig_start(&e, policy1, &len, &err), ==,
                    RMI_ERROR_REALM);
    expect_err(err, "this platform has no identity (platform-identity)");
    g_assert_cmpint(rmm_mig_phase(e.r), ==, RMM_MIG_NONE);
    realm_free(&e);

    realm_new(&s, src_plat, policy1, true);
    realm_new(&d, eph_plat, policy1, false);
    hlen = start(&s, policy1);
    err = NULL;
    g_assert_cmpint(imp_start(&d, policy1, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(d.r, hello, hlen, accept,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_REALM);
    expect_err(err, "no identity");
    realm_free(&s);
    realm_free(&d);
}

/* The two command lines name different policies. */
static void test_policy_mismatch(void)
{
    char *err = NULL;
    Realm s, d;
    size_t len, hlen;

    realm_new(&s, src_plat, policy1, true);
    realm_new(&d, dst_plat, policy12, false);
    hlen = start(&s, policy1);
    g_assert_cmpint(imp_start(&d, policy12, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(d.r, hello, hlen, accept,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "migration policy mismatch");
    /* One HELLO per import. */
    err = NULL;
    g_assert_cmpint(rmm_mig_import_hello(d.r, hello, hlen, accept,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_REALM);
    expect_err(err, "HELLO refused");
    realm_free(&s);
    realm_free(&d);
}

/*
 * A destination realm whose parameters differ from the source's refuses
 * its HELLO (before any record of the realm's memory could follow),
 * naming the parameter and its own value in its own terms.
 */
static void test_params_mismatch(void)
{
    static const struct {
        RmiRealmParams src, dst;
        const char *words;
    } cases[] = {
        { { .flags = RMI_REALM_FLAGS_SVE, .sve_vl = 3 },
          { .flags = RMI_REALM_FLAGS_SVE, .sve_vl = 1 },
          "HELLO: sve_vl mismatch (the destination's is 1: 256-bit "
          "vectors)" },
        { { .flags = RMI_REALM_FLAGS_SVE, .sve_vl = 3 }, { 0 },
          "HELLO: sve_vl mismatch (the destination's realm has no SVE)" },
        { { .flags = RMI_REALM_FLAGS_PMU, .pmu_num_ctrs = 6 },
          { .flags = RMI_REALM_FLAGS_PMU, .pmu_num_ctrs = 4 },
          "HELLO: pmu_num_ctrs mismatch (the destination's is 4: 4 event "
          "counters)" },
        { { .num_bps = 5, .num_wps = 3 }, { .num_bps = 1, .num_wps = 3 },
          "HELLO: num_bps mismatch (the destination's is 1: 2 "
          "breakpoints)" },
        { { .num_bps = 5, .num_wps = 3 }, { .num_bps = 5, .num_wps = 15 },
          "HELLO: num_wps mismatch (the destination's is 15: 16 "
          "watchpoints)" },
        { { .flags = RMI_REALM_FLAGS_LPA2 }, { 0 },
          "HELLO: flags mismatch (the destination's is 0x0)" },
    };
    unsigned c;

    for (c = 0; c < G_N_ELEMENTS(cases); c++) {
        char *err = NULL;
        size_t len, hlen;
        Realm s, d;

        realm_new_with(&s, src_plat, policy1, true, &cases[c].src);
        realm_new_with(&d, dst_plat, policy1, false, &cases[c].dst);
        hlen = start(&s, policy1);
        g_assert_cmpint(imp_start(&d, policy1, &err), ==, RMI_SUCCESS);
        g_assert_cmpint(rmm_mig_import_hello(d.r, hello, hlen, accept,
                                             RMM_MIG_HS_MAX, &len, &err),
                        ==, RMI_ERROR_INPUT);
        expect_err(err, cases[c].words);
        realm_free(&s);
        realm_free(&d);
    }
    /* The same parameters, features and all: the handshake completes. */
    {
        char *err = NULL;
        size_t hlen, alen;
        Realm s, d;

        realm_new_with(&s, src_plat, policy1, true, &cases[0].src);
        realm_new_with(&d, dst_plat, policy1, false, &cases[0].src);
        hlen = start(&s, policy1);
        alen = answer(&d, policy1, hlen);
        g_assert_cmpint(rmm_mig_export_accept(s.r, accept, alen, &err), ==,
                        RMI_SUCCESS);
        realm_free(&s);
        realm_free(&d);
    }
}

/* A source platform the destination's policy does not admit. */
static void test_source_outside_policy(void)
{
    char *err = NULL;
    Realm s, d;
    size_t len, hlen;

    realm_new(&s, rogue_plat, policy1, true);
    realm_new(&d, dst_plat, policy1, false);
    hlen = start(&s, policy1);
    g_assert_cmpint(imp_start(&d, policy1, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(d.r, hello, hlen, accept,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "the source platform's identity does not chain to a "
               "trust anchor of the realm's migration policy");
    realm_free(&s);
    realm_free(&d);
}

/* A destination platform the realm's policy does not admit. */
static void test_destination_outside_policy(void)
{
    uint8_t buf[4096];
    char *err = NULL;
    Realm s, d;
    size_t len, alen;

    realm_new(&s, src_plat, policy1, true);
    realm_new(&d, rogue_plat, policy1, false);
    alen = answer(&d, policy1, start(&s, policy1));
    g_assert_cmpint(rmm_mig_export_accept(s.r, accept, alen, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "the destination platform's identity does not chain");
    /* Nothing is sealed in that session; the realm still runs. */
    g_assert_cmpint(rmm_mig_export_immutable(s.r, buf, sizeof(buf), &len),
                    ==, RMI_ERROR_REALM);
    g_assert_true(rmm_mig_may_run(s.r));
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
}

/* A policy of two anchors admits platforms of either. */
static void test_two_anchors(void)
{
    char *err = NULL;
    Realm s, d;
    size_t alen;

    realm_new(&s, src_plat, policy12, true);
    realm_new(&d, rogue_plat, policy12, false);
    alen = answer(&d, policy12, start(&s, policy12));
    g_assert_cmpint(rmm_mig_export_accept(s.r, accept, alen, &err), ==,
                    RMI_SUCCESS);
    g_assert_null(err);
    realm_free(&s);
    realm_free(&d);
}

/* Bytes of a message worth flipping: the first 400, then every 11th. */
static bool flip_here(size_t i)
{
    return i < 400 || i % 11 == 0;
}

/* Any change to a HELLO makes the destination refuse it. */
static void test_tamper_hello(void)
{
    g_autofree uint8_t *orig = NULL;
    size_t hlen, len, i;
    Realm s, d;

    realm_new(&s, src_plat, policy1, true);
    hlen = start(&s, policy1);
    orig = g_memdup2(hello, hlen);
    for (i = 0; i < hlen; i++) {
        char *err = NULL;

        if (!flip_here(i)) {
            continue;
        }
        memcpy(hello, orig, hlen);
        hello[i] ^= 0x01 << (i % 8);
        realm_new(&d, dst_plat, policy1, false);
        g_assert_cmpint(imp_start(&d, policy1, &err),
                        ==, RMI_SUCCESS);
        if (rmm_mig_import_hello(d.r, hello, hlen, accept, RMM_MIG_HS_MAX,
                                 &len, &err) == RMI_SUCCESS) {
            g_error("HELLO with byte %zu changed accepted", i);
        }
        g_assert_nonnull(err);
        g_free(err);
        realm_free(&d);
    }
    /* Truncated, and one byte more. */
    for (len = 0; len <= hlen + 1; len += len < HDR + 200 ? 1 : 97) {
        char *err = NULL;
        size_t out;

        memcpy(hello, orig, hlen);
        realm_new(&d, dst_plat, policy1, false);
        g_assert_cmpint(imp_start(&d, policy1, &err),
                        ==, RMI_SUCCESS);
        g_assert_cmpint(rmm_mig_import_hello(d.r, hello, len == hlen ?
                                             hlen + 1 : len, accept,
                                             RMM_MIG_HS_MAX, &out, &err),
                        ==, RMI_ERROR_INPUT);
        g_free(err);
        realm_free(&d);
    }
    realm_free(&s);
}

/* Any change to an ACCEPT makes the source refuse it. */
static void test_tamper_accept(void)
{
    size_t alen = 0, i;
    Realm s, d;

    realm_new(&s, src_plat, policy1, true);
    for (i = 0; i == 0 || i < alen; i++) {
        char *err = NULL;

        if (!flip_here(i) || (i >= 32 && i % 3)) {
            continue;
        }
        realm_new(&d, dst_plat, policy1, false);
        alen = answer(&d, policy1, start(&s, policy1));
        accept[i] ^= 0x80 >> (i % 8);
        if (rmm_mig_export_accept(s.r, accept, alen, &err) == RMI_SUCCESS) {
            g_error("ACCEPT with byte %zu changed accepted", i);
        }
        g_assert_nonnull(err);
        g_free(err);
        g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
        realm_free(&d);
    }
    realm_free(&s);
}

/* Messages in the wrong place: swapped, old, out of turn. */
static void test_out_of_place(void)
{
    g_autofree uint8_t *old = NULL;
    RmmMigImported imp;
    size_t hlen, alen, len;
    char *err = NULL;
    Realm s, d, e;

    realm_new(&s, src_plat, policy1, true);
    realm_new(&d, dst_plat, policy1, false);
    hlen = start(&s, policy1);
    /* A record before the HELLO; the HELLO as an ACCEPT. */
    g_assert_cmpint(imp_start(&d, policy1, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_record(d.r, hello, hlen, &imp, &err), ==,
                    RMI_ERROR_REALM);
    expect_err(err, "no handshake (HELLO) yet");
    err = NULL;
    g_assert_cmpint(rmm_mig_export_accept(s.r, hello, hlen, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "expected ACCEPT, got HELLO");
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    realm_free(&d);

    /* An ACCEPT of an earlier session of the same realm. */
    realm_new(&d, dst_plat, policy1, false);
    alen = answer(&d, policy1, start(&s, policy1));
    old = g_memdup2(accept, alen);
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    start(&s, policy1);
    err = NULL;
    g_assert_cmpint(rmm_mig_export_accept(s.r, old, alen, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "the ACCEPT answers another HELLO");
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);

    /* No buffer at all (found by the fuzzer: an error, explained). */
    realm_new(&e, dst_plat, policy1, false);
    err = NULL;
    g_assert_cmpint(imp_start(&e, policy1, &err), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(e.r, NULL, 0, accept,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "no buffer");
    realm_free(&e);
    start(&s, policy1);
    err = NULL;
    g_assert_cmpint(rmm_mig_export_accept(s.r, NULL, 0, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "no buffer");
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);

    /* An ACCEPT given as a HELLO. */
    realm_new(&e, dst_plat, policy1, false);
    err = NULL;
    g_assert_cmpint(imp_start(&e, policy1, &err), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_mig_import_hello(e.r, old, alen, accept,
                                         RMM_MIG_HS_MAX, &len, &err), ==,
                    RMI_ERROR_INPUT);
    expect_err(err, "expected HELLO, got ACCEPT");
    realm_free(&e);
    realm_free(&d);
    realm_free(&s);
}

/* ---- The policy's requirements ---- */

#define EKU_SERVER_AUTH     "1.3.6.1.5.5.7.3.1"
#define EKU_OTHER           "1.3.6.1.4.1.99999.7.1"
#define REQ_BEGIN           "-----BEGIN CCA MIGRATION REQUIREMENTS-----\n"
#define REQ_END             "-----END CCA MIGRATION REQUIREMENTS-----\n"

/*
 * A policy: CA 1 as anchor (if @anchor), the keys of @pins[0..@n) and
 * requirements @req (NULL: no block).
 */
static GString *policy_of(bool anchor, const Cred *const *pins, unsigned n,
                          const char *req)
{
    const Cred *ca[] = { &ca1 };
    GString *pem = anchor ? pki_policy(ca, 1) : g_string_new(NULL);
    unsigned i;

    for (i = 0; i < n; i++) {
        put_pubkey(pem, pins[i]);
    }
    if (req) {
        g_string_append_printf(pem, REQ_BEGIN "%s" REQ_END, req);
    }
    return pem;
}

/* A platform of a fresh identity from CA 1 shaped by @o (NULL: fit). */
static RmmPlatform *plat_of(Cred *id, const char *cn, const PkiLeafOpts *o)
{
    *id = pki_issue_opts(&ca1, cn, o);
    return pki_platform(id, &ca1);
}

/* @p with @c as its claims. */
static void set_claims(RmmPlatform *p, const RmmPlatformClaims *c)
{
    char *err = NULL;

    if (!rmm_platform_set_claims(p, c, &err)) {
        g_error("set claims: %s", err);
    }
}

static char *hex_of(const uint8_t *b, size_t len)
{
    GString *s = g_string_new(NULL);
    size_t i;

    for (i = 0; i < len; i++) {
        g_string_append_printf(s, "%02x", b[i]);
    }
    return g_string_free(s, false);
}

/*
 * A session from @splat to @dplat, both realms under @policy: NULL if
 * the source accepted the destination, else the source's error (the
 * source still runs and aborts).  The destination must accept the
 * source.
 */
static char *dst_verdict(RmmPlatform *splat, RmmPlatform *dplat,
                         const GString *policy)
{
    char *err = NULL;
    Realm s, d;
    size_t alen;

    realm_new(&s, splat, policy, true);
    realm_new(&d, dplat, policy, false);
    alen = answer(&d, policy, start(&s, policy));
    if (rmm_mig_export_accept(s.r, accept, alen, &err) != RMI_SUCCESS) {
        g_assert_nonnull(err);
        g_assert_true(rmm_mig_may_run(s.r));
        g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    } else {
        g_assert_null(err);
    }
    realm_free(&s);
    realm_free(&d);
    return err;
}

/* The destination's error on the HELLO of @splat, NULL if accepted. */
static char *src_verdict(RmmPlatform *splat, RmmPlatform *dplat,
                         const GString *policy)
{
    char *err = NULL;
    Realm s, d;
    size_t hlen, len;

    realm_new(&s, splat, policy, true);
    realm_new(&d, dplat, policy, false);
    hlen = start(&s, policy);
    g_assert_cmpint(imp_start(&d, policy, &err), ==, RMI_SUCCESS);
    if (rmm_mig_import_hello(d.r, hello, hlen, accept, RMM_MIG_HS_MAX, &len,
                             &err) != RMI_SUCCESS) {
        g_assert_nonnull(err);
    }
    g_assert_cmpint(rmm_mig_export_abort(s.r, NULL), ==, RMI_SUCCESS);
    realm_free(&s);
    realm_free(&d);
    return err;
}

static void expect_dst_refused(RmmPlatform *dplat, const GString *policy,
                               const char *words)
{
    expect_err(dst_verdict(src_plat, dplat, policy), words);
}

static void expect_dst_admitted(RmmPlatform *dplat, const GString *policy)
{
    char *err = dst_verdict(src_plat, dplat, policy);

    if (err) {
        g_error("destination refused: %s", err);
    }
}

/*
 * The leaf must be for signing: the issue's destination (key usage
 * keyEncipherment, EKU serverAuth, same CA) and one without key usage
 * are refused.
 */
static void test_leaf_key_usage(void)
{
    PkiLeafOpts tls = {
        .key_usage = GNUTLS_KEY_KEY_ENCIPHERMENT, .eku = EKU_SERVER_AUTH,
    };
    PkiLeafOpts enc = { .key_usage = GNUTLS_KEY_KEY_ENCIPHERMENT };
    PkiLeafOpts none = { .no_key_usage = true };
    Cred a, b, c;
    RmmPlatform *pa = plat_of(&a, "TLS server", &tls);
    RmmPlatform *pb = plat_of(&b, "encipherment", &enc);
    RmmPlatform *pc = plat_of(&c, "no key usage", &none);

    expect_dst_refused(pa, policy1, "the destination platform's "
                       "certificate is not for signing (key usage without "
                       "digitalSignature)");
    expect_dst_refused(pb, policy1, "is not for signing");
    expect_dst_refused(pc, policy1, "the destination platform's "
                       "certificate has no key usage (digitalSignature "
                       "needed)");
    /* A source likewise. */
    expect_err(src_verdict(pc, dst_plat, policy1), "the source platform's "
               "certificate has no key usage");
    rmm_platform_free(pa);
    rmm_platform_free(pb);
    rmm_platform_free(pc);
    cred_free(&a);
    cred_free(&b);
    cred_free(&c);
}

/* The leaf must have the EKU for CCA platform migration. */
static void test_leaf_eku(void)
{
    PkiLeafOpts tls = { .eku = EKU_SERVER_AUTH };
    PkiLeafOpts none = { .eku = "" };
    Cred a, b;
    RmmPlatform *pa = plat_of(&a, "serverAuth", &tls);
    RmmPlatform *pb = plat_of(&b, "no EKU", &none);

    expect_dst_refused(pa, policy1, "the destination platform's "
                       "certificate is not for CCA platform migration "
                       "(extended key usage " RMM_MIG_EKU_DEFAULT ")");
    expect_dst_refused(pb, policy1, "is not for CCA platform migration");
    rmm_platform_free(pa);
    rmm_platform_free(pb);
    cred_free(&a);
    cred_free(&b);
}

/* A policy that names its own EKU refuses the default one. */
static void test_policy_eku(void)
{
    PkiLeafOpts other = { .eku = EKU_OTHER };
    g_autoptr(GString) policy = policy_of(true, NULL, 0,
                                          "eku " EKU_OTHER "\n");
    Cred a, b;
    RmmPlatform *ps = plat_of(&a, "src other EKU", &other);
    RmmPlatform *pd = plat_of(&b, "dst other EKU", &other);
    char *err;

    err = dst_verdict(ps, pd, policy);
    g_assert_null(err);
    expect_err(dst_verdict(ps, dst_plat, policy), "the destination "
               "platform's certificate is not for CCA platform migration "
               "(extended key usage " EKU_OTHER ")");
    expect_err(src_verdict(src_plat, pd, policy), "the source platform's "
               "certificate is not for CCA platform migration");
    rmm_platform_free(ps);
    rmm_platform_free(pd);
    cred_free(&a);
    cred_free(&b);
}

/* A platform outside the secured lifecycle is refused, either side. */
static void test_lifecycle(void)
{
    g_autoptr(GString) narrow = policy_of(true, NULL, 0,
                                          "lifecycle 0x3000 0x3000\n");
    RmmPlatformClaims c;
    char *err = NULL;
    Cred a;
    RmmPlatform *debug = plat_of(&a, "debug", NULL);
    Realm r;

    rmm_platform_get_claims(debug, &c);
    g_assert_cmphex(c.lifecycle, ==, 0x3000);
    c.lifecycle = 0x2000;               /* PSA "non-PSA-ROT debug" */
    set_claims(debug, &c);
    expect_dst_refused(debug, policy1, "the destination platform is not in "
                       "a secured state (security lifecycle 0x2000, the "
                       "migration policy admits 0x3000..0x30ff)");
    expect_err(src_verdict(debug, dst_plat, policy1), "the source platform "
               "is not in a secured state");
    /* A narrower range of the policy. */
    c.lifecycle = 0x3001;
    set_claims(debug, &c);
    expect_dst_admitted(debug, policy1);
    expect_dst_refused(debug, narrow, "security lifecycle 0x3001, the "
                       "migration policy admits 0x3000..0x3000");
    /* Claims change only on a platform without realms. */
    realm_new(&r, debug, policy1, false);
    g_assert_false(rmm_platform_set_claims(debug, &c, &err));
    expect_err(err, "the platform has realms");
    realm_free(&r);
    rmm_platform_free(debug);
    cred_free(&a);
}

/* Implementation IDs the policy lists. */
static void test_implementation_id(void)
{
    g_autofree char *hex = NULL;
    g_autofree char *req = NULL;
    g_autoptr(GString) policy = NULL;
    RmmPlatformClaims c;
    Cred a;
    RmmPlatform *other = plat_of(&a, "other implementation", NULL);

    rmm_platform_get_claims(src_plat, &c);
    hex = hex_of(c.implementation_id, sizeof(c.implementation_id));
    req = g_strdup_printf("implementation-id %064x\nimplementation-id %s\n",
                          0, hex);
    policy = policy_of(true, NULL, 0, req);
    expect_dst_admitted(dst_plat, policy);
    c.implementation_id[5] ^= 1;
    set_claims(other, &c);
    expect_dst_refused(other, policy, "the destination platform's "
                       "implementation ID is not one the migration policy "
                       "lists");
    rmm_platform_free(other);
    cred_free(&a);
}

/* Signer IDs and measurements the policy lists, for every component. */
static void test_signer_measurement(void)
{
    g_autoptr(GString) signers = g_string_new(NULL);
    g_autoptr(GString) meas = g_string_new(NULL);
    g_autoptr(GString) p_signers = NULL, p_meas = NULL;
    RmmPlatformClaims c, bad;
    Cred a;
    RmmPlatform *other = plat_of(&a, "other firmware", NULL);
    unsigned i;

    rmm_platform_get_claims(src_plat, &c);
    for (i = 0; i < RMM_PLATFORM_SW_COMPONENTS; i++) {
        g_autofree char *s = hex_of(c.sw[i].signer_id, 32);
        g_autofree char *m = hex_of(c.sw[i].measurement, 32);

        g_string_append_printf(signers, "signer-id %s\n", s);
        g_string_append_printf(meas, "  measurement\t%s  # %u\n", m, i);
    }
    p_signers = policy_of(true, NULL, 0, signers->str);
    p_meas = policy_of(true, NULL, 0, meas->str);
    expect_dst_admitted(dst_plat, p_signers);
    expect_dst_admitted(dst_plat, p_meas);
    bad = c;
    bad.sw[1].signer_id[0] ^= 1;
    set_claims(other, &bad);
    expect_dst_admitted(other, p_meas);
    expect_dst_refused(other, p_signers, "the destination platform's "
                       "software component 2 (BL31) has a signer ID the "
                       "migration policy does not list");
    bad = c;
    bad.sw[2].measurement[31] ^= 1;
    set_claims(other, &bad);
    expect_dst_admitted(other, p_signers);
    expect_dst_refused(other, p_meas, "the destination platform's software "
                       "component 3 (RMM) has a measurement the migration "
                       "policy does not list");
    rmm_platform_free(other);
    cred_free(&a);
}

/* Every software component at least the policy's minimum version. */
static void test_min_version(void)
{
    g_autoptr(GString) policy = policy_of(true, NULL, 0,
                                          "min-version 1.2\n");
    RmmPlatformClaims c;
    Cred a, b;
    RmmPlatform *ps = plat_of(&a, "src 1.2.0", NULL);
    RmmPlatform *pd = plat_of(&b, "dst 1.10", NULL);
    unsigned i;

    rmm_platform_get_claims(ps, &c);
    for (i = 0; i < RMM_PLATFORM_SW_COMPONENTS; i++) {
        g_strlcpy(c.sw[i].version, "1.2.0", RMM_PLATFORM_VERSION_MAX);
    }
    set_claims(ps, &c);
    /* Numbers, not strings: 1.10 is above 1.2. */
    g_strlcpy(c.sw[1].version, "1.10", RMM_PLATFORM_VERSION_MAX);
    set_claims(pd, &c);
    g_assert_null(dst_verdict(ps, pd, policy));
    expect_err(dst_verdict(ps, dst_plat, policy), "the destination "
               "platform's software component 1 (BL1) has version 1.0.0, "
               "below the migration policy's minimum 1.2");
    g_strlcpy(c.sw[2].version, "1.1.9", RMM_PLATFORM_VERSION_MAX);
    set_claims(pd, &c);
    expect_err(dst_verdict(ps, pd, policy), "software component 3 (RMM) "
               "has version 1.1.9, below");
    g_strlcpy(c.sw[2].version, "1.2-rc1", RMM_PLATFORM_VERSION_MAX);
    set_claims(pd, &c);
    expect_err(dst_verdict(ps, pd, policy), "software component 3 (RMM) "
               "has no dotted version (the policy's minimum is 1.2)");
    rmm_platform_free(ps);
    rmm_platform_free(pd);
    cred_free(&a);
    cred_free(&b);
}

/* A policy that pins keys accepts only those. */
static void test_pinned_key(void)
{
    const Cred *pins[] = { &src_id, &dst_id };
    g_autoptr(GString) with_ca = policy_of(true, pins, 2, NULL);
    g_autoptr(GString) only = policy_of(false, pins, 2, NULL);
    g_autoptr(GString) rogue = policy_of(false, (const Cred *[]) {
                                             &src_id, &rogue_id }, 2, NULL);
    g_autoptr(GString) rogue_ca = policy_of(true, (const Cred *[]) {
                                                &src_id, &rogue_id }, 2,
                                            NULL);
    Cred a;
    RmmPlatform *other = plat_of(&a, "same CA, not pinned", NULL);

    expect_dst_admitted(dst_plat, with_ca);
    expect_dst_admitted(dst_plat, only);
    expect_dst_refused(other, with_ca, "the destination platform's key is "
                       "not one the realm's migration policy pins");
    expect_dst_refused(other, only, "not one the realm's migration policy "
                       "pins");
    /* Pinned without anchors: no CA needed. */
    expect_dst_admitted(rogue_plat, rogue);
    /* Pinned, with anchors: the chain must still end at one. */
    expect_dst_refused(rogue_plat, rogue_ca,
                       "does not chain to a trust anchor");
    rmm_platform_free(other);
    cred_free(&a);
}

/*
 * The host's clock decides expiry for an anchor-only policy; a pinned
 * key is accepted whatever its certificate's dates.
 */
static void test_pinned_expired(void)
{
    PkiLeafOpts expired = { .not_before = -2 * 86400, .not_after = -86400 };
    Cred a;
    RmmPlatform *old = plat_of(&a, "expired", &expired);
    const Cred *pins[] = { &src_id, &a };
    g_autoptr(GString) pinned = policy_of(true, pins, 2, NULL);
    g_autoptr(GString) pinned_only = policy_of(false, pins, 2, NULL);

    expect_dst_refused(old, policy1, "the destination platform's "
                       "certificates are expired or not yet valid by this "
                       "host's clock");
    expect_dst_admitted(old, pinned);
    expect_dst_admitted(old, pinned_only);
    rmm_platform_free(old);
    cred_free(&a);
}

/* CA 1 with @text appended is refused saying @words. */
static void expect_bad_policy(const char *text, const char *words)
{
    g_autoptr(GString) policy = policy_of(true, NULL, 0, NULL);
    char *err = NULL;
    size_t len;
    Realm s;

    g_string_append(policy, text);
    g_assert_false(rmm_mig_policy_check(pem_bytes(policy), policy->len,
                                        &err));
    g_assert_null(strchr(err, '\n'));
    if (!strstr(err, words)) {
        g_error("policy error '%s' does not say '%s'", err, words);
    }
    g_free(err);
    /* MIG_START refuses it with the same words. */
    err = NULL;
    realm_new(&s, src_plat, policy, true);
    g_assert_cmpint(mig_start(&s, policy, &len, &err), ==, RMI_ERROR_INPUT);
    expect_err(err, words);
    g_assert_cmpint(rmm_mig_phase(s.r), ==, RMM_MIG_NONE);
    realm_free(&s);
}

/* Malformed policy text is refused naming the line. */
static void test_policy_text(void)
{
    g_autoptr(GString) p256 = g_string_new(NULL);
    g_autoptr(GString) good = policy_of(true, NULL, 0,
        "# CCA platform migration, site A\r\n"
        "eku 1.3.6.1.3.2026.24.1\n\n"
        "lifecycle 0x3000 0x30ff\n"
        "min-version 1.0\n");
    Cred p;
    char *err = NULL, *msg;
    /* CA 1 is lines 1.. of every bad policy: count from its end. */
    g_autoptr(GString) ca = policy_of(true, NULL, 0, NULL);
    unsigned l = 1;
    gsize i;

    for (i = 0; i < ca->len; i++) {
        l += ca->str[i] == '\n';
    }
    g_assert_true(rmm_mig_policy_check(pem_bytes(good), good->len, &err));
    g_assert_null(err);
    expect_dst_admitted(dst_plat, good);

    msg = g_strdup_printf("migration policy line %u: unknown requirement "
                          "'colour'", l + 1);
    expect_bad_policy(REQ_BEGIN "colour blue\n" REQ_END, msg);
    g_free(msg);
    expect_bad_policy(REQ_BEGIN "eku 1.2.3\neku 1.2.4\n" REQ_END,
                      "eku: given twice");
    expect_bad_policy(REQ_BEGIN "eku serverAuth\n" REQ_END,
                      "eku: 'serverAuth' is not a dotted OID");
    expect_bad_policy(REQ_BEGIN "lifecycle 0x1000 0x30ff\n" REQ_END,
                      "lifecycle: not a range within the secured "
                      "0x3000..0x30ff");
    expect_bad_policy(REQ_BEGIN "lifecycle secured\n" REQ_END,
                      "lifecycle: 'secured' is not a number");
    expect_bad_policy(REQ_BEGIN "implementation-id abcd\n" REQ_END,
                      "implementation-id: not 32 bytes of hex");
    expect_bad_policy(REQ_BEGIN "signer-id 12\n" REQ_END,
                      "signer-id: not 32, 48 or 64 bytes of hex");
    expect_bad_policy(REQ_BEGIN "measurement\n" REQ_END,
                      "measurement: needs one value");
    expect_bad_policy(REQ_BEGIN "min-version 1.x\n" REQ_END,
                      "min-version: '1.x' is not a dotted version");
    expect_bad_policy(REQ_BEGIN "min-version 1\n" REQ_END REQ_BEGIN REQ_END,
                      "a second CCA MIGRATION REQUIREMENTS block");
    msg = g_strdup_printf("migration policy line %u: BEGIN without END", l);
    expect_bad_policy(REQ_BEGIN "eku 1.2.3\n", msg);
    g_free(msg);
    expect_bad_policy("-----BEGIN CCA MIGRATION POLICY-----\n",
                      "is not a CERTIFICATE, PUBLIC KEY or CCA MIGRATION "
                      "REQUIREMENTS boundary");
    msg = g_strdup_printf("migration policy line %u: CERTIFICATE is not an "
                          "X.509 certificate", l);
    expect_bad_policy("-----BEGIN CERTIFICATE-----\nnot base64!\n"
                      "-----END CERTIFICATE-----\n", msg);
    g_free(msg);
    expect_bad_policy("-----END PUBLIC KEY-----\n",
                      "END of a block that did not BEGIN");
    /* A pinned key that is no platform's: P-256. */
    p = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                             GNUTLS_ECC_CURVE_SECP256R1)), "P-256", NULL);
    put_pubkey(p256, &p);
    expect_bad_policy(p256->str, "PUBLIC KEY is not an ECDSA P-384 public "
                      "key");
    cred_free(&p);
    g_assert_false(rmm_mig_policy_check((const uint8_t *)"x\0y", 3, &err));
    expect_err(err, "migration policy line 1: a NUL byte");
    g_assert_false(rmm_mig_policy_check((const uint8_t *)REQ_BEGIN REQ_END,
                                        strlen(REQ_BEGIN REQ_END), &err));
    expect_err(err, "holds no trust anchor or pinned key");
}

/* ECDH: both sides agree; invalid points are refused. */
static void test_ecdh(void)
{
    RmmMigEcdh *a = rmm_mig_ecdh_new(), *b = rmm_mig_ecdh_new();
    uint8_t za[RMM_MIG_COORD_SIZE], zb[RMM_MIG_COORD_SIZE];
    uint8_t bad[RMM_MIG_SHARE_SIZE];

    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_true(memcmp(rmm_mig_ecdh_share(a), rmm_mig_ecdh_share(b),
                         RMM_MIG_SHARE_SIZE) != 0);
    g_assert_true(rmm_mig_ecdh_derive(a, rmm_mig_ecdh_share(b), za));
    g_assert_true(rmm_mig_ecdh_derive(b, rmm_mig_ecdh_share(a), zb));
    g_assert_cmpmem(za, sizeof(za), zb, sizeof(zb));
    /* Compressed form, off the curve, zero, coordinates >= p. */
    memcpy(bad, rmm_mig_ecdh_share(b), sizeof(bad));
    bad[0] = 0x02;
    g_assert_false(rmm_mig_ecdh_derive(a, bad, za));
    bad[0] = 0x04;
    bad[RMM_MIG_SHARE_SIZE - 1] ^= 1;
    g_assert_false(rmm_mig_ecdh_derive(a, bad, za));
    memset(bad + 1, 0, sizeof(bad) - 1);
    g_assert_false(rmm_mig_ecdh_derive(a, bad, za));
    memset(bad + 1, 0xff, sizeof(bad) - 1);
    g_assert_false(rmm_mig_ecdh_derive(a, bad, za));
    rmm_mig_ecdh_free(a);
    rmm_mig_ecdh_free(b);
}

int main(int argc, char **argv)
{
    const Cred *both[] = { &ca1, &ca2 };
    RmmPlatformFeatures features;
    char *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    ca1 = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                               GNUTLS_ECC_CURVE_SECP384R1)), "CA 1", NULL);
    ca2 = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                               GNUTLS_ECC_CURVE_SECP384R1)), "CA 2", NULL);
    src_id = pki_issue(&ca1, "src");
    dst_id = pki_issue(&ca1, "dst");
    rogue_id = pki_issue(&ca2, "rogue");
    src_plat = pki_platform(&src_id, &ca1);
    dst_plat = pki_platform(&dst_id, &ca1);
    rogue_plat = pki_platform(&rogue_id, &ca2);
    eph_plat = rmm_platform_new(&err);
    g_assert_nonnull(eph_plat);
    /* Both platforms offer realms SVE, a PMU and LPA2. */
    rmm_platform_get_features(src_plat, &features);
    features.lpa2 = features.sve = features.pmu = true;
    features.sve_vl = 15;
    features.pmu_num_ctrs = 31;
    g_assert_true(rmm_platform_set_features(src_plat, &features, NULL));
    g_assert_true(rmm_platform_set_features(dst_plat, &features, NULL));
    policy1 = pki_policy(both, 1);
    policy2 = pki_policy(both + 1, 1);
    policy12 = pki_policy(both, 2);
    hello = g_malloc(RMM_MIG_HS_MAX);
    accept = g_malloc(RMM_MIG_HS_MAX);

    g_test_add_func("/rmm/handshake/no-policy", test_no_policy);
    g_test_add_func("/rmm/handshake/policy-not-measured",
                    test_policy_not_measured);
    g_test_add_func("/rmm/handshake/no-identity", test_no_identity);
    g_test_add_func("/rmm/handshake/policy-mismatch", test_policy_mismatch);
    g_test_add_func("/rmm/handshake/params-mismatch", test_params_mismatch);
    g_test_add_func("/rmm/handshake/source-outside-policy",
                    test_source_outside_policy);
    g_test_add_func("/rmm/handshake/destination-outside-policy",
                    test_destination_outside_policy);
    g_test_add_func("/rmm/handshake/two-anchors", test_two_anchors);
    g_test_add_func("/rmm/handshake/tamper-hello", test_tamper_hello);
    g_test_add_func("/rmm/handshake/tamper-accept", test_tamper_accept);
    g_test_add_func("/rmm/handshake/out-of-place", test_out_of_place);
    g_test_add_func("/rmm/handshake/ecdh", test_ecdh);
    g_test_add_func("/rmm/handshake/leaf-key-usage", test_leaf_key_usage);
    g_test_add_func("/rmm/handshake/leaf-eku", test_leaf_eku);
    g_test_add_func("/rmm/handshake/policy-eku", test_policy_eku);
    g_test_add_func("/rmm/handshake/lifecycle", test_lifecycle);
    g_test_add_func("/rmm/handshake/implementation-id",
                    test_implementation_id);
    g_test_add_func("/rmm/handshake/signer-measurement",
                    test_signer_measurement);
    g_test_add_func("/rmm/handshake/min-version", test_min_version);
    g_test_add_func("/rmm/handshake/pinned-key", test_pinned_key);
    g_test_add_func("/rmm/handshake/pinned-expired", test_pinned_expired);
    g_test_add_func("/rmm/handshake/policy-text", test_policy_text);
    ret = g_test_run();

    rmm_platform_free(src_plat);
    rmm_platform_free(dst_plat);
    rmm_platform_free(rogue_plat);
    rmm_platform_free(eph_plat);
    cred_free(&ca1);
    cred_free(&ca2);
    cred_free(&src_id);
    cred_free(&dst_id);
    cred_free(&rogue_id);
    g_string_free(policy1, true);
    g_string_free(policy2, true);
    g_string_free(policy12, true);
    g_free(hello);
    g_free(accept);
    return ret;
}
