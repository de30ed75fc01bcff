#!/usr/bin/python3
"""
Plot bench/migration.py results: realm vs plain VM, side by side.

    bench/plot.py --out bench/results/migration.png RESULT.json...

One group of bars per result file (a configuration: memory, vCPUs,
workload cap, multifd channels), plain and realm next to each other:
total time, downtime (with downtime-limit drawn) and bytes on the
wire, the medians, with the smallest and largest run as error bars.
Needs python3-matplotlib (Debian).

Copyright (c) 2026 The QEMU CCA migration authors
SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import json
import statistics
import sys

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt                     # noqa: E402

PANELS = (
    ('total time (s)', 'total_ms', 1e-3),
    ('downtime (ms)', 'downtime_ms', 1.0),
    ('bytes on the wire (MB)', 'wire', 1e-6),
)
COLOURS = {'plain': '#7f7f7f', 'realm': '#1f77b4'}


def label(opts):
    """A configuration's name, from the options of its run."""
    rate = f'{opts["rate"]} MiB/s' if opts.get('rate') else 'uncapped'
    mfd = opts.get('multifd') or 0
    parts = [opts.get('mem', '1G'), f'{opts["smp"]} vCPU', rate,
             f'multifd {mfd}' if mfd else 'no multifd']
    if opts.get('auto_converge'):
        parts.append('auto-conv.')
    return '\n'.join(parts)


def stats(runs, key, scale):
    """Median, and its distance to the smallest and largest run."""
    vals = [r[key] * scale for r in runs if r.get(key) is not None]
    if not vals:
        return 0.0, 0.0, 0.0
    med = statistics.median(vals)
    return med, med - min(vals), max(vals) - med


def table(data):
    """A markdown table of the configurations: medians (min..max) and
    the realm / plain ratios."""
    def cell(runs, key, scale, spec):
        m, lo, hi = stats(runs, key, scale)
        return f'{m:{spec}} ({m - lo:{spec}}..{m + hi:{spec}})', m

    out = ['| configuration | total time plain (s) | realm (s) | ratio | '
           'downtime plain (ms) | realm (ms) | ratio | bytes ratio | '
           'realm epochs | realm lanes |',
           '|---|---|---|---|---|---|---|---|---|---|']
    for d in data:
        p, r = d['results']['plain'], d['results']['realm']
        tp, mtp = cell(p, 'total_ms', 1e-3, '.1f')
        tr, mtr = cell(r, 'total_ms', 1e-3, '.1f')
        dp, mdp = cell(p, 'downtime_ms', 1, '.0f')
        dr, mdr = cell(r, 'downtime_ms', 1, '.0f')
        wp, wr = stats(p, 'wire', 1)[0], stats(r, 'wire', 1)[0]
        ep = stats(r, 'epochs', 1)[0]
        lanes = stats(r, 'lanes', 1)[0]
        name = label(d['options']).replace('\n', ', ')
        out.append(f'| {name} | {tp} | {tr} | **{mtr / mtp:.2f}x** | {dp} | '
                   f'{dr} | **{mdr / mdp:.2f}x** | {wr / wp:.2f}x | '
                   f'{ep:.0f} | {lanes:.0f} |')
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--out', required=True, help='PNG file to write')
    ap.add_argument('--title', default='Live migration: realm vs plain VM '
                    '(same build, same run, medians, bars: min..max)')
    ap.add_argument('--table', help='also write a markdown table here')
    ap.add_argument('results', nargs='+', help='bench/migration.py JSON')
    args = ap.parse_args()

    data = []
    for path in args.results:
        with open(path) as f:
            data.append(json.load(f))
    # Horizontal bars: the configurations' names read on the left, once.
    fig, axes = plt.subplots(1, len(PANELS), sharey=True,
                             figsize=(4.2 * len(PANELS) + 2.5,
                                      0.75 * len(data) + 1.8))
    height = 0.38
    ys = range(len(data))
    for ax, (title, key, scale) in zip(axes, PANELS):
        for k, kind in enumerate(('plain', 'realm')):
            meds, lo, hi = [], [], []
            for d in data:
                m, a, b = stats(d['results'][kind], key, scale)
                meds.append(m)
                lo.append(a)
                hi.append(b)
            pos = [y + (k - 0.5) * height for y in ys]
            ax.barh(pos, meds, height, xerr=[lo, hi], capsize=3,
                    label=kind, color=COLOURS[kind])
        if key == 'downtime_ms':
            # Every run of both kinds must stay within downtime-limit.
            for limit in sorted({d['options'].get('downtime', 300)
                                 for d in data}):
                ax.axvline(limit, color='#d62728', linestyle='--',
                           linewidth=1)
                ax.text(limit, -0.55, f' downtime-limit {limit} ms',
                        color='#d62728', fontsize=7, va='bottom')
        ax.set_title(title, fontsize=9)
        ax.grid(axis='x', alpha=0.3)
    axes[0].set_yticks(list(ys))
    axes[0].set_yticklabels([label(d['options']).replace('\n', ', ')
                             for d in data], fontsize=7)
    axes[0].invert_yaxis()
    axes[0].legend()
    runs = min(len(d['results']['realm']) for d in data)
    fig.suptitle(f'{args.title}\n{data[0]["machine"]}, {runs}+ runs each',
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f'plot in {args.out}')
    if args.table:
        with open(args.table, 'w') as f:
            f.write(table(data))
        print(f'table in {args.table}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
