"""Reports: the HTML page in a real headless browser, Markdown and JSON agreeing with it, run comparison."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from codesign.commands import build_run
from codesign.cli import main
from codesign.config import spec_from_dict
from codesign.layout import RunLayout

pytestmark = pytest.mark.slow
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through its chromedriver (installed by `make test`), headless and offline."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are missing: run 'make test', which installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,2000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def _page(browser, path: Path) -> str:
    from selenium.webdriver.common.by import By

    browser.get(path.resolve().as_uri())
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
    return browser.find_element(By.TAG_NAME, "body").text


def test_report_html_opens_offline_with_tables_and_images(tiny_run, browser):
    from selenium.webdriver.common.by import By

    run_dir, _ = tiny_run
    reports = RunLayout(run_dir).reports_dir
    text = _page(browser, reports / "report.html")
    tables = {table.get_attribute("id") for table in browser.find_elements(By.TAG_NAME, "table")}
    assert {"verdict", "validation", "comparison", "estimate", "model", "precision", "environment"} <= tables
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);"
    )
    assert len(images) == 3
    assert all(complete and width > 0 and height > 0 for _, complete, width, height in images), images
    assert "http" not in (reports / "report.html").read_text()  # nothing to fetch
    assert "fits on xcu250?" in text and "bit-exact?" in text


def test_markdown_and_json_agree_with_the_page(tiny_run, browser):
    run_dir, _ = tiny_run
    reports = RunLayout(run_dir).reports_dir
    data = json.loads((reports / "summary.json").read_text())
    markdown = (reports / "summary.md").read_text()
    page = _page(browser, reports / "report.html")
    assert data["schema_version"] == 1 and data["run"] == "tiny"
    total = data["estimate"]["total"]
    validation = data["validation"]
    for shown in (f"{total['lut']:,}", f"{total['ff']:,}", f"{data['model']['parameters']:,}",
                  f"{validation['samples']:,}", f"{validation['accuracy']['qkeras']:.4g}"):
        assert shown in markdown and shown in page, shown
    assert validation["bit_exact"] is True and "bit-exact? | yes" in markdown
    assert data["verdict"]["fits"] is True and data["verdict"]["bit_exact"] is True


def test_comparison_of_two_runs_highlights_differences(tiny_run, tmp_path, browser):
    from selenium.webdriver.common.by import By

    source, _ = tiny_run
    other = tmp_path / "tiny_rf4"
    shutil.copytree(source, other)
    (other / ".lock").unlink(missing_ok=True)
    data = yaml.safe_load((other / "config.yaml").read_text())
    data["hls"].update(strategy="Resource", reuse_factor=4)
    data["name"] = "tiny_rf4"
    build_run(spec_from_dict(data), other, lambda _: None)
    result = CliRunner().invoke(main, ["report", str(source), str(other), "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    page = _page(browser, tmp_path / "cmp" / "comparison.html")
    assert "tiny" in page and "tiny_rf4" in page
    rows = {row.find_elements(By.TAG_NAME, "td")[0].text: row for row in browser.find_elements(By.CSS_SELECTOR, "#comparison tr")[1:]}
    highlighted = lambda metric: "differs" in rows[metric].find_elements(By.TAG_NAME, "td")[2].get_attribute("class")
    assert highlighted("reuse factor") and highlighted("strategy") and not highlighted("parameters")
    markdown = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| reuse factor | 1 | **4** |" in markdown


def test_report_format_errors(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    bad = CliRunner().invoke(main, ["report", str(run_dir), "--format", "pdf"])
    assert bad.exit_code == 2 and "--format" in bad.stderr
    result = CliRunner().invoke(main, ["report", str(run_dir), "--format", "json", "--out", str(tmp_path / "only")])
    assert result.exit_code == 0 and [p.name for p in (tmp_path / "only").iterdir()] == ["summary.json"]


def test_the_estimate_notes_are_in_the_markdown_and_the_page(tiny_run):
    """Outside the calibrated territory, untrained weights: what the terminal says, summary.md and report.html say."""
    from codesign.report.data import collect
    from codesign.report.render import render_html, render_markdown

    run_dir, _ = tiny_run
    data = collect(run_dir)
    note = "outside the calibrated territory: no calibration design has a Conv3D in io_stream: interval widened"
    data["estimate"]["notes"] = [*data["estimate"].get("notes", []), note]
    assert note in render_markdown(data) and note in render_html(data)


def test_the_reports_name_the_tool_the_estimate_assumed(tiny_run):
    """summary.md and report.html say which tool the estimate is for (its DSP binding and cycles depend on it)."""
    from codesign.report.data import collect
    from codesign.report.render import render_html, render_markdown

    run_dir, _ = tiny_run
    data = collect(run_dir)
    assert data["estimate"]["tool"].startswith("current")
    data["estimate"]["tool"] = "Vivado HLS 2019.2"
    assert "estimated for Vivado HLS 2019.2" in render_markdown(data) and "Estimated for Vivado HLS 2019.2" in render_html(data)
