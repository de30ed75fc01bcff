/*
 * Arm CCA realms under KVM: the backend's state, shared by kvm-rme.c
 * (the realm) and kvm-rme-migrate.c (its migration)
 *
 * Every ioctl the backend makes goes through rme_kvm_ioctl, which is
 * ioctl(2) in QEMU; the unit tests (tests/unit/test-kvm-rme.c) replace it
 * with a model of the kernel side built on the emulated RMM, and fill in
 * what QEMU's KVM code would (the VM fd, the memslots, the vCPU fds).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_KVM_RME_H
#define TARGET_ARM_KVM_RME_H

#include "hw/core/cpu.h"
#include "rme.h"

/*
 * ioctl(2), in kvm-rme-glue.c; the unit tests link a model of the
 * kernel side instead (tests/unit/kvm-rme-fake.c).
 */
int rme_kvm_ioctl(int fd, unsigned long request, void *arg);

/* A KVM memslot of the realm's RAM. */
typedef struct RmeKvmSlot {
    uint32_t id;                /* as KVM_SET_USER_MEMORY_REGION2 named it */
    uint64_t gpa;
    uint64_t size;
} RmeKvmSlot;

#define RME_KVM_MAX_SLOTS   16

typedef struct RmeKvm {
    int vm_fd;
    /* The machine's RAM as QEMU maps it (the shared view). */
    uint8_t *ram_hva;
    RmeKvmSlot slots[RME_KVM_MAX_SLOTS];
    unsigned nr_slots;
    unsigned nr_vcpus;
    /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is on: clear after reading. */
    bool manual_dirty_protect;
    /* The kernel and RMM migrate realms (KVM_CAP_ARM_RMI_MIGRATION). */
    bool migration;
    bool realm_built;           /* configured and populated */
    RmmMigPhase phase;          /* the last one KVM_ARM_RMI_MIG_STATUS said */
} RmeKvm;

/*
 * ioctl @request on @fd through rme_kvm_ioctl, again while it fails
 * with EINTR: 0, or -errno with @errp naming @what.
 */
int rme_kvm_call(int fd, unsigned long request, void *arg, const char *what,
                 Error **errp);

/*
 * QEMU's side of the backend, in target/arm/kvm.c (the unit tests have
 * their own): fill @k from QEMU's KVM state for @g: the VM fd, the RAM's
 * host address, the vCPU count.
 */
bool rme_kvm_attach(RmeKvm *k, RmeGuest *g, Error **errp);
/*
 * The memslots of @g's RAM and the dirty log mode, once the migration
 * starts (they are all made by then).
 */
bool rme_kvm_attach_slots(RmeKvm *k, RmeGuest *g, Error **errp);
/* Realm vCPUs: their registers are the RMM's; QEMU neither saves them. */
void rme_kvm_vcpus_detach(void);

/* The fd of vCPU @index of @g's VM, or -1 if it has none. */
int rme_kvm_vcpu_fd(RmeGuest *g, unsigned index);

/* The realm's parameters (kvm-rme.c), also when it is imported. */
bool rme_kvm_realm_config(RmeGuest *g, const RmiRealmParams *p,
                          Error **errp);

/* kvm-rme-migrate.c: the RMI migration commands, over the proposed uapi */
extern const RmiMigOps rme_kvm_mig_ops;

#endif /* TARGET_ARM_KVM_RME_H */
