#!/usr/bin/env python3
#
# Functional tests of configurations an Arm CCA realm (rme-guest) rejects:
# QEMU must exit with status 1 and print one error line naming the
# offending option, without starting the guest.
#
# Run (in the build directory, after scripts/build):
#
#   meson test --no-rebuild func-aarch64-cca_realm_config
#
# No guest is booted: a dummy kernel image is enough, the errors come
# before it would run.
#
# Copyright (c) 2026 The QEMU CCA migration authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import base64
import os
import resource
import subprocess

from qemu_test import QemuSystemTest


# QEMU only has to parse the command line and build the machine; a
# configuration it wrongly accepts runs the guest until this timeout.
RUN_TIMEOUT = 30


class CcaRealmConfig(QemuSystemTest):
    """Configuration errors of rme-guest / virt confidential-guest-support."""

    def setUp(self):
        super().setUp()
        self.set_machine('virt')
        self.require_accelerator('tcg')
        # Never executed: the configurations here fail before the guest runs.
        self.kernel = self.scratch_file('dummy-Image')
        with open(self.kernel, 'wb') as f:
            f.write(bytes(64 * 1024))
        self.prog = os.path.basename(self.qemu_bin)

    def run_qemu(self, args, max_vm=None):
        """
        QEMU with @args; with @max_vm, its address space is limited to
        that many bytes (RLIMIT_AS), whatever the host's overcommit policy.
        """
        cmd = [self.qemu_bin, '-display', 'none', '-serial', 'none',
               '-monitor', 'none', '-nic', 'none'] + list(args)
        limit = None
        if max_vm:
            def limit():
                resource.setrlimit(resource.RLIMIT_AS, (max_vm, max_vm))
        self.log.info('running: %s (address space limit %s)',
                      ' '.join(cmd), max_vm)
        try:
            res = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True,
                                 timeout=RUN_TIMEOUT, check=False,
                                 preexec_fn=limit)
        except subprocess.TimeoutExpired as e:
            self.fail(f'QEMU did not exit within {RUN_TIMEOUT} s (it accepted '
                      f'the configuration?): {" ".join(cmd)}\n'
                      f'stderr: {e.stderr!r}')
        self.log.info('exit status %d\nstdout: %r\nstderr: %r',
                      res.returncode, res.stdout, res.stderr)
        return res

    def realm_args(self, machine_opts='', rme_opts='', kernel=True,
                   extra=(), machine='virt', cpu='max', mem='1G'):
        args = ['-M', f'{machine},confidential-guest-support=rme0'
                      + machine_opts,
                '-object', 'rme-guest,id=rme0' + rme_opts,
                '-accel', 'tcg', '-cpu', cpu, '-m', mem]
        if kernel:
            args += ['-kernel', self.kernel]
        return args + list(extra)

    def assert_config_error(self, args, *expected, absent=(), max_vm=None):
        """
        QEMU run with @args exits with status 1, prints nothing on stdout
        and exactly one line on stderr, "<prog>: <message>", that contains
        each string of @expected and none of @absent.  Returns the line.
        """
        res = self.run_qemu(args, max_vm)
        cmdline = ' '.join([self.prog] + list(args))
        lines = res.stderr.splitlines()
        self.assertEqual(res.returncode, 1,
                         f'exit status of {cmdline}\nstderr: {res.stderr}')
        self.assertEqual(res.stdout, '', f'stdout of {cmdline}')
        self.assertEqual(len(lines), 1,
                         f'want one error line from {cmdline}, got:\n'
                         f'{res.stderr}')
        line = lines[0]
        self.assertTrue(line.startswith(self.prog + ': '), line)
        for s in expected:
            self.assertIn(s, line, f'error message of {cmdline}')
        for s in absent:
            self.assertNotIn(s, line, f'error message of {cmdline}')
        return line

    # ---- rme-guest properties --------------------------------------------

    def test_measurement_algorithm_md5(self):
        self.assert_config_error(
            self.realm_args(rme_opts=',measurement-algorithm=md5'),
            "-object rme-guest,id=rme0,measurement-algorithm=md5: "
            "Parameter 'measurement-algorithm' does not accept value 'md5'")

    def test_platform_identity_missing(self):
        path = self.scratch_file('no-such-identity.pem')
        self.assert_config_error(
            self.realm_args(rme_opts=',platform-identity=' + path),
            'rme-guest: platform-identity: Failed to open file',
            'no-such-identity.pem')

    def test_platform_identity_no_key(self):
        # A certificate alone (here: garbage) is not an identity.
        path = self.scratch_file('not-an-identity.pem')
        with open(path, 'w', encoding='ascii') as f:
            f.write('-----BEGIN CERTIFICATE-----\nAAAA\n'
                    '-----END CERTIFICATE-----\n')
        self.assert_config_error(
            self.realm_args(rme_opts=',platform-identity=' + path),
            f"rme-guest: platform-identity '{path}': no unencrypted "
            'private key')

    def test_migration_policy_bad_text(self):
        # Bad policy text is refused when QEMU starts, naming the line
        # (docs/system/arm/cca-migration.rst, "Migration policy").
        path = self.scratch_file('bad-policy.pem')
        cert = ('-----BEGIN CERTIFICATE-----\nAAAA\n'
                '-----END CERTIFICATE-----\n')
        with open(path, 'w', encoding='ascii') as f:
            f.write('-----BEGIN CCA MIGRATION REQUIREMENTS-----\n'
                    'colour blue\n'
                    '-----END CCA MIGRATION REQUIREMENTS-----\n' + cert)
        self.assert_config_error(
            self.realm_args(rme_opts=',migration-policy=' + path),
            f"rme-guest: migration-policy '{path}': migration policy "
            "line 2: unknown requirement 'colour'")
        with open(path, 'w', encoding='ascii') as f:
            f.write(cert)
        self.assert_config_error(
            self.realm_args(rme_opts=',migration-policy=' + path),
            f"rme-guest: migration-policy '{path}': migration policy "
            'line 1: CERTIFICATE is not an X.509 certificate')

    def test_personalization_value_not_base64(self):
        self.assert_config_error(
            self.realm_args(rme_opts=',personalization-value=@not*base64@'),
            'rme-guest: personalization-value: '
            'Base64 data contains invalid characters')

    def test_personalization_value_short(self):
        rpv = base64.b64encode(bytes(32)).decode()
        self.assert_config_error(
            self.realm_args(rme_opts=',personalization-value=' + rpv),
            'rme-guest: personalization-value must be 64 bytes '
            '(base64 encoded), got 32')

    def test_personalization_value_long(self):
        rpv = base64.b64encode(bytes(65)).decode()
        self.assert_config_error(
            self.realm_args(rme_opts=',personalization-value=' + rpv),
            'rme-guest: personalization-value must be 64 bytes '
            '(base64 encoded), got 65')

    def test_personalization_value_empty(self):
        self.assert_config_error(
            self.realm_args(rme_opts=',personalization-value='),
            'rme-guest: personalization-value must be 64 bytes '
            '(base64 encoded), got 0')

    def test_missing_rme_guest_object(self):
        args = self.realm_args()
        i = args.index('-object')
        del args[i:i + 2]
        self.assert_config_error(args, "Device 'rme0' not found")

    # ---- machine options -------------------------------------------------

    def test_secure_on(self):
        self.assert_config_error(
            self.realm_args(machine_opts=',secure=on'),
            'rme-guest: a realm cannot have secure=on '
            '(the RMM owns EL3 and the secure state)')

    def test_virtualization_on(self):
        self.assert_config_error(
            self.realm_args(machine_opts=',virtualization=on'),
            'rme-guest: a realm cannot have virtualization=on '
            '(realm vCPUs run at EL1 under the RMM)')

    def test_mte_on(self):
        self.assert_config_error(
            self.realm_args(machine_opts=',mte=on'),
            'rme-guest: a realm cannot have mte=on')

    def assert_machine_rejected(self, args, machine):
        # The machine, not the accelerator, lacks realm support: the
        # message must say so.
        line = self.assert_config_error(args, 'rme-guest',
                                        absent=('accelerator',))
        self.assertTrue('virt' in line or machine in line
                        or 'machine' in line,
                        f'{line!r} does not name the machine')

    def test_machine_none(self):
        self.assert_machine_rejected(
            self.realm_args(machine='none', kernel=False), 'none')

    def test_machine_sbsa_ref(self):
        self.set_machine('sbsa-ref')
        # The Debian source has no VGA BIOS blobs: without this the board
        # stops at 'failed to find romfile "vgabios-bochs-display.bin"'.
        self.assert_machine_rejected(
            self.realm_args(machine='sbsa-ref', kernel=False,
                            extra=('-global', 'bochs-display.romfile=')),
            'sbsa-ref')

    # ---- vCPUs -----------------------------------------------------------

    def test_smp_above_limit(self):
        # The emulated RMM's limit (RMM_MAX_RECS, 512, rme-tcg.c) is the virt
        # board's:
        # the board's check comes first.
        self.assert_config_error(
            self.realm_args(extra=('-smp', '513')),
            'Invalid SMP CPUs 513. The max CPUs supported by machine',
            'is 512')

    def test_cpu_aarch32(self):
        self.assert_config_error(
            self.realm_args(cpu='cortex-a15'),
            'rme-guest: realm vCPUs run AArch64: -cpu cortex-a15-arm-cpu '
            'has no AArch64')

    # ---- boot ------------------------------------------------------------

    def test_no_kernel(self):
        self.assert_config_error(
            self.realm_args(kernel=False),
            'rme-guest: a realm boots a kernel directly: -kernel is required '
            '(firmware boot is not supported)')

    # ---- accelerators ----------------------------------------------------

    def test_accel_qtest(self):
        args = self.realm_args()
        args[args.index('tcg')] = 'qtest'
        self.assert_config_error(
            args,
            'rme-guest: no realm backend for accelerator QTest; '
            'realms run with -accel tcg (emulated RMM)')

    def test_accel_kvm(self):
        # KVM cannot be built into an aarch64 QEMU on a non-Arm host; then
        # the generic accelerator error is all there is.  With KVM, the
        # realm check must reject it as it does qtest.
        args = self.realm_args()
        args[args.index('tcg')] = 'kvm'
        line = self.assert_config_error(args, 'kvm')
        self.assertTrue('invalid accelerator kvm' in line
                        or 'rme-guest: no realm backend for accelerator'
                        in line, line)

    # ---- memory ----------------------------------------------------------

    def test_memory_hotplug(self):
        self.assert_config_error(
            self.realm_args(mem='1G,maxmem=2G,slots=1'),
            'rme-guest: memory hotplug (-m maxmem/slots) is not supported '
            'with a realm')

    def test_memory_2t(self):
        # 2 TiB fits the IPA space of -cpu max; it is the host that cannot
        # provide it: QEMU runs with 64 GiB of address space, so this
        # holds whatever the host's overcommit policy (with
        # vm.overcommit_memory=1 the host would map 2 TiB).
        self.assert_config_error(
            self.realm_args(mem='2T'),
            "cannot set up guest memory 'mach-virt.ram': "
            'Cannot allocate memory', max_vm=64 << 30)

    def test_memory_beyond_ipa(self):
        # cortex-a53: 40-bit PA, so the protected half of a realm's IPA
        # space is 39 bits (512 GiB); 1 TiB of RAM cannot be mapped there.
        # The RAM backend reserves no swap space, so the host can create it.
        self.assert_config_error(
            self.realm_args(cpu='cortex-a53', mem='1T',
                            machine_opts=',memory-backend=ram0',
                            extra=('-object', 'memory-backend-ram,id=ram0,'
                                   'size=1T,reserve=off')),
            'Addressing limited to 39 bits, but memory exceeds it by '
            '550829555712 bytes')


if __name__ == '__main__':
    QemuSystemTest.main()
