/*
 * Emulated RMM migration: the source (MIG_START, MIG_EXPORT_*, commit, abort)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-mig.h"
#include "rmm-mig-internal.h"

/* Logging on: every assigned granule dirty, every granule's RIPAS. */
static void mig_export_track(RmmRealm *r)
{
    RmmMig *m = &r->mig;
    uint64_t i, n;
    unsigned j;

    for (j = 0; j < r->nr_ram; j++) {
        RmmRamRange *rr = &r->ram[j];

        n = rr_granules(rr);
        m->log[j] = g_new0(uint64_t, bm_words(n));
        m->pending[j] = g_new0(uint64_t, bm_words(n));
        m->ripas_dirty[j] = g_new0(uint64_t, bm_words(n));
        m->data_sent[j] = g_new0(uint64_t, bm_words(n));
        m->ripas_sent[j] = g_new0(uint64_t, bm_words(n));
        m->lane_data[j] = g_new0(uint64_t, bm_words(n));
        for (i = 0; i < n; i++) {
            if (rr->s2[i] & S2_ASSIGNED) {
                bm_set(m->log[j], i);
                bm_set(m->pending[j], i);
            }
            bm_set(m->ripas_dirty[j], i);
        }
    }
    m->logging = true;
}

RmiStatus rmm_mig_export_start(RmmRealm *r, const uint8_t *policy,
                               size_t policy_len, uint8_t *buf, size_t cap,
                               size_t *len, char **err)
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    GByteArray *hello = NULL;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_ACTIVE || m->phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        rmm_set_err(err, "the realm is not active, or is migrating");
        goto out;
    }
    rmm_mig_reset(m);
    if (!rmm_mig_policy_load(r, policy, policy_len, &ret, err)) {
        goto out;
    }
    m->ecdh = rmm_mig_ecdh_new();
    /* HELLO binds the policy hash: the destination compares its own. */
    hello = m->ecdh ? rmm_mig_hs_build(r, RMM_MIG_RT_HELLO,
                                       r->params.mig_policy, err) : NULL;
    if (!hello) {
        ret = RMI_ERROR_REALM;
        goto fail;
    }
    if (!buf || cap < hello->len) {
        ret = RMI_ERROR_INPUT;
        rmm_set_err(err, "HELLO needs %u bytes", hello->len);
        goto fail;
    }
    memcpy(buf, hello->data, hello->len);
    *len = hello->len;
    m->hello = hello;
    m->hs = RMM_MIG_HS_WAIT_ACCEPT;
    mig_export_track(r);
    rmm_mig_set_phase(r, RMM_MIG_OUT_EXPORTING);
    goto out;
fail:
    if (hello) {
        g_byte_array_unref(hello);
    }
    rmm_mig_end_session(m);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_accept(RmmRealm *r, const uint8_t *buf, size_t len,
                                char **err)
{
    uint8_t bind[64], share[RMM_MIG_SHARE_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (m->phase != RMM_MIG_OUT_EXPORTING || m->failed ||
        m->hs != RMM_MIG_HS_WAIT_ACCEPT) {
        ret = RMI_ERROR_REALM;
        rmm_set_err(err, "no HELLO waits for an ACCEPT");
        goto out;
    }
    if (!buf) {
        m->failed = true;
        ret = RMI_ERROR_INPUT;
        rmm_set_err(err, "ACCEPT refused: no buffer");
        goto out;
    }
    if (!rmm_mig_hs_hello_hash(m, bind) ||
        !rmm_mig_hs_check(m, RMM_MIG_RT_ACCEPT, buf, len, bind, &r->params,
                          share, err) ||
        !rmm_mig_hs_keys(m, share, buf, len, err)) {
        /* One answer per HELLO: the host can only abort now. */
        m->failed = true;
        ret = RMI_ERROR_INPUT;
        goto out;
    }
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

uint64_t rmm_mig_dirty_log(RmmRealm *r, uint64_t base, uint64_t n,
                           uint64_t *bitmap)
{
    RmmMig *m = &r->mig;
    uint64_t end, count = 0;
    unsigned j;

    g_mutex_lock(&r->lock);
    if (!m->logging || !n || !rmm_aligned(base)) {
        goto out;
    }
    if (n > (UINT64_MAX - base) >> RMM_GRANULE_SHIFT) {
        n = (UINT64_MAX - base) >> RMM_GRANULE_SHIFT;
    }
    end = base + (n << RMM_GRANULE_SHIFT);
    for (j = 0; j < r->nr_ram; j++) {
        RmmRamRange *rr = &r->ram[j];
        uint64_t lo = MAX(base, rr->base);
        uint64_t hi = MIN(end, rr->base + rr->size);
        uint64_t i, last;

        if (lo >= hi) {
            continue;
        }
        last = rr_index(rr, hi);
        for (i = bm_next(m->log[j], rr_index(rr, lo), last); i < last;
             i = bm_next(m->log[j], i + 1, last)) {
            uint64_t bit = (rr->base + (i << RMM_GRANULE_SHIFT) - base) >>
                           RMM_GRANULE_SHIFT;

            bm_set(bitmap, bit);
            bm_clear(m->log[j], i);
            count++;
        }
    }
out:
    g_mutex_unlock(&r->lock);
    return count;
}

static bool mig_exporting(RmmMig *m)
{
    return m->phase == RMM_MIG_OUT_EXPORTING || m->phase == RMM_MIG_OUT_PAUSED;
}

/*
 * Sealing failed (GnuTLS): sequence numbers may have been used for units
 * the host now holds, so the session must never seal again.  Nothing more
 * is exported; the host can only abort.
 */
static RmiStatus mig_seal_failed(RmmMig *m, uint8_t *buf, size_t len)
{
    m->failed = true;
    gnutls_memset(buf, 0, len);
    return RMI_ERROR_REALM;
}

/* May a record of @type be exported now (phase and order)? */
static bool mig_export_ok(RmmRealm *r, unsigned type)
{
    RmmMig *m = &r->mig;

    if (m->failed || m->hs != RMM_MIG_HS_DONE) {
        return false;
    }
    switch (type) {
    case RMM_MIG_RT_IMMUTABLE:
        return mig_exporting(m) && m->last == 0;
    case RMM_MIG_RT_DATA:
        return mig_exporting(m) && m->last != 0 && m->recs_done == 0;
    case RMM_MIG_RT_RIPAS:
    case RMM_MIG_RT_EPOCH:
        /* Not while a lane's DATA is being sealed: it counts in the epoch */
        return mig_exporting(m) && m->last != 0 && m->recs_done == 0 &&
               !m->inflight;
    case RMM_MIG_RT_REC:
        return m->phase == RMM_MIG_OUT_PAUSED && rmm_mig_epoch_closed(m) &&
               m->recs_done < r->nr_recs && !m->inflight;
    case RMM_MIG_RT_END:
        return m->phase == RMM_MIG_OUT_PAUSED && rmm_mig_epoch_closed(m) &&
               m->recs_done == r->nr_recs && !m->inflight;
    default:
        return false;
    }
}

RmiStatus rmm_mig_export_immutable(RmmRealm *r, uint8_t *buf, size_t cap,
                                   size_t *len)
{
    uint8_t pt[MIG_IMM_SIZE(RMM_MAX_RAM_RANGES)];
    unsigned order[RMM_MAX_RAM_RANGES];
    const RmiRealmParams *p = &r->params;
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    size_t pt_len;
    unsigned i;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_IMMUTABLE)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    pt_len = MIG_IMM_SIZE(r->nr_ram);
    if (!buf || cap < RMM_MIG_HEADER_SIZE + MIG_IMM_BODY(r->nr_ram)) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    memset(pt, 0, sizeof(pt));
    rmi_st32(pt + MIG_IMM_IPA_WIDTH, p->ipa_width);
    pt[MIG_IMM_HASH_ALGO] = p->hash_algo;
    pt[MIG_IMM_SVE_VL] = p->sve_vl;
    pt[MIG_IMM_NUM_BPS] = p->num_bps;
    pt[MIG_IMM_NUM_WPS] = p->num_wps;
    pt[MIG_IMM_PMU_CTRS] = p->pmu_num_ctrs;
    rmi_st32(pt + MIG_IMM_NR_RAM, r->nr_ram);
    rmi_st64(pt + MIG_IMM_FLAGS, p->flags);
    memcpy(pt + MIG_IMM_RPV, p->rpv, RMM_RPV_SIZE);
    memcpy(pt + MIG_IMM_RIM, r->rim, RMM_HASH_MAX);
    rmi_st32(pt + MIG_IMM_NR_RECS, r->nr_recs);
    rmm_mig_ram_order(r, order);
    for (i = 0; i < r->nr_ram; i++) {
        rmi_st64(pt + MIG_IMM_RAM + 16 * i, r->ram[order[i]].base);
        rmi_st64(pt + MIG_IMM_RAM + 16 * i + 8, r->ram[order[i]].size);
    }
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_IMMUTABLE, m->epoch,
                               m->seq, pt, pt_len, buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    rmm_mig_account(m, RMM_MIG_RT_IMMUTABLE, *len, 1);
out:
    gnutls_memset(pt, 0, sizeof(pt));
    g_mutex_unlock(&r->lock);
    return ret;
}

typedef struct MigRun {
    uint64_t base;
    uint32_t granules;
    uint8_t state;              /* S2 entry: RIPAS | S2_ASSIGNED */
} MigRun;

/*
 * Granule @i of RAM range @j has its RIPAS described in this epoch
 * already, or its DATA went on a lane other than 0 (not ordered with
 * lane 0's RIPAS records): its RIPAS change waits for the next epoch.
 */
static bool mig_ripas_waits(RmmMig *m, unsigned j, uint64_t i)
{
    return bm_test(m->ripas_sent[j], i) || bm_test(m->lane_data[j], i);
}

/*
 * Runs of granules to export in this epoch, in IPA order, at most
 * @max_runs of them; *@more set when some are left.
 */
static void mig_ripas_runs(RmmRealm *r, size_t max_runs, GArray *runs,
                           bool *more)
{
    unsigned order[RMM_MAX_RAM_RANGES];
    RmmMig *m = &r->mig;
    unsigned o;

    rmm_mig_ram_order(r, order);
    for (o = 0; o < r->nr_ram && !*more; o++) {
        unsigned j = order[o];
        RmmRamRange *rr = &r->ram[j];
        uint64_t n = rr_granules(rr), i, e = 0;

        for (i = bm_next(m->ripas_dirty[j], 0, n); i < n;
             i = bm_next(m->ripas_dirty[j], e, n)) {
            MigRun run;

            e = i + 1;
            if (mig_ripas_waits(m, j, i)) {
                continue;
            }
            if (runs->len == max_runs) {
                *more = true;
                break;
            }
            run.state = rr->s2[i] & S2_STATE_MASK;
            while (e < n && e - i < UINT32_MAX &&
                   bm_test(m->ripas_dirty[j], e) &&
                   !mig_ripas_waits(m, j, e) &&
                   (rr->s2[e] & S2_STATE_MASK) == run.state) {
                e++;
            }
            run.base = rr->base + (i << RMM_GRANULE_SHIFT);
            run.granules = e - i;
            g_array_append_val(runs, run);
        }
    }
}

/* The plaintext of a RIPAS record of @runs; g_free() it. */
static uint8_t *mig_ripas_plaintext(GArray *runs, size_t *pt_len)
{
    uint8_t *pt;
    size_t k;

    *pt_len = MIG_RIPAS_RUNS + runs->len * MIG_RIPAS_RUN_SIZE;
    pt = g_malloc0(*pt_len);
    rmi_st32(pt + MIG_RIPAS_COUNT, runs->len);
    for (k = 0; k < runs->len; k++) {
        MigRun *run = &g_array_index(runs, MigRun, k);
        uint8_t *p = pt + MIG_RIPAS_RUNS + k * MIG_RIPAS_RUN_SIZE;

        rmi_st64(p, run->base);
        rmi_st32(p + 8, run->granules);
        p[12] = run->state & S2_RIPAS_MASK;
        p[13] = !!(run->state & S2_ASSIGNED);
    }
    return pt;
}

/* @runs are exported: not dirty, sent in this epoch.  Their granules. */
static uint64_t mig_ripas_sent(RmmRealm *r, GArray *runs)
{
    RmmMig *m = &r->mig;
    uint64_t nr = 0;
    size_t k;

    for (k = 0; k < runs->len; k++) {
        MigRun *run = &g_array_index(runs, MigRun, k);
        RmmRamRange *rr = rmm_ram_find(r, run->base);
        unsigned j = rr - r->ram;
        uint64_t i = rr_index(rr, run->base), e = i + run->granules;

        for (; i < e; i++) {
            bm_clear(m->ripas_dirty[j], i);
            bm_set(m->ripas_sent[j], i);
        }
        nr += run->granules;
    }
    return nr;
}

RmiStatus rmm_mig_export_ripas(RmmRealm *r, uint8_t *buf, size_t cap,
                               size_t *len, bool *more)
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    size_t space, max_runs, pt_len;
    GArray *runs = NULL;
    uint8_t *pt = NULL;
    uint64_t nr;

    *len = 0;
    *more = false;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_RIPAS)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    space = MIN(buf ? cap : 0, RMM_MIG_RECORD_MAX);
    max_runs = space < RMM_MIG_HEADER_SIZE + MIG_RIPAS_BODY(0) ? 0 :
               (space - RMM_MIG_HEADER_SIZE - MIG_RIPAS_BODY(0)) /
               MIG_RIPAS_RUN_SIZE;
    runs = g_array_new(false, false, sizeof(MigRun));
    mig_ripas_runs(r, max_runs, runs, more);
    if (!runs->len) {
        /* Nothing to export, or no room for a single run. */
        ret = *more ? RMI_ERROR_INPUT : RMI_SUCCESS;
        *more = false;
        goto out;
    }

    pt = mig_ripas_plaintext(runs, &pt_len);
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_RIPAS, m->epoch, m->seq,
                               pt, pt_len, buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        *more = false;
        goto out;
    }
    nr = mig_ripas_sent(r, runs);
    m->stats.ripas_records++;
    m->stats.ripas_granules += nr;
    rmm_mig_account(m, RMM_MIG_RT_RIPAS, *len, 1);
out:
    g_free(pt);
    if (runs) {
        g_array_free(runs, true);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

/*
 * Which of @ipas[0..@n) go in the DATA record (@take): assigned granules
 * not sent in this epoch yet, each once, and for a record of a lane
 * other than 0 none whose RIPAS went in this epoch (lanes are not
 * ordered with lane 0: that RIPAS and this DATA could arrive the other
 * way round).  Returns how many.
 */
static unsigned mig_data_select(RmmRealm *r, const uint64_t *ipas,
                                unsigned n, RmmRamRange **rrs,
                                unsigned lane, bool *take)
{
    RmmMig *m = &r->mig;
    unsigned i, j, k = 0;

    for (i = 0; i < n; i++) {
        RmmRamRange *rr = rrs[i];
        unsigned rj = rr - r->ram;
        uint64_t g = rr_index(rr, ipas[i]);

        take[i] = (rr->s2[g] & S2_ASSIGNED) &&
                  !bm_test(m->data_sent[rj], g) &&
                  !(lane && bm_test(m->ripas_sent[rj], g));
        for (j = 0; j < i && take[i]; j++) {
            take[i] = !(take[j] && ipas[j] == ipas[i]);
        }
        k += take[i];
    }
    return k;
}

/*
 * Wire size of the DATA record of the granules @take picks; @flag[i] the
 * word flag of each: RMM_MIG_DATA_POISON for a poisoned granule (its
 * contents never read), RMM_MIG_DATA_ZERO for one of zeros (if the realm
 * allows zero entries), else 0; *@zeros and *@poisoned how many of each.
 */
static size_t mig_data_size(RmmRealm *r, const uint64_t *ipas, unsigned n,
                            RmmRamRange **rrs, const bool *take,
                            uint64_t *flag, unsigned *zeros,
                            unsigned *poisoned)
{
    bool zok = r->params.flags & RMI_REALM_FLAGS_MIG_ZERO;
    size_t need = RMM_MIG_HEADER_SIZE + MIG_DATA_COUNT_SIZE;
    unsigned i;

    *zeros = *poisoned = 0;
    for (i = 0; i < n; i++) {
        flag[i] = 0;
        if (!take[i]) {
            continue;
        }
        if (*rmm_s2_entry(rrs[i], ipas[i]) & S2_POISONED) {
            flag[i] = RMM_MIG_DATA_POISON;
            (*poisoned)++;
        } else if (zok &&
                   mig_granule_zero(rmm_granule_ptr(rrs[i], ipas[i]))) {
            flag[i] = RMM_MIG_DATA_ZERO;
            (*zeros)++;
        }
        need += mig_data_entry_size(flag[i]);
    }
    return need;
}

/* A DATA record being sealed: what mig_data_units() seals. */
typedef struct MigDataOut {
    uint8_t *buf;               /* the record, @need bytes */
    size_t need;
    unsigned count;             /* entries */
    uint64_t seq;               /* of the first */
    const uint8_t *src[RMM_MIG_BATCH_MAX];  /* each entry's granule */
    uint8_t *s2[RMM_MIG_BATCH_MAX];         /* and its stage 2 state */
} MigDataOut;

/*
 * Lay out the DATA record of lane @lane for the granules @take picks
 * (header, count, words with their @flag) in @o, and
 * account them exported: out of the pending set and the log, sent in
 * this epoch.  Sequence numbers are taken from the lane's counter.
 */
static void mig_data_layout(RmmRealm *r, const uint64_t *ipas, unsigned n,
                            RmmRamRange **rrs, const bool *take,
                            const uint64_t *flag, unsigned lane,
                            MigDataOut *o)
{
    RmmMig *m = &r->mig;
    uint8_t *out = o->buf + RMM_MIG_HEADER_SIZE + MIG_DATA_COUNT_SIZE;
    uint64_t *seq = lane ? &m->lane_seq[lane] : &m->seq;
    unsigned i, u = 0;

    o->seq = *seq;
    rmm_mig_header(o->buf, RMM_MIG_RT_DATA, o->need, m->epoch, o->seq);
    o->buf[RMM_MIG_HDR_LANE] = lane;
    rmi_st32(o->buf + RMM_MIG_HEADER_SIZE, o->count);
    for (i = 0; i < n; i++) {
        RmmRamRange *rr = rrs[i];
        unsigned rj = rr - r->ram;
        uint64_t g = rr_index(rr, ipas[i]);

        if (!take[i]) {
            continue;
        }
        rmi_st64(out, ipas[i] | (rr->s2[g] & S2_RIPAS_MASK) | flag[i]);
        o->s2[u] = &rr->s2[g];
        o->src[u++] = flag[i] ? NULL : rmm_granule_ptr(rr, ipas[i]);
        out += mig_data_entry_size(flag[i]);
        bm_clear(m->pending[rj], g);
        bm_clear(m->log[rj], g);
        bm_set(m->data_sent[rj], g);
        if (lane) {
            bm_set(m->lane_data[rj], g);
        }
    }
    /* Lane 0 moves on in rmm_mig_account(); other lanes here. */
    if (lane) {
        *seq += o->count;
    }
}
/* Seal the entries of @o, laid out, with @k.  False if GnuTLS failed. */
static bool mig_data_units(const RmmMigKeys *k, const MigDataOut *o)
{
    uint8_t *out = o->buf + RMM_MIG_HEADER_SIZE + MIG_DATA_COUNT_SIZE;
    unsigned u;

    for (u = 0; u < o->count; u++) {
        size_t glen = o->src[u] ? RMM_GRANULE_SIZE : 0;

        if (!rmm_mig_seal(k, o->buf, o->seq + u, out, o->src[u], glen,
                          out + MIG_DATA_WORD)) {
            return false;
        }
        out += MIG_DATA_WORD + glen + RMM_MIG_TAG_SIZE;
    }
    return true;
}

/*
 * Seal @o outside the realm lock (held on entry and on return), with a
 * copy of the session keys: lanes other than 0 seal in parallel.  Its
 * granules are busy meanwhile: nothing destroys, scrubs or poisons them
 * under the lane, and the realm is not destroyed under it.
 */
static bool mig_data_seal_unlocked(RmmRealm *r, MigDataOut *o)
{
    RmmMig *m = &r->mig;
    RmmMigKeys k;
    bool ok = rmm_mig_keys_clone(&k, &m->keys);
    unsigned u;

    for (u = 0; u < o->count; u++) {
        *o->s2[u] |= S2_BUSY;
    }
    m->inflight++;
    g_mutex_unlock(&r->lock);
    ok = ok && mig_data_units(&k, o);
    rmm_mig_keys_wipe(&k);
    g_mutex_lock(&r->lock);
    m->inflight--;
    rmm_granules_release(r, o->s2, o->count);
    return ok;
}

RmiStatus rmm_mig_export_data_lane(RmmRealm *r, unsigned lane,
                                   const uint64_t *ipas, unsigned n,
                                   uint8_t *buf, size_t cap, size_t *len,
                                   unsigned *exported)
{
    RmmRamRange *rrs[RMM_MIG_BATCH_MAX];
    bool take[RMM_MIG_BATCH_MAX];
    uint64_t flag[RMM_MIG_BATCH_MAX];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    unsigned i, zeros, poisoned;
    MigDataOut o = { .buf = buf };
    bool ok;

    *len = 0;
    *exported = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_DATA)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!ipas || n < 1 || n > RMM_MIG_BATCH_MAX || lane > RMM_MIG_LANES_MAX) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    for (i = 0; i < n; i++) {
        rrs[i] = rmm_aligned(ipas[i]) ? rmm_ram_find(r, ipas[i]) : NULL;
        if (!rrs[i]) {
            ret = RMI_ERROR_INPUT;
            goto out;
        }
    }
    o.count = mig_data_select(r, ipas, n, rrs, lane, take);
    o.need = mig_data_size(r, ipas, n, rrs, take, flag, &zeros, &poisoned);
    if (o.count && (!buf || cap < o.need)) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    /*
     * Granules not taken go in the next epoch: keep them in the host's
     * log so that it asks for them again.
     */
    for (i = 0; i < n; i++) {
        unsigned rj = rrs[i] - r->ram;
        uint64_t g = rr_index(rrs[i], ipas[i]);

        if (!take[i] && bm_test(m->pending[rj], g)) {
            bm_set(m->log[rj], g);
        }
    }
    if (!o.count) {
        goto out;
    }
    mig_data_layout(r, ipas, n, rrs, take, flag, lane, &o);
    m->epoch_granules += o.count;
    m->total_granules += o.count;
    m->stats.data_granules += o.count;
    m->stats.zero_granules += zeros;
    m->stats.poisoned_granules += poisoned;
    m->stats.data_bytes += o.need;
    m->stats.total_bytes += o.need;
    if (lane) {
        ok = mig_data_seal_unlocked(r, &o);
    } else {
        ok = mig_data_units(&m->keys, &o);
        rmm_mig_account(m, RMM_MIG_RT_DATA, 0, o.count);
    }
    if (!ok) {
        /* Its sequence numbers are spent: the session never seals again. */
        ret = mig_seal_failed(m, buf, o.need);
        goto out;
    }
    *len = o.need;
    *exported = o.count;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_data(RmmRealm *r, const uint64_t *ipas, unsigned n,
                              uint8_t *buf, size_t cap, size_t *len,
                              unsigned *exported)
{
    return rmm_mig_export_data_lane(r, 0, ipas, n, buf, cap, len, exported);
}

RmiStatus rmm_mig_export_epoch(RmmRealm *r, uint8_t *buf, size_t cap,
                               size_t *len)
{
    uint8_t pt[MIG_EPOCH_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    unsigned j;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_EPOCH) || m->epoch >= UINT32_MAX - 1) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!buf || cap < RMM_MIG_HEADER_SIZE + MIG_EPOCH_BODY) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    rmi_st32(pt + MIG_EPOCH_EPOCH, m->epoch);
    rmi_st64(pt + MIG_EPOCH_GRANULES, m->epoch_granules);
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_EPOCH, m->epoch, m->seq,
                               pt, sizeof(pt), buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    rmm_mig_account(m, RMM_MIG_RT_EPOCH, *len, 1);
    m->epoch++;
    m->epoch_granules = 0;
    for (j = 0; j < r->nr_ram; j++) {
        size_t words = bm_words(rr_granules(&r->ram[j]));

        memset(m->data_sent[j], 0, words * sizeof(uint64_t));
        memset(m->ripas_sent[j], 0, words * sizeof(uint64_t));
        memset(m->lane_data[j], 0, words * sizeof(uint64_t));
    }
out:
    gnutls_memset(pt, 0, sizeof(pt));
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_pause(RmmRealm *r)
{
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (r->mig.phase != RMM_MIG_OUT_EXPORTING) {
        ret = RMI_ERROR_REALM;
    } else {
        rmm_mig_set_phase(r, RMM_MIG_OUT_PAUSED);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

/* Nothing left to export: every granule's contents and state are out. */
static bool mig_all_exported(RmmRealm *r)
{
    return !rmm_mig_count(r, r->mig.pending) &&
           !rmm_mig_count(r, r->mig.ripas_dirty);
}

RmiStatus rmm_mig_export_rec(RmmRec *rec, const void *ctx, size_t ctx_len,
                             uint8_t *buf, size_t cap, size_t *len)
{
    return rmm_mig_export_rec_arch(rec, ctx, ctx_len, NULL, buf, cap, len);
}

RmiStatus rmm_mig_export_rec_arch(RmmRec *rec, const void *ctx,
                                  size_t ctx_len, const RmmRecArch *arch,
                                  uint8_t *buf, size_t cap, size_t *len)
{
    RmmRealm *r = rec->realm;
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    size_t token_len, pt_len, need, arch_len;
    uint8_t *pt = NULL;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_REC) ||
        (m->recs_done == 0 && !mig_all_exported(r))) {
        /* After the first REC no more DATA or RIPAS can follow. */
        ret = RMI_ERROR_REALM;
        goto out;
    }
    token_len = rec->token ? rec->token->len : 0;
    arch_len = arch ? rmm_rec_arch_size(&r->params) : 0;
    pt_len = MIG_REC_TOKEN + token_len + ctx_len + arch_len;
    need = RMM_MIG_HEADER_SIZE + pt_len + RMM_MIG_TAG_SIZE;
    if (rec->index != m->recs_done || ctx_len > RMM_MIG_REC_CTX_MAX ||
        (ctx_len && !ctx) || !buf || need > cap ||
        need > RMM_MIG_RECORD_MAX ||
        /* A realm with SVE or a PMU has state only this carries. */
        (!arch && r->params.flags & (RMI_REALM_FLAGS_SVE |
                                     RMI_REALM_FLAGS_PMU))) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    pt = g_malloc0(pt_len);
    rmi_st32(pt + MIG_REC_INDEX, rec->index);
    pt[MIG_REC_RUNNABLE] = rec->runnable;
    pt[MIG_REC_PENDING] = rec->pending;
    pt[MIG_REC_RIPAS_VALUE] = rec->ripas_value;
    pt[MIG_REC_PSCI_PENDING] = rec->psci_pending;
    rmi_st64(pt + MIG_REC_MPIDR, rec->mpidr);
    rmi_st64(pt + MIG_REC_RIPAS_BASE, rec->ripas_base);
    rmi_st64(pt + MIG_REC_RIPAS_TOP, rec->ripas_top);
    rmi_st64(pt + MIG_REC_RIPAS_NEXT, rec->ripas_next);
    rmi_st64(pt + MIG_REC_HOST_CALL_IPA, rec->host_call_ipa);
    rmi_st32(pt + MIG_REC_PSCI_FID, rec->psci_fid);
    pt[MIG_REC_HAS_TOKEN] = rec->token != NULL;
    pt[MIG_REC_RIPAS_FLAGS] = rec->ripas_change_destroyed;
    rmi_st64(pt + MIG_REC_PSCI_MPIDR, rec->psci_mpidr);
    rmi_st32(pt + MIG_REC_TOKEN_LEN, token_len);
    rmi_st32(pt + MIG_REC_TOKEN_OFF, rec->token ? rec->token_off : 0);
    rmi_st32(pt + MIG_REC_CTX_LEN, ctx_len);
    rmi_st32(pt + MIG_REC_ARCH_LEN, arch_len);
    rmi_st64(pt + MIG_REC_VCNT, rmm_platform_counter(r->plat) - rec->cntvoff);
    if (token_len) {
        memcpy(pt + MIG_REC_TOKEN, rec->token->data, token_len);
    }
    if (ctx_len) {
        memcpy(pt + MIG_REC_TOKEN + token_len, ctx, ctx_len);
    }
    if (arch_len) {
        rmm_rec_arch_put(&r->params, arch,
                         pt + MIG_REC_TOKEN + token_len + ctx_len);
    }
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_REC, m->epoch, m->seq,
                               pt, pt_len, buf, cap);
    gnutls_memset(pt, 0, pt_len);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    m->recs_done++;
    m->stats.rec_records++;
    rmm_mig_account(m, RMM_MIG_RT_REC, *len, 1);
out:
    g_free(pt);
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_end(RmmRealm *r, uint8_t *buf, size_t cap,
                             size_t *len)
{
    uint8_t pt[MIG_END_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    *len = 0;
    g_mutex_lock(&r->lock);
    if (!mig_export_ok(r, RMM_MIG_RT_END) || r->state != RMM_REALM_ACTIVE ||
        !mig_all_exported(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!buf || cap < RMM_MIG_HEADER_SIZE + MIG_END_BODY) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    rmi_st64(pt + MIG_END_SEQ, m->seq);
    rmi_st32(pt + MIG_END_EPOCHS, m->epoch);
    rmi_st32(pt + MIG_END_NR_RECS, r->nr_recs);
    rmi_st64(pt + MIG_END_GRANULES, m->total_granules);
    memcpy(pt + MIG_END_REMS, r->rem, RMM_NUM_REMS * RMM_HASH_MAX);
    *len = rmm_mig_seal_record(&m->keys, RMM_MIG_RT_END, m->epoch, m->seq,
                               pt, sizeof(pt), buf, cap);
    if (!*len) {
        ret = mig_seal_failed(m, buf, cap);
        goto out;
    }
    m->end_seq = m->seq;
    rmm_mig_account(m, RMM_MIG_RT_END, *len, 1);
    m->logging = false;
    rmm_mig_set_phase(r, RMM_MIG_OUT_ENDED);
out:
    gnutls_memset(pt, 0, sizeof(pt));
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_commit_ack(RmmRealm *r,
                             const uint8_t token[RMM_MIG_TOKEN_SIZE])
{
    uint8_t want[RMM_MIG_TOKEN_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    if (m->phase != RMM_MIG_OUT_ENDED) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!token || !rmm_mig_token(&m->keys, true, m->end_seq, want) ||
        gnutls_memcmp(want, token, sizeof(want))) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    rmm_mig_end_session(m);
    rmm_mig_set_phase(r, RMM_MIG_OUT_MIGRATED);
out:
    gnutls_memset(want, 0, sizeof(want));
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_export_abort(RmmRealm *r, const uint8_t *token)
{
    uint8_t want[RMM_MIG_TOKEN_SIZE];
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;

    g_mutex_lock(&r->lock);
    switch (m->phase) {
    case RMM_MIG_OUT_EXPORTING:
    case RMM_MIG_OUT_PAUSED:
        break;
    case RMM_MIG_OUT_ENDED:
        /* The destination has END: only its word that it aborted counts. */
        if (!token || !rmm_mig_token(&m->keys, false, 0, want) ||
            gnutls_memcmp(want, token, sizeof(want))) {
            ret = RMI_ERROR_INPUT;
            goto out;
        }
        break;
    default:
        ret = RMI_ERROR_REALM;
        goto out;
    }
    rmm_mig_end_session(m);
    rmm_mig_set_phase(r, RMM_MIG_NONE);
out:
    gnutls_memset(want, 0, sizeof(want));
    g_mutex_unlock(&r->lock);
    return ret;
}
