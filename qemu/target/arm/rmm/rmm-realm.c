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
    p->features = (RmmPlatformFeatures) {
        .s2sz = RMI_IPA_WIDTH_MAX,
        .num_bps = RMM_MAX_NUM_BPS,
        .num_wps = RMM_MAX_NUM_WPS,
    };
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

void rmm_platform_get_features(RmmPlatform *p, RmmPlatformFeatures *f)
{
    g_mutex_lock(&p->lock);
    *f = p->features;
    g_mutex_unlock(&p->lock);
}

bool rmm_platform_set_features(RmmPlatform *p, const RmmPlatformFeatures *f,
                               char **err)
{
    bool ok = false;

    if (f->s2sz < RMI_IPA_WIDTH_MIN || f->s2sz > RMI_IPA_WIDTH_MAX) {
        return rmm_set_err(err, "platform features: IPA width %u outside "
                           "%u..%u", f->s2sz, RMI_IPA_WIDTH_MIN,
                           RMI_IPA_WIDTH_MAX);
    }
    if (f->sve_vl > 15 || (!f->sve && f->sve_vl)) {
        return rmm_set_err(err, "platform features: SVE vector length %u "
                           "(VQ - 1) without SVE or above 15", f->sve_vl);
    }
    if (!f->num_bps || f->num_bps > RMM_MAX_NUM_BPS ||
        !f->num_wps || f->num_wps > RMM_MAX_NUM_WPS) {
        return rmm_set_err(err, "platform features: %u breakpoints and %u "
                           "watchpoints (each minus one) outside 1..%u",
                           f->num_bps, f->num_wps, RMM_MAX_NUM_BPS);
    }
    if (f->pmu_num_ctrs > 31 || (!f->pmu && f->pmu_num_ctrs)) {
        return rmm_set_err(err, "platform features: %u PMU counters "
                           "without a PMU or above 31", f->pmu_num_ctrs);
    }
    g_mutex_lock(&p->lock);
    if (!rmm_all_zero(p->vmid_used, sizeof(p->vmid_used))) {
        rmm_set_err(err, "platform features: the platform has realms");
    } else {
        p->features = *f;
        ok = true;
    }
    g_mutex_unlock(&p->lock);
    return ok;
}

uint64_t rmm_platform_features0(RmmPlatform *p)
{
    RmmPlatformFeatures f;

    rmm_platform_get_features(p, &f);
    return (uint64_t)f.s2sz |
           (uint64_t)f.lpa2 << 8 |
           (uint64_t)f.sve << 9 |
           (uint64_t)f.sve_vl << 10 |
           (uint64_t)f.num_bps << 14 |
           (uint64_t)f.num_wps << 20 |
           (uint64_t)f.pmu << 26 |
           (uint64_t)f.pmu_num_ctrs << 27 |
           1ULL << 32 |                 /* HASH_SHA_256 */
           1ULL << 33;                  /* HASH_SHA_512 */
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

/*
 * Reserve (@take) or release a VMID; false if it is already in use.
 * With @f, what the platform offers, read under the same lock.
 */
static bool rmm_vmid_update(RmmPlatform *plat, uint16_t vmid, bool take,
                            RmmPlatformFeatures *f)
{
    uint8_t bit = 1u << (vmid % 8);
    bool ok = true;

    g_mutex_lock(&plat->lock);
    if (f) {
        *f = plat->features;
    }
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

/* Whether @params asks only for what the platform offers (@f). */
static bool rmm_realm_params_fit(const RmiRealmParams *params,
                                 const RmmPlatformFeatures *f)
{
    uint64_t flags = params->flags;

    if (params->ipa_width < RMI_IPA_WIDTH_MIN || params->ipa_width > f->s2sz) {
        return false;
    }
    if (params->hash_algo != RMI_HASH_SHA256 &&
        params->hash_algo != RMI_HASH_SHA512) {
        return false;
    }
    if (flags & ~(RMI_REALM_FLAGS_LPA2 | RMI_REALM_FLAGS_SVE |
                  RMI_REALM_FLAGS_PMU | RMI_REALM_FLAGS_MIG_ZERO)) {
        return false;
    }
    if ((flags & RMI_REALM_FLAGS_LPA2) && !f->lpa2) {
        return false;
    }
    /* A vector length or counters only with the feature's flag. */
    if ((flags & RMI_REALM_FLAGS_SVE) ?
        !f->sve || params->sve_vl > f->sve_vl : params->sve_vl != 0) {
        return false;
    }
    if ((flags & RMI_REALM_FLAGS_PMU) ?
        !f->pmu || params->pmu_num_ctrs > f->pmu_num_ctrs :
        params->pmu_num_ctrs != 0) {
        return false;
    }
    /* At least two of each (a count minus one): 0 is reserved. */
    return params->num_bps >= 1 && params->num_bps <= f->num_bps &&
           params->num_wps >= 1 && params->num_wps <= f->num_wps;
}

RmiStatus rmm_realm_create(RmmPlatform *plat, const RmiRealmParams *params,
                           RmmRealm **out)
{
    RmmPlatformFeatures f;
    RmmRealm *r;

    *out = NULL;
    /* The features as they are while the VMID is taken: they stay so. */
    if (!rmm_vmid_update(plat, params->vmid, true, &f)) {
        return RMI_ERROR_INPUT;
    }
    if (!rmm_realm_params_fit(params, &f)) {
        rmm_vmid_update(plat, params->vmid, false, NULL);
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
    rmm_vmid_update(r->plat, r->params.vmid, false, NULL);
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
