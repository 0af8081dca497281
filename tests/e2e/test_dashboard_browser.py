"""The dashboard as an operator uses it: a real browser, a real server, Redis and a worker.

Debian's chromium driven by Playwright (never a browser Playwright downloads), the app served
by uvicorn on a free loopback port, the Redis adapter with an in-process WorkerRuntime, and a
handler that fails until the test "fixes" it. The operator opens /queues without a token and
sees counts only (dead letters and settings say a token is needed), enters a wrong token and is
told it was refused, enters the operator token, sees the dead letter (its error shown as text,
not markup, and its payload), and retries: the dead letter goes and the queue's succeeded
count goes up.

Screenshots go to a temporary folder; with ``HEXBUS_UPDATE_SCREENSHOTS=1`` they replace
``docs/screenshots/dashboard.png`` and ``dashboard-dead-letter.png``.

Without chromium (``scripts/ensure-services`` installs it) the test is skipped, except under
CI, where it fails: there it must run.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
import uvicorn

from hexbus import DomainEvent, RetryPolicy
from hexbus.adapters.dramatiq import handler_queues
from hexbus.adapters.http import create_app
from hexbus.container import Container, create_container
from hexbus.examples.clinic import ClinicContainer, build_clinic
from hexbus.examples.clinic.domain.booking import AppointmentCreated, Contact
from hexbus.testing.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "e2e-dashboard-token-0123456789"
HOSTILE = "<img src=x onerror=window.__xss=1>"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test (run scripts/ensure-services)")
    pytest.skip(reason, allow_module_level=True)


if not os.path.exists(CHROMIUM):
    _unavailable("Debian's chromium is not installed (apt-get install chromium)")
try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    _unavailable("playwright is not installed (pip install -e '.[dev]')")


@attrs.frozen(kw_only=True)
class Settlement(DomainEvent):
    """A payment to settle with a provider that is down until the test brings it back."""

    event_type = "e2e.settlement"
    label: str


@attrs.define
class Deployment:
    """The app on a port, the containers behind it, and the switch that fixes the provider."""

    url: str
    container: Container
    clinic: ClinicContainer
    provider_up: threading.Event


def register_settlement(container: Container, provider_up: threading.Event) -> None:
    def settle(event: Settlement) -> None:
        if not provider_up.is_set():
            raise RuntimeError(f"provider refused {event.label}: {HOSTILE}")

    container.processor().register_handler(
        Settlement,
        settle,
        name="e2e.settle",
        queue="payment",
        retry=RetryPolicy(
            max_retries=1,
            min_backoff=timedelta(milliseconds=10),
            max_backoff=timedelta(milliseconds=20),
        ),
    )


def book_some(clinic: ClinicContainer, count: int) -> None:
    """The clinic example's traffic, so the other queues have numbers to show."""
    book = clinic.book_appointment()
    for n in range(count):
        book(
            appointment_id=f"apt-{uuid.uuid4().hex[:6]}",
            patient_id=f"pat-{n}",
            patient=Contact(name="Ana Lopez", email="ana@example.com", phone="+34600123456"),
            doctor_id="doc-1",
            doctor=Contact(name="Dr. Ruiz", email="ruiz@clinic.example"),
            clinic_id="clinic-1",
            starts_at=datetime.now(UTC) + timedelta(days=2),
            price=Decimal("60.00"),
            currency="EUR",
        )


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    with RedisServer() as server:
        container = create_container(
            {
                "USE_QUEUE_EVENT_BUS": "true",
                "REDIS_URL": server.url,
                "HEXBUS_NAMESPACE": f"e2e{uuid.uuid4().hex[:8]}",
                "HEXBUS_API_TOKEN": TOKEN,
                "HEXBUS_SHOW_ERRORS": "true",
                "HEXBUS_HEARTBEAT_TIMEOUT": "3",
            }
        )
        clinic = build_clinic(container)  # as --app hexbus.examples.clinic:register does
        provider_up = threading.Event()
        register_settlement(container, provider_up)
        runtime = container.worker_runtime(queues=handler_queues(container.processor()), threads=2)
        runtime.start()
        port = free_port()
        web = uvicorn.Server(
            uvicorn.Config(
                create_app(container),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        thread = threading.Thread(target=web.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not web.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        try:
            yield Deployment(f"http://127.0.0.1:{port}", container, clinic, provider_up)
        finally:
            web.should_exit = True
            thread.join(timeout=10)
            runtime.stop(timedelta(seconds=5))


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
        finally:
            browser.close()


def screenshot_dir(tmp_path: Path) -> Path:
    if os.environ.get("HEXBUS_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path


def test_an_operator_retries_a_dead_letter_from_the_dashboard(
    deployment: Deployment, page: Page, tmp_path: Path
) -> None:
    shots = screenshot_dir(tmp_path)
    book_some(deployment.clinic, 4)
    deployment.container.event_bus().publish(Settlement(label="txn-4711"))

    page.goto(f"{deployment.url}/queues")
    notification = page.locator('#queues tr[data-queue="notification"] td.succeeded')
    runs = sum(
        1
        for spec in deployment.container.processor().handlers_for(AppointmentCreated.event_type)
        if spec.queue == "notification"
    )
    # Without a token: counts only.
    expect(notification).to_have_text(str(4 * runs), timeout=15_000)  # 4 bookings
    expect(page.locator('#queues tr[data-queue="payment"] td.num').nth(5)).not_to_have_text(
        "0", timeout=15_000
    )  # the dead letter is counted...
    expect(page.locator("#dead-locked")).to_contain_text("Token needed")  # ...but not shown
    expect(page.locator("#dead tbody tr")).to_have_count(0)
    expect(page.locator("#config-locked")).to_contain_text("Token needed")
    assert "txn-4711" not in page.content()
    assert "provider refused" not in page.content()
    page.screenshot(path=str(shots / "dashboard-no-token.png"), full_page=True)

    # A wrong token is refused, and the page says so.
    page.fill("#token", "not-the-token-0123456789")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#dead-locked")).to_contain_text("Token refused")

    page.fill("#token", TOKEN)
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#token-state")).to_have_text("token in use")
    row = page.locator("#dead tbody tr", has_text="e2e.settle")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row).to_contain_text("RuntimeError")
    expect(row).to_contain_text(HOSTILE)  # shown as text...
    assert page.evaluate("window.__xss") is None, "...never run as markup"
    expect(page.locator("#service")).to_have_text("degraded")  # payment fails 100%
    payment = page.locator('#queues tr[data-queue="payment"]')
    expect(payment.locator(".badge")).to_have_text("warning")
    expect(page.locator("#checks")).to_contain_text("1 alive")
    expect(page.locator("dl.config")).to_contain_text("HEXBUS_API_TOKEN")
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    row.locator("summary").click()
    expect(row.locator("pre.traceback")).to_contain_text("Traceback")
    expect(row.locator("pre.payload")).to_contain_text("txn-4711")
    updated = page.locator("#updated").inner_text()
    expect(page.locator("#updated")).not_to_have_text(updated, timeout=10_000)  # a refresh...
    expect(row.locator("pre.traceback")).to_be_visible()  # ...and the traceback stays open
    page.screenshot(path=str(shots / "dashboard-dead-letter.png"), full_page=True)

    # Pause and resume a queue from its row.
    appointment = page.locator('#queues tr[data-queue="appointment"]')
    page.once("dialog", lambda dialog: dialog.accept())  # pausing asks first
    appointment.get_by_role("button", name="Pause").click()
    expect(appointment.locator(".tag")).to_have_text("paused")
    appointment.get_by_role("button", name="Resume").click()
    expect(appointment.locator(".tag")).to_have_count(0)

    succeeded = page.locator('#queues tr[data-queue="payment"] td.succeeded')
    before = int(succeeded.inner_text().replace(",", ""))
    deployment.provider_up.set()
    row.get_by_role("button", name="Retry").click()
    expect(row).to_have_count(0, timeout=15_000)
    expect(succeeded).to_have_text(str(before + 1), timeout=15_000)
    expect(page.locator("#dead-total")).to_have_text("0")
    expect(page.locator("#dead-empty")).to_be_visible()
    expect(page.locator("#alerts .alert")).to_have_count(0)
