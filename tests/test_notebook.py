"""Jupyter display (codesign/notebook.py): one-line reprs, HTML fragments made of the report's own sections, the
what-if beside the run's estimate, the full report inline, runs compared."""

from __future__ import annotations

import base64
import re

import pytest
from markupsafe import escape

import codesign
from codesign.layout import RunLayout, read_json

pytestmark = pytest.mark.slow  # they read the session's real tiny build


@pytest.fixture(scope="module")
def run(tiny_run):
    return codesign.Run(tiny_run[0])


def assert_self_contained_fragment(html: str) -> None:
    """A notebook cell's HTML: one scoped block, no page around it, no script, nothing fetched, images that are PNG."""
    assert html.startswith('<div class="codesign">') and "<html" not in html and "<body" not in html
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    assert ".codesign table" in html  # the report's CSS, scoped to the fragment
    for image in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        assert base64.b64decode(image).startswith(b"\x89PNG")


def test_a_run_prints_as_one_line_and_displays_its_verdict_validation_and_estimate(run):
    line = repr(run)
    validation = read_json(RunLayout(run.path).report("validate"))
    assert "\n" not in line and line.startswith(f"Run({str(run.path)!r}): ")
    assert "bit-exact, proven for every float32 input in [-65536, 65536]" in line and " DSP" in line and " cycles" in line
    html = run._repr_html_()
    assert_self_contained_fragment(html)
    assert all(f'id="{table}"' in html for table in ("verdict", "validation", "comparison", "estimate"))
    assert html.count("data:image/png;base64,") == 2  # resources and latency per layer
    assert validation["bit_exact"] and validation["proof"]["status"] == "proven"
    assert f"bit-exact: proven for {escape(validation['proof']['domain']['text'])}" in html and 'id="proof"' in html


def test_a_validation_result_says_over_which_inputs(run):
    result = run.validate()
    assert result.bit_exact and result.proof["status"] == "proven"  # the tiny spec builds bit-exact, proven
    assert repr(result) == str(result) == f"ValidationResult(bit-exact, proven for {result.proof['domain']['text']})"
    html = result._repr_html_()
    assert_self_contained_fragment(html)
    assert f"all {result.samples} samples checked" in html and 'id="validation"' in html and 'id="proof"' in html


def test_a_what_if_shows_beside_the_run_estimate_with_the_differences_marked(run):
    own, what_if = run.estimate(), run.estimate(reuse_factor=4)
    assert own.differences() is None and 'id="what-if"' not in own._repr_html_()
    rows = {row["metric"]: row for row in what_if.differences()}
    for key, label in (("dsp", "DSP"), ("lut", "LUT"), ("latency_cycles", "latency (cycles)")):
        assert rows[label]["run"] == own.total[key] and rows[label]["what_if"] == what_if.total[key]
        assert rows[label]["differs"] == (own.total[key] != what_if.total[key])
    assert any(row["differs"] for row in rows.values())  # reuse factor 4 changes the design
    html = what_if._repr_html_()
    assert_self_contained_fragment(html)
    assert 'id="what-if"' in html and "reuse_factor=4" in html
    assert html.count('<tr class="differs">') == sum(row["differs"] for row in rows.values())
    assert repr(what_if).endswith("; what-if reuse_factor=4)") and f"{what_if.total['dsp']:,} DSP" in repr(what_if)


def test_the_report_inline_is_report_html_without_its_page(run, tmp_path):
    report = run.report()
    page = (RunLayout(run.path).reports_dir / "report.html").read_text()
    assert report.html() == page  # the report step wrote the same page from the same data and templates
    fragment = report._repr_html_()
    assert_self_contained_fragment(fragment)
    assert set(re.findall(r'<table[^>]* id="([^"]+)"', fragment)) == set(re.findall(r'<table[^>]* id="([^"]+)"', page))
    written = report.save(tmp_path)
    assert sorted(path.name for path in written) == ["report.html", "summary.json", "summary.md"]
    assert (tmp_path / "report.html").read_text() == page


def test_compare_shows_what_codesign_report_writes_for_several_runs(run, tmp_path):
    comparison = codesign.compare(run, run.path)
    assert repr(comparison) == f"Comparison({run.path.name}, {run.path.name}: differ in nothing shown)"
    html = comparison._repr_html_()
    assert_self_contained_fragment(html)
    assert 'id="comparison"' in html and 'class="differs"' not in html
    assert {path.name for path in comparison.save(tmp_path)} == {"comparison.html", "comparison.md", "comparison.json"}
    with pytest.raises(ValueError, match="two runs"):
        codesign.compare(run)
