/*
 * Test PKI for the unit tests (test-pki.h)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>

#include "test-pki.h"
#include "rmm-mig.h"            /* RMM_MIG_EKU_DEFAULT */

gnutls_x509_privkey_t new_key(gnutls_pk_algorithm_t pk, unsigned bits)
{
    gnutls_x509_privkey_t key;

    g_assert_cmpint(gnutls_x509_privkey_init(&key), ==, 0);
    g_assert_cmpint(gnutls_x509_privkey_generate(key, pk, bits, 0), ==, 0);
    return key;
}

/*
 * The extensions of a certificate issued by another: fit to be a
 * platform's (key usage digitalSignature, EKU for CCA platform
 * migration) unless @o says otherwise.  A CA may sign certificates.
 */
static void set_usage(gnutls_x509_crt_t crt, bool ca, const PkiLeafOpts *o)
{
    const char *eku = o && o->eku ? o->eku : RMM_MIG_EKU_DEFAULT;
    unsigned usage = o && o->key_usage ? o->key_usage
                                       : GNUTLS_KEY_DIGITAL_SIGNATURE;

    if (ca) {
        g_assert_cmpint(gnutls_x509_crt_set_key_usage(
                            crt, GNUTLS_KEY_KEY_CERT_SIGN |
                            GNUTLS_KEY_CRL_SIGN), ==, 0);
        return;
    }
    if (!o || !o->no_key_usage) {
        g_assert_cmpint(gnutls_x509_crt_set_key_usage(crt, usage), ==, 0);
    }
    if (*eku) {
        g_assert_cmpint(gnutls_x509_crt_set_key_purpose_oid(crt, eku, 0),
                        ==, 0);
    }
}

Cred new_cred_opts(gnutls_x509_privkey_t key, const char *cn,
                   const Cred *issuer, const PkiLeafOpts *o)
{
    static unsigned serial;
    Cred c = { .key = key };
    time_t now = time(NULL);
    long not_before = o && (o->not_before || o->not_after) ?
                      o->not_before : -60;
    long not_after = o && (o->not_before || o->not_after) ?
                     o->not_after : 86400;

    serial++;
    g_assert_cmpint(gnutls_x509_crt_init(&c.crt), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_key(c.crt, key), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_version(c.crt, 3), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_serial(c.crt, &serial,
                                               sizeof(serial)), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_activation_time(c.crt,
                                                        now + not_before),
                    ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_expiration_time(c.crt,
                                                        now + not_after),
                    ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_dn_by_oid(c.crt,
                                                  GNUTLS_OID_X520_COMMON_NAME,
                                                  0, cn, strlen(cn)), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_set_basic_constraints(c.crt, !issuer,
                                                          -1), ==, 0);
    set_usage(c.crt, !issuer, o);
    g_assert_cmpint(gnutls_x509_crt_sign2(c.crt,
                                          issuer ? issuer->crt : c.crt,
                                          issuer ? issuer->key : key,
                                          GNUTLS_DIG_SHA384, 0), ==, 0);
    return c;
}

/* A certificate for @key named @cn, signed by @issuer (NULL: itself). */
Cred new_cred(gnutls_x509_privkey_t key, const char *cn, const Cred *issuer)
{
    return new_cred_opts(key, cn, issuer, NULL);
}

void cred_free(Cred *c)
{
    gnutls_x509_crt_deinit(c->crt);
    gnutls_x509_privkey_deinit(c->key);
}

void put_key(GString *pem, gnutls_x509_privkey_t key, bool pkcs8)
{
    gnutls_datum_t d = { NULL, 0 };

    if (pkcs8) {
        g_assert_cmpint(gnutls_x509_privkey_export2_pkcs8(
                            key, GNUTLS_X509_FMT_PEM, NULL,
                            GNUTLS_PKCS_PLAIN, &d), ==, 0);
    } else {
        g_assert_cmpint(gnutls_x509_privkey_export2(
                            key, GNUTLS_X509_FMT_PEM, &d), ==, 0);
    }
    g_string_append_len(pem, (const char *)d.data, d.size);
    gnutls_free(d.data);
}

void put_crt(GString *pem, gnutls_x509_crt_t crt)
{
    gnutls_datum_t d = { NULL, 0 };

    g_assert_cmpint(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d),
                    ==, 0);
    g_string_append_len(pem, (const char *)d.data, d.size);
    gnutls_free(d.data);
}



void pki_new(Pki *p)
{
    p->ca = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                                 GNUTLS_ECC_CURVE_SECP384R1)),
                     "QEMU CCA test CA", NULL);
    p->plat = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                                   GNUTLS_ECC_CURVE_SECP384R1)),
                       "QEMU CCA test platform", &p->ca);
}

void pki_free(Pki *p)
{
    cred_free(&p->ca);
    cred_free(&p->plat);
}

GString *identity_pem(const Pki *p, bool pkcs8)
{
    GString *pem = g_string_new(NULL);

    put_key(pem, p->plat.key, pkcs8);
    put_crt(pem, p->plat.crt);
    put_crt(pem, p->ca.crt);
    return pem;
}

Cred pki_issue(const Cred *ca, const char *cn)
{
    return pki_issue_opts(ca, cn, NULL);
}

Cred pki_issue_opts(const Cred *ca, const char *cn, const PkiLeafOpts *o)
{
    return new_cred_opts(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                                     GNUTLS_ECC_CURVE_SECP384R1)), cn, ca, o);
}

void put_pubkey(GString *pem, const Cred *c)
{
    gnutls_pubkey_t pub;
    gnutls_datum_t d = { NULL, 0 };

    g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
    g_assert_cmpint(gnutls_pubkey_import_x509(pub, c->crt, 0), ==, 0);
    g_assert_cmpint(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &d), ==,
                    0);
    g_string_append_len(pem, (const char *)d.data, d.size);
    gnutls_free(d.data);
    gnutls_pubkey_deinit(pub);
}

GString *pki_identity_of(const Cred *leaf, const Cred *ca)
{
    GString *pem = g_string_new(NULL);

    put_key(pem, leaf->key, true);
    put_crt(pem, leaf->crt);
    put_crt(pem, ca->crt);
    return pem;
}

RmmPlatform *pki_platform(const Cred *leaf, const Cred *ca)
{
    g_autoptr(GString) pem = pki_identity_of(leaf, ca);
    char *err = NULL;
    RmmPlatform *p = rmm_platform_new_identity(pem->str, pem->len, &err);

    if (!p) {
        g_error("identity: %s", err);
    }
    return p;
}

GString *pki_policy(const Cred *const *anchors, unsigned n)
{
    GString *pem = g_string_new(NULL);
    unsigned i;

    for (i = 0; i < n; i++) {
        put_crt(pem, anchors[i]->crt);
    }
    return pem;
}

void pki_policy_hash(const GString *policy, uint8_t out[64])
{
    g_assert_cmpint(gnutls_hash_fast(GNUTLS_DIG_SHA512, policy->str,
                                     policy->len, out), ==, 0);
}
