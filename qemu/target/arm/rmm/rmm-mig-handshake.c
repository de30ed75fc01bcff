/*
 * Emulated RMM migration: the attested handshake (HELLO, ACCEPT)
 *
 * Before any sealed record the two RMMs agree on session keys that no
 * host ever holds, and each proves to the other that it runs on a
 * platform the realm's migration policy admits:
 *
 *   source RMM  (MIG_START)        HELLO  = nonce_s, share_s, policy hash,
 *                                           params_s, chain_s, token_s
 *   destination (MIG_IMPORT_HELLO) ACCEPT = nonce_d, share_d, H(HELLO),
 *                                           params_d, chain_d, token_d
 *   source RMM  (MIG_ACCEPT)       checks ACCEPT
 *
 * share: a fresh ephemeral ECDH P-384 public key (rmm-mig-ecdh.c).
 * chain: the platform identity's X.509 certificates, leaf (the CPAK's)
 * first; the realm's migration policy must admit it (rmm-mig-policy.c:
 * leaf fit for CCA platform migration, chaining to a trust anchor of the
 * policy or with a pinned key), and the claims of the token below meet
 * the policy's requirements (secured lifecycle and what it lists).
 * token: a CCA platform token signed by the CPAK whose challenge is
 *   SHA-512(label || the body up to the token),
 * label "CCA-MIG-v3 HELLO" or "CCA-MIG-v3 ACCEPT", so the evidence binds
 * the share, the nonce, the parameters, the chain and (ACCEPT) the whole
 * HELLO.  The destination accepts a HELLO only with the policy hash its
 * own realm was created with (measured in the RIM on both sides) and
 * its own realm parameters (IPA width, hash algorithm, flags, SVE
 * vector length, PMU counters, breakpoints, watchpoints): a realm that
 * could not run there is refused before any of its memory is sent.
 * The source checks the ACCEPT's likewise.
 *
 * Keys: Z = ECDH x-coordinate, T = SHA-512(HELLO || ACCEPT),
 *   PRK = HKDF-Extract(SHA-512, salt T, Z),
 *   OKM = HKDF-Expand(SHA-512, PRK, "CCA-MIG-v3 keys", 96)
 *       = session ID || encryption key || token key.
 * A destination that did not answer this HELLO with this ACCEPT has
 * other keys: it can open no record of the session and its tokens are
 * refused.  A recorded stream replayed later meets a fresh share.
 *
 * HELLO and ACCEPT have the record header (epoch 0, seq 0); the body:
 *     0  32  nonce
 *    32  97  share: 0x04 || X || Y
 *   129  64  bind: HELLO the policy hash, ACCEPT SHA-512 of the HELLO
 *   193  16  params: the sender's realm parameters (rmm-mig-record.h)
 *   209   4  u32 C, then C bytes of certificates: { u32 len, DER }
 *   ...   4  u32 token length, then the token
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "rmm-mig-internal.h"
#include "rmm-attest.h"

#define HS_NONCE        0
#define HS_SHARE        (HS_NONCE + RMM_MIG_NONCE_SIZE)
#define HS_BIND         (HS_SHARE + RMM_MIG_SHARE_SIZE)
#define HS_PARAMS       (HS_BIND + RMM_MIG_POLICY_HASH_SIZE)
#define HS_CHAIN        (HS_PARAMS + MIG_PARAMS_SIZE)
#define HS_HASH_SIZE    64              /* SHA-512 */
#define HS_MAX_CERTS    4
#define HS_CERT_MAX     4096

static const char *hs_label(unsigned type)
{
    return type == RMM_MIG_RT_HELLO ? "CCA-MIG-v3 HELLO"
                                    : "CCA-MIG-v3 ACCEPT";
}

static const char *hs_peer(unsigned type)
{
    return type == RMM_MIG_RT_HELLO ? "source" : "destination";
}

static bool hs_sha512(const void *a, size_t alen, const void *b, size_t blen,
                      uint8_t out[HS_HASH_SIZE])
{
    gnutls_hash_hd_t h;

    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA512) < 0) {
        return false;
    }
    if (gnutls_hash(h, a, alen) < 0 || gnutls_hash(h, b, blen) < 0) {
        gnutls_hash_deinit(h, NULL);
        return false;
    }
    gnutls_hash_deinit(h, out);
    return true;
}

/* ---- Policy ---- */

bool rmm_mig_policy_load(RmmRealm *r, const uint8_t *pem, size_t len,
                         RmiStatus *st, char **err)
{
    uint8_t hash[RMM_MIG_POLICY_HASH_SIZE];

    *st = RMI_ERROR_REALM;
    if (rmm_all_zero(r->params.mig_policy, sizeof(hash))) {
        return rmm_set_err(err, "the realm has no migration policy: it "
                           "never migrates");
    }
    *st = RMI_ERROR_INPUT;
    if (!pem || !len || len > UINT_MAX ||
        gnutls_hash_fast(GNUTLS_DIG_SHA512, pem, len, hash) < 0 ||
        gnutls_memcmp(hash, r->params.mig_policy, sizeof(hash))) {
        return rmm_set_err(err, "the migration policy is not the realm's "
                           "(its SHA-512 is not the measured one)");
    }
    r->mig.policy = rmm_mig_policy_parse(pem, len, err);
    if (!r->mig.policy) {
        return false;
    }
    *st = RMI_SUCCESS;
    return true;
}

void rmm_mig_handshake_free(RmmMig *m)
{
    g_clear_pointer(&m->policy, rmm_mig_policy_free);
    g_clear_pointer(&m->ecdh, rmm_mig_ecdh_free);
    if (m->hello) {
        g_byte_array_unref(m->hello);
        m->hello = NULL;
    }
}

/* ---- Building HELLO and ACCEPT ---- */

static void hs_put32(GByteArray *b, uint32_t v)
{
    uint8_t le[4];

    rmi_st32(le, v);
    g_byte_array_append(b, le, 4);
}

/* The platform's certificates as { u32 len, DER }..., after their size. */
static bool hs_put_chain(GByteArray *b, RmmPlatform *p, char **err)
{
    guint at = b->len;
    unsigned i;

    hs_put32(b, 0);
    for (i = 0; i < p->chain_len; i++) {
        gnutls_datum_t der = { NULL, 0 };

        if (gnutls_x509_crt_export2(p->chain[i], GNUTLS_X509_FMT_DER,
                                    &der) < 0 || der.size > HS_CERT_MAX) {
            gnutls_free(der.data);
            return rmm_set_err(err, "cannot export certificate %u of the "
                               "platform's identity", i + 1);
        }
        hs_put32(b, der.size);
        g_byte_array_append(b, der.data, der.size);
        gnutls_free(der.data);
    }
    rmi_st32(b->data + at, b->len - at - 4);
    return true;
}

/* The challenge of the message whose body so far is @body[0..@len). */
static bool hs_challenge(unsigned type, const uint8_t *body, size_t len,
                         uint8_t out[HS_HASH_SIZE])
{
    const char *label = hs_label(type);

    return hs_sha512(label, strlen(label), body, len, out);
}

/*
 * HELLO or ACCEPT (@type) of this side of @r's session, binding @bind;
 * NULL and *@err on failure.
 */
GByteArray *rmm_mig_hs_build(RmmRealm *r, unsigned type,
                             const uint8_t bind[HS_HASH_SIZE], char **err)
{
    RmmPlatform *p = r->plat;
    uint8_t nonce[RMM_MIG_NONCE_SIZE], challenge[HS_HASH_SIZE];
    uint8_t params[MIG_PARAMS_SIZE];
    g_autoptr(GByteArray) b = NULL;
    GByteArray *token;

    if (!p->chain_len) {
        rmm_set_err(err, "this platform has no identity (platform-identity): "
                    "nothing migrates to or from it");
        return NULL;
    }
    if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof(nonce)) < 0) {
        rmm_set_err(err, "no random nonce");
        return NULL;
    }
    b = g_byte_array_new();
    g_byte_array_set_size(b, RMM_MIG_HEADER_SIZE);
    g_byte_array_append(b, nonce, sizeof(nonce));
    g_byte_array_append(b, rmm_mig_ecdh_share(r->mig.ecdh),
                        RMM_MIG_SHARE_SIZE);
    g_byte_array_append(b, bind, HS_HASH_SIZE);
    rmm_mig_params_put(params, &r->params);
    g_byte_array_append(b, params, sizeof(params));
    if (!hs_put_chain(b, p, err) ||
        !hs_challenge(type, b->data + RMM_MIG_HEADER_SIZE,
                      b->len - RMM_MIG_HEADER_SIZE, challenge)) {
        return NULL;
    }
    token = rmm_attest_platform_token(p->keys, challenge, sizeof(challenge),
                                      err);
    if (!token) {
        return NULL;
    }
    hs_put32(b, token->len);
    g_byte_array_append(b, token->data, token->len);
    g_byte_array_unref(token);
    if (b->len > RMM_MIG_HS_MAX) {
        rmm_set_err(err, "%s of %u bytes exceeds %u",
                    rmi_mig_record_type_name(type), b->len, RMM_MIG_HS_MAX);
        return NULL;
    }
    rmm_mig_header(b->data, type, b->len, 0, 0);
    return g_steal_pointer(&b);
}

/* ---- Checking the peer's message ---- */

/* The certificates of @body's chain (C bytes at HS_CHAIN + 4). */
static bool hs_get_chain(const uint8_t *c, uint32_t clen,
                         gnutls_x509_crt_t *crts, unsigned *n,
                         const char *who, char **err)
{
    uint32_t off = 0, len;

    *n = 0;
    while (off < clen) {
        gnutls_datum_t der;

        len = clen - off < 4 ? 0 : rmi_ld32(c + off);
        if (*n == HS_MAX_CERTS || len == 0 || len > HS_CERT_MAX ||
            len > clen - off - 4) {
            return rmm_set_err(err, "the %s's certificate chain is "
                               "malformed", who);
        }
        der.data = (unsigned char *)c + off + 4;
        der.size = len;
        if (gnutls_x509_crt_init(&crts[*n]) < 0) {
            return rmm_set_err(err, "out of memory");
        }
        (*n)++;
        if (gnutls_x509_crt_import(crts[*n - 1], &der,
                                   GNUTLS_X509_FMT_DER) < 0) {
            return rmm_set_err(err, "the %s's certificate %u is not X.509",
                               who, *n);
        }
        off += 4 + len;
    }
    if (!*n) {
        return rmm_set_err(err, "the %s sent no certificate", who);
    }
    return true;
}

/* @crts[0..@n) are admitted by the policy; the leaf's key. */
static bool hs_check_chain(RmmMig *m, gnutls_x509_crt_t *crts, unsigned n,
                           gnutls_pubkey_t *leaf, const char *who,
                           char **err)
{
    if (!rmm_mig_policy_check_chain(m->policy, crts, n, who, err)) {
        return false;
    }
    if (gnutls_pubkey_init(leaf) < 0 ||
        gnutls_pubkey_import_x509(*leaf, crts[0], 0) < 0) {
        return rmm_set_err(err, "the %s platform's key is unusable", who);
    }
    return true;
}

/*
 * The peer's realm parameters (@type's sender) against @own, once its
 * evidence is checked: a message names what differs.
 */
static bool hs_check_params(unsigned type, const uint8_t *in,
                            const RmiRealmParams *own, char **err)
{
    const char *name = rmi_mig_record_type_name(type);
    RmiRealmParams peer;

    if (!rmm_mig_params_get(in, &peer)) {
        return rmm_set_err(err, "%s: reserved bytes of its realm "
                           "parameters not zero", name);
    }
    return (type == RMM_MIG_RT_HELLO ?
            rmm_mig_params_match(&peer, own, name, err) :
            rmm_mig_params_match(own, &peer, name, err)) == RMI_SUCCESS;
}

/*
 * Check the peer's HELLO or ACCEPT (@type) in @buf[0..@len): header,
 * @bind, identity against the policy, evidence, its realm parameters
 * against @own.  Its share to @share.
 */
bool rmm_mig_hs_check(RmmMig *m, unsigned type, const uint8_t *buf,
                      size_t len, const uint8_t bind[HS_HASH_SIZE],
                      const RmiRealmParams *own,
                      uint8_t share[RMM_MIG_SHARE_SIZE], char **err)
{
    gnutls_x509_crt_t crts[HS_MAX_CERTS];
    uint8_t challenge[HS_HASH_SIZE];
    RmmPlatTokenClaims claims;
    gnutls_pubkey_t leaf = NULL;
    const char *who = hs_peer(type);
    RmmMigRecordView v;
    uint32_t clen, tlen;
    unsigned n = 0, i;
    bool ok = false;

    if (!rmm_mig_record_parse(buf, len, &v, err)) {
        return false;
    }
    if (v.type != type || v.epoch || v.seq) {
        return rmm_set_err(err, "expected %s, got %s (epoch %" PRIu32
                           ", seq %" PRIu64 ")",
                           rmi_mig_record_type_name(type),
                           rmi_mig_record_type_name(v.type), v.epoch, v.seq);
    }
    if (gnutls_memcmp(v.body + HS_BIND, bind, HS_HASH_SIZE)) {
        return rmm_set_err(err, type == RMM_MIG_RT_HELLO ?
                           "migration policy mismatch: the source realm's "
                           "policy is not this realm's" :
                           "the ACCEPT answers another HELLO");
    }
    clen = rmi_ld32(v.body + HS_CHAIN);
    tlen = clen > v.body_len - HS_CHAIN - 8 ? 0 :
           rmi_ld32(v.body + HS_CHAIN + 4 + clen);
    if (clen > v.body_len - HS_CHAIN - 8 ||
        tlen != v.body_len - HS_CHAIN - 8 - clen) {
        return rmm_set_err(err, "%s: lengths do not add up",
                           rmi_mig_record_type_name(type));
    }
    if (hs_get_chain(v.body + HS_CHAIN + 4, clen, crts, &n, who, err) &&
        hs_check_chain(m, crts, n, &leaf, who, err) &&
        hs_challenge(type, v.body, HS_CHAIN + 4 + clen, challenge)) {
        ok = rmm_attest_verify_platform_token_claims(
                 leaf, v.body + HS_CHAIN + 8 + clen, tlen, challenge,
                 sizeof(challenge), &claims, err) &&
             rmm_mig_policy_check_claims(m->policy, &claims, who, err) &&
             hs_check_params(type, v.body + HS_PARAMS, own, err);
    }
    if (ok) {
        memcpy(share, v.body + HS_SHARE, RMM_MIG_SHARE_SIZE);
    }
    if (leaf) {
        gnutls_pubkey_deinit(leaf);
    }
    for (i = 0; i < n; i++) {
        gnutls_x509_crt_deinit(crts[i]);
    }
    return ok;
}

/* ---- Keys ---- */

/*
 * Session keys of the handshake whose HELLO is m->hello and ACCEPT
 * @accept[0..@len), with the peer's @share; the ephemeral key is gone
 * afterwards, whatever happens.
 */
bool rmm_mig_hs_keys(RmmMig *m, const uint8_t share[RMM_MIG_SHARE_SIZE],
                     const uint8_t *accept, size_t len, char **err)
{
    uint8_t z[RMM_MIG_COORD_SIZE], t[HS_HASH_SIZE], prk[HS_HASH_SIZE];
    uint8_t okm[RMM_MIG_OKM_SIZE];
    static const char info[] = "CCA-MIG-v3 keys";
    gnutls_datum_t dz = { z, sizeof(z) }, dt = { t, sizeof(t) };
    gnutls_datum_t dp = { prk, sizeof(prk) };
    gnutls_datum_t di = { (unsigned char *)info, sizeof(info) - 1 };
    bool ok;

    ok = rmm_mig_ecdh_derive(m->ecdh, share, z);
    g_clear_pointer(&m->ecdh, rmm_mig_ecdh_free);
    if (!ok) {
        return rmm_set_err(err, "the peer's ECDH share is not a P-384 "
                           "point");
    }
    ok = hs_sha512(m->hello->data, m->hello->len, accept, len, t) &&
         gnutls_hkdf_extract(GNUTLS_MAC_SHA512, &dz, &dt, prk) >= 0 &&
         gnutls_hkdf_expand(GNUTLS_MAC_SHA512, &dp, &di, okm,
                            sizeof(okm)) >= 0 &&
         rmm_mig_keys_init(&m->keys, okm);
    gnutls_memset(z, 0, sizeof(z));
    gnutls_memset(prk, 0, sizeof(prk));
    gnutls_memset(okm, 0, sizeof(okm));
    if (!ok) {
        return rmm_set_err(err, "key derivation failed");
    }
    m->hs = RMM_MIG_HS_DONE;
    return true;
}

/* SHA-512 of the HELLO m->hello: what the ACCEPT binds. */
bool rmm_mig_hs_hello_hash(RmmMig *m, uint8_t out[HS_HASH_SIZE])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA512, m->hello->data,
                            m->hello->len, out) >= 0;
}
