/*
 * Emulated RMM: RECs (RMI_REC_CREATE, the REC enter gate, REC exits)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-rec.h"
#include "rmm-internal.h"
#include "rmm-measure.h"

/* RmiRecMpidr: the affinity fields a REC's MPIDR may have. */
#define RMM_MPIDR_VALID_MASK    0xff00ffff0fULL

/* The REC index of @mpidr: Aff3:Aff2:Aff1:Aff0[3:0]. */
static uint64_t rmm_mpidr_to_rec_index(uint64_t mpidr)
{
    return (mpidr & 0xf) | ((mpidr >> 8) & 0xff) << 4 |
           ((mpidr >> 16) & 0xff) << 12 | ((mpidr >> 32) & 0xff) << 20;
}

bool rmm_rec_mpidr_ok(uint64_t mpidr, unsigned index)
{
    return !(mpidr & ~RMM_MPIDR_VALID_MASK) &&
           rmm_mpidr_to_rec_index(mpidr) == index;
}

void rmm_rec_free(RmmRec *rec)
{
    if (rec->token) {
        g_byte_array_unref(rec->token);
    }
    g_free(rec);
}

RmmRec *rmm_rec_new(RmmRealm *r, uint64_t mpidr, bool runnable)
{
    RmmRec *rec = g_new0(RmmRec, 1);

    rec->realm = r;
    rec->index = r->nr_recs;
    rec->mpidr = mpidr;
    rec->runnable = runnable;
    r->recs = g_renew(RmmRec *, r->recs, r->nr_recs + 1);
    r->recs[r->nr_recs++] = rec;
    return rec;
}

RmiStatus rmm_rec_create(RmmRealm *r, const RmmRecParams *params,
                         RmmRec **out)
{
    RmiStatus ret = RMI_SUCCESS;
    RmmRec *rec;

    *out = NULL;
    if (params->flags & ~RMI_REC_FLAG_RUNNABLE) {
        return RMI_ERROR_INPUT;
    }
    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (r->nr_recs == RMM_MAX_RECS ||
        !rmm_rec_mpidr_ok(params->mpidr, r->nr_recs)) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    rec = rmm_rec_new(r, params->mpidr,
                      params->flags & RMI_REC_FLAG_RUNNABLE);
    rmm_measure_rec_create(r->params.hash_algo, r->rim, params);
    *out = rec;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

unsigned rmm_realm_num_recs(RmmRealm *r)
{
    unsigned n;

    g_mutex_lock(&r->lock);
    n = r->nr_recs;
    g_mutex_unlock(&r->lock);
    return n;
}

RmmRec *rmm_realm_rec(RmmRealm *r, unsigned index)
{
    RmmRec *rec;

    g_mutex_lock(&r->lock);
    rec = index < r->nr_recs ? r->recs[index] : NULL;
    g_mutex_unlock(&r->lock);
    return rec;
}

RmmRec *rmm_rec_find(RmmRealm *r, uint64_t mpidr)
{
    unsigned i;

    for (i = 0; i < r->nr_recs; i++) {
        if (r->recs[i]->mpidr == mpidr) {
            return r->recs[i];
        }
    }
    return NULL;
}

RmmRec *rmm_realm_rec_by_mpidr(RmmRealm *r, uint64_t mpidr)
{
    RmmRec *rec;

    g_mutex_lock(&r->lock);
    rec = rmm_rec_find(r, mpidr);
    g_mutex_unlock(&r->lock);
    return rec;
}

unsigned rmm_rec_index(RmmRec *rec)
{
    return rec->index;
}

uint64_t rmm_rec_cntvoff(RmmRec *rec)
{
    return rec->cntvoff;
}

bool rmm_rec_may_enter(RmmRec *rec)
{
    RmmRealm *r = rec->realm;
    bool ok;

    g_mutex_lock(&r->lock);
    ok = r->state == RMM_REALM_ACTIVE && rec->runnable &&
         rec->pending == RMM_REC_PENDING_NONE && rmm_mig_may_run(r);
    g_mutex_unlock(&r->lock);
    return ok;
}

RmiStatus rmm_rec_complete(RmmRec *rec, RmmRipasResponse response,
                           const RmmRecExit *exit,
                           uint64_t regs[RMM_SMC_NREGS])
{
    RmmRealm *r = rec->realm;
    RmiStatus ret = RMI_SUCCESS;
    uint8_t *buf;
    bool fault;
    unsigned i;

    g_mutex_lock(&r->lock);
    if (rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    switch (rec->pending) {
    case RMM_REC_PENDING_RIPAS:
        /*
         * x1 is the first address not changed, whatever the response.
         * An ACCEPT that changed nothing would make the realm loop.
         */
        regs[1] = rec->ripas_next;
        if (response == RMM_RIPAS_ACCEPT &&
            rec->ripas_next != rec->ripas_base) {
            regs[2] = RMM_RIPAS_ACCEPT;
        } else {
            regs[2] = RMM_RIPAS_REJECT;
        }
        regs[0] = RSI_SUCCESS;
        break;
    case RMM_REC_PENDING_HOST_CALL:
        buf = rmm_realm_granule_for_rsi(r, rec->host_call_ipa, &fault);
        if (!buf) {
            /* The realm changed the RIPAS under the call meanwhile. */
            regs[0] = RSI_ERROR_INPUT;
            break;
        }
        buf += rec->host_call_ipa & (RMM_GRANULE_SIZE - 1);
        for (i = 0; i < RSI_HOST_CALL_NR_GPRS; i++) {
            rmi_st64(buf + 8 + 8 * i, exit->gprs[i]);
        }
        rmm_write_notify(r, rec->host_call_ipa, RSI_HOST_CALL_SIZE);
        regs[0] = RSI_SUCCESS;
        break;
    default:
        ret = RMI_ERROR_REC;
        goto out;
    }
    rec->pending = RMM_REC_PENDING_NONE;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}
