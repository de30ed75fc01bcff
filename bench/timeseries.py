#!/usr/bin/python3
"""
Plot one migration of each kind of a bench/migration.py result over time,
from the query-migrate answers it sampled every 50 ms: memory still to
send (RAM's remaining, which counts the realm's dirty granules' records
too, and the realm's dirty granules alone), throughput, the dirty rate
(RAM's dirty-pages-rate; the realm's granules newly sent), the realm's
epochs and auto-converge's throttle, with the switchover (the source
stopped: status device or later) marked.

    bench/timeseries.py RESULT.json [--run N] [--out PNG]

Default PNG: RESULT-timeseries.png.  Needs python3-matplotlib (Debian).

Copyright (c) 2026 The QEMU CCA migration authors
SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import json
import os
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt                     # noqa: E402

COLOURS = {'plain': '#7f7f7f', 'realm': '#1f77b4'}
STOPPED = ('device', 'pre-switchover', 'completed')


def rates(samples, key, scale):
    """The increase of @key per second between samples, scaled."""
    out = []
    for a, b in zip(samples, samples[1:]):
        if a.get(key) is None or b.get(key) is None or b['t'] <= a['t']:
            continue
        out.append(((a['t'] + b['t']) / 2,
                    (b[key] - a[key]) * scale / (b['t'] - a['t'])))
    return out


def switchover(samples):
    """When the sampling first saw the source stopped, or None."""
    return next((s['t'] for s in samples if s['status'] in STOPPED), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('result', help='bench/migration.py JSON')
    ap.add_argument('--run', type=int, default=1, help='which run (1-based)')
    ap.add_argument('--out')
    args = ap.parse_args()
    with open(args.result) as f:
        data = json.load(f)
    out = args.out or os.path.splitext(args.result)[0] + '-timeseries.png'

    fig, axes = plt.subplots(4, 2, sharex='col', figsize=(12, 9))
    for col, kind in enumerate(('plain', 'realm')):
        runs = data['results'][kind]
        if len(runs) < args.run or 'samples' not in runs[args.run - 1]:
            sys.exit(f'{args.result}: no samples for run {args.run} of the '
                     f'{kind} VM (made by a bench/migration.py that kept '
                     f'them?)')
        r = runs[args.run - 1]
        sm = r['samples']
        t = [s['t'] for s in sm]
        c = COLOURS[kind]
        ax = axes[0][col]
        ax.plot(t, [(s['remaining'] or 0) / 1e6 for s in sm], color=c,
                label='ram.remaining')
        if kind == 'realm':
            ax.plot(t, [(s['realm_dirty'] or 0) * 4096 / 1e6 for s in sm],
                    color='#ff7f0e', label='realm dirty granules x 4 KiB')
        ax.set_ylabel('to send (MB)')
        ax.legend(fontsize=7)
        ax.set_title(f'{kind}: total {r["total_ms"]} ms, downtime '
                     f'{r["downtime_ms"]} ms', fontsize=9)
        ax = axes[1][col]
        ax.plot(*zip(*rates(sm, 'transferred', 8e-6)), color=c)
        ax.set_ylabel('throughput (Mbit/s)')
        ax = axes[2][col]
        ax.plot(t, [(s['dirty_pages_rate'] or 0) * (s['page_size'] or 4096)
                    / 1e6 for s in sm], color=c, label='RAM dirty rate')
        if kind == 'realm':
            sent = rates(sm, 'realm_granules', 4096e-6)
            if sent:
                ax.plot(*zip(*sent), color='#ff7f0e',
                        label='realm granules sent x 4 KiB')
        ax.set_ylabel('MB/s')
        ax.legend(fontsize=7)
        ax = axes[3][col]
        ax.plot(t, [s['throttle'] for s in sm], color='#2ca02c',
                label='cpu-throttle (%)')
        if kind == 'realm':
            ax.plot(t, [s['realm_epochs'] or 0 for s in sm], color='#9467bd',
                    label='realm epochs')
        ax.set_ylabel('% / epochs')
        ax.set_xlabel('seconds after migrate')
        ax.legend(fontsize=7)
        so = switchover(sm)
        for a in axes[:, col]:
            a.grid(alpha=0.3)
            if so is not None:
                a.axvline(so, color='#d62728', linestyle='--', linewidth=1)
        if so is not None:
            axes[0][col].text(so, axes[0][col].get_ylim()[1], ' switchover',
                              color='#d62728', fontsize=7, va='top')
    o = data['options']
    fig.suptitle(f'Live migration over time, run {args.run}: -m {o["mem"]} '
                 f'-smp {o["smp"]}, memstress {o["mib"]} MiB, multifd '
                 f'{o.get("multifd") or 0}\n{data["machine"]}; '
                 f'{data.get("commit", "")}', fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f'plot in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
