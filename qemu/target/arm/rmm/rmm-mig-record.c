/*
 * Emulated RMM migration: records (format, parse, seal, open)
 *
 * The source RMM exports a realm as a stream of records that only the
 * destination RMM can open; the host carries them.  See rmm-mig.h for the
 * commands and docs/system/arm/cca-migration.rst for the protocol.
 *
 * Cryptography (GnuTLS)
 * ---------------------
 * The session keys come from the attested handshake of
 * rmm-mig-handshake.c (HELLO, ACCEPT): a session ID S, an encryption key
 * and a token key that only the two RMMs hold.  IMMUTABLE carries S in
 * clear.  Every record body is made of sealed units:
 * AES-256-GCM under the enc key with a 16-byte tag, nonce = le32(lane)
 * || le64(seq), where seq is the unit's sequence number in its lane.  One
 * counter per lane and session numbers the units: on lane 0 IMMUTABLE
 * is seq 0, every later record takes the next number, and a DATA record
 * of n granules takes n numbers (its header carries the first); DATA
 * records of lane 1..RMM_MIG_LANES_MAX count from 0 in their lane.  A
 * nonce is therefore never used twice under one key.  The associated
 * data of a unit is
 *     S (32) || version (1) || type (1) || lane (1) ||
 *     le32 record length || le32 epoch || le64 unit seq
 *     [|| le64 (gpa | ripas | zero), DATA only]
 * so a unit cannot be moved to another session, record, lane, position,
 * epoch or GPA, and the record length (hence a DATA record's count) is
 * bound.  The destination accepts a lane 0 record only if its header
 * seq is the next expected number and its epoch the current epoch: a
 * dropped, duplicated, swapped, reordered or replayed record fails one
 * of these checks or authentication.  A DATA record of another lane is
 * taken in any order, but only in its own epoch and only for granules
 * not written yet in that epoch (so a duplicate or replay fails), and
 * the EPOCH record's count of the epoch's granules must then match what
 * arrived on all lanes (so a dropped one fails).
 *     commit token = HMAC-SHA256(token key, "commit" || S || le64(END seq))
 *     abort token  = HMAC-SHA256(token key, "abort" || S)
 * are compared in constant time.  Keys are wiped (gnutls_memset) when a
 * session ends, is aborted or the realm is destroyed.
 *
 * Record layouts
 * --------------
 * Offsets from the start of the record, integers little-endian.  Every
 * record starts with the 24-byte header of rmi-mig.h ("RMIG", version 1,
 * type, lane, a zero byte, le32 length, le32 epoch, le64 seq).  "sealed(n)" is
 * n bytes of ciphertext followed by the 16-byte tag; offsets inside it
 * are those of the plaintext (MIG_* in rmm-mig-record.h).
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
 *             8  count x { u64 base, u32 granules, u8 ripas (EMPTY,
 *                          RAM or DESTROYED), u8 assigned (HIPAS),
 *                          2 zero bytes }
 *            runs lie inside one RAM range each, in IPA order, disjoint.
 * DATA (type 3), 28 + 4120 * count bytes at most (24 bytes of overhead a
 * granule):
 *    24   4  u32 count (1..RMM_MIG_BATCH_MAX), in clear
 *    28      count x { u64 word: gpa | ripas (bits 0-1, 0..2) | ZERO (bit 2)
 *                      | POISON (bit 3), in clear, in the AAD;
 *                      sealed(4096) granule contents, or with ZERO
 *                      (realms with RMI_REALM_FLAGS_MIG_ZERO) sealed(0):
 *                      the tag alone, the granule all zeros, or with
 *                      POISON sealed(0): a poisoned granule, no contents }
 *            unit i has seq = header seq + i.
 * EPOCH (type 4), 52 bytes:
 *    24      sealed(12): 0 u32 epoch closed, 4 u64 DATA granules in it
 * REC (type 5), 128 + token_len + ctx_len bytes:
 *    24      sealed(88 + token_len + ctx_len):
 *             0  u32 index            4  u8 runnable
 *             5  u8 pending exit      6  u8 ripas_value
 *             7  u8 psci_pending      8  u64 mpidr
 *            16  u64 ripas_base      24  u64 ripas_top
 *            32  u64 ripas_next      40  u64 host_call_ipa
 *            48  u32 psci_fid        52  u8 has_token
 *            53  u8 ripas_flags (RSI_CHANGE_DESTROYED), 2 zero bytes
 *            56  u64 psci_mpidr      64  u32 token_len
 *            68  u32 token_off       72  u32 ctx_len, 4 zero bytes
 *            80  u64 the realm's virtual counter when exported
 *                (the destination RMM's offset makes it go on from there)
 *            88  token bytes, then the host's vCPU context
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
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-mig.h"
#include "rmm-mig-internal.h"
#include "rmm-mig-record.h"

#define MIG_NONCE_SIZE          12
#define MIG_HMAC_SIZE           32

/* Associated data: session, version, type, lane, length, epoch, seq, word. */
#define MIG_AAD_MAX             (RMM_MIG_SESSION_SIZE + 3 + 4 + 4 + 8 + 8)

const char rmm_mig_auth_failed[] =
    "authentication failed (not sealed in this session, or tampered)";

/*
 * True if the @count entries of the DATA body @body (@bl bytes, count
 * included) fill it exactly, each as long as its word says.
 */
static bool mig_data_entries_fit(const uint8_t *body, size_t bl,
                                 uint32_t count)
{
    size_t off = MIG_DATA_COUNT_SIZE;
    uint32_t i;

    for (i = 0; i < count; i++) {
        if (bl - off < MIG_DATA_WORD) {
            return false;
        }
        off += mig_data_entry_size(rmi_ld64(body + off));
        if (off > bl) {
            return false;
        }
    }
    return off == bl;
}

/* Bounds of the body of the record @v for its type. */
static bool mig_body_ok(const RmmMigRecordView *v, char **err)
{
    size_t bl = v->body_len;
    uint32_t count;

    switch (v->type) {
    case RMM_MIG_RT_IMMUTABLE:
        if (bl < MIG_IMM_BODY(1) || bl > MIG_IMM_BODY(RMM_MAX_RAM_RANGES) ||
            (bl - MIG_IMM_BODY(0)) % 16) {
            return rmm_set_err(err, "IMMUTABLE body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_RIPAS:
        if (bl < MIG_RIPAS_BODY(1) ||
            (bl - MIG_RIPAS_BODY(0)) % MIG_RIPAS_RUN_SIZE) {
            return rmm_set_err(err, "RIPAS body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_DATA:
        if (bl < MIG_DATA_COUNT_SIZE) {
            return rmm_set_err(err, "DATA body of %zu bytes", bl);
        }
        count = rmi_ld32(v->body);
        if (count < 1 || count > RMM_MIG_BATCH_MAX) {
            return rmm_set_err(err, "DATA count %" PRIu32 " out of range",
                               count);
        }
        if (!mig_data_entries_fit(v->body, bl, count)) {
            return rmm_set_err(err, "DATA body of %zu bytes for %" PRIu32
                                   " granules", bl, count);
        }
        break;
    case RMM_MIG_RT_EPOCH:
        if (bl != MIG_EPOCH_BODY) {
            return rmm_set_err(err, "EPOCH body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_REC:
        if (bl < MIG_REC_BODY_MIN) {
            return rmm_set_err(err, "REC body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_END:
        if (bl != MIG_END_BODY) {
            return rmm_set_err(err, "END body of %zu bytes", bl);
        }
        break;
    case RMM_MIG_RT_HELLO:
    case RMM_MIG_RT_ACCEPT:
        if (bl < MIG_HS_BODY_MIN || v->length > RMM_MIG_HS_MAX) {
            return rmm_set_err(err, "%s body of %zu bytes",
                               rmi_mig_record_type_name(v->type), bl);
        }
        break;
    }
    return true;
}

bool rmm_mig_record_parse(const uint8_t *buf, size_t len,
                          RmmMigRecordView *v, char **err)
{
    unsigned type;

    memset(v, 0, sizeof(*v));
    if (len < RMM_MIG_HEADER_SIZE) {
        return rmm_set_err(err, "truncated header (%zu bytes)", len);
    }
    if (memcmp(buf + RMM_MIG_HDR_MAGIC, "RMIG", 4)) {
        return rmm_set_err(err, "bad magic");
    }
    if (buf[RMM_MIG_HDR_VERSION] != RMM_MIG_VERSION) {
        return rmm_set_err(err, "unsupported version %u",
                           buf[RMM_MIG_HDR_VERSION]);
    }
    type = buf[RMM_MIG_HDR_TYPE];
    if (!rmi_mig_record_type_valid(type)) {
        return rmm_set_err(err, "unknown record type %u", type);
    }
    v->type = type;
    v->seq = rmi_ld64(buf + RMM_MIG_HDR_SEQ);
    if (buf[RMM_MIG_HDR_RESERVED]) {
        return rmm_set_err(err, "reserved header byte not zero");
    }
    v->lane = buf[RMM_MIG_HDR_LANE];
    if (v->lane > RMM_MIG_LANES_MAX ||
        (v->lane && type != RMM_MIG_RT_DATA)) {
        return rmm_set_err(err, "lane %u for a %s record", v->lane,
                           rmi_mig_record_type_name(type));
    }
    v->length = rmi_ld32(buf + RMM_MIG_HDR_LENGTH);
    v->epoch = rmi_ld32(buf + RMM_MIG_HDR_EPOCH);
    if (v->length != len) {
        return rmm_set_err(err, "length field %" PRIu32 " but %zu bytes",
                           v->length, len);
    }
    if (len > RMM_MIG_RECORD_MAX) {
        return rmm_set_err(err, "length %zu exceeds %u", len,
                           RMM_MIG_RECORD_MAX);
    }
    v->body = buf + RMM_MIG_HEADER_SIZE;
    v->body_len = len - RMM_MIG_HEADER_SIZE;

    return mig_body_ok(v, err);
}

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

bool rmm_mig_keys_init(RmmMigKeys *k, const uint8_t okm[RMM_MIG_OKM_SIZE])
{
    gnutls_aead_cipher_hd_t h;
    gnutls_datum_t d;

    memset(k, 0, sizeof(*k));
    memcpy(k->session, okm, RMM_MIG_SESSION_SIZE);
    memcpy(k->enc_key, okm + RMM_MIG_SESSION_SIZE, sizeof(k->enc_key));
    memcpy(k->tok_key, okm + RMM_MIG_SESSION_SIZE + sizeof(k->enc_key),
           sizeof(k->tok_key));
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

bool rmm_mig_keys_clone(RmmMigKeys *dst, const RmmMigKeys *src)
{
    uint8_t okm[RMM_MIG_OKM_SIZE];
    bool ok;

    if (!src->valid) {
        memset(dst, 0, sizeof(*dst));
        return false;
    }
    memcpy(okm, src->session, RMM_MIG_SESSION_SIZE);
    memcpy(okm + RMM_MIG_SESSION_SIZE, src->enc_key, sizeof(src->enc_key));
    memcpy(okm + RMM_MIG_SESSION_SIZE + sizeof(src->enc_key), src->tok_key,
           sizeof(src->tok_key));
    ok = rmm_mig_keys_init(dst, okm);
    gnutls_memset(okm, 0, sizeof(okm));
    return ok;
}

void rmm_mig_keys_wipe(RmmMigKeys *k)
{
    if (k->aead) {
        gnutls_aead_cipher_deinit(k->aead);
    }
    gnutls_memset(k, 0, sizeof(*k));
}

/* Commit token (@commit) or abort token of the session. */
bool rmm_mig_token(const RmmMigKeys *k, bool commit, uint64_t end_seq,
                   uint8_t out[RMM_MIG_TOKEN_SIZE])
{
    uint8_t seq[8];

    rmi_st64(seq, end_seq);
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
    aad[n++] = hdr[RMM_MIG_HDR_LANE];
    memcpy(aad + n, hdr + RMM_MIG_HDR_LENGTH, 4);
    n += 4;
    memcpy(aad + n, hdr + RMM_MIG_HDR_EPOCH, 4);
    n += 4;
    rmi_st64(aad + n, seq);
    n += 8;
    if (word) {
        memcpy(aad + n, word, MIG_DATA_WORD);
        n += MIG_DATA_WORD;
    }
    return n;
}

/* The nonce of unit @seq of the record whose header is @hdr. */
static void mig_nonce(const uint8_t *hdr, uint64_t seq,
                      uint8_t nonce[MIG_NONCE_SIZE])
{
    rmi_st32(nonce, hdr[RMM_MIG_HDR_LANE]);
    rmi_st64(nonce + 4, seq);
}

/* Seal @pt[0..@len) to @out (@len + tag bytes). */
bool rmm_mig_seal(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                  const uint8_t *word, const uint8_t *pt, size_t len,
                  uint8_t *out)
{
    uint8_t nonce[MIG_NONCE_SIZE], aad[MIG_AAD_MAX];
    size_t aad_len = mig_aad(k, hdr, seq, word, aad);
    size_t out_len = len + RMM_MIG_TAG_SIZE;

    mig_nonce(hdr, seq, nonce);
    return gnutls_aead_cipher_encrypt(k->aead, nonce, sizeof(nonce), aad,
                                      aad_len, RMM_MIG_TAG_SIZE, pt, len,
                                      out, &out_len) == 0 &&
           out_len == len + RMM_MIG_TAG_SIZE;
}

/* Open @ct[0..@len) (tag included) to @pt (@len - tag bytes). */
bool rmm_mig_open(const RmmMigKeys *k, const uint8_t *hdr, uint64_t seq,
                  const uint8_t *word, const uint8_t *ct, size_t len,
                  uint8_t *pt)
{
    uint8_t nonce[MIG_NONCE_SIZE], aad[MIG_AAD_MAX];
    size_t aad_len = mig_aad(k, hdr, seq, word, aad);
    size_t pt_len = len - RMM_MIG_TAG_SIZE;

    if (!k->valid || len < RMM_MIG_TAG_SIZE) {
        return false;
    }
    mig_nonce(hdr, seq, nonce);
    return gnutls_aead_cipher_decrypt(k->aead, nonce, sizeof(nonce), aad,
                                      aad_len, RMM_MIG_TAG_SIZE, ct, len,
                                      pt, &pt_len) == 0 &&
           pt_len == len - RMM_MIG_TAG_SIZE;
}

void rmm_mig_header(uint8_t *buf, unsigned type, uint32_t length,
                    uint32_t epoch, uint64_t seq)
{
    memcpy(buf + RMM_MIG_HDR_MAGIC, "RMIG", 4);
    buf[RMM_MIG_HDR_VERSION] = RMM_MIG_VERSION;
    buf[RMM_MIG_HDR_TYPE] = type;
    buf[RMM_MIG_HDR_LANE] = 0;
    buf[RMM_MIG_HDR_RESERVED] = 0;
    rmi_st32(buf + RMM_MIG_HDR_LENGTH, length);
    rmi_st32(buf + RMM_MIG_HDR_EPOCH, epoch);
    rmi_st64(buf + RMM_MIG_HDR_SEQ, seq);
}

size_t rmm_mig_seal_data_lane(RmmMigKeys *k, unsigned lane, uint32_t epoch,
                              uint64_t seq, const uint8_t *pt, size_t pt_len,
                              uint8_t *buf, size_t cap)
{
    size_t len, n = pt_len / MIG_DATA_PT_UNIT, i;
    uint8_t *body = buf + RMM_MIG_HEADER_SIZE, *out;

    if (!k->valid || !n || pt_len % MIG_DATA_PT_UNIT ||
        n > RMM_MIG_BATCH_MAX || lane > RMM_MIG_LANES_MAX) {
        return 0;
    }
    len = RMM_MIG_HEADER_SIZE + MIG_DATA_COUNT_SIZE;
    for (i = 0; i < n; i++) {
        len += mig_data_entry_size(rmi_ld64(pt + i * MIG_DATA_PT_UNIT));
    }
    if (len > cap) {
        return 0;
    }
    rmm_mig_header(buf, RMM_MIG_RT_DATA, len, epoch, seq);
    buf[RMM_MIG_HDR_LANE] = lane;
    rmi_st32(body, n);
    out = body + MIG_DATA_COUNT_SIZE;
    for (i = 0; i < n; i++) {
        const uint8_t *in = pt + i * MIG_DATA_PT_UNIT;
        size_t glen = mig_data_entry_size(rmi_ld64(in)) - MIG_DATA_WORD -
                      RMM_MIG_TAG_SIZE;

        memcpy(out, in, MIG_DATA_WORD);
        if (!rmm_mig_seal(k, buf, seq + i, in, in + MIG_DATA_WORD,
                          glen, out + MIG_DATA_WORD)) {
            return 0;
        }
        out += MIG_DATA_WORD + glen + RMM_MIG_TAG_SIZE;
    }
    return len;
}

size_t rmm_mig_seal_record(RmmMigKeys *k, unsigned type, uint32_t epoch,
                           uint64_t seq, const uint8_t *pt, size_t pt_len,
                           uint8_t *buf, size_t cap)
{
    size_t len, pre;
    uint8_t *body = buf + RMM_MIG_HEADER_SIZE;

    if (!k->valid || !pt_len) {
        return 0;
    }
    if (type == RMM_MIG_RT_DATA) {
        return rmm_mig_seal_data_lane(k, 0, epoch, seq, pt, pt_len, buf,
                                      cap);
    }
    pre = type == RMM_MIG_RT_IMMUTABLE ? RMM_MIG_SESSION_SIZE : 0;
    if (pt_len > UINT32_MAX - RMM_MIG_HEADER_SIZE - pre - RMM_MIG_TAG_SIZE) {
        return 0;
    }
    len = RMM_MIG_HEADER_SIZE + pre + pt_len + RMM_MIG_TAG_SIZE;
    if (len > cap) {
        return 0;
    }
    rmm_mig_header(buf, type, len, epoch, seq);
    memcpy(body, k->session, pre);
    return rmm_mig_seal(k, buf, seq, NULL, pt, pt_len, body + pre) ? len : 0;
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
        const uint8_t *in = v.body + MIG_DATA_COUNT_SIZE;

        n = rmi_ld32(v.body);
        for (i = 0; i < n; i++) {
            uint8_t *out = pt + i * MIG_DATA_PT_UNIT;
            size_t ct_len = mig_data_entry_size(rmi_ld64(in)) - MIG_DATA_WORD;

            memcpy(out, in, MIG_DATA_WORD);
            memset(out + MIG_DATA_WORD, 0, RMM_GRANULE_SIZE);
            if (!rmm_mig_open(k, buf, v.seq + i, in, in + MIG_DATA_WORD,
                              ct_len, out + MIG_DATA_WORD)) {
                return false;
            }
            in += MIG_DATA_WORD + ct_len;
        }
        *pt_len = n * MIG_DATA_PT_UNIT;
        return true;
    }
    pre = v.type == RMM_MIG_RT_IMMUTABLE ? RMM_MIG_SESSION_SIZE : 0;
    if (!rmm_mig_open(k, buf, v.seq, NULL, v.body + pre, v.body_len - pre,
                      pt)) {
        return false;
    }
    *pt_len = v.body_len - pre - RMM_MIG_TAG_SIZE;
    return true;
}

/* ---- Realm parameters ---- */

void rmm_mig_params_put(uint8_t out[MIG_PARAMS_SIZE],
                        const RmiRealmParams *p)
{
    memset(out, 0, MIG_PARAMS_SIZE);
    rmi_st64(out, p->flags);
    out[8] = p->ipa_width;
    out[9] = p->hash_algo;
    out[10] = p->sve_vl;
    out[11] = p->num_bps;
    out[12] = p->num_wps;
    out[13] = p->pmu_num_ctrs;
}

bool rmm_mig_params_get(const uint8_t in[MIG_PARAMS_SIZE],
                        RmiRealmParams *p)
{
    memset(p, 0, sizeof(*p));
    p->flags = rmi_ld64(in);
    p->ipa_width = in[8];
    p->hash_algo = in[9];
    p->sve_vl = in[10];
    p->num_bps = in[11];
    p->num_wps = in[12];
    p->pmu_num_ctrs = in[13];
    return !in[14] && !in[15];
}

/*
 * One parameter @name: @src's value against @dst's, with the flag
 * @flag of the feature it belongs to (0: none), told as "(@dst +
 * @bias) * @scale@unit" or that the destination has no @feature.
 */
static bool params_differ(char **err, const char *what, const char *name,
                          const char *feature, uint64_t flag,
                          const RmiRealmParams *src, unsigned sv,
                          const RmiRealmParams *dst, unsigned dv,
                          unsigned bias, unsigned scale, const char *unit)
{
    if ((src->flags & flag) == (dst->flags & flag) && sv == dv) {
        return false;
    }
    if (flag && !(dst->flags & flag)) {
        rmm_set_err(err, "%s: %s mismatch (the destination's realm has no "
                    "%s)", what, name, feature);
    } else {
        rmm_set_err(err, "%s: %s mismatch (the destination's is %u: %u%s)",
                    what, name, dv, (dv + bias) * scale, unit);
    }
    return true;
}

RmiStatus rmm_mig_params_match(const RmiRealmParams *src,
                               const RmiRealmParams *dst, const char *what,
                               char **err)
{
    if (src->ipa_width != dst->ipa_width) {
        rmm_set_err(err, "%s: ipa_width mismatch (the destination's is %u)",
                    what, dst->ipa_width);
        return RMI_ERROR_INPUT;
    }
    if (src->hash_algo != dst->hash_algo) {
        rmm_set_err(err, "%s: hash_algo mismatch (the destination's is %u)",
                    what, dst->hash_algo);
        return RMI_ERROR_INPUT;
    }
    /* What a REC's state depends on, each in its own terms. */
    if (params_differ(err, what, "sve_vl", "SVE", RMI_REALM_FLAGS_SVE,
                      src, src->sve_vl, dst, dst->sve_vl, 1, 128,
                      "-bit vectors") ||
        params_differ(err, what, "pmu_num_ctrs", "PMU", RMI_REALM_FLAGS_PMU,
                      src, src->pmu_num_ctrs, dst, dst->pmu_num_ctrs, 0, 1,
                      " event counters") ||
        params_differ(err, what, "num_bps", NULL, 0, src, src->num_bps,
                      dst, dst->num_bps, 1, 1, " breakpoints") ||
        params_differ(err, what, "num_wps", NULL, 0, src, src->num_wps,
                      dst, dst->num_wps, 1, 1, " watchpoints")) {
        return RMI_ERROR_INPUT;
    }
    if (src->flags != dst->flags) {
        rmm_set_err(err, "%s: flags mismatch (the destination's is 0x%"
                    PRIx64 ")", what, dst->flags);
        return RMI_ERROR_INPUT;
    }
    return RMI_SUCCESS;
}

/* ---- A REC's architectural state ---- */

/* The realm's vector length in bytes (0: no SVE), its event counters. */
static size_t arch_vl(const RmiRealmParams *p)
{
    return p->flags & RMI_REALM_FLAGS_SVE ? (p->sve_vl + 1) * 16u : 0;
}

static unsigned arch_ctrs(const RmiRealmParams *p)
{
    return p->flags & RMI_REALM_FLAGS_PMU ? MIN(p->pmu_num_ctrs, 31) : 0;
}

size_t rmm_rec_arch_size(const RmiRealmParams *p)
{
    size_t vl = arch_vl(p), size = 8 + 16 * (p->num_bps + 1u) +
                                   16 * (p->num_wps + 1u);

    if (vl) {
        size += 8 + 32 * vl + 17 * (vl / 8);
    }
    if (p->flags & RMI_REALM_FLAGS_PMU) {
        size += 8 * 8 + 16 * arch_ctrs(p);
    }
    return size;
}

/* What rmm_rec_arch_put()/get() walk: u64 fields and byte strings. */
typedef struct ArchWalk {
    uint8_t *out;           /* put */
    const uint8_t *in;      /* get */
    size_t off;
} ArchWalk;

static void walk64(ArchWalk *w, uint64_t *v)
{
    if (w->out) {
        rmi_st64(w->out + w->off, *v);
    } else {
        *v = rmi_ld64(w->in + w->off);
    }
    w->off += 8;
}

static void walkn(ArchWalk *w, uint8_t *b, size_t n)
{
    if (w->out) {
        memcpy(w->out + w->off, b, n);
    } else {
        memcpy(b, w->in + w->off, n);
    }
    w->off += n;
}

static void arch_walk(const RmiRealmParams *p, RmmRecArch *a, ArchWalk *w)
{
    size_t vl = arch_vl(p);
    unsigned i;

    if (vl) {
        walk64(w, &a->zcr_el1);
        for (i = 0; i < 32; i++) {
            walkn(w, a->z[i], vl);
        }
        for (i = 0; i < 16; i++) {
            walkn(w, a->p[i], vl / 8);
        }
        walkn(w, a->ffr, vl / 8);
    }
    if (p->flags & RMI_REALM_FLAGS_PMU) {
        walk64(w, &a->pmcr_el0);
        walk64(w, &a->pmcntenset);
        walk64(w, &a->pmintenset);
        walk64(w, &a->pmovsset);
        walk64(w, &a->pmccntr);
        walk64(w, &a->pmccfiltr);
        walk64(w, &a->pmselr);
        walk64(w, &a->pmuserenr);
        for (i = 0; i < arch_ctrs(p); i++) {
            walk64(w, &a->pmevcntr[i]);
            walk64(w, &a->pmevtyper[i]);
        }
    }
    walk64(w, &a->mdscr_el1);
    for (i = 0; i <= p->num_bps && i < 16; i++) {
        walk64(w, &a->bvr[i]);
        walk64(w, &a->bcr[i]);
    }
    for (i = 0; i <= p->num_wps && i < 16; i++) {
        walk64(w, &a->wvr[i]);
        walk64(w, &a->wcr[i]);
    }
}

void rmm_rec_arch_put(const RmiRealmParams *p, const RmmRecArch *a,
                      uint8_t *out)
{
    ArchWalk w = { .out = out };

    /* Only reads @a. */
    arch_walk(p, (RmmRecArch *)a, &w);
}

bool rmm_rec_arch_get(const RmiRealmParams *p, const uint8_t *in,
                      size_t len, RmmRecArch *a, char **err)
{
    ArchWalk w = { .in = in };
    unsigned n = arch_ctrs(p);
    uint64_t ctrs = (1ULL << 31) | ((1ULL << n) - 1);
    unsigned sel;

    memset(a, 0, sizeof(*a));
    if (len != rmm_rec_arch_size(p) || p->num_bps > 15 || p->num_wps > 15) {
        return rmm_set_err(err, "architectural state of %zu bytes, not the "
                           "%zu of this realm", len, rmm_rec_arch_size(p));
    }
    arch_walk(p, a, &w);
    if (arch_vl(p) && (a->zcr_el1 & ~0xfULL || (a->zcr_el1 & 0xf) >
                                               p->sve_vl)) {
        return rmm_set_err(err, "ZCR_EL1 beyond the realm's vector length "
                           "(%u bits)", (p->sve_vl + 1) * 128);
    }
    if (!(p->flags & RMI_REALM_FLAGS_PMU)) {
        return true;
    }
    if (((a->pmcr_el0 >> 11) & 0x1f) != n) {
        return rmm_set_err(err, "PMCR_EL0.N is not the realm's %u event "
                           "counters", n);
    }
    if ((a->pmcntenset | a->pmintenset | a->pmovsset) & ~ctrs) {
        return rmm_set_err(err, "a PMU counter beyond the realm's %u event "
                           "counters is enabled or overflowed", n);
    }
    sel = a->pmselr & 0x1f;
    if (a->pmselr & ~0x1fULL || (sel != 31 && sel >= n)) {
        return rmm_set_err(err, "PMSELR_EL0 selects a counter beyond the "
                           "realm's %u", n);
    }
    return true;
}
