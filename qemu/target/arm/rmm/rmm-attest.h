/*
 * Emulated RMM: CCA attestation token
 *
 * A CCA attestation token (CBOR tag 399) holding a platform token and a
 * realm token, each a COSE_Sign1 signed with ES384 (ECDSA P-384, GnuTLS)
 * by keys of the emulated platform: the CCA platform attestation key
 * (CPAK) signs the platform token, the realm attestation key (RAK) signs
 * the realm token, and the platform token's challenge binds the RAK.
 * rmm-attest.c makes the keys and builds and signs the tokens;
 * rmm-attest-verify.c checks a peer's platform token (the migration
 * handshake).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_ATTEST_H
#define RMM_ATTEST_H

#include <glib.h>
#include <gnutls/abstract.h>
#include "rmm.h"

typedef struct RmmAttestKeys RmmAttestKeys;

/* Fresh random CPAK and RAK.  NULL and *err set (g_free it) on failure. */
RmmAttestKeys *rmm_attest_keys_new(char **err);

/*
 * The platform key @cpak (taken over, also on failure: it must be ECDSA
 * P-384) and a fresh random RAK.
 */
RmmAttestKeys *rmm_attest_keys_new_cpak(gnutls_privkey_t cpak, char **err);
void rmm_attest_keys_free(RmmAttestKeys *k);

/*
 * The public CPAK, as the CBOR-encoded COSE_Key (EC2, P-384) that a
 * verifier would be provisioned with (the emulated platform has no
 * endorsement service).  For tests and tools; g_byte_array_unref() it.
 */
GByteArray *rmm_attest_keys_export_cpak_pub(const RmmAttestKeys *k);

/*
 * The public CPAK, for rmm_attest_verify_platform_token().  NULL on
 * failure; gnutls_pubkey_deinit() it.
 */
gnutls_pubkey_t rmm_attest_keys_cpak_pubkey(const RmmAttestKeys *k);

/*
 * A platform token of @k (COSE_Sign1_Tagged, signed by the CPAK) with the
 * same claims as the one in rmm_attest_token(), but @challenge (@len of
 * 32, 48 or 64 bytes) as its challenge claim, e.g. a peer's nonce.  NULL
 * and *err set on failure.
 */
GByteArray *rmm_attest_platform_token(const RmmAttestKeys *k,
                                      const uint8_t *challenge, size_t len,
                                      char **err);

/*
 * Verify platform token @tok (@len bytes, untrusted): exactly one
 * COSE_Sign1_Tagged (tag 18) item whose protected header is {1: -35}
 * (ES384), signed by @key (ECDSA P-384), with a CBOR map as payload
 * whose challenge claim (key 10) appears once and equals @challenge
 * (@clen of 32, 48 or 64 bytes).  The other claims are not checked.
 * False and *err set (g_free it) on failure.
 */
bool rmm_attest_verify_platform_token(gnutls_pubkey_t key,
                                      const uint8_t *tok, size_t len,
                                      const uint8_t *challenge, size_t clen,
                                      char **err);

/*
 * The claims of a verified platform token that a migration policy
 * checks; pointers into the token, valid while it is.
 */
#define RMM_PLAT_TOKEN_SW_MAX   16

typedef struct RmmPlatTokenSw {
    const char *type;           /* measurement type, NULL: none */
    size_t type_len;
    const uint8_t *measurement;
    size_t measurement_len;
    const uint8_t *signer_id;
    size_t signer_id_len;
    const char *version;        /* NULL: none */
    size_t version_len;
} RmmPlatTokenSw;

typedef struct RmmPlatTokenClaims {
    bool has_lifecycle;
    uint64_t lifecycle;
    const uint8_t *impl_id;
    size_t impl_id_len;
    unsigned nr_sw;
    RmmPlatTokenSw sw[RMM_PLAT_TOKEN_SW_MAX];
} RmmPlatTokenClaims;

/*
 * rmm_attest_verify_platform_token(), then the claims a policy checks
 * to @claims: the security lifecycle (uint), implementation ID (a
 * non-empty bstr) and software components (1 to RMM_PLAT_TOKEN_SW_MAX
 * maps, each with a measurement value and a signer ID; type and
 * version text if present) must each appear once and be well-formed.
 */
bool rmm_attest_verify_platform_token_claims(gnutls_pubkey_t key,
                                             const uint8_t *tok, size_t len,
                                             const uint8_t *challenge,
                                             size_t clen,
                                             RmmPlatTokenClaims *claims,
                                             char **err);

/* The claims @k's platform token makes (RmmPlatformClaims, rmm.h). */
void rmm_attest_keys_get_claims(const RmmAttestKeys *k, RmmPlatformClaims *c);
/* Make @k's platform tokens say @c from now on. */
bool rmm_attest_keys_set_claims(RmmAttestKeys *k, const RmmPlatformClaims *c,
                                char **err);

typedef struct RmmRealmClaims {
    uint8_t challenge[RMM_CHALLENGE_SIZE];
    uint8_t rpv[RMM_RPV_SIZE];
    RmiHashAlgo hash_algo;
    uint8_t rim[RMM_HASH_MAX];
    uint8_t rem[RMM_NUM_REMS][RMM_HASH_MAX];
} RmmRealmClaims;

/* Upper bound of rmm_attest_token()'s output for @algo (> 0). */
size_t rmm_attest_token_max_size(RmiHashAlgo algo);

/* The whole CCA token.  NULL and *err set on failure. */
GByteArray *rmm_attest_token(const RmmAttestKeys *k, const RmmRealmClaims *c,
                             char **err);

#endif /* RMM_ATTEST_H */
