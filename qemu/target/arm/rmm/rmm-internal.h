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

/*
 * Migration (rmm-mig.c).  Session keys: derived from the handshake's
 * ECDH secret and transcript (rmm-mig-handshake.c); @aead is the
 * gnutls_aead_cipher_hd_t of @enc_key (kept opaque here so that this
 * header needs no GnuTLS).
 */
/* Where the handshake of a session stands. */
typedef enum RmmMigHandshake {
    RMM_MIG_HS_NONE = 0,
    RMM_MIG_HS_WAIT_ACCEPT,     /* source: HELLO out */
    RMM_MIG_HS_WAIT_HELLO,      /* destination: import started */
    RMM_MIG_HS_DONE,            /* session keys derived */
} RmmMigHandshake;

typedef struct RmmMigEcdh RmmMigEcdh;

typedef struct RmmMigKeys {
    bool valid;
    uint8_t session[RMM_MIG_SESSION_SIZE];
    uint8_t enc_key[32];
    uint8_t tok_key[32];
    void *aead;
} RmmMigKeys;

/* Layout of the sealed bodies (offsets in the plaintext, see rmm-mig.c). */
#define MIG_IMM_IPA_WIDTH       0       /* u32 */
#define MIG_IMM_HASH_ALGO       4       /* u8 */
#define MIG_IMM_SVE_VL          5       /* u8 */
#define MIG_IMM_NUM_BPS         6       /* u8 */
#define MIG_IMM_NUM_WPS         7       /* u8 */
#define MIG_IMM_PMU_CTRS        8       /* u8, then 3 zero bytes */
#define MIG_IMM_NR_RAM          12      /* u32 */
#define MIG_IMM_FLAGS           16      /* u64 */
#define MIG_IMM_RPV             24      /* RMM_RPV_SIZE bytes */
#define MIG_IMM_RIM             88      /* RMM_HASH_MAX bytes */
#define MIG_IMM_NR_RECS         152     /* u32, then 4 zero bytes */
#define MIG_IMM_RAM             160     /* nr_ram x { u64 base, u64 size } */
#define MIG_IMM_SIZE(nr_ram)    (MIG_IMM_RAM + 16 * (nr_ram))

#define MIG_RIPAS_COUNT         0       /* u32, then 4 zero bytes */
#define MIG_RIPAS_RUNS          8
#define MIG_RIPAS_RUN_SIZE      16      /* u64 base, u32 granules, */
                                        /* u8 ripas, u8 assigned, 2 zero */
#define MIG_DATA_UNIT_SIZE      RMM_MIG_DATA_ENTRY_SIZE

#define MIG_EPOCH_EPOCH         0       /* u32 */
#define MIG_EPOCH_GRANULES      4       /* u64 */
#define MIG_EPOCH_SIZE          12

#define MIG_REC_INDEX           0       /* u32 */
#define MIG_REC_RUNNABLE        4       /* u8 */
#define MIG_REC_PENDING         5       /* u8, RmmRecPending */
#define MIG_REC_RIPAS_VALUE     6       /* u8 */
#define MIG_REC_PSCI_PENDING    7       /* u8 */
#define MIG_REC_MPIDR           8       /* u64 */
#define MIG_REC_RIPAS_BASE      16      /* u64 */
#define MIG_REC_RIPAS_TOP       24      /* u64 */
#define MIG_REC_RIPAS_NEXT      32      /* u64 */
#define MIG_REC_HOST_CALL_IPA   40      /* u64 */
#define MIG_REC_PSCI_FID        48      /* u32 */
#define MIG_REC_HAS_TOKEN       52      /* u8 */
#define MIG_REC_RIPAS_FLAGS     53      /* u8 (RSI_CHANGE_DESTROYED), */
                                        /* then 2 zero bytes */
#define MIG_REC_PSCI_MPIDR      56      /* u64 */
#define MIG_REC_TOKEN_LEN       64      /* u32 */
#define MIG_REC_TOKEN_OFF       68      /* u32 */
#define MIG_REC_CTX_LEN         72      /* u32, then 4 zero bytes */
#define MIG_REC_VCNT            80      /* u64 virtual counter at export */
#define MIG_REC_TOKEN           88      /* token bytes, then ctx bytes */

#define MIG_END_SEQ             0       /* u64 */
#define MIG_END_EPOCHS          8       /* u32 */
#define MIG_END_NR_RECS         12      /* u32 */
#define MIG_END_GRANULES        16      /* u64 */
#define MIG_END_REMS            24      /* RMM_NUM_REMS x RMM_HASH_MAX */
#define MIG_END_SIZE            (MIG_END_REMS + RMM_NUM_REMS * RMM_HASH_MAX)

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
 * Session keys from the handshake's key material: @okm holds the session
 * ID, the encryption key and the token key, in that order; false if
 * GnuTLS fails.  rmm_mig_keys_wipe() erases and frees them.
 */
#define RMM_MIG_OKM_SIZE        (RMM_MIG_SESSION_SIZE + 32 + 32)
bool rmm_mig_keys_init(RmmMigKeys *k, const uint8_t okm[RMM_MIG_OKM_SIZE]);
void rmm_mig_keys_wipe(RmmMigKeys *k);

/*
 * Seal a record as the source does: header (@type, @epoch, @seq) and
 * body.  For DATA @pt is n units of { le64 word, granule } (n =
 * @pt_len / (8 + RMM_GRANULE_SIZE), 1..RMM_MIG_BATCH_MAX; a unit whose
 * word has RMM_MIG_DATA_ZERO becomes a zero entry, its granule ignored)
 * and the record uses n sequence numbers; for IMMUTABLE the session ID
 * is put before the sealed @pt; any other type is one sealed unit.
 * Returns the record's length, or 0 if @cap is too small or @pt_len
 * impossible.  The exporter uses it; so do the tests and the fuzzer,
 * which play the source.
 */
size_t rmm_mig_seal_record(RmmMigKeys *k, unsigned type, uint32_t epoch,
                           uint64_t seq, const uint8_t *pt, size_t pt_len,
                           uint8_t *buf, size_t cap);
/* The same for a DATA record of @lane (0..RMM_MIG_LANES_MAX). */
size_t rmm_mig_seal_data_lane(RmmMigKeys *k, unsigned lane, uint32_t epoch,
                              uint64_t seq, const uint8_t *pt, size_t pt_len,
                              uint8_t *buf, size_t cap);
/*
 * A copy of the session keys @src with a cipher handle of its own, for
 * one thread to seal or open with outside the realm lock (GnuTLS
 * handles are not shared between threads); rmm_mig_keys_wipe() it.
 */
bool rmm_mig_keys_clone(RmmMigKeys *dst, const RmmMigKeys *src);
/*
 * The reverse: authenticate and decrypt the record @buf[0..@len) into @pt
 * (at least @len bytes, and for DATA RMM_MIG_BATCH_MAX units), *@pt_len
 * set; DATA units come out as @pt of rmm_mig_seal_record() (a zero
 * entry's granule as zeros).  False if it does not parse or authenticate.
 */
bool rmm_mig_open_record(RmmMigKeys *k, const uint8_t *buf, size_t len,
                         uint8_t *pt, size_t *pt_len);

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
