/*
 * The proposed RMI migration commands, as a host calls them
 *
 * One table of operations, one per migration command of the proposed
 * interface (docs/system/arm/cca-migration.rst, "The proposed RMI
 * migration commands").  Each realm backend implements it directly over
 * its RMM and takes its own locks: the emulated RMM under TCG
 * (target/arm/tcg/rme-tcg-migrate.c), a KVM CCA host
 * (target/arm/kvm-rme-migrate.c), and the model's unit tests
 * (tests/unit/rmm-host.c, which the fake KVM of
 * tests/unit/kvm-rme-fake.c uses as its kernel side too).  The host's
 * export driver (migration/rme-mig-driver.c) and QEMU's realm stream
 * (migration/rme-stream.c) call it.
 *
 * Unstable: no RMM specification defines migration commands yet; this
 * interface changes with the proposal.  Plain C, no QEMU headers.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_ARM_RMI_MIG_OPS_H
#define TARGET_ARM_RMI_MIG_OPS_H

#include "rmi-mig.h"

/*
 * One record of the RMM and what the host's envelope says of it.  The
 * record's bytes are the RMM's own (sealed, opaque to the host); the
 * envelope is the host's: an export fills it from the record it made, a
 * stream carries it in front of the record, and an import hands it back
 * to the RMM, which refuses a record whose envelope differs from what
 * the record says.  Nothing of the envelope is trusted.
 */
typedef struct RmiMigRecord {
    uint8_t kind;               /* RmmMigRecordType */
    uint8_t lane;               /* 0: in order; DATA 1..RMM_MIG_LANES_MAX */
    uint32_t epoch;
    uint32_t len;               /* bytes at @buf; 0: nothing exported */
    uint8_t *buf;               /* RMM_MIG_RECORD_MAX bytes, the caller's */
} RmiMigRecord;

/*
 * Every operation takes the backend's @opaque (what the table was given
 * with) and, on failure, returns false with *@err set to one line that
 * says why (g_free it; @err may be NULL).  Exports write one record to
 * @rec->buf and set the rest of @rec; @rec->len is 0 when there was
 * nothing to export.  Unless an operation says otherwise it is called
 * from one thread at a time, the backend's own locks taken inside.
 */
typedef struct RmiMigOps {
    /*
     * Source.  MIG_START with the realm's migration policy: the HELLO
     * of the handshake (at most RMM_MIG_HS_MAX bytes).
     */
    bool (*start)(void *opaque, RmiMigRecord *hello, char **err);
    /* MIG_ACCEPT: the destination's answer; records may be sealed now. */
    bool (*accept)(void *opaque, const RmiMigRecord *accept, char **err);
    /*
     * MIG_DIRTY_LOG (read and clear) of all protected RAM, with the
     * guest writes the backend tracks itself: sets bit i of @bitmap
     * (zeroed by the caller) for granule ram_base + i * 4 KiB, and *@n
     * to the number of granules it set.
     */
    bool (*dirty_log)(void *opaque, uint64_t *bitmap, uint64_t *n,
                      char **err);
    /* MIG_EXPORT_IMMUTABLE */
    bool (*export_immutable)(void *opaque, RmiMigRecord *rec, char **err);
    /* MIG_EXPORT_RIPAS; *@more: changes remain for this epoch. */
    bool (*export_ripas)(void *opaque, RmiMigRecord *rec, bool *more,
                         char **err);
    /*
     * MIG_EXPORT_DATA of the granules at @ipas[0..@n) on @lane: lane 0
     * in order with every other command; lanes 1..RMM_MIG_LANES_MAX
     * from several threads at once (the RMM seals lanes in parallel),
     * each lane from one thread at a time.
     */
    bool (*export_data)(void *opaque, unsigned lane, const uint64_t *ipas,
                        unsigned n, RmiMigRecord *rec, char **err);
    /* MIG_EXPORT_EPOCH: closes the epoch. */
    bool (*export_epoch)(void *opaque, RmiMigRecord *rec, char **err);
    /* MIG_PAUSE: no REC enters from now on. */
    bool (*pause)(void *opaque, char **err);
    /* MIG_EXPORT_REC of REC @index, with the vCPU state the host holds. */
    bool (*export_rec)(void *opaque, unsigned index, RmiMigRecord *rec,
                       char **err);
    /* MIG_EXPORT_END */
    bool (*export_end)(void *opaque, RmiMigRecord *rec, char **err);
    /*
     * MIG_COMMIT_ACK with the destination's commit token: the realm is
     * MIGRATED and never runs here again.
     */
    bool (*commit_ack)(void *opaque, const uint8_t *token, char **err);
    /*
     * MIG_ABORT: the realm runs here again.  @token is the destination's
     * abort token (RMM_MIG_TOKEN_SIZE bytes), or NULL before END.
     */
    bool (*abort)(void *opaque, const uint8_t *token, char **err);

    /*
     * Destination.  MIG_IMPORT_START into a NEW realm made from the
     * rme-guest's parameters (one prepared at reset, or made now).
     */
    bool (*import_start)(void *opaque, char **err);
    /* MIG_IMPORT_HELLO: the source's HELLO in, this RMM's ACCEPT out. */
    bool (*import_hello)(void *opaque, const RmiMigRecord *hello,
                         RmiMigRecord *accept, char **err);
    /*
     * MIG_IMPORT of the next record (a REC record also restores its
     * vCPU).  Records of lanes 1.. come from several threads at once.
     */
    bool (*import)(void *opaque, const RmiMigRecord *rec, char **err);
    /* MIG_IMPORT_COMMIT: RECs may enter; @token goes to the source. */
    bool (*import_commit)(void *opaque, uint8_t *token, char **err);
    /*
     * MIG_IMPORT_ABORT: the realm never runs here.  True and @token when
     * the source should get one (the session was known).
     */
    bool (*import_abort)(void *opaque, uint8_t *token);

    /*
     * MIG_STATUS: the realm's migration phase (RMM_MIG_NONE: no realm),
     * and its figures in @st unless NULL.
     */
    RmmMigPhase (*status)(void *opaque, RmmMigStats *st);
} RmiMigOps;

/*
 * For a backend: fill @rec's envelope from the record at @rec->buf that
 * its RMM made (@rec->len bytes).  False if it is none.
 */
static inline bool rmi_mig_record_describe(RmiMigRecord *rec)
{
    const uint8_t *h = rec->buf;

    if (rec->len < RMM_MIG_HEADER_SIZE ||
        rmi_mig_record_length(h) != rec->len) {
        return false;
    }
    rec->kind = h[RMM_MIG_HDR_TYPE];
    rec->lane = h[RMM_MIG_HDR_LANE];
    rec->epoch = rmi_ld32(h + RMM_MIG_HDR_EPOCH);
    return true;
}

#endif /* TARGET_ARM_RMI_MIG_OPS_H */
