/*
 * Arm CCA realms on the virt board
 *
 * With -M virt,confidential-guest-support=<rme-guest id> the machine runs
 * an Arm CCA realm:
 *  - the memory map must fit in protected IPA space [0, 2^(w-1)); the IPA
 *    width w is the smallest that holds the map (at least 33 bits);
 *  - [2^(w-1), 2^w) is an alias of the whole map: the unprotected
 *    (shared) view.  It is in the system address space, so devices reach
 *    shared buffers whether the guest gives them canonical or aliased DMA
 *    addresses;
 *  - guest RAM as the machine has it is the shared memory; protected RAM
 *    is the realm backend's, and realm vCPUs see it at the canonical
 *    addresses;
 *  - PSCI uses the SMC conduit (the RMM forwards it);
 *  - the DTB has no random seeds (dtb-randomness=off): it is measured;
 *  - the kernel, initrd, DTB and boot stub are loaded into shared RAM and
 *    moved into protected memory with measurement when the realm is built.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/host-utils.h"
#include "hw/arm/virt-cca.h"
#include "hw/boards.h"
#include "system/address-spaces.h"
#include "target/arm/rme.h"
#include "target/arm/cpu.h"
#include "system/kvm.h"
#ifdef CONFIG_KVM
#include <linux/kvm.h>
#endif

Object *virt_cca_realm(MachineState *ms)
{
    return ms->cgs ? object_dynamic_cast(OBJECT(ms->cgs), TYPE_RME_GUEST)
                   : NULL;
}

static G_NORETURN void virt_cca_fail(const char *fmt, ...)
    G_GNUC_PRINTF(1, 2);

static void virt_cca_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    exit(1);
}

int virt_cca_map_pa_bits(VirtMachineState *vms, ARMCPU *cpu, int pa_bits)
{
    MachineState *ms = MACHINE(vms);

    if (vms->secure) {
        virt_cca_fail("rme-guest: a realm cannot have secure=on "
                      "(the RMM owns EL3 and the secure state)");
    }
    if (vms->virt) {
        virt_cca_fail("rme-guest: a realm cannot have virtualization=on "
                      "(realm vCPUs run at EL1 under the RMM)");
    }
    if (vms->mte) {
        virt_cca_fail("rme-guest: a realm cannot have mte=on");
    }
    if (cpu && !arm_feature(&cpu->env, ARM_FEATURE_AARCH64)) {
        virt_cca_fail("rme-guest: realm vCPUs run AArch64: -cpu %s "
                      "has no AArch64", object_get_typename(OBJECT(cpu)));
    }
    if (ms->ram_slots || ms->maxram_size > ms->ram_size) {
        virt_cca_fail("rme-guest: memory hotplug (-m maxmem/slots) is not "
                      "supported with a realm");
    }
    /*
     * The DTB is measured into the RIM: random seeds in it would make the
     * measurement of the same configuration differ from boot to boot.
     * The realm gets entropy from the CPU (RNDR) and the RMM instead.
     */
    vms->dtb_randomness = false;

    /* The map goes in the protected half of the IPA space. */
    return pa_bits - 1;
}

void virt_cca_cpu_init(VirtMachineState *vms, Object *cpuobj)
{
    RmeGuest *g = RME_GUEST(virt_cca_realm(MACHINE(vms)));
    Error *err = NULL;

    if (!rme_guest_cpu_init(g, cpuobj, &err)) {
        error_report_err(err);
        exit(1);
    }
}

MemoryRegion *virt_cca_memory_init(VirtMachineState *vms,
                                   MemoryRegion *sysmem, int pa_bits)
{
    MachineState *ms = MACHINE(vms);
    RmeGuest *g = RME_GUEST(virt_cca_realm(ms));
    uint32_t ipa_width = MAX(64 - clz64(vms->highest_gpa) + 1,
                             RMI_IPA_WIDTH_MIN + 1);
    MemoryRegion *dma_alias;
    Error *err = NULL;

    /* Under KVM, virt_cca_kvm_type() checked it against the host's. */
    if ((!kvm_enabled() && ipa_width > pa_bits) ||
        ipa_width > RMI_IPA_WIDTH_MAX) {
        virt_cca_fail("rme-guest: the memory map needs a %u-bit IPA space "
                      "(protected and unprotected halves), the CPU has %d "
                      "bits; use less memory or highmem=off", ipa_width,
                      pa_bits);
    }
    if (!ms->kernel_filename) {
        virt_cca_fail("rme-guest: a realm boots a kernel directly: "
                      "-kernel is required (firmware boot is not supported)");
    }
    if (!rme_guest_machine_init(g, ipa_width, ms->ram,
                                vms->memmap[VIRT_MEM].base, &err)) {
        error_report_err(err);
        exit(1);
    }

    if (kvm_enabled()) {
        /* KVM maps the unprotected alias of each memslot itself. */
        return rme_guest_cpu_memory(g, sysmem);
    }
    /* Devices reach shared memory at the unprotected alias too. */
    dma_alias = g_new(MemoryRegion, 1);
    memory_region_init_alias(dma_alias, OBJECT(ms), "realm-unprotected-alias",
                             sysmem, 0, 1ULL << (ipa_width - 1));
    memory_region_add_subregion(sysmem, 1ULL << (ipa_width - 1), dma_alias);

    return rme_guest_cpu_memory(g, sysmem);
}

int virt_cca_kvm_type(VirtMachineState *vms, int map_pa_bits,
                      bool fixed_ipa)
{
#ifdef CONFIG_KVM
    MachineState *ms = MACHINE(vms);

    if (fixed_ipa) {
        virt_cca_fail("rme-guest: this host's KVM cannot size a VM's IPA "
                      "space (no KVM_CAP_ARM_VM_IPA_SIZE)");
    }
    /* Private memory: guest_memfd for RAM (QEMU's generic KVM code). */
    ms->cgs->require_guest_memfd = true;
    return KVM_VM_TYPE_ARM_REALM |
           KVM_VM_TYPE_ARM_IPA_SIZE(MAX(map_pa_bits, RMI_IPA_WIDTH_MIN) + 1);
#else
    g_assert_not_reached();
#endif
}

static void virt_cca_note_image(const struct arm_boot_info *info,
                                hwaddr base, hwaddr size)
{
    rme_guest_add_image(RME_GUEST(info->note_image_opaque), base, size);
}

void virt_cca_boot_init(VirtMachineState *vms)
{
    vms->bootinfo.loader_as = &address_space_memory;
    vms->bootinfo.note_image = virt_cca_note_image;
    vms->bootinfo.note_image_opaque = virt_cca_realm(MACHINE(vms));
}
