"""Group commit: each thread's write is made before it returns, several threads' in one call.

Pure logic over threads, with a fake call (what the script does in Redis is proved by the
integration and contract suites); no timing is asserted, only who got which answer and that
writes waiting together went together.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from hexbus.adapters.dramatiq.group_commit import GroupCommit, Interrupted, _Slot


class Gate:
    """A call that blocks on its first batch until released, recording every batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.refuse: set[str] = set()

    def __call__(self, items: Sequence[str]) -> list[BaseException | None]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.release.wait(10)
        return [ValueError(item) if item in self.refuse else None for item in items]


def submit_in_thread(commit: GroupCommit[str], item: str, errors: dict[str, BaseException]):
    def run() -> None:
        try:
            commit.submit(item)
        except BaseException as error:
            errors[item] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def behind_a_running_call(commit: GroupCommit[str], gate: Gate, items: list[str]):
    """Submit "first" (whose call blocks), then ``items`` from threads of their own once it
    runs; release the call when all of them wait, and return what each thread raised."""
    errors: dict[str, BaseException] = {}
    first = submit_in_thread(commit, "first", errors)
    assert gate.entered.wait(10)
    others = [submit_in_thread(commit, item, errors) for item in items]
    # Every other thread has queued its write before the first call returns.
    while len(commit._pending) < len(items):
        threading.Event().wait(0.001)
    gate.release.set()
    for thread in [first, *others]:
        thread.join(10)
    return errors


def test_a_lone_write_is_made_at_once_in_a_call_of_its_own() -> None:
    calls: list[list[str]] = []
    commit = GroupCommit(lambda items: calls.append(list(items)) or [None] * len(items))
    commit.submit("a")
    commit.submit("b")
    assert calls == [["a"], ["b"]]


def test_writes_submitted_while_a_call_runs_go_together_in_the_next() -> None:
    gate = Gate()
    errors = behind_a_running_call(GroupCommit(gate), gate, [f"w{i}" for i in range(5)])
    assert errors == {}
    assert gate.batches[0] == ["first"]
    assert sorted(gate.batches[1]) == [f"w{i}" for i in range(5)], "one call for the five"


def test_each_thread_gets_its_own_answer_and_a_failed_call_is_everyones() -> None:
    gate = Gate()
    gate.refuse = {"bad"}
    errors = behind_a_running_call(GroupCommit(gate), gate, ["good", "bad"])
    assert set(errors) == {"bad"}
    assert isinstance(errors["bad"], ValueError)

    def gone(items: Sequence[str]) -> list[BaseException | None]:
        raise ConnectionError("Redis went away")

    with pytest.raises(ConnectionError):
        GroupCommit(gone).submit("x")


def test_a_batch_is_capped() -> None:
    gate = Gate()
    errors = behind_a_running_call(
        GroupCommit(gate, max_batch=2), gate, [f"w{i}" for i in range(5)]
    )
    assert errors == {}
    assert [len(batch) for batch in gate.batches] == [1, 2, 2, 1]


def test_an_interrupted_leader_raises_its_interruption_and_the_others_a_failed_write() -> None:
    class Stop(BaseException):
        pass

    def interrupted(items: Sequence[str]) -> list[BaseException | None]:
        raise Stop

    with pytest.raises(Stop):
        GroupCommit(interrupted).submit("leader")
    commit: GroupCommit[str] = GroupCommit(interrupted)
    batch = [_Slot("a"), _Slot("b")]
    with pytest.raises(Stop):
        commit._run(batch)  # what the followers of an interrupted leader are told
    slot_errors = [slot.error for slot in batch]
    assert all(isinstance(error, Interrupted) for error in slot_errors)
    assert all(slot.done for slot in batch)


def test_a_call_answering_the_wrong_number_of_items_fails_every_write() -> None:
    commit: GroupCommit[str] = GroupCommit(lambda items: [])
    with pytest.raises(RuntimeError, match="answered"):
        commit.submit("a")
