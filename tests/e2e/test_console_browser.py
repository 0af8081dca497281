"""The console as an operator uses it (ADR 0024): Debian's chromium driven by Playwright, the
app on uvicorn, Redis and a worker running the clinic example (the deployment of
``test_dashboard_browser``), in one browser session.

The operator finds an AI analysis by its id and sees its handlers, the progress and the log
lines the handler reported; opens a payment scheduled for an hour from now, is asked before
running it, reads its payload as the schedule holds it, follows the event it caused and comes
back through its cause, runs it and sees it succeed; cancels nothing when the question is
dismissed; sees the live worker and the schedules; opens a dead payment, reads its traceback
and payload and retries its handler; retries the other dead letter of that handler by filter
on the dashboard, after a count and a question; and the pages follow a dark colour scheme and
fit 420 px.
Screenshots go to a temporary folder, or to ``docs/screenshots/`` with
``HEXBUS_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from .test_dashboard_browser import (  # noqa: F401 (fixtures and helpers shared)
    CHROMIUM,
    CHROMIUM_ARGS,
    TOKEN,
    Deployment,
    Settlement,
    deployment,
    expect,
    screenshot_dir,
    sync_playwright,
)


def test_an_operator_finds_an_event_follows_it_and_runs_a_scheduled_one(
    deployment: Deployment,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = screenshot_dir(tmp_path)
    # Two payments die while the provider is down; then it comes back.
    for label in ("txn-1", "txn-2"):
        deployment.container.event_bus().publish(Settlement(label=label))
    dead_letters = deployment.container.dead_letters()
    deadline = time.monotonic() + 20
    while dead_letters.count() < 2:
        assert time.monotonic() < deadline, "the two dead letters did not come"
        time.sleep(0.05)
    deployment.provider_up.set()
    requested = deployment.clinic.request_ai_analysis()(
        patient_id="pat-1", doctor_id="doc-1", kind="x-ray", request_id="ai-e2e"
    )
    analysis = str(requested.event_id)
    later = Settlement(label="txn-later")
    deployment.container.event_bus().publish(later, delay=timedelta(hours=1))
    child = Settlement(label="txn-child", causation_id=later.event_id)
    deployment.container.event_bus().publish(child, delay=timedelta(hours=2))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 1000}, color_scheme="dark"
            )
            page = context.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"{deployment.url}/console")
            page.fill("#token", TOKEN)
            page.get_by_role("button", name="Use", exact=True).click()
            expect(page.locator("#token-state")).to_have_text("token in use")

            # Dark theme from prefers-color-scheme.
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(13, 17, 23)", background

            # The worker and the schedules.
            expect(page.locator("#workers tbody tr")).to_have_count(1, timeout=15_000)
            expect(page.locator("#schedules tbody")).to_contain_text("medicine")

            # Find the analysis by id: its handlers, progress and log lines.
            page.select_option("#field", "event_id")
            page.fill("#search", analysis)
            page.keyboard.press("Enter")
            expect(page.locator("#event-id")).to_have_text(analysis)
            routine = page.locator('#handlers tr[data-handler="ai.analyse"]')
            expect(routine).to_contain_text("succeeded", timeout=15_000)
            expect(routine).to_contain_text("100 %")
            expect(page.locator("#logs pre")).to_contain_text("findings received")
            page.screenshot(path=str(shots / "console-event.png"), full_page=True)

            # The scheduled payment: listed, asked about, promoted, run; reached by keyboard.
            page.fill("#search", "")
            page.select_option("#queue", "payment")
            page.select_option("#state", "scheduled")
            page.get_by_role("button", name="Show").click()
            opener = page.get_by_role("button", name=str(later.event_id), exact=True)
            expect(opener).to_be_visible()
            page.focus("#search")
            for _ in range(6):  # Tab from the search box: Show, then the first row's id
                if page.evaluate("document.activeElement.textContent") == str(later.event_id):
                    break
                page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == str(later.event_id)
            page.keyboard.press("Enter")
            expect(page.locator("#event-state")).to_have_text("scheduled")
            # Its payload as the schedule holds it (the operator's token), and the chain.
            expect(page.locator("#held")).to_contain_text("held in schedule")
            expect(page.locator("#held-message")).to_contain_text("txn-later")
            page.screenshot(path=str(shots / "console-scheduled.png"), full_page=True)
            page.locator(f'#caused li[data-caused="{child.event_id}"] button').click()
            expect(page.locator("#event-id")).to_have_text(str(child.event_id))
            expect(page.locator("#held-message")).to_contain_text("txn-child")
            page.locator("#caused-by button").click()
            expect(page.locator("#event-id")).to_have_text(str(later.event_id))
            expect(page.locator("#event-state")).to_have_text("scheduled")
            page.once("dialog", lambda dialog: dialog.dismiss())
            page.get_by_role("button", name="Cancel").click()
            expect(page.locator("#event-state")).to_have_text("scheduled")
            page.once("dialog", lambda dialog: dialog.accept())
            page.get_by_role("button", name="Run now").click()
            expect(page.locator("#event-feedback")).to_contain_text("Promoted")
            expect(page.locator("#event-state")).to_have_text("succeeded", timeout=15_000)

            # A dead payment: its dead letter on the event page, and one handler retried.
            page.select_option("#state", "dead")
            page.get_by_role("button", name="Show").click()
            expect(page.locator("#events tbody tr")).to_have_count(2)
            page.locator("#events tbody tr").first.locator("button.link").click()
            expect(page.locator("#event-state")).to_have_text("dead")
            letter = page.locator("#letters .letter")
            expect(letter).to_contain_text("Dead letter of e2e.settle")
            letter.locator("summary").click()
            expect(letter.locator("pre").first).to_contain_text("Traceback")
            expect(letter.locator("pre").nth(1)).to_contain_text("txn-")  # the operator's payload
            page.screenshot(path=str(shots / "console-dead.png"), full_page=True)
            page.once("dialog", lambda dialog: dialog.accept())
            letter.get_by_role("button", name="Retry this handler").click()
            expect(page.locator("#event-state")).to_have_text("succeeded", timeout=15_000)

            # Dead letters by filter, on the dashboard: counted, asked, retried in batches.
            page.goto(f"{deployment.url}/queues")
            page.fill("#f-handler", "e2e.settle")
            page.get_by_role("button", name="Filter").click()
            expect(page.locator("#dead-total")).to_have_text("1", timeout=15_000)
            page.once("dialog", lambda dialog: dialog.accept())
            page.get_by_role("button", name="Retry matching").click()
            expect(page.locator("#sweep-feedback")).to_have_text("Retried 1 of 1.", timeout=15_000)
            expect(page.locator("#dead-total")).to_have_text("0", timeout=15_000)
            page.screenshot(path=str(shots / "dashboard-dark-sweep.png"), full_page=True)

            # 420 px wide: nothing wider than the window.
            page.goto(f"{deployment.url}/console")
            page.set_viewport_size({"width": 420, "height": 900})
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 420, f"the page is {width} px wide at 420 px"
            page.screenshot(path=str(shots / "console-420px.png"), full_page=True)
            page.goto(f"{deployment.url}/queues")
            expect(page.locator("#token-state")).to_have_text("token in use")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 420, f"the dashboard is {width} px wide at 420 px"
            assert all(url.startswith(deployment.url) for url in requests), requests
        finally:
            browser.close()
