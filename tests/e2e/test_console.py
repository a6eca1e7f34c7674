"""The web console in headless Chromium against a real local stack with ``AuthMode=KEY``.

The stack runs a workflow with a fork, and a task whose first attempt fails and whose retry succeeds
(done by an SQS-native worker). The page is opened as a user would: it asks for an application key,
then draws the execution's graph; every node must show the status of its task's latest attempt, the
retried task's panel its output and both attempts, and the executions list the workflow. The execution
page is saved as a screenshot (tests/e2e/artifacts/console.png; with BATON_UPDATE_SCREENSHOTS=1 also to
docs/console.png, the README's picture).

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); Playwright only drives it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from batonflow.emulator.stack import BatonStack
from batonflow.sdk import BatonClient, TaskContext, Worker, WorkerSettings
from tests.e2e.helpers import inline

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
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
KEY_ID, SECRET = "console-e2e", "console-e2e-secret-0123"
WORKFLOW = "console_orders"
TIMEOUT_S = 30
UI_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def console_stack() -> Iterator[BatonStack]:
    with BatonStack(
        port=0, stack_name="baton-e2e-console", parameters={"AuthMode": "KEY"}, schedule_interval_s=2
    ) as running:
        running.create_api_key(KEY_ID, SECRET)
        yield running


def definitions() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    task_defs = [
        {"name": "console_charge", "retryCount": 1, "retryDelaySeconds": 0, "responseTimeoutSeconds": 30},
        {"name": "console_reserve", "retryCount": 0, "responseTimeoutSeconds": 30},
    ]
    workflow = {
        "name": WORKFLOW,
        "version": 1,
        "description": "Charge and reserve in parallel, then sum up.",
        "tasks": [
            {
                "name": "fork",
                "taskReferenceName": "fork",
                "type": "FORK_JOIN",
                "forkTasks": [
                    [
                        {
                            "name": "console_charge",
                            "taskReferenceName": "charge",
                            "inputParameters": {"amount": "${workflow.input.amount}"},
                        }
                    ],
                    [{"name": "console_reserve", "taskReferenceName": "reserve"}],
                ],
            },
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["charge", "reserve"]},
            {
                "name": "route",
                "taskReferenceName": "route",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "kind",
                "inputParameters": {"kind": "${workflow.input.kind}"},
                "decisionCases": {
                    "express": [inline("ship_express", "'courier'")],
                    "standard": [inline("ship_standard", "'post'")],
                },
            },
            {
                "name": "summary",
                "taskReferenceName": "summary",
                "type": "INLINE",
                "inputParameters": {
                    "evaluatorType": "javascript",
                    "expression": "({charged: $.charged, items: $.items})",
                    "charged": "${charge.output.charged}",
                    "items": "${reserve.output.items}",
                },
            },
        ],
        "outputParameters": {"summary": "${summary.output.result}"},
    }
    return task_defs, workflow


@pytest.fixture(scope="module")
def finished(console_stack: BatonStack) -> dict[str, Any]:
    """The workflow, run to completion: ``charge`` failed once and succeeded on its retry, the switch took
    its ``express`` branch."""

    def charge(amount: int, task: TaskContext) -> dict[str, Any]:
        task.log(f"charging {amount}")
        if task.retry_count == 0:
            raise RuntimeError("card declined (transient)")
        return {"charged": amount, "receipt": "r-1"}

    def reserve() -> dict[str, Any]:
        return {"items": 3}

    task_defs, workflow = definitions()
    settings = WorkerSettings.from_env(console_stack.worker_environment(), worker_id="console-worker")
    workers = [
        Worker("console_charge", charge, wait_seconds=1),
        Worker("console_reserve", reserve, wait_seconds=1),
    ]
    with BatonClient(console_stack.api_url, api_key=(KEY_ID, SECRET)) as client:
        client.register_task_defs(task_defs)
        client.register_workflow_def(workflow)
        for worker in workers:
            worker.start(settings)
        try:
            workflow_id = client.start_workflow(WORKFLOW, {"amount": 42, "kind": "express"})
            done = client.wait_for_workflow(workflow_id, timeout_s=TIMEOUT_S)
        finally:
            for worker in workers:
                worker.stop(grace_seconds=5)
    assert done["status"] == "COMPLETED", done.get("reasonForIncompletion")
    charge = [task["status"] for task in done["tasks"] if task["referenceTaskName"] == "charge"]
    assert charge == ["FAILED", "COMPLETED"]
    return done


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="baton-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 768},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        expect.set_options(timeout=UI_TIMEOUT_MS)
        yield context
        context.close()


def sign_in(page: Page, secret: str = SECRET) -> None:
    dialog = page.locator("#sign-in")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Key id").fill(KEY_ID)
    dialog.get_by_label("Key secret").fill(secret)
    dialog.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def page(browser: BrowserContext, console_stack: BatonStack) -> Iterator[Page]:
    """One tab, signed in (the token stays in the tab's sessionStorage across navigations)."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(f"{console_stack.api_url}/")
    sign_in(tab)
    expect(tab.locator("#sign-in")).to_have_count(0)
    yield tab
    tab.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def test_without_a_token_the_page_asks_for_a_key_and_refuses_a_wrong_one(
    browser: BrowserContext, console_stack: BatonStack, finished: dict[str, Any]
):
    tab = browser.new_page()
    try:
        tab.goto(f"{console_stack.api_url}/#/executions")
        sign_in(tab, secret="not-the-secret")
        expect(tab.locator("#sign-in .error")).to_have_text("Invalid key id or key secret")
        expect(tab.locator("#sign-out")).to_be_hidden()
        tab.locator("#sign-in").get_by_label("Key secret").fill(SECRET)
        tab.locator("#sign-in").get_by_role("button", name="Sign in").click()
        expect(tab.locator(f"tr[data-workflow-id='{finished['workflowId']}']")).to_be_visible()
        tab.locator("#sign-out").click()
        expect(tab.locator("#sign-in")).to_be_visible()
    finally:
        tab.close()


def test_the_execution_graph_shows_every_task_with_its_latest_status(
    page: Page, console_stack: BatonStack, finished: dict[str, Any]
):
    page.goto(f"{console_stack.api_url}/#/executions/{finished['workflowId']}")
    latest = {task["referenceTaskName"]: task["status"] for task in finished["tasks"]}
    attempts = {ref: sum(t["referenceTaskName"] == ref for t in finished["tasks"]) for ref in latest}
    refs = ["fork", "charge", "reserve", "join", "route", "ship_express", "ship_standard", "summary"]
    nodes = page.locator("#graph [data-ref]")

    expect(nodes).to_have_count(len(refs))
    expect(page.locator("#workflow-status .badge")).to_have_text("COMPLETED")
    shown = nodes.evaluate_all("els => els.map(e => [e.dataset.ref, e.dataset.status, e.dataset.attempts])")
    assert {ref: (status, int(count)) for ref, status, count in shown} == {
        ref: (latest.get(ref, "NOT_STARTED"), attempts.get(ref, 0)) for ref in refs
    }
    assert set(latest) == set(refs) - {"ship_standard"}
    assert set(latest.values()) == {"COMPLETED"} and attempts["charge"] == 2
    # the switch's branches are labelled by case, and the ones not taken drawn as such
    labels = page.locator("#graph .edge:has(.edge-label)")
    assert labels.evaluate_all("els => els.map(e => [e.textContent, e.classList.contains('untaken')])") == [
        ["express", False],
        ["standard", True],
        ["default", True],
    ]
    # the edges that ran: start, fork to both branches, both into the join, route, ship_express, summary, end
    assert page.locator("#graph .edge.ran").count() == 9


def test_the_retried_task_panel_shows_its_output_and_both_attempts(
    page: Page, console_stack: BatonStack, finished: dict[str, Any]
):
    page.goto(f"{console_stack.api_url}/#/executions/{finished['workflowId']}")
    page.locator("#graph [data-ref='charge']").click()
    panel = page.locator("#panel")

    expect(panel).to_have_attribute("data-ref", "charge")
    expect(page.locator("#graph [data-ref='charge']")).to_have_class("node selected")
    charge = [task for task in finished["tasks"] if task["referenceTaskName"] == "charge"]
    assert json.loads(panel.locator("[data-field=output]").inner_text()) == charge[-1]["outputData"]
    assert json.loads(panel.locator("[data-field=output]").inner_text()) == {"charged": 42, "receipt": "r-1"}
    rows = panel.locator("#attempts tr[data-attempt]")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all("rows => rows.map(r => [r.dataset.status, r.dataset.taskId])") == [
        [task["status"], task["taskId"]] for task in charge
    ]
    expect(panel.locator("#attempts [data-reason-of='1']")).to_contain_text("card declined (transient)")
    expect(rows.nth(0)).to_contain_text("console-worker")
    # the failed attempt's logs hold the worker's traceback
    rows.nth(0).click()
    expect(panel.locator("[data-field=logs]")).to_contain_text("RuntimeError: card declined (transient)")
    expect(panel.locator("[data-field=reason]")).to_have_text("card declined (transient)")
    rows.nth(1).click()
    expect(panel.locator("[data-field=output]")).to_contain_text('"receipt": "r-1"')
    expect(panel.locator("[data-field=logs]")).to_have_text(re.compile(r"charging 42$"))

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "console.png"
    page.screenshot(path=str(screenshot))
    if os.environ.get("BATON_UPDATE_SCREENSHOTS") == "1":  # refresh the README's picture on purpose only
        shutil.copyfile(screenshot, ROOT / "docs" / "console.png")


def test_the_executions_list_shows_the_workflow_and_filters_by_status(
    page: Page, console_stack: BatonStack, finished: dict[str, Any]
):
    page.goto(f"{console_stack.api_url}/#/executions")
    row = page.locator(f"#executions tr[data-workflow-id='{finished['workflowId']}']")

    expect(row).to_have_attribute("data-status", "COMPLETED")
    expect(row).to_contain_text(WORKFLOW)
    page.locator("select[name=status]").select_option("FAILED")
    expect(page).to_have_url(f"{console_stack.api_url}/#/executions?status=FAILED")
    expect(page.locator("#executions tbody")).to_have_text("No executions match.")
    page.locator("select[name=status]").select_option("COMPLETED")
    expect(row).to_be_visible()
    row.get_by_role("link", name=finished["workflowId"]).click()
    expect(page.locator("#workflow-id")).to_have_text(finished["workflowId"])


def test_a_running_execution_is_terminated_and_restarted_from_its_page(page: Page, console_stack: BatonStack):
    """No worker serves ``console_idle``: the execution stays RUNNING until the buttons act on it."""
    with BatonClient(console_stack.api_url, api_key=(KEY_ID, SECRET)) as client:
        client.register_task_defs([{"name": "console_idle", "retryCount": 0, "responseTimeoutSeconds": 600}])
        client.register_workflow_def(
            {"name": "console_idle_flow", "tasks": [{"name": "console_idle", "taskReferenceName": "idle"}]}
        )
        workflow_id = client.start_workflow("console_idle_flow", {})
        page.goto(f"{console_stack.api_url}/#/executions/{workflow_id}")
        node = page.locator("#graph [data-ref='idle']")
        status = page.locator("#workflow-status .badge")

        expect(node).to_have_attribute("data-status", "SCHEDULED")
        expect(page.locator("[data-action=retry]")).to_be_disabled()
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("[data-action=terminate]").click()
        expect(status).to_have_text("TERMINATED")
        expect(node).to_have_attribute("data-status", "CANCELED")
        assert client.get_workflow(workflow_id)["status"] == "TERMINATED"

        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("[data-action=restart]").click()
        expect(status).to_have_text("RUNNING")
        expect(node).to_have_attribute("data-status", "SCHEDULED")
        expect(node).to_have_attribute("data-attempts", "1")
        assert client.get_workflow(workflow_id)["status"] == "RUNNING"
