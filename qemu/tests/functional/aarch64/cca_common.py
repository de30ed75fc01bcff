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
import socket
import statistics
import subprocess
import sys
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


if __name__ == '__main__':
    if len(sys.argv) >= 2 and sys.argv[1] == 'earlycon':
        print(earlycon(realm=sys.argv[2:3] != ['plain']))
    else:
        sys.exit(f'usage: {sys.argv[0]} earlycon [plain]')
