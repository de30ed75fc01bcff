#!/usr/bin/python3
#
# Live migration over TCP on localhost: an Arm CCA realm and a plain VM
# (the control), same QEMU build, same kernel, initramfs, options and
# migration parameters, runs interleaved.  Each run boots the source,
# starts "memstress run" (memory rewritten all the time), migrates it to
# a fresh destination and checks memstress there.  Writes a Markdown
# report.
#
#   bench/migration.py [--runs N] [--mib MiB] [--downtime MS]
#                      [--bandwidth BYTES/S] [--auto-converge]
#                      [--name NAME | --out FILE]
#
# Needs scripts/build and scripts/mkinitramfs to have run (or run them
# through scripts/run-realm first).
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'qemu', 'tests', 'functional', 'aarch64'))
import cca_common                                    # noqa: E402
import benchlib                                      # noqa: E402
PROMPT = b'guest# '
VERIFY_OK = cca_common.MEMSTRESS_VERIFY_OK


class Guest:
    """A QEMU process: console on stdin/stdout, QMP on a UNIX socket."""

    def __init__(self, args, tmpdir, name, log_dir=None):
        self.name = name
        self.qmp_path = os.path.join(tmpdir, f'{name}.qmp')
        self.args = args + ['-qmp', f'unix:{self.qmp_path},server=on,wait=off']
        self.log = open(os.path.join(log_dir or tmpdir, f'{name}.log'), 'wb')
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.log)
        self.console = cca_common.GuestConsole(
            name, lambda: os.read(self.proc.stdout.fileno(), 65536),
            self._send)
        self.qmp = cca_common.RawQmp(self.qmp_path, 30)

    def _send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def wait_for(self, pattern, timeout):
        """Wait until @pattern (bytes regex) appears after what an earlier
        wait_for consumed; returns the match."""
        return self.console.wait(pattern, timeout)[0]

    def send(self, line):
        self.console.send(line + '\r')

    def run(self, cmd, timeout=240):
        return self.console.run(cmd, timeout)

    def peak_rss_mib(self):
        """The process's peak resident memory (VmHWM), MiB."""
        with open(f'/proc/{self.proc.pid}/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
        return None

    def quit(self, timeout=60):
        """QMP quit; returns QEMU's exit status (None: it did not exit
        within @timeout seconds and was killed)."""
        try:
            self.qmp.cmd('quit')
        except (EOFError, OSError, TimeoutError):
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            self.kill()

    def kill(self):
        try:
            self.qmp.close()
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def realm_options(qemu, tmpdir, instance_ids=None):
    """
    What a realm of @qemu needs to migrate: {'src': args, 'dst': args}.
    Builds with the attested handshake take platform identities and a
    migration policy (scripts/mkidentity); earlier ones (for side-by-side
    figures) a key shared by both sides.  A dict @instance_ids gets each
    side's platform instance ID (what its attestation tokens claim).
    """
    props = subprocess.run([qemu, '-object', 'rme-guest,help'],
                           capture_output=True, text=True).stdout
    if 'migration-policy' in props:
        pki = os.path.join(tmpdir, 'pki')
        made = {side: cca_common.make_identity(pki, side)
                for side in ('src', 'dst')}
        ids = {side: made[side][0] for side in made}
        if instance_ids is not None:
            instance_ids.update({side: made[side][1] for side in made})
        policy = os.path.join(pki, 'ca.pem')
        return {side: ['-object', f'rme-guest,id=rme0,platform-identity='
                       f'{ids[side]},migration-policy={policy}']
                for side in ids}
    key_file = os.path.join(tmpdir, 'mig.key')
    with open(key_file, 'wb') as f:
        f.write(os.urandom(32))
    legacy = ['-object', f'secret,id=mk0,file={key_file}',
              '-object', 'rme-guest,id=rme0,migration-key=mk0']
    return {'src': legacy, 'dst': legacy}


def qemu_args(qemu, kernel, initrd, realm, smp, rme_opts, incoming=False,
              mem='1G', traces=()):
    args = [qemu, '-M', 'virt', '-cpu', 'max', '-accel', 'tcg',
            '-smp', str(smp), '-m', mem, '-display', 'none',
            '-name', 'debug-threads=on',
            '-serial', 'stdio', '-monitor', 'none', '-nic', 'none',
            '-kernel', kernel, '-initrd', initrd, '-no-reboot']
    if realm:
        args += ['-M', 'virt,confidential-guest-support=rme0',
                 *rme_opts['dst' if incoming else 'src'],
                 '-append', cca_common.kernel_append(True)]
    else:
        args += ['-append', cca_common.kernel_append(False)]
    if incoming:
        args += ['-incoming', 'defer']
    if traces:
        args += ['-msg', 'timestamp=on']
        for t in traces:
            args += ['-trace', t]
    return args


def start_perf(opts, guest, name):
    """With --perf DIR: perf record @guest's QEMU (every thread, call
    graphs) into DIR/@name.data until stop_perf()."""
    if not opts.perf:
        return None
    os.makedirs(opts.perf, exist_ok=True)
    data = os.path.join(opts.perf, f'{name}.data')
    what = ['-e', opts.perf_event] if opts.perf_event else \
        ['-F', str(opts.perf_freq)]
    proc = subprocess.Popen(['perf', 'record', '-q', *what, '-g',
                             '-o', data, '-p', str(guest.proc.pid)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, data, name


def stop_perf(opts, p):
    """Stop the recording; DIR/<name>.txt gets where the time went, by
    thread and by function (self time)."""
    if not p:
        return
    proc, data, name = p
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    with open(os.path.join(opts.perf, f'{name}.txt'), 'w') as f:
        for sort in ('comm', 'comm,sym'):
            rep = subprocess.run(['perf', 'report', '-i', data, '--stdio',
                                  '--no-children', '-g', 'none',
                                  '--percent-limit', '1', '--sort', sort],
                                 capture_output=True, text=True)
            f.write(f'## perf report --sort {sort}\n\n')
            f.write('\n'.join(l for l in rep.stdout.splitlines()
                              if l and not l.startswith('#')) + '\n\n')


def sample(t, info):
    """What one query-migrate answer says, at @t seconds after migrate
    (bench/timeseries.py plots them)."""
    ram = info.get('ram', {})
    realm = info.get('realm', {})
    return {'t': round(t, 3), 'status': info.get('status'),
            'remaining': ram.get('remaining'),
            'transferred': ram.get('transferred'),
            'dirty_pages_rate': ram.get('dirty-pages-rate'),
            'page_size': ram.get('page-size'),
            'realm_dirty': realm.get('dirty-granules'),
            'realm_epochs': realm.get('epochs'),
            'realm_granules': realm.get('granules'),
            'throttle': info.get('cpu-throttle-percentage', 0)}


def migrate_once(opts, qemu, kernel, initrd, realm, rme_opts, tmpdir, run):
    kind = 'realm' if realm else 'plain'
    src = dst = None
    try:
        traces = getattr(opts, 'trace', None) or ()
        src = Guest(qemu_args(qemu, kernel, initrd, realm, opts.smp, rme_opts,
                              mem=opts.mem, traces=traces),
                    tmpdir, f'{kind}-{run}-src',
                    getattr(opts, 'logs', None))
        src.wait_for(re.escape(PROMPT), getattr(opts, 'boot_timeout', 180))
        rss_boot = src.peak_rss_mib()
        src.send(f'MEMSTRESS_PROGRESS=0 memstress run {opts.mib} {run + 1} '
                 f'0 {opts.rate} &')
        src.wait_for(rb'MEMSTRESS: run started', 240)
        rc, out = src.run('memstress check')
        m = VERIFY_OK.search(out)
        if rc or not m:
            raise RuntimeError(f'memstress check on the source failed:\n{out}')
        gen0, tgen0 = int(m.group(2)), time.monotonic()

        dst = Guest(qemu_args(qemu, kernel, initrd, realm, opts.smp, rme_opts,
                              incoming=True, mem=opts.mem, traces=traces),
                    tmpdir, f'{kind}-{run}-dst',
                    getattr(opts, 'logs', None))
        for g in (src, dst):
            if opts.multifd:
                g.qmp.cmd('migrate-set-capabilities', capabilities=[
                    {'capability': 'multifd', 'state': True}])
                g.qmp.cmd('migrate-set-parameters',
                          **{'multifd-channels': opts.multifd})
        dst.qmp.cmd('migrate-incoming', uri='tcp:127.0.0.1:0')
        port = int(dst.qmp.cmd('query-migrate')['socket-address'][0]['port'])

        src.qmp.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'return-path', 'state': True},
            {'capability': 'auto-converge', 'state': opts.auto_converge},
            {'capability': 'pause-before-switchover',
             'state': opts.perf_switchover}])
        src.qmp.cmd('migrate-set-parameters', **{
            'downtime-limit': opts.downtime, 'max-bandwidth': opts.bandwidth})
        def perf_both():
            return [start_perf(opts, g, f'{kind}-{side}') for g, side in
                    ((src, 'src'), (dst, 'dst'))] if run == 0 else []

        perfs = [] if opts.perf_switchover else perf_both()
        t0 = time.monotonic()
        throttle = 0
        continued = False
        src.qmp.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        samples = []
        while True:
            info = src.qmp.cmd('query-migrate')
            samples.append(sample(time.monotonic() - t0, info))
            throttle = max(throttle, info.get('cpu-throttle-percentage', 0))
            if info['status'] in ('completed', 'failed', 'cancelled'):
                break
            if info['status'] == 'pre-switchover' and not continued:
                # --perf-switchover: the recording covers the switchover
                # only (the VM is stopped from here on).
                perfs = perf_both()
                time.sleep(0.5)     # perf attached to every thread
                src.qmp.cmd('migrate-continue', state='pre-switchover')
                continued = True
            if time.monotonic() - t0 > opts.timeout:
                raise RuntimeError(f'{kind} migration did not end within '
                                   f'{opts.timeout} s: {info}')
            time.sleep(0.05)
        wall = time.monotonic() - t0
        for p in perfs:
            stop_perf(opts, p)
        if info['status'] != 'completed':
            raise RuntimeError(f'{kind} migration {info["status"]}: '
                               f'{info.get("error-desc")}')
        deadline = time.monotonic() + 60
        while dst.qmp.cmd('query-status')['status'] != 'running':
            if time.monotonic() > deadline:
                raise RuntimeError('destination not running')
            time.sleep(0.05)
        rc, out = dst.run('memstress check')
        m = VERIFY_OK.search(out)
        if rc or not m:
            raise RuntimeError(f'memstress check on the destination failed:'
                               f'\n{out}')
        rss = {'rss_src_mib': src.peak_rss_mib(),
               'rss_dst_mib': dst.peak_rss_mib(), 'rss_boot_mib': rss_boot}
        # The guest's dirty rate: memstress rewrote its region once per
        # generation, from before migrate to after the switchover.
        dirty_rate = ((int(m.group(2)) - gen0) * opts.mib /
                      (time.monotonic() - tgen0))

        ram = info['ram']
        realm_info = info.get('realm') or {}
        total_ms = info['total-time']
        res = {
            'wall': wall,
            'total_ms': total_ms,
            'setup_ms': info.get('setup-time', 0),
            'downtime_ms': info.get('downtime', 0),
            'mbps': ram.get('mbps', 0.0),
            # ram.transferred counts every byte of QEMU's stream, the
            # realm's records included.
            'wire': ram['transferred'],
            'ram_pages': ram.get('normal', 0),
            'dirty_sync': ram.get('dirty-sync-count', 0),
            'realm_bytes': realm_info.get('bytes', 0),
            # Builds before 2026-12-07 said pages where they counted
            # granules (query-migrate's realm member is unstable).
            'realm_pages': realm_info.get('granules',
                                          realm_info.get('pages', 0)),
            'realm_zero': realm_info.get('zero-granules',
                                         realm_info.get('zero-pages', 0)),
            'epochs': realm_info.get('epochs', 0),
            'lanes': realm_info.get('lanes', 0),
            'realm_downtime_ms': realm_info.get('downtime'),
            'final_pages': realm_info.get('final-granules',
                                          realm_info.get('final-pages')),
            'throttle': throttle,
            'dirty_rate': dirty_rate,
            **rss,
            'samples': samples,
        }
        res['mbps_calc'] = res['wire'] * 8 / (total_ms / 1000) / 1e6
        # Memory moved with the VM stopped: RAM's downtime-bytes counts
        # RAM pages only; a realm's protected memory in the downtime is
        # its final passes' granules.
        res['downtime_mb'] = (ram.get('downtime-bytes', 0) +
                              (res['final_pages'] or 0) * 4096) / 1e6
        if res['downtime_ms']:
            res['downtime_rate'] = res['downtime_mb'] / \
                (res['downtime_ms'] / 1000)
        if res['realm_pages'] > res['realm_zero']:
            # What the records carry: the contents of non-zero granules.
            payload = (res['realm_pages'] - res['realm_zero']) * 4096
            res['overhead'] = 100.0 * (res['realm_bytes'] - payload) / payload
        return res
    finally:
        for g in (src, dst):
            if g:
                g.kill()


def lead_note(med):
    """Where the realm's total time against the plain VM's comes from:
    total time = bytes on the wire / throughput, both measured."""
    def ratio(key):
        p, r = med('plain', key), med('realm', key)
        return r / p if p and r is not None else None

    t, b = ratio('total_ms'), ratio('wire')
    c, w = ratio('mbps_calc'), ratio('dirty_rate')
    if None in (t, b, c, w):
        return ''
    return (f'\nWhere the realm\'s total time against the plain VM\'s '
            f'({t:.2f}x, medians) comes from: total time is bytes on the '
            f'wire over throughput, and the realm sent {b:.2f}x the bytes '
            f'at {c:.2f}x the throughput.  The bytes: the realm sends only '
            f'the granules it holds (written or created at least once), '
            f'RAM migration every page of the guest that is not zero, '
            f'and both send again what the guest rewrote meanwhile (the '
            f'realm\'s guest rewrote at {w:.2f}x the plain guest\'s '
            f'rate).  How each sends: the realm seals 64 granules per '
            f'record and writes each record as one buffer; RAM checks and '
            f'sends page by page, each page with its own header.\n')


def fmt(v, spec):
    return format(v, spec) if v is not None else '-'


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--smp', type=int, default=1)
    ap.add_argument('--rate', type=int, default=0,
                    help='memstress rewrite rate cap (MiB/s, 0: none)')
    ap.add_argument('--mib', type=int, default=256,
                    help='memstress size (MiB), rewritten continuously')
    ap.add_argument('--downtime', type=int, default=300,
                    help='downtime-limit (ms)')
    ap.add_argument('--bandwidth', type=int, default=1 << 30,
                    help='max-bandwidth (bytes/s)')
    ap.add_argument('--auto-converge', action='store_true',
                    help='the auto-converge capability on the source')
    ap.add_argument('--multifd', type=int, default=0,
                    help='multifd channels (0: multifd off)')
    ap.add_argument('--mem', default='1G', help='guest RAM (-m)')
    ap.add_argument('--perf', metavar='DIR',
                    help='perf record both QEMUs of the first run of each '
                    'kind into DIR (reports: DIR/<kind>-<side>.txt)')
    ap.add_argument('--perf-freq', type=int, default=499,
                    help='perf samples per second and thread')
    ap.add_argument('--perf-switchover', action='store_true',
                    help='with --perf: record only the switchover (the '
                    'source pauses before it; that pause counts in its '
                    'downtime, so use a run of its own)')
    ap.add_argument('--perf-event',
                    help='perf record this event instead of CPU time '
                    '(e.g. sched:sched_switch: where threads block)')
    ap.add_argument('--trace', action='append', metavar='PATTERN',
                    help='enable these trace events in both QEMUs '
                    '(-trace, timestamped; repeatable); see --logs')
    ap.add_argument('--logs', metavar='DIR',
                    help='keep both QEMUs\' stderr (their traces) of '
                    'every run in DIR/<kind>-<run>-<side>.log')
    ap.add_argument('--timeout', type=int, default=600,
                    help='give up a migration after this many seconds')
    ap.add_argument('--name', default=time.strftime('%Y%m%d-%H%M',
                                                    time.gmtime()))
    ap.add_argument('--qemu', default=os.path.join(
        TOP, 'build', 'qemu-build', 'qemu-system-aarch64'))
    ap.add_argument('--out')
    opts = ap.parse_args()
    out_path = opts.out or os.path.join(TOP, 'bench', 'results',
                                        f'migration-{opts.name}.md')

    qemu = opts.qemu
    if opts.logs:
        os.makedirs(opts.logs, exist_ok=True)
    kernel, initrd, kver = cca_common.guest_assets(TOP)
    results = {'plain': [], 'realm': []}
    with tempfile.TemporaryDirectory(prefix='cca-mig-bench-') as tmpdir:
        rme_opts = realm_options(qemu, tmpdir)
        for i in range(opts.runs):
            # Alternating order: neither kind always runs first.
            for kind in ('plain', 'realm')[::1 if i % 2 == 0 else -1]:
                r = migrate_once(opts, qemu, kernel, initrd, kind == 'realm',
                                 rme_opts, tmpdir, i)
                results[kind].append(r)
                print(f'run {i + 1}/{opts.runs} {kind}: total '
                      f'{r["total_ms"]} ms, downtime {r["downtime_ms"]} ms, '
                      f'{r["wire"] / 1e6:.1f} MB on the wire', flush=True)
        cmdlines = {k: ' '.join(shlex.quote(a) for a in
                                qemu_args(qemu, kernel, initrd, k == 'realm',
                                          opts.smp, rme_opts, mem=opts.mem))
                    for k in ('plain', 'realm')}

    def med(kind, key):
        vals = [r[key] for r in results[kind] if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    def spread(kind, key, spec):
        vals = [r[key] for r in results[kind] if r.get(key) is not None]
        if len(vals) < 2:
            return ''
        return f' ({format(min(vals), spec)}..{format(max(vals), spec)})'

    rows = [
        ('total time (ms)', 'total_ms', '.0f'),
        ('wall clock, migrate to completed (s)', 'wall', '.2f'),
        ('setup time (ms)', 'setup_ms', '.0f'),
        ('downtime (ms)', 'downtime_ms', '.0f'),
        ('throughput, query-migrate ram.mbps (Mbit/s)', 'mbps', '.0f'),
        ('throughput, wire bytes / total time (Mbit/s)', 'mbps_calc', '.0f'),
        ('bytes on the wire (MB, ram.transferred)', 'wire_mb', '.1f'),
        ('of which realm records (MB)', 'realm_mb', '.1f'),
        ('plain RAM pages sent (ram.normal)', 'ram_pages', '.0f'),
        ('realm pages (granules) moved', 'realm_pages', '.0f'),
        ('of which zero granules (no ciphertext)', 'realm_zero', '.0f'),
        ('realm epochs', 'epochs', '.0f'),
        ('realm wire overhead over the non-zero contents (%)', 'overhead',
         '.2f'),
        ('peak cpu-throttle-percentage', 'throttle', '.0f'),
        ('guest rewrite rate, migrate to check on the destination (MiB/s)',
         'dirty_rate', '.0f'),
        ('realm DATA lanes (multifd channels)', 'lanes', '.0f'),
        ('downtime in the realm\'s switchover (ms)', 'realm_downtime_ms',
         '.0f'),
        ('granules in the realm\'s final passes', 'final_pages', '.0f'),
        ('memory moved in the downtime (MB: RAM downtime-bytes + realm '
         'final granules x 4 KiB)', 'downtime_mb', '.1f'),
        ('that memory over the downtime (MB/s)', 'downtime_rate', '.0f'),
        ('peak RSS of the source QEMU once booted (MiB, VmHWM)',
         'rss_boot_mib', '.0f'),
        ('peak RSS of the source QEMU (MiB, VmHWM)', 'rss_src_mib', '.0f'),
        ('peak RSS of the destination QEMU (MiB, VmHWM)', 'rss_dst_mib',
         '.0f'),
    ]
    for kind in results:
        for r in results[kind]:
            r['wire_mb'] = r['wire'] / 1e6
            r['realm_mb'] = r['realm_bytes'] / 1e6
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, 'w') as f:
        f.write('# Live migration over TCP (localhost): realm vs plain VM\n\n')
        f.write(f'- date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}\n')
        f.write(f'- machine: {benchlib.machine_line()}\n')
        f.write(f'- QEMU: {benchlib.qemu_line(qemu)}\n')
        f.write(f'- guest: Debian Linux {kver} + busybox initramfs, '
                f'-m {opts.mem} -smp {opts.smp}, TCG, -cpu max\n')
        rate = f'at most {opts.rate} MiB/s' if opts.rate else 'no rate cap'
        f.write(f'- workload: memstress run {opts.mib} MiB (rewritten '
                f'continuously, {rate})\n')
        f.write(f'- migration: tcp:127.0.0.1, return-path on, downtime-limit '
                f'{opts.downtime} ms, max-bandwidth {opts.bandwidth} B/s'
                f'{", auto-converge on" if opts.auto_converge else ""}'
                f'{f", multifd {opts.multifd} channels" if opts.multifd else ""}'
                '\n')
        f.write(f'- runs: {opts.runs} each, interleaved, alternating which '
                'kind goes first\n\n')
        f.write('Medians (min..max):\n\n| | plain | realm | realm / plain |\n'
                '|---|---|---|---|\n')
        for label, key, spec in rows:
            p, r = med('plain', key), med('realm', key)
            ratio = f'{r / p:.2f}x' if p and r is not None else '-'
            f.write(f'| {label} | {fmt(p, spec)}{spread("plain", key, spec)} '
                    f'| {fmt(r, spec)}{spread("realm", key, spec)} | '
                    f'{ratio} |\n')
        f.write('\nEvery run:\n\n| run | kind | total (ms) | setup (ms) | '
                'downtime (ms) | mbps | wire (MB) | realm (MB) | '
                'realm pages | overhead (%) |\n'
                '|---|---|---|---|---|---|---|---|---|---|\n')
        for i in range(opts.runs):
            for kind in ('plain', 'realm'):
                r = results[kind][i]
                f.write(f'| {i + 1} | {kind} | {r["total_ms"]} | '
                        f'{r["setup_ms"]} | {r["downtime_ms"]} | '
                        f'{r["mbps"]:.0f} | {r["wire_mb"]:.1f} | '
                        f'{r["realm_mb"]:.1f} | {r["realm_pages"]} | '
                        f'{fmt(r.get("overhead"), ".2f")} |\n')
        f.write('\nNotes: `ram.transferred` is every byte of QEMU\'s '
                'migration stream, the realm\'s records included, so the '
                'bytes on the wire are that figure (adding the realm\'s '
                'bytes to it would count them twice).  Wire overhead = '
                '(realm record bytes - non-zero pages * 4096) / (non-zero '
                'pages * 4096): zero granules carry no contents.\n')
        f.write(lead_note(med))
        f.write('\nCommand lines (source, plus `-qmp unix:<socket>,server=on,'
                'wait=off`; the destination adds `-incoming defer`, then QMP '
                '`migrate-incoming uri=tcp:127.0.0.1:0`):\n\n')
        for k in ('plain', 'realm'):
            f.write(f'- {k}: `{cmdlines[k]}`\n')
    # Every figure, for bench/plot.py.
    with open(os.path.splitext(out_path)[0] + '.json', 'w') as f:
        json.dump({'options': vars(opts), 'machine': benchlib.cpu_model(),
                   'qemu': benchlib.qemu_line(qemu),
                   'commit': benchlib.tree_commit(benchlib.TOP),
                   'results': results}, f, indent=1)
    print(f'report in {out_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
