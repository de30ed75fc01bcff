/*
 * Stand-in for QEMU's "qemu/host-utils.h", for the standalone build of
 * the emulated RMM (see osdep.h beside it)
 *
 * The helpers of QEMU's header that the model uses, with the same names
 * and results: ctz64() is 64 for 0, as QEMU's is.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HOST_UTILS_H
#define HOST_UTILS_H

/* Trailing zero bits of @val; 64 if @val is 0. */
static inline int ctz64(uint64_t val)
{
    return val ? __builtin_ctzll(val) : 64;
}

/* Set bits of @val. */
static inline int ctpop64(uint64_t val)
{
    return __builtin_popcountll(val);
}

#endif /* HOST_UTILS_H */
