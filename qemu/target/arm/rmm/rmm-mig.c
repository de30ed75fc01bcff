/*
 * Emulated RMM: migration of a realm (a proposed RMI extension)
 *
 * The source RMM exports a realm as a stream of records that only the
 * destination RMM can open; the host carries them.  See rmm.h for the
 * commands and docs/system/arm/cca-migration.rst for the protocol.
 *
 * Cryptography (GnuTLS only)
 * --------------------------
 * The host gives both RMMs the same 32-byte migration key K.  At
 * rmm_mig_export_start() the source draws a random 32-byte session ID S
 * and derives
 *     enc key   = HMAC-SHA256(K, "CCA-MIG-v1 enc" || S)
 *     token key = HMAC-SHA256(K, "CCA-MIG-v1 token" || S)
 * The destination derives the same keys from the S it finds in clear in
 * the IMMUTABLE record.  Every record body is made of sealed units:
 * AES-256-GCM under the enc key with a 16-byte tag, nonce = 4 zero bytes
 * || le64(seq), where seq is the unit's sequence number.  One counter per
 * session numbers the units: IMMUTABLE is seq 0, every later record takes
 * the next number, and a DATA record of n granules takes n numbers (its
 * header carries the first).  A nonce is therefore never used twice
 * under one key.  The associated data of a unit is
 *     S (32) || version (1) || type (1) || le32 record length ||
 *     le32 epoch || le64 unit seq [|| le64 (gpa | ripas), DATA only]
 * so a unit cannot be moved to another session, record, position, epoch
 * or GPA, and the record length (hence a DATA record's count) is bound.
 * The destination accepts a record only if its header seq is the next
 * expected number and its epoch the current epoch: a dropped, duplicated,
 * swapped, reordered or replayed record fails one of these checks or
 * authentication.
 *     commit token = HMAC-SHA256(token key, "commit" || S || le64(END seq))
 *     abort token  = HMAC-SHA256(token key, "abort" || S)
 * are compared in constant time.  Keys are wiped (gnutls_memset) when a
 * session ends, is aborted or the realm is destroyed.
 *
 * Record layouts
 * --------------
 * Offsets from the start of the record, integers little-endian.  Every
 * record starts with the 24-byte header of rmm.h ("RMIG", version 1,
 * type, 2 zero bytes, le32 length, le32 epoch, le64 seq).  "sealed(n)" is
 * n bytes of ciphertext followed by the 16-byte tag; offsets inside it
 * are those of the plaintext (MIG_* in rmm-internal.h).
 *
 * IMMUTABLE (type 1; seq 0, epoch 0), 232 + 16 * nr_ram bytes:
 *    24  32  session ID S, in clear
 *    56      sealed(160 + 16 * nr_ram):
 *             0  u32 ipa_width        4  u8 hash_algo
 *             5  u8 sve_vl            6  u8 num_bps
 *             7  u8 num_wps           8  u8 pmu_num_ctrs, 3 zero bytes
 *            12  u32 nr_ram (1..8)   16  u64 flags
 *            24  rpv (64 bytes)      88  RIM (64 bytes, zero padded)
 *           152  u32 nr_recs, 4 zero bytes
 *           160  nr_ram x { u64 base, u64 size }, in IPA order
 * RIPAS (type 2), 48 + 16 * count bytes:
 *    24      sealed(8 + 16 * count):
 *             0  u32 count (>= 1), 4 zero bytes
 *             8  count x { u64 base, u32 granules, u8 ripas,
 *                          u8 assigned (HIPAS), 2 zero bytes }
 *            runs lie inside one RAM range each, in IPA order, disjoint.
 * DATA (type 3), 28 + 4120 * count bytes (24 bytes of overhead a granule):
 *    24   4  u32 count (1..RMM_MIG_BATCH_MAX), in clear
 *    28      count x { u64 gpa | ripas (in clear, in the AAD),
 *                      sealed(4096) granule contents }
 *            unit i has seq = header seq + i.
 * EPOCH (type 4), 52 bytes:
 *    24      sealed(12): 0 u32 epoch closed, 4 u64 DATA granules in it
 * REC (type 5), 120 + token_len + ctx_len bytes:
 *    24      sealed(80 + token_len + ctx_len):
 *             0  u32 index            4  u8 runnable
 *             5  u8 pending exit      6  u8 ripas_value
 *             7  u8 psci_pending      8  u64 mpidr
 *            16  u64 ripas_base      24  u64 ripas_top
 *            32  u64 ripas_next      40  u64 host_call_ipa
 *            48  u32 psci_fid        52  u8 has_token, 3 zero bytes
 *            56  u64 psci_mpidr      64  u32 token_len
 *            68  u32 token_off       72  u32 ctx_len, 4 zero bytes
 *            80  token bytes, then the host's vCPU context
 * END (type 6), 320 bytes:
 *    24      sealed(280):
 *             0  u64 final seq (the END's own)
 *             8  u32 epochs          12  u32 nr_recs
 *            16  u64 DATA granules of the session
 *            24  REM[0..3], 64 bytes each, zero padded
 *
 * Order: IMMUTABLE first (seq 0, epoch 0); then RIPAS, DATA and EPOCH
 * records in any mix, a granule at most once per epoch in RIPAS records
 * and once in DATA records; REC records once an EPOCH was closed, in REC
 * index order, after which nothing but RECs and END; END last.
 *
 * Dirty tracking (source)
 * -----------------------
 * Per RAM range, one bit per granule in each of: the host's dirty log
 * (read and cleared by rmm_mig_dirty_log()), "pending" (contents not
 * exported since they last changed: END requires none, whatever the host
 * read from the log), "RIPAS dirty" (HIPAS or RIPAS not exported since
 * they last changed), and "sent in this epoch" for DATA and for RIPAS (a
 * granule appears at most once per epoch in each; the exporter defers a
 * second export to the next epoch).  Writes are logged only for assigned
 * granules; unassigning a granule drops its log and pending bits (its
 * RIPAS record, which says "unassigned", covers it).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-internal.h"
#include "rmm-attest.h"         /* rmm_attest_token_max_size() */

#define MIG_NONCE_SIZE          12
#define MIG_HMAC_SIZE           32


/* Associated data: session, version, type, length, epoch, seq, word. */
#define MIG_AAD_MAX             (RMM_MIG_SESSION_SIZE + 2 + 4 + 4 + 8 + 8)

#define MIG_DATA_WORD           8
#define MIG_DATA_PT_UNIT        (MIG_DATA_WORD + RMM_GRANULE_SIZE)
#define MIG_DATA_COUNT_SIZE     4
#define MIG_WORD_RIPAS_MASK     (RMM_GRANULE_SIZE - 1)

/* Body sizes, tag included. */
#define MIG_IMM_BODY(nr_ram)    (RMM_MIG_SESSION_SIZE + MIG_IMM_SIZE(nr_ram) + \
                                 RMM_MIG_TAG_SIZE)
#define MIG_RIPAS_BODY(count)   (MIG_RIPAS_RUNS + \
                                 (count) * MIG_RIPAS_RUN_SIZE + \
                                 RMM_MIG_TAG_SIZE)
#define MIG_DATA_BODY(count)    (MIG_DATA_COUNT_SIZE + \
                                 (count) * MIG_DATA_UNIT_SIZE)
#define MIG_EPOCH_BODY          (MIG_EPOCH_SIZE + RMM_MIG_TAG_SIZE)
#define MIG_REC_BODY_MIN        (MIG_REC_TOKEN + RMM_MIG_TAG_SIZE)
#define MIG_END_BODY            (MIG_END_SIZE + RMM_MIG_TAG_SIZE)

#define S2_STATE_MASK           (S2_RIPAS_MASK | S2_ASSIGNED)

#define PSCI_CPU_ON_32          0x84000003u
#define PSCI_CPU_ON_64          0xC4000003u
#define PSCI_AFFINITY_INFO_32   0x84000004u
#define PSCI_AFFINITY_INFO_64   0xC4000004u
#define RSI_HOST_CALL_SIZE      256

static const char auth_failed[] =
    "authentication failed (wrong migration key or tampered record)";

/* ---- Little-endian fields ---- */

static void st32(uint8_t *p, uint32_t v)
{
    unsigned i;

    for (i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void st64(uint8_t *p, uint64_t v)
{
    unsigned i;

    for (i = 0; i < 8; i++) {
        p[i] = v >> (8 * i);
    }
}

static uint32_t ld32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* ---- Bitmaps: one bit per granule of a RAM range ---- */

static uint64_t rr_granules(const RmmRamRange *rr)
{
    return rr->size >> RMM_GRANULE_SHIFT;
}

static uint64_t rr_index(const RmmRamRange *rr, uint64_t ipa)
{
    return (ipa - rr->base) >> RMM_GRANULE_SHIFT;
}

static size_t bm_words(uint64_t nbits)
{
    return (nbits + 63) / 64;
}

static bool bm_test(const uint64_t *bm, uint64_t i)
{
    return (bm[i / 64] >> (i % 64)) & 1;
}

static void bm_set(uint64_t *bm, uint64_t i)
{
    bm[i / 64] |= 1ULL << (i % 64);
}

static void bm_clear(uint64_t *bm, uint64_t i)
{
    bm[i / 64] &= ~(1ULL << (i % 64));
}

/* The first set bit of @bm in [@i, @end), or @end. */
static uint64_t bm_next(const uint64_t *bm, uint64_t i, uint64_t end)
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

static uint64_t bm_count(const uint64_t *bm, uint64_t nbits)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; bm && i < bm_words(nbits); i++) {
        n += __builtin_popcountll(bm[i]);
    }
    return n;
}

/* Bits of every RAM range set in @bms (NULL bitmaps count 0). */
static uint64_t mig_count(RmmRealm *r, uint64_t *const *bms)
{
    uint64_t n = 0;
    unsigned i;

    for (i = 0; i < r->nr_ram; i++) {
        n += bm_count(bms[i], rr_granules(&r->ram[i]));
    }
    return n;
}

/* The RAM ranges of @r in IPA order: their indexes in @order. */
static void mig_ram_order(RmmRealm *r, unsigned order[RMM_MAX_RAM_RANGES])
{
    unsigned i, j;

    for (i = 0; i < r->nr_ram; i++) {
        for (j = i; j > 0 && r->ram[order[j - 1]].base > r->ram[i].base;
             j--) {
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
}

/* ---- Names and record parsing ---- */

static bool G_GNUC_PRINTF(2, 3) set_err(char **err, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        *err = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return false;
}

bool rmm_mig_record_parse(const uint8_t *buf, size_t len,
                          RmmMigRecordView *v, char **err)
{
    size_t bl;
    uint32_t count;
    unsigned type;

    memset(v, 0, sizeof(*v));
    if (len < RMM_MIG_HEADER_SIZE) {
        return set_err(err, "truncated header (%zu bytes)", len);
    }
    if (memcmp(buf + RMM_MIG_HDR_MAGIC, "RMIG", 4)) {
        return set_err(err, "bad magic");
    }
    if (buf[RMM_MIG_HDR_VERSION] != RMM_MIG_VERSION) {
        return set_err(err, "unsupported version %u", buf[RMM_MIG_HDR_VERSION]);
    }
    type = buf[RMM_MIG_HDR_TYPE];
    if (!rmm_mig_record_type_valid(type)) {
        return set_err(err, "unknown record type %u", type);
    }
    v->type = type;
    v->seq = ld64(buf + RMM_MIG_HDR_SEQ);
    if (buf[RMM_MIG_HDR_RESERVED] || buf[RMM_MIG_HDR_RESERVED + 1]) {
        return set_err(err, "reserved header bytes not zero");
    }
    v->length = ld32(buf + RMM_MIG_HDR_LENGTH);
    v->epoch = ld32(buf + RMM_MIG_HDR_EPOCH);
    if (v->length != len) {
        return set_err(err, "length field %" PRIu32 " but %zu bytes",
                       v->length, len);
    }
    if (len > RMM_MIG_RECORD_MAX) {
        return set_err(err, "length %zu exceeds %u", len,
                       RMM_MIG_RECORD_MAX);
    }
    v->body = buf + RMM_MIG_HEADER_SIZE;
    v->body_len = bl = len - RMM_MIG_HEADER_SIZE;

    switch (type) {
    case RMM_MIG_RT_IMMUTABLE:
        if (bl < MIG_IMM_BODY(1) || bl > MIG_IMM_BODY(RMM_MAX_RAM_RANGES) ||
            (bl - MIG_IMM_BODY(0)) % 16) {
            return set_err(err, "IMMUTABLE body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_RIPAS:
        if (bl < MIG_RIPAS_BODY(1) ||
            (bl - MIG_RIPAS_BODY(0)) % MIG_RIPAS_RUN_SIZE) {
            return set_err(err, "RIPAS body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_DATA:
        if (bl < MIG_DATA_COUNT_SIZE) {
            return set_err(err, "DATA body of %zu bytes", bl);
        }
        count = ld32(v->body);
        if (count < 1 || count > RMM_MIG_BATCH_MAX) {
            return set_err(err, "DATA count %" PRIu32 " out of range",
                           count);
        }
        if (bl != MIG_DATA_BODY((size_t)count)) {
            return set_err(err, "DATA body of %zu bytes for %" PRIu32
                           " granules", bl, count);
        }
        break;
    case RMM_MIG_RT_EPOCH:
        if (bl != MIG_EPOCH_BODY) {
            return set_err(err, "EPOCH body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_REC:
        if (bl < MIG_REC_BODY_MIN) {
            return set_err(err, "REC body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_END:
        if (bl != MIG_END_BODY) {
            return set_err(err, "END body of %zu bytes", bl);
        }
        break;
    }
    return true;
}

/* ---- Keys and sealing ---- */

static bool mig_hmac(const uint8_t key[MIG_HMAC_SIZE], const char *label,
                     const uint8_t session[RMM_MIG_SESSION_SIZE],
                     const uint8_t *extra, size_t extra_len,
                     uint8_t out[MIG_HMAC_SIZE])
{
    uint8_t msg[32 + RMM_MIG_SESSION_SIZE + 8];
    size_t n = strlen(label);

    g_assert(n <= 32 && extra_len <= 8);
    memcpy(msg, label, n);
    memcpy(msg + n, session, RMM_MIG_SESSION_SIZE);
    n += RMM_MIG_SESSION_SIZE;
    if (extra_len) {
        memcpy(msg + n, extra, extra_len);
        n += extra_len;
    }
    return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, MIG_HMAC_SIZE, msg, n,
                            out) == 0;
}

bool rmm_mig_keys_init(RmmMigKeys *k, const uint8_t key[RMM_MIG_KEY_SIZE],
                       const uint8_t session[RMM_MIG_SESSION_SIZE])
{
    gnutls_aead_cipher_hd_t h;
    gnutls_datum_t d;

    memset(k, 0, sizeof(*k));
    memcpy(k->session, session, RMM_MIG_SESSION_SIZE);
    if (!mig_hmac(key, "CCA-MIG-v1 enc", session, NULL, 0, k->enc_key) ||
        !mig_hmac(key, "CCA-MIG-v1 token", session, NULL, 0, k->tok_key)) {
        goto fail;
    }
    d.data = k->enc_key;
    d.size = sizeof(k->enc_key);
    if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &d) < 0) {
        goto fail;
    }
    k->aead = h;
    k->valid = true;
    return true;
fail:
    rmm_mig_keys_wipe(k);
    return false;
}

void rmm_mig_keys_wipe(RmmMigKeys *k)
{
    if (k->aead) {
        gnutls_aead_cipher_deinit(k->aead);
    }
    gnutls_memset(k, 0, sizeof(*k));
}

/* Commit token (@commit) or abort token of the session. */
static bool mig_token(const RmmMigKeys *k, bool commit, uint64_t end_seq,
                      uint8_t out[RMM_MIG_TOKEN_SIZE])
{
    uint8_t seq[8];

    st64(seq, end_seq);
    return mig_hmac(k->tok_key, commit ? "commit" : "abort", k->session,
                    seq, commit ? 8 : 0, out);
}

/* The associated data of the unit @seq of the record whose header is @hdr. */
static size_t mig_aad(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                      const uint8_t *word, uint8_t aad[MIG_AAD_MAX])
{
    size_t n = RMM_MIG_SESSION_SIZE;

    memcpy(aad, k->session, RMM_MIG_SESSION_SIZE);
    aad[n++] = hdr[RMM_MIG_HDR_VERSION];
    aad[n++] = hdr[RMM_MIG_HDR_TYPE];
    memcpy(aad + n, hdr + RMM_MIG_HDR_LENGTH, 4);
    n += 4;
    memcpy(aad + n, hdr + RMM_MIG_HDR_EPOCH, 4);
    n += 4;
    st64(aad + n, seq);
    n += 8;
    if (word) {
        memcpy(aad + n, word, MIG_DATA_WORD);
        n += MIG_DATA_WORD;
    }
    return n;
}

static void mig_nonce(uint64_t seq, uint8_t nonce[MIG_NONCE_SIZE])
{
    memset(nonce, 0, 4);
    st64(nonce + 4, seq);
}

/* Seal @pt[0..@len) to @out (@len + tag bytes). */
static bool mig_seal(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                     const uint8_t *word, const uint8_t *pt, size_t len,
                     uint8_t *out)
{
    uint8_t nonce[MIG_NONCE_SIZE], aad[MIG_AAD_MAX];
    size_t aad_len = mig_aad(k, hdr, seq, word, aad);
    size_t out_len = len + RMM_MIG_TAG_SIZE;

    mig_nonce(seq, nonce);
    return gnutls_aead_cipher_encrypt(k->aead, nonce, sizeof(nonce), aad,
                                      aad_len, RMM_MIG_TAG_SIZE, pt, len,
                                      out, &out_len) == 0 &&
           out_len == len + RMM_MIG_TAG_SIZE;
}

/* Open @ct[0..@len) (tag included) to @pt (@len - tag bytes). */
static bool mig_open(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                     const uint8_t *word, const uint8_t *ct, size_t len,
                     uint8_t *pt)
{
    uint8_t nonce[MIG_NONCE_SIZE], aad[MIG_AAD_MAX];
    size_t aad_len = mig_aad(k, hdr, seq, word, aad);
    size_t pt_len = len - RMM_MIG_TAG_SIZE;

    if (!k->valid || len < RMM_MIG_TAG_SIZE) {
        return false;
    }
    mig_nonce(seq, nonce);
    return gnutls_aead_cipher_decrypt(k->aead, nonce, sizeof(nonce), aad,
                                      aad_len, RMM_MIG_TAG_SIZE, ct, len,
                                      pt, &pt_len) == 0 &&
           pt_len == len - RMM_MIG_TAG_SIZE;
}

static void mig_header(uint8_t *buf, unsigned type, uint32_t length,
                       uint32_t epoch, uint64_t seq)
{
    memcpy(buf + RMM_MIG_HDR_MAGIC, "RMIG", 4);
    buf[RMM_MIG_HDR_VERSION] = RMM_MIG_VERSION;
    buf[RMM_MIG_HDR_TYPE] = type;
    buf[RMM_MIG_HDR_RESERVED] = buf[RMM_MIG_HDR_RESERVED + 1] = 0;
    st32(buf + RMM_MIG_HDR_LENGTH, length);
    st32(buf + RMM_MIG_HDR_EPOCH, epoch);
    st64(buf + RMM_MIG_HDR_SEQ, seq);
}

size_t rmm_mig_seal_record(RmmMigKeys *k, unsigned type, uint32_t epoch,
                           uint64_t seq, const uint8_t *pt, size_t pt_len,
                           uint8_t *buf, size_t cap)
{
    size_t len, pre, n, i;
    uint8_t *body = buf + RMM_MIG_HEADER_SIZE;

    if (!k->valid || !pt_len) {
        return 0;
    }
    if (type == RMM_MIG_RT_DATA) {
        n = pt_len / MIG_DATA_PT_UNIT;
        if (pt_len % MIG_DATA_PT_UNIT || n > RMM_MIG_BATCH_MAX) {
            return 0;
        }
        len = RMM_MIG_HEADER_SIZE + MIG_DATA_BODY(n);
        if (len > cap) {
            return 0;
        }
        mig_header(buf, type, len, epoch, seq);
        st32(body, n);
        for (i = 0; i < n; i++) {
            const uint8_t *in = pt + i * MIG_DATA_PT_UNIT;
            uint8_t *out = body + MIG_DATA_COUNT_SIZE + i * MIG_DATA_UNIT_SIZE;

            memcpy(out, in, MIG_DATA_WORD);
            if (!mig_seal(k, buf, seq + i, in, in + MIG_DATA_WORD,
                          RMM_GRANULE_SIZE, out + MIG_DATA_WORD)) {
                return 0;
            }
        }
        return len;
    }
    pre = type == RMM_MIG_RT_IMMUTABLE ? RMM_MIG_SESSION_SIZE : 0;
    if (pt_len > UINT32_MAX - RMM_MIG_HEADER_SIZE - pre - RMM_MIG_TAG_SIZE) {
        return 0;
    }
    len = RMM_MIG_HEADER_SIZE + pre + pt_len + RMM_MIG_TAG_SIZE;
    if (len > cap) {
        return 0;
    }
    mig_header(buf, type, len, epoch, seq);
    memcpy(body, k->session, pre);
    return mig_seal(k, buf, seq, NULL, pt, pt_len, body + pre) ? len : 0;
}

bool rmm_mig_open_record(RmmMigKeys *k, const uint8_t *buf, size_t len,
                         uint8_t *pt, size_t *pt_len)
{
    RmmMigRecordView v;
    size_t n, i, pre;

    if (!rmm_mig_record_parse(buf, len, &v, NULL)) {
        return false;
    }
    if (v.type == RMM_MIG_RT_DATA) {
        n = ld32(v.body);
        for (i = 0; i < n; i++) {
            const uint8_t *in = v.body + MIG_DATA_COUNT_SIZE +
                                i * MIG_DATA_UNIT_SIZE;
            uint8_t *out = pt + i * MIG_DATA_PT_UNIT;

            memcpy(out, in, MIG_DATA_WORD);
            if (!mig_open(k, buf, v.seq + i, in, in + MIG_DATA_WORD,
                          RMM_GRANULE_SIZE + RMM_MIG_TAG_SIZE,
                          out + MIG_DATA_WORD)) {
                return false;
            }
        }
        *pt_len = n * MIG_DATA_PT_UNIT;
        return true;
    }
    pre = v.type == RMM_MIG_RT_IMMUTABLE ? RMM_MIG_SESSION_SIZE : 0;
    if (!mig_open(k, buf, v.seq, NULL, v.body + pre, v.body_len - pre, pt)) {
        return false;
    }
    *pt_len = v.body_len - pre - RMM_MIG_TAG_SIZE;
    return true;
}

/* ---- Session state ---- */

static void mig_free_arrays(RmmMig *m)
{
    unsigned i;

    for (i = 0; i < RMM_MAX_RAM_RANGES; i++) {
        g_clear_pointer(&m->log[i], g_free);
        g_clear_pointer(&m->pending[i], g_free);
        g_clear_pointer(&m->ripas_dirty[i], g_free);
        g_clear_pointer(&m->data_sent[i], g_free);
        g_clear_pointer(&m->ripas_sent[i], g_free);
        g_clear_pointer(&m->data_epoch[i], g_free);
        g_clear_pointer(&m->ripas_epoch[i], g_free);
    }
}

/*
 * End the session's cryptography and tracking: keys wiped, logging off,
 * bitmaps freed.  Phase, statistics and the abort token stay.
 */
static void mig_end_session(RmmMig *m)
{
    rmm_mig_keys_wipe(&m->keys);
    gnutls_memset(m->key, 0, sizeof(m->key));
    m->have_key = false;
    m->logging = false;
    mig_free_arrays(m);
    g_clear_pointer(&m->rec_pt, g_free);
}

/* A new session: everything but the phase cleared. */
static void mig_reset(RmmMig *m)
{
    RmmMigPhase phase = m->phase;

    mig_end_session(m);
    memset(m, 0, sizeof(*m));
    m->phase = phase;
}

void rmm_mig_free(RmmRealm *r)
{
    mig_end_session(&r->mig);
    gnutls_memset(r->mig.abort_token, 0, sizeof(r->mig.abort_token));
}

bool rmm_mig_frozen(RmmRealm *r)
{
    switch (r->mig.phase) {
    case RMM_MIG_OUT_PAUSED:
        return r->mig.recs_done > 0;
    case RMM_MIG_OUT_ENDED:
    case RMM_MIG_OUT_MIGRATED:
    case RMM_MIG_IN_IMPORTING:
    case RMM_MIG_IN_ABORTED:
        return true;
    default:
        return false;
    }
}

bool rmm_mig_may_run(RmmRealm *r)
{
    return r->mig.phase == RMM_MIG_NONE ||
           r->mig.phase == RMM_MIG_OUT_RUNNING;
}

void rmm_mig_note_write(RmmRealm *r, uint64_t ipa, uint64_t len)
{
    RmmMig *m = &r->mig;
    uint64_t end, lo, hi, i;
    unsigned n;

    if (!m->logging || !len) {
        return;
    }
    end = ipa + len < ipa ? UINT64_MAX : ipa + len;
    for (n = 0; n < r->nr_ram; n++) {
        RmmRamRange *rr = &r->ram[n];

        lo = MAX(ipa, rr->base);
        hi = MIN(end, rr->base + rr->size);
        if (lo >= hi) {
            continue;
        }
        for (i = rr_index(rr, lo); i <= rr_index(rr, hi - 1); i++) {
            if (rr->s2[i] & S2_ASSIGNED) {
                bm_set(m->log[n], i);
                bm_set(m->pending[n], i);
            }
        }
    }
}

void rmm_mig_note_s2(RmmRealm *r, uint64_t ipa)
{
    RmmMig *m = &r->mig;
    RmmRamRange *rr;
    uint64_t i;
    unsigned n;

    if (!m->logging) {
        return;
    }
    rr = rmm_ram_find(r, ipa);
    if (!rr) {
        return;
    }
    n = rr - r->ram;
    i = rr_index(rr, ipa);
    bm_set(m->ripas_dirty[n], i);
    if (!(rr->s2[i] & S2_ASSIGNED)) {
        /* Zero now; the RIPAS record saying "unassigned" covers it. */
        bm_clear(m->pending[n], i);
        bm_clear(m->log[n], i);
    }
}

RmmMigPhase rmm_mig_phase(RmmRealm *r)
{
    RmmMigPhase p;

    g_mutex_lock(&r->lock);
    p = r->mig.phase;
    g_mutex_unlock(&r->lock);
    return p;
}

void rmm_mig_stats(RmmRealm *r, RmmMigStats *out)
{
    g_mutex_lock(&r->lock);
    *out = r->mig.stats;
    out->epoch = r->mig.epoch;
    out->dirty_granules = mig_count(r, r->mig.log);
    out->pending_granules = mig_count(r, r->mig.pending);
    out->ripas_pending_granules = mig_count(r, r->mig.ripas_dirty);
    g_mutex_unlock(&r->lock);
}

/* ---- Source ---- */

RmiStatus rmm_mig_export_start(RmmRealm *r,
                               const uint8_t key[RMM_MIG_KEY_SIZE])
{
    uint8_t session[RMM_MIG_SESSION_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    uint64_t i, n;
    unsigned j;

    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_ACTIVE || m->phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    mig_reset(m);
    if (gnutls_rnd(GNUTLS_RND_RANDOM, session, sizeof(session)) < 0 ||
        !rmm_mig_keys_init(&m->keys, key, session)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    for (j = 0; j < r->nr_ram; j++) {
        RmmRamRange *rr = &r->ram[j];

        n = rr_granules(rr);
        m->log[j] = g_new0(uint64_t, bm_words(n));
        m->pending[j] = g_new0(uint64_t, bm_words(n));
        m->ripas_dirty[j] = g_new0(uint64_t, bm_words(n));
        m->data_sent[j] = g_new0(uint64_t, bm_words(n));
        m->ripas_sent[j] = g_new0(uint64_t, bm_words(n));
        for (i = 0; i < n; i++) {
            if (rr->s2[i] & S2_ASSIGNED) {
                bm_set(m->log[j], i);
                bm_set(m->pending[j], i);
            }
            bm_set(m->ripas_dirty[j], i);
        }
    }
    m->logging = true;
    m->phase = RMM_MIG_OUT_RUNNING;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

void rmm_mig_log_write(RmmRealm *r, uint64_t ipa, uint64_t len)
{
    g_mutex_lock(&r->lock);
    rmm_mig_note_write(r, ipa, len);
    g_mutex_unlock(&r->lock);
}

uint64_t rmm_mig_dirty_log(RmmRealm *r, uint64_t base, uint64_t n,
                           uint64_t *bitmap)
{
    RmmMig *m = &r->mig;
    uint64_t end, count = 0;
    unsigned j;

    g_mutex_lock(&r->lock);
    if (!m->logging || !n || !rmm_aligned(base)) {
        goto out;
    }
    if (n > (UINT64_MAX - base) >> RMM_GRANULE_SHIFT) {
        n = (UINT64_MAX - base) >> RMM_GRANULE_SHIFT;
    }
    end = base + (n << RMM_GRANULE_SHIFT);
    for (j = 0; j < r->nr_ram; j++) {
        RmmRamRange *rr = &r->ram[j];
        uint64_t lo = MAX(base, rr->base);
        uint64_t hi = MIN(end, rr->base + rr->size);
        uint64_t i, last;

        if (lo >= hi) {
            continue;
        }
        last = rr_index(rr, hi);
        for (i = bm_next(m->log[j], rr_index(rr, lo), last); i < last;
             i = bm_next(m->log[j], i + 1, last)) {
            uint64_t bit = (rr->base + (i << RMM_GRANULE_SHIFT) - base) >>
                           RMM_GRANULE_SHIFT;

            bm_set(bitmap, bit);
            bm_clear(m->log[j], i);
            count++;
        }
    }
out:
    g_mutex_unlock(&r->lock);
    return count;
}

static bool mig_exporting(RmmMig *m)
{
    return m->phase == RMM_MIG_OUT_RUNNING || m->phase == RMM_MIG_OUT_PAUSED;
}

/*
 * RECs and END come once an epoch was closed; after the first REC no
 * DATA, RIPAS or EPOCH can follow, so the last (open) epoch has all the
 * DATA and RIPAS records there will be.
 */
static bool epoch_closed(RmmMig *m)
{
    return m->epoch > 0;
}

/*
 * Sealing failed (GnuTLS): sequence numbers may have been used for units
 * the host now holds, so the session must never seal again.  Nothing more
 * is exported; the host can only abort.
 */
static RmiStatus mig_seal_failed(RmmMig *m, uint8_t *buf, size_t len)
{
    m->failed = true;
    gnutls_memset(buf, 0, len);
    return RMI_ERROR_REALM;
}

/* May a record of @type be exported now (phase and order)? */
static bool mig_export_ok(RmmRealm *r, unsigned type)
{
    RmmMig *m = &r->mig;

    if (m->failed) {
        return false;
    }
    switch (type) {
    case RMM_MIG_RT_IMMUTABLE:
        return mig_exporting(m) && m->last == 0;
    case RMM_MIG_RT_RIPAS:
    case RMM_MIG_RT_DATA:
    case RMM_MIG_RT_EPOCH:
        return mig_exporting(m) && m->last != 0 && m->recs_done == 0;
    case RMM_MIG_RT_REC:
        return m->phase == RMM_MIG_OUT_PAUSED && epoch_closed(m) &&
               m->recs_done < r->nr_recs;
    case RMM_MIG_RT_END:
        return m->phase == RMM_MIG_OUT_PAUSED && epoch_closed(m) &&
               m->recs_done == r->nr_recs;
    default:
        return false;
    }
}

/* Bookkeeping of a record exported or imported. */
static void mig_account(RmmMig *m, unsigned type, size_t len, uint64_t units)
{
    m->seq += units;
    m->last = type;
    m->stats.total_bytes += len;
}

RmiStatus rmm_mig_export_immutable(RmmRealm *r, uint8_t *buf, size_t cap,
                                   size_t *len)
{
    uint8_t pt[MIG_IMM_SIZE(RMM_MAX_RAM_RANGES)];
    unsigned order[RMM_MAX_RAM_RANGES];
    const RmiRealmParams *p = &r->params;
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    size_t pt_len;
    unsigned i;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_IMMUTABLE)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    pt_len = MIG_IMM_SIZE(r->nr_ram);
    if (!buf || cap < RMM_MIG_HEADER_SIZE + MIG_IMM_BODY(r->nr_ram)) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    memset(pt, 0, sizeof(pt));
    st32(pt + MIG_IMM_IPA_WIDTH, p->ipa_width);
    pt[MIG_IMM_HASH_ALGO] = p->hash_algo;
    pt[MIG_IMM_SVE_VL] = p->sve_vl;
    pt[MIG_IMM_NUM_BPS] = p->num_bps;
    pt[MIG_IMM_NUM_WPS] = p->num_wps;
    pt[MIG_IMM_PMU_CTRS] = p->pmu_num_ctrs;
    st32(pt + MIG_IMM_NR_RAM, r->nr_ram);
    st64(pt + MIG_IMM_FLAGS, p->flags);
    memcpy(pt + MIG_IMM_RPV, p->rpv, RMM_RPV_SIZE);
    memcpy(pt + MIG_IMM_RIM, r->rim, RMM_HASH_MAX);
    st32(pt + MIG_IMM_NR_RECS, r->nr_recs);
    mig_ram_order(r, order);
    for (i = 0; i < r->nr_ram; i++) {
        st64(pt + MIG_IMM_RAM + 16 * i, r->ram[order[i]].base);
        st64(pt + MIG_IMM_RAM + 16 * i + 8, r->ram[order[i]].size);
    }
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_IMMUTABLE, m->epoch,
                               m->seq, pt, pt_len, buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    mig_account(m, RMM_MIG_RT_IMMUTABLE, *len, 1);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

typedef struct MigRun {
    uint64_t base;
    uint32_t granules;
    uint8_t state;              /* S2 entry: RIPAS | S2_ASSIGNED */
} MigRun;

RmiStatus rmm_mig_export_ripas(RmmRealm *r, uint8_t *buf, size_t cap,
                               size_t *len, bool *more)
{
    unsigned order[RMM_MAX_RAM_RANGES];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    size_t space, max_runs, nr = 0, pt_len, k;
    GArray *runs = NULL;
    uint8_t *pt = NULL;
    unsigned o;

    *len = 0;
    *more = false;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_RIPAS)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    space = MIN(buf ? cap : 0, RMM_MIG_RECORD_MAX);
    max_runs = space < RMM_MIG_HEADER_SIZE + MIG_RIPAS_BODY(0) ? 0 :
               (space - RMM_MIG_HEADER_SIZE - MIG_RIPAS_BODY(0)) /
               MIG_RIPAS_RUN_SIZE;
    runs = g_array_new(false, false, sizeof(MigRun));
    mig_ram_order(r, order);

    /* Runs of granules to export in this epoch, in IPA order. */
    for (o = 0; o < r->nr_ram && !*more; o++) {
        unsigned j = order[o];
        RmmRamRange *rr = &r->ram[j];
        uint64_t n = rr_granules(rr), i, e = 0;

        for (i = bm_next(m->ripas_dirty[j], 0, n); i < n;
             i = bm_next(m->ripas_dirty[j], e, n)) {
            MigRun run;

            e = i + 1;
            if (bm_test(m->ripas_sent[j], i)) {
                continue;
            }
            if (runs->len == max_runs) {
                *more = true;
                break;
            }
            run.state = rr->s2[i] & S2_STATE_MASK;
            while (e < n && e - i < UINT32_MAX &&
                   bm_test(m->ripas_dirty[j], e) &&
                   !bm_test(m->ripas_sent[j], e) &&
                   (rr->s2[e] & S2_STATE_MASK) == run.state) {
                e++;
            }
            run.base = rr->base + (i << RMM_GRANULE_SHIFT);
            run.granules = e - i;
            g_array_append_val(runs, run);
        }
    }
    if (!runs->len) {
        /* Nothing to export, or no room for a single run. */
        ret = *more ? RMI_ERROR_INPUT : RMI_SUCCESS;
        *more = false;
        goto out;
    }

    pt_len = MIG_RIPAS_RUNS + runs->len * MIG_RIPAS_RUN_SIZE;
    pt = g_malloc0(pt_len);
    st32(pt + MIG_RIPAS_COUNT, runs->len);
    for (k = 0; k < runs->len; k++) {
        MigRun *run = &g_array_index(runs, MigRun, k);
        uint8_t *p = pt + MIG_RIPAS_RUNS + k * MIG_RIPAS_RUN_SIZE;

        st64(p, run->base);
        st32(p + 8, run->granules);
        p[12] = run->state & S2_RIPAS_MASK;
        p[13] = !!(run->state & S2_ASSIGNED);
    }
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_RIPAS, m->epoch, m->seq,
                               pt, pt_len, buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        *more = false;
        goto out;
    }
    for (k = 0; k < runs->len; k++) {
        MigRun *run = &g_array_index(runs, MigRun, k);
        RmmRamRange *rr = rmm_ram_find(r, run->base);
        unsigned j = rr - r->ram;
        uint64_t i = rr_index(rr, run->base), e = i + run->granules;

        for (; i < e; i++) {
            bm_clear(m->ripas_dirty[j], i);
            bm_set(m->ripas_sent[j], i);
        }
        nr += run->granules;
    }
    m->stats.ripas_records++;
    m->stats.ripas_granules += nr;
    mig_account(m, RMM_MIG_RT_RIPAS, *len, 1);
out:
    g_free(pt);
    if (runs) {
        g_array_free(runs, true);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_data(RmmRealm *r, const uint64_t *ipas, unsigned n,
                              uint8_t *buf, size_t cap, size_t *len,
                              unsigned *exported)
{
    RmmRamRange *rrs[RMM_MIG_BATCH_MAX];
    bool take[RMM_MIG_BATCH_MAX];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    unsigned i, j, k = 0, u;
    size_t need;

    *len = 0;
    *exported = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_DATA)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!ipas || n < 1 || n > RMM_MIG_BATCH_MAX) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    for (i = 0; i < n; i++) {
        rrs[i] = rmm_aligned(ipas[i]) ? rmm_ram_find(r, ipas[i]) : NULL;
        if (!rrs[i]) {
            ret = RMI_ERROR_INPUT;
            goto out;
        }
    }
    /* Assigned granules not sent in this epoch yet, each once. */
    for (i = 0; i < n; i++) {
        RmmRamRange *rr = rrs[i];
        uint64_t g = rr_index(rr, ipas[i]);

        take[i] = (rr->s2[g] & S2_ASSIGNED) &&
                  !bm_test(m->data_sent[rr - r->ram], g);
        for (j = 0; j < i && take[i]; j++) {
            take[i] = !(take[j] && ipas[j] == ipas[i]);
        }
        k += take[i];
    }
    if (!k) {
        goto skipped;
    }
    need = RMM_MIG_HEADER_SIZE + MIG_DATA_BODY(k);
    if (!buf || cap < need) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    mig_header(buf, RMM_MIG_RT_DATA, need, m->epoch, m->seq);
    st32(buf + RMM_MIG_HEADER_SIZE, k);
    for (i = 0, u = 0; i < n; i++) {
        RmmRamRange *rr = rrs[i];
        uint8_t *out;

        if (!take[i]) {
            continue;
        }
        out = buf + RMM_MIG_HEADER_SIZE + MIG_DATA_COUNT_SIZE +
              u * MIG_DATA_UNIT_SIZE;
        st64(out, ipas[i] | (*rmm_s2_entry(rr, ipas[i]) & S2_RIPAS_MASK));
        if (!mig_seal(&m->keys, buf, m->seq + u, out,
                      rmm_granule_ptr(rr, ipas[i]), RMM_GRANULE_SIZE,
                      out + MIG_DATA_WORD)) {
            ret = mig_seal_failed(m, buf, need);
            goto out;
        }
        u++;
    }
    for (i = 0; i < n; i++) {
        if (take[i]) {
            unsigned rj = rrs[i] - r->ram;
            uint64_t g = rr_index(rrs[i], ipas[i]);

            bm_clear(m->pending[rj], g);
            bm_clear(m->log[rj], g);
            bm_set(m->data_sent[rj], g);
        }
    }
    *len = need;
    *exported = k;
    m->epoch_granules += k;
    m->total_granules += k;
    m->stats.data_granules += k;
    m->stats.data_bytes += need;
    mig_account(m, RMM_MIG_RT_DATA, need, k);
skipped:
    /*
     * Granules sent already in this epoch go in the next one: keep them
     * in the host's log so that it asks for them again.
     */
    for (i = 0; i < n; i++) {
        unsigned rj = rrs[i] - r->ram;
        uint64_t g = rr_index(rrs[i], ipas[i]);

        if (!take[i] && bm_test(m->pending[rj], g)) {
            bm_set(m->log[rj], g);
        }
    }
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_epoch(RmmRealm *r, uint8_t *buf, size_t cap,
                               size_t *len)
{
    uint8_t pt[MIG_EPOCH_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    unsigned j;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_EPOCH) || m->epoch >= UINT32_MAX - 1) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!buf || cap < RMM_MIG_HEADER_SIZE + MIG_EPOCH_BODY) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    st32(pt + MIG_EPOCH_EPOCH, m->epoch);
    st64(pt + MIG_EPOCH_GRANULES, m->epoch_granules);
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_EPOCH, m->epoch, m->seq,
                               pt, sizeof(pt), buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    mig_account(m, RMM_MIG_RT_EPOCH, *len, 1);
    m->epoch++;
    m->epoch_granules = 0;
    for (j = 0; j < r->nr_ram; j++) {
        size_t words = bm_words(rr_granules(&r->ram[j]));

        memset(m->data_sent[j], 0, words * sizeof(uint64_t));
        memset(m->ripas_sent[j], 0, words * sizeof(uint64_t));
    }
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_pause(RmmRealm *r)
{
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (r->mig.phase != RMM_MIG_OUT_RUNNING) {
        ret = RMI_ERROR_REALM;
    } else {
        r->mig.phase = RMM_MIG_OUT_PAUSED;
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

/* Nothing left to export: every granule's contents and state are out. */
static bool mig_all_exported(RmmRealm *r)
{
    return !mig_count(r, r->mig.pending) && !mig_count(r, r->mig.ripas_dirty);
}

RmiStatus rmm_mig_export_rec(RmmRec *rec, const void *ctx, size_t ctx_len,
                             uint8_t *buf, size_t cap, size_t *len)
{
    RmmRealm *r = rec->realm;
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    size_t token_len, pt_len, need;
    uint8_t *pt = NULL;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_REC) ||
        (m->recs_done == 0 && !mig_all_exported(r))) {
        /* After the first REC no more DATA or RIPAS can follow. */
        ret = RMI_ERROR_REALM;
        goto out;
    }
    token_len = rec->token ? rec->token->len : 0;
    pt_len = MIG_REC_TOKEN + token_len + ctx_len;
    need = RMM_MIG_HEADER_SIZE + pt_len + RMM_MIG_TAG_SIZE;
    if (rec->index != m->recs_done || ctx_len > RMM_MIG_REC_CTX_MAX ||
        (ctx_len && !ctx) || !buf || need > cap ||
        need > RMM_MIG_RECORD_MAX) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    pt = g_malloc0(pt_len);
    st32(pt + MIG_REC_INDEX, rec->index);
    pt[MIG_REC_RUNNABLE] = rec->runnable;
    pt[MIG_REC_PENDING] = rec->pending;
    pt[MIG_REC_RIPAS_VALUE] = rec->ripas_value;
    pt[MIG_REC_PSCI_PENDING] = rec->psci_pending;
    st64(pt + MIG_REC_MPIDR, rec->mpidr);
    st64(pt + MIG_REC_RIPAS_BASE, rec->ripas_base);
    st64(pt + MIG_REC_RIPAS_TOP, rec->ripas_top);
    st64(pt + MIG_REC_RIPAS_NEXT, rec->ripas_next);
    st64(pt + MIG_REC_HOST_CALL_IPA, rec->host_call_ipa);
    st32(pt + MIG_REC_PSCI_FID, rec->psci_fid);
    pt[MIG_REC_HAS_TOKEN] = rec->token != NULL;
    st64(pt + MIG_REC_PSCI_MPIDR, rec->psci_mpidr);
    st32(pt + MIG_REC_TOKEN_LEN, token_len);
    st32(pt + MIG_REC_TOKEN_OFF, rec->token ? rec->token_off : 0);
    st32(pt + MIG_REC_CTX_LEN, ctx_len);
    if (token_len) {
        memcpy(pt + MIG_REC_TOKEN, rec->token->data, token_len);
    }
    if (ctx_len) {
        memcpy(pt + MIG_REC_TOKEN + token_len, ctx, ctx_len);
    }
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_REC, m->epoch, m->seq,
                               pt, pt_len, buf, cap);
    gnutls_memset(pt, 0, pt_len);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    m->recs_done++;
    m->stats.rec_records++;
    mig_account(m, RMM_MIG_RT_REC, *len, 1);
out:
    g_free(pt);
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_end(RmmRealm *r, uint8_t *buf, size_t cap,
                             size_t *len)
{
    uint8_t pt[MIG_END_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_END) || r->state != RMM_REALM_ACTIVE ||
        !mig_all_exported(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!buf || cap < RMM_MIG_HEADER_SIZE + MIG_END_BODY) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    st64(pt + MIG_END_SEQ, m->seq);
    st32(pt + MIG_END_EPOCHS, m->epoch);
    st32(pt + MIG_END_NR_RECS, r->nr_recs);
    st64(pt + MIG_END_GRANULES, m->total_granules);
    memcpy(pt + MIG_END_REMS, r->rem, RMM_NUM_REMS * RMM_HASH_MAX);
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_END, m->epoch, m->seq,
                               pt, sizeof(pt), buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    m->end_seq = m->seq;
    mig_account(m, RMM_MIG_RT_END, *len, 1);
    m->logging = false;
    m->phase = RMM_MIG_OUT_ENDED;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_commit_ack(RmmRealm *r,
                             const uint8_t token[RMM_MIG_TOKEN_SIZE])
{
    uint8_t want[RMM_MIG_TOKEN_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (m->phase != RMM_MIG_OUT_ENDED) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!token || !mig_token(&m->keys, true, m->end_seq, want) ||
        gnutls_memcmp(want, token, sizeof(want))) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    mig_end_session(m);
    m->phase = RMM_MIG_OUT_MIGRATED;
out:
    gnutls_memset(want, 0, sizeof(want));
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_abort(RmmRealm *r, const uint8_t *token)
{
    uint8_t want[RMM_MIG_TOKEN_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    switch (m->phase) {
    case RMM_MIG_OUT_RUNNING:
    case RMM_MIG_OUT_PAUSED:
        break;
    case RMM_MIG_OUT_ENDED:
        /* The destination has END: only its word that it aborted counts. */
        if (!token || !mig_token(&m->keys, false, 0, want) ||
            gnutls_memcmp(want, token, sizeof(want))) {
            ret = RMI_ERROR_INPUT;
            goto out;
        }
        break;
    default:
        ret = RMI_ERROR_REALM;
        goto out;
    }
    mig_end_session(m);
    m->phase = RMM_MIG_NONE;
out:
    gnutls_memset(want, 0, sizeof(want));
    g_mutex_unlock(&r->lock);
    return ret;
}

/* ---- Destination ---- */

RmiStatus rmm_mig_import_start(RmmRealm *r,
                               const uint8_t key[RMM_MIG_KEY_SIZE])
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    unsigned j;

    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || m->phase != RMM_MIG_NONE ||
        !r->nr_ram || r->nr_recs) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    for (j = 0; j < r->nr_ram; j++) {
        if (!all_zero(r->ram[j].s2, rr_granules(&r->ram[j]))) {
            ret = RMI_ERROR_REALM;      /* RIPAS or data already set */
            goto out;
        }
    }
    mig_reset(m);
    memcpy(m->key, key, RMM_MIG_KEY_SIZE);
    m->have_key = true;
    for (j = 0; j < r->nr_ram; j++) {
        m->data_epoch[j] = g_new0(uint32_t, rr_granules(&r->ram[j]));
        m->ripas_epoch[j] = g_new0(uint32_t, rr_granules(&r->ram[j]));
    }
    m->phase = RMM_MIG_IN_IMPORTING;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

/* Fail the record @v: "<TYPE> record seq <n>: <reason>". */
static RmiStatus G_GNUC_PRINTF(4, 5)
mig_reject(char **err, RmiStatus st, const RmmMigRecordView *v,
           const char *fmt, ...)
{
    va_list ap;
    char *why;

    if (err) {
        va_start(ap, fmt);
        why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        *err = g_strdup_printf("%s record seq %" PRIu64 ": %s",
                               rmm_mig_record_type_name(v->type), v->seq,
                               why);
        g_free(why);
    }
    return st;
}

/* An IMMUTABLE parameter differs: "IMMUTABLE: <name> mismatch: ...". */
static RmiStatus mig_mismatch(char **err, const char *name, uint64_t src,
                              uint64_t dst, bool hex)
{
    if (err) {
        *err = g_strdup_printf(hex ? "IMMUTABLE: %s mismatch: source 0x%"
                                     PRIx64 ", destination 0x%" PRIx64
                                   : "IMMUTABLE: %s mismatch: source %"
                                     PRIu64 ", destination %" PRIu64,
                               name, src, dst);
    }
    return RMI_ERROR_INPUT;
}

static RmiStatus mig_import_immutable(RmmRealm *r, const uint8_t *buf,
                                      const RmmMigRecordView *v, char **err)
{
    uint8_t pt[MIG_IMM_SIZE(RMM_MAX_RAM_RANGES)];
    unsigned order[RMM_MAX_RAM_RANGES];
    const RmiRealmParams *p = &r->params;
    size_t hlen = rmm_hash_len(p->hash_algo);
    RmmMig *m = &r->mig;
    size_t pt_len = v->body_len - RMM_MIG_SESSION_SIZE - RMM_MIG_TAG_SIZE;
    uint32_t nr_ram, nr_recs;
    unsigned i;

    if (!m->have_key || !rmm_mig_keys_init(&m->keys, m->key, v->body)) {
        return mig_reject(err, RMI_ERROR_REALM, v, "key derivation failed");
    }
    gnutls_memset(m->key, 0, sizeof(m->key));
    m->have_key = false;
    if (!mig_open(&m->keys, buf, v->seq, NULL,
                  v->body + RMM_MIG_SESSION_SIZE,
                  v->body_len - RMM_MIG_SESSION_SIZE, pt)) {
        rmm_mig_keys_wipe(&m->keys);    /* the session is not known */
        return mig_reject(err, RMI_ERROR_INPUT, v, "%s", auth_failed);
    }
    nr_ram = ld32(pt + MIG_IMM_NR_RAM);
    if (pt_len != MIG_IMM_SIZE((size_t)MIN(nr_ram, RMM_MAX_RAM_RANGES + 1))) {
        return mig_reject(err, RMI_ERROR_INPUT, v,
                          "%" PRIu32 " RAM ranges in a record of %" PRIu32
                          " bytes", nr_ram, v->length);
    }
    if (!all_zero(pt + MIG_IMM_PMU_CTRS + 1, 3) ||
        !all_zero(pt + MIG_IMM_NR_RECS + 4, 4)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "reserved bytes not zero");
    }
    if (ld32(pt + MIG_IMM_IPA_WIDTH) != p->ipa_width) {
        return mig_mismatch(err, "ipa_width", ld32(pt + MIG_IMM_IPA_WIDTH),
                            p->ipa_width, false);
    }
    if (pt[MIG_IMM_HASH_ALGO] != p->hash_algo) {
        return mig_mismatch(err, "hash_algo", pt[MIG_IMM_HASH_ALGO],
                            p->hash_algo, false);
    }
    if (ld64(pt + MIG_IMM_FLAGS) != p->flags) {
        return mig_mismatch(err, "flags", ld64(pt + MIG_IMM_FLAGS), p->flags,
                            true);
    }
    if (pt[MIG_IMM_SVE_VL] != p->sve_vl) {
        return mig_mismatch(err, "sve_vl", pt[MIG_IMM_SVE_VL], p->sve_vl,
                            false);
    }
    if (pt[MIG_IMM_NUM_BPS] != p->num_bps) {
        return mig_mismatch(err, "num_bps", pt[MIG_IMM_NUM_BPS], p->num_bps,
                            false);
    }
    if (pt[MIG_IMM_NUM_WPS] != p->num_wps) {
        return mig_mismatch(err, "num_wps", pt[MIG_IMM_NUM_WPS], p->num_wps,
                            false);
    }
    if (pt[MIG_IMM_PMU_CTRS] != p->pmu_num_ctrs) {
        return mig_mismatch(err, "pmu_num_ctrs", pt[MIG_IMM_PMU_CTRS],
                            p->pmu_num_ctrs, false);
    }
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        if (pt[MIG_IMM_RPV + i] != p->rpv[i]) {
            if (err) {
                *err = g_strdup_printf("IMMUTABLE: rpv mismatch: byte %u: "
                                       "source 0x%02x, destination 0x%02x",
                                       i, pt[MIG_IMM_RPV + i], p->rpv[i]);
            }
            return RMI_ERROR_INPUT;
        }
    }
    if (nr_ram != r->nr_ram) {
        return mig_mismatch(err, "number of RAM ranges", nr_ram, r->nr_ram,
                            false);
    }
    mig_ram_order(r, order);
    for (i = 0; i < nr_ram; i++) {
        const uint8_t *q = pt + MIG_IMM_RAM + 16 * i;
        RmmRamRange *rr = &r->ram[order[i]];

        if (ld64(q) != rr->base || ld64(q + 8) != rr->size) {
            if (err) {
                *err = g_strdup_printf("IMMUTABLE: RAM range %u mismatch: "
                                       "source [0x%" PRIx64 ", +0x%" PRIx64
                                       "), destination [0x%" PRIx64 ", +0x%"
                                       PRIx64 ")", i, ld64(q), ld64(q + 8),
                                       rr->base, rr->size);
            }
            return RMI_ERROR_INPUT;
        }
    }
    nr_recs = ld32(pt + MIG_IMM_NR_RECS);
    if (nr_recs > RMM_MAX_RECS) {
        return mig_reject(err, RMI_ERROR_INPUT, v,
                          "%" PRIu32 " RECs, at most %u", nr_recs,
                          RMM_MAX_RECS);
    }
    if (!all_zero(pt + MIG_IMM_RIM + hlen, RMM_HASH_MAX - hlen)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "RIM not zero padded");
    }
    memcpy(r->rim, pt + MIG_IMM_RIM, RMM_HASH_MAX);
    m->nr_recs = nr_recs;
    return RMI_SUCCESS;
}

static RmiStatus mig_import_ripas(RmmRealm *r, const uint8_t *buf,
                                  const RmmMigRecordView *v,
                                  RmmMigImported *out, char **err)
{
    RmmMig *m = &r->mig;
    size_t pt_len = v->body_len - RMM_MIG_TAG_SIZE;
    uint8_t *pt = g_malloc(pt_len);
    RmiStatus ret = RMI_ERROR_INPUT;
    uint64_t prev_end = 0, total = 0;
    uint32_t count, k;

    if (!mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        ret = mig_reject(err, ret, v, "%s", auth_failed);
        goto out;
    }
    count = ld32(pt + MIG_RIPAS_COUNT);
    if (ld32(pt + MIG_RIPAS_COUNT + 4) || !count ||
        pt_len != MIG_RIPAS_RUNS + (uint64_t)count * MIG_RIPAS_RUN_SIZE) {
        ret = mig_reject(err, ret, v, "%" PRIu32 " runs in a record of %"
                         PRIu32 " bytes", count, v->length);
        goto out;
    }
    /* Check every run before changing anything. */
    for (k = 0; k < count; k++) {
        const uint8_t *q = pt + MIG_RIPAS_RUNS + k * MIG_RIPAS_RUN_SIZE;
        uint64_t base = ld64(q), n = ld32(q + 8), i;
        RmmRamRange *rr;

        if (!rmm_aligned(base) || !n || q[12] > RMI_RIPAS_RAM || q[13] > 1 ||
            q[14] || q[15]) {
            ret = mig_reject(err, ret, v, "run %" PRIu32 ": bad fields", k);
            goto out;
        }
        if (k && base < prev_end) {
            ret = mig_reject(err, ret, v, "run %" PRIu32 " at 0x%" PRIx64
                             ": not in IPA order or overlapping", k, base);
            goto out;
        }
        rr = rmm_ram_find(r, base);
        if (!rr || n > rr_granules(rr) - rr_index(rr, base)) {
            ret = mig_reject(err, ret, v, "run %" PRIu32 " [0x%" PRIx64
                             ", +%" PRIu64 " granules) outside RAM", k,
                             base, n);
            goto out;
        }
        for (i = rr_index(rr, base); i < rr_index(rr, base) + n; i++) {
            if (m->ripas_epoch[rr - r->ram][i] == m->epoch + 1) {
                ret = mig_reject(err, ret, v, "run %" PRIu32 ": granule 0x%"
                                 PRIx64 " already described in epoch %"
                                 PRIu32, k, rr->base +
                                 (i << RMM_GRANULE_SHIFT), m->epoch);
                goto out;
            }
        }
        prev_end = base + (n << RMM_GRANULE_SHIFT);
    }
    for (k = 0; k < count; k++) {
        const uint8_t *q = pt + MIG_RIPAS_RUNS + k * MIG_RIPAS_RUN_SIZE;
        uint64_t base = ld64(q), n = ld32(q + 8), i;
        RmmRamRange *rr = rmm_ram_find(r, base);
        unsigned j = rr - r->ram;
        uint8_t state = q[12] | (q[13] ? S2_ASSIGNED : 0);

        for (i = rr_index(rr, base); i < rr_index(rr, base) + n; i++) {
            uint64_t ipa = rr->base + (i << RMM_GRANULE_SHIFT);

            if ((rr->s2[i] & S2_ASSIGNED) && !(state & S2_ASSIGNED)) {
                /* Unassigned on the source: scrub. */
                memset(rmm_granule_ptr(rr, ipa), 0, RMM_GRANULE_SIZE);
                rmm_notify_write(r, ipa, RMM_GRANULE_SIZE);
            }
            /* A newly assigned granule is zero: unassigned ones are. */
            rr->s2[i] = state;
            m->ripas_epoch[j][i] = m->epoch + 1;
        }
        total += n;
    }
    out->ripas_runs = count;
    m->stats.ripas_records++;
    m->stats.ripas_granules += total;
    ret = RMI_SUCCESS;
out:
    g_free(pt);
    return ret;
}

static RmiStatus mig_import_data(RmmRealm *r, const uint8_t *buf,
                                 const RmmMigRecordView *v,
                                 RmmMigImported *out, char **err)
{
    RmmRamRange *rrs[RMM_MIG_BATCH_MAX];
    RmmMig *m = &r->mig;
    uint32_t count = ld32(v->body), i, j;
    uint8_t *pt = g_malloc((size_t)count * RMM_GRANULE_SIZE);
    RmiStatus ret = RMI_ERROR_INPUT;

    for (i = 0; i < count; i++) {
        const uint8_t *unit = v->body + MIG_DATA_COUNT_SIZE +
                              i * MIG_DATA_UNIT_SIZE;

        if (!mig_open(&m->keys, buf, v->seq + i, unit, unit + MIG_DATA_WORD,
                      RMM_GRANULE_SIZE + RMM_MIG_TAG_SIZE,
                      pt + i * RMM_GRANULE_SIZE)) {
            ret = mig_reject(err, ret, v, "%s in unit %" PRIu32 " of %"
                             PRIu32 " (seq %" PRIu64 ")", auth_failed, i,
                             count, v->seq + i);
            goto out;
        }
    }
    for (i = 0; i < count; i++) {
        uint64_t word = ld64(v->body + MIG_DATA_COUNT_SIZE +
                             i * MIG_DATA_UNIT_SIZE);
        uint64_t gpa = word & ~MIG_WORD_RIPAS_MASK;
        uint64_t ripas = word & MIG_WORD_RIPAS_MASK;

        if (ripas > RMI_RIPAS_RAM) {
            ret = mig_reject(err, ret, v, "unit %" PRIu32 ": bad RIPAS %"
                             PRIu64, i, ripas);
            goto out;
        }
        rrs[i] = rmm_ram_find(r, gpa);
        if (!rrs[i]) {
            ret = mig_reject(err, ret, v, "unit %" PRIu32 ": GPA 0x%" PRIx64
                             " outside RAM", i, gpa);
            goto out;
        }
        for (j = 0; j < i; j++) {
            if ((ld64(v->body + MIG_DATA_COUNT_SIZE + j * MIG_DATA_UNIT_SIZE) &
                 ~MIG_WORD_RIPAS_MASK) == gpa) {
                break;
            }
        }
        if (j < i ||
            m->data_epoch[rrs[i] - r->ram][rr_index(rrs[i], gpa)] ==
            m->epoch + 1) {
            ret = mig_reject(err, ret, v, "unit %" PRIu32 ": granule 0x%"
                             PRIx64 " already sent in epoch %" PRIu32,
                             i, gpa, m->epoch);
            goto out;
        }
    }
    for (i = 0; i < count; i++) {
        uint64_t word = ld64(v->body + MIG_DATA_COUNT_SIZE +
                             i * MIG_DATA_UNIT_SIZE);
        uint64_t gpa = word & ~MIG_WORD_RIPAS_MASK;
        RmmRamRange *rr = rrs[i];
        uint64_t g = rr_index(rr, gpa);

        memcpy(rmm_granule_ptr(rr, gpa), pt + i * RMM_GRANULE_SIZE,
               RMM_GRANULE_SIZE);
        rmm_notify_write(r, gpa, RMM_GRANULE_SIZE);
        rr->s2[g] = S2_ASSIGNED | (word & S2_RIPAS_MASK);
        m->data_epoch[rr - r->ram][g] = m->epoch + 1;
    }
    out->granules = count;
    m->epoch_granules += count;
    m->total_granules += count;
    m->stats.data_granules += count;
    m->stats.data_bytes += v->length;
    ret = RMI_SUCCESS;
out:
    gnutls_memset(pt, 0, (size_t)count * RMM_GRANULE_SIZE);
    g_free(pt);
    return ret;
}

static RmiStatus mig_import_epoch(RmmRealm *r, const uint8_t *buf,
                                  const RmmMigRecordView *v, char **err)
{
    uint8_t pt[MIG_EPOCH_SIZE];
    RmmMig *m = &r->mig;

    if (!mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%s", auth_failed);
    }
    if (ld32(pt + MIG_EPOCH_EPOCH) != m->epoch) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "closes epoch %" PRIu32
                          " in epoch %" PRIu32,
                          ld32(pt + MIG_EPOCH_EPOCH), m->epoch);
    }
    if (ld64(pt + MIG_EPOCH_GRANULES) != m->epoch_granules) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%" PRIu64 " granules "
                          "sent in the epoch, %" PRIu64 " imported",
                          ld64(pt + MIG_EPOCH_GRANULES), m->epoch_granules);
    }
    if (m->epoch >= UINT32_MAX - 1) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "too many epochs");
    }
    m->epoch++;
    m->epoch_granules = 0;
    return RMI_SUCCESS;
}

static bool psci_fid_completable(uint32_t fid)
{
    return fid == PSCI_CPU_ON_32 || fid == PSCI_CPU_ON_64 ||
           fid == PSCI_AFFINITY_INFO_32 || fid == PSCI_AFFINITY_INFO_64;
}

static RmiStatus mig_import_rec(RmmRealm *r, const uint8_t *buf,
                                const RmmMigRecordView *v,
                                RmmMigImported *out, char **err)
{
    RmmMig *m = &r->mig;
    size_t pt_len = v->body_len - RMM_MIG_TAG_SIZE;
    size_t token_max = rmm_attest_token_max_size(r->params.hash_algo);
    uint32_t index, token_len, token_off, ctx_len, psci_fid;
    uint64_t mpidr, rbase, rtop, rnext, hc_ipa;
    uint8_t *pt, pending, has_token;
    RmmRec *rec;

    m->rec_pt = pt = g_malloc(pt_len);
    if (!mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%s", auth_failed);
    }
    index = ld32(pt + MIG_REC_INDEX);
    mpidr = ld64(pt + MIG_REC_MPIDR);
    pending = pt[MIG_REC_PENDING];
    rbase = ld64(pt + MIG_REC_RIPAS_BASE);
    rtop = ld64(pt + MIG_REC_RIPAS_TOP);
    rnext = ld64(pt + MIG_REC_RIPAS_NEXT);
    hc_ipa = ld64(pt + MIG_REC_HOST_CALL_IPA);
    psci_fid = ld32(pt + MIG_REC_PSCI_FID);
    has_token = pt[MIG_REC_HAS_TOKEN];
    token_len = ld32(pt + MIG_REC_TOKEN_LEN);
    token_off = ld32(pt + MIG_REC_TOKEN_OFF);
    ctx_len = ld32(pt + MIG_REC_CTX_LEN);

    if (index != m->recs_done || index >= m->nr_recs) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "REC index %" PRIu32
                          ", expected %u of %" PRIu32, index, m->recs_done,
                          m->nr_recs);
    }
    if (!rmm_rec_mpidr_ok(mpidr, index)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "MPIDR 0x%" PRIx64
                          " invalid for REC index %" PRIu32, mpidr, index);
    }
    if (pt[MIG_REC_RUNNABLE] > 1 || pt[MIG_REC_PSCI_PENDING] > 1 ||
        has_token > 1 || pt[MIG_REC_RIPAS_VALUE] > RMI_RIPAS_RAM ||
        !all_zero(pt + MIG_REC_HAS_TOKEN + 1, 3) ||
        !all_zero(pt + MIG_REC_CTX_LEN + 4, 4)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "bad REC flags");
    }
    switch (pending) {
    case RMM_EXIT_NONE:
        break;
    case RMM_EXIT_RIPAS_CHANGE:
        if (!rmm_aligned(rbase) || !rmm_aligned(rtop) ||
            !rmm_aligned(rnext) || rbase >= rtop || rnext < rbase ||
            rnext > rtop || rtop > r->prot_size) {
            return mig_reject(err, RMI_ERROR_INPUT, v,
                              "bad pending RIPAS change");
        }
        break;
    case RMM_EXIT_HOST_CALL:
        if (hc_ipa % RSI_HOST_CALL_SIZE || hc_ipa >= r->prot_size) {
            return mig_reject(err, RMI_ERROR_INPUT, v,
                              "bad pending host call");
        }
        break;
    default:
        return mig_reject(err, RMI_ERROR_INPUT, v, "bad pending exit %u",
                          pending);
    }
    if (pt[MIG_REC_PSCI_PENDING] && !psci_fid_completable(psci_fid)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "bad pending PSCI call");
    }
    if (has_token ? (!token_len || token_len > token_max ||
                     token_off >= token_len)
                  : (token_len || token_off)) {
        return mig_reject(err, RMI_ERROR_INPUT, v,
                          "bad attestation token state");
    }
    if (ctx_len > RMM_MIG_REC_CTX_MAX ||
        pt_len != MIG_REC_TOKEN + (uint64_t)token_len + ctx_len) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "sizes (token %" PRIu32
                          ", context %" PRIu32 ") do not match the record",
                          token_len, ctx_len);
    }

    rec = g_new0(RmmRec, 1);
    rec->realm = r;
    rec->index = index;
    rec->mpidr = mpidr;
    rec->runnable = pt[MIG_REC_RUNNABLE];
    rec->pending = pending;
    rec->ripas_base = rbase;
    rec->ripas_top = rtop;
    rec->ripas_next = rnext;
    rec->ripas_value = pt[MIG_REC_RIPAS_VALUE];
    rec->host_call_ipa = hc_ipa;
    rec->psci_pending = pt[MIG_REC_PSCI_PENDING];
    rec->psci_fid = psci_fid;
    rec->psci_mpidr = ld64(pt + MIG_REC_PSCI_MPIDR);
    if (has_token) {
        rec->token = g_byte_array_sized_new(token_len);
        g_byte_array_append(rec->token, pt + MIG_REC_TOKEN, token_len);
        rec->token_off = token_off;
    }
    r->recs = g_renew(RmmRec *, r->recs, r->nr_recs + 1);
    r->recs[r->nr_recs++] = rec;
    m->recs_done++;
    m->stats.rec_records++;
    out->rec = rec;
    out->rec_ctx = pt + MIG_REC_TOKEN + token_len;
    out->rec_ctx_len = ctx_len;
    return RMI_SUCCESS;
}

static RmiStatus mig_import_end(RmmRealm *r, const uint8_t *buf,
                                const RmmMigRecordView *v, char **err)
{
    uint8_t pt[MIG_END_SIZE];
    size_t hlen = rmm_hash_len(r->params.hash_algo);
    RmmMig *m = &r->mig;
    unsigned i;

    if (!mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%s", auth_failed);
    }
    if (ld64(pt + MIG_END_SEQ) != v->seq) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "final sequence number %"
                          PRIu64, ld64(pt + MIG_END_SEQ));
    }
    if (ld32(pt + MIG_END_EPOCHS) != m->epoch) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%" PRIu32 " epochs sent, %"
                          PRIu32 " imported", ld32(pt + MIG_END_EPOCHS),
                          m->epoch);
    }
    if (ld32(pt + MIG_END_NR_RECS) != m->nr_recs ||
        m->recs_done != m->nr_recs) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%" PRIu32 " RECs sent, "
                          "%u of %" PRIu32 " RECs imported",
                          ld32(pt + MIG_END_NR_RECS), m->recs_done,
                          m->nr_recs);
    }
    if (ld64(pt + MIG_END_GRANULES) != m->total_granules) {
        return mig_reject(err, RMI_ERROR_INPUT, v, "%" PRIu64 " granules "
                          "sent, %" PRIu64 " imported",
                          ld64(pt + MIG_END_GRANULES), m->total_granules);
    }
    for (i = 0; i < RMM_NUM_REMS; i++) {
        if (!all_zero(pt + MIG_END_REMS + i * RMM_HASH_MAX + hlen,
                      RMM_HASH_MAX - hlen)) {
            return mig_reject(err, RMI_ERROR_INPUT, v,
                              "REM %u not zero padded", i);
        }
    }
    memcpy(r->rem, pt + MIG_END_REMS, RMM_NUM_REMS * RMM_HASH_MAX);
    m->end_seq = v->seq;
    return RMI_SUCCESS;
}

/* Is a record of @type in order after the records imported so far? */
static const char *mig_order_error(RmmMig *m, unsigned type)
{
    if (m->last == RMM_MIG_RT_END) {
        return "record after END";
    }
    if (!m->last) {
        return type == RMM_MIG_RT_IMMUTABLE ? NULL
                                             : "the first record must be "
                                               "IMMUTABLE";
    }
    switch (type) {
    case RMM_MIG_RT_IMMUTABLE:
        return "IMMUTABLE record twice";
    case RMM_MIG_RT_RIPAS:
    case RMM_MIG_RT_DATA:
    case RMM_MIG_RT_EPOCH:
        return m->last == RMM_MIG_RT_REC ? "after a REC record" : NULL;
    default:    /* REC, END */
        return epoch_closed(m) ? NULL : "before the first EPOCH record";
    }
}

RmiStatus rmm_mig_import_record(RmmRealm *r, const uint8_t *buf, size_t len,
                                RmmMigImported *out, char **err)
{
    RmmMig *m = &r->mig;
    RmmMigRecordView v;
    RmiStatus ret;
    const char *why;
    char *perr = NULL;
    uint64_t units = 1;

    memset(out, 0, sizeof(*out));
    memset(&v, 0, sizeof(v));
    if (err) {
        *err = NULL;
    }
    g_mutex_lock(&r->lock);
    g_clear_pointer(&m->rec_pt, g_free);
    if (m->phase != RMM_MIG_IN_IMPORTING) {
        ret = RMI_ERROR_REALM;
        set_err(err, "record refused: the realm is not importing (%s)",
                rmm_mig_phase_name(m->phase));
        goto out;
    }
    if (m->failed) {
        ret = RMI_ERROR_REALM;
        set_err(err, "record refused: the import failed, it can only be "
                "aborted");
        goto out;
    }
    ret = RMI_ERROR_INPUT;
    if (!buf || !rmm_mig_record_parse(buf, len, &v, &perr)) {
        if (v.type) {
            mig_reject(err, ret, &v, "%s", perr ? perr : "no buffer");
        } else {
            set_err(err, "record: %s", perr ? perr : "no buffer");
        }
        g_free(perr);
        goto fail;
    }
    out->type = v.type;
    if (v.seq != m->seq) {
        mig_reject(err, ret, &v, "sequence number %" PRIu64 " expected "
                   "(record dropped, duplicated, reordered or replayed)",
                   m->seq);
        goto fail;
    }
    if (v.epoch != m->epoch) {
        mig_reject(err, ret, &v, "epoch %" PRIu32 ", expected %" PRIu32,
                   v.epoch, m->epoch);
        goto fail;
    }
    why = mig_order_error(m, v.type);
    if (why) {
        mig_reject(err, ret, &v, "out of order: %s", why);
        goto fail;
    }
    switch (v.type) {
    case RMM_MIG_RT_IMMUTABLE:
        ret = mig_import_immutable(r, buf, &v, err);
        break;
    case RMM_MIG_RT_RIPAS:
        ret = mig_import_ripas(r, buf, &v, out, err);
        break;
    case RMM_MIG_RT_DATA:
        units = ld32(v.body);
        ret = mig_import_data(r, buf, &v, out, err);
        break;
    case RMM_MIG_RT_EPOCH:
        ret = mig_import_epoch(r, buf, &v, err);
        break;
    case RMM_MIG_RT_REC:
        ret = mig_import_rec(r, buf, &v, out, err);
        break;
    case RMM_MIG_RT_END:
        ret = mig_import_end(r, buf, &v, err);
        break;
    }
    if (ret == RMI_SUCCESS) {
        mig_account(m, v.type, len, units);
        goto out;
    }
fail:
    m->failed = true;
    memset(out, 0, sizeof(*out));
    g_clear_pointer(&m->rec_pt, g_free);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_import_commit(RmmRealm *r,
                                uint8_t token[RMM_MIG_TOKEN_SIZE],
                                char **err)
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_ERROR_REALM;

    if (err) {
        *err = NULL;
    }
    g_mutex_lock(&r->lock);
    if (m->phase != RMM_MIG_IN_IMPORTING) {
        set_err(err, "commit refused: the realm is not importing (%s)",
                rmm_mig_phase_name(m->phase));
        goto out;
    }
    if (m->failed) {
        set_err(err, "commit refused: the import failed");
        goto out;
    }
    if (m->last != RMM_MIG_RT_END) {
        set_err(err, "commit refused: import incomplete, no END record "
                "(%u of %" PRIu32 " RECs, epoch %" PRIu32 ")",
                m->recs_done, m->nr_recs, m->epoch);
        goto out;
    }
    if (!mig_token(&m->keys, true, m->end_seq, token)) {
        set_err(err, "commit refused: token computation failed");
        goto out;
    }
    mig_end_session(m);
    m->phase = RMM_MIG_NONE;
    r->state = RMM_REALM_ACTIVE;
    ret = RMI_SUCCESS;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

bool rmm_mig_import_abort(RmmRealm *r, uint8_t token[RMM_MIG_TOKEN_SIZE])
{
    RmmMig *m = &r->mig;
    bool ok = false;

    g_mutex_lock(&r->lock);
    if (m->phase == RMM_MIG_IN_IMPORTING) {
        if (m->keys.valid) {
            m->have_abort_token = mig_token(&m->keys, false, 0,
                                            m->abort_token);
        }
        mig_end_session(m);
        m->phase = RMM_MIG_IN_ABORTED;
    }
    if (m->phase == RMM_MIG_IN_ABORTED && m->have_abort_token) {
        if (token) {
            memcpy(token, m->abort_token, RMM_MIG_TOKEN_SIZE);
        }
        ok = true;
    }
    g_mutex_unlock(&r->lock);
    return ok;
}
