/*
 * Migration of Arm CCA realms: the host's export driver
 *
 * The loop a host runs around the RMM's migration export commands,
 * whatever the RMM is behind (the emulated one under TCG, one behind
 * KVM): it reads the RMM's dirty log of protected memory, batches dirty
 * granules into DATA exports, exports RIPAS changes, closes epochs, and
 * at the end pauses the realm, drains what is left, exports one REC per
 * vCPU and END.  Records are opaque to it; it hands each to a sink.
 *
 * migration/rme-stream.c runs it inside QEMU's migration stream; the
 * unit tests and the fuzzer of the emulated RMM run the same code
 * (tests/rmm/).  Plain C and GLib, no QEMU headers.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_RME_MIG_DRIVER_H
#define MIGRATION_RME_MIG_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the driver needs of the RMM and of the stream.  An operation that
 * fails returns false and keeps its own error (in @opaque); the driver
 * then stops and returns RME_MIG_FAILED.  Each export writes one record
 * of at most RMM_MIG_RECORD_MAX bytes to @buf and sets *@len (0: nothing
 * to export).
 */
typedef struct RmeMigDriverOps {
    /*
     * MIG_DIRTY_LOG, read and clear: set bit i of @bitmap (zeroed, one
     * bit per granule of protected RAM) for granule ram_base + i * 4 KiB.
     */
    bool (*dirty_log)(void *opaque, uint64_t *bitmap);
    bool (*export_immutable)(void *opaque, uint8_t *buf, size_t *len);
    /* *@more: RIPAS changes remain for this epoch. */
    bool (*export_ripas)(void *opaque, uint8_t *buf, size_t *len,
                         bool *more);
    bool (*export_data)(void *opaque, const uint64_t *ipas, unsigned n,
                        uint8_t *buf, size_t *len);
    bool (*export_epoch)(void *opaque, uint8_t *buf, size_t *len);
    /* No REC enters from now on. */
    bool (*pause)(void *opaque);
    /*
     * Granules whose contents or RIPAS the RMM has not exported yet,
     * whether or not they were read from the log (END needs none).
     */
    uint64_t (*pending)(void *opaque);
    /* The REC of vCPU @index, with the vCPU state the host holds. */
    bool (*export_rec)(void *opaque, unsigned index, uint8_t *buf,
                       size_t *len);
    bool (*export_end)(void *opaque, uint8_t *buf, size_t *len);
    /* The record @buf[0..@len) goes out; false if the stream failed. */
    bool (*emit)(void *opaque, const uint8_t *buf, size_t len);
    /* Pre-copy: true when this iteration has sent enough (rate limit). */
    bool (*stop_iteration)(void *opaque);

    /*
     * Parallel lanes (a driver made with lanes > 0), called from the
     * driver's worker threads, one per lane, each at most once at a time
     * for its lane: export_data on lane @lane (1..lanes), then hand the
     * record to a stream of its own (emit_lane).
     */
    bool (*export_data_lane)(void *opaque, unsigned lane,
                             const uint64_t *ipas, unsigned n, uint8_t *buf,
                             size_t *len);
    bool (*emit_lane)(void *opaque, unsigned lane, const uint8_t *buf,
                      size_t len);
    /*
     * From the driver's thread, with no lane busy: every lane record
     * emitted so far reaches the destination before whatever emit()
     * sends next (the EPOCH that closes their epoch).
     */
    bool (*lanes_flush)(void *opaque);
} RmeMigDriverOps;

/* Results of the driver's steps. */
enum {
    RME_MIG_MORE = 0,           /* iterate: more to send */
    RME_MIG_DONE = 1,           /* iterate: nothing dirty left for now */
    RME_MIG_FAILED = -1,        /* an operation failed (its error) */
    RME_MIG_NOT_CONVERGED = -2, /* complete: still pending after passes */
};

/* With the VM stopped one pass exports everything; a few more at most. */
#define RME_MIG_FINAL_PASSES    8

typedef struct RmeMigDriver RmeMigDriver;

/*
 * A driver for protected RAM of @nr_granules granules from @ram_base.
 * With @lanes (at most RMM_MIG_LANES_MAX), DATA records are sealed by
 * @lanes worker threads on lanes 1..@lanes and go out through
 * ops->emit_lane, in parallel; everything else stays on lane 0 and
 * ops->emit, in order.  Epoch 0 then holds the IMMUTABLE and RIPAS map
 * only, as a lane does not carry granules whose RIPAS went in its epoch.
 */
RmeMigDriver *rme_mig_driver_new(const RmeMigDriverOps *ops, void *opaque,
                                 uint64_t ram_base, uint64_t nr_granules,
                                 unsigned lanes);
void rme_mig_driver_free(RmeMigDriver *d);

/*
 * After MIG_START: IMMUTABLE, the whole RIPAS map, and the first read of
 * the dirty log (every assigned granule).
 */
int rme_mig_driver_setup(RmeMigDriver *d);

/* Read the dirty log now (for exact pending figures). */
int rme_mig_driver_sync(RmeMigDriver *d);

/* Granules known dirty and not sent yet. */
uint64_t rme_mig_driver_dirty(const RmeMigDriver *d);

/*
 * Granules the dirty log has reported since setup (each counted again
 * when written again after it was sent): the realm's dirty rate.
 */
uint64_t rme_mig_driver_logged(const RmeMigDriver *d);

/* Granules and RIPAS records sent in the epoch still open. */
uint64_t rme_mig_driver_epoch_sent(const RmeMigDriver *d);

/* Bytes the dirty granules would take on the wire (an estimate). */
uint64_t rme_mig_driver_pending_bytes(const RmeMigDriver *d);

/*
 * Pre-copy, with RECs running: RIPAS changes, then DATA batches until
 * ops->stop_iteration(); a pass over what was dirty closes its epoch.
 * RME_MIG_DONE when a pass ended with nothing dirty; the log is read
 * again only by rme_mig_driver_sync(), as QEMU does for RAM.
 */
int rme_mig_driver_iterate(RmeMigDriver *d);

/*
 * With the VM stopped: pause, then passes until the RMM has nothing
 * left to export (at most RME_MIG_FINAL_PASSES more), then the RECs of
 * vCPUs 0..@nr_recs-1.  On RME_MIG_NOT_CONVERGED, *@left is what the RMM
 * still had pending.
 */
int rme_mig_driver_complete(RmeMigDriver *d, unsigned nr_recs,
                            uint64_t *left);

/*
 * END: from then on the destination can commit, and the source realm
 * only runs again with the destination's abort token.
 */
int rme_mig_driver_end(RmeMigDriver *d);

#endif /* MIGRATION_RME_MIG_DRIVER_H */
