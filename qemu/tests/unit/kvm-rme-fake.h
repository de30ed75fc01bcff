/*
 * A model of the kernel side of the KVM CCA uapi, on the emulated RMM
 *
 * What a CCA host kernel would do for target/arm/kvm-rme.c and
 * kvm-rme-migrate.c: the KVM CCA series' realm ioctls (v12) and the
 * proposed migration ioctls of docs/system/arm/cca-migration.rst, each
 * turned into the RMI commands the documentation names, on the RMM model
 * of target/arm/rmm/.  It decodes arguments at the offsets and sizes the
 * documentation gives, not through the structures of the headers, so
 * that a header that drifts from the documented ABI fails the tests.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_KVM_RME_FAKE_H
#define TESTS_UNIT_KVM_RME_FAKE_H

#include "rmm.h"

#define FAKE_KVM_MAX_VCPUS  4

typedef struct FakeKvm FakeKvm;

/* What the kernel has (KVM_CHECK_EXTENSION) */
#define FAKE_KVM_CAP_RMI        1u      /* KVM_CAP_ARM_RMI */
#define FAKE_KVM_CAP_MIGRATION  2u      /* KVM_CAP_ARM_RMI_MIGRATION */

/*
 * A host with @plat (its RMM) and a realm VM of @nr_vcpus vCPUs whose
 * RAM [@ram_base, @ram_base + @ram_size) is in @nr_slots memslots of
 * equal size; @caps: FAKE_KVM_CAP_*.
 */
FakeKvm *fake_kvm_new(RmmPlatform *plat, uint64_t ram_base,
                      uint64_t ram_size, unsigned nr_slots,
                      unsigned nr_vcpus, unsigned caps);
void fake_kvm_free(FakeKvm *k);

int fake_kvm_vm_fd(FakeKvm *k);
int fake_kvm_vcpu_fd(FakeKvm *k, unsigned index);
/* The RAM as the VMM maps it (memslots' userspace_addr). */
uint8_t *fake_kvm_shared(FakeKvm *k);
unsigned fake_kvm_nr_slots(FakeKvm *k);
void fake_kvm_slot(FakeKvm *k, unsigned i, uint32_t *id, uint64_t *gpa,
                   uint64_t *size);
/*
 * KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled (the default here, and
 * QEMU's): GET_DIRTY_LOG accumulates, CLEAR_DIRTY_LOG clears.
 */
void fake_kvm_set_manual_protect(FakeKvm *k, bool on);
/*
 * KVM_ARM_RMI_POPULATE populates nothing and returns 0, its argument as
 * it was (a kernel that breaks the advancing contract).
 */
void fake_kvm_set_populate_stall(FakeKvm *k, bool on);
/* The realm in the RMM (NULL before the first populate or import). */
RmmRealm *fake_kvm_realm(FakeKvm *k);

/*
 * The first KVM_RUN: RECs from the vCPUs' PCs (vCPU 0 runnable), RIPAS
 * and activation, as the series' kernel does.  False and *@err.
 */
bool fake_kvm_first_run(FakeKvm *k, char **err);

/*
 * The realm writes @len bytes at @ipa (protected RAM, RIPAS RAM): a
 * stage 2 fault assigns the granule first, and the RMM logs it dirty.
 */
void fake_kvm_guest_write(FakeKvm *k, uint64_t ipa, const void *buf,
                          size_t len);
/* The realm's view of protected @ipa (NULL if it would abort). */
const uint8_t *fake_kvm_guest_view(FakeKvm *k, uint64_t ipa);

/*
 * The kernel side of the ioctls: this file defines rme_kvm_ioctl()
 * (kvm-rme.h) for the tests, in place of kvm-rme-glue.c's ioctl(2).
 */

/*
 * The next ioctl @request (0: any) fails with @err, doing nothing; with
 * @err EPERM the RMM's refusal: rmi_status RMI_ERROR_INPUT.
 */
void fake_kvm_fail_next(unsigned long request, int err);
/* Whether the armed failure happened. */
bool fake_kvm_failed(void);

/* The ioctls since the last call, by name, space separated; g_free it. */
char *fake_kvm_take_log(void);

#endif /* TESTS_UNIT_KVM_RME_FAKE_H */
