"""A precompiled header of the Xilinx arbitrary-precision types every hls4ml project includes, built once per
machine and reused by every emulation compile: parsing ap_types took 2 of the 2.7 s a small project's bridge took to
compile, and 1 of its 3.9 s top function (docs/emulation.md, "Precompiled header")."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

HEADER = "codesign_pch.h"
# Only the vendor types and the standard library: nnet_helpers.h expands WEIGHTS_DIR, a path each project defines on
# the command line, into its function bodies, so a header holding it would carry the first project's weights folder.
INCLUDES = ("<iostream>", "<algorithm>", "<map>", '"ap_fixed.h"', '"ap_int.h"', '"hls_stream.h"')
TYPES_FOLDER = Path("firmware") / "ap_types"
FLAGS_END = "\nLDFLAGS="  # build_lib.sh has settled its CFLAGS by this line
UNUSED_DAYS = 30  # a header no compile used for this long (another g++, hls4ml or flags since) is removed when one is built


def cache_root() -> Path:
    """Where the headers are kept: $CODESIGN_CACHE, else the user's cache folder (XDG)."""
    if os.environ.get("CODESIGN_CACHE"):
        return Path(os.environ["CODESIGN_CACHE"]) / "pch"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "codesign" / "pch"


def with_precompiled_types(script: str, hls_dir: Path) -> tuple[str, list[str]]:
    """A build_lib.sh made to include the cached header where one can be had for its flags, and what the compile log
    should say of it."""
    notes: list[str] = []
    setup, found, rest = script.partition(FLAGS_END)
    header = header_for(hls_dir, _flags_of(setup), notes) if found else None
    if header is None:
        return script, notes
    notes.append(f"codesign: ap_types from the precompiled header {header}.gch")
    return f'{setup}\nCFLAGS+=" -include {header} -Winvalid-pch"{found}{rest}', notes


@functools.lru_cache(maxsize=8)
def _flags_of(setup: str) -> str:
    """The CFLAGS a build_lib.sh settles on (its compiler probes, which read no file, run as written once per
    process): the header is only valid for those."""
    result = subprocess.run(["bash", "-c", setup + '\nprintf %s "$CFLAGS"'], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


@functools.lru_cache(maxsize=1)
def _compiler_version() -> str:
    """g++'s version, read once per process: a header built by another compiler is another key."""
    return subprocess.run(["g++", "--version"], capture_output=True, text=True, check=False).stdout


def header_for(hls_dir: Path, flags: str, log: list[str]) -> Path | None:
    """The precompiled header for this project's ap_types at these flags, built under a lock if none is cached yet;
    None (and a line in `log`) where it cannot be built: the compile then parses the headers as it always did."""
    types = Path(hls_dir) / TYPES_FOLDER
    if not flags or not types.is_dir() or shutil.which("g++") is None:
        return None
    folder = cache_root() / _key(types, flags)
    header = folder / HEADER
    if any(character.isspace() for character in str(header)):  # CFLAGS is split on spaces by the script
        log.append(f"codesign: no precompiled header (its path {header} holds a space); the types are parsed in each compile")
        return None
    if (folder / f"{HEADER}.gch").is_file():
        _mark_used(folder)
        return header
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(folder.parent / f"{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process (a test worker) may be building the same one
            if not (folder / f"{HEADER}.gch").is_file():
                _build(types, flags, folder)
                _remove_unused(folder.parent, keep=folder)
        return header
    except (OSError, subprocess.CalledProcessError) as error:
        log.append(f"codesign: no precompiled header ({error}); the types are parsed in each compile")
        return None


def _key(types: Path, flags: str) -> str:
    """The compiler, its flags and the bytes of every ap_types file: a header is used only where all are the same."""
    digest = hashlib.sha256()
    digest.update(f"{_compiler_version()}\0{flags}\0{INCLUDES}\0".encode())
    for path in sorted(p for p in types.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(types)}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:24]


def _build(types: Path, flags: str, folder: Path) -> None:
    """Compile the header in a scratch folder beside the cache, then move it in whole."""
    scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
    try:
        (scratch / HEADER).write_text("".join(f"#include {name}\n" for name in INCLUDES))
        subprocess.run(["g++", *flags.split(), "-w", f"-I{types}", "-x", "c++-header", HEADER, "-o", f"{HEADER}.gch"],
                       cwd=scratch, capture_output=True, check=True)
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _mark_used(folder: Path) -> None:
    """Date the header's folder to this use (what _remove_unused reads); a read-only cache is used as it is."""
    try:
        os.utime(folder)
    except OSError:
        pass


def _remove_unused(root: Path, keep: Path) -> None:
    """Remove the headers (about 100 MB each) that no compile used for UNUSED_DAYS, and their locks."""
    oldest = time.time() - UNUSED_DAYS * 86400
    for folder in root.iterdir():
        if folder.is_dir() and folder != keep and not folder.name.startswith(".") and folder.stat().st_mtime < oldest:
            shutil.rmtree(folder, ignore_errors=True)
            (root / f"{folder.name}.lock").unlink(missing_ok=True)
