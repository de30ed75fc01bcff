/*
 * Emulated Arm CCA Realm Management Monitor (RMM): core types
 *
 * The model is plain C (GLib + GnuTLS) that builds, is unit-tested and
 * fuzzed on its own, and links into QEMU unchanged.  Of QEMU it uses
 * "qemu/osdep.h", which each of its sources includes first, and
 * "qemu/host-utils.h"; its standalone build has stand-ins of the two
 * (tests/rmm/include/qemu/).  Its host side is shaped after the RMI of
 * the RMM specification (DEN0137 1.0); its realm side implements the
 * RSI.
 *
 * What the model owns: realm descriptors (RD), the realm's stage 2 state
 * per 4 KiB granule of protected IPA space (HIPAS and RIPAS), the contents
 * of protected memory (a private store the host hands over at creation and
 * never reads again), RECs, and measurements.  What the host (QEMU glue or,
 * later, KVM) owns: shared memory, devices, and the vCPU while a REC runs.
 *
 * Locking: every function that takes an RmmRealm locks the realm itself,
 * so callers need no lock of their own.  rmm_realm_s2_lookup() is safe to
 * call from any thread (vCPU threads fill TLBs without the BQL).
 *
 * The interface, one header per area, as the sources are laid out:
 *   rmm.h          the objects (platform, realm, REC), limits, the
 *                  platform (rmm-realm.c, rmm-identity.c)
 *   rmm-realm.h    a realm and its memory: RMI_REALM_*, RMI_GRANULE_*,
 *                  RMI_RTT_*, RMI_DATA_* (rmm-realm.c, rmm-granule.c,
 *                  rmm-rtt.c, rmm-data.c)
 *   rmm-rec.h      RECs and the realm side: RMI_REC_CREATE, the realm's
 *                  SMCs (RSI, PSCI), REC exits and their completion
 *                  (rmm-rec.c, rmm-rsi.c, rmm-psci.c)
 *   rmm-measure.h  RIM and REM (rmm-measure.c)
 *   rmm-attest.h   attestation keys and tokens (rmm-attest.c,
 *                  rmm-attest-verify.c)
 *   rmm-mig.h      migration: export, import, handshake, policy
 *                  (rmm-mig*.c)
 * and, inside the model only, rmm-internal.h (the objects' layout),
 * rmm-cbor.h, rmm-attest-defs.h (the token's format), rmm-mig-internal.h,
 * rmm-mig-record.h (records: layout and sealing) and rmm-mig-ecdh.h.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_H
#define RMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../rmi.h"            /* RMI types of the specification */
#include "../rmi-mig.h"        /* granule, migration record format */

#define RMM_NUM_REMS            4
#define RMM_MAX_RECS            512
#define RMM_CHALLENGE_SIZE      64

/*
 * RmiFeatureRegister0.NUM_BPS / NUM_WPS (4-bit fields, number minus one):
 * the realm uses the vCPU's own debug registers, so the model reports the
 * architectural maximum of 16 breakpoints and 16 watchpoints.
 */
#define RMM_MAX_NUM_BPS         15
#define RMM_MAX_NUM_WPS         15

typedef struct RmmPlatform RmmPlatform;
typedef struct RmmRealm RmmRealm;
typedef struct RmmRec RmmRec;

/* ---- The platform (rmm-realm.c, rmm-identity.c) ---- */

/*
 * Platform: the emulated CCA platform the RMM runs on (attestation keys,
 * platform claims).  One per process is enough; realms reference it.
 */
RmmPlatform *rmm_platform_new(char **err);

/*
 * The platform's physical counter (CNTPCT) as the RMM reads it: on
 * hardware a register, in the emulation the host's clock.  The RMM keeps
 * each REC's virtual counter offset (rmm_rec_cntvoff()) relative to it.
 */
typedef uint64_t RmmCounterFn(void *opaque);
void rmm_platform_set_counter(RmmPlatform *p, RmmCounterFn *fn,
                              void *opaque);
void rmm_platform_free(RmmPlatform *p);

/*
 * What the platform offers its realms, as RMI_FEATURES reports it in
 * RmiFeatureRegister0 and RMI_REALM_CREATE checks a realm's parameters
 * against: the largest IPA width, LPA2, SVE with its longest vector
 * length (VQ minus one), breakpoints and watchpoints (each a number
 * minus one), a PMU with its number of counters.  A new platform offers
 * the base: IPA width RMI_IPA_WIDTH_MAX, no LPA2, SVE or PMU,
 * RMM_MAX_NUM_BPS breakpoints and RMM_MAX_NUM_WPS watchpoints.  QEMU's
 * TCG backend offers what the vCPU model has (the emulated PE).
 */
typedef struct RmmPlatformFeatures {
    uint8_t s2sz;
    bool lpa2;
    bool sve;
    uint8_t sve_vl;             /* 0..15 */
    uint8_t num_bps;            /* 1..RMM_MAX_NUM_BPS */
    uint8_t num_wps;            /* 1..RMM_MAX_NUM_WPS */
    bool pmu;
    uint8_t pmu_num_ctrs;       /* 0..31 */
} RmmPlatformFeatures;

void rmm_platform_get_features(RmmPlatform *p, RmmPlatformFeatures *f);
/*
 * Set what @p offers; false and *@err (g_free it) if a field is out of
 * its range or the platform has realms already (they were checked
 * against what it offered then).
 */
bool rmm_platform_set_features(RmmPlatform *p, const RmmPlatformFeatures *f,
                               char **err);
/*
 * RMI_FEATURES(0): RmiFeatureRegister0 (DEN0137 1.0): S2SZ [7:0], LPA2
 * 8, SVE_EN 9, SVE_VL [13:10], NUM_BPS [19:14], NUM_WPS [25:20], PMU_EN
 * 26, PMU_NUM_CTRS [31:27], HASH_SHA_256 32, HASH_SHA_512 33.  The model
 * reports 0 in GICV3_NUM_LRS and MAX_RECS_ORDER: it has no GIC list
 * registers of its own (QEMU's GIC serves the realm) and takes up to
 * RMM_MAX_RECS RECs.
 */
uint64_t rmm_platform_features0(RmmPlatform *p);

/*
 * A platform with an identity: @pem[0..@len) holds its CCA platform
 * attestation key (ECDSA P-384, unencrypted PKCS#8 or SEC1) and X.509
 * certificates, the key's first, each issued and signed by the next
 * (rmm-identity.c).  The platform token is signed with that key, so the
 * platform is the same across restarts.  NULL and *err (naming what is
 * wrong; g_free it) when the file is not such an identity.
 */
RmmPlatform *rmm_platform_new_identity(const char *pem, size_t len,
                                       char **err);
/* Certificates of the platform's identity (0: an ephemeral platform). */
unsigned rmm_platform_identity_chain_len(RmmPlatform *p);

/*
 * What the emulated platform says about itself in its platform token
 * (rmm-attest.c): the claims a migration policy checks in a peer's
 * token.  A real platform's boot chain measures these; here they are
 * the emulation's fixed values unless set, so that an operator or a
 * test can make a platform that a policy refuses (a "debug" platform
 * with a non-secured lifecycle, another implementation, older
 * firmware).
 */
#define RMM_PLATFORM_SW_COMPONENTS  3       /* BL1, BL31, RMM */
#define RMM_PLATFORM_ID_SIZE        32      /* SHA-256 */
#define RMM_PLATFORM_VERSION_MAX    16      /* with the NUL */

/* PSA / CCA security lifecycle "CCA platform secured" */
#define RMM_LIFECYCLE_SECURED_MIN   0x3000
#define RMM_LIFECYCLE_SECURED_MAX   0x30ff

typedef struct RmmPlatformClaims {
    uint16_t lifecycle;             /* default RMM_LIFECYCLE_SECURED_MIN */
    uint8_t implementation_id[RMM_PLATFORM_ID_SIZE];
    struct {
        uint8_t measurement[RMM_PLATFORM_ID_SIZE];
        uint8_t signer_id[RMM_PLATFORM_ID_SIZE];
        char version[RMM_PLATFORM_VERSION_MAX];     /* e.g. "1.0.0" */
    } sw[RMM_PLATFORM_SW_COMPONENTS];
} RmmPlatformClaims;

/* The claims @p reports. */
void rmm_platform_get_claims(RmmPlatform *p, RmmPlatformClaims *c);

/*
 * Make @p report @c from now on.  Only on a platform with no realm
 * (false and *@err otherwise, or when a version is empty or not
 * NUL-terminated).
 */
bool rmm_platform_set_claims(RmmPlatform *p, const RmmPlatformClaims *c,
                             char **err);

#endif /* RMM_H */
