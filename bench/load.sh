#!/usr/bin/env bash
# Load benchmark of the token endpoint: builds bench/cmd/loadserver and
# bench/cmd/loadgen, then for each mode runs the server on core 0 and the
# load generator on core 1 (both GOMAXPROCS=1), prints one line per mode and
# the ratios the project's targets are stated in.
#
#   bench/load.sh                    # every mode, 10s each
#   bench/load.sh bare library       # only these modes
#   LOAD_DURATION=5s bench/load.sh   # shorter runs
#   PRELOAD=1000000 bench/load.sh library oauth2d   # with 1M live tokens in the store
#   LOAD_ROUNDS=3 bench/load.sh bare library        # median of 3 interleaved rounds
#   LOAD_BASE=0b610a3 LOAD_ROUNDS=3 bench/load.sh oauth2d-sqlite
#                                    # this tree against the loadserver of
#                                    # another commit, alternating run by run
#
#   bench/load.sh bare oauth2d oauth2d-sqlite oauth2d-postgres oauth2d-mysql oauth2d-redis
#                                    # the stores beside the bare handler and memory
#
# Environment: LOAD_DURATION (10s), LOAD_CONNS (32), PRELOAD (0),
# LOAD_ROUNDS (1), LOAD_PORT (9190), READY_TIMEOUT seconds to wait for a
# server (300), LOAD_BASE (a git revision: each mode runs first with that
# revision's loadserver, as MODE@base, then with this tree's, and the
# ratios of this tree's to the base's are printed; the virtual machines
# this runs on drift by 10-15% from minute to minute, which alternating
# runs cancel). The oauth2d-postgres, oauth2d-mysql and oauth2d-redis modes
# use the engines of OAUTH2_TEST_POSTGRES_URL, OAUTH2_TEST_MYSQL_DSN and
# OAUTH2_TEST_REDIS_URL (source .ci/services.sh), in a schema, table prefix or
# key prefix of their own; the engines themselves are not pinned to a core.
# After each store mode, the line "store:" tells how many writes shared a
# commit (SQL stores, group commit) or commands a round trip (Redis).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_MODES=(bare library bare-es256 library-es256 bare-eddsa library-eddsa bare-rs256 library-rs256
  oauth2d oauth2d-sqlite oauth2d-postgres oauth2d-mysql oauth2d-redis introspect-bare introspect
  bare-dpop library-dpop)
DURATION=${LOAD_DURATION:-10s}
CONNS=${LOAD_CONNS:-32}
PRELOAD=${PRELOAD:-0}
ROUNDS=${LOAD_ROUNDS:-1}
ADDR=127.0.0.1:${LOAD_PORT:-9190}
READY_TIMEOUT=${READY_TIMEOUT:-300}
# The OpenID Connect code exchange: loadgen's code mode.
ALL_MODES+=(bare-oidc-es256 library-oidc-es256 bare-oidc-rs256 library-oidc-rs256)
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=("${ALL_MODES[@]}")

command -v taskset >/dev/null || { echo "load.sh: taskset (util-linux) is required" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "load.sh: needs 2 cores (server on core 0, load on core 1)" >&2; exit 1; }

BASE=${LOAD_BASE:-}
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$BASE" ] && [ -d "$work/base" ]; then
    git worktree remove --force "$work/base" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building loadserver and loadgen"
go build -o "$work/loadserver" ./bench/cmd/loadserver
go build -o "$work/loadgen" ./bench/cmd/loadgen
if [ -n "$BASE" ]; then
  echo "building the loadserver of $BASE"
  git worktree add --detach "$work/base" "$BASE" >/dev/null
  (cd "$work/base" && go build -o "$work/loadserver-base" ./bench/cmd/loadserver)
fi

# wait_ready waits until the server says it listens, or has exited.
wait_ready() {
  local log=$1 deadline=$((SECONDS + READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# run_mode runs one mode and prints its line; it appends the req/s to
# ALL_RPS[mode]. With a second argument, "base", the base revision's
# loadserver serves, and the line and the medians are of MODE@base.
declare -A ALL_RPS
# BY_ROUND[mode/round] is the req/s of one round, for the paired ratios.
declare -A BY_ROUND
run_mode() {
  local mode=$1 bin="$work/loadserver" name=$1 out lgmode=token
  if [ "${2:-}" = base ]; then
    bin="$work/loadserver-base" name="$1@base"
  fi
  local log="$work/$name.log"
  GOMAXPROCS=1 taskset -c 0 "$bin" -mode "$mode" -addr "$ADDR" -preload "$PRELOAD" >"$log" 2>&1 &
  server_pid=$!
  if ! wait_ready "$log"; then
    printf '%-22s unavailable: %s\n' "$name" "$(tail -n 1 "$log")"
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    return
  fi
  [[ $mode == introspect* ]] && lgmode=introspect
  [[ $mode == *-dpop ]] && lgmode=token-dpop
  [[ $mode == *-oidc-* ]] && lgmode=code
  out=$(GOMAXPROCS=1 taskset -c 1 "$work/loadgen" -addr "$ADDR" -mode "$lgmode" -c "$CONNS" -d "$DURATION" 2>"$work/$name.err") || true
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if [ -z "$out" ]; then
    printf '%-22s failed: %s\n' "$name" "$(tail -n 1 "$work/$name.err")"
    return
  fi
  ALL_RPS[$name]+="$(field rps "$out") "
  BY_ROUND[$name/$round]=$(field rps "$out")
  printf '%-22s %10s %10s %10s %8s\n' "$name" "$(field rps "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" "$(field errors "$out")"
  if grep -q "loadserver: store:" "$log"; then
    printf '  store: %s\n' "$(sed -n 's/^loadserver: store: //p' "$log" | tail -n 1)"
  fi
  if [ "$(field errors "$out")" != 0 ]; then
    echo "  $(cat "$work/$name.err")"
  fi
}

printf '\n%s, %s per mode, %s connections, preload %s, %s round(s), server on core 0, load on core 1\n' \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$DURATION" "$CONNS" "$PRELOAD" "$ROUNDS"
printf '%-22s %10s %10s %10s %8s\n' mode req/s p50_ms p99_ms errors
for ((round = 1; round <= ROUNDS; round++)); do
  [ "$ROUNDS" -gt 1 ] && echo "-- round $round"
  for mode in "${modes[@]}"; do
    [ -n "$BASE" ] && run_mode "$mode" base
    run_mode "$mode"
  done
done

# RPS[mode] is the median req/s of the rounds.
declare -A RPS
for mode in "${!ALL_RPS[@]}"; do
  RPS[$mode]=$(tr ' ' '\n' <<<"${ALL_RPS[$mode]}" | sed '/^$/d' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
done
if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "median req/s"
  for mode in "${modes[@]}"; do
    for m in "$mode@base" "$mode"; do
      [ -n "${RPS[$m]:-}" ] && printf '%-22s %10s   (%s)\n' "$m" "${RPS[$m]}" "${ALL_RPS[$m]% }"
    done
  done
fi

# paired NUM DEN prints the median of the rounds' own NUM/DEN ratios, when
# more than one round ran both: the machine drifts from minute to minute,
# and a round's two runs are the closest in time. Informative only: the
# targets are judged on the ratio of the medians.
paired() {
  local num=$1 den=$2 r list=""
  [ "$ROUNDS" -gt 1 ] || return 0
  for ((r = 1; r <= ROUNDS; r++)); do
    [ -n "${BY_ROUND[$num/$r]:-}" ] && [ -n "${BY_ROUND[$den/$r]:-}" ] || continue
    list+="${BY_ROUND[$num/$r]}/${BY_ROUND[$den/$r]} "
  done
  [ -n "$list" ] || return 0
  tr ' ' '\n' <<<"$list" | sed '/^$/d' | awk -F/ '$2 > 0 {print $1 / $2}' | sort -g |
    awk '{v[NR] = $1} END {if (NR) printf "  (paired %.2f)", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

# ratio NUM DEN TARGET prints NUM/DEN, the ratio of the medians, against
# the target, when both ran; then the paired ratio.
ratio() {
  local num=$1 den=$2 target=$3
  [ -n "${RPS[$num]:-}" ] && [ -n "${RPS[$den]:-}" ] || return 0
  awk -v n="${RPS[$num]}" -v d="${RPS[$den]}" -v t="$target" -v name="$num/$den" 'BEGIN {
    if (d == 0) { printf "%-36s   n/a (no successful requests in %s)", name, name; exit }
    r = n / d
    if (t == "") { printf "%-36s %5.2f", name, r; exit }
    printf "%-36s %5.2f  target >= %s  %s", name, r, t, (r >= t ? "ok" : "BELOW TARGET")
  }'
  paired "$num" "$den"
  echo
}
echo
echo "ratios"
if [ -n "$BASE" ]; then
  for mode in "${modes[@]}"; do
    ratio "$mode" "$mode@base" ""
  done
fi
ratio library bare 0.80
ratio library-es256 bare-es256 0.80
ratio library-eddsa bare-eddsa 0.80
ratio library-rs256 bare-rs256 0.80
ratio oauth2d library 0.90
ratio oauth2d bare 0.90
ratio oauth2d-sqlite bare 0.40
ratio oauth2d-postgres bare 0.25
ratio oauth2d-mysql bare 0.25
ratio oauth2d-redis bare 0.60
ratio introspect introspect-bare 0.85
ratio library-dpop bare-dpop 0.80
ratio library-oidc-es256 bare-oidc-es256 0.80
ratio library-oidc-rs256 bare-oidc-rs256 0.80
