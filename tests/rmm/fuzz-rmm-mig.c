/*
 * libFuzzer target: the destination side of realm migration
 *
 * Every input is imported into a fresh IMPORTING realm (the layout of
 * rmm-mig-fuzz.h: two small RAM ranges, a source with two RECs, zero
 * entries allowed), then committed if the import allows it.  Five modes
 * (first input byte, rmm-mig-fuzz.h):
 *
 *   raw     the host's view: arbitrary bytes cut into records; reaches
 *           header parsing, sequencing, ordering and authentication.
 *   sealed  a malicious source that knows the session keys: the
 *           harness seals whatever plaintext the input holds, at the
 *           right sequence number and epoch unless told otherwise, so
 *           that body validation after authentication is reached.
 *   hello, hello-patch, accept
 *           the handshake messages: a HELLO (whole, or as patches to a
 *           valid one) for MIG_IMPORT_HELLO, an ACCEPT for MIG_ACCEPT.
 *
 * Whenever an import commits, the imported realm is migrated once more
 * to a second realm, which must import it without error and end up with
 * the same memory, stage 2 state, measurements and RECs: a crash or an
 * abort() here is a bug.
 *
 * Seed corpus: test-rmm-mig --write-corpus DIR.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"
#include "rmm-mig-record.h"     /* plays the source: seals records */
#include "rmm-internal.h"
#include "rmm-mig-fuzz.h"
#include "rmm-host.h"
#include "test-pki.h"

#define G               RMM_GRANULE_SIZE
#define SEAL_CAP        (RMM_MIG_RECORD_MAX + 4096)
#define DATA_PT_UNIT    (8 + G)

static RmmPlatform *plat;
static Pki pki;                         /* the platform's identity */
static GString *policy;                 /* its CA */
static uint8_t policy_hash[64];
static GByteArray *hello;               /* FUZZ_MODE_HELLO_PATCH's */
static uint8_t *hs_out;                 /* RMM_MIG_HS_MAX bytes */
static uint8_t *stores[2][2];           /* [realm][range] */
static uint8_t *seal_buf;
static uint8_t *data_pt;                /* RMM_MIG_BATCH_MAX units */
static const uint64_t ram_base[2] = { FUZZ_RAM0, FUZZ_RAM1 };
static const uint64_t ram_size[2] = { FUZZ_RAM0_SIZE, FUZZ_RAM1_SIZE };

static GByteArray *make_hello(void);

#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                    __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned i, j;

    pki_new(&pki);
    policy = pki_policy((const Cred *[]) { &pki.ca }, 1);
    pki_policy_hash(policy, policy_hash);
    plat = pki_platform(&pki.plat, &pki.ca);
    for (i = 0; i < 2; i++) {
        for (j = 0; j < 2; j++) {
            stores[i][j] = g_malloc0(ram_size[j]);
        }
    }
    seal_buf = g_malloc0(SEAL_CAP);
    hs_out = g_malloc0(RMM_MIG_HS_MAX);
    hello = make_hello();
    data_pt = g_malloc0(RMM_MIG_BATCH_MAX * DATA_PT_UNIT);
    return 0;
}

/* A NEW realm with the fuzz layout, over stores[@which]. */
static RmmRealm *realm_new(unsigned which)
{
    RmiRealmParams p;
    RmmRealm *r;
    unsigned j;

    fuzz_realm_params(&p, 1 + which, policy_hash);
    CHECK(rmm_realm_create(plat, &p, &r) == RMI_SUCCESS);
    for (j = 0; j < 2; j++) {
        /* rmm_realm_destroy() scrubbed it. */
        CHECK(stores[which][j][0] == 0);
        CHECK(rmm_realm_add_ram(r, ram_base[j], ram_size[j],
                                stores[which][j]) == RMI_SUCCESS);
        CHECK(host_map(r, ram_base[j], ram_size[j], 3));
    }
    return r;
}

/* Read what the importer hands back, so that ASan checks its bounds. */
static void touch(const RmmMigImported *out)
{
    /* volatile: the reads must happen, their result is not used. */
    volatile uint8_t sum = 0;
    size_t i;

    for (i = 0; i < out->rec_ctx_len; i++) {
        sum += out->rec_ctx[i];
    }
    if (out->rec) {
        sum += rmm_rec_may_enter(out->rec);
        sum += rmm_rec_index(out->rec);
    }
    (void)sum;
}

static RmiStatus import(RmmRealm *r, const uint8_t *buf, size_t len)
{
    RmmMigImported out;
    char *err = NULL;
    RmiStatus ret = host_import_record(r, buf, len, &out, &err);

    CHECK((ret == RMI_SUCCESS) == !err);
    if (ret == RMI_SUCCESS) {
        touch(&out);
    }
    g_free(err);
    return ret;
}

static void run_raw(RmmRealm *r, const uint8_t *p, size_t left)
{
    while (left) {
        size_t len = left;

        if (left >= RMM_MIG_HEADER_SIZE) {
            len = rmi_mig_record_length(p);
            if (!len || len > left) {
                len = left;
            }
        }
        if (import(r, p, len) != RMI_SUCCESS) {
            /* Dead from now on: one more record must be refused. */
            CHECK(import(r, p, len) == RMI_ERROR_REALM);
            return;
        }
        p += len;
        left -= len;
    }
}

static void run_sealed(RmmRealm *r, const uint8_t *p, size_t left)
{
    uint8_t session[RMM_MIG_SESSION_SIZE];
    uint64_t seq = 0, lane_seq[RMM_MIG_LANES_MAX + 1] = { 0 };
    uint32_t epoch = 0;
    unsigned lane;
    RmmMigKeys k;

    memset(session, FUZZ_SESSION_BYTE, sizeof(session));
    host_keys(&k, fuzz_mig_key, session);
    while (left >= 4) {
        unsigned type = p[0], mods = p[1], n, i;
        size_t plen = p[2] | p[3] << 8, len, pt_len;
        const uint8_t *payload = p + 4, *pt = payload;
        uint64_t rseq = seq;

        p += 4;
        left -= 4;
        plen = MIN(plen, left);
        p += plen;
        left -= plen;
        n = 1;
        pt_len = plen;
        if (type == RMM_MIG_RT_DATA) {
            /* { u8 count, count x { le64 gpa | ripas, u8 fill } } */
            n = plen ? MIN(MIN(payload[0], (plen - 1) / 9),
                           RMM_MIG_BATCH_MAX) : 0;
            for (i = 0; i < n; i++) {
                const uint8_t *u = payload + 1 + 9 * i;
                uint8_t *out = data_pt + i * DATA_PT_UNIT;

                memcpy(out, u, 8);
                memset(out + 8, u[8], G);
            }
            pt = data_pt;
            pt_len = n * DATA_PT_UNIT;
        }
        if (mods & FUZZ_MOD_SEQ_INC) {
            rseq++;
        }
        if ((mods & FUZZ_MOD_SEQ_DEC) && rseq) {
            rseq--;
        }
        lane = type == RMM_MIG_RT_DATA && (mods & FUZZ_MOD_LANE) ?
               1 + (mods >> 4 & 3) : 0;
        if (lane) {
            rseq = lane_seq[lane];
        }
        len = !pt_len ? 0 :
              lane ? rmm_mig_seal_data_lane(&k, lane, epoch +
                                            !!(mods & FUZZ_MOD_EPOCH), rseq,
                                            pt, pt_len, seal_buf, SEAL_CAP) :
              rmm_mig_seal_record(&k, type, epoch + !!(mods & FUZZ_MOD_EPOCH),
                                  rseq, pt, pt_len, seal_buf, SEAL_CAP);
        if (!len) {
            continue;
        }
        if (import(r, seal_buf, len) != RMI_SUCCESS) {
            break;
        }
        if (lane) {
            lane_seq[lane] += n;
        } else {
            seq += n;
        }
        epoch += type == RMM_MIG_RT_EPOCH;
    }
    rmm_mig_keys_wipe(&k);
}

/* ---- Re-export of a committed realm: must round-trip exactly ---- */

static size_t rec_ctx(void *opaque, unsigned index, uint8_t *ctx)
{
    memcpy(ctx, "ctx", 3);
    return 3;
}

/* Each record the host driver exports goes straight into @opaque. */
static void move(void *opaque, const uint8_t *buf, size_t len)
{
    CHECK(import(opaque, buf, len) == RMI_SUCCESS);
}

static void reexport(RmmRealm *a)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE], ma[RMM_HASH_MAX], mb[RMM_HASH_MAX];
    RmmRealm *b = realm_new(1);
    RmmHost h = {
        .r = a, .ram_base = ram_base, .ram_size = ram_size, .nr_ram = 2,
        .rec_ctx = rec_ctx, .emit = move, .opaque = b,
    };
    RmeMigDriver *d = rmm_host_driver_new(&h);
    uint64_t ipa, left;
    unsigned i, j;
    char *err = NULL;

    /* As QEMU does it, with the VM stopped from the start. */
    CHECK(host_handshake(a, b, FUZZ_NR_RECS, policy, &err));
    CHECK(rme_mig_driver_setup(d) == RME_MIG_MORE);
    CHECK(rme_mig_driver_complete(d, rmm_realm_num_recs(a), &left) ==
          RME_MIG_MORE);
    CHECK(rme_mig_driver_end(d) == RME_MIG_MORE);
    rme_mig_driver_free(d);
    CHECK(rmm_mig_import_commit(b, token, &err) == RMI_SUCCESS);
    CHECK(rmm_mig_commit_ack(a, token) == RMI_SUCCESS);

    for (j = 0; j < 2; j++) {
        CHECK(!memcmp(stores[0][j], stores[1][j], ram_size[j]));
        for (ipa = ram_base[j]; ipa < ram_base[j] + ram_size[j]; ipa += G) {
            RmmHipas ha, hb;
            RmiRipas ra, rb;

            CHECK(rmm_rtt_read_entry(a, ipa, &ha, &ra) == RMI_SUCCESS);
            CHECK(rmm_rtt_read_entry(b, ipa, &hb, &rb) == RMI_SUCCESS);
            CHECK(ha == hb && ra == rb);
        }
    }
    for (i = 0; i <= RMM_NUM_REMS; i++) {
        rmm_realm_measurement(a, i, ma);
        rmm_realm_measurement(b, i, mb);
        CHECK(!memcmp(ma, mb, RMM_HASH_MAX));
    }
    CHECK(rmm_realm_num_recs(a) == rmm_realm_num_recs(b));
    for (i = 0; i < rmm_realm_num_recs(a); i++) {
        RmmRec *ra = rmm_realm_rec(a, i), *rb = rmm_realm_rec(b, i);

        CHECK(ra->mpidr == rb->mpidr && ra->runnable == rb->runnable &&
              ra->pending == rb->pending &&
              ra->psci_pending == rb->psci_pending &&
              !ra->token == !rb->token);
        CHECK(rmm_rec_may_enter(rb) == (ra->runnable &&
                                        ra->pending == RMM_REC_PENDING_NONE));
    }
    rmm_realm_destroy(b);
}

/* An ACTIVE realm over stores[1], to export. */
static RmmRealm *source_new(void)
{
    RmmRealm *r = realm_new(1);
    uint64_t top;

    CHECK(rmm_rtt_init_ripas(r, FUZZ_RAM0, FUZZ_RAM0 + FUZZ_RAM0_SIZE,
                             &top) == RMI_SUCCESS);
    CHECK(rmm_realm_activate(r) == RMI_SUCCESS);
    return r;
}

/* The HELLO of a session of the fuzzer's own platform. */
static GByteArray *make_hello(void)
{
    RmmRealm *s = source_new();
    GByteArray *b = g_byte_array_new();
    size_t len;

    CHECK(rmm_mig_export_start(s, pem_bytes(policy), policy->len, hs_out,
                               RMM_MIG_HS_MAX, &len, NULL) == RMI_SUCCESS);
    g_byte_array_append(b, hs_out, len);
    rmm_realm_destroy(s);
    return b;
}

/* FUZZ_MODE_HELLO*: @p is the HELLO, or patches to the valid one. */
static void run_hello(bool patch, const uint8_t *p, size_t left)
{
    g_autoptr(GByteArray) h = g_byte_array_new();
    RmmRealm *d = realm_new(0);
    RmiStatus ret;
    char *err = NULL;
    size_t len;

    if (patch) {
        g_byte_array_append(h, hello->data, hello->len);
        for (; left >= 3; p += 3, left -= 3) {
            h->data[(p[0] | p[1] << 8) % h->len] ^= p[2];
        }
    } else {
        g_byte_array_append(h, p, left);
    }
    CHECK(rmm_mig_import_start(d, FUZZ_NR_RECS, pem_bytes(policy),
                               policy->len, NULL) == RMI_SUCCESS);
    ret = rmm_mig_import_hello(d, h->data, h->len, hs_out, RMM_MIG_HS_MAX,
                               &len, &err);
    CHECK((ret == RMI_SUCCESS) == !err);
    /* Only the HELLO its platform signed gets an answer. */
    CHECK(ret != RMI_SUCCESS ||
          (h->len == hello->len && !memcmp(h->data, hello->data, h->len)));
    g_free(err);
    rmm_mig_import_abort(d, NULL);
    rmm_realm_destroy(d);
}

/* FUZZ_MODE_ACCEPT: no forged ACCEPT is taken. */
static void run_accept(const uint8_t *p, size_t left)
{
    RmmRealm *s = source_new();
    char *err = NULL;
    size_t len;

    CHECK(rmm_mig_export_start(s, pem_bytes(policy), policy->len, hs_out,
                               RMM_MIG_HS_MAX, &len, NULL) == RMI_SUCCESS);
    CHECK(rmm_mig_export_accept(s, p, left, &err) != RMI_SUCCESS);
    CHECK(err);
    g_free(err);
    CHECK(rmm_mig_export_abort(s, NULL) == RMI_SUCCESS);
    rmm_realm_destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    RmmRealm *r;
    char *err = NULL;

    if (size < 1) {
        return 0;
    }
    if (data[0] == FUZZ_MODE_HELLO || data[0] == FUZZ_MODE_HELLO_PATCH) {
        run_hello(data[0] == FUZZ_MODE_HELLO_PATCH, data + 1, size - 1);
        return 0;
    }
    if (data[0] == FUZZ_MODE_ACCEPT) {
        run_accept(data + 1, size - 1);
        return 0;
    }
    r = realm_new(0);
    CHECK(host_import_start(r, FUZZ_NR_RECS, policy, fuzz_mig_key) ==
          RMI_SUCCESS);
    if (data[0] == FUZZ_MODE_SEALED) {
        run_sealed(r, data + 1, size - 1);
    } else {
        run_raw(r, data + 1, size - 1);
    }
    if (rmm_mig_import_commit(r, token, &err) == RMI_SUCCESS) {
        CHECK(!err);
        CHECK(rmm_realm_state(r) == RMM_REALM_ACTIVE);
        CHECK(!rmm_mig_import_abort(r, token));
        reexport(r);
    } else {
        CHECK(err);
        g_free(err);
        rmm_mig_import_abort(r, token);
        CHECK(rmm_mig_phase(r) == RMM_MIG_IN_ABORTED);
    }
    host_forget(r);
    rmm_realm_destroy(r);
    return 0;
}
