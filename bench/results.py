#!/usr/bin/python3
"""
The results page, bench/results/README.md, generated from the files in
bench/results/: nothing on it is typed by hand.

    bench/results.py            write bench/results/README.md
    bench/results.py --check    exit 1 if that page is not what this
                                script would write (a stale page)
    bench/results.py --stdout   print the page instead of writing it

One section per result, in the order of their names: a Markdown report
(*.md) or a directory of them (matrix-*, profile-*).  A report's section
quotes, verbatim, its title, the bullets above its first table (what was
measured: when, at which commit, on which machine, how; a report without
them: its first paragraph), and its summary tables: every table but the
tables of single runs ("Every run:", bench/soak.py's "Every hop:"), each
with the line that leads into it, the "##" heading it is under and a
one-line paragraph right after it.  A directory's section does the
same for each report in it, shows its PNGs and links its other files; a
directory with a matrix.md (bench/matrix.sh) quotes matrix.md and gives
each of its other reports one row: its date, machine and QEMU bullets.

The page depends on nothing but the files (sorted, no time of its own):
run again without new results, it comes out the same.

Copyright (c) 2026 The QEMU CCA migration authors
SPDX-License-Identifier: GPL-2.0-or-later
"""

import argparse
import difflib
import os
import re
import sys
import urllib.parse

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')
PAGE = 'README.md'

# The bullets where a report says when, at which commit, on which machine
# and with what outcome it ran (bench/*.py and scripts/fuzz-long write
# them): a matrix's table of reports shows these only.
STATED = re.compile(r'- (date|when|machine|QEMU|result): ')
# The lead-in of a table of single runs (or hops, bench/soak.py): not a
# summary.
SINGLE_RUNS = re.compile(r'Every (run|hop):')


def link(path):
    """A relative link target for @path (a path under bench/results)."""
    return urllib.parse.quote(path)


def cell(text):
    """@text in a Markdown table cell."""
    return text.replace('|', '\\|')


def blocks(lines):
    """
    The report's lines as blocks: ('table', lines), ('heading', lines) or
    ('text', lines).  Blocks end at blank lines, and where table lines
    start or stop.
    """
    out = []
    cur, kind = [], None
    for line in lines:
        if not line.strip():
            if cur:
                out.append((kind, cur))
            cur, kind = [], None
            continue
        if line.startswith('|'):
            k = 'table'
        elif line.startswith('#'):
            k = 'heading'
        else:
            k = 'text'
        # A heading is a block of its own; so is a run of table lines.
        if cur and (k != kind or k == 'heading'):
            out.append((kind, cur))
            cur = []
        cur.append(line)
        kind = k
    if cur:
        out.append((kind, cur))
    return out


class Report:
    """A Markdown report: its title, stated lines and summary tables."""

    def __init__(self, path):
        self.path = path
        with open(os.path.join(RESULTS, path), encoding='utf-8') as f:
            lines = f.read().splitlines()
        self.title = next((l[2:].strip() for l in lines
                           if l.startswith('# ')), None)
        self.blocks = blocks(lines)
        first_table = next((i for i, (k, _) in enumerate(self.blocks)
                            if k == 'table'), len(self.blocks))
        # The bullets above the first table: what was measured, how,
        # when, at which commit, on which machine.
        self.header = [l for _, b in self.blocks[:first_table] for l in b
                       if l.startswith('- ')]
        self.stated = [l for l in self.header if STATED.match(l)]
        # Without them: the first paragraph, which then says how and when
        # the report was made.
        self.preamble = []
        if not self.header:
            self.preamble = next((b for k, b in self.blocks
                                  if k == 'text'), [])

    def summaries(self):
        """
        The summary tables, each as a list of Markdown lines: the "##"
        heading it is under (demoted below the page's own headings, and
        only where it changes), its lead-in line, the table, and a
        one-line paragraph right after it.
        """
        out = []
        heading = shown = None
        bl = self.blocks
        for i, (kind, b) in enumerate(bl):
            if kind == 'heading' and not b[0].startswith('# '):
                heading = b[0]
                continue
            if kind != 'table':
                continue
            lead = None
            if i > 0 and bl[i - 1][0] == 'text' and len(bl[i - 1][1]) == 1 \
                    and bl[i - 1][1][0].rstrip().endswith(':'):
                lead = bl[i - 1][1][0]
            if lead and SINGLE_RUNS.match(lead):
                continue
            part = []
            if heading and heading != shown:
                part += ['####' + heading.lstrip('#'), '']
                shown = heading
            if lead:
                part += [lead, '']
            part += b
            if i + 1 < len(bl) and bl[i + 1][0] == 'text' \
                    and len(bl[i + 1][1]) == 1 \
                    and not bl[i + 1][1][0].rstrip().endswith(':'):
                part += [''] + bl[i + 1][1]
            out.append(part)
        return out

    def section(self, level, data=None):
        """The report's part of the page, under a heading of @level."""
        name = os.path.basename(self.path)
        out = [f'{"#" * level} {name}', '']
        what = f'[{name}]({link(self.path)})'
        if data:
            what += f' (data: [{os.path.basename(data)}]({link(data)}))'
        if self.title:
            what += f': **{self.title}**'
        out += [what, '']
        if self.header:
            out += self.header + ['']
        elif self.preamble:
            out += self.preamble + ['']
        for part in self.summaries():
            out += part + ['']
        return out


def files_in(d):
    """The files of the result directory @d (relative), sorted."""
    return sorted(f for f in os.listdir(os.path.join(RESULTS, d))
                  if not f.startswith('.')
                  and os.path.isfile(os.path.join(RESULTS, d, f)))


def images_and_others(d, names, skip):
    """Lines showing @d's PNGs and linking its files not in @skip."""
    out = []
    for f in names:
        if f.endswith('.png'):
            p = f'{d}/{f}'
            out += [f'![{p}]({link(p)})', '']
    others = [f for f in names if f not in skip and not f.endswith('.png')]
    if others:
        out += ['Other files: ' + ', '.join(
            f'[{f}]({link(f"{d}/{f}")})' for f in others) + '.', '']
    return out


def data_of(d, md, names):
    """The .json that bench/migration.py wrote next to @md, if any."""
    j = md[:-3] + '.json'
    return (f'{d}/{j}' if d else j) if j in names else None


def matrix_section(d, names):
    """A bench/matrix.sh directory: matrix.md, the plot, one row a report."""
    out = [f'## {d}/', '',
           'The migration matrix (`bench/matrix.sh`): one report per '
           'configuration, their table (`matrix.md`) and plot.', '']
    out += Report(f'{d}/matrix.md').section(3)
    reports = [f for f in names if f.endswith('.md') and f != 'matrix.md']
    stated = {f: Report(f'{d}/{f}').stated for f in reports}
    common = [l for l in (stated[reports[0]] if reports else [])
              if all(l in s for s in stated.values())]
    used = {'matrix.md'} | set(reports)
    out += images_and_others(d, names, used | {
        f for f in names if f.endswith('.json') and f[:-5] + '.md' in used})
    if not reports:
        return out
    out += ['### The reports', '']
    if common:
        out += ['Stated by every report:', ''] + common + ['']
    out += ['| report | data | stated |', '|---|---|---|']
    for f in reports:
        data = data_of(d, f, names)
        own = '; '.join(l[2:] for l in stated[f] if l not in common)
        out.append(f'| [{f}]({link(f"{d}/{f}")}) | '
                   + (f'[{os.path.basename(data)}]({link(data)})'
                      if data else '-')
                   + f' | {cell(own) or "-"} |')
    return out + ['']


def dir_section(d, names):
    """A directory of reports (a profile, say): each report in full."""
    out = [f'## {d}/', '']
    used = set()
    for f in names:
        if f.endswith('.md'):
            data = data_of(d, f, names)
            out += Report(f'{d}/{f}').section(3, data)
            used |= {f} | ({os.path.basename(data)} if data else set())
    return out + images_and_others(d, names, used)


def dir_title(d, names):
    """The index's title of a directory: its reports' titles."""
    titles = []
    for f in names:
        if f.endswith('.md'):
            t = Report(f'{d}/{f}').title
            if t and t not in titles:
                titles.append(t)
    title = '; '.join(titles)
    if 'matrix.md' in names:
        title = 'Migration matrix (`bench/matrix.sh`)' + \
            (f': {title}' if title else '')
    return title


def page():
    """The whole page, as a string."""
    entries = sorted(e for e in os.listdir(RESULTS)
                     if not e.startswith('.') and e != PAGE)
    index, body, others = [], [], []
    top = [e for e in entries if os.path.isfile(os.path.join(RESULTS, e))]
    for e in entries:
        if os.path.isdir(os.path.join(RESULTS, e)):
            names = files_in(e)
            index.append((f'{e}/', dir_title(e, names)))
            body += (matrix_section if 'matrix.md' in names
                     else dir_section)(e, names)
        elif e.endswith('.md'):
            r = Report(e)
            index.append((e, r.title or ''))
            body += r.section(2, data_of('', e, top))
        elif e.endswith('.json') and e[:-5] + '.md' in top:
            continue
        elif e.endswith('.png'):
            index.append((e, ''))
            body += [f'## {e}', '', f'![{e}]({link(e)})', '']
        else:
            others.append(e)
    out = [
        '# Results',
        '',
        'Generated by `bench/results.py` from the files in this directory;'
        ' do not edit',
        'it by hand.  After adding results, run `bench/results.py`;'
        ' `bench/results.py',
        '--check` exits 1 when this page is not what it would write.',
        '',
        'Each section quotes a result file: its title, the lines where it'
        ' states when,',
        'at which commit and on which machine it was measured, and its'
        ' summary tables,',
        'verbatim.  Single runs, command lines and notes are in the files'
        ' themselves.',
        'Each file is as its benchmark wrote it, at its own date and build:'
        ' an older',
        'file measured an older build.',
        '',
        '| result | title |',
        '|---|---|',
    ]
    out += [f'| [{n}]({link(n)}) | {cell(t)} |' for n, t in index]
    out += [''] + body
    if others:
        out += ['## Other files', '']
        out += [f'- [{e}]({link(e)})' for e in others] + ['']
    while out and out[-1] == '':
        out.pop()
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split('Copyright')[0].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument('--check', action='store_true',
                      help='exit 1 if bench/results/README.md is stale')
    mode.add_argument('--stdout', action='store_true',
                      help='print the page instead of writing it')
    args = ap.parse_args()
    new = page()
    path = os.path.join(RESULTS, PAGE)
    if args.stdout:
        sys.stdout.write(new)
        return 0
    if args.check:
        try:
            with open(path, encoding='utf-8') as f:
                old = f.read()
        except FileNotFoundError:
            old = ''
        if old == new:
            return 0
        diff = list(difflib.unified_diff(
            old.splitlines(), new.splitlines(), 'bench/results/README.md',
            'bench/results/README.md (as generated)', lineterm='', n=1))
        sys.stderr.write('\n'.join(diff[:60]) + '\n')
        if len(diff) > 60:
            sys.stderr.write(f'... ({len(diff) - 60} more diff lines)\n')
        sys.stderr.write('bench/results/README.md is stale: run '
                         'bench/results.py and commit it\n')
        return 1
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write(new)
    return 0


if __name__ == '__main__':
    sys.exit(main())
