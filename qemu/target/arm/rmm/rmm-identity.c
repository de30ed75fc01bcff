/*
 * Emulated RMM: the platform's identity
 *
 * A platform identity is what a real CCA platform gets at manufacture:
 * its CCA platform attestation key (CPAK) and a certificate chain that
 * endorses it.  Here it comes from a PEM file: the CPAK (ECDSA P-384,
 * PKCS#8 or SEC1 "EC PRIVATE KEY") and X.509 certificates, the CPAK's
 * first, each one issued by the next.  The platform token is signed
 * with the CPAK, so the platform is the same to a verifier across QEMU
 * restarts.  Whether the chain ends at an anchor somebody trusts is for
 * the one who checks it (a verifier, a realm's migration policy).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "rmm.h"
#include "rmm-internal.h"
#include "rmm-attest.h"

/* The private key of @pem, or NULL and *err. */
static gnutls_privkey_t identity_key(const gnutls_datum_t *pem, char **err)
{
    gnutls_x509_privkey_t xkey = NULL;
    gnutls_privkey_t key = NULL;
    int ret;

    ret = gnutls_x509_privkey_init(&xkey);
    if (ret >= 0) {
        ret = gnutls_x509_privkey_import2(xkey, pem, GNUTLS_X509_FMT_PEM,
                                          NULL, GNUTLS_PKCS_PLAIN);
    }
    if (ret >= 0) {
        ret = gnutls_privkey_init(&key);
    }
    if (ret >= 0) {
        ret = gnutls_privkey_import_x509(key, xkey,
                                         GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
    }
    if (ret < 0) {
        rmm_set_err(err, "no unencrypted private key: %s",
                     gnutls_strerror(ret));
        if (key) {
            gnutls_privkey_deinit(key);
        }
        if (xkey) {
            gnutls_x509_privkey_deinit(xkey);
        }
        return NULL;
    }
    return key;
}

/* True if certificate @crt holds the public key of @key. */
static bool identity_key_matches(gnutls_x509_crt_t crt, gnutls_privkey_t key)
{
    gnutls_pubkey_t a = NULL, b = NULL;
    gnutls_datum_t da = { NULL, 0 }, db = { NULL, 0 };
    bool same = false;

    if (gnutls_pubkey_init(&a) >= 0 && gnutls_pubkey_init(&b) >= 0 &&
        gnutls_pubkey_import_x509(a, crt, 0) >= 0 &&
        gnutls_pubkey_import_privkey(b, key, 0, 0) >= 0 &&
        gnutls_pubkey_export2(a, GNUTLS_X509_FMT_DER, &da) >= 0 &&
        gnutls_pubkey_export2(b, GNUTLS_X509_FMT_DER, &db) >= 0) {
        same = da.size == db.size && !memcmp(da.data, db.data, da.size);
    }
    gnutls_free(da.data);
    gnutls_free(db.data);
    if (a) {
        gnutls_pubkey_deinit(a);
    }
    if (b) {
        gnutls_pubkey_deinit(b);
    }
    return same;
}

/* Each certificate of @crts[0..@n) is issued and signed by the next. */
static bool identity_chain_ok(gnutls_x509_crt_t *crts, unsigned n,
                              char **err)
{
    unsigned i, status;

    for (i = 0; i + 1 < n; i++) {
        if (gnutls_x509_crt_verify(crts[i], &crts[i + 1], 1,
                                   GNUTLS_VERIFY_DISABLE_TIME_CHECKS,
                                   &status) < 0 || status) {
            rmm_set_err(err, "certificate %u is not issued and signed by "
                         "certificate %u (the chain goes leaf first)",
                         i + 1, i + 2);
            return false;
        }
    }
    return true;
}

static void identity_free_chain(gnutls_x509_crt_t *crts, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        gnutls_x509_crt_deinit(crts[i]);
    }
    gnutls_free(crts);
}

RmmPlatform *rmm_platform_new_identity(const char *pem, size_t len,
                                       char **err)
{
    gnutls_datum_t d = { (unsigned char *)pem, len };
    gnutls_x509_crt_t *crts = NULL;
    gnutls_privkey_t key = NULL;
    RmmAttestKeys *keys;
    RmmPlatform *p;
    unsigned n = 0;

    if (len > UINT_MAX) {
        rmm_set_err(err, "too large");
        return NULL;
    }
    key = identity_key(&d, err);
    if (!key) {
        return NULL;
    }
    if (gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM,
                                     0) < 0 || !n) {
        rmm_set_err(err, "no certificate (the key's comes first)");
        goto fail;
    }
    if (!identity_key_matches(crts[0], key)) {
        rmm_set_err(err, "the first certificate is not the private key's");
        goto fail;
    }
    if (!identity_chain_ok(crts, n, err)) {
        goto fail;
    }
    keys = rmm_attest_keys_new_cpak(key, err);     /* takes the key */
    key = NULL;
    if (!keys) {
        goto fail;
    }
    p = rmm_platform_new_keys(keys);
    p->chain = crts;
    p->chain_len = n;
    return p;

fail:
    if (key) {
        gnutls_privkey_deinit(key);
    }
    identity_free_chain(crts, n);
    return NULL;
}

unsigned rmm_platform_identity_chain_len(RmmPlatform *p)
{
    return p->chain_len;
}

void rmm_platform_free_identity(RmmPlatform *p)
{
    identity_free_chain(p->chain, p->chain_len);
    p->chain = NULL;
    p->chain_len = 0;
}
