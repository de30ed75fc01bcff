/*
 * Arm CCA realms on the virt board
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_ARM_VIRT_CCA_H
#define HW_ARM_VIRT_CCA_H

#include "hw/arm/virt.h"

/* The machine's rme-guest, or NULL when it runs no realm. */
Object *virt_cca_realm(MachineState *ms);

/*
 * Before the memory map is laid out: check the configuration (@cpu is a
 * vCPU of the type the machine will have, or NULL under KVM) and return
 * the PA width the map must fit in (protected IPA space, the lower half).
 */
int virt_cca_map_pa_bits(VirtMachineState *vms, ARMCPU *cpu, int pa_bits);

/*
 * Under KVM, once the map needs @map_pa_bits: the realm VM type with the
 * IPA width of both halves; RAM gets guest_memfd.
 */
int virt_cca_kvm_type(VirtMachineState *vms, int map_pa_bits,
                      bool fixed_ipa);

/*
 * After the map, before the CPUs: set up protected memory and the
 * unprotected alias, and return the memory realm vCPUs see.
 */
MemoryRegion *virt_cca_memory_init(VirtMachineState *vms,
                                   MemoryRegion *sysmem, int pa_bits);

/* Each vCPU, before it is realized: what the realm has of it. */
void virt_cca_cpu_init(VirtMachineState *vms, Object *cpuobj);

/* Before arm_load_kernel(): images go through shared RAM. */
void virt_cca_boot_init(VirtMachineState *vms);

#endif /* HW_ARM_VIRT_CCA_H */
