#!/usr/bin/env bash
# Validates every GitHub Actions workflow under .github/workflows with action-validator
# (npm: @action-validator/cli + @action-validator/core, the Rust validator built to
# WebAssembly: JSON-schema check of the workflow, plus its glob checks), installed into a
# temporary directory, never into the repo. When `actionlint` (rhysd/actionlint) is on
# PATH it runs too (expressions, needs/outputs, matrix types).
# Prints one final line "lint-workflows: ok (...)" or "lint-workflows: FAILED: ...".
# Env: ACTION_VALIDATOR_DIR  reuse a directory with node_modules/.bin/action-validator
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
T0=$SECONDS
exec </dev/null
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
TMP=$(mktemp -d "${TMPDIR:-/tmp}/archkit-lint.XXXXXX")
DONE=""
trap 'rc=$?; rm -rf "$TMP"; if (( rc != 0 )) && [[ -z "$DONE" ]]; then echo "lint-workflows: FAILED (exit $rc, $((SECONDS - T0)) s)"; fi' EXIT
fail() { DONE=1; echo "lint-workflows: FAILED: $*  ($((SECONDS - T0)) s)"; exit 1; }

shopt -s nullglob
FILES=(.github/workflows/*.yml .github/workflows/*.yaml)
(( ${#FILES[@]} )) || fail "no workflow files under .github/workflows"

if [[ -n "${ACTION_VALIDATOR_DIR:-}" && -x "$ACTION_VALIDATOR_DIR/node_modules/.bin/action-validator" ]]; then
  AV=$ACTION_VALIDATOR_DIR/node_modules/.bin/action-validator
else
  echo '{ "name": "archkit-lint", "private": true }' >"$TMP/package.json"
  timeout --kill-after=10 300 npm install --prefix "$TMP" --no-audit --no-fund \
    @action-validator/cli@0.6.0 @action-validator/core@0.6.0 >"$TMP/install.log" 2>&1 \
    || { tail -n 20 "$TMP/install.log" >&2; fail "npm install @action-validator/cli"; }
  AV=$TMP/node_modules/.bin/action-validator
fi

BAD=()
for f in "${FILES[@]}"; do
  if ! timeout --kill-after=5 60 "$AV" "$f" >"$TMP/av.log" 2>&1; then
    echo "action-validator: $f:" >&2
    cat "$TMP/av.log" >&2
    BAD+=("$f")
  fi
done
TOOLS="action-validator 0.6.0"
if command -v actionlint >/dev/null; then
  TOOLS+=", actionlint"
  timeout --kill-after=5 120 actionlint "${FILES[@]}" >&2 || BAD+=("(actionlint)")
fi
(( ${#BAD[@]} == 0 )) || fail "${BAD[*]} (${TOOLS})"
DONE=1
echo "lint-workflows: ok (${#FILES[@]} workflow file(s): ${FILES[*]}; ${TOOLS}; $((SECONDS - T0)) s)"
