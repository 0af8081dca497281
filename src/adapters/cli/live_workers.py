"""``hexbus workers``: the live worker processes, from their heartbeats and declarations."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .apps import AppOption
from .operations import (
    JsonOption,
    console,
    emit_json,
    id_column,
    iso,
    open_container,
    operator_errors,
    shown,
)


def workers(json_output: JsonOption = False, app: AppOption = None) -> None:
    """List the live workers: id, queues, threads, messages in flight, heartbeat age, start time.

    A worker is live while its heartbeat is within HEXBUS_HEARTBEAT_TIMEOUT. Empty on the in-memory bus, where handlers run in the publishing process.
    """
    container = open_container(app)
    with operator_errors(container):
        found = container.browser().workers()
        now = container.clock().now()
    ages = [
        None if w.heartbeat_at is None else max((now - w.heartbeat_at).total_seconds(), 0.0)
        for w in found
    ]
    if json_output:
        emit_json(
            {
                "workers": [
                    {
                        "worker": w.worker,
                        "queues": list(w.queues),
                        "threads": w.threads,
                        "in_flight": w.in_flight,
                        "heartbeat_at": iso(w.heartbeat_at),
                        "heartbeat_age_seconds": None if age is None else round(age, 3),
                        "started_at": iso(w.started_at),
                    }
                    for w, age in zip(found, ages, strict=True)
                ]
            }
        )
        return
    if not found:
        console.print("no live workers")
        return
    table = Table(
        id_column("worker"),
        "queues",
        "threads",
        "in flight",
        "heartbeat age",
        "started (UTC)",
        title=f"{len(found)} live worker(s)",
    )
    for w, age in zip(found, ages, strict=True):
        table.add_row(
            w.worker,
            escape(", ".join(w.queues)),
            "-" if w.threads is None else str(w.threads),
            str(w.in_flight),
            "-" if age is None else f"{age:.1f} s",
            shown(w.started_at),
        )
    console.print(table)
