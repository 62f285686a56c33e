#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager offline from Debian bookworm's
# `kubernetes` source package (1.20.2, vendored Go modules) with bookworm's Go 1.19,
# and cache them under ${REMEDIATOR_CACHE:-$HOME/.cache/remediator}/kube/1.20.2/.
#
# Idempotent: if both binaries are cached, prints the directory and exits 0.
# Bookworm is always used (trixie ships a kubectl-only source and no Go 1.19), via a
# private apt configuration whose sources are the machine's own mirrors with the suite
# names replaced; nothing from it is installed system-wide. Also installs etcd-server
# and rsync (and dpkg-dev for dpkg-source) system-wide with apt-get if missing.
# Must run as root (apt-get). Env: KEEP_BUILD=1 keeps the build tree; JOBS (default 2).
set -euo pipefail

KUBE_VERSION=1.20.2
CACHE_ROOT="${REMEDIATOR_CACHE:-$HOME/.cache/remediator}"
OUT="$CACHE_ROOT/kube/$KUBE_VERSION"
WORK="$CACHE_ROOT/kube/work-$KUBE_VERSION"
BINARIES=(kube-apiserver kube-controller-manager)
JOBS="${JOBS:-2}"

log() { printf '[build-kube] %s\n' "$*" >&2; }
die() { printf '[build-kube] ERROR: %s\n' "$*" >&2; exit 1; }

have_all() {
    local b
    for b in "${BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done
}

ensure_system_packages() {
    local missing=()
    command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
    command -v rsync >/dev/null 2>&1 || missing+=(rsync)
    command -v dpkg-source >/dev/null 2>&1 || missing+=(dpkg-dev)
    if ((${#missing[@]})); then
        [[ $(id -u) -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
        log "installing system packages: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
    fi
}

if have_all; then
    ensure_system_packages
    echo "$OUT"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (uses apt-get)"
START=$(date +%s)
ensure_system_packages

# --- private apt configuration pointing at bookworm ------------------------------
APTDIR="$WORK/apt"
mkdir -p "$APTDIR/sources.list.d" "$APTDIR/lists/partial" \
    "$APTDIR/cache/archives/partial" "$WORK/debs" "$WORK/src"
SRC_FILE="$APTDIR/sources.list.d/bookworm.sources"
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    log "deriving bookworm sources from /etc/apt/sources.list.d/debian.sources"
    # Keep the machine's own URIs and keyrings; set Types and map every suite name
    # (e.g. trixie, trixie-updates, trixie-security) to its bookworm counterpart.
    sed -E \
        -e 's/^Types:.*/Types: deb deb-src/' \
        -e '/^Suites:/{s/^Suites://;s/[A-Za-z]+(-[A-Za-z]+)?/bookworm\1/g;s/^/Suites:/}' \
        /etc/apt/sources.list.d/debian.sources >"$SRC_FILE"
elif [[ -f /etc/apt/sources.list ]]; then
    log "deriving bookworm sources from /etc/apt/sources.list"
    SRC_FILE="$APTDIR/sources.list.d/bookworm.list"
    # One-line format: "deb [opts] URI suite components..." -> deb + deb-src lines.
    awk '/^[[:space:]]*deb(-src)?[[:space:]]/ {
            i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            s = $(i + 1); sub(/^[A-Za-z]+/, "bookworm", s); $(i + 1) = s
            $1 = "deb"; line = $0; print line; sub(/^deb/, "deb-src", line); print line
         }' /etc/apt/sources.list | sort -u >"$SRC_FILE"
else
    die "no /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list to copy"
fi
grep -q bookworm "$SRC_FILE" || die "could not derive bookworm sources ($SRC_FILE)"

APT_OPTS=(
    -o Dir::Etc::SourceList=/dev/null
    -o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::Cache=$APTDIR/cache"
    -o "Dir::Cache::archives=$APTDIR/cache/archives"
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
    -o APT::Sandbox::User=root
    -o Acquire::Retries=3
)
log "apt-get update (private bookworm lists in $APTDIR/lists)"
apt-get "${APT_OPTS[@]}" update >&2 || die "private apt-get update failed"

# --- Go 1.19 into a private root ----------------------------------------------
GOROOT_DIR="$WORK/goroot"
if [[ ! -x "$GOROOT_DIR/usr/lib/go-1.19/bin/go" ]]; then
    log "downloading golang-1.19-go golang-1.19-src (bookworm)"
    (cd "$WORK/debs" && apt-get "${APT_OPTS[@]}" download golang-1.19-go golang-1.19-src >&2) \
        || die "apt-get download golang-1.19 failed"
    rm -rf "$GOROOT_DIR"
    mkdir -p "$GOROOT_DIR"
    for deb in "$WORK"/debs/golang-1.19-*.deb; do
        log "unpacking $(basename "$deb")"
        dpkg-deb -x "$deb" "$GOROOT_DIR"
    done
fi
export GOROOT="$GOROOT_DIR/usr/lib/go-1.19"
# golang-1.19-go links src to ../../share/go-1.19/src; repair it if that ever breaks.
if [[ ! -e "$GOROOT/src/runtime" ]]; then
    rm -f "$GOROOT/src"
    ln -s "$GOROOT_DIR/usr/share/go-1.19/src" "$GOROOT/src"
fi
export PATH="$GOROOT/bin:$PATH"
go version >&2 || die "private Go 1.19 does not run"

# --- kubernetes source -----------------------------------------------------------
if ! compgen -G "$WORK/src/kubernetes_*.dsc" >/dev/null; then
    log "downloading kubernetes source package (bookworm)"
    (cd "$WORK/src" && apt-get "${APT_OPTS[@]}" source --download-only kubernetes >&2) \
        || die "apt-get source kubernetes failed"
fi
DSC=$(compgen -G "$WORK/src/kubernetes_*.dsc" | head -n1)
DEB_VERSION=$(sed -n 's/^Version: //p' "$DSC")
[[ "$DEB_VERSION" =~ (^|really)"$KUBE_VERSION"- ]] \
    || die "kubernetes source is $DEB_VERSION, expected $KUBE_VERSION"
TREE="$WORK/src/kubernetes-$KUBE_VERSION"
if [[ ! -f "$TREE/.unpacked" ]]; then
    log "unpacking $(basename "$DSC")"
    rm -rf "$TREE"
    (cd "$WORK/src" && dpkg-source --no-check -x "$(basename "$DSC")" "kubernetes-$KUBE_VERSION" >&2) \
        || die "dpkg-source -x failed"
    touch "$TREE/.unpacked"
fi

# --- build -----------------------------------------------------------------------
export GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GO111MODULE=on
export GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GOTOOLCHAIN=local
export KUBE_GIT_VERSION="v$KUBE_VERSION" KUBE_GIT_TREE_STATE=clean KUBE_VERBOSE=1
export GOMAXPROCS="$JOBS" MAKEFLAGS="-j1"
log "building ${BINARIES[*]} (Go $(go env GOVERSION), GOMAXPROCS=$JOBS)"
BUILD_START=$(date +%s)
cd "$TREE"
if ! make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2; then
    log "make failed; falling back to go build -mod=vendor"
    mkdir -p "$WORK/bin"
    for b in "${BINARIES[@]}"; do
        go build -mod=vendor -p "$JOBS" -o "$WORK/bin/$b" "./cmd/$b" >&2 || die "go build $b failed"
    done
    BUILT="$WORK/bin"
else
    BUILT="$TREE/_output/local/bin/$(go env GOOS)/$(go env GOARCH)"
    [[ -x "$BUILT/kube-apiserver" ]] || BUILT="$TREE/_output/bin"
fi
log "compiled in $(($(date +%s) - BUILD_START))s"

mkdir -p "$OUT"
for b in "${BINARIES[@]}"; do
    [[ -x "$BUILT/$b" ]] || die "expected binary $BUILT/$b not found"
    install -m 0755 "$BUILT/$b" "$OUT/$b.tmp" && mv -f "$OUT/$b.tmp" "$OUT/$b"
done
echo "$DEB_VERSION" >"$OUT/DEBIAN_VERSION"
"$OUT/kube-apiserver" --version >&2 || die "built kube-apiserver does not run"

cd /
if [[ "${KEEP_BUILD:-0}" != 1 ]]; then
    log "removing build tree $WORK"
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
fi
log "done in $(($(date +%s) - START))s: $OUT"
echo "$OUT"
