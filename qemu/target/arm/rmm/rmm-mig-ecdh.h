/*
 * Emulated RMM migration: ephemeral ECDH on P-384 (rmm-mig-ecdh.c)
 *
 * The key exchange of the attested handshake (rmm-mig-handshake.c):
 * each RMM's ephemeral share travels in its HELLO or ACCEPT.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MIG_ECDH_H
#define RMM_MIG_ECDH_H

#include "rmm.h"

typedef struct RmmMigEcdh RmmMigEcdh;

/* A fresh ephemeral ECDH P-384 key; NULL if no randomness. */
RmmMigEcdh *rmm_mig_ecdh_new(void);
/* Its public share, 0x04 || X || Y. */
const uint8_t *rmm_mig_ecdh_share(const RmmMigEcdh *e);
/* X of the product with the peer's @peer; false if it is no P-384 point. */
bool rmm_mig_ecdh_derive(const RmmMigEcdh *e,
                         const uint8_t peer[RMM_MIG_SHARE_SIZE],
                         uint8_t secret[RMM_MIG_COORD_SIZE]);
void rmm_mig_ecdh_free(RmmMigEcdh *e);

#endif /* RMM_MIG_ECDH_H */
