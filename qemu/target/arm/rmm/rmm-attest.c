/*
 * Emulated RMM: CCA attestation token
 *
 * Format (RMM specification DEN0137 1.0-rel0, "CCA attestation token";
 * draft-ffm-rats-cca-token):
 *
 *   cca-token = #6.399({
 *       44234: bstr .cbor COSE_Sign1_Tagged,    ; platform token (CPAK)
 *       44241: bstr .cbor COSE_Sign1_Tagged,    ; realm token (RAK)
 *   })
 *
 * Both COSE_Sign1 objects carry tag 18, the protected header {1: -35}
 * (alg ES384), an empty unprotected header and a 96-byte r || s ECDSA
 * P-384 signature over the Sig_structure
 * ["Signature1", protected, h'', payload] (RFC 9052 section 4.4).
 *
 * The realm public key claim carries the RAK as a CBOR-encoded COSE_Key
 * (EC2, P-384) in a byte string, as RMM 1.0-rel0 and TF-RMM do (the
 * earlier EAC versions used a raw SEC1 point).  The platform
 * token's challenge is the hash of exactly those COSE_Key bytes with the
 * algorithm named by the realm public key hash algorithm claim (SHA-256),
 * which binds the RAK to the platform.
 *
 * The platform token depends only on the keys, so it is built and signed
 * once, when the keys are made, like a real RMM fetches it once at boot.
 * The realm token is built and signed afresh for every request.
 *
 * For the migration handshake, a platform token can also be made with a
 * challenge of the caller's choosing (a peer's nonce, say); a peer's
 * platform token is verified by rmm-attest-verify.c.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "rmm-attest.h"
#include "rmm-internal.h"
#include "rmm-cbor.h"
#include "rmm-measure.h"
#include "rmm-attest-defs.h"

#define SHA256_SIZE                     32
#define SHA512_SIZE                     64

/* Algorithm of the hash of the RAK in the platform challenge. */
#define RAK_HASH_ALGO                   RMI_HASH_SHA256

/*
 * Size limit of the platform token.  The actual size depends only on the
 * size of the challenge (about 610 bytes with 32 bytes, 642 with 64); it
 * is checked when the token is built.
 */
#define PLAT_TOKEN_MAX                  1024

/*
 * The emulated platform.  These claims describe QEMU's emulation of a CCA
 * platform, not real hardware: the values are stable, so a verifier can
 * be given reference values for them, but nothing roots them in hardware
 * and the keys are random per process, so no verifier should trust them
 * as it would trust a real platform.
 */
#define EMU_IMPLEMENTATION              "QEMU emulated Arm CCA platform"
#define EMU_SIGNER                      "QEMU emulated Arm CCA platform signer"
#define EMU_VERIFICATION_SERVICE        "https://cca-emulation.invalid/verifier"
/*
 * PSA/CCA security lifecycle "CCA platform secured" (0x3000..0x30ff),
 * so that verifiers apply their normal policy to the emulated platform
 * (rmm_platform_set_claims() can make it report another).
 */
#define EMU_LIFECYCLE                   RMM_LIFECYCLE_SECURED_MIN
/* UEID type RAND (RFC 9711), followed by a 32-byte identifier. */
#define UEID_TYPE_RAND                  0x01

/* Platform config claim: no optional platform features (4-byte word). */
static const uint8_t emu_platform_config[] = { 0x00, 0x00, 0x00, 0x00 };

typedef struct EmuSwComponent {
    const char *type;       /* measurement type */
    const char *version;
    const char *image;      /* measured: hashed into the measurement value */
} EmuSwComponent;

static const EmuSwComponent emu_sw_components[RMM_PLATFORM_SW_COMPONENTS] = {
    { "BL1", "1.0.0", "QEMU emulated CCA boot ROM" },
    { "BL31", "1.0.0", "QEMU emulated EL3 monitor" },
    { "RMM", "1.0.0", "QEMU emulated Realm Management Monitor 1.0" },
};

struct RmmAttestKeys {
    gnutls_privkey_t cpak;      /* CCA platform attestation key */
    gnutls_privkey_t rak;       /* realm attestation key */
    GByteArray *cpak_pub;       /* COSE_Key */
    GByteArray *rak_pub;        /* COSE_Key: the realm public key claim */
    GByteArray *plat_token;     /* COSE_Sign1_Tagged, signed by the CPAK */
    RmmPlatformClaims claims;   /* what the platform token says */
    uint8_t cpak_x[P384_COORD_SIZE];    /* the CPAK's coordinates */
    uint8_t cpak_y[P384_COORD_SIZE];
};

/* Names from the IANA "Named Information Hash Algorithm" registry. */
static const char *hash_name(RmiHashAlgo algo)
{
    switch (algo) {
    case RMI_HASH_SHA256:
        return "sha-256";
    case RMI_HASH_SHA512:
        return "sha-512";
    default:
        return NULL;
    }
}

static bool hash_data(RmiHashAlgo algo, const void *data, size_t len,
                      uint8_t *out, char **err)
{
    gnutls_digest_algorithm_t dig =
        algo == RMI_HASH_SHA512 ? GNUTLS_DIG_SHA512 : GNUTLS_DIG_SHA256;
    int ret = gnutls_hash_fast(dig, data, len, out);

    if (ret < 0) {
        rmm_set_err(err, "attestation: %s hash failed: %s",
                    hash_name(algo), gnutls_strerror(ret));
        return false;
    }
    return true;
}

/*
 * Copy big-endian integer @d into @width bytes, left-padded with zeros
 * (GnuTLS exports integers without leading zeros, or with one to keep
 * them positive).  False if it does not fit.
 */
static bool to_fixed_width(const gnutls_datum_t *d, uint8_t *out,
                           size_t width)
{
    const uint8_t *p = d->data;
    size_t len = d->size;

    while (len > 0 && *p == 0) {
        p++;
        len--;
    }
    if (len > width) {
        return false;
    }
    memset(out, 0, width - len);
    memcpy(out + width - len, p, len);
    return true;
}

/* COSE_Key of an EC2 P-384 public key (RFC 9052 section 7). */
static GByteArray *cose_key_p384(const uint8_t x[P384_COORD_SIZE],
                                 const uint8_t y[P384_COORD_SIZE])
{
    GByteArray *b = g_byte_array_new();

    /* Deterministic key order: 1, -1, -2, -3 (0x01 < 0x20 < 0x21 < 0x22) */
    rmm_cbor_put_map(b, 4);
    rmm_cbor_put_int(b, COSE_KEY_KTY);
    rmm_cbor_put_int(b, COSE_KTY_EC2);
    rmm_cbor_put_int(b, COSE_KEY_EC2_CRV);
    rmm_cbor_put_int(b, COSE_CRV_P384);
    rmm_cbor_put_int(b, COSE_KEY_EC2_X);
    rmm_cbor_put_bytes(b, x, P384_COORD_SIZE);
    rmm_cbor_put_int(b, COSE_KEY_EC2_Y);
    rmm_cbor_put_bytes(b, y, P384_COORD_SIZE);
    return b;
}

/*
 * The public key of ECDSA P-384 key @key (@name in errors) as a COSE_Key,
 * and its coordinates in @x and @y.  False (and *err) if @key is not an
 * ECDSA P-384 key.
 */
static bool p384_public(gnutls_privkey_t key, const char *name,
                        GByteArray **cose_pub, uint8_t x[P384_COORD_SIZE],
                        uint8_t y[P384_COORD_SIZE], char **err)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    gnutls_datum_t dx = { NULL, 0 }, dy = { NULL, 0 };
    bool ok = false;
    int ret;

    if (gnutls_privkey_get_pk_algorithm(key, NULL) != GNUTLS_PK_ECDSA) {
        rmm_set_err(err, "attestation: %s is not an ECDSA key", name);
        return false;
    }
    ret = gnutls_pubkey_init(&pub);
    if (ret >= 0) {
        ret = gnutls_pubkey_import_privkey(pub, key, 0, 0);
    }
    if (ret >= 0) {
        ret = gnutls_pubkey_export_ecc_raw2(pub, &curve, &dx, &dy,
                                            GNUTLS_EXPORT_FLAG_NO_LZ);
    }
    if (ret < 0) {
        rmm_set_err(err, "attestation: %s: no public key: %s", name,
                    gnutls_strerror(ret));
    } else if (curve != GNUTLS_ECC_CURVE_SECP384R1 ||
               !to_fixed_width(&dx, x, P384_COORD_SIZE) ||
               !to_fixed_width(&dy, y, P384_COORD_SIZE)) {
        rmm_set_err(err, "attestation: %s is not a P-384 key (curve %s)", name,
                    gnutls_ecc_curve_get_name(curve) ?: "unknown");
    } else {
        *cose_pub = cose_key_p384(x, y);
        ok = true;
    }
    gnutls_free(dx.data);
    gnutls_free(dy.data);
    if (pub) {
        gnutls_pubkey_deinit(pub);
    }
    return ok;
}

/* A fresh random ECDSA P-384 key @name. */
static gnutls_privkey_t p384_generate(const char *name, char **err)
{
    gnutls_privkey_t key = NULL;
    int ret;

    ret = gnutls_privkey_init(&key);
    if (ret >= 0) {
        ret = gnutls_privkey_generate2(key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(
                                           GNUTLS_ECC_CURVE_SECP384R1),
                                       0, NULL, 0);
    }
    if (ret < 0) {
        rmm_set_err(err, "attestation: %s: key generation failed: %s", name,
                    gnutls_strerror(ret));
        if (key) {
            gnutls_privkey_deinit(key);
        }
        return NULL;
    }
    return key;
}

/* Raw r || s ES384 signature of @tbs (ECDSA P-384 with SHA-384). */
static bool sign_es384(gnutls_privkey_t key, const GByteArray *tbs,
                       uint8_t sig[ES384_SIG_SIZE], const char *name,
                       char **err)
{
    gnutls_datum_t data = { tbs->data, tbs->len };
    gnutls_datum_t der = { NULL, 0 };
    gnutls_datum_t r = { NULL, 0 }, s = { NULL, 0 };
    bool ok = false;
    int ret;

    ret = gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA384, 0,
                                    &data, &der);
    if (ret < 0) {
        rmm_set_err(err, "attestation: %s: gnutls_privkey_sign_data2 "
                    "failed: %s", name, gnutls_strerror(ret));
        return false;
    }
    /* GnuTLS gives a DER Ecdsa-Sig-Value; COSE wants fixed-width r || s */
    ret = gnutls_decode_rs_value(&der, &r, &s);
    if (ret < 0) {
        rmm_set_err(err, "attestation: %s: gnutls_decode_rs_value failed: %s",
                    name, gnutls_strerror(ret));
        goto out;
    }
    if (!to_fixed_width(&r, sig, P384_COORD_SIZE) ||
        !to_fixed_width(&s, sig + P384_COORD_SIZE, P384_COORD_SIZE)) {
        rmm_set_err(err, "attestation: %s: ECDSA signature value too long",
                    name);
        goto out;
    }
    ok = true;
out:
    gnutls_free(r.data);
    gnutls_free(s.data);
    gnutls_free(der.data);
    return ok;
}

/* COSE_Sign1_Tagged of @payload, signed with ES384 by @key. */
static GByteArray *cose_sign1(gnutls_privkey_t key, const GByteArray *payload,
                              const char *name, char **err)
{
    g_autoptr(GByteArray) prot = g_byte_array_new();
    g_autoptr(GByteArray) tbs = g_byte_array_new();
    uint8_t sig[ES384_SIG_SIZE];
    GByteArray *out;

    /* Protected header: { alg: ES384 } */
    rmm_cbor_put_map(prot, 1);
    rmm_cbor_put_int(prot, COSE_HEADER_ALG);
    rmm_cbor_put_int(prot, COSE_ALG_ES384);

    /* Sig_structure = ["Signature1", protected, external_aad, payload] */
    rmm_cbor_put_array(tbs, 4);
    rmm_cbor_put_text(tbs, "Signature1");
    rmm_cbor_put_bytes(tbs, prot->data, prot->len);
    rmm_cbor_put_bytes(tbs, NULL, 0);
    rmm_cbor_put_bytes(tbs, payload->data, payload->len);

    if (!sign_es384(key, tbs, sig, name, err)) {
        return NULL;
    }

    out = g_byte_array_new();
    rmm_cbor_put_tag(out, COSE_SIGN1_TAG);
    rmm_cbor_put_array(out, 4);
    rmm_cbor_put_bytes(out, prot->data, prot->len);
    rmm_cbor_put_map(out, 0);
    rmm_cbor_put_bytes(out, payload->data, payload->len);
    rmm_cbor_put_bytes(out, sig, sizeof(sig));
    return out;
}

/* The software components claim of the platform token, to @claims. */
static void put_sw_components(GByteArray *claims, const RmmPlatformClaims *c)
{
    size_t i;

    rmm_cbor_put_uint(claims, CCA_PLAT_SW_COMPONENTS);
    rmm_cbor_put_array(claims, G_N_ELEMENTS(emu_sw_components));
    for (i = 0; i < G_N_ELEMENTS(emu_sw_components); i++) {
        rmm_cbor_put_map(claims, 5);
        rmm_cbor_put_uint(claims, SW_COMP_MEASUREMENT_TYPE);
        rmm_cbor_put_text(claims, emu_sw_components[i].type);
        rmm_cbor_put_uint(claims, SW_COMP_MEASUREMENT_VALUE);
        rmm_cbor_put_bytes(claims, c->sw[i].measurement, SHA256_SIZE);
        rmm_cbor_put_uint(claims, SW_COMP_VERSION);
        rmm_cbor_put_text(claims, c->sw[i].version);
        rmm_cbor_put_uint(claims, SW_COMP_SIGNER_ID);
        rmm_cbor_put_bytes(claims, c->sw[i].signer_id, SHA256_SIZE);
        rmm_cbor_put_uint(claims, SW_COMP_MEASUREMENT_DESC);
        rmm_cbor_put_text(claims, hash_name(RMI_HASH_SHA256));
    }
}

/* The emulated platform's own claims, to @c. */
static bool default_claims(RmmPlatformClaims *c, char **err)
{
    size_t i;

    memset(c, 0, sizeof(*c));
    c->lifecycle = EMU_LIFECYCLE;
    if (!hash_data(RMI_HASH_SHA256, EMU_IMPLEMENTATION,
                   strlen(EMU_IMPLEMENTATION), c->implementation_id, err)) {
        return false;
    }
    for (i = 0; i < G_N_ELEMENTS(emu_sw_components); i++) {
        const EmuSwComponent *e = &emu_sw_components[i];

        if (!hash_data(RMI_HASH_SHA256, e->image, strlen(e->image),
                       c->sw[i].measurement, err) ||
            !hash_data(RMI_HASH_SHA256, EMU_SIGNER, strlen(EMU_SIGNER),
                       c->sw[i].signer_id, err)) {
            return false;
        }
        g_strlcpy(c->sw[i].version, e->version, RMM_PLATFORM_VERSION_MAX);
    }
    return true;
}

/* The platform token of @k with challenge claim @challenge (@clen bytes). */
static GByteArray *build_platform_token(const RmmAttestKeys *k,
                                        const uint8_t *challenge, size_t clen,
                                        char **err)
{
    g_autoptr(GByteArray) claims = g_byte_array_new();
    uint8_t sec1[1 + 2 * P384_COORD_SIZE];
    uint8_t instance_id[1 + SHA256_SIZE];
    const RmmPlatformClaims *c = &k->claims;
    GByteArray *token;

    /* Instance ID: UEID of the hash of the CPAK (uncompressed SEC1 point) */
    sec1[0] = 0x04;
    memcpy(sec1 + 1, k->cpak_x, P384_COORD_SIZE);
    memcpy(sec1 + 1 + P384_COORD_SIZE, k->cpak_y, P384_COORD_SIZE);
    instance_id[0] = UEID_TYPE_RAND;
    if (!hash_data(RMI_HASH_SHA256, sec1, sizeof(sec1), instance_id + 1,
                   err)) {
        return NULL;
    }

    /* Keys in deterministic order: 10, 256, 265, 2395..2402 */
    rmm_cbor_put_map(claims, 9);

    rmm_cbor_put_uint(claims, CCA_PLAT_CHALLENGE);
    rmm_cbor_put_bytes(claims, challenge, clen);

    rmm_cbor_put_uint(claims, CCA_PLAT_INSTANCE_ID);
    rmm_cbor_put_bytes(claims, instance_id, sizeof(instance_id));

    rmm_cbor_put_uint(claims, CCA_PLAT_PROFILE);
    rmm_cbor_put_text(claims, CCA_PLAT_PROFILE_NAME);

    rmm_cbor_put_uint(claims, CCA_PLAT_LIFECYCLE);
    rmm_cbor_put_uint(claims, c->lifecycle);

    rmm_cbor_put_uint(claims, CCA_PLAT_IMPLEMENTATION_ID);
    rmm_cbor_put_bytes(claims, c->implementation_id, SHA256_SIZE);

    put_sw_components(claims, c);

    rmm_cbor_put_uint(claims, CCA_PLAT_VERIFICATION_SERVICE);
    rmm_cbor_put_text(claims, EMU_VERIFICATION_SERVICE);

    rmm_cbor_put_uint(claims, CCA_PLAT_CONFIG);
    rmm_cbor_put_bytes(claims, emu_platform_config,
                       sizeof(emu_platform_config));

    rmm_cbor_put_uint(claims, CCA_PLAT_HASH_ALGO_ID);
    rmm_cbor_put_text(claims, hash_name(RMI_HASH_SHA256));

    token = cose_sign1(k->cpak, claims, "platform token (CPAK)", err);
    if (token && token->len > PLAT_TOKEN_MAX) {
        rmm_set_err(err, "attestation: platform token of %u bytes exceeds %u",
                    token->len, PLAT_TOKEN_MAX);
        g_byte_array_unref(token);
        return NULL;
    }
    return token;
}

RmmAttestKeys *rmm_attest_keys_new_cpak(gnutls_privkey_t cpak, char **err)
{
    RmmAttestKeys *k = g_new0(RmmAttestKeys, 1);
    uint8_t rak_x[P384_COORD_SIZE], rak_y[P384_COORD_SIZE];
    uint8_t rak_hash[SHA256_SIZE];

    k->cpak = cpak;
    k->rak = p384_generate("RAK", err);
    if (!k->cpak || !k->rak || !default_claims(&k->claims, err) ||
        !p384_public(k->rak, "RAK", &k->rak_pub, rak_x, rak_y, err) ||
        !p384_public(k->cpak, "the platform key (CPAK)", &k->cpak_pub,
                     k->cpak_x, k->cpak_y, err)) {
        goto fail;
    }
    /* Challenge: hash of the realm public key claim's COSE_Key bytes */
    if (!hash_data(RAK_HASH_ALGO, k->rak_pub->data, k->rak_pub->len,
                   rak_hash, err)) {
        goto fail;
    }
    k->plat_token = build_platform_token(k, rak_hash, sizeof(rak_hash), err);
    if (!k->plat_token) {
        goto fail;
    }
    return k;

fail:
    rmm_attest_keys_free(k);
    return NULL;
}

RmmAttestKeys *rmm_attest_keys_new(char **err)
{
    gnutls_privkey_t cpak = p384_generate("CPAK", err);

    return cpak ? rmm_attest_keys_new_cpak(cpak, err) : NULL;
}

void rmm_attest_keys_free(RmmAttestKeys *k)
{
    if (!k) {
        return;
    }
    if (k->cpak) {
        gnutls_privkey_deinit(k->cpak);
    }
    if (k->rak) {
        gnutls_privkey_deinit(k->rak);
    }
    if (k->cpak_pub) {
        g_byte_array_unref(k->cpak_pub);
    }
    if (k->rak_pub) {
        g_byte_array_unref(k->rak_pub);
    }
    if (k->plat_token) {
        g_byte_array_unref(k->plat_token);
    }
    g_free(k);
}

void rmm_attest_keys_get_claims(const RmmAttestKeys *k, RmmPlatformClaims *c)
{
    *c = k->claims;
}

bool rmm_attest_keys_set_claims(RmmAttestKeys *k, const RmmPlatformClaims *c,
                                char **err)
{
    RmmPlatformClaims old = k->claims;
    uint8_t rak_hash[SHA256_SIZE];
    GByteArray *token;
    size_t i;

    for (i = 0; i < RMM_PLATFORM_SW_COMPONENTS; i++) {
        if (!memchr(c->sw[i].version, 0, RMM_PLATFORM_VERSION_MAX) ||
            !c->sw[i].version[0]) {
            return rmm_set_err(err, "platform claims: software component "
                               "%zu has no version", i + 1);
        }
    }
    k->claims = *c;
    token = hash_data(RAK_HASH_ALGO, k->rak_pub->data, k->rak_pub->len,
                      rak_hash, err) ?
            build_platform_token(k, rak_hash, sizeof(rak_hash), err) : NULL;
    if (!token) {
        k->claims = old;
        return false;
    }
    g_byte_array_unref(k->plat_token);
    k->plat_token = token;
    return true;
}

GByteArray *rmm_attest_keys_export_cpak_pub(const RmmAttestKeys *k)
{
    GByteArray *b = g_byte_array_sized_new(k->cpak_pub->len);

    g_byte_array_append(b, k->cpak_pub->data, k->cpak_pub->len);
    return b;
}

gnutls_pubkey_t rmm_attest_keys_cpak_pubkey(const RmmAttestKeys *k)
{
    gnutls_pubkey_t pub = NULL;

    if (!k || gnutls_pubkey_init(&pub) < 0) {
        return NULL;
    }
    if (gnutls_pubkey_import_privkey(pub, k->cpak, 0, 0) < 0) {
        gnutls_pubkey_deinit(pub);
        return NULL;
    }
    return pub;
}

GByteArray *rmm_attest_platform_token(const RmmAttestKeys *k,
                                      const uint8_t *challenge, size_t len,
                                      char **err)
{
    if (!k) {
        rmm_set_err(err, "platform token: no keys");
        return NULL;
    }
    if (!challenge || !rmm_attest_challenge_size_ok(len)) {
        rmm_set_err(err, "platform token: challenge of %zu bytes "
                    "(32, 48 or 64 needed)", challenge ? len : 0);
        return NULL;
    }
    return build_platform_token(k, challenge, len, err);
}

/* ---- Size bound ---- */

/* Bounds of encoded items, whatever the shortest head turns out to be. */
#define ITEM_MAX(len)       (RMM_CBOR_HEAD_MAX + (len))
#define CLAIM_KEY_MAX       RMM_CBOR_HEAD_MAX
#define HASH_NAME_MAX       sizeof("sha-512")
/* COSE_Key: map, kty, crv, x, y (keys and values) */
#define COSE_KEY_P384_MAX   (RMM_CBOR_HEAD_MAX * 7 + \
                             2 * ITEM_MAX(P384_COORD_SIZE))
/* Protected header {1: -35} */
#define COSE_PROTECTED_MAX  (RMM_CBOR_HEAD_MAX * 3)

static size_t cose_sign1_max(size_t payload)
{
    return RMM_CBOR_HEAD_MAX                        /* tag 18 */
        + RMM_CBOR_HEAD_MAX                         /* array(4) */
        + ITEM_MAX(COSE_PROTECTED_MAX)              /* protected */
        + RMM_CBOR_HEAD_MAX                         /* unprotected {} */
        + ITEM_MAX(payload)                         /* payload */
        + ITEM_MAX(ES384_SIG_SIZE);                 /* signature */
}

static size_t realm_token_max(size_t hlen)
{
    size_t claims =
        RMM_CBOR_HEAD_MAX                                       /* map */
        + CLAIM_KEY_MAX + ITEM_MAX(RMM_CHALLENGE_SIZE)
        + CLAIM_KEY_MAX + ITEM_MAX(sizeof(CCA_REALM_PROFILE_NAME))
        + CLAIM_KEY_MAX + ITEM_MAX(RMM_RPV_SIZE)
        + CLAIM_KEY_MAX + ITEM_MAX(HASH_NAME_MAX)
        + CLAIM_KEY_MAX + ITEM_MAX(COSE_KEY_P384_MAX)
        + CLAIM_KEY_MAX + ITEM_MAX(hlen)
        + CLAIM_KEY_MAX + RMM_CBOR_HEAD_MAX + RMM_NUM_REMS * ITEM_MAX(hlen)
        + CLAIM_KEY_MAX + ITEM_MAX(HASH_NAME_MAX);

    return cose_sign1_max(claims);
}

size_t rmm_attest_token_max_size(RmiHashAlgo algo)
{
    size_t hlen = rmm_hash_len(algo);

    if (!hlen) {
        hlen = RMM_HASH_MAX;
    }
    return RMM_CBOR_HEAD_MAX                        /* tag 399 */
        + RMM_CBOR_HEAD_MAX                         /* map(2) */
        + CLAIM_KEY_MAX + ITEM_MAX(PLAT_TOKEN_MAX)
        + CLAIM_KEY_MAX + ITEM_MAX(realm_token_max(hlen));
}

/* ---- The token ---- */

static GByteArray *build_realm_token(const RmmAttestKeys *k,
                                     const RmmRealmClaims *c, char **err)
{
    g_autoptr(GByteArray) claims = g_byte_array_new();
    size_t hlen = rmm_hash_len(c->hash_algo);
    unsigned i;

    /* Keys in deterministic order: 10, 265, 44235..44240 */
    rmm_cbor_put_map(claims, 8);

    rmm_cbor_put_uint(claims, CCA_REALM_CHALLENGE);
    rmm_cbor_put_bytes(claims, c->challenge, RMM_CHALLENGE_SIZE);

    rmm_cbor_put_uint(claims, CCA_REALM_PROFILE);
    rmm_cbor_put_text(claims, CCA_REALM_PROFILE_NAME);

    rmm_cbor_put_uint(claims, CCA_REALM_PERSONALIZATION_VALUE);
    rmm_cbor_put_bytes(claims, c->rpv, RMM_RPV_SIZE);

    rmm_cbor_put_uint(claims, CCA_REALM_HASH_ALGO_ID);
    rmm_cbor_put_text(claims, hash_name(c->hash_algo));

    rmm_cbor_put_uint(claims, CCA_REALM_PUB_KEY);
    rmm_cbor_put_bytes(claims, k->rak_pub->data, k->rak_pub->len);

    rmm_cbor_put_uint(claims, CCA_REALM_INITIAL_MEASUREMENT);
    rmm_cbor_put_bytes(claims, c->rim, hlen);

    rmm_cbor_put_uint(claims, CCA_REALM_EXTENSIBLE_MEASUREMENTS);
    rmm_cbor_put_array(claims, RMM_NUM_REMS);
    for (i = 0; i < RMM_NUM_REMS; i++) {
        rmm_cbor_put_bytes(claims, c->rem[i], hlen);
    }

    rmm_cbor_put_uint(claims, CCA_REALM_PUB_KEY_HASH_ALGO_ID);
    rmm_cbor_put_text(claims, hash_name(RAK_HASH_ALGO));

    return cose_sign1(k->rak, claims, "realm token (RAK)", err);
}

GByteArray *rmm_attest_token(const RmmAttestKeys *k, const RmmRealmClaims *c,
                             char **err)
{
    g_autoptr(GByteArray) realm = NULL;
    GByteArray *token;
    size_t max;

    if (!k || !c) {
        rmm_set_err(err, "attestation: no %s", !k ? "keys" : "realm claims");
        return NULL;
    }
    if (!rmm_hash_len(c->hash_algo)) {
        rmm_set_err(err, "attestation: unknown realm hash algorithm %d",
                    (int)c->hash_algo);
        return NULL;
    }

    realm = build_realm_token(k, c, err);
    if (!realm) {
        return NULL;
    }

    /* Collection keys in deterministic order: 44234, 44241 */
    token = g_byte_array_new();
    rmm_cbor_put_tag(token, CCA_TOKEN_TAG);
    rmm_cbor_put_map(token, 2);
    rmm_cbor_put_uint(token, CCA_PLAT_TOKEN);
    rmm_cbor_put_bytes(token, k->plat_token->data, k->plat_token->len);
    rmm_cbor_put_uint(token, CCA_REALM_DELEGATED_TOKEN);
    rmm_cbor_put_bytes(token, realm->data, realm->len);

    max = rmm_attest_token_max_size(c->hash_algo);
    if (token->len > max) {
        rmm_set_err(err, "attestation: token of %u bytes exceeds its bound %zu",
                    token->len, max);
        g_byte_array_unref(token);
        return NULL;
    }
    return token;
}
