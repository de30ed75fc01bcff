/*
 * Arm CCA realm guests: the rme-guest object
 *
 *   -M virt,confidential-guest-support=rme0
 *   -object rme-guest,id=rme0[,measurement-algorithm=sha256|sha512]
 *                             [,personalization-value=<base64, 64 bytes>]
 *                             [,platform-identity=<PEM file>]
 *                             [,migration-policy=<PEM file>]
 *                             [,migration-zero-granules=on|off]
 *                             [,num-breakpoints=N][,num-watchpoints=N]
 *                             [,sve-vector-length=bits]
 *                             [,num-pmu-counters=N]
 *
 * At every machine reset (but not on an incoming migration) the realm is
 * built from scratch through the realm backend: REALM_CREATE, RIPAS RAM
 * for all of RAM, the images the board loaded populated with measurement,
 * one REC per vCPU, ACTIVATE.  A guest reboot thus gets a fresh realm with
 * the same Realm Initial Measurement.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-types-qom.h"
#include "qapi/qapi-commands-misc-arm.h"
#include "qemu/base64.h"
#include "qemu/error-report.h"
#include "qom/object_interfaces.h"
#include "hw/boards.h"
#include "hw/qdev-core.h"
#include "system/system.h"
#include "hw/core/cpu.h"
#include "hw/resettable.h"
#include "system/confidential-guest-support.h"
#include "system/reset.h"
#include "system/runstate.h"
#include "qemu/accel.h"
#include "system/kvm.h"
#include "cpu.h"
#include "cpu-features.h"
#include "internals.h"
#include "crypto/hash.h"
#include "rme.h"
#include "trace.h"

QEMU_BUILD_BUG_ON((int)RME_GUEST_MEASUREMENT_ALGORITHM_SHA256 !=
                  (int)RMI_HASH_SHA256);
QEMU_BUILD_BUG_ON((int)RME_GUEST_MEASUREMENT_ALGORITHM_SHA512 !=
                  (int)RMI_HASH_SHA512);

static int rme_guest_get_algo(Object *obj, Error **errp)
{
    return RME_GUEST(obj)->measurement_algo;
}

static void rme_guest_set_algo(Object *obj, int value, Error **errp)
{
    RME_GUEST(obj)->measurement_algo = value;
}

static char *rme_guest_get_rpv(Object *obj, Error **errp)
{
    return g_strdup(RME_GUEST(obj)->personalization_value);
}

static void rme_guest_set_rpv(Object *obj, const char *value, Error **errp)
{
    RmeGuest *g = RME_GUEST(obj);
    g_autofree uint8_t *bin = NULL;
    size_t len;

    bin = qbase64_decode(value, -1, &len, errp);
    if (!bin) {
        error_prepend(errp, "rme-guest: personalization-value: ");
        return;
    }
    if (len != RMM_RPV_SIZE) {
        error_setg(errp, "rme-guest: personalization-value must be %d bytes "
                   "(base64 encoded), got %zu", RMM_RPV_SIZE, len);
        return;
    }
    memcpy(g->rpv, bin, RMM_RPV_SIZE);
    g_free(g->personalization_value);
    g->personalization_value = g_strdup(value);
}

static char *rme_guest_get_identity(Object *obj, Error **errp)
{
    return g_strdup(RME_GUEST(obj)->platform_identity);
}

static void rme_guest_set_identity(Object *obj, const char *value,
                                   Error **errp)
{
    RmeGuest *g = RME_GUEST(obj);

    g_free(g->platform_identity);
    g->platform_identity = g_strdup(value);
}

static char *rme_guest_get_policy(Object *obj, Error **errp)
{
    return g_strdup(RME_GUEST(obj)->migration_policy);
}

static void rme_guest_set_policy(Object *obj, const char *value,
                                 Error **errp)
{
    RmeGuest *g = RME_GUEST(obj);

    g_free(g->migration_policy);
    g->migration_policy = g_strdup(value);
}

static bool rme_guest_get_zero(Object *obj, Error **errp)
{
    return RME_GUEST(obj)->migration_zero;
}

static void rme_guest_set_zero(Object *obj, bool value, Error **errp)
{
    RME_GUEST(obj)->migration_zero = value;
}

/* Read the migration policy and hash it: what the realm measures. */
static bool rme_guest_load_policy(RmeGuest *g, Error **errp)
{
    g_autofree uint8_t *hash = NULL;
    GError *gerr = NULL;
    gchar *pem;
    gsize len;
    size_t hash_len = 0;

    if (!g->migration_policy) {
        return true;
    }
    if (!g_file_get_contents(g->migration_policy, &pem, &len, &gerr)) {
        error_setg(errp, "rme-guest: migration-policy: %s", gerr->message);
        g_error_free(gerr);
        return false;
    }
    if (!g_strstr_len(pem, len, "-----BEGIN CERTIFICATE-----") &&
        !g_strstr_len(pem, len, "-----BEGIN PUBLIC KEY-----")) {
        error_setg(errp, "rme-guest: migration-policy '%s' holds no PEM "
                   "certificate or public key (the trust anchors or "
                   "pinned keys of the platforms the realm may migrate "
                   "between)", g->migration_policy);
        g_free(pem);
        return false;
    }
    if (qcrypto_hash_bytes(QCRYPTO_HASH_ALGO_SHA512, pem, len, &hash,
                           &hash_len, errp) < 0) {
        g_free(pem);
        return false;
    }
    g_assert(hash_len == RMM_MIG_POLICY_HASH_SIZE);
    memcpy(g->policy_hash, hash, RMM_MIG_POLICY_HASH_SIZE);
    g->policy_pem = (uint8_t *)pem;
    g->policy_len = len;
    return true;
}

void rme_guest_add_image(RmeGuest *g, hwaddr base, hwaddr size)
{
    RmeImage img = { .base = base, .size = size };

    if (size) {
        g_array_append_val(g->images, img);
    }
}

/*
 * The realm backends this QEMU has.  The accelerator picks one; the
 * emulated RMM needs TCG and GnuTLS (attestation tokens, sealed
 * migration records); a KVM CCA host runs the realm under its RMM.
 */
static const RmeBackendOps *const rme_backends[] = {
#if defined(CONFIG_TCG) && defined(CONFIG_GNUTLS)
    &rme_tcg_backend_ops,
#endif
#ifdef CONFIG_KVM
    &rme_kvm_backend_ops,
#endif
    NULL
};

static const RmeBackendOps *rme_backend_for(const char *accel, Error **errp)
{
    g_autoptr(GString) have = g_string_new(NULL);
    unsigned i;

    for (i = 0; rme_backends[i]; i++) {
        if (!g_ascii_strcasecmp(rme_backends[i]->accel, accel)) {
            return rme_backends[i];
        }
        g_string_append_printf(have, "%s%s (%s)", i ? ", " : "",
                               rme_backends[i]->accel, rme_backends[i]->name);
    }
    if (!i) {
#ifdef CONFIG_GNUTLS
        error_setg(errp, "rme-guest: this QEMU has no realm backend (the "
                   "emulated RMM needs TCG)");
#else
        error_setg(errp, "rme-guest: this QEMU has no realm backend (the "
                   "emulated RMM needs GnuTLS: configure --enable-gnutls)");
#endif
    } else {
        error_setg(errp, "rme-guest: no realm backend for accelerator %s; "
                   "realms run with -accel %s", accel, have->str);
    }
    return NULL;
}

bool rme_guest_machine_init(RmeGuest *g, uint32_t ipa_width,
                            MemoryRegion *ram, hwaddr ram_base,
                            Error **errp)
{
    ConfidentialGuestSupport *cgs = CONFIDENTIAL_GUEST_SUPPORT(g);

    g->ops = rme_backend_for(current_accel_name(), errp);
    if (!g->ops) {
        return false;
    }
    g->ipa_width = ipa_width;
    g->shared_ram = ram;
    g->ram_base = ram_base;
    g->ram_size = memory_region_size(ram);
    if (!g->ops->init(g, errp)) {
        return false;
    }
    cgs->ready = true;
    return true;
}

MemoryRegion *rme_guest_cpu_memory(RmeGuest *g, MemoryRegion *sysmem)
{
    return g->ops->cpu_memory(g, sysmem);
}

static gint rme_image_cmp(gconstpointer a, gconstpointer b)
{
    const RmeImage *x = a, *y = b;

    return x->base < y->base ? -1 : x->base > y->base;
}

/*
 * The images as granule aligned, sorted ranges that do not overlap: each
 * granule is populated (and measured) once, in address order.
 */
static GArray *rme_guest_image_ranges(RmeGuest *g)
{
    GArray *out = g_array_new(false, false, sizeof(RmeImage));
    g_autoptr(GArray) sorted = g_array_copy(g->images);
    unsigned i;

    g_array_sort(sorted, rme_image_cmp);
    for (i = 0; i < sorted->len; i++) {
        RmeImage *img = &g_array_index(sorted, RmeImage, i);
        RmeImage r = {
            .base = QEMU_ALIGN_DOWN(img->base, RMM_GRANULE_SIZE),
            .size = QEMU_ALIGN_UP(img->base + img->size, RMM_GRANULE_SIZE),
        };
        RmeImage *last = out->len ? &g_array_index(out, RmeImage,
                                                   out->len - 1) : NULL;

        /* .size holds the end until the ranges are merged */
        if (last && r.base <= last->size) {
            last->size = MAX(last->size, r.size);
        } else {
            g_array_append_val(out, r);
        }
    }
    for (i = 0; i < out->len; i++) {
        RmeImage *r = &g_array_index(out, RmeImage, i);

        r->size -= r->base;
    }
    return out;
}

/* Build and activate the realm the machine starts with. */
static bool rme_guest_build(RmeGuest *g, Error **errp)
{
    RmiRealmParams p = rme_guest_realm_params(g);
    g_autoptr(GArray) ranges = rme_guest_image_ranges(g);
    CPUState *cs;
    unsigned i;

    if (!g->ops->realm_create(g, &p, errp) ||
        !g->ops->init_ripas(g, g->ram_base, g->ram_base + g->ram_size,
                            errp)) {
        return false;
    }
    for (i = 0; i < ranges->len; i++) {
        RmeImage *img = &g_array_index(ranges, RmeImage, i);

        trace_rme_populate(img->base, img->size);
        if (!g->ops->populate(g, img->base, img->size, errp)) {
            return false;
        }
    }
    CPU_FOREACH(cs) {
        /* PSCI: the boot CPU starts, the others wait for CPU_ON. */
        if (!g->ops->rec_create(g, cs, cs == first_cpu, errp)) {
            return false;
        }
    }
    return g->ops->activate(g, errp);
}

/* The realm's migration phase, RMM_MIG_NONE without one. */
static RmmMigPhase rme_guest_mig_phase(RmeGuest *g)
{
    return g->ops->mig->status(g, NULL);
}

/* False and @errp when a reset would destroy a realm migration needs. */
static bool rme_guest_may_reset(RmeGuest *g, Error **errp)
{
    switch (rme_guest_mig_phase(g)) {
    case RMM_MIG_OUT_ENDED:
        error_setg(errp, "rme-guest: the realm's migration is undecided (the "
                   "destination neither committed nor aborted it): a reset "
                   "would destroy the only copy that may run again; resolve "
                   "it first (migrate-guest-token)");
        return false;
    case RMM_MIG_IN_IMPORTING:
        error_setg(errp, "rme-guest: the realm is arriving by migration: a "
                   "reset would destroy it before it committed or aborted");
        return false;
    default:
        return true;
    }
}

static ResettableState *rme_guest_reset_state(Object *obj)
{
    return &RME_GUEST(obj)->reset_state;
}

static void rme_guest_reset_exit(Object *obj, ResetType type)
{
    RmeGuest *g = RME_GUEST(obj);
    Error *err = NULL;

    if (!g->ops) {
        return;
    }
    if (!rme_guest_may_reset(g, &err)) {
        /* A reset QMP did not ask for (system_reset refuses it). */
        error_prepend(&err, "reset without the realm: ");
        warn_report_err(err);
        return;
    }
    g->ops->destroy(g);
    if (runstate_check(RUN_STATE_INMIGRATE)) {
        /*
         * The realm arrives with the migration stream, into a NEW realm
         * made now, while nobody waits (or at the import, if this fails).
         */
        if (g->ops->incoming_prepare &&
            !g->ops->incoming_prepare(g, &err)) {
            warn_report_err(err);
        }
        return;
    }
    if (g->migrated) {
        /* It lives on another host now: nothing runs here again. */
        return;
    }
    if (!rme_guest_build(g, &err)) {
        error_prepend(&err, "rme-guest: cannot build the realm: ");
        error_report_err(err);
        exit(1);
    }
    trace_rme_realm_active(g->ipa_width,
        RmeGuestMeasurementAlgorithm_str(g->measurement_algo));
}

/*
 * Only boards that know realms set the object up; say so clearly for the
 * others (before vl.c's generic complaint about the accelerator).
 */
static void rme_guest_machine_done(Notifier *n, void *data)
{
    RmeGuest *g = container_of(n, RmeGuest, machine_done);
    MachineState *ms = MACHINE(qdev_get_machine());
    Error *err = NULL;

    if (ms->cgs != CONFIDENTIAL_GUEST_SUPPORT(g)) {
        return;
    }
    if (!CONFIDENTIAL_GUEST_SUPPORT(g)->ready) {
        error_report("rme-guest: machine '%s' cannot run an Arm CCA realm "
                     "(use -M virt)", MACHINE_GET_CLASS(ms)->name);
        exit(1);
    }
    if (!g->ops->machine_done(g, &err)) {
        error_report_err(err);
        exit(1);
    }
}

static RmeGuest *rme_guest_of(ConfidentialGuestSupport *cgs)
{
    return RME_GUEST(cgs);
}

static bool rme_guest_can_run(ConfidentialGuestSupport *cgs, Error **errp)
{
    RmeGuest *g = rme_guest_of(cgs);
    RmmMigPhase phase = g->ops ? rme_guest_mig_phase(g) : RMM_MIG_NONE;

    if (g->migrated || phase == RMM_MIG_OUT_MIGRATED) {
        error_setg(errp, "rme-guest: the realm was migrated and committed "
                   "on the destination; it never runs here again (quit "
                   "this QEMU)");
        return false;
    }
    if (phase == RMM_MIG_OUT_ENDED) {
        error_setg(errp, "rme-guest: the realm's final state went to the "
                   "destination, which neither committed nor aborted it; "
                   "it cannot run here until migrate-guest-token gives "
                   "the destination's token (a destination that gave it "
                   "up printed its abort token)");
        return false;
    }
    if (phase == RMM_MIG_IN_ABORTED) {
        error_setg(errp, "rme-guest: the incoming realm was aborted");
        return false;
    }
    return true;
}

static bool rme_guest_can_reset(ConfidentialGuestSupport *cgs, Error **errp)
{
    RmeGuest *g = rme_guest_of(cgs);

    return !g->ops || rme_guest_may_reset(g, errp);
}

const char *rme_guest_migration_blocked(RmeGuest *g)
{
    if (!g->policy_pem) {
        return "rme-guest: the realm has no migration-policy, so it never "
               "migrates (migration-policy=<PEM file with the trust anchors "
               "of the platforms it may migrate between>; the policy is "
               "measured into the realm)";
    }
    if (!g->platform_identity) {
        return "rme-guest: the emulated platform has no platform-identity "
               "(a PEM file with its key and certificate chain): nothing "
               "migrates to or from it";
    }
    return NULL;
}

void qmp_x_rme_poison_granule(uint64_t gpa, Error **errp)
{
    Object *cgs = current_machine && current_machine->cgs ?
                  OBJECT(current_machine->cgs) : NULL;
    RmeGuest *g = cgs ? (RmeGuest *)object_dynamic_cast(cgs, TYPE_RME_GUEST)
                      : NULL;

    if (!g || !g->ops) {
        error_setg(errp, "x-rme-poison-granule: this machine runs no Arm "
                   "CCA realm (rme-guest)");
        return;
    }
    if (!g->ops->poison) {
        error_setg(errp, "x-rme-poison-granule: not available with %s, "
                   "whose host reports memory errors itself",
                   current_accel_name());
        return;
    }
    if (gpa & (RMM_GRANULE_SIZE - 1)) {
        error_setg(errp, "x-rme-poison-granule: 0x%" PRIx64 " is not 4 KiB "
                   "aligned", gpa);
        return;
    }
    g->ops->poison(g, gpa, errp);
}

static void rme_guest_complete(UserCreatable *uc, Error **errp)
{
    RmeGuest *g = RME_GUEST(uc);

    if (!rme_guest_load_policy(g, errp)) {
        return;
    }

    qemu_register_resettable(OBJECT(g));
    g->machine_done.notify = rme_guest_machine_done;
    qemu_add_machine_init_done_notifier(&g->machine_done);
}

/* Of @what the realm asks @want (0: the vCPU's @own), from 2 to @own. */
static bool rme_guest_debug_count(const char *what, unsigned want,
                                  unsigned own, uint8_t *out, Error **errp)
{
    if (want && (want < 2 || want > own)) {
        error_setg(errp, "rme-guest: num-%s=%u, but the vCPU model has %u "
                   "%s: between 2 and %u", what, want, own, what, own);
        return false;
    }
    *out = want ? want : own;
    return true;
}

/*
 * The realm's SVE: none (ID_AA64PFR0.SVE and ID_AA64ZFR0 read 0, as the
 * RMM shows a realm created without SVE), or the vector lengths the
 * vCPU model has up to sve-vector-length, whose longest is that.  SME
 * the RMM never gives a realm.  The vCPU finalizes its lengths when it
 * is realized, from the sve<N> bits set here.
 */
static bool rme_guest_cpu_sve(RmeGuest *g, ARMCPU *cpu, Error **errp)
{
    Object *obj = OBJECT(cpu);
    uint32_t vl = g->sve_vector_length, vq = vl / 128;
    /* Under KVM the host's lengths are known when the vCPU finalizes. */
    uint32_t has = !cpu_isar_feature(aa64_sve, cpu) ? 0 :
                   kvm_enabled() ? MAKE_64BIT_MASK(0, ARM_MAX_VQ) :
                   cpu->sve_vq.supported;
    uint32_t off = cpu->sve_vq.init & ~cpu->sve_vq.map;
    uint32_t mask = MAKE_64BIT_MASK(0, MIN(vq, ARM_MAX_VQ));
    /* The longest the user gave -cpu (sve<N>=on, sve-max-vq), if any */
    uint32_t user_vq = cpu->sve_vq.map ? 32 - clz32(cpu->sve_vq.map)
                                       : cpu->sve_max_vq;

    if (object_property_find(obj, "sme")) {
        object_property_set_bool(obj, "sme", false, &error_abort);
    }
    if (!vl) {
        if (cpu->sve_vq.map || cpu->sve_max_vq) {
            error_setg(errp, "rme-guest: the realm has no SVE "
                       "(sve-vector-length=0), but -cpu sets its vector "
                       "lengths");
            return false;
        }
        if (has) {
            object_property_set_bool(obj, "sve", false, &error_abort);
        }
        g->sve_vq = 0;
        return true;
    }
    if (vl % 128 || vq > ARM_MAX_VQ) {
        error_setg(errp, "rme-guest: sve-vector-length=%u: a multiple of "
                   "128 up to %u bits, or 0 for no SVE", vl,
                   ARM_MAX_VQ * 128);
        return false;
    }
    if (!(has & BIT(vq - 1))) {
        if (has) {
            error_setg(errp, "rme-guest: sve-vector-length=%u, but the vCPU "
                       "model has no %u-bit vectors (its longest: %u bits)",
                       vl, vl, (32 - clz32(has)) * 128);
        } else {
            error_setg(errp, "rme-guest: sve-vector-length=%u, but the vCPU "
                       "model has no SVE", vl);
        }
        return false;
    }
    if (user_vq && user_vq != vq) {
        error_setg(errp, "rme-guest: sve-vector-length=%u, but -cpu sets "
                   "the longest vector length to %u bits", vl, user_vq * 128);
        return false;
    }
    if (off & BIT(vq - 1)) {
        error_setg(errp, "rme-guest: sve-vector-length=%u, but -cpu "
                   "disables sve%u", vl, vl);
        return false;
    }
    if (kvm_enabled()) {
        /* Finalizing adds the host's shorter lengths, or refuses this. */
        cpu->sve_vq.map |= BIT(vq - 1);
        cpu->sve_vq.init |= BIT(vq - 1);
    } else {
        cpu->sve_vq.map |= has & mask & ~off;
        cpu->sve_vq.init |= has & mask & ~off;
    }
    g->sve_vq = vq;
    return true;
}

/*
 * The realm's PMU: none, or num-pmu-counters event counters (PMCR_EL0.N,
 * as the RMM sets MDCR_EL2.HPMN to the realm's count).
 */
static bool rme_guest_cpu_pmu(RmeGuest *g, ARMCPU *cpu, Error **errp)
{
    unsigned want = g->num_pmu_counters;
    unsigned has = arm_feature(&cpu->env, ARM_FEATURE_PMU) ?
                   pmu_num_counters(&cpu->env) : 0;

    if (!want) {
        if (arm_feature(&cpu->env, ARM_FEATURE_PMU)) {
            object_property_set_bool(OBJECT(cpu), "pmu", false,
                                     &error_abort);
        }
        g->pmu_ctrs = 0;
        return true;
    }
    if (!arm_feature(&cpu->env, ARM_FEATURE_PMU)) {
        error_setg(errp, "rme-guest: num-pmu-counters=%u, but the vCPU "
                   "model has no PMU", want);
        return false;
    }
    if (want > has) {
        error_setg(errp, "rme-guest: num-pmu-counters=%u, but the vCPU "
                   "model has %u: between 1 and %u, or 0 for no PMU", want,
                   has, has);
        return false;
    }
    cpu->isar.reset_pmcr_el0 = deposit64(cpu->isar.reset_pmcr_el0,
                                         PMCRN_SHIFT, 5, want);
    g->pmu_ctrs = want;
    return true;
}

bool rme_guest_cpu_init(RmeGuest *g, Object *cpuobj, Error **errp)
{
    ARMCPU *cpu = ARM_CPU(cpuobj);
    unsigned bps = FIELD_EX64_IDREG(&cpu->isar, ID_AA64DFR0, BRPS) + 1;
    unsigned wps = FIELD_EX64_IDREG(&cpu->isar, ID_AA64DFR0, WRPS) + 1;
    unsigned ctx = FIELD_EX64_IDREG(&cpu->isar, ID_AA64DFR0, CTX_CMPS) + 1;

    if (kvm_enabled()) {
        /*
         * The KVM CCA series (v15) takes the realm's vector length from
         * the vCPUs' KVM_REG_ARM64_SVE_VLS (QEMU's KVM code writes the
         * sve<N> lengths set here), its breakpoint and watchpoint counts
         * from their ID_AA64DFR0_EL1 (the backend writes the ones asked
         * for; otherwise the RMM's stay), and gives realms no PMU.
         */
        if (g->num_pmu_counters) {
            error_setg(errp, "rme-guest: num-pmu-counters: the KVM CCA host "
                       "series gives realms no PMU");
            return false;
        }
        if (!rme_guest_cpu_sve(g, cpu, errp) ||
            !rme_guest_cpu_pmu(g, cpu, errp) ||
            !rme_guest_debug_count("breakpoints", g->num_breakpoints, bps,
                                   &g->bps, errp) ||
            !rme_guest_debug_count("watchpoints", g->num_watchpoints, wps,
                                   &g->wps, errp)) {
            return false;
        }
        g->bps = g->num_breakpoints;
        g->wps = g->num_watchpoints;
        return true;
    }
    /* What the emulated platform offers: the vCPU model, as it is. */
    if (g->ops->cpu_model && !g->ops->cpu_model(g, cpuobj, errp)) {
        return false;
    }
    if (!rme_guest_cpu_sve(g, cpu, errp) ||
        !rme_guest_cpu_pmu(g, cpu, errp)) {
        return false;
    }
    if (!rme_guest_debug_count("breakpoints", g->num_breakpoints, bps,
                               &g->bps, errp) ||
        !rme_guest_debug_count("watchpoints", g->num_watchpoints, wps,
                               &g->wps, errp)) {
        return false;
    }
    /* The context-matching breakpoints are among them. */
    ctx = MIN(ctx, g->bps);
    FIELD_DP64_IDREG(&cpu->isar, ID_AA64DFR0, BRPS, g->bps - 1);
    FIELD_DP64_IDREG(&cpu->isar, ID_AA64DFR0, WRPS, g->wps - 1);
    FIELD_DP64_IDREG(&cpu->isar, ID_AA64DFR0, CTX_CMPS, ctx - 1);
    if (cpu->isar.dbgdidr) {
        cpu->isar.dbgdidr = FIELD_DP32(cpu->isar.dbgdidr, DBGDIDR, BRPS,
                                       g->bps - 1);
        cpu->isar.dbgdidr = FIELD_DP32(cpu->isar.dbgdidr, DBGDIDR, WRPS,
                                       g->wps - 1);
        cpu->isar.dbgdidr = FIELD_DP32(cpu->isar.dbgdidr, DBGDIDR, CTX_CMPS,
                                       ctx - 1);
    }
    return true;
}

static void rme_guest_init(Object *obj)
{
    RmeGuest *g = RME_GUEST(obj);

    g->measurement_algo = RMI_HASH_SHA512;
    g->migration_zero = true;
    g->images = g_array_new(false, true, sizeof(RmeImage));
    object_property_add_uint8_ptr(obj, "num-breakpoints",
                                  &g->num_breakpoints,
                                  OBJ_PROP_FLAG_READWRITE);
    object_property_set_description(obj, "num-breakpoints",
        "Hardware breakpoints of the realm's vCPUs, measured into the "
        "realm (default 0: as many as the vCPU model has)");
    object_property_add_uint8_ptr(obj, "num-watchpoints",
                                  &g->num_watchpoints,
                                  OBJ_PROP_FLAG_READWRITE);
    object_property_set_description(obj, "num-watchpoints",
        "Hardware watchpoints of the realm's vCPUs, measured into the "
        "realm (default 0: as many as the vCPU model has)");
    object_property_add_uint32_ptr(obj, "sve-vector-length",
                                   &g->sve_vector_length,
                                   OBJ_PROP_FLAG_READWRITE);
    object_property_set_description(obj, "sve-vector-length",
        "SVE vector length of the realm's vCPUs in bits, measured into "
        "the realm (default 0: no SVE)");
    object_property_add_uint8_ptr(obj, "num-pmu-counters",
                                  &g->num_pmu_counters,
                                  OBJ_PROP_FLAG_READWRITE);
    object_property_set_description(obj, "num-pmu-counters",
        "PMU event counters of the realm's vCPUs, measured into the "
        "realm (default 0: no PMU)");
}

static void rme_guest_finalize(Object *obj)
{
    RmeGuest *g = RME_GUEST(obj);

    if (g->ops) {
        g->ops->destroy(g);
    }
    g_free(g->personalization_value);
    g_free(g->platform_identity);
    g_free(g->migration_policy);
    g_free(g->policy_pem);
    g_array_free(g->images, true);
}

static void rme_guest_class_init(ObjectClass *oc, const void *data)
{
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);
    ResettableClass *rc = RESETTABLE_CLASS(oc);
    ConfidentialGuestSupportClass *cgsc = CONFIDENTIAL_GUEST_SUPPORT_CLASS(oc);

    ucc->complete = rme_guest_complete;
    rc->get_state = rme_guest_reset_state;
    rc->phases.exit = rme_guest_reset_exit;
    cgsc->can_run = rme_guest_can_run;
    cgsc->can_reset = rme_guest_can_reset;

    object_class_property_add_enum(oc, "measurement-algorithm",
                                   "RmeGuestMeasurementAlgorithm",
                                   &RmeGuestMeasurementAlgorithm_lookup,
                                   rme_guest_get_algo, rme_guest_set_algo);
    object_class_property_set_description(oc, "measurement-algorithm",
        "Realm measurement algorithm: sha256 or sha512 (default)");
    object_class_property_add_str(oc, "personalization-value",
                                  rme_guest_get_rpv, rme_guest_set_rpv);
    object_class_property_set_description(oc, "personalization-value",
        "Realm personalization value: 64 bytes, base64 encoded "
        "(default: all zero)");
    object_class_property_add_str(oc, "platform-identity",
                                  rme_guest_get_identity,
                                  rme_guest_set_identity);
    object_class_property_set_description(oc, "platform-identity",
        "PEM file with the emulated CCA platform's attestation key "
        "(ECDSA P-384) and its certificate chain (default: a fresh key "
        "nothing endorses)");
    object_class_property_add_str(oc, "migration-policy",
                                  rme_guest_get_policy,
                                  rme_guest_set_policy);
    object_class_property_set_description(oc, "migration-policy",
        "PEM file with the trust anchors (X.509) of the platforms the "
        "realm may migrate between; measured into the realm (default: "
        "none, the realm never migrates)");
    object_class_property_add_bool(oc, "migration-zero-granules",
                                   rme_guest_get_zero, rme_guest_set_zero);
    object_class_property_set_description(oc, "migration-zero-granules",
        "Granules of zeros migrate as their address and a tag, so the host "
        "learns which are zero; measured into the realm (default: on)");
}

static const TypeInfo rme_guest_info = {
    .parent = TYPE_CONFIDENTIAL_GUEST_SUPPORT,
    .name = TYPE_RME_GUEST,
    .instance_size = sizeof(RmeGuest),
    .instance_init = rme_guest_init,
    .instance_finalize = rme_guest_finalize,
    .class_init = rme_guest_class_init,
    .interfaces = (const InterfaceInfo[]) {
        { TYPE_USER_CREATABLE },
        { TYPE_RESETTABLE_INTERFACE },
        { }
    },
};

static void rme_register_types(void)
{
    type_register_static(&rme_guest_info);
}

type_init(rme_register_types)
