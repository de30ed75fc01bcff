/*
 * Emulated RMM: PSCI calls of a realm and RMI_PSCI_COMPLETE (DEN0022)
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "rmm-rec.h"
#include "rmm-internal.h"

#define PSCI_VERSION_1_1            0x10001u
#define PSCI_RET_SUCCESS            0
#define PSCI_RET_NOT_SUPPORTED      ((uint64_t)-1)
#define PSCI_RET_INVALID_PARAMS     ((uint64_t)-2)
#define PSCI_RET_DENIED             (-3)
#define PSCI_RET_ALREADY_ON         ((uint64_t)-4)
#define PSCI_RET_INVALID_ADDRESS    ((uint64_t)-9)
#define PSCI_AFFINITY_INFO_ON       0
#define PSCI_MIGRATE_TOS_NOT_PRESENT 2

static bool psci_fid_supported(uint32_t fid)
{
    switch (fid) {
    case SMCCC_VERSION:
    case PSCI_FN_VERSION:
    case PSCI_FN_CPU_SUSPEND_32:
    case PSCI_FN_CPU_SUSPEND_64:
    case PSCI_FN_CPU_OFF:
    case PSCI_FN_CPU_ON_32:
    case PSCI_FN_CPU_ON_64:
    case PSCI_FN_AFFINITY_INFO_32:
    case PSCI_FN_AFFINITY_INFO_64:
    case PSCI_FN_MIGRATE_INFO_TYPE:
    case PSCI_FN_SYSTEM_OFF:
    case PSCI_FN_SYSTEM_RESET:
    case PSCI_FN_FEATURES:
        return true;
    default:
        return false;
    }
}

void rmm_psci_call(RmmRec *rec, uint32_t fid, uint64_t *regs,
                   RmmRecExit *exit)
{
    RmmRealm *r = rec->realm;
    bool is64 = fid & 0x40000000u;
    uint64_t target_mpidr = is64 ? regs[1] : (uint32_t)regs[1];
    uint64_t arg2 = is64 ? regs[2] : (uint32_t)regs[2];
    RmmRec *target = NULL;
    unsigned i;

    switch (fid) {
    case PSCI_FN_VERSION:
        regs[0] = PSCI_VERSION_1_1;
        return;
    case PSCI_FN_FEATURES:
        regs[0] = psci_fid_supported(regs[1]) ? PSCI_RET_SUCCESS
                                              : PSCI_RET_NOT_SUPPORTED;
        return;
    case PSCI_FN_MIGRATE_INFO_TYPE:
        regs[0] = PSCI_MIGRATE_TOS_NOT_PRESENT;
        return;
    case PSCI_FN_CPU_ON_32:
    case PSCI_FN_CPU_ON_64:
        /* The entry point must be a protected address. */
        if (arg2 >= r->prot_size) {
            regs[0] = PSCI_RET_INVALID_ADDRESS;
            return;
        }
        target = rmm_rec_find(r, target_mpidr);
        if (!target) {
            regs[0] = PSCI_RET_INVALID_PARAMS;
            return;
        }
        if (target->runnable) {
            regs[0] = PSCI_RET_ALREADY_ON;
            return;
        }
        break;
    case PSCI_FN_CPU_OFF:
        rec->runnable = false;
        break;
    case PSCI_FN_SYSTEM_OFF:
    case PSCI_FN_SYSTEM_RESET:
        r->state = RMM_REALM_SYSTEM_OFF;
        exit->reason = RMI_EXIT_PSCI;
        exit->psci_fid = fid;
        return;
    case PSCI_FN_AFFINITY_INFO_32:
    case PSCI_FN_AFFINITY_INFO_64:
        /* lowest_affinity_level must be 0, the target one of our RECs. */
        target = rmm_rec_find(r, target_mpidr);
        if (arg2 != 0 || !target) {
            regs[0] = PSCI_RET_INVALID_PARAMS;
            return;
        }
        if (target == rec) {
            regs[0] = PSCI_AFFINITY_INFO_ON;
            return;
        }
        break;
    case PSCI_FN_CPU_SUSPEND_32:
    case PSCI_FN_CPU_SUSPEND_64:
        break;
    default:
        regs[0] = PSCI_RET_NOT_SUPPORTED;
        return;
    }
    if (target) {
        /* CPU_ON / AFFINITY_INFO: the host completes it for @target. */
        rec->psci_pending = true;
        rec->psci_fid = fid;
        rec->psci_mpidr = target_mpidr;
    }
    exit->reason = RMI_EXIT_PSCI;
    exit->psci_fid = fid;
    for (i = 0; i < 3; i++) {
        exit->psci_args[i] = regs[i + 1];
    }
}

bool rmm_psci_fid_completable(uint32_t fid)
{
    return fid == PSCI_FN_CPU_ON_32 || fid == PSCI_FN_CPU_ON_64 ||
           fid == PSCI_FN_AFFINITY_INFO_32 || fid == PSCI_FN_AFFINITY_INFO_64;
}

RmiStatus rmm_psci_complete(RmmRec *caller, RmmRec *target, int32_t status)
{
    RmmRealm *r = caller->realm;
    RmiStatus ret = RMI_ERROR_INPUT;
    bool cpu_on;

    if (target->realm != r || target == caller) {
        return RMI_ERROR_INPUT;
    }
    g_mutex_lock(&r->lock);
    if (rmm_mig_frozen(r)) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!caller->psci_pending || target->mpidr != caller->psci_mpidr) {
        goto out;
    }
    cpu_on = caller->psci_fid == PSCI_FN_CPU_ON_32 ||
             caller->psci_fid == PSCI_FN_CPU_ON_64;
    if (status != PSCI_RET_SUCCESS &&
        !(cpu_on && status == PSCI_RET_DENIED && !target->runnable)) {
        /* AFFINITY_INFO cannot fail; CPU_ON of a running REC is ON. */
        goto out;
    }
    if (cpu_on && status == PSCI_RET_SUCCESS) {
        target->runnable = true;
    }
    caller->psci_pending = false;
    ret = RMI_SUCCESS;
out:
    g_mutex_unlock(&r->lock);
    return ret;
}
