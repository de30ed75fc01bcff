/*
 * Emulated RMM: internal state shared by the model's source files
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_INTERNAL_H
#define RMM_INTERNAL_H

#include <glib.h>
#include "rmm.h"
#include "rmm-attest.h"

/* Per-granule stage 2 state, one byte per 4 KiB of a RAM range. */
#define S2_RIPAS_MASK       0x03
#define S2_ASSIGNED         0x80

#define RMM_MAX_RAM_RANGES  8

typedef struct RmmRamRange {
    uint64_t base;
    uint64_t size;
    uint8_t *store;         /* protected contents, owned by the realm */
    uint8_t *s2;            /* size >> RMM_GRANULE_SHIFT entries */
} RmmRamRange;

struct RmmPlatform {
    RmmAttestKeys *keys;
    GMutex lock;            /* protects vmid_used */
    uint8_t vmid_used[(UINT16_MAX + 1) / 8];   /* VMIDs of live realms */
};

struct RmmRec {
    RmmRealm *realm;
    unsigned index;
    uint64_t mpidr;
    bool runnable;

    /* The RSI call that exited to the host and is not complete yet. */
    RmmRecExitReason pending;
    uint64_t ripas_base;
    uint64_t ripas_top;
    uint64_t ripas_next;    /* first address RTT_SET_RIPAS did not change */
    RmmRipas ripas_value;
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
};

struct RmmRealm {
    GMutex lock;
    RmmPlatform *plat;
    RmmRealmParams params;
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
};

/* The model wrote [ipa, ipa + len) of protected memory. */
static inline void rmm_notify_write(RmmRealm *r, uint64_t ipa, uint64_t len)
{
    if (r->write_fn && len) {
        r->write_fn(r->write_opaque, ipa, len);
    }
}

/* Lookups, with realm->lock held. */
RmmRamRange *rmm_ram_find(RmmRealm *r, uint64_t ipa);
RmmRec *rmm_rec_find(RmmRealm *r, uint64_t mpidr);
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
