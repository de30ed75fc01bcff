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

typedef int RmeKvmIoctl(int fd, unsigned long request, void *arg);
extern RmeKvmIoctl *rme_kvm_ioctl;

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

static inline int rme_kvm_vcpu_fd(CPUState *cs)
{
    return cs->kvm_fd;
}

/* The realm's parameters (kvm-rme.c), also when it is imported. */
bool rme_kvm_realm_config(RmeGuest *g, const RmiRealmParams *p,
                          Error **errp);

/* kvm-rme-migrate.c: the migration operations of rme_kvm_backend_ops. */
bool rme_kvm_mig_export_start(RmeGuest *g, uint8_t *buf, size_t *len,
                              Error **errp);
bool rme_kvm_mig_export_accept(RmeGuest *g, const uint8_t *buf, size_t len,
                               Error **errp);
bool rme_kvm_mig_dirty_log(RmeGuest *g, uint64_t *bitmap, uint64_t *n,
                           Error **errp);
bool rme_kvm_mig_export_immutable(RmeGuest *g, uint8_t *buf, size_t *len,
                                  Error **errp);
bool rme_kvm_mig_export_ripas(RmeGuest *g, uint8_t *buf, size_t *len,
                              bool *more, Error **errp);
bool rme_kvm_mig_export_data(RmeGuest *g, unsigned lane,
                             const uint64_t *ipas, unsigned n, uint8_t *buf,
                             size_t *len, Error **errp);
bool rme_kvm_mig_export_epoch(RmeGuest *g, uint8_t *buf, size_t *len,
                              Error **errp);
bool rme_kvm_mig_export_pause(RmeGuest *g, Error **errp);
bool rme_kvm_mig_export_rec(RmeGuest *g, CPUState *cs, uint8_t *buf,
                            size_t *len, Error **errp);
bool rme_kvm_mig_export_end(RmeGuest *g, uint8_t *buf, size_t *len,
                            Error **errp);
bool rme_kvm_mig_commit_ack(RmeGuest *g, const uint8_t *token, Error **errp);
bool rme_kvm_mig_export_abort(RmeGuest *g, const uint8_t *token,
                              Error **errp);
bool rme_kvm_mig_import_start(RmeGuest *g, const RmiRealmParams *p,
                              Error **errp);
bool rme_kvm_mig_import_hello(RmeGuest *g, const uint8_t *hello, size_t len,
                              uint8_t *buf, size_t *out_len, Error **errp);
bool rme_kvm_mig_import_record(RmeGuest *g, const uint8_t *buf, size_t len,
                               Error **errp);
bool rme_kvm_mig_import_commit(RmeGuest *g, uint8_t *token, Error **errp);
bool rme_kvm_mig_import_abort(RmeGuest *g, uint8_t *token);
RmmMigPhase rme_kvm_mig_phase(RmeGuest *g);
void rme_kvm_mig_stats(RmeGuest *g, RmmMigStats *stats);

#endif /* TARGET_ARM_KVM_RME_H */
