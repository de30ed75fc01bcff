/*
 * Emulated RMM: Realm Initial Measurement (RIM) and REM extension
 *
 * Formulas of the RMM specification (DEN0137 1.0), "Realm measurements":
 * each measured RMI command replaces the RIM by the hash of a measurement
 * descriptor that contains the old RIM.  Hashing is GnuTLS.
 *
 * All measurement buffers are RMM_HASH_MAX bytes; with SHA-256 only the
 * first 32 bytes are meaningful and the rest is (and is kept) zero.  The
 * @algo of the RIM updates is the realm's hash_algo.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_MEASURE_H
#define RMM_MEASURE_H

#include "rmm.h"
#include "rmm-rec.h"          /* RmmRecParams */

/* Length of a hash of @algo (32 or 64), 0 for an unknown algorithm. */
size_t rmm_hash_len(RmiHashAlgo algo);

/*
 * RIM at RMI_REALM_CREATE (B4.3.9.4): hash, with @p->hash_algo, of a
 * zero-filled 4096-byte RmiRealmParams holding only flags, s2sz
 * (@p->ipa_width), sve_vl, num_bps, num_wps, pmu_num_ctrs and hash_algo.
 * The fields are taken in their RmiRealmParams encodings (e.g. num_bps is
 * the number of breakpoints minus one); rpv and vmid are not measured.
 */
void rmm_measure_realm_create(const RmiRealmParams *p,
                              uint8_t rim[RMM_HASH_MAX]);

/*
 * RIM update for RMI_RTT_INIT_RIPAS (B4.3.18.4): hashes one RIPAS
 * measurement descriptor for [@base, @top).  The specification extends
 * the RIM once per RTT entry of the command's range, with base = the
 * entry's IPA and top = Min(entry IPA + entry size, top): a caller that
 * wants RIMs identical to a real RMM calls this once per RTT entry.
 */
void rmm_measure_init_ripas(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                            uint64_t base, uint64_t top);

/*
 * RIM update for RMI_DATA_CREATE of one granule at @ipa (B4.3.1.4).  @data
 * is the granule's content (RMM_GRANULE_SIZE bytes, measured with flags
 * RMI_MEASURE_CONTENT), or NULL for an unmeasured DATA_CREATE
 * (RMI_NO_MEASURE_CONTENT), which still extends the RIM, with flags 0 and
 * a zero content hash.
 */
void rmm_measure_data_create(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                             uint64_t ipa, const uint8_t *data);

/*
 * RIM update for RMI_REC_CREATE (B4.3.12.4): only a runnable REC
 * (RMI_REC_FLAG_RUNNABLE in @p->flags) is measured; for any other REC
 * @rim is left unchanged.  Measured: flags, pc and gprs[0..7] (not mpidr).
 */
void rmm_measure_rec_create(RmiHashAlgo algo, uint8_t rim[RMM_HASH_MAX],
                            const RmmRecParams *p);

/*
 * RSI_MEASUREMENT_EXTEND: rem = H(rem[0..hash_len) || data[0..len)),
 * len <= 64 (the caller rejects larger sizes with RSI_ERROR_INPUT).  This
 * is what TF-RMM computes; see rmm-measure.c.
 */
void rmm_measure_extend(RmiHashAlgo algo, uint8_t rem[RMM_HASH_MAX],
                        const uint8_t *data, size_t len);

#endif /* RMM_MEASURE_H */
