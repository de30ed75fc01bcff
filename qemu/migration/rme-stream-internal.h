/*
 * Migration of Arm CCA realms: what the realm stream's files share
 *
 * rme-stream.c      the SaveVMHandlers of section "rme-realm": setup,
 *                   iterations, the switchover, the load of the main
 *                   channel, cleanup
 * rme-stream-lanes.c  DATA on parallel lanes (multifd channels)
 * rme-stream-rp.c   the return path (handshake answer, refusals,
 *                   tokens), the confidential guest migration handler
 *                   and the realm's query-migrate figures
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef MIGRATION_RME_STREAM_INTERNAL_H
#define MIGRATION_RME_STREAM_INTERNAL_H

#include "qemu/thread.h"
#include "qapi/qapi-types-migration.h"
#include "target/arm/rme.h"
#include "rme-mig-driver.h"

#define RME_STREAM_EOS          0x00
#define RME_STREAM_RECORD       0x01
#define RME_STREAM_SYNC         0x02
#define RME_STREAM_ENV_SIZE     10      /* kind, lane, epoch, length */

/*
 * Messages of the realm on the return path's confidential guest channel:
 * one byte of kind, then its bytes.
 */
#define RME_RP_COMMIT           0x01    /* then the commit token */
#define RME_RP_ABORT            0x02    /* then the abort token */
#define RME_RP_ACCEPT           0x03    /* then the ACCEPT record */
#define RME_RP_REFUSED          0x04    /* then why, as text (no NUL) */
#define RME_RP_REFUSED_MAX      1024

typedef struct RmeStream {
    RmeGuest *g;
    Error *blocker;
    uint8_t *buf;               /* one record (destination) */
    uint64_t nr_granules;       /* of protected RAM */
    Notifier machine_done;

    /* Source */
    bool out_active;
    bool out_ran;               /* a migration went out (and came back) */
    RmeMigDriver *drv;          /* while out_active */
    QEMUFile *f;                /* where the driver's records go */
    Error *err;                 /* of the stream's own step that failed */
    uint64_t logged;            /* rme_mig_driver_logged() last reported */
    QemuMutex token_lock;
    int token_kind;             /* RME_RP_COMMIT or _ABORT, 0: none */
    uint8_t token[RMM_MIG_TOKEN_SIZE];
    bool migrated;              /* sticky: committed elsewhere */
    bool hs_wait;               /* HELLO out, no ACCEPT taken (token_lock) */
    GBytes *accept;             /* the ACCEPT, under token_lock */
    bool refused;               /* the destination refused (token_lock) */
    bool rp_open;               /* the return path is open (token_lock) */
    QemuCond accept_cond;       /* any of the three changed */
    /* The realm's part of the switchover (rme_stream_save_complete) */
    bool completed;             /* it ran in this migration */
    uint64_t complete_ms;       /* how long, waits on the stream included */
    uint64_t final_granules;    /* DATA granules it sent */
    unsigned lanes;             /* DATA lanes (multifd), 0: none */

    /* The epochs lane records wait for (destination), under @lane_lock. */
    QemuMutex lane_lock;
    QemuCond lane_cond;
    uint32_t in_epoch;          /* EPOCH records imported */
    /*
     * The epoch being imported: DATA granules imported before it; its
     * main stream's records, time reading them and importing them.
     */
    uint64_t in_granules;
    uint64_t in_records;
    uint64_t in_read_us;
    uint64_t in_import_us;
    bool in_failed;             /* the import failed: lanes stop */
    Error *in_err;              /* why (its first error), if known */
    bool in_main_over;          /* the main channel's load has ended */
    Notifier load_end;

    /* Destination */
    bool in_active;
    bool committed;
    int sent_kind;              /* RME_RP_COMMIT or _ABORT sent, 0: none */
    uint8_t sent[RMM_MIG_TOKEN_SIZE];
} RmeStream;

/* rme-stream.c */
/* The realm's migration commands (rmi-mig-ops.h); their opaque: s->g. */
static inline const RmiMigOps *rmm(RmeStream *s)
{
    return s->g->ops->mig;
}

RmmMigPhase rme_stream_phase(RmeStream *s);
/*
 * An RMM command said @ok; if not, @errp gets what it said in *@why (or
 * that it failed).  *@why is freed; by reference, as the command that
 * sets it is an argument too.
 */
bool rme_stream_rmm(bool ok, char **why, Error **errp);
RealmMigrationState rme_stream_state(RmeStream *s);
const char *rme_stream_state_name(RmeStream *s);
/*
 * What the realm has still to send, in bytes on the wire, with @dirty
 * granules dirty (source).
 */
uint64_t rme_stream_pending_bytes(RmeStream *s, uint64_t dirty);
/* Drop the BQL around a wait in the switchover, if it is held. */
bool rme_stream_wait_begin(void);
void rme_stream_wait_end(bool relock);
/* An envelope (RME_STREAM_ENV_SIZE bytes) into @rec; false if no record's */
bool rme_stream_parse_env(const uint8_t *env, RmiMigRecord *rec);
void rme_stream_put_env(uint8_t env[RME_STREAM_ENV_SIZE],
                        const RmiMigRecord *rec);

/* rme-stream-lanes.c */
bool rme_sink_emit_lane(void *opaque, const RmiMigRecord *rec, char **err);
bool rme_sink_lanes_flush(void *opaque, char **err);
void rme_stream_lanes_load_setup(RmeStream *s);
void rme_stream_lanes_load_cleanup(RmeStream *s);
/* The import failed (@why: its first error, or NULL): lanes stop. */
void rme_stream_in_fail(RmeStream *s, const Error *why);
void rme_stream_in_epoch(RmeStream *s);
bool rme_stream_load_state_buffer(void *opaque, char *buf, size_t len,
                                  Error **errp);

/* rme-stream-rp.c */
void rme_stream_rp_init(RmeStream *s);
/* Source: the destination's ACCEPT, waited for (NULL: none came). */
GBytes *rme_stream_wait_accept(RmeStream *s);
bool rme_stream_accept(RmeStream *s, GBytes *accept);
/* Source: take the realm back, if the RMM allows it. */
bool rme_stream_abort_out(RmeStream *s, Error **errp);
/* Destination: why the realm is refused, to the source. */
void rme_stream_refuse(const Error *err);
int rme_stream_send_rp(int kind, const uint8_t *buf, size_t len);
void rme_stream_send_token(RmeStream *s, int kind, const uint8_t *token);

#endif /* MIGRATION_RME_STREAM_INTERNAL_H */
