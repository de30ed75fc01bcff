/*
 * Emulated RMM: the realm's SMCs (RSI 1.0, PSCI, SMCCC architecture calls)
 *
 * Semantics follow the RMM specification (DEN0137 1.0) and TF-RMM: every
 * failure condition of a command is checked before anything changes, and
 * results are returned in x0..x8.  Registers a command does not return in
 * are preserved.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-rec.h"
#include "rmm-internal.h"
#include "rmm-measure.h"

/* RSI (DEN0137 1.0) */
#define RSI_FID_FIRST               0xC4000190u
#define RSI_VERSION                 0xC4000190u
#define RSI_FEATURES                0xC4000191u
#define RSI_MEASUREMENT_READ        0xC4000192u
#define RSI_MEASUREMENT_EXTEND      0xC4000193u
#define RSI_ATTEST_TOKEN_INIT       0xC4000194u
#define RSI_ATTEST_TOKEN_CONTINUE   0xC4000195u
#define RSI_REALM_CONFIG            0xC4000196u
#define RSI_IPA_STATE_SET           0xC4000197u
#define RSI_IPA_STATE_GET           0xC4000198u
#define RSI_HOST_CALL               0xC4000199u

#define RSI_ABI_VERSION             0x10000u    /* 1.0 */
#define RSI_CHANGE_DESTROYED        (1u << 0)

/* RsiRealmConfig layout */
#define REALM_CONFIG_IPA_WIDTH      0x000
#define REALM_CONFIG_HASH_ALGO      0x008
#define REALM_CONFIG_RPV            0x200

/* Pack @len bytes into consecutive registers, little endian. */
static void bytes_to_regs(uint64_t *regs, const uint8_t *b, size_t len)
{
    size_t i;

    for (i = 0; i < len / 8; i++) {
        regs[i] = rmi_ld64(b + 8 * i);
    }
}

static void regs_to_bytes(uint8_t *b, const uint64_t *regs, size_t len)
{
    size_t i;

    for (i = 0; i < len / 8; i++) {
        rmi_st64(b + 8 * i, regs[i]);
    }
}

/*
 * The granule of a realm buffer argument, or NULL when the call cannot
 * go on: either it fails with RSI_ERROR_INPUT in regs[0], or it exits to
 * the host so that the host assigns the granule (exit filled).
 */
static uint8_t *rsi_buffer(RmmRealm *r, uint64_t ipa, uint64_t *regs,
                           RmmRecExit *exit)
{
    bool fault;
    uint8_t *p = rmm_realm_granule_for_rsi(r, ipa, &fault);

    if (fault) {
        exit->reason = RMI_EXIT_SYNC;
        exit->fault_ipa = ipa & ~(RMM_GRANULE_SIZE - 1);
    } else if (!p) {
        regs[0] = RSI_ERROR_INPUT;
    }
    return p;
}

static void rsi_version(uint64_t *regs)
{
    uint64_t req = regs[1];

    /* Same major, minor no newer than ours: that revision is used. */
    if ((req >> 16) == (RSI_ABI_VERSION >> 16) &&
        (req & 0xffff) <= (RSI_ABI_VERSION & 0xffff)) {
        regs[0] = RSI_SUCCESS;
        regs[1] = req;
    } else {
        regs[0] = RSI_ERROR_INPUT;
        regs[1] = RSI_ABI_VERSION;
    }
    regs[2] = RSI_ABI_VERSION;
}

static void rsi_measurement_read(RmmRealm *r, uint64_t *regs)
{
    uint64_t index = regs[1];

    if (index > RMM_NUM_REMS) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    bytes_to_regs(&regs[1], index ? r->rem[index - 1] : r->rim,
                  RMM_HASH_MAX);
    regs[0] = RSI_SUCCESS;
}

static void rsi_measurement_extend(RmmRealm *r, uint64_t *regs)
{
    uint64_t index = regs[1], size = regs[2];
    uint8_t data[64];

    if (index < 1 || index > RMM_NUM_REMS || size > sizeof(data)) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    regs_to_bytes(data, &regs[3], sizeof(data));
    rmm_measure_extend(r->params.hash_algo, r->rem[index - 1], data, size);
    regs[0] = RSI_SUCCESS;
}

static void rsi_attest_init(RmmRec *rec, uint64_t *regs)
{
    RmmRealm *r = rec->realm;
    RmmRealmClaims claims;
    char *err = NULL;

    memset(&claims, 0, sizeof(claims));
    regs_to_bytes(claims.challenge, &regs[1], RMM_CHALLENGE_SIZE);
    memcpy(claims.rpv, r->params.rpv, RMM_RPV_SIZE);
    claims.hash_algo = r->params.hash_algo;
    memcpy(claims.rim, r->rim, RMM_HASH_MAX);
    memcpy(claims.rem, r->rem, sizeof(claims.rem));

    if (rec->token) {
        g_byte_array_unref(rec->token);
    }
    rec->token = rmm_attest_token(r->plat->keys, &claims, &err);
    rec->token_off = 0;
    if (!rec->token) {
        g_warning("rmm: attestation token: %s", err);
        g_free(err);
        regs[0] = RSI_ERROR_UNKNOWN;
        return;
    }
    regs[0] = RSI_SUCCESS;
    regs[1] = rmm_attest_token_max_size(r->params.hash_algo);
}

static void rsi_attest_continue(RmmRec *rec, uint64_t *regs,
                                RmmRecExit *exit)
{
    uint64_t ipa = regs[1], off = regs[2], size = regs[3], n;
    uint8_t *buf;

    if (!rmm_aligned(ipa) || off >= RMM_GRANULE_SIZE ||
        size > RMM_GRANULE_SIZE - off) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    buf = rsi_buffer(rec->realm, ipa, regs, exit);
    if (!buf) {
        return;
    }
    if (!rec->token) {
        regs[0] = RSI_ERROR_STATE;
        return;
    }
    n = MIN(size, rec->token->len - rec->token_off);
    memcpy(buf + off, rec->token->data + rec->token_off, n);
    rmm_write_notify(rec->realm, ipa + off, n);
    rec->token_off += n;
    regs[1] = n;
    if (rec->token_off == rec->token->len) {
        g_byte_array_unref(rec->token);
        rec->token = NULL;
        regs[0] = RSI_SUCCESS;
    } else {
        regs[0] = RSI_INCOMPLETE;
    }
}

static void rsi_realm_config(RmmRealm *r, uint64_t *regs, RmmRecExit *exit)
{
    uint64_t ipa = regs[1];
    uint8_t *buf;

    if (!rmm_aligned(ipa)) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    buf = rsi_buffer(r, ipa, regs, exit);
    if (!buf) {
        return;
    }
    memset(buf, 0, RMM_GRANULE_SIZE);
    rmi_st64(buf + REALM_CONFIG_IPA_WIDTH, r->params.ipa_width);
    buf[REALM_CONFIG_HASH_ALGO] = r->params.hash_algo;
    memcpy(buf + REALM_CONFIG_RPV, r->params.rpv, RMM_RPV_SIZE);
    rmm_write_notify(r, ipa, RMM_GRANULE_SIZE);
    regs[0] = RSI_SUCCESS;
}

static void rsi_ipa_state_set(RmmRec *rec, uint64_t *regs, RmmRecExit *exit)
{
    RmmRealm *r = rec->realm;
    uint64_t base = regs[1], top = regs[2], ripas = regs[3], flags = regs[4];

    if ((ripas != RMI_RIPAS_EMPTY && ripas != RMI_RIPAS_RAM) ||
        (flags & ~(uint64_t)RSI_CHANGE_DESTROYED) ||
        !rmm_aligned(base) || !rmm_aligned(top) || top <= base ||
        top > r->prot_size) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    /* The host applies the change (RTT_SET_RIPAS). */
    rec->pending = RMM_REC_PENDING_RIPAS;
    rec->ripas_change_destroyed = flags & RSI_CHANGE_DESTROYED;
    rec->ripas_base = rec->ripas_next = base;
    rec->ripas_top = top;
    rec->ripas_value = ripas;
    exit->reason = RMI_EXIT_RIPAS_CHANGE;
    exit->ripas_base = base;
    exit->ripas_top = top;
    exit->ripas_value = ripas;
}

static void rsi_ipa_state_get(RmmRealm *r, uint64_t *regs)
{
    uint64_t base = regs[1], end = regs[2], ipa;
    RmmRamRange *rr;
    RmiRipas ripas;

    if (!rmm_aligned(base) || !rmm_aligned(end) || base >= end ||
        end > r->prot_size) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    rr = rmm_ram_find(r, base);
    ripas = rr ? (*rmm_s2_entry(rr, base) & S2_RIPAS_MASK) : RMI_RIPAS_EMPTY;
    /* Extend the run of identical RIPAS as far as it goes, up to end. */
    for (ipa = base + RMM_GRANULE_SIZE; ipa < end; ipa += RMM_GRANULE_SIZE) {
        RmiRipas cur;

        rr = rmm_ram_find(r, ipa);
        cur = rr ? (*rmm_s2_entry(rr, ipa) & S2_RIPAS_MASK) : RMI_RIPAS_EMPTY;
        if (cur != ripas) {
            break;
        }
        if (!rr && ripas == RMI_RIPAS_EMPTY) {
            /* Skip unbacked space to the next RAM range in one step. */
            uint64_t next = end;
            unsigned i;

            for (i = 0; i < r->nr_ram; i++) {
                if (r->ram[i].base > ipa && r->ram[i].base < next) {
                    next = r->ram[i].base;
                }
            }
            ipa = next - RMM_GRANULE_SIZE;
        }
    }
    regs[0] = RSI_SUCCESS;
    regs[1] = MIN(ipa, end);
    regs[2] = ripas;
}

static void rsi_host_call(RmmRec *rec, uint64_t *regs, RmmRecExit *exit)
{
    uint64_t ipa = regs[1];
    uint8_t *buf;
    unsigned i;

    if (ipa & (RSI_HOST_CALL_SIZE - 1)) {
        regs[0] = RSI_ERROR_INPUT;
        return;
    }
    buf = rsi_buffer(rec->realm, ipa, regs, exit);
    if (!buf) {
        return;
    }
    buf += ipa & (RMM_GRANULE_SIZE - 1);
    rec->pending = RMM_REC_PENDING_HOST_CALL;
    rec->host_call_ipa = ipa;
    exit->reason = RMI_EXIT_HOST_CALL;
    exit->imm = buf[0] | (buf[1] << 8);
    for (i = 0; i < RSI_HOST_CALL_NR_GPRS; i++) {
        exit->gprs[i] = rmi_ld64(buf + 8 + 8 * i);
    }
}

void rmm_rec_smc(RmmRec *rec, uint64_t regs[RMM_SMC_NREGS], RmmRecExit *exit)
{
    RmmRealm *r = rec->realm;
    uint32_t fid = (uint32_t)regs[0] & ~SMCCC_SVE_HINT;

    memset(exit, 0, sizeof(*exit));
    exit->reason = RMM_EXIT_NONE;
    if (regs[0] >> 32) {
        regs[0] = SMCCC_NOT_SUPPORTED;     /* not an SMCCC function ID */
        return;
    }

    g_mutex_lock(&r->lock);
    if (rec->pending != RMM_REC_PENDING_NONE || !rmm_mig_may_run(r)) {
        /*
         * The host re-entered the REC without completing its exit, or
         * while migration keeps RECs from entering.
         */
        regs[0] = RSI_ERROR_STATE;
        goto out;
    }
    switch (fid) {
    case SMCCC_VERSION:
        regs[0] = SMCCC_VERSION_1_2;
        break;
    case SMCCC_ARCH_FEATURES:
        regs[0] = ((uint32_t)regs[1] == SMCCC_VERSION ||
                   (uint32_t)regs[1] == SMCCC_ARCH_FEATURES)
                  ? 0 : SMCCC_NOT_SUPPORTED;
        break;
    case RSI_VERSION:
        rsi_version(regs);
        break;
    case RSI_FEATURES:
        regs[0] = RSI_SUCCESS;
        regs[1] = 0;            /* no optional features */
        break;
    case RSI_MEASUREMENT_READ:
        rsi_measurement_read(r, regs);
        break;
    case RSI_MEASUREMENT_EXTEND:
        rsi_measurement_extend(r, regs);
        break;
    case RSI_ATTEST_TOKEN_INIT:
        rsi_attest_init(rec, regs);
        break;
    case RSI_ATTEST_TOKEN_CONTINUE:
        rsi_attest_continue(rec, regs, exit);
        break;
    case RSI_REALM_CONFIG:
        rsi_realm_config(r, regs, exit);
        break;
    case RSI_IPA_STATE_SET:
        rsi_ipa_state_set(rec, regs, exit);
        break;
    case RSI_IPA_STATE_GET:
        rsi_ipa_state_get(r, regs);
        break;
    case RSI_HOST_CALL:
        rsi_host_call(rec, regs, exit);
        break;
    default:
        if ((fid & 0xbf000000u) == 0x84000000u) {
            rmm_psci_call(rec, fid, regs, exit);
        } else {
            regs[0] = SMCCC_NOT_SUPPORTED;
        }
        break;
    }
out:
    g_mutex_unlock(&r->lock);
}
