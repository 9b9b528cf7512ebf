"""The compiled C++ emulation: build hls4ml's bridge library with g++, run it in a child process."""

from __future__ import annotations

import re

import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from codesign.config import digest_of
from codesign.errors import CompileFailed, EmulationCrash, ToolchainError
from codesign.layout import file_digest
from codesign.precompiled import with_precompiled_types
from codesign.records import CompiledStamp
from codesign.progress import Progress

Say = Callable[[str], None]
COMPILER_TAIL_LINES = 15
# The emulation library runs a test set, it is not deployed: at -O1 g++ compiled a 64x64x3 CNN (io_parallel) in 103 s
# against 211 s at hls4ml's -O3, and the library emulated as fast (10.2 and 7.0 samples/s); -O0 compiled in 27 s but
# emulated at 1.0 sample/s (benchmarks/typesearch.py, 2026-11-29, docs/emulation.md).
EMULATION_OPTIMIZATION = "-O1"
COMPILED_STAMP = "codesign_compiled.json"  # what the library was built from
CROSS_CHECK_SAMPLES = 16  # samples a vectorized emulation is checked on outside validation (which uses validation.cpp_samples)


def require_gxx() -> str:
    """Path of g++, or a ToolchainError that says how to get it."""
    gxx = shutil.which("g++")
    if gxx is None:
        raise ToolchainError(
            "g++ not found on PATH: the emulation is compiled C++ (install it, e.g. 'apt-get install g++')"
        )
    return gxx


def compile_library(hls_dir: Path, log_path: Path) -> Path:
    """Run the project's build_lib.sh at EMULATION_OPTIMIZATION (the script itself, which hls4ml writes with -O3 for
    a library that is deployed, is left as it is); the full compiler output goes to the log."""
    import resource

    require_gxx()
    hls_dir = Path(hls_dir)
    for stale in (hls_dir / "firmware").glob("*.so"):
        stale.unlink()
    script = hls_dir / "codesign_build_lib.sh"  # codesign_* files are not sources (sources_digest)
    started = time.perf_counter()
    text, notes = with_precompiled_types((hls_dir / "build_lib.sh").read_text().replace('CFLAGS="-O3 ', f'CFLAGS="{EMULATION_OPTIMIZATION} '), hls_dir)
    script.write_text(text)
    result = subprocess.run(
        ["bash", script.name], cwd=hls_dir, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    Path(log_path).write_text("".join(f"{note}\n" for note in notes) + result.stdout + result.stderr)
    libraries = sorted((hls_dir / "firmware").glob("*.so"))
    if result.returncode != 0 or not libraries:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-COMPILER_TAIL_LINES:])
        raise CompileFailed(f"g++ failed to compile {hls_dir} (full log: {log_path}):\n{tail}", first_error(result.stdout + result.stderr))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    CompiledStamp(sources=sources_digest(hls_dir), compile_seconds=round(seconds, 2),
                  compiler_peak_memory_mib=round(peak_mib, 1)).write(hls_dir / COMPILED_STAMP)
    return libraries[0]


def compiled_library(hls_dir: Path) -> tuple[Path, CompiledStamp] | None:
    """The library compile_library built from exactly the project's current sources (and place), with its compile
    time and the compiler's peak memory; None when there is none."""
    hls_dir = Path(hls_dir)
    libraries = sorted((hls_dir / "firmware").glob("*.so"))
    stamp = CompiledStamp.read_if_exists(hls_dir / COMPILED_STAMP)
    if not libraries or stamp is None or stamp.sources != sources_digest(hls_dir):
        return None
    return libraries[0], stamp


def sources_digest(hls_dir: Path) -> str:
    """Digest of what the library is built from: every project file but codesign's own and the library, and the
    project's place (the library reads its weights from that directory)."""
    hls_dir = Path(hls_dir)
    sources = [
        path for path in sorted(hls_dir.rglob("*")) if path.is_file() and path.suffix != ".so" and not path.name.startswith("codesign_")
    ]
    return digest_of({"files": {str(path.relative_to(hls_dir)): file_digest(path) for path in sources}, "location": str(hls_dir.resolve())})


def first_error(compiler_output: str) -> str:
    """The compiler's first 'error:' line, shortened: why a project did not compile, in one line."""
    for line in compiler_output.splitlines():
        if "error:" in line:
            return " ".join(line.split("error:", 1)[1].split())[:160]
    return "see the compile log"


@dataclass(frozen=True)
class EmulationResult:
    """Firmware outputs per sample (float64, exact for ap_fixed up to 53 bits) and, if traced, per layer."""

    outputs: np.ndarray
    layers: dict[str, np.ndarray]
    seconds: float


def run_emulation(
    library: Path, meta_path: Path, x: np.ndarray, say: Say, trace: bool = False, workers: int = 1
) -> EmulationResult:
    """Run the firmware on every sample in child processes (several in parallel); a crash becomes an EmulationCrash."""
    started = time.perf_counter()
    chunks = [chunk for chunk in np.array_split(np.asarray(x), max(1, min(workers, len(x)))) if len(chunk)]
    done = [0] * len(chunks)
    bar = Progress(len(x), "C++ emulation", "sample", say)

    def progress(index: int, count: int) -> None:
        step, done[index] = count - done[index], count
        total = sum(done)
        bar.advance(step, f"  emulated {total}/{len(x)} samples ({total / max(time.perf_counter() - started, 1e-9):.0f}/s)")

    with bar, ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        parts = list(pool.map(lambda item: _run_chunk(library, meta_path, item[1], trace, lambda n: progress(item[0], n)), enumerate(chunks)))
    outputs = np.concatenate([part[0] for part in parts])
    layers = {name: np.concatenate([part[1][name] for part in parts]) for name in parts[0][1]}
    return EmulationResult(outputs, layers, time.perf_counter() - started)


ARCHIVE_READ = threading.Lock()  # np.load parses each array's header with ast.literal_eval, which CPython 3.11.7 cannot run in
# two threads at once ("SystemError: AST constructor recursion depth mismatch", seen once in the test suite): one reader at a time


def _run_chunk(library: Path, meta_path: Path, x: np.ndarray, trace: bool, progress) -> tuple[np.ndarray, dict]:
    """One worker process over some samples."""
    with tempfile.TemporaryDirectory(prefix="codesign-emulation-") as scratch:
        inputs, outputs = Path(scratch) / "x.npy", Path(scratch) / "out.npz"
        np.save(inputs, np.ascontiguousarray(x, dtype=np.float64))
        command = [sys.executable, "-m", "codesign.emulation_worker", str(library), str(meta_path), str(inputs), str(outputs)]
        process = subprocess.Popen(command + (["--trace"] if trace else []), stderr=subprocess.PIPE, text=True)
        errors = _relay_progress(process, progress)
        if process.returncode != 0:
            raise EmulationCrash(_crash_message(process.returncode, errors, library))
        with ARCHIVE_READ, np.load(outputs) as archive:
            layers = {key.removeprefix("trace/"): archive[key] for key in archive.files if key.startswith("trace/")}
            return archive["outputs"], layers


def _relay_progress(process: subprocess.Popen, progress) -> list[str]:
    """Pass the worker's 'progress N M' counts on; keep anything else as error text."""
    errors = []
    for line in process.stderr:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "progress":
            progress(int(parts[1]))
        else:
            errors.append(line.rstrip())
    process.wait()
    return errors


def _crash_message(returncode: int, errors: list[str], library: Path) -> str:
    """One clear line: which signal killed the emulation and what to change."""
    assertion = next((line for line in errors if "Assertion `" in line), None)
    if assertion is not None:
        return _assertion_message(assertion, library)
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return (
            f"the compiled emulation {library.name} crashed with {name}; the CLI survived. Large layers under the "
            "Latency strategy are a known cause: use hls.strategy: Resource, a larger hls.reuse_factor, or io_stream"
        )
    detail = errors[-1] if errors else f"exit code {returncode}"
    if any("does not exist" in line for line in errors):
        detail += " (the run directory was moved or copied after compiling: rerun 'codesign build ... --from compile')"
    return f"the compiled emulation {library.name} failed: {detail}"


def _assertion_message(line: str, library: Path) -> str:
    """An assertion of hls4ml's C++ templates (a layer setting they do not support), with the layer it was for: the
    config struct the failing template was instantiated with, named in parameters.h."""
    condition = re.search(r"Assertion `(.*)' failed", line).group(1).replace("CONFIG_T::", "")
    where = re.search(r"(nnet_\w+\.h):(\d+)", line)
    config = re.search(r"CONFIG_T = (\w+)", line)
    parameters = library.parent / "parameters.h"
    layer = None
    if config and parameters.is_file():  # hls4ml writes '// <layer name>' above each layer's config structs
        lines = parameters.read_text().splitlines()
        start = next((index for index, text in enumerate(lines) if re.match(rf"struct {config.group(1)}\b", text)), None)
        comments = [text[2:].strip() for text in lines[:start] if text.startswith("// ")] if start is not None else []
        layer = comments[-1] if comments else None
    subject = f"layer '{layer}'" if layer else "a layer"
    place = f" ({where.group(1)}:{where.group(2)})" if where else ""
    hint = " (padding='valid', or io_parallel)" if "pad" in condition else " (its strategy)" if "strategy" in condition.lower() else ""
    return (f"hls4ml's C++ for {subject} does not support its settings: its template asserts {condition}{place}; the emulation "
            f"stopped (SIGABRT). Change that layer's settings{hint}")


@dataclass
class Emulators:
    """Which emulator computed a set of outputs, and what it was checked against (validate.json's `emulators`)."""

    vectorized_used: bool
    reason: str | None  # why the vectorized emulator was not used
    vectorized_samples: int = 0
    vectorized_per_s: float | None = None
    cpp_samples: int = 0
    cpp_per_s: float | None = None
    identical_to_vectorized: bool | None = None  # on the cpp samples, when both ran

    def dump(self) -> dict:
        return {
            "vectorized": {"used": self.vectorized_used, "reason": self.reason, "samples": self.vectorized_samples,
                           "samples_per_s": self.vectorized_per_s},
            "cpp": {"samples": self.cpp_samples, "samples_per_s": self.cpp_per_s, "identical_to_vectorized": self.identical_to_vectorized},
        }


_EMULATORS: dict[tuple, object] = {}  # (graph file, its and the weight files' mtimes and sizes) -> its VectorizedEmulator, traced


def vectorized_emulator(hls_dir: Path):
    """The project's VectorizedEmulator, kept while its graph and weight files are unchanged: a second call in a session (a
    notebook's run.emulate) reads no weights and traces no graph again."""
    from codesign.layout import GRAPH_DESCRIPTION
    from codesign.vectorized import VectorizedEmulator

    graph = Path(hls_dir) / GRAPH_DESCRIPTION
    if not graph.exists():
        return VectorizedEmulator(hls_dir)
    files = [graph, *sorted((Path(hls_dir) / "firmware" / "weights").glob("*"))]  # a rewritten weight file is a new emulator
    key = (str(graph.resolve()), tuple((path.name, path.stat().st_mtime_ns, path.stat().st_size) for path in files))
    if key not in _EMULATORS:
        emulator = VectorizedEmulator(hls_dir)
        _EMULATORS.clear()  # one project at a time: a large CNN's traced graph and weights are not small
        _EMULATORS[key] = emulator
    return _EMULATORS[key]


def vectorized_outputs(hls_dir: Path, x: np.ndarray) -> tuple[np.ndarray | None, float, str | None]:
    """The vectorized emulation of x, which needs no compiled library, and its seconds; or None and why it declines."""
    from codesign.vectorized import Unrepresentable

    vectorized = vectorized_emulator(hls_dir)
    reason = vectorized.unsupported()
    if reason is not None:
        return None, 0.0, reason
    try:
        outputs, seconds = vectorized.predict(x)
    except Unrepresentable as error:
        return None, 0.0, f"values beyond float64's exact integers ({error})"
    except ValueError as error:  # weights hls4ml wrote in another encoding than their type (a candidate g++ refuses too)
        return None, 0.0, f"the project's weight files do not match their types ({error})"
    return outputs, seconds, None


def emulate(layout, x: np.ndarray, cpp_samples: int, say: Say = lambda _: None, trace: bool = False) -> tuple[EmulationResult, Emulators]:
    """The one choose-and-check policy: every sample through the vectorized emulator, trusted once the C++ emulation
    of the compiled library gives the same outputs on the first `cpp_samples`; where it declines (or disagrees, or
    layers are traced), the C++ emulation on every sample, spread over the cores."""
    import os

    cores = os.cpu_count() or 1
    outputs, seconds, reason = (None, 0.0, "layer outputs are traced through the C++ emulation") if trace else vectorized_outputs(layout.hls_dir, x)
    if outputs is not None:
        sample = x[:cpp_samples]
        say(f"  vectorized emulation: {len(x)} samples at {len(x) / seconds:,.0f}/s; C++ emulation on {len(sample)} of them")
        cpp = run_emulation(layout.library, layout.emulation_meta, sample, say, workers=cores) if len(sample) else None
        differing = int((cpp.outputs != outputs[: len(sample)]).any(axis=1).sum()) if cpp else 0
        record = Emulators(True, None, len(x), round(len(x) / seconds, 1), len(sample),
                           round(len(sample) / cpp.seconds, 1) if cpp else None, differing == 0 if cpp else None)
        if not differing:
            return EmulationResult(outputs, {}, seconds), record
        reason = f"it differed from the C++ emulation on {differing} of {len(sample)} samples (a codesign bug: please report it)"
    say(f"  vectorized emulation not used: {reason}; C++ emulation on all {len(x)} samples over {cores} processes")
    cpp = run_emulation(layout.library, layout.emulation_meta, x, say, trace=trace, workers=cores)
    return cpp, Emulators(False, reason, cpp_samples=len(x), cpp_per_s=round(len(x) / cpp.seconds, 1))


def firmware_outputs(layout, x: np.ndarray, cpp_samples: int | None = None) -> np.ndarray:
    """A compiled run's firmware outputs on x, bit-exact, as float64 (`emulate`; the TensorFlow-graph emulator
    computes some in float32, exactly). The C++ emulation checks the first `cpp_samples`; by default
    CROSS_CHECK_SAMPLES, or none where the run's validation already found both emulators identical on this very
    library (cross_checked): on the CIFAR CNN the C++ emulation takes 1.5 s to start and 12 samples a second."""
    if cpp_samples is None:
        cpp_samples = 0 if cross_checked(layout) else CROSS_CHECK_SAMPLES
    return np.asarray(emulate(layout, x, cpp_samples)[0].outputs, dtype=np.float64)


def cross_checked(layout) -> bool:
    """Whether the run's validate step ran the vectorized emulator and found it identical to the C++ emulation on
    its samples, with the library the run has now (the digest its validate step recorded)."""
    from codesign.layout import file_digest
    from codesign.records import Manifest, ValidationRecord

    if not (layout.report("validate").exists() and layout.manifest.exists()):
        return False
    emulators = ValidationRecord.read(layout.report("validate")).emulators or {}
    checked = emulators.get("cpp") or {}
    if not ((emulators.get("vectorized") or {}).get("used") and checked.get("identical_to_vectorized") and checked.get("samples")):
        return False
    record = Manifest.read(layout.manifest).steps.get("validate")
    return record is not None and record.status == "ok" and record.inputs.get("library") == file_digest(layout.library)
