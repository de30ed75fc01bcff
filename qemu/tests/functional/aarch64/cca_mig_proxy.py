# A TCP proxy for the Arm CCA realm migration tests: it sits between the
# source and the destination QEMU, forwards both directions (the return
# path must work), can record what the source sends, and can find the
# realm's records in the migration stream and change them on the way.
#
# Only the realm's records are parsed.  In QEMU's stream (no multifd)
# each one is the byte 0x01 followed by the record, whose 24-byte header
# is in clear (target/arm/rmm/rmm.h, "Record format"):
#
#    0  4  magic "RMIG"          12  4  epoch (LE)
#    4  1  version (1)            16  8  sequence number (LE)
#    5  1  type                   (then the type-specific body)
#    6  2  zero
#    8  4  total record length, header included (LE)
#
# A DATA body is a u32 count and count entries of (u64 gpa|ripas,
# 4096 bytes of ciphertext, 16-byte tag).  Everything else in the stream
# is passed through untouched.
#
# Copyright (c) 2026 The QEMU CCA migration authors
#
# SPDX-License-Identifier: GPL-2.0-or-later

import logging
import select
import socket
import struct
import threading
import time

MARKER = 0x01
MAGIC = b'RMIG'
VERSION = 1
HEADER_SIZE = 24
RECORD_MAX = 512 * 1024

IMMUTABLE, RIPAS, DATA, EPOCH, REC, END = range(1, 7)
TYPE_NAMES = {IMMUTABLE: 'IMMUTABLE', RIPAS: 'RIPAS', DATA: 'DATA',
              EPOCH: 'EPOCH', REC: 'REC', END: 'END'}

DATA_COUNT_SIZE = 4
DATA_ENTRY_GPA = 8
GRANULE = 4096
TAG_SIZE = 16
BATCH_MAX = 64                  # granules in one DATA record
DATA_ENTRY_SIZE = DATA_ENTRY_GPA + GRANULE + TAG_SIZE

# What may start a framed record: marker, magic, version.  The type and
# the two zero bytes are checked next, then the length.
_PREFIX = bytes([MARKER]) + MAGIC + bytes([VERSION])
# Bytes of a framed record needed to judge whether it is one.
_PROBE = 1 + 12

# A possible record start at the end of the data is held back until more
# data comes, but at most this long (the source may be waiting for the
# destination: everything it sent must get there).
_HOLD_S = 0.05

_RECV = 256 * 1024


class Record:
    """One realm record as found in the stream (without the 0x01)."""

    def __init__(self, raw, offset, index):
        self.raw = bytes(raw)
        self.offset = offset        # of the 0x01 in the source's stream
        self.index = index          # 0, 1, ... in stream order
        (self.type,) = struct.unpack_from('<B', self.raw, 5)
        self.length, self.epoch, self.seq = struct.unpack_from(
            '<IIQ', self.raw, 8)

    @property
    def name(self):
        return TYPE_NAMES.get(self.type, f'type{self.type}')

    @property
    def framed(self):
        return bytes([MARKER]) + self.raw

    # DATA records

    def data_count(self):
        assert self.type == DATA
        return struct.unpack_from('<I', self.raw, HEADER_SIZE)[0]

    def data_entry_offset(self, i):
        """Offset in raw of DATA entry @i (its gpa|ripas word)."""
        assert 0 <= i < self.data_count()
        return HEADER_SIZE + DATA_COUNT_SIZE + i * DATA_ENTRY_SIZE

    def data_gpas(self):
        return [struct.unpack_from('<Q', self.raw,
                                   self.data_entry_offset(i))[0]
                for i in range(self.data_count())]

    def __repr__(self):
        return (f'<{self.name} #{self.index} len={self.length} '
                f'epoch={self.epoch} seq={self.seq} @{self.offset}>')


def parse_records(data):
    """Every realm record in a captured stream @data, in order."""
    recs = []
    pos = 0
    while True:
        i = data.find(_PREFIX, pos)
        if i < 0 or i + _PROBE > len(data):
            return recs
        length = _check_header(data, i)
        if length and i + 1 + length <= len(data):
            recs.append(Record(data[i + 1:i + 1 + length], i, len(recs)))
            pos = i + 1 + length
        else:
            pos = i + 1


def _check_header(buf, i):
    """Length of the framed record at @buf[i] if its header is plausible
    (needs _PROBE bytes), else 0."""
    rtype = buf[i + 6]
    if rtype not in TYPE_NAMES or buf[i + 7] != 0 or buf[i + 8] != 0:
        return 0
    (length,) = struct.unpack_from('<I', buf, i + 9)
    if length < HEADER_SIZE or length > RECORD_MAX:
        return 0
    return length


class Cut:
    """Returned by a tamper hook: forward @data, then close both sides."""

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


class MigProxy:
    """
    Listens on 127.0.0.1 (an ephemeral port, self.port), accepts one
    connection from the source and connects it to the destination at
    127.0.0.1:@dst_port.  Source -> destination bytes go through the
    record parser and @tamper; destination -> source bytes are forwarded
    as they are.  With @capture, everything the source sent is kept in
    self.captured (before any change).
    """

    def __init__(self, dst_port, tamper=None, capture=False, log=None,
                 name='proxy'):
        self.dst_port = dst_port
        self.tamper = tamper
        self.capture = capture
        self.log = log or logging.getLogger('qemu-test')
        self.name = name
        self.captured = bytearray()
        self.records = []           # Record seen (source's view), in order
        self.src_bytes = 0          # read from the source
        self.dst_bytes = 0          # written to the destination
        self.rp_bytes = 0           # return path: destination -> source
        self.cut = False            # closed by a Cut or drop()
        self.error = None
        self._lock = threading.Lock()
        self._src = None
        self._dst = None
        self._threads = []
        self._closed = threading.Event()
        self._closing = False
        self._broken = False
        self._running = threading.Event()
        self._running.set()
        self._connected = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        t = threading.Thread(target=self._accept, name=f'{name}-accept',
                             daemon=True)
        self._threads.append(t)
        t.start()

    @property
    def uri(self):
        return f'tcp:127.0.0.1:{self.port}'

    # ---- public -----------------------------------------------------------

    def drop(self):
        """Close both connections now (a broken network)."""
        self.log.info('%s: dropping both connections after %d bytes from '
                      'the source', self.name, self.src_bytes)
        self.cut = True
        self._shutdown_all()

    def stall(self):
        """Stop reading from the source (a network that stops moving data
        but does not break): its socket buffers fill up."""
        self.log.info('%s: stalling after %d bytes from the source',
                      self.name, self.src_bytes)
        self._running.clear()

    def resume(self):
        self._running.set()

    def wait_connected(self, timeout):
        return self._connected.wait(timeout)

    def wait_closed(self, timeout):
        """Wait until both directions ended; True if they did."""
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def close(self):
        """Stop forwarding and release the sockets."""
        self._closing = True
        self._shutdown_all()
        try:
            self._listener.close()
        except OSError:
            pass
        self.wait_closed(10)

    def records_of(self, rtype):
        with self._lock:
            return [r for r in self.records if r.type == rtype]

    # ---- threads ----------------------------------------------------------

    def _accept(self):
        try:
            self._listener.settimeout(600)
            src, _ = self._listener.accept()
            self._listener.close()
            dst = socket.create_connection(('127.0.0.1', self.dst_port),
                                           timeout=30)
            dst.settimeout(None)
            for s in (src, dst):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._src, self._dst = src, dst
        except OSError as e:
            if not self._closing:
                self.error = f'accept/connect: {e}'
                self.log.error('%s: %s', self.name, self.error)
            return
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
        """Close both sockets once forwarding is over: with a reset if the
        session broke, so that the peers see an error and not a socket
        nobody reads."""
        for t in threads:
            t.join()
        for s in (self._src, self._dst):
            try:
                if self._broken:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack('ii', 1, 0))
                s.close()
            except OSError:
                pass

    def _shutdown_all(self):
        self._broken = True
        for s in (self._src, self._dst):
            if s is None:
                continue
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
                self._src.sendall(data)
                self.rp_bytes += len(data)
        except OSError as e:
            if not self.cut:
                self.log.info('%s: return path: %s; closing both sides',
                              self.name, e)
                self._shutdown_all()
        finally:
            self.log.info('%s: return path done, %d bytes', self.name,
                          self.rp_bytes)

    def _forward_src(self):
        """Source -> destination through the record parser."""
        buf = bytearray()           # not forwarded yet
        base = 0                    # stream offset of buf[0]
        eof = False
        try:
            while not eof:
                if not self._running.is_set():
                    # Stalled: forward nothing, read nothing.
                    self._running.wait(0.1)
                    if self._closed.is_set():
                        return
                    continue
                timeout = _HOLD_S if buf else 0.1
                ready, _, _ = select.select([self._src], [], [], timeout)
                if ready:
                    data = self._src.recv(_RECV)
                    if not data:
                        eof = True
                    else:
                        self.src_bytes += len(data)
                        if self.capture:
                            self.captured += data
                        buf += data
                if not ready and not buf:
                    continue
                n, stop = self._process(buf, base, flush=not ready or eof)
                del buf[:n]
                base += n
                if stop:
                    return
            self._send_dst(bytes(buf))
        except OSError as e:
            if not self.cut:
                self.log.info('%s: forward: %s; closing both sides',
                              self.name, e)
                self._shutdown_all()
        finally:
            if not self.cut:
                try:
                    self._dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            self.log.info('%s: source stream done: %d bytes in, %d out, '
                          '%d realm records', self.name, self.src_bytes,
                          self.dst_bytes, len(self.records))

    def _process(self, buf, base, flush):
        """
        Forward what can be forwarded from @buf (stream offset @base).
        Returns (bytes consumed, stop).  A possible record start at the end
        stays in @buf unless @flush (no more data came for a while: it was
        not the start of a record); a record whose header parsed waits for
        its whole body.
        """
        pos = 0
        while True:
            i = buf.find(_PREFIX, pos)
            if i < 0:
                # Keep a tail that could begin a prefix, unless flushing.
                keep = 0
                if not flush:
                    for k in range(min(len(_PREFIX) - 1, len(buf) - pos), 0,
                                   -1):
                        if buf[len(buf) - k:] == _PREFIX[:k]:
                            keep = k
                            break
                end = len(buf) - keep
                self._send_dst(bytes(buf[pos:end]))
                return end, False
            self._send_dst(bytes(buf[pos:i]))
            pos = i
            if len(buf) - i < _PROBE:
                if flush:
                    self._send_dst(bytes(buf[i:]))
                    return len(buf), False
                return i, False
            length = _check_header(buf, i)
            if not length:
                self._send_dst(bytes(buf[i:i + 1]))
                pos = i + 1
                continue
            if len(buf) - i < 1 + length:
                return i, False     # wait for the rest of the record
            with self._lock:
                rec = Record(buf[i + 1:i + 1 + length], base + i,
                             len(self.records))
                self.records.append(rec)
            pos = i + 1 + length
            out = self.tamper.record(rec) if self.tamper else rec.framed
            if isinstance(out, Cut):
                self._send_dst(out.data)
                self.log.info('%s: cutting both connections after %d bytes '
                              'to the destination (%s)', self.name,
                              self.dst_bytes, rec)
                self.cut = True
                self._shutdown_all()
                return pos, True
            self._send_dst(out)


# ---- the changes the tamper tests make -----------------------------------

class FlipDataBit(Tamper):
    """Flip one bit in the ciphertext of the first DATA entry."""

    def record(self, rec):
        if self.done or rec.type != DATA:
            return rec.framed
        raw = bytearray(rec.raw)
        off = rec.data_entry_offset(0) + DATA_ENTRY_GPA + 1234
        raw[off] ^= 0x10
        self.done = True
        self.note = f'bit 4 of byte {off} of {rec} flipped (ciphertext)'
        return bytes([MARKER]) + raw


class SwapDataEntries(Tamper):
    """Swap the first two entries of the first DATA record with two."""

    def record(self, rec):
        if self.done or rec.type != DATA or rec.data_count() < 2:
            return rec.framed
        raw = bytearray(rec.raw)
        a, b = rec.data_entry_offset(0), rec.data_entry_offset(1)
        ea = raw[a:a + DATA_ENTRY_SIZE]
        eb = raw[b:b + DATA_ENTRY_SIZE]
        raw[a:a + DATA_ENTRY_SIZE] = eb
        raw[b:b + DATA_ENTRY_SIZE] = ea
        gpas = rec.data_gpas()
        self.done = True
        self.note = (f'entries 0 (gpa 0x{gpas[0]:x}) and 1 (gpa '
                     f'0x{gpas[1]:x}) of {rec} swapped')
        return bytes([MARKER]) + raw


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
        return bytes([MARKER]) + raw


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
