/*
 * Emulated RMM: realms, protected memory, stage 2 state and RECs
 *
 * The host side of the model, shaped after the RMI of DEN0137 1.0.  Each
 * command checks its failure conditions before it changes anything, so a
 * failed command leaves the realm as it was.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include "rmm-internal.h"
#include "rmm-measure.h"

RmmPlatform *rmm_platform_new(char **err)
{
    RmmPlatform *p = g_new0(RmmPlatform, 1);

    p->keys = rmm_attest_keys_new(err);
    if (!p->keys) {
        g_free(p);
        return NULL;
    }
    g_mutex_init(&p->lock);
    return p;
}

void rmm_platform_free(RmmPlatform *p)
{
    if (p) {
        rmm_attest_keys_free(p->keys);
        g_mutex_clear(&p->lock);
        g_free(p);
    }
}

/* ---- Realm lifecycle ---- */

/* Reserve (@take) or release a VMID; false if it is already in use. */
static bool rmm_vmid_update(RmmPlatform *plat, uint16_t vmid, bool take)
{
    uint8_t bit = 1u << (vmid % 8);
    bool ok = true;

    g_mutex_lock(&plat->lock);
    if (!take) {
        plat->vmid_used[vmid / 8] &= ~bit;
    } else if (plat->vmid_used[vmid / 8] & bit) {
        ok = false;
    } else {
        plat->vmid_used[vmid / 8] |= bit;
    }
    g_mutex_unlock(&plat->lock);
    return ok;
}

RmiStatus rmm_realm_create(RmmPlatform *plat, const RmiRealmParams *params,
                           RmmRealm **out)
{
    RmmRealm *r;

    *out = NULL;
    if (params->ipa_width < RMM_IPA_WIDTH_MIN ||
        params->ipa_width > RMM_IPA_WIDTH_MAX) {
        return RMI_ERROR_INPUT;
    }
    if (params->hash_algo != RMI_HASH_SHA256 &&
        params->hash_algo != RMI_HASH_SHA512) {
        return RMI_ERROR_INPUT;
    }
    if (params->flags & ~(RMI_REALM_FLAGS_LPA2 | RMI_REALM_FLAGS_SVE |
                          RMI_REALM_FLAGS_PMU)) {
        return RMI_ERROR_INPUT;
    }
    /* The emulated PE has no LPA2 stage 2, SVE or PMU for realms. */
    if (params->flags || params->sve_vl || params->pmu_num_ctrs) {
        return RMI_ERROR_INPUT;
    }
    if (params->num_bps > RMM_MAX_NUM_BPS ||
        params->num_wps > RMM_MAX_NUM_WPS) {
        return RMI_ERROR_INPUT;
    }
    if (!rmm_vmid_update(plat, params->vmid, true)) {
        return RMI_ERROR_INPUT;
    }

    r = g_new0(RmmRealm, 1);
    g_mutex_init(&r->lock);
    r->plat = plat;
    r->params = *params;
    r->state = RMM_REALM_NEW;
    r->prot_size = 1ULL << (params->ipa_width - 1);
    rmm_measure_realm_create(params, r->rim);
    *out = r;
    return RMI_SUCCESS;
}

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

RmiStatus rmm_realm_activate(RmmRealm *r)
{
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE) {
        /* An imported realm becomes ACTIVE by rmm_mig_import_commit(). */
        ret = RMI_ERROR_REALM;
    } else {
        r->state = RMM_REALM_ACTIVE;
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

static void rmm_rec_free(RmmRec *rec)
{
    if (rec->token) {
        g_byte_array_unref(rec->token);
    }
    g_free(rec);
}

void rmm_realm_destroy(RmmRealm *r)
{
    unsigned i;

    if (!r) {
        return;
    }
    rmm_mig_free(r);
    for (i = 0; i < r->nr_recs; i++) {
        rmm_rec_free(r->recs[i]);
    }
    g_free(r->recs);
    for (i = 0; i < r->nr_ram; i++) {
        /* Scrub: the store goes back to the host. */
        memset(r->ram[i].store, 0, r->ram[i].size);
        rmm_notify_write(r, r->ram[i].base, r->ram[i].size);
        g_free(r->ram[i].s2);
    }
    rmm_vmid_update(r->plat, r->params.vmid, false);
    g_mutex_clear(&r->lock);
    g_free(r);
}

void rmm_realm_set_write_notifier(RmmRealm *r, RmmWriteFn *fn, void *opaque)
{
    g_mutex_lock(&r->lock);
    r->write_fn = fn;
    r->write_opaque = opaque;
    g_mutex_unlock(&r->lock);
}

RmmRealmState rmm_realm_state(RmmRealm *r)
{
    RmmRealmState s;

    g_mutex_lock(&r->lock);
    s = r->state;
    g_mutex_unlock(&r->lock);
    return s;
}

const RmiRealmParams *rmm_realm_params(RmmRealm *r)
{
    return &r->params;      /* immutable after creation */
}

uint64_t rmm_realm_prot_size(RmmRealm *r)
{
    return r->prot_size;    /* immutable after creation */
}

size_t rmm_realm_measurement(RmmRealm *r, unsigned index,
                             uint8_t out[RMM_HASH_MAX])
{
    if (index > RMM_NUM_REMS) {
        return 0;
    }
    g_mutex_lock(&r->lock);
    memcpy(out, index == 0 ? r->rim : r->rem[index - 1], RMM_HASH_MAX);
    g_mutex_unlock(&r->lock);
    return rmm_hash_len(r->params.hash_algo);
}

/* ---- Stage 2 ---- */

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
        rmm_notify_write(r, ipa, RMM_GRANULE_SIZE);
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
        rmm_mig_note_s2(r, ipa);
        rmm_mig_note_write(r, ipa, RMM_GRANULE_SIZE);
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
    rmm_notify_write(r, ipa, RMM_GRANULE_SIZE);
    *rmm_s2_entry(rr, ipa) &= ~S2_ASSIGNED;
    rmm_mig_note_s2(r, ipa);
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
    if (rec->realm != r || rec->pending != RMM_EXIT_RIPAS_CHANGE) {
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
        rmm_mig_note_s2(r, ipa);
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

/* ---- RECs ---- */

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
    rec = g_new0(RmmRec, 1);
    rec->realm = r;
    rec->index = r->nr_recs;
    rec->mpidr = params->mpidr;
    rec->runnable = params->flags & RMI_REC_FLAG_RUNNABLE;
    r->recs = g_renew(RmmRec *, r->recs, r->nr_recs + 1);
    r->recs[r->nr_recs++] = rec;
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

bool rmm_rec_may_enter(RmmRec *rec)
{
    RmmRealm *r = rec->realm;
    bool ok;

    g_mutex_lock(&r->lock);
    ok = r->state == RMM_REALM_ACTIVE && rec->runnable &&
         rec->pending == RMM_EXIT_NONE && rmm_mig_may_run(r);
    g_mutex_unlock(&r->lock);
    return ok;
}

#define PSCI_CPU_ON_32          0x84000003u
#define PSCI_CPU_ON_64          0xC4000003u
#define PSCI_RET_SUCCESS        0
#define PSCI_RET_DENIED         (-3)

RmiStatus rmm_psci_complete(RmmRec *caller, RmmRec *target, int32_t status)
{
    RmmRealm *r = caller->realm;
    RmiStatus ret = RMI_ERROR_INPUT;
    bool cpu_on;

    if (target->realm != r || target == caller) {
        return RMI_ERROR_INPUT;
    }
    g_mutex_lock(&r->lock);
    if (rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!caller->psci_pending || target->mpidr != caller->psci_mpidr) {
        goto out;
    }
    cpu_on = caller->psci_fid == PSCI_CPU_ON_32 ||
             caller->psci_fid == PSCI_CPU_ON_64;
    if (status != PSCI_RET_SUCCESS &&
        !(cpu_on && status == PSCI_RET_DENIED && !target->runnable)) {
        /* AFFINITY_INFO cannot fail; CPU_ON of a running REC is ON. */
        goto out;
    }
    if (cpu_on && status == PSCI_RET_SUCCESS) {
        target->runnable = true;
    }
    caller->psci_pending = false;
    ret = RMI_SUCCESS;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}
