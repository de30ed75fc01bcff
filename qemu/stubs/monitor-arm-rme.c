/*
 * x-rme-poison-granule on a QEMU without Arm CCA realms
 *
 * Copyright (c) 2026 The QEMU CCA migration authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-misc-arm.h"

void qmp_x_rme_poison_granule(uint64_t gpa, Error **errp)
{
    error_setg(errp, "x-rme-poison-granule: Arm CCA realms are not "
               "available on this target");
}
