#!/usr/bin/python3
#
# What a realm's granule costs the migration the first time it is sent
# and when it is sent again, from QEMU's own traces: bench/migration.py
# migrates a realm (and the plain VM, its control) with the stream's
# cost traces on, and this reads them back.  Per realm run:
#
# - the destination's import time per DATA granule in the first epoch
#   (every granule's first import) and in the later ones
#   (rme_stream_in_epoch_cost, main stream only: run without multifd);
# - the source's switchover estimates during the first pass, per
#   granule (rme_stream_switchover_cost with granules never sent), the
#   first and the last: how the cost of first sends moves in a pass;
# - the final passes: granules and time (rme_stream_complete).
#
#   bench/first-send.py [--runs N] [--qemu PATH] [--name NAME]
#
# Writes bench/results/<name>/first-send.md, bench/migration.py's report
# of the same runs beside it (migration.md, .json) and the traces
# (logs/).
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import datetime
import glob
import os
import re
import statistics
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'bench'))
import benchlib                                      # noqa: E402

EPOCH = re.compile(r'rme_stream_in_epoch_cost epoch (\d+): (\d+) DATA '
                   r'granules imported .*, (\d+) us importing them')
ESTIMATE = re.compile(r'rme_stream_switchover_cost (\d+) dirty granules '
                      r'\((\d+) never sent\): final passes of about (\d+) us')
COMPLETE = re.compile(r'rme_stream_complete ret 0 after (\d+) ms, (\d+) '
                      r'granules')
TRACES = ['rme_stream_in_epoch_cost', 'rme_stream_switchover_cost',
          'rme_stream_complete']


def per_granule(us, granules):
    return us / granules if granules else None


def read_run(src, dst):
    """One realm run's figures from its two trace logs."""
    run = {'epochs': [], 'estimates': []}
    with open(dst, encoding='utf-8') as f:
        for m in EPOCH.finditer(f.read()):
            run['epochs'].append((int(m[1]), int(m[2]), int(m[3])))
    with open(src, encoding='utf-8') as f:
        text = f.read()
    for m in ESTIMATE.finditer(text):
        dirty, fresh, us = int(m[1]), int(m[2]), int(m[3])
        if fresh and fresh == dirty:
            run['estimates'].append(per_granule(us, dirty))
    m = COMPLETE.search(text)
    run['final'] = (int(m[2]), int(m[1])) if m else None
    # The first epoch with DATA: every granule's first import.
    data = [e for e in run['epochs'] if e[1]]
    run['first'] = per_granule(data[0][2], data[0][1]) if data else None
    later = data[1:]
    run['again'] = per_granule(sum(e[2] for e in later),
                               sum(e[1] for e in later)) if later else None
    return run


def fmt(v):
    return '-' if v is None else f'{v:.1f}'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--qemu')
    ap.add_argument('--name', default='first-send-' +
                    datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%d'))
    opts = ap.parse_args()
    out = os.path.join(TOP, 'bench', 'results', opts.name)
    logs = os.path.join(out, 'logs')
    os.makedirs(logs, exist_ok=True)
    cmd = [sys.executable, os.path.join(TOP, 'bench', 'migration.py'),
           '--runs', str(opts.runs), '--mem', '1G', '--smp', '1',
           '--rate', '64', '--multifd', '0', '--logs', logs,
           '--out', os.path.join(out, 'migration.md')]
    for t in TRACES:
        cmd += ['--trace', t]
    if opts.qemu:
        cmd += ['--qemu', opts.qemu]
    subprocess.run(cmd, check=True)
    qemu = opts.qemu or os.path.join(TOP, 'build', 'qemu-build',
                                     'qemu-system-aarch64')
    runs = []
    for src in sorted(glob.glob(os.path.join(logs, 'realm-*-src.log'))):
        runs.append(read_run(src, src[:-len('src.log')] + 'dst.log'))
    with open(os.path.join(out, 'first-send.md'), 'w',
              encoding='utf-8') as f:
        f.write('# What a realm granule costs the first time it is sent, '
                'and again\n\n')
        f.write(f'- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n'
                f'- machine: {benchlib.machine_line()}\n'
                f'- QEMU: {benchlib.qemu_line(qemu)}\n'
                f'- command: bench/first-send.py --runs {opts.runs}'
                f'{" --qemu " + opts.qemu if opts.qemu else ""} '
                f'(bench/migration.py: 1G, 1 vCPU, memstress at 64 MiB/s, '
                f'no multifd; report of the same runs: migration.md; '
                f'traces: logs/)\n'
                f'- from the traces rme_stream_in_epoch_cost (destination),'
                f' rme_stream_switchover_cost and rme_stream_complete '
                f'(source)\n\n')
        firsts = [r['first'] for r in runs if r['first']]
        agains = [r['again'] for r in runs if r['again']]
        if firsts and agains:
            f.write('Medians (min..max) over the realm runs, us per '
                    'granule:\n\n')
            f.write('| | median | min..max |\n|---|---|---|\n')
            for label, vals in (('destination, first import (epoch 0)',
                                 firsts),
                                ('destination, imports again (later '
                                 'epochs)', agains)):
                f.write(f'| {label} | {statistics.median(vals):.1f} | '
                        f'{min(vals):.1f}..{max(vals):.1f} |\n')
            f.write('\n')
        f.write('Every run: (us per granule; estimates: the source\'s '
                'switchover estimates while every dirty granule was '
                'still unsent, first and last)\n\n')
        f.write('| run | first import | import again | first estimate | '
                'last estimate | final passes (granules, ms) |\n')
        f.write('|---|---|---|---|---|---|\n')
        for i, r in enumerate(runs):
            est = r['estimates']
            final = f'{r["final"][0]}, {r["final"][1]}' if r['final'] \
                else '-'
            f.write(f'| {i + 1} | {fmt(r["first"])} | {fmt(r["again"])} | '
                    f'{fmt(est[0] if est else None)} | '
                    f'{fmt(est[-1] if est else None)} | {final} |\n')
    print(f'report in {os.path.join(out, "first-send.md")}')


if __name__ == '__main__':
    main()
