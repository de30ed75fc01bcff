#!/usr/bin/env python3
#
# Functional tests that boot a Linux guest as an Arm CCA realm on the virt
# machine (TCG, emulated RMM), and the same guest as a plain VM.
#
# The guest kernel and initramfs are not downloaded by the test: they come
# from the environment, as set by the project's scripts/mkinitramfs:
#
#   eval "$(bash scripts/mkinitramfs)"   # sets CCA_GUEST_KERNEL, CCA_GUEST_INITRD
#
# Run (in the build directory, after scripts/build):
#
#   meson test --no-rebuild --setup thorough func-aarch64-cca_realm
#
# The initramfs' /init prints "CCA-GUEST: ready" and runs a busybox shell
# (prompt "guest# ") on ttyAMA0 with the cca-info, cca-attest and memstress
# tools.
#
# Copyright (c) 2026 The QEMU CCA migration authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import base64
import hashlib
import logging
import os
import re
import subprocess
import time

from qemu_test import QemuSystemTest

import cca_common


# Bounds for each step (seconds).  A realm boots in 6-15 s under TCG.
BOOT_TIMEOUT = 120
CMD_TIMEOUT = 60
MEMSTRESS_TIMEOUT = 240

MEMSTRESS_MIB = 256

# earlycon on the PL011: a realm's at its unprotected alias (the kernel's
# earlycon writes before it knows it is a realm), a plain VM's at the
# PL011 itself (it has nothing at the alias).
REALM_APPEND = cca_common.kernel_append(realm=True)
VM_APPEND = cca_common.kernel_append(realm=False)

# Seen on the console: the test fails at once.
BOOT_FAILURES = (b'Kernel panic', b'---[ end trace', b'Unable to handle kernel')

# A token from configfs-tsm's arm_cca_guest provider is a CCA token:
# CBOR tag 399 (0xd9 0x01 0x8f).
CCA_TOKEN_TAG = 'd9018f'


class CcaRealm(QemuSystemTest):
    """Boot the guest as an Arm CCA realm and as a plain VM."""

    def setUp(self):
        super().setUp()
        self.kernel = os.environ.get('CCA_GUEST_KERNEL')
        self.initrd = os.environ.get('CCA_GUEST_INITRD')
        # Deliberately a failure, not a skip: a CI run must not pass
        # without having booted the realm.
        if not self.kernel or not self.initrd:
            self.fail('CCA_GUEST_KERNEL and CCA_GUEST_INITRD are not set: '
                      'run  eval "$(bash scripts/mkinitramfs)"  in the '
                      'project before this test')
        for var, path in (('CCA_GUEST_KERNEL', self.kernel),
                          ('CCA_GUEST_INITRD', self.initrd)):
            if not os.path.isfile(path):
                self.fail(f'{var}={path} is not a file: run  eval "$(bash '
                          'scripts/mkinitramfs)"  in the project first')
        self._consoles = {}

    # ---- console helpers ------------------------------------------------

    def console(self, vm=None):
        """The console of @vm (default: self.vm), read from its launch on."""
        return self._consoles[vm or self.vm]

    def console_wait(self, pattern, timeout, vm=None, failures=BOOT_FAILURES):
        """
        Wait until the regular expression @pattern (bytes) matches what
        the guest printed since the last match or command.  Fails the
        test on one of @failures, at the console's end (QEMU gone) or
        after @timeout seconds.  Returns (match, the text up to its end).
        """
        return self.console(vm).wait(pattern, timeout, failures)

    def boot(self, realm, smp=1, rme_opts='', extra_args=(), vm=None):
        """Launch the guest and wait for its shell prompt."""
        # Before self.vm exists: it takes the machine type when created.
        self.set_machine('virt')
        self.require_accelerator('tcg')
        vm = vm or self.vm
        vm.set_console()
        if realm:
            vm.add_args('-machine', 'confidential-guest-support=rme0',
                        '-object', 'rme-guest,id=rme0' + rme_opts)
        vm.add_args('-accel', 'tcg',
                    '-cpu', 'max',
                    '-m', '1G',
                    '-smp', str(smp),
                    '-nic', 'none',
                    '-kernel', self.kernel,
                    '-initrd', self.initrd,
                    '-append', REALM_APPEND if realm else VM_APPEND,
                    *extra_args)
        start = time.monotonic()
        vm.launch()
        self._consoles[vm] = cca_common.GuestConsole.of_socket(
            'realm' if realm else 'vm', vm.console_socket,
            logging.getLogger('console'))
        self.console_wait(rb'CCA-GUEST: ready', BOOT_TIMEOUT, vm=vm)
        self.console_wait(rb'guest# ', CMD_TIMEOUT, vm=vm)
        self.log.info('%s booted in %.1f s', 'realm' if realm else 'VM',
                      time.monotonic() - start)

    def guest_run(self, cmd, timeout=CMD_TIMEOUT, vm=None, check=True):
        """
        Run @cmd in the guest shell; returns (exit status, output text).
        With @check, a non-zero status fails the test.
        """
        rc, text = self.console(vm).run(cmd, timeout)
        if check:
            self.assertEqual(rc, 0, f'guest command {cmd!r} failed:\n{text}')
        return rc, text

    @staticmethod
    def parse_kv(text, prefix):
        """'PREFIX: key=value' lines -> {key: [values]}"""
        res = {}
        for m in re.finditer(rf'{prefix}: ([\w.-]+)=(.*)', text):
            res.setdefault(m.group(1), []).append(m.group(2).strip())
        return res

    def cca_info(self, vm=None):
        _, text = self.guest_run('cca-info', vm=vm)
        self.assertIn('CCA-INFO: end', text)
        info = self.parse_kv(text, 'CCA-INFO')
        return {k: v[0] for k, v in info.items() if k != 'dmesg'}, \
            info.get('dmesg', [])

    def cca_attest(self, challenge=None, vm=None, check=True):
        cmd = 'cca-attest' + (f' {challenge}' if challenge else '')
        rc, text = self.guest_run(cmd, vm=vm, check=check)
        return rc, {k: v[-1] for k, v in
                    self.parse_kv(text, 'CCA-ATTEST').items()}

    def memstress(self, mib=MEMSTRESS_MIB, seed=0x5eed, vm=None):
        start = time.monotonic()
        _, text = self.guest_run(f'memstress fill {mib} {seed} /tmp/f',
                                 timeout=MEMSTRESS_TIMEOUT, vm=vm)
        self.assertIn('MEMSTRESS: verify OK', text)
        _, text = self.guest_run(f'memstress verify {mib} {seed} /tmp/f',
                                 timeout=MEMSTRESS_TIMEOUT, vm=vm)
        self.assertIn('MEMSTRESS: verify OK', text)
        self.assertNotIn('verify FAIL', text)
        self.guest_run('rm -f /tmp/f', vm=vm)
        self.log.info('memstress %d MiB: %.1f s', mib,
                      time.monotonic() - start)

    # ---- checks ---------------------------------------------------------

    def assert_realm(self, info, dmesg, cpus):
        self.assertEqual(info.get('arm-cca-dev'), 'yes')
        self.assertEqual(info.get('tsm-report'), 'yes')
        self.assertIn(info.get('module-arm_cca_guest'), ('loaded', 'builtin'))
        self.assertEqual(info.get('cpus'), str(cpus))
        self.assertTrue(any('RME: Using RSI version' in l for l in dmesg),
                        f'no RME line in dmesg: {dmesg}')
        smccc = [re.search(r'SMC Calling Convention v(\d+)\.(\d+)', l)
                 for l in dmesg]
        smccc = [(int(m.group(1)), int(m.group(2))) for m in smccc if m]
        self.assertTrue(smccc, f'no SMCCC version in dmesg: {dmesg}')
        self.assertGreaterEqual(smccc[0], (1, 1))
        self.assertTrue(any('software IO TLB: mapped' in l for l in dmesg),
                        f'swiotlb not mapped: {dmesg}')

    def assert_token(self, att):
        self.assertEqual(att.get('result'), 'ok', att)
        self.assertEqual(att.get('provider'), 'arm_cca_guest')
        self.assertGreater(int(att.get('outblob-size', '0')), 0)
        self.assertTrue(att.get('outblob-head', '').startswith(CCA_TOKEN_TAG),
                        f'not a CCA token (CBOR tag 399): {att}')

    def token_contains(self, hexstr, vm=None):
        """Whether the last token (/tmp/cca-attest.outblob) holds @hexstr."""
        rc, _ = self.guest_run('od -An -tx1 -v /tmp/cca-attest.outblob | '
                               f"tr -d ' \\n' | grep -q {hexstr}",
                               vm=vm, check=False)
        return rc == 0

    # ---- tests ----------------------------------------------------------

    def test_realm_1cpu(self):
        self.boot(realm=True, smp=1)
        info, dmesg = self.cca_info()
        self.assert_realm(info, dmesg, cpus=1)

        challenge = hashlib.sha512(b'cca-realm-challenge').hexdigest()
        _, att = self.cca_attest(challenge)
        self.assert_token(att)
        self.assertEqual(att.get('inblob'), challenge)
        # The challenge is in the realm token, and the default hash
        # algorithm is SHA-512.
        self.assertTrue(self.token_contains(challenge))
        self.assertTrue(self.token_contains(b'sha-512'.hex()))

        self.memstress()

    def test_realm_larger_than_host(self):
        """
        A realm of twice the host's RAM starts with a memory backend of
        reserve=off (both its RAM and its protected memory then reserve
        no swap), sees all of it, and the host holds only what it
        touched.
        """
        host = cca_common.host_mem_total()
        gib = 2 * (host >> 30) + 2
        self.boot(realm=True, extra_args=(
            '-object', f'memory-backend-ram,id=m0,size={gib}G,reserve=off',
            '-machine', 'memory-backend=m0', '-m', f'{gib}G'))
        _, text = self.guest_run('grep MemTotal /proc/meminfo')
        kib = int(text.split('MemTotal:')[1].split()[0])
        # The kernel keeps about 2 % (its memory map, page tables).
        self.assertGreater(kib, (gib << 20) * 95 // 100, text)
        self.memstress()
        with open(f'/proc/{self.vm.get_pid()}/status') as f:
            rss = next(int(line.split()[1]) << 10 for line in f
                       if line.startswith('VmRSS:'))
        self.log.info('a %d GiB realm on a host of %d MiB: QEMU RSS %d MiB',
                      gib, host >> 20, rss >> 20)
        self.assertLess(rss, host // 2)

    def test_realm_aborts(self):
        # A realm access to protected IPA space with no RAM behind it, or
        # beyond the IPA space, takes a synchronous external abort: the
        # guest process gets SIGBUS (status 128 + 7), QEMU goes on.  The
        # same device at its unprotected alias reads fine.
        self.boot(realm=True, smp=1)
        for addr in ('0x0c000000',        # protected, nothing there
                     '0x30000000000'):    # >= 2^41
            rc, out = self.guest_run(f'devmem {addr}', check=False)
            self.assertEqual(rc, 135, f'devmem {addr}: {out}')
            self.assertIn('Bus error', out)
        # PL011 UARTPeriphID0 (0xfe0) at the alias: 0x11
        rc, out = self.guest_run('devmem 0x10009000fe0 32')
        self.assertEqual(int(out.strip().splitlines()[-1], 16), 0x11)
        info, dmesg = self.cca_info()
        self.assertEqual(info.get('arm-cca-dev'), 'yes')

    def realm_rim(self):
        """The RIM claim (key 44238, a 64-byte bstr) of a fresh token."""
        _, att = self.cca_attest()
        self.assert_token(att)
        _, out = self.guest_run('od -An -tx1 -v /tmp/cca-attest.outblob')
        token = re.sub(r'[^0-9a-f]', '', out.split('\n', 1)[-1])
        m = re.search(r'19acce5840([0-9a-f]{128})', token)
        self.assertIsNotNone(m, 'no RIM claim in the token')
        return m.group(1)

    def test_realm_reset(self):
        # A guest reset (PSCI SYSTEM_RESET) destroys the realm and builds
        # a new one, with the same initial measurement, that boots again.
        self.boot(realm=True, smp=2)
        rim = self.realm_rim()
        self.assertNotEqual(rim, '0' * 128)
        self.console().send('echo b > /proc/sysrq-trigger\r')
        self.console_wait(rb'Booting Linux', BOOT_TIMEOUT)
        self.console_wait(rb'CCA-GUEST: ready', BOOT_TIMEOUT)
        self.console_wait(rb'guest# ', CMD_TIMEOUT)
        info, dmesg = self.cca_info()
        self.assert_realm(info, dmesg, cpus=2)
        self.assertEqual(self.realm_rim(), rim)

    def test_realm_2cpu_virtio(self):
        disk = self.scratch_file('disk.img')
        pattern = b''.join(hashlib.sha256(i.to_bytes(4, 'little')).digest()
                           for i in range((8 << 20) // 32))
        with open(disk, 'wb') as f:
            f.write(pattern)
        md5 = hashlib.md5(pattern).hexdigest()

        self.boot(realm=True, smp=2, extra_args=(
            '-drive', f'file={disk},if=none,id=d0,format=raw',
            '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on',
            '-device', 'virtio-rng-pci,disable-legacy=on'))
        info, dmesg = self.cca_info()
        self.assert_realm(info, dmesg, cpus=2)

        # virtio-blk: the whole disk through the bounce buffers.
        _, text = self.guest_run('md5sum /dev/vda')
        self.assertIn(f'{md5}  /dev/vda', text)

        # virtio-rng: the current hwrng is virtio's and it gives data.
        _, text = self.guest_run('cat /sys/class/misc/hw_random/rng_current')
        self.assertIn('virtio_rng', text)
        _, text = self.guest_run('dd if=/dev/hwrng bs=64 count=1 2>/dev/null'
                                 " | od -An -tx1 -v | tr -d ' \\n'; echo")
        rnd = re.search(r'\b([0-9a-f]{128})\b', text)
        self.assertIsNotNone(rnd, f'no 64 bytes from /dev/hwrng: {text!r}')
        self.assertNotEqual(rnd.group(1), '0' * 128)

    def test_realm_sha256_personalization(self):
        rpv = hashlib.sha512(b'cca-realm-personalization').digest()
        identity, instance_id = cca_common.make_identity(
            self.scratch_file('identity'), 'platform')
        self.boot(realm=True, smp=1,
                  rme_opts=',measurement-algorithm=sha256,'
                           'personalization-value=' +
                           base64.b64encode(rpv).decode() +
                           ',platform-identity=' + identity)
        info, dmesg = self.cca_info()
        self.assert_realm(info, dmesg, cpus=1)
        _, att = self.cca_attest()
        self.assert_token(att)
        # The token names SHA-256 and carries the personalization value.
        self.assertTrue(self.token_contains(b'sha-256'.hex()))
        self.assertFalse(self.token_contains(b'sha-512'.hex()))
        self.assertTrue(self.token_contains(rpv.hex()))
        # The platform token is the identity's: its instance ID claim
        # (256, a 33-byte bstr) is derived from the identity's key.
        self.assertTrue(self.token_contains('190100' + '5821' +
                                            instance_id.hex()))

    def hw_breakpoints(self, vm=None):
        """What the guest kernel found: (breakpoints, watchpoints)."""
        _, out = self.guest_run('dmesg | grep hw-breakpoint', vm=vm)
        m = re.search(r'found (\d+) breakpoint and (\d+) watchpoint', out)
        self.assertIsNotNone(m, f'no hw-breakpoint line: {out!r}')
        return int(m.group(1)), int(m.group(2))

    def test_realm_debug_registers(self):
        # num-breakpoints / num-watchpoints: the realm's vCPUs have that
        # many (the guest's kernel counts them from ID_AA64DFR0_EL1), and
        # the counts are measured (RmiRealmParams num_bps, num_wps: the
        # RIM differs).  More than the vCPU model has is refused at start.
        self.set_machine('virt')
        self.require_accelerator('tcg')
        res = subprocess.run(
            [self.qemu_bin, '-M', 'virt,confidential-guest-support=rme0',
             '-object', 'rme-guest,id=rme0,num-breakpoints=7',
             '-accel', 'tcg', '-cpu', 'max', '-m', '256M',
             '-kernel', self.kernel, '-display', 'none', '-serial', 'none',
             '-monitor', 'none'],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn('rme-guest: num-breakpoints=7, but the vCPU model has '
                      '6 breakpoints: between 2 and 6', res.stderr)

        self.boot(realm=True, smp=1)
        self.assertEqual(self.hw_breakpoints(), (6, 4))
        rim = self.realm_rim()
        self.vm.shutdown()
        vm = self.get_vm(name='few-debug')
        self.boot(realm=True, smp=1, vm=vm,
                  rme_opts=',num-breakpoints=2,num-watchpoints=3')
        self.assertEqual(self.hw_breakpoints(vm=vm), (2, 3))
        _, att = self.cca_attest(vm=vm)
        self.assert_token(att)
        self.assertFalse(self.token_contains(rim, vm=vm),
                         'the same RIM with other debug register counts')

    def refused(self, rme_opts, cpu='max'):
        """Start a realm that must be refused: QEMU's error output."""
        res = subprocess.run(
            [self.qemu_bin, '-M', 'virt,confidential-guest-support=rme0',
             '-object', 'rme-guest,id=rme0' + rme_opts,
             '-accel', 'tcg', '-cpu', cpu, '-m', '256M',
             '-kernel', self.kernel, '-display', 'none', '-serial', 'none',
             '-monitor', 'none'],
            capture_output=True, text=True, timeout=60, check=False)
        self.assertNotEqual(res.returncode, 0, res.stderr)
        return res.stderr

    def features(self, vm=None):
        """What the guest's kernel found: SVE vector bytes, SME, PMU."""
        _, out = self.guest_run(
            'dmesg | grep -E "SVE: maximum|SME: maximum|hw perfevents"; '
            'grep -m1 Features /proc/cpuinfo', vm=vm)
        sve = re.search(r'SVE: maximum available vector length (\d+) bytes',
                        out)
        pmu = re.search(r'hw perfevents: enabled with \S+ PMU driver, '
                        r'(\d+) (?:\(\S+\) )?counters', out)
        feats = re.search(r'Features\s*:(.*)', out)
        self.assertIsNotNone(feats, f'no Features line: {out!r}')
        return {'sve': int(sve.group(1)) if sve else 0,
                'sme': 'SME:' in out or ' sme' in feats.group(1),
                'sve-flag': ' sve' in feats.group(1) + ' ',
                'pmu': int(pmu.group(1)) if pmu else 0}

    def test_realm_sve_pmu(self):
        # sve-vector-length / num-pmu-counters: a realm on -cpu max sees
        # no SVE, SME or PMU unless its parameters give them, and then
        # exactly that vector length and that many counters (the kernel
        # counts the cycle counter too); both are measured (the RIM
        # differs).  What the vCPU model cannot give is refused at start.
        self.set_machine('virt')
        self.require_accelerator('tcg')
        self.assertIn('rme-guest: sve-vector-length=100: a multiple of 128 '
                      'up to 2048 bits, or 0 for no SVE',
                      self.refused(',sve-vector-length=100'))
        self.assertIn('rme-guest: sve-vector-length=256, but the vCPU model '
                      'has no SVE',
                      self.refused(',sve-vector-length=256', 'max,sve=off'))
        self.assertIn('rme-guest: sve-vector-length=384, but the vCPU model '
                      'has no 384-bit vectors (its longest: 512 bits)',
                      self.refused(',sve-vector-length=384', 'a64fx'))
        self.assertIn('rme-guest: sve-vector-length=512, but -cpu sets '
                      'the longest vector length to 256 bits',
                      self.refused(',sve-vector-length=512', 'max,sve256=on'))
        self.assertIn('rme-guest: num-pmu-counters=7, but the vCPU model '
                      'has 6: between 1 and 6, or 0 for no PMU',
                      self.refused(',num-pmu-counters=7'))
        self.assertIn('rme-guest: num-pmu-counters=2, but the vCPU model '
                      'has no PMU',
                      self.refused(',num-pmu-counters=2', 'max,pmu=off'))

        self.boot(realm=True, smp=1)
        self.assertEqual(self.features(),
                         {'sve': 0, 'sme': False, 'sve-flag': False,
                          'pmu': 0})
        rim = self.realm_rim()
        self.vm.shutdown()
        vm = self.get_vm(name='sve-pmu')
        self.boot(realm=True, smp=1, vm=vm,
                  rme_opts=',sve-vector-length=256,num-pmu-counters=4')
        self.assertEqual(self.features(vm=vm),
                         {'sve': 32, 'sme': False, 'sve-flag': True,
                          'pmu': 5})
        _, att = self.cca_attest(vm=vm)
        self.assert_token(att)
        self.assertFalse(self.token_contains(rim, vm=vm),
                         'the same RIM with SVE and a PMU')

    def test_plain_vm(self):
        self.boot(realm=False, smp=1)
        info, dmesg = self.cca_info()
        self.assertEqual(info.get('arm-cca-dev'), 'no')
        self.assertEqual(info.get('module-arm_cca_guest'), 'no')
        self.assertFalse(any('RME:' in l for l in dmesg),
                         f'RME line in a plain VM: {dmesg}')
        rc, att = self.cca_attest(check=False)
        self.assertNotEqual(rc, 0)
        self.assertNotEqual(att.get('result'), 'ok')
        self.assertNotEqual(att.get('provider'), 'arm_cca_guest')
        self.memstress()


if __name__ == '__main__':
    QemuSystemTest.main()
