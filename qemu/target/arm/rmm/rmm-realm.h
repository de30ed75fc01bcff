/*
 * Emulated RMM: a realm and its memory
 *
 * The host's RMI commands on a realm (DEN0137 1.0): its lifecycle
 * (rmm-realm.c), the granules of its memory (rmm-granule.c), its stage 2
 * translation tables (rmm-rtt.c) and the DATA granules mapped in them
 * (rmm-data.c).
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_REALM_H
#define RMM_REALM_H

#include "rmm.h"

/* ---- Realm lifecycle (RMI_REALM_CREATE / ACTIVATE / DESTROY), rmm-realm.c */

/* Realm lifecycle (RmmRealmState). */
typedef enum RmmRealmState {
    RMM_REALM_NEW = 0,
    RMM_REALM_ACTIVE = 1,
    RMM_REALM_SYSTEM_OFF = 2,
} RmmRealmState;

/*
 * RMI_REALM_CREATE.  The RIM starts as the measurement of @params.
 * On failure returns an RMI status and leaves *out NULL: RMI_ERROR_INPUT
 * for an unsupported ipa_width, hash_algo, flag, sve_vl, pmu_num_ctrs,
 * num_bps or num_wps, or a vmid another live realm of @plat uses.
 */
RmiStatus rmm_realm_create(RmmPlatform *plat, const RmiRealmParams *params,
                           RmmRealm **out);

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

RmmRealmState rmm_realm_state(RmmRealm *r);
const RmiRealmParams *rmm_realm_params(RmmRealm *r);

/* Protected IPA space is [0, 2^(ipa_width - 1)). */
uint64_t rmm_realm_prot_size(RmmRealm *r);

/*
 * Copy measurement @index (0 = RIM, 1..4 = REMs); returns the hash length,
 * or 0 (and leaves @out alone) for any other index.
 */
size_t rmm_realm_measurement(RmmRealm *r, unsigned index,
                             uint8_t out[RMM_HASH_MAX]);

/* ---- Memory, granules (RMI_GRANULE_DELEGATE / UNDELEGATE), rmm-granule.c */

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

/* ---- Stage 2 / RTT (RMI_RTT_*), rmm-rtt.c ---- */

#define RMM_L2_BLOCK_SIZE       (1ULL << 21)

/* Host IPA state of a protected granule (HIPAS). */
typedef enum RmmHipas {
    RMM_HIPAS_UNASSIGNED = 0,
    RMM_HIPAS_ASSIGNED = 1,
} RmmHipas;

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

/* ---- DATA granules (RMI_DATA_*) and memory errors, rmm-data.c ---- */

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

#endif /* RMM_REALM_H */
