/*
 * The host's export driver over the emulated RMM (see rmm-host.h)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>

#include "rmm-host.h"

static bool host_dirty_log(void *opaque, uint64_t *bitmap)
{
    RmmHost *h = opaque;
    unsigned i;

    for (i = 0; i < h->nr_ram; i++) {
        uint64_t first = (h->ram_base[i] - h->ram_base[0]) /
                         RMM_GRANULE_SIZE;

        rmm_mig_dirty_log(h->r, h->ram_base[i],
                          h->ram_size[i] / RMM_GRANULE_SIZE,
                          bitmap + first / 64);
    }
    return true;
}

static bool host_export_immutable(void *opaque, uint8_t *buf, size_t *len)
{
    RmmHost *h = opaque;

    return rmm_mig_export_immutable(h->r, buf, RMM_MIG_RECORD_MAX, len) ==
           RMI_SUCCESS;
}

static bool host_export_ripas(void *opaque, uint8_t *buf, size_t *len,
                              bool *more)
{
    RmmHost *h = opaque;

    return rmm_mig_export_ripas(h->r, buf, RMM_MIG_RECORD_MAX, len,
                                more) == RMI_SUCCESS;
}

static bool host_export_data(void *opaque, const uint64_t *ipas, unsigned n,
                             uint8_t *buf, size_t *len)
{
    RmmHost *h = opaque;
    unsigned exported;

    return rmm_mig_export_data(h->r, ipas, n, buf, RMM_MIG_RECORD_MAX, len,
                               &exported) == RMI_SUCCESS;
}

static bool host_export_epoch(void *opaque, uint8_t *buf, size_t *len)
{
    RmmHost *h = opaque;

    return rmm_mig_export_epoch(h->r, buf, RMM_MIG_RECORD_MAX, len) ==
           RMI_SUCCESS;
}

static bool host_pause(void *opaque)
{
    RmmHost *h = opaque;

    return rmm_mig_export_pause(h->r) == RMI_SUCCESS;
}

static uint64_t host_pending(void *opaque)
{
    RmmHost *h = opaque;
    RmmMigStats st;

    rmm_mig_stats(h->r, &st);
    return st.pending_granules + st.ripas_pending_granules;
}

static bool host_export_rec(void *opaque, unsigned index, uint8_t *buf,
                            size_t *len)
{
    RmmHost *h = opaque;
    g_autofree uint8_t *ctx = g_malloc(RMM_MIG_REC_CTX_MAX);
    size_t ctx_len = h->rec_ctx(h->opaque, index, ctx);

    return index < rmm_realm_num_recs(h->r) &&
           rmm_mig_export_rec(rmm_realm_rec(h->r, index), ctx, ctx_len, buf,
                              RMM_MIG_RECORD_MAX, len) == RMI_SUCCESS;
}

static bool host_export_end(void *opaque, uint8_t *buf, size_t *len)
{
    RmmHost *h = opaque;

    return rmm_mig_export_end(h->r, buf, RMM_MIG_RECORD_MAX, len) ==
           RMI_SUCCESS;
}

static bool host_emit(void *opaque, const uint8_t *buf, size_t len)
{
    RmmHost *h = opaque;

    h->emit(h->opaque, buf, len);
    h->emitted++;
    return true;
}

static bool host_stop_iteration(void *opaque)
{
    RmmHost *h = opaque;

    return h->stop_after && h->emitted >= h->stop_after;
}

static const RmeMigDriverOps rmm_host_ops = {
    .dirty_log = host_dirty_log,
    .export_immutable = host_export_immutable,
    .export_ripas = host_export_ripas,
    .export_data = host_export_data,
    .export_epoch = host_export_epoch,
    .pause = host_pause,
    .pending = host_pending,
    .export_rec = host_export_rec,
    .export_end = host_export_end,
    .emit = host_emit,
    .stop_iteration = host_stop_iteration,
};

RmeMigDriver *rmm_host_driver_new(RmmHost *h)
{
    unsigned i;
    uint64_t end = 0;

    for (i = 0; i < h->nr_ram; i++) {
        g_assert((h->ram_base[i] - h->ram_base[0]) / RMM_GRANULE_SIZE % 64
                 == 0);
        end = MAX(end, h->ram_base[i] + h->ram_size[i]);
    }
    return rme_mig_driver_new(&rmm_host_ops, h, h->ram_base[0],
                              (end - h->ram_base[0]) / RMM_GRANULE_SIZE);
}

int rmm_host_round(RmeMigDriver *d, RmmHost *h)
{
    int ret;

    do {
        h->emitted = 0;
        ret = rme_mig_driver_iterate(d);
    } while (ret == RME_MIG_MORE);
    return ret;
}

bool host_map(RmmRealm *r, uint64_t base, uint64_t size, unsigned level)
{
    return rmm_granule_delegate_range(r, base, base + size) == RMI_SUCCESS &&
           rmm_rtt_create_range(r, base, base + size, level) == RMI_SUCCESS;
}
