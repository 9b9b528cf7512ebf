"""pytest plugin (loaded when codesign is installed): the `codesign_build` fixture builds a run once per session into
pytest's cache directory, where later sessions (and pytest-xdist's other workers) reuse every step whose inputs did not
change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from filelock import FileLock

from codesign.config import digest_of


def pytest_addoption(parser) -> None:
    parser.getgroup("codesign").addoption(
        "--codesign-rebuild", action="store_true", help="codesign_build: rebuild every run from its first step once this session."
    )


@pytest.fixture(scope="session")
def codesign_build(request, tmp_path_factory):
    """codesign_build(spec=None, **options) -> codesign.Run, with the options of codesign.build. Each distinct call is
    built once per session, into <pytest cache>/codesign/<digest of the call>/ (unless output_root is given); with
    pytest's cache plugin off (-p no:cacheprovider), into the session's temporary directory, rebuilt every session.
    pytest-xdist's workers share the cache: they take turns on a call (a lock beside its directory), the later ones
    reusing what the first built; --codesign-rebuild rebuilds once per worker."""
    from codesign.api import Run, build

    cache = getattr(request.config, "cache", None)
    root = Path(cache.mkdir("codesign")) if cache is not None else tmp_path_factory.mktemp("codesign")
    rebuild = request.config.getoption("--codesign-rebuild")
    built: dict[str, Run] = {}

    def build_once(spec=None, **options) -> Run:
        call = {"spec": str(Path(spec).resolve()) if spec is not None else None, **{key: str(value) for key, value in options.items()}}
        key = digest_of(json.dumps(call, sort_keys=True))[:16]
        if key not in built:
            options.setdefault("output_root", root / key)
            if rebuild:
                options.setdefault("from_step", "train")
            with FileLock(root / f"{key}.lock"):  # another worker building the same call: wait, then reuse its steps
                built[key] = build(spec, **options)
        return built[key]

    return build_once
