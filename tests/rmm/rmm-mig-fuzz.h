/*
 * The realm fuzz-rmm-mig imports into, shared with the seed corpus
 * writer (test-rmm-mig --write-corpus DIR) so that seeds are valid.
 *
 * Input format of fuzz-rmm-mig (first byte selects the mode):
 *   FUZZ_MODE_RAW: records, back to back; each one's length is read from
 *     its header (rmi_mig_record_length(), clamped to what is left).
 *   FUZZ_MODE_SEALED: the harness is a malicious source that knows the
 *     key: chunks of { u8 type, u8 mods, le16 len, payload[len] }, each
 *     sealed by the harness at its own next sequence number and epoch
 *     (mods bit 0: epoch + 1, bit 1: seq + 1, bit 2: seq - 1, bit 3: DATA
 *     on lane 1 + (mods bits 4-5), numbered in its lane).  For DATA
 *     the payload is { u8 count, count x { le64 gpa | ripas, u8 fill } }
 *     (granules filled with the byte), for IMMUTABLE the sealed
 *     parameters (the harness adds the session ID), for any other type
 *     the plaintext of the record's one sealed unit.
 *   FUZZ_MODE_HELLO: a HELLO for MIG_IMPORT_HELLO.
 *   FUZZ_MODE_HELLO_PATCH: { le16 offset, u8 xor }... applied to a valid
 *     HELLO of the fuzzer's own source platform, then MIG_IMPORT_HELLO:
 *     it must be refused unless the patches left it unchanged.
 *   FUZZ_MODE_ACCEPT: an ACCEPT for MIG_ACCEPT of a fresh session: it
 *     must be refused (nobody but a destination RMM can make one).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MIG_FUZZ_H
#define RMM_MIG_FUZZ_H

#include <string.h>
#include "rmm.h"

#define FUZZ_MODE_RAW       0
#define FUZZ_MODE_SEALED    1
#define FUZZ_MODE_HELLO     2
#define FUZZ_MODE_HELLO_PATCH 3
#define FUZZ_MODE_ACCEPT    4

#define FUZZ_IPA_WIDTH      33
#define FUZZ_RAM0           0x40000000ULL
#define FUZZ_RAM0_SIZE      (64 * 1024ULL)
#define FUZZ_RAM1           0x40200000ULL
#define FUZZ_RAM1_SIZE      (16 * 1024ULL)
#define FUZZ_NR_RECS        2
#define FUZZ_SESSION_BYTE   0x5a    /* the sealed mode's session ID */

#define FUZZ_MOD_EPOCH      (1u << 0)
#define FUZZ_MOD_SEQ_INC    (1u << 1)
#define FUZZ_MOD_SEQ_DEC    (1u << 2)
/* DATA on lane 1 + (mods >> 4 & 3), numbered in that lane */
#define FUZZ_MOD_LANE       (1u << 3)

static const uint8_t fuzz_mig_key[32] = {
    0x46, 0x75, 0x7a, 0x7a, 0x20, 0x6d, 0x69, 0x67,
    0x72, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x20, 0x6b,
    0x65, 0x79, 0x2c, 0x20, 0x6e, 0x6f, 0x74, 0x20,
    0x61, 0x20, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74,
};

/* libFuzzer's entry points (fuzz-rmm-mig.c) */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_realm_params(RmiRealmParams *p, uint16_t vmid,
                                     const uint8_t policy_hash[64])
{
    unsigned i;

    memset(p, 0, sizeof(*p));
    p->flags = RMI_REALM_FLAGS_MIG_ZERO;     /* zero entries reachable */
    p->ipa_width = FUZZ_IPA_WIDTH;
    p->hash_algo = RMI_HASH_SHA256;
    p->num_bps = 1;
    p->num_wps = 1;
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        p->rpv[i] = 0xf0 ^ i;
    }
    p->vmid = vmid;
    memcpy(p->mig_policy, policy_hash, RMM_MIG_POLICY_HASH_SIZE);
}

#endif /* RMM_MIG_FUZZ_H */
