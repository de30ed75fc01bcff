/*
 * Emulated RMM migration: what rmm-mig*.c share
 *
 * Per-granule bitmaps of a session, the migration policy
 * (rmm-mig-policy.c), the handshake (rmm-mig-handshake.c), the two
 * halves of the import and the session's bookkeeping (rmm-mig.c).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MIG_INTERNAL_H
#define RMM_MIG_INTERNAL_H

#include <gnutls/x509.h>

#include "qemu/host-utils.h"
#include "rmm-internal.h"
#include "rmm-attest.h"
#include "rmm-mig.h"
#include "rmm-mig-ecdh.h"
#include "rmm-mig-record.h"

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
            i += ctz64(w);
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
        n += ctpop64(bm[i]);
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

/* ---- Handshake (rmm-mig-handshake.c) ---- */

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
/*
 * Check the peer's HELLO or ACCEPT, and its realm parameters against
 * @own; its ECDH share to @share.
 */
bool rmm_mig_hs_check(RmmMig *m, unsigned type, const uint8_t *buf,
                      size_t len, const uint8_t bind[64],
                      const RmiRealmParams *own,
                      uint8_t share[RMM_MIG_SHARE_SIZE], char **err);
/* Session keys from m->hello, @accept and the peer's @share. */
bool rmm_mig_hs_keys(RmmMig *m, const uint8_t share[RMM_MIG_SHARE_SIZE],
                     const uint8_t *accept, size_t len, char **err);
/* SHA-512 of m->hello. */
bool rmm_mig_hs_hello_hash(RmmMig *m, uint8_t out[64]);

/* ---- Import (rmm-mig-import.c, rmm-mig-import-records.c) ---- */

/*
 * Fail the record @v: *@err (if @err; g_free it) says "<TYPE> record
 * [lane <l>] seq <n>: " and the reason; returns @st.
 */
RmiStatus G_GNUC_PRINTF(4, 5)
rmm_mig_reject(char **err, RmiStatus st, const RmmMigRecordView *v,
               const char *fmt, ...);
/*
 * Open the record @v of @buf, a record of lane 0 whose place in the
 * session was checked, check it against the realm and apply it.  With
 * realm->lock held.
 */
RmiStatus rmm_mig_import_body(RmmRealm *r, const uint8_t *buf,
                              const RmmMigRecordView *v,
                              RmmMigImported *out, char **err);
/*
 * The same for a DATA record of lane 1..RMM_MIG_LANES_MAX, opened
 * without the lock (held on entry and on return).
 */
RmiStatus rmm_mig_import_lane(RmmRealm *r, const uint8_t *buf,
                              const RmmMigRecordView *v,
                              RmmMigImported *out, char **err);

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
/*
 * An import fails: it can only be aborted from now on; the first error,
 * *@err, is kept (fail_why) for the refusals of the records after it.
 */
void rmm_mig_import_fail(RmmMig *m, char **err);
/* Why the import failed, for a message ("an earlier record" if unknown) */
const char *rmm_mig_fail_why(const RmmMig *m);
/* A new session: everything but the phase cleared. */
void rmm_mig_reset(RmmMig *m);
/* The only way the phase changes (realm locked): tells the host. */
void rmm_mig_set_phase(RmmRealm *r, RmmMigPhase phase);
/* Bookkeeping of a record exported or imported. */
void rmm_mig_account(RmmMig *m, unsigned type, size_t len, uint64_t units);

#endif /* RMM_MIG_INTERNAL_H */
