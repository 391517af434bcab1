# Runs test suites for launch/test.sh: source it, call `suite NAME SECONDS COMMAND...` for
# each suite, and read the totals in $passed and $failed.
passed=0
failed=0
# suite NAME SECONDS COMMAND...: runs one suite under a time limit (a hang fails instead of
# blocking CI) and adds the counts of its own closing "N passed, M failed" line. A suite that
# prints no such line, reports no test, exits non-zero without counting a failure, or runs
# out of time counts one failure more.
#
# Each suite runs in a session of its own (setsid). mpirun.sh gives mpirun and the ranks a
# process group of their own, which a time limit's kill of the suite's group would miss, but
# they stay in the session: whatever of the session is still running once the suite has
# ended (a hung collective, a stray rank or daemon) is a failure of that suite, named, and
# is killed, so that it cannot disturb the suites after it.
suite() {
  local name="$1" limit="$2"; shift 2
  echo "== $name (time limit ${limit} s)"
  local log sidfile; log="$(mktemp)"; sidfile="$(mktemp)"
  # The output goes to a file that tail follows until the suite has ended: a stray that
  # holds the suite's standard output cannot keep the runner waiting (a pipe would).
  setsid -w bash -c 'echo $$ > "$1"; shift; exec timeout --kill-after=30 "$@"' _ "$sidfile" "$limit" "$@" >"$log" 2>&1 &
  local runner=$!
  tail -n +1 -f --pid="$runner" "$log"
  local code=0 p=0 f=0 counts sid strays
  wait "$runner" || code=$?
  sid="$(cat "$sidfile")"
  counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)"
  rm -f "$log" "$sidfile"
  if [ -n "$counts" ]; then p=$(echo "$counts" | cut -d' ' -f1); f=$(echo "$counts" | cut -d' ' -f3); fi
  # processes still ending (a rank that mpirun is killing) get 5 s; zombies are not running
  local i
  for i in $(seq 1 10); do
    strays="$([ -n "$sid" ] && ps -o pid=,stat=,etimes=,comm= -s "$sid" | awk '$2 !~ /^Z/ { printf " %s %s (%s, %s s old);", $1, $4, $2, $3 }')"
    [ -z "$strays" ] && break
    sleep 0.5
  done
  if [ -n "$strays" ]; then
    echo "suite '$name' left processes running:$strays (killed)"
    pkill -KILL -s "$sid"
    f=$((f + 1))
  fi
  if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then echo "suite '$name' ran out of its ${limit} s"; f=$((f + 1))
  elif [ -z "$counts" ]; then echo "suite '$name' printed no 'N passed, M failed' line (exit $code)"; f=$((f + 1))
  elif [ $((p + f)) -eq 0 ]; then echo "suite '$name' ran no test"; f=1
  elif [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then echo "suite '$name' exited with $code"; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
}
