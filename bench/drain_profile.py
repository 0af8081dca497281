"""Where a hexbus worker's CPU goes while it drains: a py-spy profile of the drain path.

Run: .venv/bin/python bench/drain_profile.py [--events N] [--threads T] [--top K] [--signal]

Needs py-spy (in the dev extra: ``bash scripts/setup`` installs it). Starts its own
redis-server, publishes N jobs (bench/vs_bullmq_python.py's ``publish``, batches of 1,000),
starts one worker process of T
threads (its ``worker``), attaches ``py-spy record --format raw --gil --nonblocking`` to it,
says "go", and stops when the queue is empty. Only the thread holding the GIL is sampled,
which is where a no-op handler's worker spends its CPU. With ``--signal`` the handler pushes
a signal to Redis per job (the burst's and the latency rows' handler in bench/vs_bullmq.py).
It prints the drain's rate and the worker's CPU per job (the profiler's own cost included:
compare with bench/vs_bullmq.py for figures to quote), then the functions by inclusive share
of the samples, a few named parts of the path (the scripts, the fetch, reading bodies,
threads taking work), and the functions by their own samples (where the time is spent, not
what it is spent for).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from hexbus.testing.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
HELPER = ROOT / "bench" / "vs_bullmq_python.py"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Named parts of the path: a label and the frame names (substrings) that make it up.
PARTS = (
    ("start.lua before the handler (Fates.start)", ("Fates.start (",)),
    ("recording a success (GroupCommit.submit: complete.lua)", ("GroupCommit.submit (",)),
    ("start.lua for a fetched batch (Fates.start_all)", ("Fates.start_all (",)),
    ("a free thread's fetch and batch start (WorkerPool._fetch_or_wait)", ("_fetch_or_wait (",)),
    (
        "fetching ahead before a success's record (WorkerPool._handler_returned)",
        ("_handler_returned (",),
    ),
    ("reading fetched bodies (intake)", ("dramatiq/intake.py",)),
    ("threads taking work and waiting for it (WorkerPool._take)", ("_take (",)),
    ("redis-py, every call", ("execute_command (",)),
    ("the handler's own signal push (--signal)", ("lpush (",)),
    ("EventSerializer.from_dict", ("from_dict (",)),
    ("observers", ("_tell (",)),
)


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--signal",
        action="store_true",
        help="the handler pushes a signal to Redis per job, as bench/vs_bullmq.py's burst does",
    )
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit(
            "drain_profile: py-spy is needed: run bash scripts/setup (the dev extra has it)"
        )
    print(f"drain profile, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC")
    print(f"command: .venv/bin/python bench/drain_profile.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"  load average at start {os.getloadavg()[0]:.2f}")
    with RedisServer() as server, tempfile.TemporaryDirectory() as folder:
        client = redis.Redis.from_url(server.url)
        base = [sys.executable, str(HELPER), "hexbus"]
        subprocess.run(
            [*base, "publish", "--url", server.url, "--count", str(args.events), "--batch", "1000"],
            check=True,
            capture_output=True,
        )
        worker = subprocess.Popen(
            [
                *base,
                "worker",
                "--url",
                server.url,
                "--threads",
                str(args.threads),
                *(["--signal", "drain-profile-signal"] if args.signal else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdin is not None
        assert worker.stdout is not None
        worker.stdout.readline()  # {"ready": true}
        raw = Path(folder) / "profile.txt"
        profiler = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(worker.pid),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--gil",
                "--nonblocking",
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # py-spy attaches
        cpu = proc_cpu(worker.pid)
        client.config_resetstat()
        started = time.perf_counter()
        worker.stdin.write("go\n")
        worker.stdin.flush()
        while client.llen("hexbus:bench") or client.hlen("hexbus:bench.msgs"):
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        cpu = proc_cpu(worker.pid) - cpu
        commands = client.info("commandstats")
        profiler.send_signal(2)
        profiler.wait(timeout=30)
        worker.stdin.write("stop\n")
        worker.stdin.flush()
        worker.wait(timeout=60)
        stacks = collections.Counter[str]()
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                stacks[stack] += int(count)
    report(args, stacks, commands, elapsed, cpu)


def report(
    args: argparse.Namespace,
    stacks: collections.Counter[str],
    commands: dict[str, Any],
    elapsed: float,
    cpu: float,
) -> None:
    total = sum(stacks.values())
    print(
        f"  drained {args.events:,} jobs with 1 process x {args.threads} in {elapsed:.1f} s: "
        f"{args.events / elapsed:,.0f} jobs/s, worker CPU {cpu / args.events * 1e6:,.0f} us/job "
        f"(profiled); {total:,} GIL-holding samples"
    )
    scripts = commands.get("cmdstat_evalsha", {}).get("calls", 0)
    every = sum(int(v["calls"]) for k, v in commands.items() if k != "cmdstat_info")
    print(
        f"  Redis: {scripts / args.events:.2f} script calls (EVALSHA, pipelined ones each) and "
        f"{every / args.events:.2f} commands per job (the scripts' own included)"
    )
    inclusive = collections.Counter[str]()
    for stack, count in stacks.items():
        for frame in set(stack.split(";")):
            inclusive[frame] += count
    print("\nnamed parts of the path (inclusive share of samples):")
    for label, names in PARTS:
        share = sum(c for s, c in stacks.items() if any(n in s for n in names))
        print(f"  {share / total:6.1%}  {label}")
    print(f"\ntop {args.top} functions (inclusive):")
    for frame, count in inclusive.most_common(args.top):
        print(f"  {count / total:6.1%}  {frame[:110]}")
    own = collections.Counter[str]()
    for stack, count in stacks.items():
        # A frame is "function (file:line)": summed over the function's lines.
        own[re.sub(r":\d+\)$", ")", stack.rsplit(";", 1)[-1])] += count
    print(f"\ntop {args.top} functions (own samples: the frame running, not its callees):")
    for frame, count in own.most_common(args.top):
        print(f"  {count / total:6.1%}  {frame[:110]}")


if __name__ == "__main__":
    main()
