# Facts and helpers that the Arm CCA realm tests, the benchmarks (bench/)
# and scripts/run-realm share: the kernel console of a realm and of a
# plain VM, the guest assets, and a QMP client whose every wait is
# bounded.
#
#   python3 cca_common.py earlycon [plain]    prints the earlycon option
#
# Copyright (c) 2026 The QEMU CCA migration authors
# SPDX-License-Identifier: GPL-2.0-or-later

import hashlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

# hw/arm/virt.c: memmap[VIRT_UART0], the PL011 the kernel's console uses.
VIRT_UART0 = 0x09000000

# The IPA width of a realm on the default virt memory map (hw/arm/virt-cca.c
# derives it from the map: the smallest that holds it, twice over).
REALM_IPA_WIDTH = 41


def unprotected_alias(addr, ipa_width=REALM_IPA_WIDTH):
    """The address of @addr in the unprotected (shared) half of IPA space."""
    return addr | (1 << (ipa_width - 1))


def earlycon(realm):
    """
    The earlycon option: earlycon runs before the kernel knows it is a
    realm, so a realm's must name the PL011 at its unprotected alias.
    """
    uart = unprotected_alias(VIRT_UART0) if realm else VIRT_UART0
    return f'earlycon=pl011,{uart:#x}'


def kernel_append(realm, extra='panic=-1'):
    """The kernel command line of the tests and benchmarks."""
    return f'console=ttyAMA0 {earlycon(realm)} {extra}'.strip()


def guest_assets(top):
    """
    Kernel, initramfs and kernel version from the project's
    scripts/mkinitramfs (which fetches and builds them if needed), with
    @top the project's top directory.
    """
    out = subprocess.run([os.path.join(top, 'scripts', 'mkinitramfs')],
                         check=True, capture_output=True, text=True).stdout
    env = dict(line.split('=', 1) for line in out.split() if '=' in line)
    return (env['CCA_GUEST_KERNEL'], env['CCA_GUEST_INITRD'],
            env['CCA_GUEST_KVER'])


def median_spread(vals, digits=1):
    """'median (min - max)' of @vals, for benchmark reports."""
    return (f'{statistics.median(vals):.{digits}f} '
            f'({min(vals):.{digits}f} - {max(vals):.{digits}f})')


def host_mem_total():
    """The host's RAM in bytes (MemTotal of /proc/meminfo)."""
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemTotal:'):
                return int(line.split()[1]) << 10
    raise RuntimeError('no MemTotal in /proc/meminfo')


def project_top():
    """The top directory of the project (this file is linked into QEMU)."""
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.normpath(os.path.join(here, '..', '..', '..', '..'))


def make_identity(directory, name):
    """
    A test platform identity DIRECTORY/NAME.pem (key, certificate, test
    CA) from scripts/mkidentity, and the CCA platform token's instance ID
    claim it gives: 0x01 then SHA-256 of the key's uncompressed point.
    """
    script = os.path.join(project_top(), 'scripts', 'mkidentity')
    path = subprocess.run([script, directory, name], check=True,
                          capture_output=True, text=True).stdout.strip()
    der = subprocess.run(['openssl', 'pkey', '-in', path, '-pubout',
                          '-outform', 'DER'], check=True,
                         capture_output=True).stdout
    point = der[-97:]                       # 0x04 || x || y, P-384
    assert point[0] == 4, 'not an uncompressed P-384 point'
    return path, b'\x01' + hashlib.sha256(point).digest()


class CborTag:
    """A CBOR tag (major type 6) and the item it tags."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value


def cbor_decode(data):
    """
    The CBOR item (RFC 8949) that @data holds entirely: integers, byte
    and text strings, arrays, maps, tags (CborTag), simple values; no
    indefinite lengths, which a CCA token does not use.
    """
    def item(pos):
        ib = data[pos]
        major, info = ib >> 5, ib & 0x1f
        pos += 1
        if info < 24:
            arg = info
        elif info <= 27:
            n = 1 << (info - 24)
            arg = int.from_bytes(data[pos:pos + n], 'big')
            pos += n
        else:
            raise ValueError(f'CBOR: unsupported additional info {info}')
        if major == 0:
            return arg, pos
        if major == 1:
            return -1 - arg, pos
        if major in (2, 3):
            raw = bytes(data[pos:pos + arg])
            if len(raw) != arg:
                raise ValueError('CBOR: truncated string')
            return (raw if major == 2 else raw.decode()), pos + arg
        if major == 4:
            out = []
            for _ in range(arg):
                v, pos = item(pos)
                out.append(v)
            return out, pos
        if major == 5:
            out = {}
            for _ in range(arg):
                k, pos = item(pos)
                out[k], pos = item(pos)
            return out, pos
        if major == 6:
            v, pos = item(pos)
            return CborTag(arg, v), pos
        return {20: False, 21: True, 22: None}.get(arg, arg), pos

    value, end = item(0)
    if end != len(data):
        raise ValueError(f'CBOR: {len(data) - end} bytes after the item')
    return value


def cca_token_claims(token):
    """
    The claims of a CCA attestation token (CBOR tag 399 over the platform
    token, key 44234, and the realm token, key 44241, each a COSE_Sign1):
    (platform claims, realm claims), each a dict keyed by claim number.
    """
    top = cbor_decode(token)
    if not isinstance(top, CborTag) or top.tag != 399:
        raise ValueError('not a CCA token (CBOR tag 399)')

    def payload(raw):
        sign1 = cbor_decode(raw)
        if isinstance(sign1, CborTag):
            sign1 = sign1.value
        return cbor_decode(sign1[2])

    return payload(top.value[44234]), payload(top.value[44241])


class RawQmp:
    """
    A QMP client on a UNIX socket whose every wait is bounded: for
    benchmarks, and for checking that a QEMU answers at all (QEMUMachine's
    client waits for an answer forever).  Commands raise TimeoutError when
    QEMU does not answer within @timeout seconds, RuntimeError with QMP's
    description when it answers with an error.
    """

    def __init__(self, path, timeout):
        # A QEMU just started may not listen yet: retry until @timeout.
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b''
        self._read()                        # greeting
        self.cmd('qmp_capabilities')

    def _read(self):
        while b'\n' not in self.buf:
            try:
                data = self.sock.recv(65536)
            except socket.timeout as e:
                raise TimeoutError('QMP: no answer') from e
            if not data:
                raise EOFError('QMP closed')
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def qmp(self, name, **args):
        """The answer to @name as QMP gives it: 'return' or 'error'."""
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            resp = self._read()
            if 'return' in resp or 'error' in resp:
                return resp

    def cmd(self, name, **args):
        resp = self.qmp(name, **args)
        if 'error' in resp:
            raise RuntimeError(f'{name}: {resp["error"]["desc"]}')
        return resp['return']

    def close(self):
        self.sock.close()


def realm_migration_problems(src, dst, vcpus):
    """
    What is wrong with a realm migration that should have completed, from
    the source's and the destination's query-migrate (@src, @dst) and the
    realm's number of vCPUs: a list of sentences, empty when nothing is.
    It completed on both sides; the source realm is given up
    ("migrated"), the destination's runs; RAM migration did not read the
    memory under protected granules; the source sealed granules and
    records of every kind, no granule was left dirty, and the
    destination imported all of them.
    """
    out = []
    for side, info, want in (('source', src, 'migrated'),
                             ('destination', dst, 'running')):
        if info.get('status') != 'completed':
            out.append(f'{side}: migration {info.get("status")}: '
                       f'{info.get("error-desc", "")}')
        r = info.get('realm')
        if not r:
            out.append(f'{side}: no realm in query-migrate')
        elif r.get('state') != want:
            out.append(f'{side}: realm state {r.get("state")}, not {want}')
    r, d = src.get('realm') or {}, dst.get('realm') or {}
    ram = src.get('ram') or {}
    if ram.get('page-size') and \
            ram.get('normal', 0) + ram.get('duplicate', 0) >= \
            ram.get('total', 0) // ram['page-size'] // 4:
        out.append('RAM migration read the pages under protected granules')
    if r:
        if r.get('granules', 0) <= 0:
            out.append('no granule moved')
        elif r.get('bytes', 0) <= (r['granules'] -
                                   r.get('zero-granules', 0)) * 4096:
            out.append(f'{r.get("bytes")} record bytes for '
                       f'{r["granules"] - r.get("zero-granules", 0)} '
                       'non-zero granules')
        for k, least in (('epochs', 1), ('ripas-records', 1)):
            if r.get(k, 0) < least:
                out.append(f'source {k} {r.get(k)}')
        if r.get('recs') != vcpus:
            out.append(f'{r.get("recs")} RECs moved, the realm has {vcpus}')
        if r.get('dirty-granules') != 0:
            out.append(f'{r.get("dirty-granules")} granules left dirty')
    if r and d:
        for k in ('granules', 'zero-granules', 'bytes', 'epochs',
                  'ripas-records', 'recs'):
            if d.get(k) != r.get(k):
                out.append(f'{k}: the source sent {r.get(k)}, the '
                           f'destination imported {d.get(k)}')
    return out


# What "memstress check" prints when its memory is intact: bytes, generation.
MEMSTRESS_VERIFY_OK = re.compile(
    r'MEMSTRESS: verify OK (\d+) bytes .*\(gen (\d+)')


def socket_recv(sock):
    """A GuestConsole's recv for the stream socket @sock: an error (the
    socket closed) ends the file like QEMU's end does."""
    def recv():
        try:
            return sock.recv(65536)
        except OSError:
            return b''
    return recv


class ConsoleError(AssertionError):
    """A console wait failed: timeout, end of file or a failure pattern.
    An AssertionError, so that a unittest reports it as a failure."""


class GuestConsole:
    """
    A guest's serial console, read by a thread from start to end of file.

    QEMU writes a PL011's output one byte per write to the console's
    socket, and a socket pair holds only some 280 of them: a guest that
    prints while nobody reads (a kernel warning while a test only talks
    QMP) blocks its vCPU in that write with the BQL held, and QMP with
    it.  So the console is read all the time, and wait() looks at what
    was read.

    @recv() returns the next bytes, b'' at end of file; @send(bytes)
    writes to the guest; every line read goes to @log (a logger) with
    @name before it.  Without @log, errors end with the console's last
    lines.
    """

    def __init__(self, name, recv, send, log=None):
        self.name = name
        self._recv = recv
        self._send = send
        self._log = log
        self._cond = threading.Condition()
        self._out = bytearray()
        self._pos = 0
        self._eof = False
        self._thread = threading.Thread(target=self._read, daemon=True,
                                        name=f'console-{name}')
        self._thread.start()

    @classmethod
    def of_socket(cls, name, sock, log=None):
        """The console on the stream socket @sock."""
        return cls(name, socket_recv(sock), sock.sendall, log)

    def _read(self):
        line = b''
        while True:
            data = self._recv()
            if self._log:
                line += data
                *lines, line = line.split(b'\n')
                if not data and line:
                    lines.append(line)
                for text in lines:
                    self._log.debug('%s: %s', self.name,
                                    text.decode(errors='replace').rstrip())
            with self._cond:
                if data:
                    self._out += data
                else:
                    self._eof = True
                self._cond.notify_all()
            if not data:
                return

    def text(self):
        """Everything the guest printed so far."""
        with self._cond:
            return self._out.decode(errors='replace')

    def send(self, text):
        """Send @text (a str) to the guest; later waits only look at what
        the guest prints from now on."""
        with self._cond:
            self._pos = len(self._out)
        self._send(text.encode())

    def wait(self, pattern, timeout, failures=()):
        """
        Wait until the regular expression @pattern (bytes) matches what
        the guest printed since the last match (or send()).  Raises
        ConsoleError on one of @failures (bytes), at end of file or after
        @timeout seconds.  Returns (match, the text up to its end).
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            start = self._pos
            while True:
                m = regex.search(self._out, start)
                if m:
                    self._pos = m.end()
                    return m, bytes(self._out[start:m.end()])
                seen = bytes(self._out[start:])
                bad = [f for f in failures if f in seen]
                left = deadline - time.monotonic()
                if bad:
                    # A little more, so that the log shows the reason.
                    self._cond.wait_for(lambda: self._eof, 2)
                    why = f'{bad[0].decode()!r} on the console'
                elif self._eof:
                    why = 'end of the console (QEMU exited?)'
                elif left <= 0:
                    why = f'timeout ({timeout} s)'
                else:
                    self._cond.wait(left)
                    continue
                self._pos = len(self._out)
                msg = f'{self.name}: {why} while waiting for {pattern!r}'
                if not self._log:
                    tail = self._out[-2000:].decode(errors='replace')
                    msg += f'; console tail:\n{tail}'
                raise ConsoleError(msg)

    def run(self, cmd, timeout):
        """Run @cmd in the guest's shell: (exit status, what it printed,
        without the command line echoed and the status marker)."""
        marker = 'echo "__RC=$?__"'
        self.send(f'{cmd}; {marker}\r')
        m, out = self.wait(rb'__RC=(\d+)__', timeout)
        out = out[:len(out) - len(m.group(0))]
        text = out.decode(errors='replace').replace('\r', '')
        # The shell echoes the command line, twice when it came before the
        # prompt (once as typed, once redrawn with it): the output starts
        # after the last echo.
        echo = text.rfind(marker)
        if echo >= 0:
            text = text[text.find('\n', echo) + 1:] \
                if '\n' in text[echo:] else ''
        return int(m.group(1)), text


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'earlycon':
        print(earlycon(realm=sys.argv[2:3] != ['plain']))
    else:
        sys.exit(f'usage: {sys.argv[0]} earlycon [plain]')
