/*
 * Emulated RMM: granules of protected memory
 *
 * The physical memory the host hands over to a realm (rmm_realm_add_ram)
 * and the lookup of the RAM range that backs an IPA; the granule state
 * machine (RMI_GRANULE_DELEGATE / UNDELEGATE).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-realm.h"
#include "rmm-internal.h"

RmiStatus rmm_realm_add_ram(RmmRealm *r, uint64_t base, uint64_t size,
                            void *store)
{
    RmiStatus ret = RMI_SUCCESS;
    unsigned i;

    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!store || !size || !rmm_aligned(base) || !rmm_aligned(size) ||
        base + size < base || base + size > r->prot_size ||
        r->nr_ram == RMM_MAX_RAM_RANGES) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    for (i = 0; i < r->nr_ram; i++) {
        if (base < r->ram[i].base + r->ram[i].size &&
            r->ram[i].base < base + size) {
            ret = RMI_ERROR_INPUT;
            goto out;
        }
    }
    r->ram[r->nr_ram++] = (RmmRamRange) {
        .base = base,
        .size = size,
        .store = store,
        .s2 = g_malloc0(size >> RMM_GRANULE_SHIFT),
    };
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmmRamRange *rmm_ram_find(RmmRealm *r, uint64_t ipa)
{
    unsigned i;

    for (i = 0; i < r->nr_ram; i++) {
        if (ipa >= r->ram[i].base && ipa - r->ram[i].base < r->ram[i].size) {
            return &r->ram[i];
        }
    }
    return NULL;
}

void rmm_granule_wait_idle(RmmRealm *r, uint64_t ipa)
{
    RmmRamRange *rr = rmm_ram_find(r, ipa);

    while (rr && (*rmm_s2_entry(rr, ipa) & S2_BUSY)) {
        g_cond_wait(&r->idle, &r->lock);
    }
}

void rmm_granules_release(RmmRealm *r, uint8_t *const *s2, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        *s2[i] &= ~S2_BUSY;
    }
    g_cond_broadcast(&r->idle);
}

/* The RAM range of the granule at @pa, or NULL if @pa is not usable. */
static RmmRamRange *rmm_granule_range(RmmRealm *r, uint64_t pa)
{
    return rmm_aligned(pa) ? rmm_ram_find(r, pa) : NULL;
}

static RmmGranuleState rmm_granule_state_of(uint8_t e)
{
    if (e & S2_ASSIGNED) {
        return RMM_GRANULE_DATA;
    }
    return (e & S2_DELEGATED) ? RMM_GRANULE_DELEGATED
                              : RMM_GRANULE_UNDELEGATED;
}

/*
 * Move the granule at @pa from state @from to DELEGATED (@delegate) or
 * to UNDELEGATED (scrubbed); RMI_ERROR_INPUT if it is not in @from.
 */
static RmiStatus rmm_granule_move(RmmRealm *r, uint64_t pa,
                                  RmmGranuleState from, bool delegate)
{
    RmiStatus ret = RMI_ERROR_INPUT;
    RmmRamRange *rr;

    g_mutex_lock(&r->lock);
    /* Not while a lane writes the realm's data into it. */
    rmm_granule_wait_idle(r, pa);
    rr = rmm_granule_range(r, pa);
    if (rr && rmm_granule_state_of(*rmm_s2_entry(rr, pa)) == from) {
        if (delegate) {
            *rmm_s2_entry(rr, pa) |= S2_DELEGATED;
        } else {
            /* DATA_DESTROY scrubbed it; scrub again for the host anyway. */
            memset(rmm_granule_ptr(rr, pa), 0, RMM_GRANULE_SIZE);
            *rmm_s2_entry(rr, pa) &= ~S2_DELEGATED;
        }
        ret = RMI_SUCCESS;
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_granule_delegate(RmmRealm *r, uint64_t pa)
{
    return rmm_granule_move(r, pa, RMM_GRANULE_UNDELEGATED, true);
}

RmiStatus rmm_granule_undelegate(RmmRealm *r, uint64_t pa)
{
    return rmm_granule_move(r, pa, RMM_GRANULE_DELEGATED, false);
}

RmmGranuleState rmm_granule_state(RmmRealm *r, uint64_t pa)
{
    RmmGranuleState s = RMM_GRANULE_UNDELEGATED;
    RmmRamRange *rr;

    g_mutex_lock(&r->lock);
    rr = rmm_granule_range(r, pa);
    if (rr) {
        s = rmm_granule_state_of(*rmm_s2_entry(rr, pa));
    }
    g_mutex_unlock(&r->lock);
    return s;
}

RmiStatus rmm_granule_delegate_range(RmmRealm *r, uint64_t base,
                                     uint64_t top)
{
    RmiStatus ret = RMI_SUCCESS;
    uint64_t pa;

    for (pa = base; pa < top && ret == RMI_SUCCESS;
         pa += RMM_GRANULE_SIZE) {
        ret = rmm_granule_delegate(r, pa);
    }
    return ret;
}
