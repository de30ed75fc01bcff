/*
 * Migration of Arm CCA realms: DATA on parallel lanes (multifd)
 *
 * With multifd (and no multifd compression), the driver's lane workers
 * seal DATA records on lanes 1.. of the RMM and each goes out on a
 * multifd channel as a device state packet: an envelope and the record.
 * Before an EPOCH the source syncs the channels and marks the place in
 * the realm's section (RME_STREAM_SYNC).  The destination imports lane
 * records in its multifd threads, each once its epoch is open on the
 * main channel (the EPOCH before it was imported), and at
 * RME_STREAM_SYNC waits for the channels, so that an EPOCH finds all of
 * its epoch's granules in.  A lane record still waiting when the main
 * channel's load ends (migration_incoming_add_load_end_notifier()) is
 * refused: nothing will open its epoch any more.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "migration/misc.h"
#include "migration.h"
#include "qemu-file.h"
#include "multifd.h"
#include "rme-stream-internal.h"
#include "trace.h"

/* ---- Source ---- */

/* A lane's record goes out on a multifd channel: its envelope, itself. */
bool rme_sink_emit_lane(void *opaque, const RmiMigRecord *rec, char **err)
{
    g_autofree uint8_t *pkt = g_malloc(RME_STREAM_ENV_SIZE + rec->len);

    trace_rme_stream_lane_out(rec->lane, rec->epoch, rec->len);
    rme_stream_put_env(pkt, rec);
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
bool rme_sink_lanes_flush(void *opaque, char **err)
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

/* ---- Destination ---- */

/* The main channel's load has ended: nothing opens an epoch any more. */
static void rme_stream_main_load_end(Notifier *n, void *data)
{
    RmeStream *s = container_of(n, RmeStream, load_end);

    qemu_mutex_lock(&s->lane_lock);
    s->in_main_over = true;
    qemu_cond_broadcast(&s->lane_cond);
    qemu_mutex_unlock(&s->lane_lock);
}

void rme_stream_lanes_load_setup(RmeStream *s)
{
    qemu_mutex_lock(&s->lane_lock);
    s->in_epoch = 0;
    s->in_failed = false;
    g_clear_pointer(&s->in_err, error_free);
    s->in_main_over = false;
    qemu_mutex_unlock(&s->lane_lock);
    s->load_end.notify = rme_stream_main_load_end;
    migration_incoming_add_load_end_notifier(&s->load_end);
}

/*
 * Lane records stop waiting: the import failed or ended.  The first
 * error is kept before any lane wakes, so that whichever lane's error
 * becomes the migration's names it.
 */
void rme_stream_in_fail(RmeStream *s, const Error *why)
{
    qemu_mutex_lock(&s->lane_lock);
    s->in_failed = true;
    if (why && !s->in_err) {
        s->in_err = error_copy(why);
    }
    qemu_cond_broadcast(&s->lane_cond);
    qemu_mutex_unlock(&s->lane_lock);
}

void rme_stream_lanes_load_cleanup(RmeStream *s)
{
    rme_stream_in_fail(s, NULL);
    if (s->load_end.notify) {
        migration_incoming_remove_load_end_notifier(&s->load_end);
        s->load_end.notify = NULL;
    }
}

/* An EPOCH record was imported: lane records of the next epoch may go. */
void rme_stream_in_epoch(RmeStream *s)
{
    qemu_mutex_lock(&s->lane_lock);
    s->in_epoch++;
    qemu_cond_broadcast(&s->lane_cond);
    qemu_mutex_unlock(&s->lane_lock);
}

/*
 * A lane's DATA record from a multifd channel (its thread, no BQL).  It
 * waits until its epoch is open: the EPOCH that opened it went out
 * before it, but on the main channel.  If the main channel's load ends
 * first, the record is refused: waiting on would hang the destination,
 * whose main thread joins this one.
 */
bool rme_stream_load_state_buffer(void *opaque, char *buf, size_t len,
                                  Error **errp)
{
    RmeStream *s = opaque;
    const uint8_t *p = (const uint8_t *)buf;
    RmiMigRecord rec = { 0 };
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
           !(over = s->in_main_over)) {
        qemu_cond_wait(&s->lane_cond, &s->lane_lock);
    }
    failed = s->in_failed;
    if (failed) {
        /* Another record failed it: that one's error. */
        error_setg(errp, "rme-guest: the realm's import failed%s%s",
                   s->in_err ? ": " : "",
                   s->in_err ? error_get_pretty(s->in_err) : "");
    }
    qemu_mutex_unlock(&s->lane_lock);
    if (failed) {
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
    rme_stream_in_fail(s, err);
    /*
     * The migration's error, reported once the load is over; unless the
     * main channel failed first (its error is the migration's): the
     * trace has this one.
     */
    trace_rme_stream_lane_refused(rec.lane, rec.epoch,
                                  error_get_pretty(err));
    rme_stream_refuse(err);
    error_propagate(errp, err);
    return false;
}
