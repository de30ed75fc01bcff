#!/usr/bin/python3
#
# The summary of scripts/qtest-suite: sorts each test of a meson test run
# (its JSON log) into ok, skipped by the test itself, skipped because a
# firmware file could not be provided (scripts/qtest-suite lists those,
# with the reason), and failed.  Prints a line per test that is not ok
# and "qtest-aarch64: N ok, S skipped, F failed" last; exits 1 if any
# test failed.
#
# bios-tables-test compares the ACPI tables that the firmware leaves in
# guest memory with tests/data/acpi.  Two of them hold addresses the
# firmware chose (it allocates the blobs QEMU's linker/loader script
# names): HEST points at the error status blocks, SSDT.memhp at the
# NVDIMM DSM buffer.  The expected files were made with QEMU's own edk2
# build, which Debian's source leaves out; Debian's AAVMF allocates
# elsewhere.  When bios-tables-test fails, each of its cases runs on its
# own: a case whose only mismatches are in those tables, and there only
# in the table's checksum and in addresses that all moved by the same
# offset, is counted as skipped with that reason; any other mismatch or
# failure fails.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys

NOT_FOUND = re.compile(r"(?:Could not find (?:ROM|vbootrom) image|"
                       r"failed to find romfile|Could not open) "
                       r"['\"](?:pc-bios/)?([^'\":]+)")
MISMATCH = re.compile(r"Warning! (\S+) binary file mismatch\. "
                      r"Actual \[aml:([^\]]+)\], Expected \[aml:([^\]]+)\]")
FIRMWARE_ADDRESS_TABLES = {
    'HEST': 'the error status blocks',
    'SSDT.memhp': 'the NVDIMM DSM buffer',
}
CHECKSUM_OFFSET = 9


def missing_files(path):
    missing = {}
    with open(path) as f:
        for line in f:
            name, why = line.rstrip('\n').split('\t', 1)
            missing[name] = why
    return missing


def firmware_reason(output, missing):
    """Why the test failed for missing firmware, or None if it did not
    (only) fail for that."""
    files = sorted({m.group(1) for m in NOT_FOUND.finditer(output)})
    why = []
    for name in files:
        pattern = next((p for p in missing if fnmatch.fnmatch(name, p)), None)
        if pattern is None:
            return None
        why.append(f'{name}: {missing[pattern]}')
    return '; '.join(why) or None


def pointer_only_diff(actual, expected):
    """True if two tables differ only in the checksum and in addresses
    moved by one and the same whole number of pages (the firmware put
    the blob they point into elsewhere), and the actual table's checksum
    holds."""
    with open(actual, 'rb') as f:
        a = f.read()
    with open(expected, 'rb') as f:
        e = f.read()
    if len(a) != len(e) or sum(a) % 256:
        return False
    diff = [i for i in range(len(a)) if a[i] != e[i] and i != CHECKSUM_OFFSET]
    if not diff:
        return False

    def delta(p):
        if p < 0 or p + 8 > len(a) or p <= CHECKSUM_OFFSET < p + 8:
            return None
        return (int.from_bytes(a[p:p + 8], 'little') -
                int.from_bytes(e[p:p + 8], 'little'))

    def covered(d, moved):
        """Every differing byte lies in an 8-byte little-endian field
        that moved by @moved."""
        end = -1
        for i in diff:
            if i <= end:
                continue
            p = next((p for p in range(i - 7, i + 1) if delta(p) == moved),
                     None)
            if p is None:
                return False
            end = p + 7
        return True

    # The firmware allocates pages: a blob moves by whole pages.
    return any(covered(diff, delta(p)) for p in range(diff[0] - 7, diff[0] + 1)
               if delta(p) not in (None, 0) and delta(p) % 4096 == 0)


def bios_tables_cases(build, binary):
    """Runs each case of bios-tables-test on its own; yields (case,
    status, why) with status 'ok', 'skip' or 'fail'."""
    env = dict(os.environ, QTEST_QEMU_BINARY=binary)
    prog = './tests/qtest/bios-tables-test'
    listing = subprocess.run([prog, '-l'], cwd=build, env=env, check=True,
                             capture_output=True, text=True).stdout
    cases = [line for line in listing.splitlines()
             if re.fullmatch(r'/[A-Za-z0-9_]+/\S+', line)]
    for case in cases:
        # -p runs a path and the paths below it: skip those.
        skip = [a for c in cases if c != case and c.startswith(case + '/')
                for a in ('-s', c)]
        try:
            r = subprocess.run([prog, '--tap', '-p', case] + skip, cwd=build,
                               env=env, capture_output=True, text=True,
                               timeout=600)
        except subprocess.TimeoutExpired:
            yield case, 'fail', 'timed out after 600 s'
            continue
        out = r.stdout + r.stderr
        mismatches = MISMATCH.findall(out)
        if r.returncode == 0:
            yield case, 'ok', ''
        elif not mismatches:
            yield case, 'fail', f'exit {r.returncode}'
        else:
            why, bad = [], []
            for _sig, actual, expected in mismatches:
                table = os.path.basename(expected)
                path = os.path.join(build, expected)
                if (table in FIRMWARE_ADDRESS_TABLES and
                        os.path.exists(path) and
                        pointer_only_diff(actual, path)):
                    why.append(f'{table} differs only in the address of '
                               f'{FIRMWARE_ADDRESS_TABLES[table]}, which '
                               f'the firmware chose')
                else:
                    bad.append(f'{table} differs')
            if bad:
                yield case, 'fail', '; '.join(bad)
            else:
                yield case, 'skip', '; '.join(why) + (
                    " (expected tables made with QEMU's own edk2 build, "
                    "not in Debian's source; Debian's AAVMF in use)")
        for _sig, actual, _expected in mismatches:
            if actual.startswith('/tmp/aml-') and os.path.exists(actual):
                os.unlink(actual)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log', required=True)
    ap.add_argument('--missing', required=True)
    ap.add_argument('--meson-rc', type=int, default=0)
    ap.add_argument('--build', required=True)
    ap.add_argument('--binary', default='./qemu-system-aarch64')
    args = ap.parse_args()

    missing = missing_files(args.missing)
    ok, skipped, failed, notes = [], [], [], []
    cases_skipped = 0
    with open(args.log) as f:
        tests = [json.loads(line) for line in f if line.strip()]
    for t in tests:
        name, result = t['name'].split('/')[-1], t['result']
        out = (t.get('stdout') or '') + (t.get('stderr') or '')
        if result == 'OK':
            ok.append(name)
            continue
        if result == 'SKIP':
            why = re.search(r'# SKIP (.+)', out)
            skipped.append((name, 'skipped by the test itself' +
                            (f': {why.group(1)}' if why else
                             ' (it ran no case)' if '1..0' in out else '')))
            continue
        why = firmware_reason(out, missing)
        if why:
            skipped.append((name, why))
            continue
        if name == 'bios-tables-test':
            print(f'qtest-aarch64: {name} failed ({result}): '
                  'running each of its cases on its own', flush=True)
            results = list(bios_tables_cases(args.build, args.binary))
            for case, status, why in results:
                print(f'qtest-aarch64:   {case}: {status.upper()}'
                      + (f': {why}' if why else ''), flush=True)
            if any(s == 'fail' for _c, s, _w in results):
                failed.append((name, 'a case failed'))
            else:
                n = sum(s == 'skip' for _c, s, _w in results)
                cases_skipped += n
                ok.append(name)
                notes.append(f'{name}: {len(results) - n} of '
                             f'{len(results)} cases ok, {n} skipped')
            continue
        failed.append((name, result))

    for name, why in skipped:
        print(f'qtest-aarch64: SKIPPED {name}: {why}')
    for note in notes:
        print(f'qtest-aarch64: {note}')
    for name, result in failed:
        print(f'qtest-aarch64: FAILED {name} ({result})')
    print(f'qtest-aarch64: {len(ok)} ok, {len(skipped)} skipped, '
          f'{len(failed)} failed'
          + (f' ({cases_skipped} cases skipped in tests that ran)'
             if cases_skipped else ''))
    if args.meson_rc and not failed and len(skipped) == 0 and not notes:
        print(f'qtest-aarch64: meson test exited with {args.meson_rc}, '
              'but no test failed')
        return 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
