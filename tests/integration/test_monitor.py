"""Status and statistics on Redis, read back through the QueueMonitor port."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from hexbus.ports.monitoring import HandlerState

from .apps import Job
from .conftest import wait_for

pytestmark = pytest.mark.redis


def test_status_follows_each_handler_from_queued_to_succeeded_or_dead(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, runtime = wired
    ok = Job(label="ok", fail_times=1)
    doomed = Job(label="doomed", permanent=True)
    bus.publish(ok)
    bus.publish(doomed)
    before = monitor.event_status(ok.event_id)
    assert before is not None
    assert before.event_type == "it.job"
    assert {h.handler: h.state for h in before.handlers} == {
        "it.work": HandlerState.QUEUED,
        "it.urgent": HandlerState.QUEUED,
        "it.limited": HandlerState.QUEUED,
        "it.slow": HandlerState.QUEUED,
    }
    runtime.start()

    def state(event_id, handler):  # type: ignore[no-untyped-def]
        status = monitor.event_status(event_id)
        return next(h for h in status.handlers if h.handler == handler)

    wait_for(lambda: state(ok.event_id, "it.work").state is HandlerState.SUCCEEDED, timeout=10)
    work = state(ok.event_id, "it.work")
    assert work.attempts == 2, "one failure, then success"
    assert work.duration is not None
    assert work.last_error is None
    wait_for(lambda: state(doomed.event_id, "it.work").state is HandlerState.DEAD, timeout=10)
    dead = state(doomed.event_id, "it.work")
    assert "can never work" in (dead.last_error or "")
    assert state(ok.event_id, "it.slow").state is HandlerState.QUEUED, "slow is not served here"
    assert monitor.event_status(Job(label="never published").event_id) is None


def test_queue_stats_count_without_scanning(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, runtime = wired
    for i in range(5):
        bus.publish(Job(label=f"s{i}"))
    bus.publish(Job(label="doomed", permanent=True))
    bus.publish(Job(label="later"), delay=timedelta(hours=1))
    stats = {s.queue: s for s in monitor.queue_stats()}
    assert stats["work"].waiting == 6
    assert stats["work"].scheduled == 1
    assert stats["slow"].waiting == 6
    runtime.start()

    def work_stats():  # type: ignore[no-untyped-def]
        return {s.queue: s for s in monitor.queue_stats()}["work"]

    # Waiting reaches 0 when the last message is fetched, not when it finishes: wait for both.
    wait_for(
        lambda: (
            work_stats().waiting == 0
            and work_stats().running == 0
            and work_stats().succeeded + work_stats().dead == 6
        ),
        timeout=10,
        what="work drained",
    )
    work = work_stats()
    assert work.succeeded == 5
    assert work.failed == 1
    assert work.scheduled == 1, "the delayed one is still scheduled"
    assert work.mean_duration is not None
    assert 0 < work.failure_rate < 0.5


def test_cancel_and_paused_queues_show_in_status_and_stats(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, runtime = wired
    later = Job(label="later")
    bus.publish(later, delay=timedelta(hours=1))
    assert bus.cancel(later.event_id)
    status = monitor.event_status(later.event_id)
    assert {h.state for h in status.handlers} == {HandlerState.CANCELLED}
    assert {s.queue: s for s in monitor.queue_stats()}["work"].scheduled == 0

    monitor.pause("work")
    runtime.start()
    job = Job(label="held")
    bus.publish(job)
    time.sleep(0.5)
    assert {s.queue: s for s in monitor.queue_stats()}["work"].waiting == 1, "kept while paused"
    assert {s.queue: s for s in monitor.queue_stats()}["work"].paused
    monitor.resume("work")
    wait_for(
        lambda: (
            next(
                h for h in monitor.event_status(job.event_id).handlers if h.handler == "it.work"
            ).state
            is HandlerState.SUCCEEDED
        ),
        timeout=10,
        what="resumed work",
    )


def test_clean_removes_dead_letters_and_succeeded_statuses(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, runtime = wired
    doomed = Job(label="doomed", permanent=True)
    bus.publish(doomed)
    runtime.start()
    wait_for(lambda: bus.dead_letters.count() == 1, timeout=10)
    assert monitor.clean(state=HandlerState.DEAD, older_than=timedelta(hours=1)) == 0
    assert monitor.clean(state=HandlerState.DEAD, older_than=timedelta(0)) == 1
    assert bus.dead_letters.count() == 0
    assert {s.queue: s for s in monitor.queue_stats()}["work"].dead == 0


def test_a_delayed_event_is_scheduled_until_due_then_tracked(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, runtime = wired
    job = Job(label="soon")
    bus.publish(job, delay=timedelta(milliseconds=600))
    pending = monitor.event_status(job.event_id)
    assert pending is not None
    assert pending.due_at is not None
    assert {h.state for h in pending.handlers} == {HandlerState.SCHEDULED}
    assert {h.handler for h in pending.handlers} == {
        "it.work",
        "it.urgent",
        "it.limited",
        "it.slow",
    }
    runtime.start()
    wait_for(
        lambda: (
            next(
                h for h in monitor.event_status(job.event_id).handlers if h.handler == "it.work"
            ).state
            is HandlerState.SUCCEEDED
        ),
        timeout=10,
        what="the delayed event handled",
    )
    assert monitor.event_status(job.event_id).event_type == "it.job"


def test_a_wrong_typed_key_spoils_only_its_own_count_in_queue_stats(wired) -> None:  # type: ignore[no-untyped-def]
    bus, monitor, _ = wired
    bus.publish(Job(label="waits"))
    bus.publish(Job(label="later"), delay=timedelta(hours=1))
    container_keys = bus.keys
    client = bus.client
    client.delete(container_keys.queue("work"))
    client.hset(container_keys.queue("work"), "not", "a list")  # the queue's list is a hash now
    stats = {s.queue: s for s in monitor.queue_stats()}
    work = stats["work"]
    assert work.waiting == 0
    assert work.problem is not None
    assert container_keys.queue("work") in work.problem
    assert "WRONGTYPE" in work.problem
    assert work.scheduled == 1, "the queue's other counts are still read"
    assert stats["slow"].waiting == 1, "other queues unharmed"
    assert stats["slow"].problem is None
