"""The C++ emulation runner: a crashing library cannot take the caller down; compiler problems are clear."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codesign.emulate import compile_library, require_gxx, run_emulation
from codesign.errors import EmulationCrash, ToolchainError

BRIDGE = r"""
extern "C" void myproject_double(double *in, double *out) {
    %s
}
"""


def _library(tmp_path, body: str):
    """A real shared library with hls4ml's bridge entry point, built with g++."""
    source = tmp_path / "bridge.cpp"
    source.write_text(BRIDGE % body)
    library = tmp_path / "libfake.so"
    subprocess.run(["g++", "-shared", "-fPIC", "-O1", str(source), "-o", str(library)], check=True)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"project": "myproject", "inputs": [3], "outputs": [2], "traced_layers": []}))
    return library, meta


def test_worker_runs_every_sample(tmp_path):
    library, meta = _library(tmp_path, "out[0] = in[0] + in[1]; out[1] = in[2] * 2;")
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    messages = []
    result = run_emulation(library, meta, x, messages.append)
    assert np.array_equal(result.outputs, np.stack([x[:, 0] + x[:, 1], x[:, 2] * 2], axis=1))
    assert messages and messages[-1].startswith("  emulated 4/4 samples")


def test_segfault_is_contained_and_explained(tmp_path):
    library, meta = _library(tmp_path, "volatile double *p = 0; out[0] = *p;")
    with pytest.raises(EmulationCrash, match="crashed with SIGSEGV; the CLI survived.*Resource"):
        run_emulation(library, meta, np.zeros((2, 3)), lambda _: None)


def test_compiler_error_shows_the_tail_and_the_log(tmp_path):
    (tmp_path / "firmware").mkdir()
    (tmp_path / "build_lib.sh").write_text("echo compiling; echo 'myproject.cpp:3: error: expected ;' >&2; exit 1\n")
    log = tmp_path / "compile.log"
    with pytest.raises(ToolchainError, match=r"(?s)g\+\+ failed to compile.*full log.*expected ;"):
        compile_library(tmp_path, log)
    assert "expected ;" in log.read_text()


def test_missing_gxx_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="g\\+\\+ not found on PATH"):
        require_gxx()


def test_a_compile_with_the_precompiled_types_emulates_as_one_without(tiny_run, tmp_path, monkeypatch):
    """The cached ap_types header (codesign/precompiled.py) is used, and the library it builds emulates every sample
    as the one built parsing the headers (a cache path with a space cannot be passed in CFLAGS: no header)."""
    import shutil

    from codesign.layout import EMULATION_META, RunLayout

    hls = RunLayout(tiny_run[0]).hls_dir
    meta = json.loads((hls / EMULATION_META).read_text())
    x = np.random.default_rng(0).uniform(-4, 4, (64, *meta["inputs"]))
    outputs, logs = {}, {}
    for name, cache in (("precompiled", tmp_path / "cache"), ("parsed", tmp_path / "a cache")):
        project = tmp_path / name
        shutil.copytree(hls, project)
        monkeypatch.setenv("CODESIGN_CACHE", str(cache))
        library = compile_library(project, tmp_path / f"{name}.log")
        outputs[name] = run_emulation(library, project / EMULATION_META, x, lambda _: None).outputs
        logs[name] = (tmp_path / f"{name}.log").read_text()
    assert "ap_types from the precompiled header" in logs["precompiled"] and "invalid" not in logs["precompiled"].lower()
    assert next((tmp_path / "cache" / "pch").glob("*/codesign_pch.h.gch")).stat().st_size > 0
    assert "no precompiled header (its path" in logs["parsed"]
    assert np.array_equal(outputs["precompiled"], outputs["parsed"])


def test_projects_whose_types_differ_get_headers_of_their_own(tmp_path, monkeypatch):
    from codesign.precompiled import TYPES_FOLDER, header_for

    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))
    headers = []
    for name, body in (("a", "int a;"), ("b", "int b;"), ("c", "int a;")):
        types = tmp_path / name / TYPES_FOLDER
        types.mkdir(parents=True)
        for header in ("ap_fixed.h", "ap_int.h", "hls_stream.h"):
            (types / header).write_text(f"#pragma once\n{body if header == 'ap_int.h' else ''}\n")
        headers.append(header_for(tmp_path / name, "-O1 -fPIC", []))
    assert headers[0] != headers[1] and headers[0] == headers[2]
    assert all(Path(f"{header}.gch").is_file() for header in headers)


def test_a_header_unused_for_a_month_is_removed_when_another_is_built(tmp_path, monkeypatch):
    """Each g++, hls4ml or flags change builds a header of about 100 MB: those no compile used for UNUSED_DAYS go, the
    ones used since stay (each use dates its folder)."""
    import os
    import time

    from codesign.precompiled import TYPES_FOLDER, UNUSED_DAYS, header_for

    monkeypatch.setenv("CODESIGN_CACHE", str(tmp_path / "cache"))

    def project(name: str, body: str) -> Path:
        types = tmp_path / name / TYPES_FOLDER
        types.mkdir(parents=True)
        for header in ("ap_fixed.h", "ap_int.h", "hls_stream.h"):
            (types / header).write_text(f"#pragma once\n{body if header == 'ap_int.h' else ''}\n")
        return tmp_path / name

    stale, used = (header_for(project(name, f"int {name};"), "-O1 -fPIC", []).parent for name in ("stale", "used"))
    month_ago = time.time() - (UNUSED_DAYS + 1) * 86400
    for folder in (stale, used):
        os.utime(folder, (month_ago, month_ago))
    assert header_for(tmp_path / "used", "-O1 -fPIC", []).parent == used  # used today: dated again
    fresh = header_for(project("fresh", "int fresh;"), "-O1 -fPIC", []).parent
    assert not stale.exists() and not (stale.parent / f"{stale.name}.lock").exists()
    assert used.is_dir() and fresh.is_dir()
