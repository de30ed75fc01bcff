/*
 * Emulated RMM: stage 2 translation tables (RMI_RTT_*)
 *
 * RTT_INIT_RIPAS, RTT_SET_RIPAS, RTT_READ_ENTRY and the stage 2 walk of
 * realm accesses.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/crypto.h>

#include "rmm-realm.h"
#include "rmm-internal.h"
#include "rmm-measure.h"

/* ---- Tables ---- */

#define RTT_ENTRIES             512

unsigned rmm_realm_rtt_start_level(RmmRealm *r)
{
    return r->params.ipa_width <= 39 ? 1 : 0;   /* immutable */
}

/* The key of the table of @level whose entries map @ipa. */
static gpointer rtt_key(uint64_t ipa, unsigned level)
{
    G_STATIC_ASSERT(sizeof(gpointer) == sizeof(uint64_t));
    return GSIZE_TO_POINTER((ipa & ~(RMI_RTT_ENTRY_SIZE(level - 1) - 1)) |
                            level);
}

static bool rtt_exists(RmmRealm *r, uint64_t ipa, unsigned level)
{
    return level == rmm_realm_rtt_start_level(r) ||
           g_hash_table_contains(r->rtts, rtt_key(ipa, level));
}

void rmm_rtt_init(RmmRealm *r)
{
    r->rtts = g_hash_table_new(g_direct_hash, g_direct_equal);
    r->ns = g_hash_table_new(g_direct_hash, g_direct_equal);
}

void rmm_rtt_free(RmmRealm *r)
{
    g_hash_table_destroy(r->rtts);
    g_hash_table_destroy(r->ns);
}

unsigned rmm_rtt_walk(RmmRealm *r, uint64_t ipa, unsigned level)
{
    unsigned l = rmm_realm_rtt_start_level(r);

    while (l < level && rtt_exists(r, ipa, l + 1)) {
        l++;
    }
    return l;
}

void rmm_rtt_ensure(RmmRealm *r, uint64_t ipa)
{
    unsigned l;

    /* The common case, on every granule an import maps: all there. */
    if (rtt_exists(r, ipa, RMI_RTT_LEVEL_MAX)) {
        return;
    }
    for (l = rmm_realm_rtt_start_level(r) + 1; l <= RMI_RTT_LEVEL_MAX; l++) {
        g_hash_table_add(r->rtts, rtt_key(ipa, l));
    }
}

unsigned rmm_rtt_walk_level(RmmRealm *r, uint64_t ipa)
{
    unsigned l;

    g_mutex_lock(&r->lock);
    l = rmm_rtt_walk(r, ipa, RMI_RTT_LEVEL_MAX);
    g_mutex_unlock(&r->lock);
    return l;
}

/*
 * The checks RTT_CREATE and RTT_DESTROY share, in DEN0137's order: level
 * and IPA, then the walk to the parent table.
 */
static RmiCommandReturnCode rtt_check(RmmRealm *r, uint64_t ipa,
                                      unsigned level)
{
    unsigned walk;

    if (level <= rmm_realm_rtt_start_level(r) || level > RMI_RTT_LEVEL_MAX) {
        return RMI_ERROR_INPUT;
    }
    if (ipa & (RMI_RTT_ENTRY_SIZE(level - 1) - 1) ||
        ipa >> r->params.ipa_width) {
        return RMI_ERROR_INPUT;
    }
    walk = rmm_rtt_walk(r, ipa, level - 1);
    if (walk < level - 1) {
        return rmi_return(RMI_ERROR_RTT, walk);
    }
    return RMI_SUCCESS;
}

RmiCommandReturnCode rmm_rtt_create(RmmRealm *r, uint64_t ipa,
                                    unsigned level)
{
    RmiCommandReturnCode ret;

    g_mutex_lock(&r->lock);
    ret = rtt_check(r, ipa, level);
    if (ret == RMI_SUCCESS && rtt_exists(r, ipa, level)) {
        ret = rmi_return(RMI_ERROR_RTT, level - 1);
    }
    if (ret == RMI_SUCCESS) {
        g_hash_table_add(r->rtts, rtt_key(ipa, level));
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

/*
 * Call @fn on each granule of RAM in [@base, @base + @len) (only RAM has
 * granules of its own; the rest of protected IPA space is EMPTY); stop
 * and return true when it does.
 */
static bool rtt_ram_any(RmmRealm *r, uint64_t base, uint64_t len,
                        bool (*fn)(RmmRealm *r, RmmRamRange *rr,
                                   uint64_t ipa))
{
    uint64_t ipa, lo, hi;
    unsigned j;

    for (j = 0; j < r->nr_ram; j++) {
        RmmRamRange *rr = &r->ram[j];

        lo = MAX(base, rr->base);
        hi = MIN(base + len, rr->base + rr->size);
        for (ipa = lo; ipa < hi; ipa += RMM_GRANULE_SIZE) {
            if (fn(r, rr, ipa)) {
                return true;
            }
        }
    }
    return false;
}

static bool rtt_granule_assigned(RmmRealm *r, RmmRamRange *rr, uint64_t ipa)
{
    return *rmm_s2_entry(rr, ipa) & S2_ASSIGNED;
}

/*
 * RTT_DESTROY: the granule's RIPAS becomes DESTROYED (logged for a
 * migration in pre-copy); returns false to go on.
 */
static bool rtt_granule_destroy(RmmRealm *r, RmmRamRange *rr, uint64_t ipa)
{
    uint8_t *e = rmm_s2_entry(rr, ipa);

    if ((*e & S2_RIPAS_MASK) != RMI_RIPAS_DESTROYED) {
        *e = (*e & ~S2_RIPAS_MASK) | RMI_RIPAS_DESTROYED;
        rmm_mig_log_s2_locked(r, ipa);
    }
    return false;
}

/*
 * Is the table of @level at @base live (DEN0137 A5.5.8): does it hold a
 * child table, an ASSIGNED or an ASSIGNED_NS entry?  Whether its entries
 * have the same RIPAS does not matter.
 */
static bool rtt_live(RmmRealm *r, uint64_t base, unsigned level)
{
    uint64_t size = RMI_RTT_ENTRY_SIZE(level);
    unsigned i;

    for (i = 0; i < RTT_ENTRIES; i++) {
        uint64_t ipa = base + i * size;

        if (level == RMI_RTT_LEVEL_MAX
            ? g_hash_table_contains(r->ns, GSIZE_TO_POINTER(ipa))
            : g_hash_table_contains(r->rtts, rtt_key(ipa, level + 1))) {
            return true;
        }
    }
    return rtt_ram_any(r, base, RTT_ENTRIES * size, rtt_granule_assigned);
}

RmiCommandReturnCode rmm_rtt_destroy(RmmRealm *r, uint64_t ipa,
                                     unsigned level)
{
    uint64_t len = RMI_RTT_ENTRY_SIZE(level - 1);
    RmiCommandReturnCode ret;

    g_mutex_lock(&r->lock);
    ret = rtt_check(r, ipa, level);
    if (ret == RMI_SUCCESS && !rtt_exists(r, ipa, level)) {
        ret = rmi_return(RMI_ERROR_RTT, level - 1);
    }
    if (ret == RMI_SUCCESS && rtt_live(r, ipa, level)) {
        ret = rmi_return(RMI_ERROR_RTT, level);
    }
    if (ret == RMI_SUCCESS && ipa < r->prot_size && rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
    }
    if (ret == RMI_SUCCESS) {
        g_hash_table_remove(r->rtts, rtt_key(ipa, level));
        /* The parent entry: UNASSIGNED, RIPAS DESTROYED. */
        if (ipa < r->prot_size) {
            rtt_ram_any(r, ipa, MIN(len, r->prot_size - ipa),
                        rtt_granule_destroy);
        }
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

/* RTT_CREATE of the tables of @level over [@base, @top); existing fine. */
static RmiCommandReturnCode rtt_create_level(RmmRealm *r, uint64_t base,
                                             uint64_t top, unsigned level)
{
    uint64_t size = RMI_RTT_ENTRY_SIZE(level - 1), ipa;
    RmiCommandReturnCode ret;

    for (ipa = base & ~(size - 1); ipa < top; ipa += size) {
        ret = rmm_rtt_create(r, ipa, level);
        if (ret != RMI_SUCCESS &&
            ret != rmi_return(RMI_ERROR_RTT, level - 1)) {
            return ret;
        }
    }
    return RMI_SUCCESS;
}

RmiCommandReturnCode rmm_rtt_create_range(RmmRealm *r, uint64_t base,
                                          uint64_t top, unsigned level)
{
    uint64_t block = RMI_RTT_ENTRY_SIZE(2);
    RmiCommandReturnCode ret = RMI_SUCCESS;
    unsigned l;

    for (l = rmm_realm_rtt_start_level(r) + 1;
         l <= level && ret == RMI_SUCCESS; l++) {
        ret = rtt_create_level(r, base, top, l);
    }
    if (level != 2 || ret != RMI_SUCCESS) {
        return ret;
    }
    /* Level 3 where the range covers a 2 MiB block in part. */
    if (base & (block - 1)) {
        ret = rtt_create_level(r, base, MIN(top, (base | (block - 1)) + 1),
                               3);
    }
    if (ret == RMI_SUCCESS && top & (block - 1)) {
        ret = rtt_create_level(r, MAX(base, top & ~(block - 1)), top, 3);
    }
    return ret;
}

/* ---- Unprotected mappings ---- */

/* The checks of the unprotected commands, up to the entry's state. */
static RmiCommandReturnCode rtt_ns_check(RmmRealm *r, uint64_t ipa,
                                         unsigned level)
{
    unsigned walk;

    if (level != RMI_RTT_LEVEL_MAX) {
        return RMI_ERROR_INPUT;
    }
    if (!rmm_aligned(ipa) || ipa < r->prot_size ||
        ipa >> r->params.ipa_width) {
        return RMI_ERROR_INPUT;
    }
    walk = rmm_rtt_walk(r, ipa, level);
    return walk < level ? rmi_return(RMI_ERROR_RTT, walk) : RMI_SUCCESS;
}

RmiCommandReturnCode rmm_rtt_map_unprotected(RmmRealm *r, uint64_t ipa,
                                             unsigned level, uint64_t desc)
{
    RmiCommandReturnCode ret;

    g_mutex_lock(&r->lock);
    ret = rtt_ns_check(r, ipa, level);
    if (ret == RMI_SUCCESS &&
        g_hash_table_contains(r->ns, GSIZE_TO_POINTER(ipa))) {
        ret = rmi_return(RMI_ERROR_RTT, level);
    }
    if (ret == RMI_SUCCESS) {
        g_hash_table_insert(r->ns, GSIZE_TO_POINTER(ipa),
                            GSIZE_TO_POINTER(desc));
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiCommandReturnCode rmm_rtt_unmap_unprotected(RmmRealm *r, uint64_t ipa,
                                               unsigned level)
{
    RmiCommandReturnCode ret;

    g_mutex_lock(&r->lock);
    ret = rtt_ns_check(r, ipa, level);
    if (ret == RMI_SUCCESS &&
        !g_hash_table_remove(r->ns, GSIZE_TO_POINTER(ipa))) {
        ret = rmi_return(RMI_ERROR_RTT, level);
    }
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiCommandReturnCode rmm_rtt_read_unprotected(RmmRealm *r, uint64_t ipa,
                                              bool *mapped, uint64_t *desc)
{
    RmiCommandReturnCode ret;
    gpointer value = NULL;

    g_mutex_lock(&r->lock);
    ret = rtt_ns_check(r, ipa, RMI_RTT_LEVEL_MAX);
    *mapped = ret == RMI_SUCCESS &&
              g_hash_table_lookup_extended(r->ns, GSIZE_TO_POINTER(ipa),
                                           NULL, &value);
    *desc = GPOINTER_TO_SIZE(value);
    g_mutex_unlock(&r->lock);
    return ret;
}

/* ---- RIPAS ---- */

/*
 * Check that [base, top) is a non-empty, granule aligned range of
 * protected IPA space.
 */
static bool rmm_prot_range_ok(RmmRealm *r, uint64_t base, uint64_t top)
{
    return rmm_aligned(base) && rmm_aligned(top) && base < top &&
           top <= r->prot_size;
}

/*
 * The level of the RTT entry that holds the granule at @ipa, for a RIPAS
 * command over [@base, @top): 3, or 2 for a block entry the range
 * covers.  Else RMI_ERROR_RTT and the level, as a negative number.
 */
static int rtt_ripas_level(RmmRealm *r, uint64_t ipa, uint64_t base,
                           uint64_t top)
{
    unsigned walk = rmm_rtt_walk(r, ipa, RMI_RTT_LEVEL_MAX);
    uint64_t block = ipa & ~(RMI_RTT_ENTRY_SIZE(2) - 1);

    if (walk == RMI_RTT_LEVEL_MAX ||
        (walk == 2 && block >= base && top - block >= RMI_RTT_ENTRY_SIZE(2))) {
        return walk;
    }
    return -(int)rmi_return(RMI_ERROR_RTT, walk);
}

/* INIT_RIPAS's checks of every entry; *@bad where one failed. */
static RmiCommandReturnCode rtt_init_ripas_check(RmmRealm *r, uint64_t base,
                                                 uint64_t top, uint64_t *bad)
{
    RmmRamRange *rr = rmm_ram_find(r, base);
    uint64_t ipa;
    int level;

    for (ipa = base; ipa < top; ipa += RMM_GRANULE_SIZE) {
        *bad = ipa;
        level = rtt_ripas_level(r, ipa, base, top);
        if (level < 0) {
            return -level;
        }
        /* Backed by one RAM range, UNASSIGNED, EMPTY. */
        if (!rr || top - rr->base > rr->size ||
            (*rmm_s2_entry(rr, ipa) & S2_STATE_MASK) != RMI_RIPAS_EMPTY) {
            return rmi_return(RMI_ERROR_RTT, level);
        }
    }
    return RMI_SUCCESS;
}

RmiCommandReturnCode rmm_rtt_init_ripas(RmmRealm *r, uint64_t base,
                                        uint64_t top, uint64_t *out_top)
{
    RmiCommandReturnCode ret = RMI_SUCCESS;
    RmmRamRange *rr;
    uint64_t ipa;

    *out_top = base;
    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!rmm_prot_range_ok(r, base, top)) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    ret = rtt_init_ripas_check(r, base, top, out_top);
    if (ret != RMI_SUCCESS) {
        goto out;
    }
    rr = rmm_ram_find(r, base);
    for (ipa = base; ipa < top; ipa += RMM_GRANULE_SIZE) {
        *rmm_s2_entry(rr, ipa) |= RMI_RIPAS_RAM;
    }
    /* The RIM is extended once per RTT entry the command covers. */
    for (ipa = base; ipa < top; ) {
        uint64_t next = ipa + RMI_RTT_ENTRY_SIZE(
            rmm_rtt_walk(r, ipa, RMI_RTT_LEVEL_MAX));

        rmm_measure_init_ripas(r->params.hash_algo, r->rim, ipa, next);
        ipa = next;
    }
    *out_top = top;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiCommandReturnCode rmm_rtt_set_ripas(RmmRealm *r, RmmRec *rec,
                                       uint64_t base, uint64_t top,
                                       uint64_t *out_top)
{
    RmiCommandReturnCode ret = RMI_SUCCESS;
    RmmRamRange *rr;
    uint64_t ipa;
    int level;

    *out_top = base;
    g_mutex_lock(&r->lock);
    if (rec->realm != r || rec->pending != RMM_REC_PENDING_RIPAS) {
        ret = RMI_ERROR_REC;
        goto out;
    }
    if (!rmm_aligned(base) || !rmm_aligned(top) || base != rec->ripas_next ||
        top <= base || top > rec->ripas_top) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    if (r->state != RMM_REALM_ACTIVE || rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    for (ipa = base; ipa < top; ipa += RMM_GRANULE_SIZE) {
        rr = rmm_ram_find(r, ipa);
        level = rtt_ripas_level(r, ipa, base, top);
        if (!rr && rec->ripas_value == RMI_RIPAS_EMPTY) {
            continue;   /* unbacked protected IPA is EMPTY already */
        }
        if (!rr || level < 0 ||
            ((*rmm_s2_entry(rr, ipa) & S2_RIPAS_MASK) ==
             RMI_RIPAS_DESTROYED && !rec->ripas_change_destroyed)) {
            /*
             * Unbacked protected IPA can be nothing but EMPTY; a
             * DESTROYED granule stays so unless the realm allowed it.
             */
            if (ipa == base) {
                ret = level < 0 ? (RmiCommandReturnCode)-level
                                : rmi_return(RMI_ERROR_RTT, MAX(level, 0));
            }
            break;
        }
        *rmm_s2_entry(rr, ipa) = (*rmm_s2_entry(rr, ipa) & ~S2_RIPAS_MASK) |
                                 rec->ripas_value;
        rmm_mig_log_s2_locked(r, ipa);
    }
    rec->ripas_next = ipa;
    *out_top = ipa;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmiStatus rmm_rtt_read_entry(RmmRealm *r, uint64_t ipa, RmmHipas *hipas,
                             RmiRipas *ripas)
{
    RmmRamRange *rr;

    if (!rmm_aligned(ipa) || ipa >= r->prot_size) {
        return RMI_ERROR_INPUT;
    }
    g_mutex_lock(&r->lock);
    rr = rmm_ram_find(r, ipa);
    if (rr) {
        uint8_t e = *rmm_s2_entry(rr, ipa);
        *hipas = (e & S2_ASSIGNED) ? RMM_HIPAS_ASSIGNED : RMM_HIPAS_UNASSIGNED;
        *ripas = e & S2_RIPAS_MASK;
    } else {
        *hipas = RMM_HIPAS_UNASSIGNED;
        *ripas = RMI_RIPAS_EMPTY;
    }
    g_mutex_unlock(&r->lock);
    return RMI_SUCCESS;
}

/* The RAM range of @r with the lowest base above @after (any if !@any). */
static RmmRamRange *rmm_ram_next(RmmRealm *r, bool any, uint64_t after)
{
    RmmRamRange *next = NULL;
    unsigned i;

    for (i = 0; i < r->nr_ram; i++) {
        if ((!any || r->ram[i].base > after) &&
            (!next || r->ram[i].base < next->base)) {
            next = &r->ram[i];
        }
    }
    return next;
}

bool rmm_realm_ipa_state(RmmRealm *r, RmmIpaState *st)
{
    gnutls_hash_hd_t h;
    RmmRamRange *rr;
    bool ok = true;

    memset(st, 0, sizeof(*st));
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
        return false;
    }
    g_mutex_lock(&r->lock);
    /* By IPA, whatever order the host gave the ranges in. */
    for (rr = rmm_ram_next(r, false, 0); rr && ok;
         rr = rmm_ram_next(r, true, rr->base)) {
        uint64_t n = rr->size >> RMM_GRANULE_SHIFT, g;
        uint64_t hdr[2] = { GUINT64_TO_LE(rr->base), GUINT64_TO_LE(rr->size) };
        g_autofree uint8_t *state = g_malloc(n);

        for (g = 0; g < n; g++) {
            uint8_t e = rr->s2[g];

            st->ripas[MIN(e & S2_RIPAS_MASK, RMI_RIPAS_DESTROYED)]++;
            st->assigned += !!(e & S2_ASSIGNED);
            st->poisoned += !!(e & S2_POISONED);
            state[g] = e & (S2_RIPAS_MASK | S2_ASSIGNED | S2_POISONED);
        }
        ok = gnutls_hash(h, hdr, sizeof(hdr)) >= 0 &&
             gnutls_hash(h, state, n) >= 0;
    }
    g_mutex_unlock(&r->lock);
    gnutls_hash_deinit(h, st->sha256);
    return ok;
}

static RmmS2Result rmm_s2_result(RmmRamRange *rr, uint64_t ipa)
{
    uint8_t e;

    if (!rr) {
        return RMM_S2_ABORT;
    }
    e = *rmm_s2_entry(rr, ipa);
    if ((e & S2_RIPAS_MASK) == RMI_RIPAS_DESTROYED) {
        return RMM_S2_DESTROYED;
    }
    /* A poisoned granule: a synchronous external abort, as on hardware. */
    if ((e & S2_RIPAS_MASK) != RMI_RIPAS_RAM || (e & S2_POISONED)) {
        return RMM_S2_ABORT;
    }
    return (e & S2_ASSIGNED) ? RMM_S2_OK : RMM_S2_UNASSIGNED;
}

RmmS2Result rmm_realm_s2_lookup(RmmRealm *r, uint64_t ipa)
{
    RmmS2Result res;

    if (ipa >= r->prot_size) {
        return RMM_S2_ABORT;
    }
    g_mutex_lock(&r->lock);
    res = rmm_s2_result(rmm_ram_find(r, ipa), ipa);
    g_mutex_unlock(&r->lock);
    return res;
}

uint8_t *rmm_realm_granule_for_rsi(RmmRealm *r, uint64_t ipa, bool *fault)
{
    RmmRamRange *rr;

    *fault = false;
    if (ipa >= r->prot_size) {
        return NULL;
    }
    rr = rmm_ram_find(r, ipa);
    switch (rmm_s2_result(rr, ipa)) {
    case RMM_S2_OK:
        return rmm_granule_ptr(rr, ipa);
    case RMM_S2_UNASSIGNED:
        *fault = true;
        return NULL;
    default:
        return NULL;
    }
}
