/*
 * Migration of Arm CCA realms: the realm's migration stream
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_RME_STREAM_H
#define MIGRATION_RME_STREAM_H

#include "qapi/qapi-types-migration.h"
#include "target/arm/rme.h"

/*
 * Once the machine is complete: register the realm's migration handler,
 * and block migration while the realm has no migration policy or the
 * platform no identity.
 */
bool rme_stream_init(RmeGuest *g, Error **errp);

/* The ConfidentialGuestSupportClass migration hooks of rme-guest. */
bool rme_stream_incoming_commit(RmeGuest *g, Error **errp);
bool rme_stream_rp_token(RmeGuest *g, const uint8_t *buf, size_t len,
                         Error **errp);
bool rme_stream_token_get(RmeGuest *g, int *kind, uint8_t **buf,
                          size_t *len, Error **errp);
bool rme_stream_token_put(RmeGuest *g, int kind, const uint8_t *buf,
                          size_t len, Error **errp);
bool rme_stream_outgoing_complete(RmeGuest *g, Error **errp);
bool rme_stream_outgoing_resume(RmeGuest *g, Error **errp);
void rme_stream_fill_info(RmeGuest *g, bool incoming, MigrationInfo *info);

#endif /* MIGRATION_RME_STREAM_H */
