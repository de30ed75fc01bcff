/*
 * Migration of Arm CCA realms: the return path and the confidential
 * guest's migration handler
 *
 * The destination talks to the source on the return path's channel of
 * a confidential guest (cgs_migration_send_rp()), one message kind
 * byte and its bytes: the destination RMM's handshake answer (ACCEPT),
 * its refusal of the realm (why, as text), and the token of its commit
 * or abort.  The source waits for the ACCEPT before it seals anything,
 * gives the realm up only on the commit token, and runs it again after
 * a failure only as the RMM allows (before END, or with the abort
 * token).  An operator carries a token by hand when the return path
 * broke (query-migrate-guest-token, migrate-guest-token).  The hooks of
 * the confidential guest migration handler (migration/cgs.h) and the
 * realm's query-migrate figures are here too.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-migration.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "migration/misc.h"
#include "migration/cgs.h"
#include "migration.h"
#include "qemu-file.h"
#include "rme-stream-internal.h"
#include "trace.h"

/* ---- Source ---- */

/* Take the realm back, if the RMM allows it. */
bool rme_stream_abort_out(RmeStream *s, Error **errp)
{
    RmmMigPhase phase = rme_stream_phase(s);
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool have_token;
    char *why = NULL;

    switch (phase) {
    case RMM_MIG_OUT_EXPORTING:
    case RMM_MIG_OUT_PAUSED:
        return rme_stream_rmm(rmm(s)->abort(s->g, NULL, &why), &why, errp);
    case RMM_MIG_OUT_ENDED:
        qemu_mutex_lock(&s->token_lock);
        have_token = s->token_kind == RME_RP_ABORT;
        memcpy(token, s->token, sizeof(token));
        qemu_mutex_unlock(&s->token_lock);
        if (!have_token) {
            error_setg(errp, "rme-guest: the realm's final state went to "
                       "the destination, which neither committed nor "
                       "aborted it: the realm cannot run here (the "
                       "destination may be running it; one that gave it "
                       "up printed an abort token for "
                       "migrate-guest-token)");
            return false;
        }
        return rme_stream_rmm(rmm(s)->abort(s->g, token, &why), &why, errp);
    case RMM_MIG_OUT_MIGRATED:
        error_setg(errp, "rme-guest: the realm was migrated and committed "
                   "on the destination: it cannot run here");
        return false;
    default:
        return true;
    }
}

/*
 * The destination RMM's ACCEPT, from the return path: waits without the
 * BQL until it came, the destination refused the realm or the return
 * path closed (the stream failed, the migration was cancelled...).
 */
GBytes *rme_stream_wait_accept(RmeStream *s)
{
    bool relock = rme_stream_wait_begin();
    GBytes *accept;

    qemu_mutex_lock(&s->token_lock);
    while (!s->accept && !s->refused && s->rp_open) {
        qemu_cond_wait(&s->accept_cond, &s->token_lock);
    }
    accept = g_steal_pointer(&s->accept);
    qemu_mutex_unlock(&s->token_lock);
    if (!accept) {
        error_setg(&s->err, "rme-guest: the destination did not accept "
                   "the realm's handshake (it refused, the stream or return "
                   "path failed, or the migration was cancelled)");
    }
    rme_stream_wait_end(relock);
    return accept;
}

bool rme_stream_accept(RmeStream *s, GBytes *accept)
{
    size_t len;
    RmiMigRecord rec = {
        .kind = RMM_MIG_RT_ACCEPT,
        .buf = (uint8_t *)g_bytes_get_data(accept, &len),
    };
    char *why = NULL;

    rec.len = len;
    return rme_stream_rmm(rmm(s)->accept(s->g, &rec, &why), &why, &s->err);
}

/* The destination RMM's ACCEPT (return path thread, no BQL). */
static bool rme_stream_rp_accept(RmeStream *s, const uint8_t *buf, size_t len,
                                 Error **errp)
{
    bool ok;

    qemu_mutex_lock(&s->token_lock);
    ok = s->hs_wait && !s->accept && len >= RMM_MIG_HEADER_SIZE &&
         len <= RMM_MIG_HS_MAX;
    if (ok) {
        s->accept = g_bytes_new(buf, len);
        qemu_cond_broadcast(&s->accept_cond);
    }
    qemu_mutex_unlock(&s->token_lock);
    if (!ok) {
        error_setg(errp, "rme-guest: unexpected or malformed handshake "
                   "answer on the return path (%zu bytes)", len);
        return false;
    }
    return true;
}

/* The return path opened or closed (no BQL). */
static void rme_stream_rp_state(void *opaque, bool open)
{
    RmeStream *s = opaque;

    qemu_mutex_lock(&s->token_lock);
    s->rp_open = open;
    qemu_cond_broadcast(&s->accept_cond);
    qemu_mutex_unlock(&s->token_lock);
}

/* The destination's message (return path thread, no BQL). */
static bool rme_stream_rp_message(void *opaque, const uint8_t *buf,
                                  size_t len, Error **errp)
{
    RmeStream *s = opaque;

    if (len >= 1 && buf[0] == RME_RP_ACCEPT) {
        return rme_stream_rp_accept(s, buf + 1, len - 1, errp);
    }
    if (len >= 1 && buf[0] == RME_RP_REFUSED) {
        Error *err = NULL;

        /*
         * The migration's error says the destination's reason; the return
         * path goes on, for the abort token that may follow.
         */
        error_setg(&err, "rme-guest: the destination refused the realm: "
                   "%.*s", (int)MIN(len - 1, RME_RP_REFUSED_MAX),
                   (const char *)buf + 1);
        migrate_set_error(migrate_get_current(), err);
        error_free(err);
        qemu_mutex_lock(&s->token_lock);
        s->refused = true;
        qemu_cond_broadcast(&s->accept_cond);
        qemu_mutex_unlock(&s->token_lock);
        return true;
    }
    if (len != 1 + RMM_MIG_TOKEN_SIZE ||
        (buf[0] != RME_RP_COMMIT && buf[0] != RME_RP_ABORT)) {
        error_setg(errp, "rme-guest: malformed realm token on the return "
                   "path (%zu bytes)", len);
        return false;
    }
    qemu_mutex_lock(&s->token_lock);
    s->token_kind = buf[0];
    memcpy(s->token, buf + 1, RMM_MIG_TOKEN_SIZE);
    qemu_mutex_unlock(&s->token_lock);
    trace_rme_stream_token_received(buf[0] == RME_RP_COMMIT ? "commit"
                                                                : "abort");
    return true;
}

static bool rme_stream_outgoing_complete(void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    RmeGuest *g = s->g;
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    char *why = NULL;
    bool ok = false;
    int kind;

    BQL_LOCK_GUARD();
    if (rme_stream_phase(s) != RMM_MIG_OUT_ENDED) {
        /* No realm went out with this migration. */
        return true;
    }
    qemu_mutex_lock(&s->token_lock);
    kind = s->token_kind;
    memcpy(token, s->token, sizeof(token));
    qemu_mutex_unlock(&s->token_lock);
    if (kind != RME_RP_COMMIT) {
        error_setg(errp, "rme-guest: the destination did not commit the "
                   "realm");
        return false;
    }
    /* The backend stops the realm's vCPUs for good. */
    ok = rme_stream_rmm(rmm(s)->commit_ack(g, token, &why), &why, errp);
    if (ok) {
        s->migrated = true;
        g->migrated = true;
        trace_rme_stream_migrated();
    }
    return ok;
}

static bool rme_stream_token_put(void *opaque, int kind, const uint8_t *buf,
                                 size_t len, Error **errp)
{
    RmeStream *s = opaque;
    RmeGuest *g = s->g;
    char *why = NULL;
    bool ok;

    if (rme_stream_phase(s) != RMM_MIG_OUT_ENDED) {
        error_setg(errp, "rme-guest: the realm waits for no token (its "
                   "migration state is %s)", rme_stream_state_name(s));
        return false;
    }
    if (len != RMM_MIG_TOKEN_SIZE) {
        error_setg(errp, "rme-guest: a realm token is %d bytes, not %zu",
                   RMM_MIG_TOKEN_SIZE, len);
        return false;
    }
    if (kind == MIGRATE_GUEST_TOKEN_KIND_COMMIT) {
        ok = rme_stream_rmm(rmm(s)->commit_ack(g, buf, &why), &why, errp);
        s->migrated = ok;
        g->migrated |= ok;
    } else {
        ok = rme_stream_rmm(rmm(s)->abort(g, buf, &why), &why, errp);
    }
    trace_rme_stream_token_put(MigrateGuestTokenKind_str(kind), ok);
    return ok;
}

static bool rme_stream_outgoing_resume(void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    bool ok = rme_stream_abort_out(s, errp);

    trace_rme_stream_resume(ok, rme_stream_state_name(s));
    return ok;
}

/* ---- Destination ---- */

/* Send @kind and @len bytes of @buf to the source on the return path. */
int rme_stream_send_rp(int kind, const uint8_t *buf, size_t len)
{
    g_autofree uint8_t *msg = g_malloc(1 + len);

    msg[0] = kind;
    memcpy(msg + 1, buf, len);
    return cgs_migration_send_rp(msg, 1 + len);
}

/*
 * Why the destination refuses the realm, to the source on the return path
 * so that the source's error says it too (the RMM's errors quote no sealed
 * value).  The caller reports @err, or propagates it, once.
 */
void rme_stream_refuse(const Error *err)
{
    const char *why = error_get_pretty(err);

    if (g_str_has_prefix(why, "rme-guest: ")) {
        why += strlen("rme-guest: ");
    }
    /* Without a return path the source learns nothing more: no matter. */
    rme_stream_send_rp(RME_RP_REFUSED, (const uint8_t *)why,
                       MIN(strlen(why), RME_RP_REFUSED_MAX));
}

/*
 * The commit or abort token goes to the source; it stays here too, for an
 * operator who finds the return path broken (query-migrate-guest-token).
 * An abort token is also printed: a destination that gave the realm up
 * usually exits (-incoming's exit-on-error) or is killed (libvirt) right
 * after, and the source, if it sent END, waits for this token or a
 * commit; the log is what survives.  Anybody may read it: it only says
 * that this destination will never commit.
 */
void rme_stream_send_token(RmeStream *s, int kind, const uint8_t *token)
{
    bool sent;

    s->sent_kind = kind;
    memcpy(s->sent, token, RMM_MIG_TOKEN_SIZE);
    sent = rme_stream_send_rp(kind, token, RMM_MIG_TOKEN_SIZE) >= 0;
    if (kind == RME_RP_ABORT) {
        g_autofree char *b64 = g_base64_encode(token, RMM_MIG_TOKEN_SIZE);

        error_report("rme-guest: this destination gave the realm up (its "
                     "abort token %s the return path); a source waiting in "
                     "doubt runs it again after: migrate-guest-token "
                     "kind=abort token=%s",
                     sent ? "written to" : "could not go on", b64);
    } else if (!sent) {
        warn_report("rme-guest: cannot send the realm's commit token to "
                    "the source (query-migrate-guest-token has it)");
    }
}

static bool rme_stream_incoming_commit(void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    RmeGuest *g = s->g;
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    char *why = NULL;

    if (!s->in_active) {
        error_setg(errp, "rme-guest: the migration stream carried no "
                   "realm");
        return false;
    }
    if (!cgs_migration_has_rp()) {
        error_setg(errp, "rme-guest: a realm migrates only with the "
                   "'return-path' capability");
        return false;
    }

    if (!rme_stream_rmm(rmm(s)->import_commit(g, token, &why), &why, errp)) {
        return false;
    }
    s->committed = true;
    s->in_active = false;
    rme_stream_send_token(s, RME_RP_COMMIT, token);
    trace_rme_stream_committed();
    return true;
}

static bool rme_stream_token_get(void *opaque, int *kind, uint8_t **buf,
                                 size_t *len, Error **errp)
{
    RmeStream *s = opaque;

    if (!s->sent_kind) {
        error_setg(errp, "rme-guest: no realm token here: this QEMU has not "
                   "committed or aborted an incoming realm");
        return false;
    }
    *kind = s->sent_kind == RME_RP_COMMIT ? MIGRATE_GUEST_TOKEN_KIND_COMMIT
                                             : MIGRATE_GUEST_TOKEN_KIND_ABORT;
    *buf = g_memdup2(s->sent, RMM_MIG_TOKEN_SIZE);
    *len = RMM_MIG_TOKEN_SIZE;
    return true;
}

/* ---- Both ---- */

static void rme_stream_fill_info(void *opaque, bool incoming,
                                 MigrationInfo *info)
{
    RmeStream *s = opaque;
    RmeGuest *g = s->g;
    RealmMigrationInfo *r;
    RmmMigStats st;
    uint64_t dirty;

    /* A destination that migrated the realm on shows its outgoing view. */
    if (info->realm || (incoming && s->out_ran)) {
        return;
    }
    dirty = !incoming && s->drv ? rme_mig_driver_dirty(s->drv) : 0;
    /*
     * The realm's protected memory is RAM that has still to go, even if
     * it goes as records: a tool that reads only ram.remaining (libvirt's
     * "Data remaining") must see it.  One reading of the dirty count for
     * both figures, so that remaining >= dirty-granules * granule size.
     */
    if (!incoming && info->ram && !s->completed) {
        info->ram->remaining += rme_stream_pending_bytes(s, dirty);
    }
    rmm(s)->status(g, &st);
    r = g_new0(RealmMigrationInfo, 1);
    r->state = rme_stream_state(s);
    r->granules = st.data_granules;
    r->zero_granules = st.zero_granules;
    r->poisoned_granules = st.poisoned_granules;
    r->bytes = st.total_bytes;
    r->epochs = st.epoch;
    r->ripas_records = st.ripas_records;
    r->ripas_granules = st.ripas_granules;
    r->recs = st.rec_records;
    r->dirty_granules = dirty;
    if (!incoming && s->out_ran) {
        r->has_lanes = true;
        r->lanes = s->lanes;
    }
    if (!incoming && s->completed) {
        r->has_downtime = true;
        r->downtime = s->complete_ms;
        r->has_final_granules = true;
        r->final_granules = s->final_granules;
    }
    info->realm = r;
}

static const CgsMigrationHandler rme_stream_cgs = {
    .incoming_commit = rme_stream_incoming_commit,
    .rp_message = rme_stream_rp_message,
    .rp_state = rme_stream_rp_state,
    .outgoing_complete = rme_stream_outgoing_complete,
    .outgoing_resume = rme_stream_outgoing_resume,
    .fill_info = rme_stream_fill_info,
    .token_get = rme_stream_token_get,
    .token_put = rme_stream_token_put,
};

void rme_stream_rp_init(RmeStream *s)
{
    cgs_migration_register(&rme_stream_cgs, s);
}
