/*
 * Migration of Arm CCA realms: the host's export driver
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>
#include <string.h>

#include "target/arm/rmi-mig.h"
#include "rme-mig-driver.h"

struct RmeMigDriver {
    const RmeMigDriverOps *ops;
    void *opaque;
    uint64_t ram_base;
    uint64_t words;             /* of the bitmaps */
    uint64_t *todo;             /* granules to send in this epoch */
    uint64_t *next;             /* logged meanwhile, for the next epoch */
    uint64_t todo_count;
    uint64_t next_count;
    uint64_t logged;            /* granules the log reported, in all */
    uint64_t cursor;            /* where the scan of @todo resumes */
    uint64_t epoch_sent;        /* granules and RIPAS records sent in it */
    uint8_t *buf;               /* one record */
};

RmeMigDriver *rme_mig_driver_new(const RmeMigDriverOps *ops, void *opaque,
                                 uint64_t ram_base, uint64_t nr_granules)
{
    RmeMigDriver *d = g_new0(RmeMigDriver, 1);

    d->ops = ops;
    d->opaque = opaque;
    d->ram_base = ram_base;
    d->words = (nr_granules + 63) / 64;
    d->todo = g_new0(uint64_t, d->words);
    d->next = g_new0(uint64_t, d->words);
    d->buf = g_malloc(RMM_MIG_RECORD_MAX);
    return d;
}

void rme_mig_driver_free(RmeMigDriver *d)
{
    if (d) {
        g_free(d->todo);
        g_free(d->next);
        g_free(d->buf);
        g_free(d);
    }
}

static int emit(RmeMigDriver *d, size_t len)
{
    if (len && !d->ops->emit(d->opaque, d->buf, len)) {
        return RME_MIG_FAILED;
    }
    return RME_MIG_MORE;
}

int rme_mig_driver_sync(RmeMigDriver *d)
{
    uint64_t i, n = 0;

    if (!d->ops->dirty_log(d->opaque, d->next)) {
        return RME_MIG_FAILED;
    }
    for (i = 0; i < d->words; i++) {
        n += __builtin_popcountll(d->next[i]);
    }
    d->logged += n - d->next_count;
    d->next_count = n;
    return RME_MIG_MORE;
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

uint64_t rme_mig_driver_pending_bytes(const RmeMigDriver *d)
{
    return rme_mig_driver_dirty(d) * RMM_MIG_DATA_ENTRY_SIZE;
}

static int send_ripas(RmeMigDriver *d)
{
    bool more = true;
    size_t len;

    while (more) {
        if (!d->ops->export_ripas(d->opaque, d->buf, &len, &more)) {
            return RME_MIG_FAILED;
        }
        d->epoch_sent += len != 0;
        if (emit(d, len)) {
            return RME_MIG_FAILED;
        }
    }
    return RME_MIG_MORE;
}

static int close_epoch(RmeMigDriver *d)
{
    size_t len;

    if (!d->epoch_sent) {
        return RME_MIG_MORE;
    }
    if (!d->ops->export_epoch(d->opaque, d->buf, &len) || emit(d, len)) {
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
        d->cursor += __builtin_ctzll(bits);
        d->todo[d->cursor / 64] &= ~(1ULL << (d->cursor % 64));
        d->todo_count--;
        ipas[n++] = d->ram_base + (d->cursor << RMM_GRANULE_SHIFT);
        d->cursor++;
    }
    return n;
}

/* One DATA batch; RME_MIG_DONE when @todo was empty. */
static int send_batch(RmeMigDriver *d)
{
    uint64_t ipas[RMM_MIG_BATCH_MAX];
    unsigned n = next_batch(d, ipas);
    size_t len;

    if (!n) {
        return RME_MIG_DONE;
    }
    if (!d->ops->export_data(d->opaque, ipas, n, d->buf, &len) ||
        emit(d, len)) {
        return RME_MIG_FAILED;
    }
    d->epoch_sent += n;
    return RME_MIG_MORE;
}

int rme_mig_driver_setup(RmeMigDriver *d)
{
    size_t len;

    if (!d->ops->export_immutable(d->opaque, d->buf, &len) || emit(d, len) ||
        send_ripas(d) || rme_mig_driver_sync(d)) {
        return RME_MIG_FAILED;
    }
    merge_next(d);
    return RME_MIG_MORE;
}

int rme_mig_driver_iterate(RmeMigDriver *d)
{
    int ret = send_ripas(d);

    while (ret == RME_MIG_MORE && !d->ops->stop_iteration(d->opaque)) {
        ret = send_batch(d);
        if (ret != RME_MIG_DONE) {
            continue;
        }
        /* A pass is done: close its epoch, go on with what was logged. */
        ret = close_epoch(d);
        if (ret == RME_MIG_MORE) {
            merge_next(d);
            if (!d->todo_count) {
                return RME_MIG_DONE;
            }
        }
    }
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
    size_t len;

    if (!d->ops->pause(d->opaque)) {
        return RME_MIG_FAILED;
    }
    /*
     * Until the RMM has nothing left to export: a granule or a RIPAS
     * change that already went in an epoch waits for the next one.
     */
    for (passes = 0; ; passes++) {
        if (final_pass(d)) {
            return RME_MIG_FAILED;
        }
        *left = d->ops->pending(d->opaque);
        if (!d->todo_count && !*left) {
            break;
        }
        if (passes == RME_MIG_FINAL_PASSES) {
            return RME_MIG_NOT_CONVERGED;
        }
    }
    for (i = 0; i < nr_recs; i++) {
        if (!d->ops->export_rec(d->opaque, i, d->buf, &len) ||
            emit(d, len)) {
            return RME_MIG_FAILED;
        }
    }
    return RME_MIG_MORE;
}

int rme_mig_driver_end(RmeMigDriver *d)
{
    size_t len;

    if (!d->ops->export_end(d->opaque, d->buf, &len) || emit(d, len)) {
        return RME_MIG_FAILED;
    }
    return RME_MIG_MORE;
}
