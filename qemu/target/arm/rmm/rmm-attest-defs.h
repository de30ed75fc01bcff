/*
 * Emulated RMM: the CCA attestation token's format
 *
 * Numbers of draft-ffm-rats-cca-token and of COSE that both sides of
 * the token use: rmm-attest.c, which builds and signs tokens, and
 * rmm-attest-verify.c, which checks a peer's platform token.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_ATTEST_DEFS_H
#define RMM_ATTEST_DEFS_H

#include <stdbool.h>
#include <stddef.h>

/* CCA token collection */
#define CCA_TOKEN_TAG                   399
#define CCA_PLAT_TOKEN                  44234
#define CCA_REALM_DELEGATED_TOKEN       44241

/* Realm token claims */
#define CCA_REALM_CHALLENGE             10
#define CCA_REALM_PROFILE               265
#define CCA_REALM_PERSONALIZATION_VALUE 44235
#define CCA_REALM_HASH_ALGO_ID          44236
#define CCA_REALM_PUB_KEY               44237
#define CCA_REALM_INITIAL_MEASUREMENT   44238
#define CCA_REALM_EXTENSIBLE_MEASUREMENTS 44239
#define CCA_REALM_PUB_KEY_HASH_ALGO_ID  44240

/* Platform token claims */
#define CCA_PLAT_CHALLENGE              10
#define CCA_PLAT_INSTANCE_ID            256
#define CCA_PLAT_PROFILE                265
#define CCA_PLAT_LIFECYCLE              2395
#define CCA_PLAT_IMPLEMENTATION_ID      2396
#define CCA_PLAT_SW_COMPONENTS          2399
#define CCA_PLAT_VERIFICATION_SERVICE   2400
#define CCA_PLAT_CONFIG                 2401
#define CCA_PLAT_HASH_ALGO_ID           2402

/* Keys of a platform software component map */
#define SW_COMP_MEASUREMENT_TYPE        1
#define SW_COMP_MEASUREMENT_VALUE       2
#define SW_COMP_VERSION                 4
#define SW_COMP_SIGNER_ID               5
#define SW_COMP_MEASUREMENT_DESC        6

#define CCA_REALM_PROFILE_NAME          "tag:arm.com,2023:realm#1.0.0"
#define CCA_PLAT_PROFILE_NAME           "tag:arm.com,2023:cca_platform#1.0.0"

/* COSE (RFC 9052, RFC 9053) */
#define COSE_SIGN1_TAG                  18
#define COSE_HEADER_ALG                 1
#define COSE_ALG_ES384                  (-35)
#define COSE_KEY_KTY                    1
#define COSE_KEY_EC2_CRV                (-1)
#define COSE_KEY_EC2_X                  (-2)
#define COSE_KEY_EC2_Y                  (-3)
#define COSE_KTY_EC2                    2
#define COSE_CRV_P384                   2

#define P384_COORD_SIZE                 48
#define ES384_SIG_SIZE                  (2 * P384_COORD_SIZE)

/* The challenge sizes a platform token takes (SHA-256, -384, -512). */
static inline bool rmm_attest_challenge_size_ok(size_t len)
{
    return len == 32 || len == 48 || len == 64;
}

#endif /* RMM_ATTEST_DEFS_H */
