"""
What every benchmark report states about where it ran: the machine, and
the QEMU binary with the tree it was built from (for a side-by-side run
against another build, its checkout) and the tree of the script.

Copyright (c) 2026 The QEMU CCA migration authors
SPDX-License-Identifier: GPL-2.0-or-later
"""

import os
import platform
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model():
    """The CPU's model name (/proc/cpuinfo)."""
    with open('/proc/cpuinfo', encoding='utf-8') as f:
        return next((line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')), platform.machine())


def machine_line():
    """'2 cores, <CPU>, 23 GiB, Linux <release>'."""
    mem = os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') >> 30
    return (f'{os.cpu_count()} cores, {cpu_model()}, {mem} GiB, '
            f'{platform.system()} {platform.release()}')


def tree_commit(path):
    """git describe of the checkout @path is in ('unknown' outside one)."""
    return subprocess.run(['git', '-C', path, 'describe', '--always',
                           '--dirty'], capture_output=True,
                          text=True).stdout.strip() or 'unknown'


def qemu_line(qemu):
    """'<qemu --version>, <path>, built from the tree at <commit>; this
    script from the tree at <commit>'."""
    version = subprocess.run([qemu, '--version'], capture_output=True,
                             text=True).stdout.splitlines()[0]
    built = tree_commit(os.path.dirname(os.path.realpath(qemu)))
    return (f'{version}, {qemu}, built from the tree at {built}; this '
            f'script from the tree at {tree_commit(TOP)}')
