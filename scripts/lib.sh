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
# Python's bytecode of the checkout's modules goes into the build
# directory: the scripts and tests change no file of the checkout.
export PYTHONPYCACHEPREFIX=${PYTHONPYCACHEPREFIX:-$CCA_BUILD/pycache}
# Pure-Python test dependencies bookworm lacks (scripts/setup-deps).
CCA_PY_SITE=$CCA_CACHE/python

# The pinned QEMU: Debian's qemu 1:10.2.2+ds-1, whose source files'
# checksums are in scripts/qemu-source.sha256.  scripts/fetch-qemu takes
# the newest version sid lists whose files the mirror serves and to which
# patches/ applies (today this one), and records it.
QEMU_PINNED_DEB_VERSION=1:10.2.2+ds-1

cca_log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
cca_die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# "$@" as root: directly as root, else through sudo.
cca_sudo() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        cca_die "needs root or sudo to run: $*"
    fi
}

# The Debian mirror this machine already uses, so nothing here names a
# host of its own: the first URI of the system's apt sources (in their
# order, as apt-get indextargets lists them) whose Release file of every
# suite in CCA_MIRROR_SUITES says "Origin: Debian".  A suite the system's
# apt already has is read from apt's copy of its Release file (apt
# verified it); the others are fetched from the candidate
# (dists/<suite>/Release, with apt's own apt-helper).  A third-party
# repository, the security archive or a mirror without sid is passed
# over; if no URI qualifies, the error names each one tried and why.  The
# choice is kept for 12 hours in $CCA_CACHE/mirror while the sources stay
# the same.  (apt later checks every index it takes from there against
# Debian's archive keyring.)
CCA_MIRROR_SUITES=(sid bookworm)
cca_debian_mirror() {
    local targets uris=() uri suite origin why tried=() key list parts
    local cache=$CCA_CACHE/mirror
    eval "$(apt-config shell list Dir::Etc::sourcelist/f parts Dir::Etc::sourceparts/d)"
    key=$( { cat "$list" "$parts"*.list "$parts"*.sources 2>/dev/null
             printf '%s\n' "${CCA_MIRROR_SUITES[@]}"; } | sha256sum | cut -d' ' -f1)
    if [ -f "$cache" ] && [ -z "$(find "$cache" -mmin +720)" ] &&
       [ "$(sed -n 1p "$cache")" = "$key" ]; then
        sed -n 2p "$cache"
        return 0
    fi
    # Every source, in order (without ReleaseInfo=false, apt-get
    # indextargets leaves out those whose Release apt does not have).
    # shellcheck disable=SC2016 # apt's format, not the shell's
    mapfile -t uris < <(apt-get indextargets -o APT::Get::IndexTargets::ReleaseInfo=false \
                            --format '$(REPO_URI)' 2>/dev/null | awk 'NF && !seen[$0]++')
    # The Origin of each Release apt has.
    # shellcheck disable=SC2016
    targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(ORIGIN)' 2>/dev/null |
              awk '!seen[$0]++') || targets=
    [ ${#uris[@]} -gt 0 ] ||
        cca_die "the system's apt has no source (apt-get indextargets lists none)"
    for uri in "${uris[@]}"; do
        why=
        case $uri in
        cdrom:*) why="a cdrom" ;;
        esac
        for suite in "${CCA_MIRROR_SUITES[@]}"; do
            [ -z "$why" ] || break
            origin=$(awk -v u="$uri" -v s="$suite" \
                         '$1 == u && $2 == s && NF > 2 { $1 = $2 = ""; sub(/^ +/, ""); print; exit }' \
                         <<< "$targets")
            if [ -z "$origin" ]; then
                if ! origin=$(cca_release_origin "$uri" "$suite"); then
                    why="no dists/$suite/Release"
                    break
                fi
            fi
            if [ "$origin" != Debian ]; then
                why="dists/$suite/Release says Origin: ${origin:-(none)}"
            fi
        done
        if [ -z "$why" ]; then
            mkdir -p "$CCA_CACHE"
            printf '%s\n%s\n' "$key" "${uri%/}" > "$cache.tmp" && mv "$cache.tmp" "$cache"
            printf '%s\n' "${uri%/}"
            return 0
        fi
        tried+=("$uri: $why")
    done
    cca_die "no Debian mirror with ${CCA_MIRROR_SUITES[*]} (Origin: Debian) among" \
            "the system's apt sources; tried:" \
            "$(printf '%s; ' "${tried[@]}")add one to /etc/apt or set CCA_APT_MIRROR"
}

# The Origin field of the Release file of suite $2 at the repository URI
# $1, fetched with apt's apt-helper (the machine's apt configuration, its
# proxy say, applies); fails if there is none.
cca_release_origin() {
    local uri=${1%/} suite=$2 tmp origin rc=1
    tmp=$(mktemp -d)
    if /usr/lib/apt/apt-helper -o "APT::Sandbox::User=$(id -un)" download-file \
           "$uri/dists/$suite/Release" "$tmp/Release" >/dev/null 2>&1; then
        origin=$(sed -n 's/^Origin: *//p' "$tmp/Release" | head -n1)
        printf '%s\n' "$origin"
        rc=0
    fi
    rm -rf "$tmp"
    return $rc
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
