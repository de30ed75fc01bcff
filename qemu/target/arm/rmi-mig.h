/*
 * The proposed RMI migration interface: what a host sees of it
 *
 * No RMM specification defines migration commands yet; this project
 * proposes them (docs/system/arm/cca-migration.rst).  This header holds
 * the facts of that interface that every host side shares, whatever RMM
 * it drives (the emulated one in target/arm/rmm/, or one behind KVM):
 * the granule, the sizes, and the record format, whose header is in
 * clear while bodies are sealed by the RMM.  Plain C, no QEMU headers.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_RMI_MIG_H
#define TARGET_ARM_RMI_MIG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rmi.h"

#define RMM_GRANULE_SHIFT       12
#define RMM_GRANULE_SIZE        (1ULL << RMM_GRANULE_SHIFT)

#define RMM_MIG_SESSION_SIZE    32      /* session ID (from the handshake) */
#define RMM_MIG_TOKEN_SIZE      32      /* HMAC-SHA256 commit/abort token */
#define RMM_MIG_TAG_SIZE        16      /* AES-GCM tag */
#define RMM_MIG_BATCH_MAX       64      /* granules in one DATA record */
#define RMM_MIG_REC_CTX_MAX     (256 * 1024)   /* host's vCPU context */
#define RMM_MIG_RECORD_MAX      (512 * 1024)   /* largest record */
#define RMM_MIG_HEADER_SIZE     24

/* Handshake (HELLO, ACCEPT): ephemeral ECDH P-384 with attested shares. */
#define RMM_MIG_COORD_SIZE      48      /* a P-384 coordinate */
#define RMM_MIG_SHARE_SIZE      (1 + 2 * RMM_MIG_COORD_SIZE)  /* SEC1 */
#define RMM_MIG_NONCE_SIZE      32
#define RMM_MIG_HS_MAX          8000    /* largest HELLO / ACCEPT */

/*
 * Record format (all integers little-endian), RMM_MIG_HEADER_SIZE bytes of
 * header in clear, then a type-specific body:
 *   0  4  magic "RMIG"
 *   4  1  version (1)
 *   5  1  type (RmmMigRecordType)
 *   6  1  lane: 0, or for DATA 1..RMM_MIG_LANES_MAX (below)
 *   7  1  zero
 *   8  4  total record length, header included
 *  12  4  epoch
 *  16  8  sequence number of the record's first sealed unit (in its lane)
 *
 * Lane 0 is the ordered stream: every record, each with the next
 * sequence number.  DATA records may also go on parallel lanes (sealed
 * by several host threads, carried on several connections): each lane
 * numbers its own units, and the destination takes a lane's records in
 * any order within their epoch.
 */
#define RMM_MIG_VERSION         1
#define RMM_MIG_HDR_MAGIC       0
#define RMM_MIG_HDR_VERSION     4
#define RMM_MIG_HDR_TYPE        5
#define RMM_MIG_HDR_LANE        6
#define RMM_MIG_HDR_RESERVED    7
#define RMM_MIG_LANES_MAX       16
#define RMM_MIG_HDR_LENGTH      8
#define RMM_MIG_HDR_EPOCH       12
#define RMM_MIG_HDR_SEQ         16

typedef enum RmmMigRecordType {
    RMM_MIG_RT_IMMUTABLE = 1,   /* session ID, sealed realm parameters */
    RMM_MIG_RT_RIPAS = 2,       /* sealed runs of (RIPAS, HIPAS) */
    RMM_MIG_RT_DATA = 3,        /* 1..RMM_MIG_BATCH_MAX sealed granules */
    RMM_MIG_RT_EPOCH = 4,       /* closes the current epoch */
    RMM_MIG_RT_REC = 5,         /* one sealed REC with the host's context */
    RMM_MIG_RT_END = 6,         /* sealed summary; last record */
    RMM_MIG_RT_HELLO = 7,       /* source: share and evidence, first */
    RMM_MIG_RT_ACCEPT = 8,      /* destination: its share and evidence */
} RmmMigRecordType;

/*
 * A DATA body: a u32 count, then count entries, each a u64 word (the
 * granule's IPA | RIPAS | RMM_MIG_DATA_ZERO | RMM_MIG_DATA_POISON), then
 * RMM_GRANULE_SIZE bytes of ciphertext and RMM_MIG_TAG_SIZE bytes of tag;
 * an entry whose word has RMM_MIG_DATA_ZERO is a granule of zeros and
 * carries no ciphertext, only the tag (over the word).  Zero entries are
 * sent only for realms created with RMI_REALM_FLAGS_MIG_ZERO.  An entry
 * whose word has RMM_MIG_DATA_POISON is a poisoned granule (a memory
 * error the host reported, rmm_granule_poison()): no contents either,
 * only the tag; the destination's granule is poisoned too.  What one
 * granule costs on the wire, the record header aside:
 */
#define RMM_MIG_DATA_RIPAS      0x3     /* word: RmiRipas */
#define RMM_MIG_DATA_ZERO       0x4     /* word: a granule of zeros */
#define RMM_MIG_DATA_POISON     0x8     /* word: a poisoned granule */
/* Word flags of the entries that carry no ciphertext. */
#define RMM_MIG_DATA_NO_CT      (RMM_MIG_DATA_ZERO | RMM_MIG_DATA_POISON)
#define RMM_MIG_DATA_ENTRY_SIZE (8 + RMM_GRANULE_SIZE + RMM_MIG_TAG_SIZE)
#define RMM_MIG_DATA_ZERO_ENTRY_SIZE (8 + RMM_MIG_TAG_SIZE)

static inline bool rmi_mig_record_type_valid(unsigned type)
{
    return type >= RMM_MIG_RT_IMMUTABLE && type <= RMM_MIG_RT_ACCEPT;
}

static inline const char *rmi_mig_record_type_name(unsigned type)
{
    static const char *const names[] = {
        [RMM_MIG_RT_IMMUTABLE] = "IMMUTABLE",
        [RMM_MIG_RT_RIPAS] = "RIPAS",
        [RMM_MIG_RT_DATA] = "DATA",
        [RMM_MIG_RT_EPOCH] = "EPOCH",
        [RMM_MIG_RT_REC] = "REC",
        [RMM_MIG_RT_END] = "END",
        [RMM_MIG_RT_HELLO] = "HELLO",
        [RMM_MIG_RT_ACCEPT] = "ACCEPT",
    };

    return rmi_mig_record_type_valid(type) ? names[type] : "unknown";
}

/*
 * Length of the record whose header is @hdr (RMM_MIG_HEADER_SIZE bytes),
 * or 0 if the header is not one of a record: what a host needs to cut
 * a stream into records.  The RMM checks everything else.
 */
static inline uint32_t rmi_mig_record_length(const uint8_t *hdr)
{
    uint32_t length = rmi_ld32(hdr + RMM_MIG_HDR_LENGTH);

    if (memcmp(hdr + RMM_MIG_HDR_MAGIC, "RMIG", 4) ||
        hdr[RMM_MIG_HDR_VERSION] != RMM_MIG_VERSION ||
        !rmi_mig_record_type_valid(hdr[RMM_MIG_HDR_TYPE]) ||
        hdr[RMM_MIG_HDR_LANE] > RMM_MIG_LANES_MAX ||
        (hdr[RMM_MIG_HDR_LANE] && hdr[RMM_MIG_HDR_TYPE] != RMM_MIG_RT_DATA) ||
        hdr[RMM_MIG_HDR_RESERVED] ||
        length < RMM_MIG_HEADER_SIZE || length > RMM_MIG_RECORD_MAX) {
        return 0;
    }
    return length;
}

/*
 * Where a realm's migration stands, source or destination, as its RMM
 * tells it: rmm_mig_phase() of the emulated RMM, RmiMigOps.status of a
 * backend (rmi-mig-ops.h).
 */
typedef enum RmmMigPhase {
    RMM_MIG_NONE = 0,           /* not migrating */
    RMM_MIG_OUT_EXPORTING,      /* pre-copy: RECs run, writes are logged */
    RMM_MIG_OUT_PAUSED,         /* RECs may not enter; final export */
    RMM_MIG_OUT_ENDED,          /* END exported: waits for commit/abort */
    RMM_MIG_OUT_MIGRATED,       /* committed elsewhere: only destroy */
    RMM_MIG_IN_IMPORTING,       /* destination, before commit */
    RMM_MIG_IN_ABORTED,         /* destination, import aborted */
} RmmMigPhase;

static inline const char *rmi_mig_phase_name(RmmMigPhase phase)
{
    static const char *const names[] = {
        [RMM_MIG_NONE] = "none",
        [RMM_MIG_OUT_EXPORTING] = "exporting",
        [RMM_MIG_OUT_PAUSED] = "paused",
        [RMM_MIG_OUT_ENDED] = "ended",
        [RMM_MIG_OUT_MIGRATED] = "migrated",
        [RMM_MIG_IN_IMPORTING] = "importing",
        [RMM_MIG_IN_ABORTED] = "aborted",
    };

    return (unsigned)phase <= RMM_MIG_IN_ABORTED ? names[phase] : "unknown";
}

/*
 * The IPA state of a realm's RAM, to compare two realms (a migration's
 * source at END and its destination at commit must agree): granules by
 * RIPAS, the assigned and the poisoned ones, and SHA-256 over the RAM
 * ranges (base and size) and, per granule, its RIPAS, whether it is
 * assigned and whether it is poisoned.
 */
typedef struct RmmIpaState {
    uint64_t ripas[3];          /* granules by RmiRipas */
    uint64_t assigned;
    uint64_t poisoned;
    uint8_t sha256[32];
} RmmIpaState;

/* Statistics of the current (or last) session of a realm. */
typedef struct RmmMigStats {
    uint64_t epoch;             /* current epoch */
    uint64_t data_granules;     /* granules exported / imported */
    uint64_t zero_granules;     /* of which zero entries (no ciphertext) */
    uint64_t poisoned_granules; /* of which poisoned entries */
    uint64_t data_bytes;        /* bytes of DATA records */
    uint64_t ripas_records;
    uint64_t ripas_granules;    /* granules described by RIPAS runs */
    uint64_t rec_records;
    uint64_t total_bytes;       /* every record */
    uint64_t dirty_granules;    /* logged, not yet read by the host */
    /*
     * Source: granules whose current contents are not exported yet,
     * whether or not the host read them from the log (END needs 0).
     */
    uint64_t pending_granules;
    /* Source: granules whose RIPAS or HIPAS change is not exported yet. */
    uint64_t ripas_pending_granules;
} RmmMigStats;

#endif /* TARGET_ARM_RMI_MIG_H */
