/*
 * Arm CCA realm guests under TCG: the emulated RMM as a realm backend
 *
 * The RMM model (target/arm/rmm/) holds the realm; this file is the
 * "hardware" around it:
 *  - protected memory is a RAM block of its own, never migrated as RAM,
 *    that only the model and the realm's vCPUs reach;
 *  - a realm vCPU sees protected IPA space through an IOMMU region whose
 *    translation is the model's stage 2 walk (RIPAS EMPTY or unbacked IPA:
 *    synchronous external abort; RIPAS RAM not yet assigned: the host
 *    assigns a granule, as on a stage 2 fault exit), and unprotected IPA
 *    space [2^(w-1), 2^w) as an alias of the machine's memory;
 *  - every SMC of a realm vCPU goes to the model, and REC exits are
 *    handled here as KVM would handle them;
 *  - a vCPU runs only while the model lets its REC enter;
 *  - the machine's RAM holds the shared pages: a RamDiscardManager over it
 *    says which ones (RIPAS EMPTY), so that RAM migration moves those and
 *    skips the pages under protected granules, as with guest_memfd.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "exec/cputlb.h"
#include "exec/translation-block.h"
#include "system/physmem.h"
#include "system/ramblock.h"
#include "block/aio.h"
#include "qemu/main-loop.h"
#include "hw/core/cpu.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "system/memory.h"
#include "qemu/units.h"
#include "hw/core/sysemu-cpu-ops.h"
#include "io/channel-buffer.h"
#include "migration/vmstate.h"
#include "migration/qemu-file.h"
#include "cpu.h"
#include "internals.h"
#include "target/arm/rme.h"
#include "target/arm/rmm/rmm.h"
#include "target/arm/rmm/rmm-realm.h"
#include "target/arm/rmm/rmm-rec.h"
#include "target/arm/rmm/rmm-mig.h"
#include "target/arm/trace.h"
#include "rme-tcg.h"

#define TYPE_RME_TCG_IOMMU_MEMORY_REGION "rme-tcg-iommu-memory-region"

RmeTcg *rme_tcg(RmeGuest *g)
{
    return g->backend;
}

/* Every RMI command the backend issues goes through here: traced. */
static RmiCommandReturnCode rmi_traced(RmiCommandReturnCode s,
                                       const char *what)
{
    trace_rme_rmi(what, rmi_status_name(s), rmi_return_index(s));
    return s;
}

/* False with @errp set if RMI command @what failed. */
static bool rmi_ok(RmiCommandReturnCode s, Error **errp, const char *what)
{
    if (s != RMI_SUCCESS) {
        error_setg(errp, "emulated RMM: %s failed: %s (index %u)", what,
                   rmi_status_name(s), rmi_return_index(s));
        return false;
    }
    return true;
}

/* Trace and check RMI command @what. */
static bool rmi_check(RmiCommandReturnCode s, Error **errp,
                      const char *what)
{
    return rmi_ok(rmi_traced(s, what), errp, what);
}

RmmRealm *rme_tcg_realm(RmeGuest *g, Error **errp)
{
    RmmRealm *realm = rme_tcg(g)->realm;

    if (!realm) {
        error_setg(errp, "rme-guest: there is no realm (not built yet, "
                   "reset or torn down)");
    }
    return realm;
}

/* ---- Stage 2: protected IPA space as seen by realm vCPUs ---- */

/*
 * An access the RMM aborts (RIPAS EMPTY, no memory, a poisoned granule)
 * ends here: a bus error, which the vCPU takes as a synchronous external
 * abort.  (An IOMMU entry without permissions would not do: TCG needs a
 * target it can fill its TLB with.)
 */
static MemTxResult rme_tcg_abort_read(void *opaque, hwaddr addr,
                                      uint64_t *data, unsigned size,
                                      MemTxAttrs attrs)
{
    *data = 0;
    return MEMTX_ERROR;
}

static MemTxResult rme_tcg_abort_write(void *opaque, hwaddr addr,
                                       uint64_t data, unsigned size,
                                       MemTxAttrs attrs)
{
    return MEMTX_ERROR;
}

static const MemoryRegionOps rme_tcg_abort_ops = {
    .read_with_attrs = rme_tcg_abort_read,
    .write_with_attrs = rme_tcg_abort_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 8,
};

static IOMMUTLBEntry rme_tcg_translate(IOMMUMemoryRegion *iommu, hwaddr addr,
                                       IOMMUAccessFlags flag, int iommu_idx)
{
    RmeTcg *t = container_of(iommu, RmeTcg, prot);
    RmmRealm *realm = qatomic_read(&t->realm);
    hwaddr ipa = t->g->ram_base + (addr & ~(RMM_GRANULE_SIZE - 1));
    IOMMUTLBEntry ret = {
        .target_as = &t->store_as,
        .iova = addr & ~(RMM_GRANULE_SIZE - 1),
        .translated_addr = addr & ~(RMM_GRANULE_SIZE - 1),
        .addr_mask = RMM_GRANULE_SIZE - 1,
        .perm = IOMMU_NONE,
    };

    /*
     * Only the vCPU's own accesses (TLB fills pass IOMMU_NONE) reach
     * protected memory: debug accesses from the host (gdbstub, monitor)
     * fail like any other host access would.
     */
    if (!realm || flag != IOMMU_NONE) {
        return ret;
    }
    switch (rmm_realm_s2_lookup(realm, ipa)) {
    case RMM_S2_UNASSIGNED:
        /* Stage 2 fault exit: the host assigns a granule, then retries. */
        rmm_data_create_unknown(realm, ipa);
        if (rmm_realm_s2_lookup(realm, ipa) != RMM_S2_OK) {
            break;
        }
        /* fall through */
    case RMM_S2_OK:
        ret.perm = IOMMU_RW;
        break;
    case RMM_S2_DESTROYED:
        /*
         * The REC exit the host cannot resolve: no granule it could
         * assign brings the contents back.  The vCPU takes it as a
         * synchronous external abort, so the realm never reads what is
         * not its memory (cca.rst: "Deviations").
         */
        trace_rme_s2_destroyed(ipa);
        ret.target_as = &t->abort_as;
        ret.perm = IOMMU_RW;
        break;
    case RMM_S2_ABORT:
        trace_rme_s2_abort(ipa);
        ret.target_as = &t->abort_as;
        ret.perm = IOMMU_RW;
        break;
    }
    return ret;
}

static int rme_tcg_attrs_to_index(IOMMUMemoryRegion *iommu, MemTxAttrs attrs)
{
    return 0;
}

static void rme_tcg_iommu_class_init(ObjectClass *klass, const void *data)
{
    IOMMUMemoryRegionClass *imrc = IOMMU_MEMORY_REGION_CLASS(klass);

    imrc->translate = rme_tcg_translate;
    imrc->attrs_to_index = rme_tcg_attrs_to_index;
}

static const TypeInfo rme_tcg_iommu_info = {
    .name = TYPE_RME_TCG_IOMMU_MEMORY_REGION,
    .parent = TYPE_IOMMU_MEMORY_REGION,
    .class_init = rme_tcg_iommu_class_init,
};

static MemoryRegion *rme_tcg_cpu_memory(RmeGuest *g, MemoryRegion *sysmem)
{
    RmeTcg *t = rme_tcg(g);
    uint64_t half = 1ULL << (g->ipa_width - 1);

    if (!t->view_ready) {
        memory_region_init(&t->view, OBJECT(g), "realm-cpu-view", UINT64_MAX);
        memory_region_add_subregion(&t->view, g->ram_base,
                                    MEMORY_REGION(&t->prot));
        memory_region_init_alias(&t->unprot, OBJECT(g),
                                 "realm-cpu-unprotected", sysmem, 0, half);
        memory_region_add_subregion(&t->view, half, &t->unprot);
        t->view_ready = true;
    }
    return &t->view;
}

void rme_tcg_flush_all(void)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        tlb_flush(cs);
    }
}

/*
 * The RMM model wrote protected memory itself: do what a write through
 * the memory API would, so that TCG drops code translated from the old
 * contents and dirty tracking sees the change.
 */
static void rme_tcg_protected_written(void *opaque, uint64_t ipa,
                                      uint64_t len)
{
    RmeTcg *t = opaque;
    ram_addr_t addr = memory_region_get_ram_addr(&t->store) +
                      (ipa - t->g->ram_base);

    tb_invalidate_phys_range(NULL, addr, addr + len - 1);
    physical_memory_set_dirty_range(addr, len, DIRTY_CLIENTS_NOCODE);
}

/* The realm's migration phase changed (the model's realm lock held). */
static void rme_tcg_mig_phase_changed(void *opaque, RmmMigPhase from,
                                      RmmMigPhase to)
{
    trace_rme_mig_phase(rmi_mig_phase_name(from), rmi_mig_phase_name(to));
}

/* ---- Shared RAM: the machine's RAM pages the realm shares ---- */

/*
 * [base, top) of IPA space became shared (RIPAS EMPTY) or private (RIPAS
 * RAM): tell the RamDiscardManager of the machine's RAM.  The page of the
 * machine's RAM under a private granule is "discarded": its contents mean
 * nothing to the realm (as the host's page behind a private guest_memfd
 * page), and RAM migration does not read it unless it is written while
 * the migration runs.  Called with the BQL held.
 */
static void rme_tcg_shared_set(RmeTcg *t, hwaddr base, hwaddr top,
                               bool shared)
{
    hwaddr lo = MAX(base, t->g->ram_base);
    hwaddr hi = MIN(top, t->g->ram_base + t->g->ram_size);
    int ret;

    if (lo >= hi) {
        return;
    }
    ret = ram_block_attributes_state_change(t->shared, lo - t->g->ram_base,
                                            hi - lo, !shared);
    trace_rme_shared(lo, hi, shared, ret);
}

/*
 * Read the whole RIPAS map back from the RMM (RTT_READ_ENTRY, as a host
 * would) after the realm arrived by migration: until then every page is
 * "shared", which only costs the next migration time.
 */
void rme_tcg_shared_resync(void *opaque)
{
    RmeTcg *t = opaque;
    RmmRealm *realm = t->realm;
    hwaddr end = t->g->ram_base + t->g->ram_size, ipa, run = t->g->ram_base;
    bool run_shared = true, shared;
    RmmHipas hipas;
    RmiRipas ripas;

    if (!realm) {
        return;
    }
    for (ipa = t->g->ram_base; ipa < end; ipa += RMM_GRANULE_SIZE) {
        shared = rmm_rtt_read_entry(realm, ipa, &hipas, &ripas) !=
                 RMI_SUCCESS || ripas == RMI_RIPAS_EMPTY;
        if (shared != run_shared) {
            rme_tcg_shared_set(t, run, ipa, run_shared);
            run = ipa;
            run_shared = shared;
        }
    }
    rme_tcg_shared_set(t, run, end, run_shared);
}

/* ---- SMCs and REC exits ---- */

static RmmRec *rme_tcg_rec(ARMCPU *cpu)
{
    return cpu->realm_rec;
}

static bool rme_tcg_may_run(ARMCPU *cpu)
{
    RmmRec *rec = rme_tcg_rec(cpu);

    return rec && rmm_rec_may_enter(rec);
}

/* RSI_IPA_STATE_SET: what KVM does on a RIPAS change exit. */
static void rme_tcg_ripas_change(RmeTcg *t, ARMCPU *cpu, RmmRec *rec,
                                 RmmRecExit *exit, uint64_t *regs)
{
    uint64_t top = exit->ripas_base, ipa;
    RmiCommandReturnCode s;

    s = rmi_traced(rmm_rtt_set_ripas(t->realm, rec, exit->ripas_base,
                                      exit->ripas_top, &top),
                   "RTT_SET_RIPAS");
    rme_tcg_shared_set(t, exit->ripas_base, top,
                       exit->ripas_value == RMI_RIPAS_EMPTY);
    if (s == RMI_SUCCESS && exit->ripas_value == RMI_RIPAS_EMPTY) {
        /* Give back the memory the realm no longer wants protected. */
        for (ipa = exit->ripas_base; ipa < top; ipa += RMM_GRANULE_SIZE) {
            rmi_traced(rmm_data_destroy(t->realm, ipa), "DATA_DESTROY");
        }
    }
    trace_rme_ripas_change(exit->ripas_base, exit->ripas_top,
                           exit->ripas_value, top, s);
    /* Every vCPU sees the change before this one runs again. */
    tlb_flush_all_cpus_synced(CPU(cpu));
    rmi_traced(rmm_rec_complete(rec, s == RMI_SUCCESS ? RMM_RIPAS_ACCEPT
                                                      : RMM_RIPAS_REJECT,
                                exit, regs), "REC_ENTER (RIPAS response)");
}

static bool rme_tcg_smc(ARMCPU *cpu)
{
    RmeTcg *t = rme_tcg(RME_GUEST(cpu->realm_guest));
    RmmRec *rec = rme_tcg_rec(cpu);
    CPUARMState *env = &cpu->env;
    uint64_t regs[RMM_SMC_NREGS];
    uint32_t fid = env->xregs[0];
    RmmRecExit exit;
    unsigned i, tries;

    if (!rec) {
        /* No realm (yet): nothing answers. */
        env->xregs[0] = -1;
        return true;
    }
    memcpy(regs, env->xregs, sizeof(regs));
    for (tries = 0; tries < 2; tries++) {
        rmm_rec_smc(rec, regs, &exit);
        if (exit.reason != RMI_EXIT_SYNC) {
            break;
        }
        /* The call touched RIPAS RAM not assigned yet: assign, retry. */
        rmi_traced(rmm_data_create_unknown(t->realm, exit.fault_ipa),
                   "DATA_CREATE_UNKNOWN");
    }
    trace_rme_smc(rmm_rec_index(rec), fid, exit.reason);

    switch (exit.reason) {
    case RMM_EXIT_NONE:
        break;
    case RMI_EXIT_SYNC:
        /* Could not assign: the call cannot make progress. */
        regs[0] = RSI_ERROR_INPUT;
        break;
    case RMI_EXIT_RIPAS_CHANGE:
        rme_tcg_ripas_change(t, cpu, rec, &exit, regs);
        break;
    case RMI_EXIT_HOST_CALL:
        /* This host offers no host call services: results unchanged. */
        rmi_traced(rmm_rec_complete(rec, RMM_RIPAS_ACCEPT, &exit, regs),
                   "REC_ENTER (host call)");
        break;
    case RMI_EXIT_PSCI:
        if (exit.psci_fid == PSCI_FN_CPU_ON_32 ||
            exit.psci_fid == PSCI_FN_CPU_ON_64) {
            RmmRec *target = rmm_realm_rec_by_mpidr(t->realm,
                                                    exit.psci_args[0]);
            if (target) {
                rmi_traced(rmm_psci_complete(rec, target, 0),
                           "PSCI_COMPLETE");
            }
        }
        /* QEMU's PSCI implementation does the vCPU work. */
        return false;
    }
    for (i = 0; i < RMM_SMC_NREGS; i++) {
        env->xregs[i] = regs[i];
    }
    return true;
}

/* ---- The backend interface ---- */

/*
 * The emulated CCA platform: with platform-identity, its attestation key
 * and certificates from that file; otherwise a fresh key.
 */
static RmmPlatform *rme_tcg_platform(RmeGuest *g, Error **errp)
{
    g_autofree char *pem = NULL;
    g_autoptr(GError) gerr = NULL;
    RmmPlatform *plat;
    char *err = NULL;
    gsize len = 0;

    if (!g->platform_identity) {
        plat = rmm_platform_new(&err);
    } else if (!g_file_get_contents(g->platform_identity, &pem, &len,
                                    &gerr)) {
        error_setg(errp, "rme-guest: platform-identity: %s", gerr->message);
        return NULL;
    } else {
        plat = rmm_platform_new_identity(pem, len, &err);
        rme_wipe(pem, len);
        if (!plat) {
            error_setg(errp, "rme-guest: platform-identity '%s': %s",
                       g->platform_identity, err);
            g_free(err);
            return NULL;
        }
    }
    if (!plat) {
        error_setg(errp, "emulated RMM: %s", err);
        g_free(err);
    }
    return plat;
}

/*
 * The emulated platform's physical counter, as the RMM reads it: the
 * generic timer's count (QEMU_CLOCK_VIRTUAL, which the host's "timer"
 * migration section sets on a destination).
 */
static uint64_t rme_tcg_counter(void *opaque)
{
    return first_cpu ? gt_get_countervalue(&ARM_CPU(first_cpu)->env) : 0;
}

static bool rme_tcg_init(RmeGuest *g, Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    char *err = NULL;
    RmeTcg *t;

    if (ms->smp.max_cpus > RMM_MAX_RECS) {
        error_setg(errp, "rme-guest: at most %d vCPUs (-smp) per realm",
                   RMM_MAX_RECS);
        return false;
    }
    /* A policy the RMM would refuse at MIG_START is refused now. */
    if (g->policy_pem &&
        !rmm_mig_policy_check(g->policy_pem, g->policy_len, &err)) {
        error_setg(errp, "rme-guest: migration-policy '%s': %s",
                   g->migration_policy, err);
        g_free(err);
        return false;
    }
    t = g_new0(RmeTcg, 1);
    t->g = g;
    qemu_mutex_init(&t->lane_lock);
    qemu_cond_init(&t->lane_cond);
    t->plat = rme_tcg_platform(g, errp);
    if (!t->plat) {
        g_free(t);
        return false;
    }
    /* No realm yet: every page of the machine's RAM is the host's. */
    t->shared = ram_block_attributes_create(g->shared_ram->ram_block);
    if (!t->shared) {
        error_setg(errp, "rme-guest: the machine's RAM already has a "
                   "RamDiscardManager");
        rmm_platform_free(t->plat);
        g_free(t);
        return false;
    }
    rme_tcg_shared_set(t, g->ram_base, g->ram_base + g->ram_size, true);
    rmm_platform_set_counter(t->plat, rme_tcg_counter, NULL);
    /*
     * Protected memory: never migrated as RAM, never mapped for devices.
     * Reserved as the machine's RAM is: a memory backend with
     * reserve=off lets a host start a realm larger than its RAM and swap.
     */
    if (!memory_region_init_ram_flags_nomigrate(
            &t->store, OBJECT(g), "realm-protected-ram", g->ram_size,
            qemu_ram_is_noreserve(g->shared_ram->ram_block) ?
            RAM_NORESERVE : 0, errp)) {
        ram_block_attributes_destroy(t->shared);
        rmm_platform_free(t->plat);
        g_free(t);
        return false;
    }
    address_space_init(&t->store_as, &t->store, "realm-protected-ram");
    memory_region_init_io(&t->abort_mr, OBJECT(g), &rme_tcg_abort_ops, t,
                          "realm-abort", g->ram_size);
    address_space_init(&t->abort_as, &t->abort_mr, "realm-abort");
    memory_region_init_iommu(&t->prot, sizeof(t->prot),
                             TYPE_RME_TCG_IOMMU_MEMORY_REGION, OBJECT(g),
                             "realm-protected", g->ram_size);
    g->backend = t;
    return true;
}

/*
 * Every vCPU is a realm vCPU: its SMCs go to the realm's RMM and it runs
 * only while the RMM lets its REC enter (it has none until a realm is
 * built).  Its registers travel only sealed in REC records: the plain
 * CPU sections (loaded after all iterable sections) must neither carry
 * them nor overwrite what the import restored.
 */
static bool rme_tcg_machine_done(RmeGuest *g, Error **errp)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        cpu->realm_guest = OBJECT(g);
        cpu->realm_smc = rme_tcg_smc;
        cpu->realm_may_run = rme_tcg_may_run;
        cpu_vmstate_unregister(cs);
    }
    return true;
}

/*
 * The emulated PE is the vCPU model: the RMM offers realms its longest
 * SVE vector, its PMU counters, breakpoints and watchpoints, as it reads
 * them before rme_guest_cpu_init() gives the vCPU the realm's own.
 */
static bool rme_tcg_cpu_model(RmeGuest *g, Object *cpuobj, Error **errp)
{
    ARMCPU *cpu = ARM_CPU(cpuobj);
    RmeTcg *t = rme_tcg(g);
    RmmPlatformFeatures f;
    uint32_t vqs = cpu_isar_feature(aa64_sve, cpu) ? cpu->sve_vq.supported
                                                   : 0;
    char *err = NULL;

    rmm_platform_get_features(t->plat, &f);
    f.num_bps = FIELD_EX64_IDREG(&cpu->isar, ID_AA64DFR0, BRPS);
    f.num_wps = FIELD_EX64_IDREG(&cpu->isar, ID_AA64DFR0, WRPS);
    f.sve = vqs != 0;
    f.sve_vl = vqs ? 31 - clz32(vqs) : 0;
    f.pmu = arm_feature(&cpu->env, ARM_FEATURE_PMU);
    f.pmu_num_ctrs = f.pmu ? pmu_num_counters(&cpu->env) : 0;
    if (!rmm_platform_set_features(t->plat, &f, &err)) {
        error_setg(errp, "emulated RMM: %s", err);
        g_free(err);
        return false;
    }
    return true;
}

bool rme_tcg_realm_create(RmeGuest *g, const RmiRealmParams *p,
                          Error **errp)
{
    RmeTcg *t = rme_tcg(g);
    RmmRealm *realm;

    if (!rmi_check(rmm_realm_create(t->plat, p, &realm), errp,
                   "REALM_CREATE")) {
        return false;
    }
    if (!rmi_check(rmm_realm_add_ram(realm, g->ram_base, g->ram_size,
                                     memory_region_get_ram_ptr(&t->store)),
                   errp, "adding protected RAM") ||
        !rmi_check(rmm_granule_delegate_range(realm, g->ram_base,
                                              g->ram_base + g->ram_size),
                   errp, "GRANULE_DELEGATE") ||
        !rmi_check(rmm_rtt_create_range(realm, g->ram_base,
                                        g->ram_base + g->ram_size, 2),
                   errp, "RTT_CREATE")) {
        rmm_realm_destroy(realm);
        return false;
    }
    rmm_realm_set_write_notifier(realm, rme_tcg_protected_written, t);
    rmm_realm_set_phase_notifier(realm, rme_tcg_mig_phase_changed, t);
    qatomic_set(&t->realm, realm);
    return true;
}

/*
 * Level 3 RTTs for all of protected RAM, once the realm is measured: the
 * realm's stage 2 faults (DATA_CREATE_UNKNOWN) and RIPAS changes need
 * them at any granule.
 */
bool rme_tcg_map_ram_l3(RmeGuest *g, Error **errp)
{
    return rmi_check(rmm_rtt_create_range(rme_tcg(g)->realm, g->ram_base,
                                          g->ram_base + g->ram_size, 3),
                     errp, "RTT_CREATE");
}

static bool rme_tcg_init_ripas(RmeGuest *g, hwaddr base, hwaddr top,
                               Error **errp)
{
    uint64_t out;

    if (!rmi_check(rmm_rtt_init_ripas(rme_tcg(g)->realm, base, top, &out),
                   errp, "RTT_INIT_RIPAS")) {
        return false;
    }
    rme_tcg_shared_set(rme_tcg(g), base, top, false);
    return true;
}

static bool rme_tcg_populate(RmeGuest *g, hwaddr base, hwaddr size,
                             Error **errp)
{
    RmeTcg *t = rme_tcg(g);
    uint8_t *shared = memory_region_get_ram_ptr(g->shared_ram);
    hwaddr ipa;

    if (base < g->ram_base || base + size > g->ram_base + g->ram_size) {
        error_setg(errp, "rme-guest: image at 0x%" HWADDR_PRIx
                   " is outside RAM", base);
        return false;
    }
    if (!rmi_check(rmm_rtt_create_range(t->realm, base, base + size, 3),
                   errp, "RTT_CREATE")) {
        return false;
    }
    for (ipa = base; ipa < base + size; ipa += RMM_GRANULE_SIZE) {
        uint8_t *src = shared + (ipa - g->ram_base);

        if (!rmi_check(rmm_data_create(t->realm, ipa, src, true), errp,
                       "DATA_CREATE")) {
            return false;
        }
        /* The image now lives in protected memory only. */
        memset(src, 0, RMM_GRANULE_SIZE);
    }
    memory_region_set_dirty(g->shared_ram, base - g->ram_base, size);
    return true;
}

static bool rme_tcg_rec_create(RmeGuest *g, CPUState *cs, bool runnable,
                               Error **errp)
{
    RmeTcg *t = rme_tcg(g);
    ARMCPU *cpu = ARM_CPU(cs);
    RmmRecParams p = {
        .flags = runnable ? RMI_REC_FLAG_RUNNABLE : 0,
        .mpidr = cpu->mp_affinity,
        .pc = runnable ? cpu->env.pc : 0,
    };
    RmmRec *rec;

    if (!is_a64(&cpu->env)) {
        error_setg(errp, "rme-guest: realm vCPUs must run AArch64");
        return false;
    }
    if (runnable) {
        memcpy(p.gprs, cpu->env.xregs, sizeof(p.gprs));
    }
    if (!rmi_check(rmm_rec_create(t->realm, &p, &rec), errp, "REC_CREATE")) {
        return false;
    }
    cpu->realm_rec = rec;
    return true;
}

static bool rme_tcg_activate(RmeGuest *g, Error **errp)
{
    CPUState *cs;

    if (!rmi_check(rmm_realm_activate(rme_tcg(g)->realm), errp,
                   "REALM_ACTIVATE") ||
        !rme_tcg_map_ram_l3(g, errp)) {
        return false;
    }
    /* REC enter: only RECs the model lets run leave the halted state. */
    CPU_FOREACH(cs) {
        cs->halted = !rme_tcg_may_run(ARM_CPU(cs));
    }
    return true;
}

/*
 * Tear the realm down.  Until the next realm is active no vCPU may run:
 * none has a REC, each halts.  (An incoming migration stops here until
 * the realm arrives.)
 */
void rme_tcg_destroy(RmeGuest *g)
{
    RmeTcg *t = rme_tcg(g);
    RmmRealm *realm = t->realm;
    RmmMigPhase phase;
    CPUState *cs;

    CPU_FOREACH(cs) {
        ARM_CPU(cs)->realm_rec = NULL;
        cs->halted = 1;
    }
    if (realm) {
        /* No lane command is in the realm, none enters it any more. */
        qemu_mutex_lock(&t->lane_lock);
        t->held = true;
        while (t->users) {
            qemu_cond_wait(&t->lane_cond, &t->lane_lock);
        }
        qemu_mutex_unlock(&t->lane_lock);
        /* A migration under way fails on, saying why. */
        phase = rmm_mig_phase(realm);
        t->mig_reset |= phase == RMM_MIG_OUT_EXPORTING ||
                        phase == RMM_MIG_OUT_PAUSED ||
                        phase == RMM_MIG_OUT_ENDED;
        qatomic_set(&t->realm, NULL);
        rme_tcg_flush_all();
        rmm_realm_destroy(realm);
        qemu_mutex_lock(&t->lane_lock);
        t->held = false;
        qemu_mutex_unlock(&t->lane_lock);
    }
    rme_tcg_shared_set(t, g->ram_base, g->ram_base + g->ram_size, true);
}

/*
 * A memory error in the granule at @gpa (x-rme-poison-granule): the RMM
 * keeps it poisoned; every vCPU's next access to it goes through stage 2
 * again, and aborts.
 */
static bool rme_tcg_poison(RmeGuest *g, uint64_t gpa, Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);

    if (!realm) {
        return false;
    }
    switch (rmm_granule_poison(realm, gpa)) {
    case RMI_SUCCESS:
        break;
    case RMI_ERROR_REALM:
        error_setg(errp, "x-rme-poison-granule: the realm's migration is "
                   "in its final phase or undecided, its memory frozen: "
                   "report the error again once it committed or aborted");
        return false;
    default:
        error_setg(errp, "x-rme-poison-granule: 0x%" PRIx64 " is not a "
                   "granule of the realm's protected RAM that holds data",
                   gpa);
        return false;
    }
    trace_rme_poison(gpa);
    rme_tcg_flush_all();
    return true;
}

const RmeBackendOps rme_tcg_backend_ops = {
    .accel = "tcg",
    .name = "emulated RMM",
    .init = rme_tcg_init,
    .machine_done = rme_tcg_machine_done,
    .realm_create = rme_tcg_realm_create,
    .init_ripas = rme_tcg_init_ripas,
    .populate = rme_tcg_populate,
    .rec_create = rme_tcg_rec_create,
    .activate = rme_tcg_activate,
    .destroy = rme_tcg_destroy,
    .cpu_memory = rme_tcg_cpu_memory,
    .cpu_model = rme_tcg_cpu_model,
    .incoming_prepare = rme_tcg_incoming_prepare,
    .mig = &rme_tcg_mig_ops,
    .poison = rme_tcg_poison,
};

static void rme_tcg_register_types(void)
{
    type_register_static(&rme_tcg_iommu_info);
}

type_init(rme_tcg_register_types)
