# A TCP proxy for the Arm CCA realm migration tests: it sits between the
# source and the destination QEMU, forwards both directions (the return
# path must work), can record what the source sends, and knows where
# each realm record is in the migration stream, so that it can change
# records on the way or cut the stream inside one.
#
# It parses the source's stream the way the destination reads it
# (migration/savevm.c, migration/ram.c): the file header, the
# configuration, commands, and the sections of the iterable handlers,
# "ram" (page headers, zero pages, pages) and "rme-realm".  The realm's
# section is a list of records, each the byte 0x01, QEMU's envelope
# (kind, lane, epoch as big-endian 32 bits, length as big-endian 32
# bits: ENV_SIZE bytes) and the record, closed by 0x00; a record's
# 24-byte header is in clear (target/arm/rmi-mig.h, "Record format"):
#
#    0  4  magic "RMIG"          12  4  epoch (LE)
#    4  1  version (1)            16  8  sequence number (LE, in its lane)
#    5  1  type                   (then the type-specific body)
#    6  1  lane (DATA on multifd channels: 1..16)
#    7  1  zero
#    8  4  total record length, header included (LE)
#
# With multifd, the realm's DATA records go on the multifd channels as
# device state packets (migration/multifd.h), and the realm section
# marks with 0x02 where the source synced the channels.  The proxy then
# forwards every connection the source opens; MultifdParser follows a
# multifd channel, and a Tamper's lane_record() sees each lane record.
#
# A DATA body is a u32 count and count entries of (u64 gpa|ripas,
# 4096 bytes of ciphertext, 16-byte tag).  The first full device section
# ends what the parser follows: every iterable section, and so every
# realm record, comes before it; the rest is passed on as it is.  A
# stream the parser cannot follow is an error (MigProxy.parse_error), not
# a guess.
#
# Run as a script, it lists the sections and realm records of a captured
# stream:   python3 cca_mig_proxy.py dump <file>
#
# Copyright (c) 2026 The QEMU CCA migration authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import logging
import select
import socket
import struct
import sys
import threading
import time

# migration/savevm.h
VM_FILE_MAGIC = 0x5145564d
VM_FILE_VERSION = 3
VM_EOF = 0x00
VM_SECTION_START = 0x01
VM_SECTION_PART = 0x02
VM_SECTION_END = 0x03
VM_SECTION_FULL = 0x04
VM_SUBSECTION = 0x05
VM_VMDESCRIPTION = 0x06
VM_CONFIGURATION = 0x07
VM_COMMAND = 0x08
VM_SECTION_FOOTER = 0x7e
SECTION_NAMES = {VM_SECTION_START: 'START', VM_SECTION_PART: 'PART',
                 VM_SECTION_END: 'END', VM_SECTION_FULL: 'FULL'}

# migration/ram.h
RAM_ZERO = 0x002
RAM_MEM_SIZE = 0x004
RAM_PAGE = 0x008
RAM_EOS = 0x010
RAM_CONTINUE = 0x020
RAM_MULTIFD_FLUSH = 0x200
TARGET_PAGE_BITS_MIN = 10       # Arm (target/arm/cpu-param.h)

# migration/rme-stream.c
MARKER = 0x01
# The stream's envelope after MARKER: kind, lane, epoch (BE32), length (BE32)
ENV_SIZE = 10
EOS = 0x00
SYNC = 0x02

# migration/multifd.h, multifd.c (big-endian)
MULTIFD_MAGIC = 0x11223344
MULTIFD_INIT_SIZE = 64          # MultiFDInit_t
MULTIFD_HDR_SIZE = 12           # MultiFDPacketHdr_t: magic, version, flags
MULTIFD_RAM_SIZE = 320          # MultiFDPacket_t, the offsets aside
MULTIFD_DEV_SIZE = 276          # MultiFDPacketDeviceState_t
MULTIFD_FLAG_SYNC = 1
MULTIFD_FLAG_DEVICE_STATE = 32 << 1
# A RAM packet (syncs too) has room for this many page offsets, whatever
# its pages_alloc says: MULTIFD_PACKET_SIZE / the target page size.
MULTIFD_PAGE_COUNT = (512 << 10) // 4096

# target/arm/rmm/rmm.h
MAGIC = b'RMIG'
VERSION = 1
HEADER_SIZE = 24
RECORD_MAX = 512 * 1024

IMMUTABLE, RIPAS, DATA, EPOCH, REC, END, HELLO, ACCEPT = range(1, 9)
TYPE_NAMES = {IMMUTABLE: 'IMMUTABLE', RIPAS: 'RIPAS', DATA: 'DATA',
              EPOCH: 'EPOCH', REC: 'REC', END: 'END', HELLO: 'HELLO',
              ACCEPT: 'ACCEPT'}
# HELLO / ACCEPT body (target/arm/rmm/rmm-mig-handshake.c): nonce (32),
# ECDH share (97), bind (64), realm parameters (16), certificate chain,
# platform token.
HS_SHARE = HEADER_SIZE + 32

# The return path (migration/migration.c): be16 type, be16 length, data.
# A confidential guest's message (rme-stream.c): a kind byte, then data.
RP_MSG_CGS = 8                  # MIG_RP_MSG_CGS: a confidential guest's message
RP_KIND_COMMIT = 1
RP_KIND_ABORT = 2
RP_KIND_ACCEPT = 3

DATA_COUNT_SIZE = 4
DATA_ENTRY_GPA = 8
GRANULE = 4096
TAG_SIZE = 16
BATCH_MAX = 64                  # granules in one DATA record
DATA_ENTRY_SIZE = DATA_ENTRY_GPA + GRANULE + TAG_SIZE
DATA_ZERO = 0x4                 # word flag: a granule of zeros, no ciphertext
DATA_POISON = 0x8               # word flag: a poisoned granule, no ciphertext
DATA_NO_CT = DATA_ZERO | DATA_POISON
DATA_ZERO_ENTRY_SIZE = DATA_ENTRY_GPA + TAG_SIZE

_RECV = 256 * 1024


def envelope(raw):
    """The envelope QEMU puts in front of the realm record @raw: what
    the record's own header says (kind, lane, epoch) and its length."""
    kind, lane = raw[5], raw[6]
    epoch = struct.unpack_from('<I', raw, 12)[0] if len(raw) >= 16 else 0
    return struct.pack('>BBII', kind, lane, epoch, len(raw))


def frame(raw):
    """@raw as the realm's section carries it: MARKER, envelope, record."""
    return bytes([MARKER]) + envelope(raw) + raw


class Record:
    """One realm record as found in the stream (without the 0x01)."""

    def __init__(self, raw, offset, index, section=None):
        self.raw = bytes(raw)
        self.offset = offset        # of the 0x01 in the source's stream
        self.index = index          # 0, 1, ... in stream order
        # VM_SECTION_* of the section it came in: VM_SECTION_END for the
        # switchover (the source's vCPUs stopped)
        self.section = section
        self.type, self.lane = struct.unpack_from('<BB', self.raw, 5)
        self.length, self.epoch, self.seq = struct.unpack_from(
            '<IIQ', self.raw, 8)

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, f'type{self.type}')

    @property
    def framed(self):
        return frame(self.raw)

    @property
    def end(self):
        """Stream offset just past the record."""
        return self.offset + 1 + ENV_SIZE + len(self.raw)

    # DATA records

    def data_count(self):
        assert self.type == DATA
        return struct.unpack_from('<I', self.raw, HEADER_SIZE)[0]

    def data_entries(self):
        """(offset in raw, size, word) of each DATA entry: a zero
        entry (DATA_ZERO in its word) and a poisoned one (DATA_POISON)
        have no ciphertext."""
        off, out = HEADER_SIZE + DATA_COUNT_SIZE, []
        for _ in range(self.data_count()):
            word = struct.unpack_from('<Q', self.raw, off)[0]
            size = DATA_ZERO_ENTRY_SIZE if word & DATA_NO_CT \
                else DATA_ENTRY_SIZE
            out.append((off, size, word))
            off += size
        return out

    def data_entry_offset(self, i):
        """Offset in raw of DATA entry @i (its gpa|ripas word)."""
        assert 0 <= i < self.data_count()
        return self.data_entries()[i][0]

    def data_gpas(self):
        return [word for _, _, word in self.data_entries()]

    def data_zero_count(self):
        return sum(1 for _, _, word in self.data_entries() if word & DATA_ZERO)

    def __repr__(self):
        lane = f' lane={self.lane}' if self.lane else ''
        return (f'<{self.name} #{self.index}{lane} len={self.length} '
                f'epoch={self.epoch} seq={self.seq} @{self.offset}>')


class TimerClock(bytes):
    """The 8 bytes of QEMU's clock offset (cpu_clock_offset, big-endian
    nanoseconds) in the "timer" section: the destination's
    QEMU_CLOCK_VIRTUAL, hence the guest's generic timer count, follows
    it."""

    def __new__(cls, raw, offset):
        obj = super().__new__(cls, raw)
        obj.offset = offset
        return obj

    @property
    def ns(self):
        return struct.unpack('>q', self)[0]


class Section:
    """A section header as found in the stream."""

    def __init__(self, kind, section_id, idstr, offset):
        self.kind = kind            # VM_SECTION_*
        self.id = section_id
        self.idstr = idstr
        self.offset = offset        # of the section type byte
        self.end = None             # past its footer, once parsed
        self.records = 0            # realm records in it
        self.pages = 0              # RAM pages (and zero pages) in it
        self.syncs = 0              # realm: multifd syncs marked in it

    def __repr__(self):
        end = '?' if self.end is None else self.end
        what = (f' {self.records} records' if self.idstr == 'rme-realm'
                else f' {self.pages} pages' if self.idstr == 'ram' else '')
        return (f'<{SECTION_NAMES.get(self.kind)} {self.idstr} '
                f'(id {self.id}) @{self.offset}..{end}{what}>')


class StreamError(Exception):
    pass


class StreamParser:
    """
    Follows a migration stream fed in pieces of any size.  feed() returns
    what can be passed on now, in stream order: bytes objects (anything
    but a realm record) and Record objects (one whole realm record, its
    0x01 marker included).  Bytes of an element that has not arrived whole
    are held back only when they may begin a realm record: all else is
    passed on as soon as it is parsed, so the proxy never holds back what
    the destination needs to answer the source.
    """

    def __init__(self):
        self.buf = bytearray()
        self.base = 0               # stream offset of buf[0]
        self.pos = 0                # parsed up to here (index in buf)
        self.sections = []          # Section, in stream order
        self.records = []           # Record, in stream order
        self.error = None           # StreamError text, once lost
        self.followed = False       # reached the first full section
        self.page_bits = TARGET_PAGE_BITS_MIN
        self._ids = {}              # section id -> idstr
        self._blocks = set()        # RAM block names
        self._out = []
        self._gen = self._stream()
        self._need = next(self._gen)

    @property
    def offset(self):
        """Stream offset parsed up to."""
        return self.base + self.pos

    def feed(self, data):
        self.buf += data
        while self._gen is not None and len(self.buf) - self.pos >= \
                self._need:
            try:
                self._need = self._gen.send(None)
            except StopIteration:
                self._gen = None
            except StreamError as e:
                self.error = f'at stream offset {self.offset}: {e}'
                self._gen = None
        if self._gen is None:
            self.pos = len(self.buf)    # not followed: pass it all on
        self._emit_bytes()
        out, self._out = self._out, []
        return out

    def rest(self):
        """At the end of the stream: the bytes held back (the start of a
        record that never arrived whole)."""
        rest = bytes(self.buf)
        self.base += len(self.buf)
        self.buf.clear()
        self.pos = 0
        return rest

    def layout(self):
        """The sections and records found, as text lines."""
        items = sorted(self.sections + self.records, key=lambda x: x.offset)
        lines = [repr(x) if isinstance(x, Section) else '    ' + repr(x)
                 for x in items]
        if self.error:
            lines.append(f'lost: {self.error}')
        return lines

    # ---- parsing (a generator: it yields how many bytes it needs) -------

    def _emit_bytes(self):
        if self.pos:
            self._out.append(bytes(self.buf[:self.pos]))
            del self.buf[:self.pos]
            self.base += self.pos
            self.pos = 0

    def _take(self, n):
        while len(self.buf) - self.pos < n:
            yield n
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def _peek(self, n):
        while len(self.buf) - self.pos < n:
            yield n
        return bytes(self.buf[self.pos:self.pos + n])

    def _u8(self):
        return (yield from self._take(1))[0]

    def _be16(self):
        return struct.unpack('>H', (yield from self._take(2)))[0]

    def _be32(self):
        return struct.unpack('>I', (yield from self._take(4)))[0]

    def _be64(self):
        return struct.unpack('>Q', (yield from self._take(8)))[0]

    def _str8(self):
        n = yield from self._u8()
        return (yield from self._take(n)).decode(errors='replace')

    def _stream(self):
        magic = yield from self._be32()
        version = yield from self._be32()
        if magic != VM_FILE_MAGIC or version != VM_FILE_VERSION:
            raise StreamError(f'not a version {VM_FILE_VERSION} migration '
                              f'stream (magic 0x{magic:x}, version '
                              f'{version})')
        while True:
            at = self.offset
            kind = yield from self._u8()
            if kind == VM_CONFIGURATION:
                yield from self._configuration()
            elif kind == VM_COMMAND:
                yield from self._be16()
                n = yield from self._be16()
                yield from self._take(n)
            elif kind in (VM_SECTION_START, VM_SECTION_PART,
                          VM_SECTION_END):
                yield from self._section(kind, at)
            elif kind == VM_SECTION_FULL:
                # Device states follow, which only their VMState
                # descriptions could parse; no realm record comes after.
                sid = yield from self._be32()
                idstr = yield from self._str8()
                self.sections.append(Section(kind, sid, idstr, at))
                if idstr == 'timer':
                    yield from self._timer()
                self.followed = True
                return
            elif kind == VM_EOF:
                self.followed = True
                return
            else:
                raise StreamError(f'unknown section type 0x{kind:02x}')

    def _timer(self):
        """QEMU's clock offset in the "timer" section (system/cpu-timers.c,
        version 2): instance, version, cpu_ticks_offset, 8 unused bytes,
        then cpu_clock_offset, passed on as a TimerClock."""
        yield from self._be32()                     # instance
        if (yield from self._be32()) != 2:
            return
        yield from self._take(16)
        self._emit_bytes()
        raw = yield from self._take(8)
        self._out.append(TimerClock(raw, self.offset - 8))
        del self.buf[:self.pos]
        self.base += self.pos
        self.pos = 0

    def _configuration(self):
        n = yield from self._be32()
        yield from self._take(n)                    # machine type
        while (yield from self._peek(1))[0] == VM_SUBSECTION:
            yield from self._take(1)
            name = yield from self._str8()
            yield from self._be32()                 # version
            if name == 'configuration/target-page-bits':
                self.page_bits = yield from self._be32()
            elif name == 'configuration/capabilities':
                for _ in range((yield from self._be32())):
                    yield from self._str8()
            elif name == 'configuration/uuid':
                yield from self._take(16)
            else:
                raise StreamError(f'unknown configuration subsection '
                                  f'{name!r}')

    def _section(self, kind, at):
        sid = yield from self._be32()
        if kind == VM_SECTION_START:
            idstr = yield from self._str8()
            yield from self._be32()                 # instance
            yield from self._be32()                 # version
            self._ids[sid] = idstr
        elif sid in self._ids:
            idstr = self._ids[sid]
        else:
            raise StreamError(f'section id {sid} was never started')
        sec = Section(kind, sid, idstr, at)
        self.sections.append(sec)
        if idstr == 'ram':
            yield from self._ram(sec)
        elif idstr == 'rme-realm':
            yield from self._realm(sec)
        else:
            raise StreamError(f'iterable section {idstr!r} is not known')
        if (yield from self._peek(1))[0] == VM_SECTION_FOOTER:
            yield from self._take(1)
            fid = yield from self._be32()
            if fid != sid:
                raise StreamError(f'footer of section {fid} closes '
                                  f'section {sid} ({idstr})')
        sec.end = self.offset

    def _ram(self, sec):
        page = 1 << self.page_bits
        while True:
            word = yield from self._be64()
            flags = word & (page - 1)
            if flags & RAM_EOS:
                return
            op = flags & ~RAM_CONTINUE
            if op == RAM_MEM_SIZE:
                total = word & ~(page - 1)
                while total > 0:
                    self._blocks.add((yield from self._str8()))
                    total -= yield from self._be64()
                if total:
                    raise StreamError('RAM block sizes do not add up')
            elif op in (RAM_ZERO, RAM_PAGE):
                if not flags & RAM_CONTINUE:
                    name = yield from self._str8()
                    if name not in self._blocks:
                        raise StreamError(f'page of unknown RAM block '
                                          f'{name!r}')
                yield from self._take(1 if op == RAM_ZERO else page)
                sec.pages += 1
            elif op != RAM_MULTIFD_FLUSH:
                raise StreamError(f'RAM flags 0x{flags:x} are not known')

    def _realm(self, sec):
        while True:
            marker = (yield from self._peek(1))[0]
            if marker == EOS:
                yield from self._take(1)
                return
            if marker == SYNC:
                yield from self._take(1)
                sec.syncs += 1
                continue
            if marker != MARKER:
                raise StreamError(f'realm stream marker 0x{marker:02x}')
            hdr = yield from self._peek(1 + ENV_SIZE + HEADER_SIZE)
            length = struct.unpack_from('>I', hdr, 7)[0]
            raw = hdr[1 + ENV_SIZE:]
            if raw[0:4] != MAGIC or raw[4] != VERSION or \
                    raw[5] not in TYPE_NAMES or \
                    not HEADER_SIZE <= length <= RECORD_MAX:
                raise StreamError(f'bad realm record header {hdr.hex()}')
            self._emit_bytes()      # everything before the record
            framed = yield from self._take(1 + ENV_SIZE + length)
            rec = Record(framed[1 + ENV_SIZE:], self.offset - len(framed),
                         len(self.records), sec.kind)
            self.records.append(rec)
            sec.records += 1
            self._out.append(rec)
            del self.buf[:self.pos]
            self.base += self.pos
            self.pos = 0


class LanePacket:
    """A device state packet of the realm on a multifd channel: the
    packet's header and the lane record it carries."""

    def __init__(self, header, record):
        self.header = bytes(header)
        self.record = record        # Record (offset: in the channel)

    def framed(self, raw=None):
        """The packet, with the record @raw (default: as it came)."""
        raw = self.record.raw if raw is None else raw
        hdr = bytearray(self.header)
        struct.pack_into('>I', hdr, MULTIFD_DEV_SIZE - 4,
                         ENV_SIZE + len(raw))
        return bytes(hdr) + envelope(raw) + raw


class MultifdParser:
    """
    Follows a multifd channel fed in pieces of any size: its init packet,
    then packets of RAM pages (and syncs) and of device state.  feed()
    returns bytes to pass on and LanePacket objects (a whole device
    state packet of the realm).  A channel it cannot follow is an error
    (self.error), and the rest is passed on as it is.
    """

    def __init__(self, channel):
        self.channel = channel
        self.buf = bytearray()
        self.offset = 0             # of buf[0] in the channel
        self.error = None
        self.packets = 0
        self.syncs = 0
        self.records = []           # lane Records, in channel order
        self._init = False

    def feed(self, data):
        self.buf += data
        out = []
        while self.error is None:
            n = self._packet_size()
            if n is None or len(self.buf) < n:
                break
            pkt = bytes(self.buf[:n])
            del self.buf[:n]
            out.append(self._item(pkt))
            self.offset += n
        if self.error is not None and self.buf:
            out.append(bytes(self.buf))
            self.offset += len(self.buf)
            self.buf.clear()
        return out

    def _packet_size(self):
        """Size of the packet at buf[0], None until it is known."""
        if not self._init:
            if len(self.buf) < 4:
                return None
            if struct.unpack_from('>I', self.buf, 0)[0] != MULTIFD_MAGIC:
                self.error = 'no multifd init packet'
                return None
            return MULTIFD_INIT_SIZE
        if len(self.buf) < MULTIFD_HDR_SIZE:
            return None
        magic, _, flags = struct.unpack_from('>III', self.buf, 0)
        if magic != MULTIFD_MAGIC:
            self.error = f'bad packet magic 0x{magic:x} at {self.offset}'
            return None
        if flags & MULTIFD_FLAG_DEVICE_STATE:
            if len(self.buf) < MULTIFD_DEV_SIZE:
                return None
            size = struct.unpack_from('>I', self.buf, MULTIFD_DEV_SIZE - 4)[0]
            return MULTIFD_DEV_SIZE + size
        if len(self.buf) < MULTIFD_RAM_SIZE:
            return None
        size = struct.unpack_from('>I', self.buf, 20)[0]
        return MULTIFD_RAM_SIZE + 8 * MULTIFD_PAGE_COUNT + size

    def _item(self, pkt):
        if not self._init:
            self._init = True
            return pkt
        self.packets += 1
        flags = struct.unpack_from('>I', pkt, 8)[0]
        if flags & MULTIFD_FLAG_SYNC:
            self.syncs += 1
        if not flags & MULTIFD_FLAG_DEVICE_STATE:
            return pkt
        idstr = pkt[12:12 + 256].split(b'\0', 1)[0]
        raw = pkt[MULTIFD_DEV_SIZE + ENV_SIZE:]
        if idstr != b'rme-realm' or len(raw) < HEADER_SIZE or \
                raw[:4] != MAGIC:
            return pkt
        rec = Record(raw, self.offset + MULTIFD_DEV_SIZE + ENV_SIZE,
                     len(self.records))
        self.records.append(rec)
        return LanePacket(pkt[:MULTIFD_DEV_SIZE], rec)


def parse_stream(data):
    """A StreamParser that has read all of @data."""
    p = StreamParser()
    p.feed(data)
    return p


def parse_records(data):
    """Every realm record in a captured stream @data, in order."""
    return parse_stream(data).records


class Cut:
    """Returned by a tamper hook: forward @data, then end the stream to
    the destination (it reads all that was forwarded, then the end) and
    break the connection to the source."""

    def __init__(self, data=b''):
        self.data = bytes(data)


class Tamper:
    """
    Changes the source's stream.  record() sees each realm record in
    order and returns the bytes to forward in its place (rec.framed to
    pass it on, b'' to drop it, anything else to replace it) or a Cut.
    """

    def __init__(self):
        self.done = False           # the change was made
        self.note = ''              # what was changed, for the log

    def record(self, rec):
        return rec.framed

    def timer_clock(self, clk):
        """The bytes to forward in place of QEMU's clock offset."""
        return bytes(clk)

    def lane_record(self, channel, rec):
        """The lane records to forward on multifd channel @channel in
        place of @rec (a list of raw records; [] drops it)."""
        return [rec.raw]

    def lane_forwarded(self, channel, rec):
        """Called once what lane_record() gave for @rec went to the
        destination on multifd channel @channel."""


class RpTamper:
    """
    Changes the return path: message() sees each message the destination
    sends (its type and data) and returns the data to forward instead, or
    None to hold it back and break both connections (a return path lost
    at that point).
    """

    def __init__(self):
        self.done = False
        self.note = ''

    def message(self, mtype, data):
        return data


class MigProxy:
    """
    Listens on @listen, (host, port): by default 127.0.0.1 and an
    ephemeral port (self.host, self.port; self.uri for the source), and
    connects each connection from the source to the destination at
    127.0.0.1:@dst_port: the migration stream's (the main channel) and,
    with multifd, one per multifd channel (self.channels, in the order
    they came).  Main channel: source -> destination bytes go through a
    StreamParser and @tamper; destination -> source bytes are forwarded
    as they are, or message by message through @rp_tamper.  With
    @capture, everything the source sent on it is kept in self.captured
    (before any change).  A multifd channel goes through a MultifdParser
    and @tamper's lane_record().  With @end_channel (index, n), multifd
    channel index ends (the destination reads the end of its stream) on
    the packet boundary after its n-th lane record, while the source's
    side of it stays open and its data is read and dropped.
    """

    def __init__(self, dst_port, tamper=None, capture=False, log=None,
                 name='proxy', rp_tamper=None, end_channel=None,
                 listen=('127.0.0.1', 0)):
        self.dst_port = dst_port
        self.end_channel = end_channel
        self.tamper = tamper
        self.rp_tamper = rp_tamper
        self._rp_buf = bytearray()
        self._rp_held = False
        self.capture = capture
        self.log = log or logging.getLogger('qemu-test')
        self.name = name
        self.captured = bytearray()
        self.parser = StreamParser()
        self.src_bytes = 0          # read from the source
        self.dst_bytes = 0          # written to the destination
        self.rp_bytes = 0           # return path: destination -> source
        self.cut = False            # closed by a Cut or drop()
        self.cut_at = None          # stream offset of a Cut's end
        self.error = None
        self._lock = threading.Lock()
        self._src = None
        self._dst = None
        self._threads = []
        self._closed = threading.Event()
        self._closing = False
        self._reset = set()         # sockets to close with a reset
        self._running = threading.Event()
        self._running.set()
        self._stalled = threading.Event()
        self._connected = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(tuple(listen))
        self._listener.listen(8)
        self.host, self.port = self._listener.getsockname()[:2]
        self.channels = []          # MultifdChannel, in connection order
        self._acceptor = threading.Thread(target=self._accept,
                                          name=f'{name}-accept', daemon=True)
        self._acceptor.start()

    @property
    def uri(self):
        return f'tcp:{self.host}:{self.port}'

    @property
    def records(self):
        with self._lock:
            return list(self.parser.records)

    @property
    def parse_error(self):
        return self.parser.error

    # ---- public -----------------------------------------------------------

    def drop(self):
        """Break every connection now (a broken network: what is still
        in flight is lost)."""
        self.log.info('%s: dropping the connections after %d bytes from '
                      'the source', self.name, self.src_bytes)
        self.cut = True
        self._shutdown_all(reset=True)
        for ch in list(self.channels):
            ch.drop()

    def drop_channel(self, index):
        """Break multifd channel @index alone."""
        ch = self.channels[index]
        self.log.info('%s: dropping multifd channel %d after %d bytes, %d '
                      'lane records', self.name, index, ch.src_bytes,
                      len(ch.parser.records))
        ch.drop()

    def lane_records(self):
        """Lane records seen on all multifd channels so far."""
        return sum(len(ch.parser.records) for ch in list(self.channels))

    def stall(self):
        """Stop reading from the source (a network that stops moving data
        but does not break): its socket buffers fill up."""
        self.log.info('%s: stalling after %d bytes from the source',
                      self.name, self.src_bytes)
        self._running.clear()

    def wait_stalled(self, timeout):
        """Wait until the forwarding thread has stopped reading."""
        return self._stalled.wait(timeout)

    def resume(self):
        self._running.set()

    def wait_connected(self, timeout):
        return self._connected.wait(timeout)

    def wait_closed(self, timeout):
        """Wait until forwarding ended on every connection made (both
        directions of the main one); True if it did."""
        deadline = time.monotonic() + timeout
        while not self._connected.is_set() and not self._closing and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def close(self):
        """Stop forwarding and release the sockets."""
        self._closing = True
        self._shutdown_all(reset=True)
        for ch in list(self.channels):
            ch.drop()
        try:
            self._listener.close()
        except OSError:
            pass
        self._acceptor.join(5)
        self.wait_closed(10)

    def records_of(self, rtype):
        return [r for r in self.records if r.type == rtype]

    def layout(self):
        with self._lock:
            return self.parser.layout()

    # ---- threads ----------------------------------------------------------

    def _accept(self):
        """Every connection of the source, until close()."""
        self._listener.settimeout(0.5)
        deadline = time.monotonic() + 600
        while not self._closing and time.monotonic() < deadline:
            try:
                src, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError as e:
                if not self._closing:
                    self.error = f'accept: {e}'
                    self.log.error('%s: %s', self.name, self.error)
                return
            # Each on its own: a channel may say what it is only once
            # the others are connected.
            t = threading.Thread(target=self._connection, args=(src,),
                                 name=f'{self.name}-conn', daemon=True)
            self._threads.append(t)
            t.start()

    def _connection(self, src):
        """Connect @src to the destination as what its first bytes say
        it is: the main channel or a multifd channel."""
        try:
            src.settimeout(None)
            dst = socket.create_connection(('127.0.0.1', self.dst_port),
                                           timeout=30)
            dst.settimeout(None)
            for s in (src, dst):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            magic = src.recv(4, socket.MSG_PEEK | socket.MSG_WAITALL)
        except OSError as e:
            if not self._closing:
                self.error = f'connect: {e}'
                self.log.error('%s: %s', self.name, self.error)
            return
        with self._lock:
            if len(magic) == 4 and \
                    struct.unpack('>I', magic)[0] == MULTIFD_MAGIC:
                ch = MultifdChannel(self, len(self.channels), src, dst)
                if self.end_channel and self.end_channel[0] == ch.index:
                    ch.end_after = self.end_channel[1]
                self.channels.append(ch)
                self._threads.append(ch.start())
                return
            main = self._src is None
            if main:
                self._src, self._dst = src, dst
        if main:
            self._start_main()
            return
        self.error = 'a second main channel'
        self.log.error('%s: %s', self.name, self.error)
        src.close()
        dst.close()

    def _start_main(self):
        self.log.info('%s: source connected, forwarding to port %d',
                      self.name, self.dst_port)
        self._connected.set()
        fwd = threading.Thread(target=self._forward_src,
                               name=f'{self.name}-fwd', daemon=True)
        back = threading.Thread(target=self._forward_rp,
                                name=f'{self.name}-rp', daemon=True)
        self._threads += [fwd, back]
        fwd.start()
        back.start()
        reaper = threading.Thread(target=self._reap, args=(fwd, back),
                                  name=f'{self.name}-reap', daemon=True)
        self._threads.append(reaper)
        reaper.start()

    def _reap(self, *threads):
        """Close both sockets once forwarding is over: with a reset those
        of a broken session, so that the peer sees an error and not a
        socket nobody reads."""
        for t in threads:
            t.join()
        for s in (self._src, self._dst):
            try:
                if s in self._reset:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack('ii', 1, 0))
                s.close()
            except OSError:
                pass

    def _shutdown_all(self, reset):
        for s in (self._src, self._dst):
            if s is None:
                continue
            if reset:
                self._reset.add(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._closed.set()

    def _send_dst(self, data):
        if data:
            self._dst.sendall(data)
            self.dst_bytes += len(data)

    def _forward_rp(self):
        """Destination -> source, unchanged.  An error on one side breaks
        both connections, as a relay between them would; an orderly close
        by the destination is passed on as one."""
        try:
            while True:
                data = self._dst.recv(_RECV)
                if not data:
                    self._src.shutdown(socket.SHUT_WR)
                    break
                self.rp_bytes += len(data)
                out = self._rp_change(data)
                self._src.sendall(out)
                if self._rp_held:
                    self.drop()
                    break
        except OSError as e:
            if not self.cut:
                self.log.info('%s: return path: %s; closing both sides',
                              self.name, e)
                self._shutdown_all(reset=True)
        finally:
            self.log.info('%s: return path done, %d bytes', self.name,
                          self.rp_bytes)

    def _rp_change(self, data):
        """@data of the return path as @rp_tamper would have it: whole
        messages only (a partial one waits for the rest)."""
        if not self.rp_tamper:
            return data
        self._rp_buf += data
        out = bytearray()
        while len(self._rp_buf) >= 4:
            mtype, length = struct.unpack_from('>HH', self._rp_buf, 0)
            if len(self._rp_buf) < 4 + length:
                break
            body = self.rp_tamper.message(mtype,
                                          bytes(self._rp_buf[4:4 + length]))
            del self._rp_buf[:4 + length]
            if body is None:
                self._rp_held = True
                break
            out += struct.pack('>HH', mtype, len(body)) + body
        return bytes(out)

    def _forward_src(self):
        """Source -> destination through the stream parser."""
        try:
            while True:
                if not self._running.is_set():
                    # Stalled: forward nothing, read nothing.
                    self._stalled.set()
                    self._running.wait(0.1)
                    if self._closed.is_set():
                        return
                    continue
                self._stalled.clear()
                ready, _, _ = select.select([self._src], [], [], 0.1)
                if not ready:
                    if self._closed.is_set():
                        return
                    continue
                data = self._src.recv(_RECV)
                if not data:
                    # The source's stream ended: pass on what the parser
                    # held back too, as a plain relay would.
                    with self._lock:
                        self._send_dst(self.parser.rest())
                    break
                self.src_bytes += len(data)
                if self.capture:
                    self.captured += data
                if self._forward(data):
                    return
            with self._lock:
                lost = self.parser.error
            if lost:
                self.log.error('%s: the stream parser lost track %s',
                               self.name, lost)
        except OSError as e:
            if not self.cut:
                self.log.info('%s: forward: %s; closing both sides',
                              self.name, e)
                self._shutdown_all(reset=True)
        finally:
            if not self.cut:
                try:
                    self._dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            self.log.info('%s: source stream done: %d bytes in, %d out, '
                          '%d realm records', self.name, self.src_bytes,
                          self.dst_bytes, len(self.parser.records))

    def _forward(self, data):
        """Pass @data on through the parser and the tamper hook; True once
        a Cut ended the session."""
        with self._lock:
            items = self.parser.feed(data)
        for item in items:
            if isinstance(item, TimerClock) and self.tamper:
                item = self.tamper.timer_clock(item)
            if not isinstance(item, Record):
                self._send_dst(item)
                continue
            out = self.tamper.record(item) if self.tamper else item.framed
            if not isinstance(out, Cut):
                self._send_dst(out)
                continue
            self._send_dst(out.data)
            self.cut_at = item.offset + len(out.data)
            self.log.info('%s: stream ends after %d bytes to the '
                          'destination, %d bytes into %s', self.name,
                          self.dst_bytes, len(out.data), item)
            self.cut = True
            # The destination reads everything forwarded, then the end
            # of the stream (a reset could discard what it has not read
            # yet); the source's connection breaks.
            self._dst.shutdown(socket.SHUT_WR)
            self._reset.add(self._src)
            try:
                self._src.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        return False


class MultifdChannel:
    """One multifd channel through a MigProxy: source -> destination
    only (the destination sends nothing on it)."""

    def __init__(self, proxy, index, src, dst):
        self.proxy = proxy
        self.index = index
        self.src, self.dst = src, dst
        self.parser = MultifdParser(index)
        self.src_bytes = 0
        self.dropped = False
        self.end_after = None       # lane records before the stream ends
        self.ended_at = None        # (packets, lane records) at that end
        self.ended = threading.Event()
        self._items_sent = 0
        self._lanes_sent = 0

    def start(self):
        t = threading.Thread(target=self._forward, daemon=True,
                             name=f'{self.proxy.name}-mfd{self.index}')
        t.start()
        return t

    def drop(self):
        self.dropped = True
        for s in (self.src, self.dst):
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack('ii', 1, 0))
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _send(self, item):
        tamper = self.proxy.tamper
        if not isinstance(item, LanePacket):
            self.dst.sendall(item)
            return
        raws = tamper.lane_record(self.index, item.record) if tamper \
            else [item.record.raw]
        for raw in raws:
            self.dst.sendall(item.framed(raw))
        if tamper:
            tamper.lane_forwarded(self.index, item.record)

    def _end_or_send(self, item):
        """Forward @item, or end the destination's stream before it once
        end_after lane records went: on a packet boundary."""
        if self.end_after is None or self._lanes_sent < self.end_after:
            self._send(item)
            self._items_sent += 1
            self._lanes_sent += isinstance(item, LanePacket)
            return
        # The first item is the channel's init packet.
        self.ended_at = (self._items_sent - 1, self._lanes_sent)
        self.dst.shutdown(socket.SHUT_WR)
        self.proxy.log.info('%s: multifd channel %d ends after %d packets '
                            'and %d lane records; the source\'s data is '
                            'dropped from here', self.proxy.name, self.index,
                            *self.ended_at)
        self.ended.set()

    def _forward(self):
        log = self.proxy.log
        try:
            while True:
                data = self.src.recv(_RECV)
                if not data:
                    self.dst.shutdown(socket.SHUT_WR)
                    break
                self.src_bytes += len(data)
                for item in self.parser.feed(data):
                    if self.ended_at is None:
                        self._end_or_send(item)
        except OSError as e:
            if not self.dropped:
                log.info('%s: multifd channel %d: %s', self.proxy.name,
                         self.index, e)
        finally:
            if self.parser.error:
                log.error('%s: multifd channel %d: the parser lost track: '
                          '%s', self.proxy.name, self.index,
                          self.parser.error)
            log.info('%s: multifd channel %d done: %d bytes, %d packets, %d '
                     'syncs, %d lane records', self.proxy.name, self.index,
                     self.src_bytes, self.parser.packets, self.parser.syncs,
                     len(self.parser.records))
            for s in (self.src, self.dst):
                try:
                    s.close()
                except OSError:
                    pass


def main(argv):
    if len(argv) != 3 or argv[1] != 'dump':
        print(f'usage: {argv[0]} dump <captured stream>', file=sys.stderr)
        return 2
    with open(argv[2], 'rb') as f:
        data = f.read()
    p = parse_stream(data)
    for line in p.layout():
        print(line)
    print(f'{len(data)} bytes, {len(p.sections)} sections, '
          f'{len(p.records)} realm records, parsed up to {p.offset}'
          + ('' if p.followed else ' (not to a device section)'))
    return 1 if p.error else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))


# ---- the changes the tamper tests make -----------------------------------

class FlipDataBit(Tamper):
    """Flip one bit in the ciphertext of the first full (not zero) DATA
    entry."""

    def record(self, rec):
        if self.done or rec.type != DATA:
            return rec.framed
        full = [off for off, size, _ in rec.data_entries()
                if size == DATA_ENTRY_SIZE]
        if not full:
            return rec.framed
        raw = bytearray(rec.raw)
        off = full[0] + DATA_ENTRY_GPA + 1234
        raw[off] ^= 0x10
        self.done = True
        self.note = f'bit 4 of byte {off} of {rec} flipped (ciphertext)'
        return frame(raw)


class SwapDataEntries(Tamper):
    """Swap the first two entries of the first DATA record with two."""

    def record(self, rec):
        if self.done or rec.type != DATA or rec.data_count() < 2:
            return rec.framed
        raw = bytes(rec.raw)
        (a, la, wa), (b, lb, wb) = rec.data_entries()[:2]
        raw = raw[:a] + raw[b:b + lb] + raw[a:a + la] + raw[b + lb:]
        self.done = True
        self.note = (f'entries 0 (word 0x{wa:x}) and 1 (word '
                     f'0x{wb:x}) of {rec} swapped')
        return frame(raw)


class StallAtSwitchover(Tamper):
    """Stall self.proxy (it stops reading from the source) at the first
    realm record of the switchover, that record forwarded."""

    def __init__(self):
        super().__init__()
        self.proxy = None           # the MigProxy this tampers for

    def record(self, rec):
        if not self.done and rec.section == VM_SECTION_END:
            self.done = True
            self.note = f'stalled at {rec}, the first of the switchover'
            self.proxy.stall()
        return rec.framed


class FlipLaneBit(Tamper):
    """Flip one bit in the ciphertext of the first full entry of a lane
    record on a multifd channel."""

    def lane_record(self, channel, rec):
        full = [off for off, size, _ in rec.data_entries()
                if size == DATA_ENTRY_SIZE] if rec.type == DATA else []
        if self.done or not full:
            return [rec.raw]
        raw = bytearray(rec.raw)
        raw[full[0] + DATA_ENTRY_GPA + 99] ^= 0x01
        self.done = True
        self.note = f'bit 0 of a ciphertext byte of {rec} on channel ' \
                    f'{channel} flipped'
        return [bytes(raw)]


class DuplicateLane(Tamper):
    """Send the first lane record twice on its multifd channel."""

    def lane_record(self, channel, rec):
        if self.done:
            return [rec.raw]
        self.done = True
        self.note = f'{rec} sent twice on channel {channel}'
        return [rec.raw, rec.raw]


class CutBeforeEpochLane(Tamper):
    """Hold the main channel's first EPOCH record (it closes an epoch E)
    until a lane record of epoch E + 1 went to the destination on a
    multifd channel and @taken(E + 1) says the destination has it, then
    end the main stream before that EPOCH: the destination has a lane
    record whose epoch never opens."""

    def __init__(self, timeout, taken):
        super().__init__()
        self.timeout = timeout
        self.taken = taken
        self._cond = threading.Condition()
        self._lanes = {}            # epoch -> note on its first lane record

    def record(self, rec):
        if self.done or rec.type != EPOCH:
            return rec.framed
        deadline = time.monotonic() + self.timeout
        with self._cond:
            came = self._cond.wait_for(lambda: rec.epoch + 1 in self._lanes,
                                       self.timeout)
            lane = self._lanes.get(rec.epoch + 1)
        while came and not self.taken(rec.epoch + 1):
            if time.monotonic() > deadline:
                came = False
                lane = f'{lane}, not taken by the destination'
                break
            time.sleep(0.05)
        self.done = came
        self.note = f'main stream ended before {rec}, {lane}' if came \
            else f'no lane record of epoch {rec.epoch + 1} taken ({lane})'
        return Cut()

    def lane_forwarded(self, channel, rec):
        with self._cond:
            if rec.epoch not in self._lanes:
                self._lanes[rec.epoch] = f'{rec} forwarded on channel ' \
                                         f'{channel}'
                self._cond.notify_all()


class DropRec(Tamper):
    """Drop the first REC record."""

    def record(self, rec):
        if self.done or rec.type != REC:
            return rec.framed
        self.done = True
        self.note = f'{rec} dropped'
        return b''


class ReplayData(Tamper):
    """Keep the first DATA record of epoch 0; after the first EPOCH record
    send an identical copy of it again."""

    def __init__(self):
        super().__init__()
        self.saved = None

    def record(self, rec):
        if self.done:
            return rec.framed
        if rec.type == DATA and rec.epoch == 0 and self.saved is None:
            self.saved = rec
        elif rec.type == EPOCH and self.saved is not None:
            self.done = True
            self.note = f'{self.saved} sent again after {rec}'
            return rec.framed + self.saved.framed
        return rec.framed


class FlipRipasByte(Tamper):
    """Flip a byte in the body of the first RIPAS record."""

    def record(self, rec):
        if self.done or rec.type != RIPAS:
            return rec.framed
        raw = bytearray(rec.raw)
        off = HEADER_SIZE + (len(raw) - HEADER_SIZE) // 2
        raw[off] ^= 0xff
        self.done = True
        self.note = f'byte {off} of {rec} (body {len(raw) - HEADER_SIZE} ' \
                    f'bytes) flipped'
        return frame(raw)


class Truncate(Tamper):
    """Forward the first @skip DATA records whole, then @nbytes of the
    next one, then close both connections."""

    def __init__(self, nbytes=2000, skip=2):
        super().__init__()
        self.nbytes = nbytes
        self.skip = skip
        self.seen = 0

    def record(self, rec):
        if self.done or rec.type != DATA:
            return rec.framed
        self.seen += 1
        if self.seen <= self.skip:
            return rec.framed
        self.done = True
        self.note = (f'stream cut {self.nbytes} bytes into {rec} '
                     f'(framed length {len(rec.framed)})')
        return Cut(rec.framed[:self.nbytes])


class FlipHelloShare(Tamper):
    """Flip a bit of the ECDH share in the source RMM's HELLO."""

    def record(self, rec):
        if self.done or rec.type != HELLO:
            return rec.framed
        raw = bytearray(rec.raw)
        raw[HS_SHARE + 40] ^= 0x04
        self.done = True
        self.note = f'bit 2 of byte {HS_SHARE + 40} of {rec} (its share) ' \
                    'flipped'
        return frame(raw)


class FlipAcceptShare(RpTamper):
    """Flip a bit of the ECDH share in the destination RMM's ACCEPT, on
    the return path."""

    def message(self, mtype, data):
        if self.done or mtype != RP_MSG_CGS or not data or \
                data[0] != RP_KIND_ACCEPT:
            return data
        raw = bytearray(data)
        raw[1 + HS_SHARE + 40] ^= 0x04
        self.done = True
        self.note = f'bit 2 of byte {HS_SHARE + 40} of the ACCEPT ' \
                    f'({len(data) - 1} bytes, its share) flipped'
        return bytes(raw)


class HoldAccept(RpTamper):
    """Hold back the destination RMM's ACCEPT and break both connections:
    the source, waiting for it, learns only that the return path
    closed."""

    def message(self, mtype, data):
        if self.done or mtype != RP_MSG_CGS or not data or \
                data[0] != RP_KIND_ACCEPT:
            return data
        self.done = True
        self.note = f'the ACCEPT ({len(data) - 1} bytes) held back'
        return None


class HoldToken(RpTamper):
    """Hold back the destination's token of @kind (RP_KIND_COMMIT or
    RP_KIND_ABORT) and break both connections: the source never learns
    how the migration ended.  The token is kept in self.token."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.token = None

    def message(self, mtype, data):
        if self.done or mtype != RP_MSG_CGS or not data or \
                data[0] != self.kind:
            return data
        self.token = data[1:]
        self.done = True
        self.note = f'token of kind {self.kind} held back, connections broken'
        return None


class CutAfterEnd(Tamper):
    """Forward the realm's END record, then end the stream: the
    destination has the realm's final state but not the rest of the
    migration, so it gives the realm up."""

    def record(self, rec):
        if self.done or rec.type != END:
            return rec.framed
        self.done = True
        self.note = f'stream cut right after {rec}'
        return Cut(rec.framed)


class RewindClock(Tamper):
    """Move QEMU's clock back by @seconds in the "timer" section: the
    destination's generic timer count goes back with it."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def timer_clock(self, clk):
        ns = clk.ns - self.seconds * 1000000000
        self.done = True
        self.note = (f'QEMU clock offset {clk.ns} ns -> {ns} ns '
                     f'({self.seconds} s back)')
        return struct.pack('>q', ns)


def replay(data, port, timeout=60):
    """Send @data, a recorded source stream, to a QEMU waiting for a
    migration on 127.0.0.1:@port, reading (and dropping) what it answers
    on the return path, until it closes the connection or @timeout.
    Returns the number of bytes it took."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    sent = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select(
                [sock], [sock] if sent < len(data) else [], [], 0.5)
            if readable:
                if not sock.recv(_RECV):
                    break
            if writable:
                sent += sock.send(data[sent:sent + _RECV])
    except OSError:
        pass
    finally:
        sock.close()
    return sent
