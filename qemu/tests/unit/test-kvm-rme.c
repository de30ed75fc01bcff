/*
 * The KVM CCA realm backend (target/arm/kvm-rme.c, kvm-rme-migrate.c)
 * over a model of the kernel side built on the emulated RMM
 * (kvm-rme-fake.c): realms built, migrated from one fake KVM to another
 * with the host's export driver (migration/rme-mig-driver.c, as
 * migration/rme-stream.c runs it), aborted, fed a tampered record, and
 * every ioctl made to fail once with each errno it can return.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qapi/error.h"
#include <linux/kvm.h>
#include "target/arm/kvm-rme.h"
#include "target/arm/kvm-rmi-mig.h"
#include "migration/rme-mig-driver.h"
#include "kvm-rme-fake.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"
#include "test-pki.h"

#define RAM_BASE    0x40000000ULL
#define RAM_SIZE    (2 * 1024 * 1024ULL)
#define NR_GRANULES (RAM_SIZE / RMM_GRANULE_SIZE)
#define NR_VCPUS    2
#define NR_SLOTS    2
#define IMAGE_BASE  (RAM_BASE + 0x10000)
#define IMAGE_SIZE  (20 * RMM_GRANULE_SIZE)

/* One host: its RMM, its KVM (fake), and a QEMU's rme-guest on it. */
typedef struct Host {
    RmeGuest g;
    RmmPlatform *plat;
    FakeKvm *fk;
    CPUState *cpus[NR_VCPUS];
    bool manual_dirty_protect;
} Host;

static struct {
    Cred ca;
    Cred leaf[2];
    GString *policy;
    uint8_t policy_hash[64];
} pki;

static const RmeBackendOps *ops = &rme_kvm_backend_ops;

/* ---- What QEMU's KVM code gives the backend (kvm-rme-glue.c) ---- */

bool rme_kvm_attach(RmeKvm *k, RmeGuest *g, Error **errp)
{
    Host *h = container_of(g, Host, g);

    k->vm_fd = fake_kvm_vm_fd(h->fk);
    k->ram_hva = fake_kvm_shared(h->fk);
    k->nr_vcpus = NR_VCPUS;
    return true;
}

bool rme_kvm_attach_slots(RmeKvm *k, RmeGuest *g, Error **errp)
{
    Host *h = container_of(g, Host, g);
    unsigned i;

    k->nr_slots = fake_kvm_nr_slots(h->fk);
    for (i = 0; i < k->nr_slots; i++) {
        fake_kvm_slot(h->fk, i, &k->slots[i].id, &k->slots[i].gpa,
                      &k->slots[i].size);
    }
    k->manual_dirty_protect = h->manual_dirty_protect;
    return true;
}

int rme_kvm_vcpu_fd(RmeGuest *g, unsigned index)
{
    Host *h = container_of(g, Host, g);

    return index < NR_VCPUS ? h->cpus[index]->kvm_fd : -1;
}

void rme_kvm_vcpus_detach(void)
{
}

/* ---- Hosts and realms ---- */

static Host *host_new(unsigned leaf, unsigned caps, Error **errp)
{
    Host *h = g_new0(Host, 1);
    unsigned i;

    h->plat = pki_platform(&pki.leaf[leaf], &pki.ca);
    h->fk = fake_kvm_new(h->plat, RAM_BASE, RAM_SIZE, NR_SLOTS, NR_VCPUS,
                         caps);
    h->manual_dirty_protect = true;
    h->g.measurement_algo = RMI_HASH_SHA512;
    h->g.migration_zero = true;
    h->g.policy_pem = (uint8_t *)pki.policy->str;
    h->g.policy_len = pki.policy->len;
    memcpy(h->g.policy_hash, pki.policy_hash, 64);
    memset(h->g.rpv, 0x5a, sizeof(h->g.rpv));
    h->g.ipa_width = 33;
    h->g.ram_base = RAM_BASE;
    h->g.ram_size = RAM_SIZE;
    h->g.ops = ops;
    for (i = 0; i < NR_VCPUS; i++) {
        h->cpus[i] = g_new0(CPUState, 1);
        h->cpus[i]->cpu_index = i;
        h->cpus[i]->kvm_fd = fake_kvm_vcpu_fd(h->fk, i);
    }
    if (!ops->init(&h->g, errp)) {
        h->g.backend = NULL;
    }
    return h;
}

static void host_free(Host *h)
{
    unsigned i;

    for (i = 0; i < NR_VCPUS; i++) {
        g_free(h->cpus[i]);
    }
    g_free(h->g.backend);
    fake_kvm_free(h->fk);
    rmm_platform_free(h->plat);
    g_free(h);
}

static void image_fill(uint8_t *p)
{
    size_t i;

    for (i = 0; i < IMAGE_SIZE; i++) {
        p[i] = i * 7 + (i >> 12);
    }
}

/* What rme_guest_build() does at the first reset, then the first run. */
static bool realm_build(Host *h, Error **errp)
{
    RmiRealmParams p = rme_guest_realm_params(&h->g);
    char *err = NULL;
    unsigned i;

    image_fill(fake_kvm_shared(h->fk) + (IMAGE_BASE - RAM_BASE));
    if (!ops->realm_create(&h->g, &p, errp) ||
        !ops->init_ripas(&h->g, RAM_BASE, RAM_BASE + RAM_SIZE, errp) ||
        !ops->populate(&h->g, IMAGE_BASE, IMAGE_SIZE, errp)) {
        return false;
    }
    for (i = 0; i < NR_VCPUS; i++) {
        if (!ops->rec_create(&h->g, h->cpus[i], i == 0, errp)) {
            return false;
        }
    }
    if (!ops->activate(&h->g, errp)) {
        return false;
    }
    if (!fake_kvm_first_run(h->fk, &err)) {
        error_setg(errp, "first KVM_RUN: %s", err);
        g_free(err);
        return false;
    }
    return true;
}

/* The realm writes: granule i of a range gets a pattern of @tag. */
static void guest_writes(Host *h, uint64_t base, unsigned n, unsigned step,
                         uint8_t tag)
{
    uint8_t buf[RMM_GRANULE_SIZE];
    unsigned i;

    for (i = 0; i < n; i++) {
        memset(buf, tag + i, sizeof(buf));
        fake_kvm_guest_write(h->fk, base + i * step * RMM_GRANULE_SIZE, buf,
                             sizeof(buf));
    }
}

static Host *source_new(void)
{
    Host *h = host_new(0, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                       &error_abort);

    g_assert_true(realm_build(h, &error_abort));
    guest_writes(h, RAM_BASE + 0x100000, 40, 3, 0x10);
    return h;
}

/* Every granule: same RIPAS, HIPAS and contents; same measurements. */
static void realms_equal(Host *a, Host *b)
{
    RmmRealm *ra = fake_kvm_realm(a->fk), *rb = fake_kvm_realm(b->fk);
    uint8_t ma[RMM_HASH_MAX], mb[RMM_HASH_MAX];
    uint64_t ipa;
    unsigned i;

    g_assert_nonnull(ra);
    g_assert_nonnull(rb);
    for (ipa = RAM_BASE; ipa < RAM_BASE + RAM_SIZE; ipa += RMM_GRANULE_SIZE) {
        RmmHipas ha, hb;
        RmiRipas pa, pb;
        const uint8_t *va = fake_kvm_guest_view(a->fk, ipa);
        const uint8_t *vb = fake_kvm_guest_view(b->fk, ipa);

        g_assert_cmpint(rmm_rtt_read_entry(ra, ipa, &ha, &pa), ==,
                        RMI_SUCCESS);
        g_assert_cmpint(rmm_rtt_read_entry(rb, ipa, &hb, &pb), ==,
                        RMI_SUCCESS);
        g_assert_cmpint(pa, ==, pb);
        g_assert_cmpint(ha, ==, hb);
        g_assert_true(!va == !vb);
        if (va) {
            g_assert_cmpmem(va, RMM_GRANULE_SIZE, vb, RMM_GRANULE_SIZE);
        }
    }
    for (i = 0; i < 5; i++) {
        size_t la = rmm_realm_measurement(ra, i, ma);

        g_assert_cmpuint(la, ==, rmm_realm_measurement(rb, i, mb));
        g_assert_cmpmem(ma, la, mb, la);
    }
    g_assert_cmpuint(rmm_realm_num_recs(ra), ==, rmm_realm_num_recs(rb));
}

/* ---- Migration: the export driver over the backend, records in order */

typedef struct Mig {
    Host *src, *dst;
    RmeMigDriver *drv;
    GArray *records;            /* MigRecord, in the order they went out */
    GMutex lock;
    char *err;                  /* the first command that failed said */
    uint8_t token[RMM_MIG_TOKEN_SIZE];  /* the destination's commit token */
    unsigned imported;
    void (*tamper)(GBytes **rec);
} Mig;

/* A record and its envelope, as a stream carries them. */
typedef struct MigRecord {
    uint8_t kind, lane;
    uint32_t epoch;
    GBytes *bytes;
} MigRecord;

static const RmiMigOps *mig_ops(void)
{
    return rme_kvm_backend_ops.mig;
}

/* Keep @why as the migration's error if it has none; false. */
static bool mig_fail(Mig *m, char *why)
{
    g_mutex_lock(&m->lock);
    if (!m->err) {
        m->err = why ? why : g_strdup("failed, without a reason");
        why = NULL;
    }
    g_mutex_unlock(&m->lock);
    g_free(why);
    return false;
}

static bool mig_emit(void *opaque, const RmiMigRecord *rec, char **err)
{
    Mig *m = opaque;
    MigRecord r = {
        .kind = rec->kind,
        .lane = rec->lane,
        .epoch = rec->epoch,
        .bytes = g_bytes_new(rec->buf, rec->len),
    };

    g_mutex_lock(&m->lock);
    g_array_append_val(m->records, r);
    g_mutex_unlock(&m->lock);
    return true;
}

static bool mig_stop_iteration(void *opaque)
{
    return false;
}

static bool mig_lanes_flush(void *opaque, char **err)
{
    return true;
}

/* The stream of the test: records kept in order, lane records too. */
static const RmeMigSink mig_sink = {
    .emit = mig_emit,
    .stop_iteration = mig_stop_iteration,
    .emit_lane = mig_emit,
    .lanes_flush = mig_lanes_flush,
};

static void mig_record_clear(gpointer data)
{
    g_bytes_unref(((MigRecord *)data)->bytes);
}

/* The destination imports what went out since it last imported. */
static bool mig_import(Mig *m)
{
    for (; m->imported < m->records->len; m->imported++) {
        MigRecord *r = &g_array_index(m->records, MigRecord, m->imported);
        RmiMigRecord rec = {
            .kind = r->kind,
            .lane = r->lane,
            .epoch = r->epoch,
        };
        char *why = NULL;
        size_t len;

        if (m->tamper) {
            m->tamper(&r->bytes);
        }
        rec.buf = (uint8_t *)g_bytes_get_data(r->bytes, &len);
        rec.len = len;
        if (!mig_ops()->import(&m->dst->g, &rec, &why)) {
            return mig_fail(m, why);
        }
    }
    return true;
}

static void mig_init(Mig *m, Host *src, Host *dst, unsigned lanes)
{
    memset(m, 0, sizeof(*m));
    m->src = src;
    m->dst = dst;
    g_mutex_init(&m->lock);
    m->records = g_array_new(false, true, sizeof(MigRecord));
    g_array_set_clear_func(m->records, mig_record_clear);
    m->drv = rme_mig_driver_new(mig_ops(), &src->g, &mig_sink, m, RAM_BASE,
                                NR_GRANULES, lanes);
}

static void mig_cleanup(Mig *m)
{
    rme_mig_driver_free(m->drv);
    g_array_free(m->records, true);
    g_mutex_clear(&m->lock);
    g_free(m->err);
}

/* A driver step returned @ret: false (and its error) if it failed. */
static bool mig_step(Mig *m, int ret)
{
    return ret != RME_MIG_FAILED ||
           mig_fail(m, rme_mig_driver_take_error(m->drv));
}

/* The handshake, as rme-stream.c carries it. */
static bool mig_handshake(Mig *m)
{
    g_autofree uint8_t *hbuf = g_malloc(RMM_MIG_RECORD_MAX);
    g_autofree uint8_t *abuf = g_malloc(RMM_MIG_RECORD_MAX);
    RmiMigRecord hello = { .buf = hbuf }, accept = { .buf = abuf };
    char *why = NULL;

    if (!mig_ops()->start(&m->src->g, &hello, &why) ||
        !mig_ops()->import_start(&m->dst->g, &why) ||
        !mig_ops()->import_hello(&m->dst->g, &hello, &accept, &why) ||
        !mig_ops()->accept(&m->src->g, &accept, &why)) {
        return mig_fail(m, why);
    }
    return true;
}

/* Everything up to END, with the realm writing during pre-copy. */
static bool mig_to_end(Mig *m)
{
    uint64_t left;
    int ret;

    if (!mig_handshake(m) || !mig_step(m, rme_mig_driver_setup(m->drv))) {
        return false;
    }
    ret = rme_mig_driver_iterate(m->drv);
    if (!mig_step(m, ret) || !mig_import(m)) {
        return false;
    }
    /* The realm runs on: these must arrive too. */
    guest_writes(m->src, RAM_BASE + 0x180000, 30, 2, 0x60);
    guest_writes(m->src, RAM_BASE + 0x100000, 5, 3, 0x70);
    if (!mig_step(m, rme_mig_driver_sync(m->drv))) {
        return false;
    }
    do {
        ret = rme_mig_driver_iterate(m->drv);
    } while (ret == RME_MIG_MORE);
    if (!mig_step(m, ret) || !mig_import(m)) {
        return false;
    }
    ret = rme_mig_driver_complete(m->drv, NR_VCPUS, &left);
    if (ret == RME_MIG_NOT_CONVERGED) {
        return mig_fail(m, g_strdup_printf("not converged: %" PRIu64
                                           " left", left));
    }
    return mig_step(m, ret) && mig_step(m, rme_mig_driver_end(m->drv)) &&
           mig_import(m);
}

/* The destination commits, the source takes its token. */
static bool mig_commit(Mig *m)
{
    char *why = NULL;

    if (!mig_ops()->import_commit(&m->dst->g, m->token, &why) ||
        !mig_ops()->commit_ack(&m->src->g, m->token, &why)) {
        return mig_fail(m, why);
    }
    return true;
}

/*
 * After a failure: the destination aborts, and the source gets its abort
 * token if there is one; the source realm runs again.
 */
static void mig_recover(Mig *m)
{
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool have = false;

    if (mig_ops()->status(&m->dst->g, NULL) == RMM_MIG_IN_IMPORTING) {
        have = mig_ops()->import_abort(&m->dst->g, token);
    }
    switch (mig_ops()->status(&m->src->g, NULL)) {
    case RMM_MIG_NONE:
        return;
    case RMM_MIG_OUT_ENDED:
        g_assert_true(have);
        /* fall through */
    default:
        g_assert_true(mig_ops()->abort(&m->src->g, have ? token : NULL,
                                       NULL));
    }
    g_assert_cmpint(mig_ops()->status(&m->src->g, NULL), ==, RMM_MIG_NONE);
}

/* ---- Tests ---- */

static void test_no_rmi(void)
{
    Error *err = NULL;
    Host *h = host_new(0, 0, &err);

    g_assert_nonnull(err);
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "rme-guest: this host's KVM cannot run Arm CCA realms "
                    "(no KVM_CAP_ARM_RMI)");
    error_free(err);
    host_free(h);
}

static void test_policy_needs_migration_cap(void)
{
    Host *h = host_new(0, FAKE_KVM_CAP_RMI, &error_abort);
    Error *err = NULL;

    g_assert_false(realm_build(h, &err));
    g_assert_nonnull(strstr(error_get_pretty(err),
                            "no KVM_CAP_ARM_RMI_MIGRATION"));
    error_free(err);
    host_free(h);
}

/*
 * The realm the KVM backend builds measures as the same realm built on
 * the RMM directly, in the order the TCG backend uses: the parameters
 * reach the RMM intact.
 */
static void test_build(void)
{
    Host *h = host_new(0, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                       &error_abort);
    RmiRealmParams p = rme_guest_realm_params(&h->g);
    g_autofree uint8_t *store = g_malloc0(RAM_SIZE);
    g_autofree uint8_t *image = g_malloc(IMAGE_SIZE);
    g_autofree char *log = NULL;
    RmmPlatform *plat = pki_platform(&pki.leaf[1], &pki.ca);
    uint8_t want[RMM_HASH_MAX], got[RMM_HASH_MAX];
    RmmPlatformFeatures f;
    RmmRealm *ref;
    uint64_t ipa, out;
    size_t len;
    unsigned i;

    g_free(fake_kvm_take_log());
    g_assert_true(realm_build(h, &error_abort));
    log = fake_kvm_take_log();
    /* 20 granules: a first POPULATE takes 16, a second the rest. */
    g_assert_cmpstr(log, ==, "ENABLE_CAP POPULATE POPULATE");
    g_assert_true(buffer_is_zero(fake_kvm_shared(h->fk) +
                                 (IMAGE_BASE - RAM_BASE), IMAGE_SIZE));

    p.vmid = 1;
    /* No num-breakpoints/watchpoints: the RMM's counts (the kernel's). */
    rmm_platform_get_features(plat, &f);
    p.num_bps = f.num_bps;
    p.num_wps = f.num_wps;
    image_fill(image);
    g_assert_cmpint(rmm_realm_create(plat, &p, &ref), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_realm_add_ram(ref, RAM_BASE, RAM_SIZE, store), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_granule_delegate_range(ref, RAM_BASE,
                                               RAM_BASE + RAM_SIZE), ==,
                    RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_create_range(ref, RAM_BASE, RAM_BASE + RAM_SIZE,
                                         3), ==, RMI_SUCCESS);
    g_assert_cmpint(rmm_rtt_init_ripas(ref, RAM_BASE, RAM_BASE + RAM_SIZE,
                                       &out), ==, RMI_SUCCESS);
    for (ipa = IMAGE_BASE; ipa < IMAGE_BASE + IMAGE_SIZE;
         ipa += RMM_GRANULE_SIZE) {
        g_assert_cmpint(rmm_data_create(ref, ipa,
                                        image + (ipa - IMAGE_BASE), true),
                        ==, RMI_SUCCESS);
    }
    for (i = 0; i < NR_VCPUS; i++) {
        RmmRecParams rp = {
            .flags = i == 0 ? RMI_REC_FLAG_RUNNABLE : 0,
            .mpidr = i,
            .pc = i == 0 ? RAM_BASE : 0,
        };
        RmmRec *rec;

        g_assert_cmpint(rmm_rec_create(ref, &rp, &rec), ==, RMI_SUCCESS);
    }
    len = rmm_realm_measurement(ref, 0, want);
    g_assert_cmpuint(len, ==, 64);
    g_assert_cmpuint(rmm_realm_measurement(fake_kvm_realm(h->fk), 0, got),
                     ==, len);
    g_assert_cmpmem(got, len, want, len);
    g_assert_cmpmem(fake_kvm_guest_view(h->fk, IMAGE_BASE), RMM_GRANULE_SIZE,
                    image, RMM_GRANULE_SIZE);

    /* A guest reset cannot rebuild it. */
    {
        Error *err = NULL;

        g_assert_false(ops->realm_create(&h->g, &p, &err));
        error_free_or_abort(&err);
    }
    rmm_realm_destroy(ref);
    rmm_platform_free(plat);
    host_free(h);
}

/*
 * A migration's ioctls in order (lane 0, manual dirty log protection):
 * the handshake, IMMUTABLE and RIPAS, the first read of the log of both
 * memslots, a pass, the destination's import, the realm's writes logged,
 * a second pass, the pause and final pass, the RECs and END, the commit.
 */
#define SYNC "GET_DIRTY_LOG CLEAR_DIRTY_LOG GET_DIRTY_LOG CLEAR_DIRTY_LOG "
#define IMPORT4 "MIG_IMPORT_RECORD MIG_IMPORT_RECORD MIG_IMPORT_RECORD " \
                "MIG_IMPORT_RECORD "
#define GOLDEN_MIGRATION                                                    \
    "MIG_START ENABLE_CAP MIG_IMPORT_START MIG_IMPORT_HELLO MIG_ACCEPT "     \
    "MIG_EXPORT_IMMUTABLE MIG_EXPORT_RIPAS " SYNC                           \
    "MIG_EXPORT_RIPAS MIG_EXPORT_DATA MIG_EXPORT_EPOCH " IMPORT4 SYNC       \
    "MIG_EXPORT_RIPAS MIG_EXPORT_EPOCH MIG_EXPORT_DATA MIG_EXPORT_EPOCH "   \
    IMPORT4 "MIG_PAUSE MIG_EXPORT_RIPAS " SYNC "MIG_STATUS "                \
    "MIG_EXPORT_REC MIG_EXPORT_REC MIG_EXPORT_END MIG_IMPORT_RECORD "       \
    "MIG_IMPORT_RECORD MIG_IMPORT_RECORD MIG_IMPORT_COMMIT MIG_COMMIT_ACK"

/* A granule source_new() gave data and the realm does not write again. */
#define POISONED_IPA (RAM_BASE + 0x100000 + 20 * 3 * RMM_GRANULE_SIZE)

static void migrate_ok(unsigned lanes, bool manual)
{
    Host *src = source_new(), *dst;
    g_autofree char *slog = NULL;
    RmmMigStats st;
    Mig m;

    src->manual_dirty_protect = manual;
    fake_kvm_set_manual_protect(src->fk, manual);
    dst = host_new(1, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                   &error_abort);
    g_assert_cmpint(rmm_granule_poison(fake_kvm_realm(src->fk), POISONED_IPA),
                    ==, RMI_SUCCESS);
    mig_init(&m, src, dst, lanes);
    g_free(fake_kvm_take_log());
    if (!mig_to_end(&m) || !mig_commit(&m)) {
        g_test_message("%s", m.err);
        g_assert_not_reached();
    }
    slog = fake_kvm_take_log();
    /* The order of the calls, both sides, as rme-stream.c makes them. */
    if (!lanes && manual) {
        g_assert_cmpstr(slog, ==, GOLDEN_MIGRATION);
    }
    g_assert_true(g_str_has_prefix(slog, "MIG_START ENABLE_CAP "
                                   "MIG_IMPORT_START MIG_IMPORT_HELLO "
                                   "MIG_ACCEPT MIG_EXPORT_IMMUTABLE "
                                   "MIG_EXPORT_RIPAS"));
    g_assert_true(g_str_has_suffix(slog, "MIG_EXPORT_REC MIG_EXPORT_REC "
                                   "MIG_EXPORT_END MIG_IMPORT_RECORD "
                                   "MIG_IMPORT_RECORD MIG_IMPORT_RECORD "
                                   "MIG_IMPORT_COMMIT MIG_COMMIT_ACK"));
    g_assert_nonnull(strstr(slog, manual ? "GET_DIRTY_LOG CLEAR_DIRTY_LOG"
                                         : "GET_DIRTY_LOG GET_DIRTY_LOG"));
    g_assert_cmpint(mig_ops()->status(&src->g, NULL), ==, RMM_MIG_OUT_MIGRATED);
    g_assert_cmpint(mig_ops()->status(&dst->g, NULL), ==, RMM_MIG_NONE);
    realms_equal(src, dst);
    /* The poisoned granule, counted on both sides (MIG_STATUS). */
    g_assert_true(rmm_granule_poisoned(fake_kvm_realm(dst->fk), POISONED_IPA));
    mig_ops()->status(&src->g, &st);
    g_assert_cmpuint(st.poisoned_granules, ==, 1);
    mig_ops()->status(&dst->g, &st);
    g_assert_cmpuint(st.poisoned_granules, ==, 1);
    mig_cleanup(&m);
    host_free(src);
    host_free(dst);
}

static void test_migrate(void)
{
    migrate_ok(0, true);
}

static void test_migrate_lanes(void)
{
    migrate_ok(3, true);
}

static void test_migrate_no_manual_protect(void)
{
    migrate_ok(0, false);
}

/* Snapshot of what the realm sees, to check a source is intact. */
static GByteArray *realm_snapshot(Host *h)
{
    GByteArray *s = g_byte_array_new();
    static const uint8_t none[RMM_GRANULE_SIZE];
    uint64_t ipa;

    for (ipa = RAM_BASE; ipa < RAM_BASE + RAM_SIZE; ipa += RMM_GRANULE_SIZE) {
        const uint8_t *v = fake_kvm_guest_view(h->fk, ipa);

        g_byte_array_append(s, v ? v : none, RMM_GRANULE_SIZE);
    }
    return s;
}

/* A whole migration of @src into @dst that must succeed, then compared. */
static void migrate_fully(Host *src, Host *dst)
{
    Mig m;

    mig_init(&m, src, dst, 0);
    if (!mig_to_end(&m) || !mig_commit(&m)) {
        g_test_message("%s", m.err);
        g_assert_not_reached();
    }
    realms_equal(src, dst);
    mig_cleanup(&m);
}

/* Once the first migration failed and was recovered, a second succeeds. */
static void migrate_again(Host *src, GByteArray *before)
{
    g_autoptr(GByteArray) after = realm_snapshot(src);
    Host *dst = host_new(1, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                         &error_abort);

    /* The writes of the failed attempt's pre-copy are the realm's own. */
    g_assert_cmpuint(after->len, ==, before->len);
    migrate_fully(src, dst);
    host_free(dst);
}

static void test_abort(void)
{
    Host *src = source_new();
    Host *dst = host_new(1, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                         &error_abort);
    g_autoptr(GByteArray) before = NULL;
    Mig m;

    mig_init(&m, src, dst, 0);
    g_assert_true(mig_to_end(&m));
    g_assert_cmpint(mig_ops()->status(&src->g, NULL), ==, RMM_MIG_OUT_ENDED);
    before = realm_snapshot(src);
    mig_recover(&m);
    /* The destination's realm is gone; the source's runs on, intact. */
    g_assert_null(fake_kvm_realm(dst->fk));
    g_assert_cmpint(mig_ops()->status(&dst->g, NULL), ==, RMM_MIG_NONE);
    {
        g_autoptr(GByteArray) now = realm_snapshot(src);

        g_assert_cmpmem(now->data, now->len, before->data, before->len);
    }
    mig_cleanup(&m);
    /* The same destination takes the next incoming migration. */
    migrate_fully(src, dst);
    host_free(dst);
    host_free(src);
}

static void tamper_first_data(GBytes **rec)
{
    size_t len;
    const uint8_t *p = g_bytes_get_data(*rec, &len);
    static bool done;
    uint8_t *copy;

    if (done || p[RMM_MIG_HDR_TYPE] != RMM_MIG_RT_DATA) {
        return;
    }
    done = true;
    copy = g_memdup2(p, len);
    copy[len - 1] ^= 1;
    g_bytes_unref(*rec);
    *rec = g_bytes_new_take(copy, len);
}

static void test_tampered(void)
{
    Host *src = source_new();
    Host *dst = host_new(1, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                         &error_abort);
    g_autoptr(GByteArray) before = realm_snapshot(src);
    Mig m;

    mig_init(&m, src, dst, 0);
    m.tamper = tamper_first_data;
    g_assert_false(mig_to_end(&m));
    g_assert_nonnull(strstr(m.err,
                            "the RMM refused MIG_IMPORT_RECORD"));
    mig_recover(&m);
    mig_cleanup(&m);
    host_free(dst);
    migrate_again(src, before);
    host_free(src);
}

/*
 * Every ioctl a migration makes, failing once with each errno the
 * proposed uapi documents: EINTR is retried and the migration completes;
 * any other fails it with an error naming the command, and the source
 * realm runs on intact and migrates afterwards.
 */
static const struct {
    unsigned long request;
    const char *name;           /* what the error names */
    bool survives;              /* the migration completes anyway */
} mig_ioctls[] = {
    { KVM_ARM_RMI_MIG_START, "MIG_START" },
    { KVM_ENABLE_CAP, "KVM_ENABLE_CAP" },
    { KVM_ARM_RMI_MIG_IMPORT_START, "MIG_IMPORT_START" },
    { KVM_ARM_RMI_MIG_IMPORT_HELLO, "MIG_IMPORT_HELLO" },
    { KVM_ARM_RMI_MIG_ACCEPT, "MIG_ACCEPT" },
    { KVM_ARM_RMI_MIG_EXPORT_IMMUTABLE, "MIG_EXPORT_IMMUTABLE" },
    { KVM_ARM_RMI_MIG_EXPORT_RIPAS, "MIG_EXPORT_RIPAS" },
    { KVM_GET_DIRTY_LOG, "KVM_GET_DIRTY_LOG" },
    { KVM_CLEAR_DIRTY_LOG, "KVM_CLEAR_DIRTY_LOG" },
    { KVM_ARM_RMI_MIG_EXPORT_DATA, "MIG_EXPORT_DATA" },
    { KVM_ARM_RMI_MIG_IMPORT_RECORD, "MIG_IMPORT_RECORD" },
    { KVM_ARM_RMI_MIG_EXPORT_EPOCH, "MIG_EPOCH" },
    { KVM_ARM_RMI_MIG_PAUSE, "MIG_PAUSE" },
    /* Figures it cannot read: everything pending, one more pass. */
    { KVM_ARM_RMI_MIG_STATUS, "MIG_STATUS", true },
    { KVM_ARM_RMI_MIG_EXPORT_REC, "MIG_EXPORT_REC" },
    { KVM_ARM_RMI_MIG_EXPORT_END, "MIG_END" },
    { KVM_ARM_RMI_MIG_IMPORT_COMMIT, "MIG_IMPORT_COMMIT" },
    { KVM_ARM_RMI_MIG_COMMIT_ACK, "MIG_COMMIT_ACK" },
};

static const int mig_errnos[] = {
    EINVAL, EFAULT, ENOSPC, EPERM, ENOMEM, EINTR,
};

static void errno_case(unsigned i, int e)
{
    Host *src = source_new();
    Host *dst = host_new(1, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                         &error_abort);
    g_autoptr(GByteArray) before = realm_snapshot(src);
    bool ok;
    Mig m;

    mig_init(&m, src, dst, 0);
    fake_kvm_fail_next(mig_ioctls[i].request, e);
    ok = mig_to_end(&m) && mig_commit(&m);
    g_assert_true(fake_kvm_failed());
    if (e == EINTR || mig_ioctls[i].survives) {
        if (!ok) {
            g_test_message("%s", m.err);
        }
        g_assert_true(ok);
        realms_equal(src, dst);
    } else if (mig_ioctls[i].request == KVM_ARM_RMI_MIG_COMMIT_ACK) {
        /*
         * The destination runs the realm; the source is ENDED and takes
         * the token when asked again (migrate-guest-token).
         */
        g_assert_false(ok);
        g_assert_nonnull(strstr(m.err, "MIG_COMMIT_ACK"));
        g_assert_cmpint(mig_ops()->status(&src->g, NULL), ==,
                        RMM_MIG_OUT_ENDED);
        g_assert_cmpint(mig_ops()->status(&dst->g, NULL), ==, RMM_MIG_NONE);
        g_assert_true(mig_ops()->commit_ack(&src->g, m.token, NULL));
        g_assert_cmpint(mig_ops()->status(&src->g, NULL), ==,
                        RMM_MIG_OUT_MIGRATED);
    } else {
        const char *msg = m.err ? m.err : "(no error)";
        bool mig = _IOC_NR(mig_ioctls[i].request) >= 0xe0;

        g_assert_false(ok);
        if (!strstr(msg, mig_ioctls[i].name) ||
            !strstr(msg, mig && e == EPERM ? "refused" : strerror(e))) {
            g_test_message("%s errno %d: %s", mig_ioctls[i].name, e, msg);
            g_assert_not_reached();
        }
        mig_recover(&m);
        mig_cleanup(&m);
        host_free(dst);
        migrate_again(src, before);
        host_free(src);
        return;
    }
    mig_cleanup(&m);
    host_free(dst);
    host_free(src);
}

static void test_errnos(void)
{
    unsigned i, j;

    for (i = 0; i < G_N_ELEMENTS(mig_ioctls); i++) {
        for (j = 0; j < G_N_ELEMENTS(mig_errnos); j++) {
            errno_case(i, mig_errnos[j]);
        }
    }
}

/* Building fails cleanly with every errno of the realm's ioctls. */
static void test_build_errnos(void)
{
    static const unsigned long reqs[] = {
        KVM_CHECK_EXTENSION, KVM_ENABLE_CAP, KVM_ARM_RMI_POPULATE,
    };
    unsigned i, j;

    for (i = 0; i < G_N_ELEMENTS(reqs); i++) {
        for (j = 0; j < G_N_ELEMENTS(mig_errnos); j++) {
            int e = mig_errnos[j];
            Error *err = NULL;
            Host *h;
            bool ok;

            fake_kvm_fail_next(reqs[i], e);
            h = host_new(0, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION, &err);
            ok = !err && realm_build(h, &err);
            g_assert_true(fake_kvm_failed());
            g_assert_true(ok == (e == EINTR));
            if (!ok) {
                g_assert_nonnull(strstr(error_get_pretty(err),
                                        strerror(e)));
                error_free(err);
            }
            host_free(h);
        }
    }
}

/* The documented sizes of the proposed uapi's structures. */
static void test_abi(void)
{
    g_assert_cmpuint(sizeof(struct kvm_arm_rmi_mig), ==, 104);
    g_assert_cmpuint(sizeof(struct kvm_arm_rmi_mig_status), ==, 128);
    g_assert_cmpuint(sizeof(struct kvm_arm_rmi_realm_config), ==, 192);
    g_assert_cmpuint(sizeof(struct kvm_arm_rmi_populate), ==, 32);
    g_assert_cmphex(KVM_ARM_RMI_MIG_START, ==, 0xc068aee0);
    g_assert_cmphex(KVM_ARM_RMI_MIG_STATUS, ==, 0x8080aef0);
    /* The KVM CCA host series v15's (v12: 0x4020aed7, 247, 0x100). */
    g_assert_cmphex(KVM_ARM_RMI_POPULATE, ==, 0xc020aed7);
    g_assert_cmpuint(KVM_CAP_ARM_RMI, ==, 251);
    g_assert_cmphex(KVM_VM_TYPE_ARM_REALM, ==, 0x40000000);
}

/*
 * num-breakpoints=3,num-watchpoints=2 under KVM (v15): each vCPU's
 * ID_AA64DFR0_EL1 gets BRPs 2 and WRPs 1 before the realm exists, and
 * the realm is created with them (measured); unset, the RMM's stay and
 * nothing is written.
 */
static void test_debug_counts(void)
{
    Host *h = host_new(0, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                       &error_abort);
    g_autofree char *log = NULL;
    const RmiRealmParams *p;

    h->g.bps = 3;
    h->g.wps = 2;
    g_free(fake_kvm_take_log());
    g_assert_true(realm_build(h, &error_abort));
    log = fake_kvm_take_log();
    g_assert_cmpstr(log, ==, "ENABLE_CAP GET_ONE_REG SET_ONE_REG GET_ONE_REG "
                    "SET_ONE_REG POPULATE POPULATE");
    p = rmm_realm_params(fake_kvm_realm(h->fk));
    g_assert_cmpuint(p->num_bps, ==, 2);
    g_assert_cmpuint(p->num_wps, ==, 1);
    host_free(h);

    /* More than the RMM has: the kernel refuses, the build fails. */
    h = host_new(0, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION, &error_abort);
    h->g.bps = 17;
    {
        Error *err = NULL;

        g_assert_false(realm_build(h, &err));
        g_assert_nonnull(strstr(error_get_pretty(err),
                                "KVM_SET_ONE_REG(ID_AA64DFR0_EL1) failed"));
        error_free(err);
    }
    host_free(h);
}

/*
 * KVM_ARM_RMI_POPULATE advances its argument (v15): a kernel that
 * returns 0 having moved nothing is refused, not called for ever.
 */
static void test_populate_stall(void)
{
    Host *h = host_new(0, FAKE_KVM_CAP_RMI | FAKE_KVM_CAP_MIGRATION,
                       &error_abort);
    Error *err = NULL;

    fake_kvm_set_populate_stall(h->fk, true);
    g_assert_false(realm_build(h, &err));
    g_assert_nonnull(strstr(error_get_pretty(err), "no progress"));
    error_free(err);
    host_free(h);
}

int main(int argc, char **argv)
{
    const Cred *anchors[1];

    g_test_init(&argc, &argv, NULL);
    pki.ca = new_cred(new_key(GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(
                                  GNUTLS_ECC_CURVE_SECP384R1)),
                      "QEMU CCA test CA", NULL);
    pki.leaf[0] = pki_issue(&pki.ca, "source host");
    pki.leaf[1] = pki_issue(&pki.ca, "destination host");
    anchors[0] = &pki.ca;
    pki.policy = pki_policy(anchors, 1);
    pki_policy_hash(pki.policy, pki.policy_hash);

    g_test_add_func("/kvm-rme/abi", test_abi);
    g_test_add_func("/kvm-rme/no-rmi", test_no_rmi);
    g_test_add_func("/kvm-rme/policy-needs-migration-cap",
                    test_policy_needs_migration_cap);
    g_test_add_func("/kvm-rme/build", test_build);
    g_test_add_func("/kvm-rme/populate-stall", test_populate_stall);
    g_test_add_func("/kvm-rme/debug-counts", test_debug_counts);
    g_test_add_func("/kvm-rme/build-errnos", test_build_errnos);
    g_test_add_func("/kvm-rme/migrate", test_migrate);
    g_test_add_func("/kvm-rme/migrate-lanes", test_migrate_lanes);
    g_test_add_func("/kvm-rme/migrate-no-manual-protect",
                    test_migrate_no_manual_protect);
    g_test_add_func("/kvm-rme/abort", test_abort);
    g_test_add_func("/kvm-rme/tampered", test_tampered);
    g_test_add_func("/kvm-rme/errnos", test_errnos);
    return g_test_run();
}
