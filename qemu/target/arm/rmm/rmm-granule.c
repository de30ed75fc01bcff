/*
 * Emulated RMM: granules of protected memory

 * The physical memory the host hands over to a realm (rmm_realm_add_ram)
 * and the lookup of the RAM range that backs an IPA.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "rmm-internal.h"

RmiStatus rmm_realm_add_ram(RmmRealm *r, uint64_t base, uint64_t size,
                            void *store)
{
    RmiStatus ret = RMI_SUCCESS;
    unsigned i;

    g_mutex_lock(&r->lock);
    if (r->state != RMM_REALM_NEW || r->mig.phase != RMM_MIG_NONE) {
        ret = RMI_ERROR_REALM;
        goto out;
    }
    if (!store || !size || !rmm_aligned(base) || !rmm_aligned(size) ||
        base + size < base || base + size > r->prot_size ||
        r->nr_ram == RMM_MAX_RAM_RANGES) {
        ret = RMI_ERROR_INPUT;
        goto out;
    }
    for (i = 0; i < r->nr_ram; i++) {
        if (base < r->ram[i].base + r->ram[i].size &&
            r->ram[i].base < base + size) {
            ret = RMI_ERROR_INPUT;
            goto out;
        }
    }
    r->ram[r->nr_ram++] = (RmmRamRange) {
        .base = base,
        .size = size,
        .store = store,
        .s2 = g_malloc0(size >> RMM_GRANULE_SHIFT),
    };
out:
    g_mutex_unlock(&r->lock);
    return ret;
}

RmmRamRange *rmm_ram_find(RmmRealm *r, uint64_t ipa)
{
    unsigned i;

    for (i = 0; i < r->nr_ram; i++) {
        if (ipa >= r->ram[i].base && ipa - r->ram[i].base < r->ram[i].size) {
            return &r->ram[i];
        }
    }
    return NULL;
}
