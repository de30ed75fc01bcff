/*
 * The RMI migration commands over the emulated RMM, and the host's export
 * driver over them (see rmm-host.h)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <string.h>

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm-host.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"
#include "rmm-internal.h"
#include "rmm-mig-ecdh.h"
#include "rmm-mig-record.h"

/*
 * RMI command @what returned @s; false and *@err (with what the RMM said
 * in *@why, taken: by reference, as the command sets it) if it failed.
 */
static bool host_rmi(RmmHost *h, RmiStatus s, const char *what, char **why,
                     char **err)
{
    g_autofree char *msg = why ? g_steal_pointer(why) : NULL;

    g_atomic_int_set(&h->status, s);     /* lanes: several threads at once */
    if (s == RMI_SUCCESS) {
        return true;
    }
    if (err) {
        *err = g_strdup_printf("%s: %s", what,
                               msg ? msg : rmi_status_name(s));
    }
    return false;
}

/*
 * An export made *@len bytes of @rec: its envelope from the record.
 * (@len by reference: the export that sets it is an argument too.)
 */
static bool host_exported(RmmHost *h, RmiStatus s, const char *what,
                          RmiMigRecord *rec, const size_t *len, char **err)
{
    rec->len = s == RMI_SUCCESS ? *len : 0;
    if (!host_rmi(h, s, what, NULL, err)) {
        return false;
    }
    g_assert_true(!rec->len || rmi_mig_record_describe(rec));
    return true;
}

static bool host_start(void *opaque, RmiMigRecord *hello, char **err)
{
    RmmHost *h = opaque;
    char *why = NULL;
    size_t len = 0;
    RmiStatus s = rmm_mig_export_start(h->r, h->policy, h->policy_len,
                                       hello->buf, RMM_MIG_HS_MAX, &len,
                                       &why);

    return host_rmi(h, s, "MIG_START", &why, err) &&
           host_exported(h, s, "MIG_START", hello, &len, err);
}

static bool host_accept(void *opaque, const RmiMigRecord *accept, char **err)
{
    RmmHost *h = opaque;
    char *why = NULL;

    return host_rmi(h, rmm_mig_export_accept(h->r, accept->buf, accept->len,
                                          &why), "MIG_ACCEPT", &why, err);
}

static bool host_dirty_log(void *opaque, uint64_t *bitmap, uint64_t *n,
                           char **err)
{
    RmmHost *h = opaque;
    unsigned i;

    if (h->log_wait_us) {
        g_usleep(h->log_wait_us);
    }
    *n = 0;
    for (i = 0; i < h->nr_ram; i++) {
        uint64_t first = (h->ram_base[i] - h->ram_base[0]) /
                         RMM_GRANULE_SIZE;

        *n += rmm_mig_dirty_log(h->r, h->ram_base[i],
                                h->ram_size[i] / RMM_GRANULE_SIZE,
                                bitmap + first / 64);
    }
    return true;
}

static bool host_export_immutable(void *opaque, RmiMigRecord *rec,
                                  char **err)
{
    RmmHost *h = opaque;
    size_t len = 0;

    return host_exported(h, rmm_mig_export_immutable(h->r, rec->buf,
                                                  RMM_MIG_RECORD_MAX, &len),
                         "MIG_EXPORT_IMMUTABLE", rec, &len, err);
}

static bool host_export_ripas(void *opaque, RmiMigRecord *rec, bool *more,
                              char **err)
{
    RmmHost *h = opaque;
    size_t len = 0;

    return host_exported(h, rmm_mig_export_ripas(h->r, rec->buf,
                                              RMM_MIG_RECORD_MAX, &len,
                                              more),
                         "MIG_EXPORT_RIPAS", rec, &len, err);
}

/* Lanes 1.. from the driver's workers at once: the model seals them so. */
static bool host_export_data(void *opaque, unsigned lane,
                             const uint64_t *ipas, unsigned n,
                             RmiMigRecord *rec, char **err)
{
    RmmHost *h = opaque;
    unsigned exported;
    size_t len = 0;

    return host_exported(h, rmm_mig_export_data_lane(h->r, lane, ipas, n,
                                                  rec->buf,
                                                  RMM_MIG_RECORD_MAX, &len,
                                                  &exported),
                         "MIG_EXPORT_DATA", rec, &len, err);
}

static bool host_export_epoch(void *opaque, RmiMigRecord *rec, char **err)
{
    RmmHost *h = opaque;
    size_t len = 0;

    return host_exported(h, rmm_mig_export_epoch(h->r, rec->buf,
                                              RMM_MIG_RECORD_MAX, &len),
                         "MIG_EXPORT_EPOCH", rec, &len, err);
}

static bool host_pause(void *opaque, char **err)
{
    RmmHost *h = opaque;

    return host_rmi(h, rmm_mig_export_pause(h->r), "MIG_PAUSE", NULL, err);
}

static bool host_export_rec(void *opaque, unsigned index, RmiMigRecord *rec,
                            char **err)
{
    RmmHost *h = opaque;
    g_autofree uint8_t *ctx = g_malloc(RMM_MIG_REC_CTX_MAX);
    g_autofree RmmRecArch *arch = NULL;
    size_t ctx_len = h->rec_ctx ? h->rec_ctx(h->opaque, index, ctx) : 0;
    size_t len = 0;

    if (index >= rmm_realm_num_recs(h->r)) {
        return host_rmi(h, RMI_ERROR_INPUT, "MIG_EXPORT_REC", NULL, err);
    }
    if (h->rec_arch) {
        arch = g_new0(RmmRecArch, 1);
        h->rec_arch(h->opaque, index, arch);
    }
    return host_exported(h, rmm_mig_export_rec_arch(
                             rmm_realm_rec(h->r, index), ctx, ctx_len, arch,
                             rec->buf, RMM_MIG_RECORD_MAX, &len),
                         "MIG_EXPORT_REC", rec, &len, err);
}

static bool host_export_end(void *opaque, RmiMigRecord *rec, char **err)
{
    RmmHost *h = opaque;
    size_t len = 0;

    return host_exported(h, rmm_mig_export_end(h->r, rec->buf,
                                            RMM_MIG_RECORD_MAX, &len),
                         "MIG_EXPORT_END", rec, &len, err);
}

static bool host_commit_ack(void *opaque, const uint8_t *token, char **err)
{
    RmmHost *h = opaque;

    return host_rmi(h, rmm_mig_commit_ack(h->r, token), "MIG_COMMIT_ACK", NULL,
                    err);
}

static bool host_abort(void *opaque, const uint8_t *token, char **err)
{
    RmmHost *h = opaque;

    return host_rmi(h, rmm_mig_export_abort(h->r, token), "MIG_ABORT", NULL,
                    err);
}

static bool host_import_start_op(void *opaque, char **err)
{
    RmmHost *h = opaque;
    char *why = NULL;

    return host_rmi(h, rmm_mig_import_start(h->r, h->nr_recs, h->policy,
                                         h->policy_len, &why),
                    "MIG_IMPORT_START", &why, err);
}

static bool host_import_hello(void *opaque, const RmiMigRecord *hello,
                              RmiMigRecord *accept, char **err)
{
    RmmHost *h = opaque;
    char *why = NULL;
    size_t len = 0;
    RmiStatus s = rmm_mig_import_hello(h->r, hello->buf, hello->len,
                                       accept->buf, RMM_MIG_HS_MAX, &len,
                                       &why);

    return host_rmi(h, s, "MIG_IMPORT_HELLO", &why, err) &&
           host_exported(h, s, "MIG_IMPORT_HELLO", accept, &len, err);
}

static bool host_import(void *opaque, const RmiMigRecord *rec, char **err)
{
    RmmHost *h = opaque;
    char *why = NULL;

    return host_rmi(h, rmm_mig_import(h->r, rec, &h->imported, &why),
                    "MIG_IMPORT", &why, err);
}

static bool host_import_commit(void *opaque, uint8_t *token, char **err)
{
    RmmHost *h = opaque;
    char *why = NULL;

    return host_rmi(h, rmm_mig_import_commit(h->r, token, &why),
                    "MIG_IMPORT_COMMIT", &why, err);
}

static bool host_import_abort(void *opaque, uint8_t *token)
{
    RmmHost *h = opaque;

    return rmm_mig_import_abort(h->r, token);
}

static RmmMigPhase host_status(void *opaque, RmmMigStats *st)
{
    RmmHost *h = opaque;

    if (st) {
        rmm_mig_stats(h->r, st);
    }
    return rmm_mig_phase(h->r);
}

const RmiMigOps rmm_host_mig_ops = {
    .start = host_start,
    .accept = host_accept,
    .dirty_log = host_dirty_log,
    .export_immutable = host_export_immutable,
    .export_ripas = host_export_ripas,
    .export_data = host_export_data,
    .export_epoch = host_export_epoch,
    .pause = host_pause,
    .export_rec = host_export_rec,
    .export_end = host_export_end,
    .commit_ack = host_commit_ack,
    .abort = host_abort,
    .import_start = host_import_start_op,
    .import_hello = host_import_hello,
    .import = host_import,
    .import_commit = host_import_commit,
    .import_abort = host_import_abort,
    .status = host_status,
};

/* The sink: every record to h->emit, lane records too (under @lock). */
static bool host_emit(void *opaque, const RmiMigRecord *rec, char **err)
{
    RmmHost *h = opaque;

    if (h->data_wait_us && rec->kind == RMM_MIG_RT_DATA) {
        g_usleep(h->data_wait_us);
    }
    g_mutex_lock(&h->lock);
    h->emit(h->opaque, rec->buf, rec->len);
    h->emitted++;
    g_mutex_unlock(&h->lock);
    return true;
}

static bool host_stop_iteration(void *opaque)
{
    RmmHost *h = opaque;

    return h->stop_after && h->emitted >= h->stop_after;
}

static bool host_lanes_flush(void *opaque, char **err)
{
    RmmHost *h = opaque;

    g_mutex_lock(&h->lock);
    h->flushes++;
    g_mutex_unlock(&h->lock);
    return true;
}

static const RmeMigSink rmm_host_sink = {
    .emit = host_emit,
    .stop_iteration = host_stop_iteration,
    .emit_lane = host_emit,
    .lanes_flush = host_lanes_flush,
};

RmeMigDriver *rmm_host_driver_new(RmmHost *h)
{
    unsigned i;
    uint64_t end = 0;

    g_mutex_init(&h->lock);
    for (i = 0; i < h->nr_ram; i++) {
        g_assert((h->ram_base[i] - h->ram_base[0]) / RMM_GRANULE_SIZE % 64
                 == 0);
        end = MAX(end, h->ram_base[i] + h->ram_size[i]);
    }
    return rme_mig_driver_new(&rmm_host_mig_ops, h, &rmm_host_sink, h,
                              h->ram_base[0],
                              (end - h->ram_base[0]) / RMM_GRANULE_SIZE,
                              h->lanes);
}

int rmm_host_round(RmeMigDriver *d, RmmHost *h)
{
    int ret;

    do {
        h->emitted = 0;
        ret = rme_mig_driver_iterate(d);
    } while (ret == RME_MIG_MORE);
    return ret;
}

bool host_map(RmmRealm *r, uint64_t base, uint64_t size, unsigned level)
{
    return rmm_granule_delegate_range(r, base, base + size) == RMI_SUCCESS &&
           rmm_rtt_create_range(r, base, base + size, level) == RMI_SUCCESS;
}

/* ---- Host-held keys, for tests only ---- */

static void host_hmac(const uint8_t key[HOST_KEY_SIZE], const char *label,
                      const uint8_t session[RMM_MIG_SESSION_SIZE],
                      uint8_t out[32])
{
    uint8_t msg[64];
    size_t n = strlen(label);

    g_assert(n + RMM_MIG_SESSION_SIZE <= sizeof(msg));
    memcpy(msg, label, n);
    memcpy(msg + n, session, RMM_MIG_SESSION_SIZE);
    g_assert_cmpint(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, HOST_KEY_SIZE,
                                     msg, n + RMM_MIG_SESSION_SIZE, out),
                    ==, 0);
}

void host_keys(RmmMigKeys *k, const uint8_t key[HOST_KEY_SIZE],
               const uint8_t session[RMM_MIG_SESSION_SIZE])
{
    uint8_t okm[RMM_MIG_OKM_SIZE];

    memcpy(okm, session, RMM_MIG_SESSION_SIZE);
    host_hmac(key, "CCA-MIG-v1 enc", session, okm + RMM_MIG_SESSION_SIZE);
    host_hmac(key, "CCA-MIG-v1 token", session,
              okm + RMM_MIG_SESSION_SIZE + 32);
    g_assert_true(rmm_mig_keys_init(k, okm));
}

static void host_install(RmmRealm *r, const uint8_t key[HOST_KEY_SIZE],
                         const uint8_t session[RMM_MIG_SESSION_SIZE])
{
    RmmMig *m = &r->mig;

    g_mutex_lock(&r->lock);
    rmm_mig_keys_wipe(&m->keys);
    host_keys(&m->keys, key, session);
    g_clear_pointer(&m->ecdh, rmm_mig_ecdh_free);
    m->hs = RMM_MIG_HS_DONE;
    g_mutex_unlock(&r->lock);
}

RmiStatus host_export_start(RmmRealm *r, const GString *policy,
                            const uint8_t key[HOST_KEY_SIZE])
{
    g_autofree uint8_t *hello = g_malloc(RMM_MIG_HS_MAX);
    uint8_t session[RMM_MIG_SESSION_SIZE];
    g_autofree char *err = NULL;
    RmiStatus ret;
    size_t len;

    ret = rmm_mig_export_start(r, (const uint8_t *)policy->str, policy->len,
                               hello, RMM_MIG_HS_MAX, &len, &err);
    if (err) {
        g_test_message("MIG_START: %s", err);
    }
    if (ret == RMI_SUCCESS) {
        g_assert_cmpint(gnutls_rnd(GNUTLS_RND_NONCE, session,
                                   sizeof(session)), ==, 0);
        host_install(r, key, session);
    }
    return ret;
}

/* Realm -> the key its import was started with (tests only). */
static GHashTable *host_import_keys;

RmiStatus host_import_start(RmmRealm *r, unsigned nr_recs,
                            const GString *policy,
                            const uint8_t key[HOST_KEY_SIZE])
{
    g_autofree char *err = NULL;
    RmiStatus ret = rmm_mig_import_start(r, nr_recs,
                                         (const uint8_t *)policy->str,
                                         policy->len, &err);

    if (err) {
        g_test_message("MIG_IMPORT_START: %s", err);
    }

    if (ret == RMI_SUCCESS) {
        if (!host_import_keys) {
            host_import_keys = g_hash_table_new_full(NULL, NULL, NULL,
                                                     g_free);
        }
        g_hash_table_insert(host_import_keys, r,
                            g_memdup2(key, HOST_KEY_SIZE));
    }
    return ret;
}

void host_forget(RmmRealm *r)
{
    if (host_import_keys) {
        g_hash_table_remove(host_import_keys, r);
    }
}

RmiStatus host_import_record(RmmRealm *r, const uint8_t *buf, size_t len,
                             RmmMigImported *out, char **err)
{
    uint8_t session[RMM_MIG_SESSION_SIZE] = { 0 };
    const uint8_t *key = host_import_keys ?
                         g_hash_table_lookup(host_import_keys, r) : NULL;

    if (key && r->mig.hs == RMM_MIG_HS_WAIT_HELLO) {
        if (buf && len >= RMM_MIG_HEADER_SIZE + sizeof(session)) {
            memcpy(session, buf + RMM_MIG_HEADER_SIZE, sizeof(session));
        }
        host_install(r, key, session);
        g_hash_table_remove(host_import_keys, r);
    }
    return rmm_mig_import_record(r, buf, len, out, err);
}

bool host_handshake(RmmRealm *src, RmmRealm *dst, unsigned nr_recs,
                    const GString *policy, char **err)
{
    const uint8_t *pem = (const uint8_t *)policy->str;
    size_t policy_len = policy->len;
    g_autofree uint8_t *hello = g_malloc(RMM_MIG_HS_MAX);
    g_autofree uint8_t *accept = g_malloc(RMM_MIG_HS_MAX);
    size_t hlen, alen;

    return rmm_mig_export_start(src, pem, policy_len, hello,
                                RMM_MIG_HS_MAX, &hlen, err) == RMI_SUCCESS &&
           rmm_mig_import_start(dst, nr_recs, pem, policy_len, err) ==
           RMI_SUCCESS &&
           rmm_mig_import_hello(dst, hello, hlen, accept, RMM_MIG_HS_MAX,
                                &alen, err) == RMI_SUCCESS &&
           rmm_mig_export_accept(src, accept, alen, err) == RMI_SUCCESS;
}
