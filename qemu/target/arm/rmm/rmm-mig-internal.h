/*
 * Emulated RMM migration: what rmm-mig*.c share
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MIG_INTERNAL_H
#define RMM_MIG_INTERNAL_H

#include <gnutls/x509.h>

#include "rmm-internal.h"
#include "rmm-attest.h"
#include "rmm-mig.h"

#define MIG_NONCE_SIZE          12
#define MIG_HMAC_SIZE           32

/* Associated data: session, version, type, lane, length, epoch, seq, word. */
#define MIG_AAD_MAX             (RMM_MIG_SESSION_SIZE + 3 + 4 + 4 + 8 + 8)

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
/* HELLO and ACCEPT: nonce, share, bind, chain size, token size at least */
#define MIG_HS_BODY_MIN         (RMM_MIG_NONCE_SIZE + RMM_MIG_SHARE_SIZE + \
                                 64 + 4 + 4)

extern const char rmm_mig_auth_failed[];

/* Wire size of the DATA entry whose word is @word. */
static inline size_t mig_data_entry_size(uint64_t word)
{
    return word & RMM_MIG_DATA_NO_CT ? RMM_MIG_DATA_ZERO_ENTRY_SIZE
                                     : MIG_DATA_UNIT_SIZE;
}

/* True if the granule at @p holds only zeros. */
static inline bool mig_granule_zero(const uint8_t *p)
{
    uint64_t w[8];
    size_t off;

    for (off = 0; off < RMM_GRANULE_SIZE; off += sizeof(w)) {
        memcpy(w, p + off, sizeof(w));
        if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) {
            return false;
        }
    }
    return true;
}

/* ---- Bitmaps: one bit per granule of a RAM range ---- */

static inline uint64_t rr_granules(const RmmRamRange *rr)
{
    return rr->size >> RMM_GRANULE_SHIFT;
}

static inline uint64_t rr_index(const RmmRamRange *rr, uint64_t ipa)
{
    return (ipa - rr->base) >> RMM_GRANULE_SHIFT;
}

static inline size_t bm_words(uint64_t nbits)
{
    return (nbits + 63) / 64;
}

static inline bool bm_test(const uint64_t *bm, uint64_t i)
{
    return (bm[i / 64] >> (i % 64)) & 1;
}

static inline void bm_set(uint64_t *bm, uint64_t i)
{
    bm[i / 64] |= 1ULL << (i % 64);
}

static inline void bm_clear(uint64_t *bm, uint64_t i)
{
    bm[i / 64] &= ~(1ULL << (i % 64));
}

/* The first set bit of @bm in [@i, @end), or @end. */
static inline uint64_t bm_next(const uint64_t *bm, uint64_t i, uint64_t end)
{
    while (i < end) {
        uint64_t w = bm[i / 64] >> (i % 64);

        if (w) {
            i += __builtin_ctzll(w);
            return i < end ? i : end;
        }
        i = (i | 63) + 1;
    }
    return end;
}

static inline uint64_t bm_count(const uint64_t *bm, uint64_t nbits)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; bm && i < bm_words(nbits); i++) {
        n += __builtin_popcountll(bm[i]);
    }
    return n;
}

/*
 * RECs and END come once an epoch was closed; after the first REC no
 * DATA, RIPAS or EPOCH can follow, so the last (open) epoch has all the
 * DATA and RIPAS records there will be.
 */
static inline bool rmm_mig_epoch_closed(RmmMig *m)
{
    return m->epoch > 0;
}

/* ---- Records (rmm-mig-record.c) ---- */

/* Commit token (@commit) or abort token of the session. */
bool rmm_mig_token(const RmmMigKeys *k, bool commit, uint64_t end_seq,
                   uint8_t out[RMM_MIG_TOKEN_SIZE]);
/* Seal @pt[0..@len) to @out (@len + tag bytes). */
bool rmm_mig_seal(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                  const uint8_t *word, const uint8_t *pt, size_t len,
                  uint8_t *out);
/* Open @ct[0..@len) (tag included) to @pt (@len - tag bytes). */
bool rmm_mig_open(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                  const uint8_t *word, const uint8_t *ct, size_t len,
                  uint8_t *pt);
void rmm_mig_header(uint8_t *buf, unsigned type, uint32_t length,
                    uint32_t epoch, uint64_t seq);

/* ---- Handshake (rmm-mig-handshake.c, rmm-mig-ecdh.c) ---- */

/* A fresh ephemeral ECDH P-384 key; NULL if no randomness. */
RmmMigEcdh *rmm_mig_ecdh_new(void);
/* Its public share, 0x04 || X || Y. */
const uint8_t *rmm_mig_ecdh_share(const RmmMigEcdh *e);
/* X of the product with the peer's @peer; false if it is no P-384 point. */
bool rmm_mig_ecdh_derive(const RmmMigEcdh *e,
                         const uint8_t peer[RMM_MIG_SHARE_SIZE],
                         uint8_t secret[RMM_MIG_COORD_SIZE]);
void rmm_mig_ecdh_free(RmmMigEcdh *e);

/* ---- Policy (rmm-mig-policy.c) ---- */

/* The policy of @pem[0..@len); NULL and *@err naming the line if bad. */
RmmMigPolicy *rmm_mig_policy_parse(const uint8_t *pem, size_t len,
                                   char **err);
void rmm_mig_policy_free(RmmMigPolicy *p);
/*
 * The peer's (@who) certificates @crts[0..@n), leaf first: the leaf fit
 * for migration (key usage, EKU), its key pinned if @p pins keys, the
 * chain ending at an anchor if @p has anchors.
 */
bool rmm_mig_policy_check_chain(const RmmMigPolicy *p,
                                gnutls_x509_crt_t *crts, unsigned n,
                                const char *who, char **err);
/* The claims of the peer's verified platform token against @p. */
bool rmm_mig_policy_check_claims(const RmmMigPolicy *p,
                                 const RmmPlatTokenClaims *c,
                                 const char *who, char **err);

/*
 * The realm's migration policy from @pem[0..@len) (whose SHA-512 must
 * be the measured RmiRealmParams.mig_policy) into r->mig.policy; false
 * with *@st and *@err otherwise.
 */
bool rmm_mig_policy_load(RmmRealm *r, const uint8_t *pem, size_t len,
                         RmiStatus *st, char **err);
/* Free policy, ephemeral key and HELLO. */
void rmm_mig_handshake_free(RmmMig *m);
/* HELLO or ACCEPT (@type) of this side, binding @bind (64 bytes). */
GByteArray *rmm_mig_hs_build(RmmRealm *r, unsigned type,
                             const uint8_t bind[64], char **err);
/* Check the peer's HELLO or ACCEPT; its ECDH share to @share. */
bool rmm_mig_hs_check(RmmMig *m, unsigned type, const uint8_t *buf,
                      size_t len, const uint8_t bind[64],
                      uint8_t share[RMM_MIG_SHARE_SIZE], char **err);
/* Session keys from m->hello, @accept and the peer's @share. */
bool rmm_mig_hs_keys(RmmMig *m, const uint8_t share[RMM_MIG_SHARE_SIZE],
                     const uint8_t *accept, size_t len, char **err);
/* SHA-512 of m->hello. */
bool rmm_mig_hs_hello_hash(RmmMig *m, uint8_t out[64]);

/* ---- Session (rmm-mig.c), with realm->lock held ---- */

/* Bits of every RAM range set in @bms (NULL bitmaps count 0). */
uint64_t rmm_mig_count(RmmRealm *r, uint64_t *const *bms);
/* The RAM ranges of @r in IPA order: their indexes in @order. */
void rmm_mig_ram_order(RmmRealm *r, unsigned order[RMM_MAX_RAM_RANGES]);
/*
 * End the session's cryptography and tracking: keys wiped, logging off,
 * bitmaps freed.  Phase, statistics and the abort token stay.
 */
void rmm_mig_end_session(RmmMig *m);
/* Wipe and free the plaintext of the last REC imported. */
void rmm_mig_drop_rec_pt(RmmMig *m);
/* A new session: everything but the phase cleared. */
void rmm_mig_reset(RmmMig *m);
/* The only way the phase changes (realm locked): tells the host. */
void rmm_mig_set_phase(RmmRealm *r, RmmMigPhase phase);
/* Bookkeeping of a record exported or imported. */
void rmm_mig_account(RmmMig *m, unsigned type, size_t len, uint64_t units);

#endif /* RMM_MIG_INTERNAL_H */
