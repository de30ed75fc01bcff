/*
 * A model of the kernel side of the KVM CCA uapi, on the emulated RMM
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/host-utils.h"
#include <linux/kvm.h>
#include "target/arm/kvm-rme.h"      /* rme_kvm_ioctl(), defined here */
#include "kvm-rme-fake.h"
#include "rmm-host.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"

/*
 * The ABI as docs/system/arm/cca-migration.rst documents it: numbers,
 * sizes and offsets written out, not taken from the headers.
 */
#define ABI_KVMIO           0xAE
#define ABI_CAP_RMI         251     /* KVM CCA host series v15 */
#define ABI_CAP_MIG         0x10000
#define ABI_POPULATE        _IOC(_IOC_READ | _IOC_WRITE, ABI_KVMIO, 0xd7, 32)
#define ABI_POPULATE_MEASURE 1u
#define ABI_CONFIG_SIZE     192
#define ABI_CONFIG_MIGRATABLE 1u
#define ABI_CONFIG_MIG_ZERO 2u
#define ABI_MIG_SIZE        104
#define ABI_MIG(nr)         _IOC(_IOC_READ | _IOC_WRITE, ABI_KVMIO, (nr), \
                                 ABI_MIG_SIZE)
#define ABI_STATUS          _IOC(_IOC_READ, ABI_KVMIO, 0xf0, 128)
#define ABI_PROTECTED_AS    1
/* KVM_{GET,SET}_ONE_REG id of ID_AA64DFR0_EL1 (sysreg 3, 0, 0, 5, 0) */
#define ABI_REG_DFR0        0x603000000013c028ULL
#define ABI_MIG_MORE        1u

/* struct kvm_arm_rmi_mig */
#define M_FLAGS     0
#define M_LANE      4
#define M_IN        8
#define M_IN_LEN    16
#define M_OUT       24
#define M_OUT_SIZE  32
#define M_OUT_LEN   40
#define M_GPAS      48
#define M_NR_GPAS   56
#define M_NR_RECS   60
#define M_STATUS    64
#define M_KIND      72
#define M_EPOCH     76
#define M_RESERVED  80

enum {
    MIG_START = 0xe0, MIG_ACCEPT, MIG_EXPORT_IMMUTABLE, MIG_EXPORT_RIPAS,
    MIG_EXPORT_DATA, MIG_EXPORT_EPOCH, MIG_PAUSE, MIG_EXPORT_REC,
    MIG_EXPORT_END, MIG_COMMIT_ACK, MIG_ABORT, MIG_IMPORT_START,
    MIG_IMPORT_HELLO, MIG_IMPORT_RECORD, MIG_IMPORT_COMMIT,
    MIG_IMPORT_ABORT,
};

static const char *const mig_names[] = {
    "MIG_START", "MIG_ACCEPT", "MIG_EXPORT_IMMUTABLE", "MIG_EXPORT_RIPAS",
    "MIG_EXPORT_DATA", "MIG_EXPORT_EPOCH", "MIG_PAUSE", "MIG_EXPORT_REC",
    "MIG_EXPORT_END", "MIG_COMMIT_ACK", "MIG_ABORT", "MIG_IMPORT_START",
    "MIG_IMPORT_HELLO", "MIG_IMPORT_RECORD", "MIG_IMPORT_COMMIT",
    "MIG_IMPORT_ABORT",
};

#define FAKE_MAX        8
#define FAKE_FD_BASE    1000
#define FAKE_FD_STRIDE  100
#define FAKE_MAX_SLOTS  4
/* Populate stops after this many granules a call, as a kernel may. */
#define FAKE_POPULATE_MAX 16

typedef struct FakeSlot {
    uint32_t id;
    uint64_t gpa;
    uint64_t size;
    uint64_t *dirty;            /* protected: logged, not cleared yet */
} FakeSlot;

struct FakeKvm {
    unsigned index;
    RmmPlatform *plat;
    uint64_t ram_base;
    uint64_t ram_size;
    uint8_t *store;             /* protected memory: the RMM's */
    uint8_t *shared;            /* the VMM's mapping */
    RmiRealmParams params;
    bool configured;
    bool manual_protect;        /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on */
    bool populate_stall;        /* POPULATE makes no progress */
    uint64_t dfr0;              /* the VM's ID_AA64DFR0_EL1 */
    bool rmi;
    bool migration;
    bool active;
    RmmRealm *realm;
    unsigned nr_vcpus;
    FakeSlot slots[FAKE_MAX_SLOTS];
    unsigned nr_slots;
};

static FakeKvm *fakes[FAKE_MAX];
static GString *fake_log;
static struct {
    bool armed;
    bool hit;
    unsigned long request;
    int err;
} inject;

static uint32_t ld32(const uint8_t *p, unsigned off)
{
    uint32_t v;

    memcpy(&v, p + off, sizeof(v));
    return v;
}

static uint64_t ld64(const uint8_t *p, unsigned off)
{
    uint64_t v;

    memcpy(&v, p + off, sizeof(v));
    return v;
}

static void st32(uint8_t *p, unsigned off, uint32_t v)
{
    memcpy(p + off, &v, sizeof(v));
}

static void st64(uint8_t *p, unsigned off, uint64_t v)
{
    memcpy(p + off, &v, sizeof(v));
}

static bool all_zero(const uint8_t *p, size_t len)
{
    while (len--) {
        if (*p++) {
            return false;
        }
    }
    return true;
}

FakeKvm *fake_kvm_new(RmmPlatform *plat, uint64_t ram_base,
                      uint64_t ram_size, unsigned nr_slots,
                      unsigned nr_vcpus, unsigned caps)
{
    RmmPlatformFeatures f;
    FakeKvm *k = g_new0(FakeKvm, 1);
    uint64_t top = ram_base + ram_size;
    unsigned i;

    g_assert(nr_slots >= 1 && nr_slots <= FAKE_MAX_SLOTS);
    g_assert(nr_vcpus >= 1 && nr_vcpus <= FAKE_KVM_MAX_VCPUS);
    g_assert(ram_size % (nr_slots * 64 * RMM_GRANULE_SIZE) == 0);
    for (k->index = 0; fakes[k->index]; k->index++) {
        g_assert(k->index + 1 < FAKE_MAX);
    }
    fakes[k->index] = k;
    k->plat = plat;
    k->ram_base = ram_base;
    k->ram_size = ram_size;
    k->store = g_malloc0(ram_size);
    k->shared = g_malloc0(ram_size);
    k->nr_vcpus = nr_vcpus;
    k->manual_protect = true;
    k->rmi = caps & FAKE_KVM_CAP_RMI;
    /* Its reset value: DebugVer 8.0, the RMM's NUM_BPS and NUM_WPS. */
    rmm_platform_get_features(plat, &f);
    k->dfr0 = 6 | (uint64_t)f.num_bps << 12 | (uint64_t)f.num_wps << 20 |
              1ULL << 28;
    k->migration = caps & FAKE_KVM_CAP_MIGRATION;
    /* KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM | IPA size): both halves. */
    k->params.ipa_width = MAX(64 - clz64(top - 1) + 1, RMI_IPA_WIDTH_MIN + 1);
    k->params.hash_algo = RMI_HASH_SHA256;
    k->params.vmid = 1;
    k->nr_slots = nr_slots;
    for (i = 0; i < nr_slots; i++) {
        FakeSlot *s = &k->slots[i];

        s->id = 10 + i;
        s->size = ram_size / nr_slots;
        s->gpa = ram_base + i * s->size;
        s->dirty = g_new0(uint64_t, (s->size >> RMM_GRANULE_SHIFT) / 64);
    }
    return k;
}

void fake_kvm_free(FakeKvm *k)
{
    unsigned i;

    if (k->realm) {
        rmm_realm_destroy(k->realm);
    }
    for (i = 0; i < k->nr_slots; i++) {
        g_free(k->slots[i].dirty);
    }
    fakes[k->index] = NULL;
    g_free(k->store);
    g_free(k->shared);
    g_free(k);
}

int fake_kvm_vm_fd(FakeKvm *k)
{
    return FAKE_FD_BASE + k->index * FAKE_FD_STRIDE;
}

int fake_kvm_vcpu_fd(FakeKvm *k, unsigned index)
{
    return fake_kvm_vm_fd(k) + 1 + index;
}

uint8_t *fake_kvm_shared(FakeKvm *k)
{
    return k->shared;
}

unsigned fake_kvm_nr_slots(FakeKvm *k)
{
    return k->nr_slots;
}

void fake_kvm_slot(FakeKvm *k, unsigned i, uint32_t *id, uint64_t *gpa,
                   uint64_t *size)
{
    *id = k->slots[i].id;
    *gpa = k->slots[i].gpa;
    *size = k->slots[i].size;
}

void fake_kvm_set_manual_protect(FakeKvm *k, bool on)
{
    k->manual_protect = on;
}

void fake_kvm_set_populate_stall(FakeKvm *k, bool on)
{
    k->populate_stall = on;
}

RmmRealm *fake_kvm_realm(FakeKvm *k)
{
    return k->realm;
}

/* What the series' kernel does first of all for a realm VM. */
static int fake_realm_create(FakeKvm *k, unsigned rtt_level)
{
    uint64_t top = k->ram_base + k->ram_size;

    /* The debug counts are the VM's ID_AA64DFR0_EL1 BRPs and WRPs. */
    k->params.num_bps = (k->dfr0 >> 12) & 0xf;
    k->params.num_wps = (k->dfr0 >> 20) & 0xf;
    if (rmm_realm_create(k->plat, &k->params, &k->realm) != RMI_SUCCESS) {
        return -EPERM;
    }
    if (rmm_realm_add_ram(k->realm, k->ram_base, k->ram_size,
                          k->store) != RMI_SUCCESS ||
        rmm_granule_delegate_range(k->realm, k->ram_base, top) !=
        RMI_SUCCESS ||
        rmm_rtt_create_range(k->realm, k->ram_base, top, rtt_level) !=
        RMI_SUCCESS) {
        rmm_realm_destroy(k->realm);
        k->realm = NULL;
        return -ENOMEM;
    }
    return 0;
}

bool fake_kvm_first_run(FakeKvm *k, char **err)
{
    uint64_t top = k->ram_base + k->ram_size;
    unsigned i;

    if (!k->realm || k->active) {
        *err = g_strdup("no realm to activate");
        return false;
    }
    for (i = 0; i < k->nr_vcpus; i++) {
        RmmRecParams p = {
            .flags = i == 0 ? RMI_REC_FLAG_RUNNABLE : 0,
            .mpidr = i,
            .pc = i == 0 ? k->ram_base : 0,
        };
        RmmRec *rec;

        if (rmm_rec_create(k->realm, &p, &rec) != RMI_SUCCESS) {
            *err = g_strdup_printf("REC_CREATE %u", i);
            return false;
        }
    }
    if (rmm_realm_activate(k->realm) != RMI_SUCCESS ||
        rmm_rtt_create_range(k->realm, k->ram_base, top, 3) != RMI_SUCCESS) {
        *err = g_strdup("REALM_ACTIVATE");
        return false;
    }
    k->active = true;
    return true;
}

void fake_kvm_guest_write(FakeKvm *k, uint64_t ipa, const void *buf,
                          size_t len)
{
    uint64_t g;

    for (g = ipa & ~(RMM_GRANULE_SIZE - 1); g < ipa + len;
         g += RMM_GRANULE_SIZE) {
        if (rmm_realm_s2_lookup(k->realm, g) == RMM_S2_UNASSIGNED) {
            g_assert_cmpint(rmm_data_create_unknown(k->realm, g), ==,
                            RMI_SUCCESS);
        }
        g_assert_cmpint(rmm_realm_s2_lookup(k->realm, g), ==, RMM_S2_OK);
    }
    memcpy(k->store + (ipa - k->ram_base), buf, len);
    rmm_mig_log_write(k->realm, ipa, len);
}

const uint8_t *fake_kvm_guest_view(FakeKvm *k, uint64_t ipa)
{
    if (!k->realm || rmm_realm_s2_lookup(k->realm, ipa) != RMM_S2_OK) {
        return NULL;
    }
    return k->store + (ipa - k->ram_base);
}

void fake_kvm_fail_next(unsigned long request, int err)
{
    inject.armed = true;
    inject.hit = false;
    inject.request = request;
    inject.err = err;
}

bool fake_kvm_failed(void)
{
    return inject.hit;
}

char *fake_kvm_take_log(void)
{
    char *s;

    if (!fake_log) {
        return g_strdup("");
    }
    s = g_string_free(fake_log, false);
    fake_log = NULL;
    return s;
}

static const char *fake_name(unsigned long request)
{
    unsigned nr = _IOC_NR(request);

    if (request == ABI_MIG(nr) && nr >= MIG_START && nr <= MIG_IMPORT_ABORT) {
        return mig_names[nr - MIG_START];
    }
    switch (request) {
    case KVM_CHECK_EXTENSION:
        return "CHECK_EXTENSION";
    case KVM_ENABLE_CAP:
        return "ENABLE_CAP";
    case ABI_POPULATE:
        return "POPULATE";
    case KVM_GET_ONE_REG:
        return "GET_ONE_REG";
    case KVM_SET_ONE_REG:
        return "SET_ONE_REG";
    case KVM_GET_DIRTY_LOG:
        return "GET_DIRTY_LOG";
    case KVM_CLEAR_DIRTY_LOG:
        return "CLEAR_DIRTY_LOG";
    case ABI_STATUS:
        return "MIG_STATUS";
    }
    return "unknown";
}

/* KVM_ENABLE_CAP(KVM_CAP_ARM_RMI_MIGRATION): the realm's parameters. */
static int fake_config(FakeKvm *k, const struct kvm_enable_cap *cap)
{
    const uint8_t *c = (const uint8_t *)(uintptr_t)cap->args[0];
    uint32_t algo;
    uint64_t flags;

    if (cap->cap != ABI_CAP_MIG || !k->migration || cap->flags ||
        cap->args[1] || cap->args[2] || cap->args[3]) {
        return -EINVAL;
    }
    if (!c) {
        return -EFAULT;
    }
    algo = ld32(c, 128);
    flags = ld64(c, 136);
    if (k->realm || algo > RMI_HASH_SHA512 || ld32(c, 132) ||
        !all_zero(c + 144, ABI_CONFIG_SIZE - 144) ||
        flags & ~(uint64_t)(ABI_CONFIG_MIGRATABLE | ABI_CONFIG_MIG_ZERO) ||
        (!(flags & ABI_CONFIG_MIGRATABLE) && flags)) {
        return -EINVAL;
    }
    memset(k->params.mig_policy, 0, sizeof(k->params.mig_policy));
    if (flags & ABI_CONFIG_MIGRATABLE) {
        memcpy(k->params.mig_policy, c, 64);
    }
    memcpy(k->params.rpv, c + 64, 64);
    k->params.hash_algo = algo;
    k->params.flags = flags & ABI_CONFIG_MIG_ZERO ?
                      RMI_REALM_FLAGS_MIG_ZERO : 0;
    k->configured = true;
    return 0;
}

/*
 * KVM_ARM_RMI_POPULATE (v15): RMI_DATA_CREATE of some granules of the
 * range, measured; advances base (0) and source_uaddr (16) and reduces
 * size (8) by them and returns 0; an error after some progress is
 * reported at the next call, as kvm_gmem_populate() does.  The first one
 * creates the realm, with RIPAS RAM over all of RAM (RMI_RTT_INIT_RIPAS).
 */
static int fake_populate(FakeKvm *k, uint8_t *a)
{
    uint64_t base = ld64(a, 0), size = ld64(a, 8), src = ld64(a, 16);
    uint32_t flags = ld32(a, 24);
    uint64_t off, out;
    int ret;

    if ((flags & ~ABI_POPULATE_MEASURE) || ld32(a, 28) || !size ||
        (base | size) & (RMM_GRANULE_SIZE - 1) || base < k->ram_base ||
        base + size > k->ram_base + k->ram_size || k->active) {
        return -EINVAL;
    }
    if (!src) {
        return -EFAULT;
    }
    if (!k->realm) {
        ret = fake_realm_create(k, 3);
        if (ret < 0) {
            return ret;
        }
        if (rmm_rtt_init_ripas(k->realm, k->ram_base,
                               k->ram_base + k->ram_size, &out) !=
            RMI_SUCCESS) {
            return -EPERM;
        }
    }
    if (k->populate_stall) {
        return 0;
    }
    for (off = 0; off < size && off < FAKE_POPULATE_MAX * RMM_GRANULE_SIZE;
         off += RMM_GRANULE_SIZE) {
        if (rmm_data_create(k->realm, base + off,
                            (const void *)(uintptr_t)(src + off),
                            flags & ABI_POPULATE_MEASURE) != RMI_SUCCESS) {
            if (!off) {
                return -EPERM;
            }
            break;
        }
    }
    st64(a, 0, base + off);
    st64(a, 8, size - off);
    st64(a, 16, src + off);
    return 0;
}

static FakeSlot *fake_slot(FakeKvm *k, uint32_t slot)
{
    unsigned i;

    for (i = 0; i < k->nr_slots; i++) {
        if (k->slots[i].id == (slot & 0xffff)) {
            return &k->slots[i];
        }
    }
    return NULL;
}

/* The protected half: the RMM's log (RMI_MIG_DIRTY_LOG) accumulated. */
static int fake_get_dirty_log(FakeKvm *k, struct kvm_dirty_log *log)
{
    FakeSlot *s = fake_slot(k, log->slot);
    uint64_t pages, words;

    if (!s || (log->slot >> 16) > ABI_PROTECTED_AS) {
        return -EINVAL;
    }
    if (!log->dirty_bitmap) {
        return -EFAULT;
    }
    pages = s->size >> RMM_GRANULE_SHIFT;
    words = pages / 64;
    if ((log->slot >> 16) != ABI_PROTECTED_AS) {
        /* Shared pages: not what this model tracks. */
        memset(log->dirty_bitmap, 0, words * 8);
        return 0;
    }
    if (!k->realm || !k->migration) {
        return -EINVAL;
    }
    {
        g_autofree uint64_t *bm = g_new0(uint64_t, words);
        uint64_t i;

        rmm_mig_dirty_log(k->realm, s->gpa, pages, bm);
        for (i = 0; i < words; i++) {
            s->dirty[i] |= bm[i];
        }
    }
    memcpy(log->dirty_bitmap, s->dirty, words * 8);
    if (!k->manual_protect) {
        memset(s->dirty, 0, words * 8);
    }
    return 0;
}

static int fake_clear_dirty_log(FakeKvm *k, struct kvm_clear_dirty_log *c)
{
    FakeSlot *s = fake_slot(k, c->slot);
    const uint64_t *bm = c->dirty_bitmap;
    uint64_t pages, i;

    if (!s || (c->slot >> 16) > ABI_PROTECTED_AS) {
        return -EINVAL;
    }
    pages = s->size >> RMM_GRANULE_SHIFT;
    if (c->first_page % 64 || c->first_page >= pages ||
        c->num_pages > pages - c->first_page ||
        (c->num_pages % 64 && c->first_page + c->num_pages != pages)) {
        return -EINVAL;
    }
    if (!bm) {
        return -EFAULT;
    }
    if (!k->manual_protect) {
        return -EINVAL;
    }
    if ((c->slot >> 16) != ABI_PROTECTED_AS) {
        return 0;
    }
    for (i = 0; i < DIV_ROUND_UP(c->num_pages, 64); i++) {
        s->dirty[c->first_page / 64 + i] &= ~bm[i];
    }
    return 0;
}

static int fake_mig_status(FakeKvm *k, uint8_t *a)
{
    RmmHost h = { .r = k->realm };
    RmmMigPhase phase;
    RmmMigStats st;
    uint64_t v[12];
    unsigned i;

    if (!k->realm) {
        return -EINVAL;
    }
    phase = rmm_host_mig_ops.status(&h, &st);
    v[0] = st.epoch;
    v[1] = st.data_granules;
    v[2] = st.zero_granules;
    v[3] = st.data_bytes;
    v[4] = st.ripas_records;
    v[5] = st.ripas_granules;
    v[6] = st.rec_records;
    v[7] = st.total_bytes;
    v[8] = st.dirty_granules;
    v[9] = st.pending_granules;
    v[10] = st.ripas_pending_granules;
    v[11] = st.poisoned_granules;
    memset(a, 0, 128);
    st32(a, 0, phase);
    for (i = 0; i < G_N_ELEMENTS(v); i++) {
        st64(a, 8 + i * 8, v[i]);
    }
    return 0;
}

/* The kernel's checks of a struct kvm_arm_rmi_mig for command @nr. */
static int fake_mig_check(FakeKvm *k, unsigned nr, bool vcpu,
                          const uint8_t *a)
{
    bool data = nr == MIG_EXPORT_DATA, import = nr == MIG_IMPORT_RECORD;
    uint64_t in_len = ld64(a, M_IN_LEN);

    if (ld32(a, M_FLAGS) || (!data && !import && ld32(a, M_LANE)) ||
        (!import && (ld32(a, M_KIND) || ld32(a, M_EPOCH))) ||
        ld32(a, M_LANE) > RMM_MIG_LANES_MAX ||
        (!data && (ld64(a, M_GPAS) || ld32(a, M_NR_GPAS))) ||
        (data && (ld32(a, M_NR_GPAS) < 1 ||
                  ld32(a, M_NR_GPAS) > RMM_MIG_BATCH_MAX)) ||
        (nr != MIG_IMPORT_START && ld32(a, M_NR_RECS)) ||
        !all_zero(a + M_RESERVED, ABI_MIG_SIZE - M_RESERVED) ||
        in_len > RMM_MIG_RECORD_MAX || vcpu != (nr == MIG_EXPORT_REC) ||
        !k->migration) {
        return -EINVAL;
    }
    if ((in_len && !ld64(a, M_IN)) || (data && !ld64(a, M_GPAS))) {
        return -EFAULT;
    }
    if (nr != MIG_IMPORT_START && !k->realm) {
        return -EINVAL;
    }
    return 0;
}

/* How much a command can write: what out_size must hold. */
static uint64_t fake_mig_out_max(unsigned nr)
{
    switch (nr) {
    case MIG_ACCEPT: case MIG_PAUSE: case MIG_COMMIT_ACK: case MIG_ABORT:
    case MIG_IMPORT_START: case MIG_IMPORT_RECORD:
        return 0;
    case MIG_IMPORT_COMMIT: case MIG_IMPORT_ABORT:
        return RMM_MIG_TOKEN_SIZE;
    default:
        return RMM_MIG_RECORD_MAX;
    }
}

/*
 * The RMM's side of migration command @nr, through the same table of
 * migration operations the backends implement (rmm_host_mig_ops, the
 * unit tests' host over the model): what the kernel would ask the RMM.
 * Its RMI status; its output in @out (*@len bytes).
 */
static RmiStatus fake_mig_rmi(FakeKvm *k, unsigned nr, unsigned vcpu,
                              uint8_t *a, uint8_t *out, size_t *len)
{
    const RmiMigOps *ops = &rmm_host_mig_ops;
    const uint8_t *in = (const uint8_t *)(uintptr_t)ld64(a, M_IN);
    size_t in_len = ld64(a, M_IN_LEN);
    RmmHost h = {
        .r = k->realm,
        .ram_base = &k->ram_base,
        .ram_size = &k->ram_size,
        .nr_ram = 1,
        .policy = in,
        .policy_len = in_len,
        .nr_recs = ld32(a, M_NR_RECS),
    };
    RmiMigRecord rec = { .buf = out }, inrec = {
        .kind = ld32(a, M_KIND),
        .lane = ld32(a, M_LANE),
        .epoch = ld32(a, M_EPOCH),
        .buf = (uint8_t *)in,
        .len = in_len,
    };
    bool more = false, ok;

    switch (nr) {
    case MIG_START:
        ok = ops->start(&h, &rec, NULL);
        break;
    case MIG_ACCEPT:
        ok = ops->accept(&h, &inrec, NULL);
        break;
    case MIG_EXPORT_IMMUTABLE:
        ok = ops->export_immutable(&h, &rec, NULL);
        break;
    case MIG_EXPORT_RIPAS:
        ok = ops->export_ripas(&h, &rec, &more, NULL);
        st32(a, M_FLAGS, more ? ABI_MIG_MORE : 0);
        break;
    case MIG_EXPORT_DATA:
        ok = ops->export_data(&h, ld32(a, M_LANE),
                              (const uint64_t *)(uintptr_t)ld64(a, M_GPAS),
                              ld32(a, M_NR_GPAS), &rec, NULL);
        break;
    case MIG_EXPORT_EPOCH:
        ok = ops->export_epoch(&h, &rec, NULL);
        break;
    case MIG_PAUSE:
        ok = ops->pause(&h, NULL);
        break;
    case MIG_EXPORT_REC:
        ok = ops->export_rec(&h, vcpu, &rec, NULL);
        break;
    case MIG_EXPORT_END:
        ok = ops->export_end(&h, &rec, NULL);
        break;
    case MIG_COMMIT_ACK:
        if (in_len != RMM_MIG_TOKEN_SIZE) {
            return RMI_ERROR_INPUT;
        }
        ok = ops->commit_ack(&h, in, NULL);
        break;
    case MIG_ABORT:
        if (in_len && in_len != RMM_MIG_TOKEN_SIZE) {
            return RMI_ERROR_INPUT;
        }
        ok = ops->abort(&h, in_len ? in : NULL, NULL);
        break;
    case MIG_IMPORT_START:
        ok = ops->import_start(&h, NULL);
        break;
    case MIG_IMPORT_HELLO:
        ok = ops->import_hello(&h, &inrec, &rec, NULL);
        break;
    case MIG_IMPORT_RECORD:
        if (ld32(a, M_KIND) > UINT8_MAX || ld32(a, M_LANE) > UINT8_MAX) {
            return RMI_ERROR_INPUT;
        }
        ok = ops->import(&h, &inrec, NULL);
        if (ok && h.imported.type == RMM_MIG_RT_REC &&
            (rmm_rec_index(h.imported.rec) >= k->nr_vcpus ||
             h.imported.rec_ctx_len)) {
            /* A REC with no vCPU, or with a host context KVM has not. */
            return RMI_ERROR_INPUT;
        }
        break;
    case MIG_IMPORT_COMMIT:
        ok = ops->import_commit(&h, out, NULL);
        rec.len = ok ? RMM_MIG_TOKEN_SIZE : 0;
        k->active = ok;
        break;
    default:
        g_assert_not_reached();
    }
    *len = rec.len;
    return ok ? RMI_SUCCESS : (RmiStatus)g_atomic_int_get(&h.status);
}

static int fake_mig(FakeKvm *k, unsigned nr, int vcpu, uint8_t *a)
{
    g_autofree uint8_t *out = g_malloc0(RMM_MIG_RECORD_MAX);
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    uint8_t *dst = (uint8_t *)(uintptr_t)ld64(a, M_OUT);
    uint64_t max = fake_mig_out_max(nr);
    size_t len = 0;
    RmiStatus s;
    int ret;

    ret = fake_mig_check(k, nr, vcpu >= 0, a);
    if (ret < 0) {
        return ret;
    }
    if (max && !dst) {
        return -EFAULT;
    }
    if (ld64(a, M_OUT_SIZE) < max) {
        return -ENOSPC;
    }
    if (nr == MIG_IMPORT_START) {
        if (k->realm || ld32(a, M_NR_RECS) != k->nr_vcpus) {
            return -EINVAL;
        }
        ret = fake_realm_create(k, 3);
        if (ret < 0) {
            return ret;
        }
    }
    if (nr == MIG_IMPORT_ABORT) {
        RmmHost h = { .r = k->realm };
        bool t = rmm_host_mig_ops.import_abort(&h, token);

        rmm_realm_destroy(k->realm);
        k->realm = NULL;
        if (t) {
            memcpy(dst, token, sizeof(token));
        }
        st64(a, M_OUT_LEN, t ? sizeof(token) : 0);
        return 0;
    }
    st64(a, M_STATUS, 0);
    s = fake_mig_rmi(k, nr, vcpu, a, out, &len);
    if (s != RMI_SUCCESS) {
        if (nr == MIG_IMPORT_START) {
            rmm_realm_destroy(k->realm);
            k->realm = NULL;
        }
        st64(a, M_STATUS, s);
        return -EPERM;
    }
    if (len) {
        memcpy(dst, out, len);
    }
    st64(a, M_OUT_LEN, len);
    /* A record out: its envelope, as the RMM would return it. */
    if (len >= RMM_MIG_HEADER_SIZE && fake_mig_out_max(nr) ==
        RMM_MIG_RECORD_MAX) {
        st32(a, M_KIND, out[RMM_MIG_HDR_TYPE]);
        st32(a, M_LANE, out[RMM_MIG_HDR_LANE]);
        st32(a, M_EPOCH, ld32(out, RMM_MIG_HDR_EPOCH));
    }
    return 0;
}

static bool fake_lookup(int fd, FakeKvm **k, int *vcpu)
{
    int rel = fd - FAKE_FD_BASE, i = rel / FAKE_FD_STRIDE;

    if (rel < 0 || i >= FAKE_MAX || !fakes[i]) {
        return false;
    }
    *k = fakes[i];
    *vcpu = rel % FAKE_FD_STRIDE - 1;
    return *vcpu < (int)fakes[i]->nr_vcpus;
}

/*
 * KVM_GET_ONE_REG / KVM_SET_ONE_REG (vCPU) of ID_AA64DFR0_EL1, the only
 * register this model has: BRPs [15:12], WRPs [23:20] and CTX_CMPs
 * [31:28] writable, none zero, none above the RMM's, CTX_CMPs within
 * BRPs, and no change once the realm exists (v15).
 */
static int fake_one_reg(FakeKvm *k, bool set, const uint8_t *a)
{
    uint64_t id = ld64(a, 0), addr = ld64(a, 8), v, mask;
    RmmPlatformFeatures f;

    if (id != ABI_REG_DFR0) {
        return -EINVAL;
    }
    if (!addr) {
        return -EFAULT;
    }
    if (!set) {
        memcpy((void *)(uintptr_t)addr, &k->dfr0, 8);
        return 0;
    }
    memcpy(&v, (void *)(uintptr_t)addr, 8);
    mask = 0xfULL << 12 | 0xfULL << 20 | 0xfULL << 28;
    rmm_platform_get_features(k->plat, &f);
    if ((v & ~mask) != (k->dfr0 & ~mask) || !((v >> 12) & 0xf) ||
        !((v >> 20) & 0xf) || ((v >> 28) & 0xf) > ((v >> 12) & 0xf) ||
        ((v >> 12) & 0xf) > f.num_bps || ((v >> 20) & 0xf) > f.num_wps) {
        return -EINVAL;
    }
    if (k->realm && v != k->dfr0) {
        return -EBUSY;
    }
    k->dfr0 = v;
    return 0;
}

static int fake_dispatch(FakeKvm *k, int vcpu, unsigned long request,
                         void *arg)
{
    unsigned nr = _IOC_NR(request);

    if (request == ABI_MIG(nr) && nr >= MIG_START && nr <= MIG_IMPORT_ABORT) {
        return fake_mig(k, nr, vcpu, arg);
    }
    if (vcpu >= 0) {
        return request == KVM_GET_ONE_REG || request == KVM_SET_ONE_REG ?
               fake_one_reg(k, request == KVM_SET_ONE_REG, arg) : -ENOTTY;
    }
    switch (request) {
    case KVM_CHECK_EXTENSION:
        return (uintptr_t)arg == ABI_CAP_RMI ? k->rmi :
               (uintptr_t)arg == ABI_CAP_MIG ? k->migration : 0;
    case KVM_ENABLE_CAP:
        return fake_config(k, arg);
    case ABI_POPULATE:
        return fake_populate(k, arg);
    case KVM_GET_DIRTY_LOG:
        return fake_get_dirty_log(k, arg);
    case KVM_CLEAR_DIRTY_LOG:
        return fake_clear_dirty_log(k, arg);
    case ABI_STATUS:
        return fake_mig_status(k, arg);
    }
    return -ENOTTY;
}

int rme_kvm_ioctl(int fd, unsigned long request, void *arg)
{
    FakeKvm *k;
    int vcpu, ret;

    if (!fake_log) {
        fake_log = g_string_new(NULL);
    }
    g_string_append_printf(fake_log, "%s%s", fake_log->len ? " " : "",
                           fake_name(request));
    if (inject.armed && (!inject.request || inject.request == request)) {
        inject.armed = false;
        inject.hit = true;
        if (inject.err == EPERM && request == ABI_MIG(_IOC_NR(request))) {
            st64(arg, M_STATUS, RMI_ERROR_INPUT);
        }
        errno = inject.err;
        return -1;
    }
    if (!fake_lookup(fd, &k, &vcpu)) {
        errno = EBADF;
        return -1;
    }
    ret = fake_dispatch(k, vcpu, request, arg);
    if (ret < 0) {
        errno = -ret;
        return -1;
    }
    return ret;
}
