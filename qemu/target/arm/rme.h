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
#include "rmi-mig-ops.h"    /* the proposed RMI migration commands */
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
     * For each vCPU before rme_guest_cpu_init() gives it the realm's
     * features: what the platform offers realms, where that is the vCPU
     * model (optional: a KVM host's RMM reports its own).
     */
    bool (*cpu_model)(RmeGuest *g, Object *cpuobj, Error **errp);

    /*
     * Destination, at reset on -incoming: a NEW realm from the rme-guest's
     * parameters, with its RAM, so that the import does not wait for it
     * (optional).
     */
    bool (*incoming_prepare)(RmeGuest *g, Error **errp);
    /*
     * The RMM's migration commands (docs/system/arm/cca-migration.rst),
     * whose opaque is the rme-guest.
     */
    const RmiMigOps *mig;
    /*
     * x-rme-poison-granule: the granule at @gpa had a memory error
     * (optional: a backend whose host reports them itself has none).
     */
    bool (*poison)(RmeGuest *g, uint64_t gpa, Error **errp);
} RmeBackendOps;

struct RmeGuest {
    ConfidentialGuestSupport parent_obj;

    /* Properties */
    int measurement_algo;               /* RmiHashAlgo */
    char *personalization_value;        /* base64 of 64 bytes */
    char *platform_identity;            /* path of a PEM file */
    char *migration_policy;             /* path of a PEM file */
    bool migration_zero;                /* RMI_REALM_FLAGS_MIG_ZERO */
    uint8_t num_breakpoints;            /* 0: the vCPU model's */
    uint8_t num_watchpoints;            /* 0: the vCPU model's */
    uint32_t sve_vector_length;         /* bits; 0: no SVE */
    uint8_t num_pmu_counters;           /* 0: no PMU */

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
    /* The realm's, set by rme_guest_cpu_init() (bps, wps 0: not known) */
    uint8_t bps, wps;
    uint8_t sve_vq;                     /* 0: no SVE */
    uint8_t pmu_ctrs;                   /* 0: no PMU */

    const RmeBackendOps *ops;
    void *backend;                      /* the backend's own state */
    /* Sticky: the realm was committed on a destination (never runs here) */
    bool migrated;
    ResettableState reset_state;
    Notifier machine_done;
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

/*
 * Board side, for each vCPU before it is realized: the realm's
 * breakpoints and watchpoints (num-breakpoints, num-watchpoints, or the
 * vCPU model's own), SVE vector length and PMU counters, which the vCPU
 * then has and nothing more, as the RMM shows a realm the features it
 * was created with.
 */
bool rme_guest_cpu_init(RmeGuest *g, Object *cpuobj, Error **errp);

/* The parameters of the realm this rme-guest describes. */
static inline RmiRealmParams rme_guest_realm_params(RmeGuest *g)
{
    RmiRealmParams p = {
        .ipa_width = g->ipa_width,
        .hash_algo = g->measurement_algo,
        /* Each a number minus one (0: under KVM, the kernel's choice) */
        .num_bps = g->bps ? g->bps - 1 : 0,
        .num_wps = g->wps ? g->wps - 1 : 0,
        .sve_vl = g->sve_vq ? g->sve_vq - 1 : 0,
        .pmu_num_ctrs = g->pmu_ctrs,
    };

    p.flags |= g->sve_vq ? RMI_REALM_FLAGS_SVE : 0;
    p.flags |= g->pmu_ctrs ? RMI_REALM_FLAGS_PMU : 0;
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

/*
 * Why this realm cannot migrate (no migration policy, no platform
 * identity): one line for a migration blocker, or NULL.
 */
const char *rme_guest_migration_blocked(RmeGuest *g);

/* The memory the board links realm vCPUs to. */
MemoryRegion *rme_guest_cpu_memory(RmeGuest *g, MemoryRegion *sysmem);

#endif /* TARGET_ARM_RME_H */
