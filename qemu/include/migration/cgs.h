/*
 * Migration of a confidential guest: its migration handler
 *
 * A confidential guest's state is exported and imported by its trusted
 * firmware (an Arm CCA RMM, a TDX module...) under a protocol of its
 * own, which the guest's migration code carries in a section of the
 * stream (register_savevm_live()).  What that protocol needs of the
 * migration around it is the same for every such guest: the destination
 * accepts the state before the guest may run there, the source gives
 * the guest up only once the destination did (no clones), and takes it
 * back when the migration fails before that; the two sides' firmware
 * talk on the return path; an operator can finish a migration whose
 * return path broke by carrying a token by hand (migrate-guest-token).
 * The guest's migration code registers one handler for all of it.
 *
 * Unstable: proposed with the migration of Arm CCA realms.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_CGS_H
#define MIGRATION_CGS_H

#include "qapi/qapi-types-migration.h"

/* Every hook is optional and called with the handler's @opaque. */
typedef struct CgsMigrationHandler {
    /*
     * Destination, once the whole stream is loaded, VM stopped: accept
     * the guest's state; false (@errp) fails the migration.
     */
    bool (*incoming_commit)(void *opaque, Error **errp);
    /*
     * Source, return-path thread, no BQL: a message the destination's
     * handler sent with cgs_migration_send_rp(); false fails the return
     * path.
     */
    bool (*rp_message)(void *opaque, const uint8_t *buf, size_t len,
                       Error **errp);
    /*
     * Source, no BQL: the return path opened (@open: before its thread
     * starts, so before any save_setup) or closed (@open false: its
     * thread ends, on an error, a cancel, the destination closing it or
     * the end of the migration; no rp_message comes after it).  A
     * handler that waits for the destination's answer wakes on this.
     */
    void (*rp_state)(void *opaque, bool open);
    /*
     * Source, migration thread, the return path closed without error:
     * is the guest's migration complete (did the destination commit)?
     */
    bool (*outgoing_complete)(void *opaque, Error **errp);
    /*
     * Source, BQL held, the VM is about to resume after a failed or
     * cancelled migration: take the guest back; false keeps the VM
     * stopped (the destination may have committed it).
     */
    bool (*outgoing_resume)(void *opaque, Error **errp);
    /* query-migrate: the guest's figures into @info. */
    void (*fill_info)(void *opaque, bool incoming, MigrationInfo *info);
    /*
     * query-migrate-guest-token (destination): the token it sent or
     * tried to send to the source (*@kind a MigrateGuestTokenKind;
     * g_free() *@buf).  migrate-guest-token (source): the destination's
     * token from an operator, as if it had come on the return path.
     */
    bool (*token_get)(void *opaque, int *kind, uint8_t **buf, size_t *len,
                      Error **errp);
    bool (*token_put)(void *opaque, int kind, const uint8_t *buf,
                      size_t len, Error **errp);
} CgsMigrationHandler;

/* The machine's confidential guest's migration handler (at most one). */
void cgs_migration_register(const CgsMigrationHandler *h, void *opaque);

/*
 * The return-path channel of a confidential guest: destination, a
 * message of up to CGS_MIGRATION_RP_MAX bytes for the source's
 * rp_message hook.  0, or a negative errno (no return path).
 */
#define CGS_MIGRATION_RP_MAX    8192
int cgs_migration_send_rp(const uint8_t *buf, size_t len);
/* Destination: true if the incoming migration has a return path. */
bool cgs_migration_has_rp(void);

/*
 * For the migration core: the hooks of the registered handler; true
 * (nothing to do) when there is none or it has no such hook, except
 * rp_message, which refuses a message nobody expects.
 */
bool cgs_migration_incoming_commit(Error **errp);
bool cgs_migration_rp_message(const uint8_t *buf, size_t len, Error **errp);
void cgs_migration_rp_state(bool open);
bool cgs_migration_outgoing_complete(Error **errp);
bool cgs_migration_outgoing_resume(Error **errp);
void cgs_migration_fill_info(bool incoming, MigrationInfo *info);

#endif /* MIGRATION_CGS_H */
