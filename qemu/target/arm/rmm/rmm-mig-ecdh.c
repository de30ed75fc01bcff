/*
 * Emulated RMM migration: ephemeral ECDH on P-384
 *
 * GnuTLS 3.7 (Debian 12) has no public ECDH primitive (it came with
 * gnutls_privkey_derive_secret() in 3.8.2), so the point arithmetic comes
 * from Nettle's hogweed, the library GnuTLS itself computes with.  Random
 * scalars come from gnutls_rnd(GNUTLS_RND_KEY).  Nothing here is
 * hand-written cryptography: key generation, point validation and scalar
 * multiplication are Nettle's.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <nettle/bignum.h>
#include <nettle/ecc.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecdsa.h>

#include "rmm-mig-ecdh.h"

struct RmmMigEcdh {
    struct ecc_scalar priv;
    uint8_t share[RMM_MIG_SHARE_SIZE];     /* 0x04 || X || Y */
};

typedef struct EcdhRandom {
    bool failed;
} EcdhRandom;

static void ecdh_random(void *ctx, size_t len, uint8_t *dst)
{
    EcdhRandom *rnd = ctx;

    if (gnutls_rnd(GNUTLS_RND_KEY, dst, len) < 0) {
        rnd->failed = true;
        memset(dst, 0, len);
    }
}

/* Overwrite the limbs of @z before GMP frees them. */
static void ecdh_mpz_wipe(mpz_t z)
{
    size_t n = mpz_size(z);

    if (n) {
        gnutls_memset(mpz_limbs_modify(z, n), 0, n * sizeof(mp_limb_t));
    }
    mpz_clear(z);
}

/* @x, @y as the uncompressed SEC1 point @out. */
static void ecdh_point_out(const mpz_t x, const mpz_t y,
                           uint8_t out[RMM_MIG_SHARE_SIZE])
{
    out[0] = 0x04;
    nettle_mpz_get_str_256(RMM_MIG_COORD_SIZE, out + 1, x);
    nettle_mpz_get_str_256(RMM_MIG_COORD_SIZE, out + 1 + RMM_MIG_COORD_SIZE,
                           y);
}

RmmMigEcdh *rmm_mig_ecdh_new(void)
{
    const struct ecc_curve *curve = nettle_get_secp_384r1();
    RmmMigEcdh *e = g_new0(RmmMigEcdh, 1);
    EcdhRandom rnd = { false };
    struct ecc_point pub;
    mpz_t x, y;

    ecc_scalar_init(&e->priv, curve);
    ecc_point_init(&pub, curve);
    ecdsa_generate_keypair(&pub, &e->priv, &rnd, ecdh_random);
    mpz_init(x);
    mpz_init(y);
    ecc_point_get(&pub, x, y);
    ecdh_point_out(x, y, e->share);
    mpz_clear(x);
    mpz_clear(y);
    ecc_point_clear(&pub);
    if (rnd.failed) {
        rmm_mig_ecdh_free(e);
        return NULL;
    }
    return e;
}

const uint8_t *rmm_mig_ecdh_share(const RmmMigEcdh *e)
{
    return e->share;
}

bool rmm_mig_ecdh_derive(const RmmMigEcdh *e,
                         const uint8_t peer[RMM_MIG_SHARE_SIZE],
                         uint8_t secret[RMM_MIG_COORD_SIZE])
{
    const struct ecc_curve *curve = nettle_get_secp_384r1();
    struct ecc_point p, z;
    mpz_t x, y;
    bool ok;

    if (peer[0] != 0x04) {
        return false;
    }
    mpz_init(x);
    mpz_init(y);
    nettle_mpz_set_str_256_u(x, RMM_MIG_COORD_SIZE, peer + 1);
    nettle_mpz_set_str_256_u(y, RMM_MIG_COORD_SIZE,
                             peer + 1 + RMM_MIG_COORD_SIZE);
    ecc_point_init(&p, curve);
    ecc_point_init(&z, curve);
    /* Refuses coordinates out of range and points off the curve. */
    ok = ecc_point_set(&p, x, y);
    if (ok) {
        ecc_point_mul(&z, &e->priv, &p);
        ecc_point_get(&z, x, y);
        nettle_mpz_get_str_256(RMM_MIG_COORD_SIZE, secret, x);
    }
    ecc_point_clear(&p);
    ecc_point_clear(&z);
    ecdh_mpz_wipe(x);
    ecdh_mpz_wipe(y);
    return ok;
}

void rmm_mig_ecdh_free(RmmMigEcdh *e)
{
    if (e) {
        gnutls_memset(e->priv.p, 0,
                      ecc_size(e->priv.ecc) * sizeof(mp_limb_t));
        ecc_scalar_clear(&e->priv);
        gnutls_memset(e, 0, sizeof(*e));
        g_free(e);
    }
}
