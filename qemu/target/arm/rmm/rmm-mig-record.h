/*
 * Emulated RMM migration: records, their layout and their sealing
 *
 * The record layer (rmm-mig-record.c, whose comment describes the format
 * and the cryptography), below the sessions: the session keys, the
 * sealed units of a record (AES-256-GCM) and whole records sealed and
 * opened with them, the commit and abort tokens, and the layout of the
 * sealed bodies.  It holds no realm state: the exporter
 * (rmm-mig-export.c) and the importer (rmm-mig-import*.c) call it with
 * their session's keys.  The unit tests and the fuzzer include it as the
 * record layer's own tests, to play a source that knows the keys and
 * seals what no RMM would (tests/rmm/).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MIG_RECORD_H
#define RMM_MIG_RECORD_H

#include "rmm.h"

/*
 * Session keys: derived from the handshake's ECDH secret and transcript
 * (rmm-mig-handshake.c); @aead is the gnutls_aead_cipher_hd_t of
 * @enc_key (kept opaque here so that this header needs no GnuTLS).
 */
typedef struct RmmMigKeys {
    bool valid;
    uint8_t session[RMM_MIG_SESSION_SIZE];
    uint8_t enc_key[32];
    uint8_t tok_key[32];
    void *aead;
} RmmMigKeys;

/*
 * Session keys from the handshake's key material: @okm holds the session
 * ID, the encryption key and the token key, in that order; false if
 * GnuTLS fails.  rmm_mig_keys_wipe() erases and frees them.
 */
#define RMM_MIG_OKM_SIZE        (RMM_MIG_SESSION_SIZE + 32 + 32)
bool rmm_mig_keys_init(RmmMigKeys *k, const uint8_t okm[RMM_MIG_OKM_SIZE]);
void rmm_mig_keys_wipe(RmmMigKeys *k);
/*
 * A copy of the session keys @src with a cipher handle of its own, for
 * one thread to seal or open with outside the realm lock (GnuTLS
 * handles are not shared between threads); rmm_mig_keys_wipe() it.
 */
bool rmm_mig_keys_clone(RmmMigKeys *dst, const RmmMigKeys *src);

/* ---- Layout of the sealed bodies (offsets in the plaintext) ---- */

#define MIG_IMM_IPA_WIDTH       0       /* u32 */
#define MIG_IMM_HASH_ALGO       4       /* u8 */
#define MIG_IMM_SVE_VL          5       /* u8 */
#define MIG_IMM_NUM_BPS         6       /* u8 */
#define MIG_IMM_NUM_WPS         7       /* u8 */
#define MIG_IMM_PMU_CTRS        8       /* u8, then 3 zero bytes */
#define MIG_IMM_NR_RAM          12      /* u32 */
#define MIG_IMM_FLAGS           16      /* u64 */
#define MIG_IMM_RPV             24      /* RMM_RPV_SIZE bytes */
#define MIG_IMM_RIM             88      /* RMM_HASH_MAX bytes */
#define MIG_IMM_NR_RECS         152     /* u32, then 4 zero bytes */
#define MIG_IMM_RAM             160     /* nr_ram x { u64 base, u64 size } */
#define MIG_IMM_SIZE(nr_ram)    (MIG_IMM_RAM + 16 * (nr_ram))

#define MIG_RIPAS_COUNT         0       /* u32, then 4 zero bytes */
#define MIG_RIPAS_RUNS          8
#define MIG_RIPAS_RUN_SIZE      16      /* u64 base, u32 granules, */
                                        /* u8 ripas, u8 assigned, 2 zero */
#define MIG_DATA_UNIT_SIZE      RMM_MIG_DATA_ENTRY_SIZE

#define MIG_EPOCH_EPOCH         0       /* u32 */
#define MIG_EPOCH_GRANULES      4       /* u64 */
#define MIG_EPOCH_SIZE          12

#define MIG_REC_INDEX           0       /* u32 */
#define MIG_REC_RUNNABLE        4       /* u8 */
#define MIG_REC_PENDING         5       /* u8, RmmRecPending */
#define MIG_REC_RIPAS_VALUE     6       /* u8 */
#define MIG_REC_PSCI_PENDING    7       /* u8 */
#define MIG_REC_MPIDR           8       /* u64 */
#define MIG_REC_RIPAS_BASE      16      /* u64 */
#define MIG_REC_RIPAS_TOP       24      /* u64 */
#define MIG_REC_RIPAS_NEXT      32      /* u64 */
#define MIG_REC_HOST_CALL_IPA   40      /* u64 */
#define MIG_REC_PSCI_FID        48      /* u32 */
#define MIG_REC_HAS_TOKEN       52      /* u8 */
#define MIG_REC_RIPAS_FLAGS     53      /* u8 (RSI_CHANGE_DESTROYED), */
                                        /* then 2 zero bytes */
#define MIG_REC_PSCI_MPIDR      56      /* u64 */
#define MIG_REC_TOKEN_LEN       64      /* u32 */
#define MIG_REC_TOKEN_OFF       68      /* u32 */
#define MIG_REC_CTX_LEN         72      /* u32 */
#define MIG_REC_ARCH_LEN        76      /* u32: RmmRecArch after the ctx */
#define MIG_REC_VCNT            80      /* u64 virtual counter at export */
#define MIG_REC_TOKEN           88      /* token bytes, then ctx bytes */

#define MIG_END_SEQ             0       /* u64 */
#define MIG_END_EPOCHS          8       /* u32 */
#define MIG_END_NR_RECS         12      /* u32 */
#define MIG_END_GRANULES        16      /* u64 */
#define MIG_END_REMS            24      /* RMM_NUM_REMS x RMM_HASH_MAX */
#define MIG_END_SIZE            (MIG_END_REMS + RMM_NUM_REMS * RMM_HASH_MAX)

/* A DATA entry: its word, then its sealed granule. */
#define MIG_DATA_WORD           8
#define MIG_DATA_PT_UNIT        (MIG_DATA_WORD + RMM_GRANULE_SIZE)
#define MIG_DATA_COUNT_SIZE     4
#define MIG_WORD_LOW_MASK       (RMM_GRANULE_SIZE - 1)

/* Body sizes, tag included. */
#define MIG_IMM_BODY(nr_ram)    (RMM_MIG_SESSION_SIZE + MIG_IMM_SIZE(nr_ram) + \
                                 RMM_MIG_TAG_SIZE)
#define MIG_RIPAS_BODY(count)   (MIG_RIPAS_RUNS + \
                                 (count) * MIG_RIPAS_RUN_SIZE + \
                                 RMM_MIG_TAG_SIZE)
/* ... at most: every entry a full one */
#define MIG_DATA_BODY(count)    (MIG_DATA_COUNT_SIZE + \
                                 (count) * MIG_DATA_UNIT_SIZE)
#define MIG_EPOCH_BODY          (MIG_EPOCH_SIZE + RMM_MIG_TAG_SIZE)
#define MIG_REC_BODY_MIN        (MIG_REC_TOKEN + RMM_MIG_TAG_SIZE)
#define MIG_END_BODY            (MIG_END_SIZE + RMM_MIG_TAG_SIZE)
/*
 * HELLO and ACCEPT: nonce, share, bind, realm parameters, chain size,
 * token size at least
 */
#define MIG_HS_BODY_MIN         (RMM_MIG_NONCE_SIZE + RMM_MIG_SHARE_SIZE + \
                                 64 + MIG_PARAMS_SIZE + 4 + 4)

/*
 * The realm parameters both sides of a migration must have alike, as
 * HELLO and ACCEPT carry them in clear (IMMUTABLE has them sealed, at
 * its own offsets):
 *     0  u64 flags          8  u8 ipa_width      9  u8 hash_algo
 *    10  u8 sve_vl         11  u8 num_bps       12  u8 num_wps
 *    13  u8 pmu_num_ctrs   14  2 zero bytes
 */
#define MIG_PARAMS_SIZE         16

void rmm_mig_params_put(uint8_t out[MIG_PARAMS_SIZE],
                        const RmiRealmParams *p);
/* False if a byte that must be zero is not (or ipa_width cannot be). */
bool rmm_mig_params_get(const uint8_t in[MIG_PARAMS_SIZE],
                        RmiRealmParams *p);
/*
 * The source's parameters @src against the destination's @dst: the
 * first that differs in *@err, "<what>: <name> mismatch (the
 * destination's is <value>...)", told in the destination's terms
 * (vector length in bits, counts of counters, breakpoints and
 * watchpoints, or that its realm has no SVE or PMU).  RMI_SUCCESS if
 * all are equal.
 */
RmiStatus rmm_mig_params_match(const RmiRealmParams *src,
                               const RmiRealmParams *dst, const char *what,
                               char **err);

/*
 * A REC's architectural state (RmmRecArch) as a REC record carries it
 * after the host's context, rmm_rec_arch_size() bytes, little endian:
 *   SVE (with the realm's SVE flag): u64 ZCR_EL1, Z0-Z31 of VL bytes
 *     each, P0-P15 then FFR of VL / 8 bytes each (VL = (sve_vl + 1) * 16)
 *   PMU (with its PMU flag): u64 PMCR_EL0, PMCNTENSET_EL0,
 *     PMINTENSET_EL1, PMOVSSET_EL0, PMCCNTR_EL0, PMCCFILTR_EL0,
 *     PMSELR_EL0, PMUSERENR_EL0, then per event counter u64 PMEVCNTR,
 *     PMEVTYPER
 *   debug: u64 MDSCR_EL1, per breakpoint u64 DBGBVR, DBGBCR, per
 *     watchpoint u64 DBGWVR, DBGWCR
 */
void rmm_rec_arch_put(const RmiRealmParams *p, const RmmRecArch *a,
                      uint8_t *out);
/* The reverse, checked against the realm: false and *@err if it is not. */
bool rmm_rec_arch_get(const RmiRealmParams *p, const uint8_t *in,
                      size_t len, RmmRecArch *a, char **err);

/* Wire size of the DATA entry whose word is @word. */
static inline size_t mig_data_entry_size(uint64_t word)
{
    return word & RMM_MIG_DATA_NO_CT ? RMM_MIG_DATA_ZERO_ENTRY_SIZE
                                     : MIG_DATA_UNIT_SIZE;
}

/* ---- Sealed units, records, tokens ---- */

/* What an importer says of a unit that does not authenticate. */
extern const char rmm_mig_auth_failed[];

/* Seal @pt[0..@len) to @out (@len + tag bytes). */
bool rmm_mig_seal(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                  const uint8_t *word, const uint8_t *pt, size_t len,
                  uint8_t *out);
/* Open @ct[0..@len) (tag included) to @pt (@len - tag bytes). */
bool rmm_mig_open(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                  const uint8_t *word, const uint8_t *ct, size_t len,
                  uint8_t *pt);
/* The header of a record of lane 0. */
void rmm_mig_header(uint8_t *buf, unsigned type, uint32_t length,
                    uint32_t epoch, uint64_t seq);

/*
 * Seal a record as the source does: header (@type, @epoch, @seq) and
 * body.  For DATA @pt is n units of { le64 word, granule } (n =
 * @pt_len / (8 + RMM_GRANULE_SIZE), 1..RMM_MIG_BATCH_MAX; a unit whose
 * word has RMM_MIG_DATA_ZERO becomes a zero entry, its granule ignored)
 * and the record uses n sequence numbers; for IMMUTABLE the session ID
 * is put before the sealed @pt; any other type is one sealed unit.
 * Returns the record's length, or 0 if @cap is too small or @pt_len
 * impossible.
 */
size_t rmm_mig_seal_record(RmmMigKeys *k, unsigned type, uint32_t epoch,
                           uint64_t seq, const uint8_t *pt, size_t pt_len,
                           uint8_t *buf, size_t cap);
/* The same for a DATA record of @lane (0..RMM_MIG_LANES_MAX). */
size_t rmm_mig_seal_data_lane(RmmMigKeys *k, unsigned lane, uint32_t epoch,
                              uint64_t seq, const uint8_t *pt, size_t pt_len,
                              uint8_t *buf, size_t cap);
/*
 * The reverse: authenticate and decrypt the record @buf[0..@len) into @pt
 * (at least @len bytes, and for DATA RMM_MIG_BATCH_MAX units), *@pt_len
 * set; DATA units come out as @pt of rmm_mig_seal_record() (a zero
 * entry's granule as zeros).  False if it does not parse or authenticate.
 */
bool rmm_mig_open_record(RmmMigKeys *k, const uint8_t *buf, size_t len,
                         uint8_t *pt, size_t *pt_len);

/* Commit token (@commit) or abort token of the session. */
bool rmm_mig_token(const RmmMigKeys *k, bool commit, uint64_t end_seq,
                   uint8_t out[RMM_MIG_TOKEN_SIZE]);

#endif /* RMM_MIG_RECORD_H */
