#!/usr/bin/python3
#
# Boot time of Debian's Linux to the initramfs shell prompt: as an Arm CCA
# realm and as a plain VM (the control), same QEMU build, same kernel,
# initramfs and options, runs interleaved.  Writes a Markdown report.
#
#   bench/boot-time.py [--runs N] [--smp N] [--out FILE]
#
# Needs scripts/build and scripts/mkinitramfs to have run (or run them
# through scripts/run-realm first).
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import os
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'qemu', 'tests', 'functional', 'aarch64'))
import cca_common                                    # noqa: E402
import benchlib                                      # noqa: E402
PROMPT = b'guest# '


def boot_once(qemu, kernel, initrd, realm, smp, timeout=120):
    args = [qemu, '-M', 'virt', '-cpu', 'max', '-accel', 'tcg',
            '-smp', str(smp), '-m', '1G', '-display', 'none',
            '-serial', 'stdio', '-monitor', 'none', '-nic', 'none',
            '-kernel', kernel, '-initrd', initrd, '-no-reboot']
    if realm:
        args += ['-M', 'virt,confidential-guest-support=rme0',
                 '-object', 'rme-guest,id=rme0']
    # The same command line for both kinds: console, earlycon (at the
    # PL011's unprotected alias for the realm), panic=-1.
    args += ['-append', cca_common.kernel_append(realm)]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf = b''
    try:
        while time.monotonic() - t0 < timeout:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if PROMPT in buf:
                return time.monotonic() - t0
        raise RuntimeError('no prompt; output tail:\n' +
                           buf[-2000:].decode(errors='replace'))
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--smp', type=int, default=1)
    ap.add_argument('--qemu', default=os.path.join(
        TOP, 'build', 'qemu-build', 'qemu-system-aarch64'))
    ap.add_argument('--out', help='report (default: '
                    'bench/results/boot-time-smp<N>.md)')
    opts = ap.parse_args()
    opts.out = opts.out or os.path.join(TOP, 'bench', 'results',
                                        f'boot-time-smp{opts.smp}.md')

    qemu = opts.qemu
    kernel, initrd, kver = cca_common.guest_assets(TOP)
    times = {'realm': [], 'plain': []}
    for i in range(opts.runs):
        # Alternating order: neither kind always runs first.
        for kind in ('plain', 'realm')[::1 if i % 2 == 0 else -1]:
            t = boot_once(qemu, kernel, initrd, kind == 'realm', opts.smp)
            times[kind].append(t)
            print(f'run {i + 1}/{opts.runs} {kind}: {t:.2f} s', flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med['realm'] / med['plain']
    os.makedirs(os.path.dirname(opts.out), exist_ok=True)
    with open(opts.out, 'w') as f:
        f.write('# Boot time to the initramfs prompt: realm vs plain VM\n\n')
        f.write(f'- date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}\n')
        f.write(f'- machine: {benchlib.machine_line()}\n')
        f.write(f'- QEMU: {benchlib.qemu_line(qemu)}\n')
        f.write(f'- guest: Debian Linux {kver} + busybox initramfs, '
                f'-m 1G -smp {opts.smp}, TCG, -cpu max\n')
        f.write(f'- kernel command line: plain `{cca_common.kernel_append(False)}`,'
                f' realm `{cca_common.kernel_append(True)}`\n')
        f.write(f'- runs: {opts.runs} each, interleaved, alternating which '
                'kind goes first\n\n')
        f.write('| | median (s) | runs (s) |\n|---|---|---|\n')
        for k in ('plain', 'realm'):
            f.write(f'| {k} | {med[k]:.2f} | '
                    f'{", ".join(f"{t:.2f}" for t in times[k])} |\n')
        f.write(f'\nRealm / plain: **{ratio:.2f}x** (goal <= 1.2x)\n')
    print(f'realm/plain = {ratio:.2f}x; report in {opts.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
