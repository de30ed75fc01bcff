/*
 * Emulated RMM: stage 2 translation tables (RMI_RTT_*)

 * RTT_INIT_RIPAS, RTT_SET_RIPAS, RTT_READ_ENTRY and the stage 2 walk of
 * realm accesses.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "rmm-internal.h"
#include "rmm-measure.h"

/*
 * Check that [base, top) is a non-empty, granule aligned range of
 * protected IPA space.
 */
static bool rmm_prot_range_ok(RmmRealm *r, uint64_t base, uint64_t top)
{
    return rmm_aligned(base) && rmm_aligned(top) && base < top &&
           top <= r->prot_size;
}

RmiStatus rmm_rtt_init_ripas(RmmRealm *r, uint64_t base, uint64_t top,
                             uint64_t *out_top)
{
    RmiStatus ret = RMI_SUCCESS;
    RmmRamRange *rr;
    uint64_t ipa;

    *out_top = base;
    g_mutex_lock(&r->lock);
    if (!rmm_prot_range_ok(r, base, top)) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    if (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    /* The whole range must be backed and still UNASSIGNED, EMPTY. */
    rr = rmm_ram_find(r, base);
    if (!rr || top - rr->base > rr->size) {
        ret = RMI_ERROR_RTT;
        goto out;
    }
    for (ipa = base; ipa < top; ipa += RMM_GRANULE_SIZE) {
        if (*rmm_s2_entry(rr, ipa) != RMI_RIPAS_EMPTY) {
            ret = RMI_ERROR_RTT;
            *out_top = ipa;
            goto out;
        }
    }
    for (ipa = base; ipa < top; ipa += RMM_GRANULE_SIZE) {
        *rmm_s2_entry(rr, ipa) = RMI_RIPAS_RAM;
    }
    /*
     * The RIM is extended once per RTT entry the command covers.  The
     * model's RTTs map protected RAM with level 2 (2 MiB) block entries
     * where the range is 2 MiB aligned, and level 3 (4 KiB) entries
     * elsewhere, as a host that creates RTTs down to level 2 would.
     */
    for (ipa = base; ipa < top; ) {
        uint64_t next = ipa + RMM_GRANULE_SIZE;

        if ((ipa & (RMM_L2_BLOCK_SIZE - 1)) == 0 &&
            top - ipa >= RMM_L2_BLOCK_SIZE) {
            next = ipa + RMM_L2_BLOCK_SIZE;
        }
        rmm_measure_init_ripas(r->params.hash_algo, r->rim, ipa, next);
        ipa = next;
    }
    *out_top = top;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_rtt_set_ripas(RmmRealm *r, RmmRec *rec, uint64_t base,
                            uint64_t top, uint64_t *out_top)
{
    RmiStatus ret = RMI_SUCCESS;
    RmmRamRange *rr;
    uint64_t ipa;

    *out_top = base;
    g_mutex_lock(&r->lock);
    if (rec->realm != r || rec->pending != RMM_REC_PENDING_RIPAS) {
        ret = RMI_ERROR_REC;
        goto out;
    }
    if (!rmm_aligned(base) || !rmm_aligned(top) || base != rec->ripas_next ||
        top <= base || top > rec->ripas_top) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    if (r->state != RMM_REALM_ACTIVE || rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    for (ipa = base; ipa < top; ipa += RMM_GRANULE_SIZE) {
        rr = rmm_ram_find(r, ipa);
        if (!rr) {
            /* Unbacked protected IPA is EMPTY and can be nothing else. */
            if (rec->ripas_value != RMI_RIPAS_EMPTY) {
                ret = ipa == base ? RMI_ERROR_RTT : RMI_SUCCESS;
                break;
            }
            continue;
        }
        *rmm_s2_entry(rr, ipa) = (*rmm_s2_entry(rr, ipa) & S2_ASSIGNED) |
                                 rec->ripas_value;
        rmm_mig_log_s2_locked(r, ipa);
    }
    rec->ripas_next = ipa;
    *out_top = ipa;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_rtt_read_entry(RmmRealm *r, uint64_t ipa, RmmHipas *hipas,
                             RmiRipas *ripas)
{
    RmmRamRange *rr;

    if (!rmm_aligned(ipa) || ipa >= r->prot_size) {
        return RMI_ERROR_INPUT;
    }
    g_mutex_lock(&r->lock);
    rr = rmm_ram_find(r, ipa);
    if (rr) {
        uint8_t e = *rmm_s2_entry(rr, ipa);
        *hipas = (e & S2_ASSIGNED) ? RMM_HIPAS_ASSIGNED : RMM_HIPAS_UNASSIGNED;
        *ripas = e & S2_RIPAS_MASK;
    } else {
        *hipas = RMM_HIPAS_UNASSIGNED;
        *ripas = RMI_RIPAS_EMPTY;
    }
    g_mutex_unlock(&r->lock);
    return RMI_SUCCESS;
}

static RmmS2Result rmm_s2_result(RmmRamRange *rr, uint64_t ipa)
{
    uint8_t e;

    if (!rr) {
        return RMM_S2_ABORT;
    }
    e = *rmm_s2_entry(rr, ipa);
    if ((e & S2_RIPAS_MASK) != RMI_RIPAS_RAM) {
        return RMM_S2_ABORT;
    }
    return (e & S2_ASSIGNED) ? RMM_S2_OK : RMM_S2_UNASSIGNED;
}

RmmS2Result rmm_realm_s2_lookup(RmmRealm *r, uint64_t ipa)
{
    RmmS2Result res;

    if (ipa >= r->prot_size) {
        return RMM_S2_ABORT;
    }
    g_mutex_lock(&r->lock);
    res = rmm_s2_result(rmm_ram_find(r, ipa), ipa);
    g_mutex_unlock(&r->lock);
    return res;
}

uint8_t *rmm_realm_granule_for_rsi(RmmRealm *r, uint64_t ipa, bool *fault)
{
    RmmRamRange *rr;

    *fault = false;
    if (ipa >= r->prot_size) {
        return NULL;
    }
    rr = rmm_ram_find(r, ipa);
    switch (rmm_s2_result(rr, ipa)) {
    case RMM_S2_OK:
        return rmm_granule_ptr(rr, ipa);
    case RMM_S2_UNASSIGNED:
        *fault = true;
        return NULL;
    default:
        return NULL;
    }
}
