#!/usr/bin/env bash
# The load benchmark: builds Release, starts the Scalekit emulator and three API instances on 127.0.0.1, drives
# them with wrk in interleaved rounds, prints one table and writes bench/results/<time>.json.
#   bench/run.sh            10 s warm-up, then 5 interleaved rounds x 10 s per scenario (about 9 minutes)
#   bench/run.sh --quick    1 round x 3 s: checks the harness, not the numbers
#   bench/run.sh --profile 2   one run of scenario 2 under perf: where the server's CPU goes, by module
#   bench/run.sh --help     all options (rounds, duration, connections, extra API environment)
# Everything it starts is stopped when it ends, fails or is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need python3; then
  echo "bench: installing wrk and python3 from Debian's packages"
  apt-get update -qq && apt-get install -y -qq wrk python3 >/dev/null
fi

case "${1:-}" in -h|--help) exec python3 bench/bench.py --help ;; esac
case " $* " in
  *" --profile"*)
    if ! need perf; then
      echo "bench: installing perf from Debian's packages"
      apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null
    fi ;;
esac

# The leak check reads each API instance's live heap after a full GC between rounds.
if [ ! -x bench/.tools/dotnet-gcdump ]; then
  echo "bench: installing dotnet-gcdump from NuGet into bench/.tools"
  dotnet tool install dotnet-gcdump --version 10.0.750501 --tool-path bench/.tools >/dev/null
fi

echo "bench: building Release"
dotnet build src/Api/Api.csproj -c Release -nologo -clp:ErrorsOnly -v:q

pids_file=bench/results/logs/pids
bench_pid=
cleanup() {
  # bench.py stops its own children on SIGTERM; the pid file catches them if bench.py itself was killed.
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  if [ -f "$pids_file" ]; then
    while read -r pid; do
      [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true
    done < "$pids_file"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# In the background and waited for, so a signal to this script is handled at once, not after the run.
python3 bench/bench.py "$@" &
bench_pid=$!
wait "$bench_pid"
