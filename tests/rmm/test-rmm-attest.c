/*
 * Unit tests of the emulated RMM's CCA attestation token
 *
 * The token is taken apart with a small strict CBOR decoder of the test's
 * own (it also rejects anything that is not deterministically encoded),
 * every claim is checked against the values the specification asks for,
 * and both COSE_Sign1 signatures are verified with GnuTLS.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "rmm-attest.h"
#include "rmm-cbor.h"

/* Expected values, from DEN0137 1.0 and draft-ffm-rats-cca-token. */
#define TAG_CCA_TOKEN           399
#define TAG_COSE_SIGN1          18
#define KEY_PLAT_TOKEN          44234
#define KEY_REALM_TOKEN         44241

#define REALM_CHALLENGE         10
#define REALM_PROFILE           265
#define REALM_RPV               44235
#define REALM_HASH_ALGO_ID      44236
#define REALM_PUB_KEY           44237
#define REALM_RIM               44238
#define REALM_REMS              44239
#define REALM_PUB_KEY_HASH_ALGO 44240

#define PLAT_CHALLENGE          10
#define PLAT_INSTANCE_ID        256
#define PLAT_PROFILE            265
#define PLAT_LIFECYCLE          2395
#define PLAT_IMPL_ID            2396
#define PLAT_SW_COMPONENTS      2399
#define PLAT_VSI                2400
#define PLAT_CONFIG             2401
#define PLAT_HASH_ALGO_ID       2402

#define REALM_PROFILE_NAME      "tag:arm.com,2023:realm#1.0.0"
#define PLAT_PROFILE_NAME       "tag:arm.com,2023:cca_platform#1.0.0"

#define COSE_ALG_ES384          (-35)
#define P384_SIZE               48

/* ---- A small strict CBOR decoder ---- */

typedef struct CborItem {
    unsigned major;
    uint64_t arg;           /* value, length, count or tag number */
    const uint8_t *str;     /* byte/text string contents */
    const uint8_t *raw;     /* the whole encoded item */
    size_t raw_len;
    GPtrArray *items;       /* array: elements; map: k, v, ...; tag: 1 */
} CborItem;

static void cbor_item_free(gpointer p)
{
    CborItem *it = p;

    if (it) {
        if (it->items) {
            g_ptr_array_unref(it->items);
        }
        g_free(it);
    }
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CborItem, cbor_item_free)

/* Bytewise lexicographic order of two encodings (RFC 8949 4.2.1). */
static int raw_cmp(const CborItem *a, const CborItem *b)
{
    size_t n = MIN(a->raw_len, b->raw_len);
    int c = memcmp(a->raw, b->raw, n);

    if (c) {
        return c;
    }
    return a->raw_len < b->raw_len ? -1 : a->raw_len > b->raw_len;
}

static CborItem *cbor_parse(const uint8_t **pp, const uint8_t *end,
                            int depth)
{
    const uint8_t *p = *pp;
    g_autoptr(CborItem) it = g_new0(CborItem, 1);
    unsigned ai, nbytes, i;
    uint64_t n;

    if (depth > 16 || p >= end) {
        return NULL;
    }
    it->raw = p;
    it->major = *p >> 5;
    ai = *p & 0x1f;
    p++;
    if (ai < 24) {
        it->arg = ai;
        nbytes = 0;
    } else if (ai <= 27) {
        nbytes = 1u << (ai - 24);
    } else {
        return NULL;            /* indefinite length or reserved */
    }
    if ((size_t)(end - p) < nbytes) {
        return NULL;
    }
    for (i = 0; i < nbytes; i++) {
        it->arg = (it->arg << 8) | *p++;
    }
    /* Deterministic encoding: the shortest head only */
    if (rmm_cbor_head_size(it->arg) != 1 + nbytes) {
        return NULL;
    }

    switch (it->major) {
    case 0:
    case 1:
        break;
    case 2:
    case 3:
        if ((uint64_t)(end - p) < it->arg) {
            return NULL;
        }
        it->str = p;
        p += it->arg;
        break;
    case 4:
    case 5:
    case 6:
        n = it->major == 4 ? it->arg : it->major == 5 ? 2 * it->arg : 1;
        if (n > (uint64_t)(end - p)) {
            return NULL;        /* each item takes a byte at least */
        }
        it->items = g_ptr_array_new_with_free_func(cbor_item_free);
        for (i = 0; i < n; i++) {
            CborItem *sub = cbor_parse(&p, end, depth + 1);

            if (!sub) {
                return NULL;
            }
            g_ptr_array_add(it->items, sub);
            /* Map keys strictly ascending in bytewise order */
            if (it->major == 5 && i >= 2 && i % 2 == 0 &&
                raw_cmp(it->items->pdata[i - 2], sub) >= 0) {
                return NULL;
            }
        }
        break;
    default:
        return NULL;            /* no simple values or floats in tokens */
    }
    it->raw_len = p - it->raw;
    *pp = p;
    return g_steal_pointer(&it);
}

/* Decode exactly one item filling @buf, or NULL. */
static CborItem *cbor_decode(const uint8_t *buf, size_t len)
{
    const uint8_t *p = buf;
    CborItem *it = cbor_parse(&p, buf + len, 0);

    if (it && p != buf + len) {
        cbor_item_free(it);
        return NULL;
    }
    return it;
}

static CborItem *cbor_decode_str(const CborItem *bstr)
{
    g_assert_cmpuint(bstr->major, ==, 2);
    return cbor_decode(bstr->str, bstr->arg);
}

static unsigned map_size(const CborItem *map)
{
    g_assert_cmpuint(map->major, ==, 5);
    return map->items->len / 2;
}

static const CborItem *map_get(const CborItem *map, int64_t key)
{
    unsigned i;

    g_assert_cmpuint(map->major, ==, 5);
    for (i = 0; i < map->items->len; i += 2) {
        const CborItem *k = map->items->pdata[i];

        if ((key >= 0 && k->major == 0 && k->arg == (uint64_t)key) ||
            (key < 0 && k->major == 1 && k->arg == (uint64_t)(-1 - key))) {
            return map->items->pdata[i + 1];
        }
    }
    return NULL;
}

static const CborItem *get_bytes(const CborItem *map, int64_t key,
                                 size_t len)
{
    const CborItem *v = map_get(map, key);

    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 2);
    g_assert_cmpuint(v->arg, ==, len);
    return v;
}

static const CborItem *get_bstr(const CborItem *map, int64_t key)
{
    const CborItem *v = map_get(map, key);

    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 2);
    return v;
}

static void check_text(const CborItem *map, int64_t key, const char *s)
{
    const CborItem *v = map_get(map, key);

    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 3);
    g_assert_cmpuint(v->arg, ==, strlen(s));
    g_assert_true(memcmp(v->str, s, v->arg) == 0);
}

static int64_t get_int(const CborItem *it)
{
    g_assert_true(it->major == 0 || it->major == 1);
    g_assert_cmpuint(it->arg, <=, INT64_MAX);
    return it->major == 0 ? (int64_t)it->arg : -1 - (int64_t)it->arg;
}

/* ---- COSE ---- */

/* The test's own CBOR head writer, for the Sig_structure. */
static void put_head(GByteArray *b, unsigned major, uint64_t arg)
{
    uint8_t h[9];
    unsigned n = arg < 24 ? 0 : arg <= 0xff ? 1 : arg <= 0xffff ? 2 :
                 arg <= 0xffffffffu ? 4 : 8;
    unsigned i;

    h[0] = (major << 5) | (n == 0 ? arg : n == 1 ? 24 : n == 2 ? 25 :
                           n == 4 ? 26 : 27);
    for (i = 0; i < n; i++) {
        h[1 + i] = arg >> (8 * (n - 1 - i));
    }
    g_byte_array_append(b, h, 1 + n);
}

/* Check the COSE_Sign1_Tagged structure in @bstr and decode it. */
static CborItem *decode_sign1(const CborItem *bstr)
{
    CborItem *tag = cbor_decode_str(bstr);
    const CborItem *arr, *prot, *unprot, *payload, *sig;
    g_autoptr(CborItem) hdr = NULL;

    g_assert_nonnull(tag);
    g_assert_cmpuint(tag->major, ==, 6);
    g_assert_cmpuint(tag->arg, ==, TAG_COSE_SIGN1);
    arr = tag->items->pdata[0];
    g_assert_cmpuint(arr->major, ==, 4);
    g_assert_cmpuint(arr->arg, ==, 4);
    prot = arr->items->pdata[0];
    unprot = arr->items->pdata[1];
    payload = arr->items->pdata[2];
    sig = arr->items->pdata[3];

    /* protected: bstr .cbor { 1: -35 } */
    hdr = cbor_decode_str(prot);
    g_assert_nonnull(hdr);
    g_assert_cmpuint(map_size(hdr), ==, 1);
    g_assert_nonnull(map_get(hdr, 1));
    g_assert_cmpint(get_int(map_get(hdr, 1)), ==, COSE_ALG_ES384);
    g_assert_cmpuint(map_size(unprot), ==, 0);
    g_assert_cmpuint(payload->major, ==, 2);
    g_assert_cmpuint(sig->major, ==, 2);
    g_assert_cmpuint(sig->arg, ==, 2 * P384_SIZE);
    return tag;
}

static const CborItem *sign1_part(const CborItem *sign1, unsigned i)
{
    const CborItem *arr = sign1->items->pdata[0];

    return arr->items->pdata[i];
}

static CborItem *sign1_claims(const CborItem *sign1)
{
    CborItem *claims = cbor_decode_str(sign1_part(sign1, 2));

    g_assert_nonnull(claims);
    g_assert_cmpuint(claims->major, ==, 5);
    return claims;
}

static void strip_zeros(gnutls_datum_t *d)
{
    while (d->size > 1 && d->data[0] == 0) {
        d->data++;
        d->size--;
    }
}

/* Verify a decoded COSE_Sign1 with @pub: true if the signature holds. */
static bool verify_sign1(const CborItem *sign1, gnutls_pubkey_t pub)
{
    const CborItem *prot = sign1_part(sign1, 0);
    const CborItem *payload = sign1_part(sign1, 2);
    const CborItem *sig = sign1_part(sign1, 3);
    g_autoptr(GByteArray) tbs = g_byte_array_new();
    gnutls_datum_t r = { (uint8_t *)sig->str, P384_SIZE };
    gnutls_datum_t s = { (uint8_t *)sig->str + P384_SIZE, P384_SIZE };
    gnutls_datum_t der = { NULL, 0 };
    gnutls_datum_t data;
    int ret;

    /* Sig_structure = ["Signature1", protected, h'', payload] */
    put_head(tbs, 4, 4);
    put_head(tbs, 3, strlen("Signature1"));
    g_byte_array_append(tbs, (const guint8 *)"Signature1",
                        strlen("Signature1"));
    put_head(tbs, 2, prot->arg);
    g_byte_array_append(tbs, prot->str, prot->arg);
    put_head(tbs, 2, 0);
    put_head(tbs, 2, payload->arg);
    g_byte_array_append(tbs, payload->str, payload->arg);

    strip_zeros(&r);
    strip_zeros(&s);
    g_assert_cmpint(gnutls_encode_rs_value(&der, &r, &s), ==, 0);
    data.data = tbs->data;
    data.size = tbs->len;
    ret = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA384, 0,
                                     &data, &der);
    gnutls_free(der.data);
    if (ret < 0) {
        g_assert_cmpint(ret, ==, GNUTLS_E_PK_SIG_VERIFY_FAILED);
        return false;
    }
    return true;
}

/*
 * Import a COSE_Key (EC2, P-384: {1: 2, -1: 2, -2: x, -3: y}); the SEC1
 * uncompressed point goes to @sec1 if not NULL.
 */
static gnutls_pubkey_t import_cose_key(const uint8_t *buf, size_t len,
                                       uint8_t sec1[1 + 2 * P384_SIZE])
{
    g_autoptr(CborItem) key = cbor_decode(buf, len);
    const CborItem *x, *y;
    gnutls_pubkey_t pub;
    gnutls_datum_t dx, dy;

    g_assert_nonnull(key);
    g_assert_cmpuint(map_size(key), ==, 4);
    g_assert_cmpint(get_int(map_get(key, 1)), ==, 2);     /* kty: EC2 */
    g_assert_cmpint(get_int(map_get(key, -1)), ==, 2);    /* crv: P-384 */
    x = get_bytes(key, -2, P384_SIZE);
    y = get_bytes(key, -3, P384_SIZE);
    if (sec1) {
        sec1[0] = 0x04;
        memcpy(sec1 + 1, x->str, P384_SIZE);
        memcpy(sec1 + 1 + P384_SIZE, y->str, P384_SIZE);
    }

    dx.data = (uint8_t *)x->str;
    dx.size = P384_SIZE;
    dy.data = (uint8_t *)y->str;
    dy.size = P384_SIZE;
    g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
    g_assert_cmpint(gnutls_pubkey_import_ecc_raw(pub,
                                                 GNUTLS_ECC_CURVE_SECP384R1,
                                                 &dx, &dy), ==, 0);
    return pub;
}

/* ---- The token, taken apart ---- */

typedef struct Token {
    CborItem *root;             /* tag 399 */
    CborItem *plat;             /* COSE_Sign1_Tagged */
    CborItem *realm;
    CborItem *plat_claims;
    CborItem *realm_claims;
} Token;

static void token_parse(Token *t, const GByteArray *b)
{
    const CborItem *map;

    t->root = cbor_decode(b->data, b->len);
    g_assert_nonnull(t->root);
    g_assert_cmpuint(t->root->major, ==, 6);
    g_assert_cmpuint(t->root->arg, ==, TAG_CCA_TOKEN);
    map = t->root->items->pdata[0];
    g_assert_cmpuint(map_size(map), ==, 2);
    t->plat = decode_sign1(get_bstr(map, KEY_PLAT_TOKEN));
    t->realm = decode_sign1(get_bstr(map, KEY_REALM_TOKEN));
    t->plat_claims = sign1_claims(t->plat);
    t->realm_claims = sign1_claims(t->realm);
}

static void token_clear(Token *t)
{
    cbor_item_free(t->root);
    cbor_item_free(t->plat);
    cbor_item_free(t->realm);
    cbor_item_free(t->plat_claims);
    cbor_item_free(t->realm_claims);
    memset(t, 0, sizeof(*t));
}

static gnutls_pubkey_t token_rak(const Token *t)
{
    const CborItem *v = map_get(t->realm_claims, REALM_PUB_KEY);

    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 2);
    return import_cose_key(v->str, v->arg, NULL);
}

static gnutls_pubkey_t keys_cpak(const RmmAttestKeys *k,
                                 uint8_t sec1[1 + 2 * P384_SIZE])
{
    g_autoptr(GByteArray) b = rmm_attest_keys_export_cpak_pub(k);

    g_assert_nonnull(b);
    return import_cose_key(b->data, b->len, sec1);
}

static void fill_claims(RmmRealmClaims *c, RmiHashAlgo algo)
{
    unsigned i, j;

    memset(c, 0, sizeof(*c));
    c->hash_algo = algo;
    for (i = 0; i < RMM_CHALLENGE_SIZE; i++) {
        c->challenge[i] = i + 1;
    }
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        c->rpv[i] = 0xa0 ^ i;
    }
    for (i = 0; i < RMM_HASH_MAX; i++) {
        c->rim[i] = 0x40 + i;
        for (j = 0; j < RMM_NUM_REMS; j++) {
            c->rem[j][i] = ((j + 1) << 6) ^ i;
        }
    }
}

static GByteArray *make_token(const RmmAttestKeys *k, const RmmRealmClaims *c)
{
    char *err = NULL;
    GByteArray *b = rmm_attest_token(k, c, &err);

    g_assert_null(err);
    g_assert_nonnull(b);
    return b;
}

static void check_realm_claims(const CborItem *m, const RmmRealmClaims *c)
{
    size_t hlen = c->hash_algo == RMI_HASH_SHA512 ? 64 : 32;
    const CborItem *v, *rems;
    unsigned i;

    g_assert_cmpuint(map_size(m), ==, 8);

    v = get_bytes(m, REALM_CHALLENGE, RMM_CHALLENGE_SIZE);
    g_assert_true(memcmp(v->str, c->challenge, RMM_CHALLENGE_SIZE) == 0);

    check_text(m, REALM_PROFILE, REALM_PROFILE_NAME);

    v = get_bytes(m, REALM_RPV, RMM_RPV_SIZE);
    g_assert_true(memcmp(v->str, c->rpv, RMM_RPV_SIZE) == 0);

    check_text(m, REALM_HASH_ALGO_ID,
               c->hash_algo == RMI_HASH_SHA512 ? "sha-512" : "sha-256");

    /* The RAK, a COSE_Key in a bstr: checked by import_cose_key() */
    v = map_get(m, REALM_PUB_KEY);
    g_assert_nonnull(v);
    gnutls_pubkey_deinit(import_cose_key(v->str, v->arg, NULL));

    v = get_bytes(m, REALM_RIM, hlen);
    g_assert_true(memcmp(v->str, c->rim, hlen) == 0);

    rems = map_get(m, REALM_REMS);
    g_assert_nonnull(rems);
    g_assert_cmpuint(rems->major, ==, 4);
    g_assert_cmpuint(rems->arg, ==, RMM_NUM_REMS);
    for (i = 0; i < RMM_NUM_REMS; i++) {
        v = rems->items->pdata[i];
        g_assert_cmpuint(v->major, ==, 2);
        g_assert_cmpuint(v->arg, ==, hlen);
        g_assert_true(memcmp(v->str, c->rem[i], hlen) == 0);
    }

    check_text(m, REALM_PUB_KEY_HASH_ALGO, "sha-256");
}

static void check_plat_claims(const CborItem *m, const CborItem *realm,
                              const uint8_t cpak_sec1[1 + 2 * P384_SIZE])
{
    const CborItem *v, *rak, *comps;
    uint8_t digest[32];
    unsigned i;

    g_assert_cmpuint(map_size(m), ==, 9);

    check_text(m, PLAT_PROFILE, PLAT_PROFILE_NAME);

    /* Challenge: SHA-256 (the RAK hash algorithm) of the RAK claim bytes */
    rak = map_get(realm, REALM_PUB_KEY);
    g_assert_cmpint(gnutls_hash_fast(GNUTLS_DIG_SHA256, rak->str, rak->arg,
                                     digest), ==, 0);
    v = get_bytes(m, PLAT_CHALLENGE, sizeof(digest));
    g_assert_true(memcmp(v->str, digest, sizeof(digest)) == 0);

    get_bytes(m, PLAT_IMPL_ID, 32);

    /* Instance ID: UEID (type RAND) of the hash of the CPAK */
    g_assert_cmpint(gnutls_hash_fast(GNUTLS_DIG_SHA256, cpak_sec1,
                                     1 + 2 * P384_SIZE, digest), ==, 0);
    v = get_bytes(m, PLAT_INSTANCE_ID, 33);
    g_assert_cmpuint(v->str[0], ==, 0x01);
    g_assert_true(memcmp(v->str + 1, digest, sizeof(digest)) == 0);

    v = map_get(m, PLAT_CONFIG);
    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 2);
    g_assert_cmpuint(v->arg, >, 0);

    /* Lifecycle: CCA platform secured */
    v = map_get(m, PLAT_LIFECYCLE);
    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 0);
    g_assert_cmpuint(v->arg, >=, 0x3000);
    g_assert_cmpuint(v->arg, <=, 0x30ff);

    comps = map_get(m, PLAT_SW_COMPONENTS);
    g_assert_nonnull(comps);
    g_assert_cmpuint(comps->major, ==, 4);
    g_assert_cmpuint(comps->arg, >, 0);
    for (i = 0; i < comps->arg; i++) {
        const CborItem *sc = comps->items->pdata[i];

        g_assert_cmpuint(sc->major, ==, 5);
        v = map_get(sc, 1);                     /* measurement type */
        g_assert_nonnull(v);
        g_assert_cmpuint(v->major, ==, 3);
        get_bytes(sc, 2, 32);                   /* measurement value */
        v = map_get(sc, 4);                     /* version */
        g_assert_nonnull(v);
        g_assert_cmpuint(v->major, ==, 3);
        get_bytes(sc, 5, 32);                   /* signer ID */
        check_text(sc, 6, "sha-256");           /* measurement desc */
    }

    v = map_get(m, PLAT_VSI);
    g_assert_nonnull(v);
    g_assert_cmpuint(v->major, ==, 3);
    g_assert_cmpuint(v->arg, >, 0);

    check_text(m, PLAT_HASH_ALGO_ID, "sha-256");
}

/* ---- Tests ---- */

static void check_enc(GByteArray *b, const char *hex)
{
    g_autofree char *got = g_malloc(2 * b->len + 1);
    guint i;

    for (i = 0; i < b->len; i++) {
        snprintf(got + 2 * i, 3, "%02x", b->data[i]);
    }
    got[2 * b->len] = 0;
    g_assert_cmpstr(got, ==, hex);
    g_byte_array_set_size(b, 0);
}

/* Examples of RFC 8949 appendix A. */
static void test_cbor_encoding(void)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    static const uint8_t four[] = { 1, 2, 3, 4 };

    rmm_cbor_put_uint(b, 0);
    check_enc(b, "00");
    rmm_cbor_put_uint(b, 23);
    check_enc(b, "17");
    rmm_cbor_put_uint(b, 24);
    check_enc(b, "1818");
    rmm_cbor_put_uint(b, 100);
    check_enc(b, "1864");
    rmm_cbor_put_uint(b, 1000);
    check_enc(b, "1903e8");
    rmm_cbor_put_uint(b, 1000000);
    check_enc(b, "1a000f4240");
    rmm_cbor_put_uint(b, 1000000000000ULL);
    check_enc(b, "1b000000e8d4a51000");
    rmm_cbor_put_uint(b, UINT64_MAX);
    check_enc(b, "1bffffffffffffffff");
    rmm_cbor_put_int(b, 10);
    check_enc(b, "0a");
    rmm_cbor_put_int(b, -1);
    check_enc(b, "20");
    rmm_cbor_put_int(b, -10);
    check_enc(b, "29");
    rmm_cbor_put_int(b, -100);
    check_enc(b, "3863");
    rmm_cbor_put_int(b, -1000);
    check_enc(b, "3903e7");
    rmm_cbor_put_int(b, -35);
    check_enc(b, "3822");
    rmm_cbor_put_int(b, INT64_MIN);
    check_enc(b, "3b7fffffffffffffff");
    rmm_cbor_put_bytes(b, NULL, 0);
    check_enc(b, "40");
    rmm_cbor_put_bytes(b, four, sizeof(four));
    check_enc(b, "4401020304");
    rmm_cbor_put_text(b, "");
    check_enc(b, "60");
    rmm_cbor_put_text(b, "a");
    check_enc(b, "6161");
    rmm_cbor_put_text(b, "IETF");
    check_enc(b, "6449455446");
    rmm_cbor_put_array(b, 0);
    check_enc(b, "80");
    rmm_cbor_put_array(b, 3);
    rmm_cbor_put_uint(b, 1);
    rmm_cbor_put_uint(b, 2);
    rmm_cbor_put_uint(b, 3);
    check_enc(b, "83010203");
    rmm_cbor_put_map(b, 0);
    check_enc(b, "a0");
    rmm_cbor_put_map(b, 2);
    rmm_cbor_put_uint(b, 1);
    rmm_cbor_put_uint(b, 2);
    rmm_cbor_put_uint(b, 3);
    rmm_cbor_put_uint(b, 4);
    check_enc(b, "a201020304");
    rmm_cbor_put_tag(b, 1);
    rmm_cbor_put_uint(b, 1363896240);
    check_enc(b, "c11a514b67b0");
    rmm_cbor_put_tag(b, 18);
    check_enc(b, "d2");
    rmm_cbor_put_tag(b, 399);
    check_enc(b, "d9018f");

    /* Head size boundaries */
    g_assert_cmpuint(rmm_cbor_head_size(23), ==, 1);
    g_assert_cmpuint(rmm_cbor_head_size(24), ==, 2);
    g_assert_cmpuint(rmm_cbor_head_size(255), ==, 2);
    g_assert_cmpuint(rmm_cbor_head_size(256), ==, 3);
    g_assert_cmpuint(rmm_cbor_head_size(65535), ==, 3);
    g_assert_cmpuint(rmm_cbor_head_size(65536), ==, 5);
    g_assert_cmpuint(rmm_cbor_head_size(0xffffffffULL), ==, 5);
    g_assert_cmpuint(rmm_cbor_head_size(0x100000000ULL), ==, 9);
}

/* The test decoder itself rejects what is not deterministic. */
static void test_cbor_decoder_strict(void)
{
    static const uint8_t ok[] = { 0xa2, 0x01, 0x02, 0x20, 0x03 };
    static const uint8_t long_head[] = { 0x18, 0x05 };
    static const uint8_t unsorted[] = { 0xa2, 0x20, 0x03, 0x01, 0x02 };
    static const uint8_t indefinite[] = { 0x9f, 0x01, 0xff };
    static const uint8_t trailing[] = { 0x01, 0x02 };
    static const uint8_t truncated[] = { 0x44, 0x01, 0x02 };
    CborItem *it;

    it = cbor_decode(ok, sizeof(ok));
    g_assert_nonnull(it);
    g_assert_cmpint(get_int(map_get(it, -1)), ==, 3);
    cbor_item_free(it);
    g_assert_null(cbor_decode(long_head, sizeof(long_head)));
    g_assert_null(cbor_decode(unsorted, sizeof(unsorted)));
    g_assert_null(cbor_decode(indefinite, sizeof(indefinite)));
    g_assert_null(cbor_decode(trailing, sizeof(trailing)));
    g_assert_null(cbor_decode(truncated, sizeof(truncated)));
}

static void check_token(RmiHashAlgo algo)
{
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    g_autoptr(GByteArray) b = NULL;
    uint8_t cpak_sec1[1 + 2 * P384_SIZE];
    gnutls_pubkey_t rak, cpak;
    RmmRealmClaims c;
    Token t = { 0 };

    g_assert_null(err);
    g_assert_nonnull(k);
    fill_claims(&c, algo);
    b = make_token(k, &c);

    /* Starts with tag 399 and a map of two entries */
    g_assert_cmpuint(b->len, >, 4);
    g_assert_cmpuint(b->data[0], ==, 0xd9);
    g_assert_cmpuint(b->data[1], ==, 0x01);
    g_assert_cmpuint(b->data[2], ==, 0x8f);
    g_assert_cmpuint(b->data[3], ==, 0xa2);

    token_parse(&t, b);
    check_realm_claims(t.realm_claims, &c);
    cpak = keys_cpak(k, cpak_sec1);
    check_plat_claims(t.plat_claims, t.realm_claims, cpak_sec1);

    /* Signatures: realm by the RAK it carries, platform by the CPAK */
    rak = token_rak(&t);
    g_assert_true(verify_sign1(t.realm, rak));
    g_assert_true(verify_sign1(t.plat, cpak));
    /* ...and not the other way round */
    g_assert_false(verify_sign1(t.realm, cpak));
    g_assert_false(verify_sign1(t.plat, rak));

    g_assert_cmpuint(b->len, <=, rmm_attest_token_max_size(algo));

    gnutls_pubkey_deinit(rak);
    gnutls_pubkey_deinit(cpak);
    token_clear(&t);
    rmm_attest_keys_free(k);
}

static void test_token_sha256(void)
{
    check_token(RMI_HASH_SHA256);
}

static void test_token_sha512(void)
{
    check_token(RMI_HASH_SHA512);
}

#define NO_TAMPER SIZE_MAX

/*
 * Flip one bit at @off (unless NO_TAMPER) of a copy of @orig, which must
 * still decode, and check which signatures still verify.
 */
static void tamper_check(const RmmAttestKeys *k, const GByteArray *orig,
                         size_t off, bool realm_ok, bool plat_ok)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    gnutls_pubkey_t rak, cpak;
    Token t = { 0 };

    g_byte_array_append(b, orig->data, orig->len);
    if (off != NO_TAMPER) {
        g_assert_cmpuint(off, <, orig->len);
        b->data[off] ^= 0x01;
    }

    token_parse(&t, b);
    rak = token_rak(&t);
    cpak = keys_cpak(k, NULL);
    g_assert_cmpint(verify_sign1(t.realm, rak), ==, realm_ok);
    g_assert_cmpint(verify_sign1(t.plat, cpak), ==, plat_ok);
    gnutls_pubkey_deinit(rak);
    gnutls_pubkey_deinit(cpak);
    token_clear(&t);
}

/* Offset of the first occurrence of @needle in @b. */
static size_t find(const GByteArray *b, const void *needle, size_t len)
{
    size_t i;

    for (i = 0; i + len <= b->len; i++) {
        if (memcmp(b->data + i, needle, len) == 0) {
            return i;
        }
    }
    g_assert_not_reached();
}

static void test_tamper(void)
{
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    g_autoptr(GByteArray) b = NULL;
    RmmRealmClaims c;
    Token t = { 0 };
    const CborItem *vsi, *psig;
    size_t plat_off;

    g_assert_nonnull(k);
    fill_claims(&c, RMI_HASH_SHA256);
    b = make_token(k, &c);

    /* Untouched: both verify */
    tamper_check(k, b, NO_TAMPER, true, true);

    /* A byte of the realm challenge */
    tamper_check(k, b, find(b, c.challenge, RMM_CHALLENGE_SIZE) + 17,
                 false, true);
    /* A byte of a REM */
    tamper_check(k, b, find(b, c.rem[2], 32) + 31, false, true);
    /* The last byte of the realm signature (the token's last byte) */
    tamper_check(k, b, b->len - 1, false, true);

    /* A byte of the platform's verification service claim */
    token_parse(&t, b);
    vsi = map_get(t.plat_claims, PLAT_VSI);
    g_assert_nonnull(vsi);
    plat_off = find(b, vsi->str, vsi->arg);
    tamper_check(k, b, plat_off + 3, true, false);
    /* The first byte of the platform signature */
    psig = sign1_part(t.plat, 3);
    tamper_check(k, b, find(b, psig->str, psig->arg), true, false);
    token_clear(&t);

    rmm_attest_keys_free(k);
}

static void test_fresh_keys(void)
{
    char *err = NULL;
    RmmAttestKeys *k1 = rmm_attest_keys_new(&err);
    RmmAttestKeys *k2 = rmm_attest_keys_new(&err);
    g_autoptr(GByteArray) c1 = NULL;
    g_autoptr(GByteArray) c2 = NULL;
    g_autoptr(GByteArray) b1 = NULL;
    g_autoptr(GByteArray) b2 = NULL;
    g_autoptr(GByteArray) b3 = NULL;
    gnutls_pubkey_t rak1;
    RmmRealmClaims c;
    Token t1 = { 0 }, t2 = { 0 }, t3 = { 0 };
    const CborItem *r1, *r2;

    g_assert_null(err);
    g_assert_nonnull(k1);
    g_assert_nonnull(k2);

    /* Different CPAKs */
    c1 = rmm_attest_keys_export_cpak_pub(k1);
    c2 = rmm_attest_keys_export_cpak_pub(k2);
    g_assert_true(c1->len != c2->len ||
                  memcmp(c1->data, c2->data, c1->len) != 0);

    fill_claims(&c, RMI_HASH_SHA256);
    b1 = make_token(k1, &c);
    b2 = make_token(k2, &c);
    b3 = make_token(k1, &c);
    token_parse(&t1, b1);
    token_parse(&t2, b2);
    token_parse(&t3, b3);

    /* Different RAKs */
    r1 = map_get(t1.realm_claims, REALM_PUB_KEY);
    r2 = map_get(t2.realm_claims, REALM_PUB_KEY);
    g_assert_true(r1->arg != r2->arg ||
                  memcmp(r1->str, r2->str, r1->arg) != 0);

    /* Same keys: same platform token, and the RAK verifies both tokens */
    g_assert_cmpuint(t1.plat->raw_len, ==, t3.plat->raw_len);
    g_assert_true(memcmp(t1.plat->raw, t3.plat->raw,
                         t1.plat->raw_len) == 0);
    rak1 = token_rak(&t1);
    g_assert_true(verify_sign1(t3.realm, rak1));
    g_assert_false(verify_sign1(t2.realm, rak1));
    gnutls_pubkey_deinit(rak1);

    token_clear(&t1);
    token_clear(&t2);
    token_clear(&t3);
    rmm_attest_keys_free(k1);
    rmm_attest_keys_free(k2);
}

static void test_max_size(void)
{
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    size_t max256 = rmm_attest_token_max_size(RMI_HASH_SHA256);
    size_t max512 = rmm_attest_token_max_size(RMI_HASH_SHA512);
    RmmRealmClaims c;
    int i;

    g_assert_nonnull(k);
    g_assert_cmpuint(max256, >, 0);
    g_assert_cmpuint(max512, >=, max256);
    g_assert_cmpuint(rmm_attest_token_max_size((RmiHashAlgo)7), >, 0);

    /* Signatures are randomised: try a few */
    for (i = 0; i < 8; i++) {
        g_autoptr(GByteArray) b256 = NULL;
        g_autoptr(GByteArray) b512 = NULL;

        fill_claims(&c, RMI_HASH_SHA256);
        b256 = make_token(k, &c);
        fill_claims(&c, RMI_HASH_SHA512);
        b512 = make_token(k, &c);
        g_assert_cmpuint(b256->len, <=, max256);
        g_assert_cmpuint(b512->len, <=, max512);
        g_assert_cmpuint(b512->len, >, b256->len);
        if (g_test_verbose() && i == 0) {
            g_test_message("sizes: sha-256 %u (max %zu), "
                           "sha-512 %u (max %zu)",
                           b256->len, max256, b512->len, max512);
        }
    }
    rmm_attest_keys_free(k);
}

static void test_bad_input(void)
{
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    RmmRealmClaims c;

    g_assert_nonnull(k);
    fill_claims(&c, RMI_HASH_SHA256);
    c.hash_algo = (RmiHashAlgo)5;
    g_assert_null(rmm_attest_token(k, &c, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err, "hash algorithm"));
    g_clear_pointer(&err, g_free);

    g_assert_null(rmm_attest_token(NULL, &c, &err));
    g_assert_nonnull(err);
    g_clear_pointer(&err, g_free);

    /* A NULL err is allowed */
    g_assert_null(rmm_attest_token(k, &c, NULL));

    rmm_attest_keys_free(k);
    rmm_attest_keys_free(NULL);
}

/* ---- The CBOR reader ---- */

/* @hex decoded (pairs of hex digits, spaces ignored). */
static GByteArray *from_hex(const char *hex)
{
    GByteArray *b = g_byte_array_new();

    while (*hex) {
        uint8_t v;

        if (*hex == ' ') {
            hex++;
            continue;
        }
        g_assert_true(g_ascii_isxdigit(hex[0]) && g_ascii_isxdigit(hex[1]));
        v = g_ascii_xdigit_value(hex[0]) << 4 | g_ascii_xdigit_value(hex[1]);
        g_byte_array_append(b, &v, 1);
        hex += 2;
    }
    return b;
}

/* True if @hex is exactly one item that rmm_cbor_skip() takes. */
static bool reader_skips(const char *hex)
{
    g_autoptr(GByteArray) b = from_hex(hex);
    RmmCborReader r;
    bool ok;

    rmm_cbor_reader_init(&r, b->data, b->len);
    ok = rmm_cbor_skip(&r);
    if (!ok) {
        g_assert_cmpuint(r.pos, ==, 0);     /* left where it was */
    }
    return ok && rmm_cbor_at_end(&r);
}

/* True if rmm_cbor_get_head() takes the head at the start of @hex. */
static bool reader_head(const char *hex)
{
    g_autoptr(GByteArray) b = from_hex(hex);
    RmmCborReader r;
    RmmCborMajor major;
    uint64_t arg;
    bool ok;

    rmm_cbor_reader_init(&r, b->data, b->len);
    ok = rmm_cbor_get_head(&r, &major, &arg);
    if (!ok) {
        g_assert_cmpuint(r.pos, ==, 0);
    }
    return ok;
}

static void test_cbor_reader(void)
{
    /* {1: h'0102', -2: "ab", 3: [1, {}], 4: 1(5), 5: true, 6: 1.5f} */
    g_autoptr(GByteArray) b =
        from_hex("a6 01 420102 21 626162 03 8201a0 04 c105 05 f5"
                 " 06 fa3fc00000");
    RmmCborReader r;
    RmmCborMajor major;
    uint64_t arg;
    const uint8_t *data;
    size_t len;

    rmm_cbor_reader_init(&r, b->data, b->len);
    g_assert_true(rmm_cbor_get_head(&r, &major, &arg));
    g_assert_cmpint(major, ==, RMM_CBOR_MAP);
    g_assert_cmpuint(arg, ==, 6);
    /* Not a byte string: fails and stays */
    g_assert_false(rmm_cbor_get_bytes(&r, &data, &len));
    g_assert_cmpuint(r.pos, ==, 1);
    g_assert_true(rmm_cbor_get_head(&r, &major, &arg));
    g_assert_cmpint(major, ==, RMM_CBOR_UINT);
    g_assert_cmpuint(arg, ==, 1);
    g_assert_true(rmm_cbor_get_bytes(&r, &data, &len));
    g_assert_cmpuint(len, ==, 2);
    g_assert_true(data == b->data + 3);
    g_assert_cmpuint(data[1], ==, 0x02);
    g_assert_true(rmm_cbor_get_head(&r, &major, &arg));
    g_assert_cmpint(major, ==, RMM_CBOR_NINT);
    g_assert_cmpuint(arg, ==, 1);
    g_assert_false(rmm_cbor_get_bytes(&r, &data, &len));  /* text */
    g_assert_cmpuint(r.pos, ==, 6);
    g_assert_true(rmm_cbor_skip(&r));
    g_assert_cmpuint(r.pos, ==, 9);
    while (!rmm_cbor_at_end(&r)) {
        g_assert_true(rmm_cbor_skip(&r));
    }
    g_assert_cmpuint(r.pos, ==, b->len);
    g_assert_false(rmm_cbor_skip(&r));
    g_assert_false(rmm_cbor_get_head(&r, &major, &arg));

    r.pos = 0;
    g_assert_true(rmm_cbor_skip(&r));
    g_assert_true(rmm_cbor_at_end(&r));

    /* Nothing to read */
    rmm_cbor_reader_init(&r, NULL, 5);
    g_assert_true(rmm_cbor_at_end(&r));
    g_assert_false(rmm_cbor_get_head(&r, &major, &arg));
    g_assert_false(rmm_cbor_skip(&r));

    /* Well-formed, if not the shortest form */
    g_assert_true(reader_skips("1b0000000000000001"));
    g_assert_true(reader_skips("5800"));
    g_assert_true(reader_skips("f820"));
    g_assert_true(reader_skips("fb3ff8000000000000"));
}

static void test_cbor_reader_reject(void)
{
    static const char *const bad[] = {
        "",
        /* Indefinite lengths and "break" */
        "5f 41 00 ff", "7f 61 61 ff", "9f 01 ff", "bf 01 02 ff", "ff",
        "82 9f ff 01",
        /* Reserved additional information */
        "1c", "1d", "1e", "3c", "5d", "7e", "9c", "bd", "de", "fc", "fd",
        "fe",
        /* Truncated heads */
        "18", "19 01", "1a 010203", "1b 01020304050607", "38",
        /* Truncated contents */
        "41", "44 010203", "63 6161", "82 01", "a1 01", "a2 01 02 03",
        "c1", "d9018f",
        /* Huge lengths and counts */
        "5b ffffffffffffffff 00", "5b 8000000000000000 00",
        "7a ffffffff 616161", "5a 00010000 00000000",
        "9b ffffffffffffffff 00 00 00", "bb 7fffffffffffffff 00 00",
        "9a ffffffff 80 80 80",
        /* Simple values 0..31 in two bytes are not well-formed */
        "f8 00", "f8 1f",
    };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(reader_skips(bad[i]));
    }
    for (i = 28; i <= 31; i++) {
        unsigned major;

        for (major = 0; major < 8; major++) {
            g_autofree char *hex = g_strdup_printf("%02x00", major << 5 | i);

            g_assert_false(reader_head(hex));
        }
    }
    g_assert_true(reader_head("44 01020304"));
    g_assert_false(reader_head("44 010203"));
    g_assert_false(reader_head("5b ffffffffffffffff"));
}

/* @n nested arrays (or tags) around 0, as hex. */
static char *nested(const char *wrap, unsigned n)
{
    GString *s = g_string_new(NULL);
    unsigned i;

    for (i = 0; i < n; i++) {
        g_string_append(s, wrap);
    }
    g_string_append(s, "00");
    return g_string_free(s, false);
}

static void test_cbor_reader_depth(void)
{
    static const char *const wraps[] = { "81", "a100", "c1", "d818" };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(wraps); i++) {
        g_autofree char *ok = nested(wraps[i], RMM_CBOR_MAX_DEPTH);
        g_autofree char *deep = nested(wraps[i], RMM_CBOR_MAX_DEPTH + 1);
        g_autofree char *deeper = nested(wraps[i], 100000);

        g_assert_true(reader_skips(ok));
        g_assert_false(reader_skips(deep));
        g_assert_false(reader_skips(deeper));
    }
}

/* ---- Platform token with a chosen challenge ---- */

static const size_t good_challenge_sizes[] = { 32, 48, 64 };

static void fill_challenge(uint8_t *c, size_t len, uint8_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        c[i] = seed + 7 * i;
    }
}

static GByteArray *make_plat_token(const RmmAttestKeys *k,
                                   const uint8_t *challenge, size_t len)
{
    char *err = NULL;
    GByteArray *b = rmm_attest_platform_token(k, challenge, len, &err);

    g_assert_null(err);
    g_assert_nonnull(b);
    return b;
}

/* Verify @tok; on failure, check that there is an error message. */
static bool plat_verify(gnutls_pubkey_t key, const uint8_t *tok, size_t len,
                        const uint8_t *challenge, size_t clen,
                        const char *want_err)
{
    char *err = NULL;
    bool ok = rmm_attest_verify_platform_token(key, tok, len, challenge,
                                               clen, &err);

    if (ok) {
        g_assert_null(err);
    } else {
        g_assert_nonnull(err);
        g_assert_true(g_str_has_prefix(err, "platform token: "));
        if (want_err) {
            g_assert_cmpstr(err, ==, want_err);
        }
        g_free(err);
    }
    return ok;
}

static void test_plat_token_challenge(void)
{
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    gnutls_pubkey_t cpak = rmm_attest_keys_cpak_pubkey(k);
    uint8_t chal[64];
    unsigned i;

    g_assert_nonnull(k);
    g_assert_nonnull(cpak);

    for (i = 0; i < G_N_ELEMENTS(good_challenge_sizes); i++) {
        size_t n = good_challenge_sizes[i];
        g_autoptr(GByteArray) tok = NULL;
        g_autoptr(GByteArray) bstr = g_byte_array_new();
        g_autoptr(CborItem) outer = NULL;
        g_autoptr(CborItem) sign1 = NULL;
        g_autoptr(CborItem) claims = NULL;
        const CborItem *v;

        fill_challenge(chal, n, i);
        tok = make_plat_token(k, chal, n);
        g_assert_true(plat_verify(cpak, tok->data, tok->len, chal, n, NULL));

        /* The same claims as the token's, with this challenge */
        rmm_cbor_put_bytes(bstr, tok->data, tok->len);
        outer = cbor_decode(bstr->data, bstr->len);
        sign1 = decode_sign1(outer);
        claims = sign1_claims(sign1);
        v = get_bytes(claims, PLAT_CHALLENGE, n);
        g_assert_true(memcmp(v->str, chal, n) == 0);
        g_assert_true(verify_sign1(sign1, cpak));
        g_assert_cmpuint(map_size(claims), ==, 9);
        check_text(claims, PLAT_PROFILE, PLAT_PROFILE_NAME);

        /* Another challenge, or a challenge of another size */
        chal[n - 1] ^= 0x01;
        g_assert_false(plat_verify(cpak, tok->data, tok->len, chal, n,
                                   "platform token: challenge does not "
                                   "match"));
        chal[n - 1] ^= 0x01;
        g_assert_false(plat_verify(cpak, tok->data, tok->len, chal,
                                   n == 64 ? 32 : n + 16,
                                   "platform token: challenge does not "
                                   "match"));
    }
    gnutls_pubkey_deinit(cpak);
    rmm_attest_keys_free(k);
}

/* The platform token inside the CCA token verifies like the others. */
static void test_plat_token_in_cca_token(void)
{
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    gnutls_pubkey_t cpak = rmm_attest_keys_cpak_pubkey(k);
    g_autoptr(GByteArray) b = NULL;
    const CborItem *rak;
    uint8_t digest[32];
    RmmRealmClaims c;
    Token t = { 0 };

    g_assert_nonnull(cpak);
    fill_claims(&c, RMI_HASH_SHA256);
    b = make_token(k, &c);
    token_parse(&t, b);
    rak = map_get(t.realm_claims, REALM_PUB_KEY);
    g_assert_cmpint(gnutls_hash_fast(GNUTLS_DIG_SHA256, rak->str, rak->arg,
                                     digest), ==, 0);
    g_assert_true(plat_verify(cpak, t.plat->raw, t.plat->raw_len,
                              digest, sizeof(digest), NULL));
    digest[0] ^= 0x80;
    g_assert_false(plat_verify(cpak, t.plat->raw, t.plat->raw_len,
                               digest, sizeof(digest), NULL));
    token_clear(&t);
    gnutls_pubkey_deinit(cpak);
    rmm_attest_keys_free(k);
}

static gnutls_pubkey_t pubkey_of(gnutls_privkey_t priv)
{
    gnutls_pubkey_t pub;

    g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
    g_assert_cmpint(gnutls_pubkey_import_privkey(pub, priv, 0, 0), ==, 0);
    return pub;
}

static gnutls_privkey_t ecdsa_key(gnutls_ecc_curve_t curve)
{
    gnutls_privkey_t key;

    g_assert_cmpint(gnutls_privkey_init(&key), ==, 0);
    g_assert_cmpint(gnutls_privkey_generate2(key, GNUTLS_PK_ECDSA,
                                             GNUTLS_CURVE_TO_BITS(curve),
                                             0, NULL, 0), ==, 0);
    return key;
}

static void test_plat_token_keys(void)
{
    char *err = NULL;
    RmmAttestKeys *k1 = rmm_attest_keys_new(&err);
    RmmAttestKeys *k2 = rmm_attest_keys_new(&err);
    gnutls_pubkey_t cpak1 = rmm_attest_keys_cpak_pubkey(k1);
    gnutls_pubkey_t cpak2 = rmm_attest_keys_cpak_pubkey(k2);
    gnutls_privkey_t p256 = ecdsa_key(GNUTLS_ECC_CURVE_SECP256R1);
    gnutls_pubkey_t p256_pub = pubkey_of(p256);
    g_autoptr(GByteArray) tok = NULL;
    uint8_t chal[48];

    fill_challenge(chal, sizeof(chal), 0x33);
    tok = make_plat_token(k1, chal, sizeof(chal));
    g_assert_true(plat_verify(cpak1, tok->data, tok->len, chal,
                              sizeof(chal), NULL));
    /* Another platform's key */
    g_assert_false(plat_verify(cpak2, tok->data, tok->len, chal,
                               sizeof(chal),
                               "platform token: bad signature"));
    /* Not a P-384 key, or none */
    g_assert_false(plat_verify(p256_pub, tok->data, tok->len, chal,
                               sizeof(chal), "platform token: key is not "
                               "ECDSA P-384"));
    g_assert_false(plat_verify(NULL, tok->data, tok->len, chal,
                               sizeof(chal), NULL));
    g_assert_null(rmm_attest_keys_cpak_pubkey(NULL));

    gnutls_pubkey_deinit(p256_pub);
    gnutls_privkey_deinit(p256);
    gnutls_pubkey_deinit(cpak1);
    gnutls_pubkey_deinit(cpak2);
    rmm_attest_keys_free(k1);
    rmm_attest_keys_free(k2);
}

static void test_plat_token_bad_challenge(void)
{
    static const size_t bad[] = { 0, 1, 16, 31, 33, 47, 49, 63, 65, 128 };
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    gnutls_pubkey_t cpak = rmm_attest_keys_cpak_pubkey(k);
    g_autoptr(GByteArray) tok = NULL;
    uint8_t chal[128] = { 0 };
    unsigned i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(rmm_attest_platform_token(k, chal, bad[i], &err));
        g_assert_nonnull(err);
        g_assert_true(g_str_has_prefix(err, "platform token: "));
        g_clear_pointer(&err, g_free);
    }
    g_assert_null(rmm_attest_platform_token(k, NULL, 32, &err));
    g_clear_pointer(&err, g_free);
    g_assert_null(rmm_attest_platform_token(NULL, chal, 32, &err));
    g_clear_pointer(&err, g_free);
    g_assert_null(rmm_attest_platform_token(k, chal, 31, NULL));

    /* Verification takes the same sizes only */
    tok = make_plat_token(k, chal, 32);
    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(plat_verify(cpak, tok->data, tok->len, chal, bad[i],
                                   NULL));
    }
    g_assert_false(plat_verify(cpak, tok->data, tok->len, NULL, 32, NULL));
    g_assert_false(rmm_attest_verify_platform_token(cpak, tok->data,
                                                    tok->len, chal, 31,
                                                    NULL));
    g_assert_true(plat_verify(cpak, tok->data, tok->len, chal, 32, NULL));
    gnutls_pubkey_deinit(cpak);
    rmm_attest_keys_free(k);
}

/* Every bit flip, truncation and extension of a good token fails. */
static void test_plat_token_mutations(void)
{
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    gnutls_pubkey_t cpak = rmm_attest_keys_cpak_pubkey(k);
    g_autoptr(GByteArray) tok = NULL;
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t chal[64];
    size_t i, m;

    fill_challenge(chal, sizeof(chal), 0x5a);
    tok = make_plat_token(k, chal, sizeof(chal));
    g_assert_true(plat_verify(cpak, tok->data, tok->len, chal, sizeof(chal),
                              NULL));

    for (i = 0; i < tok->len; i++) {
        for (m = 0; m < G_N_ELEMENTS(masks); m++) {
            g_byte_array_set_size(b, 0);
            g_byte_array_append(b, tok->data, tok->len);
            b->data[i] ^= masks[m];
            g_assert_false(plat_verify(cpak, b->data, b->len, chal,
                                       sizeof(chal), NULL));
        }
    }

    /* Truncated: each in a buffer of its own size, for ASan */
    for (i = 0; i < tok->len; i++) {
        g_autofree uint8_t *t = g_memdup2(tok->data, i);

        g_assert_false(plat_verify(cpak, t, i, chal, sizeof(chal), NULL));
    }
    g_assert_false(plat_verify(cpak, NULL, 0, chal, sizeof(chal), NULL));
    g_assert_false(plat_verify(cpak, NULL, 5, chal, sizeof(chal), NULL));

    /* Trailing bytes, or a second item */
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, tok->data, tok->len);
    g_byte_array_append(b, (const guint8 *)"", 1);
    g_assert_false(plat_verify(cpak, b->data, b->len, chal, sizeof(chal),
                               "platform token: not a COSE_Sign1"));
    g_byte_array_append(b, tok->data, tok->len);
    g_byte_array_remove_index(b, tok->len);
    g_assert_false(plat_verify(cpak, b->data, b->len, chal, sizeof(chal),
                               "platform token: not a COSE_Sign1"));

    /* Untagged COSE_Sign1 (the model only emits the tagged form) */
    g_assert_cmpuint(tok->data[0], ==, 0xd2);
    g_assert_false(plat_verify(cpak, tok->data + 1, tok->len - 1, chal,
                               sizeof(chal),
                               "platform token: not a COSE_Sign1"));

    gnutls_pubkey_deinit(cpak);
    rmm_attest_keys_free(k);
}

/* ---- Hand-made COSE_Sign1 objects, signed by the test's own key ---- */

typedef struct Sign1Spec {
    bool untagged;
    const char *prot;       /* protected header's contents, hex */
    const char *unprot;     /* unprotected header item, hex */
    size_t sig_len;         /* of the signature's byte string */
} Sign1Spec;

static const Sign1Spec good_spec = { false, "a1013822", "a0", 96 };

static GByteArray *make_sign1(gnutls_privkey_t key, const Sign1Spec *spec,
                              const GByteArray *payload)
{
    g_autoptr(GByteArray) prot = from_hex(spec->prot);
    g_autoptr(GByteArray) unprot = from_hex(spec->unprot);
    g_autoptr(GByteArray) tbs = g_byte_array_new();
    gnutls_datum_t data, der = { NULL, 0 }, r, s;
    void *r_data, *s_data;
    uint8_t sig[2 * P384_SIZE + 8] = { 0 };
    GByteArray *out = g_byte_array_new();

    rmm_cbor_put_array(tbs, 4);
    rmm_cbor_put_text(tbs, "Signature1");
    rmm_cbor_put_bytes(tbs, prot->data, prot->len);
    rmm_cbor_put_bytes(tbs, NULL, 0);
    rmm_cbor_put_bytes(tbs, payload->data, payload->len);
    data.data = tbs->data;
    data.size = tbs->len;
    g_assert_cmpint(gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA384,
                                              0, &data, &der), ==, 0);
    g_assert_cmpint(gnutls_decode_rs_value(&der, &r, &s), ==, 0);
    r_data = r.data;
    s_data = s.data;
    strip_zeros(&r);
    strip_zeros(&s);
    g_assert_cmpuint(r.size, <=, P384_SIZE);
    g_assert_cmpuint(s.size, <=, P384_SIZE);
    memcpy(sig + P384_SIZE - r.size, r.data, r.size);
    memcpy(sig + 2 * P384_SIZE - s.size, s.data, s.size);
    gnutls_free(r_data);
    gnutls_free(s_data);
    gnutls_free(der.data);

    if (!spec->untagged) {
        rmm_cbor_put_tag(out, TAG_COSE_SIGN1);
    }
    rmm_cbor_put_array(out, 4);
    rmm_cbor_put_bytes(out, prot->data, prot->len);
    g_byte_array_append(out, unprot->data, unprot->len);
    rmm_cbor_put_bytes(out, payload->data, payload->len);
    g_assert_cmpuint(spec->sig_len, <=, sizeof(sig));
    rmm_cbor_put_bytes(out, sig, spec->sig_len);
    return out;
}

/* Claims {before..., 10: challenge (@nchal times), after...} */
static GByteArray *claims_with(const char *before_hex, unsigned nchal,
                               const uint8_t *chal, size_t clen,
                               unsigned npairs)
{
    g_autoptr(GByteArray) before = from_hex(before_hex);
    GByteArray *b = g_byte_array_new();
    unsigned i;

    rmm_cbor_put_map(b, npairs);
    g_byte_array_append(b, before->data, before->len);
    for (i = 0; i < nchal; i++) {
        rmm_cbor_put_uint(b, PLAT_CHALLENGE);
        rmm_cbor_put_bytes(b, chal, clen);
    }
    return b;
}

/* Sign @claims with @key as @spec says and verify the result. */
static bool spec_verifies(gnutls_privkey_t key, const Sign1Spec *spec,
                          const GByteArray *claims, const uint8_t *chal,
                          const char *want_err)
{
    gnutls_pubkey_t pub = pubkey_of(key);
    g_autoptr(GByteArray) tok = make_sign1(key, spec, claims);
    bool ok = plat_verify(pub, tok->data, tok->len, chal, 32, want_err);

    gnutls_pubkey_deinit(pub);
    return ok;
}

static void test_plat_token_cose(void)
{
    /* Protected headers other than exactly {1: -35} */
    static const char *const bad_prot[] = {
        "", "a0", "a1013823", "a1013826", "a1023822", "a2013822 0442 0102",
        "a1013822 00", "81 3822", "a10138", "a1 01 c1 3822",
    };
    gnutls_privkey_t key = ecdsa_key(GNUTLS_ECC_CURVE_SECP384R1);
    g_autoptr(GByteArray) claims = NULL;
    uint8_t chal[32];
    Sign1Spec spec;
    unsigned i;

    fill_challenge(chal, sizeof(chal), 1);
    claims = claims_with("", 1, chal, sizeof(chal), 1);
    g_assert_true(spec_verifies(key, &good_spec, claims, chal, NULL));

    /* Unprotected header: any map, but a map */
    spec = good_spec;
    spec.unprot = "a2 04 42 0102 21 81 a1 01 c1 00";
    g_assert_true(spec_verifies(key, &spec, claims, chal, NULL));
    spec.unprot = "20";
    g_assert_false(spec_verifies(key, &spec, claims, chal,
                                 "platform token: not a COSE_Sign1"));
    spec.unprot = "80";
    g_assert_false(spec_verifies(key, &spec, claims, chal, NULL));
    spec.unprot = "bf ff";
    g_assert_false(spec_verifies(key, &spec, claims, chal, NULL));

    spec = good_spec;
    spec.untagged = true;
    g_assert_false(spec_verifies(key, &spec, claims, chal,
                                 "platform token: not a COSE_Sign1"));

    for (i = 0; i < G_N_ELEMENTS(bad_prot); i++) {
        spec = good_spec;
        spec.prot = bad_prot[i];
        g_assert_false(spec_verifies(key, &spec, claims, chal, NULL));
    }
    spec.prot = "a1013823";
    g_assert_false(spec_verifies(key, &spec, claims, chal,
                                 "platform token: algorithm is not ES384"));

    /* Signature: 96 bytes */
    spec = good_spec;
    spec.sig_len = 95;
    g_assert_false(spec_verifies(key, &spec, claims, chal,
                                 "platform token: bad signature size"));
    spec.sig_len = 97;
    g_assert_false(spec_verifies(key, &spec, claims, chal, NULL));

    gnutls_privkey_deinit(key);
}

static void check_claims(gnutls_privkey_t key, GByteArray *claims,
                         const uint8_t *chal, const char *want_err)
{
    g_assert_cmpint(spec_verifies(key, &good_spec, claims, chal, want_err),
                    ==, want_err == NULL);
    g_byte_array_unref(claims);
}

static void test_plat_token_claims(void)
{
    gnutls_privkey_t key = ecdsa_key(GNUTLS_ECC_CURVE_SECP384R1);
    GByteArray *claims;
    uint8_t chal[32];

    fill_challenge(chal, sizeof(chal), 9);

    /* Other claims of any kind around the challenge are skipped */
    check_claims(key, claims_with("01 82 a1 20 c1 f5 6161 "
                                  "20 fa3fc00000 "
                                  "0b 44 0a0a0a0a "
                                  "44 0a0a0a0a 0a",
                                  1, chal, 32, 5), chal, NULL);
    /* 10 in a longer head is still key 10 */
    claims = from_hex("a1 18 0a");
    rmm_cbor_put_bytes(claims, chal, sizeof(chal));
    check_claims(key, claims, chal, NULL);

    check_claims(key, claims_with("", 0, chal, 32, 0), chal,
                 "platform token: no challenge claim");
    check_claims(key, claims_with("01 02", 0, chal, 32, 1), chal,
                 "platform token: no challenge claim");
    check_claims(key, claims_with("", 2, chal, 32, 2), chal,
                 "platform token: more than one challenge claim");
    check_claims(key, claims_with("0a 01", 1, chal, 32, 2), chal,
                 "platform token: bad challenge claim");
    check_claims(key, claims_with("0a 6161", 0, chal, 32, 1), chal,
                 "platform token: bad challenge claim");
    check_claims(key, claims_with("", 1, chal, 31, 1), chal,
                 "platform token: challenge does not match");
    /* Not exactly one map */
    check_claims(key, claims_with("", 1, chal, 32, 2), chal,
                 "platform token: claims are not a map");
    check_claims(key, claims_with("", 1, chal, 32, 0), chal,
                 "platform token: claims are not a map");
    check_claims(key, claims_with("01 9f ff", 1, chal, 32, 2), chal,
                 "platform token: claims are not a map");
    check_claims(key, from_hex("8a"), chal,
                 "platform token: claims are not a map");
    check_claims(key, from_hex(""), chal,
                 "platform token: claims are not a map");

    gnutls_privkey_deinit(key);
}

/*
 * @claims (unreferenced here) signed by @key: verified with one
 * software component of version "1.2.3" and no type, or refused with
 * @want_err.
 */
static bool policy_claims(gnutls_privkey_t key, GByteArray *claims,
                          const uint8_t *chal, const char *want_err)
{
    RmmPlatTokenClaims claims_out, *c = &claims_out;
    gnutls_pubkey_t pub = pubkey_of(key);
    g_autoptr(GByteArray) tok = make_sign1(key, &good_spec, claims);
    char *err = NULL;
    bool ok = rmm_attest_verify_platform_token_claims(pub, tok->data,
                                                      tok->len, chal, 32, c,
                                                      &err);

    gnutls_pubkey_deinit(pub);
    if (ok) {
        g_assert_null(err);
        g_assert_null(want_err);
        g_assert_cmpuint(c->nr_sw, ==, 1);
        g_assert_cmpmem(c->sw[0].version, c->sw[0].version_len, "1.2.3", 5);
        g_assert_null(c->sw[0].type);
    } else {
        g_assert_cmpstr(err, ==, want_err);
        g_free(err);
    }
    g_byte_array_unref(claims);
    return ok;
}

#define HEX32(b)    b b b b b b b b b b b b b b b b \
                    b b b b b b b b b b b b b b b b
#define LC          "19095b 193000 "
#define IMPL        "19095c 5820" HEX32("11") " "
#define SW          "19095f 81 a3 02 5820" HEX32("22") " 05 5820" HEX32("33") \
                    " 04 65 312e322e33 "
#define SW_UNSIGNED "19095f 81 a1 02 5820" HEX32("22") " "

/*
 * The claims a migration policy checks: the emulated platform's, and
 * hand-made ones that are incomplete or repeated.
 */
static void test_plat_token_policy_claims(void)
{
    gnutls_privkey_t key = ecdsa_key(GNUTLS_ECC_CURVE_SECP384R1);
    char *err = NULL;
    RmmAttestKeys *k = rmm_attest_keys_new(&err);
    gnutls_pubkey_t cpak = rmm_attest_keys_cpak_pubkey(k);
    RmmPlatformClaims pc;
    RmmPlatTokenClaims c;
    GByteArray *tok;
    uint8_t chal[32];
    unsigned i;

    fill_challenge(chal, sizeof(chal), 3);
    rmm_attest_keys_get_claims(k, &pc);
    tok = make_plat_token(k, chal, sizeof(chal));
    g_assert_true(rmm_attest_verify_platform_token_claims(
                      cpak, tok->data, tok->len, chal, 32, &c, &err));
    g_assert_cmphex(c.lifecycle, ==, 0x3000);
    g_assert_cmpmem(c.impl_id, c.impl_id_len, pc.implementation_id, 32);
    g_assert_cmpuint(c.nr_sw, ==, RMM_PLATFORM_SW_COMPONENTS);
    for (i = 0; i < c.nr_sw; i++) {
        g_assert_cmpmem(c.sw[i].measurement, c.sw[i].measurement_len,
                        pc.sw[i].measurement, 32);
        g_assert_cmpmem(c.sw[i].signer_id, c.sw[i].signer_id_len,
                        pc.sw[i].signer_id, 32);
        g_assert_cmpmem(c.sw[i].version, c.sw[i].version_len, "1.0.0", 5);
    }
    g_assert_cmpmem(c.sw[2].type, c.sw[2].type_len, "RMM", 3);
    g_byte_array_unref(tok);
    /* Claims set are the claims signed. */
    pc.lifecycle = 0x2000;
    pc.sw[1].version[0] = '7';
    g_assert_true(rmm_attest_keys_set_claims(k, &pc, &err));
    tok = make_plat_token(k, chal, sizeof(chal));
    g_assert_true(rmm_attest_verify_platform_token_claims(
                      cpak, tok->data, tok->len, chal, 32, &c, &err));
    g_assert_cmphex(c.lifecycle, ==, 0x2000);
    g_assert_cmpmem(c.sw[1].version, c.sw[1].version_len, "7.0.0", 5);
    g_byte_array_unref(tok);
    pc.sw[0].version[0] = 0;
    g_assert_false(rmm_attest_keys_set_claims(k, &pc, &err));
    g_assert_cmpstr(err, ==, "platform claims: software component 1 has "
                    "no version");
    g_free(err);

    /* Hand-made */
    g_assert_true(policy_claims(key, claims_with(LC IMPL SW, 1, chal, 32, 4),
                                chal, NULL));
    policy_claims(key, claims_with(LC LC IMPL SW, 1, chal, 32, 5), chal,
                  "platform token: more than one security lifecycle claim");
    policy_claims(key, claims_with(LC IMPL, 1, chal, 32, 3), chal,
                  "platform token: no software components claim");
    policy_claims(key, claims_with(IMPL SW, 1, chal, 32, 3), chal,
                  "platform token: no security lifecycle claim");
    policy_claims(key, claims_with("19095b 6161 " IMPL SW, 1, chal, 32, 4),
                  chal, "platform token: bad security lifecycle claim");
    policy_claims(key, claims_with(LC IMPL SW_UNSIGNED, 1, chal, 32, 4),
                  chal, "platform token: bad software components claim");
    policy_claims(key, claims_with(LC "19095c 40 " SW, 1, chal, 32, 4),
                  chal, "platform token: bad implementation ID claim");
    /* The signature still comes first. */
    policy_claims(key, claims_with(LC IMPL SW, 1, chal, 32, 4),
                  (const uint8_t *)"another challenge of 32 bytes...",
                  "platform token: challenge does not match");

    gnutls_pubkey_deinit(cpak);
    rmm_attest_keys_free(k);
    gnutls_privkey_deinit(key);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rmm/attest/cbor/encoding", test_cbor_encoding);
    g_test_add_func("/rmm/attest/cbor/decoder-strict",
                    test_cbor_decoder_strict);
    g_test_add_func("/rmm/attest/token/sha256", test_token_sha256);
    g_test_add_func("/rmm/attest/token/sha512", test_token_sha512);
    g_test_add_func("/rmm/attest/token/tamper", test_tamper);
    g_test_add_func("/rmm/attest/keys/fresh", test_fresh_keys);
    g_test_add_func("/rmm/attest/max-size", test_max_size);
    g_test_add_func("/rmm/attest/bad-input", test_bad_input);
    g_test_add_func("/rmm/attest/cbor/reader", test_cbor_reader);
    g_test_add_func("/rmm/attest/cbor/reader-reject",
                    test_cbor_reader_reject);
    g_test_add_func("/rmm/attest/cbor/reader-depth", test_cbor_reader_depth);
    g_test_add_func("/rmm/attest/plat-token/challenge",
                    test_plat_token_challenge);
    g_test_add_func("/rmm/attest/plat-token/in-cca-token",
                    test_plat_token_in_cca_token);
    g_test_add_func("/rmm/attest/plat-token/keys", test_plat_token_keys);
    g_test_add_func("/rmm/attest/plat-token/bad-challenge",
                    test_plat_token_bad_challenge);
    g_test_add_func("/rmm/attest/plat-token/mutations",
                    test_plat_token_mutations);
    g_test_add_func("/rmm/attest/plat-token/cose", test_plat_token_cose);
    g_test_add_func("/rmm/attest/plat-token/claims", test_plat_token_claims);
    g_test_add_func("/rmm/attest/plat-token/policy-claims",
                    test_plat_token_policy_claims);
    return g_test_run();
}
