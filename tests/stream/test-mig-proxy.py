#!/usr/bin/env python3
#
# Unit tests of the migration stream parser of the functional tests' proxy
# (qemu/tests/functional/aarch64/cca_mig_proxy.py): it must find every
# realm record exactly where the destination reads one, whatever the
# pieces the stream arrives in, hold back nothing but a possible record,
# and say when it cannot follow a stream instead of guessing.
#
# The streams are written here as migration/savevm.c, migration/ram.c and
# migration/rme-stream.c write them.
#
# Copyright (c) 2026 The QEMU CCA migration authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import os
import random
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'qemu',
                                'tests', 'functional', 'aarch64'))
import cca_mig_proxy as mp        # noqa: E402

PAGE = 4096


def str8(s):
    return bytes([len(s)]) + s.encode()


class Writer:
    """Writes a migration stream the way QEMU does."""

    def __init__(self, page_bits=12, footers=True):
        self.out = bytearray()
        self.page_bits = page_bits
        self.footers = footers
        self.seq = 0
        self.records = []           # (offset of 0x01, framed bytes)
        self.out += struct.pack('>II', mp.VM_FILE_MAGIC, mp.VM_FILE_VERSION)
        self.out += bytes([mp.VM_CONFIGURATION])
        name = b'virt-10.2'
        self.out += struct.pack('>I', len(name)) + name
        if page_bits != mp.TARGET_PAGE_BITS_MIN:
            self.out += bytes([mp.VM_SUBSECTION])
            self.out += str8('configuration/target-page-bits')
            self.out += struct.pack('>II', 1, page_bits)
        # MIG_CMD_OPEN_RETURN_PATH, then a PING with 4 bytes
        self.out += bytes([mp.VM_COMMAND]) + struct.pack('>HH', 1, 0)
        self.out += bytes([mp.VM_COMMAND]) + struct.pack('>HHI', 3, 4, 1)

    def section(self, kind, sid, idstr=None):
        self.out += bytes([kind]) + struct.pack('>I', sid)
        if kind in (mp.VM_SECTION_START, mp.VM_SECTION_FULL):
            self.out += str8(idstr) + struct.pack('>II', 0, 4)

    def footer(self, sid):
        if self.footers:
            self.out += bytes([mp.VM_SECTION_FOOTER]) + struct.pack('>I', sid)

    def ram_setup(self, blocks):
        total = sum(size for _, size in blocks)
        self.out += struct.pack('>Q', total | mp.RAM_MEM_SIZE)
        for name, size in blocks:
            self.out += str8(name) + struct.pack('>Q', size)
        self.out += struct.pack('>Q', mp.RAM_EOS)

    def ram_pages(self, block, pages, fill=None):
        """@pages: (page number, zero?); @fill: page contents."""
        page = 1 << self.page_bits
        first = True
        for n, zero in pages:
            flags = mp.RAM_ZERO if zero else mp.RAM_PAGE
            if not first:
                flags |= mp.RAM_CONTINUE
            self.out += struct.pack('>Q', n * page | flags)
            if first:
                self.out += str8(block)
                first = False
            self.out += b'\0' if zero else (fill or bytes(page))[:page]
        self.out += struct.pack('>Q', mp.RAM_MULTIFD_FLUSH)
        self.out += struct.pack('>Q', mp.RAM_EOS)

    def record(self, rtype, body, epoch=0):
        length = mp.HEADER_SIZE + len(body)
        rec = (mp.MAGIC + bytes([mp.VERSION, rtype, 0, 0]) +
               struct.pack('<IIQ', length, epoch, self.seq) + body)
        self.seq += 1
        self.records.append((len(self.out), mp.frame(rec)))
        self.out += mp.frame(rec)

    def data(self, gpas):
        body = struct.pack('<I', len(gpas))
        for g in gpas:
            ct = 0 if g & mp.DATA_NO_CT else PAGE       # tag only
            body += struct.pack('<Q', g) + os.urandom(ct + mp.TAG_SIZE)
        self.record(mp.DATA, body)

    def realm_eos(self):
        self.out += bytes([mp.EOS])


def realm_stream(footers=True, page_bits=12, decoy=True):
    """A whole stream: RAM and realm setup, two iterations, completion,
    a device section.  With @decoy, RAM pages hold what looks like realm
    records (shared memory can hold anything)."""
    w = Writer(page_bits=page_bits, footers=footers)
    w.section(mp.VM_SECTION_START, 2, 'ram')
    w.ram_setup([('mach-virt.ram', 1 << 30), ('/rom@etc/acpi', 1 << 20)])
    w.footer(2)
    w.section(mp.VM_SECTION_START, 3, 'rme-realm')
    w.record(mp.IMMUTABLE, os.urandom(200))
    w.record(mp.RIPAS, os.urandom(77))
    w.realm_eos()
    w.footer(3)
    fake = bytearray(os.urandom(1 << page_bits))
    if decoy:
        fake[100:100 + 13] = (bytes([mp.MARKER]) + mp.MAGIC +
                              bytes([mp.VERSION, mp.DATA, 0, 0]) +
                              struct.pack('<I', 5000))
        fake[-7:] = bytes([mp.MARKER]) + mp.MAGIC + bytes([mp.VERSION, 3])
    for it in range(2):
        w.section(mp.VM_SECTION_PART, 2)
        w.ram_pages('mach-virt.ram', [(5, False), (6, True), (9, False)],
                    fill=bytes(fake))
        w.footer(2)
        w.section(mp.VM_SECTION_PART, 3)
        w.data([0x40000000 + i * PAGE for i in range(3)])
        w.data([0x40100000 | mp.DATA_ZERO | 1, 0x40101000,
                0x40102000 | mp.DATA_ZERO, 0x40103000 | mp.DATA_POISON | 1])
        w.record(mp.EPOCH, b'')
        w.realm_eos()
        w.footer(3)
    w.section(mp.VM_SECTION_END, 2)
    w.ram_pages('/rom@etc/acpi', [(0, False)], fill=bytes(fake))
    w.footer(2)
    w.section(mp.VM_SECTION_END, 3)
    w.record(mp.REC, os.urandom(3000))
    w.record(mp.END, os.urandom(48))
    w.realm_eos()
    w.footer(3)
    w.section(mp.VM_SECTION_FULL, 4, 'timer')
    w.out += os.urandom(100) + bytes([mp.MARKER]) + mp.MAGIC
    return w


def joined(items):
    """The bytes of what a parser handed out."""
    return b''.join(i.framed if isinstance(i, mp.Record) else i
                    for i in items)


def feed_in_pieces(data, sizes):
    """Feed @data in pieces; returns (parser, items in order)."""
    p = mp.StreamParser()
    items = []
    pos = 0
    for n in sizes:
        if pos >= len(data):
            break
        items += p.feed(data[pos:pos + n])
        pos += n
    if pos < len(data):
        items += p.feed(data[pos:])
    return p, items


class StreamParserTest(unittest.TestCase):

    def check(self, w, sizes):
        data = bytes(w.out)
        p, items = feed_in_pieces(data, sizes)
        self.assertIsNone(p.error)
        self.assertTrue(p.followed)
        # Everything comes out, in order, nothing changed.
        self.assertEqual(joined(items), data)
        # Exactly the records that were written, where they were written.
        recs = [i for i in items if isinstance(i, mp.Record)]
        self.assertEqual([(r.offset, r.framed) for r in recs], w.records)
        self.assertEqual([r.index for r in recs], list(range(len(recs))))
        return p

    def test_whole(self):
        w = realm_stream()
        p = self.check(w, [len(w.out)])
        kinds = [(s.kind, s.idstr) for s in p.sections]
        self.assertEqual(kinds, [
            (mp.VM_SECTION_START, 'ram'), (mp.VM_SECTION_START, 'rme-realm'),
            (mp.VM_SECTION_PART, 'ram'), (mp.VM_SECTION_PART, 'rme-realm'),
            (mp.VM_SECTION_PART, 'ram'), (mp.VM_SECTION_PART, 'rme-realm'),
            (mp.VM_SECTION_END, 'ram'), (mp.VM_SECTION_END, 'rme-realm'),
            (mp.VM_SECTION_FULL, 'timer')])
        self.assertEqual([s.pages for s in p.sections if s.idstr == 'ram'],
                         [0, 3, 3, 1])
        self.assertEqual(p.page_bits, 12)
        self.assertIn('DATA', '\n'.join(p.layout()))

    def test_byte_by_byte(self):
        w = realm_stream()
        self.check(w, [1] * len(w.out))

    def test_random_pieces(self):
        rnd = random.Random(7)
        for _ in range(30):
            w = realm_stream(footers=rnd.random() < 0.7)
            self.check(w, [rnd.randint(1, 9000) for _ in range(4000)])

    def test_other_page_size(self):
        w = realm_stream(page_bits=16)
        p = self.check(w, [1000] * 1000)
        self.assertEqual(p.page_bits, 16)

    def test_holds_back_only_records(self):
        # Fed up to the middle of a record, everything before the record
        # has come out; fed up to the middle of a RAM page, everything
        # parsed has come out.
        w = realm_stream()
        data = bytes(w.out)
        off, framed = w.records[3]
        p = mp.StreamParser()
        items = p.feed(data[:off + 10])
        self.assertEqual(joined(items), data[:off])
        items = p.feed(data[off + 10:off + len(framed)])
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0].framed, framed)

    def test_rest_at_end(self):
        # A stream that ends inside a record: what was held back is
        # handed out at the end, so that nothing the source sent is lost.
        w = realm_stream()
        data = bytes(w.out)
        off, framed = w.records[4]
        p = mp.StreamParser()
        items = p.feed(data[:off + 100])
        self.assertEqual(joined(items) + p.rest(), data[:off + 100])
        self.assertEqual(p.rest(), b'')

    def test_cut_offsets(self):
        # A Cut n bytes into record k ends the forwarded stream at
        # record.offset + n: what the truncate case relies on.
        w = realm_stream()
        p, items = feed_in_pieces(bytes(w.out), [333] * 10000)
        recs = [i for i in items if isinstance(i, mp.Record)]
        for r in recs:
            self.assertEqual(bytes(w.out[r.offset:r.end]), r.framed)

    def test_lost(self):
        # Where the stream is not what the parser knows, it says so and
        # passes the rest on unchanged.
        w = realm_stream()
        data = bytearray(w.out)
        off, _ = w.records[2]
        data[off] = 0x33
        p, items = feed_in_pieces(bytes(data), [4096] * 1000)
        self.assertIsNotNone(p.error)
        self.assertIn('marker 0x33', p.error)
        self.assertIn(str(off), p.error)
        self.assertEqual(joined(items), bytes(data))

    def test_not_a_stream(self):
        p = mp.parse_stream(b'GET / HTTP/1.1\r\n\r\n')
        self.assertIn('not a version 3 migration stream', p.error)


class TamperTest(unittest.TestCase):

    def test_zero_entries(self):
        w = realm_stream()
        recs = [r for r in mp.parse_records(bytes(w.out))
                if r.type == mp.DATA]
        mixed = recs[1]
        ents = mixed.data_entries()
        self.assertEqual([size for _, size, _ in ents],
                         [mp.DATA_ZERO_ENTRY_SIZE, mp.DATA_ENTRY_SIZE,
                          mp.DATA_ZERO_ENTRY_SIZE, mp.DATA_ZERO_ENTRY_SIZE])
        self.assertEqual(ents[-1][0] + ents[-1][1], len(mixed.raw))
        self.assertEqual(mixed.data_zero_count(), 2)
        # Swapping entries of different sizes keeps the record's length.
        t = mp.SwapDataEntries()
        t.record(recs[0])
        t.done = False
        out = t.record(mixed)
        self.assertEqual(len(out), len(mixed.framed))
        at = 1 + mp.ENV_SIZE            # the record, in the framed bytes
        self.assertEqual(out[at + ents[0][0]:at + ents[0][0] + 8],
                         mixed.raw[ents[1][0]:ents[1][0] + 8])
        # The ciphertext bit is flipped in a full entry, never a zero one.
        f = mp.FlipDataBit()
        out = f.record(mixed)
        diff = [i for i in range(len(out)) if out[i] != mixed.framed[i]]
        self.assertEqual(len(diff), 1)
        self.assertTrue(ents[1][0] < diff[0] - at < ents[1][0] + ents[1][1])

    def test_truncate_at_third_data(self):
        w = realm_stream()
        t = mp.Truncate(nbytes=2000, skip=2)
        recs = mp.parse_records(bytes(w.out))
        out = [t.record(r) for r in recs]
        cut = [o for o in out if isinstance(o, mp.Cut)]
        self.assertEqual(len(cut), 1)
        third = [r for r in recs if r.type == mp.DATA][2]
        self.assertEqual(cut[0].data, third.framed[:2000])


if __name__ == '__main__':
    unittest.main()
