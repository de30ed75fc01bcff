#!/usr/bin/python3
#
# A running Arm CCA realm moved by libvirt: two libvirtd instances of
# Debian's libvirt on this machine ("hosts" A and B), each in its own
# mount namespace with its own /etc/libvirt, /run/libvirt,
# /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, and its own
# platform identity at the same path (/var/lib/libvirt/qemu-cca), as two
# CCA hosts would have.  The domain runs the project's
# qemu-system-aarch64 with the realm objects on <qemu:commandline>.
#
#   1. virsh create on A; memstress rewrites the realm's memory
#   2. virsh migrate --live --verbose A -> B, virsh domjobinfo polled on A
#      meanwhile (its "Data remaining" counts the realm's dirty granules);
#      on B memstress verifies its memory; A's QEMU is gone
#   3. the same B -> A
#   4. virsh migrate --live --parallel (multifd, 2 connections) A -> B
#   5. virsh migrate --live --p2p --tunnelled B -> A: refused, with the
#      error naming why; the realm runs on B, memory intact
#   6. B -> A with the connection cut right after the realm's END record:
#      B's QEMU migrates (--migrateuri) to a proxy (cca_mig_proxy) on
#      127.0.0.2, A's listens (--listen-address) on 127.0.0.1.  virsh
#      migrate fails and libvirt kills A's QEMU, which gave the realm up
#      and printed its abort token in its log.  B is in doubt: paused,
#      virsh resume refused.  The token from A's log given to B's QEMU
#      (virsh qemu-monitor-command migrate-guest-token), virsh resume
#      runs the realm on B again, memory intact
#
#   tests/libvirt/virsh-migrate.py [--qemu PATH] [--smp N] [--workdir DIR]
#
# Needs root, libvirt's daemon and client (scripts/setup-deps), unshare
# and a built QEMU (scripts/build).  Run by a user, it prepares the guest
# (scripts/mkinitramfs) as that user and runs the test itself as root
# through sudo -n (sudo without a password), then gives the work
# directory back to the user.  Exits 0 when every step passed.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import base64
import json
import logging
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

# Nothing of this checkout is written by the test, root's bytecode neither.
sys.dont_write_bytecode = True
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, 'qemu', 'tests', 'functional',
                                'aarch64'))
import cca_common                                    # noqa: E402
import cca_mig_proxy                                 # noqa: E402

DOMAIN = 'cca-realm'
PROMPT = b'guest# '
MEMSTRESS_MIB = 64
# Each instance's own directories, bind-mounted over these paths in its
# mount namespace.
LIBVIRT_DIRS = {'/etc/libvirt': 'etc', '/run/libvirt': 'run',
                '/var/lib/libvirt': 'lib', '/var/cache/libvirt': 'cache',
                '/var/log/libvirt': 'log'}
# What every host has at the same path: its platform identity and the
# migration policy (the CA the RMMs trust).
CCA_DIR = '/var/lib/libvirt/qemu-cca'
BOOT_TIMEOUT = 300
MIGRATE_TIMEOUT = 600
CMD_TIMEOUT = 240
# Through the test's proxy (Python) the migration is slower than the
# realm's memstress dirties memory at libvirt's default downtime: it is
# allowed this much (ms), as a management layer would, so that it ends
# whatever the machine's speed.  The proxy keeps every realm record it
# saw: a migration that sends more than this through it does not end.
CONVERGE_DOWNTIME_MS = 60000
PROXY_BYTES_MAX = 4 << 30
# What a destination that gave the realm up prints in its log
# (migration/rme-stream.c): the source in doubt runs it again with it.
ABORT_TOKEN = re.compile(r'migrate-guest-token kind=abort token=(\S+)')


def say(msg):
    print(f'[virsh-migrate] {msg}', flush=True)


class Failure(Exception):
    pass


class Libvirtd:
    """One libvirtd, its directories under @root: etc, run, lib, cache
    and log (bind-mounted over LIBVIRT_DIRS in its mount namespace) and
    sock (its sockets, not bind-mounted, so visible from here)."""

    def __init__(self, name, root, port_min, identity, policy):
        self.name = name
        self.root = root
        self.dirs = {d: os.path.join(root, sub)
                     for d, sub in LIBVIRT_DIRS.items()}
        self.sock_dir = os.path.join(root, 'sock')
        for d in list(self.dirs.values()) + [self.sock_dir]:
            os.makedirs(d, exist_ok=True)
        cca = self.host_path(CCA_DIR)
        os.makedirs(cca, exist_ok=True)
        shutil.copy(identity, os.path.join(cca, 'platform.pem'))
        shutil.copy(policy, os.path.join(cca, 'policy.pem'))
        etc = self.dirs['/etc/libvirt']
        self.log_file = os.path.join(root, 'libvirtd.log')
        with open(os.path.join(etc, 'libvirtd.conf'), 'w') as f:
            f.write(f'unix_sock_dir = "{self.sock_dir}"\n'
                    'unix_sock_group = "root"\n'
                    'unix_sock_rw_perms = "0700"\n'
                    'auth_unix_rw = "none"\n'
                    'auth_unix_ro = "none"\n'
                    f'host_uuid = "{uuid.uuid4()}"\n'
                    'log_filters = "1:qemu 1:libvirt 4:object 4:json '
                    '4:event 4:util 4:rpc"\n'
                    f'log_outputs = "1:file:{self.log_file}"\n')
        # libvirt gives its QEMU an unlimited core size unless told
        # otherwise; where the hard limit here is lower (sudo's
        # rlimit_core) and cannot be raised (root without
        # CAP_SYS_RESOURCE), the domain would not start: that limit.
        core = resource.getrlimit(resource.RLIMIT_CORE)[1]
        max_core = ('' if core == resource.RLIM_INFINITY
                    else f'max_core = {core}\n')
        with open(os.path.join(etc, 'qemu.conf'), 'w') as f:
            f.write(max_core +
                    'user = "root"\n'
                    'group = "root"\n'
                    'dynamic_ownership = 0\n'
                    'remember_owner = 0\n'
                    'security_driver = "none"\n'
                    'cgroup_controllers = [ ]\n'
                    'namespaces = [ ]\n'
                    'stdio_handler = "file"\n'
                    f'migration_port_min = {port_min}\n'
                    f'migration_port_max = {port_min + 63}\n')
        self.uri = f'qemu+unix:///system?socket={self.sock_dir}/libvirt-sock'
        self.proc = None
        # The console of the domain's QEMU here, kept open as long as that
        # QEMU runs: one connection per QEMU, never a second one.
        self.console = None

    def host_path(self, path):
        """Where @path of this instance's namespace is seen from here."""
        for d in sorted(LIBVIRT_DIRS, key=len, reverse=True):
            if path == d or path.startswith(d + '/'):
                return self.dirs[d] + path[len(d):]
        return path

    def start(self):
        mounts = ' && '.join(
            f'mkdir -p {d} && mount --bind {self.dirs[d]} {d}'
            for d in LIBVIRT_DIRS)
        etc = self.dirs['/etc/libvirt']
        cmd = (f'{mounts} && exec libvirtd -f {etc}/libvirtd.conf '
               f'-p {self.sock_dir}/libvirtd.pid')
        out = open(os.path.join(self.root, 'libvirtd.stderr'), 'wb')
        self.proc = subprocess.Popen(
            ['unshare', '--mount', '--propagation', 'private',
             'sh', '-c', cmd], stdout=out, stderr=out,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise Failure(f'libvirtd {self.name} exited '
                              f'({self.proc.returncode}); '
                              f'{self.tail("libvirtd.stderr")}')
            r = self.virsh('version', check=False)
            if r.returncode == 0:
                return r.stdout
            if time.monotonic() > deadline:
                raise Failure(f'libvirtd {self.name} does not answer: '
                              f'{r.stderr}')
            time.sleep(0.5)

    def tail(self, rel, n=30):
        try:
            with open(os.path.join(self.root, rel), errors='replace') as f:
                return ''.join(f.readlines()[-n:])
        except OSError as e:
            return str(e)

    def virsh(self, *args, check=True, timeout=120):
        r = subprocess.run(['virsh', '-c', self.uri, *args],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode:
            raise Failure(f'virsh on {self.name} {" ".join(args)}: '
                          f'{r.stderr.strip() or r.stdout.strip()}')
        return r

    def domains(self):
        return self.virsh('list', '--all', '--name').stdout.split()

    def qemu_log(self):
        """libvirt's log of the domain's QEMU on this host."""
        path = self.host_path(f'/var/log/libvirt/qemu/{DOMAIN}.log')
        try:
            with open(path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def console_open(self):
        """Connect to the console of the domain's QEMU that now runs here
        (a new one: the domain came or was created)."""
        self.console_drop()
        self.console = Console(self.host_path(f'{CCA_DIR}/serial.sock'),
                               f'{DOMAIN} on {self.name}')
        return self.console

    def console_drop(self):
        """The domain's QEMU here is gone (or going)."""
        if self.console:
            self.console.close()
            self.console = None

    def stop(self):
        self.console_drop()
        if self.proc and self.proc.poll() is None:
            running = self.virsh('list', '--name', check=False).stdout
            for dom in running.split():
                self.virsh('destroy', dom, check=False)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # A domain still being created (the test stopped by a signal) was
        # not listed: its QEMU outlives libvirtd.
        kill_domain_qemu(self.root)


class Console(cca_common.GuestConsole):
    """The realm's serial port: a UNIX socket the domain's QEMU listens
    on (in its host's namespace; @path as seen from here)."""

    def __init__(self, path, name, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Failure(f'{name}: console {path}: {e}')
                time.sleep(0.2)
        super().__init__(name, cca_common.socket_recv(self.sock),
                         self.sock.sendall)

    def wait_for(self, pattern, timeout):
        return self.wait(pattern, timeout)[0]

    def run(self, cmd, timeout=CMD_TIMEOUT):
        return super().run(cmd, timeout)

    def memstress_check(self):
        rc, out = self.run('memstress check 200')
        found = cca_common.MEMSTRESS_VERIFY_OK.search(out)
        if rc or not found or 'verify FAIL' in out:
            raise Failure(f'{self.name}: memstress check: {out[-1500:]}')
        return int(found.group(2))

    def close(self):
        self.sock.close()


def domain_xml(qemu, kernel, initrd, smp):
    rme = (f'rme-guest,id=rme0,platform-identity={CCA_DIR}/platform.pem,'
           f'migration-policy={CCA_DIR}/policy.pem')
    append = cca_common.kernel_append(realm=True)
    return f"""<domain type='qemu'
        xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{DOMAIN}</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>{smp}</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{append}</cmdline>
  </os>
  <features>
    <gic version='3'/>
  </features>
  <cpu mode='custom' match='exact'>
    <model fallback='forbid'>max</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{qemu}</emulator>
    <serial type='unix'>
      <source mode='bind' path='{CCA_DIR}/serial.sock'/>
    </serial>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value='-machine'/>
    <qemu:arg value='confidential-guest-support=rme0'/>
    <qemu:arg value='-object'/>
    <qemu:arg value='{rme}'/>
  </qemu:commandline>
</domain>
"""


def jobinfo(host):
    """virsh domjobinfo as a dict, or {} when it fails."""
    r = host.virsh('domjobinfo', DOMAIN, check=False, timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        if ':' in line:
            k, v = line.split(':', 1)
            out[k.strip()] = v.strip()
    return out


def migrate(src, dst, extra, what, watch=False, downtime=None,
            guard=None):
    """virsh migrate --live --verbose @src -> @dst with @extra options,
    virsh domjobinfo polled on @src meanwhile.  With @watch the migration
    starts at 1 MiB/s, and once domjobinfo showed "Data processed" grow,
    virsh migrate-setspeed lets it go at full speed: the progress is seen
    whatever the machine's speed.  With @downtime (ms), virsh
    migrate-setmaxdowntime allows that much once domjobinfo showed the
    job: the migration ends whatever the machine's speed.  @guard, if
    given, is called at each poll and returns why to stop (or None).
    Returns (completed process, the job samples)."""
    cmd = ['virsh', '-c', src.uri, 'migrate', '--live', '--verbose',
           *extra, *(['--bandwidth', '1'] if watch else []), DOMAIN, dst.uri]
    say(f'{what}: {" ".join(cmd)}')
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    samples = []
    while proc.poll() is None:
        # While it is slow: the realm's dirty granules just before.
        realm = None
        if watch:
            q = src.virsh('qemu-monitor-command', DOMAIN,
                          '{"execute": "query-migrate"}', check=False)
            try:
                realm = json.loads(q.stdout)['return'].get('realm')
            except (ValueError, KeyError):
                realm = None
        info = jobinfo(src)
        if info.get('Job type') == 'Unbounded':
            if realm is not None:
                info['realm dirty-granules'] = realm['dirty-granules']
            samples.append(info)
        if watch and len({s['Data processed'] for s in samples
                          if 'Data processed' in s}) >= 2:
            src.virsh('migrate-setspeed', DOMAIN, '100000')
            say(f'{what}: progress seen, migrate-setspeed to full speed')
            watch = False
        if downtime and samples:
            src.virsh('migrate-setmaxdowntime', DOMAIN, str(downtime))
            now = src.virsh('migrate-getmaxdowntime', DOMAIN).stdout
            say(f'{what}: job seen, migrate-setmaxdowntime {downtime}: '
                f'{now.strip()} ms')
            downtime = None
        if time.monotonic() - t0 > MIGRATE_TIMEOUT:
            proc.kill()
            raise Failure(f'{what}: no end in {MIGRATE_TIMEOUT} s')
        stop = guard() if guard else None
        if stop:
            proc.kill()
            raise Failure(f'{what}: {stop}')
        time.sleep(0.1)
    out, err = proc.communicate()
    proc.stdout_text, proc.stderr_text = out, err
    say(f'{what}: virsh exited {proc.returncode} after '
        f'{time.monotonic() - t0:.1f} s')
    return proc, samples


UNITS = {'B': 1, 'KiB': 1 << 10, 'MiB': 1 << 20, 'GiB': 1 << 30,
         'TiB': 1 << 40}


def size(text):
    """virsh's "1.503 GiB" in bytes."""
    num, unit = text.split()
    return int(float(num) * UNITS[unit])


# How far the realm's dirty granules may drop between query-migrate and
# domjobinfo at 1 MiB/s: 4 MiB.
DIRTY_SLACK = 4 << 20


def check_progress(samples, what):
    """domjobinfo showed the migration moving: data processed grew; and
    its "Data remaining" counted the realm's protected memory still to
    be sent (the dirty granules query-migrate showed just before)."""
    data = [s['Data processed'] for s in samples if 'Data processed' in s]
    say(f'{what}: {len(samples)} domjobinfo samples during the migration, '
        f'"Data processed" {data}')
    if len(set(data)) < 2:
        raise Failure(f'{what}: domjobinfo\'s "Data processed" did not '
                      f'move: {data}')
    pairs = [(s['realm dirty-granules'] * 4096, size(s['Data remaining']))
             for s in samples
             if 'realm dirty-granules' in s and 'Data remaining' in s]
    say(f'{what}: (realm dirty bytes, "Data remaining") while slow: '
        f'{pairs}')
    if not any(dirty > DIRTY_SLACK for dirty, _r in pairs):
        raise Failure(f'{what}: no sample while the realm had dirty '
                      f'granules: {pairs}')
    for dirty, remaining in pairs:
        if remaining < dirty - DIRTY_SLACK:
            raise Failure(f'{what}: domjobinfo\'s "Data remaining" '
                          f'{remaining} B leaves out the realm\'s {dirty} B '
                          f'of dirty protected memory')


def moved(src, dst, proc, samples, gen, what, progress=False):
    """The realm runs on @dst, its memory intact, and is gone from
    @src; returns its memstress generation on @dst.  With @progress,
    domjobinfo must have shown the migration moving."""
    if proc.returncode:
        raise Failure(f'{what}: virsh migrate failed: '
                      f'{proc.stderr_text.strip()}')
    if 'Migration: [100' not in proc.stdout_text + proc.stderr_text:
        raise Failure(f'{what}: no progress to 100 % from --verbose: '
                      f'{proc.stdout_text!r} {proc.stderr_text!r}')
    if progress:
        check_progress(samples, what)
    done = dst.virsh('domjobinfo', '--completed', DOMAIN, check=False)
    say(f'{what}: virsh domjobinfo --completed on {dst.name}:\n'
        f'{done.stdout.strip()}')
    state = dst.virsh('domstate', DOMAIN).stdout.strip()
    if state != 'running':
        raise Failure(f'{what}: domain is {state!r} on {dst.name}')
    if DOMAIN in src.domains():
        raise Failure(f'{what}: the domain is still on {src.name}')
    if 'reason=migrated' not in src.qemu_log():
        raise Failure(f'{what}: {src.name}\'s QEMU log does not say it '
                      f'shut down as migrated:\n{src.qemu_log()[-1500:]}')
    src.console_drop()
    now = dst.console_open().memstress_check()
    if now <= gen:
        raise Failure(f'{what}: memstress at generation {now} on '
                      f'{dst.name}, {gen} before')
    say(f'{what}: running on {dst.name}, memstress verified (generation '
        f'{gen} -> {now})')
    return now


class SayHandler(logging.Handler):
    """A logger's records (the proxy's) through say()."""

    def emit(self, record):
        say(self.format(record))


def free_port():
    """A TCP port nothing listens on at 127.0.0.1 (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def realm_state(host, what):
    """The realm's migration state in HMP info migrate on @host (None
    when it has no realm part); the whole output is logged."""
    out = host.virsh('qemu-monitor-command', '--hmp', DOMAIN,
                     'info migrate').stdout.strip()
    say(f'{what}: info migrate on {host.name}:\n{out}')
    m = re.search(r'^Realm info:\s*\n\s*State:\s*(\S+)', out, re.M)
    return m.group(1) if m else None


def qmp(host, what, cmd, **args):
    """QMP @cmd with @args through virsh qemu-monitor-command on @host:
    its answer, a dict with "return" or "error"."""
    req = json.dumps({'execute': cmd, 'arguments': args})
    out = host.virsh('qemu-monitor-command', DOMAIN, req).stdout.strip()
    try:
        return json.loads(out)
    except ValueError:
        raise Failure(f'{what}: {cmd} on {host.name}: not JSON: {out!r}')


def wait_gone(host, what, timeout=60):
    """After a failed incoming migration (virsh migrate returned): the
    domain gone from @host (libvirt killed its QEMU), or at least not
    running there.  Returns its state then, None when gone."""
    deadline = time.monotonic() + timeout
    while True:
        r = host.virsh('domstate', '--reason', DOMAIN, check=False)
        if r.returncode and DOMAIN not in host.domains():
            return None
        state = r.stdout.strip()
        if state.startswith('running'):
            raise Failure(f'{what}: the domain is {state!r} on '
                          f'{host.name} after the migration failed')
        if time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def cut_after_end(src, dst, gen):
    """
    Migrate from @src to @dst through a proxy that ends the stream right
    after the realm's END record: the destination gives the realm up and
    prints its abort token, libvirt kills it; @src stays paused in doubt
    until that token, given to its QEMU, lets it run again.  Returns the
    memstress generation on @src after.
    """
    what = f'{src.name} -> {dst.name}, connection cut after END'
    log = logging.getLogger('virsh-migrate.proxy')
    if not log.handlers:
        handler = SayHandler()
        handler.setFormatter(logging.Formatter('%(message)s'))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    # The destination's QEMU listens on 127.0.0.1:port, the source's is
    # told 127.0.0.2:port, where the proxy is.
    port = free_port()
    tamper = cca_mig_proxy.CutAfterEnd()
    proxy = cca_mig_proxy.MigProxy(port, tamper=tamper, log=log,
                                   name='proxy', listen=('127.0.0.2', port))
    try:
        say(f'{what}: proxy on {proxy.uri} -> 127.0.0.1:{port}')
        log_from = len(dst.qemu_log())
        realm_state(src, f'{what}, before')
        proc, _ = migrate(src, dst,
                          ['--migrateuri', f'tcp://127.0.0.2:{port}',
                           '--listen-address', '127.0.0.1'], what,
                          downtime=CONVERGE_DOWNTIME_MS,
                          guard=lambda: proxy_guard(proxy))
        err = proc.stderr_text.strip()
        if proc.returncode == 0:
            raise Failure(f'{what}: the migration succeeded')
        say(f'{what}: virsh migrate failed: {err}')
        if not proxy.wait_connected(0):
            raise Failure(f'{what}: the source never connected to the '
                          f'proxy: {err}')
        if not proxy.wait_closed(CMD_TIMEOUT):
            raise Failure(f'{what}: the proxy still forwards '
                          f'{CMD_TIMEOUT} s after virsh migrate failed')
        check_cut(proxy, tamper, dst, what)
    finally:
        proxy.close()

    state = wait_gone(dst, what)
    say(f'{what}: the domain is ' +
        ('gone from ' if state is None else f'{state!r} on ') + dst.name)
    dst.console_drop()
    new = dst.qemu_log()[log_from:]
    lines = [ln for ln in new.splitlines() if ABORT_TOKEN.search(ln)]
    if len(lines) != 1:
        raise Failure(f'{what}: {len(lines)} abort token lines in '
                      f'{dst.name}\'s QEMU log, not one:\n{new[-3000:]}')
    token = ABORT_TOKEN.search(lines[0]).group(1)
    say(f'{what}: {dst.name}\'s QEMU log: {lines[0].strip()}')
    try:
        base64.b64decode(token, validate=True)
    except ValueError:
        raise Failure(f'{what}: the token {token!r} is not base64')

    # In doubt: the source waits, paused, for the destination's word.
    state = src.virsh('domstate', '--reason', DOMAIN).stdout.strip()
    if not state.startswith('paused'):
        raise Failure(f'{what}: the domain is {state!r} on {src.name}, '
                      f'not paused in doubt')
    say(f'{what}: the domain is {state!r} on {src.name}')
    realm = realm_state(src, f'{what}, in doubt')
    if realm != 'ended':
        raise Failure(f'{what}: the realm is {realm!r} on {src.name}, '
                      f'not ended (in doubt)')
    r = src.virsh('resume', DOMAIN, check=False)
    said = (r.stderr.strip() or r.stdout.strip())
    if r.returncode == 0:
        raise Failure(f'{what}: virsh resume on {src.name} accepted in '
                      f'doubt: {said}')
    say(f'{what}: virsh resume on {src.name} refused in doubt: {said}')
    if 'migrate-guest-token' not in said:
        raise Failure(f'{what}: virsh resume\'s error does not say what '
                      f'resolves it (migrate-guest-token): {said}')
    state = src.virsh('domstate', '--reason', DOMAIN).stdout.strip()
    if not state.startswith('paused'):
        raise Failure(f'{what}: after the refused resume the domain is '
                      f'{state!r} on {src.name}')

    # The destination's abort token resolves it.
    res = qmp(src, what, 'migrate-guest-token', kind='abort', token=token)
    if 'return' not in res:
        raise Failure(f'{what}: migrate-guest-token on {src.name}: {res}')
    say(f'{what}: migrate-guest-token kind=abort on {src.name}: {res}')
    realm_state(src, f'{what}, token given')
    src.virsh('resume', DOMAIN)
    state = src.virsh('domstate', '--reason', DOMAIN).stdout.strip()
    if not state.startswith('running'):
        raise Failure(f'{what}: after the token and virsh resume the '
                      f'domain is {state!r} on {src.name}')
    realm = realm_state(src, f'{what}, after')
    if realm != 'running':
        raise Failure(f'{what}: after the token and virsh resume the '
                      f'realm is {realm!r} on {src.name}')
    now = src.console.memstress_check()
    if now <= gen:
        raise Failure(f'{what}: memstress at generation {now} on '
                      f'{src.name}, {gen} before')
    say(f'{what}: the realm runs on {src.name} again, memstress verified '
        f'(generation {gen} -> {now})')
    return now


def proxy_guard(proxy):
    """Why to stop a migration through @proxy, or None."""
    if proxy.src_bytes > PROXY_BYTES_MAX:
        return (f'no end after {proxy.src_bytes} bytes through the proxy, '
                f'{len(proxy.records)} realm records')
    return None


def check_cut(proxy, tamper, dst, what):
    """The proxy followed the stream, forwarded the realm's END record
    whole and ended the stream right after it."""
    if proxy.error or proxy.parse_error:
        raise Failure(f'{what}: proxy: {proxy.error or proxy.parse_error}')
    if not tamper.done or not proxy.cut:
        raise Failure(f'{what}: the proxy did not cut the stream (no END '
                      f'record seen): {proxy.layout()[-10:]}')
    ends = proxy.records_of(cca_mig_proxy.END)
    if len(ends) != 1 or proxy.cut_at != ends[0].end:
        raise Failure(f'{what}: the stream was cut at {proxy.cut_at}, END '
                      f'records {ends}')
    if ends[0].section != cca_mig_proxy.VM_SECTION_END:
        raise Failure(f'{what}: {ends[0]} came before the switchover')
    say(f'{what}: proxy: {tamper.note}, at stream offset '
        f'{proxy.cut_at} ({proxy.dst_bytes} bytes to {dst.name}, '
        f'{len(proxy.records)} realm records)')


def run(opts, work):
    kernel, initrd, kver = opts.guest or cca_common.guest_assets(TOP)
    pki = os.path.join(work, 'pki')
    ids = {h: cca_common.make_identity(pki, h)[0] for h in ('a', 'b')}
    policy = os.path.join(pki, 'ca.pem')
    a = Libvirtd('A', os.path.join(work, 'a'), 49152, ids['a'], policy)
    b = Libvirtd('B', os.path.join(work, 'b'), 49216, ids['b'], policy)
    hosts = [a, b]
    try:
        for h in hosts:
            ver = h.start()
            say(f'libvirtd {h.name} runs ({h.uri}); '
                f'{" ".join(ver.split()[-4:])}')
        xml = os.path.join(work, f'{DOMAIN}.xml')
        with open(xml, 'w') as f:
            f.write(domain_xml(opts.qemu, kernel, initrd, opts.smp))
        say(f'virsh create on A (Debian Linux {kver} as a realm)')
        a.virsh('create', xml)
        con = a.console_open()
        con.wait_for(rb'CCA-GUEST: ready', BOOT_TIMEOUT)
        con.wait_for(re.escape(PROMPT), CMD_TIMEOUT)
        con.send(f'MEMSTRESS_PROGRESS=0 memstress run {MEMSTRESS_MIB} 1 & '
                 f'echo "__BG=$!__"\r')
        con.wait_for(rb'MEMSTRESS: run started', CMD_TIMEOUT)
        gen = con.memstress_check()
        say(f'memstress rewrites {MEMSTRESS_MIB} MiB of the realm, '
            f'generation {gen}')

        proc, samples = migrate(a, b, [], 'A -> B', watch=True)
        gen = moved(a, b, proc, samples, gen, 'A -> B', progress=True)

        proc, samples = migrate(b, a, [], 'B -> A')
        gen = moved(b, a, proc, samples, gen, 'B -> A')

        proc, samples = migrate(a, b, ['--parallel',
                                       '--parallel-connections', '2'],
                                'A -> B, --parallel')
        gen = moved(a, b, proc, samples, gen, 'A -> B, --parallel')

        what = 'B -> A, --p2p --tunnelled'
        proc, _ = migrate(b, a, ['--p2p', '--tunnelled'], what)
        err = proc.stderr_text.strip()
        if proc.returncode == 0:
            raise Failure(f'{what}: the migration succeeded')
        if 'return-path' not in err:
            raise Failure(f'{what}: the error does not say why: {err}')
        say(f'{what}: refused: {err}')
        state = b.virsh('domstate', DOMAIN).stdout.strip()
        if state != 'running' or DOMAIN in a.domains():
            raise Failure(f'{what}: after the refusal the domain is '
                          f'{state!r} on B, on A: {a.domains()}')
        now = b.console.memstress_check()
        if now <= gen:
            raise Failure(f'{what}: memstress stays at generation {gen}')
        say(f'{what}: the realm runs on B, memstress verified '
            f'(generation {now})')
        gen = now

        gen = cut_after_end(b, a, gen)
        b.virsh('destroy', DOMAIN)
    except (Failure, cca_common.ConsoleError):
        for h in hosts:
            say(f'--- libvirt\'s QEMU log on {h.name}:\n'
                f'{h.qemu_log()[-1500:]}')
            if DOMAIN in h.domains():
                for cmd in ('info status', 'info migrate', 'info chardev'):
                    out = h.virsh('qemu-monitor-command', '--hmp', DOMAIN,
                                  cmd, check=False)
                    say(f'--- {cmd} on {h.name}:\n{out.stdout.strip()} '
                        f'{out.stderr.strip()}')
        raise
    finally:
        for h in hosts:
            h.stop()


def pid_of(path, what):
    """The process whose pid the file @path holds, if its command line
    has @what; else None."""
    try:
        with open(path) as f:
            pid = int(f.read().strip())
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return pid if what in f.read() else None
    except (OSError, ValueError):
        return None


def kill_domain_qemu(root):
    """Kill the domain's QEMU of the libvirtd instance in @root, if it
    still runs (libvirt's pid file in that instance's /run/libvirt)."""
    pid = pid_of(os.path.join(root, 'run', 'qemu', f'{DOMAIN}.pid'),
                 f'guest={DOMAIN}'.encode())
    if pid:
        say(f'killing QEMU {pid}, left by libvirtd in {root}')
        os.kill(pid, signal.SIGKILL)


def stop_leftovers(work):
    """Stop the libvirtd instances (and their domains' QEMUs) of an
    earlier run in @work that was killed before it could."""
    for host in ('a', 'b'):
        root = os.path.join(work, host)
        pid = pid_of(os.path.join(root, 'sock', 'libvirtd.pid'), b'libvirtd')
        if pid:
            say(f'stopping libvirtd {pid} of an earlier run')
            os.kill(pid, signal.SIGTERM)
        kill_domain_qemu(root)


def give_back(work, owner):
    """Everything in @work to @owner ("uid:gid"), the user for whom the
    test ran as root."""
    uid, gid = (int(x) for x in owner.split(':'))
    for root, dirs, files in os.walk(work):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            try:
                os.lchown(name, uid, gid)
            except OSError:
                pass


def through_sudo(opts):
    """Not root: the guest is prepared here, by this user, and the test
    runs as root through sudo -n; its work directory comes back to this
    user.  Returns the exit status."""
    if not shutil.which('sudo'):
        say('needs root (libvirtd in mount namespaces), or sudo')
        return 1
    r = subprocess.run(['sudo', '-n', 'true'], capture_output=True,
                       text=True)
    if r.returncode:
        say(f'needs root (libvirtd in mount namespaces), or sudo without a '
            f'password: sudo -n says {r.stderr.strip()!r}')
        return 1
    guest = cca_common.guest_assets(TOP)
    work = os.path.abspath(opts.workdir or
                           tempfile.mkdtemp(prefix='cca-libvirt-'))
    cmd = ['sudo', '-n', '--', sys.executable, '-B',
           os.path.abspath(__file__), '--qemu', os.path.abspath(opts.qemu),
           '--smp', str(opts.smp), '--workdir', work, '--guest', *guest,
           '--owner', f'{os.getuid()}:{os.getgid()}']
    say(f'not root: the test runs as root through sudo: {" ".join(cmd)}')
    proc = subprocess.Popen(cmd)
    # sudo passes a signal on to the test, which then stops its libvirtd
    # instances.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _: proc.send_signal(signum))
    rc = proc.wait()
    if rc == 0 and not opts.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return rc


def stopped(signum, _frame):
    """A signal ends the test through its cleanup (libvirtd instances
    stopped, the work directory given back)."""
    raise Failure(f'stopped by signal {signum}')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--qemu', default=os.path.join(
        TOP, 'build', 'qemu-build', 'qemu-system-aarch64'))
    ap.add_argument('--smp', type=int, default=2)
    ap.add_argument('--workdir', help='keep everything in this directory')
    ap.add_argument('--guest', nargs=3, metavar=('KERNEL', 'INITRD', 'KVER'),
                    help='the guest (default: scripts/mkinitramfs\'s)')
    ap.add_argument('--owner', metavar='UID:GID',
                    help='give the work directory to UID:GID at the end')
    opts = ap.parse_args()
    for tool in ('libvirtd', 'virsh', 'unshare'):
        if not shutil.which(tool, path=os.environ.get('PATH', '') +
                            ':/usr/sbin:/sbin'):
            say(f'{tool} is missing (scripts/setup-deps installs it)')
            return 1
    if os.geteuid() != 0:
        return through_sudo(opts)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stopped)
    if opts.workdir:
        stop_leftovers(opts.workdir)
        shutil.rmtree(opts.workdir, ignore_errors=True)
    work = opts.workdir or tempfile.mkdtemp(prefix='cca-libvirt-')
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    try:
        run(opts, work)
    except (Failure, cca_common.ConsoleError) as e:
        say(f'FAIL: {e}')
        say(f'logs in {work}')
        return 1
    finally:
        if opts.owner:
            give_back(work, opts.owner)
    say(f'PASS in {time.monotonic() - t0:.0f} s')
    if not opts.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
