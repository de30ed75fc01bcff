/*
 * Emulated RMM: minimal CBOR encoder
 *
 * Just what the CCA attestation token needs (RFC 8949): unsigned and
 * negative integers, byte and text strings, arrays, maps and tags, all
 * with definite lengths and the shortest argument encoding, as the
 * deterministic encoding of RFC 8949 section 4.2.1 requires.  Map keys
 * must be written by the caller in the deterministic order (bytewise
 * lexicographic order of their encodings); for integer keys of the same
 * sign that is numeric order for unsigned and reverse numeric order for
 * negative ones, and every unsigned key sorts before every negative key.
 *
 * Items are appended to a GByteArray; a nested item that must travel as
 * a byte string (a COSE payload, say) is encoded into its own array first
 * and then added with rmm_cbor_put_bytes().
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_CBOR_H
#define RMM_CBOR_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* CBOR major types (RFC 8949 section 3.1). */
typedef enum RmmCborMajor {
    RMM_CBOR_UINT = 0,
    RMM_CBOR_NINT = 1,
    RMM_CBOR_BYTES = 2,
    RMM_CBOR_TEXT = 3,
    RMM_CBOR_ARRAY = 4,
    RMM_CBOR_MAP = 5,
    RMM_CBOR_TAG = 6,
    RMM_CBOR_SIMPLE = 7,
} RmmCborMajor;

/* Longest item head: initial byte and an 8-byte argument. */
#define RMM_CBOR_HEAD_MAX 9

/* Size in bytes of the shortest head carrying argument @arg. */
size_t rmm_cbor_head_size(uint64_t arg);

/* Append a head of major type @major with argument @arg. */
void rmm_cbor_put_head(GByteArray *b, RmmCborMajor major, uint64_t arg);

void rmm_cbor_put_uint(GByteArray *b, uint64_t v);
void rmm_cbor_put_int(GByteArray *b, int64_t v);
void rmm_cbor_put_bytes(GByteArray *b, const void *data, size_t len);
/* @s is UTF-8; @len bytes of it are written. */
void rmm_cbor_put_text_len(GByteArray *b, const char *s, size_t len);
/* NUL-terminated UTF-8 text. */
void rmm_cbor_put_text(GByteArray *b, const char *s);
/* Heads only: the @n elements (or @n key/value pairs) follow. */
void rmm_cbor_put_array(GByteArray *b, uint64_t n);
void rmm_cbor_put_map(GByteArray *b, uint64_t n);
/* Tag head: the tagged item follows. */
void rmm_cbor_put_tag(GByteArray *b, uint64_t tag);

#endif /* RMM_CBOR_H */
