/*
 * Sealing and opening throughput of the emulated RMM's DATA records
 * (bench/seal.py runs it and compares with `openssl speed`).
 *
 * A source realm of --mib MiB of random protected memory migrates to a
 * destination after the real handshake; each pass exports every granule
 * in DATA records of RMM_MIG_BATCH_MAX (MIG_EXPORT_DATA, what QEMU's
 * migration thread calls), then closes the epoch, and the destination
 * imports them (MIG_IMPORT_RECORD).  Printed, one "key value" a line:
 *
 *   gnutls_seal_mbs   AES-256-GCM through gnutls_aead_cipher_encrypt()
 *                     on 4096-byte units: the library's ceiling for the
 *                     model's call pattern
 *   export_mbs        MIG_EXPORT_DATA, granule bytes per second (the
 *                     median pass but the first, which warms up)
 *   import_mbs        MIG_IMPORT_RECORD of those records
 *   wire_overhead_pct record bytes over granule bytes, less 1, in %
 *
 * and the host memory the model itself holds (its heap, mallinfo2; the
 * realm's memory, which QEMU owns, not counted), per GiB of realm:
 *
 *   rmm_src_kib_per_gib   the source realm, every granule assigned
 *   rmm_dst_kib_per_gib   the destination realm, created and mapped
 *   rmm_src_mig_kib_per_gib  what the source adds while it migrates
 *   rmm_dst_mig_kib_per_gib  what the destination adds while it imports
 *
 * With --mem-only, only those: no contents (the granules are assigned
 * with DATA_CREATE_UNKNOWN and the realm's memory is never touched), no
 * passes, so that a 16 GiB realm can be measured on a small host.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"
#include "rmm-host.h"
#include "test-pki.h"

#define G           RMM_GRANULE_SIZE
#define BASE        0x40000000ULL
#define BATCH       RMM_MIG_BATCH_MAX

static void die(const char *what, RmiStatus st, const char *err)
{
    fprintf(stderr, "bench-rmm-seal: %s failed (%d)%s%s\n", what, (int)st,
            err ? ": " : "", err ? err : "");
    exit(1);
}

static RmmRealm *realm_new(RmmPlatform *plat, const GString *policy,
                           uint64_t size, uint8_t *store, uint16_t vmid,
                           bool build)
{
    RmiRealmParams p;
    RmmRealm *r;
    RmmRec *rec;
    RmmRecParams rp;
    uint64_t top, ipa;
    RmiStatus st;

    memset(&p, 0, sizeof(p));
    p.flags = RMI_REALM_FLAGS_MIG_ZERO;
    p.ipa_width = 40;
    p.hash_algo = RMI_HASH_SHA256;
    p.num_bps = 1;
    p.num_wps = 1;
    p.vmid = vmid;
    pki_policy_hash(policy, p.mig_policy);
    st = rmm_realm_create(plat, &p, &r);
    if (st != RMI_SUCCESS) {
        die("REALM_CREATE", st, NULL);
    }
    if (rmm_realm_add_ram(r, BASE, size, store) != RMI_SUCCESS ||
        !host_map(r, BASE, size, 3)) {
        die("RAM", RMI_ERROR_INPUT, NULL);
    }
    if (!build) {
        return r;
    }
    if (rmm_rtt_init_ripas(r, BASE, BASE + size, &top) != RMI_SUCCESS) {
        die("INIT_RIPAS", RMI_ERROR_INPUT, NULL);
    }
    for (ipa = BASE; ipa < BASE + size; ipa += G) {
        if (rmm_data_create_unknown(r, ipa) != RMI_SUCCESS) {
            die("DATA_CREATE_UNKNOWN", RMI_ERROR_INPUT, NULL);
        }
    }
    memset(&rp, 0, sizeof(rp));
    rp.flags = RMI_REC_FLAG_RUNNABLE;
    rp.pc = BASE;
    if (rmm_rec_create(r, &rp, &rec) != RMI_SUCCESS ||
        rmm_realm_activate(r) != RMI_SUCCESS) {
        die("REC_CREATE/ACTIVATE", RMI_ERROR_INPUT, NULL);
    }
    return r;
}

static void import(RmmRealm *d, const uint8_t *buf, size_t len)
{
    RmmMigImported out;
    char *err = NULL;
    RmiStatus st = rmm_mig_import_record(d, buf, len, &out, &err);

    if (st != RMI_SUCCESS) {
        die("MIG_IMPORT_RECORD", st, err);
    }
}

/* Bytes the heap holds now (arena and mmap()ed blocks). */
static uint64_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

/* The library alone: @n seals of 4096 bytes; MB/s. */
static double gnutls_seal_mbs(unsigned n)
{
    gnutls_aead_cipher_hd_t h;
    uint8_t key[32], nonce[12] = { 0 }, aad[64] = { 0 };
    g_autofree uint8_t *pt = g_malloc(G), *ct = g_malloc(G + 16);
    gnutls_datum_t k = { key, sizeof(key) };
    gint64 t0;
    unsigned i;

    gnutls_rnd(GNUTLS_RND_NONCE, key, sizeof(key));
    gnutls_rnd(GNUTLS_RND_NONCE, pt, G);
    if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k)) {
        die("gnutls_aead_cipher_init", 0, NULL);
    }
    t0 = g_get_monotonic_time();
    for (i = 0; i < n; i++) {
        size_t out_len = G + 16;

        memcpy(nonce, &i, sizeof(i));
        if (gnutls_aead_cipher_encrypt(h, nonce, sizeof(nonce), aad,
                                       sizeof(aad), 16, pt, G, ct,
                                       &out_len)) {
            die("gnutls_aead_cipher_encrypt", 0, NULL);
        }
    }
    t0 = g_get_monotonic_time() - t0;
    gnutls_aead_cipher_deinit(h);
    return (double)n * G / t0;             /* bytes/us = MB/s */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of @t[1..@n): the first pass warms the caches up. */
static double median_after_first(double *t, int n)
{
    qsort(t + 1, n - 1, sizeof(*t), cmp_double);
    return t[1 + (n - 1) / 2];
}

int main(int argc, char **argv)
{
    int mib = 64, passes = 4;
    gboolean mem_only = false;
    GOptionEntry opts[] = {
        { "mib", 0, 0, G_OPTION_ARG_INT, &mib, "protected MiB", "N" },
        { "passes", 0, 0, G_OPTION_ARG_INT, &passes, "export passes", "N" },
        { "mem-only", 0, 0, G_OPTION_ARG_NONE, &mem_only,
          "only the model's host memory", NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("");
    g_autoptr(GError) gerr = NULL;
    Pki pki;
    GString *policy;
    RmmPlatform *plat;
    RmmRealm *s, *d;
    uint8_t *sstore, *dstore, *buf, *arena;
    const uint8_t *r;
    uint64_t size, ipas[BATCH], granules = 0, bytes = 0;
    uint64_t m0, m_src, m_dst, m_src_mig, m_dst_mig;
    uint8_t *hello, *accept;
    size_t hlen, alen;
    double gib;
    double *t_exp, *t_imp;
    gint64 t;
    char *err = NULL;
    size_t len;
    bool more;
    unsigned i, n, done;
    int pass;

    g_option_context_add_main_entries(ctx, opts, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &gerr) || mib < 1 ||
        passes < 2) {
        fprintf(stderr, "bench-rmm-seal: %s\n",
                gerr ? gerr->message : "--mib at least 1, --passes at least 2");
        return 2;
    }
    size = (uint64_t)mib << 20;
    pki_new(&pki);
    policy = pki_policy((const Cred *[]) { &pki.ca }, 1);
    plat = pki_platform(&pki.plat, &pki.ca);
    sstore = mem_only ? g_malloc0(size) : g_malloc(size);
    dstore = g_malloc0(size);
    buf = g_malloc(RMM_MIG_RECORD_MAX);
    hello = g_malloc(RMM_MIG_HS_MAX);
    accept = g_malloc(RMM_MIG_HS_MAX);

    /* The handshake, its steps apart: each side's state measured. */
    m0 = heap_bytes();
    s = realm_new(plat, policy, size, sstore, 1, true);
    m_src = heap_bytes() - m0;
    m0 = heap_bytes();
    d = realm_new(plat, policy, size, dstore, 2, false);
    m_dst = heap_bytes() - m0;
    if (!mem_only) {
        /* Random contents: no granule is zero. */
        gnutls_rnd(GNUTLS_RND_NONCE, sstore, size);
    }
    m0 = heap_bytes();
    if (rmm_mig_export_start(s, (const uint8_t *)policy->str, policy->len,
                             hello, RMM_MIG_HS_MAX, &hlen, &err)) {
        die("MIG_EXPORT_START", RMI_ERROR_INPUT, err);
    }
    m_src_mig = heap_bytes() - m0;
    m0 = heap_bytes();
    if (rmm_mig_import_start(d, 1, (const uint8_t *)policy->str, policy->len,
                             &err) ||
        rmm_mig_import_hello(d, hello, hlen, accept, RMM_MIG_HS_MAX, &alen,
                             &err)) {
        die("MIG_IMPORT_START/HELLO", RMI_ERROR_INPUT, err);
    }
    m_dst_mig = heap_bytes() - m0;
    m0 = heap_bytes();
    if (rmm_mig_export_accept(s, accept, alen, &err)) {
        die("MIG_EXPORT_ACCEPT", RMI_ERROR_INPUT, err);
    }
    m_src_mig += heap_bytes() - m0;
    gib = (double)size / (1 << 30);
    printf("rmm_src_kib_per_gib %.1f\n", m_src / 1024.0 / gib);
    printf("rmm_dst_kib_per_gib %.1f\n", m_dst / 1024.0 / gib);
    printf("rmm_src_mig_kib_per_gib %.1f\n", m_src_mig / 1024.0 / gib);
    printf("rmm_dst_mig_kib_per_gib %.1f\n", m_dst_mig / 1024.0 / gib);
    if (mem_only) {
        goto out;
    }
    if (rmm_mig_export_immutable(s, buf, RMM_MIG_RECORD_MAX, &len)) {
        die("MIG_EXPORT_IMMUTABLE", RMI_ERROR_INPUT, NULL);
    }
    import(d, buf, len);
    do {
        if (rmm_mig_export_ripas(s, buf, RMM_MIG_RECORD_MAX, &len, &more)) {
            die("MIG_EXPORT_RIPAS", RMI_ERROR_INPUT, NULL);
        }
        if (len) {
            import(d, buf, len);
        }
    } while (more);

    /* Records go to one arena, written in place (its pages faulted in
     * by the first pass, which is not counted). */
    arena = g_malloc((size / G / BATCH + 1) * RMM_MIG_RECORD_MAX);
    t_exp = g_new0(double, passes);
    t_imp = g_new0(double, passes);
    for (pass = 0; pass < passes; pass++) {
        uint8_t *w = arena;

        t = g_get_monotonic_time();
        for (i = 0; i < size / G; i += BATCH) {
            for (n = 0; n < BATCH; n++) {
                ipas[n] = BASE + (uint64_t)(i + n) * G;
            }
            if (rmm_mig_export_data(s, ipas, BATCH, w, RMM_MIG_RECORD_MAX,
                                    &len, &done) || done != BATCH) {
                die("MIG_EXPORT_DATA", RMI_ERROR_INPUT, NULL);
            }
            granules += done;
            bytes += len;
            w += len;
        }
        if (rmm_mig_export_epoch(s, w, RMM_MIG_RECORD_MAX, &len)) {
            die("MIG_EXPORT_EPOCH", RMI_ERROR_INPUT, NULL);
        }
        w += len;
        t_exp[pass] = g_get_monotonic_time() - t;

        t = g_get_monotonic_time();
        for (r = arena; r < w; r += rmi_mig_record_length(r)) {
            import(d, r, rmi_mig_record_length(r));
        }
        t_imp[pass] = g_get_monotonic_time() - t;
    }
    if (memcmp(sstore, dstore, size)) {
        die("the destination's memory is not the source's", 0, NULL);
    }
    printf("mib %d\npasses %d\ngranules %" G_GUINT64_FORMAT "\n", mib, passes,
           granules);
    printf("gnutls_seal_mbs %.0f\n", gnutls_seal_mbs(size / G));
    printf("export_mbs %.0f\n", size / median_after_first(t_exp, passes));
    printf("import_mbs %.0f\n", size / median_after_first(t_imp, passes));
    printf("wire_overhead_pct %.3f\n",
           100.0 * ((double)bytes / ((double)granules * G) - 1));
    g_free(arena);
    g_free(t_exp);
    g_free(t_imp);
out:
    host_forget(d);
    rmm_realm_destroy(s);
    rmm_realm_destroy(d);
    rmm_platform_free(plat);
    g_string_free(policy, true);
    pki_free(&pki);
    g_free(sstore);
    g_free(dstore);
    g_free(buf);
    g_free(hello);
    g_free(accept);
    return 0;
}
