# Sourced by the scripts that write a table into docs/results.md (launch/readme_block.py):
# what its stamp says.
#
# STAMP_COMMIT: the commit this run starts from (`git rev-parse --short HEAD`), with -dirty
# when the files that make the build or the runs (Sources, Package.swift, configs, launch,
# python) differ from it; a long run's stamp then names the build that ran, whatever is
# committed meanwhile.
STAMP_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)"
git -C "$ROOT" diff --quiet HEAD -- Sources Package.swift configs launch python || STAMP_COMMIT="$STAMP_COMMIT-dirty"

# stamp_command SCRIPT VAR...: the settings this run took from the environment (the VARs
# that are set), then SCRIPT as run with UPDATE_README=1 (or UPDATE_RESULTS=1).
stamp_command() {
  local script=$1 v value out=""; shift
  for v in "$@"; do
    [ -n "${!v+x}" ] || continue
    value=${!v}
    [[ $value =~ [[:space:]] ]] && value="\"$value\""
    out+="$v=$value "
  done
  if [ "${UPDATE_RESULTS:-0}" = 1 ]; then out+="UPDATE_RESULTS=1 "; else out+="UPDATE_README=1 "; fi
  printf '%s%s' "$out" "$script"
}
