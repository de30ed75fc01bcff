#!/usr/bin/env python3
"""Serve a directory over HTTP on 127.0.0.1 for the scripts' tests.

    http-serve.py ROOT PORTFILE LOG

The port (chosen by the kernel) is written to PORTFILE once the server
listens (atomically: PORTFILE appears whole); each request is appended
to LOG as "METHOD PATH STATUS".  Runs until killed.

Copyright (c) 2026 The QEMU CCA migration authors
SPDX-License-Identifier: GPL-2.0-or-later
"""
import http.server
import os
import sys


def main():
    root, portfile, log = sys.argv[1:4]
    os.chdir(root)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):
            status = args[1] if len(args) > 1 else ''
            with open(log, 'a') as f:
                f.write(f'{self.command} {self.path} {status}\n')

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + '.tmp', portfile)
    server.serve_forever()


if __name__ == '__main__':
    main()
