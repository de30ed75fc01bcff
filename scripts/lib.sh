# Shared helpers for the project's shell scripts.  Source, do not execute.
# shellcheck shell=bash

CCA_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CCA_CACHE=${CCA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-cca}
CCA_BUILD=${CCA_BUILD:-$CCA_TOP/build}
# The QEMU tree that is built: pristine 10.2.2 + patches/ + overlay links.
CCA_QEMU_TREE=$CCA_BUILD/qemu-src
# The identity of the patch series (author and Signed-off-by of every
# patch, scripts/regen-patches): whoever sends it sets theirs.
CCA_MAINTAINER=${CCA_MAINTAINER:-QEMU CCA migration maintainers <qemu-cca@localhost>}
# Its name and address (git's -c user.name= and user.email=), or exits.
cca_maintainer() {
    maint_name=${CCA_MAINTAINER% <*}
    maint_email=${CCA_MAINTAINER##*<}
    maint_email=${maint_email%>}
    [ -n "$maint_name" ] && [ "$maint_email" != "$CCA_MAINTAINER" ] ||
        cca_die "CCA_MAINTAINER must read 'Name <address>', not '$CCA_MAINTAINER'"
}
CCA_QEMU_BUILD=$CCA_BUILD/qemu-build
CCA_QEMU_BIN=$CCA_QEMU_BUILD/qemu-system-aarch64
CCA_DEB_PY=/usr/bin/python3
# Pure-Python test dependencies bookworm lacks (scripts/setup-deps).
CCA_PY_SITE=$CCA_CACHE/python

# The pinned QEMU: Debian's qemu 1:10.2.2+ds-1, whose source files'
# checksums are in scripts/qemu-source.sha256.  scripts/fetch-qemu takes
# the newest version sid lists whose files the mirror serves and to which
# patches/ applies (today this one), and records it.
QEMU_PINNED_DEB_VERSION=1:10.2.2+ds-1

cca_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
cca_die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

cca_sudo() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The Debian mirror this machine already uses (first URI of a Debian
# source in /etc/apt), so nothing here names a host of its own.
cca_debian_mirror() {
    local uri
    uri=$(grep -rhsE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
          awk '{print $2}' | grep -v -- '-security' | grep -m1 -i debian)
    if [ -z "$uri" ]; then
        uri=$(grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list \
                 /etc/apt/sources.list.d/*.list 2>/dev/null |
              sed -E 's/\[[^]]*\]//' | awk '{print $2}' |
              grep -v -- '-security' | grep -m1 -i debian)
    fi
    [ -n "$uri" ] || cca_die "no Debian mirror found in /etc/apt"
    printf '%s\n' "${uri%/}"
}

# The mirror and the keyring of the private apt configurations below:
# the machine's mirror and Debian's archive keyring, unless
# CCA_APT_MIRROR and CCA_APT_KEYRING name others (tests/scripts/ points
# them at a local test mirror).
cca_apt_mirror() {
    if [ -n "${CCA_APT_MIRROR:-}" ]; then
        printf '%s\n' "${CCA_APT_MIRROR%/}"
    else
        cca_debian_mirror
    fi
}
CCA_APT_KEYRING=${CCA_APT_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# A private apt configuration rooted at $1 (its own sources.list, lists,
# cache and an empty dpkg status): sets CCA_APT_ROOT and CCA_APT_OPTS for
# cca_apt_private.  The system's apt and dpkg configuration is never
# changed by it, and it needs no root.
cca_apt_conf() {
    local root=$1
    CCA_APT_ROOT=$root
    mkdir -p "$root/lists/partial" "$root/archives/partial" "$root/etc/preferences.d"
    CCA_APT_OPTS=(-o "Dir::Etc::SourceList=$root/sources.list"
                  -o "Dir::Etc::SourceParts=/dev/null"
                  -o "Dir::Etc::Preferences=/dev/null"
                  -o "Dir::Etc::PreferencesParts=$root/etc/preferences.d"
                  -o "Dir::State::Lists=$root/lists"
                  -o "Dir::State::status=$root/status"
                  -o "Dir::State::extended_states=$root/extended_states"
                  -o "Dir::Cache=$root"
                  -o "Dir::Cache::archives=$root/archives"
                  -o "APT::Get::List-Cleanup=false"
                  -o "Debug::NoLocking=true"
                  -o "APT::Sandbox::User=root")
    [ -f "$root/status" ] || : > "$root/status"
}

# sid through the private configuration in $CCA_CACHE/apt: source
# packages and arm64 binaries.
cca_apt_private_init() {
    local mirror
    mirror=$(cca_apt_mirror)
    cca_apt_conf "$CCA_CACHE/apt"
    cat > "$CCA_APT_ROOT/sources.list" <<EOT
deb-src [signed-by=$CCA_APT_KEYRING] $mirror sid main
deb [arch=arm64 signed-by=$CCA_APT_KEYRING] $mirror sid main
EOT
    CCA_APT_OPTS+=(-o "APT::Architectures::=arm64")
}

# bookworm's arm64 binaries as if arm64 were the native architecture (the
# cross compiler's sysroot: gcc 12 and glibc 2.36 as in bookworm's
# gcc-aarch64-linux-gnu), in $CCA_CACHE/apt-arm64-bookworm.
cca_apt_arm64_init() {
    local mirror
    mirror=$(cca_apt_mirror)
    cca_apt_conf "$CCA_CACHE/apt-arm64-bookworm"
    cat > "$CCA_APT_ROOT/sources.list" <<EOT
deb [arch=arm64 signed-by=$CCA_APT_KEYRING] $mirror bookworm main
EOT
    CCA_APT_OPTS+=(-o "APT::Architecture=arm64" -o "APT::Architectures::=arm64")
}

cca_apt_private() {
    apt-get "${CCA_APT_OPTS[@]}" "$@"
}

# apt-get update of the configuration set up last, at most every 12 hours
# while its sources.list stays the same.
cca_apt_private_update() {
    local stamp=$CCA_APT_ROOT/lists/.updated
    if [ -f "$stamp" ] && [ -z "$(find "$stamp" -mmin +720)" ] &&
       cmp -s "$stamp" "$CCA_APT_ROOT/sources.list"; then
        return 0
    fi
    cca_apt_private -qq update ||
        cca_die "apt update of the private configuration in $CCA_APT_ROOT failed"
    cp "$CCA_APT_ROOT/sources.list" "$stamp"
}

# Identifies the patch series (its files' contents, in order).
cca_series_id() {
    local f
    for f in "$CCA_TOP"/patches/*.patch; do
        if [ -f "$f" ]; then cat "$f"; fi
    done | sha256sum | cut -d' ' -f1
}

# Builds the fuzzer (clang, $CCA_BUILD/fuzz) and writes its seed corpus of
# valid streams and handshake messages into $CCA_BUILD/fuzz/fuzz-corpus/seeds.
cca_fuzz_prepare() {
    local b=$CCA_BUILD/fuzz
    command -v clang >/dev/null || { cca_log "clang is not installed"; return 1; }
    if [ ! -f "$b/build.ninja" ]; then
        CC=clang meson setup "$b" "$CCA_TOP" -Dfuzz=true >/dev/null || return 1
    fi
    ninja -C "$b" fuzz-rmm-mig tests/rmm/test-rmm-mig >/dev/null || return 1
    rm -rf "$b/fuzz-corpus/seeds"
    mkdir -p "$b/fuzz-corpus/work" "$b/fuzz-artifacts"
    "$b/tests/rmm/test-rmm-mig" --write-corpus "$b/fuzz-corpus/seeds" >/dev/null
}

# Overlay: link every file of qemu/ into the QEMU tree $1.  Overlay files
# must be new files; changes to QEMU's own files belong in patches/.
cca_overlay() {
    local tree=$1 exclude f rel dst
    # In a worktree of the tree too: its own git directory's exclude file.
    exclude=$(git -C "$tree" rev-parse --path-format=absolute \
                  --git-path info/exclude)
    mkdir -p "$(dirname "$exclude")"
    : > "$exclude.new"
    while IFS= read -r -d '' f; do
        rel=${f#"$CCA_TOP"/qemu/}
        dst=$tree/$rel
        if [ -e "$dst" ] && [ ! -L "$dst" ]; then
            cca_die "qemu/$rel would replace a QEMU file; change QEMU files through patches/"
        fi
        mkdir -p "$(dirname "$dst")"
        if [ "$(readlink "$dst" 2>/dev/null)" != "$f" ]; then
            ln -sfn "$f" "$dst"
        fi
        printf '/%s\n' "$rel" >> "$exclude.new"
    done < <(find "$CCA_TOP/qemu" -type f -print0 | sort -z)
    # Drop links to overlay files that no longer exist.
    if [ -f "$exclude" ]; then
        while IFS= read -r rel; do
            rel=${rel#/}
            [ -L "$tree/$rel" ] && [ ! -e "$tree/$rel" ] && rm -f "$tree/$rel"
        done < "$exclude"
    fi
    mv "$exclude.new" "$exclude"
}

# The minimal feature set of the project's QEMU builds, native and cross,
# in the array conf; "$@": what differs.
cca_qemu_conf() {
    conf=(--target-list=aarch64-softmmu
          --python="$CCA_DEB_PY"
          --disable-download
          --without-default-features
          --enable-tcg --enable-fdt=system --enable-gnutls "$@"
          --disable-docs --disable-rust --disable-werror --disable-install-blobs
          --extra-cflags=-g1)
}

# ccache for QEMU's builds, shared by all of them.
cca_ccache_env() {
    export CCACHE_DIR=${CCACHE_DIR:-$CCA_CACHE/ccache}
    export CCACHE_BASEDIR=$CCA_BUILD
    export CCACHE_NOHASHDIR=1
    export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
    if [ -d /usr/lib/ccache ]; then
        export PATH=/usr/lib/ccache:$PATH
    fi
}
