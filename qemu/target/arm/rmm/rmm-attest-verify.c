/*
 * Emulated RMM: verification of a peer's CCA platform token
 *
 * For the migration handshake (rmm-mig-handshake.c): the platform token
 * a peer RMM sent with its HELLO or ACCEPT, untrusted input, is checked
 * for its COSE_Sign1 structure (tag 18, protected header {1: -35}, an
 * ES384 signature of 96 bytes), its signature with the peer's CPAK and
 * its challenge claim; then the claims a migration policy checks are
 * read out of it (rmm_attest_verify_platform_token_claims()).  The
 * reader is rmm-cbor.c's, which takes definite lengths only.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "rmm-attest.h"
#include "rmm-internal.h"       /* rmm_set_err() */
#include "rmm-cbor.h"
#include "rmm-attest-defs.h"

/* The parts of a COSE_Sign1, pointing into the token. */
typedef struct Sign1Parts {
    const uint8_t *prot;
    size_t prot_len;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *sig;
    size_t sig_len;
} Sign1Parts;

/* True if @key is an ECDSA key on P-384. */
static bool key_is_p384(gnutls_pubkey_t key)
{
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
    int ret;

    if (!key || gnutls_pubkey_get_pk_algorithm(key, NULL) != GNUTLS_PK_ECDSA) {
        return false;
    }
    ret = gnutls_pubkey_export_ecc_raw2(key, &curve, &x, &y, 0);
    gnutls_free(x.data);
    gnutls_free(y.data);
    return ret >= 0 && curve == GNUTLS_ECC_CURVE_SECP384R1;
}

/* True if @r is at a head of type @major with argument @arg; read it. */
static bool get_head_is(RmmCborReader *r, RmmCborMajor major, uint64_t arg)
{
    RmmCborMajor m;
    uint64_t a;

    return rmm_cbor_get_head(r, &m, &a) && m == major && a == arg;
}

/* True if protected header @prot is exactly the map {1: -35}. */
static bool protected_is_es384(const uint8_t *prot, size_t len)
{
    RmmCborReader r;

    rmm_cbor_reader_init(&r, prot, len);
    return get_head_is(&r, RMM_CBOR_MAP, 1) &&
           get_head_is(&r, RMM_CBOR_UINT, COSE_HEADER_ALG) &&
           get_head_is(&r, RMM_CBOR_NINT, -1 - COSE_ALG_ES384) &&
           rmm_cbor_at_end(&r);
}

/* Skip a map (the unprotected header). */
static bool skip_map(RmmCborReader *r)
{
    RmmCborReader head = *r;
    RmmCborMajor major;
    uint64_t n;

    return rmm_cbor_get_head(&head, &major, &n) && major == RMM_CBOR_MAP &&
           rmm_cbor_skip(r);
}

/*
 * Take COSE_Sign1_Tagged @tok apart: exactly one item,
 * #6.18([protected: bstr, unprotected: map, payload: bstr, sig: bstr]).
 */
static bool parse_sign1(const uint8_t *tok, size_t len, Sign1Parts *p,
                        char **err)
{
    RmmCborReader r;

    rmm_cbor_reader_init(&r, tok, len);
    if (!get_head_is(&r, RMM_CBOR_TAG, COSE_SIGN1_TAG) ||
        !get_head_is(&r, RMM_CBOR_ARRAY, 4) ||
        !rmm_cbor_get_bytes(&r, &p->prot, &p->prot_len) ||
        !skip_map(&r) ||
        !rmm_cbor_get_bytes(&r, &p->payload, &p->payload_len) ||
        !rmm_cbor_get_bytes(&r, &p->sig, &p->sig_len) ||
        !rmm_cbor_at_end(&r)) {
        return rmm_set_err(err, "platform token: not a COSE_Sign1");
    }
    if (!protected_is_es384(p->prot, p->prot_len)) {
        return rmm_set_err(err, "platform token: algorithm is not ES384");
    }
    if (p->sig_len != ES384_SIG_SIZE) {
        return rmm_set_err(err, "platform token: bad signature size");
    }
    return true;
}

/* @p without its leading zero bytes (one kept), for a DER INTEGER. */
static gnutls_datum_t strip_leading_zeros(const uint8_t *p, size_t len)
{
    gnutls_datum_t d;

    while (len > 1 && *p == 0) {
        p++;
        len--;
    }
    d.data = (unsigned char *)p;
    d.size = len;
    return d;
}

/* Verify the ES384 signature of @p with @key. */
static bool verify_sign1(gnutls_pubkey_t key, const Sign1Parts *p,
                         char **err)
{
    g_autoptr(GByteArray) tbs = g_byte_array_new();
    gnutls_datum_t r = strip_leading_zeros(p->sig, P384_COORD_SIZE);
    gnutls_datum_t s = strip_leading_zeros(p->sig + P384_COORD_SIZE,
                                           P384_COORD_SIZE);
    gnutls_datum_t der = { NULL, 0 };
    gnutls_datum_t data;
    int ret;

    /* Sig_structure = ["Signature1", protected, external_aad, payload] */
    rmm_cbor_put_array(tbs, 4);
    rmm_cbor_put_text(tbs, "Signature1");
    rmm_cbor_put_bytes(tbs, p->prot, p->prot_len);
    rmm_cbor_put_bytes(tbs, NULL, 0);
    rmm_cbor_put_bytes(tbs, p->payload, p->payload_len);
    data.data = tbs->data;
    data.size = tbs->len;

    /* COSE has fixed-width r || s; GnuTLS wants a DER Ecdsa-Sig-Value */
    ret = gnutls_encode_rs_value(&der, &r, &s);
    if (ret >= 0) {
        ret = gnutls_pubkey_verify_data2(key, GNUTLS_SIGN_ECDSA_SHA384, 0,
                                         &data, &der);
    }
    gnutls_free(der.data);
    if (ret < 0) {
        return rmm_set_err(err, "platform token: bad signature");
    }
    return true;
}

/*
 * Check that claims @claims (@len bytes) are a CBOR map with a single
 * challenge claim, equal to @challenge (@clen bytes).
 */
static bool check_challenge(const uint8_t *claims, size_t len,
                            const uint8_t *challenge, size_t clen,
                            char **err)
{
    const uint8_t *val = NULL;
    size_t vlen = 0;
    unsigned found = 0;
    RmmCborReader r;
    RmmCborMajor major;
    uint64_t n, i, key;

    rmm_cbor_reader_init(&r, claims, len);
    if (!rmm_cbor_get_head(&r, &major, &n) || major != RMM_CBOR_MAP) {
        return rmm_set_err(err, "platform token: claims are not a map");
    }
    for (i = 0; i < n; i++) {
        RmmCborReader at_key = r;

        if (rmm_cbor_get_head(&r, &major, &key) && major == RMM_CBOR_UINT &&
            key == CCA_PLAT_CHALLENGE) {
            if (!rmm_cbor_get_bytes(&r, &val, &vlen)) {
                return rmm_set_err(err, "platform token: bad challenge claim");
            }
            found++;
            continue;
        }
        r = at_key;
        if (!rmm_cbor_skip(&r) || !rmm_cbor_skip(&r)) {
            return rmm_set_err(err, "platform token: claims are not a map");
        }
    }
    if (!rmm_cbor_at_end(&r)) {
        return rmm_set_err(err, "platform token: claims are not a map");
    }
    if (found != 1) {
        return rmm_set_err(err, "platform token: %s challenge claim",
                           found ? "more than one" : "no");
    }
    if (vlen != clen || gnutls_memcmp(val, challenge, clen) != 0) {
        return rmm_set_err(err, "platform token: challenge does not match");
    }
    return true;
}

bool rmm_attest_verify_platform_token(gnutls_pubkey_t key,
                                      const uint8_t *tok, size_t len,
                                      const uint8_t *challenge, size_t clen,
                                      char **err)
{
    Sign1Parts p;

    if (!challenge || !rmm_attest_challenge_size_ok(clen)) {
        return rmm_set_err(err, "platform token: challenge of %zu bytes "
                           "(32, 48 or 64 needed)", challenge ? clen : 0);
    }
    if (!key_is_p384(key)) {
        return rmm_set_err(err, "platform token: key is not ECDSA P-384");
    }
    if (!tok && len) {
        return rmm_set_err(err, "platform token: not a COSE_Sign1");
    }
    return parse_sign1(tok, len, &p, err) &&
           verify_sign1(key, &p, err) &&
           check_challenge(p.payload, p.payload_len, challenge, clen, err);
}

/* ---- The claims a migration policy checks ---- */

/*
 * Read the value of the claim whose key @r is at, if it is a uint key
 * below 32 (into *@key, and whether it was seen before into @seen);
 * otherwise skip key and value and set *@key to UINT64_MAX.
 */
static bool get_claim_key(RmmCborReader *r, uint64_t *key, uint32_t *seen,
                          bool *dup)
{
    RmmCborReader at = *r;
    RmmCborMajor major;

    *dup = false;
    if (rmm_cbor_get_head(r, &major, key) && major == RMM_CBOR_UINT &&
        *key < 32) {
        *dup = *seen & (1u << *key);
        *seen |= 1u << *key;
        return true;
    }
    *r = at;
    *key = UINT64_MAX;
    return rmm_cbor_skip(r) && rmm_cbor_skip(r);
}

/* One software component map to @sw: measurement and signer ID needed. */
static bool get_sw_component(RmmCborReader *r, RmmPlatTokenSw *sw)
{
    RmmCborMajor major;
    uint64_t n, i, key;
    uint32_t seen = 0;
    bool dup, ok;

    memset(sw, 0, sizeof(*sw));
    if (!rmm_cbor_get_head(r, &major, &n) || major != RMM_CBOR_MAP) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!get_claim_key(r, &key, &seen, &dup) || dup) {
            return false;
        }
        switch (key) {
        case UINT64_MAX:
            continue;
        case SW_COMP_MEASUREMENT_TYPE:
            ok = rmm_cbor_get_text(r, &sw->type, &sw->type_len);
            break;
        case SW_COMP_MEASUREMENT_VALUE:
            ok = rmm_cbor_get_bytes(r, &sw->measurement,
                                    &sw->measurement_len);
            break;
        case SW_COMP_VERSION:
            ok = rmm_cbor_get_text(r, &sw->version, &sw->version_len);
            break;
        case SW_COMP_SIGNER_ID:
            ok = rmm_cbor_get_bytes(r, &sw->signer_id, &sw->signer_id_len);
            break;
        default:
            ok = rmm_cbor_skip(r);
        }
        if (!ok) {
            return false;
        }
    }
    return sw->measurement && sw->signer_id;
}

/* The software components claim (an array of 1 to RMM_PLAT_TOKEN_SW_MAX). */
static bool get_sw_components(RmmCborReader *r, RmmPlatTokenClaims *c)
{
    RmmCborMajor major;
    uint64_t n, i;

    if (!rmm_cbor_get_head(r, &major, &n) || major != RMM_CBOR_ARRAY ||
        !n || n > RMM_PLAT_TOKEN_SW_MAX) {
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!get_sw_component(r, &c->sw[i])) {
            return false;
        }
    }
    c->nr_sw = n;
    return true;
}

/* The value of claim @key (one of @c's) at @r. */
static bool get_plat_claim(RmmCborReader *r, uint64_t key,
                           RmmPlatTokenClaims *c)
{
    RmmCborMajor major;

    switch (key) {
    case CCA_PLAT_LIFECYCLE:
        c->has_lifecycle = rmm_cbor_get_head(r, &major, &c->lifecycle) &&
                           major == RMM_CBOR_UINT;
        return c->has_lifecycle;
    case CCA_PLAT_IMPLEMENTATION_ID:
        return rmm_cbor_get_bytes(r, &c->impl_id, &c->impl_id_len) &&
               c->impl_id_len;
    default:
        return get_sw_components(r, c);
    }
}

static const char *plat_claim_name(uint64_t key)
{
    switch (key) {
    case CCA_PLAT_LIFECYCLE:
        return "security lifecycle";
    case CCA_PLAT_IMPLEMENTATION_ID:
        return "implementation ID";
    default:
        return "software components";
    }
}

/* Lifecycle, implementation ID and software components of @claims. */
static bool get_plat_claims(const uint8_t *claims, size_t len,
                            RmmPlatTokenClaims *c, char **err)
{
    static const uint64_t needed[] = {
        CCA_PLAT_LIFECYCLE, CCA_PLAT_IMPLEMENTATION_ID,
        CCA_PLAT_SW_COMPONENTS,
    };
    uint64_t seen[G_N_ELEMENTS(needed)] = { 0 };
    RmmCborReader r;
    RmmCborMajor major;
    uint64_t n, i, key;
    size_t j;

    memset(c, 0, sizeof(*c));
    rmm_cbor_reader_init(&r, claims, len);
    if (!rmm_cbor_get_head(&r, &major, &n) || major != RMM_CBOR_MAP) {
        return rmm_set_err(err, "platform token: claims are not a map");
    }
    for (i = 0; i < n; i++) {
        RmmCborReader at = r;

        if (!rmm_cbor_get_head(&r, &major, &key) || major != RMM_CBOR_UINT) {
            r = at;
            if (!rmm_cbor_skip(&r) || !rmm_cbor_skip(&r)) {
                return rmm_set_err(err, "platform token: claims are not a "
                                   "map");
            }
            continue;
        }
        j = 0;
        while (j < G_N_ELEMENTS(needed) && key != needed[j]) {
            j++;
        }
        if (j == G_N_ELEMENTS(needed)) {
            if (!rmm_cbor_skip(&r)) {
                return rmm_set_err(err, "platform token: claims are not a "
                                   "map");
            }
            continue;
        }
        if (seen[j]++) {
            return rmm_set_err(err, "platform token: more than one %s "
                               "claim", plat_claim_name(key));
        }
        if (!get_plat_claim(&r, key, c)) {
            return rmm_set_err(err, "platform token: bad %s claim",
                               plat_claim_name(key));
        }
    }
    for (j = 0; j < G_N_ELEMENTS(needed); j++) {
        if (!seen[j]) {
            return rmm_set_err(err, "platform token: no %s claim",
                               plat_claim_name(needed[j]));
        }
    }
    return true;
}

bool rmm_attest_verify_platform_token_claims(gnutls_pubkey_t key,
                                             const uint8_t *tok, size_t len,
                                             const uint8_t *challenge,
                                             size_t clen,
                                             RmmPlatTokenClaims *claims,
                                             char **err)
{
    Sign1Parts p;

    return rmm_attest_verify_platform_token(key, tok, len, challenge, clen,
                                            err) &&
           parse_sign1(tok, len, &p, err) &&
           get_plat_claims(p.payload, p.payload_len, claims, err);
}
