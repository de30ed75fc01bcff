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

#include "../rmi.h"            /* RMI types of the specification */
#include "../rmi-mig.h"        /* granule, migration record format */

#define RMM_L2_BLOCK_SIZE       (1ULL << 21)
#define RMM_NUM_REMS            4
#define RMM_MAX_RECS            512
#define RMM_CHALLENGE_SIZE      64

/*
 * RmiFeatureRegister0.NUM_BPS / NUM_WPS (4-bit fields, number minus one):
 * the realm uses the vCPU's own debug registers, so the model reports the
 * architectural maximum of 16 breakpoints and 16 watchpoints.
 */
#define RMM_MAX_NUM_BPS         15
#define RMM_MAX_NUM_WPS         15

/* RSI status codes (RsiCommandReturnCode). */
typedef enum RsiStatus {
    RSI_SUCCESS = 0,
    RSI_ERROR_INPUT = 1,
    RSI_ERROR_STATE = 2,
    RSI_INCOMPLETE = 3,
    RSI_ERROR_UNKNOWN = 4,
} RsiStatus;

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

/* RmiRecParams: the fields the model uses. */
typedef struct RmmRecParams {
    uint64_t flags;                 /* RMI_REC_FLAG_RUNNABLE (measured) */
    uint64_t mpidr;
    uint64_t pc;                    /* (measured) */
    uint64_t gprs[8];               /* (measured) */
} RmmRecParams;

typedef struct RmmPlatform RmmPlatform;
typedef struct RmmRealm RmmRealm;
typedef struct RmmRec RmmRec;

/*
 * Platform: the emulated CCA platform the RMM runs on (attestation keys,
 * platform claims).  One per process is enough; realms reference it.
 */
RmmPlatform *rmm_platform_new(char **err);

/*
 * The platform's physical counter (CNTPCT) as the RMM reads it: on
 * hardware a register, in the emulation the host's clock.  The RMM keeps
 * each REC's virtual counter offset (rmm_rec_cntvoff()) relative to it.
 */
typedef uint64_t RmmCounterFn(void *opaque);
void rmm_platform_set_counter(RmmPlatform *p, RmmCounterFn *fn,
                              void *opaque);
void rmm_platform_free(RmmPlatform *p);

/*
 * A platform with an identity: @pem[0..@len) holds its CCA platform
 * attestation key (ECDSA P-384, unencrypted PKCS#8 or SEC1) and X.509
 * certificates, the key's first, each issued and signed by the next
 * (rmm-identity.c).  The platform token is signed with that key, so the
 * platform is the same across restarts.  NULL and *err (naming what is
 * wrong; g_free it) when the file is not such an identity.
 */
RmmPlatform *rmm_platform_new_identity(const char *pem, size_t len,
                                       char **err);
/* Certificates of the platform's identity (0: an ephemeral platform). */
unsigned rmm_platform_identity_chain_len(RmmPlatform *p);

/*
 * What the emulated platform says about itself in its platform token
 * (rmm-attest.c): the claims a migration policy checks in a peer's
 * token.  A real platform's boot chain measures these; here they are
 * the emulation's fixed values unless set, so that an operator or a
 * test can make a platform that a policy refuses (a "debug" platform
 * with a non-secured lifecycle, another implementation, older
 * firmware).
 */
#define RMM_PLATFORM_SW_COMPONENTS  3       /* BL1, BL31, RMM */
#define RMM_PLATFORM_ID_SIZE        32      /* SHA-256 */
#define RMM_PLATFORM_VERSION_MAX    16      /* with the NUL */

/* PSA / CCA security lifecycle "CCA platform secured" */
#define RMM_LIFECYCLE_SECURED_MIN   0x3000
#define RMM_LIFECYCLE_SECURED_MAX   0x30ff

typedef struct RmmPlatformClaims {
    uint16_t lifecycle;             /* default RMM_LIFECYCLE_SECURED_MIN */
    uint8_t implementation_id[RMM_PLATFORM_ID_SIZE];
    struct {
        uint8_t measurement[RMM_PLATFORM_ID_SIZE];
        uint8_t signer_id[RMM_PLATFORM_ID_SIZE];
        char version[RMM_PLATFORM_VERSION_MAX];     /* e.g. "1.0.0" */
    } sw[RMM_PLATFORM_SW_COMPONENTS];
} RmmPlatformClaims;

/* The claims @p reports. */
void rmm_platform_get_claims(RmmPlatform *p, RmmPlatformClaims *c);

/*
 * Make @p report @c from now on.  Only on a platform with no realm
 * (false and *@err otherwise, or when a version is empty or not
 * NUL-terminated).
 */
bool rmm_platform_set_claims(RmmPlatform *p, const RmmPlatformClaims *c,
                             char **err);

/* ---- Realm lifecycle (RMI_REALM_CREATE / ACTIVATE / DESTROY) ---- */

/*
 * RMI_REALM_CREATE.  The RIM starts as the measurement of @params.
 * On failure returns an RMI status and leaves *out NULL: RMI_ERROR_INPUT
 * for an unsupported ipa_width, hash_algo, flag, sve_vl, pmu_num_ctrs,
 * num_bps or num_wps, or a vmid another live realm of @plat uses.
 */
RmiStatus rmm_realm_create(RmmPlatform *plat, const RmiRealmParams *params,
                           RmmRealm **out);

/*
 * Hand the realm a private store for protected RAM at IPA
 * [@base, @base + @size): the realm's share of the platform's delegable
 * physical memory.  Both must be granule aligned and inside protected
 * IPA space; ranges may not overlap.  Only allowed while the realm is
 * NEW.  The store must outlive the realm and be zero-filled; the host
 * never touches it again except through this interface.
 *
 * Physical addresses in the emulation: the granule of the store that
 * backs IPA x has physical address x (a realm's memory is identity
 * mapped, the one constraint of the emulation: a DATA granule is mapped
 * at the IPA equal to its PA, so the DATA commands take one address for
 * both).  Its granules start UNDELEGATED; the host delegates them
 * (rmm_granule_delegate) before DATA_CREATE.  The model keeps its RDs,
 * RECs and RTTs in memory of its own, not in delegated granules.
 */
RmiStatus rmm_realm_add_ram(RmmRealm *r, uint64_t base, uint64_t size,
                            void *store);

/* ---- Granules (RMI_GRANULE_DELEGATE / UNDELEGATE) ---- */

/*
 * RmmGranuleState of DEN0137, the states a granule of a realm's memory
 * takes here.  The specification's RD, REC and RTT states never occur:
 * the model keeps its RDs, RECs and RTTs in memory of its own (see
 * rmm_realm_add_ram).
 */
typedef enum RmmGranuleState {
    RMM_GRANULE_UNDELEGATED = 0,
    RMM_GRANULE_DELEGATED,
    RMM_GRANULE_DATA,
} RmmGranuleState;

/*
 * RMI_GRANULE_DELEGATE of the granule at physical address @pa of @r's
 * memory: UNDELEGATED -> DELEGATED.  RMI_ERROR_INPUT if @pa is not
 * aligned, not memory of @r, or the granule is not UNDELEGATED.
 */
RmiStatus rmm_granule_delegate(RmmRealm *r, uint64_t pa);

/*
 * RMI_GRANULE_UNDELEGATE: DELEGATED -> UNDELEGATED, contents scrubbed.
 * RMI_ERROR_INPUT as for DELEGATE, or if the granule is not DELEGATED
 * (a DATA granule is in use; so is one a migration lane is opening the
 * realm's data into: it is DATA from the moment the lane takes it).
 * Waits while a migration lane seals or opens the granule.
 */
RmiStatus rmm_granule_undelegate(RmmRealm *r, uint64_t pa);

/* The state of the granule at @pa (UNDELEGATED outside @r's memory). */
RmmGranuleState rmm_granule_state(RmmRealm *r, uint64_t pa);

/* Host convenience: DELEGATE every granule of [@base, @top). */
RmiStatus rmm_granule_delegate_range(RmmRealm *r, uint64_t base,
                                     uint64_t top);

/* RMI_REALM_ACTIVATE: NEW -> ACTIVE; RECs may be entered from now on. */
RmiStatus rmm_realm_activate(RmmRealm *r);

/*
 * RMI_REALM_DESTROY, and all its RECs.  Always succeeds in the emulation
 * (every granule the realm used is scrubbed and given back), whatever
 * state the realm is in: tearing a realm down must never fail.  Waits
 * for the migration lanes in flight (rmm_mig_export_data_lane(),
 * rmm_mig_import_record() of a lane's record) to finish first; the host
 * starts no command of @r once it called this.
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

/*
 * Every change of the realm's migration phase (rmm_mig_phase()): @fn is
 * called with the old and the new phase, with the realm locked; it must
 * not call back into the model.  For the host's traces.
 */
typedef void RmmMigPhaseFn(void *opaque, RmmMigPhase from, RmmMigPhase to);
void rmm_realm_set_phase_notifier(RmmRealm *r, RmmMigPhaseFn *fn,
                                  void *opaque);

RmmRealmState rmm_realm_state(RmmRealm *r);
const RmiRealmParams *rmm_realm_params(RmmRealm *r);

/* Protected IPA space is [0, 2^(ipa_width - 1)). */
uint64_t rmm_realm_prot_size(RmmRealm *r);

/*
 * Memory errors.  rmm_granule_poison(): the host learnt that the granule
 * of the realm's data at @ipa has an uncorrectable error (on a CCA host,
 * a SIGBUS or a synchronous external abort for that page).  The RMM keeps
 * the granule poisoned: its contents are gone (the model wipes them) and
 * nothing reads or exports them again; the realm's accesses to it take a
 * synchronous external abort (the host's stage 2 asks
 * rmm_granule_poisoned()); a migration carries it as a poisoned entry and
 * the destination's granule is poisoned too; DATA_DESTROY ends it.
 * RMI_ERROR_INPUT if @ipa is not the aligned IPA of an ASSIGNED granule
 * of the realm's RAM; poisoning a granule again changes nothing.
 * RMI_ERROR_REALM while migration freezes the realm (rmm_mig_frozen():
 * from the first REC record to the commit or abort), whose state went
 * or goes out as it is: the host reports the error again after.
 */
RmiStatus rmm_granule_poison(RmmRealm *r, uint64_t ipa);
bool rmm_granule_poisoned(RmmRealm *r, uint64_t ipa);

/*
 * Copy measurement @index (0 = RIM, 1..4 = REMs); returns the hash length,
 * or 0 (and leaves @out alone) for any other index.
 */
size_t rmm_realm_measurement(RmmRealm *r, unsigned index,
                             uint8_t out[RMM_HASH_MAX]);

/* ---- Stage 2 / RTT (RMI_RTT_*, DATA_*) ---- */

/*
 * The realm's stage 2 translation tables (RTTs), 4 KiB granules: a table
 * of level L has 512 entries of RMI_RTT_ENTRY_SIZE(L) bytes.  The root
 * (start level 1 for an IPA width up to 39, 0 above, concatenated as
 * needed) exists with the realm; the host creates the others.  Levels
 * are tracked for real: a walk stops at the deepest table that exists,
 * and a command that needs a deeper one fails with RMI_ERROR_RTT and the
 * level it stopped at as index (rmi_return_index()).  DATA granules and
 * unprotected mappings are level 3 entries; RIPAS of unassigned memory
 * may also be held by level 2 (2 MiB) block entries.
 *
 * The commands below that walk RTTs return an RmiCommandReturnCode.
 */
unsigned rmm_realm_rtt_start_level(RmmRealm *r);

/* The level of the deepest table on the walk of @ipa (3 at most). */
unsigned rmm_rtt_walk_level(RmmRealm *r, uint64_t ipa);

/*
 * RMI_RTT_CREATE of the table of @level (start level + 1 .. 3) that maps
 * @ipa (aligned to RMI_RTT_ENTRY_SIZE(@level - 1)).  RMI_ERROR_INPUT for
 * a bad level or IPA; RMI_ERROR_RTT(walk level) when the parent table is
 * missing; RMI_ERROR_RTT(@level - 1) when the table exists already.  A
 * table created under an unassigned block entry takes its RIPAS.
 */
RmiCommandReturnCode rmm_rtt_create(RmmRealm *r, uint64_t ipa,
                                    unsigned level);

/*
 * RMI_RTT_DESTROY of the table of @level that maps @ipa.  As for
 * RTT_CREATE, and RMI_ERROR_RTT(@level - 1) when it does not exist,
 * RMI_ERROR_RTT(@level) when it is live: it has child tables, ASSIGNED
 * or ASSIGNED_NS entries; RMI_ERROR_REALM while migration freezes the
 * realm's stage 2.  The protected IPA space the table mapped becomes
 * RIPAS DESTROYED (DEN0137 A5.5.9), whatever RIPAS its entries had.
 */
RmiCommandReturnCode rmm_rtt_destroy(RmmRealm *r, uint64_t ipa,
                                     unsigned level);

/*
 * Host convenience: RTT_CREATE of every table of the levels below the
 * root down to @level that maps a part of [@base, @top), tables that
 * exist already being fine.  For @level 2, also the level 3 tables of
 * the 2 MiB blocks the range covers in part: the RTTs of a host that
 * maps RAM with blocks where it can (RTT_INIT_RIPAS then measures one
 * entry per block, and per granule at the edges).
 */
RmiCommandReturnCode rmm_rtt_create_range(RmmRealm *r, uint64_t base,
                                          uint64_t top, unsigned level);

/*
 * RMI_RTT_MAP_UNPROTECTED: map unprotected @ipa (level 3 only in the
 * model) to the host's @desc (RmiRttEntry: output address and
 * attributes).  The entry must be UNASSIGNED_NS.
 */
RmiCommandReturnCode rmm_rtt_map_unprotected(RmmRealm *r, uint64_t ipa,
                                             unsigned level, uint64_t desc);

/* RMI_RTT_UNMAP_UNPROTECTED: ASSIGNED_NS -> UNASSIGNED_NS. */
RmiCommandReturnCode rmm_rtt_unmap_unprotected(RmmRealm *r, uint64_t ipa,
                                               unsigned level);

/*
 * RMI_RTT_READ_ENTRY of unprotected @ipa at level 3: whether it is
 * mapped (ASSIGNED_NS) and its descriptor.
 */
RmiCommandReturnCode rmm_rtt_read_unprotected(RmmRealm *r, uint64_t ipa,
                                              bool *mapped, uint64_t *desc);

/*
 * RMI_RTT_INIT_RIPAS: RIPAS RAM for [@base, @top) of a NEW realm, one
 * RTT entry at a time: a level 2 block entry where the range covers it,
 * level 3 entries elsewhere (their tables must exist: RMI_ERROR_RTT(2)
 * otherwise), each entry measured once.  Every entry must be backed by
 * RAM and UNASSIGNED EMPTY.  Nothing changes unless the whole range can
 * be; *out_top is @top, or where the check failed.
 */
RmiCommandReturnCode rmm_rtt_init_ripas(RmmRealm *r, uint64_t base,
                                        uint64_t top, uint64_t *out_top);

/*
 * RMI_DATA_CREATE: copy one granule from @src (a host buffer of
 * RMM_GRANULE_SIZE bytes, the "non-secure source granule") into the
 * DELEGATED granule at @ipa (its PA), measured when @measure, and map it
 * there.  Checked in DEN0137's order: the granule (DELEGATED, else
 * RMI_ERROR_INPUT), the realm (NEW, else RMI_ERROR_REALM), the IPA
 * (protected, else RMI_ERROR_INPUT), the walk (level 3, else
 * RMI_ERROR_RTT(level)), the entry (UNASSIGNED and RIPAS RAM, else
 * RMI_ERROR_RTT(3)).
 */
RmiCommandReturnCode rmm_data_create(RmmRealm *r, uint64_t ipa,
                                     const void *src, bool measure);

/*
 * RMI_DATA_CREATE_UNKNOWN: map the DELEGATED granule at @ipa, zero, in
 * any realm state but SYSTEM_OFF; checks as DATA_CREATE's but RIPAS.
 */
RmiCommandReturnCode rmm_data_create_unknown(RmmRealm *r, uint64_t ipa);

/*
 * RMI_DATA_DESTROY: unmap the granule at @ipa, scrubbed; it is DELEGATED
 * again.  RIPAS RAM becomes DESTROYED (the realm never reads there again
 * until it changes the RIPAS itself); EMPTY and DESTROYED stay.
 * RMI_ERROR_REALM while migration freezes the realm.  Waits while a
 * migration lane seals the granule.
 */
RmiCommandReturnCode rmm_data_destroy(RmmRealm *r, uint64_t ipa);

/*
 * RMI_RTT_SET_RIPAS: apply the RIPAS change that @rec asked for with
 * RSI_IPA_STATE_SET (see RMI_EXIT_RIPAS_CHANGE) to [@base, @top).  @base
 * must equal the request's next address and @top not exceed its top.
 * Entry by entry as RTT_INIT_RIPAS; it stops at the first entry it
 * cannot change (RMI_ERROR_RTT(level) if that is the first).  *out_top
 * is the first address not changed.
 */
RmiCommandReturnCode rmm_rtt_set_ripas(RmmRealm *r, RmmRec *rec,
                                       uint64_t base, uint64_t top,
                                       uint64_t *out_top);

/*
 * The state of the protected granule at @ipa, whatever the level of the
 * entry that holds it (RMI_RTT_READ_ENTRY down to its level).
 */
RmiStatus rmm_rtt_read_entry(RmmRealm *r, uint64_t ipa, RmmHipas *hipas,
                             RmiRipas *ripas);

/* The IPA state of the realm's RAM (RmmIpaState); false if GnuTLS fails. */
bool rmm_realm_ipa_state(RmmRealm *r, RmmIpaState *st);

/*
 * Stage 2 walk for a realm access to protected @ipa (the "hardware" part
 * of the RMM's stage 2 tables).  RMM_S2_OK: mapped, *offset is the byte
 * offset of the granule in the store of RAM range *range_base.
 */
typedef enum RmmS2Result {
    RMM_S2_OK = 0,          /* RIPAS RAM, assigned */
    RMM_S2_UNASSIGNED,      /* RIPAS RAM, not assigned: exit to host */
    RMM_S2_ABORT,           /* RIPAS EMPTY, outside RAM or poisoned: SEA */
    /*
     * RIPAS DESTROYED (the host took the granule away, DATA_DESTROY or
     * RTT_DESTROY): a REC exit that the host cannot resolve.  Assigning a
     * granule does not help; only the realm can change the RIPAS again.
     */
    RMM_S2_DESTROYED,
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

/* ---- RSI: SMC calls from the realm, and REC exits to the host ---- */

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

/*
 * ---- Migration: a proposed RMI extension ----
 * (docs/system/arm/cca-migration.rst)
 *
 * The source RMM exports a realm as a sequence of self-delimiting records
 * (see "Record format" below); the destination RMM imports them in the
 * same order.  The host moves records without being able to read or
 * forge them: first the two RMMs run an attested ECDH handshake (HELLO
 * from the source, ACCEPT from the destination; rmm-mig-handshake.c),
 * each checking the other's platform identity against the realm's
 * migration policy, and every later record is AES-256-GCM sealed under
 * a session key of that handshake that no host holds, with a
 * sequence number that increases by one for every sealed unit (so a
 * dropped, duplicated, swapped, replayed or reordered record is
 * rejected), and associated data binding session, record type, lane,
 * epoch, sequence number and, for data, the GPA and its RIPAS.  DATA
 * may also go on parallel lanes, numbered per lane and taken in any
 * order within their epoch (rmm_mig_export_data_lane()).
 *
 * Source:  rmm_mig_export_start (HELLO) -> rmm_mig_export_accept (ACCEPT)
 *          -> IMMUTABLE -> { RIPAS, DATA..., EPOCH }*
 *          -> rmm_mig_export_pause -> RIPAS, DATA..., EPOCH -> REC x n
 *          -> END -> rmm_mig_commit_ack (MIGRATED) or rmm_mig_export_abort.
 * Dest:    rmm_realm_create + rmm_realm_add_ram + GRANULE_DELEGATE of the
 *          RAM -> rmm_mig_import_start (with the REC count the source
 *          must have) -> rmm_mig_import_hello (HELLO in, ACCEPT out)
 *          -> rmm_mig_import_record() for every record, in
 *          order ->
 *          rmm_mig_import_commit (ACTIVE, first REC enter allowed) or
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

/* ---- Measurement helpers (rmm-measure.c) ---- */

size_t rmm_hash_len(RmiHashAlgo algo);

#endif /* RMM_H */
