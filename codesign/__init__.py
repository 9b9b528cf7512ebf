"""codesign: QKeras -> hls4ml FPGA projects, validated bit for bit (docs/python_api.md)."""

from importlib import metadata

from codesign.api import Run, build, compare, estimate_design, import_project, repair_project
from codesign.progress import set_progress
from codesign.results import EstimateResult, ValidationResult

__version__ = metadata.version("codesign")
__all__ = ["Run", "build", "compare", "estimate_design", "import_project", "repair_project", "set_progress", "ValidationResult", "EstimateResult", "__version__"]
