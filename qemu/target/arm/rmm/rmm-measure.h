/*
 * Emulated RMM: Realm Initial Measurement (RIM) and REM extension
 *
 * Formulas of the RMM specification (DEN0137 1.0), "Realm measurements":
 * each measured RMI command replaces the RIM by the hash of a measurement
 * descriptor that contains the old RIM.  Hashing is GnuTLS.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MEASURE_H
#define RMM_MEASURE_H

#include "rmm.h"

/* RIM at RMI_REALM_CREATE: hash of the measured fields of RmiRealmParams. */
void rmm_measure_realm_create(const RmmRealmParams *p, uint8_t rim[RMM_HASH_MAX]);

/* RIM update for RMI_RTT_INIT_RIPAS of [base, top). */
void rmm_measure_init_ripas(RmmHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                            uint64_t base, uint64_t top);

/*
 * RIM update for RMI_DATA_CREATE of one granule at @ipa.  @data is the
 * granule's content, or NULL for an unmeasured DATA_CREATE
 * (RMI_NO_MEASURE_CONTENT), which is still recorded with a zero hash.
 */
void rmm_measure_data_create(RmmHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                             uint64_t ipa, const uint8_t *data);

/* RIM update for RMI_REC_CREATE. */
void rmm_measure_rec_create(RmmHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                            const RmmRecParams *p);

/* RSI_MEASUREMENT_EXTEND: rem = H(rem || data[0..len)), len <= 64. */
void rmm_measure_extend(RmmHashAlgo algo, uint8_t rem[RMM_HASH_MAX],
                        const uint8_t *data, size_t len);

#endif /* RMM_MEASURE_H */
