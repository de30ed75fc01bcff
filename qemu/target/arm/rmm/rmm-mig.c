/*
 * Emulated RMM migration: session state and dirty tracking
 *
 * Per RAM range, one bit per granule in each of: the host's dirty log
 * (read and cleared by rmm_mig_dirty_log()), "pending" (contents not
 * exported since they last changed: END requires none, whatever the host
 * read from the log), "RIPAS dirty" (HIPAS or RIPAS not exported since
 * they last changed), and "sent in this epoch" for DATA and for RIPAS (a
 * granule appears at most once per epoch in each; the exporter defers a
 * second export to the next epoch).  Writes are logged only for assigned
 * granules; unassigning a granule drops its log and pending bits (its
 * RIPAS record, which says "unassigned", covers it).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */


#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-mig.h"
#include "rmm-mig-internal.h"

/* Bits of every RAM range set in @bms (NULL bitmaps count 0). */
uint64_t rmm_mig_count(RmmRealm *r, uint64_t *const *bms)
{
    uint64_t n = 0;
    unsigned i;

    for (i = 0; i < r->nr_ram; i++) {
        n += bm_count(bms[i], rr_granules(&r->ram[i]));
    }
    return n;
}

/* The RAM ranges of @r in IPA order: their indexes in @order. */
void rmm_mig_ram_order(RmmRealm *r, unsigned order[RMM_MAX_RAM_RANGES])
{
    unsigned i, j;

    for (i = 0; i < r->nr_ram; i++) {
        for (j = i; j > 0 && r->ram[order[j - 1]].base > r->ram[i].base;
             j--) {
            order[j] = order[j - 1];
        }
        order[j] = i;
    }
}

static void mig_free_arrays(RmmMig *m)
{
    unsigned i;

    for (i = 0; i < RMM_MAX_RAM_RANGES; i++) {
        g_clear_pointer(&m->log[i], g_free);
        g_clear_pointer(&m->pending[i], g_free);
        g_clear_pointer(&m->ripas_dirty[i], g_free);
        g_clear_pointer(&m->data_sent[i], g_free);
        g_clear_pointer(&m->ripas_sent[i], g_free);
        g_clear_pointer(&m->lane_data[i], g_free);
        g_clear_pointer(&m->data_epoch[i], g_free);
        g_clear_pointer(&m->ripas_epoch[i], g_free);
    }
}

/*
 * End the session's cryptography and tracking: keys wiped, logging off,
 * bitmaps freed.  Phase, statistics and the abort token stay.
 */
void rmm_mig_end_session(RmmMig *m)
{
    rmm_mig_keys_wipe(&m->keys);
    rmm_mig_handshake_free(m);
    m->logging = false;
    mig_free_arrays(m);
    rmm_mig_drop_rec_pt(m);
    g_clear_pointer(&m->fail_why, g_free);
}

void rmm_mig_import_fail(RmmMig *m, char **err)
{
    m->failed = true;
    if (!m->fail_why && err && *err) {
        m->fail_why = g_strdup(*err);
    }
}

const char *rmm_mig_fail_why(const RmmMig *m)
{
    return m->fail_why ? m->fail_why : "an earlier record";
}

/* Wipe and free the plaintext of the last REC imported (registers...). */
void rmm_mig_drop_rec_pt(RmmMig *m)
{
    if (m->rec_pt) {
        gnutls_memset(m->rec_pt, 0, m->rec_pt_len);
        g_clear_pointer(&m->rec_pt, g_free);
        m->rec_pt_len = 0;
    }
    if (m->rec_arch) {
        gnutls_memset(m->rec_arch, 0, sizeof(*m->rec_arch));
        g_clear_pointer(&m->rec_arch, g_free);
    }
}

/*
 * The one place the migration phase changes, with the realm locked; the
 * host's phase notifier hears of every transition.
 */
void rmm_mig_set_phase(RmmRealm *r, RmmMigPhase phase)
{
    RmmMigPhase from = r->mig.phase;

    r->mig.phase = phase;
    if (from != phase && r->phase_fn) {
        r->phase_fn(r->phase_opaque, from, phase);
    }
}

/* A new session: everything but the phase cleared. */
void rmm_mig_reset(RmmMig *m)
{
    RmmMigPhase phase = m->phase;

    rmm_mig_end_session(m);
    memset(m, 0, sizeof(*m));
    m->phase = phase;
}

void rmm_mig_free(RmmRealm *r)
{
    rmm_mig_end_session(&r->mig);
    gnutls_memset(r->mig.abort_token, 0, sizeof(r->mig.abort_token));
}

bool rmm_mig_frozen(RmmRealm *r)
{
    switch (r->mig.phase) {
    case RMM_MIG_OUT_PAUSED:
        return r->mig.recs_done > 0;
    case RMM_MIG_OUT_ENDED:
    case RMM_MIG_OUT_MIGRATED:
    case RMM_MIG_IN_IMPORTING:
    case RMM_MIG_IN_ABORTED:
        return true;
    default:
        return false;
    }
}

bool rmm_mig_may_run(RmmRealm *r)
{
    return r->mig.phase == RMM_MIG_NONE ||
           r->mig.phase == RMM_MIG_OUT_EXPORTING;
}

void rmm_mig_log_write_locked(RmmRealm *r, uint64_t ipa, uint64_t len)
{
    RmmMig *m = &r->mig;
    uint64_t end, lo, hi, i;
    unsigned n;

    if (!m->logging || !len) {
        return;
    }
    end = ipa + len < ipa ? UINT64_MAX : ipa + len;
    for (n = 0; n < r->nr_ram; n++) {
        RmmRamRange *rr = &r->ram[n];

        lo = MAX(ipa, rr->base);
        hi = MIN(end, rr->base + rr->size);
        if (lo >= hi) {
            continue;
        }
        for (i = rr_index(rr, lo); i <= rr_index(rr, hi - 1); i++) {
            if (rr->s2[i] & S2_ASSIGNED) {
                bm_set(m->log[n], i);
                bm_set(m->pending[n], i);
            }
        }
    }
}

void rmm_mig_log_s2_locked(RmmRealm *r, uint64_t ipa)
{
    RmmMig *m = &r->mig;
    RmmRamRange *rr;
    uint64_t i;
    unsigned n;

    if (!m->logging) {
        return;
    }
    rr = rmm_ram_find(r, ipa);
    if (!rr) {
        return;
    }
    n = rr - r->ram;
    i = rr_index(rr, ipa);
    bm_set(m->ripas_dirty[n], i);
    if (!(rr->s2[i] & S2_ASSIGNED)) {
        /* Zero now; the RIPAS record saying "unassigned" covers it. */
        bm_clear(m->pending[n], i);
        bm_clear(m->log[n], i);
    }
}

RmmMigPhase rmm_mig_phase(RmmRealm *r)
{
    RmmMigPhase p;

    g_mutex_lock(&r->lock);
    p = r->mig.phase;
    g_mutex_unlock(&r->lock);
    return p;
}

void rmm_mig_stats(RmmRealm *r, RmmMigStats *out)
{
    g_mutex_lock(&r->lock);
    *out = r->mig.stats;
    out->epoch = r->mig.epoch;
    out->dirty_granules = rmm_mig_count(r, r->mig.log);
    out->pending_granules = rmm_mig_count(r, r->mig.pending);
    out->ripas_pending_granules = rmm_mig_count(r, r->mig.ripas_dirty);
    g_mutex_unlock(&r->lock);
}

void rmm_mig_log_write(RmmRealm *r, uint64_t ipa, uint64_t len)
{
    g_mutex_lock(&r->lock);
    rmm_mig_log_write_locked(r, ipa, len);
    g_mutex_unlock(&r->lock);
}

/* Bookkeeping of a record exported or imported. */
void rmm_mig_account(RmmMig *m, unsigned type, size_t len, uint64_t units)
{
    m->seq += units;
    m->last = type;
    m->stats.total_bytes += len;
}
