/*
 * Unit tests of the attested migration handshake (rmm-mig-handshake.c,
 * rmm-mig-ecdh.c): every way a HELLO or an ACCEPT can be refused.
 *
 * Two test CAs: CA 1 endorses the platforms "src" and "dst", CA 2 the
 * platform "rogue".  The realms' policy is CA 1 unless a test says
 * otherwise.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include <glib.h>

#include "rmm.h"
#include "rmm-mig-internal.h"
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

static void realm_new(Realm *t, RmmPlatform *plat, const GString *policy,
                      bool source)
{
    static uint16_t vmid;
    RmiRealmParams p = {
        .ipa_width = 33, .hash_algo = RMI_HASH_SHA256, .vmid = ++vmid,
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
    g_test_add_func("/rmm/handshake/source-outside-policy",
                    test_source_outside_policy);
    g_test_add_func("/rmm/handshake/destination-outside-policy",
                    test_destination_outside_policy);
    g_test_add_func("/rmm/handshake/two-anchors", test_two_anchors);
    g_test_add_func("/rmm/handshake/tamper-hello", test_tamper_hello);
    g_test_add_func("/rmm/handshake/tamper-accept", test_tamper_accept);
    g_test_add_func("/rmm/handshake/out-of-place", test_out_of_place);
    g_test_add_func("/rmm/handshake/ecdh", test_ecdh);
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
