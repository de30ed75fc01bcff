/*
 * Migration of Arm CCA realms: the realm's migration stream
 *
 * A realm's protected memory, RIPAS map and REC (vCPU) state leave the
 * source RMM only as sealed records (target/arm/rmi-mig.h has the record
 * format), which this handler carries in its own section of QEMU's
 * migration stream; shared memory and devices take QEMU's normal paths.
 *
 * The export loop is the host driver's (rme-mig-driver.c, shared with the
 * model's unit tests and fuzzer); this file connects it to the backend
 * and to QEMU's stream.
 *
 * Source:  setup     MIG_START: the HELLO of the RMMs' handshake
 *          iterate   (first) the destination RMM's ACCEPT from the return
 *                    path to MIG_ACCEPT; then IMMUTABLE, the RIPAS map;
 *                    RIPAS changes, DATA of dirty granules, EPOCH when a
 *                    pass over the dirty log is done; the dirty log is
 *                    read again only between passes
 *          complete  (VM stopped) pause, final passes, one REC per vCPU,
 *                    END; then the destination's commit token on the
 *                    return path makes the realm MIGRATED here
 * Dest:    load      the HELLO to MIG_IMPORT_HELLO, whose ACCEPT goes back
 *                    on the return path; every record, in order, into
 *                    the IMPORTING realm
 *          commit    once QEMU's whole stream is loaded: IMPORT_COMMIT,
 *                    the commit token goes back; only then may RECs enter
 *          failure   IMPORT_ABORT, the abort token goes back so that the
 *                    source may run the realm again
 *
 * Within a section part the stream is a list of
 *   RME_STREAM_RECORD, envelope, <record of the RMM>
 *   RME_STREAM_SYNC     (multifd: every lane record sent before it is
 *                        in before what follows, see below)
 * closed by RME_STREAM_EOS.  The envelope is this stream's own framing
 * (RME_STREAM_ENV_SIZE bytes: kind, lane, epoch as big-endian 32 bits,
 * length as big-endian 32 bits): the stream routes and cuts records by
 * it and never reads the RMM's header; the RMM refuses a record whose
 * envelope says something else than the record (rmi-mig-ops.h).  A
 * lane's device state packet on a multifd channel is an envelope and
 * its record.
 *
 * DATA on parallel lanes (multifd) is rme-stream-lanes.c's; the return
 * path, tokens and the confidential guest migration handler are
 * rme-stream-rp.c's (rme-stream-internal.h has the map).  The realm's
 * dirty rate counts for auto-converge with RAM's
 * (migration_dirty_bytes_report()).
 *
 * The handler registers itself once the machine is complete, for a
 * machine whose confidential guest is an rme-guest.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/bswap.h"
#include "qemu/timer.h"
#include "hw/boards.h"
#include "hw/core/cpu.h"
#include "system/system.h"
#include "migration/blocker.h"
#include "migration/register.h"
#include "migration/misc.h"
#include "migration/client-options.h"
#include "migration/cgs.h"
#include "migration.h"
#include "options.h"
#include "qemu-file.h"
#include "multifd.h"
#include "rme-stream-internal.h"
#include "trace.h"


RmmMigPhase rme_stream_phase(RmeStream *s)
{
    return rmm(s)->status(s->g, NULL);
}

bool rme_stream_rmm(bool ok, char **why, Error **errp)
{
    g_autofree char *msg = g_steal_pointer(why);

    if (!ok) {
        error_setg(errp, "%s", msg ? msg : "rme-guest: the RMM refused");
    }
    return ok;
}

/* The realm's migration state as query-migrate reports it. */
RealmMigrationState rme_stream_state(RmeStream *s)
{
    if (s->migrated) {
        return REALM_MIGRATION_STATE_MIGRATED;
    }
    switch (rme_stream_phase(s)) {
    case RMM_MIG_OUT_EXPORTING:
        return REALM_MIGRATION_STATE_EXPORTING;
    case RMM_MIG_OUT_PAUSED:
        return REALM_MIGRATION_STATE_PAUSED;
    case RMM_MIG_OUT_ENDED:
        return REALM_MIGRATION_STATE_ENDED;
    case RMM_MIG_OUT_MIGRATED:
        return REALM_MIGRATION_STATE_MIGRATED;
    case RMM_MIG_IN_IMPORTING:
        return REALM_MIGRATION_STATE_IMPORTING;
    case RMM_MIG_IN_ABORTED:
        return REALM_MIGRATION_STATE_ABORTED;
    default:
        return s->committed || s->out_ran ? REALM_MIGRATION_STATE_RUNNING
                                          : REALM_MIGRATION_STATE_NONE;
    }
}

const char *rme_stream_state_name(RmeStream *s)
{
    return RealmMigrationState_str(rme_stream_state(s));
}

/* ---- Source ---- */

/*
 * The switchover runs the realm's completion with the BQL held and the
 * VM stopped (migration_completion_precopy()).  Waiting there on the
 * stream, on the return path or on the lanes must not freeze the
 * monitor: the realm's completion lets the BQL go and every RMM command
 * takes it again (BQL_LOCK_GUARD), as in pre-copy; these two drop it
 * around a wait in any other context that holds it.  Meanwhile the
 * vCPUs stay stopped ('cont' is refused in finish-migrate);
 * migrate_cancel and a broken connection end the wait.
 */
bool rme_stream_wait_begin(void)
{
    if (!bql_locked()) {
        return false;
    }
    bql_unlock();
    return true;
}

void rme_stream_wait_end(bool relock)
{
    if (relock) {
        bql_lock();
    }
}

/*
 * Where the driver's records go (RmeMigSink).  The driver calls the
 * RMM's commands itself (each takes its own locks); none of these needs
 * the BQL, and the stream, which may block, is written without it.
 */

void rme_stream_put_env(uint8_t env[RME_STREAM_ENV_SIZE],
                        const RmiMigRecord *rec)
{
    env[0] = rec->kind;
    env[1] = rec->lane;
    stl_be_p(env + 2, rec->epoch);
    stl_be_p(env + 6, rec->len);
}

bool rme_stream_parse_env(const uint8_t *env, RmiMigRecord *rec)
{
    rec->kind = env[0];
    rec->lane = env[1];
    rec->epoch = ldl_be_p(env + 2);
    rec->len = ldl_be_p(env + 6);
    return rec->len >= 1 && rec->len <= RMM_MIG_RECORD_MAX &&
           rec->lane <= RMM_MIG_LANES_MAX;
}

static bool rme_sink_emit(void *opaque, const RmiMigRecord *rec, char **err)
{
    RmeStream *s = opaque;
    uint8_t env[RME_STREAM_ENV_SIZE];
    bool relock;

    trace_rme_stream_record_out(rmi_mig_record_type_name(rec->kind),
                                rec->len);
    rme_stream_put_env(env, rec);
    relock = rme_stream_wait_begin();
    qemu_put_byte(s->f, RME_STREAM_RECORD);
    qemu_put_buffer(s->f, env, sizeof(env));
    qemu_put_buffer(s->f, rec->buf, rec->len);
    if (s->lanes && rec->kind == RMM_MIG_RT_EPOCH) {
        /*
         * The destination holds the next epoch's lane records until it
         * has this: out with it now, or both sides wait for each other.
         */
        qemu_fflush(s->f);
    }
    rme_stream_wait_end(relock);
    return true;        /* a stream error shows in qemu_file_get_error() */
}

static bool rme_sink_stop_iteration(void *opaque)
{
    RmeStream *s = opaque;

    return migration_rate_exceeded(s->f);
}

static const RmeMigSink rme_stream_sink = {
    .emit = rme_sink_emit,
    .stop_iteration = rme_sink_stop_iteration,
    .emit_lane = rme_sink_emit_lane,
    .lanes_flush = rme_sink_lanes_flush,
};

/*
 * A failed step: what failed (the stream's own step, or the driver's
 * RMM command or sink) goes to the migration.
 */
static int rme_stream_fail(RmeStream *s)
{
    g_autofree char *why = s->drv ? rme_mig_driver_take_error(s->drv) : NULL;
    Error *err = g_steal_pointer(&s->err);

    if (!err) {
        error_setg(&err, "%s", why ? why : "rme-guest: the realm's export "
                   "failed");
    }
    migration_file_set_error(-EINVAL, err);
    return -EINVAL;
}

static int rme_stream_save_prepare(void *opaque, Error **errp)
{
    if (migrate_postcopy_ram() || migrate_background_snapshot() ||
        migrate_mapped_ram() || migrate_colo()) {
        error_setg(errp, "rme-guest: realms migrate with pre-copy only "
                   "(no postcopy-ram, background-snapshot, mapped-ram or "
                   "x-colo)");
        return -EINVAL;
    }
    if (!migrate_return_path()) {
        error_setg(errp, "rme-guest: migrating a realm needs the "
                   "'return-path' capability: the source realm is given up "
                   "only when the destination's commit comes back on it");
        return -EINVAL;
    }
    return 0;
}

static int rme_stream_save_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    g_autofree uint8_t *buf = g_malloc(RMM_MIG_RECORD_MAX);
    RmiMigRecord hello = { .buf = buf };
    char *why = NULL;
    bool rp_open;

    if (rme_stream_save_prepare(opaque, errp) < 0) {
        return -EINVAL;
    }
    /*
     * The capability is not the channel: savevm and snapshot-save keep
     * whatever capabilities the last migration set (libvirt leaves
     * return-path on) and have no destination to answer the HELLO.
     * Only an outgoing migration whose return path is open goes on.
     */
    qemu_mutex_lock(&s->token_lock);
    rp_open = s->rp_open;
    qemu_mutex_unlock(&s->token_lock);
    if (!rp_open) {
        error_setg(errp, "rme-guest: a realm is saved only by a live "
                   "migration to a destination that answers on the return "
                   "path (no savevm or snapshots)");
        return -EINVAL;
    }
    if (!rme_stream_rmm(rmm(s)->start(s->g, &hello, &why), &why, errp)) {
        return -EINVAL;
    }
    s->out_active = true;
    s->out_ran = true;
    s->migrated = false;
    s->completed = false;
    s->complete_ms = 0;
    s->final_granules = 0;
    qemu_mutex_lock(&s->token_lock);
    s->token_kind = 0;
    g_clear_pointer(&s->accept, g_bytes_unref);
    s->refused = false;
    s->hs_wait = true;
    qemu_mutex_unlock(&s->token_lock);
    /* DATA on the multifd channels, one lane each, when they carry it. */
    s->lanes = multifd_device_state_supported() ?
               MIN(migrate_multifd_channels(), RMM_MIG_LANES_MAX) : 0;
    s->drv = rme_mig_driver_new(rmm(s), s->g, &rme_stream_sink, s,
                                s->g->ram_base, s->nr_granules, s->lanes);
    s->f = f;
    trace_rme_stream_save_setup(s->nr_granules, s->lanes);

    /* The HELLO goes out now: the destination answers on the return path */
    rme_sink_emit(s, &hello, NULL);
    qemu_put_byte(f, RME_STREAM_EOS);
    qemu_fflush(f);
    return qemu_file_get_error(f);
}

/*
 * The rest of the handshake, once: MIG_ACCEPT with the destination's
 * answer, then what setup would have sent (IMMUTABLE, RIPAS map, first
 * read of the dirty log).  From the first iteration, without the BQL;
 * a migration that completes before any iteration waits here with it.
 */
static int rme_stream_finish_handshake(RmeStream *s)
{
    g_autoptr(GBytes) accept = NULL;
    int64_t t0;
    bool ok;

    if (!s->hs_wait) {
        return 0;
    }
    t0 = qemu_clock_get_us(QEMU_CLOCK_REALTIME);
    accept = rme_stream_wait_accept(s);
    /* What the handshake costs the migration: the stream idles this long */
    trace_rme_stream_handshake_wait(qemu_clock_get_us(QEMU_CLOCK_REALTIME) -
                                    t0);
    if (!accept) {
        return -EIO;
    }
    trace_rme_stream_record_in("ACCEPT", g_bytes_get_size(accept));
    ok = rme_stream_accept(s, accept);
    if (!ok || rme_mig_driver_setup(s->drv)) {
        return -EINVAL;
    }
    /* The first read of the log is every granule: no dirty rate yet. */
    s->logged = rme_mig_driver_logged(s->drv);
    qemu_mutex_lock(&s->token_lock);
    s->hs_wait = false;
    qemu_mutex_unlock(&s->token_lock);
    return 0;
}

uint64_t rme_stream_pending_bytes(RmeStream *s, uint64_t dirty)
{
    if (!s->out_active) {
        return 0;
    }
    /* Before the handshake nothing is known dirty yet: all of it is. */
    return (s->hs_wait ? s->nr_granules : dirty) * RMM_MIG_DATA_ENTRY_SIZE;
}

/*
 * The realm's part of the switchover, as QEMU weighs it: QEMU switches
 * over once the pending bytes fit its threshold, the bandwidth it
 * expects for the switchover times downtime-limit.  A realm's records
 * cost more than RAM's pages at that bandwidth (sealed, on fewer
 * streams, opened behind them on the destination), so the realm reports
 * the larger of its records' size and what its final passes would take
 * (from what exporting cost in pre-copy) times that bandwidth.
 */
static uint64_t rme_stream_switchover_bytes(RmeStream *s)
{
    uint64_t dirty = rme_mig_driver_dirty(s->drv);
    uint64_t bytes = rme_stream_pending_bytes(s, dirty);
    uint64_t limit_ms = migrate_downtime_limit();
    uint64_t threshold = migrate_get_current()->threshold_size;
    uint64_t fresh, us, cost;

    if (s->hs_wait || !limit_ms || !threshold) {
        return bytes;
    }
    fresh = rme_mig_driver_fresh(s->drv);
    us = rme_mig_driver_switchover_us(s->drv, dirty, fresh);
    cost = (double)threshold * us / (limit_ms * 1000.0);
    /*
     * Not before the first pass is over: what a first send costs the
     * destination's host (memory for the granule) can change in the
     * middle of it, and a pass cut short leaves its first sends to the
     * downtime.
     */
    if (!rme_mig_driver_passes(s->drv)) {
        cost = MAX(cost, threshold + 1);
    }
    trace_rme_stream_switchover_cost(dirty, fresh, us, bytes, cost,
                                     threshold);
    return MAX(bytes, cost);
}

static void rme_stream_state_pending(void *opaque, uint64_t *must_precopy,
                                     uint64_t *can_postcopy)
{
    RmeStream *s = opaque;

    if (s->out_active) {
        *must_precopy += rme_stream_switchover_bytes(s);
    }
}

static void rme_stream_state_pending_exact(void *opaque,
                                           uint64_t *must_precopy,
                                           uint64_t *can_postcopy)
{
    RmeStream *s = opaque;

    uint64_t logged;

    if (s->out_active && !s->hs_wait) {
        rme_mig_driver_sync(s->drv);
        /* What the realm dirtied counts for auto-converge with RAM's. */
        logged = rme_mig_driver_logged(s->drv);
        trace_rme_stream_dirty_report(logged - s->logged);
        migration_dirty_bytes_report((logged - s->logged) <<
                                     RMM_GRANULE_SHIFT);
        s->logged = logged;
    }
    rme_stream_state_pending(opaque, must_precopy, can_postcopy);
}

static int rme_stream_save_iterate(QEMUFile *f, void *opaque)
{
    RmeStream *s = opaque;
    int ret = rme_stream_finish_handshake(s);

    if (!ret) {
        ret = rme_mig_driver_iterate(s->drv);
    }
    qemu_put_byte(f, RME_STREAM_EOS);
    if (ret < 0) {
        return rme_stream_fail(s);
    }
    return ret ? ret : qemu_file_get_error(f);
}

static unsigned rme_stream_nr_vcpus(void)
{
    unsigned n = 0;
    CPUState *cs;

    CPU_FOREACH(cs) {
        n++;
    }
    return n;
}

/*
 * The realm's part of the switchover: final passes, one REC per vCPU,
 * END.  Nothing is left for the destination to ask for afterwards.
 */
static int rme_stream_complete_records(RmeStream *s, QEMUFile *f,
                                       unsigned nr_vcpus)
{
    MigrationState *ms = migrate_get_current();
    uint64_t left;
    int ret;

    if (rme_stream_finish_handshake(s) < 0) {
        return -EINVAL;
    }
    ret = rme_mig_driver_complete(s->drv, nr_vcpus, &left);
    if (ret == RME_MIG_NOT_CONVERGED) {
        error_setg(&s->err, "rme-guest: the realm still has %" PRIu64
                   " granules to export after %d final passes", left,
                   RME_MIG_FINAL_PASSES);
    }
    if (ret < 0) {
        return -EINVAL;
    }
    /*
     * After END the destination can commit: from then on the source
     * realm only runs again with the destination's abort token.  Do not
     * hand it over on a stream that is already broken.
     */
    if (qemu_file_get_error(f) || migrate_has_error(ms)) {
        error_setg(&s->err, "rme-guest: the migration stream failed before "
                   "the realm's final record");
        return -EIO;
    }
    return rme_mig_driver_end(s->drv) ? -EINVAL : 0;
}

static int rme_stream_save_complete(QEMUFile *f, void *opaque)
{
    RmeStream *s = opaque;
    int64_t t0 = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    RmmMigStats st;
    uint64_t granules, seal0, emit0, seal_us, emit_us;
    unsigned nr_vcpus;
    bool relock;
    int ret;

    /* The VM is stopped; the BQL only for each RMM command from here. */
    rme_mig_driver_times(s->drv, &seal0, &emit0);
    rmm(s)->status(s->g, &st);
    granules = st.data_granules;
    nr_vcpus = rme_stream_nr_vcpus();
    relock = rme_stream_wait_begin();
    ret = rme_stream_complete_records(s, f, nr_vcpus);
    rme_stream_wait_end(relock);
    rmm(s)->status(s->g, &st);
    s->completed = true;
    s->final_granules = st.data_granules - granules;
    s->complete_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - t0;
    trace_rme_stream_complete(ret, s->complete_ms, s->final_granules);
    rme_mig_driver_times(s->drv, &seal_us, &emit_us);
    trace_rme_stream_complete_cost(seal_us - seal0, emit_us - emit0);
    if (ret < 0) {
        return rme_stream_fail(s);
    }
    qemu_put_byte(f, RME_STREAM_EOS);
    trace_rme_stream_end();
    return qemu_file_get_error(f);
}

static void rme_stream_save_cleanup(void *opaque)
{
    RmeStream *s = opaque;
    RmmMigPhase phase;

    if (!s->out_active) {
        return;
    }
    /* A migration that stopped before completion gives the realm back. */
    phase = rme_stream_phase(s);
    if (phase == RMM_MIG_OUT_EXPORTING || phase == RMM_MIG_OUT_PAUSED) {
        Error *err = NULL;

        if (!rme_stream_abort_out(s, &err)) {
            error_report_err(err);
        }
    }
    g_clear_pointer(&s->drv, rme_mig_driver_free);
    s->f = NULL;
    s->out_active = false;
    qemu_mutex_lock(&s->token_lock);
    s->hs_wait = false;
    g_clear_pointer(&s->accept, g_bytes_unref);     /* a late one */
    qemu_mutex_unlock(&s->token_lock);
    trace_rme_stream_save_cleanup(rme_stream_state_name(s));
}

/* ---- Destination ---- */

static int rme_stream_load_setup(QEMUFile *f, void *opaque, Error **errp)
{
    RmeStream *s = opaque;
    char *why = NULL;

    if (!rme_stream_rmm(rmm(s)->import_start(s->g, &why), &why, errp)) {
        return -EINVAL;
    }
    s->in_active = true;
    s->committed = false;
    s->in_granules = s->in_records = s->in_read_us = s->in_import_us = 0;
    rme_stream_lanes_load_setup(s);
    trace_rme_stream_load_setup();
    return 0;
}

/* The source's HELLO: this RMM's ACCEPT goes back on the return path. */
static int rme_stream_load_hello(RmeStream *s, const RmiMigRecord *hello)
{
    g_autofree uint8_t *buf = g_malloc(RMM_MIG_RECORD_MAX);
    RmiMigRecord accept = { .buf = buf };
    Error *err = NULL;
    char *why = NULL;

    if (!cgs_migration_has_rp()) {
        error_report("rme-guest: a realm migrates only with the "
                     "'return-path' capability");
        return -EINVAL;
    }
    if (!rme_stream_rmm(rmm(s)->import_hello(s->g, hello, &accept, &why),
                        &why, &err)) {
        rme_stream_refuse(err);
        error_report_err(err);
        return -EINVAL;
    }
    trace_rme_stream_record_out("ACCEPT", accept.len);
    if (rme_stream_send_rp(RME_RP_ACCEPT, accept.buf, accept.len) < 0) {
        error_report("rme-guest: cannot answer the realm's handshake on "
                     "the return path");
        return -EIO;
    }
    return 0;
}

/* The next record of @f, by its envelope, into @rec (s->buf). */
static int rme_stream_get_record(RmeStream *s, QEMUFile *f, RmiMigRecord *rec)
{
    uint8_t env[RME_STREAM_ENV_SIZE];

    if (qemu_get_buffer(f, env, sizeof(env)) != sizeof(env)) {
        error_report("rme-guest: realm stream truncated in an envelope");
        return -EIO;
    }
    rec->buf = s->buf;
    if (!rme_stream_parse_env(env, rec) || rec->lane) {
        error_report("rme-guest: bad realm record envelope (kind %u, lane "
                     "%u, length %u)", rec->kind, rec->lane, rec->len);
        return -EINVAL;
    }
    if (qemu_get_buffer(f, rec->buf, rec->len) != rec->len) {
        error_report("rme-guest: realm stream truncated in a %s record",
                     rmi_mig_record_type_name(rec->kind));
        return -EIO;
    }
    trace_rme_stream_record_in(rmi_mig_record_type_name(rec->kind),
                               rec->len);
    return 0;
}

static int rme_stream_load_state(QEMUFile *f, void *opaque, int version_id)
{
    RmeStream *s = opaque;
    RmiMigRecord rec;
    Error *err = NULL;
    char *why = NULL;
    RmmMigStats st;
    int64_t t0, t1;
    int marker, ret;

    if (!s->in_active) {
        error_report("rme-guest: realm records without an import");
        return -EINVAL;
    }
    for (;;) {
        t0 = g_get_monotonic_time();
        marker = qemu_get_byte(f);
        if (qemu_file_get_error(f)) {
            error_report("rme-guest: realm stream truncated");
            return -EIO;
        }
        if (marker == RME_STREAM_EOS) {
            return 0;
        }
        if (marker == RME_STREAM_SYNC && migrate_multifd()) {
            /* Every lane record sent before this is in. */
            multifd_recv_sync_main();
            continue;
        }
        if (marker != RME_STREAM_RECORD) {
            error_report("rme-guest: bad realm stream marker 0x%02x",
                         marker);
            return -EINVAL;
        }
        ret = rme_stream_get_record(s, f, &rec);
        if (ret < 0) {
            return ret;
        }
        t1 = g_get_monotonic_time();
        s->in_read_us += t1 - t0;
        s->in_records++;
        if (rec.kind == RMM_MIG_RT_HELLO) {
            if (rme_stream_load_hello(s, &rec) < 0) {
                return -EINVAL;
            }
            continue;
        }
        if (!rme_stream_rmm(rmm(s)->import(s->g, &rec, &why), &why, &err)) {
            error_prepend(&err, "rme-guest: realm record rejected: ");
            rme_stream_in_fail(s, err);
            rme_stream_refuse(err);
            error_report_err(err);
            return -EINVAL;
        }
        s->in_import_us += g_get_monotonic_time() - t1;
        if (rec.kind == RMM_MIG_RT_EPOCH) {
            rmm(s)->status(s->g, &st);
            trace_rme_stream_in_epoch_cost(s->in_epoch,
                                           st.data_granules - s->in_granules,
                                           s->in_records, s->in_read_us,
                                           s->in_import_us);
            s->in_granules = st.data_granules;
            s->in_records = s->in_read_us = s->in_import_us = 0;
            rme_stream_in_epoch(s);
        }
    }
}

static int rme_stream_load_cleanup(void *opaque)
{
    RmeStream *s = opaque;
    uint8_t token[RMM_MIG_TOKEN_SIZE];

    rme_stream_lanes_load_cleanup(s);
    if (s->in_active) {
        /* The import failed: the source may have its realm back. */
        s->in_active = false;
        if (rmm(s)->import_abort(s->g, token)) {
            rme_stream_send_token(s, RME_RP_ABORT, token);
        }
        trace_rme_stream_import_aborted();
    }
    return 0;
}

/* ---- Both ---- */

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
    .load_state_buffer = rme_stream_load_state_buffer,
    .load_cleanup = rme_stream_load_cleanup,
};

/*
 * Once the machine is complete: the handler of a machine whose
 * confidential guest is an rme-guest the board set up, with a migration
 * blocker while the realm cannot migrate.
 */
static void rme_stream_machine_done(Notifier *n, void *data)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    RmeGuest *g = ms->cgs ? (RmeGuest *)object_dynamic_cast(OBJECT(ms->cgs),
                                                           TYPE_RME_GUEST)
                          : NULL;
    const char *blocked;
    Error *err = NULL;
    RmeStream *s;

    if (!g || !g->ops) {
        return;
    }
    s = g_new0(RmeStream, 1);
    s->g = g;
    s->nr_granules = g->ram_size >> RMM_GRANULE_SHIFT;
    s->buf = g_malloc(RMM_MIG_RECORD_MAX);
    qemu_mutex_init(&s->token_lock);
    qemu_mutex_init(&s->lane_lock);
    qemu_cond_init(&s->lane_cond);
    qemu_cond_init(&s->accept_cond);
    if (register_savevm_live("rme-realm", 0, 1, &rme_stream_handlers,
                             s) < 0) {
        error_report("rme-guest: cannot register the realm's migration "
                     "handler");
        exit(1);
    }
    rme_stream_rp_init(s);
    blocked = rme_guest_migration_blocked(g);
    if (blocked) {
        error_setg(&s->blocker, "%s", blocked);
        if (migrate_add_blocker(&s->blocker, &err) < 0) {
            error_report_err(err);
            exit(1);
        }
    }
}

static Notifier rme_stream_machine_done_notifier = {
    .notify = rme_stream_machine_done,
};

static void rme_stream_register(void)
{
    qemu_add_machine_init_done_notifier(&rme_stream_machine_done_notifier);
}

type_init(rme_stream_register)
