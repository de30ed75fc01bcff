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

#define TYPE_RME_TCG_IOMMU_MEMORY_REGION "rme-tcg-iommu-memory-region"

typedef struct RmeTcg {
    RmeGuest *g;
    RmmPlatform *plat;
    RmmRealm *realm;
    MemoryRegion store;         /* protected RAM contents */
    AddressSpace store_as;
    /* Where an aborting access goes: every access fails (an SEA). */
    MemoryRegion abort_mr;
    AddressSpace abort_as;
    IOMMUMemoryRegion prot;     /* stage 2 of protected RAM */
    MemoryRegion view;          /* what a realm vCPU sees */
    MemoryRegion unprot;        /* alias of the machine's memory */
    bool view_ready;
    RamBlockAttributes *shared; /* the machine's RAM: populated = shared */
} RmeTcg;

static RmeTcg *rme_tcg(RmeGuest *g)
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

/*
 * Trace and check RMI command @what, which explained a failure in *@err
 * (freed here): @prefix and that explanation go to @errp.
 */
static bool rmi_check_err(RmiCommandReturnCode s, char **err, Error **errp,
                          const char *what, const char *prefix)
{
    bool ok = rmi_traced(s, what) == RMI_SUCCESS;

    if (!ok && *err) {
        error_setg(errp, "%s%s", prefix, *err);
    } else if (!ok) {
        rmi_ok(s, errp, what);
    }
    g_clear_pointer(err, g_free);
    return ok;
}

/*
 * The realm of @g: NULL and @errp set when there is none (never built on
 * a destination, or torn down by a reset or an aborted import).
 */
static RmmRealm *rme_tcg_realm(RmeGuest *g, Error **errp)
{
    RmmRealm *realm = rme_tcg(g)->realm;

    if (!realm) {
        error_setg(errp, "rme-guest: there is no realm (not built yet, "
                   "reset or torn down)");
    }
    return realm;
}

/*
 * RMI command @call, named @what, on the realm of @g, which @call names
 * @realm: fails when there is no realm; traced and checked.
 */
#define RME_TCG_RMI(g, errp, what, realm, call) ({                      \
            RmmRealm *realm = rme_tcg_realm(g, errp);                   \
            realm && rmi_check(call, errp, what);                       \
        })

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

static void rme_tcg_flush_all(void)
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
static void rme_tcg_shared_resync(void *opaque)
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
    /* Protected memory: never migrated as RAM, never mapped for devices. */
    if (!memory_region_init_ram_nomigrate(&t->store, OBJECT(g),
                                          "realm-protected-ram", g->ram_size,
                                          errp)) {
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

static bool rme_tcg_realm_create(RmeGuest *g, const RmiRealmParams *p,
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
static bool rme_tcg_map_ram_l3(RmeGuest *g, Error **errp)
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
static void rme_tcg_destroy(RmeGuest *g)
{
    RmeTcg *t = rme_tcg(g);
    RmmRealm *realm = t->realm;
    CPUState *cs;

    CPU_FOREACH(cs) {
        ARM_CPU(cs)->realm_rec = NULL;
        cs->halted = 1;
    }
    if (realm) {
        qatomic_set(&t->realm, NULL);
        rme_tcg_flush_all();
        rmm_realm_destroy(realm);
    }
    rme_tcg_shared_set(t, g->ram_base, g->ram_base + g->ram_size, true);
}

/* ---- Migration ---- */

static bool rme_tcg_mig_export_start(RmeGuest *g, uint8_t *buf, size_t *len,
                                     Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    char *err = NULL;

    return realm &&
           rmi_check_err(rmm_mig_export_start(realm, g->policy_pem,
                                              g->policy_len, buf,
                                              RMM_MIG_RECORD_MAX, len, &err),
                         &err, errp, "MIG_START",
                         "rme-guest: the realm cannot migrate: ");
}

static bool rme_tcg_mig_export_accept(RmeGuest *g, const uint8_t *buf,
                                      size_t len, Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    char *err = NULL;

    return realm &&
           rmi_check_err(rmm_mig_export_accept(realm, buf, len, &err), &err,
                         errp, "MIG_ACCEPT",
                         "rme-guest: the destination's handshake answer "
                         "was refused: ");
}

/*
 * The emulation's hardware dirty bits: TCG logs guest writes to the
 * protected store in QEMU's migration dirty bitmap (the store is not
 * migrated as RAM, but TCG tracks every RAM block); hand them to the RMM,
 * then read the RMM's log.
 */
static bool rme_tcg_mig_dirty_log(RmeGuest *g, uint64_t *bitmap,
                                  uint64_t *n, Error **errp)
{
    RmeTcg *t = rme_tcg(g);
    g_autofree DirtyBitmapSnapshot *snap = NULL;
    uint64_t off, run = 0, size = g->ram_size;

    *n = 0;
    if (!t->realm) {
        return true;
    }
    snap = memory_region_snapshot_and_clear_dirty(&t->store, 0, size,
                                                  DIRTY_MEMORY_MIGRATION);
    for (off = 0; off <= size; off += RMM_GRANULE_SIZE) {
        if (off < size &&
            memory_region_snapshot_get_dirty(&t->store, snap, off,
                                             RMM_GRANULE_SIZE)) {
            run += RMM_GRANULE_SIZE;
            continue;
        }
        if (run) {
            rmm_mig_log_write(t->realm, g->ram_base + off - run, run);
            run = 0;
        }
    }
    *n = rmm_mig_dirty_log(t->realm, g->ram_base, size >> RMM_GRANULE_SHIFT,
                           bitmap);
    return true;
}

static bool rme_tcg_mig_export_immutable(RmeGuest *g, uint8_t *buf,
                                         size_t *len, Error **errp)
{
    return RME_TCG_RMI(g, errp, "MIG_EXPORT_IMMUTABLE", realm,
                       rmm_mig_export_immutable(realm, buf,
                                                RMM_MIG_RECORD_MAX, len));
}

static bool rme_tcg_mig_export_ripas(RmeGuest *g, uint8_t *buf, size_t *len,
                                     bool *more, Error **errp)
{
    return RME_TCG_RMI(g, errp, "MIG_EXPORT_RIPAS", realm,
                       rmm_mig_export_ripas(realm, buf, RMM_MIG_RECORD_MAX,
                                            len, more));
}

static bool rme_tcg_mig_export_data(RmeGuest *g, unsigned lane,
                                    const uint64_t *ipas, unsigned n,
                                    uint8_t *buf, size_t *len, Error **errp)
{
    unsigned exported;

    return RME_TCG_RMI(g, errp, "MIG_EXPORT_DATA", realm,
                       rmm_mig_export_data_lane(realm, lane, ipas, n, buf,
                                                RMM_MIG_RECORD_MAX, len,
                                                &exported));
}

static bool rme_tcg_mig_export_epoch(RmeGuest *g, uint8_t *buf, size_t *len,
                                     Error **errp)
{
    return RME_TCG_RMI(g, errp, "MIG_EPOCH", realm,
                       rmm_mig_export_epoch(realm, buf, RMM_MIG_RECORD_MAX,
                                            len));
}

static bool rme_tcg_mig_export_pause(RmeGuest *g, Error **errp)
{
    return RME_TCG_RMI(g, errp, "MIG_PAUSE", realm,
                       rmm_mig_export_pause(realm));
}

/*
 * Under TCG the vCPU state of a REC lives in QEMU's CPU, not in the RMM:
 * it is serialized with the CPU's own VMState descriptions and sealed by
 * the RMM together with the REC.
 */
static const VMStateDescription *const *rme_tcg_cpu_vmsds(CPUState *cs)
{
    static const VMStateDescription *vmsds[3];

    vmsds[0] = &vmstate_cpu_common;
    vmsds[1] = cs->cc->sysemu_ops->legacy_vmsd;
    vmsds[2] = NULL;
    return vmsds;
}

static bool rme_tcg_mig_export_rec(RmeGuest *g, CPUState *cs, uint8_t *buf,
                                   size_t *len, Error **errp)
{
    RmmRec *rec = ARM_CPU(cs)->realm_rec;
    const VMStateDescription *const *vmsd;
    QIOChannelBuffer *bioc;
    QEMUFile *f;
    bool ok = false;

    if (!rec) {
        error_setg(errp, "rme-guest: vCPU %d has no REC", cs->cpu_index);
        return false;
    }
    bioc = qio_channel_buffer_new(64 * KiB);
    f = qemu_file_new_output(QIO_CHANNEL(bioc));
    for (vmsd = rme_tcg_cpu_vmsds(cs); *vmsd; vmsd++) {
        if (vmstate_save_state(f, *vmsd, cs, NULL, errp) < 0) {
            goto out;
        }
    }
    if (qemu_fflush(f) < 0) {
        error_setg(errp, "rme-guest: cannot serialize vCPU %d",
                   cs->cpu_index);
        goto out;
    }
    if (bioc->usage > RMM_MIG_REC_CTX_MAX) {
        error_setg(errp, "rme-guest: vCPU %d state is %zu bytes, more than "
                   "a REC record carries", cs->cpu_index, bioc->usage);
        goto out;
    }
    ok = rmi_check(rmm_mig_export_rec(rec, bioc->data, bioc->usage,
                                              buf, RMM_MIG_RECORD_MAX, len),
                           errp, "MIG_EXPORT_REC");
out:
    rme_wipe(bioc->data, bioc->usage);
    qemu_fclose(f);
    object_unref(OBJECT(bioc));
    return ok;
}

static bool rme_tcg_mig_export_end(RmeGuest *g, uint8_t *buf, size_t *len,
                                   Error **errp)
{
    return RME_TCG_RMI(g, errp, "MIG_END", realm,
                       rmm_mig_export_end(realm, buf, RMM_MIG_RECORD_MAX, len));
}

static bool rme_tcg_mig_commit_ack(RmeGuest *g, const uint8_t *token,
                                   Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    CPUState *cs;

    if (!realm) {
        return false;
    }
    if (rmi_traced(rmm_mig_commit_ack(realm, token), "MIG_COMMIT_ACK") !=
        RMI_SUCCESS) {
        error_setg(errp, "rme-guest: the destination's commit token is not "
                   "valid for this migration");
        return false;
    }
    /* MIGRATED: nothing of the realm runs here again. */
    CPU_FOREACH(cs) {
        cs->halted = 1;
    }
    return true;
}

static bool rme_tcg_mig_export_abort(RmeGuest *g, const uint8_t *token,
                                     Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    RmiCommandReturnCode s;

    if (!realm) {
        return false;
    }
    s = rmi_traced(rmm_mig_export_abort(realm, token), "MIG_ABORT");
    if (rmi_return_status(s) == RMI_ERROR_INPUT) {
        error_setg(errp, "rme-guest: the destination's abort token is not "
                   "valid for this migration: the realm cannot run here");
        return false;
    }
    return rmi_ok(s, errp, "MIG_ABORT");
}

/*
 * A NEW realm with all of RAM delegated and mapped, ready for
 * MIG_IMPORT_START: at reset on a destination (-incoming), so that the
 * source's handshake does not wait for it.
 */
static bool rme_tcg_mig_import_prepare(RmeGuest *g, const RmiRealmParams *p,
                                       Error **errp)
{
    rme_tcg_destroy(g);
    if (!rme_tcg_realm_create(g, p, errp) || !rme_tcg_map_ram_l3(g, errp)) {
        rme_tcg_destroy(g);
        return false;
    }
    return true;
}

static bool rme_tcg_mig_import_start(RmeGuest *g, const RmiRealmParams *p,
                                     Error **errp)
{
    RmeTcg *t = rme_tcg(g);
    RmiStatus st = RMI_ERROR_REALM;
    unsigned nr_vcpus = 0;
    char *err = NULL;
    CPUState *cs;

    CPU_FOREACH(cs) {
        nr_vcpus++;         /* one REC each: the source must have as many */
    }
    /* The realm prepared at reset, if it is still fresh. */
    if (t->realm) {
        st = rmm_mig_import_start(t->realm, nr_vcpus, g->policy_pem,
                                  g->policy_len, &err);
    }
    if (st == RMI_ERROR_REALM) {
        g_clear_pointer(&err, g_free);
        if (!rme_tcg_mig_import_prepare(g, p, errp)) {
            return false;
        }
        st = rmm_mig_import_start(t->realm, nr_vcpus, g->policy_pem,
                                  g->policy_len, &err);
    }
    if (!rmi_check_err(st, &err, errp, "MIG_IMPORT_START",
                       "rme-guest: the realm cannot be imported: ")) {
        rme_tcg_destroy(g);
        return false;
    }
    return true;
}

static bool rme_tcg_mig_import_hello(RmeGuest *g, const uint8_t *hello,
                                     size_t len, uint8_t *buf,
                                     size_t *out_len, Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    char *err = NULL;

    return realm &&
           rmi_check_err(rmm_mig_import_hello(realm, hello, len, buf,
                                              RMM_MIG_RECORD_MAX, out_len,
                                              &err),
                         &err, errp, "MIG_IMPORT_HELLO",
                         "rme-guest: the source's handshake was refused: ");
}

static bool rme_tcg_load_rec_ctx(CPUState *cs, const uint8_t *ctx,
                                 size_t len, Error **errp)
{
    const VMStateDescription *const *vmsd;
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len);
    QEMUFile *f;
    bool ok = true;

    memcpy(bioc->data, ctx, len);
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    for (vmsd = rme_tcg_cpu_vmsds(cs); *vmsd && ok; vmsd++) {
        ok = vmstate_load_state(f, *vmsd, cs, (*vmsd)->version_id,
                                errp) == 0;
    }
    if (!ok && errp && !*errp) {
        error_setg(errp, "bad vCPU state");
    }
    rme_wipe(bioc->data, len);
    qemu_fclose(f);
    object_unref(OBJECT(bioc));
    return ok;
}

static bool rme_tcg_mig_import_record(RmeGuest *g, const uint8_t *buf,
                                      size_t len, Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    RmmMigImported out;
    CPUState *cs;
    char *err = NULL;

    if (!realm) {
        return false;
    }
    if (!rmi_check_err(rmm_mig_import_record(realm, buf, len, &out, &err),
                       &err, errp, "MIG_IMPORT_RECORD", "")) {
        return false;
    }
    if (out.type != RMM_MIG_RT_REC) {
        return true;
    }
    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        if (rmm_realm_rec_by_mpidr(realm, cpu->mp_affinity) != out.rec) {
            continue;
        }
        if (!rme_tcg_load_rec_ctx(cs, out.rec_ctx, out.rec_ctx_len, errp)) {
            error_prepend(errp, "REC %u: ", rmm_rec_index(out.rec));
            return false;
        }
        cpu->realm_rec = out.rec;
        return true;
    }
    error_setg(errp, "REC %u: no vCPU with its MPIDR here",
               rmm_rec_index(out.rec));
    return false;
}

static bool rme_tcg_mig_import_commit(RmeGuest *g, uint8_t *token,
                                      Error **errp)
{
    RmmRealm *realm = rme_tcg_realm(g, errp);
    char *err = NULL;
    CPUState *cs;

    if (!realm) {
        return false;
    }
    if (!rmi_check_err(rmm_mig_import_commit(realm, token, &err), &err,
                       errp, "MIG_IMPORT_COMMIT",
                       "rme-guest: the realm cannot be committed: ")) {
        return false;
    }
    /*
     * The RMM's counter offsets for the RECs, over whatever the host's
     * vCPU state said: the realm's virtual counter goes on from where it
     * left the source.
     */
    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        if (cpu->realm_rec) {
            cpu->env.cp15.cntvoff_el2 = rmm_rec_cntvoff(cpu->realm_rec);
            trace_rme_counter(cs->cpu_index, gt_get_countervalue(&cpu->env) -
                              cpu->env.cp15.cntvoff_el2);
            arm_gt_vtimer_cb(cpu);
        }
    }
    /* Out of the downtime: the next migration skips private pages again. */
    aio_bh_schedule_oneshot(qemu_get_aio_context(), rme_tcg_shared_resync,
                            rme_tcg(g));
    return true;
}

static bool rme_tcg_mig_import_abort(RmeGuest *g, uint8_t *token)
{
    RmeTcg *t = rme_tcg(g);
    bool ret;

    if (!t->realm) {
        return false;
    }
    ret = rmm_mig_import_abort(t->realm, token);
    trace_rme_rmi("MIG_IMPORT_ABORT", ret ? "token" : "no token", 0);
    /* Nothing of it may run: park every vCPU again. */
    rme_tcg_destroy(g);
    return ret;
}

static RmmMigPhase rme_tcg_mig_phase(RmeGuest *g)
{
    RmmRealm *realm = rme_tcg(g)->realm;

    return realm ? rmm_mig_phase(realm) : RMM_MIG_NONE;
}

static void rme_tcg_mig_stats(RmeGuest *g, RmmMigStats *stats)
{
    RmmRealm *realm = rme_tcg(g)->realm;

    memset(stats, 0, sizeof(*stats));
    if (realm) {
        rmm_mig_stats(realm, stats);
    }
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

static bool rme_tcg_ipa_state(RmeGuest *g, RmmIpaState *st)
{
    RmmRealm *realm = rme_tcg_realm(g, NULL);

    return realm && rmm_realm_ipa_state(realm, st);
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
    .mig_export_start = rme_tcg_mig_export_start,
    .mig_export_accept = rme_tcg_mig_export_accept,
    .mig_dirty_log = rme_tcg_mig_dirty_log,
    .mig_export_immutable = rme_tcg_mig_export_immutable,
    .mig_export_ripas = rme_tcg_mig_export_ripas,
    .mig_export_data = rme_tcg_mig_export_data,
    .mig_export_epoch = rme_tcg_mig_export_epoch,
    .mig_export_pause = rme_tcg_mig_export_pause,
    .mig_export_rec = rme_tcg_mig_export_rec,
    .mig_export_end = rme_tcg_mig_export_end,
    .mig_commit_ack = rme_tcg_mig_commit_ack,
    .mig_export_abort = rme_tcg_mig_export_abort,
    .mig_import_prepare = rme_tcg_mig_import_prepare,
    .mig_import_start = rme_tcg_mig_import_start,
    .mig_import_hello = rme_tcg_mig_import_hello,
    .mig_import_record = rme_tcg_mig_import_record,
    .mig_import_commit = rme_tcg_mig_import_commit,
    .mig_import_abort = rme_tcg_mig_import_abort,
    .mig_phase = rme_tcg_mig_phase,
    .mig_stats = rme_tcg_mig_stats,
    .poison = rme_tcg_poison,
    .ipa_state = rme_tcg_ipa_state,
};

static void rme_tcg_register_types(void)
{
    type_register_static(&rme_tcg_iommu_info);
}

type_init(rme_tcg_register_types)
