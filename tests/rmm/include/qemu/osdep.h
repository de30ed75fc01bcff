/*
 * Stand-in for QEMU's "qemu/osdep.h", for the standalone build of the
 * emulated RMM (the project's root meson.build)
 *
 * The model's sources include "qemu/osdep.h" first, as QEMU's coding
 * style asks.  Built into QEMU they get QEMU's own header; built on
 * their own, by the project's meson.build, they get this one, which is
 * on the include path of that build only.  It holds what the model and
 * its unit tests take from QEMU's: _GNU_SOURCE, the system headers
 * below, MAX_CONST(), and GLib within the versions QEMU's
 * include/glib-compat.h allows (2.66 in QEMU 10.2:
 * GLIB_VERSION_MIN_REQUIRED and GLIB_VERSION_MAX_ALLOWED, which the
 * standalone build also passes on the command line), with its
 * g_memdup2() for GLib older than 2.68.  Nothing of QEMU itself: a
 * model source that uses more of QEMU fails to build here.
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

/* QEMU's build defines it on the command line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>
#include <time.h>
#include <ctype.h>
#include <errno.h>
#include <assert.h>

/* As QEMU's include/glib-compat.h */
#ifndef GLIB_VERSION_MIN_REQUIRED
#define GLIB_VERSION_MIN_REQUIRED GLIB_VERSION_2_66
#endif
#ifndef GLIB_VERSION_MAX_ALLOWED
#define GLIB_VERSION_MAX_ALLOWED GLIB_VERSION_2_66
#endif

/*
 * The larger of two constant expressions, itself one (QEMU's MAX() is a
 * statement expression: an array sized with it would be a VLA).
 */
#define MAX_CONST(a, b)                                         \
    __builtin_choose_expr(                                      \
        __builtin_constant_p(a) && __builtin_constant_p(b),     \
        (a) > (b) ? (a) : (b),                                  \
        ((void)0))

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <glib.h>

/* g_memdup2() of GLib 2.68, as glib-compat.h provides it. */
static inline gpointer g_memdup2_qemu(gconstpointer mem, gsize byte_size)
{
#if GLIB_CHECK_VERSION(2, 68, 0)
    return g_memdup2(mem, byte_size);
#else
    gpointer new_mem = NULL;

    if (mem && byte_size != 0) {
        new_mem = g_malloc(byte_size);
        memcpy(new_mem, mem, byte_size);
    }
    return new_mem;
#endif
}
#define g_memdup2(m, s) g_memdup2_qemu(m, s)

#pragma GCC diagnostic pop

#endif /* QEMU_OSDEP_H */
