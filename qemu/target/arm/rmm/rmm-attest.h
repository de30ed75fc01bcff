/*
 * Emulated RMM: CCA attestation token
 *
 * A CCA attestation token (CBOR tag 399) holding a platform token and a
 * realm token, each a COSE_Sign1 signed with ES384 (ECDSA P-384, GnuTLS)
 * by keys of the emulated platform: the CCA platform attestation key
 * (CPAK) signs the platform token, the realm attestation key (RAK) signs
 * the realm token, and the platform token's challenge binds the RAK.
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
