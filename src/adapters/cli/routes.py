"""``hexbus routes`` and ``hexbus routes prune``: the subscriptions, as Redis holds them.

A route says that events of one type go to one handler on one queue. Workers declare the
routes of the handlers they serve when they start and with every heartbeat, and publishers fan
out from them (ADR 0015), so this needs no ``--app``: it reads the table in Redis. A route no
live worker declares (its handler removed by a deploy, or every worker serving it down) is
pruned by the workers after ``HEXBUS_ROUTE_GRACE``; ``prune`` removes it at once.

On the in-memory bus the routes are the handlers this command's ``--app`` registers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ...ports.routes import RouteDeclarer, RouteInfo
from .apps import AppOption
from .operations import JsonOption, console, emit_json, iso, open_container, operator_errors, shown

routes = typer.Typer(
    name="routes",
    help=(
        "The route table: which handler gets which event type, on which queue, and which live "
        "workers declare it (run alone, it lists them; 'prune' removes the stale ones)."
    ),
    invoke_without_command=True,
    rich_markup_mode="rich",
)

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def route_json(route: RouteInfo, grace: timedelta | None) -> dict[str, Any]:
    """One route for machines (times ISO 8601 UTC)."""
    return {
        "event_type": route.event_type,
        "handler": route.handler,
        "queue": route.queue,
        "since": iso(route.since),
        "last_declared": iso(route.last_declared),
        "owner": route.owner,
        "live": route.live,
        "prunes_at": iso(_prunes_at(route, grace)),
        "declared_by": [
            {
                "worker": d.worker,
                "since": iso(d.since),
                "queue": d.queue,
                "event_type": d.event_type,
            }
            for d in route.declared_by
        ],
    }


def routes_table(listed: list[RouteInfo], grace: timedelta | None, *, title: str) -> Table:
    """One row per route. Names and ids are identifiers to copy and grep: as wide as the
    longest, never cut or wrapped; only the state's prose wraps."""
    table = Table(title=title, caption=None if listed else "no routes: start a worker (--app)")
    workers = [_declarer(d) for r in listed for d in r.declared_by]
    for column, width in (
        ("event type", max((len(r.event_type) for r in listed), default=0)),
        ("handler", max((len(r.handler) for r in listed), default=0)),
        ("queue", max((len(r.queue) for r in listed), default=0)),
        ("declared by (live workers)", max((len(w) for w in workers), default=0)),
    ):
        table.add_column(column, no_wrap=True, min_width=max(width, len(column)))
    table.add_column("since (UTC)", no_wrap=True)
    table.add_column("state", overflow="fold")
    for route in listed:
        declarers = "\n".join(escape(_declarer(d)) for d in route.declared_by) or "-"
        table.add_row(
            escape(route.event_type),
            escape(route.handler),
            escape(route.queue),
            declarers,
            shown(route.since),
            _state(route, grace),
        )
    return table


def _declarer(declarer: RouteDeclarer) -> str:
    return f"{declarer.worker} since {shown(declarer.since)}"


def _prunes_at(route: RouteInfo, grace: timedelta | None) -> datetime | None:
    if route.live or grace is None or route.last_declared is None:
        return None
    return route.last_declared + grace


def _state(route: RouteInfo, grace: timedelta | None) -> str:
    if route.live:
        others = [
            f"{escape(d.worker)} declares {escape(d.queue)}"
            + (f" for {escape(d.event_type)}" if d.event_type != route.event_type else "")
            for d in route.declared_by
            if d.queue != route.queue or d.event_type != route.event_type
        ]
        state = "[green]live[/]"
        if others:
            state += " (an older version: " + "; ".join(others) + ")"
        return state
    prunes_at = _prunes_at(route, grace)
    when = f"; pruned at {shown(prunes_at)} UTC" if prunes_at else ""
    return f"[yellow]no live worker[/] since {shown(route.last_declared)}{when}"


def _grace(app: str | None) -> tuple[Any, timedelta | None]:
    container = open_container(app)
    settings = container.settings()
    return container, settings.worker.route_grace if settings.use_queue_event_bus else None


@routes.callback()
def list_routes(ctx: typer.Context, json_output: JsonOption = False, app: AppOption = None) -> None:
    """List the route table: event type, handler, queue, the live workers declaring each route and since when, and the routes no live worker declares (with when they are pruned).

    Workers declare the routes of the handlers they serve; publishers fan out from this table, so a publisher needs no --app. Between two versions of a handler (a rolling deploy), the route is the one the live worker that started last declares.
    """
    if ctx.invoked_subcommand is not None:
        return
    container, grace = _grace(app)
    with operator_errors(container):
        listed = container.routes().routes()
    if json_output:
        emit_json(
            {
                "grace_seconds": int(grace.total_seconds()) if grace else None,
                "routes": [route_json(route, grace) for route in listed],
            }
        )
        return
    console.print(routes_table(listed, grace, title="hexbus routes"))


@routes.command("prune")
def prune_routes(yes: YesOption = False, app: AppOption = None) -> None:
    """Remove now the routes no live worker declares (a handler a deploy removed), without waiting for HEXBUS_ROUTE_GRACE; shows what will go and asks first unless --yes.

    Publishers stop sending their handlers new messages (an event type left with no route is counted as unrouted, and kept). Messages already queued for them stay in their queues, shown by 'hexbus stats', and run if a worker still serves the queue. A route some worker declares again meanwhile is kept.
    """
    container, grace = _grace(app)
    with operator_errors(container):
        directory = container.routes()
        stale = [route for route in directory.routes() if not route.live]
        if not stale:
            console.print("nothing to prune: a live worker declares every route")
            return
        console.print(routes_table(stale, grace, title="routes no live worker declares"))
        if not yes:
            typer.confirm(f"Remove these {len(stale)} route(s)?", abort=True)
        removed = directory.prune({route.handler for route in stale})
    kept = sorted({route.handler for route in stale} - set(removed))
    console.print(f"pruned {len(removed)} route(s): {escape(', '.join(removed) or '-')}")
    if kept:
        console.print(f"kept, declared again meanwhile: {escape(', '.join(kept))}")
