/*
 * Unit tests of the emulated RMM's platform identity (rmm-identity.c):
 * a PEM file with the CCA platform attestation key and its certificate
 * chain, made here with GnuTLS's X.509 API.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"         /* _GNU_SOURCE: memmem() */

#include <string.h>

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "rmm.h"
#include "rmm-attest.h"
#include "rmm-internal.h"       /* RmmPlatform.keys */
#include "test-pki.h"

static GByteArray *cpak_pub(RmmPlatform *plat)
{
    return rmm_attest_keys_export_cpak_pub(plat->keys);
}

/* True if the COSE_Key @cose holds the coordinates of @crt's key. */
static bool cose_is_crt_key(const GByteArray *cose, gnutls_x509_crt_t crt)
{
    gnutls_pubkey_t pub;
    gnutls_ecc_curve_t curve;
    gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
    bool found;

    g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
    g_assert_cmpint(gnutls_pubkey_import_x509(pub, crt, 0), ==, 0);
    g_assert_cmpint(gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y,
                                                  GNUTLS_EXPORT_FLAG_NO_LZ),
                    ==, 0);
    /* Without leading zeros (1 key in 128 has one): COSE keeps all 48. */
    found = x.size <= 48 && y.size <= 48;
    if (found) {
        uint8_t px[48] = { 0 }, py[48] = { 0 };

        memcpy(px + 48 - x.size, x.data, x.size);
        memcpy(py + 48 - y.size, y.data, y.size);
        found = memmem(cose->data, cose->len, px, 48) &&
                memmem(cose->data, cose->len, py, 48);
    }
    gnutls_free(x.data);
    gnutls_free(y.data);
    gnutls_pubkey_deinit(pub);
    return found;
}

/* The identity's key is the platform key, the same at every load. */
static void test_load(gconstpointer pkcs8)
{
    Pki p;
    g_autoptr(GString) pem = NULL;
    RmmPlatform *a, *b, *eph;
    GByteArray *ka, *kb, *ke;
    char *err = NULL;

    pki_new(&p);
    pem = identity_pem(&p, GPOINTER_TO_INT(pkcs8));
    a = rmm_platform_new_identity(pem->str, pem->len, &err);
    g_assert_null(err);
    g_assert_nonnull(a);
    b = rmm_platform_new_identity(pem->str, pem->len, &err);
    g_assert_nonnull(b);
    eph = rmm_platform_new(&err);
    g_assert_nonnull(eph);
    g_assert_cmpuint(rmm_platform_identity_chain_len(a), ==, 2);
    g_assert_cmpuint(rmm_platform_identity_chain_len(eph), ==, 0);

    ka = cpak_pub(a);
    kb = cpak_pub(b);
    ke = cpak_pub(eph);
    g_assert_true(cose_is_crt_key(ka, p.plat.crt));
    g_assert_cmpmem(ka->data, ka->len, kb->data, kb->len);
    g_assert_false(cose_is_crt_key(ke, p.plat.crt));
    g_byte_array_unref(ka);
    g_byte_array_unref(kb);
    g_byte_array_unref(ke);
    rmm_platform_free(a);
    rmm_platform_free(b);
    rmm_platform_free(eph);
    pki_free(&p);
}

static void expect_error(const GString *pem, const char *words)
{
    char *err = NULL;
    RmmPlatform *plat = rmm_platform_new_identity(pem->str, pem->len, &err);

    g_assert_null(plat);
    g_assert_nonnull(err);
    if (!strstr(err, words)) {
        g_error("error '%s' does not say '%s'", err, words);
    }
    g_free(err);
}

static void test_not_pem(void)
{
    g_autoptr(GString) pem = g_string_new("not a PEM file\n");

    expect_error(pem, "no unencrypted private key");
}

static void test_no_certificate(void)
{
    Pki p;
    g_autoptr(GString) pem = g_string_new(NULL);

    pki_new(&p);
    put_key(pem, p.plat.key, true);
    expect_error(pem, "no certificate");
    pki_free(&p);
}

static void test_no_key(void)
{
    Pki p;
    g_autoptr(GString) pem = g_string_new(NULL);

    pki_new(&p);
    put_crt(pem, p.plat.crt);
    put_crt(pem, p.ca.crt);
    expect_error(pem, "no unencrypted private key");
    pki_free(&p);
}

static void test_other_key(void)
{
    Pki p;
    g_autoptr(GString) pem = g_string_new(NULL);

    pki_new(&p);
    put_key(pem, p.ca.key, true);         /* not the leaf's key */
    put_crt(pem, p.plat.crt);
    put_crt(pem, p.ca.crt);
    expect_error(pem, "the first certificate is not the private key's");
    pki_free(&p);
}

static void test_chain_order(void)
{
    Pki p;
    g_autoptr(GString) pem = g_string_new(NULL);
    Cred other;

    pki_new(&p);
    /* The leaf, then a CA that did not issue it. */
    other = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                                 GNUTLS_ECC_CURVE_SECP384R1)),
                     "QEMU CCA other CA", NULL);
    put_key(pem, p.plat.key, true);
    put_crt(pem, p.plat.crt);
    put_crt(pem, other.crt);
    expect_error(pem, "certificate 1 is not issued and signed by "
                 "certificate 2");
    cred_free(&other);
    pki_free(&p);
}

/* Keys the CCA platform token cannot be signed with (ES384 only). */
static void test_wrong_curve(gconstpointer rsa)
{
    g_autoptr(GString) pem = g_string_new(NULL);
    gnutls_x509_privkey_t key = GPOINTER_TO_INT(rsa) ?
        new_key(GNUTLS_PK_RSA, 2048) :
        new_key(GNUTLS_PK_ECDSA,
                GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1));
    Cred c = new_cred(key, "QEMU CCA test platform", NULL);

    put_key(pem, key, true);
    put_crt(pem, c.crt);
    expect_error(pem, GPOINTER_TO_INT(rsa) ? "is not an ECDSA key"
                                           : "is not a P-384 key");
    cred_free(&c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/rmm/identity/load/pkcs8", GINT_TO_POINTER(1),
                         test_load);
    g_test_add_data_func("/rmm/identity/load/sec1", GINT_TO_POINTER(0),
                         test_load);
    g_test_add_func("/rmm/identity/reject/not-pem", test_not_pem);
    g_test_add_func("/rmm/identity/reject/no-certificate",
                    test_no_certificate);
    g_test_add_func("/rmm/identity/reject/no-key", test_no_key);
    g_test_add_func("/rmm/identity/reject/other-key", test_other_key);
    g_test_add_func("/rmm/identity/reject/chain-order", test_chain_order);
    g_test_add_data_func("/rmm/identity/reject/rsa", GINT_TO_POINTER(1),
                         test_wrong_curve);
    g_test_add_data_func("/rmm/identity/reject/p256", GINT_TO_POINTER(0),
                         test_wrong_curve);
    return g_test_run();
}
