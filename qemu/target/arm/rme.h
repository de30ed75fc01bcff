/*
 * Arm CCA realm guests: the rme-guest object and the realm backend interface
 *
 * rme-guest (a confidential-guest-support object) describes the realm the
 * machine runs; a realm backend is "an RMM behind something" that builds,
 * runs and tears down the realm.  The backend interface is RMI-shaped and
 * backend neutral: the emulated RMM under TCG (target/arm/tcg/rme-tcg.c)
 * implements it now, a KVM CCA backend can implement it later.
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
#include "rmm/rmm.h"

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
    const char *name;
    /* Once, at machine init: protected memory for g->ram_base/ram_size. */
    bool (*init)(RmeGuest *g, Error **errp);
    /* RMI_REALM_CREATE + RAM; the realm is NEW afterwards. */
    bool (*realm_create)(RmeGuest *g, const RmmRealmParams *p, Error **errp);
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
    /* Measurement @index (0 = RIM); returns its length, 0 if no realm. */
    size_t (*measurement)(RmeGuest *g, unsigned index, uint8_t *out);
    /* Realm state for monitors, or NULL when there is no realm. */
    const char *(*state)(RmeGuest *g);
    /* The memory a realm vCPU sees, given the machine's (shared) memory. */
    MemoryRegion *(*cpu_memory)(RmeGuest *g, MemoryRegion *sysmem);
} RmeBackendOps;

struct RmeGuest {
    ConfidentialGuestSupport parent_obj;

    /* Properties */
    int measurement_algo;               /* RmmHashAlgo */
    char *personalization_value;        /* base64 of 64 bytes */

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
};

/* The emulated RMM under TCG. */
extern const RmeBackendOps rme_tcg_backend_ops;

/*
 * Board side (hw/arm/virt-cca.c).  Called once the memory map is known;
 * picks the backend and allocates protected memory.
 */
bool rme_guest_machine_init(RmeGuest *g, uint32_t ipa_width,
                            MemoryRegion *ram, hwaddr ram_base,
                            Error **errp);
/* The board says where it loaded images that the realm starts with. */
void rme_guest_add_image(RmeGuest *g, hwaddr base, hwaddr size);

/* The memory the board links realm vCPUs to. */
MemoryRegion *rme_guest_cpu_memory(RmeGuest *g, MemoryRegion *sysmem);

#endif /* TARGET_ARM_RME_H */
