#!/usr/bin/env bash
# A real publish round trip through a throw-away npm registry (Verdaccio on 127.0.0.1):
# build every package, publish each to the registry, then in an empty directory install
# @archkit/conformance + @archkit/arch-riscv64 from it and run the installed CLI
# (`archkit conformance --arch riscv64`, `archkit list`) and a plain ESM import of
# @archkit/generic-core. Third-party dependencies (koffi, keystone-wasm, handlebars,
# typescript) reach the registry the machine normally uses through a Verdaccio uplink.
#
# Nothing is written outside a temporary directory except the packages' dist/ (the build).
# Prints one final line "registry-roundtrip: ok (...)" or "registry-roundtrip: FAILED: ...".
# Env: VERDACCIO_DIR  reuse an existing directory holding node_modules/.bin/verdaccio
#      UPSTREAM       uplink registry (default: `npm config get registry`)
#      KEEP_TMP=1     keep the temporary directory (printed) for inspection
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
T0=$SECONDS
exec </dev/null
export CI=true NX_DAEMON=false NX_NO_CLOUD=true NX_INTERACTIVE=false
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

TMP=$(mktemp -d "${TMPDIR:-/tmp}/archkit-registry.XXXXXX")
VPID=""
CHILD=""
STEP="setup"
fail() { echo "registry-roundtrip: FAILED at ${STEP}: $*  ($((SECONDS - T0)) s)"; STEP=reported; exit 1; }
cleanup() {
  local rc=$?
  if [[ -n "$CHILD" ]]; then kill "$CHILD" 2>/dev/null || true; wait "$CHILD" 2>/dev/null || true; fi
  if [[ -n "$VPID" ]] && kill -0 "$VPID" 2>/dev/null; then
    kill "$VPID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$VPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$VPID" 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-}" == 1 ]]; then echo "registry-roundtrip: kept $TMP" >&2; else rm -rf "$TMP"; fi
  if (( rc != 0 )) && [[ "$STEP" != reported ]]; then
    echo "registry-roundtrip: FAILED at ${STEP} (exit ${rc}, $((SECONDS - T0)) s)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Runs a step with a time limit, its output in $TMP/logs/<name>.log (shown on failure).
mkdir -p "$TMP/logs"
run() {
  local name="$1" secs="$2"; shift 2
  STEP="$name"
  # in the background + wait: a TERM/INT to this script is handled at once (the trap then
  # stops the step too), not after the step ends
  timeout --kill-after=10 "$secs" "$@" >"$TMP/logs/$name.log" 2>&1 &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  if (( rc != 0 )); then
    tail -n 40 "$TMP/logs/$name.log" >&2
    (( rc == 124 )) && fail "timed out after ${secs} s: $*"
    fail "exit ${rc}: $*"
  fi
}

UPSTREAM=${UPSTREAM:-$(npm config get registry)}
UPSTREAM=${UPSTREAM%/}/

# --- Verdaccio 6.8.0 in its own directory (never the repo's dependencies). On Node 20 its
# node-fetch 3 dependency is replaced by 2.7.0 (an npm override).
if [[ -n "${VERDACCIO_DIR:-}" && -x "$VERDACCIO_DIR/node_modules/.bin/verdaccio" ]]; then
  VDIR=$VERDACCIO_DIR
else
  VDIR=$TMP/verdaccio
  mkdir -p "$VDIR"
  cat >"$VDIR/package.json" <<'JSON'
{ "name": "archkit-verdaccio", "private": true,
  "dependencies": { "verdaccio": "6.8.0" },
  "overrides": { "node-fetch": "2.7.0" } }
JSON
  run verdaccio-install 300 npm install --prefix "$VDIR" --no-audit --no-fund --registry "$UPSTREAM"
fi

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
REG=http://127.0.0.1:$PORT/
mkdir -p "$TMP/storage"
cat >"$TMP/config.yaml" <<YAML
storage: $TMP/storage
auth:
  htpasswd:
    file: $TMP/htpasswd
    max_users: 10
uplinks:
  upstream:
    url: $UPSTREAM
    timeout: 60s
    max_fails: 5
packages:
  '@archkit/*':
    access: \$all
    publish: \$all
    unpublish: \$all
  '**':
    access: \$all
    publish: \$all
    proxy: upstream
server:
  keepAliveTimeout: 60
listen: 127.0.0.1:$PORT
log: { type: file, path: $TMP/logs/verdaccio-server.log, level: warn }
publish:
  allow_offline: true
YAML
STEP=verdaccio-start
"$VDIR/node_modules/.bin/verdaccio" --config "$TMP/config.yaml" --listen "127.0.0.1:$PORT" >"$TMP/logs/verdaccio.log" 2>&1 &
VPID=$!
for i in $(seq 1 120); do
  curl -fsS --max-time 2 "${REG}-/ping" >/dev/null 2>&1 && break
  kill -0 "$VPID" 2>/dev/null || { cat "$TMP/logs/verdaccio.log" >&2; fail "verdaccio exited"; }
  (( i == 120 )) && fail "verdaccio did not answer on $REG within 60 s"
  sleep 0.5
done

# A user (npm publish refuses to run without credentials) and an npmrc of our own: the
# user's ~/.npmrc and the repo's are left alone.
STEP=verdaccio-user
TOKEN=$(curl -fsS --max-time 20 -X PUT -H 'content-type: application/json' \
  -d '{"name":"ci","password":"ci-roundtrip","email":"ci@example.invalid","type":"user"}' \
  "${REG}-/user/org.couchdb.user:ci" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))') \
  || fail "could not create a registry user"
export NPM_CONFIG_USERCONFIG=$TMP/npmrc
printf 'registry=%s\n//127.0.0.1:%s/:_authToken=%s\nfund=false\naudit=false\nupdate-notifier=false\n' "$REG" "$PORT" "$TOKEN" >"$NPM_CONFIG_USERCONFIG"
export npm_config_registry=$REG
export npm_config_cache=$TMP/npm-cache

# --- Build, then publish generic-core, the arches, the CLI (dependencies first).
run build 600 npx nx run-many -t build
PKGS=(libs/generic-core)
for d in libs/arch-*; do [[ -f "$d/package.json" ]] && PKGS+=("$d"); done
PKGS+=(apps/conformance)
NPUB=0
for d in "${PKGS[@]}"; do
  name=$(node -p "require('./$d/package.json').name")
  [[ $(node -p "!!require('./$d/package.json').private") == true ]] && continue
  [[ -f "$d/dist/index.js" || -f "$d/dist/cli.js" ]] || fail "$d has no dist/ after the build"
  (cd "$d" && run "publish-${name//\//_}" 180 npm publish --registry "$REG" --access public --provenance=false)
  NPUB=$((NPUB + 1))
done

# --- An empty consumer project, installed from the registry only.
APP=$TMP/app
mkdir -p "$APP"
cd "$APP"
printf '{ "name": "archkit-consumer", "private": true, "type": "module" }\n' >package.json
run consumer-install 600 npm install --registry "$REG" --no-audit --no-fund @archkit/conformance @archkit/arch-riscv64
VERS=$(node -p 'require("@archkit/conformance/package.json").version')

run import-generic-core 60 node -e "import('@archkit/generic-core').then(m => { if (!Object.keys(m).length) throw new Error('no exports'); console.log(Object.keys(m).length + ' exports') })"
run conformance 600 npx --no-install archkit conformance --arch riscv64 --json "$TMP/riscv64.json"
SUMMARY=$(tail -n 5 "$TMP/logs/conformance.log" | grep -E '^[0-9]+ passed' | tail -n 1)
node -e '
const r = require(process.argv[1]);
if (!(r.summary.pass > 0) || r.summary.fail !== 0) { console.error("riscv64 report:", JSON.stringify(r.summary)); process.exit(1); }' "$TMP/riscv64.json" \
  || fail "the riscv64 report is not all-pass"

run list 120 npx --no-install archkit list --json "$TMP/list.json"
STEP=list-only-riscv64
ARCHES=$(node -e '
const l = require(process.argv[1]);
const a = (l.arches ?? l).map((x) => x.name ?? x.arch ?? x);
console.log(a.join(","));' "$TMP/list.json")
if [[ "$ARCHES" != riscv64 ]]; then
  INSTALLED=$(cd "$APP/node_modules/@archkit" && ls -d arch-* | tr '\n' ' ')
  fail "riscv64 conformance passed (${SUMMARY}) and the ESM import works, but archkit list shows [$ARCHES], expected only riscv64 (installed: $INSTALLED; @archkit/conformance depends on: $(node -p 'Object.keys(require("@archkit/conformance/package.json").dependencies).filter(d=>d.startsWith("@archkit/arch-")).join(",")'))"
fi

STEP=reported
echo "registry-roundtrip: ok (published ${NPUB} packages v${VERS} to Verdaccio 6.8.0; installed consumer: riscv64 ${SUMMARY:-passed}; list = riscv64; ESM import ok; $((SECONDS - T0)) s)"
