/*
 * Emulated RMM: data granules (RMI_DATA_CREATE / _UNKNOWN / DESTROY)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-realm.h"
#include "rmm-internal.h"
#include "rmm-measure.h"

/*
 * The checks of DATA_CREATE and DATA_CREATE_UNKNOWN, in DEN0137's order:
 * the granule at @ipa (its PA) is DELEGATED, the realm may take it
 * (@realm_ok), the IPA is protected, the walk reaches level 3 and the
 * entry is UNASSIGNED.
 */
static RmiCommandReturnCode rmm_data_create_check(RmmRealm *r, uint64_t ipa,
                                                  bool realm_ok,
                                                  RmmRamRange **rrp)
{
    RmmRamRange *rr = rmm_aligned(ipa) ? rmm_ram_find(r, ipa) : NULL;
    unsigned walk;

    if (!rr || (*rmm_s2_entry(rr, ipa) & (S2_DELEGATED | S2_ASSIGNED)) !=
               S2_DELEGATED) {
        return RMI_ERROR_INPUT;
    }
    if (!realm_ok) {
        return RMI_ERROR_REALM;
    }
    if (ipa >= r->prot_size) {
        return RMI_ERROR_INPUT;
    }
    walk = rmm_rtt_walk(r, ipa, RMI_RTT_LEVEL_MAX);
    if (walk < RMI_RTT_LEVEL_MAX) {
        return rmi_return(RMI_ERROR_RTT, walk);
    }
    if (*rmm_s2_entry(rr, ipa) & S2_ASSIGNED) {
        return rmi_return(RMI_ERROR_RTT, RMI_RTT_LEVEL_MAX);
    }
    *rrp = rr;
    return RMI_SUCCESS;
}

RmiCommandReturnCode rmm_data_create(RmmRealm *r, uint64_t ipa,
                                     const void *src, bool measure)
{
    RmmRamRange *rr = NULL;
    RmiCommandReturnCode ret;

    g_mutex_lock(&r->lock);
    ret = rmm_data_create_check(r, ipa, r->state == RMM_REALM_NEW &&
                                        r->mig.phase == RMM_MIG_NONE, &rr);
    if (ret == RMI_SUCCESS &&
        (*rmm_s2_entry(rr, ipa) & S2_RIPAS_MASK) != RMI_RIPAS_RAM) {
        ret = rmi_return(RMI_ERROR_RTT, RMI_RTT_LEVEL_MAX);
    }
    if (ret == RMI_SUCCESS) {
        memcpy(rmm_granule_ptr(rr, ipa), src, RMM_GRANULE_SIZE);
        rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
        *rmm_s2_entry(rr, ipa) |= S2_ASSIGNED;
        rmm_measure_data_create(r->params.hash_algo, r->rim, ipa,
                                measure ? rmm_granule_ptr(rr, ipa) : NULL);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiCommandReturnCode rmm_data_create_unknown(RmmRealm *r, uint64_t ipa)
{
    RmmRamRange *rr = NULL;
    RmiCommandReturnCode ret;

    g_mutex_lock(&r->lock);
    ret = rmm_data_create_check(r, ipa, r->state != RMM_REALM_SYSTEM_OFF &&
                                        !rmm_mig_frozen(r), &rr);
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

RmiCommandReturnCode rmm_data_destroy(RmmRealm *r, uint64_t ipa)
{
    RmiCommandReturnCode ret = RMI_SUCCESS;
    RmmRamRange *rr;
    unsigned walk;

    g_mutex_lock(&r->lock);
    /* Not while a lane seals what it holds. */
    rmm_granule_wait_idle(r, ipa);
    if (!rmm_aligned(ipa) || ipa >= r->prot_size) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    walk = rmm_rtt_walk(r, ipa, RMI_RTT_LEVEL_MAX);
    if (walk < RMI_RTT_LEVEL_MAX) {
        ret = rmi_return(RMI_ERROR_RTT, walk);
        goto out;
    }
    rr = rmm_ram_find(r, ipa);
    if (!rr || !(*rmm_s2_entry(rr, ipa) & S2_ASSIGNED)) {
        ret = rmi_return(RMI_ERROR_RTT, RMI_RTT_LEVEL_MAX);
        goto out;
    }
    if (rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    memset(rmm_granule_ptr(rr, ipa), 0, RMM_GRANULE_SIZE);
    rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
    /* DELEGATED again; a poisoned granule's error goes with it. */
    *rmm_s2_entry(rr, ipa) &= ~(S2_ASSIGNED | S2_POISONED);
    /*
     * What the realm had there is gone: RAM becomes DESTROYED, so that
     * the realm never reads a granule the host gave it back as zeros
     * (DEN0137 B4.3.3).  EMPTY and DESTROYED stay.
     */
    if ((*rmm_s2_entry(rr, ipa) & S2_RIPAS_MASK) == RMI_RIPAS_RAM) {
        *rmm_s2_entry(rr, ipa) = (*rmm_s2_entry(rr, ipa) & ~S2_RIPAS_MASK) |
                                 RMI_RIPAS_DESTROYED;
    }
    rmm_mig_log_s2_locked(r, ipa);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_granule_poison(RmmRealm *r, uint64_t ipa)
{
    RmmRamRange *rr;
    RmiStatus ret = RMI_ERROR_INPUT;

    g_mutex_lock(&r->lock);
    rmm_granule_wait_idle(r, ipa);
    rr = rmm_aligned(ipa) ? rmm_ram_find(r, ipa) : NULL;
    if (rmm_mig_frozen(r)) {
        /* Its state went (or goes) in the sealed records as it is. */
        ret = RMI_ERROR_REALM;
    } else if (rr && (*rmm_s2_entry(rr, ipa) & S2_ASSIGNED)) {
        if (!(*rmm_s2_entry(rr, ipa) & S2_POISONED)) {
            /* What was there is lost; nothing reads it again. */
            memset(rmm_granule_ptr(rr, ipa), 0, RMM_GRANULE_SIZE);
            *rmm_s2_entry(rr, ipa) |= S2_POISONED;
            /* A migration sends it again, as poisoned. */
            rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
        }
        ret = RMI_SUCCESS;
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

bool rmm_granule_poisoned(RmmRealm *r, uint64_t ipa)
{
    RmmRamRange *rr;
    bool poisoned;

    g_mutex_lock(&r->lock);
    rr = rmm_ram_find(r, ipa);
    poisoned = rr && (*rmm_s2_entry(rr, ipa) & S2_POISONED);
    g_mutex_unlock(&r->lock);
    return poisoned;
}
