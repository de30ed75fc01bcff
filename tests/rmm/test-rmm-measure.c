/*
 * Unit tests of the emulated RMM's Realm measurements (rmm-measure.c)
 *
 * Three independent checks of the RIM/REM formulas of DEN0137 1.0:
 *  - known answers, computed once with a hand-rolled Python script
 *    (bytearray images of the structures + hashlib) and pasted below;
 *  - a second C model of the formulas in this file, which appends the
 *    structures field by field to a GByteArray and hashes with GLib's
 *    GChecksum instead of GnuTLS, run on pseudo-random inputs;
 *  - "test-rmm-measure --vectors" prints a transcript of measured
 *    operations (inputs and resulting RIM/REMs) that rim-reference.py
 *    recomputes with struct.pack and hashlib.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "rmm-measure.h"

#define PAGE_SIZE_BYTES ((size_t)RMM_GRANULE_SIZE)

/* ---- Helpers ---- */

static size_t model_hlen(RmiHashAlgo algo)
{
    return algo == RMI_HASH_SHA256 ? 32 : 64;
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    size_t i;

    g_assert_cmpuint(strlen(hex), ==, 2 * n);
    for (i = 0; i < n; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]);
        int lo = g_ascii_xdigit_value(hex[2 * i + 1]);

        g_assert_cmpint(hi, >=, 0);
        g_assert_cmpint(lo, >=, 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

/*
 * Check a measurement buffer against the expected hash in hex: the hash
 * is in the first bytes and the rest of the 64 bytes is zero.
 */
static void assert_meas(const uint8_t meas[RMM_HASH_MAX], const char *hex)
{
    uint8_t expect[RMM_HASH_MAX];
    size_t n = strlen(hex) / 2;

    memset(expect, 0, sizeof(expect));
    hex_to_bytes(hex, expect, n);
    g_assert_cmpmem(meas, RMM_HASH_MAX, expect, RMM_HASH_MAX);
}

static void assert_upper_zero(RmiHashAlgo algo, const uint8_t *meas)
{
    static const uint8_t zero[RMM_HASH_MAX];
    size_t hlen = model_hlen(algo);

    g_assert_cmpmem(meas + hlen, RMM_HASH_MAX - hlen, zero,
                    RMM_HASH_MAX - hlen);
}

/* Page whose bytes are (7 * i + 3) mod 256, as in the KAT script. */
static void fill_kat_page(uint8_t *page)
{
    size_t i;

    for (i = 0; i < PAGE_SIZE_BYTES; i++) {
        page[i] = (uint8_t)(i * 7 + 3);
    }
}

/* Realm parameters of the known-answer tests. */
static void kat_realm_params(RmiRealmParams *p, RmiHashAlgo algo)
{
    memset(p, 0, sizeof(*p));
    p->flags = RMI_REALM_FLAGS_SVE | RMI_REALM_FLAGS_PMU;
    p->ipa_width = 48;
    p->sve_vl = 3;
    p->num_bps = 5;
    p->num_wps = 3;
    p->pmu_num_ctrs = 11;
    p->hash_algo = algo;
}

/* ---- An independent model: GByteArray images, GChecksum hashes ---- */

static void model_hash(RmiHashAlgo algo, const uint8_t *buf, size_t len,
                       uint8_t out[RMM_HASH_MAX])
{
    GChecksum *cs = g_checksum_new(algo == RMI_HASH_SHA256 ?
                                   G_CHECKSUM_SHA256 : G_CHECKSUM_SHA512);
    gsize dlen = RMM_HASH_MAX;

    memset(out, 0, RMM_HASH_MAX);
    g_checksum_update(cs, buf, len);
    g_checksum_get_digest(cs, out, &dlen);
    g_assert_cmpuint(dlen, ==, model_hlen(algo));
    g_checksum_free(cs);
}

static void put_u8(GByteArray *a, uint8_t v)
{
    g_byte_array_append(a, &v, 1);
}

static void put_u64(GByteArray *a, uint64_t v)
{
    uint8_t b[8];
    int i;

    for (i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    g_byte_array_append(a, b, 8);
}

/* Pad with zeros up to byte offset @off (the next member's offset). */
static void pad_to(GByteArray *a, size_t off)
{
    g_assert_cmpuint(a->len, <=, off);
    while (a->len < off) {
        put_u8(a, 0);
    }
}

/* 512-bit RmmRealmMeasurement member: the hash, zero extended. */
static void put_meas(GByteArray *a, RmiHashAlgo algo, const uint8_t *m)
{
    size_t start = a->len;

    g_byte_array_append(a, m, model_hlen(algo));
    pad_to(a, start + 64);
}

/* Hash the image, which must be exactly @size bytes, and free it. */
static void model_finish(GByteArray *a, size_t size, RmiHashAlgo algo,
                         uint8_t out[RMM_HASH_MAX])
{
    pad_to(a, size);
    g_assert_cmpuint(a->len, ==, size);
    model_hash(algo, a->data, a->len, out);
    g_byte_array_unref(a);
}

/* desc_type, len = 256, rim: the head of every measurement descriptor. */
static GByteArray *model_desc_head(uint8_t type, RmiHashAlgo algo,
                                   const uint8_t *rim)
{
    GByteArray *a = g_byte_array_new();

    put_u8(a, type);
    pad_to(a, 0x8);
    put_u64(a, 256);
    put_meas(a, algo, rim);
    return a;
}

static void model_realm(const RmiRealmParams *p, uint8_t rim[RMM_HASH_MAX])
{
    GByteArray *a = g_byte_array_new();

    put_u64(a, p->flags);
    put_u8(a, (uint8_t)p->ipa_width);
    pad_to(a, 0x10);
    put_u8(a, p->sve_vl);
    pad_to(a, 0x18);
    put_u8(a, p->num_bps);
    pad_to(a, 0x20);
    put_u8(a, p->num_wps);
    pad_to(a, 0x28);
    put_u8(a, p->pmu_num_ctrs);
    pad_to(a, 0x30);
    put_u8(a, (uint8_t)p->hash_algo);
    model_finish(a, 4096, p->hash_algo, rim);
}

static void model_ripas(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                        uint64_t base, uint64_t top)
{
    GByteArray *a = model_desc_head(2, algo, rim);

    put_u64(a, base);
    put_u64(a, top);
    model_finish(a, 256, algo, rim);
}

static void model_data(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                       uint64_t ipa, const uint8_t *page)
{
    GByteArray *a = model_desc_head(0, algo, rim);
    uint8_t content[RMM_HASH_MAX];

    memset(content, 0, sizeof(content));
    if (page) {
        model_hash(algo, page, PAGE_SIZE_BYTES, content);
    }
    put_u64(a, ipa);
    put_u64(a, page ? 1 : 0);
    put_meas(a, algo, content);
    model_finish(a, 256, algo, rim);
}

static void model_rec(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                      const RmmRecParams *p)
{
    GByteArray *params = g_byte_array_new();
    uint8_t content[RMM_HASH_MAX];
    GByteArray *a;
    int i;

    if (!(p->flags & 1)) {
        return;
    }
    put_u64(params, p->flags);
    pad_to(params, 0x200);
    put_u64(params, p->pc);
    pad_to(params, 0x300);
    for (i = 0; i < 8; i++) {
        put_u64(params, p->gprs[i]);
    }
    model_finish(params, 4096, algo, content);

    a = model_desc_head(1, algo, rim);
    put_meas(a, algo, content);
    model_finish(a, 256, algo, rim);
}

static void model_extend(RmiHashAlgo algo, uint8_t rem[RMM_HASH_MAX],
                         const uint8_t *data, size_t len)
{
    GByteArray *a = g_byte_array_new();

    g_byte_array_append(a, rem, model_hlen(algo));
    g_byte_array_append(a, data, len);
    model_hash(algo, a->data, a->len, rem);
    g_byte_array_unref(a);
}

/* ---- Known answers (hand-rolled Python + hashlib) ---- */

static const char *const kat_sha256[] = {
    /* REALM_CREATE */
    "0c1191ee6a581837e742e92eac9a441d5357f0a0ad60a9460c0bc5a6d07bf316",
    /* RTT_INIT_RIPAS [0, 0x200000) */
    "3c55e5a890b9ac9433f79eec4fd79de506cba7a1c491f9ab958d36793cdadf79",
    /* DATA_CREATE 0x80000, measured */
    "5610eaa153f08d4aa30d218d24e6009dbba93d4b298e4f6b4a0a0542d0f50ae6",
    /* DATA_CREATE 0x81000, unmeasured */
    "5366c220bc27dfde8c1dea9fdb19572b9f09c1dfcdfa0acfed1fa1059a53b270",
    /* REC_CREATE, runnable */
    "3d9698e659767bcd11dab4302252fb1e8f321cd5883d1cc201bbcfe079a58fe4",
    /* EXTEND "abc" from zero */
    "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370",
    /* EXTEND 00 01 .. 3f */
    "a7975d253120bd8dc8274f6df6158a506eae422669c5acc238521c9d05aeee31",
};

static const char *const kat_sha512[] = {
    "0e48db397e4d96a7d37a1e0e762578de6fe5fb1eedadce090499a80d1d72bb0a"
    "5ad232c9d2b13139ff0ac14c65cb01c9df0c22cf1e430010a804322bbc7075bb",
    "c80f3be4bb990d986c03f8d9a6af5e877d5b465dced26b2411feeb64b5471540"
    "5608c64bb7699370f59c59283b5bdafba5248e85d24a666bbcf8c1fa82308cb9",
    "7ebacbdf3db00303ad3eb3835953a81f6d0b5e5900cd0d1e1f609f0391f84103"
    "05dd1e96798d3b1a425a131b914e291067cf3bede073e8fdec378e947edd4fa8",
    "865d0fcf377840d5cc1189c7a51bac94183e575e539fd2668fd71890df4b57c5"
    "91feb9d290c989d4fdc43f4eebe09a45cc29b58f3febf7d92138e75d29fdb729",
    "c658e417c25c0eef076ede212f345421be0eae059182b7d434afd316e373588b"
    "58970fe586d543da88623ed042824173afd7de99a955164d95dc0537067cea44",
    "7682b6b84c6f692545a896ad210299bcc6f74e189d829e165739b11dd83b6f2c"
    "8cfacf27e812bf064df756d6235ac33c062b89ecb80f8215516dbbb844ce8480",
    "b690eafa9fa5d2847bd335d419ec32aa1ef16f2fda64963e67037affd482a209"
    "f2225826b8fb006032340ae3fc17a6215aeeb346eb45e314fa1b459a3f90babe",
};

static void run_kat(RmiHashAlgo algo, const char *const *kat)
{
    uint8_t page[RMM_GRANULE_SIZE];
    uint8_t rim[RMM_HASH_MAX], rem[RMM_HASH_MAX], data[64];
    RmiRealmParams rp;
    RmmRecParams rec;
    int i;

    kat_realm_params(&rp, algo);
    memset(rim, 0xa5, sizeof(rim));     /* must be fully overwritten */
    rmm_measure_realm_create(&rp, rim);
    assert_meas(rim, kat[0]);

    rmm_measure_init_ripas(algo, rim, 0x0, 0x200000);
    assert_meas(rim, kat[1]);

    fill_kat_page(page);
    rmm_measure_data_create(algo, rim, 0x80000, page);
    assert_meas(rim, kat[2]);

    rmm_measure_data_create(algo, rim, 0x81000, NULL);
    assert_meas(rim, kat[3]);

    memset(&rec, 0, sizeof(rec));
    rec.flags = RMI_REC_FLAG_RUNNABLE;
    rec.pc = 0x80000;
    for (i = 0; i < 8; i++) {
        rec.gprs[i] = 0x8000000 + i;
    }
    rmm_measure_rec_create(algo, rim, &rec);
    assert_meas(rim, kat[4]);

    memset(rem, 0, sizeof(rem));
    rmm_measure_extend(algo, rem, (const uint8_t *)"abc", 3);
    assert_meas(rem, kat[5]);

    for (i = 0; i < 64; i++) {
        data[i] = i;
    }
    rmm_measure_extend(algo, rem, data, sizeof(data));
    assert_meas(rem, kat[6]);
}

static void test_kat_sha256(void)
{
    run_kat(RMI_HASH_SHA256, kat_sha256);
}

static void test_kat_sha512(void)
{
    run_kat(RMI_HASH_SHA512, kat_sha512);
}

/* ---- Properties ---- */

static void test_hash_len(void)
{
    g_assert_cmpuint(rmm_hash_len(RMI_HASH_SHA256), ==, 32);
    g_assert_cmpuint(rmm_hash_len(RMI_HASH_SHA512), ==, 64);
    g_assert_cmpuint(rmm_hash_len((RmiHashAlgo)2), ==, 0);
}

/* Only the measured fields of RmiRealmParams change the initial RIM. */
static void test_realm_measured_fields(void)
{
    uint8_t base[RMM_HASH_MAX], rim[RMM_HASH_MAX];
    RmiRealmParams p;
    int field;

    kat_realm_params(&p, RMI_HASH_SHA256);
    rmm_measure_realm_create(&p, base);

    /* rpv and vmid are not measured */
    memset(p.rpv, 0x5a, sizeof(p.rpv));
    p.vmid = 0x1234;
    rmm_measure_realm_create(&p, rim);
    g_assert_cmpmem(rim, RMM_HASH_MAX, base, RMM_HASH_MAX);

    for (field = 0; field < 7; field++) {
        kat_realm_params(&p, RMI_HASH_SHA256);
        switch (field) {
        case 0:
            p.flags |= RMI_REALM_FLAGS_LPA2;
            break;
        case 1:
            p.ipa_width = 40;
            break;
        case 2:
            p.sve_vl = 4;
            break;
        case 3:
            p.num_bps = 6;
            break;
        case 4:
            p.num_wps = 4;
            break;
        case 5:
            p.pmu_num_ctrs = 12;
            break;
        default:
            p.hash_algo = RMI_HASH_SHA512;
            break;
        }
        rmm_measure_realm_create(&p, rim);
        g_assert_true(memcmp(rim, base, RMM_HASH_MAX) != 0);
    }
}

/* With SHA-256 the upper 32 bytes stay zero, even if they were not. */
static void test_sha256_zero_fill(void)
{
    uint8_t rim[RMM_HASH_MAX], ref[RMM_HASH_MAX];
    uint8_t page[RMM_GRANULE_SIZE];
    RmiRealmParams p;
    RmmRecParams rec;

    kat_realm_params(&p, RMI_HASH_SHA256);
    rmm_measure_realm_create(&p, rim);
    assert_upper_zero(RMI_HASH_SHA256, rim);
    memcpy(ref, rim, sizeof(ref));

    /* Garbage above the hash is not part of the descriptor's rim field. */
    memset(rim + 32, 0xee, 32);
    rmm_measure_init_ripas(RMI_HASH_SHA256, rim, 0x1000, 0x3000);
    rmm_measure_init_ripas(RMI_HASH_SHA256, ref, 0x1000, 0x3000);
    g_assert_cmpmem(rim, RMM_HASH_MAX, ref, RMM_HASH_MAX);
    assert_upper_zero(RMI_HASH_SHA256, rim);

    memset(page, 0x11, sizeof(page));
    rmm_measure_data_create(RMI_HASH_SHA256, rim, 0x1000, page);
    assert_upper_zero(RMI_HASH_SHA256, rim);
    rmm_measure_data_create(RMI_HASH_SHA256, rim, 0x2000, NULL);
    assert_upper_zero(RMI_HASH_SHA256, rim);

    memset(&rec, 0, sizeof(rec));
    rec.flags = RMI_REC_FLAG_RUNNABLE;
    rmm_measure_rec_create(RMI_HASH_SHA256, rim, &rec);
    assert_upper_zero(RMI_HASH_SHA256, rim);

    rmm_measure_extend(RMI_HASH_SHA256, rim, page, 64);
    assert_upper_zero(RMI_HASH_SHA256, rim);
}

/* Unmeasured DATA_CREATE extends the RIM, independently of the content. */
static void test_data_unmeasured(void)
{
    uint8_t start[RMM_HASH_MAX], a[RMM_HASH_MAX], b[RMM_HASH_MAX];
    uint8_t page[RMM_GRANULE_SIZE];
    RmiRealmParams p;

    kat_realm_params(&p, RMI_HASH_SHA512);
    rmm_measure_realm_create(&p, start);

    memcpy(a, start, sizeof(a));
    rmm_measure_data_create(RMI_HASH_SHA512, a, 0x4000, NULL);
    g_assert_true(memcmp(a, start, RMM_HASH_MAX) != 0);

    /* A measured all-zero page is not the same as an unmeasured one. */
    memset(page, 0, sizeof(page));
    memcpy(b, start, sizeof(b));
    rmm_measure_data_create(RMI_HASH_SHA512, b, 0x4000, page);
    g_assert_true(memcmp(a, b, RMM_HASH_MAX) != 0);

    /* The IPA is measured */
    memcpy(b, start, sizeof(b));
    rmm_measure_data_create(RMI_HASH_SHA512, b, 0x5000, NULL);
    g_assert_true(memcmp(a, b, RMM_HASH_MAX) != 0);

    memcpy(b, start, sizeof(b));
    model_data(RMI_HASH_SHA512, b, 0x4000, NULL);
    g_assert_cmpmem(a, RMM_HASH_MAX, b, RMM_HASH_MAX);
}

/* Only runnable RECs are measured; mpidr is not a measured field. */
static void test_rec_measured_fields(void)
{
    uint8_t start[RMM_HASH_MAX], a[RMM_HASH_MAX], b[RMM_HASH_MAX];
    RmiRealmParams p;
    RmmRecParams rec;
    int i;

    kat_realm_params(&p, RMI_HASH_SHA256);
    rmm_measure_realm_create(&p, start);

    memset(&rec, 0, sizeof(rec));
    rec.pc = 0x1234;
    rec.gprs[3] = 42;
    memcpy(a, start, sizeof(a));
    rmm_measure_rec_create(RMI_HASH_SHA256, a, &rec);
    g_assert_cmpmem(a, RMM_HASH_MAX, start, RMM_HASH_MAX);

    rec.flags = RMI_REC_FLAG_RUNNABLE;
    rmm_measure_rec_create(RMI_HASH_SHA256, a, &rec);
    g_assert_true(memcmp(a, start, RMM_HASH_MAX) != 0);

    rec.mpidr = 0x0f0f;
    memcpy(b, start, sizeof(b));
    rmm_measure_rec_create(RMI_HASH_SHA256, b, &rec);
    g_assert_cmpmem(a, RMM_HASH_MAX, b, RMM_HASH_MAX);

    rec.pc++;
    memcpy(b, start, sizeof(b));
    rmm_measure_rec_create(RMI_HASH_SHA256, b, &rec);
    g_assert_true(memcmp(a, b, RMM_HASH_MAX) != 0);
    rec.pc--;

    for (i = 0; i < 8; i++) {
        rec.gprs[i] ^= 1ULL << 63;
        memcpy(b, start, sizeof(b));
        rmm_measure_rec_create(RMI_HASH_SHA256, b, &rec);
        g_assert_true(memcmp(a, b, RMM_HASH_MAX) != 0);
        rec.gprs[i] ^= 1ULL << 63;
    }
}

/* EXTEND of every length against the GChecksum model. */
static void test_extend_lengths(void)
{
    uint8_t data[64], rem[RMM_HASH_MAX], ref[RMM_HASH_MAX];
    RmiHashAlgo algo;
    size_t len;

    for (len = 0; len < sizeof(data); len++) {
        data[len] = (uint8_t)(0xc3 ^ len);
    }
    for (algo = RMI_HASH_SHA256; algo <= RMI_HASH_SHA512; algo++) {
        memset(rem, 0, sizeof(rem));
        memset(ref, 0, sizeof(ref));
        for (len = 0; len <= sizeof(data); len++) {
            rmm_measure_extend(algo, rem, data, len);
            model_extend(algo, ref, data, len);
            g_assert_cmpmem(rem, RMM_HASH_MAX, ref, RMM_HASH_MAX);
        }
        /* A zero-length extend with no buffer is allowed */
        rmm_measure_extend(algo, rem, NULL, 0);
        model_extend(algo, ref, NULL, 0);
        g_assert_cmpmem(rem, RMM_HASH_MAX, ref, RMM_HASH_MAX);
    }
}

static uint64_t rand64(GRand *rng)
{
    return (uint64_t)g_rand_int(rng) << 32 | g_rand_int(rng);
}

/* Random realm constructions against the GChecksum model. */
static void test_random_vs_model(void)
{
    GRand *rng = g_rand_new_with_seed(0x52494d);
    uint8_t page[RMM_GRANULE_SIZE];
    int iter;

    for (iter = 0; iter < 64; iter++) {
        RmiHashAlgo algo = iter & 1 ? RMI_HASH_SHA512 : RMI_HASH_SHA256;
        uint8_t rim[RMM_HASH_MAX], ref[RMM_HASH_MAX];
        RmiRealmParams p;
        RmmRecParams rec;
        int step, i;

        memset(&p, 0, sizeof(p));
        p.flags = g_rand_int_range(rng, 0, 8);
        p.ipa_width = g_rand_int_range(rng, RMI_IPA_WIDTH_MIN,
                                       RMI_IPA_WIDTH_MAX + 1);
        p.sve_vl = g_rand_int_range(rng, 0, 16);
        p.num_bps = g_rand_int_range(rng, 1, 16);
        p.num_wps = g_rand_int_range(rng, 1, 16);
        p.pmu_num_ctrs = g_rand_int_range(rng, 0, 32);
        p.hash_algo = algo;
        for (i = 0; i < RMM_RPV_SIZE; i++) {
            p.rpv[i] = g_rand_int(rng);
        }
        p.vmid = g_rand_int(rng);
        rmm_measure_realm_create(&p, rim);
        model_realm(&p, ref);
        g_assert_cmpmem(rim, RMM_HASH_MAX, ref, RMM_HASH_MAX);

        for (step = 0; step < 8; step++) {
            uint64_t ipa = (rand64(rng) & ((1ULL << 47) - 1)) &
                           ~(RMM_GRANULE_SIZE - 1);
            uint64_t top = ipa + RMM_GRANULE_SIZE *
                           g_rand_int_range(rng, 1, 1024);

            switch (g_rand_int_range(rng, 0, 4)) {
            case 0:
                rmm_measure_init_ripas(algo, rim, ipa, top);
                model_ripas(algo, ref, ipa, top);
                break;
            case 1:
                for (i = 0; i < (int)sizeof(page); i++) {
                    page[i] = g_rand_int(rng);
                }
                rmm_measure_data_create(algo, rim, ipa, page);
                model_data(algo, ref, ipa, page);
                break;
            case 2:
                rmm_measure_data_create(algo, rim, ipa, NULL);
                model_data(algo, ref, ipa, NULL);
                break;
            default:
                rec.flags = g_rand_int_range(rng, 0, 2);
                rec.mpidr = rand64(rng);
                rec.pc = rand64(rng);
                for (i = 0; i < 8; i++) {
                    rec.gprs[i] = rand64(rng);
                }
                rmm_measure_rec_create(algo, rim, &rec);
                model_rec(algo, ref, &rec);
                break;
            }
            g_assert_cmpmem(rim, RMM_HASH_MAX, ref, RMM_HASH_MAX);
        }
    }
    g_rand_free(rng);
}

/* ---- Transcript for rim-reference.py ---- */

static void print_hex(const char *key, const uint8_t *b, size_t n)
{
    size_t i;

    printf(" %s=", key);
    for (i = 0; i < n; i++) {
        printf("%02x", b[i]);
    }
}

/* A recognizable page: a line of text naming it, repeated. */
static void fill_text_page(uint8_t *page, const char *name)
{
    char *line = g_strdup_printf("%s: emulated RMM test data. ", name);
    size_t len = strlen(line), i;

    for (i = 0; i < PAGE_SIZE_BYTES; i++) {
        page[i] = (uint8_t)line[i % len];
    }
    g_free(line);
}

typedef struct VecState {
    RmiHashAlgo algo;
    uint8_t rim[RMM_HASH_MAX];
    uint8_t rem[RMM_NUM_REMS][RMM_HASH_MAX];
} VecState;

static void vec_realm(VecState *s, const RmiRealmParams *p)
{
    s->algo = p->hash_algo;
    memset(s->rem, 0, sizeof(s->rem));
    rmm_measure_realm_create(p, s->rim);
    printf("realm algo=%d flags=0x%" PRIx64 " s2sz=%u sve_vl=%u"
           " num_bps=%u num_wps=%u pmu_num_ctrs=%u vmid=%u",
           (int)p->hash_algo, p->flags, p->ipa_width, p->sve_vl,
           p->num_bps, p->num_wps, p->pmu_num_ctrs, p->vmid);
    print_hex("rpv", p->rpv, RMM_RPV_SIZE);
    print_hex("rim", s->rim, RMM_HASH_MAX);
    printf("\n");
}

static void vec_ripas(VecState *s, uint64_t base, uint64_t top)
{
    rmm_measure_init_ripas(s->algo, s->rim, base, top);
    printf("ripas base=0x%" PRIx64 " top=0x%" PRIx64, base, top);
    print_hex("rim", s->rim, RMM_HASH_MAX);
    printf("\n");
}

static void vec_data(VecState *s, uint64_t ipa, const uint8_t *page)
{
    rmm_measure_data_create(s->algo, s->rim, ipa, page);
    printf("data ipa=0x%" PRIx64 " measure=%d", ipa, page ? 1 : 0);
    if (page) {
        print_hex("page", page, PAGE_SIZE_BYTES);
    }
    print_hex("rim", s->rim, RMM_HASH_MAX);
    printf("\n");
}

static void vec_rec(VecState *s, const RmmRecParams *p)
{
    int i;

    rmm_measure_rec_create(s->algo, s->rim, p);
    printf("rec flags=0x%" PRIx64 " mpidr=0x%" PRIx64 " pc=0x%" PRIx64
           " gprs=", p->flags, p->mpidr, p->pc);
    for (i = 0; i < 8; i++) {
        printf("%s0x%" PRIx64, i ? "," : "", p->gprs[i]);
    }
    print_hex("rim", s->rim, RMM_HASH_MAX);
    printf("\n");
}

static void vec_extend(VecState *s, unsigned index, const uint8_t *data,
                       size_t len)
{
    uint8_t *rem = s->rem[index - 1];

    rmm_measure_extend(s->algo, rem, data, len);
    printf("extend index=%u", index);
    print_hex("data", data, len);
    print_hex("rem", rem, RMM_HASH_MAX);
    printf("\n");
}

static void print_vectors(void)
{
    uint8_t page[RMM_GRANULE_SIZE], data[64];
    RmiHashAlgo algo;
    int i;

    for (algo = RMI_HASH_SHA256; algo <= RMI_HASH_SHA512; algo++) {
        VecState s;
        RmiRealmParams p;
        RmmRecParams rec;
        char *name;

        memset(&p, 0, sizeof(p));
        p.flags = RMI_REALM_FLAGS_LPA2 | RMI_REALM_FLAGS_SVE |
                  RMI_REALM_FLAGS_PMU;
        p.ipa_width = algo == RMI_HASH_SHA256 ? 48 : 52;
        p.sve_vl = 15;
        p.num_bps = 5;
        p.num_wps = 3;
        p.pmu_num_ctrs = 31;
        p.hash_algo = algo;
        for (i = 0; i < RMM_RPV_SIZE; i++) {
            p.rpv[i] = (uint8_t)(0xa0 + i * 3);
        }
        p.vmid = 42;
        vec_realm(&s, &p);

        /* Several RIPAS ranges: small, 2 MiB and 1 GiB aligned, large */
        vec_ripas(&s, 0x0, 0x200000);
        vec_ripas(&s, 0x200000, 0x40000000);
        vec_ripas(&s, 0x40000000, 0x40001000);
        vec_ripas(&s, 0x80000000, 0x100000000ULL);
        vec_ripas(&s, 0x7ffff000, 0x80000000);

        /* DATA_CREATE, measured and not, with recognizable contents */
        for (i = 0; i < 3; i++) {
            name = g_strdup_printf("kernel page %d", i);
            fill_text_page(page, name);
            g_free(name);
            vec_data(&s, 0x80000 + i * RMM_GRANULE_SIZE, page);
        }
        vec_data(&s, 0x83000, NULL);
        memset(page, 0, sizeof(page));
        vec_data(&s, 0x84000, page);
        vec_data(&s, 0x85000, NULL);
        memset(page, 0xff, sizeof(page));
        vec_data(&s, 0x40000000, page);

        /* REC_CREATE: boot CPU runnable, secondaries not, one more */
        memset(&rec, 0, sizeof(rec));
        rec.flags = RMI_REC_FLAG_RUNNABLE;
        rec.mpidr = 0;
        rec.pc = 0x80000;
        for (i = 0; i < 8; i++) {
            rec.gprs[i] = 0x1111111111111111ULL * (i + 1);
        }
        rec.gprs[0] = 0x48000000;
        vec_rec(&s, &rec);
        rec.flags = 0;
        rec.mpidr = 1;
        vec_rec(&s, &rec);
        rec.flags = RMI_REC_FLAG_RUNNABLE;
        rec.mpidr = 0x100;
        rec.pc = 0xffffffffc0000000ULL;
        vec_rec(&s, &rec);

        /* RSI_MEASUREMENT_EXTEND of each REM, sizes 0..64 */
        for (i = 0; i < 64; i++) {
            data[i] = (uint8_t)(0x40 + i);
        }
        vec_extend(&s, 1, data, 32);
        vec_extend(&s, 1, data, 64);
        vec_extend(&s, 2, data, 0);
        vec_extend(&s, 3, (const uint8_t *)"grub.cfg", 8);
        vec_extend(&s, 4, data + 7, 1);
        vec_extend(&s, 4, data, 48);
    }

    /*
     * The realm features one at a time, as rme-guest sets them: none
     * (the default), SVE at 512 bits, a PMU with 4 counters, 2
     * breakpoints and 3 watchpoints.
     */
    for (i = 0; i < 4; i++) {
        VecState s;
        RmiRealmParams p;

        memset(&p, 0, sizeof(p));
        p.ipa_width = 41;
        p.hash_algo = i & 1 ? RMI_HASH_SHA512 : RMI_HASH_SHA256;
        p.num_bps = 5;
        p.num_wps = 3;
        switch (i) {
        case 1:
            p.flags = RMI_REALM_FLAGS_SVE;
            p.sve_vl = 3;
            break;
        case 2:
            p.flags = RMI_REALM_FLAGS_PMU;
            p.pmu_num_ctrs = 4;
            break;
        case 3:
            p.num_bps = 1;
            p.num_wps = 2;
            break;
        }
        vec_realm(&s, &p);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--vectors") == 0) {
        print_vectors();
        return fflush(stdout) == 0 ? 0 : 1;
    }

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rmm/measure/hash-len", test_hash_len);
    g_test_add_func("/rmm/measure/kat-sha256", test_kat_sha256);
    g_test_add_func("/rmm/measure/kat-sha512", test_kat_sha512);
    g_test_add_func("/rmm/measure/realm-measured-fields",
                    test_realm_measured_fields);
    g_test_add_func("/rmm/measure/sha256-zero-fill", test_sha256_zero_fill);
    g_test_add_func("/rmm/measure/data-unmeasured", test_data_unmeasured);
    g_test_add_func("/rmm/measure/rec-measured-fields",
                    test_rec_measured_fields);
    g_test_add_func("/rmm/measure/extend-lengths", test_extend_lengths);
    g_test_add_func("/rmm/measure/random-vs-model", test_random_vs_model);
    return g_test_run();
}
