#!/usr/bin/python3
#
# Reference model of the Realm measurements of the Arm RMM specification
# (DEN0137 1.0, A7.1 "Realm measurements"), used to check the emulated
# RMM (qemu/target/arm/rmm/rmm-measure.c) against an independent
# computation: structures are built with struct.pack from the byte-offset
# tables of the specification, hashed with hashlib.
#
# Usage:
#   rim-reference.py TEST-BINARY
#       Runs "TEST-BINARY --vectors", which prints one line per measured
#       operation (its inputs and the resulting RIM or REM, all 64 bytes),
#       replays the operations on this model and compares every result.
#       The model keeps its own state: it never adopts a value printed by
#       the binary.  Exit status 0 when everything matches.
#   rim-reference.py --self-test
#       Only checks the layout tables and the hash plumbing.
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import hashlib
import struct
import subprocess
import sys

RMM_REALM_MEASUREMENT_WIDTH = 64        # C1.17: 512 bits
GRANULE_SIZE = 4096

# RmiHashAlgorithm (B4.4.7)
RMI_HASH_SHA_256 = 0
RMI_HASH_SHA_512 = 1

# RmiDataMeasureContent (B4.4.3), bit 0 of RmiDataFlags (B4.4.2)
RMI_NO_MEASURE_CONTENT = 0
RMI_MEASURE_CONTENT = 1

# RmiRecRunnable (B4.4.21), bit 0 of RmiRecCreateFlags (B4.4.13)
RMI_RUNNABLE = 1


class Layout:
    """A concrete structure of the specification: a byte width and a
    table of (member, byte offset, struct format).  Unused bits are 0."""

    def __init__(self, name, width, members):
        self.name = name
        self.width = width
        self.members = members
        used = bytearray(width)
        for member, off, fmt in members:
            size = struct.calcsize('<' + fmt)
            assert off + size <= width, (name, member)
            for i in range(off, off + size):
                assert not used[i], (name, member, 'overlaps')
                used[i] = 1

    def pack(self, **values):
        buf = bytearray(self.width)
        names = [m[0] for m in self.members]
        for key in values:
            assert key in names, (self.name, key)
        for member, off, fmt in self.members:
            if member in values:
                val = values[member]
                if isinstance(val, (list, tuple)):
                    struct.pack_into('<' + fmt, buf, off, *val)
                else:
                    struct.pack_into('<' + fmt, buf, off, val)
        return bytes(buf)


# B4.4.12 RmiRealmParams type: 4096 (0x1000) bytes
RMI_REALM_PARAMS = Layout('RmiRealmParams', 0x1000, [
    ('flags', 0x0, 'Q'),                # RmiRealmFlags
    ('s2sz', 0x8, 'B'),                 # UInt8
    ('sve_vl', 0x10, 'B'),              # UInt8
    ('num_bps', 0x18, 'B'),             # UInt8
    ('num_wps', 0x20, 'B'),             # UInt8
    ('pmu_num_ctrs', 0x28, 'B'),        # UInt8
    ('hash_algo', 0x30, 'B'),           # RmiHashAlgorithm, 8 bits
    ('rpv', 0x400, '64s'),              # Bits512
    ('vmid', 0x800, 'H'),               # Bits16
    ('rtt_base', 0x808, 'Q'),           # Address
    ('rtt_level_start', 0x810, 'q'),    # Int64
    ('rtt_num_start', 0x818, 'I'),      # UInt32
])

# B4.4.19 RmiRecParams type: 4096 (0x1000) bytes
RMI_REC_PARAMS = Layout('RmiRecParams', 0x1000, [
    ('flags', 0x0, 'Q'),                # RmiRecCreateFlags
    ('mpidr', 0x100, 'Q'),              # RmiRecMpidr
    ('pc', 0x200, 'Q'),                 # Bits64
    ('gprs', 0x300, '8Q'),              # Bits64 gprs[0..7] at 0x300..0x338
    ('num_aux', 0x800, 'Q'),            # UInt64
    ('aux', 0x808, '16Q'),              # Address aux[0..15]
])

# C1.11 RmmMeasurementDescriptorData type: 256 (0x100) bytes
DESC_DATA = Layout('RmmMeasurementDescriptorData', 0x100, [
    ('desc_type', 0x0, 'B'),            # Bits8, value 0x0
    ('len', 0x8, 'Q'),                  # UInt64
    ('rim', 0x10, '64s'),               # RmmRealmMeasurement
    ('ipa', 0x50, 'Q'),                 # Address
    ('flags', 0x58, 'Q'),               # RmmDataFlags
    ('content', 0x60, '64s'),           # RmmRealmMeasurement
])

# C1.12 RmmMeasurementDescriptorRec type: 256 (0x100) bytes
DESC_REC = Layout('RmmMeasurementDescriptorRec', 0x100, [
    ('desc_type', 0x0, 'B'),            # Bits8, value 0x1
    ('len', 0x8, 'Q'),                  # UInt64
    ('rim', 0x10, '64s'),               # RmmRealmMeasurement
    ('content', 0x50, '64s'),           # RmmRealmMeasurement
])

# C1.13 RmmMeasurementDescriptorRipas type: 256 (0x100) bytes
DESC_RIPAS = Layout('RmmMeasurementDescriptorRipas', 0x100, [
    ('desc_type', 0x0, 'B'),            # Bits8, value 0x2
    ('len', 0x8, 'Q'),                  # UInt64
    ('rim', 0x10, '64s'),               # RmmRealmMeasurement
    ('base', 0x50, 'Q'),                # Address
    ('top', 0x58, 'Q'),                 # Address
])

DESC_TYPE_DATA = 0x0
DESC_TYPE_REC = 0x1
DESC_TYPE_RIPAS = 0x2


def hash_len(algo):
    return {RMI_HASH_SHA_256: 32, RMI_HASH_SHA_512: 64}[algo]


def rha(algo, data):
    """The Realm Hash Algorithm; the result is a 512-bit measurement,
    "zero filling upper bytes if the RHA output is smaller"."""
    if algo == RMI_HASH_SHA_256:
        digest = hashlib.sha256(data).digest()
    elif algo == RMI_HASH_SHA_512:
        digest = hashlib.sha512(data).digest()
    else:
        raise ValueError('hash algorithm %d' % algo)
    return digest.ljust(RMM_REALM_MEASUREMENT_WIDTH, b'\0')


def rim_init(params):
    """B4.3.9.4 RMI_REALM_CREATE initialization of RIM."""
    measured = {k: params[k] for k in ('flags', 's2sz', 'sve_vl', 'num_bps',
                                       'num_wps', 'pmu_num_ctrs',
                                       'hash_algo')}
    return rha(params['hash_algo'], RMI_REALM_PARAMS.pack(**measured))


def rim_extend_ripas(algo, rim, base, top):
    """B4.3.18.4 RMI_RTT_INIT_RIPAS extension of RIM (one RTT entry)."""
    desc = DESC_RIPAS.pack(desc_type=DESC_TYPE_RIPAS, len=DESC_RIPAS.width,
                           rim=rim, base=base, top=top)
    return rha(algo, desc)


def rim_extend_data(algo, rim, ipa, flags, page):
    """B4.3.1.4 RMI_DATA_CREATE extension of RIM."""
    if flags & 1 == RMI_MEASURE_CONTENT:
        assert len(page) == GRANULE_SIZE
        content = rha(algo, page)
    else:
        content = bytes(RMM_REALM_MEASUREMENT_WIDTH)
    desc = DESC_DATA.pack(desc_type=DESC_TYPE_DATA, len=DESC_DATA.width,
                          rim=rim, ipa=ipa, flags=flags, content=content)
    return rha(algo, desc)


def rim_extend_rec(algo, rim, params):
    """B4.3.12.4 RMI_REC_CREATE extension of RIM: runnable RECs only."""
    if params['flags'] & 1 != RMI_RUNNABLE:
        return rim
    measured = RMI_REC_PARAMS.pack(flags=params['flags'], pc=params['pc'],
                                   gprs=params['gprs'])
    desc = DESC_REC.pack(desc_type=DESC_TYPE_REC, len=DESC_REC.width,
                         rim=rim, content=rha(algo, measured))
    return rha(algo, desc)


def rem_extend(algo, rem, value):
    """RSI_MEASUREMENT_EXTEND (B5.3.7) as TF-RMM computes it: the hash of
    the old REM (hash size) followed by the 0..64 value bytes."""
    assert len(value) <= 64
    return rha(algo, rem[:hash_len(algo)] + value)


def self_test():
    assert RMI_REALM_PARAMS.width == 4096 and RMI_REC_PARAMS.width == 4096
    for desc in (DESC_DATA, DESC_REC, DESC_RIPAS):
        assert desc.width == 256
    # gprs[7] at 0x338, aux[15] at 0x880 (B4.4.19)
    img = RMI_REC_PARAMS.pack(gprs=list(range(1, 9)), aux=[0] * 15 + [7])
    assert struct.unpack_from('<Q', img, 0x338)[0] == 8
    assert struct.unpack_from('<Q', img, 0x880)[0] == 7
    assert rha(RMI_HASH_SHA_256, b'abc')[:4].hex() == 'ba7816bf'
    assert rha(RMI_HASH_SHA_256, b'abc')[32:] == bytes(32)
    assert rha(RMI_HASH_SHA_512, b'abc')[:4].hex() == 'ddaf35a1'


def parse_line(line):
    words = line.split()
    fields = {}
    for word in words[1:]:
        key, _, val = word.partition('=')
        fields[key] = val
    return words[0], fields


def check_transcript(lines):
    errors = 0
    seen = set()
    algo = None
    rim = None
    rems = None
    checked = 0

    def compare(lineno, what, mine, theirs):
        nonlocal errors
        if mine != theirs:
            errors += 1
            print('line %d: %s mismatch\n  reference %s\n  emulated  %s'
                  % (lineno, what, mine.hex(), theirs.hex()))

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        op, f = parse_line(line)
        if op == 'realm':
            params = {
                'flags': int(f['flags'], 0), 's2sz': int(f['s2sz']),
                'sve_vl': int(f['sve_vl']), 'num_bps': int(f['num_bps']),
                'num_wps': int(f['num_wps']),
                'pmu_num_ctrs': int(f['pmu_num_ctrs']),
                'hash_algo': int(f['algo']), 'rpv': bytes.fromhex(f['rpv']),
                'vmid': int(f['vmid']),
            }
            algo = params['hash_algo']
            rim = rim_init(params)
            rems = [bytes(RMM_REALM_MEASUREMENT_WIDTH)] * 4
            seen.add(('realm', algo))
            # Each feature parameter on, and all off.
            if params['flags'] & 2 and params['sve_vl']:
                seen.add('sve')
            if params['flags'] & 4 and params['pmu_num_ctrs']:
                seen.add('pmu')
            if not params['flags'] & 6 and not params['sve_vl'] and \
               not params['pmu_num_ctrs']:
                seen.add('no-features')
            if any(params['rpv']):
                seen.add('rpv')
            compare(lineno, 'REALM_CREATE RIM', rim, bytes.fromhex(f['rim']))
        elif rim is None:
            print('line %d: %s before any realm' % (lineno, op))
            errors += 1
            continue
        elif op == 'ripas':
            rim = rim_extend_ripas(algo, rim, int(f['base'], 0),
                                   int(f['top'], 0))
            seen.add(('ripas', algo))
            compare(lineno, 'RTT_INIT_RIPAS RIM', rim,
                    bytes.fromhex(f['rim']))
        elif op == 'data':
            flags = int(f['measure'])
            page = bytes.fromhex(f.get('page', ''))
            rim = rim_extend_data(algo, rim, int(f['ipa'], 0), flags, page)
            seen.add(('data', flags))
            compare(lineno, 'DATA_CREATE RIM', rim, bytes.fromhex(f['rim']))
        elif op == 'rec':
            params = {
                'flags': int(f['flags'], 0), 'pc': int(f['pc'], 0),
                'gprs': [int(g, 0) for g in f['gprs'].split(',')],
            }
            assert len(params['gprs']) == 8
            rim = rim_extend_rec(algo, rim, params)
            seen.add(('rec', params['flags'] & 1))
            compare(lineno, 'REC_CREATE RIM', rim, bytes.fromhex(f['rim']))
        elif op == 'extend':
            index = int(f['index'])
            value = bytes.fromhex(f['data'])
            rems[index - 1] = rem_extend(algo, rems[index - 1], value)
            seen.add(('extend', index))
            seen.add(('extend-len', min(len(value), 1) +
                      (len(value) == 64)))
            compare(lineno, 'MEASUREMENT_EXTEND REM%d' % index,
                    rems[index - 1], bytes.fromhex(f['rem']))
        else:
            print('line %d: unknown operation %r' % (lineno, op))
            errors += 1
            continue
        checked += 1

    # The transcript must cover every measured operation.
    required = {('realm', RMI_HASH_SHA_256), ('realm', RMI_HASH_SHA_512),
                ('ripas', RMI_HASH_SHA_256), ('ripas', RMI_HASH_SHA_512),
                'rpv', 'sve', 'pmu', 'no-features',
                ('data', 0), ('data', 1), ('rec', 0), ('rec', 1),
                ('extend', 1), ('extend', 2), ('extend', 3), ('extend', 4),
                ('extend-len', 0), ('extend-len', 1), ('extend-len', 2)}
    missing = required - seen
    if missing:
        print('transcript does not cover: %s' % sorted(map(str, missing)))
        errors += 1
    return checked, errors


def main(argv):
    self_test()
    if len(argv) == 2 and argv[1] == '--self-test':
        print('rim-reference: self-test passed')
        return 0
    if len(argv) != 2:
        print('usage: %s TEST-BINARY | --self-test' % argv[0])
        return 2
    proc = subprocess.run([argv[1], '--vectors'], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        print('%s --vectors failed with status %d'
              % (argv[1], proc.returncode))
        return 1
    checked, errors = check_transcript(proc.stdout.splitlines())
    if errors:
        print('rim-reference: %d of %d operations differ' % (errors, checked))
        return 1
    print('rim-reference: %d operations match the reference' % checked)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
