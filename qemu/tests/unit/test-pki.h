/*
 * Test PKI for the unit tests: a CA, platform identities it endorses
 * (PEM files for rmm_platform_new_identity()) and migration policies,
 * made with GnuTLS's X.509 API.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_RMM_TEST_PKI_H
#define TESTS_RMM_TEST_PKI_H

#include <stdbool.h>
#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "rmm.h"

typedef struct Cred {
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
} Cred;

/* A test CA and a platform identity it endorses. */
typedef struct Pki {
    Cred ca;
    Cred plat;
} Pki;

/*
 * How a certificate issued by a CA departs from a fit platform identity
 * (key usage digitalSignature, EKU RMM_MIG_EKU_DEFAULT, valid from a
 * minute ago for a day).  Zero fields: the default.
 */
typedef struct PkiLeafOpts {
    unsigned key_usage;         /* GNUTLS_KEY_* bits instead */
    bool no_key_usage;          /* no key usage extension at all */
    const char *eku;            /* this EKU instead; "": no EKU */
    long not_before, not_after; /* validity, seconds from now */
} PkiLeafOpts;

/* A fresh P-384 (or other) key. */
gnutls_x509_privkey_t new_key(gnutls_pk_algorithm_t pk, unsigned bits);
/* A certificate for @key named @cn, signed by @issuer (NULL: itself). */
Cred new_cred(gnutls_x509_privkey_t key, const char *cn, const Cred *issuer);
/* The same, shaped by @o (NULL: fit), when @issuer is not NULL. */
Cred new_cred_opts(gnutls_x509_privkey_t key, const char *cn,
                   const Cred *issuer, const PkiLeafOpts *o);
void cred_free(Cred *c);
void put_key(GString *pem, gnutls_x509_privkey_t key, bool pkcs8);
void put_crt(GString *pem, gnutls_x509_crt_t crt);
void pki_new(Pki *p);
void pki_free(Pki *p);
/* The platform identity of @p: key, its certificate, the CA's. */
GString *identity_pem(const Pki *p, bool pkcs8);

/* A P-384 identity named @cn issued by @ca. */
Cred pki_issue(const Cred *ca, const char *cn);
/* The same, shaped by @o. */
Cred pki_issue_opts(const Cred *ca, const char *cn, const PkiLeafOpts *o);
/* The public key of @c's certificate as PEM "PUBLIC KEY" (a pin). */
void put_pubkey(GString *pem, const Cred *c);
/* Identity PEM of @leaf issued by @ca. */
GString *pki_identity_of(const Cred *leaf, const Cred *ca);
/* The platform of @leaf issued by @ca; asserts it loads. */
RmmPlatform *pki_platform(const Cred *leaf, const Cred *ca);
/* A migration policy: the certificates of @anchors[0..@n). */
GString *pki_policy(const Cred *const *anchors, unsigned n);
/* The bytes of a PEM text, as RMI commands take them. */
static inline const uint8_t *pem_bytes(const GString *pem)
{
    return (const uint8_t *)pem->str;
}

/* Its hash, as RmiRealmParams.mig_policy. */
void pki_policy_hash(const GString *policy, uint8_t out[64]);

#endif /* TESTS_RMM_TEST_PKI_H */
