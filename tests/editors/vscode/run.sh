#!/usr/bin/env bash
# Installs what the VS Code tests need (fresh machine or warm), builds codex-lsp and the fake
# Responses server, builds/lints/unit-tests/packages the extension, then runs the tests in a real
# VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by Debian's Chromium via playwright-core.
# Last line: "vscode: N passed, N failed"; exit status non-zero on any failure.
# Env: CARGO_TARGET_DIR (default <repo>/target), VSCODE_SUITES (default "basic,model"; "none": UI tests only), VSCODE_UI=0 to skip the UI tests,
# VSCODE_FILTER=REGEX to run only the tests whose full name ("basic: …", "model: …", "ui: …") matches.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
TOOLS="$REPO/.tools"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
export DEBIAN_FRONTEND=noninteractive npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
rm -rf "$REPO/test-artifacts/vscode"; mkdir -p "$TOOLS/tmp" "$REPO/test-artifacts/vscode"
T0=$SECONDS
t() { local s=$SECONDS; "$@"; echo "[time] $((SECONDS - s))s: $*" >&2; }
passed=0 failed=0
finish() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  echo "[time] run.sh total $((SECONDS - T0))s" >&2
  echo "vscode: $passed passed, $failed failed"
  if [ "$failed" -ne 0 ]; then exit 1; fi
  exit "$rc"
}
trap finish EXIT

# --- system packages (Debian): chromium for the browser, libkrb5-dev/build-essential for code-server's native modules
pkgs=(chromium ripgrep libkrb5-dev build-essential pkg-config python3 ca-certificates)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  t $SUDO apt-get update -qq
  t $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$TOOLS/apt.log" 2>&1 || { tail -20 "$TOOLS/apt.log"; exit 1; }
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" != 20 ]; then echo "need Node 20 for code-server 4.100.3 (found: $(node --version 2>/dev/null || echo none))" >&2; exit 1; fi

# --- npm packages, pinned by the committed lockfiles; skipped when the lockfile is unchanged
npm_ci() { # dir stamp-name [env...]
  local dir=$1; shift
  local sum; sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$dir/node_modules/.lock-sha256" ] && [ "$(cat "$dir/node_modules/.lock-sha256")" = "$sum" ]; then return 0; fi
  local s=$SECONDS
  (cd "$dir" && env "$@" npm ci --no-audit --no-fund --loglevel=error >"$TOOLS/npm-ci-$(basename "$dir").log" 2>&1) || { tail -30 "$TOOLS/npm-ci-$(basename "$dir").log"; exit 1; }
  echo "[time] $((SECONDS - s))s: npm ci in $dir" >&2
  echo "$sum" >"$dir/node_modules/.lock-sha256"
}
npm_ci "$REPO"
# code-server's @vscode/ripgrep wants a GitHub download: serve it Debian's rg from its cache instead.
RGC="$TOOLS/tmp/vscode-ripgrep-cache-1.15.11"
if [ ! -f "$RGC/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" ]; then
  mkdir -p "$RGC" "$TOOLS/rg"; cp /usr/bin/rg "$TOOLS/rg/rg"
  tar czf "$RGC/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$TOOLS/rg" rg
fi
npm_ci "$HERE/code-server" TMPDIR="$TOOLS/tmp" npm_config_unsafe_perm=true
CODE_SERVER="$HERE/code-server/node_modules/.bin/code-server"
XDG_CONFIG_HOME="$TOOLS/xdg" "$CODE_SERVER" --version 2>/dev/null | grep -E "^[0-9]" | sed "s/^/code-server /" || true

# --- binaries under test
t cargo build -q -p codex-lsp -p codex-lsp-tests --bins
CODEX_LSP="$CARGO_TARGET_DIR/debug/codex-lsp"
FAKE="$CARGO_TARGET_DIR/debug/fake-responses"

# --- extension: build, lint (tsc strict + eslint), unit tests (node:test, incl. settings vs the server's defaults), package
cd "$REPO"
t npm run -s build
t npm run -s lint
unit_log="$REPO/test-artifacts/vscode/unit-tests.log"
set +e
CODEX_LSP_BIN="$CODEX_LSP" node --test --test-reporter=tap editors/vscode/test/unit/ >"$unit_log" 2>&1
unit_rc=$?
set -e
up=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$unit_log" | tail -1); uf=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$unit_log" | tail -1)
up=${up:-0}; uf=${uf:-0}
if [ "$unit_rc" -ne 0 ] && [ "$uf" -eq 0 ]; then uf=1; fi
echo "unit tests (node:test): $up passed, $uf failed"
[ "$uf" -eq 0 ] || grep -B2 -A15 '^not ok' "$unit_log" | head -60
passed=$((passed + up)); failed=$((failed + uf))
VSIX="$TOOLS/vscode-run/codex-lsp.vsix"
mkdir -p "$(dirname "$VSIX")"
t env VSIX_OUT="$VSIX" CODEX_LSP_BIN="$CODEX_LSP" npm run -s package >"$TOOLS/package.log" 2>&1 || { tail -30 "$TOOLS/package.log"; exit 1; }

# --- tests in real VS Code
args=(--codex-lsp "$CODEX_LSP" --fake-responses "$FAKE" --code-server "$CODE_SERVER" --vsix "$VSIX" --suites "${VSCODE_SUITES:-basic,model}")
[ "${VSCODE_UI:-1}" = 1 ] || args+=(--no-ui)
[ -z "${VSCODE_FILTER:-}" ] || args+=(--filter "$VSCODE_FILTER")
e2e_log="$REPO/test-artifacts/vscode/e2e.log"
set +e
t node "$HERE/harness/run-tests.js" "${args[@]}" 2>&1 | tee "$e2e_log"
set -e
line=$(grep -E '^vscode-e2e: [0-9]+ passed, [0-9]+ failed$' "$e2e_log" | tail -1 || true)
if [ -z "$line" ]; then
  failed=$((failed + 1)); echo "the VS Code test harness printed no summary"
else
  ep=$(echo "$line" | sed -E 's/^vscode-e2e: ([0-9]+) passed, ([0-9]+) failed$/\1/')
  ef=$(echo "$line" | sed -E 's/^vscode-e2e: ([0-9]+) passed, ([0-9]+) failed$/\2/')
  passed=$((passed + ep)); failed=$((failed + ef))
fi
