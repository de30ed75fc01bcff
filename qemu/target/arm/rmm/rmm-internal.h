/*
 * Emulated RMM: internal state shared by the model's source files
 *
 * The layout of the objects the interface keeps opaque (RmmPlatform,
 * RmmRealm and its migration state, RmmRec) and the helpers every
 * command family uses on them.  Included by the model's sources, and by
 * the unit tests that look inside a realm.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_INTERNAL_H
#define RMM_INTERNAL_H

#include <glib.h>

#include "rmm.h"
#include "rmm-realm.h"
#include "rmm-rec.h"
#include "rmm-mig.h"
#include "rmm-attest.h"         /* RmmAttestKeys */
#include "rmm-mig-ecdh.h"       /* RmmMigEcdh */
#include "rmm-mig-record.h"     /* RmmMigKeys */

static inline bool rmm_all_zero(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

/* SMCCC (DEN0028) */
#define SMCCC_VERSION               0x80000000u
#define SMCCC_ARCH_FEATURES         0x80000001u
#define SMCCC_SVE_HINT              (1u << 16)
#define SMCCC_NOT_SUPPORTED         ((uint64_t)-1)
#define SMCCC_VERSION_1_2           0x10002u

/* RSI_HOST_CALL: the RsiHostCall structure. */
#define RSI_HOST_CALL_SIZE          256
#define RSI_HOST_CALL_NR_GPRS       31

/*
 * Per-granule state, one byte per 4 KiB of a RAM range: the stage 2
 * state of the IPA (RIPAS, HIPAS ASSIGNED) and whether the granule of
 * memory at that PA is delegated.  The granule state follows: ASSIGNED
 * (always delegated too) is DATA, else S2_DELEGATED is DELEGATED, else
 * UNDELEGATED.
 */
#define S2_RIPAS_MASK       0x03
/*
 * The granule of memory had an uncorrectable error (rmm_granule_poison()):
 * nothing reads or exports its contents; the realm's accesses take a
 * synchronous external abort.  Goes with the granule: DATA_DESTROY
 * clears it.
 */
#define S2_POISONED         0x20
/*
 * A lane is sealing or opening the granule without the realm lock
 * (rmm-mig-export.c, rmm-mig-import.c): until it is done, no command
 * changes the granule's state or contents; they wait
 * (rmm_granule_wait_idle()).
 */
#define S2_BUSY             0x10
#define S2_DELEGATED        0x40
#define S2_ASSIGNED         0x80
/* The stage 2 state of the IPA: what migration exports. */
#define S2_STATE_MASK       (S2_RIPAS_MASK | S2_ASSIGNED)

#define RMM_MAX_RAM_RANGES  8

typedef struct RmmRamRange {
    uint64_t base;
    uint64_t size;
    uint8_t *store;         /* protected contents, owned by the realm */
    uint8_t *s2;            /* size >> RMM_GRANULE_SHIFT entries */
} RmmRamRange;

/* Where the handshake of a migration session stands. */
typedef enum RmmMigHandshake {
    RMM_MIG_HS_NONE = 0,
    RMM_MIG_HS_WAIT_ACCEPT,     /* source: HELLO out */
    RMM_MIG_HS_WAIT_HELLO,      /* destination: import started */
    RMM_MIG_HS_DONE,            /* session keys derived */
} RmmMigHandshake;

/* Migration state of a realm; see rmm-mig.c. */
typedef struct RmmMigPolicy RmmMigPolicy;

typedef struct RmmMig {
    RmmMigPhase phase;
    bool logging;               /* EXPORTING or PAUSED: writes are logged */
    RmmMigKeys keys;
    /* Handshake (rmm-mig-handshake.c) */
    RmmMigHandshake hs;
    RmmMigPolicy *policy;       /* rmm-mig-policy.c */
    RmmMigEcdh *ecdh;           /* this side's ephemeral key */
    GByteArray *hello;          /* the HELLO, for the transcript */
    uint64_t seq;               /* next sequence number */
    uint32_t epoch;             /* current epoch */
    uint64_t epoch_granules;    /* DATA granules of the current epoch */
    uint64_t total_granules;    /* DATA granules of the session */
    unsigned last;              /* type of the last record, 0: none */
    unsigned recs_done;         /* REC records exported / imported */
    uint32_t nr_recs;           /* destination: RECs the source must have */
    uint64_t end_seq;           /* sequence number of the END record */
    bool failed;                /* an error: the session can only abort */
    char *fail_why;             /* the error that failed it (import) */
    bool have_abort_token;
    uint8_t abort_token[RMM_MIG_TOKEN_SIZE];
    /* Source: one bit per granule of each RAM range (index as ram[]). */
    uint64_t *log[RMM_MAX_RAM_RANGES];      /* host's dirty log */
    uint64_t *pending[RMM_MAX_RAM_RANGES];  /* contents not exported */
    uint64_t *ripas_dirty[RMM_MAX_RAM_RANGES];
    uint64_t *data_sent[RMM_MAX_RAM_RANGES];    /* in this epoch */
    uint64_t *ripas_sent[RMM_MAX_RAM_RANGES];   /* in this epoch */
    /*
     * Both: granules whose DATA went (came) on a lane other than 0 in
     * this epoch; their RIPAS waits for the next one, as lanes are not
     * ordered with lane 0.
     */
    uint64_t *lane_data[RMM_MAX_RAM_RANGES];
    uint64_t lane_seq[RMM_MIG_LANES_MAX + 1];   /* source: next seq, 1.. */
    unsigned inflight;          /* lane DATA records sealed / opened now */
    /* Destination: epoch + 1 of a granule's last DATA / RIPAS, 0: none. */
    uint32_t *data_epoch[RMM_MAX_RAM_RANGES];
    uint32_t *ripas_epoch[RMM_MAX_RAM_RANGES];
    uint8_t *rec_pt;            /* plaintext of the last REC imported */
    size_t rec_pt_len;
    struct RmmRecArch *rec_arch;        /* its architectural state */
    RmmMigStats stats;
} RmmMig;

/* A platform with attestation keys @keys (taken over). */
RmmPlatform *rmm_platform_new_keys(RmmAttestKeys *keys);
/* Free the identity's certificates (rmm_platform_free). */
void rmm_platform_free_identity(RmmPlatform *p);

/* Set *@err (if @err) to a new message (g_free it); returns false. */
bool G_GNUC_PRINTF(2, 3) rmm_set_err(char **err, const char *fmt, ...);

struct RmmPlatform {
    RmmAttestKeys *keys;
    /* Its identity's certificates, CPAK's first (rmm-identity.c) */
    struct gnutls_x509_crt_int **chain;
    unsigned chain_len;
    GMutex lock;            /* protects vmid_used */
    uint8_t vmid_used[(UINT16_MAX + 1) / 8];   /* VMIDs of live realms */
    RmmCounterFn *counter;  /* the physical counter (CNTPCT), or NULL */
    void *counter_opaque;
    RmmPlatformFeatures features;   /* under @lock */
};

/* The platform's physical counter as the RMM reads it (0 if none). */
uint64_t rmm_platform_counter(RmmPlatform *p);

/*
 * The RSI call a REC exited to the host with and that waits for
 * rmm_rec_complete() (values as in the REC record of a migration).
 */
typedef enum RmmRecPending {
    RMM_REC_PENDING_NONE = 0,
    RMM_REC_PENDING_RIPAS = 1,          /* RSI_IPA_STATE_SET */
    RMM_REC_PENDING_HOST_CALL = 2,      /* RSI_HOST_CALL */
} RmmRecPending;

struct RmmRec {
    RmmRealm *realm;
    unsigned index;
    uint64_t mpidr;
    bool runnable;

    /* The RSI call that exited to the host and is not complete yet. */
    RmmRecPending pending;
    uint64_t ripas_base;
    uint64_t ripas_top;
    uint64_t ripas_next;    /* first address RTT_SET_RIPAS did not change */
    RmiRipas ripas_value;
    /* RSI_CHANGE_DESTROYED: a DESTROYED granule may change too. */
    bool ripas_change_destroyed;
    uint64_t host_call_ipa;

    /*
     * PSCI_CPU_ON / AFFINITY_INFO that exited to the host and waits for
     * RMI_PSCI_COMPLETE (the host writes the caller's result itself, so
     * the REC is not held back by it).
     */
    bool psci_pending;
    uint32_t psci_fid;
    uint64_t psci_mpidr;

    /* RSI_ATTESTATION_TOKEN_INIT / CONTINUE */
    GByteArray *token;
    size_t token_off;

    /*
     * The realm's virtual counter: the physical counter minus @cntvoff,
     * which only the RMM sets (0 at REC_CREATE; on the destination of a
     * migration, at MIG_IMPORT_COMMIT, so that the virtual counter goes on
     * from @mig_vcnt, its value when the REC left the source).
     */
    uint64_t cntvoff;
    uint64_t mig_vcnt;
};

struct RmmRealm {
    GMutex lock;
    /* Broadcast when a lane is done with its granules (S2_BUSY). */
    GCond idle;
    RmmPlatform *plat;
    RmiRealmParams params;
    RmmRealmState state;
    uint64_t prot_size;
    uint8_t rim[RMM_HASH_MAX];
    uint8_t rem[RMM_NUM_REMS][RMM_HASH_MAX];
    RmmRamRange ram[RMM_MAX_RAM_RANGES];
    unsigned nr_ram;
    RmmRec **recs;
    unsigned nr_recs;
    RmmWriteFn *write_fn;
    void *write_opaque;
    RmmMigPhaseFn *phase_fn;
    void *phase_opaque;
    /* RTTs below the root: keys table base IPA | level (rmm-rtt.c) */
    GHashTable *rtts;
    /* Unprotected level 3 mappings: IPA -> RmiRttEntry descriptor */
    GHashTable *ns;
    RmmMig mig;
};

/*
 * Migration hooks (rmm-mig.c), with realm->lock held: the locked
 * rmm_mig_log_write().
 */
void rmm_mig_log_write_locked(RmmRealm *r, uint64_t ipa, uint64_t len);
/* The HIPAS or RIPAS of the granule at @ipa changed. */
void rmm_mig_log_s2_locked(RmmRealm *r, uint64_t ipa);
/*
 * True when migration forbids changes to the realm's memory, stage 2 or
 * REC state by the host: once the source exported its first REC, after
 * END, and on a destination until it commits.
 */
bool rmm_mig_frozen(RmmRealm *r);
/* True unless migration keeps RECs from entering. */
bool rmm_mig_may_run(RmmRealm *r);
/* Free the migration state, wiping keys (rmm_realm_destroy). */
void rmm_mig_free(RmmRealm *r);

/*
 * The model wrote [ipa, ipa + len) of protected memory: log it for
 * migration and tell the host.
 */
static inline void rmm_write_notify(RmmRealm *r, uint64_t ipa, uint64_t len)
{
    if (r->mig.logging && len) {
        rmm_mig_log_write_locked(r, ipa, len);
    }
    if (r->write_fn && len) {
        r->write_fn(r->write_opaque, ipa, len);
    }
}

/* RTTs (rmm-rtt.c), with realm->lock held. */
void rmm_rtt_init(RmmRealm *r);
void rmm_rtt_free(RmmRealm *r);
/* The level of the deepest table on the walk of @ipa, at most @level. */
unsigned rmm_rtt_walk(RmmRealm *r, uint64_t ipa, unsigned level);
/* Create the missing tables on the walk of @ipa down to level 3. */
void rmm_rtt_ensure(RmmRealm *r, uint64_t ipa);

/* Lookups, with realm->lock held. */
RmmRamRange *rmm_ram_find(RmmRealm *r, uint64_t ipa);
/*
 * With realm->lock held: wait until no lane is sealing or opening the
 * granule at @ipa (the lock is dropped while waiting, so check the
 * granule's state after).
 */
void rmm_granule_wait_idle(RmmRealm *r, uint64_t ipa);
/* A lane is done with the granules @s2[0..@n): clear S2_BUSY, wake. */
void rmm_granules_release(RmmRealm *r, uint8_t *const *s2, unsigned n);
RmmRec *rmm_rec_find(RmmRealm *r, uint64_t mpidr);
/* REC_CREATE's MPIDR rule: valid fields, and REC index @index. */
bool rmm_rec_mpidr_ok(uint64_t mpidr, unsigned index);
/*
 * A new REC of @r with REC index r->nr_recs, appended to the realm's
 * RECs (REC_CREATE and the import of a REC record).
 */
RmmRec *rmm_rec_new(RmmRealm *r, uint64_t mpidr, bool runnable);
void rmm_rec_free(RmmRec *rec);

/*
 * PSCI (rmm-psci.c).  A PSCI call @fid of @rec, with realm->lock held:
 * answered in regs, or an exit to the host.
 */
void rmm_psci_call(RmmRec *rec, uint32_t fid, uint64_t *regs,
                   RmmRecExit *exit);
/* The PSCI calls that wait for RMI_PSCI_COMPLETE. */
bool rmm_psci_fid_completable(uint32_t fid);
static inline uint8_t *rmm_s2_entry(RmmRamRange *rr, uint64_t ipa)
{
    return &rr->s2[(ipa - rr->base) >> RMM_GRANULE_SHIFT];
}
static inline uint8_t *rmm_granule_ptr(RmmRamRange *rr, uint64_t ipa)
{
    return rr->store + ((ipa - rr->base) & ~(RMM_GRANULE_SIZE - 1));
}

/*
 * A realm-side access by the RMM to protected memory at @ipa (RSI
 * buffers).  Returns the granule's contents, or NULL: *fault is then
 * true when the granule is RIPAS RAM but unassigned (the host must assign
 * it), false when the IPA is not usable at all (RSI_ERROR_INPUT).
 */
uint8_t *rmm_realm_granule_for_rsi(RmmRealm *r, uint64_t ipa, bool *fault);

static inline bool rmm_aligned(uint64_t v)
{
    return (v & (RMM_GRANULE_SIZE - 1)) == 0;
}

#endif /* RMM_INTERNAL_H */
