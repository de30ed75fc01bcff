/*
 * Emulated RMM migration: the destination's session (MIG_IMPORT_*)
 *
 * MIG_IMPORT_START, the HELLO it answers (rmm-mig-handshake.c), the
 * sequence of records (each one's phase, header, sequence number, epoch
 * and place in the session's order checked here, its contents by
 * rmm-mig-import-records.c), MIG_IMPORT_COMMIT and MIG_IMPORT_ABORT.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-mig.h"
#include "rmm-mig-internal.h"

/* Every granule of @rr DELEGATED, with no RIPAS or data yet. */
static bool mig_s2_clear(const RmmRamRange *rr)
{
    uint64_t i;

    for (i = 0; i < rr_granules(rr); i++) {
        if ((rr->s2[i] & (S2_STATE_MASK | S2_DELEGATED)) != S2_DELEGATED) {
            return false;
        }
    }
    return true;
}

RmiStatus rmm_mig_import_start(RmmRealm *r, unsigned nr_recs,
                               const uint8_t *policy, size_t policy_len,
                               char **err)
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_SUCCESS;
    unsigned j;

    if (nr_recs < 1 || nr_recs > RMM_MAX_RECS) {
        rmm_set_err(err, "%u RECs (1 to %d)", nr_recs, RMM_MAX_RECS);
        return RMI_ERROR_INPUT;
    }
    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || m->phase != RMM_MIG_NONE ||
        !r->nr_ram || r->nr_recs) {
        ret = RMI_ERROR_REALM;
        rmm_set_err(err, "the realm is not new, or has no RAM, or RECs");
        goto out;
    }
    for (j = 0; j < r->nr_ram; j++) {
        if (!mig_s2_clear(&r->ram[j])) {
            /* not delegated, or RIPAS or data already set */
            ret = RMI_ERROR_REALM;
            rmm_set_err(err, "RAM range %u is not delegated and empty", j);
            goto out;
        }
    }
    rmm_mig_reset(m);
    if (!rmm_mig_policy_load(r, policy, policy_len, &ret, err)) {
        goto out;
    }
    m->nr_recs = nr_recs;
    m->hs = RMM_MIG_HS_WAIT_HELLO;
    for (j = 0; j < r->nr_ram; j++) {
        m->data_epoch[j] = g_new0(uint32_t, rr_granules(&r->ram[j]));
        m->ripas_epoch[j] = g_new0(uint32_t, rr_granules(&r->ram[j]));
        m->lane_data[j] = g_new0(uint64_t, bm_words(rr_granules(&r->ram[j])));
    }
    rmm_mig_set_phase(r, RMM_MIG_IN_IMPORTING);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

/* Check @hello, answer it with an ACCEPT to @buf, derive the keys. */
static RmiStatus mig_import_hello(RmmRealm *r, const uint8_t *hello,
                                  size_t len, uint8_t *buf, size_t cap,
                                  size_t *out_len, char **err)
{
    uint8_t share[RMM_MIG_SHARE_SIZE], bind[64];
    g_autoptr(GByteArray) accept = NULL;
    RmmMig *m = &r->mig;

    if (!rmm_mig_hs_check(m, RMM_MIG_RT_HELLO, hello, len,
                          r->params.mig_policy, &r->params, share, err)) {
        return RMI_ERROR_INPUT;
    }
    m->hello = g_byte_array_sized_new(len);
    g_byte_array_append(m->hello, hello, len);
    m->ecdh = rmm_mig_ecdh_new();
    if (!m->ecdh || !rmm_mig_hs_hello_hash(m, bind)) {
        rmm_set_err(err, "no ephemeral key");
        return RMI_ERROR_REALM;
    }
    accept = rmm_mig_hs_build(r, RMM_MIG_RT_ACCEPT, bind, err);
    if (!accept) {
        return RMI_ERROR_REALM;
    }
    if (!buf || cap < accept->len) {
        rmm_set_err(err, "ACCEPT needs %u bytes", accept->len);
        return RMI_ERROR_INPUT;
    }
    if (!rmm_mig_hs_keys(m, share, accept->data, accept->len, err)) {
        return RMI_ERROR_INPUT;
    }
    memcpy(buf, accept->data, accept->len);
    *out_len = accept->len;
    return RMI_SUCCESS;
}

RmiStatus rmm_mig_import_hello(RmmRealm *r, const uint8_t *hello, size_t len,
                               uint8_t *buf, size_t cap, size_t *out_len,
                               char **err)
{
    RmmMig *m = &r->mig;
    RmiStatus ret;

    *out_len = 0;
    g_mutex_lock(&r->lock);
    if (m->phase != RMM_MIG_IN_IMPORTING || m->failed ||
        m->hs != RMM_MIG_HS_WAIT_HELLO) {
        ret = RMI_ERROR_REALM;
        rmm_set_err(err, "HELLO refused: no import waits for one");
        goto out;
    }
    if (hello) {
        ret = mig_import_hello(r, hello, len, buf, cap, out_len, err);
    } else {
        ret = RMI_ERROR_INPUT;
        rmm_set_err(err, "HELLO refused: no buffer");
    }
    if (ret != RMI_SUCCESS) {
        /* One HELLO per import: it can only be aborted now. */
        rmm_mig_import_fail(m, err);
    }
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

/* Fail the record @v: "<TYPE> record [lane <l>] seq <n>: <reason>". */
RmiStatus rmm_mig_reject(char **err, RmiStatus st, const RmmMigRecordView *v,
                         const char *fmt, ...)
{
    va_list ap;
    char *why;

    if (err) {
        va_start(ap, fmt);
        why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        *err = v->lane ?
               g_strdup_printf("%s record lane %u seq %" PRIu64 ": %s",
                               rmi_mig_record_type_name(v->type), v->lane,
                               v->seq, why) :
               g_strdup_printf("%s record seq %" PRIu64 ": %s",
                               rmi_mig_record_type_name(v->type), v->seq,
                               why);
        g_free(why);
    }
    return st;
}

/* Is a record of @type in order after the records imported so far? */
static const char *mig_order_error(RmmMig *m, unsigned type)
{
    if (m->last == RMM_MIG_RT_END) {
        return "record after END";
    }
    if (!m->last) {
        return type == RMM_MIG_RT_IMMUTABLE ? NULL
                                             : "the first record must be "
                                               "IMMUTABLE";
    }
    switch (type) {
    case RMM_MIG_RT_HELLO:
    case RMM_MIG_RT_ACCEPT:
        return "handshake record in the session";
    case RMM_MIG_RT_IMMUTABLE:
        return "IMMUTABLE record twice";
    case RMM_MIG_RT_RIPAS:
    case RMM_MIG_RT_DATA:
    case RMM_MIG_RT_EPOCH:
        return m->last == RMM_MIG_RT_REC ? "after a REC record" : NULL;
    default:    /* REC, END */
        return rmm_mig_epoch_closed(m) ? NULL : "before the first EPOCH record";
    }
}

/*
 * Is the record @v the one the session takes now?  On lane 0: the next
 * sequence number, the current epoch, and in order.  On another lane
 * (DATA): the current epoch, and in order; the records of a lane come
 * in any order within their epoch.
 */
static RmiStatus mig_import_position(RmmMig *m, const RmmMigRecordView *v,
                                     char **err)
{
    const char *why = mig_order_error(m, v->type);

    if (v->lane) {
        if (v->epoch != m->epoch) {
            return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "epoch %" PRIu32
                                  ", expected %" PRIu32 " (a lane's DATA is "
                                  "taken in its own epoch only)", v->epoch,
                                  m->epoch);
        }
    } else if (v->seq != m->seq) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "sequence number %"
                              PRIu64 " expected (record dropped, duplicated, "
                              "reordered or replayed)", m->seq);
    } else if (v->epoch != m->epoch) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "epoch %" PRIu32
                              ", expected %" PRIu32, v->epoch, m->epoch);
    }
    if (why) {
        return rmm_mig_reject(err, RMI_ERROR_INPUT, v, "out of order: %s",
                              why);
    }
    return RMI_SUCCESS;
}

/* May a record be imported in the session's state? */
static RmiStatus mig_import_state(RmmMig *m, char **err)
{
    if (m->phase != RMM_MIG_IN_IMPORTING) {
        rmm_set_err(err, "record refused: the realm is not importing (%s)",
                    rmi_mig_phase_name(m->phase));
        return RMI_ERROR_REALM;
    }
    if (m->failed) {
        rmm_set_err(err, "record refused: the import failed (%s), it can "
                    "only be aborted", rmm_mig_fail_why(m));
        return RMI_ERROR_REALM;
    }
    if (m->hs != RMM_MIG_HS_DONE) {
        rmm_set_err(err, "record refused: no handshake (HELLO) yet");
        return RMI_ERROR_REALM;
    }
    return RMI_SUCCESS;
}

/* The import of one record; with @env, the host's envelope of it. */
static RmiStatus mig_import(RmmRealm *r, const RmiMigRecord *env,
                            const uint8_t *buf, size_t len,
                            RmmMigImported *out, char **err)
{
    RmmMig *m = &r->mig;
    RmmMigRecordView v;
    RmiStatus ret;
    char *perr = NULL;

    memset(out, 0, sizeof(*out));
    memset(&v, 0, sizeof(v));
    if (err) {
        *err = NULL;
    }
    g_mutex_lock(&r->lock);
    if (!buf || len <= RMM_MIG_HDR_LANE || !buf[RMM_MIG_HDR_LANE]) {
        /* Lanes run beside lane 0: not theirs to drop. */
        rmm_mig_drop_rec_pt(m);
    }
    ret = mig_import_state(m, err);
    if (ret != RMI_SUCCESS) {
        goto out;
    }
    ret = RMI_ERROR_INPUT;
    if (!buf || !rmm_mig_record_parse(buf, len, &v, &perr)) {
        if (v.type) {
            rmm_mig_reject(err, ret, &v, "%s", perr ? perr : "no buffer");
        } else {
            rmm_set_err(err, "record: %s", perr ? perr : "no buffer");
        }
        g_free(perr);
        goto fail;
    }
    if (env && (env->kind != v.type || env->lane != v.lane ||
                env->epoch != v.epoch)) {
        rmm_mig_reject(err, ret, &v, "the host's envelope says %s lane %u "
                       "epoch %" PRIu32 " (envelope tampered or the "
                       "record swapped)", rmi_mig_record_type_name(env->kind),
                       env->lane, env->epoch);
        goto fail;
    }
    out->type = v.type;
    ret = mig_import_position(m, &v, err);
    if (ret != RMI_SUCCESS) {
        goto fail;
    }
    if (v.lane) {
        ret = rmm_mig_import_lane(r, buf, &v, out, err);
        if (ret == RMI_SUCCESS) {
            goto out;
        }
        goto fail;
    }
    ret = rmm_mig_import_body(r, buf, &v, out, err);
    if (ret == RMI_SUCCESS) {
        rmm_mig_account(m, v.type, len,
                        v.type == RMM_MIG_RT_DATA ? rmi_ld32(v.body) : 1);
        goto out;
    }
fail:
    rmm_mig_import_fail(m, err);
    memset(out, 0, sizeof(*out));
    rmm_mig_drop_rec_pt(m);
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_mig_import_record(RmmRealm *r, const uint8_t *buf, size_t len,
                                RmmMigImported *out, char **err)
{
    return mig_import(r, NULL, buf, len, out, err);
}

RmiStatus rmm_mig_import(RmmRealm *r, const RmiMigRecord *rec,
                         RmmMigImported *out, char **err)
{
    return mig_import(r, rec, rec->buf, rec->len, out, err);
}

RmiStatus rmm_mig_import_commit(RmmRealm *r,
                                uint8_t token[RMM_MIG_TOKEN_SIZE],
                                char **err)
{
    RmmMig *m = &r->mig;
    RmiStatus ret = RMI_ERROR_REALM;
    uint64_t now;
    unsigned i;

    if (err) {
        *err = NULL;
    }
    g_mutex_lock(&r->lock);
    if (m->phase != RMM_MIG_IN_IMPORTING) {
        rmm_set_err(err, "commit refused: the realm is not importing (%s)",
                    rmi_mig_phase_name(m->phase));
        goto out;
    }
    if (m->failed) {
        rmm_set_err(err, "commit refused: the import failed");
        goto out;
    }
    if (m->inflight) {
        rmm_set_err(err, "commit refused: DATA records still being "
                    "imported");
        goto out;
    }
    if (m->last != RMM_MIG_RT_END) {
        rmm_set_err(err, "commit refused: import incomplete, no END record "
                    "(%u of %" PRIu32 " RECs, epoch %" PRIu32 ")",
                    m->recs_done, m->nr_recs, m->epoch);
        goto out;
    }
    if (!rmm_mig_token(&m->keys, true, m->end_seq, token)) {
        rmm_set_err(err, "commit refused: token computation failed");
        goto out;
    }
    /* The realm's virtual counter goes on from where it left the source. */
    now = rmm_platform_counter(r->plat);
    for (i = 0; i < r->nr_recs; i++) {
        r->recs[i]->cntvoff = now - r->recs[i]->mig_vcnt;
    }
    rmm_mig_end_session(m);
    rmm_mig_set_phase(r, RMM_MIG_NONE);
    r->state = RMM_REALM_ACTIVE;
    ret = RMI_SUCCESS;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

bool rmm_mig_import_abort(RmmRealm *r, uint8_t token[RMM_MIG_TOKEN_SIZE])
{
    RmmMig *m = &r->mig;
    bool ok = false;

    g_mutex_lock(&r->lock);
    if (m->phase == RMM_MIG_IN_IMPORTING) {
        if (m->keys.valid) {
            m->have_abort_token = rmm_mig_token(&m->keys, false, 0,
                                                m->abort_token);
        }
        rmm_mig_end_session(m);
        rmm_mig_set_phase(r, RMM_MIG_IN_ABORTED);
    }
    if (m->phase == RMM_MIG_IN_ABORTED && m->have_abort_token) {
        if (token) {
            memcpy(token, m->abort_token, RMM_MIG_TOKEN_SIZE);
        }
        ok = true;
    }
    g_mutex_unlock(&r->lock);
    return ok;
}
