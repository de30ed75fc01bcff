/*
 * A proposed KVM uapi for the live migration of Arm CCA realms
 *
 * Not part of Linux: this project proposes it (docs/system/arm/
 * cca-migration.rst, "On a CCA host"), next to the RMI migration commands
 * of target/arm/rmi-mig.h, which it carries one to one.  It extends the
 * KVM CCA uapi (KVM_CAP_ARM_RMI, linux-headers/linux/kvm.h).  The
 * numbers below are provisional: they lie outside what Linux allocates
 * today so that a kernel carrying the proposal cannot be mistaken for one
 * that does not.
 *
 * Every migration ioctl but KVM_ARM_RMI_MIG_STATUS takes a
 * struct kvm_arm_rmi_mig.  Records, handshake messages, policies and
 * tokens are passed by user address and length; the kernel copies them
 * into granules it delegates to the RMM, never hands user memory to it.
 * An ioctl returns 0, or -1 with errno:
 *   EINVAL  a reserved field or flag is set, a length is out of range,
 *           or the VM is not a realm (the kernel's checks)
 *   EFAULT  a user buffer cannot be read or written
 *   ENOSPC  out_size is smaller than the record the RMM made
 *   EPERM   the RMM refused the command: rmi_status holds its RMI
 *           status (RmiCommandReturnCode: status | index << 8)
 *   ENOMEM  the kernel could not get granules to pass to the RMM
 *   EINTR   a signal came first; nothing happened, call again
 *
 * Plain C, no QEMU headers: <linux/types.h> and <linux/ioctl.h> only.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_KVM_RMI_MIG_H
#define TARGET_ARM_KVM_RMI_MIG_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifndef KVMIO
#define KVMIO 0xAE
#endif

/*
 * KVM_CHECK_EXTENSION: > 0 if the kernel and its RMM migrate realms.
 * KVM_ENABLE_CAP on a realm VM before its first KVM_ARM_RMI_POPULATE:
 * args[0] is the user address of a struct kvm_arm_rmi_realm_config,
 * whose contents become parameters of the realm (RMI_REALM_CREATE), and
 * so part of its RIM.  The KVM CCA series (v15) has no way to pass realm
 * parameters; a migratable realm needs its migration policy measured,
 * and the measurement algorithm and personalization value are added
 * while at it.
 */
#define KVM_CAP_ARM_RMI_MIGRATION       0x10000

struct kvm_arm_rmi_realm_config {
    __u8  policy_hash[64];      /* SHA-512 of the migration policy (PEM) */
    __u8  rpv[64];              /* personalization value */
    __u32 hash_algo;            /* RMI: 0 SHA-256, 1 SHA-512 */
    __u32 reserved0;
    __u64 flags;                /* KVM_ARM_RMI_REALM_CONFIG_* */
    __u64 reserved[6];          /* zero */
};
/* The realm has a migration policy (policy_hash is valid). */
#define KVM_ARM_RMI_REALM_CONFIG_MIGRATABLE (1ULL << 0)
/* Zero granules travel as tags (RMI_REALM_FLAGS_MIG_ZERO). */
#define KVM_ARM_RMI_REALM_CONFIG_MIG_ZERO   (1ULL << 1)

/* The argument of the migration ioctls: 104 bytes. */
struct kvm_arm_rmi_mig {
    __u32 flags;                /* in: zero; out: KVM_ARM_RMI_MIG_MORE */
    __u32 lane;                 /* EXPORT_DATA, IMPORT_RECORD: 0..16 */
    __u64 in_uaddr;             /* what the host passes in */
    __u64 in_len;
    __u64 out_uaddr;            /* where the RMM's output goes */
    __u64 out_size;             /* its capacity */
    __u64 out_len;              /* out: bytes written */
    __u64 gpas_uaddr;           /* EXPORT_DATA: nr_gpas __u64 GPAs */
    __u32 nr_gpas;              /* EXPORT_DATA: 1..64 */
    __u32 nr_recs;              /* IMPORT_START: RECs the realm will have */
    __u64 rmi_status;           /* out: with EPERM, the RMI status */
    /*
     * The record's envelope: exports return the kind (RmmMigRecordType)
     * and epoch of the record they wrote (its lane in @lane); for
     * IMPORT_RECORD the host passes what its stream's envelope said
     * (with @lane), and the RMM refuses a record that says otherwise.
     */
    __u32 kind;
    __u32 epoch;
    __u64 reserved[3];          /* zero */
};
/* EXPORT_RIPAS: more RIPAS records follow */
#define KVM_ARM_RMI_MIG_MORE            (1U << 0)

/* Where a realm's migration stands, and its figures (RmmMigStats). */
struct kvm_arm_rmi_mig_status {
    __u32 phase;                /* RmmMigPhase */
    __u32 reserved0;
    __u64 epoch;
    __u64 data_granules;
    __u64 zero_granules;
    __u64 data_bytes;
    __u64 ripas_records;
    __u64 ripas_granules;
    __u64 rec_records;
    __u64 total_bytes;
    __u64 dirty_granules;
    __u64 pending_granules;
    __u64 ripas_pending_granules;
    __u64 poisoned_granules;    /* sent or received as poisoned */
    __u64 reserved[3];
};

/*
 * Source, on the VM fd unless noted.  in: what goes in; out: what the
 * RMM returns.  The RMI command the kernel issues is named after "->".
 */
/* in: the migration policy (PEM); out: HELLO.  -> RMI_MIG_START */
#define KVM_ARM_RMI_MIG_START \
    _IOWR(KVMIO, 0xe0, struct kvm_arm_rmi_mig)
/* in: ACCEPT.  -> RMI_MIG_ACCEPT */
#define KVM_ARM_RMI_MIG_ACCEPT \
    _IOWR(KVMIO, 0xe1, struct kvm_arm_rmi_mig)
/* out: IMMUTABLE.  -> RMI_MIG_EXPORT_IMMUTABLE */
#define KVM_ARM_RMI_MIG_EXPORT_IMMUTABLE \
    _IOWR(KVMIO, 0xe2, struct kvm_arm_rmi_mig)
/* out: one RIPAS record, flags MORE.  -> RMI_MIG_EXPORT_RIPAS */
#define KVM_ARM_RMI_MIG_EXPORT_RIPAS \
    _IOWR(KVMIO, 0xe3, struct kvm_arm_rmi_mig)
/* gpas, lane; out: one DATA record.  -> RMI_MIG_EXPORT_DATA */
#define KVM_ARM_RMI_MIG_EXPORT_DATA \
    _IOWR(KVMIO, 0xe4, struct kvm_arm_rmi_mig)
/* out: EPOCH.  -> RMI_MIG_EXPORT_EPOCH */
#define KVM_ARM_RMI_MIG_EXPORT_EPOCH \
    _IOWR(KVMIO, 0xe5, struct kvm_arm_rmi_mig)
/* No REC enters from now on.  -> RMI_MIG_PAUSE */
#define KVM_ARM_RMI_MIG_PAUSE \
    _IOWR(KVMIO, 0xe6, struct kvm_arm_rmi_mig)
/* On a vCPU fd; out: its REC.  -> RMI_MIG_EXPORT_REC */
#define KVM_ARM_RMI_MIG_EXPORT_REC \
    _IOWR(KVMIO, 0xe7, struct kvm_arm_rmi_mig)
/* out: END.  -> RMI_MIG_EXPORT_END */
#define KVM_ARM_RMI_MIG_EXPORT_END \
    _IOWR(KVMIO, 0xe8, struct kvm_arm_rmi_mig)
/* in: the destination's commit token.  -> RMI_MIG_COMMIT_ACK */
#define KVM_ARM_RMI_MIG_COMMIT_ACK \
    _IOWR(KVMIO, 0xe9, struct kvm_arm_rmi_mig)
/* in: the destination's abort token, or nothing.  -> RMI_MIG_ABORT */
#define KVM_ARM_RMI_MIG_ABORT \
    _IOWR(KVMIO, 0xea, struct kvm_arm_rmi_mig)

/* Destination: a realm VM created and configured, no vCPU run yet. */
/* in: the migration policy, nr_recs.  -> RMI_MIG_IMPORT_START */
#define KVM_ARM_RMI_MIG_IMPORT_START \
    _IOWR(KVMIO, 0xeb, struct kvm_arm_rmi_mig)
/* in: HELLO; out: ACCEPT.  -> RMI_MIG_IMPORT_HELLO */
#define KVM_ARM_RMI_MIG_IMPORT_HELLO \
    _IOWR(KVMIO, 0xec, struct kvm_arm_rmi_mig)
/*
 * in: one record.  -> RMI_MIG_IMPORT_RECORD (a REC record goes to the
 * vCPU whose MPIDR it names; DATA records of lanes > 0 may be imported
 * by several threads at once).
 */
#define KVM_ARM_RMI_MIG_IMPORT_RECORD \
    _IOWR(KVMIO, 0xed, struct kvm_arm_rmi_mig)
/* out: the commit token for the source.  -> RMI_MIG_IMPORT_COMMIT */
#define KVM_ARM_RMI_MIG_IMPORT_COMMIT \
    _IOWR(KVMIO, 0xee, struct kvm_arm_rmi_mig)
/*
 * out: the abort token for the source, out_len 0 if the source gets
 * none.  -> RMI_MIG_IMPORT_ABORT; the realm is destroyed.
 */
#define KVM_ARM_RMI_MIG_IMPORT_ABORT \
    _IOWR(KVMIO, 0xef, struct kvm_arm_rmi_mig)

/* Either side.  -> RMI_MIG_STATUS */
#define KVM_ARM_RMI_MIG_STATUS \
    _IOR(KVMIO, 0xf0, struct kvm_arm_rmi_mig_status)

/*
 * Dirty log of protected memory: KVM_GET_DIRTY_LOG and
 * KVM_CLEAR_DIRTY_LOG on a realm's guest_memfd memslots, with this
 * address space in bits 16..31 of the slot, report the granules whose
 * protected contents the realm changed (the RMM's stage 2 dirty state,
 * read and cleared with RMI_MIG_DIRTY_LOG), one bit per 4 KiB from the
 * slot's first GPA.  Address space 0 keeps reporting the slot's shared
 * pages, as for any VM.  With KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled,
 * GET accumulates and CLEAR clears; otherwise GET clears.
 */
#define KVM_ARM_RMI_PROTECTED_AS        1

#endif /* TARGET_ARM_KVM_RMI_MIG_H */
