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

#include "target/arm/rmi-mig-ops.h"

/*
 * Where the driver's records go (the stream).  Each returns false with
 * *@err (g_free it) if the stream failed; the driver then stops and
 * returns RME_MIG_FAILED.
 */
typedef struct RmeMigSink {
    /* The record goes out, in order. */
    bool (*emit)(void *opaque, const RmiMigRecord *rec, char **err);
    /* Pre-copy: true when this iteration has sent enough (rate limit). */
    bool (*stop_iteration)(void *opaque);
    /*
     * Parallel lanes (a driver made with lanes > 0): from the driver's
     * worker of lane @rec->lane, each lane one record at a time, a DATA
     * record goes out on a stream of its own.
     */
    bool (*emit_lane)(void *opaque, const RmiMigRecord *rec, char **err);
    /*
     * From the driver's thread, with no lane busy: every lane record
     * emitted so far reaches the destination before whatever emit()
     * sends next (the EPOCH that closes their epoch).
     */
    bool (*lanes_flush)(void *opaque, char **err);
} RmeMigSink;

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
 * sink->emit_lane, in parallel; everything else stays on lane 0 and
 * sink->emit, in order.  Epoch 0 then holds the IMMUTABLE and RIPAS map
 * only, as a lane does not carry granules whose RIPAS went in its epoch.
 */
RmeMigDriver *rme_mig_driver_new(const RmiMigOps *rmm, void *rmm_opaque,
                                 const RmeMigSink *sink, void *sink_opaque,
                                 uint64_t ram_base, uint64_t nr_granules,
                                 unsigned lanes);
void rme_mig_driver_free(RmeMigDriver *d);

/*
 * Why the last step returned RME_MIG_FAILED: the first error an RMM
 * command or the sink gave (NULL if none did); the caller owns it.
 */
char *rme_mig_driver_take_error(RmeMigDriver *d);

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

/*
 * Microseconds spent, in all, in the RMM's export commands on the main
 * stream (lanes not counted) and handing records to the sink.
 */
void rme_mig_driver_times(const RmeMigDriver *d, uint64_t *seal_us,
                          uint64_t *emit_us);

/* Granules and RIPAS records sent in the epoch still open. */
uint64_t rme_mig_driver_epoch_sent(const RmeMigDriver *d);

/*
 * How long rme_mig_driver_complete()'s final passes would take for
 * @dirty granules, @fresh of them never sent before, in microseconds:
 * at what exporting a granule the first time and again cost in pre-copy
 * (the latest iterations weigh most), and what reading the log costs;
 * 0 before an iteration sent anything.
 */
uint64_t rme_mig_driver_switchover_us(const RmeMigDriver *d, uint64_t dirty,
                                      uint64_t fresh);

/* Granules to send (of rme_mig_driver_dirty()) never sent before. */
uint64_t rme_mig_driver_fresh(const RmeMigDriver *d);

/*
 * Pre-copy passes completed (rme_mig_driver_iterate()): 0 until every
 * granule assigned at setup went once.
 */
uint64_t rme_mig_driver_passes(const RmeMigDriver *d);

/*
 * Pre-copy, with RECs running: RIPAS changes, then DATA batches until
 * sink->stop_iteration(); a pass over what was dirty closes its epoch.
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
