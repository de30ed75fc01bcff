/*
 * Migration of a confidential guest: its migration handler
 * (include/migration/cgs.h) and the QMP commands of its tokens
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-migration.h"
#include "qemu/base64.h"
#include "migration/cgs.h"

static const CgsMigrationHandler *cgs_handler;
static void *cgs_opaque;

void cgs_migration_register(const CgsMigrationHandler *h, void *opaque)
{
    assert(!cgs_handler);
    cgs_handler = h;
    cgs_opaque = opaque;
}

/* Call @hook of the handler; true when there is none. */
#define CGS_MIGRATION_CALL(hook, ...)                                   \
    (!cgs_handler || !cgs_handler->hook ||                              \
     cgs_handler->hook(cgs_opaque, __VA_ARGS__))

bool cgs_migration_incoming_commit(Error **errp)
{
    return CGS_MIGRATION_CALL(incoming_commit, errp);
}

bool cgs_migration_rp_message(const uint8_t *buf, size_t len, Error **errp)
{
    if (!cgs_handler || !cgs_handler->rp_message) {
        error_setg(errp, "a confidential guest's message on the return "
                   "path, but this VM has no such guest");
        return false;
    }
    return cgs_handler->rp_message(cgs_opaque, buf, len, errp);
}

void cgs_migration_rp_state(bool open)
{
    if (cgs_handler && cgs_handler->rp_state) {
        cgs_handler->rp_state(cgs_opaque, open);
    }
}

bool cgs_migration_outgoing_complete(Error **errp)
{
    return CGS_MIGRATION_CALL(outgoing_complete, errp);
}

bool cgs_migration_outgoing_resume(Error **errp)
{
    return CGS_MIGRATION_CALL(outgoing_resume, errp);
}

void cgs_migration_fill_info(bool incoming, MigrationInfo *info)
{
    if (cgs_handler && cgs_handler->fill_info) {
        cgs_handler->fill_info(cgs_opaque, incoming, info);
    }
}

/* The handler if it migrates with tokens. */
static const CgsMigrationHandler *cgs_migration_tokens(Error **errp)
{
    if (!cgs_handler || !cgs_handler->token_get ||
        !cgs_handler->token_put) {
        error_setg(errp, "this machine has no confidential guest that "
                   "migrates with tokens");
        return NULL;
    }
    return cgs_handler;
}

MigrateGuestToken *qmp_query_migrate_guest_token(Error **errp)
{
    const CgsMigrationHandler *h = cgs_migration_tokens(errp);
    g_autofree uint8_t *buf = NULL;
    MigrateGuestToken *t;
    size_t len;
    int kind;

    if (!h || !h->token_get(cgs_opaque, &kind, &buf, &len, errp)) {
        return NULL;
    }
    t = g_new0(MigrateGuestToken, 1);
    t->kind = kind;
    t->token = g_base64_encode(buf, len);
    return t;
}

void qmp_migrate_guest_token(MigrateGuestTokenKind kind, const char *token,
                             Error **errp)
{
    const CgsMigrationHandler *h = cgs_migration_tokens(errp);
    g_autofree uint8_t *buf = NULL;
    size_t len;

    if (!h) {
        return;
    }
    buf = qbase64_decode(token, -1, &len, errp);
    if (buf) {
        h->token_put(cgs_opaque, kind, buf, len, errp);
    }
}
