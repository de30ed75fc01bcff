/*
 * Arm CCA realms under KVM: the realm backend for CCA hosts
 *
 * rme-guest under -accel kvm, over the KVM CCA uapi of the Arm CCA host
 * series as of its v15 (2026-07-15, RMM 2.0-bet2: KVM_CAP_ARM_RMI, the
 * realm VM type at bit 30, KVM_ARM_RMI_POPULATE advancing its argument;
 * linux-headers/linux/kvm.h) and
 * the realm parameters of this project's proposed migration uapi
 * (target/arm/kvm-rmi-mig.h).  What the kernel does of the realm's life:
 *
 *   VM type KVM_VM_TYPE_ARM_REALM       hw/arm/virt.c asks for it
 *   private memory                      guest_memfd memslots, private
 *                                       (QEMU's generic KVM code)
 *   realm parameters                    KVM_ENABLE_CAP(RMI_MIGRATION)
 *   RMI_REALM_CREATE, RMI_DATA_CREATE   KVM_ARM_RMI_POPULATE, measured
 *   RMI_RTT_INIT_RIPAS (all of RAM),    the first KVM_RUN
 *   RMI_REC_CREATE, RMI_REALM_ACTIVATE
 *
 * The migration operations are in kvm-rme-migrate.c.  QEMU's side of it
 * (the VM fd, the memslots) is in kvm.c.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/bitops.h"
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include "kvm-rme.h"
#include "kvm-rmi-mig.h"
#include "trace.h"

int rme_kvm_call(int fd, unsigned long request, void *arg, const char *what,
                 Error **errp)
{
    int ret;

    do {
        ret = rme_kvm_ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0) {
        ret = -errno;
        trace_rme_kvm_ioctl(what, ret);
        error_setg_errno(errp, -ret, "rme-guest: %s failed", what);
        return ret;
    }
    trace_rme_kvm_ioctl(what, ret);
    return ret;
}

static RmeKvm *rme_kvm(RmeGuest *g)
{
    return g->backend;
}

static bool rme_kvm_init(RmeGuest *g, Error **errp)
{
    g_autofree RmeKvm *k = g_new0(RmeKvm, 1);
    int ret;

    if (!rme_kvm_attach(k, g, errp)) {
        return false;
    }
    ret = rme_kvm_call(k->vm_fd, KVM_CHECK_EXTENSION,
                       (void *)(uintptr_t)KVM_CAP_ARM_RMI,
                       "KVM_CHECK_EXTENSION(KVM_CAP_ARM_RMI)", errp);
    if (ret < 0) {
        return false;
    }
    if (ret == 0) {
        error_setg(errp, "rme-guest: this host's KVM cannot run Arm CCA "
                   "realms (no KVM_CAP_ARM_RMI)");
        return false;
    }
    ret = rme_kvm_call(k->vm_fd, KVM_CHECK_EXTENSION,
                       (void *)(uintptr_t)KVM_CAP_ARM_RMI_MIGRATION,
                       "KVM_CHECK_EXTENSION(KVM_CAP_ARM_RMI_MIGRATION)",
                       errp);
    if (ret < 0) {
        return false;
    }
    k->migration = ret > 0;
    g->backend = g_steal_pointer(&k);
    return true;
}

static bool rme_kvm_machine_done(RmeGuest *g, Error **errp)
{
    rme_kvm_vcpus_detach();
    return true;
}

static MemoryRegion *rme_kvm_cpu_memory(RmeGuest *g, MemoryRegion *sysmem)
{
    return sysmem;
}

static bool rme_kvm_rpv_zero(const RmiRealmParams *p)
{
    static const uint8_t zero[RMM_RPV_SIZE];

    return !memcmp(p->rpv, zero, RMM_RPV_SIZE);
}

/*
 * ID_AA64DFR0_EL1 as a KVM register: KVM_REG_ARM64 | KVM_REG_SIZE_U64 |
 * KVM_REG_ARM64_SYSREG | op0 3, op1 0, CRn 0, CRm 5, op2 0 (spelt out:
 * the unit test builds this file on other hosts' headers).
 */
#define RME_KVM_REG_ID_AA64DFR0     0x603000000013c028ULL

/*
 * num-breakpoints and num-watchpoints as the series (v15) takes them:
 * each vCPU's ID_AA64DFR0_EL1, BRPs and WRPs (the number minus one),
 * CTX_CMPs no more than BRPs, before the realm exists.  Unset, the
 * kernel's (the RMM's NUM_BPS and NUM_WPS) stay.
 */
static bool rme_kvm_debug_counts(RmeGuest *g, Error **errp)
{
    RmeKvm *k = rme_kvm(g);
    unsigned i;

    if (!g->bps && !g->wps) {
        return true;
    }
    for (i = 0; i < k->nr_vcpus; i++) {
        uint64_t v;
        struct kvm_one_reg r = {
            .id = RME_KVM_REG_ID_AA64DFR0, .addr = (uintptr_t)&v,
        };
        int fd = rme_kvm_vcpu_fd(g, i);

        if (rme_kvm_call(fd, KVM_GET_ONE_REG, &r,
                         "KVM_GET_ONE_REG(ID_AA64DFR0_EL1)", errp) < 0) {
            return false;
        }
        if (g->bps) {
            v = deposit64(v, 12, 4, g->bps - 1);
            v = deposit64(v, 28, 4, MIN(extract64(v, 28, 4), g->bps - 1));
        }
        if (g->wps) {
            v = deposit64(v, 20, 4, g->wps - 1);
        }
        if (rme_kvm_call(fd, KVM_SET_ONE_REG, &r,
                         "KVM_SET_ONE_REG(ID_AA64DFR0_EL1)", errp) < 0) {
            return false;
        }
    }
    return true;
}

/*
 * The realm's parameters, before it is populated: through the proposed
 * KVM_CAP_ARM_RMI_MIGRATION, or not at all (the series' own uapi has no
 * way to pass them: the kernel's defaults apply).
 */
static bool rme_kvm_realm_config_cap(RmeGuest *g, const RmiRealmParams *p,
                                     Error **errp)
{
    RmeKvm *k = rme_kvm(g);
    struct kvm_arm_rmi_realm_config c = {
        .hash_algo = p->hash_algo,
    };
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_ARM_RMI_MIGRATION,
        .args[0] = (uintptr_t)&c,
    };

    if (!k->migration) {
        if (g->policy_pem) {
            error_setg(errp, "rme-guest: migration-policy is set but this "
                       "host's KVM cannot migrate realms (no "
                       "KVM_CAP_ARM_RMI_MIGRATION)");
            return false;
        }
        if (!rme_kvm_rpv_zero(p)) {
            error_setg(errp, "rme-guest: personalization-value needs "
                       "KVM_CAP_ARM_RMI_MIGRATION, which this host's KVM "
                       "does not have");
            return false;
        }
        warn_report_once("rme-guest: this host's KVM chooses the realm's "
                         "measurement algorithm");
        return true;
    }
    memcpy(c.rpv, p->rpv, sizeof(c.rpv));
    if (g->policy_pem) {
        memcpy(c.policy_hash, p->mig_policy, sizeof(c.policy_hash));
        c.flags |= KVM_ARM_RMI_REALM_CONFIG_MIGRATABLE;
        if (p->flags & RMI_REALM_FLAGS_MIG_ZERO) {
            c.flags |= KVM_ARM_RMI_REALM_CONFIG_MIG_ZERO;
        }
    }
    return rme_kvm_call(k->vm_fd, KVM_ENABLE_CAP, &cap,
                        "KVM_ENABLE_CAP(KVM_CAP_ARM_RMI_MIGRATION)",
                        errp) == 0;
}

/*
 * The realm's parameters before the kernel creates it (at the first
 * populate or run, or the import): the proposed capability's, then the
 * vCPUs' breakpoint and watchpoint counts.
 */
bool rme_kvm_realm_config(RmeGuest *g, const RmiRealmParams *p,
                          Error **errp)
{
    return rme_kvm_realm_config_cap(g, p, errp) &&
           rme_kvm_debug_counts(g, errp);
}

/*
 * A realm lives as long as its KVM VM: it is built once, at the first
 * reset, and cannot be built again after a guest reset.
 */
static bool rme_kvm_realm_create(RmeGuest *g, const RmiRealmParams *p,
                                 Error **errp)
{
    RmeKvm *k = rme_kvm(g);

    if (k->realm_built) {
        error_setg(errp, "a realm under KVM cannot be reset or rebuilt: "
                   "start QEMU again");
        return false;
    }
    return rme_kvm_realm_config(g, p, errp);
}

/*
 * KVM initialises RIPAS RAM over every guest_memfd memslot when the
 * realm activates; it takes no narrower range.
 */
static bool rme_kvm_init_ripas(RmeGuest *g, hwaddr base, hwaddr top,
                               Error **errp)
{
    if (base != g->ram_base || top != g->ram_base + g->ram_size) {
        error_setg(errp, "rme-guest: KVM sets RIPAS RAM over all of RAM, "
                   "not [0x%" HWADDR_PRIx ", 0x%" HWADDR_PRIx ")", base, top);
        return false;
    }
    return true;
}

/*
 * KVM_ARM_RMI_POPULATE: DATA_CREATE of [base, base + size), measured,
 * from the shared RAM at the same addresses, which is scrubbed after.
 * It returns 0 with base and source_uaddr advanced and size reduced by
 * what it populated: call again until size is 0.  An error after some
 * progress shows at the next call; a call that moved nothing is one.
 */
static bool rme_kvm_populate(RmeGuest *g, hwaddr base, hwaddr size,
                             Error **errp)
{
    RmeKvm *k = rme_kvm(g);
    uint8_t *src = k->ram_hva + (base - g->ram_base);
    struct kvm_arm_rmi_populate pop = {
        .flags = KVM_ARM_RMI_POPULATE_FLAGS_MEASURE,
    };

    if (base < g->ram_base || base + size > g->ram_base + g->ram_size ||
        (base | size) & (RMM_GRANULE_SIZE - 1)) {
        error_setg(errp, "rme-guest: image at 0x%" HWADDR_PRIx " is outside "
                   "RAM or not granule aligned", base);
        return false;
    }
    pop.base = base;
    pop.size = size;
    pop.source_uaddr = (uintptr_t)src;
    while (pop.size) {
        uint64_t was = pop.size, at = pop.base;
        hwaddr done;

        if (rme_kvm_call(k->vm_fd, KVM_ARM_RMI_POPULATE, &pop,
                         "KVM_ARM_RMI_POPULATE", errp) < 0) {
            return false;
        }
        done = was - pop.size;
        if (!done || pop.size > was || done & (RMM_GRANULE_SIZE - 1) ||
            pop.base != at + done ||
            pop.source_uaddr != (uintptr_t)src + (pop.base - base)) {
            error_setg(errp, "rme-guest: KVM_ARM_RMI_POPULATE of 0x%"
                       PRIx64 " bytes at 0x%" PRIx64 " left 0x%" PRIx64
                       " bytes at 0x%" PRIx64 " (no progress, or not as "
                       "it advances)", was, at, (uint64_t)pop.size,
                       (uint64_t)pop.base);
            return false;
        }
    }
    /* The image now lives in protected memory only. */
    memset(src, 0, size);
    return true;
}

/*
 * KVM makes each vCPU's REC at the first KVM_RUN, from its registers,
 * with only vCPU 0 runnable (the others wait for PSCI CPU_ON): QEMU
 * pushes the reset state before that run, as for any vCPU.
 */
static bool rme_kvm_rec_create(RmeGuest *g, CPUState *cs, bool runnable,
                               Error **errp)
{
    if (runnable != (cs->cpu_index == 0)) {
        error_setg(errp, "rme-guest: under KVM only vCPU 0 starts running");
        return false;
    }
    return true;
}

/* RMI_REALM_ACTIVATE: at the first KVM_RUN. */
static bool rme_kvm_activate(RmeGuest *g, Error **errp)
{
    rme_kvm(g)->realm_built = true;
    return true;
}

/* The kernel destroys the realm with the VM. */
static void rme_kvm_destroy(RmeGuest *g)
{
}

const RmeBackendOps rme_kvm_backend_ops = {
    .accel = "kvm",
    .name = "KVM CCA host",
    .init = rme_kvm_init,
    .machine_done = rme_kvm_machine_done,
    .realm_create = rme_kvm_realm_create,
    .init_ripas = rme_kvm_init_ripas,
    .populate = rme_kvm_populate,
    .rec_create = rme_kvm_rec_create,
    .activate = rme_kvm_activate,
    .destroy = rme_kvm_destroy,
    .cpu_memory = rme_kvm_cpu_memory,
    .mig = &rme_kvm_mig_ops,
};
