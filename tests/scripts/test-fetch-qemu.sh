#!/usr/bin/env bash
# scripts/fetch-qemu's choice of QEMU source version, against a local test
# mirror: python3's http.server on 127.0.0.1 serving a sid index signed by
# a throwaway key (CCA_APT_MIRROR, CCA_APT_KEYRING).  The index lists
#   1:11.9.9+ds-1      whose files the mirror does not serve (404);
#   1:10.2.2+ds-1cca1  served: the real 10.2.2 whose Debian series also
#                      carries one patch of patches/, so that patch no
#                      longer applies;
#   1:10.2.2+ds-1      the pinned version.
# fetch-qemu must skip the first two, each with its line (and download
# nothing of the first), take the pinned one, record it in the cache only
# (the repository stays as it was), and then reuse it without the mirror.
# With the pinned version off the index, it must fail naming both
# versions it tried.
#
# The real 10.2.2 source files are read from the default cache
# ($CCA_CACHE/src, ~/.cache/qemu-cca/src) when they are there, else
# downloaded once from the machine's mirror.  Needs dpkg-dev, gpg, git,
# python3; no root.  About 30 s.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

pinned=$QEMU_PINNED_DEB_VERSION
pv=${pinned#*:}                    # 10.2.2+ds-1
up=${pv%-*}                        # 10.2.2+ds
bad_v=$pinned"cca1"
absent_v=1:11.9.9+ds-1
real_src=$CCA_CACHE/src

for t in dpkg-source dpkg-scansources gpg gpgconf git xz "$CCA_DEB_PY"; do
    command -v "$t" >/dev/null || cca_die "$t is missing (scripts/setup-deps)"
done

work=$(mktemp -d /tmp/test-fetch-qemu.XXXXXX)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    GNUPGHOME=$work/gnupg gpgconf --kill gpg-agent 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { cca_log "FAIL: $*"; exit 1; }

# --- the real pinned source files --------------------------------------
orig=$real_src
if ! (cd "$orig" 2>/dev/null &&
      sha256sum --quiet -c "$CCA_TOP/scripts/qemu-source.sha256" 2>/dev/null); then
    cca_log "qemu=$pinned is not in $real_src: downloading it from the machine's mirror"
    orig=$work/real/src
    mkdir -p "$orig"
    (CCA_CACHE=$work/real
     cca_apt_private_init
     cca_apt_private_update
     cd "$orig"
     cca_apt_private source --download-only "qemu=$pinned" >/dev/null) ||
        cca_die "could not download qemu=$pinned"
    (cd "$orig" && sha256sum --quiet -c "$CCA_TOP/scripts/qemu-source.sha256") ||
        cca_die "qemu=$pinned's files do not match scripts/qemu-source.sha256"
fi

# --- the test mirror ---------------------------------------------------
mirror=$work/mirror
pool=$mirror/pool/main/q/qemu
mkdir -p "$pool" "$mirror/dists/sid/main/source" "$mirror/dists/sid/main/binary-arm64"
for f in "qemu_$pv.dsc" "qemu_$up.orig.tar.xz" "qemu_$pv.debian.tar.xz"; do
    ln -s "$orig/$f" "$pool/$f"
done

# The patch Debian's series of $bad_v carries: the last one of patches/
# that only changes files no other patch touches.
files_of() { sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$@"; }
shared=$(files_of "$CCA_TOP"/patches/*.patch | sort | uniq -d)
bad=
for p in "$CCA_TOP"/patches/*.patch; do
    grep -q '^new file mode\|^deleted file mode' "$p" && continue
    files_of "$p" | grep -qxF -- "$shared" && continue
    bad=$(basename "$p")
done
[ -n "$bad" ] || cca_die "no patch of patches/ changes only files of its own"

mkdir "$work/deb"
tar -xJf "$orig/qemu_$pv.debian.tar.xz" -C "$work/deb"
cp "$CCA_TOP/patches/$bad" "$work/deb/debian/patches/cca-test.patch"
echo cca-test.patch >> "$work/deb/debian/patches/series"
tar -cJf "$pool/qemu_${pv}cca1.debian.tar.xz" -C "$work/deb" debian

# The .dsc of $bad_v (the pinned one's, unsigned, with the new Debian
# tarball) and of $absent_v (files that are nowhere); dpkg-scansources
# makes the index from them, then the latter goes.
"$CCA_DEB_PY" - "$pool" "$pv" <<'EOF'
import hashlib, os, re, sys
pool, pv = sys.argv[1], sys.argv[2]
text = open(os.path.join(pool, f"qemu_{pv}.dsc")).read()
text = text.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE", 1)[0]
old, new = f"qemu_{pv}.debian.tar.xz", f"qemu_{pv}cca1.debian.tar.xz"
data = open(os.path.join(pool, new), "rb").read()
sums = {"Checksums-Sha1": hashlib.sha1(data).hexdigest(),
        "Checksums-Sha256": hashlib.sha256(data).hexdigest(),
        "Files": hashlib.md5(data).hexdigest()}
out, field = [], None
for line in text.splitlines():
    if not line.startswith(" "):
        field = line.split(":", 1)[0]
    if line.startswith("Version: "):
        line = f"Version: 1:{pv}cca1"
    elif line.startswith(" ") and line.endswith(" " + old):
        line = f" {sums[field]} {len(data)} {new}"
    out.append(line)
open(os.path.join(pool, f"qemu_{pv}cca1.dsc"), "w").write("\n".join(out) + "\n")
fake = "\n".join(l for l in out if not l.startswith(" ") and
                 re.match(r"(Format|Source|Binary|Architecture|Maintainer):", l))
z = "0" * 64
open(os.path.join(pool, "qemu_11.9.9+ds-1.dsc"), "w").write(f"""{fake}
Version: 1:11.9.9+ds-1
Checksums-Sha256:
 {z} 1000 qemu_11.9.9+ds.orig.tar.xz
 {z} 1000 qemu_11.9.9+ds-1.debian.tar.xz
Files:
 {z[:32]} 1000 qemu_11.9.9+ds.orig.tar.xz
 {z[:32]} 1000 qemu_11.9.9+ds-1.debian.tar.xz
""")
EOF
(cd "$mirror" && dpkg-scansources pool /dev/null 2>/dev/null) > "$work/Sources.all"
rm "$pool/qemu_11.9.9+ds-1.dsc"
[ "$(grep -c '^Package: qemu$' "$work/Sources.all")" = 3 ] ||
    cca_die "dpkg-scansources did not index the three versions"

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg -q --batch --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'qemu-cca test mirror <test@localhost>' ed25519 sign 1d 2>/dev/null
gpg -q --export > "$work/keyring.gpg"

# The index: the stanzas of Sources.all whose Version is not $1.
publish() {
    local d=$mirror/dists/sid f
    awk -v RS= -v ORS='\n\n' -v drop="$1" \
        '{ if (index($0, "\nVersion: " drop "\n") == 0) print }' \
        "$work/Sources.all" > "$d/main/source/Sources"
    : > "$d/main/binary-arm64/Packages"
    {
        printf 'Origin: qemu-cca test\nSuite: unstable\nCodename: sid\n'
        printf 'Date: %s\nArchitectures: arm64\nComponents: main\nSHA256:\n' \
               "$(date -Ru)"
        for f in main/source/Sources main/binary-arm64/Packages; do
            printf ' %s %s %s\n' "$(sha256sum < "$d/$f" | cut -d' ' -f1)" \
                   "$(stat -c %s "$d/$f")" "$f"
        done
    } > "$d/Release"
    rm -f "$d/InRelease"
    gpg -q --batch --clearsign -o "$d/InRelease" "$d/Release"
}

# Serves $mirror on 127.0.0.1; each request is logged in $work/requests.
"$CCA_DEB_PY" "$(dirname "$0")/http-serve.py" "$mirror" "$work/port" \
    "$work/requests" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || cca_die "the test mirror did not start"
: >> "$work/requests"

# apt without the machine's configuration (a proxy, say), curl without
# proxies.
mkdir "$work/apt.conf.d"
printf 'Dir::Etc::Parts "%s";\nDir::Etc::Main "/dev/null";\n' \
       "$work/apt.conf.d" > "$work/apt.conf"

run() {     # run CACHE: fetch-qemu with the test mirror and cache CACHE
    env -u QEMU_SRC -u QEMU_DEB_VERSION -u http_proxy -u HTTP_PROXY \
        -u all_proxy -u ALL_PROXY APT_CONFIG="$work/apt.conf" CCA_CACHE="$1" \
        CCA_APT_MIRROR="http://127.0.0.1:$(cat "$work/port")/" \
        CCA_APT_KEYRING="$work/keyring.gpg" \
        "$CCA_TOP/scripts/fetch-qemu" > "$work/out" 2> "$work/err"
}
has_line() { grep -qxF -- "$1" "$work/err" || fail "no line '$1' in:$(printf '\n%s' "$(cat "$work/err")")"; }
line_no() { grep -nF -- "$1" "$work/err" | head -n1 | cut -d: -f1; }

status_before=$(git -C "$CCA_TOP" status --porcelain)
t0=$SECONDS

# --- 1. all three listed: the pinned one is taken -----------------------
publish none
cache=$work/cache1
run "$cache" || fail "fetch-qemu failed:$(printf '\n%s' "$(cat "$work/err")")"
cat "$work/err" >&2
skip404="[fetch-qemu] qemu=$absent_v is listed in sid's index but the mirror does not serve its files (404): skipped"
skipbad="[fetch-qemu] qemu=$bad_v is served, but the patch series does not apply to it (first failing patch: $bad): skipped"
has_line "$skip404"
has_line "$skipbad"
taking="[fetch-qemu] taking qemu=$pinned (QEMU ${up%+ds}, the pinned version) after skipping 2 newer"
grep -qF -- "$taking" "$work/err" || fail "no line '$taking...'"
if [ "$(line_no "$skip404")" -gt "$(line_no "$skipbad")" ] ||
   [ "$(line_no "$skipbad")" -gt "$(line_no "$taking")" ]; then
    fail "the versions were not tried newest first"
fi
[ "$(cat "$work/out")" = "$cache/src/qemu-$up" ] || fail "printed $(cat "$work/out")"
[ "$(cat "$cache/src/qemu-$up/.cca-pristine")" = "$pinned" ] || fail ".cca-pristine"
[ "$(cat "$cache/src/resolved")" = "QEMU_DEB_VERSION=$pinned" ] || fail "resolved"
[ -s "$cache/src/qemu_${pv}cca1.sha256" ] ||
    fail "the checksums of qemu=$bad_v are not recorded in the cache"
grep -q '^GET .*11\.9\.9' "$work/requests" && fail "qemu=$absent_v's files were downloaded"
grep -q '^HEAD .*qemu_11\.9\.9.*\.dsc 404' "$work/requests" ||
    fail "qemu=$absent_v's files were not asked for"
[ "$(git -C "$CCA_TOP" status --porcelain)" = "$status_before" ] ||
    fail "fetch-qemu changed the repository"

# --- 2. a later run reuses the tree, without the mirror ------------------
n=$(wc -l < "$work/requests")
run "$cache" || fail "the second run failed"
[ "$(cat "$work/out")" = "$cache/src/qemu-$up" ] || fail "second run printed $(cat "$work/out")"
[ "$(wc -l < "$work/requests")" = "$n" ] || fail "the second run asked the mirror"

# --- 3. the pinned version off the index: nothing fits ----------------
publish "$pinned"
cache=$work/cache2
if run "$cache"; then fail "fetch-qemu succeeded with no version that fits"; fi
cat "$work/err" >&2
has_line "$skip404"
has_line "$skipbad"
err="fetch-qemu: error: no qemu source version in sid's index fits; tried, newest first: qemu=$absent_v: listed in sid's index, but the mirror does not serve its files (404); qemu=$bad_v: the patch series does not apply (first failing patch: $bad); set QEMU_SRC=<dir> to a pristine QEMU tree the patch series applies to"
has_line "$err"
[ ! -e "$cache/src/resolved" ] || fail "a failed run recorded a version"
[ "$(git -C "$CCA_TOP" status --porcelain)" = "$status_before" ] ||
    fail "fetch-qemu changed the repository"

cca_log "PASS ($((SECONDS - t0)) s with the test mirror up)"
