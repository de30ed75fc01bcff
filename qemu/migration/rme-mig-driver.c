/*
 * Migration of Arm CCA realms: the host's export driver
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include "rme-mig-driver.h"

/* A decaying sum of granules exported and what they cost. */
typedef struct RmeMigCost {
    double granules;
    double us;
} RmeMigCost;

/* A batch of DATA on its way through a lane (one per lane). */
typedef struct RmeMigLane {
    RmeMigDriver *d;
    unsigned lane;              /* 1.. */
    unsigned n;
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    RmiMigRecord rec;           /* one record's buffer */
} RmeMigLane;

struct RmeMigDriver {
    const RmiMigOps *rmm;
    void *rmm_opaque;
    const RmeMigSink *sink;
    void *sink_opaque;
    uint64_t ram_base;
    uint64_t words;             /* of the bitmaps */
    uint64_t *todo;             /* granules to send in this epoch */
    uint64_t *next;             /* logged meanwhile, for the next epoch */
    uint64_t *sent;             /* granules handed out at least once */
    uint64_t todo_count;
    uint64_t next_count;
    uint64_t fresh_count;       /* of @todo and @next, never handed out */
    uint64_t passes;            /* pre-copy passes over @todo completed */
    uint64_t logged;            /* granules the log reported, in all */
    uint64_t cursor;            /* where the scan of @todo resumes */
    uint64_t epoch_sent;        /* granules and RIPAS records sent in it */
    /*
     * What exporting cost in pre-copy, for a granule sent the first time
     * and for one sent again: each a decaying sum (halved at each new
     * measure) of granules and the microseconds they took.  A first send
     * costs more: the destination's host gives the granule memory then
     * (on the host this was measured on, clearing the page made a first
     * import 8 times as dear as a later one), and a final pass of first
     * sends left at the switchover took twice the downtime-limit when
     * both were weighed alike.
     *
     * A read of the dirty log while the vCPUs run waits for them (TCG
     * lets each finish its block, and a vCPU the throttle put to sleep
     * ends its sleep first: about a second at 99 %); with the vCPUs
     * stopped it does not, so the quickest read seen is what one costs
     * at the switchover.
     */
    uint64_t granules_sent;     /* DATA granules handed out, in all */
    uint64_t fresh_sent;        /* of them, first sends */
    RmeMigCost cost[2];         /* [0]: sent again, [1]: first sends */
    uint64_t sync_us_min;       /* the quickest read (0: none yet) */
    uint64_t seal_us;           /* in export commands, in all */
    uint64_t emit_us;           /* handing records to the sink, in all */
    RmiMigRecord rec;           /* one record's buffer */
    char *err;                  /* the first error (under @lock) */
    /* Lanes */
    unsigned nr_lanes;
    RmeMigLane *lanes;
    GThreadPool *pool;          /* one worker per lane */
    GMutex lock;                /* of what follows */
    GCond cond;
    GQueue idle;                /* lanes with no batch */
    bool lane_failed;
};

/* Keep @err (taken) as the driver's error, unless it has one already. */
static void keep_error(RmeMigDriver *d, char *err)
{
    g_mutex_lock(&d->lock);
    if (!d->err) {
        d->err = err ? err : g_strdup("the realm's export failed");
        err = NULL;
    }
    g_mutex_unlock(&d->lock);
    g_free(err);
}

char *rme_mig_driver_take_error(RmeMigDriver *d)
{
    char *err;

    g_mutex_lock(&d->lock);
    err = g_steal_pointer(&d->err);
    g_mutex_unlock(&d->lock);
    return err;
}

/*
 * An RMM command or the sink said @ok and *@err (taken; by reference, as
 * the call that sets it is an argument too); RME_MIG_FAILED if not ok.
 */
static int check(RmeMigDriver *d, bool ok, char **err)
{
    char *why = g_steal_pointer(err);

    if (ok) {
        g_free(why);
        return RME_MIG_MORE;
    }
    keep_error(d, why);
    return RME_MIG_FAILED;
}

/* A worker: seal @data's batch on its lane and send it. */
static void lane_work(gpointer data, gpointer user_data)
{
    RmeMigLane *l = data;
    RmeMigDriver *d = l->d;
    char *err = NULL;
    bool ok;

    ok = d->rmm->export_data(d->rmm_opaque, l->lane, l->ipas, l->n, &l->rec,
                             &err) &&
         (!l->rec.len || d->sink->emit_lane(d->sink_opaque, &l->rec, &err));
    if (!ok) {
        keep_error(d, err);
    }
    g_mutex_lock(&d->lock);
    d->lane_failed |= !ok;
    g_queue_push_tail(&d->idle, l);
    g_cond_broadcast(&d->cond);
    g_mutex_unlock(&d->lock);
}

RmeMigDriver *rme_mig_driver_new(const RmiMigOps *rmm, void *rmm_opaque,
                                 const RmeMigSink *sink, void *sink_opaque,
                                 uint64_t ram_base, uint64_t nr_granules,
                                 unsigned lanes)
{
    RmeMigDriver *d = g_new0(RmeMigDriver, 1);
    unsigned i;

    d->rmm = rmm;
    d->rmm_opaque = rmm_opaque;
    d->sink = sink;
    d->sink_opaque = sink_opaque;
    d->ram_base = ram_base;
    d->words = (nr_granules + 63) / 64;
    d->todo = g_new0(uint64_t, d->words);
    d->next = g_new0(uint64_t, d->words);
    d->sent = g_new0(uint64_t, d->words);
    d->rec.buf = g_malloc(RMM_MIG_RECORD_MAX);
    g_mutex_init(&d->lock);
    g_cond_init(&d->cond);
    g_queue_init(&d->idle);
    d->nr_lanes = MIN(lanes, RMM_MIG_LANES_MAX);
    if (d->nr_lanes) {
        d->lanes = g_new0(RmeMigLane, d->nr_lanes);
        for (i = 0; i < d->nr_lanes; i++) {
            d->lanes[i].d = d;
            d->lanes[i].lane = i + 1;
            d->lanes[i].rec.buf = g_malloc(RMM_MIG_RECORD_MAX);
            g_queue_push_tail(&d->idle, &d->lanes[i]);
        }
        /* Exclusive: the workers start now, in the caller's thread. */
        d->pool = g_thread_pool_new(lane_work, d, d->nr_lanes, true, NULL);
    }
    return d;
}

/* Wait until no lane has a batch; RME_MIG_FAILED if one failed. */
static int lanes_drain(RmeMigDriver *d)
{
    bool failed;

    if (!d->nr_lanes) {
        return RME_MIG_MORE;
    }
    g_mutex_lock(&d->lock);
    while (g_queue_get_length(&d->idle) < d->nr_lanes) {
        g_cond_wait(&d->cond, &d->lock);
    }
    failed = d->lane_failed;
    g_mutex_unlock(&d->lock);
    return failed ? RME_MIG_FAILED : RME_MIG_MORE;
}

void rme_mig_driver_free(RmeMigDriver *d)
{
    unsigned i;

    if (!d) {
        return;
    }
    if (d->pool) {
        g_thread_pool_free(d->pool, false, true);
    }
    for (i = 0; i < d->nr_lanes; i++) {
        g_free(d->lanes[i].rec.buf);
    }
    g_free(d->lanes);
    g_queue_clear(&d->idle);
    g_cond_clear(&d->cond);
    g_mutex_clear(&d->lock);
    g_free(d->todo);
    g_free(d->next);
    g_free(d->sent);
    g_free(d->rec.buf);
    g_free(d->err);
    g_free(d);
}

/* The record @d->rec an export made, if any, goes out. */
static int emit(RmeMigDriver *d)
{
    char *err = NULL;
    gint64 t0 = g_get_monotonic_time();
    bool ok;

    if (!d->rec.len) {
        return RME_MIG_MORE;
    }
    ok = d->sink->emit(d->sink_opaque, &d->rec, &err);
    d->emit_us += g_get_monotonic_time() - t0;
    return check(d, ok, &err);
}

/* The export @ok made d->rec; it goes out. */
static int exported(RmeMigDriver *d, bool ok, char **err)
{
    return check(d, ok, err) ? RME_MIG_FAILED : emit(d);
}

int rme_mig_driver_sync(RmeMigDriver *d)
{
    uint64_t i, n = 0, kept = 0, fresh = 0, logged, us;
    gint64 t0 = g_get_monotonic_time();
    char *err = NULL;

    if (check(d, d->rmm->dirty_log(d->rmm_opaque, d->next, &logged, &err),
              &err)) {
        return RME_MIG_FAILED;
    }
    for (i = 0; i < d->words; i++) {
        n += ctpop64(d->next[i]);
        /*
         * A granule still to send in this epoch goes with what it holds
         * then: the write logged now needs no second send in the next
         * epoch (as RAM's one bitmap does; a write after the send is
         * logged again).
         */
        d->next[i] &= ~d->todo[i];
        kept += ctpop64(d->next[i]);
        fresh += ctpop64((d->todo[i] | d->next[i]) & ~d->sent[i]);
    }
    d->logged += n - d->next_count;
    d->next_count = kept;
    d->fresh_count = fresh;
    us = MAX(g_get_monotonic_time() - t0, 1);
    d->sync_us_min = d->sync_us_min ? MIN(d->sync_us_min, us) : us;
    return RME_MIG_MORE;
}

/* Microseconds per granule of @c; 0 if it has no measure yet. */
static double cost_per_granule(const RmeMigCost *c)
{
    return c->granules >= 1 ? c->us / c->granules : 0;
}

uint64_t rme_mig_driver_switchover_us(const RmeMigDriver *d, uint64_t dirty,
                                      uint64_t fresh)
{
    double again = cost_per_granule(&d->cost[0]);
    double first = cost_per_granule(&d->cost[1]);

    /* A kind not measured yet costs what the other did. */
    if (!again && !first) {
        return 0;
    }
    again = again ?: first;
    first = first ?: again;
    fresh = MIN(fresh, dirty);
    /* A pass over @dirty, another that finds nothing left: two reads. */
    return fresh * first + (dirty - fresh) * again + 2 * d->sync_us_min;
}

uint64_t rme_mig_driver_fresh(const RmeMigDriver *d)
{
    return d->fresh_count;
}

uint64_t rme_mig_driver_passes(const RmeMigDriver *d)
{
    return d->passes;
}

void rme_mig_driver_times(const RmeMigDriver *d, uint64_t *seal_us,
                          uint64_t *emit_us)
{
    *seal_us = d->seal_us;
    *emit_us = d->emit_us;
}

uint64_t rme_mig_driver_logged(const RmeMigDriver *d)
{
    return d->logged;
}

/* Start a new epoch with what was read from the log. */
static void merge_next(RmeMigDriver *d)
{
    uint64_t i;

    for (i = 0; i < d->words; i++) {
        d->todo[i] |= d->next[i];
        d->next[i] = 0;
    }
    d->todo_count += d->next_count;
    d->next_count = 0;
    d->cursor = 0;
}

uint64_t rme_mig_driver_dirty(const RmeMigDriver *d)
{
    return d->todo_count + d->next_count;
}

uint64_t rme_mig_driver_epoch_sent(const RmeMigDriver *d)
{
    return d->epoch_sent;
}

static int send_ripas(RmeMigDriver *d)
{
    bool more = true, ok;
    char *err = NULL;

    /* The RMM takes RIPAS changes only with no lane sealing. */
    if (lanes_drain(d)) {
        return RME_MIG_FAILED;
    }
    while (more) {
        ok = d->rmm->export_ripas(d->rmm_opaque, &d->rec, &more, &err);
        d->epoch_sent += ok && d->rec.len;
        if (exported(d, ok, &err)) {
            return RME_MIG_FAILED;
        }
    }
    return RME_MIG_MORE;
}

static int close_epoch(RmeMigDriver *d)
{
    char *err = NULL;
    bool ok;

    if (!d->epoch_sent) {
        return RME_MIG_MORE;
    }
    /* The epoch's lane records are all out, and reach it before EPOCH. */
    if (lanes_drain(d) ||
        (d->nr_lanes &&
         check(d, d->sink->lanes_flush(d->sink_opaque, &err), &err))) {
        return RME_MIG_FAILED;
    }
    ok = d->rmm->export_epoch(d->rmm_opaque, &d->rec, &err);
    if (exported(d, ok, &err)) {
        return RME_MIG_FAILED;
    }
    d->epoch_sent = 0;
    return RME_MIG_MORE;
}

/* Take up to RMM_MIG_BATCH_MAX granules from @todo into @ipas. */
static unsigned next_batch(RmeMigDriver *d, uint64_t *ipas)
{
    unsigned n = 0;

    while (n < RMM_MIG_BATCH_MAX && d->todo_count) {
        uint64_t w = d->cursor / 64, bits;

        if (w >= d->words) {
            d->cursor = 0;
            continue;
        }
        bits = d->todo[w] >> (d->cursor % 64);
        if (!bits) {
            d->cursor = (w + 1) * 64;
            continue;
        }
        d->cursor += ctz64(bits);
        d->todo[d->cursor / 64] &= ~(1ULL << (d->cursor % 64));
        d->todo_count--;
        if (!(d->sent[d->cursor / 64] & (1ULL << (d->cursor % 64)))) {
            d->sent[d->cursor / 64] |= 1ULL << (d->cursor % 64);
            d->fresh_count--;
            d->fresh_sent++;
        }
        ipas[n++] = d->ram_base + (d->cursor << RMM_GRANULE_SHIFT);
        d->cursor++;
    }
    return n;
}

/* Hand a batch to the next idle lane (waiting for one). */
static int send_batch_lane(RmeMigDriver *d, const uint64_t *ipas, unsigned n)
{
    RmeMigLane *l;
    bool failed;

    g_mutex_lock(&d->lock);
    while (g_queue_is_empty(&d->idle)) {
        g_cond_wait(&d->cond, &d->lock);
    }
    l = g_queue_pop_head(&d->idle);
    failed = d->lane_failed;
    g_mutex_unlock(&d->lock);
    l->n = n;
    memcpy(l->ipas, ipas, n * sizeof(*ipas));
    if (failed) {
        g_mutex_lock(&d->lock);
        g_queue_push_tail(&d->idle, l);
        g_mutex_unlock(&d->lock);
        return RME_MIG_FAILED;
    }
    d->epoch_sent += n;
    d->granules_sent += n;
    g_thread_pool_push(d->pool, l, NULL);
    return RME_MIG_MORE;
}

/* One DATA batch; RME_MIG_DONE when @todo was empty. */
static int send_batch(RmeMigDriver *d)
{
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    unsigned n = next_batch(d, ipas);
    char *err = NULL;
    gint64 t0;
    bool ok;

    if (!n) {
        return RME_MIG_DONE;
    }
    if (d->nr_lanes) {
        return send_batch_lane(d, ipas, n);
    }
    t0 = g_get_monotonic_time();
    ok = d->rmm->export_data(d->rmm_opaque, 0, ipas, n, &d->rec, &err);
    d->seal_us += g_get_monotonic_time() - t0;
    if (exported(d, ok, &err)) {
        return RME_MIG_FAILED;
    }
    d->epoch_sent += n;
    d->granules_sent += n;
    return RME_MIG_MORE;
}

int rme_mig_driver_setup(RmeMigDriver *d)
{
    char *err = NULL;
    bool ok = d->rmm->export_immutable(d->rmm_opaque, &d->rec, &err);

    if (exported(d, ok, &err) || send_ripas(d) ||
        (d->nr_lanes && close_epoch(d)) || rme_mig_driver_sync(d)) {
        return RME_MIG_FAILED;
    }
    merge_next(d);
    return RME_MIG_MORE;
}

/* Add @again granules sent again and @first sent first, in @us, in all. */
static void cost_measure(RmeMigDriver *d, uint64_t again, uint64_t first,
                         double us)
{
    double wa = again * cost_per_granule(&d->cost[0]);
    double wf = first * cost_per_granule(&d->cost[1]);
    double share;

    if (!again && !first) {
        return;
    }
    /*
     * Both kinds in one iteration: share @us as the costs known so far
     * do (by count while either has none).  Iterations of one kind
     * (the first pass; a later one with nothing newly assigned) measure
     * each kind by itself.
     */
    share = wa && wf ? wf / (wa + wf) : (double)first / (again + first);
    if (again) {
        d->cost[0].granules = d->cost[0].granules / 2 + again;
        d->cost[0].us = d->cost[0].us / 2 + us * (1 - share);
    }
    if (first) {
        d->cost[1].granules = d->cost[1].granules / 2 + first;
        d->cost[1].us = d->cost[1].us / 2 + us * share;
    }
}

int rme_mig_driver_iterate(RmeMigDriver *d)
{
    gint64 t0 = g_get_monotonic_time();
    uint64_t sent = d->granules_sent, fresh = d->fresh_sent;
    int ret = send_ripas(d);

    while (ret == RME_MIG_MORE && !d->sink->stop_iteration(d->sink_opaque)) {
        ret = send_batch(d);
        if (ret != RME_MIG_DONE) {
            continue;
        }
        /* A pass is done: close its epoch, go on with what was logged. */
        d->passes++;
        ret = close_epoch(d);
        if (ret == RME_MIG_MORE) {
            merge_next(d);
            if (!d->todo_count) {
                ret = RME_MIG_DONE;
                break;
            }
        }
    }
    /* No lane works between iterations. */
    if (lanes_drain(d)) {
        return RME_MIG_FAILED;
    }
    /*
     * What this iteration's granules cost, lanes drained: sealing, the
     * stream and the destination opening them behind it (a full
     * stream blocks), an epoch's close included (no read of the log).
     */
    cost_measure(d, d->granules_sent - sent - (d->fresh_sent - fresh),
                 d->fresh_sent - fresh, g_get_monotonic_time() - t0);
    return ret;
}

/* One final pass: RIPAS, every dirty granule, EPOCH, the log read again. */
static int final_pass(RmeMigDriver *d)
{
    int ret;

    if (send_ripas(d)) {
        return RME_MIG_FAILED;
    }
    while ((ret = send_batch(d)) == RME_MIG_MORE) {
        /* drain */
    }
    if (ret != RME_MIG_DONE || close_epoch(d) || rme_mig_driver_sync(d)) {
        return RME_MIG_FAILED;
    }
    merge_next(d);
    return RME_MIG_MORE;
}

int rme_mig_driver_complete(RmeMigDriver *d, unsigned nr_recs,
                            uint64_t *left)
{
    unsigned passes, i;
    RmmMigStats st;
    char *err = NULL;
    bool ok;

    if (check(d, d->rmm->pause(d->rmm_opaque, &err), &err)) {
        return RME_MIG_FAILED;
    }
    /*
     * Until the RMM has nothing left to export: a granule or a RIPAS
     * change that already went in an epoch waits for the next one.
     */
    for (passes = 0; ; passes++) {
        if (final_pass(d)) {
            /* No lane works on once the driver gave up. */
            lanes_drain(d);
            return RME_MIG_FAILED;
        }
        /* What the RMM has not exported, read from its log or not. */
        d->rmm->status(d->rmm_opaque, &st);
        *left = st.pending_granules + st.ripas_pending_granules;
        if (!d->todo_count && !*left) {
            break;
        }
        if (passes == RME_MIG_FINAL_PASSES) {
            return RME_MIG_NOT_CONVERGED;
        }
    }
    for (i = 0; i < nr_recs; i++) {
        ok = d->rmm->export_rec(d->rmm_opaque, i, &d->rec, &err);
        if (exported(d, ok, &err)) {
            return RME_MIG_FAILED;
        }
    }
    return RME_MIG_MORE;
}

int rme_mig_driver_end(RmeMigDriver *d)
{
    char *err = NULL;
    bool ok = d->rmm->export_end(d->rmm_opaque, &d->rec, &err);

    return exported(d, ok, &err);
}
