/*
 * Arm CCA realms under KVM: migration over the proposed KVM uapi
 *
 * The table of migration operations (target/arm/rmi-mig-ops.h) of a KVM
 * CCA host, one ioctl each (target/arm/kvm-rmi-mig.h), so that
 * migration/rme-stream.c runs the same on this backend as on the
 * emulated RMM.  Records are opaque here as they are there: the kernel
 * hands them to and from the RMM, with their envelope.  Nothing here is
 * shared between calls but the VM fd: DATA commands of several lanes run
 * at once, the kernel serializes what needs it.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include <linux/kvm.h>
#include "kvm-rme.h"
#include "kvm-rmi-mig.h"
#include "trace.h"

static RmeKvm *rme_kvm(RmeGuest *g)
{
    return g->backend;
}

/* What @local says goes to *@err; @local is freed.  Returns false. */
static bool rme_kvm_mig_fail(Error *local, char **err)
{
    if (err) {
        *err = g_strdup(error_get_pretty(local));
    }
    error_free(local);
    return false;
}

/*
 * Migration ioctl @request, named @what, on @fd with @m: false and
 * @errp set if it failed.  The RMM's refusal (EPERM) names its status.
 */
static bool rme_kvm_mig_call(int fd, unsigned long request, const char *what,
                             struct kvm_arm_rmi_mig *m, Error **errp)
{
    Error *err = NULL;
    int ret = rme_kvm_call(fd, request, m, what, &err);

    if (ret == -EPERM) {
        RmiCommandReturnCode s = m->rmi_status;

        error_free(err);
        trace_rme_rmi(what, rmi_status_name(s), rmi_return_index(s));
        error_setg(errp, "rme-guest: the RMM refused %s: %s (index %u)",
                   what, rmi_status_name(s), rmi_return_index(s));
        return false;
    }
    if (ret < 0) {
        error_propagate(errp, err);
        return false;
    }
    return true;
}

/*
 * A migration ioctl on @fd that writes at most @size bytes to @buf: how
 * many in *@len.
 */
static bool rme_kvm_mig_out_fd(int fd, unsigned long request,
                               const char *what, struct kvm_arm_rmi_mig *m,
                               uint8_t *buf, size_t size, size_t *len,
                               Error **errp)
{
    m->out_uaddr = (uintptr_t)buf;
    m->out_size = size;
    *len = 0;
    if (!rme_kvm_mig_call(fd, request, what, m, errp)) {
        return false;
    }
    if (m->out_len > size) {
        error_setg(errp, "rme-guest: %s returned %" PRIu64 " bytes, more "
                   "than the %zu it was given", what, (uint64_t)m->out_len,
                   size);
        return false;
    }
    *len = m->out_len;
    return true;
}

/*
 * A migration ioctl on the VM: @in in, a record (RMM_MIG_RECORD_MAX
 * bytes at most) or a token (@size) out.
 */
static bool rme_kvm_mig_out(RmeGuest *g, unsigned long request,
                            const char *what, const void *in, size_t in_len,
                            uint8_t *buf, size_t size, size_t *len,
                            Error **errp)
{
    struct kvm_arm_rmi_mig m = {
        .in_uaddr = (uintptr_t)in,
        .in_len = in_len,
    };

    return rme_kvm_mig_out_fd(rme_kvm(g)->vm_fd, request, what, &m, buf,
                              size, len, errp);
}

/* A migration ioctl on the VM that only passes @in. */
static bool rme_kvm_mig_in(RmeGuest *g, unsigned long request,
                           const char *what, const void *in, size_t in_len,
                           Error **errp)
{
    struct kvm_arm_rmi_mig m = {
        .in_uaddr = (uintptr_t)in,
        .in_len = in_len,
    };

    return rme_kvm_mig_call(rme_kvm(g)->vm_fd, request, what, &m, errp);
}

/*
 * An export ioctl @request on @fd with @m: its record into @rec, with
 * the envelope the kernel returned.
 */
static bool rme_kvm_mig_export_fd(int fd, unsigned long request,
                                  const char *what, struct kvm_arm_rmi_mig *m,
                                  RmiMigRecord *rec, char **err)
{
    Error *local = NULL;
    size_t len;

    rec->len = 0;
    if (!rme_kvm_mig_out_fd(fd, request, what, m, rec->buf,
                            RMM_MIG_RECORD_MAX, &len, &local)) {
        return rme_kvm_mig_fail(local, err);
    }
    rec->len = len;
    rec->kind = m->kind;
    rec->lane = m->lane;
    rec->epoch = m->epoch;
    return true;
}

/* An export ioctl on the VM with @in passed in. */
static bool rme_kvm_mig_export(RmeGuest *g, unsigned long request,
                               const char *what, const void *in,
                               size_t in_len, RmiMigRecord *rec, char **err)
{
    struct kvm_arm_rmi_mig m = {
        .in_uaddr = (uintptr_t)in,
        .in_len = in_len,
    };

    return rme_kvm_mig_export_fd(rme_kvm(g)->vm_fd, request, what, &m, rec,
                                 err);
}

/* An ioctl on the VM that only passes @in. */
static bool rme_kvm_mig_pass(RmeGuest *g, unsigned long request,
                             const char *what, const void *in, size_t in_len,
                             const char *prefix, char **err)
{
    Error *local = NULL;

    if (!rme_kvm_mig_in(g, request, what, in, in_len, &local)) {
        error_prepend(&local, "%s", prefix);
        return rme_kvm_mig_fail(local, err);
    }
    return true;
}

/* MIG_START, once QEMU's memslots of the realm's RAM are all made. */
static bool rme_kvm_mig_start(void *opaque, RmiMigRecord *hello, char **err)
{
    RmeGuest *g = opaque;
    RmeKvm *k = rme_kvm(g);
    Error *local = NULL;

    if (!k->realm_built) {
        error_setg(&local, "rme-guest: there is no realm (not built yet)");
        return rme_kvm_mig_fail(local, err);
    }
    if (!rme_kvm_attach_slots(k, g, &local)) {
        return rme_kvm_mig_fail(local, err);
    }
    return rme_kvm_mig_export(g, KVM_ARM_RMI_MIG_START, "MIG_START",
                              g->policy_pem, g->policy_len, hello, err);
}

static bool rme_kvm_mig_accept(void *opaque, const RmiMigRecord *accept,
                               char **err)
{
    return rme_kvm_mig_pass(opaque, KVM_ARM_RMI_MIG_ACCEPT, "MIG_ACCEPT",
                            accept->buf, accept->len, "", err);
}

/*
 * The protected half of each memslot's dirty log (address space
 * KVM_ARM_RMI_PROTECTED_AS), read, cleared and merged into @bitmap,
 * whose bit i is granule ram_base + i * 4 KiB.
 */
static bool rme_kvm_mig_dirty_log(void *opaque, uint64_t *bitmap,
                                  uint64_t *n, char **err)
{
    RmeGuest *g = opaque;
    RmeKvm *k = rme_kvm(g);
    Error *local = NULL;
    unsigned i;

    *n = 0;
    for (i = 0; i < k->nr_slots; i++) {
        const RmeKvmSlot *s = &k->slots[i];
        uint64_t pages = s->size >> RMM_GRANULE_SHIFT;
        uint64_t first = (s->gpa - g->ram_base) >> RMM_GRANULE_SHIFT;
        uint32_t slot = s->id | (KVM_ARM_RMI_PROTECTED_AS << 16);
        g_autofree unsigned long *bm = bitmap_new(pages);
        struct kvm_dirty_log log = {
            .slot = slot,
            .dirty_bitmap = bm,
        };
        struct kvm_clear_dirty_log clear = {
            .slot = slot,
            .num_pages = pages,
            .dirty_bitmap = bm,
        };
        uint64_t p;

        if (s->gpa < g->ram_base || (s->gpa - g->ram_base) + s->size >
            g->ram_size) {
            error_setg(&local, "rme-guest: memslot %u is outside RAM",
                       s->id);
            return rme_kvm_mig_fail(local, err);
        }
        if (rme_kvm_call(k->vm_fd, KVM_GET_DIRTY_LOG, &log,
                         "KVM_GET_DIRTY_LOG", &local) < 0 ||
            (k->manual_dirty_protect &&
             rme_kvm_call(k->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear,
                          "KVM_CLEAR_DIRTY_LOG", &local) < 0)) {
            return rme_kvm_mig_fail(local, err);
        }
        for (p = find_first_bit(bm, pages); p < pages;
             p = find_next_bit(bm, pages, p + 1)) {
            bitmap[(first + p) / 64] |= 1ULL << ((first + p) % 64);
            (*n)++;
        }
    }
    return true;
}

static bool rme_kvm_mig_export_immutable(void *opaque, RmiMigRecord *rec,
                                         char **err)
{
    return rme_kvm_mig_export(opaque, KVM_ARM_RMI_MIG_EXPORT_IMMUTABLE,
                              "MIG_EXPORT_IMMUTABLE", NULL, 0, rec, err);
}

static bool rme_kvm_mig_export_ripas(void *opaque, RmiMigRecord *rec,
                                     bool *more, char **err)
{
    struct kvm_arm_rmi_mig m = { 0 };
    RmeGuest *g = opaque;

    *more = false;
    if (!rme_kvm_mig_export_fd(rme_kvm(g)->vm_fd,
                               KVM_ARM_RMI_MIG_EXPORT_RIPAS,
                               "MIG_EXPORT_RIPAS", &m, rec, err)) {
        return false;
    }
    *more = m.flags & KVM_ARM_RMI_MIG_MORE;
    return true;
}

/* From several threads at once for lanes > 0: nothing here is shared. */
static bool rme_kvm_mig_export_data(void *opaque, unsigned lane,
                                    const uint64_t *ipas, unsigned n,
                                    RmiMigRecord *rec, char **err)
{
    RmeGuest *g = opaque;
    struct kvm_arm_rmi_mig m = {
        .lane = lane,
        .gpas_uaddr = (uintptr_t)ipas,
        .nr_gpas = n,
    };

    return rme_kvm_mig_export_fd(rme_kvm(g)->vm_fd,
                                 KVM_ARM_RMI_MIG_EXPORT_DATA,
                                 "MIG_EXPORT_DATA", &m, rec, err);
}

static bool rme_kvm_mig_export_epoch(void *opaque, RmiMigRecord *rec,
                                     char **err)
{
    return rme_kvm_mig_export(opaque, KVM_ARM_RMI_MIG_EXPORT_EPOCH,
                              "MIG_EPOCH", NULL, 0, rec, err);
}

static bool rme_kvm_mig_pause(void *opaque, char **err)
{
    return rme_kvm_mig_pass(opaque, KVM_ARM_RMI_MIG_PAUSE, "MIG_PAUSE",
                            NULL, 0, "", err);
}

/* The REC's state is the RMM's: nothing of QEMU's travels with it. */
static bool rme_kvm_mig_export_rec(void *opaque, unsigned index,
                                   RmiMigRecord *rec, char **err)
{
    struct kvm_arm_rmi_mig m = { 0 };
    int fd = rme_kvm_vcpu_fd(opaque, index);
    g_autofree char *why = NULL;

    if (fd < 0) {
        if (err) {
            *err = g_strdup_printf("rme-guest: no vCPU %u", index);
        }
        return false;
    }
    if (!rme_kvm_mig_export_fd(fd, KVM_ARM_RMI_MIG_EXPORT_REC,
                               "MIG_EXPORT_REC",
                               &m, rec, &why)) {
        if (err) {
            *err = g_strdup_printf("vCPU %u: %s", index, why);
        }
        return false;
    }
    return true;
}

static bool rme_kvm_mig_export_end(void *opaque, RmiMigRecord *rec,
                                   char **err)
{
    return rme_kvm_mig_export(opaque, KVM_ARM_RMI_MIG_EXPORT_END, "MIG_END",
                              NULL, 0, rec, err);
}

/* After this the kernel refuses every REC enter of the realm. */
static bool rme_kvm_mig_commit_ack(void *opaque, const uint8_t *token,
                                   char **err)
{
    if (!rme_kvm_mig_pass(opaque, KVM_ARM_RMI_MIG_COMMIT_ACK,
                          "MIG_COMMIT_ACK", token, RMM_MIG_TOKEN_SIZE,
                          "rme-guest: the destination's commit token was "
                          "not accepted: ", err)) {
        return false;
    }
    rme_kvm(opaque)->phase = RMM_MIG_OUT_MIGRATED;
    return true;
}

static bool rme_kvm_mig_abort(void *opaque, const uint8_t *token, char **err)
{
    return rme_kvm_mig_pass(opaque, KVM_ARM_RMI_MIG_ABORT, "MIG_ABORT", token,
                            token ? RMM_MIG_TOKEN_SIZE : 0, "", err);
}

/*
 * Destination: the VM is a realm VM configured like the source's, not
 * populated and never run (it was made for -incoming): the kernel
 * creates the realm in the RMM, NEW, and starts importing into it.
 */
static bool rme_kvm_mig_import_start(void *opaque, char **err)
{
    RmeGuest *g = opaque;
    RmeKvm *k = rme_kvm(g);
    RmiRealmParams p = rme_guest_realm_params(g);
    struct kvm_arm_rmi_mig m = {
        .in_uaddr = (uintptr_t)g->policy_pem,
        .in_len = g->policy_len,
        .nr_recs = k->nr_vcpus,
    };
    Error *local = NULL;

    if (k->realm_built) {
        error_setg(&local, "rme-guest: this VM already runs a realm; import "
                   "into a QEMU started with -incoming");
        return rme_kvm_mig_fail(local, err);
    }
    if (!rme_kvm_realm_config(g, &p, &local)) {
        return rme_kvm_mig_fail(local, err);
    }
    if (!rme_kvm_mig_call(k->vm_fd, KVM_ARM_RMI_MIG_IMPORT_START,
                          "MIG_IMPORT_START", &m, &local)) {
        error_prepend(&local, "rme-guest: the realm cannot be imported: ");
        return rme_kvm_mig_fail(local, err);
    }
    k->realm_built = true;
    return true;
}

static bool rme_kvm_mig_import_hello(void *opaque, const RmiMigRecord *hello,
                                     RmiMigRecord *accept, char **err)
{
    return rme_kvm_mig_export(opaque, KVM_ARM_RMI_MIG_IMPORT_HELLO,
                              "MIG_IMPORT_HELLO", hello->buf, hello->len,
                              accept, err);
}

/*
 * With the stream's envelope, which the RMM checks.  From several
 * threads at once for DATA records of lanes > 0.
 */
static bool rme_kvm_mig_import(void *opaque, const RmiMigRecord *rec,
                               char **err)
{
    struct kvm_arm_rmi_mig m = {
        .lane = rec->lane,
        .kind = rec->kind,
        .epoch = rec->epoch,
        .in_uaddr = (uintptr_t)rec->buf,
        .in_len = rec->len,
    };
    Error *local = NULL;

    if (!rme_kvm_mig_call(rme_kvm(opaque)->vm_fd,
                          KVM_ARM_RMI_MIG_IMPORT_RECORD, "MIG_IMPORT_RECORD",
                          &m, &local)) {
        return rme_kvm_mig_fail(local, err);
    }
    return true;
}

static bool rme_kvm_mig_import_commit(void *opaque, uint8_t *token,
                                      char **err)
{
    Error *local = NULL;
    size_t len;

    if (!rme_kvm_mig_out(opaque, KVM_ARM_RMI_MIG_IMPORT_COMMIT,
                         "MIG_IMPORT_COMMIT", NULL, 0, token,
                         RMM_MIG_TOKEN_SIZE, &len, &local)) {
        error_prepend(&local, "rme-guest: the realm cannot be committed: ");
        return rme_kvm_mig_fail(local, err);
    }
    if (len != RMM_MIG_TOKEN_SIZE) {
        error_setg(&local, "rme-guest: MIG_IMPORT_COMMIT returned a token "
                   "of %zu bytes", len);
        return rme_kvm_mig_fail(local, err);
    }
    return true;
}

/*
 * The kernel destroys the realm: this VM never runs it, and a later
 * incoming migration imports into a new one.
 */
static bool rme_kvm_mig_import_abort(void *opaque, uint8_t *token)
{
    RmeGuest *g = opaque;
    uint8_t out[RMM_MIG_TOKEN_SIZE];
    Error *err = NULL;
    size_t len = 0;
    bool ok;

    ok = rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_IMPORT_ABORT, "MIG_IMPORT_ABORT",
                         NULL, 0, out, sizeof(out), &len, &err);
    if (!ok) {
        warn_report_err(err);
    }
    /* As for the TCG backend: no realm here now, a new import may come. */
    rme_kvm(g)->realm_built = false;
    rme_kvm(g)->phase = RMM_MIG_NONE;
    if (!ok || len != RMM_MIG_TOKEN_SIZE) {
        return false;
    }
    memcpy(token, out, RMM_MIG_TOKEN_SIZE);
    return true;
}

static bool rme_kvm_mig_read_status(RmeGuest *g,
                                    struct kvm_arm_rmi_mig_status *st)
{
    RmeKvm *k = rme_kvm(g);
    Error *err = NULL;

    memset(st, 0, sizeof(*st));
    if (!k->realm_built) {
        return false;
    }
    if (rme_kvm_call(k->vm_fd, KVM_ARM_RMI_MIG_STATUS, st,
                     "MIG_STATUS", &err) < 0) {
        warn_report_err(err);
        return false;
    }
    return true;
}

/*
 * If the kernel cannot say: the last phase it said, and everything
 * pending, so that the migration does not converge (and END would fail)
 * rather than end early.
 */
static RmmMigPhase rme_kvm_mig_status(void *opaque, RmmMigStats *stats)
{
    RmeGuest *g = opaque;
    RmeKvm *k = rme_kvm(g);
    struct kvm_arm_rmi_mig_status st;
    bool ok = rme_kvm_mig_read_status(g, &st);

    if (ok && st.phase <= RMM_MIG_IN_ABORTED) {
        k->phase = st.phase;
    }
    if (stats) {
        memset(stats, 0, sizeof(*stats));
        if (!ok) {
            stats->pending_granules = g->ram_size >> RMM_GRANULE_SHIFT;
        } else {
            stats->epoch = st.epoch;
            stats->data_granules = st.data_granules;
            stats->zero_granules = st.zero_granules;
            stats->data_bytes = st.data_bytes;
            stats->ripas_records = st.ripas_records;
            stats->ripas_granules = st.ripas_granules;
            stats->rec_records = st.rec_records;
            stats->total_bytes = st.total_bytes;
            stats->dirty_granules = st.dirty_granules;
            stats->pending_granules = st.pending_granules;
            stats->ripas_pending_granules = st.ripas_pending_granules;
            stats->poisoned_granules = st.poisoned_granules;
        }
    }
    return k->realm_built ? k->phase : RMM_MIG_NONE;
}

const RmiMigOps rme_kvm_mig_ops = {
    .start = rme_kvm_mig_start,
    .accept = rme_kvm_mig_accept,
    .dirty_log = rme_kvm_mig_dirty_log,
    .export_immutable = rme_kvm_mig_export_immutable,
    .export_ripas = rme_kvm_mig_export_ripas,
    .export_data = rme_kvm_mig_export_data,
    .export_epoch = rme_kvm_mig_export_epoch,
    .pause = rme_kvm_mig_pause,
    .export_rec = rme_kvm_mig_export_rec,
    .export_end = rme_kvm_mig_export_end,
    .commit_ack = rme_kvm_mig_commit_ack,
    .abort = rme_kvm_mig_abort,
    .import_start = rme_kvm_mig_import_start,
    .import_hello = rme_kvm_mig_import_hello,
    .import = rme_kvm_mig_import,
    .import_commit = rme_kvm_mig_import_commit,
    .import_abort = rme_kvm_mig_import_abort,
    .status = rme_kvm_mig_status,
};
