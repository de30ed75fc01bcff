/*
 * Emulated RMM migration: the destination's records, opened and applied
 *
 * What each record of a session carries (IMMUTABLE, RIPAS, DATA on lane
 * 0 and on the other lanes, EPOCH, REC, END), authenticated, checked
 * against the realm and the session, and applied to the realm; the
 * session (rmm-mig-import.c) has checked the record's place first.  A
 * record that fails here fails the import.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-mig.h"
#include "rmm-mig-internal.h"
#include "rmm-attest.h"         /* rmm_attest_token_max_size() */
#include "rmm-measure.h"        /* rmm_hash_len() */

/*
 * An IMMUTABLE parameter differs: "IMMUTABLE: <name> mismatch (the
 * destination's is <dst>)".  What the source sent stays sealed: no
 * decrypted field goes into a message the host sees.
 */
static RmiStatus mig_mismatch(char **err, const char *name, uint64_t dst,
                              bool hex)
{
    if (err) {
        *err = g_strdup_printf(hex ? "IMMUTABLE: %s mismatch (the "
                                     "destination's is 0x%" PRIx64 ")"
                                   : "IMMUTABLE: %s mismatch (the "
                                     "destination's is %" PRIu64 ")",
                               name, dst);
    }
    return RMI_ERROR_INPUT;
}

/* The source's @nr_ram RAM ranges in IMMUTABLE @pt against this realm's. */
static RmiStatus mig_check_ram(RmmRealm *r, const uint8_t *pt,
                               uint32_t nr_ram, char **err)
{
    unsigned order[RMM_MAX_RAM_RANGES];
    unsigned i;

    if (nr_ram != r->nr_ram) {
        return mig_mismatch(err, "number of RAM ranges", r->nr_ram, false);
    }
    rmm_mig_ram_order(r, order);
    for (i = 0; i < nr_ram; i++) {
        const uint8_t *q = pt + MIG_IMM_RAM + 16 * i;
        RmmRamRange *rr = &r->ram[order[i]];

        if (rmi_ld64(q) != rr->base || rmi_ld64(q + 8) != rr->size) {
            if (err) {
                *err = g_strdup_printf("IMMUTABLE: RAM range %u mismatch "
                                       "(the destination's is [0x%" PRIx64
                                       ", +0x%" PRIx64 "))", i, rr->base,
                                       rr->size);
            }
            return RMI_ERROR_INPUT;
        }
    }
    return RMI_SUCCESS;
}

/* The source's realm parameters in IMMUTABLE @pt against this realm's. */
static RmiStatus mig_check_params(RmmRealm *r, const uint8_t *pt,
                                  uint32_t nr_ram, char **err)
{
    const RmiRealmParams *p = &r->params;
    RmiRealmParams src = {
        .flags = rmi_ld64(pt + MIG_IMM_FLAGS),
        .ipa_width = rmi_ld32(pt + MIG_IMM_IPA_WIDTH),
        .hash_algo = pt[MIG_IMM_HASH_ALGO],
        .sve_vl = pt[MIG_IMM_SVE_VL],
        .num_bps = pt[MIG_IMM_NUM_BPS],
        .num_wps = pt[MIG_IMM_NUM_WPS],
        .pmu_num_ctrs = pt[MIG_IMM_PMU_CTRS],
    };
    RmiStatus ret;
    unsigned i;

    /* HELLO had them in clear; here they are sealed, and compared again. */
    ret = rmm_mig_params_match(&src, p, "IMMUTABLE", err);
    if (ret != RMI_SUCCESS) {
        return ret;
    }
    for (i = 0; i < RMM_RPV_SIZE; i++) {
        if (pt[MIG_IMM_RPV + i] != p->rpv[i]) {
            if (err) {
                *err = g_strdup("IMMUTABLE: rpv mismatch (personalization "
                                "value)");
            }
            return RMI_ERROR_INPUT;
        }
    }
    return mig_check_ram(r, pt, nr_ram, err);
}

static RmiStatus mig_import_immutable(RmmRealm *r, const uint8_t *buf,
                                      const RmmMigRecordView *v, uint8_t *pt,
                                      char **err)
{
    size_t hlen = rmm_hash_len(r->params.hash_algo);
    RmmMig *m = &r->mig;
    size_t pt_len = v->body_len - RMM_MIG_SESSION_SIZE - RMM_MIG_TAG_SIZE;
    uint32_t nr_ram, nr_recs;
    RmiStatus ret;

    if (gnutls_memcmp(v->body, m->keys.session, RMM_MIG_SESSION_SIZE) ||
        !rmm_mig_open(&m->keys, buf, v->seq, NULL,
                      v->body + RMM_MIG_SESSION_SIZE,
                      v->body_len - RMM_MIG_SESSION_SIZE, pt)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s",
                              rmm_mig_auth_failed);
    }
    nr_ram = rmi_ld32(pt + MIG_IMM_NR_RAM);
    if (pt_len != MIG_IMM_SIZE((size_t)MIN(nr_ram, RMM_MAX_RAM_RANGES + 1))) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                              "its RAM range count does not fit its length");
    }
    if (!rmm_all_zero(pt + MIG_IMM_PMU_CTRS + 1, 3) ||
        !rmm_all_zero(pt + MIG_IMM_NR_RECS + 4, 4)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                              "reserved bytes not zero");
    }
    ret = mig_check_params(r, pt, nr_ram, err);
    if (ret != RMI_SUCCESS) {
        return ret;
    }
    nr_recs = rmi_ld32(pt + MIG_IMM_NR_RECS);
    if (nr_recs != m->nr_recs) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                              "REC count mismatch: the destination has %" PRIu32
                              " (vCPUs, -smp), the source another number",
                              m->nr_recs);
    }
    if (!rmm_all_zero(pt + MIG_IMM_RIM + hlen, RMM_HASH_MAX - hlen)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "RIM not zero padded");
    }
    memcpy(r->rim, pt + MIG_IMM_RIM, RMM_HASH_MAX);
    return RMI_SUCCESS;
}

/* Apply the @count checked runs of RIPAS plaintext @pt.  Their granules. */
static uint64_t mig_ripas_apply(RmmRealm *r, const uint8_t *pt,
                                uint32_t count)
{
    RmmMig *m = &r->mig;
    uint64_t total = 0;
    uint32_t k;

    for (k = 0; k < count; k++) {
        const uint8_t *q = pt + MIG_RIPAS_RUNS + k * MIG_RIPAS_RUN_SIZE;
        uint64_t base = rmi_ld64(q), n = rmi_ld32(q + 8), i;
        RmmRamRange *rr = rmm_ram_find(r, base);
        unsigned j = rr - r->ram;
        uint8_t state = q[12] | (q[13] ? S2_ASSIGNED : 0);

        for (i = rr_index(rr, base); i < rr_index(rr, base) + n; i++) {
            uint64_t ipa = rr->base + (i << RMM_GRANULE_SHIFT);

            if ((rr->s2[i] & S2_ASSIGNED) && !(state & S2_ASSIGNED)) {
                /* Unassigned on the source: scrub. */
                memset(rmm_granule_ptr(rr, ipa), 0, RMM_GRANULE_SIZE);
                rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
            }
            /* A newly assigned granule is zero: unassigned ones are. */
            rr->s2[i] = (rr->s2[i] & S2_DELEGATED) | state |
                        (state & S2_ASSIGNED ? rr->s2[i] & S2_POISONED : 0);
            if (state & S2_ASSIGNED) {
                rmm_rtt_ensure(r, ipa);
            }
            m->ripas_epoch[j][i] = m->epoch + 1;
        }
        total += n;
    }
    return total;
}

static RmiStatus mig_import_ripas(RmmRealm *r, const uint8_t *buf,
                                  const RmmMigRecordView *v,
                                  RmmMigImported *out, char **err)
{
    RmmMig *m = &r->mig;
    size_t pt_len = v->body_len - RMM_MIG_TAG_SIZE;
    uint8_t *pt = g_malloc(pt_len);
    RmiStatus ret = RMI_ERROR_INPUT;
    uint64_t prev_end = 0, total = 0;
    uint32_t count, k;

    if (!rmm_mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        ret = rmm_mig_reject(err, ret, v, "%s", rmm_mig_auth_failed);
        goto out;
    }
    count = rmi_ld32(pt + MIG_RIPAS_COUNT);
    if (rmi_ld32(pt + MIG_RIPAS_COUNT + 4) || !count ||
        pt_len != MIG_RIPAS_RUNS + (uint64_t)count * MIG_RIPAS_RUN_SIZE) {
        ret = rmm_mig_reject(err, ret, v, "its run count does not fit its "
                             "length");
        goto out;
    }
    /* Check every run before changing anything. */
    for (k = 0; k < count; k++) {
        const uint8_t *q = pt + MIG_RIPAS_RUNS + k * MIG_RIPAS_RUN_SIZE;
        uint64_t base = rmi_ld64(q), n = rmi_ld32(q + 8), i;
        RmmRamRange *rr;

        if (!rmm_aligned(base) || !n || q[12] > RMI_RIPAS_DESTROYED ||
            q[13] > 1 ||
            q[14] || q[15]) {
            ret = rmm_mig_reject(err, ret, v, "run %" PRIu32 ": bad fields", k);
            goto out;
        }
        if (k && base < prev_end) {
            ret = rmm_mig_reject(err, ret, v, "run %" PRIu32 ": not in IPA "
                                 "order or overlapping", k);
            goto out;
        }
        rr = rmm_ram_find(r, base);
        if (!rr || n > rr_granules(rr) - rr_index(rr, base)) {
            ret = rmm_mig_reject(err, ret, v, "run %" PRIu32 ": outside RAM",
                                 k);
            goto out;
        }
        for (i = rr_index(rr, base); i < rr_index(rr, base) + n; i++) {
            if (q[13] && !(rr->s2[i] & S2_DELEGATED)) {
                ret = rmm_mig_reject(err, ret, v, "run %" PRIu32 ": a granule "
                                     "not delegated", k);
                goto out;
            }
            if (m->ripas_epoch[rr - r->ram][i] == m->epoch + 1) {
                ret = rmm_mig_reject(err, ret, v, "run %" PRIu32 ": a granule "
                                     "already described in epoch %" PRIu32, k,
                                     m->epoch);
                goto out;
            }
            if (bm_test(m->lane_data[rr - r->ram], i)) {
                ret = rmm_mig_reject(err, ret, v, "run %" PRIu32 ": a granule "
                                     "whose DATA came on a lane in epoch %"
                                     PRIu32, k, m->epoch);
                goto out;
            }
        }
        prev_end = base + (n << RMM_GRANULE_SHIFT);
    }
    total = mig_ripas_apply(r, pt, count);
    out->ripas_runs = count;
    m->stats.ripas_records++;
    m->stats.ripas_granules += total;
    ret = RMI_SUCCESS;
out:
    gnutls_memset(pt, 0, pt_len);
    g_free(pt);
    return ret;
}

/*
 * Check entry @i of DATA record @v (the word at @ents[@i]; entries before
 * it checked already): its granule in *@rr.
 */
static RmiStatus mig_data_check(RmmRealm *r, const RmmMigRecordView *v,
                                const uint8_t *const *ents, uint32_t i,
                                RmmRamRange **rr, char **err)
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_ERROR_INPUT;
    uint64_t word = rmi_ld64(ents[i]);
    uint64_t gpa = word & ~MIG_WORD_LOW_MASK;
    uint64_t ripas = word & RMM_MIG_DATA_RIPAS;
    uint32_t j;

    if (ripas > RMI_RIPAS_DESTROYED) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": bad RIPAS %"
                              PRIu64, i, ripas);
    }
    if (word & MIG_WORD_LOW_MASK & ~(RMM_MIG_DATA_RIPAS | RMM_MIG_DATA_NO_CT)) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": unknown flags 0x%"
                              PRIx64, i, (uint64_t)(word & MIG_WORD_LOW_MASK));
    }
    if ((word & RMM_MIG_DATA_NO_CT) == RMM_MIG_DATA_NO_CT) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": both a zero and "
                              "a poisoned granule", i);
    }
    if ((word & RMM_MIG_DATA_ZERO) &&
        !(r->params.flags & RMI_REALM_FLAGS_MIG_ZERO)) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": a zero granule, "
                              "but the realm was not created to take them "
                              "(flags)", i);
    }
    *rr = rmm_ram_find(r, gpa);
    if (!*rr || !(*rmm_s2_entry(*rr, gpa) & S2_DELEGATED)) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": GPA 0x%" PRIx64
                              " %s", i, gpa, *rr ? "not delegated"
                                             : "outside RAM");
    }
    for (j = 0; j < i; j++) {
        if ((rmi_ld64(ents[j]) & ~MIG_WORD_LOW_MASK) == gpa) {
            break;
        }
    }
    if (j < i || m->data_epoch[*rr - r->ram][rr_index(*rr, gpa)] ==
                 m->epoch + 1) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": granule 0x%"
                              PRIx64 " already sent in epoch %" PRIu32,
                              i, gpa, m->epoch);
    }
    if (v->lane && m->ripas_epoch[*rr - r->ram][rr_index(*rr, gpa)] ==
                   m->epoch + 1) {
        return rmm_mig_reject(err, ret, v, "unit %" PRIu32 ": granule 0x%"
                              PRIx64 " had its RIPAS in epoch %" PRIu32 " (a "
                              "lane is not ordered with it)", i, gpa, m->epoch);
    }
    return RMI_SUCCESS;
}

/*
 * Open entry @i of DATA record @v straight into its granule (a zero
 * entry: zeros), once its word passed mig_data_check().  An entry whose
 * word did not is opened into a scratch granule, to report a forgery as
 * one and an authentic entry's fault as that.  A record that fails
 * leaves granules half written, but it fails the import for good: that
 * realm never runs.  No copy of the plaintext outside the granules.
 */
static RmiStatus mig_data_open(RmmRealm *r, const uint8_t *buf,
                               const RmmMigRecordView *v,
                               const uint8_t *const *ents, uint32_t i,
                               RmmRamRange **rr, char **err)
{
    RmmMig *m = &r->mig;
    uint64_t word = rmi_ld64(ents[i]);
    size_t ct_len = mig_data_entry_size(word) - MIG_DATA_WORD;
    uint32_t count = rmi_ld32(v->body);
    g_autofree char *why = NULL;
    uint8_t *scratch = NULL, *gpt;
    RmiStatus ret = mig_data_check(r, v, ents, i, rr, &why);
    bool ok;

    if (ret == RMI_SUCCESS && !(word & RMM_MIG_DATA_NO_CT)) {
        gpt = rmm_granule_ptr(*rr, word & ~MIG_WORD_LOW_MASK);
    } else {
        gpt = scratch = g_malloc(RMM_GRANULE_SIZE);
    }
    ok = rmm_mig_open(&m->keys, buf, v->seq + i, ents[i],
                      ents[i] + MIG_DATA_WORD, ct_len, gpt);
    if (scratch) {
        gnutls_memset(scratch, 0, RMM_GRANULE_SIZE);
        g_free(scratch);
    }
    if (!ok) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s in unit %" PRIu32
                              " of %" PRIu32 " (seq %" PRIu64 ")",
                              rmm_mig_auth_failed, i, count, v->seq + i);
    }
    if (ret != RMI_SUCCESS) {
        if (err) {
            *err = g_steal_pointer(&why);
        }
        return ret;
    }
    if (word & RMM_MIG_DATA_NO_CT) {
        /* Zeros; for a poisoned granule, nothing of what was there. */
        memset(rmm_granule_ptr(*rr, word & ~MIG_WORD_LOW_MASK), 0,
               RMM_GRANULE_SIZE);
    }
    return RMI_SUCCESS;
}

/*
 * The @count entries @ents of DATA record @v, opened into their
 * granules @rrs: assign them, with the RIPAS each carries, as written in
 * this epoch, and account them.
 */
static void mig_data_apply(RmmRealm *r, const RmmMigRecordView *v,
                           const uint8_t *const *ents, RmmRamRange **rrs,
                           uint32_t count, RmmMigImported *out)
{
    RmmMig *m = &r->mig;
    uint32_t zeros = 0, poisoned = 0, i;

    for (i = 0; i < count; i++) {
        uint64_t word = rmi_ld64(ents[i]);
        uint64_t gpa = word & ~MIG_WORD_LOW_MASK;
        RmmRamRange *rr = rrs[i];
        uint64_t g = rr_index(rr, gpa);

        rmm_write_notify(r, gpa, RMM_GRANULE_SIZE);
        rr->s2[g] = S2_DELEGATED | S2_ASSIGNED | (word & S2_RIPAS_MASK) |
                    (word & RMM_MIG_DATA_POISON ? S2_POISONED : 0);
        rmm_rtt_ensure(r, gpa);
        m->data_epoch[rr - r->ram][g] = m->epoch + 1;
        zeros += !!(word & RMM_MIG_DATA_ZERO);
        poisoned += !!(word & RMM_MIG_DATA_POISON);
    }
    out->granules = count;
    m->epoch_granules += count;
    m->total_granules += count;
    m->stats.data_granules += count;
    m->stats.zero_granules += zeros;
    m->stats.poisoned_granules += poisoned;
    m->stats.data_bytes += v->length;
}

static RmiStatus mig_import_data(RmmRealm *r, const uint8_t *buf,
                                 const RmmMigRecordView *v,
                                 RmmMigImported *out, char **err)
{
    const uint8_t *ents[RMM_MIG_BATCH_MAX];
    RmmRamRange *rrs[RMM_MIG_BATCH_MAX];
    uint32_t count = rmi_ld32(v->body), i;
    const uint8_t *e = v->body + MIG_DATA_COUNT_SIZE;
    RmiStatus ret;

    /* rmm_mig_record_parse() checked that the entries fill the body. */
    for (i = 0; i < count; i++) {
        ents[i] = e;
        ret = mig_data_open(r, buf, v, ents, i, &rrs[i], err);
        if (ret != RMI_SUCCESS) {
            return ret;
        }
        e += mig_data_entry_size(rmi_ld64(e));
    }
    mig_data_apply(r, v, ents, rrs, count, out);
    return RMI_SUCCESS;
}

/* Open the @count checked entries @ents of @v into their granules. */
static bool mig_lane_open(const RmmMigKeys *k, const uint8_t *buf,
                          const RmmMigRecordView *v,
                          const uint8_t *const *ents, RmmRamRange **rrs,
                          uint32_t count)
{
    uint8_t none[1];
    uint32_t i;

    for (i = 0; i < count; i++) {
        uint64_t word = rmi_ld64(ents[i]);
        uint8_t *gpt = rmm_granule_ptr(rrs[i], word & ~MIG_WORD_LOW_MASK);
        bool no_ct = word & RMM_MIG_DATA_NO_CT;

        if (!rmm_mig_open(k, buf, v->seq + i, ents[i],
                          ents[i] + MIG_DATA_WORD,
                          mig_data_entry_size(word) - MIG_DATA_WORD,
                          no_ct ? none : gpt)) {
            return false;
        }
        if (no_ct) {
            memset(gpt, 0, RMM_GRANULE_SIZE);
        }
    }
    return true;
}

/*
 * A DATA record of a lane other than 0 (the realm lock held on entry
 * and on return), taken in any order within its epoch (its epoch and
 * its place among the session's records were checked).  Its words are
 * checked and its granules claimed for the epoch with the lock held:
 * they become the realm's (ASSIGNED, so that the host cannot undelegate
 * them) and busy (no command changes them until the lane is done).  Its
 * entries are opened straight into their granules without the lock,
 * with a copy of the keys, so that records of several lanes open in
 * parallel; then they are accounted.  A failure fails the import.
 */
RmiStatus rmm_mig_import_lane(RmmRealm *r, const uint8_t *buf,
                              const RmmMigRecordView *v,
                              RmmMigImported *out, char **err)
{
    const uint8_t *ents[RMM_MIG_BATCH_MAX];
    RmmRamRange *rrs[RMM_MIG_BATCH_MAX];
    RmmMig *m = &r->mig;
    uint32_t count = rmi_ld32(v->body), i;
    const uint8_t *e = v->body + MIG_DATA_COUNT_SIZE;
    uint8_t *s2[RMM_MIG_BATCH_MAX];
    RmmMigKeys k;
    bool ok;

    for (i = 0; i < count; i++) {
        ents[i] = e;
        if (mig_data_check(r, v, ents, i, &rrs[i], NULL) != RMI_SUCCESS) {
            /* Opened into scratch: a forgery is reported as one. */
            return mig_data_open(r, buf, v, ents, i, &rrs[i], err);
        }
        e += mig_data_entry_size(rmi_ld64(e));
    }
    for (i = 0; i < count; i++) {
        uint64_t gpa = rmi_ld64(ents[i]) & ~MIG_WORD_LOW_MASK;

        m->data_epoch[rrs[i] - r->ram][rr_index(rrs[i], gpa)] = m->epoch + 1;
        bm_set(m->lane_data[rrs[i] - r->ram], rr_index(rrs[i], gpa));
        s2[i] = rmm_s2_entry(rrs[i], gpa);
        *s2[i] |= S2_ASSIGNED | S2_BUSY;
    }
    ok = rmm_mig_keys_clone(&k, &m->keys);
    m->inflight++;
    g_mutex_unlock(&r->lock);
    ok = ok && mig_lane_open(&k, buf, v, ents, rrs, count);
    rmm_mig_keys_wipe(&k);
    g_mutex_lock(&r->lock);
    m->inflight--;
    rmm_granules_release(r, s2, count);
    if (!ok) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s",
                              rmm_mig_auth_failed);
    }
    if (m->failed) {
        rmm_set_err(err, "record refused: the import failed (%s) while it "
                    "was opened", rmm_mig_fail_why(m));
        return RMI_ERROR_REALM;
    }
    if (m->phase != RMM_MIG_IN_IMPORTING) {
        rmm_set_err(err, "record refused: the import ended while it was "
                    "opened");
        return RMI_ERROR_REALM;
    }
    mig_data_apply(r, v, ents, rrs, count, out);
    m->stats.total_bytes += v->length;
    return RMI_SUCCESS;
}

static RmiStatus mig_import_epoch(RmmRealm *r, const uint8_t *buf,
                                  const RmmMigRecordView *v, uint8_t *pt,
                                  char **err)
{
    RmmMig *m = &r->mig;
    unsigned j;

    if (!rmm_mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s",
                              rmm_mig_auth_failed);
    }
    if (m->inflight) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%u DATA records of a "
                              "lane still being imported", m->inflight);
    }
    if (rmi_ld32(pt + MIG_EPOCH_EPOCH) != m->epoch) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "closes another epoch "
                              "than epoch %" PRIu32, m->epoch);
    }
    if (rmi_ld64(pt + MIG_EPOCH_GRANULES) != m->epoch_granules) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "the epoch's granule "
                              "count is not the %" PRIu64 " imported",
                              m->epoch_granules);
    }
    if (m->epoch >= UINT32_MAX - 1) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "too many epochs");
    }
    m->epoch++;
    m->epoch_granules = 0;
    for (j = 0; j < r->nr_ram; j++) {
        memset(m->lane_data[j], 0,
               bm_words(rr_granules(&r->ram[j])) * sizeof(uint64_t));
    }
    return RMI_SUCCESS;
}

/* The exits a REC record @pt leaves pending: possible ones only. */
static RmiStatus mig_rec_check_exits(RmmRealm *r, const RmmMigRecordView *v,
                                     const uint8_t *pt, char **err)
{
    uint8_t pending = pt[MIG_REC_PENDING];
    uint64_t rbase = rmi_ld64(pt + MIG_REC_RIPAS_BASE);
    uint64_t rtop = rmi_ld64(pt + MIG_REC_RIPAS_TOP);
    uint64_t rnext = rmi_ld64(pt + MIG_REC_RIPAS_NEXT);
    uint64_t hc_ipa = rmi_ld64(pt + MIG_REC_HOST_CALL_IPA);
    uint32_t psci_fid = rmi_ld32(pt + MIG_REC_PSCI_FID);

    switch (pending) {
    case RMM_REC_PENDING_NONE:
        break;
    case RMM_REC_PENDING_RIPAS:
        if (!rmm_aligned(rbase) || !rmm_aligned(rtop) ||
            !rmm_aligned(rnext) || rbase >= rtop || rnext < rbase ||
            rnext > rtop || rtop > r->prot_size) {
            return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                                  "bad pending RIPAS change");
        }
        break;
    case RMM_REC_PENDING_HOST_CALL:
        if (hc_ipa % RSI_HOST_CALL_SIZE || hc_ipa >= r->prot_size) {
            return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                                  "bad pending host call");
        }
        break;
    default:
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "bad pending exit");
    }
    if (pt[MIG_REC_PSCI_PENDING] && !rmm_psci_fid_completable(psci_fid)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "bad pending PSCI call");
    }
    return RMI_SUCCESS;
}


/*
 * The REC's architectural state, @len bytes at @in, checked against the
 * realm into m->rec_arch: a realm with SVE or a PMU has state that only
 * travels there, so it must be there.
 */
static RmiStatus mig_rec_arch(RmmRealm *r, const RmmMigRecordView *v,
                              const uint8_t *in, uint32_t len, char **err)
{
    RmmMig *m = &r->mig;
    char *why = NULL;
    RmiStatus ret;

    if (!len) {
        return r->params.flags & (RMI_REALM_FLAGS_SVE | RMI_REALM_FLAGS_PMU) ?
               rmm_mig_reject(err, RMI_ERROR_INPUT, v, "no architectural "
                              "state for a realm with SVE or a PMU") :
               RMI_SUCCESS;
    }
    m->rec_arch = m->rec_arch ?: g_new(RmmRecArch, 1);
    if (!rmm_rec_arch_get(&r->params, in, len, m->rec_arch, &why)) {
        ret = rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s", why);
        g_free(why);
        return ret;
    }
    return RMI_SUCCESS;
}
/* The REC of the checked REC record @pt, with its RMM state. */
static RmmRec *mig_rec_restore(RmmRealm *r, const uint8_t *pt)
{
    uint32_t token_len = rmi_ld32(pt + MIG_REC_TOKEN_LEN);
    RmmRec *rec;

    rec = rmm_rec_new(r, rmi_ld64(pt + MIG_REC_MPIDR), pt[MIG_REC_RUNNABLE]);
    rec->mig_vcnt = rmi_ld64(pt + MIG_REC_VCNT);
    rec->pending = pt[MIG_REC_PENDING];
    rec->ripas_base = rmi_ld64(pt + MIG_REC_RIPAS_BASE);
    rec->ripas_top = rmi_ld64(pt + MIG_REC_RIPAS_TOP);
    rec->ripas_next = rmi_ld64(pt + MIG_REC_RIPAS_NEXT);
    rec->ripas_value = pt[MIG_REC_RIPAS_VALUE];
    rec->ripas_change_destroyed = pt[MIG_REC_RIPAS_FLAGS];
    rec->host_call_ipa = rmi_ld64(pt + MIG_REC_HOST_CALL_IPA);
    rec->psci_pending = pt[MIG_REC_PSCI_PENDING];
    rec->psci_fid = rmi_ld32(pt + MIG_REC_PSCI_FID);
    rec->psci_mpidr = rmi_ld64(pt + MIG_REC_PSCI_MPIDR);
    if (pt[MIG_REC_HAS_TOKEN]) {
        rec->token = g_byte_array_sized_new(token_len);
        g_byte_array_append(rec->token, pt + MIG_REC_TOKEN, token_len);
        rec->token_off = rmi_ld32(pt + MIG_REC_TOKEN_OFF);
    }
    return rec;
}

static RmiStatus mig_import_rec(RmmRealm *r, const uint8_t *buf,
                                const RmmMigRecordView *v,
                                RmmMigImported *out, char **err)
{
    RmmMig *m = &r->mig;
    size_t pt_len = v->body_len - RMM_MIG_TAG_SIZE;
    size_t token_max = rmm_attest_token_max_size(r->params.hash_algo);
    uint32_t index, token_len, token_off, ctx_len, arch_len;
    uint64_t mpidr;
    uint8_t *pt, has_token;
    RmiStatus ret;
    RmmRec *rec;

    m->rec_pt = pt = g_malloc(pt_len);
    m->rec_pt_len = pt_len;
    if (!rmm_mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s",
                              rmm_mig_auth_failed);
    }
    index = rmi_ld32(pt + MIG_REC_INDEX);
    mpidr = rmi_ld64(pt + MIG_REC_MPIDR);
    has_token = pt[MIG_REC_HAS_TOKEN];
    token_len = rmi_ld32(pt + MIG_REC_TOKEN_LEN);
    token_off = rmi_ld32(pt + MIG_REC_TOKEN_OFF);
    ctx_len = rmi_ld32(pt + MIG_REC_CTX_LEN);
    arch_len = rmi_ld32(pt + MIG_REC_ARCH_LEN);

    if (index != m->recs_done || index >= m->nr_recs) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "REC index is not %u "
                              "of %" PRIu32, m->recs_done, m->nr_recs);
    }
    if (!rmm_rec_mpidr_ok(mpidr, index)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "MPIDR invalid for REC "
                              "index %" PRIu32, index);
    }
    if (pt[MIG_REC_RUNNABLE] > 1 || pt[MIG_REC_PSCI_PENDING] > 1 ||
        has_token > 1 || pt[MIG_REC_RIPAS_VALUE] > RMI_RIPAS_RAM ||
        pt[MIG_REC_RIPAS_FLAGS] > 1 ||
        !rmm_all_zero(pt + MIG_REC_RIPAS_FLAGS + 1, 2)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "bad REC flags");
    }
    ret = mig_rec_check_exits(r, v, pt, err);
    if (ret != RMI_SUCCESS) {
        return ret;
    }
    if (has_token ? (!token_len || token_len > token_max ||
                     token_off >= token_len)
                  : (token_len || token_off)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                              "bad attestation token state");
    }
    if (ctx_len > RMM_MIG_REC_CTX_MAX ||
        pt_len != MIG_REC_TOKEN + (uint64_t)token_len + ctx_len + arch_len) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "token and context "
                              "sizes do not match the record");
    }
    ret = mig_rec_arch(r, v, pt + pt_len - arch_len, arch_len, err);
    if (ret != RMI_SUCCESS) {
        return ret;
    }

    rec = mig_rec_restore(r, pt);
    m->recs_done++;
    m->stats.rec_records++;
    out->rec = rec;
    out->rec_ctx = pt + MIG_REC_TOKEN + token_len;
    out->rec_ctx_len = ctx_len;
    out->rec_arch = arch_len ? m->rec_arch : NULL;
    return RMI_SUCCESS;
}

static RmiStatus mig_import_end(RmmRealm *r, const uint8_t *buf,
                                const RmmMigRecordView *v, uint8_t *pt,
                                char **err)
{
    size_t hlen = rmm_hash_len(r->params.hash_algo);
    RmmMig *m = &r->mig;
    unsigned i;

    if (!rmm_mig_open(&m->keys, buf, v->seq, NULL, v->body, v->body_len, pt)) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%s",
                              rmm_mig_auth_failed);
    }
    if (rmi_ld64(pt + MIG_END_SEQ) != v->seq) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "its final sequence "
                              "number is not its own");
    }
    if (rmi_ld32(pt + MIG_END_EPOCHS) != m->epoch) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "the epoch count is not "
                              "the %" PRIu32 " imported", m->epoch);
    }
    if (rmi_ld32(pt + MIG_END_NR_RECS) != m->nr_recs ||
        m->recs_done != m->nr_recs) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "%u of %" PRIu32 " RECs "
                              "imported, or another count sent", m->recs_done,
                              m->nr_recs);
    }
    if (rmi_ld64(pt + MIG_END_GRANULES) != m->total_granules) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "the granule count "
                              "is not the %" PRIu64 " imported",
                              m->total_granules);
    }
    for (i = 0; i < RMM_NUM_REMS; i++) {
        if (!rmm_all_zero(pt + MIG_END_REMS + i * RMM_HASH_MAX + hlen,
                      RMM_HASH_MAX - hlen)) {
            return rmm_mig_reject(err, RMI_ERROR_INPUT, v,
                                  "REM %u not zero padded", i);
        }
    }
    memcpy(r->rem, pt + MIG_END_REMS, RMM_NUM_REMS * RMM_HASH_MAX);
    m->end_seq = v->seq;
    return RMI_SUCCESS;
}

/*
 * Open and apply the record @v of @buf, checked up to its order.  The
 * small records open into @pt, on the stack, wiped whatever happens.
 */
RmiStatus rmm_mig_import_body(RmmRealm *r, const uint8_t *buf,
                              const RmmMigRecordView *v,
                              RmmMigImported *out, char **err)
{
    uint8_t pt[MAX_CONST(MIG_IMM_SIZE(RMM_MAX_RAM_RANGES),
                         MAX_CONST(MIG_END_SIZE, MIG_EPOCH_SIZE))];
    RmiStatus ret = RMI_ERROR_INPUT;

    switch (v->type) {
    case RMM_MIG_RT_IMMUTABLE:
        ret = mig_import_immutable(r, buf, v, pt, err);
        break;
    case RMM_MIG_RT_RIPAS:
        ret = mig_import_ripas(r, buf, v, out, err);
        break;
    case RMM_MIG_RT_DATA:
        ret = mig_import_data(r, buf, v, out, err);
        break;
    case RMM_MIG_RT_EPOCH:
        ret = mig_import_epoch(r, buf, v, pt, err);
        break;
    case RMM_MIG_RT_REC:
        ret = mig_import_rec(r, buf, v, out, err);
        break;
    case RMM_MIG_RT_END:
        ret = mig_import_end(r, buf, v, pt, err);
        break;
    case RMM_MIG_RT_HELLO:
    case RMM_MIG_RT_ACCEPT:
        /* mig_order_error() refuses them */
        break;
    }
    gnutls_memset(pt, 0, sizeof(pt));
    return ret;
}
