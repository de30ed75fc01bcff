/*
 * Emulated RMM: Realm Initial Measurement (RIM) and REM extension
 *
 * Implements the measurement rules of the RMM specification (DEN0137 1.0),
 * chapter A7.1 "Realm measurements".  Every measured RMI command builds a
 * byte image of a structure defined by the specification (RmiRealmParams,
 * RmiRecParams or one of the 256-byte RmmMeasurementDescriptor* types),
 * with all unused bits zero, and hashes it with the Realm Hash Algorithm
 * (RHA).  Images are built with explicit little-endian stores at the byte
 * offsets of the specification's tables, never from C struct layouts.
 *
 * Measurement buffers are always RMM_HASH_MAX (64) bytes: "zero filling
 * upper bytes if the RHA output is smaller than the size of the RIM".
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-measure.h"
#include "rmm-internal.h"

/* Size of the output of each RmiHashAlgorithm, in bytes. */
#define RMM_SHA256_SIZE             32
#define RMM_SHA512_SIZE             64

/* RmiDataMeasureContent (B4.4.3), the measure bit of RmiDataFlags. */
#define RMI_NO_MEASURE_CONTENT      0ULL
#define RMI_MEASURE_CONTENT         1ULL

/*
 * RmmMeasurementDescriptorData/Rec/Ripas (C1.11, C1.12, C1.13): all three
 * are 256 (0x100) bytes wide and start with the same three members.
 */
#define MEAS_DESC_SIZE              0x100
#define MEAS_DESC_TYPE_DATA         0x0
#define MEAS_DESC_TYPE_REC          0x1
#define MEAS_DESC_TYPE_RIPAS        0x2

#define MEAS_DESC_OFF_DESC_TYPE     0x0     /* Bits8 */
#define MEAS_DESC_OFF_LEN           0x8     /* UInt64 */
#define MEAS_DESC_OFF_RIM           0x10    /* RmmRealmMeasurement */

/* C1.11 RmmMeasurementDescriptorData */
#define MEAS_DATA_OFF_IPA           0x50    /* Address */
#define MEAS_DATA_OFF_FLAGS         0x58    /* RmmDataFlags */
#define MEAS_DATA_OFF_CONTENT       0x60    /* RmmRealmMeasurement */

/* C1.12 RmmMeasurementDescriptorRec */
#define MEAS_REC_OFF_CONTENT        0x50    /* RmmRealmMeasurement */

/* C1.13 RmmMeasurementDescriptorRipas */
#define MEAS_RIPAS_OFF_BASE         0x50    /* Address */
#define MEAS_RIPAS_OFF_TOP          0x58    /* Address */

/* B4.4.12 RmiRealmParams: 4096 (0x1000) bytes; measured members only. */
#define REALM_PARAMS_SIZE           0x1000
#define REALM_PARAMS_OFF_FLAGS      0x0     /* RmiRealmFlags, 64 bits */
#define REALM_PARAMS_OFF_S2SZ       0x8     /* UInt8 */
#define REALM_PARAMS_OFF_SVE_VL     0x10    /* UInt8 */
#define REALM_PARAMS_OFF_NUM_BPS    0x18    /* UInt8 */
#define REALM_PARAMS_OFF_NUM_WPS    0x20    /* UInt8 */
#define REALM_PARAMS_OFF_PMU_CTRS   0x28    /* UInt8 */
#define REALM_PARAMS_OFF_HASH_ALGO  0x30    /* RmiHashAlgorithm, 8 bits */
/* Proposed: SHA-512 of the migration policy (not in DEN0137 1.0) */
#define REALM_PARAMS_OFF_MIG_POLICY 0x900   /* 512 bits */

/* B4.4.19 RmiRecParams: 4096 (0x1000) bytes; measured members only. */
#define REC_PARAMS_SIZE             0x1000
#define REC_PARAMS_OFF_FLAGS        0x0     /* RmiRecCreateFlags, 64 bits */
#define REC_PARAMS_OFF_PC           0x200   /* Bits64 */
#define REC_PARAMS_OFF_GPRS         0x300   /* Bits64[8] */
#define REC_PARAMS_NUM_GPRS         8

size_t rmm_hash_len(RmiHashAlgo algo)
{
    switch (algo) {
    case RMI_HASH_SHA256:
        return RMM_SHA256_SIZE;
    case RMI_HASH_SHA512:
        return RMM_SHA512_SIZE;
    default:
        return 0;
    }
}

static void st8(uint8_t *buf, size_t off, uint8_t val)
{
    buf[off] = val;
}

/*
 * out = RHA(buf[0..len)), zero filled to RMM_HASH_MAX bytes.  @out may
 * not overlap @buf.
 */
static void rmm_hash(RmiHashAlgo algo, const void *buf, size_t len,
                     uint8_t out[RMM_HASH_MAX])
{
    gnutls_digest_algorithm_t dig = GNUTLS_DIG_UNKNOWN;
    uint8_t tmp[RMM_HASH_MAX];
    int ret;

    switch (algo) {
    case RMI_HASH_SHA256:
        dig = GNUTLS_DIG_SHA256;
        break;
    case RMI_HASH_SHA512:
        dig = GNUTLS_DIG_SHA512;
        break;
    default:
        g_assert_not_reached();
    }
    g_assert(gnutls_hash_get_len(dig) == rmm_hash_len(algo));

    memset(tmp, 0, sizeof(tmp));
    ret = gnutls_hash_fast(dig, buf, len, tmp);
    if (ret < 0) {
        g_error("rmm: hashing failed: %s", gnutls_strerror(ret));
    }
    memcpy(out, tmp, RMM_HASH_MAX);
}

/*
 * The members common to all measurement descriptors (C1.11 to C1.13):
 * desc_type at 0x0 (Bits8), len at 0x8 (UInt64, "Length of this data
 * structure in bytes", i.e. 0x100), rim at 0x10 (RmmRealmMeasurement,
 * 512 bits, the current RIM).  Everything else starts zero ("Unused bits
 * of the structure MBZ").  Only the RHA's output size of @rim is copied,
 * so the upper bytes of a SHA-256 RIM are zero in the image.
 */
static void meas_desc_init(uint8_t desc[MEAS_DESC_SIZE], uint8_t desc_type,
                           RmiHashAlgo algo, const uint8_t rim[RMM_HASH_MAX])
{
    memset(desc, 0, MEAS_DESC_SIZE);
    st8(desc, MEAS_DESC_OFF_DESC_TYPE, desc_type);
    rmi_st64(desc + MEAS_DESC_OFF_LEN, MEAS_DESC_SIZE);
    memcpy(desc + MEAS_DESC_OFF_RIM, rim, rmm_hash_len(algo));
}

/*
 * DEN0137 1.0, B4.3.9.4 "RMI_REALM_CREATE initialization of RIM" and
 * B4.4.12 "RmiRealmParams type": the RIM is the RHA of a zero-filled
 * 4096-byte RmiRealmParams into which only flags (0x0, 64 bits), s2sz
 * (0x8), sve_vl (0x10), num_bps (0x18), num_wps (0x20), pmu_num_ctrs
 * (0x28) and hash_algo (0x30, all UInt8) are copied.  rpv (0x400), vmid
 * (0x800) and the RTT fields (0x808..0x81b) are not measured.  This
 * project proposes one more measured field, the hash of the realm's
 * migration policy at 0x900 (zero when the realm never migrates, so the
 * RIM of such a realm is the specification's).
 */
static void realm_params_image(uint8_t buf[REALM_PARAMS_SIZE],
                               const RmiRealmParams *p)
{
    memset(buf, 0, REALM_PARAMS_SIZE);
    rmi_st64(buf + REALM_PARAMS_OFF_FLAGS, p->flags);
    st8(buf, REALM_PARAMS_OFF_S2SZ, (uint8_t)p->ipa_width);
    st8(buf, REALM_PARAMS_OFF_SVE_VL, p->sve_vl);
    st8(buf, REALM_PARAMS_OFF_NUM_BPS, p->num_bps);
    st8(buf, REALM_PARAMS_OFF_NUM_WPS, p->num_wps);
    st8(buf, REALM_PARAMS_OFF_PMU_CTRS, p->pmu_num_ctrs);
    st8(buf, REALM_PARAMS_OFF_HASH_ALGO, (uint8_t)p->hash_algo);
    memcpy(buf + REALM_PARAMS_OFF_MIG_POLICY, p->mig_policy,
           RMM_MIG_POLICY_HASH_SIZE);
}

void rmm_measure_realm_create(const RmiRealmParams *p,
                              uint8_t rim[RMM_HASH_MAX])
{
    uint8_t buf[REALM_PARAMS_SIZE];

    realm_params_image(buf, p);
    rmm_hash(p->hash_algo, buf, sizeof(buf), rim);
}

/*
 * DEN0137 1.0, B4.3.18.4 "RMI_RTT_INIT_RIPAS extension of RIM" and C1.13
 * "RmmMeasurementDescriptorRipas type": desc_type 0x2, len 0x100, rim,
 * base at 0x50 (Address), top at 0x58 (Address); the rest is zero.
 */
static void ripas_desc(uint8_t desc[MEAS_DESC_SIZE], RmiHashAlgo algo,
                       const uint8_t rim[RMM_HASH_MAX],
                       uint64_t base, uint64_t top)
{
    meas_desc_init(desc, MEAS_DESC_TYPE_RIPAS, algo, rim);
    rmi_st64(desc + MEAS_RIPAS_OFF_BASE, base);
    rmi_st64(desc + MEAS_RIPAS_OFF_TOP, top);
}

void rmm_measure_init_ripas(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                            uint64_t base, uint64_t top)
{
    uint8_t desc[MEAS_DESC_SIZE];

    ripas_desc(desc, algo, rim, base, top);
    rmm_hash(algo, desc, sizeof(desc), rim);
}

/*
 * DEN0137 1.0, B4.3.1.4 "RMI_DATA_CREATE extension of RIM" and C1.11
 * "RmmMeasurementDescriptorData type": desc_type 0x0, len 0x100, rim, ipa
 * at 0x50 (Address), flags at 0x58 (RmmDataFlags: the Host's flags, bit 0
 * = RMI_MEASURE_CONTENT), content at 0x60 (RmmRealmMeasurement: the RHA
 * of the 4 KiB granule, or zero when the content is not measured).
 */
static void data_desc(uint8_t desc[MEAS_DESC_SIZE], RmiHashAlgo algo,
                      const uint8_t rim[RMM_HASH_MAX], uint64_t ipa,
                      uint64_t flags, const uint8_t content[RMM_HASH_MAX])
{
    meas_desc_init(desc, MEAS_DESC_TYPE_DATA, algo, rim);
    rmi_st64(desc + MEAS_DATA_OFF_IPA, ipa);
    rmi_st64(desc + MEAS_DATA_OFF_FLAGS, flags);
    memcpy(desc + MEAS_DATA_OFF_CONTENT, content, rmm_hash_len(algo));
}

void rmm_measure_data_create(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                             uint64_t ipa, const uint8_t *data)
{
    uint8_t desc[MEAS_DESC_SIZE];
    uint8_t content[RMM_HASH_MAX];
    uint64_t flags;

    memset(content, 0, sizeof(content));
    if (data) {
        flags = RMI_MEASURE_CONTENT;
        rmm_hash(algo, data, RMM_GRANULE_SIZE, content);
    } else {
        flags = RMI_NO_MEASURE_CONTENT;
    }
    data_desc(desc, algo, rim, ipa, flags, content);
    rmm_hash(algo, desc, sizeof(desc), rim);
}

/*
 * DEN0137 1.0, B4.3.12.4 "RMI_REC_CREATE extension of RIM" and B4.4.19
 * "RmiRecParams type": a zero-filled 4096-byte RmiRecParams into which
 * only flags (0x0, 64 bits), pc (0x200) and gprs[0..7] (0x300 + 8 * i)
 * are copied.  mpidr (0x100), num_aux (0x800) and aux[] (0x808..) are not
 * measured.
 */
static void rec_params_image(uint8_t buf[REC_PARAMS_SIZE],
                             const RmmRecParams *p)
{
    unsigned i;

    memset(buf, 0, REC_PARAMS_SIZE);
    rmi_st64(buf + REC_PARAMS_OFF_FLAGS, p->flags);
    rmi_st64(buf + REC_PARAMS_OFF_PC, p->pc);
    for (i = 0; i < REC_PARAMS_NUM_GPRS; i++) {
        rmi_st64(buf + REC_PARAMS_OFF_GPRS + 8 * i, p->gprs[i]);
    }
}

/*
 * DEN0137 1.0, B4.3.12.4 and C1.12 "RmmMeasurementDescriptorRec type":
 * desc_type 0x1, len 0x100, rim, content at 0x50 (RmmRealmMeasurement:
 * the RHA of the measured RmiRecParams image); the rest is zero.
 */
static void rec_desc(uint8_t desc[MEAS_DESC_SIZE], RmiHashAlgo algo,
                     const uint8_t rim[RMM_HASH_MAX],
                     const uint8_t content[RMM_HASH_MAX])
{
    meas_desc_init(desc, MEAS_DESC_TYPE_REC, algo, rim);
    memcpy(desc + MEAS_REC_OFF_CONTENT, content, rmm_hash_len(algo));
}

void rmm_measure_rec_create(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                            const RmmRecParams *p)
{
    uint8_t params[REC_PARAMS_SIZE];
    uint8_t content[RMM_HASH_MAX];
    uint8_t desc[MEAS_DESC_SIZE];

    /* Only the creation of a runnable REC extends the RIM (A7.1.1). */
    if (!(p->flags & RMI_REC_FLAG_RUNNABLE)) {
        return;
    }
    rec_params_image(params, p);
    rmm_hash(algo, params, sizeof(params), content);
    rec_desc(desc, algo, rim, content);
    rmm_hash(algo, desc, sizeof(desc), rim);
}

/*
 * RSI_MEASUREMENT_EXTEND (DEN0137 1.0, B5.3.7 "RSI_MEASUREMENT_EXTEND
 * command", B3.42 "RemExtend function"): the hash input is the old REM
 * (the RHA's output size of it: 32 bytes for SHA-256) followed by the
 * @len bytes the Realm passed in X3..X10, with no padding.  This is what
 * TF-RMM (and Islet) compute.  The prose of B3.42 ("the remaining bits
 * zero-padded to form a 512-bit value") reads as if the value were padded
 * to 64 bytes; we follow the reference implementation so that event log
 * replays written against real RMMs match.
 */
void rmm_measure_extend(RmiHashAlgo algo, uint8_t rem[RMM_HASH_MAX],
                        const uint8_t *data, size_t len)
{
    size_t hlen = rmm_hash_len(algo);
    uint8_t buf[2 * RMM_HASH_MAX];

    g_assert(len <= RMM_HASH_MAX);
    g_assert(hlen != 0);
    memcpy(buf, rem, hlen);
    if (len) {
        memcpy(buf + hlen, data, len);
    }
    rmm_hash(algo, buf, hlen + len, rem);
}
