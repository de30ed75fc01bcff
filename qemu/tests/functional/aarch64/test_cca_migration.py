#!/usr/bin/env python3
#
# Functional tests of the live migration of Arm CCA realms (virt machine,
# TCG, emulated RMM): a realm running the memstress workload migrates
# over TCP and goes on at the destination; its memory never crosses the
# wire in clear; a stream that was changed on the way, a destination that
# dies, a broken connection or a cancel leave the source realm running;
# bad configurations are refused.  A plain VM is the control.
#
# The guest kernel and initramfs come from the environment, as set by the
# project's scripts/mkinitramfs (see test_cca_realm.py):
#
#   eval "$(bash scripts/mkinitramfs)"  # CCA_GUEST_KERNEL, CCA_GUEST_INITRD
#
# Run (in the build directory, after scripts/build):
#
#   meson test --no-rebuild --setup thorough func-aarch64-cca_migration
#
# Some tests put cca_mig_proxy.MigProxy, a TCP proxy, between source and
# destination (migrate uri=tcp:<proxy>): it records the stream and finds
# and changes the realm's records in it.
#
# Copyright (c) 2026 The QEMU CCA migration authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import base64
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from qemu_test import QemuSystemTest

import cca_common

import cca_mig_proxy as mp


# Bounds for each step (seconds).  A realm boots in 6-15 s under TCG.
BOOT_TIMEOUT = 120
CMD_TIMEOUT = 60
MEMSTRESS_TIMEOUT = 240
MIGRATE_TIMEOUT = 300
RESUME_TIMEOUT = 60
EXIT_TIMEOUT = 60

# memstress sizes: the migration tests proper, and the fault/tamper cases
MEMSTRESS_MIB = 256
MEMSTRESS_SMALL_MIB = 64
# The 8-vCPU, 16 GiB realm: 1 GiB rewritten; it runs on a host with at
# least this much RAM (MemTotal; a 24 GiB machine has about 23.5 GiB).
SCALE_MEMSTRESS_MIB = 1024
SCALE_HOST_MIN = 22 << 30
SECRET_MIB = 64

# Migration parameters: fast unless pre-copy has to last.
BW_HIGH = 1 << 30               # bytes/s
BW_LOW = 16 << 20
BW_CRAWL = 1 << 20
BW_AUTO_CONVERGE = 32 << 20     # well under what memstress dirties
DOWNTIME_MS = 500

# earlycon at the PL011's unprotected alias for a realm, at the PL011
# itself for a plain VM (cca_common.earlycon()).
REALM_APPEND = cca_common.kernel_append(realm=True)
VM_APPEND = cca_common.kernel_append(realm=False)

BOOT_FAILURES = (b'Kernel panic', b'---[ end trace',
                 b'Unable to handle kernel')

SECRET_LEN = 64
SECRET_WINDOW = 32

VERIFY_OK = re.compile(r'MEMSTRESS: verify OK (\d+) bytes in [\d.]+s '
                       r'\(gen (\d+), verify #(\d+)\)')

# End states of query-migrate's status.
MIG_DONE = ('completed', 'failed', 'cancelled')

# A workload that dirties memory faster than the link moves it never
# converges by itself, realm or plain VM.  After this many passes over
# the dirty memory, as the migration counts them (realm epochs, RAM dirty
# syncs), the tests do what a management layer does and allow a long
# downtime, so that whether a migration ends never depends on the
# machine's speed.
CONVERGE_PASSES = 8
CONVERGE_DOWNTIME_MS = 60000


class CcaMigration(QemuSystemTest):
    """Live migration of Arm CCA realms (and of a plain VM, the control)."""

    def setUp(self):
        super().setUp()
        self.kernel = os.environ.get('CCA_GUEST_KERNEL')
        self.initrd = os.environ.get('CCA_GUEST_INITRD')
        # A failure, not a skip: a CI run must not pass without having
        # migrated a realm.
        if not self.kernel or not self.initrd:
            self.fail('CCA_GUEST_KERNEL and CCA_GUEST_INITRD are not set: '
                      'run  eval "$(bash scripts/mkinitramfs)"  in the '
                      'project before this test')
        for var, path in (('CCA_GUEST_KERNEL', self.kernel),
                          ('CCA_GUEST_INITRD', self.initrd)):
            if not os.path.isfile(path):
                self.fail(f'{var}={path} is not a file: run  eval "$(bash '
                          'scripts/mkinitramfs)"  in the project first')
        self.set_machine('virt')
        self.require_accelerator('tcg')
        self._consoles = {}
        self._proxies = []
        # The test PKI (scripts/mkidentity): a CA, the platform identities
        # of source and destination it endorses, and the realm's
        # migration policy, that CA.
        pki = self.scratch_file('pki')
        self.id_src, _ = cca_common.make_identity(pki, 'src')
        self.id_dst, _ = cca_common.make_identity(pki, 'dst')
        self.policy = os.path.join(pki, 'ca.pem')
        self.t_start = time.monotonic()

    def tearDown(self):
        for p in self._proxies:
            p.close()
        self.log.info('%s took %.1f s', self.id(),
                      time.monotonic() - self.t_start)
        super().tearDown()

    def rogue_pki(self):
        """Another CA and a platform it endorses ("rogue"), and a policy
        that admits both CAs; returns (identity, policy of both)."""
        pki = self.scratch_file('pki-rogue')
        ident, _ = cca_common.make_identity(pki, 'rogue')
        both = self.scratch_file('policy-both.pem')
        with open(both, 'w', encoding='ascii') as out:
            for ca in (self.policy, os.path.join(pki, 'ca.pem')):
                with open(ca, encoding='ascii') as f:
                    out.write(f.read())
        return ident, both

    # ---- console ---------------------------------------------------------

    def launch(self, vm, name):
        """Launch @vm's QEMU, its console read from now on."""
        vm.launch()
        self._consoles[vm] = cca_common.GuestConsole.of_socket(
            name, vm.console_socket, logging.getLogger('console'))

    def console(self, vm):
        return self._consoles[vm]

    def console_wait(self, vm, pattern, timeout, failures=BOOT_FAILURES):
        """
        Wait until the regular expression @pattern (bytes) matches what
        @vm's guest printed since the last match or command.  Fails the
        test on one of @failures, at the console's end (QEMU gone) or
        after @timeout seconds.  Returns (match, the text up to its end).
        """
        return self.console(vm).wait(pattern, timeout, failures)

    def guest_run(self, vm, cmd, timeout=CMD_TIMEOUT, check=True):
        """
        Run @cmd in @vm's guest shell; returns (exit status, output text).
        With @check, a non-zero status fails the test.
        """
        rc, text = self.console(vm).run(cmd, timeout)
        if check:
            self.assertEqual(rc, 0, f'guest command {cmd!r} failed:\n{text}')
        return rc, text

    # ---- machines ----------------------------------------------------------

    def new_vm(self, name, realm=True, smp=1, identity=None, policy=None,
               zero=None, incoming=False, extra_args=(), rme_opts='',
               mem='1G', append=''):
        """
        A QEMUMachine for the guest: a realm on a platform with
        @identity (default: the test's source or, with @incoming,
        destination identity; '' for none) and the migration @policy
        (default: the test's; '' for none), migration-zero-granules=@zero
        unless None, more rme-guest options in @rme_opts, or a plain VM;
        waiting for an incoming migration with @incoming; @mem of RAM;
        @append added to the kernel command line.
        """
        vm = self.get_vm(name=name)
        vm.set_console()
        if realm:
            if identity is None:
                identity = self.id_dst if incoming else self.id_src
            if policy is None:
                policy = self.policy
            rme = 'rme-guest,id=rme0'
            if identity:
                rme += ',platform-identity=' + identity
            if policy:
                rme += ',migration-policy=' + policy
            if zero is not None:
                rme += ',migration-zero-granules=' + ('on' if zero else 'off')
            rme += rme_opts
            vm.add_args('-machine', 'confidential-guest-support=rme0',
                        '-object', rme)
        vm.add_args('-accel', 'tcg',
                    '-cpu', 'max',
                    '-m', mem,
                    '-smp', str(smp),
                    '-nic', 'none',
                    '-kernel', self.kernel,
                    '-initrd', self.initrd,
                    '-append', (REALM_APPEND if realm else VM_APPEND) +
                    append,
                    *extra_args)
        if incoming:
            vm.add_args('-incoming', 'defer')
        return vm

    def boot(self, name, **kwargs):
        """Launch a guest and wait for its shell prompt."""
        vm = self.new_vm(name, **kwargs)
        start = time.monotonic()
        self.launch(vm, name)
        self.console_wait(vm, rb'CCA-GUEST: ready', BOOT_TIMEOUT)
        self.console_wait(vm, rb'guest# ', CMD_TIMEOUT)
        self.log.info('%s booted in %.1f s', name, time.monotonic() - start)
        return vm

    def start_dest(self, name, exit_on_error=True, multifd=0, **kwargs):
        """
        Launch a destination waiting on tcp:127.0.0.1:<free port> (QEMU
        picks the port); returns (vm, port).  Without @exit_on_error it
        stays after a failed migration; with @multifd it takes that many
        multifd channels.
        """
        vm = self.new_vm(name, incoming=True, **kwargs)
        self.launch(vm, name)
        if multifd:
            self.set_multifd(vm, multifd)
        vm.cmd('migrate-incoming', uri='tcp:127.0.0.1:0',
               **{'exit-on-error': exit_on_error})
        addrs = vm.cmd('query-migrate').get('socket-address', [])
        ports = [int(a['port']) for a in addrs if a.get('type') == 'inet']
        self.assertTrue(ports, f'{name}: no listening address: {addrs}')
        self.log.info('%s listens on port %d', name, ports[0])
        return vm, ports[0]

    def wait_exit(self, vm, name, timeout=EXIT_TIMEOUT):
        """Wait for @vm's QEMU to exit by itself; returns (status, log)."""
        deadline = time.monotonic() + timeout
        while vm.exitcode() is None:
            if time.monotonic() > deadline:
                # Hung: it may not answer 'quit' either.
                self.dump_stacks()
                vm.shutdown(hard=True)
                self.fail(f'{name} did not exit within {timeout} s')
            time.sleep(0.2)
        rc = vm.exitcode()
        vm.wait()
        out = vm.get_log() or ''
        self.log.info('%s exited with status %s; log:\n%s', name, rc, out)
        return rc, out

    def dump_stacks(self):
        """Log the threads' stacks of every QEMU of the test that still
        runs (with gdb, when there is one): what a hang waits for."""
        if not shutil.which('gdb'):
            return
        for name, vm in list(self._vms.items()):
            pid = vm.get_pid()
            if not pid or vm.exitcode() is not None:
                continue
            r = subprocess.run(['gdb', '-p', str(pid), '-batch', '-nx',
                                '-ex', 'thread apply all bt 20'],
                               capture_output=True, text=True, timeout=60,
                               check=False)
            self.log.info('%s (pid %d) stacks:\n%s', name, pid, r.stdout)

    @staticmethod
    def stop(vm):
        vm.shutdown(hard=True)

    # ---- memstress ---------------------------------------------------------

    def memstress_start(self, vm, mib, seed):
        """Start "memstress run" in the background; returns after the fill."""
        self.console(vm).send(
            f'MEMSTRESS_PROGRESS=0 memstress run {mib} {seed} & '
            f'echo "__BG=$!__"\r')
        self.console_wait(vm, rb'__BG=\d+__', CMD_TIMEOUT)
        self.console_wait(vm, rb'MEMSTRESS: run started', MEMSTRESS_TIMEOUT,
                          failures=BOOT_FAILURES +
                          (b'MEMSTRESS: verify FAIL',))
        return self.memstress_check(vm)

    def memstress_check(self, vm, name=''):
        """Ask the running memstress to verify all its memory now; returns
        the generation it is at."""
        rc, text = self.guest_run(vm, 'memstress check 200',
                                  timeout=MEMSTRESS_TIMEOUT, check=False)
        self.assertNotIn('verify FAIL', text, f'{name} memstress: {text}')
        self.assertEqual(rc, 0, f'{name} memstress check: {text}')
        m = VERIFY_OK.search(text)
        self.assertIsNotNone(m, f'{name} memstress check: {text}')
        self.log.info('%s memstress: %s', name, m.group(0))
        return int(m.group(2))

    def memstress_progress(self, vm, gen, name):
        """Wait until the running memstress has gone past generation
        @gen (it rewrites its memory, verified each time)."""
        deadline = time.monotonic() + MEMSTRESS_TIMEOUT
        while True:
            now = self.memstress_check(vm, name)
            if now > gen:
                return now
            self.assertLess(time.monotonic(), deadline,
                            f'{name}: memstress stays at generation {gen}')

    def memstress_secret(self, vm, mib, seed):
        """Start "memstress secret"; returns the 64-byte record."""
        self.console(vm).send(
            f'memstress secret {mib} {seed} & echo "__BG=$!__"\r')
        self.console_wait(vm, rb'__BG=\d+__', CMD_TIMEOUT)
        m, _ = self.console_wait(vm, rb'MEMSTRESS: secret record '
                                 rb'([0-9a-f]{128})', MEMSTRESS_TIMEOUT)
        record = bytes.fromhex(m.group(1).decode())
        self.console_wait(vm, rb'MEMSTRESS: secret fill done',
                          MEMSTRESS_TIMEOUT)
        self.assertEqual(len(record), SECRET_LEN)
        self.assertTrue(record.startswith(b'CCA-REALM-SECRET:'), record)
        self.assertTrue(record.endswith(b'-END-OF-SECRET'), record)
        return record

    # ---- migration ---------------------------------------------------------

    def set_migration(self, vm, bandwidth=BW_HIGH, return_path=True,
                      pause_before_switchover=False):
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'return-path', 'state': return_path},
            {'capability': 'pause-before-switchover',
             'state': pause_before_switchover}])
        vm.cmd('migrate-set-parameters', **{'downtime-limit': DOWNTIME_MS,
                                            'max-bandwidth': bandwidth})

    @staticmethod
    def set_multifd(vm, channels):
        vm.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'multifd', 'state': True}])
        vm.cmd('migrate-set-parameters', **{'multifd-channels': channels})

    def query_migrate(self, vm):
        return vm.cmd('query-migrate')

    def wait_migration(self, vm, until=MIG_DONE, timeout=MIGRATE_TIMEOUT,
                       pred=None, on_poll=None):
        """Poll query-migrate until its status is in @until (and @pred
        holds), calling @on_poll with each answer; returns the last
        answer."""
        deadline = time.monotonic() + timeout
        last_log = 0
        while True:
            info = self.query_migrate(vm)
            if on_poll:
                on_poll(info)
            status = info.get('status')
            if status in until and (pred is None or pred(info)):
                self.log.info('query-migrate: %s', info)
                return info
            if status in MIG_DONE and status not in until:
                self.fail(f'migration ended {status!r} while waiting for '
                          f'{until}: {info}')
            now = time.monotonic()
            if now > deadline:
                self.dump_stacks()
                self.fail(f'migration not {until} within {timeout} s: {info}')
            if now - last_log > 5:
                self.log.info('query-migrate: %s', info)
                last_log = now
            time.sleep(0.1)

    def wait_converged(self, vm, realm, timeout=MIGRATE_TIMEOUT,
                       until=MIG_DONE):
        """
        Wait for the migration to reach @until (default: its end); after
        CONVERGE_PASSES passes over the dirty memory, allow
        CONVERGE_DOWNTIME_MS of downtime.  Returns the last query-migrate.
        """
        raised = False

        def converge(info):
            nonlocal raised
            if realm and info.get('status') == 'active' and 'ram' in info:
                # The realm's dirty granules are RAM still to go: tools
                # that read only ram.remaining (libvirt) must see them.
                dirty = info.get('realm', {}).get('dirty-granules', 0)
                self.assertGreaterEqual(
                    info['ram']['remaining'], dirty * 4096,
                    f'ram.remaining leaves out protected memory: {info}')
            if realm:
                passes = info.get('realm', {}).get('epochs', 0)
            else:
                passes = info.get('ram', {}).get('dirty-sync-count', 0)
            if not raised and info.get('status') == 'active' and \
                    passes >= CONVERGE_PASSES:
                self.log.info('%d passes over dirty memory: downtime-limit '
                              '%d ms', passes, CONVERGE_DOWNTIME_MS)
                vm.cmd('migrate-set-parameters',
                       **{'downtime-limit': CONVERGE_DOWNTIME_MS})
                raised = True

        return self.wait_migration(vm, until=until, timeout=timeout,
                                   on_poll=converge)

    def wait_run_state(self, vm, state, name, timeout=RESUME_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            status = vm.cmd('query-status')['status']
            if status == state:
                return
            if time.monotonic() > deadline:
                self.fail(f'{name}: run state {status!r}, want {state!r} '
                          f'within {timeout} s')
            time.sleep(0.1)

    def migrate(self, src, uri, **params):
        self.set_migration(src, **params)
        self.log.info('migrate to %s', uri)
        src.cmd('migrate', uri=uri)

    def migrate_ok(self, src, dst, uri, smp=1, realm=True, name='dst',
                   zero=True, pause=False):
        """
        Migrate @src to @dst (listening at @uri) and check that it
        completed: the source realm is given up, the destination realm
        runs, its zero granules went as zero entries if @zero.  With
        @pause, as libvirt does: pause-before-switchover, then
        migrate-continue.  Returns the source's query-migrate.
        """
        t0 = time.monotonic()
        self.migrate(src, uri, pause_before_switchover=pause)
        if pause:
            self.wait_converged(src, realm, until=('pre-switchover',))
            self.assertEqual(src.cmd('query-status')['status'],
                             'finish-migrate')
            text = self.hmp(src, 'info migrate')
            if realm:
                # Not given up: nothing of the switchover sent yet.
                self.assertNotEqual(
                    self.query_migrate(src)['realm']['state'], 'migrated')
                self.assertIn('Realm info:', text)
            src.cmd('migrate-continue', state='pre-switchover')
        info = self.wait_converged(src, realm)
        self.assertEqual(info['status'], 'completed',
                         f'migration failed: {info.get("error-desc")}')
        self.log.info('migration completed in %.1f s (total-time %s ms, '
                      'downtime %s ms)', time.monotonic() - t0,
                      info.get('total-time'), info.get('downtime'))
        self.wait_run_state(dst, 'running', name)
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        dinfo = self.query_migrate(dst)
        self.log.info('%s query-migrate: %s', name, dinfo)
        self.assertEqual(dinfo.get('status'), 'completed')
        # RAM migration read (sent or found zero) how many pages of RAM:
        # all of a plain VM's, only the shared ones of a realm's (the
        # machine's RAM under protected granules is discarded for it).
        ram = info['ram']
        ram_read = ram['normal'] + ram['duplicate']
        ram_pages = ram['total'] // ram['page-size']
        self.log.info('%s: RAM migration read %d of %d pages', name,
                      ram_read, ram_pages)
        if not realm:
            self.assertGreaterEqual(ram_read, ram_pages)
            self.assertNotIn('realm', info)
            self.assertNotIn('realm', dinfo)
            return info
        self.assertLess(ram_read, ram_pages // 4,
                        'RAM migration read the pages under protected '
                        'granules')

        r = info.get('realm')
        self.assertIsNotNone(r, f'no realm in query-migrate: {info}')
        self.assertEqual(r['state'], 'migrated')
        self.assertGreater(r['granules'], 0)
        # Most of a fresh guest's 1 GiB is zeros: they go as zero entries
        # (unless migration-zero-granules=off).
        if zero:
            self.assertGreater(r['zero-granules'], 0)
            self.assertLess(r['zero-granules'], r['granules'])
        else:
            self.assertEqual(r['zero-granules'], 0)
        self.assertGreater(r['bytes'],
                           (r['granules'] - r['zero-granules']) * 4096)
        self.assertGreaterEqual(r['epochs'], 1)
        self.assertGreaterEqual(r['ripas-records'], 1)
        self.assertEqual(r['recs'], smp)
        self.assertEqual(r['dirty-granules'], 0)
        # Every record the source sealed was imported.
        d = dinfo.get('realm')
        self.assertIsNotNone(d, f'no realm in the destination\'s '
                             f'query-migrate: {dinfo}')
        self.assertEqual(d['state'], 'running')
        for k in ('granules', 'zero-granules', 'bytes', 'epochs',
                  'ripas-records', 'recs'):
            self.assertEqual(d[k], r[k], f'{k}: source {r}, destination {d}')

        # The source realm never runs again.
        res = src.qmp('cont')
        self.assertIn('error', res, f'cont on the source: {res}')
        self.assertIn('migrated', res['error']['desc'])
        self.assertEqual(src.cmd('query-status')['status'], 'postmigrate')
        self.assertEqual(self.query_migrate(src)['realm']['state'],
                         'migrated')
        return info

    def hmp(self, vm, command):
        text = vm.cmd('human-monitor-command', command_line=command)
        self.log.info('(qemu) %s\n%s', command, text)
        return text

    def quit_cleanly(self, vm, name):
        """QMP quit: @vm's QEMU exits with status 0, having printed
        nothing (the guest's console goes to its own socket)."""
        vm.shutdown()
        rc = vm.exitcode()
        out = (vm.get_log() or '').strip()
        self.log.info('%s quit: status %s, output %r', name, rc, out)
        self.assertEqual(rc, 0, f'{name}: exit status after quit; '
                         f'output:\n{out}')
        self.assertEqual(out, '', f'{name} printed something')

    def assert_source_back(self, src, status, what, memstress=True):
        """After a migration that did not complete: @src's migration is
        @status (one of them, for a tuple), the VM runs again, its realm
        too, memory intact."""
        until = status if isinstance(status, tuple) else (status,)
        info = self.wait_migration(src, until=until, timeout=120)
        self.wait_run_state(src, 'running', f'source after {what}')
        # A multifd thread or the return path can fail the migration
        # while the migration thread is still in its iteration; the
        # realm comes back when that thread ends (before the VM would be
        # started again), so its state may still say so for a moment.
        deadline = time.monotonic() + CMD_TIMEOUT
        while True:
            r = self.query_migrate(src).get('realm')
            self.assertIsNotNone(r, f'no realm in query-migrate: {info}')
            if r['state'] != 'exporting':
                break
            if time.monotonic() > deadline:
                self.dump_stacks()
                break
            time.sleep(0.1)
        self.assertEqual(r['state'], 'running', f'after {what}: {r}')
        if memstress:
            self.memstress_check(src, f'source after {what}')
        return info

    def assert_vcpus_refused(self, src, name, smp, src_smp):
        """A destination with @smp vCPUs for a source with @src_smp: it
        refuses the first realm record, IMMUTABLE, before any page; the
        source runs on."""
        dst, port = self.start_dest(name, smp=smp)
        self.migrate(src, f'tcp:127.0.0.1:{port}')
        info = self.wait_migration(src)
        self.assertEqual(info['status'], 'failed', info)
        # The source's error says why the destination refused.
        self.assertIn('the destination refused the realm: realm record '
                      'rejected: IMMUTABLE record seq 0: REC count mismatch',
                      info.get('error-desc', ''))
        out = self.assert_dest_failed(dst, name, ('REC count mismatch',))
        self.assertIn(f'IMMUTABLE record seq 0: REC count mismatch: the '
                      f'destination has {smp} (vCPUs, -smp), the source '
                      f'another number', out)
        self.assert_source_back(src, 'failed', f'{name} ({smp} vCPUs for '
                                f'{src_smp})')

    def assert_dest_failed(self, dst, name, words, once=False):
        """@dst's QEMU exits with an error; one of its rme-guest error
        lines names one of @words (with @once, no such line twice: an
        error is reported once, not reported and returned too; other
        records refused for it, on other lanes, may name it too).
        Returns its log."""
        rc, out = self.wait_exit(dst, name)
        self.assertNotEqual(rc, 0, f'{name} exit status; log:\n{out}')
        lines = [l for l in out.splitlines() if 'rme-guest' in l]
        named = re.compile(r'\b(' + '|'.join(words) + r')\b')
        found = [l for l in lines if named.search(l)]
        self.assertTrue(found, f'{name}: no rme-guest error naming '
                        f'{words}; log:\n{out}')
        if once:
            twice = sorted({l for l in found if found.count(l) > 1})
            self.assertEqual(twice, [], f'{name}: an error reported twice; '
                             f'log:\n{out}')
        return out

    def proxy(self, dst_port, **kwargs):
        p = mp.MigProxy(dst_port, log=self.log, **kwargs)
        self._proxies.append(p)
        return p

    def net_roundtrip(self, vm, name):
        """
        The guest reaches the host through virtio-net, its buffers in
        shared memory (user networking: 10.0.2.2 is the host's
        loopback): a line to a server of the test and its answer back.
        """
        srv = socket.create_server(('127.0.0.1', 0))
        port = srv.getsockname()[1]
        got = []

        def serve():
            with srv:
                srv.settimeout(CMD_TIMEOUT)
                conn, _ = srv.accept()
                with conn:
                    conn.settimeout(CMD_TIMEOUT)
                    data = conn.recv(256)
                    got.append(data)
                    conn.sendall(b'pong ' + data)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        _, text = self.guest_run(vm, f'echo {name} | nc -w 10 10.0.2.2 '
                                     f'{port}')
        t.join(CMD_TIMEOUT)
        self.assertEqual(got, [f'{name}\n'.encode()],
                         f'{name}: the host got {got}')
        self.assertIn(f'pong {name}', text)

    # ---- a: 1 vCPU -------------------------------------------------------

    def test_migrate_1cpu(self):
        src = self.boot('src', smp=1)
        gen0 = self.memstress_start(src, MEMSTRESS_MIB, 0x1c9)
        # Synchronous external aborts all along the migration: a loop
        # reading protected IPA space with no RAM behind it (SIGBUS each
        # time) must neither disturb the migration nor change state.
        self.guest_run(src, '(while :; do devmem 0x0c000000; done) '
                            '>/dev/null 2>&1 & true')
        dst, port = self.start_dest('dst', smp=1)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', smp=1)
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreater(gen1, gen0)
        # memstress goes on rewriting its memory at the destination.
        self.memstress_progress(dst, gen1, 'destination')
        # The destination enforces the same RIPAS: still an abort there.
        rc, out = self.guest_run(dst, 'devmem 0x0c000000', check=False)
        self.assertEqual(rc, 135, f'devmem on the destination: {out}')
        self.stop(src)

    # ---- b: 2 vCPUs, virtio-blk and virtio-net ---------------------------

    def test_migrate_2cpu_virtio(self):
        disk = self.scratch_file('disk.img')
        pattern = b''.join(hashlib.sha256(i.to_bytes(4, 'little')).digest()
                           for i in range((8 << 20) // 32))
        with open(disk, 'wb') as f:
            f.write(pattern)
        md5 = hashlib.md5(pattern).hexdigest()
        # virtio-net with user networking (no option ROM: the Debian
        # source has none, and a realm boots its kernel directly).
        devs = ('-drive', f'file={disk},if=none,id=d0,format=raw',
                '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on',
                '-netdev', 'user,id=n0',
                '-device', 'virtio-net-pci,netdev=n0,disable-legacy=on,'
                'romfile=')

        src = self.boot('src', smp=2, extra_args=devs)
        _, text = self.guest_run(src, 'md5sum /dev/vda')
        self.assertIn(f'{md5}  /dev/vda', text)
        self.guest_run(src, 'ip link set eth0 up && '
                            'ip addr add 10.0.2.15/24 dev eth0')
        self.net_roundtrip(src, 'source')
        gen0 = self.memstress_start(src, MEMSTRESS_MIB, 0x2c9)
        # Fewer vCPUs on the destination: refused before any page.
        self.assert_vcpus_refused(src, 'dst-1cpu', 1, 2)
        dst, port = self.start_dest('dst', smp=2, extra_args=devs)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', smp=2)
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreater(gen1, gen0)
        # The disk through virtio at the destination, with the page cache
        # dropped so that it is read again.
        self.guest_run(dst, 'echo 3 > /proc/sys/vm/drop_caches')
        _, text = self.guest_run(dst, 'md5sum /dev/vda')
        self.assertIn(f'{md5}  /dev/vda', text)
        self.net_roundtrip(dst, 'destination')
        _, text = self.guest_run(dst, "grep -c '^processor' /proc/cpuinfo")
        self.assertEqual(text.strip().splitlines()[-1], '2')
        self.assertGreater(self.memstress_check(dst, 'destination'), gen1)
        self.stop(src)

    # ---- scale: 8 vCPUs, 16 GiB ------------------------------------------

    def test_migrate_8cpu_16g(self):
        """
        A realm of 8 vCPUs and 16 GiB, 1 GiB of it rewritten all along,
        migrates live; that memory is verified on the destination, which
        has the 8 vCPUs and the 16 GiB.  Both QEMUs reserve 16 GiB each
        but only what the realm assigned is touched, so a 24 GiB host runs
        it (MemTotal about 23.5 GiB there).
        """
        total = cca_common.host_mem_total()
        if total < SCALE_HOST_MIN:
            self.skipTest(f'the host has {total >> 20} MiB of RAM '
                          f'(MemTotal); a 16 GiB realm and its destination '
                          f'need {SCALE_HOST_MIN >> 20} MiB')
        src = self.boot('src', smp=8, mem='16G')
        _, text = self.guest_run(src, "grep -c '^processor' /proc/cpuinfo")
        self.assertEqual(text.strip().splitlines()[-1], '8')
        gen0 = self.memstress_start(src, SCALE_MEMSTRESS_MIB, 0x8c16)
        dst, port = self.start_dest('dst', smp=8, mem='16G')
        info = self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', smp=8)
        self.log.info('8 vCPUs, 16 GiB: total-time %s ms, downtime %s ms, '
                      'realm %s', info.get('total-time'),
                      info.get('downtime'), info.get('realm'))
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreater(gen1, gen0)
        self.memstress_progress(dst, gen1, 'destination')
        _, text = self.guest_run(dst, "grep -c '^processor' /proc/cpuinfo")
        self.assertEqual(text.strip().splitlines()[-1], '8')
        _, text = self.guest_run(dst, "grep MemTotal /proc/meminfo")
        kib = int(text.split('MemTotal:')[1].split()[0])
        self.assertGreater(kib, 15 << 20, f'destination guest: {text}')
        self.stop(src)

    # ---- libvirt's path ----------------------------------------------------

    def test_libvirt_path(self):
        """
        What libvirt does for every migration: pause-before-switchover
        on, the switchover released by migrate-continue; migrate_cancel
        while paused there; HMP info migrate; quit on both sides.
        """
        src = self.boot('src', smp=1)
        gen0 = self.memstress_start(src, MEMSTRESS_MIB, 0x1b7)

        # 1. pause-before-switchover, then migrate-continue: completes.
        dst, port = self.start_dest('dst', smp=1)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', pause=True)
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreater(gen1, gen0)
        self.assertIn('State: \t\tmigrated', self.hmp(src, 'info migrate'))
        self.assertIn('State: \t\trunning', self.hmp(dst, 'info migrate'))
        self.quit_cleanly(src, 'source')

        # 2. Cancelled at pre-switchover (VM stopped, the realm's final
        # records not sent): that source realm runs on, memory intact.
        src = dst
        dst, port = self.start_dest('dst-cancel', smp=1,
                                    exit_on_error=False)
        self.migrate(src, f'tcp:127.0.0.1:{port}',
                     pause_before_switchover=True)
        self.wait_converged(src, True, until=('pre-switchover',))
        src.cmd('migrate_cancel')
        self.assert_source_back(src, 'cancelled', 'migrate_cancel at '
                                'pre-switchover')
        self.assertGreater(self.memstress_check(src, 'source'), gen1)
        self.assertIn('State: \t\trunning', self.hmp(src, 'info migrate'))
        info = self.wait_migration(dst, until=('failed',))
        self.log.info('dst-cancel: %s', info.get('error-desc'))
        # The destination printed why its load failed (load_state has no
        # Error ** in QEMU 10.2); the source only QEMU's report of the
        # cancelled channel, nothing of the realm's.  Both quit with 0.
        for vm, name in ((dst, 'dst-cancel'), (src, 'source after cancel')):
            vm.shutdown()
            out = vm.get_log() or ''
            self.log.info('%s quit: status %s, output %r', name,
                          vm.exitcode(), out)
            self.assertEqual(vm.exitcode(), 0, f'{name}: exit status')
        self.assertNotIn('rme-guest', out, 'the source printed an error')

    # ---- c: ping-pong ------------------------------------------------------

    def test_ping_pong(self):
        # With migration-zero-granules=off: every granule as ciphertext.
        src = self.boot('vm0', smp=1, zero=False)
        gen = self.memstress_start(src, MEMSTRESS_MIB, 0x9e9)
        for i in range(1, 6):
            t0 = time.monotonic()
            name = f'vm{i}'
            dst, port = self.start_dest(name, smp=1, zero=False)
            self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', name=name,
                            zero=False)
            g = self.memstress_check(dst, name)
            self.assertGreater(g, gen)
            gen = g
            self.stop(src)
            src = dst
            self.log.info('migration %d of 5 done in %.1f s', i,
                          time.monotonic() - t0)

    # ---- d: confidentiality ------------------------------------------------

    def migrate_captured(self, realm, seed):
        """Boot a realm or a plain VM holding "memstress secret", migrate it
        through a recording proxy; returns (secret record, proxy)."""
        tag = 'realm' if realm else 'plain'
        src = self.boot(f'{tag}-src', realm=realm)
        record = self.memstress_secret(src, SECRET_MIB, seed)
        dst, port = self.start_dest(f'{tag}-dst', realm=realm)
        proxy = self.proxy(port, capture=True, name=f'{tag}-proxy')
        self.migrate_ok(src, dst, proxy.uri, realm=realm, name=f'{tag}-dst')
        self.assertTrue(proxy.wait_closed(30), 'proxy still forwarding')
        self.assertIsNone(proxy.parse_error)
        self.assertTrue(proxy.parser.followed, 'the proxy did not follow '
                        'the stream up to the device sections')
        # The secret is intact at the destination.
        self.memstress_check(dst, f'{tag} destination')
        self.stop(src)
        self.stop(dst)
        self.log.info('%s: captured %d bytes from the source, %d realm '
                      'records', tag, len(proxy.captured),
                      len(proxy.records))
        return record, proxy

    @staticmethod
    def windows_found(data, record):
        return [i for i in range(SECRET_LEN - SECRET_WINDOW + 1)
                if data.find(record[i:i + SECRET_WINDOW]) >= 0]

    def test_confidentiality(self):
        # The realm: protected memory leaves only as ciphertext.
        record, proxy = self.migrate_captured(True, 0xc0ffee)
        data = bytes(proxy.captured)
        recs = mp.parse_records(data)
        data_recs = [r for r in recs if r.type == mp.DATA]
        self.assertTrue(data_recs, 'no DATA record in the captured stream')
        granules = sum(r.data_count() - r.data_zero_count()
                       for r in data_recs)
        # At least the secret's pages went out, as DATA with ciphertext.
        self.assertGreaterEqual(granules, SECRET_MIB * 256)
        self.assertGreater(sum(r.data_zero_count() for r in data_recs), 0)
        self.assertEqual(proxy.src_bytes, len(data))
        found = self.windows_found(data, record)
        self.assertEqual(found, [], f'{len(found)} of the 33 32-byte windows '
                         f'of the secret record {record!r} are in the '
                         f'realm\'s migration stream (at offsets {found})')

        # The control: a plain VM's memory is in its stream in clear.
        record, proxy = self.migrate_captured(False, 0xc0ffee)
        data = bytes(proxy.captured)
        self.assertEqual(mp.parse_records(data), [])
        self.assertGreater(data.count(record), 0,
                           'the secret is not in the plain VM\'s stream: '
                           'the check would prove nothing')
        self.assertEqual(len(self.windows_found(data, record)),
                         SECRET_LEN - SECRET_WINDOW + 1)

    # ---- e: a stream changed on the way -------------------------------------

    TAMPER_CASES = (
        # name, change, words one of which the destination's error names
        # (the proxy parses the stream as the destination reads it: a
        # change lands exactly in the realm record it names)
        ('flip-data-bit', mp.FlipDataBit, ('DATA',)),
        ('swap-data-entries', mp.SwapDataEntries, ('DATA',)),
        ('drop-rec', mp.DropRec, ('REC', 'END')),
        ('replay-data', mp.ReplayData, ('DATA',)),
        ('flip-ripas-byte', mp.FlipRipasByte, ('RIPAS',)),
        ('truncate', mp.Truncate, ('truncated in a DATA record',)),
    )

    def tamper_case(self, src, name, change, words):
        t0 = time.monotonic()
        dst, port = self.start_dest(f'dst-{name}', smp=1)
        tamper = change()
        proxy = self.proxy(port, tamper=tamper, name=f'proxy-{name}')
        self.migrate(src, proxy.uri)
        # A change in a REC or after needs the migration to get there.
        info = self.wait_converged(src, True)
        self.log.info('%s: %s', name, tamper.note)
        self.log.info('%s: the stream up to the change:\n%s', name,
                      '\n'.join(proxy.layout()[-12:]))
        self.assertIsNone(proxy.parse_error, f'{name}: the proxy '
                          f'lost track of the stream')
        self.assertTrue(tamper.done, f'{name}: the stream was not '
                        f'changed (records seen: {proxy.records})')
        self.assertEqual(info['status'], 'failed', f'{name}: {info}')
        self.assert_dest_failed(dst, f'dst-{name}', words)
        self.assert_source_back(src, 'failed', name)
        proxy.close()
        self.log.info('case %s: %.1f s', name, time.monotonic() - t0)

    def test_tamper(self):
        # One source for all the cases: each must leave it running, with
        # its memory intact, ready to migrate again.  A failing case is
        # logged and the others still run; the test fails naming them.
        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x7a3)
        failed = []
        for name, change, words in self.TAMPER_CASES:
            try:
                self.tamper_case(src, name, change, words)
            except AssertionError:
                self.log.exception('case %s failed', name)
                failed.append(name)
        self.assertEqual(failed, [], 'tamper cases failed (tracebacks in '
                         'the log)')
        # After all that, a migration without tampering succeeds.
        dst, port = self.start_dest('dst-retry', smp=1)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', name='dst-retry')
        self.memstress_check(dst, 'destination after the tamper cases')
        self.stop(src)

    # ---- f: faults -----------------------------------------------------

    # Well into pre-copy: this many protected pages sent (8 MiB; at
    # BW_LOW that takes about half a second).
    PRECOPY_PAGES = 2048

    def realm_pages_sent(self, info):
        return info.get('status') == 'active' and \
            info.get('realm', {}).get('granules', 0) >= self.PRECOPY_PAGES

    def test_faults(self):
        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0xfa1)

        # 1. The destination is killed during pre-copy.
        t0 = time.monotonic()
        dst, port = self.start_dest('dst-kill-precopy', smp=1)
        self.migrate(src, f'tcp:127.0.0.1:{port}', bandwidth=BW_LOW)
        self.wait_migration(src, until=('active',),
                            pred=self.realm_pages_sent)
        os.kill(dst.get_pid(), signal.SIGKILL)
        dst.kill()
        self.assert_source_back(src, 'failed', 'destination killed in '
                                'pre-copy')
        self.log.info('case kill-precopy: %.1f s', time.monotonic() - t0)

        # 2. The destination is killed while the source waits to switch
        # over (VM stopped, final realm records not sent yet).
        t0 = time.monotonic()
        dst, port = self.start_dest('dst-kill-switchover', smp=1)
        self.migrate(src, f'tcp:127.0.0.1:{port}',
                     pause_before_switchover=True)
        self.wait_migration(src, until=('pre-switchover',))
        os.kill(dst.get_pid(), signal.SIGKILL)
        dst.kill()
        # The migration may have failed already (the return path saw the
        # destination go); then there is nothing to continue.
        res = src.qmp('migrate-continue', state='pre-switchover')
        self.log.info('migrate-continue: %s', res)
        self.assert_source_back(src, 'failed', 'destination killed before '
                                'switchover')
        self.set_migration(src)     # pause-before-switchover off again
        self.log.info('case kill-switchover: %.1f s', time.monotonic() - t0)

        # 3. The connection drops in pre-copy.
        t0 = time.monotonic()
        dst, port = self.start_dest('dst-drop', smp=1)
        proxy = self.proxy(port, name='proxy-drop')
        self.migrate(src, proxy.uri, bandwidth=BW_LOW)
        self.wait_migration(
            src, until=('active',),
            pred=lambda i: len(proxy.records_of(mp.DATA)) * \
            mp.BATCH_MAX >= self.PRECOPY_PAGES)
        proxy.drop()
        self.assert_source_back(src, 'failed', 'connection dropped')
        rc, _ = self.wait_exit(dst, 'dst-drop')
        self.assertNotEqual(rc, 0)
        self.log.info('case drop: %.1f s', time.monotonic() - t0)

        # 4. migrate_cancel in pre-copy, then a migration that succeeds.
        t0 = time.monotonic()
        dst, port = self.start_dest('dst-cancel', smp=1)
        self.migrate(src, f'tcp:127.0.0.1:{port}', bandwidth=BW_LOW)
        self.wait_migration(src, until=('active',),
                            pred=self.realm_pages_sent)
        src.cmd('migrate_cancel')
        # migrate_cancel shuts the return path down first, and the return
        # path shares the migration's socket: the migration thread may see
        # its write fail before the state becomes 'cancelling', and the
        # migration then ends 'failed' (QEMU's own race, plain VMs too).
        # Either way the source realm must be back.
        self.assert_source_back(src, ('cancelled', 'failed'),
                                'migrate_cancel')
        self.stop(dst)
        self.log.info('case cancel: %.1f s', time.monotonic() - t0)

        dst, port = self.start_dest('dst-retry', smp=1)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', name='dst-retry')
        self.memstress_check(dst, 'destination after the faults')
        self.stop(src)

    # ---- a connection that stalls -------------------------------------------

    STALL_TIMEOUT = 10

    def stall_and_cancel(self, realm):
        """
        Migrate through a proxy that, well into pre-copy, stops reading
        (no error, no close: a stalled network).  QEMU must stay
        responsive: migrate_cancel is how a management layer gets out of
        this, and the guest must keep running meanwhile.  Returns the
        failures seen (empty when all was well).
        """
        tag = 'realm' if realm else 'plain'
        qmp_path = os.path.join(self.socket_dir().name, f'{tag}.qmp')
        src = self.boot(f'{tag}-src', realm=realm, extra_args=(
            '-qmp', f'unix:{qmp_path},server=on,wait=off',
            '-name', 'debug-threads=on'))
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x57a)
        dst, port = self.start_dest(f'{tag}-dst', realm=realm)
        proxy = self.proxy(port, name=f'{tag}-proxy')
        # Connected (and negotiated) now, while QEMU surely answers.
        qmp = cca_common.RawQmp(qmp_path, self.STALL_TIMEOUT)
        self.migrate(src, proxy.uri)
        deadline = time.monotonic() + 60
        while proxy.src_bytes < 16 << 20:
            self.assertLess(time.monotonic(), deadline,
                            f'{tag}: the migration does not start')
            self.assertIsNone(proxy.error)
            time.sleep(0.01)
        proxy.stall()
        self.assertTrue(proxy.wait_stalled(self.STALL_TIMEOUT),
                        f'{tag}: the proxy does not stall')
        # Once the socket buffers are full, the source's migration thread
        # is blocked writing: wait for that state itself.
        self.wait_blocked_sending(src, tag)
        problems = []
        try:
            t0 = time.monotonic()
            try:
                qmp.cmd('migrate_cancel')
                deadline = t0 + self.STALL_TIMEOUT
                # QEMU shuts the return path down first, so a cancel of a
                # blocked migration may also end as 'failed' (plain VMs
                # too); what matters is that it ends, and promptly.
                while qmp.cmd('query-migrate')['status'] not in (
                        'cancelled', 'failed'):
                    if time.monotonic() > deadline:
                        raise TimeoutError('not cancelled')
                    time.sleep(0.1)
                self.log.info('%s: cancelled in %.1f s with the connection '
                              'stalled', tag, time.monotonic() - t0)
            except TimeoutError as e:
                problems.append(
                    f'{tag}: with the migration connection stalled, QMP '
                    f'migrate_cancel/query-migrate did not complete within '
                    f'{self.STALL_TIMEOUT} s ({e})')
            # The guest runs all along.
            self.console(src).send('echo "__ALIVE=$((6*7))__"\r')
            try:
                self.console_wait(src, rb'__ALIVE=42__', self.STALL_TIMEOUT)
            except AssertionError as e:
                problems.append(f'{tag}: the guest console does not answer '
                                f'with the migration connection stalled '
                                f'({e})')
        finally:
            # Whatever happened, break the connection: QEMU gets its write
            # error and the test can go on.
            proxy.drop()
            qmp.close()
        status = ('cancelled', 'failed')
        info = self.wait_migration(src, until=status, timeout=120)
        self.log.info('%s: after the stall: %s', tag, info.get('status'))
        self.wait_run_state(src, 'running', f'{tag} source after the stall')
        if realm:
            self.assertEqual(self.query_migrate(src)['realm']['state'],
                             'running')
        self.memstress_check(src, f'{tag} source after the stall')
        self.stop(src)
        self.stop(dst)
        return problems

    # sendmsg(2), which QIOChannelSocket writes with, by host architecture
    SENDMSG = {'x86_64': 46, 'aarch64': 211}

    def wait_blocked_sending(self, vm, tag, timeout=60):
        """
        Wait until @vm's migration thread (named with -name
        debug-threads=on) sleeps in sendmsg: the migration stream is
        blocked on a full socket.
        """
        nr = self.SENDMSG.get(os.uname().machine)
        self.assertIsNotNone(nr, f'sendmsg number for {os.uname().machine}')
        task = f'/proc/{vm.get_pid()}/task'
        deadline = time.monotonic() + timeout
        seen = 'no mig/src/main thread'
        while time.monotonic() < deadline:
            for tid in os.listdir(task):
                try:
                    with open(f'{task}/{tid}/comm') as f:
                        if f.read().strip() != 'mig/src/main':
                            continue
                    with open(f'{task}/{tid}/stat') as f:
                        state = f.read().rsplit(')', 1)[1].split()[0]
                    with open(f'{task}/{tid}/syscall') as f:
                        call = f.read().split()[0]
                except OSError:
                    continue
                seen = f'thread {tid}: state {state}, syscall {call}'
                if state == 'S' and call == str(nr):
                    self.log.info('%s: migration thread blocked sending '
                                  '(%s)', tag, seen)
                    return
            time.sleep(0.05)
        self.fail(f'{tag}: the migration thread is not blocked sending '
                  f'within {timeout} s ({seen})')

    def test_stalled_connection(self):
        # The control first: a plain VM copes, so the test does too.
        self.assertEqual(self.stall_and_cancel(realm=False), [])
        problems = self.stall_and_cancel(realm=True)
        self.assertEqual(problems, [], '\n'.join(problems))

    # A downtime-limit far above what the realm has left: the switchover
    # comes at once, with most of the realm still to go out in its final
    # passes (with the vCPUs stopped), far more than socket buffers hold.
    SWITCHOVER_DOWNTIME_MS = 1000000
    QMP_ANSWER_S = 1.0

    def answers_promptly(self, qmp, name, **args):
        """@qmp's answer to @name within QMP_ANSWER_S seconds."""
        t0 = time.monotonic()
        resp = qmp.qmp(name, **args)
        took = time.monotonic() - t0
        self.log.info('%s answered in %.3f s: %s', name, took, resp)
        self.assertLess(took, self.QMP_ANSWER_S,
                        f'{name} took {took:.3f} s with the switchover '
                        f'stalled')
        return resp

    def test_switchover_stall(self):
        """
        The connection stalls in the switchover, at the realm's first
        final record: the source's migration thread blocks writing with
        the VM stopped, and QMP still answers within a second ('cont'
        refused); once the connection moves again the migration completes,
        the realm intact, and query-migrate says what the switchover cost.
        """
        qmp_path = os.path.join(self.socket_dir().name, 'src.qmp')
        src = self.boot('src', extra_args=(
            '-qmp', f'unix:{qmp_path},server=on,wait=off',
            '-name', 'debug-threads=on'))
        gen0 = self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x5b0)
        dst, port = self.start_dest('dst')
        stall = mp.StallAtSwitchover()
        proxy = self.proxy(port, name='proxy-switchover', tamper=stall)
        stall.proxy = proxy
        qmp = cca_common.RawQmp(qmp_path, self.STALL_TIMEOUT)
        self.set_migration(src)
        src.cmd('migrate-set-parameters',
                **{'downtime-limit': self.SWITCHOVER_DOWNTIME_MS})
        src.cmd('migrate', uri=proxy.uri)
        try:
            self.assertTrue(proxy.wait_stalled(MIGRATE_TIMEOUT),
                            'the switchover never came')
            self.log.info('%s', stall.note)
            self.wait_blocked_sending(src, 'switchover')
            st = self.answers_promptly(qmp, 'query-status')['return']
            self.assertEqual(st['status'], 'finish-migrate', st)
            info = self.answers_promptly(qmp, 'query-migrate')['return']
            self.assertEqual(info['realm']['state'], 'paused', info)
            res = self.answers_promptly(qmp, 'cont')
            self.assertIn('not finalized', res['error']['desc'], res)
            self.answers_promptly(qmp, 'human-monitor-command',
                                  **{'command-line': 'info migrate'})
            # Issue 24, item 6: a reset would destroy the arriving realm.
            res = dst.qmp('system_reset')
            self.log.info('system_reset of the destination: %s', res)
            self.assertIn('arriving by migration',
                          res.get('error', {}).get('desc', ''))
            # Still stalled: the answers did not wait for the stream.
            self.wait_blocked_sending(src, 'switchover, after QMP')
            self.assertFalse(proxy.cut)
        finally:
            proxy.resume()
            qmp.close()
        info = self.wait_migration(src)
        self.assertEqual(info['status'], 'completed',
                         f'migration failed: {info.get("error-desc")}')
        r = info['realm']
        self.log.info('switchover: downtime %s ms, realm %s ms, %s granules '
                      'in the final passes', info.get('downtime'),
                      r.get('downtime'), r.get('final-granules'))
        # The realm's part of the switchover: the stall is in it.
        self.assertGreaterEqual(r['downtime'], 100)
        self.assertLessEqual(r['downtime'], info['downtime'])
        self.assertGreater(r['final-granules'], 16 << 20 >> 12)
        hmp = src.cmd('human-monitor-command', command_line='info migrate')
        self.assertIn('Switchover:', hmp)
        self.wait_run_state(dst, 'running', 'dst')
        self.assertEqual(self.query_migrate(src)['realm']['state'],
                         'migrated')
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreaterEqual(gen1, gen0)
        self.stop(src)
        self.stop(dst)

    # ---- g: configuration errors ------------------------------------------

    def qemu_refuses(self, rme_opts, words):
        """QEMU with rme-guest,id=rme0@rme_opts does not start; its error
        names each of @words."""
        args = [self.qemu_bin, '-display', 'none', '-serial', 'none',
                '-monitor', 'none', '-nic', 'none',
                '-M', 'virt,confidential-guest-support=rme0',
                '-object', 'rme-guest,id=rme0' + rme_opts,
                '-accel', 'tcg', '-cpu', 'max', '-m', '1G',
                '-kernel', self.kernel, '-initrd', self.initrd,
                '-append', REALM_APPEND]
        self.log.info('running: %s', ' '.join(args))
        try:
            res = subprocess.run(args, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=30,
                                 check=False)
        except subprocess.TimeoutExpired as e:
            self.fail(f'QEMU with {rme_opts} did not exit: {e.stderr!r}')
        self.log.info('status %d, stderr: %s', res.returncode, res.stderr)
        self.assertEqual(res.returncode, 1, res.stderr)
        for word in words:
            self.assertIn(word, res.stderr)

    def test_config_errors(self):
        # A policy without a certificate.
        junk = self.scratch_file('junk.pem')
        with open(junk, 'w', encoding='ascii') as f:
            f.write('not a certificate\n')
        self.qemu_refuses(f',migration-policy={junk}', (
            f"migration-policy '{junk}' holds no PEM certificate",))

        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0xbad)

        # Without the return path: refused at once.
        dst, port = self.start_dest('dst-no-rp', smp=1)
        self.set_migration(src, return_path=False)
        res = src.qmp('migrate', uri=f'tcp:127.0.0.1:{port}')
        self.log.info('migrate without return-path: %s', res)
        self.assertIn('error', res, 'migrate without return-path accepted')
        self.assertIn('return-path', res['error']['desc'])
        self.assertEqual(src.cmd('query-status')['status'], 'running')
        self.stop(dst)

        # More vCPUs on the destination: refused before any page.
        self.assert_vcpus_refused(src, 'dst-2cpu', 2, 1)
        self.stop(src)

        # No policy, no platform identity: migrate refused at once,
        # naming what is missing; the realm runs on.
        for name, kwargs, words in (
                ('src-no-policy', {'policy': ''},
                 'the realm has no migration-policy, so it never migrates'),
                ('src-no-identity', {'identity': ''},
                 'the emulated platform has no platform-identity')):
            vm = self.new_vm(name, smp=1, **kwargs)
            # Nobody waits for its prompt; its console is read all the
            # same.
            self.launch(vm, name)
            self.set_migration(vm)
            res = vm.qmp('migrate', uri='tcp:127.0.0.1:1')
            self.log.info('%s: migrate: %s', name, res)
            self.assertIn('error', res, f'{name}: migrate accepted')
            self.assertIn(words, res['error']['desc'])
            self.assertEqual(vm.cmd('query-status')['status'], 'running')
            self.stop(vm)

    # ---- g2: the attested handshake ----------------------------------------

    def migrate_changed(self, src, name, port, tamper, rp_tamper,
                        capture=False):
        """Migrate @src through a proxy to the destination at @port,
        changing the stream with @tamper and the return path with
        @rp_tamper: the migration fails.  Returns the source's last
        query-migrate and the proxy."""
        proxy = self.proxy(port, tamper=tamper, rp_tamper=rp_tamper,
                           capture=capture, name=f'proxy-{name}')
        self.migrate(src, proxy.uri)
        # A migration that is to fail after END must get there first.
        info = self.wait_converged(src, True)
        self.log.info('%s: %s', name, info)
        for change in (tamper, rp_tamper):
            if change:
                self.log.info('%s: %s', name, change.note)
                self.assertTrue(change.done, f'{name}: nothing changed')
        self.assertEqual(info['status'], 'failed', f'{name}: {info}')
        return info, proxy

    def refused(self, src, name, dst_kwargs=None, tamper=None,
                rp_tamper=None, dst_words=None, src_words=None,
                memstress=True):
        """
        Migrate @src through a proxy (changing the stream with @tamper,
        the return path with @rp_tamper) to a destination started with
        @dst_kwargs: the migration fails, with @src_words in the source's
        error or @dst_words in the destination's; the destination exits,
        the source realm runs on.
        """
        dst, port = self.start_dest(name, **{'smp': 1, **(dst_kwargs or {})})
        info, proxy = self.migrate_changed(src, name, port, tamper,
                                           rp_tamper)
        if src_words:
            self.assertIn(src_words, info.get('error-desc', ''))
        if dst_words:
            self.assert_dest_failed(dst, name, dst_words)
            self.assertIn('the destination refused the realm', info.get(
                'error-desc', ''))
            self.assertIn(dst_words[0], info.get('error-desc', ''))
        else:
            rc, _ = self.wait_exit(dst, name)
            self.assertNotEqual(rc, 0, f'{name} exit status')
        self.assert_source_back(src, 'failed', name, memstress=memstress)
        proxy.close()
        return info

    def test_handshake(self):
        rogue, both = self.rogue_pki()
        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x5a7)
        cases = (
            # A tampered HELLO: the destination RMM refuses it.
            ('dst-flip-hello', dict(tamper=mp.FlipHelloShare(),
                                    dst_words=('challenge does not match',))),
            # A tampered ACCEPT: the source RMM refuses it.
            ('dst-flip-accept', dict(
                rp_tamper=mp.FlipAcceptShare(),
                src_words="the destination's handshake answer was "
                          "refused: platform token: challenge does not "
                          "match")),
            # No ACCEPT: the return path closes while the source waits
            # for it (the source wakes on the close, with no poll).
            ('dst-no-accept', dict(rp_tamper=mp.HoldAccept())),
            # A destination platform outside the realm's policy.
            ('dst-rogue', dict(
                dst_kwargs={'identity': rogue},
                src_words="the destination platform's identity does not "
                          "chain to a trust anchor of the realm's "
                          "migration policy")),
            # The two command lines name different policies.
            ('dst-other-policy', dict(
                dst_kwargs={'policy': both},
                dst_words=('migration policy mismatch',))),
            # ...or differ in migration-zero-granules, a measured flag.
            ('dst-no-zero', dict(
                dst_kwargs={'zero': False},
                dst_words=('flags mismatch',))),
        )
        failed = []
        for name, kwargs in cases:
            try:
                self.refused(src, name, **kwargs)
            except AssertionError:
                self.log.exception('case %s failed', name)
                failed.append(name)
        self.assertEqual(failed, [], 'handshake cases failed (tracebacks in '
                         'the log)')
        self.stop(src)

        # A source platform outside the policy: its destination refuses.
        src = self.boot('src-rogue', smp=1, identity=rogue)
        self.refused(src, 'dst-of-rogue', memstress=False,
                     dst_words=("the source platform's identity does not "
                                "chain",))
        self.stop(src)

    def regstress_start(self, vm, name, mode):
        """Start guest/regstress @mode in @vm, in the background."""
        self.guest_run(vm, f'regstress {mode} > /tmp/rs-{mode}.log 2>&1 & '
                       f'true')
        _, text = self.guest_run(
            vm, f'for i in $(seq 60); do grep -q "{mode} started" '
            f'/tmp/rs-{mode}.log && break; sleep 1; done; '
            f'cat /tmp/rs-{mode}.log')
        self.assertIn(f'REGSTRESS: {mode} started', text,
                      f'{name}: regstress {mode}')

    def regstress_check(self, vm, name, mode):
        """Stop regstress @mode in @vm: it says OK, checked in the guest."""
        _, text = self.guest_run(
            vm, f'kill -USR1 $(cat /tmp/regstress-{mode}.pid); '
            f'for i in $(seq 60); do grep -q "{mode} OK\\|{mode} FAIL" '
            f'/tmp/rs-{mode}.log && break; sleep 1; done; '
            f'cat /tmp/rs-{mode}.log')
        self.log.info('%s regstress %s: %s', name, mode, text.strip())
        self.assertNotIn('FAIL', text, f'{name}: regstress {mode}')
        self.assertIn(f'REGSTRESS: {mode} OK', text,
                      f'{name}: regstress {mode}')

    # The last vCPU to regstress's pinned workers alone (regstress.c):
    # Linux reinstalls a task's debug registers whenever it switches the
    # task in, which would hide registers a migration lost.
    REGSTRESS_APPEND = ' isolcpus=1 nohz_full=1'

    def regstress_hops(self, src, realm, smp, **dst_kwargs):
        """
        One migration of @src (booted with REGSTRESS_APPEND) per
        guest/regstress mode, each with only that mode busy in the
        guest, so that its registers are loaded on the vCPUs when the
        migration stops them: SVE Z/P/FFR intact on every vCPU, PMU
        counts still increasing, the hardware watchpoint and breakpoint
        set before fire after.  Returns the last destination.
        """
        for mode in ('sve', 'pmu', 'watch'):
            self.regstress_start(src, 'src', mode)
            name = f'dst-{mode}'
            dst, port = self.start_dest(name, realm=realm, smp=smp,
                                        append=self.REGSTRESS_APPEND,
                                        **dst_kwargs)
            self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', smp=smp,
                            realm=realm, name=name)
            self.regstress_check(dst, name, mode)
            self.stop(src)
            src = dst
        return src

    REALM_FEATURES = ',sve-vector-length=512,num-pmu-counters=4'

    def test_realm_features(self):
        # A realm with SVE, a PMU and fewer breakpoints than the vCPU
        # model's (issue 27): a destination whose rme-guest differs in
        # any of them refuses the source's HELLO, naming the parameter and
        # its own value, so no granule is sent; the source runs on (the
        # sealed IMMUTABLE record after the handshake is compared too:
        # /rmm/mig/reject/params).  With the same parameters
        # the realm migrates, and a program in it that keeps SVE
        # registers loaded on both vCPUs, counts cycles with the PMU and
        # has a hardware breakpoint and watchpoint set finds them intact
        # (test_plain_vm_registers runs it on a plain VM).
        feats = self.REALM_FEATURES + ',num-breakpoints=3'
        src = self.boot('src', smp=2, rme_opts=feats,
                        append=self.REGSTRESS_APPEND)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x27)
        cases = (
            ('dst-sve256', ',sve-vector-length=256,num-pmu-counters=4,'
             'num-breakpoints=3', "sve_vl mismatch (the destination's is "
             "1: 256-bit vectors)"),
            ('dst-no-sve', ',num-pmu-counters=4,num-breakpoints=3',
             "sve_vl mismatch (the destination's realm has no SVE)"),
            ('dst-pmu2', ',sve-vector-length=512,num-pmu-counters=2,'
             'num-breakpoints=3', "pmu_num_ctrs mismatch (the "
             "destination's is 2: 2 event counters)"),
            ('dst-bps', self.REALM_FEATURES,
             "num_bps mismatch (the destination's is 5: 6 breakpoints)"),
        )
        failed = []
        for name, opts, words in cases:
            try:
                info = self.refused(src, name,
                                    dst_kwargs={'rme_opts': opts, 'smp': 2},
                                    src_words='HELLO: ' + words,
                                    dst_words=(words.split(' (')[0],))
                self.assertEqual(info['realm']['granules'], 0,
                                 f'{name}: granules sent before the refusal')
            except AssertionError:
                self.log.exception('case %s failed', name)
                failed.append(name)
        self.assertEqual(failed, [], 'feature cases failed (tracebacks in '
                         'the log)')
        rc, text = self.guest_run(src, 'memstress stop 200', check=False)
        self.assertEqual(rc, 0, f'memstress stop: {text}')
        dst = self.regstress_hops(src, True, 2, rme_opts=feats)
        self.stop(dst)

    def test_replay(self):
        # Finding 1 of issue 9: a recorded migration replayed into a
        # fresh destination.  Its RMM answers the old HELLO with a fresh
        # share: other keys, and the first sealed record is refused.
        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x4e9)
        dst, port = self.start_dest('dst', smp=1)
        proxy = self.proxy(port, capture=True, name='proxy-record')
        self.migrate_ok(src, dst, proxy.uri)
        data = bytes(proxy.captured)
        recs = mp.parse_records(data)
        self.assertEqual([r.type for r in recs[:2]], [mp.HELLO, mp.IMMUTABLE])
        self.stop(src)

        again, port2 = self.start_dest('dst-replayed', smp=1)
        sent = mp.replay(data, port2)
        self.log.info('replayed %d of %d bytes', sent, len(data))
        out = self.assert_dest_failed(again, 'dst-replayed',
                                      ('authentication failed',))
        self.assertIn('IMMUTABLE record seq 0: authentication failed', out)
        # The one live copy goes on.
        self.memstress_check(dst, 'destination after the replay')
        self.stop(dst)

    # ---- g3: an in-doubt migration resolved by the operator ---------------

    def in_doubt(self, src, name, tamper=None, rp_tamper=None):
        """Migrate @src so that the return path is lost after END; returns
        (destination, its token as query-migrate-guest-token gives it,
        the proxy, which captured the source's stream)."""
        dst, port = self.start_dest(name, smp=1, exit_on_error=False)
        info, proxy = self.migrate_changed(src, name, port, tamper,
                                           rp_tamper, capture=True)
        # In doubt: the source waits, stopped, for the destination's word.
        self.assertEqual(info['realm']['state'], 'ended', info)
        self.assertNotEqual(src.cmd('query-status')['status'], 'running')
        res = src.qmp('cont')
        self.assertIn('error', res, f'{name}: cont accepted in doubt')
        dinfo = self.wait_migration(dst, until=('completed', 'failed'))
        self.log.info('%s (destination): %s', name, dinfo)
        return dst, dst.cmd('query-migrate-guest-token'), proxy

    def test_in_doubt(self):
        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x1d0)

        # Issue 24, item 4: a destination as -incoming starts it (it
        # exits on error) loses the connection right after END.  It
        # never committed; its abort token is in its log, and that is
        # all the source needs.
        dst, port = self.start_dest('dst-default', smp=1)
        self.migrate_changed(src, 'dst-default', port, mp.CutAfterEnd(),
                             None)
        self.assertEqual(self.query_migrate(src)['realm']['state'], 'ended')
        rc, out = self.wait_exit(dst, 'dst-default')
        self.assertEqual(rc, 1, f'dst-default: {out}')
        m = re.search(r'migrate-guest-token kind=abort token=(\S+)', out)
        self.assertIsNotNone(m, f'dst-default: no abort token in {out}')
        # Item 6: nothing that would lose the undecided realm meanwhile.
        res = src.qmp('cont')
        self.assertIn('printed its abort token', res['error']['desc'])
        res = src.qmp('system_reset')
        self.log.info('system_reset in doubt: %s', res)
        self.assertIn('undecided', res.get('error', {}).get('desc', ''),
                      'system_reset of a realm in doubt')
        out = src.cmd('human-monitor-command', command_line='system_reset')
        self.assertIn('undecided', out, 'HMP system_reset in doubt')
        res = src.qmp('x-rme-poison-granule', gpa=0x40000000)
        self.log.info('x-rme-poison-granule in doubt: %s', res)
        self.assertIn('frozen', res.get('error', {}).get('desc', ''),
                      'a memory error recorded in doubt')
        src.cmd('migrate-guest-token', kind='abort', token=m.group(1))
        src.cmd('cont')
        self.assert_source_back(src, 'failed', 'the abort token of a '
                                'destination that exited')

        # The destination gave the realm up (the stream ended right after
        # END) and its abort token was lost with the connection.
        dst, tok, _ = self.in_doubt(src, 'dst-abort', tamper=mp.CutAfterEnd())
        self.assertEqual(tok['kind'], 'abort', tok)
        # A token changed on the way, or of the wrong kind: refused.
        raw = bytearray(base64.b64decode(tok['token']))
        raw[0] ^= 1
        for kind, token in (('abort', base64.b64encode(raw).decode()),
                            ('commit', tok['token'])):
            res = src.qmp('migrate-guest-token', kind=kind, token=token)
            self.log.info('migrate-guest-token %s (wrong): %s', kind, res)
            self.assertIn('error', res, f'{kind}: a wrong token accepted')
        src.cmd('migrate-guest-token', kind='abort', token=tok['token'])
        src.cmd('cont')
        self.assert_source_back(src, 'failed', 'an abort token from QMP')
        res = src.qmp('migrate-guest-token', kind='abort', token=tok['token'])
        self.assertIn('error', res, 'a token accepted twice')
        self.stop(dst)

        # The destination committed and runs; its commit token was lost.
        rp = mp.HoldToken(mp.RP_KIND_COMMIT)
        dst, tok, proxy = self.in_doubt(src, 'dst-commit', rp_tamper=rp)
        self.assertEqual(tok['kind'], 'commit', tok)
        self.assertEqual(base64.b64decode(tok['token']), rp.token,
                         'QMP gives another token than the one sent')
        self.wait_run_state(dst, 'running', 'dst-commit')
        # Finding 2 of issue 9: the host sends the recorded stream to a
        # second destination, which gives up (it is not the destination
        # that answered the HELLO) and has an abort token of its own.
        # The source refuses it: it would run the realm next to the copy
        # that committed.
        second, port = self.start_dest('dst-second', smp=1,
                                       exit_on_error=False)
        mp.replay(bytes(proxy.captured), port)
        self.wait_migration(second, until=('failed',))
        tok2 = second.cmd('query-migrate-guest-token')
        self.assertEqual(tok2['kind'], 'abort', tok2)
        res = src.qmp('migrate-guest-token', kind='abort',
                      token=tok2['token'])
        self.log.info('abort token of a second destination: %s', res)
        self.assertIn('error', res, 'a second destination\'s abort token '
                      'accepted: two live copies')
        self.assertEqual(self.query_migrate(src)['realm']['state'], 'ended')
        self.stop(second)
        # The operator carries the commit token by hand, with HMP this
        # time: info migrate_guest_token, migrate_guest_token.
        out = dst.cmd('human-monitor-command',
                      command_line='info migrate_guest_token').split()
        self.assertEqual(out, ['commit', tok['token']])
        out = src.cmd('human-monitor-command',
                      command_line=f'migrate_guest_token commit {out[1]}')
        self.assertEqual(out.strip(), '', out)
        r = self.query_migrate(src).get('realm')
        self.assertEqual(r['state'], 'migrated', r)
        res = src.qmp('cont')
        self.assertIn('error', res, 'cont accepted after the commit')
        self.assertIn('migrated', res['error']['desc'])
        self.memstress_check(dst, 'destination after the in-doubt commit')
        self.stop(src)
        self.stop(dst)

    # ---- issue 24, item 5: no save without a destination ------------------

    SAVE_REFUSED = 'a realm is saved only by a live migration'

    def qcow2(self, vm, path, node):
        """A 64 MiB qcow2 image at @path, made by @vm itself
        (blockdev-create) and open as node @node: a disk that takes
        internal snapshots."""
        for job, opts in (('mk-file', {'driver': 'file', 'filename': path,
                                       'size': 0}),
                          ('mk-qcow2', {'driver': 'qcow2', 'file': 'f0',
                                        'size': 64 << 20})):
            vm.cmd('blockdev-create', **{'job-id': job, 'options': opts})
            done = self.wait_job(vm, job)
            self.assertNotIn('error', done, f'{job}: {done}')
            vm.cmd('job-dismiss', id=job)
            if job == 'mk-file':
                vm.cmd('blockdev-add', driver='file', filename=path,
                       **{'node-name': 'f0'})
        vm.cmd('blockdev-add', driver='qcow2', file='f0',
               **{'node-name': node})

    def wait_job(self, vm, job, timeout=CMD_TIMEOUT):
        """Poll query-jobs until @job concluded; returns its entry."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = {j['id']: j for j in vm.cmd('query-jobs')}
            if jobs.get(job, {}).get('status') == 'concluded':
                return jobs[job]
            if time.monotonic() > deadline:
                self.fail(f'job {job} did not conclude in {timeout} s: '
                          f'{jobs}')
            time.sleep(0.1)

    def refused_at_once(self, vm, uri, words, what):
        """migrate @vm to @uri: refused with @words, by the command or
        as a failed migration."""
        res = vm.qmp('migrate', uri=uri)
        self.log.info('%s: migrate: %s', what, res)
        if 'error' in res:
            desc = res['error']['desc']
        else:
            desc = self.wait_migration(vm, until=('failed',)).get(
                'error-desc', '')
        self.assertIn(words, desc, f'{what}: {desc}')

    def test_snapshots_refused(self):
        # savevm, snapshot-save, a migration to a file, background-snapshot
        # and COLO, with the 'return-path' capability on as libvirt leaves
        # it: each is refused at once (QMP answers within its timeout),
        # with one line, and the realm runs on, its memory intact.
        src = self.boot('src', smp=1)
        self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x1e0)
        self.set_migration(src)
        self.qcow2(src, self.scratch_file('snap.qcow2'), 'd0')

        out = src.cmd('human-monitor-command', command_line='savevm s1')
        self.log.info('savevm: %s', out.strip())
        self.assertIn(self.SAVE_REFUSED, out)
        self.assertNotIn('s1', src.cmd('human-monitor-command',
                                       command_line='info snapshots'))

        src.cmd('snapshot-save', **{'job-id': 'snap', 'tag': 's2',
                                    'vmstate': 'd0', 'devices': ['d0']})
        job = self.wait_job(src, 'snap')
        self.log.info('snapshot-save: %s', job)
        self.assertIn(self.SAVE_REFUSED, job.get('error', ''))
        src.cmd('job-dismiss', id='snap')

        # No destination answers on the return path of a file.
        res = src.qmp('migrate', uri='file:' + self.scratch_file('r.mig'))
        self.log.info('migrate file: %s', res)
        self.assertIn("The 'return-path' capability needs a peer",
                      res.get('error', {}).get('desc', ''))

        # A background snapshot (to a file: no return path there).
        res = src.qmp('migrate-set-capabilities', capabilities=[
            {'capability': 'return-path', 'state': False},
            {'capability': 'background-snapshot', 'state': True}])
        if 'error' in res:
            # QEMU refuses it before the realm has a say when the kernel
            # gives this process no userfaultfd write protection (not
            # root, vm.unprivileged_userfaultfd=0); nothing changed.
            self.log.info('background-snapshot: %s', res['error']['desc'])
            self.assertIn('Background-snapshot is not supported',
                          res['error']['desc'])
        else:
            self.refused_at_once(src, 'file:' + self.scratch_file('bg.mig'),
                                 'pre-copy only', 'background-snapshot')
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'background-snapshot', 'state': False},
            {'capability': 'return-path', 'state': True}])

        res = src.qmp('migrate-set-capabilities', capabilities=[
            {'capability': 'x-colo', 'state': True}])
        if 'error' in res:
            # This build has no COLO at all (no replication module).
            self.log.info('x-colo: %s', res['error']['desc'])
            self.assertIn('COLO', res['error']['desc'])
        else:
            dst, port = self.start_dest('dst-colo', smp=1)
            self.refused_at_once(src, f'tcp:127.0.0.1:{port}', 'x-colo',
                                 'x-colo')
            self.stop(dst)

        self.assertEqual(src.cmd('query-status')['status'], 'running')
        # Nothing began: no HELLO made, no export to abort.
        self.assertEqual(self.query_migrate(src)['realm']['state'], 'none')
        self.memstress_check(src, 'after the refused saves')
        self.stop(src)

    # ---- g4: the realm's counter across a migration -------------------------

    # QEMU's clock goes back this much; the guest runs MIN_UPTIME_S first
    # so that the clock stays positive (as a hardware counter does).
    REWIND_S = 30
    MIN_UPTIME_S = 45

    def counter(self, vm, name):
        """The guest's virtual counter (CNTVCT_EL0) and its frequency."""
        _, text = self.guest_run(vm, 'memstress counter')
        m = re.search(r'MEMSTRESS: counter (\d+) freq (\d+)', text)
        self.assertIsNotNone(m, f'{name}: no counter in {text!r}')
        return int(m.group(1)), int(m.group(2))

    def rewound(self, realm):
        """Migrate a guest through a proxy that moves QEMU's clock (the
        "timer" section) back by REWIND_S seconds; returns the guest's
        counter before and after, and its frequency."""
        kind = 'realm' if realm else 'plain'
        src = self.boot(f'src-{kind}', realm=realm, smp=1)
        count, freq = self.counter(src, 'source')
        if count < self.MIN_UPTIME_S * freq:
            wait = self.MIN_UPTIME_S - count // freq
            self.guest_run(src, f'sleep {wait}', timeout=wait + CMD_TIMEOUT)
        before, _ = self.counter(src, 'source')
        t0 = time.monotonic()
        dst, port = self.start_dest(f'dst-{kind}', realm=realm, smp=1)
        tamper = mp.RewindClock(self.REWIND_S)
        proxy = self.proxy(port, tamper=tamper, name=f'proxy-{kind}')
        info = self.migrate_ok(src, dst, proxy.uri, realm=realm,
                               name=f'dst-{kind}')
        self.log.info('%s: %s', kind, tamper.note)
        self.assertTrue(tamper.done, 'no clock offset found in the stream')
        after, _ = self.counter(dst, 'destination')
        wall = time.monotonic() - t0
        self.log.info('%s: counter %d before, %d after (%+.1f s in %.1f s)',
                      kind, before, after, (after - before) / freq, wall)
        self.stop(src)
        self.stop(dst)
        # The guest is stopped for the downtime: its counter stands still.
        return before, after, freq, wall - info['downtime'] / 1000

    def test_counter(self):
        # Finding 7 of issue 9: the host moves QEMU's clock back in the
        # plain "timer" section.  The realm's virtual counter goes on from
        # where it was: the RMM owns its offset and sets it from the
        # sealed REC record.
        before, after, freq, running = self.rewound(realm=True)
        # The counter advanced as long as the guest ran (the time between
        # the two reads less the migration's downtime), give or take the
        # few seconds of pauses around the switchover; a counter that
        # went back by REWIND_S shows as a guest that stalled that long
        # (its timers wait for the count to catch up).
        went = (after - before) / freq
        self.assertGreaterEqual(after, before)
        self.assertGreater(went, running - 5,
                           f'the counter advanced {went:.1f} s in '
                           f'{running:.1f} s of running: it went back by '
                           f'the host\'s clock')
        self.assertLess(went, running + 5)

    # ---- attestation across a migration -----------------------------------

    def attest(self, vm, challenge):
        """
        A CCA attestation token of @vm's realm for @challenge (hex),
        through configfs-tsm: (platform claims, realm claims).
        """
        _, text = self.guest_run(vm, f'cca-attest {challenge}')
        self.assertIn('CCA-ATTEST: result=ok', text)
        _, out = self.guest_run(vm, 'echo "TOKEN=$(od -An -tx1 -v '
                                    "/tmp/cca-attest.outblob | tr -d ' \\n')\"")
        m = re.search(r'TOKEN=([0-9a-f]+)', out)
        self.assertIsNotNone(m, f'no token in {out!r}')
        return cca_common.cca_token_claims(bytes.fromhex(m.group(1)))

    def assert_token_bound(self, plat, realm, challenge, name):
        """The realm token answers @challenge, the platform token its RAK."""
        self.assertEqual(realm[10].hex(), challenge, f'{name}: challenge')
        algo = realm[44240].replace('-', '')
        self.assertEqual(plat[10], hashlib.new(algo, realm[44237]).digest(),
                         f'{name}: the platform token does not bind the '
                         f'realm attestation key')

    def test_attestation(self):
        """
        A realm asks for a token before and after it moves: what the
        realm is (RIM, REMs, personalization value, hash algorithm) is
        the same; the platform part is the destination's (its instance
        ID, its RMM's realm attestation key, bound by its platform
        token); the challenge of each request is in its token.
        """
        rpv = base64.b64encode(bytes(range(64))).decode()
        src = self.boot('src', smp=1, rme_opts=f',personalization-value={rpv}')
        c1 = hashlib.sha512(b'before the move').hexdigest()
        plat1, realm1 = self.attest(src, c1)
        self.assert_token_bound(plat1, realm1, c1, 'source')
        self.assertEqual(realm1[44235], bytes(range(64)))
        self.assertEqual(realm1[44236], 'sha-512')
        self.assertEqual(len(realm1[44239]), 4)

        dst, port = self.start_dest('dst', smp=1,
                                    rme_opts=f',personalization-value={rpv}')
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', smp=1)
        c2 = hashlib.sha512(b'after the move').hexdigest()
        plat2, realm2 = self.attest(dst, c2)
        self.assert_token_bound(plat2, realm2, c2, 'destination')

        for key, what in ((44238, 'RIM'), (44239, 'REMs'),
                          (44235, 'personalization value'),
                          (44236, 'measurement algorithm'),
                          (265, 'realm profile')):
            self.assertEqual(realm2[key], realm1[key],
                             f'{what} changed across the migration')
        self.assertNotEqual(realm2[44237], realm1[44237],
                            'the realm attestation key is the source RMM\'s')
        self.assertNotEqual(plat2[256], plat1[256],
                            'the platform instance ID is the source\'s')
        for key in (265, 2396, 2402):
            self.assertEqual(plat2[key], plat1[key])
        self.stop(src)

    # ---- h: a plain VM (the control) ---------------------------------------

    # ---- auto-converge ----------------------------------------------------

    def test_auto_converge(self):
        """A realm that rewrites protected memory faster than the link
        moves it converges with auto-converge: the realm's own dirty rate
        (its RMM's dirty log, outside RAM's bitmap), which the stream
        reports to the migration core (migration_dirty_bytes_report()),
        throttles its vCPUs.  No downtime-limit is raised here."""
        src = self.boot('src', smp=1,
                        extra_args=('-trace', 'rme_stream_dirty_report',
                                    '-trace', 'migration_throttle'))
        gen0 = self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0xac0)
        dst, port = self.start_dest('dst', smp=1)
        self.set_migration(src, bandwidth=BW_AUTO_CONVERGE)
        src.cmd('migrate-set-capabilities', capabilities=[
            {'capability': 'auto-converge', 'state': True}])
        src.cmd('migrate-set-parameters', **{'cpu-throttle-initial': 50,
                                             'cpu-throttle-increment': 20})
        src.cmd('migrate', uri=f'tcp:127.0.0.1:{port}')
        peak = 0

        def watch(info):
            nonlocal peak
            peak = max(peak, info.get('cpu-throttle-percentage', 0))

        info = self.wait_migration(src, on_poll=watch)
        self.assertEqual(info['status'], 'completed',
                         f'migration failed: {info.get("error-desc")}')
        self.log.info('converged in %s ms, downtime %s ms, %s epochs, '
                      'throttle up to %d %%', info.get('total-time'),
                      info.get('downtime'), info['realm']['epochs'], peak)
        self.assertGreaterEqual(peak, 50, 'the vCPUs were never throttled')
        self.wait_run_state(dst, 'running', 'dst')
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreater(gen1, gen0)
        self.stop(src)
        # RAM's throttle fired, on the realm's reported dirty granules.
        log = src.get_log() or ''
        self.assertIn('rme_stream_dirty_report', log)
        self.assertIn('migration_throttle', log)
        self.stop(dst)

    # ---- i: multifd: DATA sealed and carried on parallel lanes ----------

    def multifd_case(self, src, channels, gen):
        """Migrate @src to a new destination over @channels multifd
        channels; returns the destination, its realm running and whole."""
        dst, port = self.start_dest(f'dst-mfd{channels}', multifd=channels,
                                    smp=2)
        self.set_multifd(src, channels)
        info = self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', smp=2,
                               name=f'dst-mfd{channels}')
        r = info['realm']
        self.log.info('%d channels: %s ms, downtime %s ms, multifd %s '
                      'bytes, realm %s bytes', channels,
                      info.get('total-time'), info.get('downtime'),
                      info['ram'].get('multifd-bytes'), r['bytes'])
        # The realm's DATA went on the channels, one lane each.
        self.assertEqual(r['lanes'], channels)
        self.assertGreater(info['ram']['multifd-bytes'],
                           (r['granules'] - r['zero-granules']) * 4096)
        self.assertGreater(self.memstress_check(dst, f'mfd{channels}'), gen)
        return dst

    def test_multifd(self):
        """A realm migrates over 2, then 4 multifd channels (there and
        back), its DATA sealed in parallel and imported in parallel."""
        src = self.boot('src', smp=2)
        gen = self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x3f2)
        dst = self.multifd_case(src, 2, gen)
        self.stop(src)
        back = self.multifd_case(dst, 4, gen)
        self.stop(dst)
        self.stop(back)

    def multifd_refused(self, src, name, tamper, words):
        """Migrate @src over 2 multifd channels through a proxy with
        @tamper: the destination refuses a lane record, naming one of
        @words; the source realm runs on."""
        dst, port = self.start_dest(name, multifd=2)
        proxy = self.proxy(port, name=f'proxy-{name}', tamper=tamper)
        self.migrate(src, proxy.uri)
        self.assert_source_back(src, 'failed', name)
        self.assertTrue(tamper.done, f'{name}: no lane record was changed')
        self.log.info('%s: %s', name, tamper.note)
        self.assert_dest_failed(dst, name, words, once=True)

    def test_multifd_faults(self):
        """
        On a multifd channel, a lane record tampered with or sent twice,
        or the channel dropped mid-migration: the destination refuses the
        realm and the source's runs on, intact; then a migration over the
        channels succeeds.
        """
        src = self.boot('src')
        gen = self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x6d1)
        self.set_multifd(src, 2)
        self.multifd_refused(src, 'dst-flip', mp.FlipLaneBit(),
                             ('authentication failed',))
        self.multifd_refused(src, 'dst-twice', mp.DuplicateLane(),
                             ('already sent in epoch',))
        # The main channel ends while a lane record waits for its epoch
        # (the destination has taken it: its trace says so).  The
        # migration's error is the main channel's; the lane's refusal is
        # in the trace.
        dst, port = self.start_dest('dst-ahead', multifd=2,
                                    extra_args=('-trace',
                                                'rme_stream_lane_in',
                                                '-trace',
                                                'rme_stream_lane_refused'))
        dst_log = os.path.join(dst.log_dir, 'dst-ahead.log')

        def lane_taken(epoch):
            with open(dst_log, encoding='utf-8', errors='replace') as f:
                return re.search(rf'rme_stream_lane_in lane \d+ epoch '
                                 rf'{epoch}:', f.read()) is not None

        tamper = mp.CutBeforeEpochLane(MIGRATE_TIMEOUT, taken=lane_taken)
        proxy = self.proxy(port, name='proxy-ahead', tamper=tamper)
        self.migrate(src, proxy.uri)
        self.assert_source_back(src, 'failed', 'dst-ahead')
        self.assertTrue(tamper.done, f'dst-ahead: {tamper.note}')
        self.log.info('dst-ahead: %s', tamper.note)
        self.assert_dest_failed(dst, 'dst-ahead', (
            'the main channel ended before that epoch opened',))
        # Channel 1's stream ends on a packet boundary after 4 lane
        # records, the source's side of it open (the source goes on): the
        # destination's next sync point waits for a SYNC of channel 1
        # that never comes, and the migration fails naming the channel.
        dst, port = self.start_dest('dst-eof', multifd=2)
        proxy = self.proxy(port, name='proxy-eof', end_channel=(1, 4))
        self.migrate(src, proxy.uri, bandwidth=BW_LOW)
        self.assert_source_back(src, 'failed', 'dst-eof')
        self.assertTrue(len(proxy.channels) == 2 and
                        proxy.channels[1].ended.is_set(),
                        'dst-eof: multifd channel 1 never ended')
        rc, out = self.wait_exit(dst, 'dst-eof')
        self.assertNotEqual(rc, 0)
        self.assertRegex(out, r'multifd: channel \d+ ended before its sync')
        # A channel dropped once it carried a few lane records.
        dst, port = self.start_dest('dst-drop', multifd=2)
        proxy = self.proxy(port, name='proxy-drop')
        self.migrate(src, proxy.uri, bandwidth=BW_LOW)
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        while len(proxy.channels) < 2 or \
                len(proxy.channels[1].parser.records) < 4:
            self.assertLess(time.monotonic(), deadline,
                            'no lane records on multifd channel 1')
            time.sleep(0.05)
        proxy.drop_channel(1)
        self.assert_source_back(src, 'failed', 'a multifd channel dropped')
        rc, _ = self.wait_exit(dst, 'dst-drop')
        self.assertNotEqual(rc, 0)
        dst, port = self.start_dest('dst-ok', multifd=2)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', name='dst-ok')
        self.assertGreater(self.memstress_check(dst, 'dst-ok'), gen)
        self.stop(src)
        self.stop(dst)

    # ---- memory errors ----------------------------------------------------

    def memprobe(self, vm, mode='catch'):
        """Start "memprobe @mode" in the background: one page of the
        guest's, filled; returns (pid, its guest physical address)."""
        self.console(vm).send(f'memprobe {mode} &\r')
        m, _ = self.console_wait(
            vm, rb'MEMPROBE: pid=(\d+) pa=(0x[0-9a-f]+)\r?\n', CMD_TIMEOUT)
        return int(m.group(1)), int(m.group(2), 16)

    def memprobe_read(self, vm, pid):
        """memprobe @pid reads its page: 'read ok', 'read bad' or
        'SIGBUS code=N'."""
        self.console(vm).send(f'kill -USR1 {pid}\r')
        m, _ = self.console_wait(
            vm, rb'MEMPROBE: (read ok|read bad|SIGBUS code=-?\d+)\r?\n',
            CMD_TIMEOUT)
        return m.group(1).decode()

    def test_memory_error(self):
        """
        x-rme-poison-granule: the realm's next access to the granule
        takes a synchronous external abort, which Linux turns into a
        SIGBUS for the process (caught here, and the default action,
        which ends it); the granule stays poisoned; bad requests fail
        with one line.
        """
        vm = self.boot('vm', smp=1)
        pid, pa = self.memprobe(vm)
        self.assertEqual(self.memprobe_read(vm, pid), 'read ok')
        for gpa, words in ((pa + 8, 'not 4 KiB aligned'),
                           (0x0c000000, 'not a granule of the realm')):
            res = vm.qmp('x-rme-poison-granule', gpa=gpa)
            self.assertIn(words, res.get('error', {}).get('desc', ''), res)
        vm.cmd('x-rme-poison-granule', gpa=pa)
        got = self.memprobe_read(vm, pid)
        self.log.info('memprobe after the poison: %s', got)
        # BUS_OBJERR (3): Linux's answer to a synchronous external abort
        # it has no error record for.
        self.assertEqual(got, 'SIGBUS code=3')
        self.assertEqual(self.memprobe_read(vm, pid), 'SIGBUS code=3')
        _, dmesg = self.guest_run(vm, 'dmesg | tail -n 20')
        self.log.info('guest dmesg after the SIGBUS:\n%s', dmesg)
        # The default action ends the process ("Bus error", 128 + 7).
        # Its page goes back to Linux, which does not know it is bad: the
        # next kernel use of it oopses (seen: clear_page, "Internal error:
        # synchronous external abort", taint M), so this comes last and
        # does not wait for anything after it.  QEMU goes on.
        kpid, kpa = self.memprobe(vm, 'kill')
        vm.cmd('x-rme-poison-granule', gpa=kpa)
        self.console(vm).send(
            f'kill -USR1 {kpid}; wait {kpid}; echo "__RC=$?__"\r')
        m, out = self.console_wait(vm, rb'__RC=(\d+)__', CMD_TIMEOUT,
                                   failures=())
        self.assertEqual(int(m.group(1)), 135, f'memprobe kill: {out}')
        self.assertEqual(vm.cmd('query-status')['status'], 'running')
        self.stop(vm)

    def test_migrate_memory_error(self):
        """
        Granules poisoned before the migration, during pre-copy and at
        pre-switchover travel as poisoned granules: query-migrate counts
        them on both sides, the process that owns each takes a SIGBUS on
        the destination, and the rest of the realm's memory (memstress)
        is intact.
        """
        src = self.boot('src', smp=1)
        gen0 = self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x5ea)
        probes = [self.memprobe(src) for _ in range(4)]
        src.cmd('x-rme-poison-granule', gpa=probes[0][1])
        dst, port = self.start_dest('dst', smp=1)
        self.migrate(src, f'tcp:127.0.0.1:{port}', bandwidth=BW_LOW,
                     pause_before_switchover=True)
        # In pre-copy, once the first pass is over: sent whole before.
        self.wait_migration(src, until=('active',), pred=lambda i:
                            i.get('realm', {}).get('epochs', 0) >= 1)
        src.cmd('x-rme-poison-granule', gpa=probes[1][1])
        src.cmd('migrate-set-parameters', **{'max-bandwidth': BW_HIGH})
        self.wait_converged(src, True, until=('pre-switchover',))
        src.cmd('x-rme-poison-granule', gpa=probes[2][1])
        src.cmd('migrate-continue', state='pre-switchover')
        info = self.wait_converged(src, True)
        self.assertEqual(info['status'], 'completed',
                         f'migration failed: {info.get("error-desc")}')
        self.wait_run_state(dst, 'running', 'dst')
        sent = info['realm']['poisoned-granules']
        got = self.query_migrate(dst)['realm']['poisoned-granules']
        self.log.info('poisoned granules: %d sent, %d received', sent, got)
        self.assertGreaterEqual(sent, 3)
        self.assertEqual(got, sent)
        self.assertIn('poisoned=', self.hmp(dst, 'info migrate'))
        for i, (pid, _) in enumerate(probes):
            want = 'read ok' if i == 3 else 'SIGBUS code=3'
            self.assertEqual(self.memprobe_read(dst, pid), want,
                             f'memprobe {i} on the destination')
        self.assertGreater(self.memstress_check(dst, 'destination'), gen0)
        self.stop(src)
        self.stop(dst)

    # ---- kexec ---------------------------------------------------------------

    def kexec_disks(self):
        """QEMU arguments: the guest's kernel and initramfs as read-only
        virtio-blk disks, which cca-kexec finds by their serial numbers."""
        args = []
        for what, path in (('kernel', self.kernel), ('initrd', self.initrd)):
            args += ['-drive', f'file={path},if=none,id=kx-{what},'
                     'format=raw,readonly=on',
                     '-device', f'virtio-blk-pci,drive=kx-{what},'
                     f'serial=cca-{what},disable-legacy=on']
        return tuple(args)

    def kexec_load(self, vm, mark):
        """cca-kexec: load the kernel and initramfs from the disks, the
        command line marked with cca.kexec=@mark."""
        _, text = self.guest_run(vm, f'cca-kexec cca.kexec={mark}')
        self.assertIn('CCA-KEXEC: loaded', text)

    def test_migrate_kexec(self):
        """
        The realm kexecs into a new kernel (the same Debian kernel, its
        command line marked) while a migration is in pre-copy: the new
        kernel sets RIPAS again, which the RMM tracks without the guest
        telling anyone.  The migration goes on and completes, the
        destination runs the new kernel, a memstress started after the
        kexec verifies its memory there, and the destination's I/O
        through shared memory works (it loads the kernel for a kexec
        again from the disks).  Then a reboot during the next migration's
        pre-copy ends that migration, and the realm runs on rebooted.
        Two vCPUs: the kexec turns the second off and the new kernel turns
        it on again while the migration goes on.
        """
        disks = self.kexec_disks()
        src = self.boot('src', smp=2, extra_args=disks)
        self.kexec_load(src, 1)
        dst, port = self.start_dest('dst', smp=2, extra_args=disks)
        # Slow enough that the pre-copy cannot converge while the new
        # kernel boots (it rewrites tens of MiB).
        self.migrate(src, f'tcp:127.0.0.1:{port}', bandwidth=BW_CRAWL)
        self.wait_migration(src, until=('active',), pred=lambda i:
                            i.get('realm', {}).get('granules', 0) > 0)
        before = self.query_migrate(src)['realm']
        self.console(src).send('kexec -e\r')
        self.console_wait(src, rb'Booting Linux on physical CPU',
                          CMD_TIMEOUT)
        self.console_wait(src, rb'CCA-GUEST: ready', BOOT_TIMEOUT)
        self.console_wait(src, rb'guest# ', CMD_TIMEOUT)
        _, cmdline = self.guest_run(src, 'cat /proc/cmdline')
        self.assertIn('cca.kexec=1', cmdline)
        gen0 = self.memstress_start(src, MEMSTRESS_SMALL_MIB, 0x6ec)
        info = self.query_migrate(src)
        self.log.info('after the kexec: %s', info)
        # Still the same pre-copy: neither ended nor restarted.
        self.assertEqual(info['status'], 'active')
        self.assertEqual(info['realm']['state'], 'exporting')
        self.assertGreaterEqual(info['realm']['granules'],
                                before['granules'])
        src.cmd('migrate-set-parameters', **{'max-bandwidth': BW_HIGH})
        info = self.wait_converged(src, True)
        self.assertEqual(info['status'], 'completed',
                         f'migration failed: {info.get("error-desc")}')
        self.wait_run_state(dst, 'running', 'dst')
        r = info['realm']
        self.log.info('migrated after a kexec: %s epochs, %s RIPAS records '
                      '(%s granules), %s pages', r['epochs'],
                      r['ripas-records'], r['ripas-granules'], r['granules'])
        # The RIPAS the new kernel set went in later epochs (that the
        # destination then has exactly the source's RIPAS, assignment and
        # poison is the model's round-trip unit test, /rmm/mig/...).
        self.assertGreater(r['ripas-records'], 1)
        self.assertGreater(self.memstress_check(dst, 'destination'), gen0)
        _, cmdline = self.guest_run(dst, 'cat /proc/cmdline')
        self.assertIn('cca.kexec=1', cmdline)
        # The kexec turned vCPU 1 off (PSCI CPU_OFF) and the new kernel on
        # again (CPU_ON) during the pre-copy: it runs on the destination.
        _, online = self.guest_run(dst, 'cat /sys/devices/system/cpu/online')
        self.assertEqual(online.strip(), '0-1')
        self.kexec_load(dst, 2)
        self.stop(src)
        # A reboot, unlike a kexec, resets the machine, which rebuilds
        # the realm: the migration in pre-copy ends with an error and the
        # source runs the rebooted realm.
        dst2, port = self.start_dest('dst2', smp=2, extra_args=disks)
        self.migrate(dst, f'tcp:127.0.0.1:{port}', bandwidth=BW_LOW)
        self.wait_migration(dst, until=('active',), pred=lambda i:
                            i.get('realm', {}).get('granules', 0) > 0)
        self.console(dst).send('reboot -f\r')
        info = self.wait_migration(dst)
        self.log.info('reboot during pre-copy: %s', info)
        self.assertEqual(info['status'], 'failed')
        self.assertIn('the realm was reset while it migrated',
                      info.get('error-desc', ''))
        self.console_wait(dst, rb'CCA-GUEST: ready', BOOT_TIMEOUT)
        self.console_wait(dst, rb'guest# ', CMD_TIMEOUT)
        self.assertEqual(self.query_migrate(dst)['realm']['state'],
                         'running')
        _, cmdline = self.guest_run(dst, 'cat /proc/cmdline')
        self.assertNotIn('cca.kexec', cmdline)
        rc, _ = self.wait_exit(dst2, 'dst2')
        self.assertNotEqual(rc, 0)
        self.stop(dst)

    def test_plain_vm_migrates(self):
        src = self.boot('src', realm=False, smp=1)
        gen0 = self.memstress_start(src, MEMSTRESS_MIB, 0x91a)
        dst, port = self.start_dest('dst', realm=False, smp=1)
        self.migrate_ok(src, dst, f'tcp:127.0.0.1:{port}', realm=False)
        gen1 = self.memstress_check(dst, 'destination')
        self.assertGreater(gen1, gen0)
        self.memstress_progress(dst, gen1, 'destination')
        self.stop(src)

    def test_plain_vm_registers(self):
        # The register checks of test_realm_features on a plain VM of 2
        # vCPUs, as a control.
        src = self.boot('src', realm=False, smp=2,
                        append=self.REGSTRESS_APPEND)
        self.stop(self.regstress_hops(src, False, 2))


if __name__ == '__main__':
    QemuSystemTest.main()
