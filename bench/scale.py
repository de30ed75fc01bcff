#!/usr/bin/python3
#
# Realms of several sizes, each beside the same guest as a plain VM, same
# build, interleaved (the order alternating): live migration over TCP on
# localhost of a guest whose memstress rewrites --mib MiB all along, its
# memory verified on the destination (bench/migration.py's run), and the
# peak RSS of both QEMUs.  And the emulated RMM's own host memory per GiB
# of realm (tests/rmm/bench-rmm-seal --mem-only, the model alone).
# Writes a Markdown report and its JSON.
#
#   bench/scale.py [--vcpus 1,2,8,32] [--vcpus-mem 4G] [--mems 1G,4G,16G]
#                  [--mems-vcpus 2] [--mib 256] [--runs 1] [--name NAME]
#   bench/scale.py --report bench/results/scale-NAME.json
#
# The second form measures nothing: it writes a run's report again from
# its JSON.  A plain VM that could not migrate on the host (both QEMUs
# would hold all of -m, more than the host has) is not run; the report
# says so.
#
# The sizes: every --vcpus count with --vcpus-mem of RAM, then every
# --mems size with --mems-vcpus vCPUs.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import json
import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib                                      # noqa: E402
import migration                                     # noqa: E402
cca_common = migration.cca_common

TOP = benchlib.TOP
RMM_BUILD = os.path.join(TOP, 'build', 'rmm-release')
RMM_BENCH = os.path.join(RMM_BUILD, 'tests', 'rmm', 'bench-rmm-seal')
RMM_MIBS = (1024, 4096)


def rmm_memory():
    """The model's heap per GiB of realm, at each of RMM_MIBS."""
    if not os.path.exists(os.path.join(RMM_BUILD, 'build.ninja')):
        subprocess.run(['meson', 'setup', '--buildtype=release', RMM_BUILD,
                        TOP], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', RMM_BUILD, 'tests/rmm/bench-rmm-seal'],
                   check=True, stdout=subprocess.DEVNULL)
    res = {}
    for mib in RMM_MIBS:
        out = subprocess.run([RMM_BENCH, '--mib', str(mib), '--mem-only'],
                             check=True, capture_output=True,
                             text=True).stdout
        res[mib] = {k: float(v) for k, v in
                    (line.split() for line in out.splitlines())}
    return res


def gib(mem):
    """GiB in a -m size (\"16G\", \"512M\")."""
    unit = {'G': 1, 'M': 1 / 1024, 'T': 1024}[mem[-1].upper()]
    return float(mem[:-1]) * unit


def mem_available_gib():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) / (1 << 20)
    return 0.0


def plain_fits(mem, read_rss):
    """Whether a plain VM of @mem can migrate on this host: RAM
    migration reads every page of its RAM on the source and checks every
    page on the destination; where a read of never-touched anonymous
    memory makes it resident (@read_rss: MiB of 1024 read), both QEMUs end
    up holding all of -m (about 1 GiB more than -m each, QEMU's own).
    None: it fits; else why not."""
    need, have = 2 * (gib(mem) + 1), mem_available_gib()
    if read_rss < 512 or need <= have:
        return None
    return (f'not run: a plain VM\'s migration makes both QEMUs hold all '
            f'of -m, about {need:.0f} GiB here, and the host has '
            f'{have:.1f} GiB available')


def read_makes_resident_mib(mib=1024):
    """How much of a fresh anonymous mapping of @mib MiB becomes
    resident when every page is read once (MiB): what RAM migration's
    reads of a guest's untouched RAM cost on this host's kernel."""
    def rss():
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
        return 0.0

    m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        before = rss()
        for off in range(0, mib << 20, mmap.PAGESIZE):
            m[off]
        return rss() - before
    finally:
        m.close()


def run_opts(args, smp, mem):
    """The options bench/migration.py's migrate_once() reads."""
    return argparse.Namespace(
        smp=smp, mem=mem, mib=args.mib, rate=0, multifd=0,
        downtime=args.downtime, bandwidth=args.bandwidth,
        auto_converge=False, perf=None, perf_switchover=False,
        perf_freq=0, perf_event=None, timeout=args.timeout,
        # TCG boots each vCPU in turn on few host cores.
        boot_timeout=180 + 20 * smp)


def write_report(out_path, data):
    """The report of @data (what the run measured, as in its JSON) and
    the JSON itself, at @out_path and beside it."""
    args = argparse.Namespace(**data['options'])
    rmm = {int(k): v for k, v in data['rmm'].items()}
    read_rss = data['read_makes_resident_mib']
    results = data['results']
    load0, load1 = data['load']
    kver = data['kver']

    def med(entry, kind, key):
        vals = [r[key] for r in entry[kind] if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    with open(out_path, 'w') as f:
        f.write('# Realms by size: migration and host memory, realm vs '
                'plain VM\n\n')
        f.write(f'- date: {data["date"]}\n')
        f.write(f'- machine: {data["machine"]}; load average '
                f'{load0[0]:.1f} before, {load1[0]:.1f} after\n')
        f.write(f'- QEMU: {data["qemu"]}\n')
        f.write(f'- guest: Debian Linux {kver} + busybox initramfs, TCG, '
                f'-cpu max; memstress run {args.mib} MiB rewritten all '
                'along, verified on the destination\n')
        f.write(f'- migration: tcp:127.0.0.1, return-path on, downtime-limit '
                f'{args.downtime} ms, max-bandwidth {args.bandwidth} B/s\n')
        f.write(f'- runs: {args.runs} per size and kind, interleaved, the '
                'order alternating\n')
        f.write(f'- command: `bench/scale.py --vcpus {args.vcpus} --vcpus-mem '
                f'{args.vcpus_mem} --mems {args.mems} --mems-vcpus '
                f'{args.mems_vcpus} --mib {args.mib} --runs {args.runs}`\n\n')
        f.write('## The emulated RMM\'s own host memory per GiB of realm\n\n'
                'Its heap (mallinfo2) around each step, the realm\'s memory '
                '(which QEMU owns) not counted; `tests/rmm/bench-rmm-seal '
                '--mem-only --mib N`:\n\n'
                '| realm | source realm (KiB/GiB) | destination realm '
                '(KiB/GiB) | source, migrating (+KiB/GiB) | destination, '
                'importing (+KiB/GiB) |\n|---|---|---|---|---|\n')
        for mib, v in rmm.items():
            f.write(f'| {mib // 1024} GiB | {v["rmm_src_kib_per_gib"]:.0f} | '
                    f'{v["rmm_dst_kib_per_gib"]:.0f} | '
                    f'{v["rmm_src_mig_kib_per_gib"]:.0f} | '
                    f'{v["rmm_dst_mig_kib_per_gib"]:.0f} |\n')
        f.write('\n## Migration by size (medians, min..max)\n\n'
                '| vCPUs | RAM | total time plain (ms) | total time realm '
                '(ms) | realm / plain | downtime plain (ms) | downtime realm '
                '(ms) | peak RSS source plain / realm (MiB) | peak RSS '
                'destination plain / realm (MiB) | peak RSS source once '
                'booted plain / realm (MiB) | realm granules moved '
                '|\n|---|---|---|---|---|---|---|---|---|---|---|\n')

        def num(e, kind, key):
            """Median (min..max)."""
            vals = [r[key] for r in e[kind] if r.get(key) is not None]
            if not vals:
                return '-'
            m = f'{statistics.median(vals):.0f}'
            if len(vals) > 1:
                m += f' ({min(vals):.0f}..{max(vals):.0f})'
            return m

        for e in results:
            p, r = med(e, 'plain', 'total_ms'), med(e, 'realm', 'total_ms')
            ratio = f'{r / p:.2f}x' if p and r is not None else '-'
            f.write(f'| {e["smp"]} | {e["mem"]} | {num(e, "plain", "total_ms")}'
                    f' | {num(e, "realm", "total_ms")} | {ratio} | '
                    f'{num(e, "plain", "downtime_ms")} | '
                    f'{num(e, "realm", "downtime_ms")} | '
                    f'{num(e, "plain", "rss_src_mib")} / '
                    f'{num(e, "realm", "rss_src_mib")} | '
                    f'{num(e, "plain", "rss_dst_mib")} / '
                    f'{num(e, "realm", "rss_dst_mib")} | '
                    f'{num(e, "plain", "rss_boot_mib")} / '
                    f'{num(e, "realm", "rss_boot_mib")} | '
                    f'{num(e, "realm", "realm_pages")} |\n')
        errors = [f'{e["smp"]} vCPUs, {e["mem"]}: {x}' for e in results
                  for x in e.get('errors', [])]
        if errors:
            f.write('\nRuns that failed or were not run (not in the '
                    'medians):\n\n' +
                    ''.join(f'- {x}\n' for x in errors))
        f.write('\nThe realm moves only the granules it holds (a fresh '
                'realm has not touched most of its RAM), while RAM migration '
                'of the plain VM reads every page of its RAM on the source '
                '(most of them zero) and checks every page it receives on '
                'the destination.  The peak RSS counts the guest memory '
                'each QEMU made resident (once booted: before the workload '
                'and the migration).  On this host a read of never-touched '
                'anonymous memory makes it resident too (reading every page '
                f'of a fresh 1024 MiB mapping: {read_rss:.0f} MiB), so RAM '
                'migration leaves both QEMUs of a plain VM holding all of '
                '-m.  A realm\'s destination also holds the RMM model\'s '
                'import state (above).\n')
    # Each run's query-migrate samples stay out (a few MB at these sizes;
    # bench/migration.py keeps them, bench/timeseries.py plots them).
    for e in results:
        for kind in ('plain', 'realm'):
            for r in e[kind]:
                r.pop('samples', None)
    with open(os.path.splitext(out_path)[0] + '.json', 'w') as f:
        json.dump(data, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--vcpus', default='1,2,8,32')
    ap.add_argument('--vcpus-mem', default='4G')
    ap.add_argument('--mems', default='1G,4G,16G')
    ap.add_argument('--mems-vcpus', type=int, default=2)
    ap.add_argument('--mib', type=int, default=256,
                    help='memstress size (MiB), rewritten continuously')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--downtime', type=int, default=300)
    ap.add_argument('--bandwidth', type=int, default=1 << 30)
    ap.add_argument('--timeout', type=int, default=900)
    ap.add_argument('--name', default=time.strftime('%Y%m%d-%H%M',
                                                    time.gmtime()))
    ap.add_argument('--qemu', default=os.path.join(
        TOP, 'build', 'qemu-build', 'qemu-system-aarch64'))
    ap.add_argument('--report', metavar='JSON',
                    help='measure nothing: write the report of a run\'s '
                    'JSON again, beside it')
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            data = json.load(f)
        write_report(os.path.splitext(args.report)[0] + '.md', data)
        return 0
    out_path = os.path.join(TOP, 'bench', 'results',
                            f'scale-{args.name}.md')

    sizes = [(int(n), args.vcpus_mem) for n in args.vcpus.split(',') if n]
    sizes += [(args.mems_vcpus, m) for m in args.mems.split(',')
              if m and (args.mems_vcpus, m) not in sizes]
    kernel, initrd, kver = cca_common.guest_assets(TOP)
    load0 = os.getloadavg()
    rmm = rmm_memory()
    print(f'RMM model per GiB: {rmm}', flush=True)
    read_rss = read_makes_resident_mib()
    print(f'reading 1024 MiB of fresh anonymous memory: {read_rss:.0f} MiB '
          'resident', flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix='cca-scale-') as tmpdir:
        rme_opts = migration.realm_options(args.qemu, tmpdir)
        k = 0
        for smp, mem in sizes:
            opts = run_opts(args, smp, mem)
            entry = {'smp': smp, 'mem': mem, 'plain': [], 'realm': []}
            skip_plain = plain_fits(mem, read_rss)
            if skip_plain:
                entry['errors'] = [f'plain: {skip_plain}']
                print(f'{smp} vCPUs, {mem}, plain: {skip_plain}', flush=True)
            for i in range(args.runs):
                for kind in ('plain', 'realm')[::1 if k % 2 == 0 else -1]:
                    if kind == 'plain' and skip_plain:
                        continue
                    t0 = time.monotonic()
                    try:
                        r = migration.migrate_once(opts, args.qemu, kernel,
                                                   initrd, kind == 'realm',
                                                   rme_opts, tmpdir, i)
                    except (RuntimeError, AssertionError, OSError) as e:
                        # Reported, not hidden: the report lists it.
                        first = str(e).splitlines()[0]
                        entry.setdefault('errors', []).append(
                            f'{kind}, run {i + 1}: {first}')
                        print(f'{smp} vCPUs, {mem}, {kind}: FAILED: {first}',
                              flush=True)
                        k += 1
                        continue
                    r['run_s'] = time.monotonic() - t0
                    entry[kind].append(r)
                    print(f'{smp} vCPUs, {mem}, {kind}: total '
                          f'{r["total_ms"]} ms, downtime {r["downtime_ms"]} '
                          f'ms, RSS {r["rss_src_mib"]:.0f}/'
                          f'{r["rss_dst_mib"]:.0f} MiB', flush=True)
                    k += 1
            results.append(entry)
    load1 = os.getloadavg()

    data = {'options': vars(args), 'machine': benchlib.machine_line(),
            'qemu': benchlib.qemu_line(args.qemu),
            'commit': benchlib.tree_commit(TOP),
            'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
            'kver': kver, 'rmm': rmm, 'read_makes_resident_mib': read_rss,
            'results': results, 'load': [load0, load1]}
    write_report(out_path, data)
    print(f'report in {out_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
