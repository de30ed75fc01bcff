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
bool rme_stream_can_run(RmeGuest *g, Error **errp);
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

/* True once the destination committed the realm that ran here. */
bool rme_stream_migrated(RmeGuest *g);
/*
 * May a reset destroy the realm (false and @errp while its migration is
 * undecided)?
 */
bool rme_stream_can_reset(RmeGuest *g, Error **errp);

/*
 * Around the realm's destruction (BQL held): wait for the migration's
 * RMM calls made without the BQL (lanes, on either side) and refuse new
 * ones until released; such a call then fails the migration.
 */
void rme_stream_realm_hold(RmeGuest *g);
void rme_stream_realm_release(RmeGuest *g);

#endif /* MIGRATION_RME_STREAM_H */
