/*
 * Arm CCA realms under KVM: migration over the proposed KVM uapi
 *
 * The migration operations of rme_kvm_backend_ops, one ioctl each
 * (target/arm/kvm-rmi-mig.h), so that migration/rme-stream.c runs the
 * same on this backend as on the emulated RMM.  Records are opaque here
 * as they are there: the kernel hands them to and from the RMM.
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

/* MIG_START, once QEMU's memslots of the realm's RAM are all made. */
bool rme_kvm_mig_export_start(RmeGuest *g, uint8_t *buf, size_t *len,
                              Error **errp)
{
    RmeKvm *k = rme_kvm(g);

    if (!k->realm_built) {
        error_setg(errp, "rme-guest: there is no realm (not built yet)");
        return false;
    }
    if (!rme_kvm_attach_slots(k, g, errp)) {
        return false;
    }
    return rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_START, "MIG_START",
                           g->policy_pem, g->policy_len, buf,
                           RMM_MIG_RECORD_MAX, len, errp);
}

bool rme_kvm_mig_export_accept(RmeGuest *g, const uint8_t *buf, size_t len,
                               Error **errp)
{
    return rme_kvm_mig_in(g, KVM_ARM_RMI_MIG_ACCEPT, "MIG_ACCEPT", buf, len,
                          errp);
}

/*
 * The protected half of each memslot's dirty log (address space
 * KVM_ARM_RMI_PROTECTED_AS), read, cleared and merged into @bitmap,
 * whose bit i is granule ram_base + i * 4 KiB.
 */
bool rme_kvm_mig_dirty_log(RmeGuest *g, uint64_t *bitmap, uint64_t *n,
                           Error **errp)
{
    RmeKvm *k = rme_kvm(g);
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
            error_setg(errp, "rme-guest: memslot %u is outside RAM", s->id);
            return false;
        }
        if (rme_kvm_call(k->vm_fd, KVM_GET_DIRTY_LOG, &log,
                         "KVM_GET_DIRTY_LOG", errp) < 0) {
            return false;
        }
        if (k->manual_dirty_protect &&
            rme_kvm_call(k->vm_fd, KVM_CLEAR_DIRTY_LOG, &clear,
                         "KVM_CLEAR_DIRTY_LOG", errp) < 0) {
            return false;
        }
        for (p = find_first_bit(bm, pages); p < pages;
             p = find_next_bit(bm, pages, p + 1)) {
            bitmap[(first + p) / 64] |= 1ULL << ((first + p) % 64);
            (*n)++;
        }
    }
    return true;
}

bool rme_kvm_mig_export_immutable(RmeGuest *g, uint8_t *buf, size_t *len,
                                  Error **errp)
{
    return rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_EXPORT_IMMUTABLE,
                           "MIG_EXPORT_IMMUTABLE", NULL, 0, buf,
                           RMM_MIG_RECORD_MAX, len, errp);
}

bool rme_kvm_mig_export_ripas(RmeGuest *g, uint8_t *buf, size_t *len,
                              bool *more, Error **errp)
{
    struct kvm_arm_rmi_mig m = { 0 };

    *more = false;
    if (!rme_kvm_mig_out_fd(rme_kvm(g)->vm_fd, KVM_ARM_RMI_MIG_EXPORT_RIPAS,
                            "MIG_EXPORT_RIPAS", &m, buf, RMM_MIG_RECORD_MAX,
                            len, errp)) {
        return false;
    }
    *more = m.flags & KVM_ARM_RMI_MIG_MORE;
    return true;
}

/* From several threads at once for lanes > 0: nothing here is shared. */
bool rme_kvm_mig_export_data(RmeGuest *g, unsigned lane,
                             const uint64_t *ipas, unsigned n, uint8_t *buf,
                             size_t *len, Error **errp)
{
    struct kvm_arm_rmi_mig m = {
        .lane = lane,
        .gpas_uaddr = (uintptr_t)ipas,
        .nr_gpas = n,
    };

    return rme_kvm_mig_out_fd(rme_kvm(g)->vm_fd, KVM_ARM_RMI_MIG_EXPORT_DATA,
                              "MIG_EXPORT_DATA", &m, buf, RMM_MIG_RECORD_MAX,
                              len, errp);
}

bool rme_kvm_mig_export_epoch(RmeGuest *g, uint8_t *buf, size_t *len,
                              Error **errp)
{
    return rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_EXPORT_EPOCH, "MIG_EPOCH",
                           NULL, 0, buf, RMM_MIG_RECORD_MAX, len, errp);
}

bool rme_kvm_mig_export_pause(RmeGuest *g, Error **errp)
{
    return rme_kvm_mig_in(g, KVM_ARM_RMI_MIG_PAUSE, "MIG_PAUSE", NULL, 0,
                          errp);
}

/* The REC's state is the RMM's: nothing of QEMU's travels with it. */
bool rme_kvm_mig_export_rec(RmeGuest *g, CPUState *cs, uint8_t *buf,
                            size_t *len, Error **errp)
{
    struct kvm_arm_rmi_mig m = { 0 };

    if (!rme_kvm_mig_out_fd(rme_kvm_vcpu_fd(cs), KVM_ARM_RMI_MIG_EXPORT_REC,
                            "MIG_EXPORT_REC", &m, buf, RMM_MIG_RECORD_MAX,
                            len, errp)) {
        error_prepend(errp, "vCPU %d: ", cs->cpu_index);
        return false;
    }
    return true;
}

bool rme_kvm_mig_export_end(RmeGuest *g, uint8_t *buf, size_t *len,
                            Error **errp)
{
    return rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_EXPORT_END, "MIG_END", NULL, 0,
                           buf, RMM_MIG_RECORD_MAX, len, errp);
}

/* After this the kernel refuses every REC enter of the realm. */
bool rme_kvm_mig_commit_ack(RmeGuest *g, const uint8_t *token, Error **errp)
{
    Error *err = NULL;

    if (!rme_kvm_mig_in(g, KVM_ARM_RMI_MIG_COMMIT_ACK, "MIG_COMMIT_ACK",
                        token, RMM_MIG_TOKEN_SIZE, &err)) {
        error_prepend(&err, "rme-guest: the destination's commit token was "
                      "not accepted: ");
        error_propagate(errp, err);
        return false;
    }
    rme_kvm(g)->phase = RMM_MIG_OUT_MIGRATED;
    return true;
}

bool rme_kvm_mig_export_abort(RmeGuest *g, const uint8_t *token,
                              Error **errp)
{
    return rme_kvm_mig_in(g, KVM_ARM_RMI_MIG_ABORT, "MIG_ABORT", token,
                          token ? RMM_MIG_TOKEN_SIZE : 0, errp);
}

/*
 * Destination: the VM is a realm VM configured like the source's, not
 * populated and never run (it was made for -incoming): the kernel
 * creates the realm in the RMM, NEW, and starts importing into it.
 */
bool rme_kvm_mig_import_start(RmeGuest *g, const RmiRealmParams *p,
                              Error **errp)
{
    RmeKvm *k = rme_kvm(g);
    struct kvm_arm_rmi_mig m = {
        .in_uaddr = (uintptr_t)g->policy_pem,
        .in_len = g->policy_len,
        .nr_recs = k->nr_vcpus,
    };

    if (k->realm_built) {
        error_setg(errp, "rme-guest: this VM already runs a realm; import "
                   "into a QEMU started with -incoming");
        return false;
    }
    if (!rme_kvm_realm_config(g, p, errp)) {
        return false;
    }
    if (!rme_kvm_mig_call(k->vm_fd, KVM_ARM_RMI_MIG_IMPORT_START,
                          "MIG_IMPORT_START", &m, errp)) {
        error_prepend(errp, "rme-guest: the realm cannot be imported: ");
        return false;
    }
    k->realm_built = true;
    return true;
}

bool rme_kvm_mig_import_hello(RmeGuest *g, const uint8_t *hello, size_t len,
                              uint8_t *buf, size_t *out_len, Error **errp)
{
    return rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_IMPORT_HELLO,
                           "MIG_IMPORT_HELLO", hello, len, buf,
                           RMM_MIG_RECORD_MAX, out_len, errp);
}

/* From several threads at once for DATA records of lanes > 0. */
bool rme_kvm_mig_import_record(RmeGuest *g, const uint8_t *buf, size_t len,
                               Error **errp)
{
    return rme_kvm_mig_in(g, KVM_ARM_RMI_MIG_IMPORT_RECORD,
                          "MIG_IMPORT_RECORD", buf, len, errp);
}

bool rme_kvm_mig_import_commit(RmeGuest *g, uint8_t *token, Error **errp)
{
    size_t len;

    if (!rme_kvm_mig_out(g, KVM_ARM_RMI_MIG_IMPORT_COMMIT,
                         "MIG_IMPORT_COMMIT", NULL, 0, token,
                         RMM_MIG_TOKEN_SIZE, &len, errp)) {
        error_prepend(errp, "rme-guest: the realm cannot be committed: ");
        return false;
    }
    if (len != RMM_MIG_TOKEN_SIZE) {
        error_setg(errp, "rme-guest: MIG_IMPORT_COMMIT returned a token of "
                   "%zu bytes", len);
        return false;
    }
    return true;
}

/*
 * The kernel destroys the realm: this VM never runs it, and a later
 * incoming migration imports into a new one.
 */
bool rme_kvm_mig_import_abort(RmeGuest *g, uint8_t *token)
{
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

static bool rme_kvm_mig_status(RmeGuest *g, struct kvm_arm_rmi_mig_status *st)
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

/* If the kernel cannot say, the last phase it said. */
RmmMigPhase rme_kvm_mig_phase(RmeGuest *g)
{
    RmeKvm *k = rme_kvm(g);
    struct kvm_arm_rmi_mig_status st;

    if (rme_kvm_mig_status(g, &st) && st.phase <= RMM_MIG_IN_ABORTED) {
        k->phase = st.phase;
    }
    return k->realm_built ? k->phase : RMM_MIG_NONE;
}

/*
 * If the kernel cannot say, everything is pending: the migration does
 * not converge (and END would fail) rather than end early.
 */
void rme_kvm_mig_stats(RmeGuest *g, RmmMigStats *stats)
{
    struct kvm_arm_rmi_mig_status st;

    memset(stats, 0, sizeof(*stats));
    if (!rme_kvm_mig_status(g, &st)) {
        stats->pending_granules = g->ram_size >> RMM_GRANULE_SHIFT;
        return;
    }
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
