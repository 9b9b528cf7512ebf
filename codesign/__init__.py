"""codesign: QKeras -> hls4ml FPGA projects, validated bit for bit (docs/python_api.md)."""

from importlib import metadata

from codesign.api import Run, build, import_project
from codesign.results import EstimateResult, ValidationResult

__version__ = metadata.version("codesign")
__all__ = ["Run", "build", "import_project", "ValidationResult", "EstimateResult", "__version__"]
