"""``hexbus keys``: make a payload encryption key, and re-seal what Redis stores (ADR 0016).

Rotating a key, in order:

1. ``hexbus keys generate``, and put the new key *first* in ``HEXBUS_ENCRYPTION_KEYS``, the old
   one after it, in every process (publishers, workers, the dashboard); they now seal with the
   new key and open both;
2. ``hexbus keys rotate`` re-seals every stored event with the new key (progress bar; stop it
   at any time, nothing is lost; run it again to finish);
3. once it reports nothing left under the old key, drop the old key from the setting.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..dramatiq.reencrypt import Reencryption, RotationReport
from ..encryption import EncryptingSerializer, generate_key
from .apps import AppOption
from .operations import console, errors, fail, open_container, operator_errors

keys = typer.Typer(
    name="keys",
    help="Payload encryption keys: make one, and re-seal what Redis stores with the newest.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

PASSES = 3
"""A value a worker changed while it was read is read again by the next pass."""


@keys.command("generate")
def generate() -> None:
    """Print a new key: 32 random bytes, urlsafe base64 (the Fernet format), for HEXBUS_ENCRYPTION_KEYS."""
    typer.echo(generate_key())


@keys.command("rotate")
def rotate(app: AppOption = None) -> None:
    """Re-seal every event Redis stores (queues, schedule, dead letters) with the first key of HEXBUS_ENCRYPTION_KEYS, events stored in clear included.

    Put the new key first and keep the old ones after it in every process before running this. Safe to interrupt: each event is replaced whole, atomically, only if unchanged since it was read; run it again to finish (what is already sealed with the newest key is skipped without being decrypted). Workers may keep running.
    """
    container = open_container(app)
    settings = container.settings()
    if not settings.use_queue_event_bus:
        raise fail(
            "hexbus keys rotate re-seals what Redis stores: set USE_QUEUE_EVENT_BUS=true and "
            "REDIS_URL to the deployment's Redis",
            2,
        )
    serializer = container.serializer()
    if not isinstance(serializer, EncryptingSerializer):
        raise fail(
            "no key is set: put the new key first in HEXBUS_ENCRYPTION_KEYS (make one with "
            "'hexbus keys generate'), the old ones after it",
            2,
        )
    rotation = Reencryption(container.redis_client(), container.redis_keys(), serializer.reseal)
    primary = serializer.keyring.primary.id
    total = RotationReport()
    with operator_errors(container):
        for number in range(1, PASSES + 1):
            try:
                report = _one_pass(rotation, number)
            except KeyboardInterrupt:
                errors.print(
                    "[yellow]interrupted:[/] nothing is lost (each event is replaced whole or "
                    "not at all); run 'hexbus keys rotate' again to finish"
                )
                raise typer.Exit(130) from None
            total.scanned += report.scanned
            total.rewritten += report.rewritten
            total.current = report.current
            total.unreadable = report.unreadable
            total.changed = report.changed
            if not report.changed:
                break
    console.print(
        f"re-sealed {total.rewritten:,} event(s) with key {escape(primary)}; "
        f"{total.current:,} already were (or hold no event)"
    )
    if total.changed:
        errors.print(
            f"[yellow]warning:[/] {total.changed:,} changed while being read (workers took "
            "them); run 'hexbus keys rotate' again"
        )
    if total.unreadable:
        errors.print(
            f"[yellow]warning:[/] {total.unreadable:,} are sealed with a key that is not in "
            "HEXBUS_ENCRYPTION_KEYS and were left as they are: add that key and run again"
        )
        raise typer.Exit(1)


def _one_pass(rotation: Reencryption, number: int) -> RotationReport:
    with Progress(
        TextColumn(f"re-sealing (pass {number})"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors,
    ) as progress:
        task = progress.add_task("reseal", total=None)

        def advance(done: int, of: int) -> None:
            progress.update(task, completed=done, total=of)

        return rotation.run(advance)
