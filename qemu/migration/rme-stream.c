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
 * Lanes: with multifd (and no multifd compression), DATA records are
 * sealed by one driver worker per multifd channel, each on its own lane
 * of the RMM, and go out on the multifd channels as device state
 * packets, in parallel; every other record stays in this section, in
 * order.  Before an EPOCH the source syncs the channels
 * (multifd_send_sync_main()) and puts RME_STREAM_SYNC here; the
 * destination imports lane records in its multifd threads, each once
 * its epoch is open here, and at RME_STREAM_SYNC waits for the channels
 * (multifd_recv_sync_main()), so that the EPOCH finds all of its
 * epoch's granules in.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/cutils.h"
#include "qemu/host-utils.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "hw/core/cpu.h"
#include "migration/blocker.h"
#include "migration/register.h"
#include "migration/misc.h"
#include "migration/client-options.h"
#include "system/cpu-throttle.h"
#include "migration.h"
#include "migration-stats.h"
#include "options.h"
#include "qemu-file.h"
#include "multifd.h"
#include "rme-stream.h"
#include "rme-mig-driver.h"
#include "trace.h"

#define RME_STREAM_EOS          0x00
#define RME_STREAM_RECORD       0x01
#define RME_STREAM_SYNC         0x02
#define RME_STREAM_ENV_SIZE     10      /* kind, lane, epoch, length */

/* Messages on the return path: one byte of kind, then the token. */
#define RME_TOKEN_COMMIT        0x01
#define RME_TOKEN_ABORT         0x02
#define RME_RP_ACCEPT           0x03    /* then the ACCEPT record */
#define RME_RP_REFUSED          0x04    /* then why, as text (no NUL) */
#define RME_RP_REFUSED_MAX      1024

typedef struct RmeStream {
    RmeGuest *g;
    Error *blocker;
    uint8_t *buf;               /* one record (destination) */
    uint64_t nr_granules;       /* of protected RAM */

    /* Source */
    bool out_active;
    bool out_ran;               /* a migration went out (and came back) */
    RmeMigDriver *drv;          /* while out_active */
    QEMUFile *f;                /* where the driver's records go */
    Error *err;                 /* of the stream's own step that failed */
    QemuMutex token_lock;
    int token_kind;             /* RME_TOKEN_*, 0: none */
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool migrated;              /* sticky: committed elsewhere */
    bool hs_wait;               /* HELLO out, no ACCEPT taken (token_lock) */
    GBytes *accept;             /* the ACCEPT, under token_lock */
    QemuSemaphore accept_sem;   /* posted when it arrives */
    /* auto-converge: the current period (rme_stream_throttle) */
    int64_t period_start;       /* ms, QEMU_CLOCK_REALTIME; 0: none */
    uint64_t period_xfer;       /* migration_transferred_bytes() then */
    uint64_t period_logged;     /* rme_mig_driver_logged() then */
    unsigned dirty_high;        /* periods in a row over the threshold */
    /* The realm's part of the switchover (rme_stream_save_complete) */
    bool completed;             /* it ran in this migration */
    uint64_t complete_ms;       /* how long, waits on the stream included */
    uint64_t final_granules;    /* DATA granules it sent */
    unsigned lanes;             /* DATA lanes (multifd), 0: none */

    /* The epochs lane records wait for (destination), under @lane_lock. */
    QemuMutex lane_lock;
    QemuCond lane_cond;
    uint32_t in_epoch;          /* EPOCH records imported */
    bool in_failed;             /* the import failed: lanes stop */

    /* Destination */
    bool in_active;
    bool committed;
    int sent_kind;              /* RME_TOKEN_* sent to the source, 0: none */
    uint8_t sent[RMM_MIG_TOKEN_SIZE];
} RmeStream;

/* The realm's migration commands (rmi-mig-ops.h); their opaque: @g. */
static const RmiMigOps *rmm(RmeStream *s)
{
    return s->g->ops->mig;
}

static RmmMigPhase rme_stream_phase(RmeStream *s)
{
    return rmm(s)->status(s->g, NULL);
}

/*
 * An RMM command said @ok; if not, @errp gets what it said in *@why (or
 * that it failed).  *@why is freed; by reference, as the command that
 * sets it is an argument too.
 */
static bool rme_stream_rmm(bool ok, char **why, Error **errp)
{
    g_autofree char *msg = g_steal_pointer(why);

    if (!ok) {
        error_setg(errp, "%s", msg ? msg : "rme-guest: the RMM refused");
    }
    return ok;
}

/* The realm's migration state as query-migrate reports it. */
static RealmMigrationState rme_stream_state(RmeStream *s)
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

static const char *rme_stream_state_name(RmeStream *s)
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
static bool rme_stream_wait_begin(void)
{
    if (!bql_locked()) {
        return false;
    }
    bql_unlock();
    return true;
}

static void rme_stream_wait_end(bool relock)
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

/* The envelope of @rec (RME_STREAM_ENV_SIZE bytes) to @f. */
static void rme_stream_put_env(QEMUFile *f, const RmiMigRecord *rec)
{
    qemu_put_byte(f, rec->kind);
    qemu_put_byte(f, rec->lane);
    qemu_put_be32(f, rec->epoch);
    qemu_put_be32(f, rec->len);
}

static bool rme_sink_emit(void *opaque, const RmiMigRecord *rec, char **err)
{
    RmeStream *s = opaque;
    bool relock;

    trace_rme_stream_record_out(rmi_mig_record_type_name(rec->kind),
                                rec->len);
    relock = rme_stream_wait_begin();
    qemu_put_byte(s->f, RME_STREAM_RECORD);
    rme_stream_put_env(s->f, rec);
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

/* A lane's record goes out on a multifd channel: its envelope, itself. */
static bool rme_sink_emit_lane(void *opaque, const RmiMigRecord *rec,
                               char **err)
{
    g_autofree uint8_t *pkt = g_malloc(RME_STREAM_ENV_SIZE + rec->len);

    trace_rme_stream_lane_out(rec->lane, rec->epoch, rec->len);
    pkt[0] = rec->kind;
    pkt[1] = rec->lane;
    stl_be_p(pkt + 2, rec->epoch);
    stl_be_p(pkt + 6, rec->len);
    memcpy(pkt + RME_STREAM_ENV_SIZE, rec->buf, rec->len);
    if (!multifd_queue_device_state((char *)"rme-realm", 0, (char *)pkt,
                                    RME_STREAM_ENV_SIZE + rec->len)) {
        *err = g_strdup("rme-guest: a multifd channel failed while it "
                        "carried the realm's DATA");
        return false;
    }
    return true;
}

/*
 * The lane records sent so far reach the destination before what this
 * section carries next: the channels synced, RME_STREAM_SYNC here.
 */
static bool rme_sink_lanes_flush(void *opaque, char **err)
{
    RmeStream *s = opaque;
    bool relock = rme_stream_wait_begin();
    int ret = multifd_send_sync_main(MULTIFD_SYNC_ALL);

    if (!ret) {
        qemu_put_byte(s->f, RME_STREAM_SYNC);
    }
    rme_stream_wait_end(relock);
    trace_rme_stream_lanes_flush(ret);
    if (ret < 0) {
        *err = g_strdup("rme-guest: the multifd channels failed while they "
                        "carried the realm's DATA");
        return false;
    }
    return true;
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

    if (rme_stream_save_prepare(opaque, errp) < 0) {
        return -EINVAL;
    }
    /*
     * The capability is not the channel: savevm and snapshot-save keep
     * whatever capabilities the last migration set (libvirt leaves
     * return-path on) and have no destination to answer the HELLO.
     * Only an outgoing migration whose return path is open goes on.
     */
    if (!migrate_get_current()->rp_state.rp_thread_created) {
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
 * The destination RMM's ACCEPT, from the return path: waits without the
 * BQL until it came, the migration failed or it was cancelled.
 */
static GBytes *rme_stream_wait_accept(RmeStream *s)
{
    MigrationState *ms = migrate_get_current();
    bool relock = rme_stream_wait_begin();
    GBytes *accept = NULL;

    while (!accept) {
        if (qemu_file_get_error(s->f) || migrate_has_error(ms) ||
            ms->state == MIGRATION_STATUS_CANCELLING ||
            ms->state == MIGRATION_STATUS_CANCELLED) {
            error_setg(&s->err, "rme-guest: the destination did not answer "
                       "the realm's handshake (stream or return path "
                       "failed, or migration cancelled)");
            break;
        }
        qemu_sem_timedwait(&s->accept_sem, 100);
        qemu_mutex_lock(&s->token_lock);
        accept = g_steal_pointer(&s->accept);
        qemu_mutex_unlock(&s->token_lock);
    }
    rme_stream_wait_end(relock);
    return accept;
}

static bool rme_stream_accept(RmeStream *s, GBytes *accept)
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
    qemu_mutex_lock(&s->token_lock);
    s->hs_wait = false;
    qemu_mutex_unlock(&s->token_lock);
    return 0;
}

static void rme_stream_state_pending(void *opaque, uint64_t *must_precopy,
                                     uint64_t *can_postcopy)
{
    RmeStream *s = opaque;

    if (s->out_active) {
        /* Before the handshake nothing is known dirty yet: all of it is. */
        *must_precopy += s->hs_wait ? s->nr_granules *
                                      RMM_MIG_DATA_ENTRY_SIZE
                                    : rme_mig_driver_pending_bytes(s->drv);
    }
}

/*
 * auto-converge for protected memory, as RAM does it for its own dirty
 * pages (ram.c, migration_trigger_throttle()): over periods of at least
 * a second, if the realm dirtied more bytes than the throttle trigger
 * threshold's share of what the stream moved, twice in a row, slow the
 * vCPUs down (cpu-throttle-initial, then cpu-throttle-increment up to
 * max-cpu-throttle).  RAM's check counts only shared memory, which a
 * realm hardly writes: without this a realm that dirties faster than
 * the link never converges.
 */
static void rme_stream_throttle(RmeStream *s)
{
    int64_t now = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    uint64_t xfer = migration_transferred_bytes();
    uint64_t logged = rme_mig_driver_logged(s->drv);
    uint64_t dirty, threshold;
    int pct;

    if (!migrate_auto_converge()) {
        return;
    }
    if (s->period_start && now - s->period_start < 1000) {
        return;
    }
    if (s->period_start) {
        dirty = (logged - s->period_logged) << RMM_GRANULE_SHIFT;
        threshold = (xfer - s->period_xfer) *
                    migrate_throttle_trigger_threshold() / 100;
        if (dirty <= threshold) {
            s->dirty_high = 0;
        } else if (++s->dirty_high >= 2) {
            s->dirty_high = 0;
            pct = cpu_throttle_active() ?
                  MIN(cpu_throttle_get_percentage() +
                      migrate_cpu_throttle_increment(),
                      migrate_max_cpu_throttle()) :
                  migrate_cpu_throttle_initial();
            cpu_throttle_set(pct);
            trace_rme_stream_throttle(dirty, threshold, pct);
        }
    }
    s->period_start = now;
    s->period_xfer = xfer;
    s->period_logged = logged;
}

static void rme_stream_state_pending_exact(void *opaque,
                                           uint64_t *must_precopy,
                                           uint64_t *can_postcopy)
{
    RmeStream *s = opaque;

    if (s->out_active && !s->hs_wait) {
        rme_mig_driver_sync(s->drv);
        rme_stream_throttle(s);
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
    uint64_t granules;
    unsigned nr_vcpus;
    bool relock;
    int ret;

    /* The VM is stopped; the BQL only for each RMM command from here. */
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
    if (ret < 0) {
        return rme_stream_fail(s);
    }
    qemu_put_byte(f, RME_STREAM_EOS);
    trace_rme_stream_end();
    return qemu_file_get_error(f);
}

/* Take the realm back, if the RMM allows it. */
static bool rme_stream_abort_out(RmeStream *s, Error **errp)
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
        have_token = s->token_kind == RME_TOKEN_ABORT;
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
    s->period_start = 0;
    s->dirty_high = 0;
    trace_rme_stream_save_cleanup(rme_stream_state_name(s));
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
    }
    qemu_mutex_unlock(&s->token_lock);
    if (!ok) {
        error_setg(errp, "rme-guest: unexpected or malformed handshake "
                   "answer on the return path (%zu bytes)", len);
        return false;
    }
    qemu_sem_post(&s->accept_sem);
    return true;
}

bool rme_stream_rp_token(RmeGuest *g, const uint8_t *buf, size_t len,
                         Error **errp)
{
    RmeStream *s = g->stream;

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
        return true;
    }
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
    if (kind != RME_TOKEN_COMMIT) {
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

bool rme_stream_token_get(RmeGuest *g, int *kind, uint8_t **buf,
                          size_t *len, Error **errp)
{
    RmeStream *s = g->stream;

    if (!s || !s->sent_kind) {
        error_setg(errp, "rme-guest: no realm token here: this QEMU has not "
                   "committed or aborted an incoming realm");
        return false;
    }
    *kind = s->sent_kind == RME_TOKEN_COMMIT ? MIGRATE_GUEST_TOKEN_KIND_COMMIT
                                             : MIGRATE_GUEST_TOKEN_KIND_ABORT;
    *buf = g_memdup2(s->sent, RMM_MIG_TOKEN_SIZE);
    *len = RMM_MIG_TOKEN_SIZE;
    return true;
}

bool rme_stream_token_put(RmeGuest *g, int kind, const uint8_t *buf,
                          size_t len, Error **errp)
{
    RmeStream *s = g->stream;
    char *why = NULL;
    bool ok;

    if (!s || rme_stream_phase(s) != RMM_MIG_OUT_ENDED) {
        error_setg(errp, "rme-guest: the realm waits for no token (its "
                   "migration state is %s)",
                   s ? rme_stream_state_name(s) : "none");
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

bool rme_stream_outgoing_resume(RmeGuest *g, Error **errp)
{
    RmeStream *s = g->stream;
    bool ok = rme_stream_abort_out(s, errp);

    trace_rme_stream_resume(ok, rme_stream_state_name(s));
    return ok;
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
    qemu_mutex_lock(&s->lane_lock);
    s->in_epoch = 0;
    s->in_failed = false;
    qemu_mutex_unlock(&s->lane_lock);
    trace_rme_stream_load_setup();
    return 0;
}

/* Lane records stop waiting: the import failed or ended. */
static void rme_stream_in_fail(RmeStream *s)
{
    qemu_mutex_lock(&s->lane_lock);
    s->in_failed = true;
    qemu_cond_broadcast(&s->lane_cond);
    qemu_mutex_unlock(&s->lane_lock);
}

/* An EPOCH record was imported: lane records of the next epoch may go. */
static void rme_stream_in_epoch(RmeStream *s)
{
    qemu_mutex_lock(&s->lane_lock);
    s->in_epoch++;
    qemu_cond_broadcast(&s->lane_cond);
    qemu_mutex_unlock(&s->lane_lock);
}

/* Send @kind and @len bytes of @buf to the source on the return path. */
static int rme_stream_send_rp(int kind, const uint8_t *buf, size_t len)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    g_autofree uint8_t *msg = g_malloc(1 + len);

    msg[0] = kind;
    memcpy(msg + 1, buf, len);
    return migrate_send_rp_cgs_token(mis, msg, 1 + len);
}

/*
 * Why the destination refuses the realm: in its own log, and to the
 * source on the return path so that the source's error says it too (the
 * RMM's errors quote no sealed value).  Frees @err.
 */
static void rme_stream_refused(Error *err)
{
    const char *why = error_get_pretty(err);
    MigrationIncomingState *mis = migration_incoming_get_current();

    if (g_str_has_prefix(why, "rme-guest: ")) {
        why += strlen("rme-guest: ");
    }

    if (mis->to_src_file) {
        rme_stream_send_rp(RME_RP_REFUSED, (const uint8_t *)why,
                           MIN(strlen(why), RME_RP_REFUSED_MAX));
    }
    error_report_err(err);
}

/* The source's HELLO: this RMM's ACCEPT goes back on the return path. */
static int rme_stream_load_hello(RmeStream *s, const RmiMigRecord *hello)
{
    MigrationIncomingState *mis = migration_incoming_get_current();
    g_autofree uint8_t *buf = g_malloc(RMM_MIG_RECORD_MAX);
    RmiMigRecord accept = { .buf = buf };
    Error *err = NULL;
    char *why = NULL;

    if (!mis->to_src_file) {
        error_report("rme-guest: a realm migrates only with the "
                     "'return-path' capability");
        return -EINVAL;
    }
    if (!rme_stream_rmm(rmm(s)->import_hello(s->g, hello, &accept, &why),
                        &why, &err)) {
        rme_stream_refused(err);
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

/*
 * An envelope (RME_STREAM_ENV_SIZE bytes at @env) into @rec; false if
 * it cannot be one of a record (the RMM judges the rest).
 */
static bool rme_stream_parse_env(const uint8_t *env, RmiMigRecord *rec)
{
    rec->kind = env[0];
    rec->lane = env[1];
    rec->epoch = ldl_be_p(env + 2);
    rec->len = ldl_be_p(env + 6);
    return rec->len >= 1 && rec->len <= RMM_MIG_RECORD_MAX &&
           rec->lane <= RMM_MIG_LANES_MAX;
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
    int marker, ret;

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
        if (rec.kind == RMM_MIG_RT_HELLO) {
            if (rme_stream_load_hello(s, &rec) < 0) {
                return -EINVAL;
            }
            continue;
        }
        if (!rme_stream_rmm(rmm(s)->import(s->g, &rec, &why), &why, &err)) {
            rme_stream_in_fail(s);
            error_prepend(&err, "rme-guest: realm record rejected: ");
            rme_stream_refused(err);
            return -EINVAL;
        }
        if (rec.kind == RMM_MIG_RT_EPOCH) {
            rme_stream_in_epoch(s);
        }
    }
}

/*
 * The main channel's load is over (failed, or ended without opening the
 * epoch a lane waits for): nothing will open it any more.  No event
 * says so to a multifd thread, and the main thread joins the multifd
 * threads before any load_cleanup runs, so a waiting lane looks.
 */
static bool rme_stream_main_load_over(void)
{
    MigrationIncomingState *mis = migration_incoming_get_current();

    return qatomic_read(&mis->load_threads_abort) ||
           qatomic_read(&mis->state) == MIGRATION_STATUS_FAILED;
}

#define RME_STREAM_LANE_POLL_MS 50

/*
 * A lane's DATA record from a multifd channel (its thread, no BQL).  It
 * waits until its epoch is open: the EPOCH that opened it went out
 * before it, but on the main channel.  If the main channel's load ends
 * first, the record is refused: waiting on would hang the destination,
 * whose main thread joins this one.
 */
static bool rme_stream_load_state_buffer(void *opaque, char *buf, size_t len,
                                         Error **errp)
{
    RmeStream *s = opaque;
    const uint8_t *p = (const uint8_t *)buf;
    RmiMigRecord rec;
    Error *err = NULL;
    char *why = NULL;
    bool failed, over = false;

    if (len < RME_STREAM_ENV_SIZE || !rme_stream_parse_env(p, &rec) ||
        rec.len != len - RME_STREAM_ENV_SIZE || !rec.lane) {
        error_setg(&err, "rme-guest: a multifd packet of the realm that is "
                   "no lane record (%zu bytes)", len);
        goto fail;
    }
    rec.buf = (uint8_t *)p + RME_STREAM_ENV_SIZE;
    trace_rme_stream_lane_in(rec.lane, rec.epoch, rec.len);
    qemu_mutex_lock(&s->lane_lock);
    while (!s->in_failed && rec.epoch == s->in_epoch + 1 &&
           !(over = rme_stream_main_load_over())) {
        qemu_cond_timedwait(&s->lane_cond, &s->lane_lock,
                            RME_STREAM_LANE_POLL_MS);
    }
    failed = s->in_failed;
    qemu_mutex_unlock(&s->lane_lock);
    if (failed) {
        error_setg(errp, "rme-guest: the realm's import failed");
        return false;
    }
    if (over) {
        error_setg(&err, "rme-guest: DATA record lane %u epoch %u came on "
                   "a multifd channel, but the main channel ended before "
                   "that epoch opened", rec.lane, rec.epoch);
        goto fail;
    }
    /* Any other epoch: the RMM says what is wrong with it. */
    if (rme_stream_rmm(rmm(s)->import(s->g, &rec, &why), &why, &err)) {
        return true;
    }
    error_prepend(&err, "rme-guest: realm record rejected: ");
fail:
    rme_stream_in_fail(s);
    error_propagate(errp, error_copy(err));
    rme_stream_refused(err);
    return false;
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
static void rme_stream_send_token(RmeStream *s, int kind,
                                  const uint8_t *token)
{
    bool sent;

    s->sent_kind = kind;
    memcpy(s->sent, token, RMM_MIG_TOKEN_SIZE);
    sent = rme_stream_send_rp(kind, token, RMM_MIG_TOKEN_SIZE) >= 0;
    if (kind == RME_TOKEN_ABORT) {
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
    char *why = NULL;

    if (!rme_stream_rmm(rmm(s)->import_commit(g, token, &why), &why, errp)) {
        return false;
    }
    s->committed = true;
    s->in_active = false;
    rme_stream_send_token(s, RME_TOKEN_COMMIT, token);
    trace_rme_stream_committed();
    return true;
}

static int rme_stream_load_cleanup(void *opaque)
{
    RmeStream *s = opaque;
    uint8_t token[RMM_MIG_TOKEN_SIZE];

    rme_stream_in_fail(s);
    if (s->in_active) {
        /* The import failed: the source may have its realm back. */
        s->in_active = false;
        if (rmm(s)->import_abort(s->g, token)) {
            rme_stream_send_token(s, RME_TOKEN_ABORT, token);
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

    /* A destination that migrated the realm on shows its outgoing view. */
    if (!s || info->realm || (incoming && s->out_ran)) {
        return;
    }
    rmm(s)->status(g, &st);
    r = g_new0(RealmMigrationInfo, 1);
    r->state = rme_stream_state(s);
    r->pages = st.data_granules;
    r->zero_pages = st.zero_granules;
    r->poisoned_pages = st.poisoned_granules;
    r->bytes = st.total_bytes;
    r->epochs = st.epoch;
    r->ripas_records = st.ripas_records;
    r->ripas_granules = st.ripas_granules;
    r->recs = st.rec_records;
    r->dirty_pages = !incoming && s->drv ? rme_mig_driver_dirty(s->drv) : 0;
    if (!incoming && s->out_ran) {
        r->has_lanes = true;
        r->lanes = s->lanes;
    }
    if (!incoming && s->completed) {
        r->has_downtime = true;
        r->downtime = s->complete_ms;
        r->has_final_pages = true;
        r->final_pages = s->final_granules;
    }
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
    .load_state_buffer = rme_stream_load_state_buffer,
    .load_cleanup = rme_stream_load_cleanup,
};

/* Why this realm cannot migrate out, or NULL. */
static const char *rme_stream_blocked(RmeGuest *g)
{
    if (!g->policy_pem) {
        return "rme-guest: the realm has no migration-policy, so it never "
               "migrates (migration-policy=<PEM file with the trust anchors "
               "of the platforms it may migrate between>; the policy is "
               "measured into the realm)";
    }
    if (!g->platform_identity) {
        return "rme-guest: the emulated platform has no platform-identity "
               "(a PEM file with its key and certificate chain): nothing "
               "migrates to or from it";
    }
    return NULL;
}

bool rme_stream_init(RmeGuest *g, Error **errp)
{
    const char *blocked = rme_stream_blocked(g);
    RmeStream *s;

    s = g_new0(RmeStream, 1);
    s->g = g;
    s->nr_granules = g->ram_size >> RMM_GRANULE_SHIFT;
    s->buf = g_malloc(RMM_MIG_RECORD_MAX);
    qemu_mutex_init(&s->token_lock);
    qemu_mutex_init(&s->lane_lock);
    qemu_cond_init(&s->lane_cond);
    qemu_sem_init(&s->accept_sem, 0);
    g->stream = s;

    if (register_savevm_live("rme-realm", 0, 1, &rme_stream_handlers,
                             s) < 0) {
        error_setg(errp, "rme-guest: cannot register the realm's "
                   "migration handler");
        return false;
    }
    if (blocked) {
        error_setg(&s->blocker, "%s", blocked);
        if (migrate_add_blocker(&s->blocker, errp) < 0) {
            return false;
        }
    }
    return true;
}
