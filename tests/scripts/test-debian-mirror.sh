#!/usr/bin/env bash
# lib.sh's choice of the Debian mirror (cca_debian_mirror) among the apt
# sources of a test configuration (APT_CONFIG), whose repositories
# python3's http.server serves on 127.0.0.1:
#   third     sid and bookworm, "Origin: Example" (a third-party
#             repository that comes first, its URI without "debian")
#   security  only bookworm-security, "Origin: Debian"
#   debian    sid and bookworm, "Origin: Debian"
# The choice must be debian, with bookworm's Origin read from apt's own
# copy of its Release (apt-get update ran) and sid's fetched; a second
# call must reuse the choice without asking the server; without debian,
# the error must name both URIs tried and why each does not qualify; a
# source whose Release apt has not got yet must be a candidate too.
# Needs apt and python3; no root.  A few seconds.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

work=$(mktemp -d /tmp/test-debian-mirror.XXXXXX)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { cca_log "FAIL: $*"; exit 1; }
arch=$(dpkg --print-architecture)

# repo NAME SUITE ORIGIN: dists/SUITE of repository NAME, with a
# Packages index for this machine's architecture (apt keeps a Release in
# its cache only with an index).
repo() {
    local d=$work/www/$1/dists/$2 f=main/binary-$arch/Packages
    mkdir -p "$d/main/binary-$arch"
    printf 'Package: cca-test\nVersion: 1\nArchitecture: all\nFilename: pool/cca-test_1_all.deb\nSize: 1\n\n' \
        > "$d/$f"
    {
        printf 'Origin: %s\nLabel: %s\nSuite: %s\nCodename: %s\n' "$3" "$3" "$2" "$2"
        printf 'Date: %s\nArchitectures: %s\nComponents: main\nSHA256:\n' \
               "$(date -Ru)" "$arch"
        printf ' %s %s %s\n' "$(sha256sum < "$d/$f" | cut -d' ' -f1)" \
               "$(stat -c %s "$d/$f")" "$f"
    } > "$d/Release"
}
repo third sid Example
repo third bookworm Example
repo security bookworm-security Debian
repo debian sid Debian
repo debian bookworm Debian

# Serves $work/www on 127.0.0.1; each request is logged in $work/requests.
"$CCA_DEB_PY" "$(dirname "$0")/http-serve.py" "$work/www" "$work/port" \
    "$work/requests" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || cca_die "the test server did not start"
: >> "$work/requests"
url=http://127.0.0.1:$(cat "$work/port")

# apt with only the test configuration: its sources, lists and cache, none
# of the machine's configuration (a proxy, say).
mkdir -p "$work/etc/sources.list.d" "$work/apt.conf.d" "$work/lists/partial" \
         "$work/cache/archives/partial"
: > "$work/status"
cat > "$work/apt.conf" <<EOT
Dir::Etc::Main "/dev/null";
Dir::Etc::Parts "$work/apt.conf.d";
Dir::Etc::SourceList "$work/etc/sources.list";
Dir::Etc::SourceParts "$work/etc/sources.list.d";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$work/apt.conf.d";
Dir::State::Lists "$work/lists";
Dir::State::status "$work/status";
Dir::Cache "$work/cache";
Debug::NoLocking "true";
APT::Sandbox::User "$(id -un)";
Acquire::Languages "none";
EOT
export APT_CONFIG=$work/apt.conf
unset http_proxy HTTP_PROXY all_proxy ALL_PROXY CCA_APT_MIRROR
export CCA_CACHE=$work/cca-cache

sources() {
    local r
    for r in "$@"; do
        case $r in
        security) printf 'deb [trusted=yes] %s/security bookworm-security main\n' "$url" ;;
        *) printf 'deb [trusted=yes] %s/%s bookworm main\n' "$url" "$r" ;;
        esac
    done > "$work/etc/sources.list"
}
choose() { (cca_debian_mirror) > "$work/out" 2> "$work/err"; }
t0=$SECONDS

# --- 1. third, security, debian: debian ---------------------------------
sources third security debian
apt-get -q update > "$work/update.log" 2>&1 ||
    fail "apt-get update of the test sources failed: $(cat "$work/update.log")"
n=$(wc -l < "$work/requests")
choose || fail "no choice: $(cat "$work/err")"
[ "$(cat "$work/out")" = "$url/debian" ] ||
    fail "chose '$(cat "$work/out")', not $url/debian"
new=$(tail -n +$((n + 1)) "$work/requests")
grep -q '^GET /debian/dists/sid/Release 200' <<< "$new" ||
    fail "debian's sid Release was not fetched: $new"
grep -q '^GET /third/dists/sid/Release 200' <<< "$new" ||
    fail "third's sid Release was not fetched: $new"
if grep -q 'dists/bookworm/Release' <<< "$new"; then
    fail "a bookworm Release was fetched, not read from apt's lists: $new"
fi
cca_log "chose $url/debian, bookworm's Origin from apt's lists"

# --- 2. the choice is reused ---------------------------------------------
n=$(wc -l < "$work/requests")
choose || fail "the second choice failed: $(cat "$work/err")"
[ "$(cat "$work/out")" = "$url/debian" ] || fail "second choice: $(cat "$work/out")"
[ "$(wc -l < "$work/requests")" = "$n" ] || fail "the second choice asked the server"

# --- 3. no Debian mirror: the error names each URI tried ----------------
sources third security
if choose; then fail "chose $(cat "$work/out") without a Debian mirror"; fi
want="$(basename "$0"): error: no Debian mirror with sid bookworm (Origin: Debian) among the system's apt sources; tried: $url/third/: dists/sid/Release says Origin: Example; $url/security/: no dists/sid/Release; add one to /etc/apt or set CCA_APT_MIRROR"
[ "$(cat "$work/err")" = "$want" ] ||
    fail "the error is:$(printf '\n%s\n' "$(cat "$work/err")")not:$(printf '\n%s' "$want")"
cca_log "without one: $(cat "$work/err")"

# --- 4. a source whose Release apt has not got yet is a candidate too ----
rm -rf "$work/lists" "$work/cache"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
sources third debian
choose || fail "no choice without apt's lists: $(cat "$work/err")"
[ "$(cat "$work/out")" = "$url/debian" ] ||
    fail "chose '$(cat "$work/out")' without apt's lists, not $url/debian"

cca_log "PASS ($((SECONDS - t0)) s)"
