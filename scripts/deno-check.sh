#!/usr/bin/env bash
# Runs the archkit CLI from sources under Node (tsx, bin/archkit.js) and under Deno 2
# (deno.json: import map to the sources, sloppy imports, node_modules from npm) for
# --arch x86_64,riscv64 and checks that both JSON reports are the same apart from meta and
# timings (scripts/compare-reports.mjs). Deno comes from the npm package `deno` (which
# ships the binary), installed into a temporary directory unless a Deno 2 is on PATH or
# DENO=/path/to/deno is given. Needs the repo's node_modules (npm install) and libunicorn2.
# Prints one final line "deno-check: ok (...)" or "deno-check: FAILED: ...".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
T0=$SECONDS
exec </dev/null
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
ARCHES=${ARCHES:-x86_64,riscv64}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/archkit-deno.XXXXXX")
DONE=""
trap 'rc=$?; rm -rf "$TMP"; if (( rc != 0 )) && [[ -z "$DONE" ]]; then echo "deno-check: FAILED (exit $rc, $((SECONDS - T0)) s)"; fi' EXIT
fail() { DONE=1; echo "deno-check: FAILED: $*  ($((SECONDS - T0)) s)"; exit 1; }
lim() { timeout --kill-after=10 "$@"; }

if [[ -n "${DENO:-}" ]]; then :
elif command -v deno >/dev/null && [[ $(deno --version | head -n1) == "deno 2."* ]]; then DENO=$(command -v deno)
else
  mkdir -p "$TMP/deno"
  echo '{ "name": "archkit-deno", "private": true }' >"$TMP/deno/package.json"
  lim 300 npm install --prefix "$TMP/deno" --no-audit --no-fund deno@2 >"$TMP/deno-install.log" 2>&1 \
    || { tail -n 20 "$TMP/deno-install.log" >&2; fail "npm install deno@2"; }
  DENO=$TMP/deno/node_modules/.bin/deno
fi
DENO_VERSION=$("$DENO" --version | head -n1)
[[ "$DENO_VERSION" == "deno 2."* ]] || fail "need Deno 2, have: $DENO_VERSION"
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

# Node: the checkout's bin (tsx over the sources). Deno: the sources directly (deno.json).
# --jobs 1 for both: under Deno, node:worker_threads workers running arches hang.
lim 600 node apps/conformance/bin/archkit.js conformance --arch "$ARCHES" --jobs 1 --json "$TMP/node.json" >"$TMP/node.log" 2>&1 \
  || { tail -n 20 "$TMP/node.log" >&2; fail "node run (exit $?)"; }
T_NODE=$((SECONDS - T0))
T1=$SECONDS
lim 600 "$DENO" run -A apps/conformance/src/cli.ts conformance --arch "$ARCHES" --jobs 1 --json "$TMP/deno.json" >"$TMP/deno.log" 2>&1 \
  || { tail -n 20 "$TMP/deno.log" >&2; fail "deno run (exit $?)"; }
T_DENO=$((SECONDS - T1))
CMP=$(node scripts/compare-reports.mjs "$TMP/node.json" "$TMP/deno.json") || fail "$CMP"
DONE=1
echo "deno-check: ok (${DENO_VERSION}, --arch ${ARCHES}: ${CMP}; node ${T_NODE} s, deno ${T_DENO} s)"
