/*
 * Arm CCA realm guests: the rme-guest object and the realm backend interface
 *
 * rme-guest (a confidential-guest-support object) describes the realm the
 * machine runs; a realm backend is "an RMM behind something" that builds,
 * runs and tears down the realm.  The backend interface is RMI-shaped and
 * backend neutral: the emulated RMM under TCG (target/arm/tcg/rme-tcg.c)
 * and a KVM CCA host (target/arm/kvm-rme.c, kvm-rme-migrate.c)
 * implement it.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_RME_H
#define TARGET_ARM_RME_H

#include "qom/object.h"
#include "exec/hwaddr.h"
#include "system/memory.h"
#include "system/confidential-guest-support.h"
#include "hw/resettable.h"
#include "rmi.h"            /* RMI facts every backend shares */
#include "rmi-mig.h"        /* the proposed RMI migration interface */
#ifdef CONFIG_GNUTLS
#include <gnutls/gnutls.h>
#endif

#define TYPE_RME_GUEST "rme-guest"
OBJECT_DECLARE_SIMPLE_TYPE(RmeGuest, RME_GUEST)

typedef struct RmeBackend RmeBackend;

/* A region of guest RAM the board loaded an image into (kernel, DTB...). */
typedef struct RmeImage {
    hwaddr base;
    hwaddr size;
} RmeImage;

/*
 * The realm backend interface.  Every operation takes the rme-guest; each
 * returns false with @errp set on failure.
 */
typedef struct RmeBackendOps {
    /* The accelerator it runs with (AccelClass name), what it is. */
    const char *accel;
    const char *name;
    /* Once, at machine init: protected memory for g->ram_base/ram_size. */
    bool (*init)(RmeGuest *g, Error **errp);
    /* RMI_REALM_CREATE + RAM; the realm is NEW afterwards. */
    bool (*realm_create)(RmeGuest *g, const RmiRealmParams *p, Error **errp);
    /* RMI_RTT_INIT_RIPAS */
    bool (*init_ripas)(RmeGuest *g, hwaddr base, hwaddr top, Error **errp);
    /*
     * RMI_DATA_CREATE of [base, base + size) from the shared RAM at the
     * same addresses, which is scrubbed afterwards.
     */
    bool (*populate)(RmeGuest *g, hwaddr base, hwaddr size, Error **errp);
    /* RMI_REC_CREATE for @cpu, from its reset state. */
    bool (*rec_create)(RmeGuest *g, CPUState *cpu, bool runnable,
                       Error **errp);
    /* RMI_REALM_ACTIVATE */
    bool (*activate)(RmeGuest *g, Error **errp);
    /* RMI_REALM_DESTROY and every REC: never fails. */
    void (*destroy)(RmeGuest *g);
    /*
     * Once the machine is complete, with its vCPUs: whatever the backend
     * keeps of them (TCG: realm vCPU registers travel only sealed in REC
     * records, so they leave QEMU's plain CPU sections).
     */
    bool (*machine_done)(RmeGuest *g, Error **errp);
    /* The memory a realm vCPU sees, given the machine's (shared) memory. */
    MemoryRegion *(*cpu_memory)(RmeGuest *g, MemoryRegion *sysmem);

    /*
     * Migration: the RMM's migration commands (docs/system/arm/
     * cca-migration.rst), used by migration/rme-stream.c.  Records are
     * opaque to QEMU; @buf holds RMM_MIG_RECORD_MAX bytes and *@len is 0
     * when there was nothing to export.
     */
    /*
     * Source: MIG_START with the realm's migration policy: the HELLO of
     * the handshake (at most RMM_MIG_HS_MAX bytes) to @buf.
     */
    bool (*mig_export_start)(RmeGuest *g, uint8_t *buf, size_t *len,
                             Error **errp);
    /* MIG_ACCEPT: the destination's answer; then records may be sealed. */
    bool (*mig_export_accept)(RmeGuest *g, const uint8_t *buf, size_t len,
                              Error **errp);
    /*
     * MIG_DIRTY_LOG (read and clear) of all protected RAM, including guest
     * writes the backend tracks: sets bit i of @bitmap for granule
     * ram_base + i * 4 KiB, and *@n to the number of granules logged.
     */
    bool (*mig_dirty_log)(RmeGuest *g, uint64_t *bitmap, uint64_t *n,
                          Error **errp);
    bool (*mig_export_immutable)(RmeGuest *g, uint8_t *buf, size_t *len,
                                 Error **errp);
    bool (*mig_export_ripas)(RmeGuest *g, uint8_t *buf, size_t *len,
                             bool *more, Error **errp);
    /*
     * MIG_EXPORT_DATA on @lane: 0 with the BQL like every other command;
     * 1..RMM_MIG_LANES_MAX from several threads at once without it (the
     * RMM seals lanes in parallel), one call per lane at a time.
     */
    bool (*mig_export_data)(RmeGuest *g, unsigned lane, const uint64_t *ipas,
                            unsigned n, uint8_t *buf, size_t *len,
                            Error **errp);
    bool (*mig_export_epoch)(RmeGuest *g, uint8_t *buf, size_t *len,
                             Error **errp);
    /* No REC enters from now on (the VM is stopped already). */
    bool (*mig_export_pause)(RmeGuest *g, Error **errp);
    /* The REC of @cpu, with the vCPU state the backend holds. */
    bool (*mig_export_rec)(RmeGuest *g, CPUState *cpu, uint8_t *buf,
                           size_t *len, Error **errp);
    bool (*mig_export_end)(RmeGuest *g, uint8_t *buf, size_t *len,
                           Error **errp);
    /*
     * MIG_COMMIT_ACK: the realm is MIGRATED and never runs here again;
     * the backend stops its vCPUs for good.
     */
    bool (*mig_commit_ack)(RmeGuest *g, const uint8_t *token, Error **errp);
    /* MIG_ABORT, with the destination's abort token or NULL. */
    bool (*mig_export_abort)(RmeGuest *g, const uint8_t *token, Error **errp);
    /*
     * Destination, at reset on -incoming: a NEW realm from @p with its RAM,
     * so that the import does not wait for it (optional).
     */
    bool (*mig_import_prepare)(RmeGuest *g, const RmiRealmParams *p,
                               Error **errp);
    /*
     * Destination: start importing into the prepared realm (or one made
     * now from @p), with the realm's migration policy.
     */
    bool (*mig_import_start)(RmeGuest *g, const RmiRealmParams *p,
                             Error **errp);
    /* MIG_IMPORT_HELLO: the source's HELLO; this RMM's ACCEPT to @buf. */
    bool (*mig_import_hello)(RmeGuest *g, const uint8_t *hello, size_t len,
                             uint8_t *buf, size_t *out_len, Error **errp);
    /*
     * Import one record; a REC record also restores its vCPU.  With the
     * BQL, except DATA records of a lane other than 0: those come from
     * several threads at once, without it.
     */
    bool (*mig_import_record)(RmeGuest *g, const uint8_t *buf, size_t len,
                              Error **errp);
    /* MIG_IMPORT_COMMIT: RECs may enter; @token goes to the source. */
    bool (*mig_import_commit)(RmeGuest *g, uint8_t *token, Error **errp);
    /* MIG_IMPORT_ABORT: true and @token when the source should get one. */
    bool (*mig_import_abort)(RmeGuest *g, uint8_t *token);
    /* The realm's migration phase and figures (RMM_MIG_NONE: no realm). */
    RmmMigPhase (*mig_phase)(RmeGuest *g);
    void (*mig_stats)(RmeGuest *g, RmmMigStats *stats);
    /*
     * x-rme-poison-granule: the granule at @gpa had a memory error
     * (optional: a backend whose host reports them itself has none).
     */
    bool (*poison)(RmeGuest *g, uint64_t gpa, Error **errp);
    /*
     * The IPA state of the realm's RAM (optional: a backend whose host
     * cannot read the RMM's tables has none); false if it cannot say.
     */
    bool (*ipa_state)(RmeGuest *g, RmmIpaState *st);
} RmeBackendOps;

struct RmeGuest {
    ConfidentialGuestSupport parent_obj;

    /* Properties */
    int measurement_algo;               /* RmiHashAlgo */
    char *personalization_value;        /* base64 of 64 bytes */
    char *platform_identity;            /* path of a PEM file */
    char *migration_policy;             /* path of a PEM file */
    bool migration_zero;                /* RMI_REALM_FLAGS_MIG_ZERO */

    /* The migration policy's contents and SHA-512 (at object creation) */
    uint8_t *policy_pem;
    size_t policy_len;
    uint8_t policy_hash[RMM_MIG_POLICY_HASH_SIZE];

    /* Derived at machine init */
    uint8_t rpv[RMM_RPV_SIZE];
    uint32_t ipa_width;
    MemoryRegion *shared_ram;           /* the machine's RAM, shared */
    hwaddr ram_base;
    uint64_t ram_size;
    GArray *images;                     /* RmeImage, set by the board */

    const RmeBackendOps *ops;
    void *backend;                      /* the backend's own state */
    ResettableState reset_state;
    Notifier machine_done;
    struct RmeStream *stream;           /* migration/rme-stream.c */
};

/* The emulated RMM under TCG (built with TCG and GnuTLS). */
extern const RmeBackendOps rme_tcg_backend_ops;
/* A KVM CCA host (target/arm/kvm-rme.c). */
extern const RmeBackendOps rme_kvm_backend_ops;


/*
 * Board side (hw/arm/virt-cca.c).  Called once the memory map is known;
 * picks the backend and allocates protected memory.
 */
bool rme_guest_machine_init(RmeGuest *g, uint32_t ipa_width,
                            MemoryRegion *ram, hwaddr ram_base,
                            Error **errp);
/* The board says where it loaded images that the realm starts with. */
void rme_guest_add_image(RmeGuest *g, hwaddr base, hwaddr size);

/* The parameters of the realm this rme-guest describes. */
static inline RmiRealmParams rme_guest_realm_params(RmeGuest *g)
{
    RmiRealmParams p = {
        .ipa_width = g->ipa_width,
        .hash_algo = g->measurement_algo,
    };

    memcpy(p.rpv, g->rpv, RMM_RPV_SIZE);
    if (g->policy_pem) {
        memcpy(p.mig_policy, g->policy_hash, RMM_MIG_POLICY_HASH_SIZE);
        p.flags |= g->migration_zero ? RMI_REALM_FLAGS_MIG_ZERO : 0;
    }
    return p;
}

/*
 * Overwrite secrets (keys, plaintext) before their memory is freed, in a
 * way the compiler may not drop.
 */
static inline void rme_wipe(void *p, size_t len)
{
#ifdef CONFIG_GNUTLS
    gnutls_memset(p, 0, len);
#else
    explicit_bzero(p, len);
#endif
}

/* The memory the board links realm vCPUs to. */
MemoryRegion *rme_guest_cpu_memory(RmeGuest *g, MemoryRegion *sysmem);

#endif /* TARGET_ARM_RME_H */
