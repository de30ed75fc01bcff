#!/usr/bin/python3
#
# What the RMMs' attested handshake costs a realm migration: the time from
# the source's HELLO going out to its IMMUTABLE record going out (the
# destination checks the HELLO and signs its ACCEPT, the ACCEPT comes
# back on the return path, the source checks it and derives the keys),
# taken from QEMU's own trace timestamps (-msg timestamp=on), over
# several migrations of a realm on localhost.  The handshake runs before
# the VM stops, so it adds to total time, never to downtime.  Writes a
# Markdown report.
#
#   bench/handshake.py [--runs N] [--qemu PATH] [--name NAME | --out FILE]
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import datetime
import os
import re
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'bench'))
sys.path.insert(0, os.path.join(TOP, 'qemu', 'tests', 'functional',
                                'aarch64'))
import cca_common                                    # noqa: E402
from migration import Guest, qemu_args, realm_options  # noqa: E402
import benchlib                                      # noqa: E402

TRACE = re.compile(r'^(\S+) rme_stream_record_(out|in) (\w+) record')
WAIT = re.compile(r'rme_stream_handshake_wait waited (\d+) us')
TRACE_ARGS = ['-msg', 'timestamp=on', '-d',
              'trace:rme_stream_record_*,trace:rme_stream_handshake_wait']


def trace_times(path):
    """When each record type first went out and came in: {(dir, type): t}."""
    seen = {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = TRACE.match(line)
            if m and (m.group(2), m.group(3)) not in seen:
                seen[(m.group(2), m.group(3))] = \
                    datetime.datetime.fromisoformat(
                        m.group(1).replace('Z', '+00:00'))
    return seen


def waited_ms(path):
    """How long the migration thread idled waiting for the ACCEPT."""
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = WAIT.search(line)
            if m:
                return int(m.group(1)) / 1000
    raise RuntimeError(f'no rme_stream_handshake_wait in {path}')


def ms(a, b):
    return (b - a).total_seconds() * 1000


def one(qemu, kernel, initrd, rme, tmpdir, run):
    log = os.path.join(tmpdir, f'trace-{run}.log')
    dlog = os.path.join(tmpdir, f'trace-dst-{run}.log')
    src = dst = None
    try:
        src = Guest(qemu_args(qemu, kernel, initrd, True, 1, rme) +
                    TRACE_ARGS + ['-D', log], tmpdir, f'src-{run}')
        dst = Guest(qemu_args(qemu, kernel, initrd, True, 1, rme,
                              incoming=True) + TRACE_ARGS + ['-D', dlog],
                    tmpdir, f'dst-{run}')
        dst.qmp.cmd('migrate-incoming', uri='tcp:127.0.0.1:0')
        port = int(dst.qmp.cmd('query-migrate')['socket-address'][0]['port'])
        src.qmp.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'return-path', 'state': True}])
        src.qmp.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        deadline = time.monotonic() + 300
        while True:
            info = src.qmp.cmd('query-migrate')
            if info['status'] in ('completed', 'failed', 'cancelled'):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f'migration did not end: {info}')
            time.sleep(0.05)
        if info['status'] != 'completed':
            raise RuntimeError(f'migration {info["status"]}: '
                               f'{info.get("error-desc")}')
    finally:
        for g in (src, dst):
            if g:
                g.kill()
    t = trace_times(log)
    d = trace_times(dlog)
    return {'handshake_ms': ms(t['out', 'HELLO'], t['out', 'IMMUTABLE']),
            # the HELLO on its way and waiting to be read
            'to_dst_ms': ms(t['out', 'HELLO'], d['in', 'HELLO']),
            # the destination RMM checks it and answers
            'dst_ms': ms(d['in', 'HELLO'], d['out', 'ACCEPT']),
            'back_ms': ms(d['out', 'ACCEPT'], t['in', 'ACCEPT']),
            'src_ms': ms(t['in', 'ACCEPT'], t['out', 'IMMUTABLE']),
            'waited_ms': waited_ms(log),
            'total_ms': info['total-time'],
            'downtime_ms': info['downtime']}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--qemu', default=os.path.join(
        TOP, 'build', 'qemu-build', 'qemu-system-aarch64'))
    ap.add_argument('--name', default=time.strftime('%Y%m%d-%H%M',
                                                    time.gmtime()))
    ap.add_argument('--out')
    opts = ap.parse_args()
    out = opts.out or os.path.join(TOP, 'bench', 'results',
                                   f'handshake-{opts.name}.md')
    kernel, initrd, _ = cca_common.guest_assets(TOP)
    res = []
    with tempfile.TemporaryDirectory(prefix='cca-hs-bench-') as tmpdir:
        rme = realm_options(opts.qemu, tmpdir)
        for i in range(opts.runs):
            r = one(opts.qemu, kernel, initrd, rme, tmpdir, i)
            print(f'run {i + 1}/{opts.runs}: handshake '
                  f'{r["handshake_ms"]:.1f} ms (HELLO read after '
                  f'{r["to_dst_ms"]:.1f}, destination {r["dst_ms"]:.1f}, '
                  f'ACCEPT back {r["back_ms"]:.1f}, source '
                  f'{r["src_ms"]:.1f}; stream idle {r["waited_ms"]:.1f}), '
                  f'total {r["total_ms"]} ms, downtime '
                  f'{r["downtime_ms"]} ms', flush=True)
            res.append(r)
    lines = [
        '# The attested handshake of a realm migration',
        '',
        f'- when: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}',
        f'- machine: {benchlib.machine_line()}',
        f'- QEMU: {benchlib.qemu_line(opts.qemu)}',
        f'- {opts.runs} migrations of a 1 GiB, 1-vCPU realm over TCP on '
        'localhost (source and destination on this machine), started '
        'right after the realm was built',
        '- handshake: from the HELLO going out to the IMMUTABLE record '
        'going out, from both sides\' trace timestamps.  RAM\'s first '
        'iteration (up to 50 ms) runs in between, so the stream is busy '
        'for most of it; what the handshake adds to the total time is '
        'the time the migration thread idles waiting for the ACCEPT '
        '(trace rme_stream_handshake_wait)',
        '',
        '| figure | median (min - max) |',
        '|---|---|',
        f'| handshake, ms | {cca_common.median_spread([r["handshake_ms"] for r in res])} |',
        f'| of which: HELLO to the destination\'s read, ms | '
        f'{cca_common.median_spread([r["to_dst_ms"] for r in res])} |',
        f'| of which: destination RMM (check HELLO, make ACCEPT), ms | '
        f'{cca_common.median_spread([r["dst_ms"] for r in res])} |',
        f'| of which: ACCEPT back, taken after RAM\'s first iteration, ms | '
        f'{cca_common.median_spread([r["back_ms"] for r in res])} |',
        f'| of which: source RMM (check ACCEPT, keys, IMMUTABLE), ms | '
        f'{cca_common.median_spread([r["src_ms"] for r in res])} |',
        f'| **stream idle, waiting for the ACCEPT** (what the handshake '
        f'adds to total time), ms | '
        f'{cca_common.median_spread([r["waited_ms"] for r in res])} |',
        f'| total time, ms | {cca_common.median_spread([r["total_ms"] for r in res])} |',
        f'| downtime, ms | {cca_common.median_spread([r["downtime_ms"] for r in res])} |',
        '',
    ]
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))
    print(f'written to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
