/*
 * The table of RMI migration commands (target/arm/rmi-mig-ops.h) over the
 * emulated RMM, and the host's export driver (migration/rme-mig-driver.c)
 * over it: for the model's unit tests and fuzzer (tests/rmm/), and as the
 * RMM side of the fake KVM (kvm-rme-fake.c).  Built by QEMU's test-kvm-rme
 * and by the standalone build of the model.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_RMM_HOST_H
#define TESTS_UNIT_RMM_HOST_H

#include "rmm.h"
#include "rmm-mig.h"
#include "migration/rme-mig-driver.h"

typedef struct RmmHost {
    RmmRealm *r;
    /* The realm's RAM ranges; the driver's bitmap spans all of them. */
    const uint64_t *ram_base;
    const uint64_t *ram_size;
    unsigned nr_ram;
    /* The host's vCPU context of REC @index: its length, into @ctx. */
    size_t (*rec_ctx)(void *opaque, unsigned index, uint8_t *ctx);
    /* Its architectural state, if the host has one (NULL: none). */
    void (*rec_arch)(void *opaque, unsigned index, RmmRecArch *arch);
    /* A record the driver emitted. */
    void (*emit)(void *opaque, const uint8_t *buf, size_t len);
    void *opaque;
    /* Iterations stop after this many records (0: never): a rate limit */
    unsigned stop_after;
    unsigned emitted;           /* in the current iteration */
    /* Each read of the dirty log waits this long (for the vCPUs, say). */
    unsigned log_wait_us;
    /* Each DATA record emitted waits this long (a destination behind). */
    unsigned data_wait_us;
    /*
     * DATA on this many parallel lanes (0: lane 0 only); their records
     * go to emit as well, as each worker finishes one (under @lock), and
     * flushes are counted.
     */
    unsigned lanes;
    GMutex lock;
    unsigned flushes;
    /* The realm's migration policy (MIG_START, MIG_IMPORT_START). */
    const uint8_t *policy;
    size_t policy_len;
    unsigned nr_recs;           /* MIG_IMPORT_START: RECs to expect */
    /*
     * Of the last command of rmm_host_mig_ops: its RMI status (an
     * RmiStatus; g_atomic_int_get() while lanes may run)...
     */
    gint status;
    /* ...and, of the last MIG_IMPORT, what it imported (one thread). */
    RmmMigImported imported;
} RmmHost;

/*
 * The RMI migration commands over the model (rmi-mig-ops.h), with an
 * RmmHost as their opaque: what the driver runs in these tests.
 */
extern const RmiMigOps rmm_host_mig_ops;

/*
 * What a host does with RAM it gives a realm: delegate every granule of
 * [@base, @base + @size) and create the RTTs down to @level
 * (rmm_rtt_create_range()).  False if a command failed.
 */
bool host_map(RmmRealm *r, uint64_t base, uint64_t size, unsigned level);

/*
 * A driver over @h (which must outlive it).  Each RAM range must start
 * a multiple of 64 granules after the first.
 */
RmeMigDriver *rmm_host_driver_new(RmmHost *h);

/* rme_mig_driver_iterate() until a pass ends with nothing dirty. */
int rmm_host_round(RmeMigDriver *d, RmmHost *h);

/*
 * Tests and fuzzer only: session keys as the project's first design
 * derived them, from a key the host holds and the session ID that
 * IMMUTABLE carries in clear (HMAC-SHA256, labels "CCA-MIG-v1 enc" and
 * "CCA-MIG-v1 token"), installed in place of the handshake's, so that
 * the tests can make streams once and open, reseal and replay their
 * records into any destination.  The handshake has tests of its own.
 */
#define HOST_KEY_SIZE   32
struct RmmMigKeys;
void host_keys(struct RmmMigKeys *k, const uint8_t key[HOST_KEY_SIZE],
               const uint8_t session[RMM_MIG_SESSION_SIZE]);
/* MIG_START with @policy (PEM), then the keys of @key, a random session. */
RmiStatus host_export_start(RmmRealm *r, const GString *policy,
                            const uint8_t key[HOST_KEY_SIZE]);
/*
 * MIG_IMPORT_START with @policy; host_import_record() installs the keys
 * of @key and the session of the first record it imports.
 */
RmiStatus host_import_start(RmmRealm *r, unsigned nr_recs,
                            const GString *policy,
                            const uint8_t key[HOST_KEY_SIZE]);
RmiStatus host_import_record(RmmRealm *r, const uint8_t *buf, size_t len,
                             RmmMigImported *out, char **err);
/* Drops what host_import_start() kept for @r (before destroying it). */
void host_forget(RmmRealm *r);

/*
 * The real handshake, as QEMU carries it: MIG_START of @src (HELLO),
 * MIG_IMPORT_START and MIG_IMPORT_HELLO of @dst (ACCEPT), MIG_ACCEPT of
 * @src.  False and *@err (g_free it) at the first command that fails.
 */
bool host_handshake(RmmRealm *src, RmmRealm *dst, unsigned nr_recs,
                    const GString *policy, char **err);

#endif /* TESTS_UNIT_RMM_HOST_H */
