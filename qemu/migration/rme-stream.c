/*
 * Migration of Arm CCA realms: the realm's migration stream
 *
 * A realm's protected memory, RIPAS map and REC (vCPU) state leave the
 * source RMM only as sealed records (see target/arm/rmm/rmm.h, "Record
 * format"), which this handler carries in its own section of QEMU's
 * migration stream; shared memory and devices take QEMU's normal paths.
 *
 * Source:  setup     MIG_START, IMMUTABLE, the whole RIPAS map
 *          iterate   RIPAS changes, DATA of dirty granules, EPOCH when a
 *                    pass over the dirty log is done; the dirty log is
 *                    read again only between passes
 *          complete  (VM stopped) pause, final passes, one REC per vCPU,
 *                    END; then the destination's commit token on the
 *                    return path makes the realm MIGRATED here
 * Dest:    load      every record, in order, into an IMPORTING realm
 *          commit    once QEMU's whole stream is loaded: IMPORT_COMMIT,
 *                    the commit token goes back; only then may RECs enter
 *          failure   IMPORT_ABORT, the abort token goes back so that the
 *                    source may run the realm again
 *
 * Within a section part the stream is a list of
 *   RME_STREAM_RECORD, <record of the RMM>  (self-delimiting)
 * closed by RME_STREAM_EOS.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/host-utils.h"
#include "qemu/thread.h"
#include "hw/core/cpu.h"
#include "migration/blocker.h"
#include "migration/register.h"
#include "migration/misc.h"
#include "migration/client-options.h"
#include "migration.h"
#include "options.h"
#include "qemu-file.h"
#include "rme-stream.h"
#include "trace.h"

#define RME_STREAM_EOS          0x00
#define RME_STREAM_RECORD       0x01

/* With the VM stopped one pass exports everything; a few more at most. */
#define RME_STREAM_FINAL_PASSES 8

/* Token kinds on the return path: one byte, then the token. */
#define RME_TOKEN_COMMIT        0x01
#define RME_TOKEN_ABORT         0x02

typedef struct RmeStream {
    RmeGuest *g;
    Error *blocker;
    uint8_t *buf;               /* one record */
    uint64_t nr_granules;       /* of protected RAM */
    size_t words;

    /* Source */
    bool out_active;
    bool out_ran;               /* a migration went out (and came back) */
    uint64_t *todo;             /* granules to send in this epoch */
    uint64_t *next;             /* logged meanwhile, for the next epoch */
    uint64_t todo_count;
    uint64_t next_count;
    uint64_t cursor;            /* where the scan of @todo resumes */
    uint64_t epoch_sent;        /* granules and RIPAS records sent in it */
    QemuMutex token_lock;
    int token_kind;             /* RME_TOKEN_*, 0: none */
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool migrated;              /* sticky: committed elsewhere */

    /* Destination */
    bool in_active;
    bool committed;
} RmeStream;

static const char *rme_stream_phase_name(RmeStream *s)
{
    static const char *const names[] = {
        [RMM_MIG_NONE] = "none",
        [RMM_MIG_OUT_RUNNING] = "exporting",
        [RMM_MIG_OUT_PAUSED] = "paused",
        [RMM_MIG_OUT_ENDED] = "ended",
        [RMM_MIG_OUT_MIGRATED] = "migrated",
        [RMM_MIG_IN_IMPORTING] = "importing",
        [RMM_MIG_IN_ABORTED] = "aborted",
    };
    RmmMigPhase phase = s->g->ops->mig_phase(s->g);

    if (s->migrated) {
        return "migrated";
    }
    if (phase == RMM_MIG_NONE && (s->committed || s->out_ran)) {
        return "running";
    }
    return phase < ARRAY_SIZE(names) && names[phase] ? names[phase]
                                                      : "unknown";
}

/* ---- Source ---- */

static void rme_stream_put(QEMUFile *f, RmeStream *s, size_t len)
{
    if (len) {
        qemu_put_byte(f, RME_STREAM_RECORD);
        qemu_put_buffer(f, s->buf, len);
    }
}

/*
 * The realm (and its backend) may only be used under the BQL: a guest
 * reset replaces it.  The migration thread takes the BQL around each RMM
 * command, never while it writes to the stream, which may block.
 */

/* Read the RMM's dirty log into @next. */
static void rme_stream_sync(RmeStream *s)
{
    uint64_t i, n = 0;

    {
        BQL_LOCK_GUARD();

        s->g->ops->mig_dirty_log(s->g, s->next);
    }
    for (i = 0; i < s->words; i++) {
        n += ctpop64(s->next[i]);
    }
    s->next_count = n;
    trace_rme_stream_sync(s->todo_count, n);
}

/* Start a new epoch with what was read from the log. */
static void rme_stream_merge_next(RmeStream *s)
{
    uint64_t i;

    for (i = 0; i < s->words; i++) {
        s->todo[i] |= s->next[i];
        s->next[i] = 0;
    }
    s->todo_count += s->next_count;
    s->next_count = 0;
    s->cursor = 0;
}

/* Start a new epoch with what the log holds now. */
static void rme_stream_next_epoch(RmeStream *s)
{
    rme_stream_sync(s);
    rme_stream_merge_next(s);
}

static int rme_stream_send_ripas(QEMUFile *f, RmeStream *s, Error **errp)
{
    bool more = true;
    size_t len;

    while (more) {
        bool ok;

        {
            BQL_LOCK_GUARD();

            ok = s->g->ops->mig_export_ripas(s->g, s->buf, &len, &more,
                                             errp);
        }
        if (!ok) {
            return -EINVAL;
        }
        if (len) {
            s->epoch_sent++;
        }
        rme_stream_put(f, s, len);
    }
    return 0;
}

static int rme_stream_close_epoch(QEMUFile *f, RmeStream *s, Error **errp)
{
    size_t len;
    bool ok;

    if (!s->epoch_sent) {
        return 0;
    }
    {
        BQL_LOCK_GUARD();

        ok = s->g->ops->mig_export_epoch(s->g, s->buf, &len, errp);
    }
    if (!ok) {
        return -EINVAL;
    }
    rme_stream_put(f, s, len);
    trace_rme_stream_epoch(s->epoch_sent);
    s->epoch_sent = 0;
    return 0;
}

/* Send one batch of granules from @todo; false when @todo is empty. */
static int rme_stream_send_batch(QEMUFile *f, RmeStream *s, Error **errp)
{
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    unsigned n = 0;
    size_t len;
    bool ok;

    while (n < RMM_MIG_BATCH_MAX && s->todo_count) {
        uint64_t w = s->cursor / 64, bits;

        if (w >= s->words) {
            s->cursor = 0;
            continue;
        }
        bits = s->todo[w] >> (s->cursor % 64);
        if (!bits) {
            s->cursor = (w + 1) * 64;
            continue;
        }
        s->cursor += ctz64(bits);
        s->todo[s->cursor / 64] &= ~(1ULL << (s->cursor % 64));
        s->todo_count--;
        ipas[n++] = s->g->ram_base + (s->cursor << RMM_GRANULE_SHIFT);
        s->cursor++;
    }
    if (!n) {
        return 0;
    }
    {
        BQL_LOCK_GUARD();

        ok = s->g->ops->mig_export_data(s->g, ipas, n, s->buf, &len, errp);
    }
    if (!ok) {
        return -EINVAL;
    }
    rme_stream_put(f, s, len);
    s->epoch_sent += n;
    return 1;
}

static int rme_stream_save_prepare(void *opaque, Error **errp)
{
    if (!migrate_return_path()) {
        error_setg(errp, "rme-guest: migrating a realm needs the "
                   "'return-path' capability: the source realm is given up "
                   "only when the destination's commit comes back on it");
        return -EINVAL;
    }
    if (migrate_postcopy_ram() || migrate_background_snapshot() ||
        migrate_mapped_ram()) {
        error_setg(errp, "rme-guest: realms migrate with pre-copy only "
                   "(no postcopy-ram, background-snapshot or mapped-ram)");
        return -EINVAL;
    }
    return 0;
}

static void rme_stream_free_out(RmeStream *s)
{
    g_clear_pointer(&s->todo, g_free);
    g_clear_pointer(&s->next, g_free);
    s->todo_count = s->next_count = 0;
}

static int rme_stream_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    g_autofree uint8_t *key = NULL;
    size_t len;
    int ret;

    /* Also refuses savevm, which has no return path. */
    if (rme_stream_save_prepare(opaque, errp) < 0) {
        return -EINVAL;
    }
    key = rme_guest_migration_key(s->g, errp);
    if (!key) {
        return -EINVAL;
    }
    if (!s->g->ops->mig_export_start(s->g, key, errp)) {
        memset(key, 0, RMM_MIG_KEY_SIZE);
        return -EINVAL;
    }
    memset(key, 0, RMM_MIG_KEY_SIZE);
    s->out_active = true;
    s->out_ran = true;
    s->migrated = false;
    qemu_mutex_lock(&s->token_lock);
    s->token_kind = 0;
    qemu_mutex_unlock(&s->token_lock);
    s->todo = g_new0(uint64_t, s->words);
    s->next = g_new0(uint64_t, s->words);
    s->epoch_sent = 0;
    trace_rme_stream_save_setup(s->nr_granules);

    if (!s->g->ops->mig_export_immutable(s->g, s->buf, &len, errp)) {
        return -EINVAL;
    }
    rme_stream_put(f, s, len);
    ret = rme_stream_send_ripas(f, s, errp);
    if (ret) {
        return ret;
    }
    rme_stream_next_epoch(s);
    qemu_put_byte(f, RME_STREAM_EOS);
    return qemu_file_get_error(f);
}

static void rme_stream_state_pending(void *opaque, uint64_t *must_precopy,
                                     uint64_t *can_postcopy)
{
    RmeStream *s = opaque;

    if (s->out_active) {
        *must_precopy += (s->todo_count + s->next_count) *
                         (RMM_GRANULE_SIZE + 24);
    }
}

static void rme_stream_state_pending_exact(void *opaque,
                                           uint64_t *must_precopy,
                                           uint64_t *can_postcopy)
{
    RmeStream *s = opaque;

    if (s->out_active) {
        rme_stream_sync(s);
    }
    rme_stream_state_pending(opaque, must_precopy, can_postcopy);
}

static int rme_stream_save_iterate(QEMUFile *f, void *opaque)
{
    RmeStream *s = opaque;
    Error *err = NULL;
    int ret = 0, sent;

    ret = rme_stream_send_ripas(f, s, &err);
    while (!ret && !migration_rate_exceeded(f)) {
        sent = rme_stream_send_batch(f, s, &err);
        if (sent < 0) {
            ret = sent;
        } else if (!sent) {
            /*
             * A pass is done: close its epoch.  As for RAM, the log is
             * read again only when the migration thread asks for exact
             * figures (state_pending_exact) to decide on convergence.
             */
            ret = rme_stream_close_epoch(f, s, &err);
            if (!ret) {
                rme_stream_merge_next(s);
                if (!s->todo_count) {
                    ret = 1;
                    break;
                }
            }
        }
    }
    qemu_put_byte(f, RME_STREAM_EOS);
    if (ret < 0) {
        error_report_err(err);
        return ret;
    }
    return ret ? ret : qemu_file_get_error(f);
}

static int rme_stream_save_complete(QEMUFile *f, void *opaque)
{
    RmeStream *s = opaque;
    MigrationState *ms = migrate_get_current();
    Error *err = NULL;
    CPUState *cs;
    size_t len;
    int ret, sent, passes;

    /* The VM is stopped and we hold the BQL. */
    if (!s->g->ops->mig_export_pause(s->g, &err)) {
        goto fail;
    }
    /*
     * Final passes until the RMM has nothing left to export: a granule or
     * a RIPAS change that already went in an epoch waits for the next.
     */
    for (passes = 0; ; passes++) {
        RmmMigStats st;

        if (rme_stream_send_ripas(f, s, &err)) {
            goto fail;
        }
        while ((sent = rme_stream_send_batch(f, s, &err)) > 0) {
            /* drain */
        }
        if (sent < 0 || rme_stream_close_epoch(f, s, &err)) {
            goto fail;
        }
        rme_stream_next_epoch(s);
        s->g->ops->mig_stats(s->g, &st);
        if (!s->todo_count && !st.pending_granules &&
            !st.ripas_pending_granules) {
            break;
        }
        if (passes == RME_STREAM_FINAL_PASSES) {
            error_setg(&err, "rme-guest: the realm still has %" PRIu64
                       " granules to export after %d final passes",
                       st.pending_granules + st.ripas_pending_granules,
                       passes);
            goto fail;
        }
    }

    CPU_FOREACH(cs) {
        if (!s->g->ops->mig_export_rec(s->g, cs, s->buf, &len, &err)) {
            goto fail;
        }
        rme_stream_put(f, s, len);
    }
    /*
     * After END the destination can commit: from then on the source
     * realm only runs again with the destination's abort token.  Do not
     * hand it over on a stream that is already broken.
     */
    ret = qemu_file_get_error(f);
    if (ret || migrate_has_error(ms)) {
        error_setg(&err, "rme-guest: the migration stream failed before "
                   "the realm's final record");
        goto fail;
    }
    if (!s->g->ops->mig_export_end(s->g, s->buf, &len, &err)) {
        goto fail;
    }
    rme_stream_put(f, s, len);
    qemu_put_byte(f, RME_STREAM_EOS);
    trace_rme_stream_end();
    return qemu_file_get_error(f);

fail:
    error_report_err(err);
    return -EINVAL;
}

/* Take the realm back, if the RMM allows it. */
static bool rme_stream_abort_out(RmeStream *s, Error **errp)
{
    RmmMigPhase phase = s->g->ops->mig_phase(s->g);
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool have_token;

    switch (phase) {
    case RMM_MIG_OUT_RUNNING:
    case RMM_MIG_OUT_PAUSED:
        return s->g->ops->mig_export_abort(s->g, NULL, errp);
    case RMM_MIG_OUT_ENDED:
        qemu_mutex_lock(&s->token_lock);
        have_token = s->token_kind == RME_TOKEN_ABORT;
        memcpy(token, s->token, sizeof(token));
        qemu_mutex_unlock(&s->token_lock);
        if (!have_token) {
            error_setg(errp, "rme-guest: the realm's final state went to "
                       "the destination, which neither committed nor "
                       "aborted it: the realm cannot run here (the "
                       "destination may be running it)");
            return false;
        }
        return s->g->ops->mig_export_abort(s->g, token, errp);
    case RMM_MIG_OUT_MIGRATED:
        error_setg(errp, "rme-guest: the realm was migrated and committed "
                   "on the destination: it cannot run here");
        return false;
    default:
        return true;
    }
}

static void rme_stream_save_cleanup(void *opaque)
{
    RmeStream *s = opaque;
    RmmMigPhase phase;

    if (!s->out_active) {
        return;
    }
    /* A migration that stopped before completion gives the realm back. */
    phase = s->g->ops->mig_phase(s->g);
    if (phase == RMM_MIG_OUT_RUNNING || phase == RMM_MIG_OUT_PAUSED) {
        Error *err = NULL;

        if (!rme_stream_abort_out(s, &err)) {
            error_report_err(err);
        }
    }
    rme_stream_free_out(s);
    s->out_active = false;
    trace_rme_stream_save_cleanup(rme_stream_phase_name(s));
}

bool rme_stream_rp_token(RmeGuest *g, const uint8_t *buf, size_t len,
                         Error **errp)
{
    RmeStream *s = g->stream;

    if (len != 1 + RMM_MIG_TOKEN_SIZE ||
        (buf[0] != RME_TOKEN_COMMIT && buf[0] != RME_TOKEN_ABORT)) {
        error_setg(errp, "rme-guest: malformed realm token on the return "
                   "path (%zu bytes)", len);
        return false;
    }
    qemu_mutex_lock(&s->token_lock);
    s->token_kind = buf[0];
    memcpy(s->token, buf + 1, RMM_MIG_TOKEN_SIZE);
    qemu_mutex_unlock(&s->token_lock);
    trace_rme_stream_token_received(buf[0] == RME_TOKEN_COMMIT ? "commit"
                                                                : "abort");
    return true;
}

bool rme_stream_outgoing_complete(RmeGuest *g, Error **errp)
{
    RmeStream *s = g->stream;
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool ok = false;
    CPUState *cs;
    int kind;

    BQL_LOCK_GUARD();
    if (g->ops->mig_phase(g) != RMM_MIG_OUT_ENDED) {
        /* No realm went out with this migration. */
        return true;
    }
    qemu_mutex_lock(&s->token_lock);
    kind = s->token_kind;
    memcpy(token, s->token, sizeof(token));
    qemu_mutex_unlock(&s->token_lock);
    if (kind != RME_TOKEN_COMMIT) {
        error_setg(errp, "rme-guest: the destination did not commit the "
                   "realm");
        return false;
    }
    ok = g->ops->mig_commit_ack(g, token, errp);
    if (ok) {
        s->migrated = true;
        /* Nothing of the realm runs here again. */
        CPU_FOREACH(cs) {
            cs->halted = 1;
        }
        trace_rme_stream_migrated();
    }
    return ok;
}

bool rme_stream_outgoing_resume(RmeGuest *g, Error **errp)
{
    RmeStream *s = g->stream;
    bool ok = rme_stream_abort_out(s, errp);

    trace_rme_stream_resume(ok, rme_stream_phase_name(s));
    return ok;
}

bool rme_stream_can_run(RmeGuest *g, Error **errp)
{
    RmeStream *s = g->stream;
    RmmMigPhase phase = g->ops->mig_phase(g);

    if (s->migrated || phase == RMM_MIG_OUT_MIGRATED) {
        error_setg(errp, "rme-guest: the realm was migrated and committed "
                   "on the destination; it never runs here again (quit "
                   "this QEMU)");
        return false;
    }
    if (phase == RMM_MIG_OUT_ENDED) {
        error_setg(errp, "rme-guest: the realm's final state went to the "
                   "destination, which neither committed nor aborted it; "
                   "it cannot run here");
        return false;
    }
    if (phase == RMM_MIG_IN_ABORTED) {
        error_setg(errp, "rme-guest: the incoming realm was aborted");
        return false;
    }
    return true;
}

bool rme_stream_migrated(RmeGuest *g)
{
    return g->stream && g->stream->migrated;
}

/* ---- Destination ---- */

static int rme_stream_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    g_autofree uint8_t *key = rme_guest_migration_key(s->g, errp);
    RmmRealmParams p;
    bool ok;

    if (!key) {
        return -EINVAL;
    }
    p = rme_guest_realm_params(s->g);
    ok = s->g->ops->mig_import_start(s->g, &p, key, errp);
    memset(key, 0, RMM_MIG_KEY_SIZE);
    if (!ok) {
        return -EINVAL;
    }
    s->in_active = true;
    s->committed = false;
    trace_rme_stream_load_setup();
    return 0;
}

static int rme_stream_load_state(QEMUFile *f, void *opaque, int version_id)
{
    RmeStream *s = opaque;
    Error *err = NULL;
    uint32_t len;
    int marker;

    if (!s->in_active) {
        error_report("rme-guest: realm records without an import");
        return -EINVAL;
    }
    for (;;) {
        marker = qemu_get_byte(f);
        if (qemu_file_get_error(f)) {
            error_report("rme-guest: realm stream truncated");
            return -EIO;
        }
        if (marker == RME_STREAM_EOS) {
            return 0;
        }
        if (marker != RME_STREAM_RECORD) {
            error_report("rme-guest: bad realm stream marker 0x%02x",
                         marker);
            return -EINVAL;
        }
        if (qemu_get_buffer(f, s->buf, RMM_MIG_HEADER_SIZE) !=
            RMM_MIG_HEADER_SIZE) {
            error_report("rme-guest: realm stream truncated in a record "
                         "header");
            return -EIO;
        }
        len = rmm_mig_record_length(s->buf);
        if (len < RMM_MIG_HEADER_SIZE || len > RMM_MIG_RECORD_MAX) {
            error_report("rme-guest: bad realm record header (type %u, "
                         "length %u)", s->buf[5], len);
            return -EINVAL;
        }
        if (qemu_get_buffer(f, s->buf + RMM_MIG_HEADER_SIZE,
                            len - RMM_MIG_HEADER_SIZE) !=
            len - RMM_MIG_HEADER_SIZE) {
            error_report("rme-guest: realm stream truncated in a %s record",
                         rmm_mig_record_type_name(s->buf[5]));
            return -EIO;
        }
        if (!s->g->ops->mig_import_record(s->g, s->buf, len, &err)) {
            error_prepend(&err, "rme-guest: realm record rejected: ");
            error_report_err(err);
            return -EINVAL;
        }
    }
}

static void rme_stream_send_token(int kind, const uint8_t *token)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    uint8_t msg[1 + RMM_MIG_TOKEN_SIZE];

    msg[0] = kind;
    memcpy(msg + 1, token, RMM_MIG_TOKEN_SIZE);
    if (migrate_send_rp_cgs_token(mis, msg, sizeof(msg)) < 0) {
        warn_report("rme-guest: cannot send the realm's %s token to the "
                    "source", kind == RME_TOKEN_COMMIT ? "commit" : "abort");
    }
}

bool rme_stream_incoming_commit(RmeGuest *g, Error **errp)
{
    RmeStream *s = g->stream;
    MigrationIncomingState *mis = migration_incoming_get_current();
    uint8_t token[RMM_MIG_TOKEN_SIZE];

    if (!s->in_active) {
        error_setg(errp, "rme-guest: the migration stream carried no "
                   "realm");
        return false;
    }
    if (!mis->to_src_file) {
        error_setg(errp, "rme-guest: a realm migrates only with the "
                   "'return-path' capability");
        return false;
    }
    if (!g->ops->mig_import_commit(g, token, errp)) {
        return false;
    }
    s->committed = true;
    s->in_active = false;
    rme_stream_send_token(RME_TOKEN_COMMIT, token);
    trace_rme_stream_committed();
    return true;
}

static int rme_stream_load_cleanup(void *opaque)
{
    RmeStream *s = opaque;
    uint8_t token[RMM_MIG_TOKEN_SIZE];

    if (s->in_active) {
        /* The import failed: the source may have its realm back. */
        s->in_active = false;
        if (s->g->ops->mig_import_abort(s->g, token)) {
            rme_stream_send_token(RME_TOKEN_ABORT, token);
        }
        trace_rme_stream_import_aborted();
    }
    return 0;
}

/* ---- Both ---- */

void rme_stream_fill_info(RmeGuest *g, bool incoming, MigrationInfo *info)
{
    RmeStream *s = g->stream;
    RealmMigrationInfo *r;
    RmmMigStats st;

    if (!s || info->realm) {
        return;
    }
    g->ops->mig_stats(g, &st);
    r = g_new0(RealmMigrationInfo, 1);
    r->state = g_strdup(rme_stream_phase_name(s));
    r->pages = st.data_granules;
    r->bytes = st.total_bytes;
    r->epochs = st.epoch;
    r->ripas_records = st.ripas_records;
    r->ripas_granules = st.ripas_granules;
    r->recs = st.rec_records;
    r->dirty_pages = incoming ? 0 : s->todo_count + s->next_count;
    info->realm = r;
}

static bool rme_stream_is_active(void *opaque)
{
    return true;
}

static SaveVMHandlers rme_stream_handlers = {
    .save_prepare = rme_stream_save_prepare,
    .save_setup = rme_stream_save_setup,
    .save_live_iterate = rme_stream_save_iterate,
    .save_complete = rme_stream_save_complete,
    .save_cleanup = rme_stream_save_cleanup,
    .state_pending_estimate = rme_stream_state_pending,
    .state_pending_exact = rme_stream_state_pending_exact,
    .is_active = rme_stream_is_active,
    .load_setup = rme_stream_load_setup,
    .load_state = rme_stream_load_state,
    .load_cleanup = rme_stream_load_cleanup,
};

bool rme_stream_init(RmeGuest *g, Error **errp)
{
    RmeStream *s = g_new0(RmeStream, 1);
    CPUState *cs;

    s->g = g;
    s->nr_granules = g->ram_size >> RMM_GRANULE_SHIFT;
    s->words = DIV_ROUND_UP(s->nr_granules, 64);
    s->buf = g_malloc(RMM_MIG_RECORD_MAX);
    qemu_mutex_init(&s->token_lock);
    g->stream = s;

    /*
     * Realm vCPU registers travel only sealed in REC records: the plain
     * CPU sections (loaded after all iterable sections) must neither
     * carry them nor overwrite what the import restored.
     */
    CPU_FOREACH(cs) {
        cpu_vmstate_unregister(cs);
    }
    if (register_savevm_live("rme-realm", 0, 1, &rme_stream_handlers,
                             s) < 0) {
        error_setg(errp, "rme-guest: cannot register the realm's "
                   "migration handler");
        return false;
    }
    if (!g->migration_key) {
        error_setg(&s->blocker, "rme-guest: a realm migrates only with "
                   "migration-key=<id of a secret object with a 32-byte "
                   "key shared with the destination>");
        if (migrate_add_blocker(&s->blocker, errp) < 0) {
            return false;
        }
    }
    return true;
}
