/*
 * Emulated RMM: migration, a proposed RMI extension
 * (docs/system/arm/cca-migration.rst)
 *
 * The source's commands (rmm-mig-export.c), the destination's
 * (rmm-mig-import.c, rmm-mig-import-records.c), the attested handshake
 * between the two RMMs (rmm-mig-handshake.c) under the realm's
 * migration policy (rmm-mig-policy.c), the session and its dirty log
 * (rmm-mig.c) and the records they exchange (rmm-mig-record.c; their
 * header and types are the specification level of ../rmi-mig.h).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MIG_H
#define RMM_MIG_H

#include "rmm.h"
#include "../rmi-mig-ops.h"    /* RmiMigRecord: a record and its envelope */

/*
 * The source RMM exports a realm as a sequence of self-delimiting records
 * (the "Record format" of ../rmi-mig.h); the destination RMM imports them
 * in the same order.  The host moves records without being able to read or
 * forge them: first the two RMMs run an attested ECDH handshake (HELLO
 * from the source, ACCEPT from the destination; rmm-mig-handshake.c),
 * each checking the other's platform identity against the realm's
 * migration policy, and every later record is AES-256-GCM sealed under a
 * session key of that handshake that no host holds, with a sequence
 * number that increases by one for every sealed unit (so a dropped,
 * duplicated, swapped, replayed or reordered record is rejected), and
 * associated data binding session, record type, lane, epoch, sequence
 * number and, for data, the GPA and its RIPAS.  DATA may also go on
 * parallel lanes, numbered per lane and taken in any order within their
 * epoch (rmm_mig_export_data_lane()).
 *
 * Source:  rmm_mig_export_start (HELLO) -> rmm_mig_export_accept (ACCEPT)
 *          -> IMMUTABLE -> { RIPAS, DATA..., EPOCH }*
 *          -> rmm_mig_export_pause -> RIPAS, DATA..., EPOCH -> REC x n
 *          -> END -> rmm_mig_commit_ack (MIGRATED) or rmm_mig_export_abort.
 * Dest:    rmm_realm_create + rmm_realm_add_ram + GRANULE_DELEGATE of the
 *          RAM -> rmm_mig_import_start (with the REC count the source
 *          must have) -> rmm_mig_import_hello (HELLO in, ACCEPT out)
 *          -> rmm_mig_import_record() for every record, in order
 *          -> rmm_mig_import_commit (ACTIVE, first REC enter allowed) or
 *          rmm_mig_import_abort.
 */

/* A record's header, as parsed (no cryptography, no realm state). */
typedef struct RmmMigRecordView {
    RmmMigRecordType type;
    unsigned lane;              /* 0: ordered; DATA: 1..RMM_MIG_LANES_MAX */
    uint32_t length;
    uint32_t epoch;
    uint64_t seq;
    const uint8_t *body;        /* points into the parsed buffer */
    size_t body_len;
} RmmMigRecordView;

/*
 * Parse and check the header of the record in @buf[0..@len): magic,
 * version, type, reserved bits, length == @len and bounds of the body
 * for the type.  A pure function over bytes.  Returns false and sets
 * *@err (g_free it) naming the field that is wrong.
 */
bool rmm_mig_record_parse(const uint8_t *buf, size_t len,
                          RmmMigRecordView *v, char **err);

RmmMigPhase rmm_mig_phase(RmmRealm *r);

void rmm_mig_stats(RmmRealm *r, RmmMigStats *out);

/*
 * Every change of the realm's migration phase (rmm_mig_phase()): @fn is
 * called with the old and the new phase, with the realm locked; it must
 * not call back into the model.  For the host's traces.
 */
typedef void RmmMigPhaseFn(void *opaque, RmmMigPhase from, RmmMigPhase to);
void rmm_realm_set_phase_notifier(RmmRealm *r, RmmMigPhaseFn *fn,
                                  void *opaque);

/*
 * The migration policy (docs/system/arm/cca-migration.rst, "Migration
 * policy"): a PEM file of trust anchors ("CERTIFICATE"), pinned platform
 * keys ("PUBLIC KEY") and at most one "CCA MIGRATION REQUIREMENTS"
 * block.  The whole file is what the realm measures.
 *
 * RMM_MIG_EKU_DEFAULT is the extended key usage a peer platform's
 * certificate must have when the policy names none: a placeholder under
 * the IANA "experimental" arc (1.3.6.1.3, RFC 1155), not assigned to
 * this project by anybody.  Deployments set their own (eku ...).
 */
#define RMM_MIG_EKU_DEFAULT     "1.3.6.1.3.2026.24.1"

/*
 * Check the policy text @pem[0..@len) as MIG_START would parse it (for
 * the host, to refuse a bad policy when the realm is configured rather
 * than when it migrates).  False and *@err (one line naming the line
 * or field that is wrong; g_free it) if it is not a policy.
 */
bool rmm_mig_policy_check(const uint8_t *pem, size_t len, char **err);

/*
 * MIG_START: an ACTIVE realm with no migration (or an aborted one) starts
 * a session: the host passes the realm's migration policy
 * (@policy[0..@policy_len), see rmm_mig_policy_check()) whose SHA-512
 * must be the measured RmiRealmParams.mig_policy (RMI_ERROR_REALM if
 * the realm has none, RMI_ERROR_INPUT if it differs or is not a
 * policy), and gets the HELLO record
 * (at most RMM_MIG_HS_MAX bytes) in @buf.  Every assigned granule is
 * logged dirty, every granule marked for RIPAS export; RECs keep
 * running.  Nothing is sealed before rmm_mig_export_accept().  *@err
 * (may be NULL) says why on failure.
 */
RmiStatus rmm_mig_export_start(RmmRealm *r, const uint8_t *policy,
                               size_t policy_len, uint8_t *buf, size_t cap,
                               size_t *len, char **err);

/*
 * MIG_ACCEPT: the destination's answer to the HELLO.  Its platform must
 * be one the policy admits (certificate chaining to an anchor or key
 * pinned, fit for migration; platform token claims within the policy's
 * requirements) and its evidence bind the HELLO and its share; then the
 * session keys are derived.  One answer per HELLO:
 * on RMI_ERROR_INPUT (and *@err) the session can only be aborted.
 */
RmiStatus rmm_mig_export_accept(RmmRealm *r, const uint8_t *buf, size_t len,
                                char **err);

/*
 * The host reports guest writes to protected memory that the model did
 * not make itself (the emulation's stand-in for hardware dirty bits).
 * Writes the model makes (DATA_CREATE_UNKNOWN, scrubs, RSI output) and
 * assignment changes are logged by the model.  Only assigned granules
 * are logged; nothing is while the phase is not EXPORTING or PAUSED.
 *
 * Besides the host's log, the model keeps for each granule whether its
 * current contents have been exported ("pending", RmmMigStats): reading
 * the log does not clear that, only a DATA record does (or the granule
 * being unassigned).  A host that read the log must export what it read.
 */
void rmm_mig_log_write(RmmRealm *r, uint64_t ipa, uint64_t len);

/*
 * MIG_DIRTY_LOG: read and clear the dirty log of [@base, @base + n
 * granules): bit i of @bitmap (64-bit words, caller zeroed) is set for
 * granule @base + i * 4 KiB.  Returns the number of granules set.
 */
uint64_t rmm_mig_dirty_log(RmmRealm *r, uint64_t base, uint64_t n,
                           uint64_t *bitmap);

/*
 * MIG_EXPORT_*: each writes one record to @buf (at most @cap bytes) and
 * sets *@len.  RMI_ERROR_INPUT if @cap is too small or an argument is
 * bad, RMI_ERROR_REALM in the wrong phase.
 *
 * IMMUTABLE: first record of a session (phase EXPORTING or PAUSED,
 *   nothing exported).
 * RIPAS, DATA, EPOCH: phase EXPORTING or PAUSED, after IMMUTABLE, before
 *   the first REC.  A granule goes at most once per epoch in RIPAS
 *   records and once in DATA records: a later change waits for the next
 *   epoch.
 * RIPAS: runs for granules whose RIPAS or HIPAS changed since their last
 *   export, in IPA order, as many as fit; *@more is set when some remain
 *   for this epoch.  A RIPAS record with no runs is never produced
 *   (*@len = 0).
 * DATA: the granules at @ipas[0..@n) (1 <= n <= RMM_MIG_BATCH_MAX, each
 *   in a RAM range), each with its RIPAS (RAM, or EMPTY for an assigned
 *   granule the realm set EMPTY); granules no longer assigned are skipped
 *   (their RIPAS record tells the destination), and so are granules
 *   already sent in this epoch (they stay in the dirty log);
 *   *@exported counts the ones sealed; *@len = 0 when none were.
 * DATA on a lane (rmm_mig_export_data_lane(), @lane 1..RMM_MIG_LANES_MAX;
 *   lane 0 is rmm_mig_export_data()): the same, numbered in the lane,
 *   and sealed without the realm lock, so that host threads seal in
 *   parallel (and the destination may take the records in any order
 *   within their epoch).  Granules whose RIPAS went in this epoch are
 *   skipped (kept in the log), and a granule sent on a lane has its
 *   RIPAS changes wait for the next epoch: lanes are not ordered with
 *   lane 0.  The host carries each record before the EPOCH that closes
 *   its epoch; RIPAS, EPOCH, REC and END are refused while a lane's DATA
 *   is being sealed.
 * EPOCH: closes the current epoch; the next records carry epoch + 1.
 * REC: phase PAUSED, once an EPOCH was exported; @ctx is the host's
 *   view of the vCPU (registers the emulation keeps in the host, at most
 *   RMM_MIG_REC_CTX_MAX bytes), sealed together with the REC's RMM state.
 *   RECs are exported in index order, each once.  The first one needs
 *   every granule's contents and RIPAS exported (RMI_ERROR_REALM
 *   otherwise), and freezes the realm: from then on, and until the
 *   session is aborted, the host's RTT_SET_RIPAS, DATA_CREATE_UNKNOWN,
 *   DATA_DESTROY, rmm_rec_complete() and rmm_psci_complete() fail with
 *   RMI_ERROR_REALM (as they do in ENDED and MIGRATED, and on a
 *   destination until it commits).
 * END: phase PAUSED, once an EPOCH was exported, every REC exported,
 *   nothing pending and no RIPAS change pending, realm ACTIVE (not
 *   SYSTEM_OFF); moves to ENDED.
 * A host that finds granules or RIPAS changes deferred to the next epoch
 * (RmmMigStats pending_granules, ripas_pending_granules) closes the
 * epoch and exports them in the next one.
 *
 * While RECs may not enter (PAUSED and later), rmm_rec_smc() answers any
 * call with RSI_ERROR_STATE and changes nothing.
 */
RmiStatus rmm_mig_export_immutable(RmmRealm *r, uint8_t *buf, size_t cap,
                                   size_t *len);
RmiStatus rmm_mig_export_ripas(RmmRealm *r, uint8_t *buf, size_t cap,
                               size_t *len, bool *more);
RmiStatus rmm_mig_export_data(RmmRealm *r, const uint64_t *ipas, unsigned n,
                              uint8_t *buf, size_t cap, size_t *len,
                              unsigned *exported);
RmiStatus rmm_mig_export_data_lane(RmmRealm *r, unsigned lane,
                                   const uint64_t *ipas, unsigned n,
                                   uint8_t *buf, size_t cap, size_t *len,
                                   unsigned *exported);
RmiStatus rmm_mig_export_epoch(RmmRealm *r, uint8_t *buf, size_t cap,
                               size_t *len);
RmiStatus rmm_mig_export_rec(RmmRec *rec, const void *ctx, size_t ctx_len,
                             uint8_t *buf, size_t cap, size_t *len);

/*
 * The REC's architectural state the RMM owns in a REC record, at the
 * realm's sizes: SVE (Z0-Z31, P0-P15, FFR at its vector length, and
 * ZCR_EL1), the PMU (control, its pmu_num_ctrs event counters and
 * types, the cycle counter, overflow state) and the breakpoints and
 * watchpoints it has (num_bps + 1, num_wps + 1), with MDSCR_EL1.  What
 * lies beyond the realm's sizes is neither sealed nor restored (zero
 * after an import).  The import checks it fits the realm: ZCR_EL1.LEN
 * within sve_vl, PMCR_EL0.N equal to pmu_num_ctrs, no counter beyond
 * them enabled, selected or overflowed.
 */
#define RMM_REC_ARCH_VL_MAX     256     /* bytes: a 2048-bit vector */
typedef struct RmmRecArch {
    uint64_t zcr_el1;
    uint8_t z[32][RMM_REC_ARCH_VL_MAX];
    uint8_t p[16][RMM_REC_ARCH_VL_MAX / 8];
    uint8_t ffr[RMM_REC_ARCH_VL_MAX / 8];
    uint64_t pmcr_el0, pmcntenset, pmintenset, pmovsset;
    uint64_t pmccntr, pmccfiltr, pmselr, pmuserenr;
    uint64_t pmevcntr[31], pmevtyper[31];
    uint64_t mdscr_el1;
    uint64_t bvr[16], bcr[16], wvr[16], wcr[16];
} RmmRecArch;

/* Its size in a REC record of a realm with @p (0: none, nothing to own). */
size_t rmm_rec_arch_size(const RmiRealmParams *p);
/*
 * REC with the REC's architectural state @arch too (required when the
 * realm has SVE or a PMU: RMI_ERROR_INPUT without it).
 */
RmiStatus rmm_mig_export_rec_arch(RmmRec *rec, const void *ctx,
                                  size_t ctx_len, const RmmRecArch *arch,
                                  uint8_t *buf, size_t cap, size_t *len);
RmiStatus rmm_mig_export_end(RmmRealm *r, uint8_t *buf, size_t cap,
                             size_t *len);

/* EXPORTING -> PAUSED: no REC enters from now on. */
RmiStatus rmm_mig_export_pause(RmmRealm *r);

/*
 * MIG_COMMIT_ACK: ENDED -> MIGRATED when @token is the destination's
 * commit token for this session; RMI_ERROR_INPUT otherwise (another
 * session's token, an abort token, NULL), RMI_ERROR_REALM when not
 * ENDED.  A MIGRATED realm never runs again; rmm_realm_destroy() still
 * succeeds.
 */
RmiStatus rmm_mig_commit_ack(RmmRealm *r,
                             const uint8_t token[RMM_MIG_TOKEN_SIZE]);

/*
 * MIG_ABORT: back to no migration, realm ACTIVE with its memory intact
 * and RECs runnable as before.  From EXPORTING or PAUSED @token may be NULL
 * (the destination cannot have committed: it lacks the END record).
 * From ENDED only the destination's abort token for this session is
 * accepted (RMI_ERROR_INPUT otherwise): the destination may have
 * committed.  RMI_ERROR_REALM when MIGRATED or not migrating.
 */
RmiStatus rmm_mig_export_abort(RmmRealm *r, const uint8_t *token);

/*
 * Destination.  MIG_IMPORT_START: a NEW realm with its RAM ranges, every
 * granule of them delegated (GRANULE_DELEGATE), and no data, RIPAS or
 * RECs enters IMPORTING (RMI_ERROR_REALM otherwise), for a source with
 * @nr_recs RECs (the destination's vCPUs, 1..RMM_MAX_RECS, else
 * RMI_ERROR_INPUT): IMMUTABLE, before any page, is refused when the
 * source has another number.  @policy is this realm's migration policy,
 * as for rmm_mig_export_start().  From then on only the import changes
 * it: RMI_REALM_ACTIVATE, ADD_RAM, RTT_INIT_RIPAS, DATA_CREATE(_UNKNOWN),
 * DATA_DESTROY and REC_CREATE fail with RMI_ERROR_REALM (for good once
 * the import is aborted).
 */
RmiStatus rmm_mig_import_start(RmmRealm *r, unsigned nr_recs,
                               const uint8_t *policy, size_t policy_len,
                               char **err);

/*
 * MIG_IMPORT_HELLO: the source's HELLO (policy hash equal to this
 * realm's, platform admitted by the policy as for MIG_ACCEPT, evidence
 * binding its share) answered with this RMM's ACCEPT in @buf (at most
 * RMM_MIG_HS_MAX bytes); the session keys are derived.  On failure
 * (*@err) the import can only be aborted.
 */
RmiStatus rmm_mig_import_hello(RmmRealm *r, const uint8_t *hello, size_t len,
                               uint8_t *buf, size_t cap, size_t *out_len,
                               char **err);

/* What rmm_mig_import_record() did. */
typedef struct RmmMigImported {
    RmmMigRecordType type;
    unsigned granules;          /* DATA: granules imported */
    unsigned ripas_runs;        /* RIPAS */
    RmmRec *rec;                /* REC: the REC created */
    /* REC: the host's vCPU context, valid until the next call. */
    const uint8_t *rec_ctx;
    size_t rec_ctx_len;
    /* REC: its architectural state, checked (NULL: the record had none) */
    const RmmRecArch *rec_arch;
} RmmMigImported;

/*
 * MIG_IMPORT_*: import the next record.  Checks, in order: phase,
 * header (rmm_mig_record_parse), sequence number, epoch, record order,
 * authentication, then the body.  On error nothing of the record is
 * applied, *@err (may be NULL) names the record and the reason, as in
 * "DATA record seq 812: authentication failed (wrong migration key or
 * tampered record) ..." or "IMMUTABLE: ipa_width mismatch: source 41,
 * destination 42", and the session can only be aborted (RMI_ERROR_REALM
 * for any further record).
 * IMMUTABLE: first; compares the source's parameters with this realm's
 *   (IPA width, hash algorithm, flags, SVE VL, breakpoints, watchpoints,
 *   PMU counters, personalization value, RAM layout) and adopts its RIM
 *   and REC count.
 * RIPAS / DATA: the newest record wins; a granule may appear once per
 *   epoch in each.  A RIPAS run sets RIPAS and HIPAS (an unassigned
 *   granule is scrubbed; a newly assigned one is zero until its DATA);
 *   DATA assigns the granule, with the RIPAS it carries, and writes it.
 * REC: once an EPOCH was imported, in index order; creates the REC; no
 *   DATA, RIPAS or EPOCH may follow.
 * END: last; checks every REC arrived; adopts the REMs.
 */
RmiStatus rmm_mig_import_record(RmmRealm *r, const uint8_t *buf, size_t len,
                                RmmMigImported *out, char **err);

/*
 * MIG_IMPORT of @rec as the host carried it: rmm_mig_import_record() of
 * @rec->buf[0..@rec->len), refused like a bad header (and the session
 * failed) when the host's envelope (@rec->kind, lane, epoch) is not what
 * the record says.
 */
RmiStatus rmm_mig_import(RmmRealm *r, const RmiMigRecord *rec,
                         RmmMigImported *out, char **err);

/*
 * MIG_IMPORT_COMMIT: after END, IMPORTING -> ACTIVE (RECs may enter,
 * phase NONE) and the commit token for the source.  RMI_ERROR_REALM and
 * *@err (may be NULL) if the import is incomplete or failed.
 */
RmiStatus rmm_mig_import_commit(RmmRealm *r,
                                uint8_t token[RMM_MIG_TOKEN_SIZE],
                                char **err);

/*
 * MIG_IMPORT_ABORT: IMPORTING -> ABORTED (never runs; destroy only).
 * Returns true and the abort token for the source when the session is
 * known (IMMUTABLE was authenticated), false otherwise; again the same
 * when called again.  A realm that is not importing (one that committed)
 * is left alone: false.  @token may be NULL.
 */
bool rmm_mig_import_abort(RmmRealm *r, uint8_t token[RMM_MIG_TOKEN_SIZE]);

#endif /* RMM_MIG_H */
