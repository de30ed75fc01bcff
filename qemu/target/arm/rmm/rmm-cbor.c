/*
 * Emulated RMM: minimal CBOR encoder
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>

#include "rmm-cbor.h"

size_t rmm_cbor_head_size(uint64_t arg)
{
    if (arg < 24) {
        return 1;
    } else if (arg <= UINT8_MAX) {
        return 2;
    } else if (arg <= UINT16_MAX) {
        return 3;
    } else if (arg <= UINT32_MAX) {
        return 5;
    }
    return 9;
}

void rmm_cbor_put_head(GByteArray *b, RmmCborMajor major, uint64_t arg)
{
    uint8_t head[RMM_CBOR_HEAD_MAX];
    size_t size = rmm_cbor_head_size(arg);
    size_t i;

    /* Additional information: the value itself, or 24..27 for 1..8 bytes */
    switch (size) {
    case 1:
        head[0] = (uint8_t)arg;
        break;
    case 2:
        head[0] = 24;
        break;
    case 3:
        head[0] = 25;
        break;
    case 5:
        head[0] = 26;
        break;
    default:
        head[0] = 27;
        break;
    }
    head[0] |= (uint8_t)(major << 5);

    /* Argument in network byte order */
    for (i = 1; i < size; i++) {
        head[i] = (uint8_t)(arg >> (8 * (size - 1 - i)));
    }
    g_byte_array_append(b, head, size);
}

void rmm_cbor_put_uint(GByteArray *b, uint64_t v)
{
    rmm_cbor_put_head(b, RMM_CBOR_UINT, v);
}

void rmm_cbor_put_int(GByteArray *b, int64_t v)
{
    if (v >= 0) {
        rmm_cbor_put_head(b, RMM_CBOR_UINT, (uint64_t)v);
    } else {
        /* -1 - v, computed without overflowing for INT64_MIN */
        rmm_cbor_put_head(b, RMM_CBOR_NINT, ~(uint64_t)v);
    }
}

void rmm_cbor_put_bytes(GByteArray *b, const void *data, size_t len)
{
    rmm_cbor_put_head(b, RMM_CBOR_BYTES, len);
    if (len) {
        g_byte_array_append(b, data, len);
    }
}

void rmm_cbor_put_text_len(GByteArray *b, const char *s, size_t len)
{
    rmm_cbor_put_head(b, RMM_CBOR_TEXT, len);
    if (len) {
        g_byte_array_append(b, (const guint8 *)s, len);
    }
}

void rmm_cbor_put_text(GByteArray *b, const char *s)
{
    rmm_cbor_put_text_len(b, s, strlen(s));
}

void rmm_cbor_put_array(GByteArray *b, uint64_t n)
{
    rmm_cbor_put_head(b, RMM_CBOR_ARRAY, n);
}

void rmm_cbor_put_map(GByteArray *b, uint64_t n)
{
    rmm_cbor_put_head(b, RMM_CBOR_MAP, n);
}

void rmm_cbor_put_tag(GByteArray *b, uint64_t tag)
{
    rmm_cbor_put_head(b, RMM_CBOR_TAG, tag);
}
