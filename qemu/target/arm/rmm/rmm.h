/*
 * Emulated Arm CCA Realm Management Monitor (RMM): public interface
 *
 * The model is plain C (GLib + GnuTLS) with no QEMU headers, so that it
 * builds, is unit-tested and fuzzed on its own, and links into QEMU
 * unchanged.  Its host side is shaped after the RMI of the RMM
 * specification (DEN0137 1.0); its realm side implements the RSI.
 *
 * What the model owns: realm descriptors (RD), the realm's stage 2 state
 * per 4 KiB granule of protected IPA space (HIPAS and RIPAS), the contents
 * of protected memory (a private store the host hands over at creation and
 * never reads again), RECs, and measurements.  What the host (QEMU glue or,
 * later, KVM) owns: shared memory, devices, and the vCPU while a REC runs.
 *
 * Locking: every function that takes an RmmRealm locks the realm itself,
 * so callers need no lock of their own.  rmm_realm_s2_lookup() is safe to
 * call from any thread (vCPU threads fill TLBs without the BQL).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_H
#define RMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RMM_GRANULE_SHIFT       12
#define RMM_GRANULE_SIZE        (1ULL << RMM_GRANULE_SHIFT)
#define RMM_L2_BLOCK_SIZE       (1ULL << 21)
#define RMM_HASH_MAX            64      /* SHA-512 */
#define RMM_RPV_SIZE            64
#define RMM_NUM_REMS            4
#define RMM_MAX_RECS            512
#define RMM_CHALLENGE_SIZE      64

/* IPA widths (s2sz) the model accepts. */
#define RMM_IPA_WIDTH_MIN       32
#define RMM_IPA_WIDTH_MAX       52

/*
 * RmiFeatureRegister0.NUM_BPS / NUM_WPS (4-bit fields, number minus one):
 * the realm uses the vCPU's own debug registers, so the model reports the
 * architectural maximum of 16 breakpoints and 16 watchpoints.
 */
#define RMM_MAX_NUM_BPS         15
#define RMM_MAX_NUM_WPS         15

/* RMI status codes (RmiStatusCode). */
typedef enum RmiStatus {
    RMI_SUCCESS = 0,
    RMI_ERROR_INPUT = 1,
    RMI_ERROR_REALM = 2,
    RMI_ERROR_REC = 3,
    RMI_ERROR_RTT = 4,
} RmiStatus;

/* RSI status codes (RsiCommandReturnCode). */
typedef enum RsiStatus {
    RSI_SUCCESS = 0,
    RSI_ERROR_INPUT = 1,
    RSI_ERROR_STATE = 2,
    RSI_INCOMPLETE = 3,
    RSI_ERROR_UNKNOWN = 4,
} RsiStatus;

/* Hash algorithms (RmiHashAlgorithm). */
typedef enum RmmHashAlgo {
    RMM_HASH_SHA256 = 0,
    RMM_HASH_SHA512 = 1,
} RmmHashAlgo;

/* Realm IPA state (RmiRipas / RsiRipas). */
typedef enum RmmRipas {
    RMM_RIPAS_EMPTY = 0,
    RMM_RIPAS_RAM = 1,
    RMM_RIPAS_DESTROYED = 2,
} RmmRipas;

/* Host IPA state of a protected granule (HIPAS). */
typedef enum RmmHipas {
    RMM_HIPAS_UNASSIGNED = 0,
    RMM_HIPAS_ASSIGNED = 1,
} RmmHipas;

/* Realm lifecycle (RmmRealmState). */
typedef enum RmmRealmState {
    RMM_REALM_NEW = 0,
    RMM_REALM_ACTIVE = 1,
    RMM_REALM_SYSTEM_OFF = 2,
} RmmRealmState;

/* RmiRealmParams: the fields the model uses. */
typedef struct RmmRealmParams {
    uint64_t flags;                 /* RMI_REALM_FLAGS_* (measured) */
    uint32_t ipa_width;             /* s2sz (measured) */
    uint8_t sve_vl;                 /* (measured) */
    uint8_t num_bps;                /* (measured) */
    uint8_t num_wps;                /* (measured) */
    uint8_t pmu_num_ctrs;           /* (measured) */
    RmmHashAlgo hash_algo;          /* (measured) */
    uint8_t rpv[RMM_RPV_SIZE];      /* personalization value */
    uint16_t vmid;                  /* unique among the platform's realms */
} RmmRealmParams;

#define RMI_REALM_FLAGS_LPA2    (1ULL << 0)
#define RMI_REALM_FLAGS_SVE     (1ULL << 1)
#define RMI_REALM_FLAGS_PMU     (1ULL << 2)

/* RmiRecParams: the fields the model uses. */
typedef struct RmmRecParams {
    uint64_t flags;                 /* RMI_REC_FLAG_RUNNABLE (measured) */
    uint64_t mpidr;
    uint64_t pc;                    /* (measured) */
    uint64_t gprs[8];               /* (measured) */
} RmmRecParams;

#define RMI_REC_FLAG_RUNNABLE   (1ULL << 0)

typedef struct RmmPlatform RmmPlatform;
typedef struct RmmRealm RmmRealm;
typedef struct RmmRec RmmRec;

/*
 * Platform: the emulated CCA platform the RMM runs on (attestation keys,
 * platform claims).  One per process is enough; realms reference it.
 */
RmmPlatform *rmm_platform_new(char **err);
void rmm_platform_free(RmmPlatform *p);

/* ---- Realm lifecycle (RMI_REALM_CREATE / ACTIVATE / DESTROY) ---- */

/*
 * RMI_REALM_CREATE.  The RIM starts as the measurement of @params.
 * On failure returns an RMI status and leaves *out NULL: RMI_ERROR_INPUT
 * for an unsupported ipa_width, hash_algo, flag, sve_vl, pmu_num_ctrs,
 * num_bps or num_wps, or a vmid another live realm of @plat uses.
 */
RmiStatus rmm_realm_create(RmmPlatform *plat, const RmmRealmParams *params,
                           RmmRealm **out);

/*
 * Hand the realm a private store for protected RAM at IPA
 * [@base, @base + @size): the host's equivalent of delegating granules.
 * Both must be granule aligned and inside protected IPA space; ranges
 * may not overlap.  Only allowed while the realm is NEW.  The store must
 * outlive the realm and be zero-filled; the host never touches it again
 * except through this interface.
 */
RmiStatus rmm_realm_add_ram(RmmRealm *r, uint64_t base, uint64_t size,
                            void *store);

/* RMI_REALM_ACTIVATE: NEW -> ACTIVE; RECs may be entered from now on. */
RmiStatus rmm_realm_activate(RmmRealm *r);

/*
 * RMI_REALM_DESTROY, and all its RECs.  Always succeeds in the emulation
 * (every granule the realm used is scrubbed and given back), whatever
 * state the realm is in: tearing a realm down must never fail.
 */
void rmm_realm_destroy(RmmRealm *r);

/*
 * Writes the model makes itself to protected memory (DATA_CREATE, scrubs,
 * RSI output buffers): @fn is called after each, with the IPA range, so
 * that the host keeps its caches of that memory coherent (TCG's
 * translated code) and tracks it as dirty.  It is called with the realm
 * locked and must not call back into the model.
 */
typedef void RmmWriteFn(void *opaque, uint64_t ipa, uint64_t len);
void rmm_realm_set_write_notifier(RmmRealm *r, RmmWriteFn *fn, void *opaque);

RmmRealmState rmm_realm_state(RmmRealm *r);
const RmmRealmParams *rmm_realm_params(RmmRealm *r);

/* Protected IPA space is [0, 2^(ipa_width - 1)). */
uint64_t rmm_realm_prot_size(RmmRealm *r);

/*
 * Copy measurement @index (0 = RIM, 1..4 = REMs); returns the hash length,
 * or 0 (and leaves @out alone) for any other index.
 */
size_t rmm_realm_measurement(RmmRealm *r, unsigned index,
                             uint8_t out[RMM_HASH_MAX]);

/* ---- Stage 2 / RTT (RMI_RTT_INIT_RIPAS, RTT_SET_RIPAS, DATA_*) ---- */

/*
 * RMI_RTT_INIT_RIPAS: RIPAS RAM for [@base, @top) of a NEW realm, measured
 * once per RTT entry (2 MiB blocks where aligned, 4 KiB granules
 * elsewhere).  *out_top is where it stopped (the model always completes
 * the range).
 */
RmiStatus rmm_rtt_init_ripas(RmmRealm *r, uint64_t base, uint64_t top,
                             uint64_t *out_top);

/*
 * RMI_DATA_CREATE: copy one granule from @src (a host buffer of
 * RMM_GRANULE_SIZE bytes, the "non-secure source granule") into protected
 * memory at @ipa, measured when @measure.  Realm NEW only, RIPAS RAM,
 * HIPAS UNASSIGNED.
 */
RmiStatus rmm_data_create(RmmRealm *r, uint64_t ipa, const void *src,
                          bool measure);

/*
 * RMI_DATA_CREATE_UNKNOWN: assign a zeroed granule at @ipa (any realm
 * state but SYSTEM_OFF, HIPAS UNASSIGNED, inside a RAM range).
 */
RmiStatus rmm_data_create_unknown(RmmRealm *r, uint64_t ipa);

/* RMI_DATA_DESTROY: scrub and unassign the granule at @ipa. */
RmiStatus rmm_data_destroy(RmmRealm *r, uint64_t ipa);

/*
 * RMI_RTT_SET_RIPAS: apply the RIPAS change that @rec asked for with
 * RSI_IPA_STATE_SET (see RMM_EXIT_RIPAS_CHANGE) to [@base, @top).  @base
 * must equal the request's next address and @top not exceed its top.
 * *out_top is the first address not changed.
 */
RmiStatus rmm_rtt_set_ripas(RmmRealm *r, RmmRec *rec, uint64_t base,
                            uint64_t top, uint64_t *out_top);

/* RMI_RTT_READ_ENTRY at level 3: the state of one granule. */
RmiStatus rmm_rtt_read_entry(RmmRealm *r, uint64_t ipa, RmmHipas *hipas,
                             RmmRipas *ripas);

/*
 * Stage 2 walk for a realm access to protected @ipa (the "hardware" part
 * of the RMM's stage 2 tables).  RMM_S2_OK: mapped, *offset is the byte
 * offset of the granule in the store of RAM range *range_base.
 */
typedef enum RmmS2Result {
    RMM_S2_OK = 0,          /* RIPAS RAM, assigned */
    RMM_S2_UNASSIGNED,      /* RIPAS RAM, not assigned: exit to host */
    RMM_S2_ABORT,           /* RIPAS EMPTY or outside RAM: SEA to realm */
} RmmS2Result;

RmmS2Result rmm_realm_s2_lookup(RmmRealm *r, uint64_t ipa);

/* ---- RECs (RMI_REC_CREATE / REC_ENTER / PSCI_COMPLETE) ---- */

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
 * The REC enter gate: true while the REC may run (realm ACTIVE and REC
 * runnable).  The host must not run a vCPU whose REC may not enter.
 */
bool rmm_rec_may_enter(RmmRec *rec);

/* ---- RSI: SMC calls from the realm, and REC exits to the host ---- */

typedef enum RmmRecExitReason {
    /* Handled: results are in regs, the realm resumes. */
    RMM_EXIT_NONE = 0,
    /* The host calls rmm_rtt_set_ripas(), then rmm_rec_complete(). */
    RMM_EXIT_RIPAS_CHANGE,
    /* The host fills gprs, then calls rmm_rec_complete(). */
    RMM_EXIT_HOST_CALL,
    /*
     * The host does the PSCI work and writes the caller's result to x0;
     * for CPU_ON and AFFINITY_INFO it calls rmm_psci_complete() with the
     * target REC.
     */
    RMM_EXIT_PSCI,
    /* PSCI SYSTEM_OFF/RESET: the realm is SYSTEM_OFF. */
    RMM_EXIT_SYSTEM_OFF,
    /*
     * The call touched RIPAS RAM that is not assigned: the host assigns
     * fault_ipa (DATA_CREATE_UNKNOWN) and issues the same call again.
     */
    RMM_EXIT_S2_FAULT,
} RmmRecExitReason;

typedef struct RmmRecExit {
    RmmRecExitReason reason;
    /* RMM_EXIT_RIPAS_CHANGE */
    uint64_t ripas_base;
    uint64_t ripas_top;
    RmmRipas ripas_value;
    /* RMM_EXIT_HOST_CALL */
    uint16_t imm;
    uint64_t gprs[31];
    /* RMM_EXIT_PSCI, RMM_EXIT_SYSTEM_OFF */
    uint64_t psci_fid;
    uint64_t psci_args[3];
    /* RMM_EXIT_S2_FAULT */
    uint64_t fault_ipa;
} RmmRecExit;

#define RMM_SMC_NREGS 18

/*
 * An SMC the realm executed, function ID in regs[0].  Every SMC of a realm
 * traps to the RMM: RSI and SMCCC architecture calls are answered here,
 * PSCI calls that need the host exit to it, and any other function ID is
 * answered SMCCC NOT_SUPPORTED (-1).  On RMM_EXIT_NONE regs[0..17] hold
 * the results.  RMM_EXIT_RIPAS_CHANGE and RMM_EXIT_HOST_CALL leave the
 * call pending: the REC may not enter until rmm_rec_complete().
 */
void rmm_rec_smc(RmmRec *rec, uint64_t regs[RMM_SMC_NREGS], RmmRecExit *exit);

typedef enum RmmRipasResponse {
    RMM_RIPAS_ACCEPT = 0,
    RMM_RIPAS_REJECT = 1,
} RmmRipasResponse;

/*
 * Finish the pending REC exit: write the call's results to regs[0..17].
 * @response matters for RMM_EXIT_RIPAS_CHANGE (x1 is the first address
 * RTT_SET_RIPAS did not change, whatever the response; an ACCEPT that
 * changed nothing is answered as REJECT, so the realm never loops); @exit
 * carries the host's results for RMM_EXIT_HOST_CALL (gprs).
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

/* ---- Measurement helpers (rmm-measure.c) ---- */

size_t rmm_hash_len(RmmHashAlgo algo);

#endif /* RMM_H */
