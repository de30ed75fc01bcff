#!/usr/bin/python3
#
# How fast the emulated RMM seals and opens DATA records, per thread,
# against AES-256-GCM through GnuTLS (the library the RMM seals with, in
# the same process) and as `openssl speed` measures it, on the same
# machine in the same run: tests/rmm/bench-rmm-seal (built with
# optimisation in build/rmm-release), and `openssl speed -evp
# aes-256-gcm`, alternately, the order alternating too.  Writes a
# Markdown report.
#
#   bench/seal.py [--runs N] [--mib N] [--out FILE]
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'qemu', 'tests', 'functional',
                                'aarch64'))
import cca_common                                    # noqa: E402

BUILD = os.path.join(TOP, 'build', 'rmm-release')
BENCH = os.path.join(BUILD, 'tests', 'rmm', 'bench-rmm-seal')
SIZES = (4096, 16384)


def build():
    if not os.path.exists(os.path.join(BUILD, 'build.ninja')):
        subprocess.run(['meson', 'setup', '--buildtype=release', BUILD, TOP],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', BUILD, 'tests/rmm/bench-rmm-seal'],
                   check=True, stdout=subprocess.DEVNULL)


def run_model(mib):
    out = subprocess.run([BENCH, '--mib', str(mib), '--passes', '5'],
                         check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (l.split() for l in out.splitlines())}


def run_openssl():
    """MB/s of openssl speed's AES-256-GCM for each of SIZES."""
    res = {}
    for n in SIZES:
        out = subprocess.run(['openssl', 'speed', '-evp', 'aes-256-gcm',
                              '-seconds', '2', '-bytes', str(n)],
                             check=True, capture_output=True,
                             text=True).stdout
        m = re.search(r'^AES-256-GCM\s+([\d.]+)k', out, re.M)
        if not m:
            sys.exit(f'cannot read openssl speed output:\n{out}')
        res[n] = float(m.group(1)) * 1000 / 1e6          # MB/s
    return res


def med0(xs):
    return cca_common.median_spread(xs, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--mib', type=int, default=64)
    ap.add_argument('--out')
    args = ap.parse_args()
    build()
    model, ossl = [], []
    for i in range(args.runs):
        if i % 2:
            ossl.append(run_openssl())
            model.append(run_model(args.mib))
        else:
            model.append(run_model(args.mib))
            ossl.append(run_openssl())
        print(f'run {i + 1}: model {model[-1]}, openssl {ossl[-1]}',
              file=sys.stderr)

    when = datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%d %H:%M UTC')
    commit = subprocess.run(['git', '-C', TOP, 'rev-parse', '--short',
                             'HEAD'], capture_output=True,
                            text=True).stdout.strip()
    cpu = next((l.split(':', 1)[1].strip()
                for l in open('/proc/cpuinfo') if l.startswith('model name')),
               platform.processor())
    ossl4k = [o[4096] for o in ossl]
    exp = [m['export_mbs'] for m in model]
    imp = [m['import_mbs'] for m in model]
    lib = [m['gnutls_seal_mbs'] for m in model]
    ref = statistics.median(ossl4k)
    ver = subprocess.run(['openssl', 'version'], capture_output=True,
                         text=True).stdout.strip()
    lines = [
        '# Sealing and opening throughput of realm DATA records',
        '',
        f'- when: {when}, commit {commit}',
        f'- machine: {cpu}, {os.cpu_count()} CPUs; {ver}',
        f'- model: tests/rmm/bench-rmm-seal --mib {args.mib} (release '
        f'build), one thread: MIG_EXPORT_DATA of {args.mib} MiB of random '
        f'protected memory in records of 64 granules, then '
        f'MIG_IMPORT_RECORD of them; median of 4 passes after a warm-up '
        f'one',
        f'- reference: openssl speed -evp aes-256-gcm -seconds 2, one '
        f'thread; {args.runs} runs each, alternating, the order '
        f'alternating too',
        '- figures: MB/s (10^6 bytes of granule contents a second), '
        'median (min - max)',
        '',
        'The RMM seals with GnuTLS, so its AEAD on 4 KiB units in the same '
        'process is the reference; openssl, another library, is a second '
        'one.',
        '',
        '| | MB/s | of GnuTLS AEAD (4 KiB) | of openssl (4 KiB) |',
        '|---|---|---|---|',
    ]
    gref = statistics.median(lib)
    for n in SIZES:
        xs = [o[n] for o in ossl]
        lines.append(f'| openssl speed, {n // 1024} KiB | {med0(xs)} | '
                     f'{statistics.median(xs) / gref:.0%} | '
                     f'{statistics.median(xs) / ref:.0%} |')
    lines += [
        f'| GnuTLS gnutls_aead_cipher_encrypt, 4 KiB | {med0(lib)} | '
        f'100% | {gref / ref:.0%} |',
        f'| **RMM seal (MIG_EXPORT_DATA)** | {med0(exp)} | '
        f'{statistics.median(exp) / gref:.0%} | '
        f'{statistics.median(exp) / ref:.0%} |',
        f'| **RMM open (MIG_IMPORT_RECORD)** | {med0(imp)} | '
        f'{statistics.median(imp) / gref:.0%} | '
        f'{statistics.median(imp) / ref:.0%} |',
        '',
        f'Wire overhead of DATA records: '
        f'{statistics.median(m["wire_overhead_pct"] for m in model):.3f} % '
        f'of the granule bytes they carry.',
        '',
    ]
    text = '\n'.join(lines)
    out = args.out or os.path.join(
        TOP, 'bench', 'results',
        f'seal-{datetime.date.today():%Y%m%d}.md')
    with open(out, 'w', encoding='utf-8') as f:
        f.write(text)
    print(text)
    print(f'written to {out}', file=sys.stderr)


if __name__ == '__main__':
    main()
