/*
 * Emulated RMM: minimal CBOR encoder and reader
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

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

/* ---- Reader ---- */

void rmm_cbor_reader_init(RmmCborReader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = buf ? len : 0;
    r->pos = 0;
}

bool rmm_cbor_at_end(const RmmCborReader *r)
{
    return r->pos >= r->len;
}

/*
 * Decode the head at the reader's position into @major and @arg, and its
 * size into @size, without moving.  A string's contents must follow in
 * full.
 */
static bool peek_head(const RmmCborReader *r, RmmCborMajor *major,
                      uint64_t *arg, size_t *size)
{
    const uint8_t *p;
    size_t left, n, i;
    unsigned ai;
    uint64_t v;

    if (r->pos >= r->len) {
        return false;
    }
    p = r->buf + r->pos;
    left = r->len - r->pos - 1;         /* after the initial byte */
    ai = p[0] & 0x1f;
    if (ai < 24) {
        n = 0;
        v = ai;
    } else if (ai <= 27) {
        n = (size_t)1 << (ai - 24);
        v = 0;
    } else {
        return false;   /* 28..30 reserved; 31 indefinite length or break */
    }
    if (left < n) {
        return false;
    }
    for (i = 0; i < n; i++) {
        v = (v << 8) | p[1 + i];
    }
    left -= n;

    *major = (RmmCborMajor)(p[0] >> 5);
    /* Simple values 0..31 have the one-byte head only (RFC 8949 3.3) */
    if (*major == RMM_CBOR_SIMPLE && ai == 24 && v < 32) {
        return false;
    }
    if ((*major == RMM_CBOR_BYTES || *major == RMM_CBOR_TEXT) && v > left) {
        return false;
    }
    *arg = v;
    *size = 1 + n;
    return true;
}

bool rmm_cbor_get_head(RmmCborReader *r, RmmCborMajor *major, uint64_t *arg)
{
    size_t size;

    if (!peek_head(r, major, arg, &size)) {
        return false;
    }
    r->pos += size;
    return true;
}

bool rmm_cbor_get_bytes(RmmCborReader *r, const uint8_t **data, size_t *len)
{
    RmmCborMajor major;
    uint64_t arg;
    size_t size;

    if (!peek_head(r, &major, &arg, &size) || major != RMM_CBOR_BYTES) {
        return false;
    }
    /* peek_head() checked that @arg bytes follow the head */
    *data = r->buf + r->pos + size;
    *len = (size_t)arg;
    r->pos += size + (size_t)arg;
    return true;
}

bool rmm_cbor_get_text(RmmCborReader *r, const char **text, size_t *len)
{
    RmmCborMajor major;
    uint64_t arg;
    size_t size;

    if (!peek_head(r, &major, &arg, &size) || major != RMM_CBOR_TEXT) {
        return false;
    }
    /* peek_head() checked that @arg bytes follow the head */
    *text = (const char *)r->buf + r->pos + size;
    *len = (size_t)arg;
    r->pos += size + (size_t)arg;
    return true;
}

/*
 * Skip the item at the reader's position, nested inside @depth arrays,
 * maps or tags.  On failure the position is anywhere inside the item.
 */
static bool skip_item(RmmCborReader *r, unsigned depth)
{
    RmmCborMajor major;
    uint64_t arg, i;

    if (depth > RMM_CBOR_MAX_DEPTH || !rmm_cbor_get_head(r, &major, &arg)) {
        return false;
    }
    switch (major) {
    case RMM_CBOR_BYTES:
    case RMM_CBOR_TEXT:
        r->pos += (size_t)arg;          /* checked by peek_head() */
        return true;
    case RMM_CBOR_ARRAY:
    case RMM_CBOR_MAP:
        /*
         * Every element takes a byte at least, so a huge count fails as
         * soon as the input runs out.
         */
        for (i = 0; i < arg; i++) {
            if (!skip_item(r, depth + 1) ||
                (major == RMM_CBOR_MAP && !skip_item(r, depth + 1))) {
                return false;
            }
        }
        return true;
    case RMM_CBOR_TAG:
        return skip_item(r, depth + 1);
    default:
        return true;                    /* integers, simple values, floats */
    }
}

bool rmm_cbor_skip(RmmCborReader *r)
{
    size_t start = r->pos;

    if (!skip_item(r, 0)) {
        r->pos = start;
        return false;
    }
    return true;
}
