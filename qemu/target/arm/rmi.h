/*
 * The Realm Management Interface (RMI): what a host shares with any RMM
 *
 * Facts of the RMM specification (DEN0137 1.0) that every host side uses,
 * whatever RMM it drives: the emulated one in target/arm/rmm/, or a real
 * one behind KVM.  Status codes, realm parameters, hash algorithms, RIPAS
 * values, REC exit reasons and flag bits.  Plain C, no QEMU headers.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_RMI_H
#define TARGET_ARM_RMI_H

#include <stdint.h>

/*
 * Little-endian fields: every RMI and RSI structure, measurement
 * descriptor and migration record is little-endian.
 */

static inline void rmi_st32(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static inline void rmi_st64(uint8_t *p, uint64_t v)
{
    rmi_st32(p, v);
    rmi_st32(p + 4, v >> 32);
}

static inline uint32_t rmi_ld32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rmi_ld64(const uint8_t *p)
{
    return rmi_ld32(p) | (uint64_t)rmi_ld32(p + 4) << 32;
}

/* IPA widths (RmiRealmParams.s2sz) a realm may have. */
#define RMI_IPA_WIDTH_MIN       32
#define RMI_IPA_WIDTH_MAX       52

#define RMM_HASH_MAX            64      /* SHA-512 */
#define RMM_RPV_SIZE            64
#define RMM_MIG_POLICY_HASH_SIZE 64     /* SHA-512 of a migration policy */

/* RMI status codes (RmiStatusCode). */
typedef enum RmiStatus {
    RMI_SUCCESS = 0,
    RMI_ERROR_INPUT = 1,
    RMI_ERROR_REALM = 2,
    RMI_ERROR_REC = 3,
    RMI_ERROR_RTT = 4,
} RmiStatus;

/*
 * RmiCommandReturnCode: the status in bits [7:0] and an index in [15:8]
 * (for RMI_ERROR_RTT, the RTT level at which the walk stopped).  A code
 * with index 0 equals its RmiStatus.
 */
typedef uint32_t RmiCommandReturnCode;

static inline RmiCommandReturnCode rmi_return(RmiStatus status,
                                              unsigned index)
{
    return (RmiCommandReturnCode)status | (index & 0xff) << 8;
}

static inline RmiStatus rmi_return_status(RmiCommandReturnCode rc)
{
    return (RmiStatus)(rc & 0xff);
}

static inline unsigned rmi_return_index(RmiCommandReturnCode rc)
{
    return (rc >> 8) & 0xff;
}

static inline const char *rmi_status_name(RmiCommandReturnCode rc)
{
    static const char *const names[] = {
        [RMI_SUCCESS] = "success",
        [RMI_ERROR_INPUT] = "input error",
        [RMI_ERROR_REALM] = "realm state error",
        [RMI_ERROR_REC] = "REC state error",
        [RMI_ERROR_RTT] = "RTT state error",
    };
    unsigned s = rmi_return_status(rc);

    return s <= RMI_ERROR_RTT ? names[s] : "unknown error";
}

/* Bytes an RTT entry of @level maps (4 KiB granules, levels 0..3). */
#define RMI_RTT_ENTRY_SIZE(level)   (1ULL << (12 + 9 * (3 - (level))))
#define RMI_RTT_LEVEL_MAX           3

/* Hash algorithms (RmiHashAlgorithm). */
typedef enum RmiHashAlgo {
    RMI_HASH_SHA256 = 0,
    RMI_HASH_SHA512 = 1,
} RmiHashAlgo;

/* Realm IPA state (RmiRipas / RsiRipas). */
typedef enum RmiRipas {
    RMI_RIPAS_EMPTY = 0,
    RMI_RIPAS_RAM = 1,
    RMI_RIPAS_DESTROYED = 2,
} RmiRipas;

/* RmiRealmParams: the fields a host sets. */
typedef struct RmiRealmParams {
    uint64_t flags;                 /* RMI_REALM_FLAGS_* (measured) */
    uint32_t ipa_width;             /* s2sz (measured) */
    uint8_t sve_vl;                 /* (measured) */
    uint8_t num_bps;                /* (measured) */
    uint8_t num_wps;                /* (measured) */
    uint8_t pmu_num_ctrs;           /* (measured) */
    RmiHashAlgo hash_algo;          /* (measured) */
    uint8_t rpv[RMM_RPV_SIZE];      /* personalization value */
    uint16_t vmid;                  /* unique among the platform's realms */
    /*
     * Proposed (migration): SHA-512 of the realm's migration policy, the
     * trust anchors of the platforms it may migrate between; all zero:
     * the realm never migrates.  Measured.
     */
    uint8_t mig_policy[RMM_MIG_POLICY_HASH_SIZE];
} RmiRealmParams;

/* RmiRealmFlags */
#define RMI_REALM_FLAGS_LPA2    (1ULL << 0)
#define RMI_REALM_FLAGS_SVE     (1ULL << 1)
#define RMI_REALM_FLAGS_PMU     (1ULL << 2)
/*
 * Proposed (migration): granules of zeros travel as their IPA and a tag,
 * so the host learns which granules are zero when they are exported.
 * Measured, so that a realm owner sees whether the realm allows it.
 */
#define RMI_REALM_FLAGS_MIG_ZERO (1ULL << 32)

/* RmiRecCreateFlags */
#define RMI_REC_FLAG_RUNNABLE   (1ULL << 0)

/* REC exit reasons (RmiRecExitReason). */
typedef enum RmiRecExitReason {
    RMI_EXIT_SYNC = 0,
    RMI_EXIT_IRQ = 1,
    RMI_EXIT_FIQ = 2,
    RMI_EXIT_PSCI = 3,
    RMI_EXIT_RIPAS_CHANGE = 4,
    RMI_EXIT_HOST_CALL = 5,
    RMI_EXIT_SERROR = 6,
} RmiRecExitReason;

/* PSCI function IDs (DEN0022) that RMI hosts and RMMs act on. */
#define PSCI_FN_VERSION             0x84000000u
#define PSCI_FN_CPU_SUSPEND_32      0x84000001u
#define PSCI_FN_CPU_SUSPEND_64      0xC4000001u
#define PSCI_FN_CPU_OFF             0x84000002u
#define PSCI_FN_CPU_ON_32           0x84000003u
#define PSCI_FN_CPU_ON_64           0xC4000003u
#define PSCI_FN_AFFINITY_INFO_32    0x84000004u
#define PSCI_FN_AFFINITY_INFO_64    0xC4000004u
#define PSCI_FN_MIGRATE_INFO_TYPE   0x84000006u
#define PSCI_FN_SYSTEM_OFF          0x84000008u
#define PSCI_FN_SYSTEM_RESET        0x84000009u
#define PSCI_FN_FEATURES            0x8400000Au

#endif /* TARGET_ARM_RMI_H */
