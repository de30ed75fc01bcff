/*
 * Emulated RMM: minimal CBOR encoder and reader
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
 * The reader walks untrusted input item by item.  It takes well-formed
 * CBOR with definite lengths only: indefinite lengths, the reserved
 * additional information values 28..30, the "break" code, truncated items
 * and nesting deeper than RMM_CBOR_MAX_DEPTH are errors.  Every length is
 * checked against the bytes that remain.  A function that fails leaves the
 * reader where it was.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef RMM_CBOR_H
#define RMM_CBOR_H

#include <glib.h>
#include <stdbool.h>
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

/* ---- Reader ---- */

/* Deepest nesting of arrays, maps and tags that rmm_cbor_skip() takes. */
#define RMM_CBOR_MAX_DEPTH 16

typedef struct RmmCborReader {
    const uint8_t *buf;
    size_t len;
    size_t pos;             /* offset of the next item in @buf */
} RmmCborReader;

/* Read the @len bytes at @buf (NULL if @len is 0), from the start. */
void rmm_cbor_reader_init(RmmCborReader *r, const uint8_t *buf, size_t len);

/* True if every byte has been read. */
bool rmm_cbor_at_end(const RmmCborReader *r);

/*
 * Read the head of the next item: its major type and argument (value,
 * length, count of elements or of key/value pairs, tag number, or simple
 * value or float bits).  The contents of a string, the elements of an
 * array or map and the item of a tag are left to read.  A string's length
 * is checked against the remaining bytes.
 */
bool rmm_cbor_get_head(RmmCborReader *r, RmmCborMajor *major, uint64_t *arg);

/* Read a byte string: @data points into the reader's buffer. */
bool rmm_cbor_get_bytes(RmmCborReader *r, const uint8_t **data, size_t *len);

/*
 * Read a text string: @text points into the reader's buffer (not
 * NUL-terminated, and not checked to be UTF-8).
 */
bool rmm_cbor_get_text(RmmCborReader *r, const char **text, size_t *len);

/* Skip one whole item, nested items included. */
bool rmm_cbor_skip(RmmCborReader *r);

#endif /* RMM_CBOR_H */
