"""The operators' commands as an operator runs them: stats, events show, dead letters, queues,
clean, dashboard.

In-memory tests run the command in this process (Typer's CliRunner) with ``--app`` pointing
at a function below that makes dead letters on that process's own bus. Redis tests publish
through ``create_container(env)`` to a private redis-server, handle with an in-process
``WorkerRuntime``, then run ``python -m hexbus.adapters.cli`` as a separate process, exactly as
an operator would, with the integration tests' handlers (``--app tests.integration.apps:register``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import redis
from integration.apps import Job, register
from typer.testing import CliRunner

from hexbus import DomainEvent, RetryPolicy
from hexbus.adapters.cli.main import app
from hexbus.adapters.dramatiq import WorkerRuntime, handler_queues
from hexbus.container import Container, create_container
from hexbus.examples.clinic import register as register_clinic
from hexbus.ports.monitoring import HandlerState
from hexbus.testing.dramatiq_harness import declare_routes
from hexbus.testing.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.integration.apps:register"
TIMEOUT = 15.0


def wait_for(condition: Callable[[], object], *, what: str, timeout: float = TIMEOUT) -> None:
    """Poll ``condition`` until true, or fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


# --- the in-memory bus, in this process -----------------------------------------------------------


@attrs.frozen(kw_only=True)
class Parcel(DomainEvent):
    """An event for the in-memory tests' handler."""

    event_type = "e2e.parcel"
    label: str


def three_dead_letters_then_repaired(container: Container) -> None:
    """``--app`` for the in-memory tests: three parcels die (no retries), then the handler
    is repaired, so retrying them succeeds. Runs inside the command's own process, beside the
    clinic example's handlers (what ``--app hexbus.examples.clinic:register`` registers)."""
    register_clinic(container)
    broken = {"now": True}

    def deliver(event: Parcel) -> None:
        if broken["now"]:
            raise RuntimeError(f"the van with {event.label} broke down")

    container.processor().register_handler(
        Parcel, deliver, name="e2e.deliver", queue="parcels", retry=RetryPolicy(max_retries=0)
    )
    bus = container.event_bus()
    for label in ("p1", "p2", "p3"):
        bus.publish(Parcel(label=label))
    broken["now"] = False


IN_MEMORY_APP = f"{__name__}:three_dead_letters_then_repaired"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run ``hexbus ARGS`` in this process on the in-memory bus."""
    monkeypatch.setenv("USE_QUEUE_EVENT_BUS", "false")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Any:
        return runner.invoke(app, list(args), input=input)

    return run


@pytest.mark.parametrize(
    "command",
    [
        ["stats"],
        ["events", "show"],
        ["dead-letters", "list"],
        ["dead-letters", "show"],
        ["dead-letters", "retry"],
        ["dead-letters", "remove"],
        ["dead-letters", "retry-all"],
        ["queues", "pause"],
        ["queues", "resume"],
        ["routes"],
        ["routes", "prune"],
        ["clean"],
        ["dashboard"],
    ],
    ids=" ".join,
)
def test_every_operations_command_explains_itself_and_its_app_option(
    cli: Callable[..., Any], command: list[str]
) -> None:
    result = cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: hexbus" in result.output
    assert "--app" in result.output
    assert len(result.output.splitlines()) > 8, "a --help that says something"


def test_stats_json_on_the_in_memory_bus_lists_every_handlers_queue(
    cli: Callable[..., Any],
) -> None:
    result = cli("stats", "--json", "--app", IN_MEMORY_APP)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["bus"] == "in_memory"
    queues = {q["queue"]: q for q in data["queues"]}
    assert {"appointment", "notification", "parcels"} <= set(queues)
    assert queues["parcels"]["dead"] == 3
    assert queues["parcels"]["failed"] == 3
    assert queues["parcels"]["window_seconds"] == 900
    assert queues["parcels"]["failure_rate"] == 1.0
    assert "in-memory bus" in result.stderr, "the operator is told the bus is this process's"


@attrs.frozen(kw_only=True)
class Unheard(DomainEvent):
    """An event no handler of the in-memory tests subscribes to."""

    event_type = "e2e.unheard"


def parcels_and_one_unheard(container: Container) -> None:
    """``--app``: the parcels app, and one event nobody subscribes to."""
    three_dead_letters_then_repaired(container)
    container.event_bus().publish(Unheard())


def test_stats_show_the_events_no_handler_subscribes_to(cli: Callable[..., Any]) -> None:
    app = f"{__name__}:parcels_and_one_unheard"
    data = json.loads(cli("stats", "--json", "--app", app).stdout)
    assert data["unrouted"] == [{"event_type": "e2e.unheard", "count": 1, "kept": 1}]
    assert data["unrouted_total"] == 1
    table = cli("stats", "--app", app)
    assert "e2e.unheard" in table.stdout
    assert "unrouted" in table.stdout


def test_routes_on_the_in_memory_bus_are_the_handlers_of_this_process(
    cli: Callable[..., Any],
) -> None:
    result = cli("routes", "--json", "--app", IN_MEMORY_APP)
    assert result.exit_code == 0, result.output
    routes = {r["handler"]: r for r in json.loads(result.stdout)["routes"]}
    parcel = routes["e2e.deliver"]
    assert (parcel["event_type"], parcel["queue"], parcel["live"]) == (
        "e2e.parcel",
        "parcels",
        True,
    )
    assert [d["worker"] for d in parcel["declared_by"]] == ["this process"]
    table = cli("routes", "--app", IN_MEMORY_APP)
    assert "e2e.deliver" in table.stdout
    nothing = cli("routes", "prune", "--app", IN_MEMORY_APP)
    assert nothing.exit_code == 0, nothing.output
    assert "nothing to prune" in nothing.stdout


def test_stats_table_names_the_window_and_the_columns(cli: Callable[..., Any]) -> None:
    result = cli("stats", "--app", IN_MEMORY_APP)
    assert result.exit_code == 0, result.output
    for column in ("waiting", "scheduled", "running", "succeeded (15 min)", "dead", "paused"):
        assert column in result.stdout
    assert "parcels" in result.stdout


def test_dead_letters_list_shows_the_in_memory_dead_letters_newest_first(
    cli: Callable[..., Any],
) -> None:
    result = cli("dead-letters", "list", "--json", "--app", IN_MEMORY_APP)
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["total"] == 3
    assert [item["handler"] for item in page["items"]] == ["e2e.deliver"] * 3
    assert "van with p3 broke down" in page["items"][0]["error"], "newest first"
    assert "Traceback" in page["items"][0]["traceback"]

    table = cli("dead-letters", "list", "--limit", "2", "--app", IN_MEMORY_APP)
    assert "dead letters 1-2 of 3" in table.stdout
    assert "--offset 2" in table.stdout


def test_retry_all_on_the_in_memory_bus_retries_each_with_a_progress_bar(
    cli: Callable[..., Any],
) -> None:
    refused = cli("dead-letters", "retry-all", "--app", IN_MEMORY_APP, input="n\n")
    assert refused.exit_code == 1, "declining the confirmation aborts"
    assert "Retry all 3 dead letters?" in refused.output

    result = cli("dead-letters", "retry-all", "--yes", "--app", IN_MEMORY_APP)
    assert result.exit_code == 0, result.output
    assert "retried 3 of 3 dead letter(s); 0 in the list now" in result.stdout
    assert "retrying dead letters" in result.stderr
    assert "3/3" in result.stderr


def test_events_show_rejects_a_malformed_id_in_one_line_with_status_2(
    cli: Callable[..., Any],
) -> None:
    result = cli("events", "show", "not-a-uuid")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: 'not-a-uuid' is not an event id: expected a UUID such as "
        "3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b"
    ]


def test_events_show_says_when_nothing_is_known_of_an_event_and_exits_1(
    cli: Callable[..., Any],
) -> None:
    unknown = uuid.uuid4()
    result = cli("events", "show", str(unknown))
    assert result.exit_code == 1
    assert f"no status for event {unknown}" in result.stderr


# --- a real process against a private Redis -------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def env(redis_server: RedisServer) -> dict[str, str]:
    """The environment of the deployment under test (a fresh namespace each test)."""
    values = dict(os.environ)
    values.update(
        REDIS_URL=redis_server.url,
        HEXBUS_NAMESPACE=f"e2e{uuid.uuid4().hex[:10]}",
        USE_QUEUE_EVENT_BUS="true",
        HEXBUS_HEARTBEAT_TIMEOUT="3",
        PYTHONPATH=str(ROOT) + os.pathsep + values.get("PYTHONPATH", ""),
        COLUMNS="200",
    )
    return values


@attrs.define
class Deployment:
    """Publishing and handling in this process; the CLI runs as another one."""

    env: dict[str, str]
    container: Container
    runtime: WorkerRuntime
    started: bool = False

    def publish(self, event: DomainEvent) -> None:
        self.container.event_bus().publish(event)

    def start(self) -> None:
        self.runtime.start()
        self.started = True

    def hexbus(
        self, *args: str, input: str | None = None, app: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``hexbus ARGS [--app ...]`` as a separate process."""
        command = [sys.executable, "-m", "hexbus.adapters.cli", *args]
        if app:
            command += ["--app", APP]
        return subprocess.run(
            command,
            env=self.env,
            cwd=ROOT,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def dead_letter_ids(self) -> list[str]:
        page = self.container.dead_letters().list(limit=1000)
        return [letter.id for letter in page.items]

    def runs(self, kind: str, label: str) -> int:
        """How often the integration handlers noted ``kind`` ('started', 'done') for ``label``."""
        namespace = self.container.settings().worker.namespace
        client: redis.Redis = self.container.redis_client()
        return int(client.get(f"{namespace}:test:count:{kind}:{label}") or 0)

    def state(self, event: Job, handler: str = "it.work") -> HandlerState | None:
        status = self.container.monitor().event_status(event.event_id)
        if status is None:
            return None
        return next(h.state for h in status.handlers if h.handler == handler)


@pytest.fixture
def deployment(env: dict[str, str]) -> Iterator[Deployment]:
    container = create_container(env)
    register(container)
    runtime = container.worker_runtime(
        # Not 'slow': its handler takes time and nothing here needs it.
        queues=[q for q in handler_queues(container.processor()) if q != "slow"],
        threads=2,
    )
    # Every handler's route is declared, as by workers serving them all ('slow' by one that
    # takes nothing here), so what is published before the runtime starts waits in queues.
    declare_routes(container.redis_client(), container.redis_keys(), container.processor())
    deployed = Deployment(env, container, runtime)
    yield deployed
    if deployed.started:
        runtime.stop(timedelta(seconds=5))


def one_dead_letter(deployment: Deployment, label: str = "doomed") -> tuple[Job, str]:
    doomed = Job(label=label, permanent=True)
    deployment.publish(doomed)
    if not deployment.started:
        deployment.start()
    wait_for(deployment.dead_letter_ids, what="the dead letter")
    return doomed, deployment.dead_letter_ids()[0]


@pytest.mark.redis
def test_dead_letters_list_and_show_give_the_handler_the_error_and_the_traceback(
    deployment: Deployment,
) -> None:
    doomed, dead_letter_id = one_dead_letter(deployment)

    listed = deployment.hexbus("dead-letters", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert page["total"] == 1
    (item,) = page["items"]
    assert item["id"] == dead_letter_id
    assert item["handler"] == "it.work"
    assert item["queue"] == "work"
    assert item["reason"] == "non_retryable"
    assert item["event_id"] == str(doomed.event_id)

    table = deployment.hexbus("dead-letters", "list")
    assert dead_letter_id in table.stdout
    assert "doomed can never work" in table.stdout

    shown = deployment.hexbus("dead-letters", "show", dead_letter_id)
    assert shown.returncode == 0, shown.stderr
    assert "non_retryable" in shown.stdout
    assert "Traceback (most recent call last)" in shown.stdout
    assert "NonRetryableError" in shown.stdout
    assert '"label":"doomed"' in shown.stdout.replace(" ", ""), "the message as carried"

    missing = deployment.hexbus("dead-letters", "show", "no-such-id")
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: no dead letter with id 'no-such-id'")


@pytest.mark.redis
def test_dead_letters_retry_sends_the_event_again_to_the_failed_handler(
    deployment: Deployment,
) -> None:
    _, dead_letter_id = one_dead_letter(deployment)
    assert deployment.runs("started", "doomed") == 1

    # The handler's worker declares its route: the retry needs no --app (ADR 0015).
    retried = deployment.hexbus("dead-letters", "retry", dead_letter_id, app=False)
    assert retried.returncode == 0, retried.stderr
    assert f"retried dead letter {dead_letter_id}" in retried.stdout
    wait_for(lambda: deployment.runs("started", "doomed") == 2, what="the handler run again")
    # It can never work, so it dies again: as a new dead letter, not the old one.
    wait_for(deployment.dead_letter_ids, what="the second dead letter")
    assert deployment.dead_letter_ids() != [dead_letter_id]
    assert deployment.runs("started", "doomed") == 2, "only the failed handler, once"


@pytest.mark.redis
def test_dead_letters_remove_asks_first_unless_yes(deployment: Deployment) -> None:
    _, dead_letter_id = one_dead_letter(deployment)

    declined = deployment.hexbus("dead-letters", "remove", dead_letter_id, input="n\n")
    assert declined.returncode == 1
    assert "It cannot be retried afterwards" in declined.stdout
    assert deployment.dead_letter_ids() == [dead_letter_id]

    accepted = deployment.hexbus("dead-letters", "remove", dead_letter_id, input="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert deployment.dead_letter_ids() == []

    _, second = one_dead_letter(deployment, "doomed-again")
    forced = deployment.hexbus("dead-letters", "remove", second, "--yes")
    assert forced.returncode == 0, forced.stderr
    assert f"removed dead letter {second}" in forced.stdout
    assert deployment.dead_letter_ids() == []

    gone = deployment.hexbus("dead-letters", "remove", second, "--yes")
    assert gone.returncode == 2
    assert len(gone.stderr.strip().splitlines()) == 1, "one readable line"


@pytest.mark.redis
def test_dead_letters_retry_all_retries_every_one_with_a_progress_bar(
    deployment: Deployment,
) -> None:
    # Four attempts fail (max_retries=3), so each dies; the fifth, after the retry, succeeds.
    jobs = [Job(label=f"flaky{i}", fail_times=4) for i in range(3)]
    for job in jobs:
        deployment.publish(job)
    deployment.start()
    wait_for(lambda: len(deployment.dead_letter_ids()) == 3, what="three dead letters")

    result = deployment.hexbus("dead-letters", "retry-all", "--yes")
    assert result.returncode == 0, result.stderr
    assert "retried 3 of 3 dead letter(s)" in result.stdout
    assert "retrying dead letters" in result.stderr
    assert "3/3" in result.stderr
    for job in jobs:
        wait_for(lambda job=job: deployment.runs("done", job.label) == 1, what=f"{job.label} done")
    assert deployment.dead_letter_ids() == []


@pytest.mark.redis
def test_events_show_gives_each_handlers_state_attempts_and_error(
    deployment: Deployment,
) -> None:
    job = Job(label="twice", fail_times=1)
    deployment.publish(job)
    deployment.start()
    wait_for(lambda: deployment.state(job) is HandlerState.SUCCEEDED, what="it.work succeeded")

    result = deployment.hexbus("events", "show", str(job.event_id), "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["event_type"] == "it.job"
    handlers = {h["handler"]: h for h in status["handlers"]}
    assert handlers["it.work"]["state"] == "succeeded"
    assert handlers["it.work"]["attempts"] == 2, "one failure, then success"
    assert handlers["it.work"]["duration_ms"] is not None
    assert handlers["it.slow"]["state"] == "queued", "no worker serves 'slow' here"
    assert status["state"] == "queued", "the event waits on its least advanced handler"

    table = deployment.hexbus("events", "show", str(job.event_id))
    assert table.returncode == 0, table.stderr
    assert "it.work" in table.stdout
    assert "succeeded" in table.stdout

    doomed, _ = one_dead_letter(deployment)
    dead = deployment.hexbus("events", "show", str(doomed.event_id))
    assert "dead" in dead.stdout
    assert "doomed can never work" in dead.stdout

    unknown = deployment.hexbus("events", "show", str(uuid.uuid4()))
    assert unknown.returncode == 1
    assert "no status for event" in unknown.stderr


@pytest.mark.redis
def test_queues_pause_holds_a_queue_until_resume(deployment: Deployment) -> None:
    paused = deployment.hexbus("queues", "pause", "work")
    assert paused.returncode == 0, paused.stderr
    assert "paused queue work" in paused.stdout
    deployment.start()
    job = Job(label="held")
    deployment.publish(job)
    wait_for(
        lambda: deployment.state(job, "it.limited") is HandlerState.SUCCEEDED,
        what="an unpaused queue's handler",
    )
    assert deployment.state(job) is HandlerState.QUEUED, "work is paused"

    stats = json.loads(deployment.hexbus("stats", "--json").stdout)
    work = next(q for q in stats["queues"] if q["queue"] == "work")
    assert work["paused"] is True
    assert work["waiting"] == 1
    assert "paused" in deployment.hexbus("stats").stdout

    resumed = deployment.hexbus("queues", "resume", "work")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed queue work" in resumed.stdout
    wait_for(lambda: deployment.state(job) is HandlerState.SUCCEEDED, what="work resumed")
    again = deployment.hexbus("queues", "resume", "work")
    assert "was not paused" in again.stdout

    typo = deployment.hexbus("queues", "pause", "wrok")
    assert "no registered handler or worker uses queue 'wrok'" in typo.stderr


@pytest.mark.redis
def test_stats_json_counts_what_was_published_handled_and_dead(
    deployment: Deployment,
) -> None:
    for i in range(4):
        deployment.publish(Job(label=f"s{i}"))
    before = json.loads(deployment.hexbus("stats", "--json").stdout)
    assert before["bus"] == "queue"
    assert {q["queue"]: q["waiting"] for q in before["queues"]}["work"] == 4

    one_dead_letter(deployment)
    monitor = deployment.container.monitor()

    def work_done() -> bool:
        work = next(s for s in monitor.queue_stats() if s.queue == "work")
        return work.waiting == 0 and work.running == 0 and work.succeeded == 4

    wait_for(work_done, what="work drained")
    after = {
        q["queue"]: q for q in json.loads(deployment.hexbus("stats", "--json").stdout)["queues"]
    }
    work = after["work"]
    assert work["succeeded"] == 4
    assert work["failed"] == 1
    assert work["dead"] == 1
    assert work["throughput_per_minute"] > 0
    assert work["mean_duration_ms"] is not None


@pytest.mark.redis
def test_stats_of_a_queue_whose_key_has_the_wrong_type_say_so_and_show_the_others(
    deployment: Deployment,
) -> None:
    client: redis.Redis = deployment.container.redis_client()
    keys = deployment.container.redis_keys()
    client.set(keys.queue("work.high"), "not a list")
    listed = deployment.hexbus("stats", "--json")
    assert listed.returncode == 0, listed.stderr
    queues = {q["queue"]: q for q in json.loads(listed.stdout)["queues"]}
    assert "WRONGTYPE" in queues["work.high"]["problem"]
    assert queues["work"]["problem"] is None
    table = deployment.hexbus("stats")
    assert table.returncode == 0, table.stderr
    assert "counts not read" in table.stdout


@pytest.mark.redis
def test_clean_removes_dead_letters_older_than_asked(deployment: Deployment) -> None:
    one_dead_letter(deployment)
    kept = deployment.hexbus("clean", "--state", "dead", "--older-than", "3600")
    assert kept.returncode == 0, kept.stderr
    assert "removed 0 dead letters older than 3,600 s" in kept.stdout
    assert len(deployment.dead_letter_ids()) == 1

    removed = deployment.hexbus("clean", "--state", "dead", "--older-than", "0")
    assert "removed 1 dead letters" in removed.stdout
    assert deployment.dead_letter_ids() == []

    succeeded = deployment.hexbus("clean", "--state", "succeeded", "--older-than", "0")
    assert succeeded.returncode == 0, succeeded.stderr
    assert "succeeded event statuses" in succeeded.stdout

    wrong = deployment.hexbus("clean", "--state", "running", "--older-than", "0")
    assert wrong.returncode == 2, "only succeeded or dead can be cleaned"


@pytest.mark.redis
def test_an_unreachable_redis_is_one_error_line_with_status_2(env: dict[str, str]) -> None:
    env = dict(env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = subprocess.run(
        [sys.executable, "-m", "hexbus.adapters.cli", "stats"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: Redis could not answer (ConnectionError")
    assert f"Redis is {env['REDIS_URL']}: check that it runs" in line


# --- long-running commands ------------------------------------------------------------------------


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hexbus.adapters.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_stats_watch_json_prints_a_fresh_document_per_line_until_ctrl_c() -> None:
    env = dict(os.environ, USE_QUEUE_EVENT_BUS="false")
    process = start(["stats", "--watch", "0.2", "--json"], env)
    try:
        assert process.stdout is not None
        documents = [json.loads(process.stdout.readline()) for _ in range(3)]
        assert all("queues" in d for d in documents)
        assert len({d["at"] for d in documents}) == 3, "each line is a fresh reading"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0, "Ctrl-C is how --watch ends, not an error"
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_stats_watch_redraws_the_table_until_ctrl_c() -> None:
    env = dict(os.environ, USE_QUEUE_EVENT_BUS="false")
    process = start(["stats", "--watch", "0.2"], env)
    try:
        assert process.stdout is not None
        titles = 0
        while titles < 2:
            line = process.stdout.readline()
            assert line, "the table kept coming"
            titles += "hexbus queues at" in line
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_dashboard_serves_the_api_until_stopped() -> None:
    pytest.importorskip("hexbus.adapters.http.app")
    port = free_port()
    env = dict(os.environ, USE_QUEUE_EVENT_BUS="false")
    process = start(["dashboard", "--port", str(port)], env)
    url = f"http://127.0.0.1:{port}/openapi.json"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, "the dashboard exited"
            return False

    try:
        wait_for(answers, what=f"the dashboard on port {port}", timeout=30)
        with urllib.request.urlopen(url, timeout=5) as response:
            assert json.loads(response.read())["info"]["title"] == "hexbus"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        out, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/queues" in out
