"""RunLayout and SweepLayout: the one place that knows the file names inside a run directory and a sweep directory."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

EMULATION_META = "codesign_emulation.json"  # in an hls4ml project codesign wrote: what its compiled library exposes
GRAPH_DESCRIPTION = "codesign_graph.json"  # ... and its converted graph as plain data (the vectorized emulator's input)


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run: hls_projects/<name>/{config.yaml, manifest.json, model/, hls/, reports/, logs/}."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def qkeras_model(self) -> Path:
        return self.model_dir / "qkeras.h5"

    @property
    def float_model(self) -> Path:
        return self.model_dir / "float.h5"

    @property
    def hls_dir(self) -> Path:
        return self.root / "hls"

    @property
    def library(self) -> Path:
        """The compiled emulation library (hls4ml names it <project>-<stamp>.so); a missing path before compile."""
        found = sorted((self.hls_dir / "firmware").glob("*.so"))
        return found[0] if found else self.hls_dir / "firmware" / "not-compiled.so"

    @property
    def emulation_meta(self) -> Path:
        """What the compiled library exposes: project name, input/output sizes, traced layers."""
        return self.hls_dir / EMULATION_META

    @property
    def graph_description(self) -> Path:
        return self.hls_dir / GRAPH_DESCRIPTION

    @property
    def hls_set_aside(self) -> Path:
        """The type search's first exact but unproven candidate, kept while later ones are tried."""
        return self.root / "hls.exact-on-test-set"

    @property
    def rtl_dir(self) -> Path:
        """The rtl step's Verilog, simulation and synthesis files."""
        return self.root / "rtl"

    @property
    def sweep_status(self) -> Path:
        """A sweep point's status (running, done, failed), written by the sweep beside the run."""
        return self.root / "sweep_status.json"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def counterexample(self) -> Path:
        """Inputs of the domain on which the firmware and QKeras differ (the validate step's proof, when it fails)."""
        return self.reports_dir / "counterexample.npz"

    def report(self, step: str) -> Path:
        return self.reports_dir / f"{step}.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def log(self, step: str) -> Path:
        return self.logs_dir / f"{step}.log"

    def make_dirs(self) -> None:
        for folder in (self.model_dir, self.reports_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class SweepLayout:
    """Paths of one sweep: hls_projects/sweeps/<name>/{points/<digest>/, trained/<digest>/, results.csv, sweep.*}."""

    root: Path

    def point(self, digest: str) -> RunLayout:
        """A point's run directory."""
        return RunLayout(self.root / "points" / digest)

    def trained(self, digest: str) -> RunLayout:
        """A training configuration's run directory, shared by the points that train alike."""
        return RunLayout(self.root / "trained" / digest)

    @property
    def results(self) -> Path:
        return self.root / "results.csv"


def _umask() -> int:
    """The process's umask (read by setting it, then set back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would keep a shared report from colleagues
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: object) -> None:
    """Pretty JSON in insertion order (steps stay in pipeline order), written atomically."""
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def read_json_if_exists(path: Path) -> dict | None:
    """A report that a step may not have written (yet): its content, or None."""
    return read_json(path) if Path(path).exists() else None


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes; 'missing' when it does not exist (so the step reruns)."""
    if not Path(path).is_file():
        return "missing"
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()
