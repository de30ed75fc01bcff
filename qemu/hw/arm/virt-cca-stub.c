/*
 * Arm CCA realms on the virt board: stubs for targets without realms
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/arm/virt-cca.h"

Object *virt_cca_realm(MachineState *ms)
{
    return NULL;
}

int virt_cca_map_pa_bits(VirtMachineState *vms, ARMCPU *cpu, int pa_bits)
{
    g_assert_not_reached();
}

int virt_cca_kvm_type(VirtMachineState *vms, int map_pa_bits,
                      bool fixed_ipa)
{
    g_assert_not_reached();
}

MemoryRegion *virt_cca_memory_init(VirtMachineState *vms,
                                   MemoryRegion *sysmem, int pa_bits)
{
    g_assert_not_reached();
}

void virt_cca_boot_init(VirtMachineState *vms)
{
    g_assert_not_reached();
}

void virt_cca_cpu_init(VirtMachineState *vms, Object *cpuobj)
{
    g_assert_not_reached();
}
