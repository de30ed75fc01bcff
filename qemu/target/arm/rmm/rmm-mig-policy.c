/*
 * Emulated RMM migration: the realm's migration policy
 *
 * The policy says which platforms a realm may migrate between.  It is a
 * text file, measured whole (its SHA-512 is RmiRealmParams.mig_policy),
 * made of PEM blocks; text between blocks is ignored, as PEM allows:
 *
 *   CERTIFICATE       a trust anchor: a peer platform's certificate
 *                     must chain to one (up to POLICY_MAX_ANCHORS)
 *   PUBLIC KEY        a pinned platform key (ECDSA P-384): when the
 *                     policy pins any, the peer's leaf key must be one
 *                     of them, and validity dates are not checked
 *                     (up to POLICY_MAX_PINS)
 *   CCA MIGRATION REQUIREMENTS
 *                     at most one block of "keyword value" lines
 *                     ('#' starts a comment):
 *       eku OID                  the extended key usage the peer's leaf
 *                                certificate must have (default
 *                                RMM_MIG_EKU_DEFAULT)
 *       lifecycle LO [HI]        security lifecycle range, within the
 *                                secured 0x3000..0x30ff (the default)
 *       implementation-id HEX    32 bytes; repeated: any of them
 *       signer-id HEX            32, 48 or 64 bytes; repeated: every
 *                                software component's signer ID must
 *                                be one of them
 *       measurement HEX          likewise for the measurement values
 *       min-version X[.Y[.Z[.W]]]  every software component's version
 *                                (dotted decimal) at least this
 *
 * At least one anchor or pinned key.  Anything else that looks like a
 * PEM boundary, an unknown keyword, a repeated eku, lifecycle or
 * min-version, a malformed value: the policy is refused, naming the
 * line.
 *
 * The peer's platform is admitted when its leaf certificate has a key
 * usage with digitalSignature (a certificate without the extension is
 * refused) and the policy's EKU, its key is pinned (if the policy pins
 * keys), its chain ends at an anchor (if the policy has anchors; every
 * certificate of the chain either without EKU or with the policy's), and
 * its verified platform token's claims meet the requirements.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "rmm-mig.h"
#include "rmm-mig-internal.h"
#include "rmm-attest.h"

#define POLICY_MAX_ANCHORS      16
#define POLICY_MAX_PINS         16
#define POLICY_MAX_VALUES       16      /* per list of values */
#define POLICY_VALUE_MAX        64      /* bytes of an ID or measurement */
#define POLICY_OID_MAX          128
#define POLICY_VERSION_PARTS    4
#define POLICY_REQ_BLOCK        "CCA MIGRATION REQUIREMENTS"

typedef struct PolicyValues {
    uint8_t v[POLICY_MAX_VALUES][POLICY_VALUE_MAX];
    size_t len[POLICY_MAX_VALUES];
    unsigned n;
} PolicyValues;

struct RmmMigPolicy {
    gnutls_x509_trust_list_t anchors;   /* NULL: none */
    gnutls_x509_crt_t crts[POLICY_MAX_ANCHORS];    /* until in the list */
    unsigned nr_anchors;
    gnutls_datum_t pins[POLICY_MAX_PINS];   /* SubjectPublicKeyInfo DER */
    unsigned nr_pins;
    char eku[POLICY_OID_MAX];
    uint64_t lifecycle_min, lifecycle_max;
    PolicyValues impl_ids, signers, measurements;
    bool has_min_version;
    uint32_t min_version[POLICY_VERSION_PARTS];
    char min_version_text[64];
};

typedef enum PolicyBlock {
    BLOCK_NONE,
    BLOCK_CERT,
    BLOCK_KEY,
    BLOCK_REQ,
} PolicyBlock;

typedef struct PolicyParser {
    RmmMigPolicy *p;
    const char *text;
    unsigned line;              /* of the line being parsed, from 1 */
    PolicyBlock block;
    size_t block_start;         /* offset of its BEGIN line */
    unsigned block_line;        /* number of its BEGIN line */
    bool had_req, had_eku, had_lifecycle;
    char **err;
} PolicyParser;

void rmm_mig_policy_free(RmmMigPolicy *p)
{
    unsigned i;

    if (!p) {
        return;
    }
    if (p->anchors) {
        gnutls_x509_trust_list_deinit(p->anchors, 1);
    } else {
        for (i = 0; i < p->nr_anchors; i++) {
            gnutls_x509_crt_deinit(p->crts[i]);
        }
    }
    for (i = 0; i < p->nr_pins; i++) {
        gnutls_free(p->pins[i].data);
    }
    g_free(p);
}

static bool G_GNUC_PRINTF(2, 3) policy_err(PolicyParser *ps,
                                           const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return rmm_set_err(ps->err, "migration policy line %u: %s", ps->line,
                       msg);
}

/* ---- PEM blocks ---- */

/* The block of PEM label @label (@len bytes), BLOCK_NONE if unknown. */
static PolicyBlock policy_block_of(const char *label, size_t len)
{
    static const struct {
        const char *label;
        PolicyBlock block;
    } blocks[] = {
        { "CERTIFICATE", BLOCK_CERT },
        { "PUBLIC KEY", BLOCK_KEY },
        { POLICY_REQ_BLOCK, BLOCK_REQ },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(blocks); i++) {
        if (strlen(blocks[i].label) == len &&
            !memcmp(blocks[i].label, label, len)) {
            return blocks[i].block;
        }
    }
    return BLOCK_NONE;
}

/* A trust anchor from the PEM block @d. */
static bool policy_add_anchor(PolicyParser *ps, const gnutls_datum_t *d)
{
    RmmMigPolicy *p = ps->p;
    gnutls_x509_crt_t crt;

    if (p->nr_anchors == POLICY_MAX_ANCHORS) {
        return policy_err(ps, "more than %d trust anchors",
                          POLICY_MAX_ANCHORS);
    }
    if (gnutls_x509_crt_init(&crt) < 0) {
        return policy_err(ps, "out of memory");
    }
    if (gnutls_x509_crt_import(crt, d, GNUTLS_X509_FMT_PEM) < 0) {
        gnutls_x509_crt_deinit(crt);
        return policy_err(ps, "CERTIFICATE is not an X.509 certificate");
    }
    p->crts[p->nr_anchors++] = crt;
    return true;
}

/* A pinned key from the PEM block @d: an ECDSA P-384 public key. */
static bool policy_add_pin(PolicyParser *ps, const gnutls_datum_t *d)
{
    RmmMigPolicy *p = ps->p;
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    gnutls_pubkey_t key = NULL;
    unsigned bits = 0;
    bool ok;

    if (p->nr_pins == POLICY_MAX_PINS) {
        return policy_err(ps, "more than %d pinned keys", POLICY_MAX_PINS);
    }
    ok = gnutls_pubkey_init(&key) >= 0 &&
         gnutls_pubkey_import(key, d, GNUTLS_X509_FMT_PEM) >= 0 &&
         gnutls_pubkey_get_pk_algorithm(key, &bits) == GNUTLS_PK_ECDSA &&
         gnutls_pubkey_export_ecc_raw2(key, &curve, NULL, NULL, 0) >= 0 &&
         curve == GNUTLS_ECC_CURVE_SECP384R1 &&
         gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER,
                               &p->pins[p->nr_pins]) >= 0;
    if (key) {
        gnutls_pubkey_deinit(key);
    }
    if (!ok) {
        return policy_err(ps, "PUBLIC KEY is not an ECDSA P-384 public key");
    }
    p->nr_pins++;
    return true;
}

/* "-----BEGIN X-----" or "-----END X-----" at @s (@len bytes). */
static bool policy_boundary(const char *s, size_t len, bool *begin,
                            const char **label, size_t *label_len)
{
    size_t pre;

    if (len >= 16 && !strncmp(s, "-----BEGIN ", 11)) {
        pre = 11;
        *begin = true;
    } else if (len >= 14 && !strncmp(s, "-----END ", 9)) {
        pre = 9;
        *begin = false;
    } else {
        return false;
    }
    *label = s + pre;
    *label_len = len - pre;
    if (*label_len < 5 || strncmp(s + len - 5, "-----", 5)) {
        *label_len = 0;             /* a boundary, but broken */
    } else {
        *label_len -= 5;
    }
    return true;
}

/* The END of the current block, ending at @end (offset in ps->text). */
static bool policy_end_block(PolicyParser *ps, size_t end)
{
    unsigned line = ps->line;
    bool ok;
    gnutls_datum_t d = {
        .data = (unsigned char *)ps->text + ps->block_start,
        .size = end - ps->block_start,
    };
    PolicyBlock block = ps->block;

    ps->block = BLOCK_NONE;
    ps->line = ps->block_line;          /* errors name the BEGIN line */
    switch (block) {
    case BLOCK_CERT:
        ok = policy_add_anchor(ps, &d);
        break;
    case BLOCK_KEY:
        ok = policy_add_pin(ps, &d);
        break;
    default:
        ok = true;
    }
    ps->line = line;
    return ok;
}

/* ---- Requirements ---- */

/* @s (NUL-terminated) as @n bytes of hex, one of the sizes in @sizes. */
static bool policy_hex(const char *s, uint8_t *out, size_t *n,
                       const size_t *sizes, unsigned nr_sizes)
{
    size_t len = strlen(s), i;
    unsigned j;

    j = 0;
    while (j < nr_sizes && len != 2 * sizes[j]) {
        j++;
    }
    if (j == nr_sizes) {
        return false;
    }
    for (i = 0; i < len / 2; i++) {
        int hi = g_ascii_xdigit_value(s[2 * i]);
        int lo = g_ascii_xdigit_value(s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = hi << 4 | lo;
    }
    *n = len / 2;
    return true;
}

/* One more value of list @l (@what in errors) from hex @s. */
static bool policy_add_value(PolicyParser *ps, PolicyValues *l,
                             const char *what, const char *s, bool id32)
{
    static const size_t hashes[] = { 32, 48, 64 };

    if (l->n == POLICY_MAX_VALUES) {
        return policy_err(ps, "%s: more than %d values", what,
                          POLICY_MAX_VALUES);
    }
    if (!policy_hex(s, l->v[l->n], &l->len[l->n], hashes, id32 ? 1 : 3)) {
        return policy_err(ps, "%s: not %s bytes of hex", what,
                          id32 ? "32" : "32, 48 or 64");
    }
    l->n++;
    return true;
}

/* A dotted decimal version @s, 1 to POLICY_VERSION_PARTS numbers. */
static bool policy_version(const char *s, size_t len,
                           uint32_t v[POLICY_VERSION_PARTS])
{
    unsigned part = 0;
    uint64_t n = 0;
    size_t i;
    bool digits = false;

    memset(v, 0, POLICY_VERSION_PARTS * sizeof(v[0]));
    for (i = 0; i <= len; i++) {
        if (i < len && g_ascii_isdigit(s[i])) {
            n = n * 10 + (s[i] - '0');
            digits = true;
            if (n > UINT32_MAX) {
                return false;
            }
        } else if ((i == len || s[i] == '.') && digits &&
                   part < POLICY_VERSION_PARTS) {
            v[part++] = n;
            n = 0;
            digits = false;
        } else {
            return false;
        }
    }
    return true;
}

/* True if @s is a dotted OID of at least two arcs. */
static bool policy_oid(const char *s)
{
    size_t len = strlen(s), i;
    unsigned arcs = 1;

    if (!len || len >= POLICY_OID_MAX || !g_ascii_isdigit(s[0]) ||
        !g_ascii_isdigit(s[len - 1])) {
        return false;
    }
    for (i = 0; i < len; i++) {
        if (s[i] == '.' && s[i + 1] != '.') {
            arcs++;
        } else if (!g_ascii_isdigit(s[i])) {
            return false;
        }
    }
    return arcs >= 2;
}

/* A 16-bit number @s, decimal or hex with 0x. */
static bool policy_u16(const char *s, uint64_t *v)
{
    if (!g_ascii_strncasecmp(s, "0x", 2)) {
        return g_ascii_string_to_unsigned(s + 2, 16, 0, UINT16_MAX, v, NULL);
    }
    return g_ascii_string_to_unsigned(s, 10, 0, UINT16_MAX, v, NULL);
}

/* "lifecycle LO [HI]": @args[0..@n). */
static bool policy_lifecycle(PolicyParser *ps, char **args, unsigned n)
{
    RmmMigPolicy *p = ps->p;
    uint64_t v[2];
    unsigned i;

    if (ps->had_lifecycle) {
        return policy_err(ps, "lifecycle: given twice");
    }
    if (n < 1 || n > 2) {
        return policy_err(ps, "lifecycle: needs LO [HI]");
    }
    for (i = 0; i < 2; i++) {
        if (!policy_u16(args[i < n ? i : 0], &v[i])) {
            return policy_err(ps, "lifecycle: '%s' is not a number",
                              args[i < n ? i : 0]);
        }
    }
    if (v[0] > v[1] || v[0] < RMM_LIFECYCLE_SECURED_MIN ||
        v[1] > RMM_LIFECYCLE_SECURED_MAX) {
        return policy_err(ps, "lifecycle: not a range within the secured "
                          "0x%x..0x%x", RMM_LIFECYCLE_SECURED_MIN,
                          RMM_LIFECYCLE_SECURED_MAX);
    }
    p->lifecycle_min = v[0];
    p->lifecycle_max = v[1];
    ps->had_lifecycle = true;
    return true;
}

/* The requirement @kw with @args[0..@n). */
static bool policy_requirement(PolicyParser *ps, const char *kw,
                               char **args, unsigned n)
{
    RmmMigPolicy *p = ps->p;

    if (!strcmp(kw, "lifecycle")) {
        return policy_lifecycle(ps, args, n);
    }
    if (n != 1) {
        return policy_err(ps, "%s: needs one value", kw);
    }
    if (!strcmp(kw, "eku")) {
        if (ps->had_eku) {
            return policy_err(ps, "eku: given twice");
        }
        if (!policy_oid(args[0])) {
            return policy_err(ps, "eku: '%s' is not a dotted OID", args[0]);
        }
        g_strlcpy(p->eku, args[0], sizeof(p->eku));
        ps->had_eku = true;
        return true;
    }
    if (!strcmp(kw, "implementation-id")) {
        return policy_add_value(ps, &p->impl_ids, kw, args[0], true);
    }
    if (!strcmp(kw, "signer-id")) {
        return policy_add_value(ps, &p->signers, kw, args[0], false);
    }
    if (!strcmp(kw, "measurement")) {
        return policy_add_value(ps, &p->measurements, kw, args[0], false);
    }
    if (!strcmp(kw, "min-version")) {
        if (p->has_min_version) {
            return policy_err(ps, "min-version: given twice");
        }
        if (strlen(args[0]) >= sizeof(p->min_version_text) ||
            !policy_version(args[0], strlen(args[0]), p->min_version)) {
            return policy_err(ps, "min-version: '%s' is not a dotted "
                              "version (1 to %d numbers)", args[0],
                              POLICY_VERSION_PARTS);
        }
        g_strlcpy(p->min_version_text, args[0],
                  sizeof(p->min_version_text));
        p->has_min_version = true;
        return true;
    }
    return policy_err(ps, "unknown requirement '%s' (eku, lifecycle, "
                      "implementation-id, signer-id, measurement, "
                      "min-version)", kw);
}

/* A line of the requirements block, @s[0..@len). */
static bool policy_req_line(PolicyParser *ps, const char *s, size_t len)
{
    g_autofree char *line = g_strndup(s, len);
    g_auto(GStrv) all = NULL;
    char *words[8];
    char *hash = strchr(line, '#');
    unsigned n = 0, i;

    if (hash) {
        *hash = 0;
    }
    all = g_strsplit_set(line, " \t", -1);
    for (i = 0; all[i]; i++) {
        if (!*all[i]) {
            continue;                   /* runs of blanks */
        }
        if (n == G_N_ELEMENTS(words)) {
            return policy_err(ps, "too many words");
        }
        words[n++] = all[i];
    }
    return !n || policy_requirement(ps, words[0], words + 1, n - 1);
}

/* ---- The file ---- */

/* The line @s[0..@len) (no newline) that ends at offset @end. */
static bool policy_line(PolicyParser *ps, const char *s, size_t len,
                        size_t end)
{
    const char *label;
    size_t label_len;
    PolicyBlock block;
    bool begin;

    if (!policy_boundary(s, len, &begin, &label, &label_len)) {
        return ps->block == BLOCK_REQ ? policy_req_line(ps, s, len) : true;
    }
    block = policy_block_of(label, label_len);
    if (block == BLOCK_NONE) {
        return policy_err(ps, "'%.*s' is not a CERTIFICATE, PUBLIC KEY or "
                          POLICY_REQ_BLOCK " boundary",
                          (int)MIN(len, 60), s);
    }
    if (begin) {
        if (ps->block != BLOCK_NONE) {
            return policy_err(ps, "BEGIN inside a block");
        }
        if (block == BLOCK_REQ && ps->had_req) {
            return policy_err(ps, "a second " POLICY_REQ_BLOCK " block");
        }
        ps->had_req |= block == BLOCK_REQ;
        ps->block = block;
        ps->block_start = s - ps->text;
        ps->block_line = ps->line;
        return true;
    }
    if (block != ps->block) {
        return policy_err(ps, "END of a block that did not BEGIN");
    }
    return policy_end_block(ps, end);
}

/* Every line of @text[0..@len). */
static bool policy_lines(PolicyParser *ps, size_t len)
{
    size_t at = 0, end, n;

    while (at < len) {
        const char *nl = memchr(ps->text + at, '\n', len - at);

        end = nl ? (size_t)(nl - ps->text) : len;
        n = end - at;
        ps->line++;
        if (memchr(ps->text + at, 0, n)) {
            return policy_err(ps, "a NUL byte");
        }
        if (n && ps->text[at + n - 1] == '\r') {
            n--;
        }
        if (!policy_line(ps, ps->text + at, n, end)) {
            return false;
        }
        at = end + 1;
    }
    if (ps->block != BLOCK_NONE) {
        ps->line = ps->block_line;
        return policy_err(ps, "BEGIN without END");
    }
    return true;
}

RmmMigPolicy *rmm_mig_policy_parse(const uint8_t *pem, size_t len,
                                   char **err)
{
    PolicyParser ps = {
        .p = g_new0(RmmMigPolicy, 1),
        .text = (const char *)pem,
        .err = err,
    };
    RmmMigPolicy *p = ps.p;

    g_strlcpy(p->eku, RMM_MIG_EKU_DEFAULT, sizeof(p->eku));
    p->lifecycle_min = RMM_LIFECYCLE_SECURED_MIN;
    p->lifecycle_max = RMM_LIFECYCLE_SECURED_MAX;
    if (!pem || len > UINT_MAX || !policy_lines(&ps, len)) {
        if (!pem || len > UINT_MAX) {
            rmm_set_err(err, "the migration policy is empty or too large");
        }
        rmm_mig_policy_free(p);
        return NULL;
    }
    if (!p->nr_anchors && !p->nr_pins) {
        rmm_set_err(err, "the migration policy holds no trust anchor or "
                    "pinned key (PEM CERTIFICATE or PUBLIC KEY)");
        rmm_mig_policy_free(p);
        return NULL;
    }
    if (p->nr_anchors &&
        (gnutls_x509_trust_list_init(&p->anchors, 0) < 0 ||
         gnutls_x509_trust_list_add_cas(p->anchors, p->crts, p->nr_anchors,
                                        0) < 0)) {
        /* The list owns what it took, whatever happened. */
        rmm_set_err(err, "cannot build the policy's trust list");
        rmm_mig_policy_free(p);
        return NULL;
    }
    return p;
}

bool rmm_mig_policy_check(const uint8_t *pem, size_t len, char **err)
{
    RmmMigPolicy *p = rmm_mig_policy_parse(pem, len, err);

    rmm_mig_policy_free(p);
    return p != NULL;
}

/* ---- The peer's certificates ---- */

/* Key usage digitalSignature and the policy's EKU on @leaf. */
static bool policy_leaf_fit(const RmmMigPolicy *p, gnutls_x509_crt_t leaf,
                            const char *who, char **err)
{
    unsigned usage = 0, critical = 0, i;
    int ret = gnutls_x509_crt_get_key_usage(leaf, &usage, &critical);

    if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return rmm_set_err(err, "the %s platform's certificate has no key "
                           "usage (digitalSignature needed)", who);
    }
    if (ret < 0 || !(usage & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
        return rmm_set_err(err, "the %s platform's certificate is not for "
                           "signing (key usage without digitalSignature)",
                           who);
    }
    for (i = 0; ; i++) {
        char oid[POLICY_OID_MAX];
        size_t size = sizeof(oid);

        ret = gnutls_x509_crt_get_key_purpose_oid(leaf, i, oid, &size,
                                                  &critical);
        if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER) {
            continue;                   /* longer than any policy's */
        }
        if (ret < 0) {
            break;
        }
        if (!strcmp(oid, p->eku)) {
            return true;
        }
    }
    return rmm_set_err(err, "the %s platform's certificate is not for CCA "
                       "platform migration (extended key usage %s)", who,
                       p->eku);
}

/* @leaf's key is one the policy pins. */
static bool policy_pinned(const RmmMigPolicy *p, gnutls_x509_crt_t leaf)
{
    gnutls_pubkey_t key = NULL;
    gnutls_datum_t der = { NULL, 0 };
    bool found = false;
    unsigned i;

    if (gnutls_pubkey_init(&key) >= 0 &&
        gnutls_pubkey_import_x509(key, leaf, 0) >= 0 &&
        gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &der) >= 0) {
        for (i = 0; i < p->nr_pins && !found; i++) {
            found = p->pins[i].size == der.size &&
                    !memcmp(p->pins[i].data, der.data, der.size);
        }
    }
    gnutls_free(der.data);
    if (key) {
        gnutls_pubkey_deinit(key);
    }
    return found;
}

/* @crts[0..@n) end at an anchor; time not checked if keys are pinned. */
static bool policy_chain(const RmmMigPolicy *p, gnutls_x509_crt_t *crts,
                         unsigned n, const char *who, char **err)
{
    gnutls_typed_vdata_st purpose = {
        .type = GNUTLS_DT_KEY_PURPOSE_OID,
        .data = (unsigned char *)p->eku,
    };
    unsigned flags = 0, status = 0;

    if (p->nr_pins) {
        flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
    }
    if (gnutls_x509_trust_list_verify_crt2(p->anchors, crts, n, &purpose, 1,
                                           flags, &status, NULL) < 0) {
        status = GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND;
    }
    if (!status) {
        return true;
    }
    if (!(status & (GNUTLS_CERT_SIGNER_NOT_FOUND |
                    GNUTLS_CERT_SIGNATURE_FAILURE))) {
        if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) {
            return rmm_set_err(err, "the %s platform's certificates are "
                               "expired or not yet valid by this host's "
                               "clock", who);
        }
        if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
            return rmm_set_err(err, "an issuer of the %s platform's "
                               "certificate is not for CCA platform "
                               "migration (extended key usage %s)", who,
                               p->eku);
        }
    }
    return rmm_set_err(err, "the %s platform's identity does not chain to "
                       "a trust anchor of the realm's migration policy",
                       who);
}

bool rmm_mig_policy_check_chain(const RmmMigPolicy *p,
                                gnutls_x509_crt_t *crts, unsigned n,
                                const char *who, char **err)
{
    if (!policy_leaf_fit(p, crts[0], who, err)) {
        return false;
    }
    if (p->nr_pins && !policy_pinned(p, crts[0])) {
        return rmm_set_err(err, "the %s platform's key is not one the "
                           "realm's migration policy pins", who);
    }
    return !p->nr_anchors || policy_chain(p, crts, n, who, err);
}

/* ---- The peer's platform token ---- */

static bool policy_listed(const PolicyValues *l, const uint8_t *v,
                          size_t len)
{
    unsigned i;

    for (i = 0; i < l->n; i++) {
        if (l->len[i] == len && !memcmp(l->v[i], v, len)) {
            return true;
        }
    }
    return false;
}

/* Untrusted text @s[0..@len) for a message: printable or "?". */
static char *policy_printable(const char *s, size_t len)
{
    size_t i;

    if (!s || !len || len > 32) {
        return g_strdup("?");
    }
    for (i = 0; i < len; i++) {
        if (!g_ascii_isprint(s[i])) {
            return g_strdup("?");
        }
    }
    return g_strndup(s, len);
}

/* Software component @sw (number @i) against the policy. */
static bool policy_sw(const RmmMigPolicy *p, const RmmPlatTokenSw *sw,
                      unsigned i, const char *who, char **err)
{
    g_autofree char *type = policy_printable(sw->type, sw->type_len);
    uint32_t v[POLICY_VERSION_PARTS];
    unsigned j;

    if (p->signers.n &&
        !policy_listed(&p->signers, sw->signer_id, sw->signer_id_len)) {
        return rmm_set_err(err, "the %s platform's software component %u "
                           "(%s) has a signer ID the migration policy does "
                           "not list", who, i + 1, type);
    }
    if (p->measurements.n &&
        !policy_listed(&p->measurements, sw->measurement,
                       sw->measurement_len)) {
        return rmm_set_err(err, "the %s platform's software component %u "
                           "(%s) has a measurement the migration policy "
                           "does not list", who, i + 1, type);
    }
    if (!p->has_min_version) {
        return true;
    }
    if (!sw->version || !policy_version(sw->version, sw->version_len, v)) {
        return rmm_set_err(err, "the %s platform's software component %u "
                           "(%s) has no dotted version (the policy's "
                           "minimum is %s)", who, i + 1, type,
                           p->min_version_text);
    }
    j = 0;
    while (j < POLICY_VERSION_PARTS && v[j] == p->min_version[j]) {
        j++;
    }
    if (j < POLICY_VERSION_PARTS && v[j] < p->min_version[j]) {
        g_autofree char *ver = policy_printable(sw->version,
                                                sw->version_len);

        return rmm_set_err(err, "the %s platform's software component %u "
                           "(%s) has version %s, below the migration "
                           "policy's minimum %s", who, i + 1, type, ver,
                           p->min_version_text);
    }
    return true;
}

bool rmm_mig_policy_check_claims(const RmmMigPolicy *p,
                                 const RmmPlatTokenClaims *c,
                                 const char *who, char **err)
{
    unsigned i;

    if (c->lifecycle < p->lifecycle_min || c->lifecycle > p->lifecycle_max) {
        return rmm_set_err(err, "the %s platform is not in a secured state "
                           "(security lifecycle 0x%" PRIx64 ", the "
                           "migration policy admits 0x%" PRIx64 "..0x%"
                           PRIx64 ")", who, c->lifecycle, p->lifecycle_min,
                           p->lifecycle_max);
    }
    if (p->impl_ids.n &&
        !policy_listed(&p->impl_ids, c->impl_id, c->impl_id_len)) {
        return rmm_set_err(err, "the %s platform's implementation ID is not "
                           "one the migration policy lists", who);
    }
    for (i = 0; i < c->nr_sw; i++) {
        if (!policy_sw(p, &c->sw[i], i, who, err)) {
            return false;
        }
    }
    return true;
}
