/*
 * Arm CCA realm guests under TCG: the RMI migration commands
 *
 * The table of migration operations (target/arm/rmi-mig-ops.h) over the
 * emulated RMM.  Each command takes the BQL, which keeps the realm from
 * being destroyed under it (a reset destroys it with the BQL held);
 * DATA commands of lanes 1.. run from several threads at once without
 * it and enter the realm instead (rme_tcg_destroy() waits for them).
 * Under TCG the vCPU state of a REC lives in QEMU's CPU: it travels
 * sealed inside the REC's record, serialized with the CPU's own VMState
 * descriptions.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "block/aio.h"
#include "hw/core/cpu.h"
#include "hw/core/sysemu-cpu-ops.h"
#include "io/channel-buffer.h"
#include "migration/vmstate.h"
#include "migration/qemu-file.h"
#include "cpu.h"
#include "internals.h"
#include "target/arm/rmm/rmm-realm.h"
#include "target/arm/rmm/rmm-rec.h"
#include "target/arm/rmm/rmm-mig.h"
#include "target/arm/trace.h"
#include "rme-tcg.h"

/* Every migration command goes through here: traced. */
static RmiCommandReturnCode mig_traced(RmiCommandReturnCode s,
                                       const char *what)
{
    trace_rme_rmi(what, rmi_status_name(s), rmi_return_index(s));
    return s;
}

static void mig_set_err(char **err, char *msg)
{
    if (err) {
        *err = msg;
    } else {
        g_free(msg);
    }
}

/* What @local says goes to *@err; @local is freed. */
static void mig_error(Error *local, char **err)
{
    mig_set_err(err, g_strdup(error_get_pretty(local)));
    error_free(local);
}

/* The realm of @t, or NULL and *@err. */
static RmmRealm *mig_realm(RmeTcg *t, char **err)
{
    RmmRealm *realm = qatomic_read(&t->realm);

    if (!realm) {
        mig_set_err(err, g_strdup(t->mig_reset ?
                    "rme-guest: the realm was reset while it migrated" :
                    "rme-guest: there is no realm (not built yet, reset or "
                    "torn down)"));
    }
    return realm;
}

/*
 * RMI command @what returned @s; if it failed, *@err says why: what the
 * RMM explained in *@why (taken; NULL @why: nothing) after @prefix, or
 * the status.  @why by reference: the command that sets it is an
 * argument of the caller's too.
 */
static bool mig_rmi(RmeTcg *t, RmiCommandReturnCode s, const char *what,
                    char **why, const char *prefix, char **err)
{
    g_autofree char *rmm_why = why ? g_steal_pointer(why) : NULL;

    if (mig_traced(s, what) == RMI_SUCCESS) {
        return true;
    }
    if (t->mig_reset) {
        mig_set_err(err, g_strdup("rme-guest: the realm was reset while it "
                                  "migrated"));
    } else if (rmm_why) {
        mig_set_err(err, g_strdup_printf("%s%s", prefix, rmm_why));
    } else {
        mig_set_err(err, g_strdup_printf("emulated RMM: %s failed: %s "
                                         "(index %u)", what,
                                         rmi_status_name(s),
                                         rmi_return_index(s)));
    }
    return false;
}

/*
 * Export @what returned @s and made *@len bytes at @rec->buf: as
 * mig_rmi(), then @rec's envelope from the record's header.  (@len by
 * reference: the export that sets it is an argument of the caller's.)
 */
static bool mig_exported_why(RmeTcg *t, RmiCommandReturnCode s,
                             const char *what, char **why, const char *prefix,
                             RmiMigRecord *rec, const size_t *len, char **err)
{
    rec->len = *len;
    if (!mig_rmi(t, s, what, why, prefix, err)) {
        rec->len = 0;
        return false;
    }
    if (rec->len && !rmi_mig_record_describe(rec)) {
        mig_set_err(err, g_strdup_printf("emulated RMM: %s made no record",
                                         what));
        return false;
    }
    return true;
}

static bool mig_exported(RmeTcg *t, RmiCommandReturnCode s, const char *what,
                         RmiMigRecord *rec, const size_t *len, char **err)
{
    return mig_exported_why(t, s, what, NULL, "", rec, len, err);
}

/*
 * A command of a lane (1..) without the BQL: in the realm until
 * mig_realm_exit(); NULL and *@err if it is being destroyed or gone.
 */
static RmmRealm *mig_realm_enter(RmeTcg *t, char **err)
{
    RmmRealm *realm = NULL;

    qemu_mutex_lock(&t->lane_lock);
    if (!t->held) {
        realm = mig_realm(t, err);
        t->users += realm != NULL;
    } else {
        mig_set_err(err, g_strdup("rme-guest: the realm was reset while it "
                                  "migrated"));
    }
    qemu_mutex_unlock(&t->lane_lock);
    return realm;
}

static void mig_realm_exit(RmeTcg *t)
{
    qemu_mutex_lock(&t->lane_lock);
    if (!--t->users) {
        qemu_cond_broadcast(&t->lane_cond);
    }
    qemu_mutex_unlock(&t->lane_lock);
}

/* ---- Source ---- */

static bool rme_tcg_mig_start(void *opaque, RmiMigRecord *hello, char **err)
{
    RmeGuest *g = opaque;
    RmeTcg *t = rme_tcg(g);
    RmmRealm *realm;
    char *why = NULL;
    size_t len = 0;
    RmiStatus s;

    BQL_LOCK_GUARD();
    t->mig_reset = false;
    realm = mig_realm(t, err);
    if (!realm) {
        return false;
    }
    s = rmm_mig_export_start(realm, g->policy_pem, g->policy_len, hello->buf,
                             RMM_MIG_RECORD_MAX, &len, &why);
    return mig_exported_why(t, s, "MIG_START", &why,
                            "rme-guest: the realm cannot migrate: ", hello,
                            &len, err);
}

static bool rme_tcg_mig_accept(void *opaque, const RmiMigRecord *accept,
                               char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    char *why = NULL;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    return realm &&
           mig_rmi(t, rmm_mig_export_accept(realm, accept->buf, accept->len,
                                            &why),
                   "MIG_ACCEPT", &why, "rme-guest: the destination's "
                   "handshake answer was refused: ", err);
}

/*
 * The emulation's hardware dirty bits: TCG logs guest writes to the
 * protected store in QEMU's migration dirty bitmap (the store is not
 * migrated as RAM, but TCG tracks every RAM block); hand them to the RMM,
 * then read the RMM's log.
 */
static bool rme_tcg_mig_dirty_log(void *opaque, uint64_t *bitmap,
                                  uint64_t *n, char **err)
{
    RmeGuest *g = opaque;
    RmeTcg *t = rme_tcg(g);
    g_autofree DirtyBitmapSnapshot *snap = NULL;
    uint64_t off, run = 0, size = g->ram_size;
    RmmRealm *realm;

    BQL_LOCK_GUARD();
    *n = 0;
    realm = mig_realm(t, err);
    if (!realm) {
        return false;
    }
    snap = memory_region_snapshot_and_clear_dirty(&t->store, 0, size,
                                                  DIRTY_MEMORY_MIGRATION);
    for (off = 0; off <= size; off += RMM_GRANULE_SIZE) {
        if (off < size &&
            memory_region_snapshot_get_dirty(&t->store, snap, off,
                                             RMM_GRANULE_SIZE)) {
            run += RMM_GRANULE_SIZE;
            continue;
        }
        if (run) {
            rmm_mig_log_write(realm, g->ram_base + off - run, run);
            run = 0;
        }
    }
    *n = rmm_mig_dirty_log(realm, g->ram_base, size >> RMM_GRANULE_SHIFT,
                           bitmap);
    return true;
}

/* A one-record export of the realm (BQL): IMMUTABLE, EPOCH, END. */
typedef RmiStatus RmeTcgExportFn(RmmRealm *r, uint8_t *buf, size_t cap,
                                 size_t *len);

static bool mig_export_one(void *opaque, RmeTcgExportFn *fn,
                           const char *what, RmiMigRecord *rec, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    size_t len = 0;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    return realm &&
           mig_exported(t, fn(realm, rec->buf, RMM_MIG_RECORD_MAX, &len),
                        what, rec, &len, err);
}

static bool rme_tcg_mig_export_immutable(void *opaque, RmiMigRecord *rec,
                                         char **err)
{
    return mig_export_one(opaque, rmm_mig_export_immutable,
                          "MIG_EXPORT_IMMUTABLE", rec, err);
}

static bool rme_tcg_mig_export_ripas(void *opaque, RmiMigRecord *rec,
                                     bool *more, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    size_t len = 0;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    return realm &&
           mig_exported(t, rmm_mig_export_ripas(realm, rec->buf,
                                                RMM_MIG_RECORD_MAX, &len,
                                                more),
                        "MIG_EXPORT_RIPAS", rec, &len, err);
}

static bool rme_tcg_mig_export_data(void *opaque, unsigned lane,
                                    const uint64_t *ipas, unsigned n,
                                    RmiMigRecord *rec, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    unsigned exported;
    size_t len = 0;
    RmiStatus s;

    if (!lane) {
        BQL_LOCK_GUARD();
        realm = mig_realm(t, err);
        return realm &&
               mig_exported(t, rmm_mig_export_data_lane(realm, 0, ipas, n,
                                                        rec->buf,
                                                        RMM_MIG_RECORD_MAX,
                                                        &len, &exported),
                            "MIG_EXPORT_DATA", rec, &len, err);
    }
    realm = mig_realm_enter(t, err);
    if (!realm) {
        return false;
    }
    s = rmm_mig_export_data_lane(realm, lane, ipas, n, rec->buf,
                                 RMM_MIG_RECORD_MAX, &len, &exported);
    mig_realm_exit(t);
    return mig_exported(t, s, "MIG_EXPORT_DATA", rec, &len, err);
}

static bool rme_tcg_mig_export_epoch(void *opaque, RmiMigRecord *rec,
                                     char **err)
{
    return mig_export_one(opaque, rmm_mig_export_epoch, "MIG_EPOCH", rec,
                          err);
}

static bool rme_tcg_mig_pause(void *opaque, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    return realm &&
           mig_rmi(t, rmm_mig_export_pause(realm), "MIG_PAUSE", NULL, "",
                   err);
}

static const VMStateDescription *const *rme_tcg_cpu_vmsds(CPUState *cs)
{
    static const VMStateDescription *vmsds[3];

    vmsds[0] = &vmstate_cpu_common;
    vmsds[1] = cs->cc->sysemu_ops->legacy_vmsd;
    vmsds[2] = NULL;
    return vmsds;
}

/*
 * The vCPU state of @cs, serialized into @bioc through @f: false and
 * @errp if it cannot be.
 */
static bool rme_tcg_save_rec_ctx(CPUState *cs, QIOChannelBuffer *bioc,
                                 QEMUFile *f, Error **errp)
{
    const VMStateDescription *const *vmsd;

    for (vmsd = rme_tcg_cpu_vmsds(cs); *vmsd; vmsd++) {
        if (vmstate_save_state(f, *vmsd, cs, NULL, errp) < 0) {
            return false;
        }
    }
    if (qemu_fflush(f) < 0) {
        error_setg(errp, "rme-guest: cannot serialize vCPU %d",
                   cs->cpu_index);
        return false;
    }
    if (bioc->usage > RMM_MIG_REC_CTX_MAX) {
        error_setg(errp, "rme-guest: vCPU %d state is %zu bytes, more than "
                   "a REC record carries", cs->cpu_index, bioc->usage);
        return false;
    }
    return true;
}

/*
 * The REC's architectural state the RMM owns in its record, from @cs:
 * SVE Z, P and FFR as stored to memory (little endian bytes), ZCR_EL1,
 * the PMU's counters brought up to date, the debug registers.  The RMM
 * seals what the realm has of it.
 */
static void rme_tcg_rec_arch_save(CPUState *cs, RmmRecArch *a)
{
    CPUARMState *env = cpu_env(cs);
    unsigned i, j;

    memset(a, 0, sizeof(*a));
    a->zcr_el1 = env->vfp.zcr_el[1];
    for (i = 0; i < 32; i++) {
        for (j = 0; j < RMM_REC_ARCH_VL_MAX; j++) {
            a->z[i][j] = env->vfp.zregs[i].d[j / 8] >> (j % 8 * 8);
        }
    }
    for (i = 0; i <= FFR_PRED_NUM; i++) {
        uint8_t *out = i < FFR_PRED_NUM ? a->p[i] : a->ffr;

        for (j = 0; j < RMM_REC_ARCH_VL_MAX / 8; j++) {
            out[j] = env->vfp.pregs[i].p[j / 8] >> (j % 8 * 8);
        }
    }
    pmu_op_start(env);
    a->pmcr_el0 = env->cp15.c9_pmcr;
    a->pmcntenset = env->cp15.c9_pmcnten;
    a->pmintenset = env->cp15.c9_pminten;
    a->pmovsset = env->cp15.c9_pmovsr;
    a->pmccntr = env->cp15.c15_ccnt;
    a->pmccfiltr = env->cp15.pmccfiltr_el0;
    a->pmselr = env->cp15.c9_pmselr;
    a->pmuserenr = env->cp15.c9_pmuserenr;
    for (i = 0; i < 31; i++) {
        a->pmevcntr[i] = env->cp15.c14_pmevcntr[i];
        a->pmevtyper[i] = env->cp15.c14_pmevtyper[i];
    }
    pmu_op_finish(env);
    a->mdscr_el1 = env->cp15.mdscr_el1;
    for (i = 0; i < 16; i++) {
        a->bvr[i] = env->cp15.dbgbvr[i];
        a->bcr[i] = env->cp15.dbgbcr[i];
        a->wvr[i] = env->cp15.dbgwvr[i];
        a->wcr[i] = env->cp15.dbgwcr[i];
    }
}

/*
 * The reverse, over what the vCPU state loaded: the parts the realm has
 * (SVE, the PMU with @g's sizes; debug always), the rest as it was.
 */
static void rme_tcg_rec_arch_load(RmeGuest *g, CPUState *cs,
                                  const RmmRecArch *a)
{
    ARMCPU *cpu = ARM_CPU(cs);
    CPUARMState *env = &cpu->env;
    unsigned i, j;

    if (g->sve_vq) {
        env->vfp.zcr_el[1] = a->zcr_el1;
        for (i = 0; i < 32; i++) {
            memset(env->vfp.zregs[i].d, 0, sizeof(env->vfp.zregs[i].d));
            for (j = 0; j < RMM_REC_ARCH_VL_MAX; j++) {
                env->vfp.zregs[i].d[j / 8] |= (uint64_t)a->z[i][j] <<
                                              (j % 8 * 8);
            }
        }
        for (i = 0; i <= FFR_PRED_NUM; i++) {
            const uint8_t *in = i < FFR_PRED_NUM ? a->p[i] : a->ffr;

            memset(env->vfp.pregs[i].p, 0, sizeof(env->vfp.pregs[i].p));
            for (j = 0; j < RMM_REC_ARCH_VL_MAX / 8; j++) {
                env->vfp.pregs[i].p[j / 8] |= (uint64_t)in[j] << (j % 8 * 8);
            }
        }
    }
    if (g->pmu_ctrs) {
        pmu_op_start(env);
        env->cp15.c9_pmcr = a->pmcr_el0;
        env->cp15.c9_pmcnten = a->pmcntenset;
        env->cp15.c9_pminten = a->pmintenset;
        env->cp15.c9_pmovsr = a->pmovsset;
        env->cp15.c15_ccnt = a->pmccntr;
        env->cp15.pmccfiltr_el0 = a->pmccfiltr;
        env->cp15.c9_pmselr = a->pmselr;
        env->cp15.c9_pmuserenr = a->pmuserenr;
        for (i = 0; i < 31; i++) {
            env->cp15.c14_pmevcntr[i] = a->pmevcntr[i];
            env->cp15.c14_pmevtyper[i] = a->pmevtyper[i];
        }
        pmu_op_finish(env);
    }
    env->cp15.mdscr_el1 = a->mdscr_el1;
    for (i = 0; i < 16; i++) {
        env->cp15.dbgbvr[i] = a->bvr[i];
        env->cp15.dbgbcr[i] = a->bcr[i];
        env->cp15.dbgwvr[i] = a->wvr[i];
        env->cp15.dbgwcr[i] = a->wcr[i];
    }
    hw_breakpoint_update_all(cpu);
    hw_watchpoint_update_all(cpu);
    arm_rebuild_hflags(env);
}

static bool rme_tcg_mig_export_rec(void *opaque, unsigned index,
                                   RmiMigRecord *rec, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    QIOChannelBuffer *bioc;
    Error *local = NULL;
    RmiStatus s = RMI_ERROR_INPUT;
    size_t len = 0;
    CPUState *cs;
    QEMUFile *f;
    bool ok;

    BQL_LOCK_GUARD();
    cs = qemu_get_cpu(index);
    if (!cs || !ARM_CPU(cs)->realm_rec) {
        mig_set_err(err, g_strdup_printf("rme-guest: vCPU %u has no REC",
                                         index));
        return false;
    }
    bioc = qio_channel_buffer_new(64 * KiB);
    f = qemu_file_new_output(QIO_CHANNEL(bioc));
    ok = rme_tcg_save_rec_ctx(cs, bioc, f, &local);
    if (ok) {
        RmmRecArch *arch = g_new(RmmRecArch, 1);

        rme_tcg_rec_arch_save(cs, arch);
        s = rmm_mig_export_rec_arch(ARM_CPU(cs)->realm_rec, bioc->data,
                                    bioc->usage, arch, rec->buf,
                                    RMM_MIG_RECORD_MAX, &len);
        rme_wipe(arch, sizeof(*arch));
        g_free(arch);
    }
    /* The channel's buffer goes with the file: wipe it first. */
    rme_wipe(bioc->data, bioc->usage);
    qemu_fclose(f);
    object_unref(OBJECT(bioc));
    if (!ok) {
        mig_error(local, err);
        return false;
    }
    return mig_exported(t, s, "MIG_EXPORT_REC", rec, &len, err);
}

static bool rme_tcg_mig_export_end(void *opaque, RmiMigRecord *rec,
                                   char **err)
{
    return mig_export_one(opaque, rmm_mig_export_end, "MIG_END", rec, err);
}

static bool rme_tcg_mig_commit_ack(void *opaque, const uint8_t *token,
                                   char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    CPUState *cs;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    if (!realm) {
        return false;
    }
    if (mig_traced(rmm_mig_commit_ack(realm, token),
                           "MIG_COMMIT_ACK") != RMI_SUCCESS) {
        mig_set_err(err, g_strdup("rme-guest: the destination's commit "
                                  "token is not valid for this migration"));
        return false;
    }
    /* MIGRATED: nothing of the realm runs here again. */
    CPU_FOREACH(cs) {
        cs->halted = 1;
    }
    return true;
}

static bool rme_tcg_mig_abort(void *opaque, const uint8_t *token, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    RmiCommandReturnCode s;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    if (!realm) {
        return false;
    }
    s = rmm_mig_export_abort(realm, token);
    if (rmi_return_status(s) == RMI_ERROR_INPUT) {
        mig_traced(s, "MIG_ABORT");
        mig_set_err(err, g_strdup("rme-guest: the destination's abort token "
                                  "is not valid for this migration: the "
                                  "realm cannot run here"));
        return false;
    }
    return mig_rmi(t, s, "MIG_ABORT", NULL, "", err);
}

/* ---- Destination ---- */

/*
 * A NEW realm with all of RAM delegated and mapped, ready for
 * MIG_IMPORT_START: at reset on a destination (-incoming), so that the
 * source's handshake does not wait for it.
 */
bool rme_tcg_incoming_prepare(RmeGuest *g, Error **errp)
{
    RmiRealmParams p = rme_guest_realm_params(g);

    rme_tcg_destroy(g);
    if (!rme_tcg_realm_create(g, &p, errp) || !rme_tcg_map_ram_l3(g, errp)) {
        rme_tcg_destroy(g);
        return false;
    }
    return true;
}

static bool rme_tcg_mig_import_start(void *opaque, char **err)
{
    RmeGuest *g = opaque;
    RmeTcg *t = rme_tcg(g);
    RmiStatus st = RMI_ERROR_REALM;
    unsigned nr_vcpus = 0;
    Error *local = NULL;
    char *why = NULL;
    CPUState *cs;

    BQL_LOCK_GUARD();
    t->mig_reset = false;
    CPU_FOREACH(cs) {
        nr_vcpus++;         /* one REC each: the source must have as many */
    }
    /* The realm prepared at reset, if it is still fresh. */
    if (t->realm) {
        st = rmm_mig_import_start(t->realm, nr_vcpus, g->policy_pem,
                                  g->policy_len, &why);
    }
    if (st == RMI_ERROR_REALM) {
        g_clear_pointer(&why, g_free);
        if (!rme_tcg_incoming_prepare(g, &local)) {
            mig_error(local, err);
            return false;
        }
        st = rmm_mig_import_start(t->realm, nr_vcpus, g->policy_pem,
                                  g->policy_len, &why);
    }
    if (!mig_rmi(t, st, "MIG_IMPORT_START", &why,
                 "rme-guest: the realm cannot be imported: ", err)) {
        rme_tcg_destroy(g);
        return false;
    }
    return true;
}

static bool rme_tcg_mig_import_hello(void *opaque, const RmiMigRecord *hello,
                                     RmiMigRecord *accept, char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    char *why = NULL;
    size_t len = 0;

    RmiStatus s;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    if (!realm) {
        return false;
    }
    s = rmm_mig_import_hello(realm, hello->buf, hello->len, accept->buf,
                             RMM_MIG_RECORD_MAX, &len, &why);
    return mig_exported_why(t, s, "MIG_IMPORT_HELLO", &why,
                            "rme-guest: the source's handshake was refused: ",
                            accept, &len, err);
}

static bool rme_tcg_load_rec_ctx(CPUState *cs, const uint8_t *ctx,
                                 size_t len, Error **errp)
{
    const VMStateDescription *const *vmsd;
    QIOChannelBuffer *bioc = qio_channel_buffer_new(len);
    QEMUFile *f;
    bool ok = true;

    memcpy(bioc->data, ctx, len);
    bioc->usage = len;
    f = qemu_file_new_input(QIO_CHANNEL(bioc));
    for (vmsd = rme_tcg_cpu_vmsds(cs); *vmsd && ok; vmsd++) {
        ok = vmstate_load_state(f, *vmsd, cs, (*vmsd)->version_id,
                                errp) == 0;
    }
    if (!ok && errp && !*errp) {
        error_setg(errp, "bad vCPU state");
    }
    rme_wipe(bioc->data, len);
    qemu_fclose(f);
    object_unref(OBJECT(bioc));
    return ok;
}

/* The REC the RMM imported runs on the vCPU with its MPIDR. */
static bool rme_tcg_mig_import_rec(RmmRealm *realm, const RmmMigImported *in,
                                   char **err)
{
    Error *local = NULL;
    CPUState *cs;

    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        if (rmm_realm_rec_by_mpidr(realm, cpu->mp_affinity) != in->rec) {
            continue;
        }
        if (!rme_tcg_load_rec_ctx(cs, in->rec_ctx, in->rec_ctx_len,
                                  &local)) {
            error_prepend(&local, "REC %u: ", rmm_rec_index(in->rec));
            mig_error(local, err);
            return false;
        }
        if (in->rec_arch) {
            rme_tcg_rec_arch_load(RME_GUEST(cpu->realm_guest), cs,
                                  in->rec_arch);
        }
        cpu->realm_rec = in->rec;
        return true;
    }
    mig_set_err(err, g_strdup_printf("REC %u: no vCPU with its MPIDR here",
                                     rmm_rec_index(in->rec)));
    return false;
}

static bool rme_tcg_mig_import(void *opaque, const RmiMigRecord *rec,
                               char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmMigImported out;
    RmmRealm *realm;
    char *why = NULL;
    RmiStatus s;

    if (rec->lane) {
        realm = mig_realm_enter(t, err);
        if (!realm) {
            return false;
        }
        s = rmm_mig_import(realm, rec, &out, &why);
        mig_realm_exit(t);
        return mig_rmi(t, s, "MIG_IMPORT", &why, "", err);
    }
    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    if (!realm) {
        return false;
    }
    s = rmm_mig_import(realm, rec, &out, &why);
    if (!mig_rmi(t, s, "MIG_IMPORT", &why, "", err)) {
        return false;
    }
    return out.type != RMM_MIG_RT_REC ||
           rme_tcg_mig_import_rec(realm, &out, err);
}

static bool rme_tcg_mig_import_commit(void *opaque, uint8_t *token,
                                      char **err)
{
    RmeTcg *t = rme_tcg(opaque);
    RmmRealm *realm;
    char *why = NULL;
    CPUState *cs;

    BQL_LOCK_GUARD();
    realm = mig_realm(t, err);
    if (!realm ||
        !mig_rmi(t, rmm_mig_import_commit(realm, token, &why),
                 "MIG_IMPORT_COMMIT", &why,
                 "rme-guest: the realm cannot be committed: ", err)) {
        return false;
    }
    /*
     * The RMM's counter offsets for the RECs, over whatever the host's
     * vCPU state said: the realm's virtual counter goes on from where it
     * left the source.
     */
    CPU_FOREACH(cs) {
        ARMCPU *cpu = ARM_CPU(cs);

        if (cpu->realm_rec) {
            cpu->env.cp15.cntvoff_el2 = rmm_rec_cntvoff(cpu->realm_rec);
            trace_rme_counter(cs->cpu_index, gt_get_countervalue(&cpu->env) -
                              cpu->env.cp15.cntvoff_el2);
            arm_gt_vtimer_cb(cpu);
        }
    }
    /* Out of the downtime: the next migration skips private pages again. */
    aio_bh_schedule_oneshot(qemu_get_aio_context(), rme_tcg_shared_resync, t);
    return true;
}

static bool rme_tcg_mig_import_abort(void *opaque, uint8_t *token)
{
    RmeGuest *g = opaque;
    RmeTcg *t = rme_tcg(g);
    bool ret;

    BQL_LOCK_GUARD();
    if (!t->realm) {
        return false;
    }
    ret = rmm_mig_import_abort(t->realm, token);
    trace_rme_rmi("MIG_IMPORT_ABORT", ret ? "token" : "no token", 0);
    /* Nothing of it may run: park every vCPU again. */
    rme_tcg_destroy(g);
    return ret;
}

static RmmMigPhase rme_tcg_mig_status(void *opaque, RmmMigStats *st)
{
    RmmRealm *realm;

    BQL_LOCK_GUARD();
    realm = rme_tcg(opaque)->realm;
    if (st) {
        memset(st, 0, sizeof(*st));
        if (realm) {
            rmm_mig_stats(realm, st);
        }
    }
    return realm ? rmm_mig_phase(realm) : RMM_MIG_NONE;
}

const RmiMigOps rme_tcg_mig_ops = {
    .start = rme_tcg_mig_start,
    .accept = rme_tcg_mig_accept,
    .dirty_log = rme_tcg_mig_dirty_log,
    .export_immutable = rme_tcg_mig_export_immutable,
    .export_ripas = rme_tcg_mig_export_ripas,
    .export_data = rme_tcg_mig_export_data,
    .export_epoch = rme_tcg_mig_export_epoch,
    .pause = rme_tcg_mig_pause,
    .export_rec = rme_tcg_mig_export_rec,
    .export_end = rme_tcg_mig_export_end,
    .commit_ack = rme_tcg_mig_commit_ack,
    .abort = rme_tcg_mig_abort,
    .import_start = rme_tcg_mig_import_start,
    .import_hello = rme_tcg_mig_import_hello,
    .import = rme_tcg_mig_import,
    .import_commit = rme_tcg_mig_import_commit,
    .import_abort = rme_tcg_mig_import_abort,
    .status = rme_tcg_mig_status,
};
