/*
 * Arm CCA realms under KVM: what the backend takes from QEMU's KVM state
 *
 * The only part of the KVM backend that reads QEMU's KVM internals (the
 * VM fd, the memslots): tests/unit/test-kvm-rme.c links kvm-rme.c and
 * kvm-rme-migrate.c with its own version of these functions instead.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hw/boards.h"
#include "system/kvm.h"
#include "system/kvm_int.h"
#include "kvm-rme.h"
#include <sys/ioctl.h>

int rme_kvm_ioctl(int fd, unsigned long request, void *arg)
{
    return ioctl(fd, request, arg);
}

bool rme_kvm_attach(RmeKvm *k, RmeGuest *g, Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());

    if (!kvm_state) {
        error_setg(errp, "rme-guest: KVM is not initialised");
        return false;
    }
    k->vm_fd = kvm_state->vmfd;
    k->ram_hva = memory_region_get_ram_ptr(g->shared_ram);
    k->nr_vcpus = ms->smp.cpus;
    return true;
}

bool rme_kvm_attach_slots(RmeKvm *k, RmeGuest *g, Error **errp)
{
    KVMMemoryListener *kml = &kvm_state->memory_listener;
    hwaddr top = g->ram_base + g->ram_size;
    unsigned i;

    k->manual_dirty_protect = kvm_state->manual_dirty_log_protect;
    k->nr_slots = 0;
    for (i = 0; i < kml->nr_slots_allocated; i++) {
        KVMSlot *s = &kml->slots[i];

        if (!s->memory_size || s->start_addr < g->ram_base ||
            s->start_addr + s->memory_size > top) {
            continue;
        }
        if (k->nr_slots == RME_KVM_MAX_SLOTS) {
            error_setg(errp, "rme-guest: the realm's RAM is in more than %d "
                       "memslots", RME_KVM_MAX_SLOTS);
            return false;
        }
        if (s->guest_memfd < 0) {
            error_setg(errp, "rme-guest: memslot %d of the realm's RAM has "
                       "no guest_memfd", s->slot);
            return false;
        }
        k->slots[k->nr_slots++] = (RmeKvmSlot) {
            .id = s->slot,
            .gpa = s->start_addr,
            .size = s->memory_size,
        };
    }
    if (!k->nr_slots) {
        error_setg(errp, "rme-guest: no memslot holds the realm's RAM");
        return false;
    }
    return true;
}

/*
 * A realm vCPU's registers are the RMM's: KVM lets QEMU read none of
 * them after the realm activates, so QEMU's CPU sections cannot carry
 * them (the REC record does, sealed).
 */
int rme_kvm_vcpu_fd(RmeGuest *g, unsigned index)
{
    CPUState *cs = qemu_get_cpu(index);

    return cs ? cs->kvm_fd : -1;
}

void rme_kvm_vcpus_detach(void)
{
    CPUState *cs;

    CPU_FOREACH(cs) {
        cpu_vmstate_unregister(cs);
    }
}
