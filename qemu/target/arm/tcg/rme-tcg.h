/*
 * Arm CCA realm guests under TCG: the backend's state, shared by
 * rme-tcg.c (the realm and its "hardware") and rme-tcg-migrate.c (the
 * RMI migration commands)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_TCG_RME_TCG_H
#define TARGET_ARM_TCG_RME_TCG_H

#include "qemu/thread.h"
#include "system/memory.h"
#include "system/ramblock.h"
#include "target/arm/rme.h"
#include "target/arm/rmm/rmm.h"

typedef struct RmeTcg {
    RmeGuest *g;
    RmmPlatform *plat;
    RmmRealm *realm;
    MemoryRegion store;         /* protected RAM contents */
    AddressSpace store_as;
    /* Where an aborting access goes: every access fails (an SEA). */
    MemoryRegion abort_mr;
    AddressSpace abort_as;
    IOMMUMemoryRegion prot;     /* stage 2 of protected RAM */
    MemoryRegion view;          /* what a realm vCPU sees */
    MemoryRegion unprot;        /* alias of the machine's memory */
    bool view_ready;
    RamBlockAttributes *shared; /* the machine's RAM: populated = shared */

    /*
     * Migration commands of lanes 1.. run without the BQL, against the
     * realm's destruction (which holds the BQL): they enter the realm
     * (rme_tcg_realm_enter()), and a destroy waits until none is in.
     */
    QemuMutex lane_lock;
    QemuCond lane_cond;
    unsigned users;             /* lane commands in the realm */
    bool held;                  /* being destroyed: none may enter */
    /* The realm was destroyed (a reset) while it migrated. */
    bool mig_reset;
} RmeTcg;

RmeTcg *rme_tcg(RmeGuest *g);

/*
 * The realm of @g: NULL and @errp set when there is none (never built on
 * a destination, or torn down by a reset or an aborted import).
 */
RmmRealm *rme_tcg_realm(RmeGuest *g, Error **errp);

/* REALM_CREATE with protected RAM delegated and level 2 RTTs. */
bool rme_tcg_realm_create(RmeGuest *g, const RmiRealmParams *p,
                          Error **errp);
/* Level 3 RTTs for all of protected RAM. */
bool rme_tcg_map_ram_l3(RmeGuest *g, Error **errp);
/* Tear the realm down; every vCPU halts. */
void rme_tcg_destroy(RmeGuest *g);
/* Every vCPU's TLB: stage 2 changed. */
void rme_tcg_flush_all(void);
/* Read the RIPAS map back into the machine RAM's RamDiscardManager. */
void rme_tcg_shared_resync(void *opaque);

/* rme-tcg-migrate.c: the RMI migration commands of rme_tcg_backend_ops */
extern const RmiMigOps rme_tcg_mig_ops;
bool rme_tcg_incoming_prepare(RmeGuest *g, Error **errp);

#endif /* TARGET_ARM_TCG_RME_TCG_H */
