/*
 * Emulated RMM: RECs and the realm side
 *
 * RMI_REC_CREATE and the REC enter gate (rmm-rec.c); the SMCs a realm
 * executes, answered by the RMM or turned into REC exits to the host
 * (rmm-rsi.c: RSI and SMCCC calls; rmm-psci.c: PSCI), and the host's
 * completion of those exits.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_REC_H
#define RMM_REC_H

#include "rmm.h"

/* ---- RECs (RMI_REC_CREATE, the REC enter gate), rmm-rec.c ---- */

/* RmiRecParams: the fields the model uses. */
typedef struct RmmRecParams {
    uint64_t flags;                 /* RMI_REC_FLAG_RUNNABLE (measured) */
    uint64_t mpidr;
    uint64_t pc;                    /* (measured) */
    uint64_t gprs[8];               /* (measured) */
} RmmRecParams;

/*
 * RMI_REC_CREATE, measured.  Realm NEW only.  As in DEN0137, RECs are
 * created in MPIDR order: @params->mpidr may only have Aff0[3:0],
 * Aff1, Aff2 and Aff3 set, and its REC index Aff3:Aff2:Aff1:Aff0[3:0]
 * must be the number of RECs created so far (so MPIDRs are unique).
 */
RmiStatus rmm_rec_create(RmmRealm *r, const RmmRecParams *params,
                         RmmRec **out);

unsigned rmm_realm_num_recs(RmmRealm *r);
RmmRec *rmm_realm_rec(RmmRealm *r, unsigned index);
RmmRec *rmm_realm_rec_by_mpidr(RmmRealm *r, uint64_t mpidr);
unsigned rmm_rec_index(RmmRec *rec);

/*
 * The REC's virtual counter offset (CNTVOFF), owned by the RMM: the
 * realm's virtual counter is the platform counter minus it.  0 for a REC
 * created here; for an imported REC, set at MIG_IMPORT_COMMIT so that
 * the realm's virtual counter goes on from the value it had when the REC
 * left the source, whatever the destination's counter is: it never goes
 * back across a migration.
 */
uint64_t rmm_rec_cntvoff(RmmRec *rec);

/*
 * The REC enter gate: true while the REC may run (realm ACTIVE, REC
 * runnable, no exit pending, and no migration phase that stops RECs:
 * PAUSED, ENDED, MIGRATED, IMPORTING, ABORTED).  The host must not run a
 * vCPU whose REC may not enter.
 */
bool rmm_rec_may_enter(RmmRec *rec);

/*
 * ---- The realm's SMCs (rmm-rsi.c, rmm-psci.c), and REC exits to the host
 * (rmm-rec.c) ----
 */

/* RSI status codes (RsiCommandReturnCode). */
typedef enum RsiStatus {
    RSI_SUCCESS = 0,
    RSI_ERROR_INPUT = 1,
    RSI_ERROR_STATE = 2,
    RSI_INCOMPLETE = 3,
    RSI_ERROR_UNKNOWN = 4,
} RsiStatus;

/*
 * The exit of rmm_rec_smc(): RMM_EXIT_NONE when the model answered the
 * call itself (results in regs, the realm resumes), else the REC exit's
 * RmiRecExitReason:
 * RMI_EXIT_RIPAS_CHANGE: the host calls rmm_rtt_set_ripas(), then
 *   rmm_rec_complete().
 * RMI_EXIT_HOST_CALL: the host fills gprs, then calls rmm_rec_complete().
 * RMI_EXIT_PSCI: the host does the PSCI work and writes the caller's
 *   result to x0; for CPU_ON and AFFINITY_INFO it calls
 *   rmm_psci_complete() with the target REC.  After SYSTEM_OFF and
 *   SYSTEM_RESET the realm is SYSTEM_OFF.
 * RMI_EXIT_SYNC: a stage 2 data abort of the RMM's own access for the
 *   call: it touched RIPAS RAM that is not assigned.  The host assigns
 *   fault_ipa (DATA_CREATE_UNKNOWN) and issues the same call again.
 */
#define RMM_EXIT_NONE   (-1)

typedef struct RmmRecExit {
    int reason;                 /* RMM_EXIT_NONE or RmiRecExitReason */
    /* RMI_EXIT_RIPAS_CHANGE */
    uint64_t ripas_base;
    uint64_t ripas_top;
    RmiRipas ripas_value;
    /* RMI_EXIT_HOST_CALL */
    uint16_t imm;
    uint64_t gprs[31];
    /* RMI_EXIT_PSCI */
    uint64_t psci_fid;
    uint64_t psci_args[3];
    /* RMI_EXIT_SYNC (the IPA HPFAR_EL2 reports) */
    uint64_t fault_ipa;
} RmmRecExit;

#define RMM_SMC_NREGS 18

/*
 * An SMC the realm executed, function ID in regs[0].  Every SMC of a realm
 * traps to the RMM: RSI and SMCCC architecture calls are answered here,
 * PSCI calls that need the host exit to it, and any other function ID is
 * answered SMCCC NOT_SUPPORTED (-1).  On RMM_EXIT_NONE regs[0..17] hold
 * the results.  RMI_EXIT_RIPAS_CHANGE and RMI_EXIT_HOST_CALL leave the
 * call pending: the REC may not enter until rmm_rec_complete().
 */
void rmm_rec_smc(RmmRec *rec, uint64_t regs[RMM_SMC_NREGS], RmmRecExit *exit);

typedef enum RmmRipasResponse {
    RMM_RIPAS_ACCEPT = 0,
    RMM_RIPAS_REJECT = 1,
} RmmRipasResponse;

/*
 * Finish the pending REC exit: write the call's results to regs[0..17].
 * @response matters for RMI_EXIT_RIPAS_CHANGE (x1 is the first address
 * RTT_SET_RIPAS did not change, whatever the response; an ACCEPT that
 * changed nothing is answered as REJECT, so the realm never loops); @exit
 * carries the host's results for RMI_EXIT_HOST_CALL (gprs).
 */
RmiStatus rmm_rec_complete(RmmRec *rec, RmmRipasResponse response,
                           const RmmRecExit *exit,
                           uint64_t regs[RMM_SMC_NREGS]);

/*
 * RMI_PSCI_COMPLETE for the CPU_ON / AFFINITY_INFO that @caller exited
 * with: @target is the REC the call named.  @status is PSCI SUCCESS (0),
 * or DENIED (-3) for a CPU_ON whose target is not running.  RMI_ERROR_INPUT
 * when @caller has no such call pending, @target is @caller, another
 * realm's REC or not the one named, or @status is not allowed.  For a
 * successful CPU_ON the target becomes runnable.
 */
RmiStatus rmm_psci_complete(RmmRec *caller, RmmRec *target, int32_t status);

#endif /* RMM_REC_H */
