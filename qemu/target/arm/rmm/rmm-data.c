/*
 * Emulated RMM: data granules (RMI_DATA_CREATE / _UNKNOWN / DESTROY)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "rmm-internal.h"
#include "rmm-measure.h"

/* Common checks of DATA_CREATE and DATA_CREATE_UNKNOWN. */
static RmiStatus rmm_data_create_check(RmmRealm *r, uint64_t ipa,
                                       RmmRamRange **rrp)
{
    RmmRamRange *rr;

    if (!rmm_aligned(ipa) || ipa >= r->prot_size) {
        return RMI_ERROR_INPUT;
    }
    rr = rmm_ram_find(r, ipa);
    if (!rr) {
        return RMI_ERROR_RTT;       /* no stage 2 backing for this IPA */
    }
    if (*rmm_s2_entry(rr, ipa) & S2_ASSIGNED) {
        return RMI_ERROR_RTT;
    }
    *rrp = rr;
    return RMI_SUCCESS;
}

RmiStatus rmm_data_create(RmmRealm *r, uint64_t ipa, const void *src,
                          bool measure)
{
    RmmRamRange *rr = NULL;
    RmiStatus ret;
    uint8_t *e;

    g_mutex_lock(&r->lock);
    ret = rmm_data_create_check(r, ipa, &rr);
    if (ret == RMI_SUCCESS &&
        (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE)) {
        ret = RMI_ERROR_REALM;
    }
    if (ret == RMI_SUCCESS &&
        (*rmm_s2_entry(rr, ipa) & S2_RIPAS_MASK) != RMI_RIPAS_RAM) {
        ret = RMI_ERROR_RTT;
    }
    if (ret == RMI_SUCCESS) {
        e = rmm_s2_entry(rr, ipa);
        memcpy(rmm_granule_ptr(rr, ipa), src, RMM_GRANULE_SIZE);
        rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
        *e |= S2_ASSIGNED;
        rmm_measure_data_create(r->params.hash_algo, r->rim, ipa,
                                measure ? rmm_granule_ptr(rr, ipa) : NULL);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_data_create_unknown(RmmRealm *r, uint64_t ipa)
{
    RmmRamRange *rr = NULL;
    RmiStatus ret;

    g_mutex_lock(&r->lock);
    ret = rmm_data_create_check(r, ipa, &rr);
    if (ret == RMI_SUCCESS &&
        (r->state == RMM_REALM_SYSTEM_OFF || rmm_mig_frozen(r))) {
        ret = RMI_ERROR_REALM;
    }
    if (ret == RMI_SUCCESS) {
        /* Granules are scrubbed when they are given back (DATA_DESTROY). */
        *rmm_s2_entry(rr, ipa) |= S2_ASSIGNED;
        /* New (zero) contents for a migration in progress. */
        rmm_mig_log_s2_locked(r, ipa);
        rmm_mig_log_write_locked(r, ipa, RMM_GRANULE_SIZE);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_data_destroy(RmmRealm *r, uint64_t ipa)
{
    RmmRamRange *rr;
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (!rmm_aligned(ipa) || ipa >= r->prot_size) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    rr = rmm_ram_find(r, ipa);
    if (!rr || !(*rmm_s2_entry(rr, ipa) & S2_ASSIGNED)) {
        ret = RMI_ERROR_RTT;
        goto out;
    }
    if (rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    memset(rmm_granule_ptr(rr, ipa), 0, RMM_GRANULE_SIZE);
    rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
    *rmm_s2_entry(rr, ipa) &= ~S2_ASSIGNED;
    rmm_mig_log_s2_locked(r, ipa);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}
