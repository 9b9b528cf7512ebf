"""Projects written in a child process whose PYTHONPATH holds another hls4ml (or torch): what
benchmarks/firmware_versions.py and benchmarks/pytorch_projects.py share."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Callable


def add_write_one(parser: argparse.ArgumentParser) -> None:
    """The hidden option the child is called with."""
    parser.add_argument("--write-one", nargs=4, metavar=("NAME", "FOLDER", "IO_TYPE", "STRATEGY"), help=argparse.SUPPRESS)


def wrote_one(args: argparse.Namespace, write: Callable[[str, Path, str, str], None]) -> bool:
    """In the child: write the one project asked for, quietly; True where it was asked."""
    if not args.write_one:
        return False
    name, folder, io_type, strategy = args.write_one
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write(name, Path(folder), io_type, strategy)
    return True


def written_by(script: str, path: str, name: str, folder: Path, io_type: str, strategy: str) -> None:
    """`script --write-one ...` in a child process whose PYTHONPATH is `path` (its error, one line, raised)."""
    child = subprocess.run([sys.executable, script, "--write-one", name, str(folder), io_type, strategy], env={**os.environ, "PYTHONPATH": path},
                           capture_output=True, text=True)
    if child.returncode:
        raise RuntimeError((child.stderr.strip().splitlines() or ["no output"])[-1][:160])
