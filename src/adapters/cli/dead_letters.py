"""``hexbus dead-letters``: list, show, retry, remove and retry-all, through the DeadLetters port.

Retrying needs to know the failed handler's queue: its route, which the workers serving it
declare in Redis (ADR 0015), or, when none does any more, the handler registered in this
process by ``--app``. The commands check that first and say so, instead of failing half-way.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import attrs
import typer
from rich.markup import escape
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

from ...application.dead_letter_sweep import DeadLetterFilter, DeadLetterSweep
from ...container import Container
from ...domain.errors import DeadLetterNotRetryable, EventError
from ...ports.dead_letters import DeadLetter, DeadLetterPage
from .apps import AppOption
from .operations import (
    JsonOption,
    console,
    emit_json,
    errors,
    id_column,
    iso,
    open_container,
    operator_errors,
    shown,
)

dead_letters = typer.Typer(
    name="dead-letters",
    help=(
        "Inspect, retry and remove dead letters: events a handler gave up on (retries "
        "exhausted, a non-retryable error, or a message that could not be read)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)

IdArgument = Annotated[
    str,
    typer.Argument(
        help="The dead letter's id, as 'hexbus dead-letters list' shows it.", show_default=False
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def letter_json(letter: DeadLetter, *, with_message: bool = True) -> dict[str, Any]:
    """A dead letter for machines."""
    data: dict[str, Any] = {
        "id": letter.id,
        "reason": letter.reason.value,
        "queue": letter.queue,
        "handler": letter.handler,
        "event_id": None if letter.event_id is None else str(letter.event_id),
        "event_type": letter.event_type,
        "error_type": letter.error_type,
        "error": letter.error,
        "attempts": letter.attempts,
        "failed_at": iso(letter.failed_at),
    }
    if with_message:
        data["message"] = letter.message
        data["traceback"] = letter.traceback
    return data


def revealed(container: Container, letter: DeadLetter) -> DeadLetter:
    """``letter`` with its event's payload in clear when it is sealed and a key opens it:
    these commands run where Redis and the keys are, the operator's side (ADR 0016)."""
    message = revealed_text(container, letter.message)
    return letter if message is letter.message else attrs.evolve(letter, message=message)


def revealed_text(container: Container, stored: str) -> str:
    """An envelope as stored (JSON text), its payload opened when sealed and a key opens it;
    ``stored`` itself when it is not sealed or no key here opens it."""
    try:
        envelope = json.loads(stored)
    except ValueError:
        return stored
    if not isinstance(envelope, dict):
        return stored
    try:
        opened = container.serializer().reveal(envelope)
    except EventError:
        return stored  # sealed with a key this command lacks: shown as carried
    if opened is envelope:
        return stored
    return json.dumps(opened, separators=(",", ":"))


def first_line(text: str, width: int = 80) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def known_handlers(container: Container) -> frozenset[str]:
    """The handlers a retry can reach: those some route names, and this process's own."""
    routed = {route.handler for route in container.routes().routes()}
    return frozenset(routed | {spec.name for spec in container.processor()})


def missing_handler(known: frozenset[str], letter: DeadLetter) -> bool:
    """Whether ``letter`` names a handler neither a route nor this process knows."""
    return letter.handler is not None and letter.handler not in known


# --- list and show ---------------------------------------------------------------------------------


@dead_letters.command("list")
def list_dead_letters(  # noqa: PLR0917 (Typer passes each option by name)
    offset: Annotated[
        int, typer.Option("--offset", min=0, help="Skip this many (newest first).")
    ] = 0,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="Show at most this many.")
    ] = 50,
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue's.")] = None,
    handler: Annotated[str | None, typer.Option("--handler", help="Only this handler's.")] = None,
    error_type: Annotated[
        str | None,
        typer.Option("--error-type", help="Only this error: full name or class name."),
    ] = None,
    json_output: JsonOption = False,
    app: AppOption = None,
) -> None:
    """List dead letters, newest first: id, time, queue, handler, reason, attempts, error.

    Page with --offset and --limit; filter with --queue, --handler, --error-type (then the total counts the matches; 'sweep' retries or removes them). With --json, each one also carries its message and traceback.
    """
    container = open_container(app)
    where = DeadLetterFilter(queue=queue, handler=handler, error_type=error_type)
    with operator_errors(container):
        if where.empty:
            page = container.dead_letters().list(offset=offset, limit=limit)
        else:
            items, total = DeadLetterSweep(container.dead_letters()).page(
                where, offset=offset, limit=limit
            )
            page = DeadLetterPage(items=tuple(items), total=total, offset=offset, limit=limit)
    if json_output:
        emit_json(
            {
                "total": page.total,
                "offset": page.offset,
                "limit": page.limit,
                "items": [letter_json(revealed(container, letter)) for letter in page.items],
            }
        )
        return
    if not page.items:
        console.print(
            f"no dead letters{' at this offset' if page.total else ''} ({page.total:,} in all)"
        )
        return
    table = Table(
        id_column("id", 32),
        Column("failed (UTC)", no_wrap=True),
        "queue",
        "handler",
        "reason",
        "attempts",
        "event type",
        Column("error", no_wrap=True, overflow="ellipsis", min_width=12),
        title=(
            f"dead letters {page.offset + 1:,}-{page.offset + len(page.items):,} "
            f"of {page.total:,}, newest first"
        ),
    )
    for letter in page.items:
        table.add_row(
            escape(letter.id),
            shown(letter.failed_at),
            escape(letter.queue),
            escape(letter.handler or "-"),
            letter.reason.value,
            str(letter.attempts),
            escape(letter.event_type or "-"),
            # The class's own name: the module path is in 'show', and would crowd the row.
            escape(first_line(f"{letter.error_type.rsplit('.', 1)[-1]}: {letter.error}")),
        )
    console.print(table)
    if page.offset + len(page.items) < page.total:
        console.print(f"[dim]more: --offset {page.offset + len(page.items)}[/]")


@dead_letters.command("show")
def show_dead_letter(
    dead_letter_id: IdArgument, json_output: JsonOption = False, app: AppOption = None
) -> None:
    """Show one dead letter in full: why it died, its event as carried, and the traceback."""
    container = open_container(app)
    with operator_errors(container):
        letter = revealed(container, container.dead_letters().get(dead_letter_id))
    if json_output:
        emit_json(letter_json(letter))
        return
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("id", letter.id),
        ("reason", letter.reason.value),
        ("failed at", f"{shown(letter.failed_at)} UTC"),
        ("queue", letter.queue),
        ("handler", letter.handler or "-"),
        ("attempts", str(letter.attempts)),
        ("event id", str(letter.event_id or "-")),
        ("event type", letter.event_type or "-"),
        ("error", f"{letter.error_type}: {letter.error}"),
    ]
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(Panel(table, title="dead letter", expand=False))
    console.print("[bold]message[/] (as carried)")
    console.print(letter.message, markup=False, highlight=False, soft_wrap=True)
    console.print("[bold]traceback[/]")
    console.print(letter.traceback or "-", markup=False, highlight=False, soft_wrap=True)


# --- retry, remove, retry-all -------------------------------------------------------------------


def check_retryable(container: Container, letter: DeadLetter) -> None:
    """Refuse before trying when no route and no handler here names the handler."""
    if missing_handler(known_handlers(container), letter):
        raise DeadLetterNotRetryable(
            f"dead letter {letter.id} is for handler {letter.handler!r}, which no live worker "
            "declares (hexbus routes) and this command does not register: start a worker that "
            "serves it, or pass the --app your workers use"
        )


@dead_letters.command("retry")
def retry_dead_letter(dead_letter_id: IdArgument, app: AppOption = None) -> None:
    """Send a dead letter's event again to the one handler that failed, its attempts counted afresh. It leaves the list; if it fails again it comes back as a new dead letter."""
    container = open_container(app)
    port = container.dead_letters()
    with operator_errors(container):
        letter = port.get(dead_letter_id)
        check_retryable(container, letter)
        port.retry(dead_letter_id)
    console.print(
        f"retried dead letter {escape(letter.id)}: event {letter.event_id} goes to handler "
        f"{escape(letter.handler or '-')} on queue {escape(letter.queue)} again"
    )


@dead_letters.command("remove")
def remove_dead_letter(
    dead_letter_id: IdArgument, yes: YesOption = False, app: AppOption = None
) -> None:
    """Delete a dead letter for good (asks first unless --yes). Its event is not retried."""
    container = open_container(app)
    port = container.dead_letters()
    with operator_errors(container):
        letter = port.get(dead_letter_id)
        if not yes:
            typer.confirm(
                f"Remove dead letter {letter.id} (handler {letter.handler or '-'}, event "
                f"{letter.event_id or '-'})? It cannot be retried afterwards",
                abort=True,
            )
        port.remove(dead_letter_id)
    console.print(f"removed dead letter {escape(letter.id)}")


@dead_letters.command("retry-all")
def retry_all_dead_letters(yes: YesOption = False, app: AppOption = None) -> None:
    """Retry every retryable dead letter, oldest first, with a progress bar (asks first unless --yes).

    Dead letters that cannot be retried (an unreadable message, a handler no worker declares and this command does not know) are kept and counted.
    """
    container = open_container(app)
    port = container.dead_letters()
    with operator_errors(container):
        total = port.count()
        if total == 0:
            console.print("no dead letters to retry")
            return
        if not yes:
            typer.confirm(f"Retry all {total:,} dead letters?", abort=True)
        with Progress(
            TextColumn("retrying dead letters"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=errors,
        ) as progress:
            task = progress.add_task("retry", total=total)

            def advance(done: int, of: int) -> None:
                progress.update(task, completed=done, total=of)

            retried = port.retry_all(advance)
        left = port.count()
        # Only when some are left: reading them all is the one costly step here.
        known = known_handlers(container) if left else frozenset()
        unknown = (
            sum(1 for letter in _every_letter(container) if missing_handler(known, letter))
            if left
            else 0
        )
    again = " (a retry that fails again comes back as a new one)" if left > total - retried else ""
    console.print(
        f"retried {retried:,} of {total:,} dead letter(s); {left:,} in the list now{again}"
    )
    if unknown:
        errors.print(
            f"[yellow]warning:[/] {unknown:,} dead letter(s) are for handlers no worker declares "
            "and this command does not register, and were kept: start a worker that serves "
            "them, or pass the --app your workers use"
        )


def _every_letter(container: Container) -> list[DeadLetter]:
    port = container.dead_letters()
    letters: list[DeadLetter] = []
    offset = 0
    while True:
        page = port.list(offset=offset, limit=500)
        letters.extend(page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return letters
