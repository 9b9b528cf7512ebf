"""The example notebooks, executed top to bottom by a real Jupyter kernel (nbclient), as a user would run them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CALIBRATION = Path(__file__).resolve().parents[2] / "shared" / "calibration" / "projects"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def execute(name: str, parameters: dict, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a notebook in its own folder with its `parameters` cell replaced (papermill's convention); raises
    nbclient's CellExecutionError naming the cell when one fails."""
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    cell = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    cell.source = "\n".join(f"{key} = {value!r}" for key, value in parameters.items())
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    nbformat.write(notebook, tmp_path / name)
    return notebook


def html_outputs(cell) -> str:
    return "".join(output.get("data", {}).get("text/html", "") for output in cell.get("outputs", []))


def text_outputs(cell) -> str:
    return "".join(output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in cell.get("outputs", []))


def cell_with(notebook, source: str):
    return next(cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip().startswith(source))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_are_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code) == 1


@pytest.mark.slow
def test_quickstart_runs_top_to_bottom_and_shows_each_result(tmp_path):
    notebook = execute("quickstart.ipynb", {"SPEC": "../models/digits_cnn.yaml", "OUTPUT_ROOT": str(tmp_path / "runs")}, tmp_path)
    run = html_outputs(cell_with(notebook, "import codesign"))
    assert "bit-exact: proven for every float32 input" in run and "identical on all 360 samples checked" in run
    assert 'id="verdict"' in run and 'id="estimate"' in run and "data:image/png;base64," in run  # the per-layer plots, inline
    assert 'id="proof" class="good"' in html_outputs(cell_with(notebook, "run.validate()"))
    assert "LUT (" in text_outputs(cell_with(notebook, "run.estimate()"))  # the one-line repr, with its interval
    what_if = html_outputs(cell_with(notebook, "run.estimate(reuse_factor=4)"))
    assert 'id="what-if"' in what_if and "reuse_factor=4" in what_if and 'class="differs"' in what_if
    fitted = text_outputs(cell_with(notebook, 'best = run.fit('))
    assert "<FitResult xczu9eg-ffvb1156-2-e io_parallel" in fitted and "of the part at the upper end of the estimate's interval" in fitted
    assert "reuse_factor" in text_outputs(cell_with(notebook, "best.layer_settings()"))
    narrow = html_outputs(cell_with(notebook, "narrow = "))
    assert "not bit-exact" in narrow and "first at layer" in narrow and "counterexample in reports/counterexample.npz" in narrow
    comparison = cell_with(notebook, "print(narrow_result.first_divergence)")
    assert "'name':" in text_outputs(comparison) and 'class="differs"' in html_outputs(comparison)
    report = html_outputs(cell_with(notebook, "report = run.report()"))
    assert "Precision profile" in report and "<html" not in report  # a fragment of the page, not a page in a page
    assert (tmp_path / "runs" / "digits_cnn" / "reports" / "report.html").exists()


@pytest.mark.slow
@pytest.mark.skipif(not CALIBRATION.exists(), reason="shared/calibration is not beside the checkout")
def test_import_notebook_estimates_and_imports_a_calibration_project(tmp_path):
    project = CALIBRATION / "ArgyKokk__hls4ml_MLP_estimator__HLS_MLPs__jet_tagging__hls4ml_prj__DSP_reuse1"
    notebook = execute("import_project.ipynb", {"PROJECT": str(project), "OUTPUT_ROOT": str(tmp_path / "runs")}, tmp_path)
    estimate = html_outputs(cell_with(notebook, "import codesign"))
    assert 'id="estimate"' in estimate and "xc7z007s" in estimate
    assert "codesign run jet_tagging_imported" in html_outputs(cell_with(notebook, "run = codesign.import_project"))
    assert "counterexample in reports/counterexample.npz" in html_outputs(cell_with(notebook, "run.validate()"))  # fc1 wraps
    assert 'id="what-if"' in html_outputs(cell_with(notebook, "run.estimate(reuse_factor=2)"))
