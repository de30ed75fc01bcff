/*
 * Emulated RMM: realms (RMI_REALM_CREATE / ACTIVATE / DESTROY)
 *
 * The host side of the model, shaped after the RMI of DEN0137 1.0.  Each
 * command checks its failure conditions before it changes anything, so a
 * failed command leaves the realm as it was.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-realm.h"
#include "rmm-mig.h"            /* rmm_realm_set_phase_notifier() */
#include "rmm-internal.h"
#include "rmm-measure.h"

bool G_GNUC_PRINTF(2, 3) rmm_set_err(char **err, const char *fmt, ...)
{
    va_list ap;

    if (err) {
        va_start(ap, fmt);
        *err = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return false;
}

RmmPlatform *rmm_platform_new_keys(RmmAttestKeys *keys)
{
    RmmPlatform *p = g_new0(RmmPlatform, 1);

    p->keys = keys;
    g_mutex_init(&p->lock);
    return p;
}

RmmPlatform *rmm_platform_new(char **err)
{
    RmmAttestKeys *keys = rmm_attest_keys_new(err);

    return keys ? rmm_platform_new_keys(keys) : NULL;
}

void rmm_platform_set_counter(RmmPlatform *p, RmmCounterFn *fn,
                              void *opaque)
{
    p->counter = fn;
    p->counter_opaque = opaque;
}

void rmm_platform_get_claims(RmmPlatform *p, RmmPlatformClaims *c)
{
    rmm_attest_keys_get_claims(p->keys, c);
}

bool rmm_platform_set_claims(RmmPlatform *p, const RmmPlatformClaims *c,
                             char **err)
{
    bool ok;

    /* Under the lock no realm comes: none reads the token meanwhile. */
    g_mutex_lock(&p->lock);
    if (!rmm_all_zero(p->vmid_used, sizeof(p->vmid_used))) {
        ok = rmm_set_err(err, "platform claims: the platform has realms");
    } else {
        ok = rmm_attest_keys_set_claims(p->keys, c, err);
    }
    g_mutex_unlock(&p->lock);
    return ok;
}

uint64_t rmm_platform_counter(RmmPlatform *p)
{
    return p->counter ? p->counter(p->counter_opaque) : 0;
}

void rmm_platform_free(RmmPlatform *p)
{
    if (p) {
        rmm_attest_keys_free(p->keys);
        rmm_platform_free_identity(p);
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
    if (params->ipa_width < RMI_IPA_WIDTH_MIN ||
        params->ipa_width > RMI_IPA_WIDTH_MAX) {
        return RMI_ERROR_INPUT;
    }
    if (params->hash_algo != RMI_HASH_SHA256 &&
        params->hash_algo != RMI_HASH_SHA512) {
        return RMI_ERROR_INPUT;
    }
    if (params->flags & ~(RMI_REALM_FLAGS_LPA2 | RMI_REALM_FLAGS_SVE |
                          RMI_REALM_FLAGS_PMU | RMI_REALM_FLAGS_MIG_ZERO)) {
        return RMI_ERROR_INPUT;
    }
    /* The emulated PE has no LPA2 stage 2, SVE or PMU for realms. */
    if ((params->flags & ~RMI_REALM_FLAGS_MIG_ZERO) || params->sve_vl ||
        params->pmu_num_ctrs) {
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
    g_cond_init(&r->idle);
    r->plat = plat;
    r->params = *params;
    r->state = RMM_REALM_NEW;
    rmm_rtt_init(r);
    r->prot_size = 1ULL << (params->ipa_width - 1);
    rmm_measure_realm_create(params, r->rim);
    *out = r;
    return RMI_SUCCESS;
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

void rmm_realm_destroy(RmmRealm *r)
{
    unsigned i;

    if (!r) {
        return;
    }
    /*
     * Lanes still sealing or opening use the realm and write its
     * granules: wait for them (the host must start no command of this
     * realm once it destroys it).
     */
    g_mutex_lock(&r->lock);
    while (r->mig.inflight) {
        g_cond_wait(&r->idle, &r->lock);
    }
    g_mutex_unlock(&r->lock);
    rmm_mig_free(r);
    rmm_rtt_free(r);
    for (i = 0; i < r->nr_recs; i++) {
        rmm_rec_free(r->recs[i]);
    }
    g_free(r->recs);
    for (i = 0; i < r->nr_ram; i++) {
        /* Scrub: the store goes back to the host. */
        memset(r->ram[i].store, 0, r->ram[i].size);
        rmm_write_notify(r, r->ram[i].base, r->ram[i].size);
        g_free(r->ram[i].s2);
    }
    rmm_vmid_update(r->plat, r->params.vmid, false);
    g_cond_clear(&r->idle);
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

void rmm_realm_set_phase_notifier(RmmRealm *r, RmmMigPhaseFn *fn,
                                  void *opaque)
{
    g_mutex_lock(&r->lock);
    r->phase_fn = fn;
    r->phase_opaque = opaque;
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
