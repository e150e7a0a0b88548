#!/usr/bin/env python3
"""Load benchmark of the organizations API against the local Scalekit emulator (see the Performance section of README.md).

Started by bench/run.sh after a Release build. Everything binds to 127.0.0.1; every load run is bounded by wrk's
duration and a hard timeout; every process started here is stopped on exit, on Ctrl+C and on SIGTERM.
"""

import argparse
import base64
import datetime
import http.client
import json
import math
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
API_DIR = os.path.join(ROOT, "src/Api/bin/Release/net10.0")
EMULATOR_DLL = os.path.join(ROOT, "src/Scalekit.Emulator/bin/Release/net10.0/Scalekit.Emulator.dll")
RESULTS = os.path.join(ROOT, "bench/results")
LOGS = os.path.join(RESULTS, "logs")
PIDS_FILE = os.path.join(LOGS, "pids")
GCDUMP = os.path.join(ROOT, "bench/.tools/dotnet-gcdump")  # installed by bench/run.sh

CLIENT_ID = "skc_local_emulator"
CLIENT_SECRET = "test_local_emulator_secret"
ORG = "org_100000000000000001"  # the emulator's seeded Acme organization
CLK_TCK = os.sysconf("SC_CLK_TCK")
JWKS_COOLDOWN_S = 30  # the API's default Scalekit:JwksRefreshCooldown

STARTED = []  # subprocess.Popen objects, stopped in reverse order


# ---------------------------------------------------------------- processes

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, args, env=None, cwd=None):
    log = open(os.path.join(LOGS, f"{name}.log"), "wb")
    process = subprocess.Popen(args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    process.bench_name = name
    STARTED.append(process)
    with open(PIDS_FILE, "a") as f:
        f.write(f"{process.pid}\n")
    return process


def stop_all():
    for process in reversed(STARTED):
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for process in reversed(STARTED):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    STARTED.clear()


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


# ---------------------------------------------------------------- /proc

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def memory_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss(pid):
    # Linux >= 4.0: writing 5 resets VmHWM to the current RSS, so each run reports its own peak.
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def live_heap_mb(pid):
    """The managed heap that survives a full blocking collection (dotnet-gcdump forces one): what a leak grows.

    None when the tool is missing (bench.py run without run.sh) or the dump fails."""
    if not os.access(GCDUMP, os.X_OK):
        return None
    path = os.path.join(LOGS, f"heap-{pid}.gcdump")
    try:
        subprocess.run([GCDUMP, "collect", "-p", str(pid), "-o", path], capture_output=True, timeout=60, check=True)
        report = subprocess.run([GCDUMP, "report", path], capture_output=True, text=True, timeout=60, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    finally:
        if os.path.exists(path):
            os.remove(path)
    for line in report.splitlines():
        if line.strip().endswith("GC Heap bytes"):
            return int(line.split()[0].replace(",", "")) / 1024 / 1024
    return None


# ---------------------------------------------------------------- HTTP helpers

def http_json(method, url, body=None, headers=None, form=False):
    data = None
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.01)
    raise SystemExit(f"bench: {what} did not come up within {timeout} s (see {LOGS})")


def get_status(port, path, token):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def upstream_stats(port):
    return http_json("GET", f"http://127.0.0.1:{port}/_emulator/stats")["requests"]


# ---------------------------------------------------------------- tokens

def mint(port, sub, permissions, lifetime=3 * 3600):
    return http_json("POST", f"http://127.0.0.1:{port}/_emulator/tokens", {
        "sub": sub, "oid": ORG, "aud": [CLIENT_ID], "permissions": permissions, "lifetime_seconds": lifetime,
    })["access_token"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def invalid_tokens(valid, other):
    header, payload, _ = valid.split(".")
    unknown_kid = b64url(json.dumps({"alg": "RS256", "kid": "bench-unknown-kid", "typ": "JWT"}).encode())
    return [
        "garbage-not-a-jwt",
        f"{header}.{payload}.{other.split('.')[2]}",            # known kid, signature of another token
        f"{unknown_kid}.{payload}.{b64url(random.randbytes(256))}",  # kid the JWKS does not have
    ]


# ---------------------------------------------------------------- wrk

LUA_DONE = """
done = function(summary, latency, requests)
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""

LUA_ROTATE = """
local tokens = {}
for line in io.lines("%(file)s") do tokens[#tokens + 1] = line end
local counter = 0
local offset = 0
local thread_count = 0
setup = function(thread)
  thread:set("offset", thread_count * 7919)
  thread_count = thread_count + 1
end
request = function()
  counter = counter + 1
  local token = tokens[((counter + offset) %% #tokens) + 1]
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
end
"""

LUA_POST = """
wrk.method = "POST"
wrk.body = '{"displayName":"Bench organization","metadata":{"source":"bench"}}'
wrk.headers["Content-Type"] = "application/json"
"""


def write_script(name, body):
    path = os.path.join(LOGS, f"{name}.lua")
    with open(path, "w") as f:
        f.write(body + LUA_DONE)
    return path


def write_lines(name, lines):
    path = os.path.join(LOGS, f"{name}.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def run_wrk(url, script, headers, seconds, connections, threads):
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", script]
    for header in headers:
        args += ["-H", header]
    args.append(url)
    # Tracked like the servers, so an interrupt stops it too; its own -d bounds it, the timeout is a backstop.
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    process.bench_name = "wrk"
    STARTED.append(process)
    try:
        stdout, stderr = process.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    finally:
        if process in STARTED:
            STARTED.remove(process)
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise SystemExit(f"bench: wrk gave no result:\n{stdout}\n{stderr}")


# ---------------------------------------------------------------- the run

def measure(scenario, seconds, connections, threads, upstream_port):
    pid = scenario["server"].pid
    peak_reset = reset_peak_rss(pid)
    cpu_before = cpu_seconds(pid)
    stats_before = upstream_stats(upstream_port)
    result = run_wrk(scenario["url"], scenario["script"], scenario.get("headers", []), seconds, connections, threads)
    # wrk stops with requests in flight; let their upstream calls land in this run, not the next one's.
    time.sleep(0.5)
    stats_after = upstream_stats(upstream_port)
    cpu_after = cpu_seconds(pid)

    calls = {route: stats_after.get(route, 0) - stats_before.get(route, 0) for route in stats_after}
    calls = {route: count for route, count in calls.items() if count}
    requests = max(1, result["requests"])
    return {
        "requests": result["requests"],
        "rps": result["requests"] / (result["duration_us"] / 1e6),
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "cpu_s_per_1k": (cpu_after - cpu_before) / requests * 1000,
        "peak_rss_mb": memory_kb(pid, "VmHWM") / 1024,
        "peak_is_per_run": peak_reset,
        "non_2xx": result["errors"]["status"],
        "socket_errors": sum(v for k, v in result["errors"].items() if k != "status"),
        "upstream_calls": calls,
        "upstream_calls_per_request": None if scenario["id"] == 1 else sum(calls.values()) / requests,
    }


def start_api(name, port, upstream, caching, read_token, extra_env):
    env = {
        "ASPNETCORE_ENVIRONMENT": "Production",
        "ASPNETCORE_URLS": f"http://127.0.0.1:{port}",
        **upstream,
        "Scalekit__ClientId": CLIENT_ID,
        "Scalekit__ClientSecret": CLIENT_SECRET,
        "Scalekit__Audiences__0": CLIENT_ID,
        # One token drives all the load: per-caller budgets (issue 4's rate limits) would turn runs into 429 floods.
        "RateLimiting__Reads__PermitLimit": "1000000000",
        "RateLimiting__Writes__PermitLimit": "1000000000",
        **{f"Caching__{key}": value for key, value in caching.items()},
        **extra_env,
    }
    began = time.monotonic()
    process = start(name, ["dotnet", "Api.dll"], env=env, cwd=API_DIR)
    path = f"/organizations/{ORG}"
    wait_until(lambda: process.poll() is None and get_status(port, path, read_token) == 200, 60, name)
    return process, time.monotonic() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one short round: checks the harness, not the numbers")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--duration", type=int, help="seconds per run")
    parser.add_argument("--warmup", type=int, help="seconds of warm-up per scenario")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--distinct-tokens", type=int)
    parser.add_argument("--scenarios", default="1,2,3,4,5,6,7", help="comma-separated subset to run (1 is always run: it is the baseline)")
    parser.add_argument("--api-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for every API instance, e.g. DOTNET_gcServer=0")
    parser.add_argument("--http1", action="store_true",
                        help="the API calls the emulator over HTTP/1.1 (Scalekit:Http2=Off) instead of cleartext HTTP/2")
    parser.add_argument("--profile", type=int, metavar="SCENARIO",
                        help="instead of the table: one run of this scenario (after a warm-up, 60 s by default) under perf, "
                             "and where its server's CPU went, by kernel, native runtime and managed assembly")
    options = parser.parse_args()
    rounds = options.rounds or (1 if options.quick else 5)
    duration = options.duration or (3 if options.quick else 10)
    # A profile wants the steady state: under load the tiered JIT takes 20-60 s to finish the hot path.
    warmup = options.warmup if options.warmup is not None else (1 if options.quick else 60 if options.profile else 10)
    distinct = options.distinct_tokens or (200 if options.quick else 2000)
    api_env = dict(item.split("=", 1) for item in options.api_env)
    if options.profile is not None and options.profile not in range(1, 8):
        parser.error("--profile takes a scenario number, 1 to 7")

    os.makedirs(LOGS, exist_ok=True)
    open(PIDS_FILE, "w").close()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if options.profile is not None:
            return profile(options.profile, duration, warmup, distinct, options.connections, options.threads, api_env,
                           not options.http1)
        only = {1} | {int(x) for x in options.scenarios.split(",")}
        report = run(rounds, duration, warmup, distinct, options.connections, options.threads, api_env, options.quick, only,
                     not options.http1)
    finally:
        stop_all()
    print_report(report)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(RESULTS, f"{stamp}{'-quick' if options.quick else ''}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nJSON: {os.path.relpath(path, ROOT)}")
    return 0


def start_scenarios(distinct, api_env, http2, emulator_env=None):
    """Starts the emulator and the three API instances; returns the upstream port, the scenarios, the instances and
    each instance's time to its first authenticated 200."""
    upstream_port = free_port()
    args = ["dotnet", EMULATOR_DLL, "--port", str(upstream_port)]
    if http2:
        # The API speaks HTTP/2 to Scalekit over TLS; without TLS that takes prior knowledge, which Kestrel serves only on
        # an HTTP/2-only port, so the emulator opens one beside the HTTP/1.1 port that wrk and this script use.
        http2_port = free_port()
        args += ["--http2-port", str(http2_port)]
        upstream = {"Scalekit__EnvironmentUrl": f"http://127.0.0.1:{http2_port}", "Scalekit__Http2": "Always",
                    "Scalekit__Issuers__0": f"http://127.0.0.1:{upstream_port}"}
    else:
        upstream = {"Scalekit__EnvironmentUrl": f"http://127.0.0.1:{upstream_port}", "Scalekit__Http2": "Off"}
    emulator = start("emulator", args, env=emulator_env)
    wait_until(lambda: emulator.poll() is None and upstream_stats(upstream_port) is not None, 60, "the emulator")
    management = http_json("POST", f"http://127.0.0.1:{upstream_port}/oauth/token", {
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, form=True)["access_token"]

    read_token = mint(upstream_port, "usr_bench_reader", ["organizations:read", "organizations:create"])
    other_token = mint(upstream_port, "usr_bench_other", ["organizations:read"])
    distinct_tokens = [mint(upstream_port, f"usr_bench_{i:06d}", ["organizations:read"]) for i in range(distinct)]

    # Three instances, so no scenario needs a restart: read cache off, read cache on, and every cache off
    # (scenario 6 must never hit the token cache; with it off each request pays what a never-seen token costs).
    ports = {name: free_port() for name in ("api-cache-off", "api-cache-on", "api-no-token-cache")}
    instances, startup = {}, {}
    for name, caching in (("api-cache-off", {"OrganizationTtl": "00:00:00"}),
                          ("api-cache-on", {}),
                          ("api-no-token-cache", {"OrganizationTtl": "00:00:00", "ValidatedTokenTtl": "00:00:00"})):
        instances[name], startup[name] = start_api(name, ports[name], upstream, caching, read_token, api_env)

    def api(name, path=f"/organizations/{ORG}"):
        return f"http://127.0.0.1:{ports[name]}{path}"

    bearer = [f"Authorization: Bearer {read_token}"]
    plain = write_script("plain", "")
    scenarios = [
        {"id": 1, "name": "upstream alone (emulator GET)", "server": emulator, "script": plain,
         "url": f"http://127.0.0.1:{upstream_port}/api/v1/organizations/{ORG}",
         "headers": [f"Authorization: Bearer {management}"]},
        {"id": 2, "name": "GET, read cache off", "server": instances["api-cache-off"], "script": plain,
         "url": api("api-cache-off"), "headers": bearer},
        {"id": 3, "name": "GET, read cache on", "server": instances["api-cache-on"], "script": plain,
         "url": api("api-cache-on"), "headers": bearer},
        {"id": 4, "name": "POST /organizations", "server": instances["api-cache-off"],
         "script": write_script("post", LUA_POST), "url": api("api-cache-off", "/organizations"), "headers": bearer},
        {"id": 5, "name": "invalid-token flood", "server": instances["api-cache-off"],
         "script": write_script("invalid", LUA_ROTATE % {"file": write_lines("invalid", invalid_tokens(read_token, other_token))}),
         "url": api("api-cache-off"), "expect_non_2xx": True},
        {"id": 6, "name": f"{distinct} distinct valid tokens", "server": instances["api-no-token-cache"],
         "script": write_script("distinct", LUA_ROTATE % {"file": write_lines("distinct", distinct_tokens)}),
         "url": api("api-no-token-cache")},
        # Not a target: the cheapest request this host can answer (no token, no upstream, no log event), the floor
        # every other API scenario stands on, to read the ratios against.
        {"id": 7, "name": "API floor: GET /health/live", "server": instances["api-cache-off"], "script": plain,
         "url": api("api-cache-off", "/health/live")},
    ]
    return upstream_port, scenarios, instances, startup


def run(rounds, duration, warmup, distinct, connections, threads, api_env, quick, only, http2):
    upstream_port, scenarios, instances, startup = start_scenarios(distinct, api_env, http2)
    scenarios = [scenario for scenario in scenarios if scenario["id"] in only]

    print(f"bench: startup to first authenticated 200: " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()), flush=True)
    for scenario in scenarios:
        print(f"bench: warm-up {scenario['id']} {scenario['name']} ({warmup} s)", flush=True)
        run_wrk(scenario["url"], scenario["script"], scenario.get("headers", []), warmup, connections, threads)

    runs = {scenario["id"]: [] for scenario in scenarios}
    # After every round, the live managed heap of each API instance that served in it (a full GC first): a leak
    # grows it round after round, while peak RSS also moves with the GC's budget and with code compiled late.
    live_heaps = {name: [] for name, process in instances.items() if any(s["server"] is process for s in scenarios)}
    flood_started = None
    for round_number in range(1, rounds + 1):
        for scenario in scenarios:
            if scenario["id"] == 5 and flood_started is None:
                flood_started = time.monotonic()
            result = measure(scenario, duration, connections, threads, upstream_port)
            runs[scenario["id"]].append(result)
            print(f"bench: round {round_number}/{rounds} scenario {scenario['id']}: {result['rps']:.0f} req/s, "
                  f"p99 {result['p99_ms']:.1f} ms, non-2xx {result['non_2xx']}", flush=True)
        for name in live_heaps:
            heap = live_heap_mb(instances[name].pid)
            live_heaps[name].append(None if heap is None else round(heap, 2))
        print("bench: live heap after a full GC: " + ", ".join(
            f"{name} {'n/a' if heaps[-1] is None else f'{heaps[-1]:.2f} MB'}" for name, heaps in live_heaps.items()), flush=True)

    return summarize(scenarios, runs, startup, live_heaps, rounds, duration, warmup, connections, threads, distinct, api_env, quick,
                     http2)


# ---------------------------------------------------------------- --profile

# perf names JIT-compiled methods from the runtime's /tmp/perf-<pid>.map; with W^X on, that code runs from a
# double-mapped memfd that perf cannot match to the map, so profile runs turn it off (it costs a few percent either way).
PERF_ENV = {"DOTNET_PerfMapEnabled": "1", "DOTNET_EnableWriteXorExecute": "0"}


def profile(scenario_id, duration, warmup, distinct, connections, threads, api_env, http2):
    upstream_port, scenarios, _, _ = start_scenarios(distinct, {**api_env, **PERF_ENV}, http2, emulator_env=PERF_ENV)
    scenario = next(s for s in scenarios if s["id"] == scenario_id)
    print(f"bench: warm-up {scenario['id']} {scenario['name']} ({warmup} s)", flush=True)
    run_wrk(scenario["url"], scenario["script"], scenario.get("headers", []), warmup, connections, threads)

    data = os.path.join(LOGS, f"perf-{scenario_id}.data")
    # Bounded by its own `sleep`; samples the server process only (all its threads), user and kernel time.
    recorder = subprocess.Popen(["perf", "record", "-F", "999", "-p", str(scenario["server"].pid), "-o", data, "--",
                                 "sleep", str(duration)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    recorder.bench_name = "perf"
    STARTED.append(recorder)
    result = measure(scenario, duration, connections, threads, upstream_port)
    _, errors = recorder.communicate(timeout=60)
    STARTED.remove(recorder)
    if recorder.returncode != 0:
        raise SystemExit(f"bench: perf record failed (exit {recorder.returncode}):\n{errors}")
    shares, methods = perf_shares(data)

    lines = [f"({scenario['id']}) {scenario['name']}: {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
             f"{result['cpu_s_per_1k']:.3f} CPU-seconds per 1000 requests (server pid {scenario['server'].pid}, "
             f"DOTNET_EnableWriteXorExecute=0)",
             "", "where the server's CPU went (perf samples, self time):"]
    groups = {"kernel (sockets, scheduling)": 0.0, "runtime: libcoreclr.so (GC, thread pool, stubs)": 0.0,
              "JIT compiler: libclrjit.so": 0.0, "libc and other native code": 0.0, "managed code": 0.0,
              "  of which this API's own assembly (Api)": 0.0}
    for name, share in shares.items():
        group = ("kernel (sockets, scheduling)" if name == "kernel" else "managed code" if name.startswith("managed ")
                 else "runtime: libcoreclr.so (GC, thread pool, stubs)" if name == "libcoreclr.so"
                 else "JIT compiler: libclrjit.so" if name == "libclrjit.so" else "libc and other native code")
        groups[group] += share
    groups["  of which this API's own assembly (Api)"] = shares.get("managed Api", 0.0)
    lines += [f"  {share:6.1%}  {name}" for name, share in groups.items()]
    lines += ["", "by module (managed code by assembly), 1 % and up:"]
    lines += [f"  {share:6.1%}  {name}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1]) if share >= 0.01]
    lines += ["", "hottest managed methods:"]
    lines += [f"  {share:6.1%}  {name[:160]}" for name, share in methods[:15]]
    text = "\n".join(lines)
    print("\n" + text)
    path = os.path.join(LOGS, f"profile-{scenario_id}.txt")
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"\nsaved: {os.path.relpath(path, ROOT)} and {os.path.relpath(data, ROOT)} (perf report -i ... for more)")
    return 0


def perf_shares(data):
    """Self-time shares from a perf recording: by module, with JIT-compiled code split by its assembly."""
    # Sample counts, not perf's rounded percentages: thousands of 0.01 % lines would add up to more than 100 %.
    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "-n", "--sort", "dso,sym", "--stdio",
                             "-g", "none"], capture_output=True, text=True, timeout=300).stdout
    counts, method_counts = {}, {}
    for line in report.splitlines():
        # "    12.34%   1263  libcoreclr.so   [.] symbol"  or  "  0.72%  74  [JIT] tid 2070   [.] instance void [Api] Api.X::Y()"
        match = re.match(r"\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[(.)\]\s+(.*)$", line)
        if not match:
            continue
        samples, module, symbol = int(match.group(1)), match.group(2).strip(), match.group(4).strip()
        if module.startswith("[JIT]") or module.startswith("memfd:"):
            assembly = re.search(r"\[([A-Za-z][\w.]*)\]", symbol)
            module = "managed " + (assembly.group(1) if assembly else "(stubs and unnamed code)")
            method_counts[symbol] = method_counts.get(symbol, 0) + samples
        elif module == "[kernel.kallsyms]":
            module = "kernel"
        counts[module] = counts.get(module, 0) + samples
    total = max(1, sum(counts.values()))
    shares = {module: n / total for module, n in counts.items()}
    methods = {symbol: n / total for symbol, n in method_counts.items()}
    return shares, sorted(methods.items(), key=lambda kv: -kv[1])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(scenarios, runs, startup, live_heaps, rounds, duration, warmup, connections, threads, distinct, api_env, quick,
              http2):
    upstream_rps = [r["rps"] for r in runs[1]]
    rows = []
    for scenario in scenarios:
        results = runs[scenario["id"]]
        rows.append({
            "id": scenario["id"],
            "scenario": scenario["name"],
            "server": "emulator" if scenario["id"] == 1 else scenario["server"].bench_name,
            "rps": median([r["rps"] for r in results]),
            "p50_ms": median([r["p50_ms"] for r in results]),
            "p99_ms": median([r["p99_ms"] for r in results]),
            "cpu_s_per_1k": median([r["cpu_s_per_1k"] for r in results]),
            "peak_rss_mb": median([r["peak_rss_mb"] for r in results]),
            "peak_rss_mb_by_round": [round(r["peak_rss_mb"], 1) for r in results],
            "upstream_calls_per_request": median([r["upstream_calls_per_request"] for r in results]),
            # Ratios per round (same moment, same machine state), then the median.
            "ratio_to_upstream": median([r["rps"] / u for r, u in zip(results, upstream_rps)]),
            "non_2xx_share": sum(r["non_2xx"] for r in results) / max(1, sum(r["requests"] for r in results)),
            "socket_errors": sum(r["socket_errors"] for r in results),
            "rounds": results,
        })

    by_id = {row["id"]: row for row in rows}
    if not {1, 2, 3, 4, 5, 6} <= set(by_id):
        return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                "settings": {"rounds": rounds, "seconds_per_run": duration, "warmup_seconds": warmup, "connections": connections,
                             "partial": True, "api_to_upstream": "HTTP/2 (h2c)" if http2 else "HTTP/1.1"},
                "startup_seconds": startup, "scenarios": rows, "live_heap_mb_by_round": live_heaps, "targets": []}
    flood_calls = {}
    for result in runs[5]:
        for route, count in result["upstream_calls"].items():
            flood_calls[route] = flood_calls.get(route, 0) + count
    api_rows = [row for row in rows if row["id"] != 1]
    max_rss = max(max(row["peak_rss_mb_by_round"]) for row in api_rows)
    rss_growth = max(row["peak_rss_mb_by_round"][-1] - row["peak_rss_mb_by_round"][0] for row in api_rows)
    measured_heaps = {name: heaps for name, heaps in live_heaps.items() if heaps and None not in heaps}
    heap_growth = max((heaps[-1] - heaps[0] for heaps in measured_heaps.values()), default=None)
    targets = [
        ("uncached GET >= 0.5 x upstream req/s", by_id[2]["ratio_to_upstream"] >= 0.5, f"{by_id[2]['ratio_to_upstream']:.2f} x"),
        ("uncached GET p99 <= 25 ms at 64 connections", by_id[2]["p99_ms"] <= 25, f"{by_id[2]['p99_ms']:.1f} ms"),
        ("cached GET >= 2 x upstream req/s", by_id[3]["ratio_to_upstream"] >= 2, f"{by_id[3]['ratio_to_upstream']:.2f} x"),
        ("cached GET upstream calls per request <= 0.01", by_id[3]["upstream_calls_per_request"] <= 0.01,
         f"{by_id[3]['upstream_calls_per_request']:.4f}"),
        ("invalid-token flood >= 2 x upstream req/s", by_id[5]["ratio_to_upstream"] >= 2, f"{by_id[5]['ratio_to_upstream']:.2f} x"),
        ("invalid-token flood: no /api calls, JWKS fetches within the 30 s cooldown",
         sum(c for r, c in flood_calls.items() if "/api/" in r) == 0
         # Flood rounds are far apart (interleaved), so each may cause one cooldown-limited refetch at most.
         and flood_calls.get("GET /keys", 0) <= rounds * math.ceil(duration / JWKS_COOLDOWN_S),
         json.dumps(flood_calls) if flood_calls else "none"),
        ("server peak RSS <= 150 MB under load", max_rss <= 150, f"{max_rss:.0f} MB"),
        ("no leak: live managed heap after a full GC, last - first round <= 2 MB on every API instance",
         heap_growth is not None and len(measured_heaps) == len(live_heaps) and (heap_growth <= 2 or rounds == 1),
         "not measured (bench/.tools/dotnet-gcdump missing)" if heap_growth is None else
         f"{heap_growth:+.2f} MB (" + ", ".join(f"{n} {h[0]:.2f} -> {h[-1]:.2f}" for n, h in measured_heaps.items()) + ")"),
        ("startup to first authenticated request <= 2 s", max(startup.values()) <= 2.0,
         ", ".join(f"{v:.2f} s" for v in startup.values())),
    ]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"rounds": rounds, "seconds_per_run": duration, "warmup_seconds": warmup, "connections": connections,
                     "wrk_threads": threads, "distinct_tokens": distinct, "api_env": api_env, "quick": quick,
                     "api_to_upstream": "HTTP/2 (h2c)" if http2 else "HTTP/1.1"},
        "startup_seconds": startup,
        "scenarios": rows,
        "live_heap_mb_by_round": live_heaps,
        # Reported, not judged: the rounds' peak RSS also moves with the GC's budget and code compiled late.
        "peak_rss_growth_mb": round(rss_growth, 1),
        "targets": [{"target": t, "met": bool(ok), "measured": m} for t, ok, m in targets],
    }


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    load = os.getloadavg()
    return {"host": platform.node(), "cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "dotnet": subprocess.run(["dotnet", "--version"], capture_output=True, text=True).stdout.strip(),
            "load_average_at_end": [round(x, 2) for x in load]}


def print_report(report):
    m = report["machine"]
    s = report["settings"]
    print(f"\n{report['date']}  {m['cpus']} CPUs {m['cpu_model']}  load {m['load_average_at_end']}  "
          f"{s['rounds']} rounds x {s['seconds_per_run']} s, {s['connections']} connections, medians of rounds, "
          f"API to emulator over {s['api_to_upstream']}")
    header = f"{'scenario':<34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU s/1k':>9} {'RSS MB':>7} {'up/req':>7} {'x (1)':>6}"
    print(header)
    print("-" * len(header))
    for row in report["scenarios"]:
        upstream = "-" if row["upstream_calls_per_request"] is None else f"{row['upstream_calls_per_request']:.3f}"
        print(f"({row['id']}) {row['scenario']:<30} {row['rps']:>8.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
              f"{row['cpu_s_per_1k']:>9.3f} {row['peak_rss_mb']:>7.0f} {upstream:>7} {row['ratio_to_upstream']:>6.2f}")
        if row["id"] != 5 and row["non_2xx_share"] > 0.001:
            print(f"    warning: {row['non_2xx_share']:.1%} non-2xx answers")
        if row["socket_errors"]:
            print(f"    warning: {row['socket_errors']} socket errors")
    print("\nstartup to first authenticated 200: " + ", ".join(f"{k} {v:.2f} s" for k, v in report["startup_seconds"].items()))
    if "peak_rss_growth_mb" in report:
        print(f"peak RSS, last - first round (reported, not a target): {report['peak_rss_growth_mb']:+.1f} MB")
    for name, heaps in report.get("live_heap_mb_by_round", {}).items():
        print(f"live heap after a full GC, by round, {name}: " + ", ".join("n/a" if h is None else f"{h:.2f}" for h in heaps) + " MB")
    print("\ntargets:")
    for target in report["targets"]:
        print(f"  [{'met' if target['met'] else 'MISSED'}] {target['target']}: {target['measured']}")


if __name__ == "__main__":
    sys.exit(main())
