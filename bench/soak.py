#!/usr/bin/python3
#
# Soak: a realm (rme-guest, 2 vCPUs) with a virtio-blk disk and virtio-net
# migrated N times in a row between fresh QEMU processes on this machine
# (ping-pong between two platform identities, "A" and "B"; each hop
# starts a destination with -incoming, migrates over TCP on localhost and
# quits the source), every hop verified.  In the guest, all the time:
# memstress rewriting its memory, guest/soak's disk loop writing files on
# an ext4 file system and checking all of them from the disk after each
# write, and its net loop exchanging checksummed data with a peer here.
# After each hop:
#
#   - query-migrate on both sides: completed, the source realm given up
#     ("migrated", and `cont` refused), the destination's running, every
#     record imported (cca_common.realm_migration_problems);
#   - memstress check: all of its memory intact, its generation on;
#   - the disk loop has checked every file twice from the destination's
#     disk, and the net loop has had two answers checked there, with no
#     mismatch on either end;
#   - a CCA attestation token from the guest: it answers the challenge,
#     its platform part is the destination platform's (instance ID,
#     realm attestation key bound), its realm part (RIM, REMs) the same
#     as at boot.
#
# At the end the disk loop stops, the guest checks every file once more
# and unmounts, and the image is checked here (e2fsck, and every file's
# SHA-256 through debugfs).  Writes a Markdown report and its figures as
# JSON (bench/results/soak-<name>.md, .json): per hop the downtime, total
# and setup time, bytes and the realm's figures from query-migrate, with
# median, p90 and max.
#
#   bench/soak.py [--hops N] [--pair] [--smp N] [--mib MiB]
#                 [--name NAME | --out FILE] [...]
#
# --pair: two realms, migrating at the same time between the same two
# QEMU "hosts": two sources and two destinations, both migrations started
# together, both verified.  Exits 1 at the first verification failure
# (the report says where; the QEMU logs stay in the work directory it
# names).  Needs scripts/build and scripts/mkinitramfs to have run.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import gzip
import hashlib
import json
import lzma
import math
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, 'qemu', 'tests', 'functional', 'aarch64'))
import cca_common                                    # noqa: E402
import benchlib                                      # noqa: E402
import migration as mig                              # noqa: E402

# Bounds for each step (seconds): generous, so that a loaded machine
# only makes a run slower; nothing is decided by them but a failure.
BOOT_TIMEOUT = 240
CMD_TIMEOUT = 120
VERIFY_TIMEOUT = 300
# A workload that dirties memory faster than the link moves it: after
# this many passes (realm epochs) allow a long downtime, as the
# functional tests do, and say so in the hop's row.
CONVERGE_PASSES = 8
CONVERGE_DOWNTIME_MS = 60000

SIDES = {'src': 'A', 'dst': 'B'}
ATTEST_OK = 'CCA-ATTEST: result=ok'
STATUS = re.compile(r'SOAK-STATUS( \S+=\d+)+')


class SoakError(RuntimeError):
    """A verification failed: the soak stops there."""


# What ends a soak: a check that failed, a console or QMP that failed or
# did not answer in time, a QEMU gone.
FAILURES = (SoakError, cca_common.ConsoleError, RuntimeError, TimeoutError,
            EOFError, OSError)


# ---- the guest's initramfs -----------------------------------------------

def cpio_newc(entries, mtime=1767225600):
    """A newc cpio archive of @entries: (name, mode, bytes or None for a
    directory)."""
    out = bytearray()

    def pad():
        out.extend(b'\0' * (-len(out) % 4))

    for ino, (name, mode, data) in enumerate(
            list(entries) + [('TRAILER!!!', 0, b'')]):
        data = data or b''
        nb = name.encode() + b'\0'
        fields = (0x50000 + ino if mode else 0, mode, 0, 0, 1, mtime,
                  len(data), 0, 0, 0, 0, len(nb), 0)
        out += ('070701' + ''.join(f'{v:08X}' for v in fields)).encode()
        out += nb
        pad()
        out += data
        pad()
    return bytes(out)


def soak_initrd(base, path):
    """
    The soak's initramfs at @path: the test initramfs @base (memstress,
    cca-attest, ...), then a second archive, which the kernel unpacks
    over it, with guest/soak as /bin/cca-soak and ext4 with the modules
    it needs (from scripts/fetch-guest), listed in load order in
    /etc/cca-soak-modules.
    """
    env = dict(line.split('=', 1) for line in subprocess.run(
        [os.path.join(TOP, 'scripts', 'fetch-guest')], check=True,
        capture_output=True, text=True).stdout.split() if '=' in line)
    moddir = env['CCA_GUEST_MODDIR']
    deps = {}
    with open(os.path.join(moddir, 'modules.dep'), encoding='utf-8') as f:
        for line in f:
            mod, _, rest = line.partition(':')
            deps[os.path.basename(mod).split('.')[0]] = (mod, rest.split())
    order = []

    def need(name):
        mod, after = deps[name]
        for d in after:
            need(os.path.basename(d).split('.')[0])
        if mod not in order:
            order.append(mod)

    need('ext4')
    entries = [('lib/cca-soak', 0o40755, None)]
    listed = []
    for mod in order:
        with open(os.path.join(moddir, mod), 'rb') as f:
            raw = f.read()
        if mod.endswith('.xz'):
            raw = lzma.decompress(raw)
        elif mod.endswith('.gz'):
            raw = gzip.decompress(raw)
        elif not mod.endswith('.ko'):
            raise RuntimeError(f'{mod}: unexpected module file')
        name = f'lib/cca-soak/{os.path.basename(mod).split(".")[0]}.ko'
        entries.append((name, 0o100644, raw))
        listed.append('/' + name)
    entries.append(('etc/cca-soak-modules', 0o100644,
                    ('\n'.join(listed) + '\n').encode()))
    with open(os.path.join(TOP, 'guest', 'soak'), 'rb') as f:
        entries.append(('bin/cca-soak', 0o100755, f.read()))
    with open(base, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data + b'\0' * (-len(data) % 4))
        f.write(gzip.compress(cpio_newc(entries), mtime=0))
    return [os.path.basename(m).split('.')[0] for m in order]


# ---- the host's end of the net loop ---------------------------------------

class NetPeer:
    """
    The host's end of guest/soak's net loop for realm @name: on
    127.0.0.1 (the guest's 10.0.2.2), one connection a transfer.  Counts
    uploads whose SHA-256 matched, round trips the guest confirmed
    (the verdict in its next request), transfers cut short, and
    failures: data that arrived whole but not as sent, either way.
    """

    def __init__(self, name, answer_bytes):
        self.name = name
        self.answer_bytes = answer_bytes
        self.cond = threading.Condition()
        self.uploads = self.confirmed = self.interrupted = 0
        self.guest_interrupted = 0
        self.bytes = 0
        self.failures = []
        self.srv = socket.create_server(('127.0.0.1', 0))
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True,
                         name=f'peer-{name}').start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _count(self, what, failure=None):
        with self.cond:
            setattr(self, what, getattr(self, what) + 1)
            if failure:
                self.failures.append(failure)
            self.cond.notify_all()

    def _serve(self, conn):
        with conn:
            conn.settimeout(VERIFY_TIMEOUT)
            try:
                self._transfer(conn)
            except OSError:
                self._count('interrupted')

    def _transfer(self, conn):
        data = b''
        while b'\n' not in data and len(data) < 512:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        if b'\n' not in data:
            self._count('interrupted')
            return
        line, body = data.split(b'\n', 1)
        words = line.decode(errors='replace').split()
        if len(words) != 6 or words[0] != 'SOAK' or words[1] != self.name:
            self._count('interrupted', f'net: unexpected request {line!r}')
            return
        seq, size, digest = int(words[2]), int(words[3]), words[4]
        prev, _, verdict = words[5].partition(':')
        if verdict == 'ok':
            self._count('confirmed')
        elif verdict == 'int':
            self._count('guest_interrupted')
        elif verdict == 'bad':
            self._count('guest_interrupted', f'net {prev}: the guest got '
                        'another answer than this peer sent')
        while len(body) < size:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        if len(body) < size:
            self._count('interrupted')
            return
        if len(body) > size or hashlib.sha256(body).hexdigest() != digest:
            self._count('interrupted', f'net {seq}: {len(body)} bytes '
                        f'arrived, not the {size} bytes with SHA-256 '
                        f'{digest} sent')
            conn.sendall(f'BAD {seq}\n'.encode())
            return
        answer = os.urandom(self.answer_bytes)
        conn.sendall(f'OK {seq} {len(answer)} '
                     f'{hashlib.sha256(answer).hexdigest()}\n'.encode()
                     + answer)
        with self.cond:
            self.uploads += 1
            self.bytes += size + len(answer)
            self.cond.notify_all()

    def snapshot(self):
        with self.cond:
            return {'uploads': self.uploads, 'confirmed': self.confirmed,
                    'interrupted': self.interrupted,
                    'guest_interrupted': self.guest_interrupted,
                    'bytes': self.bytes, 'failures': list(self.failures)}

    def wait_confirmed(self, count, timeout):
        """Until @count round trips are confirmed (or a failure, or
        @timeout seconds); returns the snapshot."""
        with self.cond:
            self.cond.wait_for(lambda: self.confirmed >= count or
                               self.failures, timeout)
        return self.snapshot()

    def close(self):
        self.srv.close()


# ---- a realm that soaks -----------------------------------------------------

def qemu_command(opts, ctx, realm, side, incoming):
    """The QEMU command line of @realm on platform @side."""
    args = mig.qemu_args(ctx['qemu'], ctx['kernel'], ctx['initrd'], True,
                         opts.smp, {'src': ctx['rme'][side],
                                    'dst': ctx['rme'][side]},
                         incoming=incoming, mem=opts.mem)
    return args + [
        '-drive', f'file={realm.disk},if=none,id=d0,format=raw',
        '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on',
        '-netdev', 'user,id=n0',
        '-device', 'virtio-net-pci,netdev=n0,disable-legacy=on,romfile=']


def percentile(vals, p):
    """The nearest-rank @p-th percentile of @vals."""
    s = sorted(vals)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


class SoakRealm:
    """One realm: its QEMU of the moment, its disk, its net peer, what
    it verified so far and a row per hop."""

    def __init__(self, opts, ctx, index):
        self.opts, self.ctx = opts, ctx
        self.name = f'realm{index}'
        self.seed = 0x50a0 + index
        self.side = 'src'
        self.disk = os.path.join(ctx['tmpdir'], f'{self.name}.img')
        with open(self.disk, 'wb') as f:
            f.truncate(opts.disk_mib << 20)
        subprocess.run([ctx['mkfs'], '-q', '-F', '-b', '4096', '-L',
                        self.name, self.disk], check=True)
        self.peer = NetPeer(self.name, opts.net_kib * 1024)
        self.src = self.guest = self.dst = None
        self.gen = 0
        self.rows = []
        self.tokens = 0
        self.claims = None
        self.files = []

    def log(self, msg):
        print(f'{self.name}: {msg}', flush=True)

    def check(self, ok, what):
        if not ok:
            raise SoakError(f'{self.name}: {what}')

    def run(self, cmd, timeout=CMD_TIMEOUT):
        return self.guest.run(cmd, timeout)

    def boot(self):
        t0 = time.monotonic()
        self.guest = mig.Guest(qemu_command(self.opts, self.ctx, self, 'src',
                                            False),
                               self.ctx['tmpdir'], f'{self.name}-boot')
        self.guest.wait_for(re.escape(mig.PROMPT), BOOT_TIMEOUT)
        self.guest.send(f'MEMSTRESS_PROGRESS=0 memstress run {self.opts.mib} '
                        f'{self.seed} 0 {self.opts.rate} &')
        self.guest.wait_for(rb'MEMSTRESS: run started', BOOT_TIMEOUT)
        self.gen = self.memstress()
        rc, out = self.run(f'cca-soak start {self.name} {self.peer.port} '
                           f'/dev/vda {self.opts.files} {self.opts.file_kib} '
                           f'{self.opts.net_kib}')
        self.check(rc == 0 and 'SOAK-STARTED' in out,
                   f'cca-soak start failed:\n{out}')
        self.guest_wait(2, 2)
        self.attest()
        self.log(f'booted on {SIDES[self.side]}, workload running, '
                 f'{time.monotonic() - t0:.1f} s')

    def memstress(self):
        """memstress check; returns its generation, which must be past
        the last one."""
        rc, out = self.run('memstress check 200', VERIFY_TIMEOUT)
        m = mig.VERIFY_OK.search(out)
        self.check(rc == 0 and m and 'verify FAIL' not in out,
                   f'memstress check failed:\n{out}')
        gen = int(m.group(2))
        self.check(gen > self.gen, f'memstress at generation {gen}, '
                   f'not past {self.gen}')
        self.gen = gen
        return gen

    def status(self, cmd='cca-soak status', timeout=CMD_TIMEOUT):
        """@cmd's status line: {'disk-passes': N, 'net-ok': N,
        'net-int': N, 'disk-read-kib': N, 'fail': N}; it must have
        succeeded."""
        rc, out = self.run(cmd, timeout)
        m = STATUS.search(out)
        self.check(rc == 0 and m, f'{cmd} failed:\n{out}')
        return {k: int(v) for k, v in
                re.findall(r'(\S+)=(\d+)', m.group(0))}

    def guest_wait(self, passes, answers):
        """Wait until the disk loop has checked @passes more passes and
        the net loop @answers more answers, from now; returns the
        status.  The passes read the files from the disk (not from the
        page cache)."""
        s0 = self.status()
        disk, net = s0['disk-passes'] + passes, s0['net-ok'] + answers
        s = self.status(f'cca-soak wait {disk} {net} {VERIFY_TIMEOUT}',
                        VERIFY_TIMEOUT + 30)
        # At least one whole pass after s0, over the files there were.
        read = s['disk-read-kib'] - s0['disk-read-kib']
        files = min(self.opts.files, s0['disk-passes'] + 1)
        self.check(read >= files * self.opts.file_kib,
                   f'{passes} disk passes read {read} KiB from the disk, '
                   f'not all {files} files')
        return s

    def attest(self):
        """A token from the realm: it answers a fresh challenge, its
        platform is the one the realm runs on, the realm is the one
        that booted."""
        challenge = os.urandom(64).hex()
        rc, out = self.run(f'cca-attest {challenge}')
        self.check(rc == 0 and ATTEST_OK in out, f'cca-attest:\n{out}')
        _, out = self.run('echo "TOKEN=$(od -An -tx1 -v '
                          "/tmp/cca-attest.outblob | tr -d ' \\n')\"")
        m = re.search(r'TOKEN=([0-9a-f]+)', out)
        self.check(m, f'no token in {out!r}')
        plat, realm = cca_common.cca_token_claims(bytes.fromhex(m.group(1)))
        self.check(realm[10].hex() == challenge,
                   'the token does not answer the challenge')
        algo = realm[44240].replace('-', '')
        self.check(plat[10] == hashlib.new(algo, realm[44237]).digest(),
                   'the platform token does not bind the realm '
                   'attestation key')
        self.check(plat[256] == self.ctx['instance'][self.side],
                   f'the token\'s platform is not {SIDES[self.side]}, where '
                   'the realm runs')
        what = {k: realm[k] for k in (44238, 44239, 44235, 44236)}
        if self.claims is None:
            self.claims = what
        self.check(what == self.claims, 'the realm\'s measurements or '
                   'personalization changed')
        self.tokens += 1

    # ---- a hop ---------------------------------------------------------

    def start_dest(self, hop):
        """A destination on the other platform, listening."""
        self.t_hop = time.monotonic()
        to = 'dst' if self.side == 'src' else 'src'
        self.dst = mig.Guest(qemu_command(self.opts, self.ctx, self, to,
                                          True),
                             self.ctx['tmpdir'], f'{self.name}-{hop}')
        for g in (self.guest, self.dst):
            if self.opts.multifd:
                g.qmp.cmd('migrate-set-capabilities', capabilities=[
                    {'capability': 'multifd', 'state': True}])
                g.qmp.cmd('migrate-set-parameters',
                          **{'multifd-channels': self.opts.multifd})
        self.dst.qmp.cmd('migrate-incoming', uri='tcp:127.0.0.1:0')
        addrs = self.dst.qmp.cmd('query-migrate')['socket-address']
        self.port = int(addrs[0]['port'])
        self.guest.qmp.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'return-path', 'state': True}])
        self.guest.qmp.cmd('migrate-set-parameters', **{
            'downtime-limit': self.opts.downtime,
            'max-bandwidth': self.opts.bandwidth})
        self.raised = False

    def migrate(self):
        self.t0 = time.monotonic()
        self.guest.qmp.cmd('migrate', uri=f'tcp:127.0.0.1:{self.port}')
        self.info = None

    def poll(self):
        """One look at the migration: True once it ended."""
        info = self.guest.qmp.cmd('query-migrate')
        status = info['status']
        if status in ('completed', 'failed', 'cancelled'):
            self.t1 = time.monotonic()
            self.info = info
            return True
        if status == 'active' and not self.raised and \
                (info.get('realm') or {}).get('epochs', 0) >= CONVERGE_PASSES:
            self.guest.qmp.cmd('migrate-set-parameters', **{
                'downtime-limit': CONVERGE_DOWNTIME_MS})
            self.raised = True
        self.check(time.monotonic() - self.t0 < self.opts.timeout,
                   f'migration not ended within {self.opts.timeout} s: '
                   f'{info}')
        return False

    def verify_hop(self, hop):
        """Everything a hop has to show; returns the hop's row."""
        info, src, dst = self.info, self.guest, self.dst
        self.check(info['status'] == 'completed', f'migration '
                   f'{info["status"]}: {info.get("error-desc")}')
        deadline = time.monotonic() + CMD_TIMEOUT
        while dst.qmp.cmd('query-status')['status'] != 'running':
            self.check(time.monotonic() < deadline,
                       'the destination does not run')
            time.sleep(0.05)
        dinfo = dst.qmp.cmd('query-migrate')
        problems = cca_common.realm_migration_problems(info, dinfo,
                                                       self.opts.smp)
        self.check(not problems, '; '.join(problems))
        res = src.qmp.qmp('cont')
        self.check('error' in res and 'migrated' in res['error']['desc'],
                   f'cont on the source: {res}')
        self.check(src.qmp.cmd('query-status')['status'] == 'postmigrate',
                   'the source is not postmigrate')
        net0 = self.peer.snapshot()
        self.src, self.guest, self.dst = src, dst, None
        self.side = 'dst' if self.side == 'src' else 'src'
        gen = self.memstress()
        s = self.guest_wait(2, 2)
        net = self.peer.wait_confirmed(net0['confirmed'] + 1, CMD_TIMEOUT)
        self.check(not net['failures'], '; '.join(net['failures']))
        self.check(net['confirmed'] > net0['confirmed'] and
                   net['uploads'] >= net0['uploads'] + 2,
                   f'the net peer saw no transfer of the destination: {net}')
        if self.opts.attest_every and hop % self.opts.attest_every == 0:
            self.attest()
        ram, r = info['ram'], info['realm']
        return {
            'hop': hop, 'realm': self.name,
            'to': SIDES[self.side],
            'wall_s': self.t1 - self.t0,
            'total_ms': info.get('total-time'),
            'setup_ms': info.get('setup-time'),
            'downtime_ms': info.get('downtime'),
            'expected_downtime_ms': info.get('expected-downtime'),
            'wire': ram.get('transferred', 0),
            'mbps': ram.get('mbps', 0.0),
            'ram_pages': ram.get('normal', 0),
            'realm_bytes': r.get('bytes', 0),
            'granules': r.get('granules', 0),
            'zero_granules': r.get('zero-granules', 0),
            'epochs': r.get('epochs', 0),
            'ripas_records': r.get('ripas-records', 0),
            'recs': r.get('recs', 0),
            'lanes': r.get('lanes', 0),
            'realm_downtime_ms': r.get('downtime'),
            'final_granules': r.get('final-granules'),
            'downtime_raised': self.raised,
            'memstress_gen': gen,
            'disk_passes': s['disk-passes'], 'net_ok': s['net-ok'],
            'net_interrupted': s['net-int'],
            'disk_read_kib': s['disk-read-kib'],
            'peer_confirmed': net['confirmed'],
            'tokens': self.tokens,
            't_start': self.t0, 't_end': self.t1,
        }

    def transcript(self, g):
        """@g's console so far into the work directory."""
        with open(os.path.join(self.ctx['tmpdir'], f'{g.name}.console'),
                  'w', encoding='utf-8') as f:
            f.write(g.console.text())

    def quit_source(self, src):
        rc = src.quit()
        self.transcript(src)
        self.check(rc == 0, f'the source QEMU exited with {rc} after quit')

    def finish(self):
        """Stop the loops; the guest checks every file once more and
        unmounts; the last QEMU quits; e2fsck and every file's SHA-256
        through debugfs here."""
        rc, out = self.run('cca-soak stop', VERIFY_TIMEOUT)
        m = STATUS.search(out)
        self.check(rc == 0 and m, f'cca-soak stop:\n{out}')
        passes = int(re.search(r'disk-passes=(\d+)', m.group(0)).group(1))
        self.files = re.findall(r'SOAK-FILE ([0-9a-f]{64}) (\S+)', out)
        self.check(len(self.files) == min(passes, self.opts.files),
                   f'{len(self.files)} files in the manifest after '
                   f'{passes} passes:\n{out}')
        self.memstress()
        self.quit_source(self.guest)
        self.guest = None
        r = subprocess.run([self.ctx['e2fsck'], '-fn', self.disk],
                           capture_output=True, text=True)
        self.check(r.returncode == 0, f'e2fsck of the image:\n{r.stdout}'
                   f'{r.stderr}')
        for digest, name in self.files:
            data = subprocess.run([self.ctx['debugfs'], '-R', f'cat {name}',
                                   self.disk], capture_output=True).stdout
            self.check(hashlib.sha256(data).hexdigest() == digest,
                       f'{name} in the image is not what the guest wrote')
        self.log(f'the image: e2fsck clean, {len(self.files)} files as '
                 'written')

    def kill(self):
        for g in (self.src, self.guest, self.dst):
            if g:
                g.kill()
                self.transcript(g)
        self.peer.close()


def in_parallel(realms, fn):
    """fn(realm) for every realm at once; raises the failure, or one
    that names every failure."""
    errors = []

    def one(r):
        try:
            fn(r)
        except Exception as e:          # noqa: BLE001 -- raised below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(r,)) for r in realms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(errors) > 1:
        raise SoakError('; '.join(str(e) for e in errors))
    if errors:
        raise errors[0]


def hop(realms, n):
    """Hop @n of every realm at once: destinations, migrations started
    together, waited for, verified (in parallel), sources quit; returns
    the rows by realm."""
    rows = {}

    def verify(r):
        rows[r.name] = r.verify_hop(n)

    try:
        for r in realms:
            r.start_dest(n)
        for r in realms:
            r.migrate()
        pending = list(realms)
        while pending:
            pending = [r for r in pending if not r.poll()]
            if pending:
                time.sleep(0.05)
        in_parallel(realms, verify)
        for r in realms:
            r.quit_source(r.src)
            r.src = None
    except FAILURES as e:
        raise SoakError(f'hop {n}: {e}') from e
    for r in realms:
        rows[r.name]['hop_s'] = time.monotonic() - r.t_hop
        rows[r.name]['load1'] = os.getloadavg()[0]
        r.rows.append(rows[r.name])
    return rows


# ---- the report --------------------------------------------------------------

ROWS = [
    ('downtime (ms)', 'downtime_ms', '.0f'),
    ('total time (ms)', 'total_ms', '.0f'),
    ('setup time (ms)', 'setup_ms', '.0f'),
    ('migrate to completed, wall clock (s)', 'wall_s', '.2f'),
    ('hop: destination started to source quit, every check done (s)',
     'hop_s', '.1f'),
    ('bytes on the wire (MB, ram.transferred)', 'wire_mb', '.1f'),
    ('of which realm records (MB)', 'realm_mb', '.1f'),
    ('realm granules moved', 'granules', '.0f'),
    ('of which zero granules', 'zero_granules', '.0f'),
    ('realm epochs', 'epochs', '.0f'),
    ('downtime in the realm\'s switchover (ms)', 'realm_downtime_ms', '.0f'),
    ('granules in the realm\'s final passes', 'final_granules', '.0f'),
    ('1-minute load average after the hop', 'load1', '.2f'),
]


def values(rows, key):
    return [r[key] for r in rows if r.get(key) is not None]


def stat_cells(vals, spec, what=('median', 'p90', 'max', 'min')):
    if not vals:
        return ['-'] * len(what)
    f = {'median': statistics.median(vals), 'p90': percentile(vals, 90),
         'max': max(vals), 'min': min(vals)}
    return [format(f[w], spec) for w in what]


def overlaps(realms):
    """Per hop of a pair: how much the two migrations overlapped (the
    time both ran over the longer one, %) and how far apart they
    started (ms)."""
    out = []
    for a, b in zip(realms[0].rows, realms[1].rows):
        both = min(a['t_end'], b['t_end']) - max(a['t_start'], b['t_start'])
        longer = max(a['t_end'] - a['t_start'], b['t_end'] - b['t_start'])
        out.append({'hop': a['hop'], 'overlap_pct':
                    100.0 * max(both, 0) / longer if longer else 0.0,
                    'start_skew_ms': 1000 * abs(a['t_start'] - b['t_start'])})
    return out


def write_report(path, opts, ctx, realms, result, loads, elapsed):
    rows = [r for realm in realms for r in realm.rows]
    for r in rows:
        r['wire_mb'] = r['wire'] / 1e6
        r['realm_mb'] = r['realm_bytes'] / 1e6
    hops = min((len(r.rows) for r in realms), default=0)
    pair = len(realms) == 2
    title = ('Soak: two realms migrating at the same time between the same '
             'two QEMU hosts' if pair else
             'Soak: a realm migrated hop after hop, every hop verified')
    lines = [f'# {title}', '',
             f'- date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}',
             f'- machine: {benchlib.machine_line()}',
             f'- QEMU: {benchlib.qemu_line(ctx["qemu"])}',
             f'- result: {result}',
             f'- load: 1-minute load average {loads[0]:.2f} at the start, '
             f'{loads[-1]:.2f} at the end, median '
             f'{statistics.median(loads):.2f} and max {max(loads):.2f} '
             f'after the hops (this run\'s own QEMUs included; '
             f'{ctx["others"]} other qemu-system '
             f'process{"" if ctx["others"] == 1 else "es"} at the start)',
             f'- guest: Debian Linux {ctx["kver"]} + busybox initramfs '
             f'(+ guest/soak, ext4), realm (rme-guest), -m {opts.mem} '
             f'-smp {opts.smp}, TCG, -cpu max',
             f'- workload, all the time: memstress run {opts.mib} MiB '
             f'({f"at most {opts.rate} MiB/s" if opts.rate else "no rate cap"}); '
             f'{opts.files} files of {opts.file_kib} KiB on ext4 on '
             f'virtio-blk ({opts.disk_mib} MiB raw image, shared by both '
             'sides), one rewritten at a time, all checked from the disk '
             'after each write; virtio-net (user networking) transfers of '
             f'{opts.net_kib} KiB each way to a peer on the host, SHA-256 '
             'checked at both ends',
             f'- migration: {hops} hops, ping-pong between platforms A and B '
             '(a fresh destination QEMU each hop, -incoming, the source '
             f'quit after the checks), tcp:127.0.0.1, return-path on, '
             f'downtime-limit {opts.downtime} ms (after {CONVERGE_PASSES} '
             f'realm epochs {CONVERGE_DOWNTIME_MS} ms), max-bandwidth '
             f'{opts.bandwidth} B/s'
             f'{f", multifd {opts.multifd} channels" if opts.multifd else ""}'
             + (', both realms\' migrations started together' if pair
                else ''),
             '- verified at every hop: query-migrate of both sides (the '
             'source realm given up, cont refused; every record imported), '
             'memstress check, two disk passes and two net round trips at '
             'the destination, a CCA attestation token (the destination '
             'platform, the same realm)'
             + (f' every {opts.attest_every} hops' if opts.attest_every > 1
                else ''),
             f'- wall clock: {elapsed / 60:.1f} min', '']
    if rows:
        lines += [f'All hops{" of both realms" if pair else ""}: median, '
                  'p90, max and min:', '',
                  '| | median | p90 | max | min |', '|---|---|---|---|---|']
        for label, key, spec in ROWS:
            lines.append(f'| {label} | ' +
                         ' | '.join(stat_cells(values(rows, key), spec))
                         + ' |')
        raised = sum(1 for r in rows if r['downtime_raised'])
        lines += ['', f'Hops whose downtime-limit was raised after '
                  f'{CONVERGE_PASSES} epochs: {raised} of {len(rows)}.', '']
    if pair and hops:
        lines += ['Each realm: median (p90, max):', '',
                  '| | ' + ' | '.join(r.name for r in realms) + ' |',
                  '|---|' + '---|' * len(realms)]
        for label, key, spec in ROWS[:6]:
            cells = []
            for realm in realms:
                med, p90, mx = stat_cells(values(realm.rows, key), spec,
                                          ('median', 'p90', 'max'))
                cells.append(f'{med} ({p90}, {mx})')
            lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
        ov = overlaps(realms)
        lines += ['', 'The two migrations of each hop:', '',
                  '| | median | min | max |', '|---|---|---|---|',
                  '| time both ran, over the longer one (%) | ' + ' | '.join(
                      stat_cells(values(ov, 'overlap_pct'), '.0f',
                                 ('median', 'min', 'max'))) + ' |',
                  '| between the two migrate commands (ms) | ' + ' | '.join(
                      stat_cells(values(ov, 'start_skew_ms'), '.0f',
                                 ('median', 'min', 'max'))) + ' |', '']
    lines += ['What each realm verified:', '',
              '| | ' + ' | '.join(r.name for r in realms) + ' |',
              '|---|' + '---|' * len(realms)]
    last = [r.rows[-1] if r.rows else {} for r in realms]
    peers = [r.peer.snapshot() for r in realms]
    for label, cells in (
            ('hops verified', [len(r.rows) for r in realms]),
            ('memstress generation at the last check', [r.gen for r in realms]),
            ('disk passes checked (every file read back)',
             [l.get('disk_passes', '-') for l in last]),
            ('files checked in the image at the end (e2fsck, SHA-256)',
             [len(r.files) for r in realms]),
            ('net round trips checked by the guest',
             [l.get('net_ok', '-') for l in last]),
            ('net transfers cut short (connections lost at a hop)',
             [l.get('net_interrupted', '-') for l in last]),
            ('net data through the peer (MB)',
             [f'{p["bytes"] / 1e6:.1f}' for p in peers]),
            ('attestation tokens checked', [r.tokens for r in realms])):
        lines.append(f'| {label} | ' + ' | '.join(str(c) for c in cells)
                     + ' |')
    lines += ['', 'Every hop:', '',
              '| hop | realm | to | downtime (ms) | total (ms) | setup (ms) '
              '| hop (s) | wire (MB) | epochs | realm downtime (ms) | '
              'final granules | limit raised | memstress gen | disk passes '
              '| net ok | net cut | load |',
              '|' + '---|' * 17]
    for r in sorted(rows, key=lambda r: (r['hop'], r['realm'])):
        lines.append(
            f'| {r["hop"]} | {r["realm"]} | {r["to"]} | {r["downtime_ms"]} | '
            f'{r["total_ms"]} | {r["setup_ms"]} | {r["hop_s"]:.1f} | '
            f'{r["wire_mb"]:.1f} | {r["epochs"]} | '
            f'{r["realm_downtime_ms"] if r["realm_downtime_ms"] is not None else "-"} | '
            f'{r["final_granules"] if r["final_granules"] is not None else "-"} | '
            f'{"yes" if r["downtime_raised"] else "no"} | '
            f'{r["memstress_gen"]} | {r["disk_passes"]} | {r["net_ok"]} | '
            f'{r["net_interrupted"]} | {r["load1"]:.2f} |')
    cmd = ' '.join(shlex.quote(a) for a in ctx['cmdline']).replace(
        ctx['tmpdir'], '$WORK')
    lines += ['', 'Notes: the downtime, total and setup times are the '
              'source\'s query-migrate; a hop\'s time also counts starting '
              'the destination and every check.  User networking does not '
              'move a connection with the realm: a transfer running at the '
              'switchover is cut short and the next one starts; a transfer '
              'that ended is checked at both ends.', '',
              f'Command line of {realms[0].name} (platform A; on B the other '
              'identity; a destination adds `-incoming defer`, then QMP '
              '`migrate-incoming uri=tcp:127.0.0.1:0`):', '', f'`{cmd}`', '']
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))
    data = {'options': vars(opts), 'machine': benchlib.cpu_model(),
            'qemu': benchlib.qemu_line(ctx['qemu']),
            'commit': benchlib.tree_commit(benchlib.TOP),
            'result': result, 'loads': loads,
            'realms': {r.name: {'hops': r.rows, 'peer': r.peer.snapshot(),
                                'files': r.files, 'tokens': r.tokens}
                       for r in realms}}
    if pair:
        data['overlaps'] = overlaps(realms)
    with open(os.path.splitext(path)[0] + '.json', 'w',
              encoding='utf-8') as f:
        json.dump(data, f, indent=1)


# ---- main ------------------------------------------------------------------

def progress(n, hops, rows):
    for _, r in sorted(rows.items()):
        print(f'hop {n}/{hops} {r["realm"]} to {r["to"]}: downtime '
              f'{r["downtime_ms"]} ms, total {r["total_ms"]} ms, '
              f'{r["wire"] / 1e6:.1f} MB, {r["epochs"]} epochs'
              f'{" (limit raised)" if r["downtime_raised"] else ""}; '
              f'memstress gen {r["memstress_gen"]}, disk passes '
              f'{r["disk_passes"]}, net {r["net_ok"]} ok '
              f'{r["net_interrupted"]} cut; hop {r["hop_s"]:.1f} s, '
              f'load {r["load1"]:.2f}', flush=True)


def tool(name):
    path = shutil.which(name) or shutil.which(name, path='/usr/sbin:/sbin')
    if not path:
        sys.exit(f'{name} not found (e2fsprogs)')
    return path


def terminated(signum, _frame):
    """SIGTERM (scripts/test's timeout): exit through the finally
    clauses, which kill every QEMU of the run."""
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, terminated)
    ap = argparse.ArgumentParser(
        description='Migrate a realm (or two, --pair) hop after hop with '
        'disk, net and memory load, every hop verified (see the top of '
        'this file).')
    ap.add_argument('--hops', type=int, default=100)
    ap.add_argument('--pair', action='store_true',
                    help='two realms, migrating at the same time')
    ap.add_argument('--smp', type=int, default=2)
    ap.add_argument('--mem', default='1G', help='guest RAM (-m)')
    ap.add_argument('--mib', type=int, default=256,
                    help='memstress size (MiB), rewritten continuously')
    ap.add_argument('--rate', type=int, default=0,
                    help='memstress rewrite rate cap (MiB/s, 0: none)')
    ap.add_argument('--files', type=int, default=16,
                    help='files the disk loop rewrites in turn')
    ap.add_argument('--file-kib', type=int, default=256)
    ap.add_argument('--disk-mib', type=int, default=64,
                    help='size of each realm\'s disk image')
    ap.add_argument('--net-kib', type=int, default=64,
                    help='KiB each way per net transfer')
    ap.add_argument('--downtime', type=int, default=300,
                    help='downtime-limit (ms)')
    ap.add_argument('--bandwidth', type=int, default=1 << 30,
                    help='max-bandwidth (bytes/s)')
    ap.add_argument('--multifd', type=int, default=0,
                    help='multifd channels (0: multifd off)')
    ap.add_argument('--attest-every', type=int, default=1,
                    help='an attestation token every N hops (0: none '
                    'after boot)')
    ap.add_argument('--timeout', type=int, default=600,
                    help='give up a migration after this many seconds')
    ap.add_argument('--name', help='report bench/results/soak-NAME.md '
                    '(default: the date, pair-<date> with --pair)')
    ap.add_argument('--out', help='the report\'s path instead')
    ap.add_argument('--workdir', help='where the work directory goes '
                    '(default: $TMPDIR)')
    ap.add_argument('--qemu', default=os.path.join(
        TOP, 'build', 'qemu-build', 'qemu-system-aarch64'))
    opts = ap.parse_args()
    name = opts.name or (('pair-' if opts.pair else '') +
                         time.strftime('%Y%m%d-%H%M', time.gmtime()))
    out_path = opts.out or os.path.join(TOP, 'bench', 'results',
                                        f'soak-{name}.md')
    qemu = os.path.abspath(opts.qemu)
    others = sum(1 for p in os.listdir('/proc') if p.isdigit() and
                 _comm(p).startswith('qemu-system'))
    kernel, base, kver = cca_common.guest_assets(TOP)
    workdir = tempfile.mkdtemp(prefix='cca-soak-', dir=opts.workdir)
    instance = {}
    ctx = {'qemu': qemu, 'kernel': kernel, 'kver': kver, 'tmpdir': workdir,
           'instance': instance, 'others': others, 'mkfs': tool('mkfs.ext4'),
           'e2fsck': tool('e2fsck'), 'debugfs': tool('debugfs')}
    ctx['initrd'] = os.path.join(workdir, 'initrd')
    mods = soak_initrd(base, ctx['initrd'])
    ctx['rme'] = mig.realm_options(qemu, workdir, instance)
    print(f'soak: {opts.hops} hops, {"two realms" if opts.pair else "one realm"}'
          f', work directory {workdir} (guest modules: {" ".join(mods)})',
          flush=True)
    realms = []
    loads = [os.getloadavg()[0]]
    t0 = time.monotonic()
    error = None
    try:
        realms = [SoakRealm(opts, ctx, i) for i in range(2 if opts.pair
                                                          else 1)]
        ctx['cmdline'] = qemu_command(opts, ctx, realms[0], 'src', False)
        in_parallel(realms, SoakRealm.boot)
        for n in range(1, opts.hops + 1):
            rows = hop(realms, n)
            loads.append(os.getloadavg()[0])
            progress(n, opts.hops, rows)
        in_parallel(realms, SoakRealm.finish)
        result = (f'{opts.hops} of {opts.hops} hops verified'
                  + (' for each realm' if opts.pair else ''))
    except FAILURES as e:
        done = min((len(r.rows) for r in realms), default=0)
        error = str(e)
        result = (f'FAILED after {done} of {opts.hops} hops verified: '
                  + (' / '.join(error.splitlines())[:400] or repr(e)))
    finally:
        for r in realms:
            r.kill()
    if realms and 'cmdline' in ctx:
        loads.append(os.getloadavg()[0])
        write_report(out_path, opts, ctx, realms, result, loads,
                     time.monotonic() - t0)
        print(f'report in {out_path}', flush=True)
    if error:
        print(f'soak: {error}\nsoak: the QEMU logs are in {workdir}',
              file=sys.stderr, flush=True)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    print(f'soak: {result}', flush=True)
    return 0


def _comm(pid):
    try:
        with open(f'/proc/{pid}/comm', encoding='utf-8') as f:
            return f.read().strip()
    except OSError:
        return ''


if __name__ == '__main__':
    sys.exit(main())
