#!/usr/bin/python3
#
# Tests of tests/scripts/qtest-report.py, the summary of
# scripts/qtest-suite: what counts as skipped for missing firmware and
# what fails.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, 'qtest-report.py')
spec = importlib.util.spec_from_file_location('qtest_report', REPORT)
qr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(qr)


def table(body, address):
    """An ACPI-like table: 36-byte header, a body with an 8-byte address
    at offset 40, a valid checksum at offset 9."""
    t = bytearray(b'HEST' + bytes(32) + body)
    t[40:48] = address.to_bytes(8, 'little')
    t[9] = (-sum(t)) % 256
    return bytes(t)


class PointerOnlyDiff(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir.name, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_address_only(self):
        e = self.write('e', table(bytes(32), 0x43da0000))
        a = self.write('a', table(bytes(32), 0x47fd0000))
        self.assertTrue(qr.pointer_only_diff(a, e))

    def test_two_addresses_moved_alike(self):
        def two(base):
            t = bytearray(table(bytes(32), base))
            t[56:64] = (base + 0x100).to_bytes(8, 'little')
            t[9] = 0
            t[9] = (-sum(t)) % 256
            return bytes(t)
        e = self.write('e', two(0x43da0000))
        a = self.write('a', two(0x47fd0000))
        self.assertTrue(qr.pointer_only_diff(a, e))
        # The second address moved by another offset: not one blob.
        t = bytearray(two(0x47fd0000))
        t[56:64] = (0x43da0000 + 0x100 + 0x1000).to_bytes(8, 'little')
        t[9] = 0
        t[9] = (-sum(t)) % 256
        a = self.write('a2', bytes(t))
        self.assertFalse(qr.pointer_only_diff(a, e))

    def test_same_tables_are_not_an_address_difference(self):
        e = self.write('e', table(bytes(32), 0x43da0000))
        self.assertFalse(qr.pointer_only_diff(e, e))

    def test_longer_run_fails(self):
        body = bytes(32)
        e = self.write('e', table(body, 0x43da0000))
        t = bytearray(table(body, 0x47fd0000))
        t[48] ^= 1                      # a byte next to the address
        t[9] = 0
        t[9] = (-sum(t)) % 256
        a = self.write('a', bytes(t))
        self.assertFalse(qr.pointer_only_diff(a, e))

    def test_bad_checksum_fails(self):
        e = self.write('e', table(bytes(32), 0x43da0000))
        t = bytearray(table(bytes(32), 0x47fd0000))
        t[9] ^= 0x55
        a = self.write('a', bytes(t))
        self.assertFalse(qr.pointer_only_diff(a, e))

    def test_length_differs_fails(self):
        e = self.write('e', table(bytes(32), 0x43da0000))
        a = self.write('a', table(bytes(40), 0x47fd0000))
        self.assertFalse(qr.pointer_only_diff(a, e))


class Summary(unittest.TestCase):
    def run_report(self, tests, missing):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, 'log.json')
            with open(log, 'w') as f:
                for t in tests:
                    f.write(json.dumps(t) + '\n')
            mf = os.path.join(d, 'missing')
            with open(mf, 'w') as f:
                for name, why in missing.items():
                    f.write(f'{name}\t{why}\n')
            r = subprocess.run([sys.executable, REPORT, '--log', log,
                                '--missing', mf, '--meson-rc', '1',
                                '--build', d],
                               capture_output=True, text=True)
        return r.returncode, r.stdout

    def test_missing_firmware_is_a_skip(self):
        rc, out = self.run_report(
            [{'name': 'qtest-aarch64/ok-test', 'result': 'OK'},
             {'name': 'qtest-aarch64/ast2700-gpio-test', 'result': 'ERROR',
              'stdout': '', 'stderr': "qemu-system-aarch64: Could not find "
              "vbootrom image 'ast27x0_bootrom.bin'\n"}],
            {'ast27x0_bootrom.bin': 'its build failed'})
        self.assertEqual(rc, 0, out)
        self.assertIn('SKIPPED ast2700-gpio-test: ast27x0_bootrom.bin: '
                      'its build failed', out)
        self.assertIn('1 ok, 1 skipped, 0 failed', out)

    def test_glob_of_missing_files(self):
        rc, out = self.run_report(
            [{'name': 'qtest-aarch64/qos-test', 'result': 'ERROR',
              'stdout': 'qemu-system-aarch64: -device i82550: failed to '
              'find romfile "pxe-eepro100.rom"\n'}],
            {'pxe-*.rom': 'ipxe-qemu is not installed'})
        self.assertEqual(rc, 0, out)
        self.assertIn('SKIPPED qos-test: pxe-eepro100.rom: ipxe-qemu', out)

    def test_firmware_that_was_provided_fails(self):
        rc, out = self.run_report(
            [{'name': 'qtest-aarch64/qom-test', 'result': 'ERROR',
              'stdout': "Could not find ROM image 'npcm7xx_bootrom.bin'\n"}],
            {'ast27x0_bootrom.bin': 'its build failed'})
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED qom-test', out)

    def test_other_failure_fails(self):
        rc, out = self.run_report(
            [{'name': 'qtest-aarch64/migration-test', 'result': 'FAIL',
              'stdout': 'not ok 3 /aarch64/migration/precopy\n'}], {})
        self.assertEqual(rc, 1, out)
        self.assertIn('0 ok, 0 skipped, 1 failed', out)


if __name__ == '__main__':
    unittest.main()
