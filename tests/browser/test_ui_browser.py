"""The web UI in Chromium against a real server: upload, generate, a citation's page,
a batch and its FHIR export, and not one request leaving the app's origin.

Run alone with ``make test-browser`` (or ``pytest -m browser tests/browser``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fpdf import FPDF

from tests.browser.conftest import Server, screenshot_target

pytestmark = pytest.mark.browser

GENERATION_MS = 420_000  # the embedded SmolLM2 on two CPU cores: tens of seconds a record
PROMPT = "8-year-old boy with Ewing sarcoma, chemotherapy"


def _pdf(path: Path) -> Path:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.multi_cell(
        0,
        8,
        "Browser test guideline for Ewing sarcoma.\n"
        "Vincristine 1.5 mg/m2 is given on day 1 of each cycle.\n"
        "Radiotherapy to the primary site: 54 Gy in 30 fractions.",
    )
    document.output(str(path))
    return path


def test_an_uploaded_pdf_is_listed_with_its_pages(page: Any, server: Server, tmp_path: Path):
    pdf = _pdf(tmp_path / "browser-guideline.pdf")
    page.goto(f"{server.url}/ui/knowledge")
    page.set_input_files("#files", str(pdf))
    page.fill("#tags", "browser")
    page.click("#upload button[type=submit]")
    row = page.locator("#documents-table tr", has_text="browser-guideline.pdf")
    row.wait_for(timeout=120_000)
    assert row.locator("td").first.inner_text() == "1"  # its one page
    assert page.locator("#upload-progress").get_attribute("value") == "100"
    assert page.locator("#documents-table tr", has_text="ewing_sarcoma.pdf").count() == 1
    page.screenshot(path=str(screenshot_target("ui-knowledge.png", tmp_path)), full_page=True)


def test_generate_a_patient_and_open_a_citation_on_its_page(
    page: Any, server: Server, tmp_path: Path
):
    page.goto(f"{server.url}/ui/generate")
    page.fill("#prompt", PROMPT)
    page.check("input[name=blocks][value=chemotherapy]")
    page.fill("#seed", "3")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/patients/[^/]+$"), timeout=GENERATION_MS)
    assert page.locator("#block-diagnosis").is_visible()
    assert page.locator("#block-chemotherapy .item").count() >= 1
    page.screenshot(path=str(screenshot_target("ui-record.png", tmp_path)))

    page.locator("#block-diagnosis a.citation").first.click()
    page.wait_for_url(re.compile(r".*/citations/\d+$"))
    quote = page.locator("#quote").inner_text()
    marked = page.locator("mark#cited")
    assert marked.count() == 1, "the quote is not marked in the page text"
    assert " ".join(marked.inner_text().split()) == " ".join(quote.split())
    image = page.locator("#page-image")
    page.wait_for_function("document.getElementById('page-image').complete")
    assert image.evaluate("img => img.naturalWidth") > 300
    page.screenshot(path=str(screenshot_target("ui-citation.png", tmp_path)))


def test_a_batch_of_three_and_its_fhir_export(page: Any, server: Server, tmp_path: Path):
    page.goto(f"{server.url}/ui/batches")
    page.fill("#prompt", PROMPT)
    page.check("input[name=blocks][value=chemotherapy]")
    page.fill("#seed", "11")
    page.fill("#count", "3")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/batches/[0-9a-f-]+$"))
    assert page.locator("#progress progress").is_visible()
    page.locator("#progress[data-status=done]").wait_for(timeout=3 * GENERATION_MS)
    page.locator(".records li").nth(2).wait_for()
    assert page.locator(".records li").count() == 3
    page.screenshot(path=str(screenshot_target("ui-batch.png", tmp_path)), full_page=True)
    with page.expect_download() as download_info:
        page.click("a[data-format=fhir]")
    saved = tmp_path / "fhir.ndjson"
    download_info.value.save_as(saved)
    bundles = [json.loads(line) for line in saved.read_text().splitlines() if line.strip()]
    assert len(bundles) == 3 and {b["resourceType"] for b in bundles} == {"Bundle"}


def test_no_page_makes_a_request_outside_the_apps_origin(browser: Any, server: Server):
    """The network cut: every request to another origin is aborted and recorded."""
    origin = urlsplit(server.url).netloc
    outside: list[str] = []
    inside: list[str] = []
    context = browser.new_context()

    def screen(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).netloc == origin or url.startswith("data:"):
            inside.append(url)
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", screen)
    tab = context.new_page()
    tab.goto(f"{server.url}/ui/login")
    tab.fill("#api_key", server.token)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/ui/knowledge")
    for path in ("/ui/knowledge", "/ui/generate", "/ui/batches", "/ui/patients"):
        tab.goto(f"{server.url}{path}")
        tab.wait_for_load_state("networkidle")
    records = tab.locator("#patients a")
    if records.count():
        records.first.click()
        tab.wait_for_load_state("networkidle")
        citations = tab.locator("a.citation")
        if citations.count():
            citations.first.click()
            tab.wait_for_load_state("networkidle")
    context.close()
    assert outside == []
    assert any(url.endswith("/ui/static/htmx.min.js") for url in inside)


def test_serve_prints_the_ui_address(server: Server):
    assert f"web UI: {server.url}/ui" in server.output()


def test_the_keyboard_reaches_every_field_and_spanish_is_one_click_away(page: Any, server: Server):
    page.goto(f"{server.url}/ui/generate")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.name"))
    for field in ("prompt", "age", "sex", "diagnosis", "seed", "count", "blocks"):
        assert field in reached, f"{field} is not reachable with Tab: {reached}"
    page.click("a[lang=es]")
    page.wait_for_url("**/ui/generate")
    assert page.locator("h1").inner_text() == "Generar pacientes"
    assert page.locator("html").get_attribute("lang") == "es"
    page.click("a[lang=en]")
    assert page.locator("h1").inner_text() == "Generate patients"
