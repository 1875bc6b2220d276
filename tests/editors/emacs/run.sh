#!/usr/bin/env bash
# Emacs (Debian emacs-nox 28 + elpa-eglot 1.9, batch mode) against the real
# codex-lsp and the fake Responses server. Installs what is missing
# (idempotent), builds the binaries, runs test-eglot.el, and ends with
# "emacs: N passed, N failed". Works as root without a TTY (CI=true).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
say() { echo "[emacs-tests] $*" >&2; }
die() { say "$*"; echo "emacs: 0 passed, 1 failed"; exit 1; }

missing=()
command -v emacs >/dev/null || missing+=(emacs-nox)
dpkg -s elpa-eglot >/dev/null 2>&1 || missing+=(elpa-eglot)
command -v git >/dev/null || missing+=(git)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; } \
    || die "apt-get install failed"
fi
emacs --version | head -1 >&2

if [ "${CODEX_SKIP_BUILD:-}" != 1 ]; then
  command -v cargo >/dev/null || die "cargo not found (install Rust first)"
  (cd "$REPO" && cargo build -q -p codex-lsp -p codex-lsp-tests --bins) || die "cargo build failed"
fi
export CODEX_BIN_DIR="$CARGO_TARGET_DIR/debug"
say "tools ready after $((SECONDS - t0))s"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/codex-emacs-tests.XXXXXX")
mkdir -p "$RUN/home" "$RUN/tmp"
# Private HOME/TMPDIR: no user init files, no stray state between runs.
env HOME="$RUN/home" TMPDIR="$RUN/tmp" XDG_CONFIG_HOME="$RUN/home/.config" XDG_CACHE_HOME="$RUN/home/.cache" \
  OPENAI_API_KEY=test-key timeout 120 emacs --batch -l "$HERE/test-eglot.el" </dev/null >"$RUN/out.txt" 2>&1
rc=$?
passed=$(grep -c '^PASS ' "$RUN/out.txt"); failed=$(grep -c '^FAIL ' "$RUN/out.txt")
if [ $rc -ne 0 ] || [ "$failed" -gt 0 ] || [ "$passed" -eq 0 ]; then
  [ "$failed" -eq 0 ] && failed=1
  sed 's/^/    /' "$RUN/out.txt"
else
  grep -E '^(PASS|FAIL) ' "$RUN/out.txt"
fi
say "total $((SECONDS - t0))s; log $RUN/out.txt"
echo "emacs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
