"""The one place codesign asks hls4ml for a model graph (`convert_from_keras_model`), and what its failures mean.

hls4ml refuses what it cannot take with bare Exceptions and ValueErrors: that is the user's model or config, a
ModelError naming hls4ml's reason. codesign's own repair passes run inside hls4ml's flow: an exception raised in
codesign's code there is codesign's bug and propagates as one (the CLI keeps its traceback); a CodesignError a pass
raises on purpose (a SpecError: an override naming no layer) passes through as it is.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

from codesign.errors import CodesignError, ModelError

PACKAGE = Path(__file__).resolve().parent


def hls4ml_graph(keras_model, hls_config: dict, refusal: str, output_dir: Path | str | None = None, quiet: bool = True, **settings):
    """hls4ml's graph of the model (converted, nothing written): in `output_dir`, else in a scratch folder removed
    after (the graph is then read, not written); hls4ml's printing and warnings kept off the terminal unless `quiet`
    is False (the caller has sent them to its log). `refusal`: the error's text before hls4ml's reason; `settings`:
    convert_from_keras_model's (backend, part, clock_period, io_type, project_name, bit_exact)."""
    import hls4ml

    with contextlib.ExitStack() as stack:
        folder = output_dir if output_dir is not None else stack.enter_context(tempfile.TemporaryDirectory(prefix="codesign-convert-"))
        if quiet:
            stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
        try:
            return hls4ml.converters.convert_from_keras_model(keras_model, hls_config=hls_config, output_dir=str(folder), **settings)
        except CodesignError:
            raise
        except Exception as error:  # hls4ml raises bare Exception/ValueError for what it cannot take
            if raised_in_codesign(error):
                raise
            raise ModelError(f"{refusal}: {failed_pass(error)}{one_line(error)}") from None


def failed_pass(error: BaseException) -> str:
    """'its pass P failed on layer L (class): ' where hls4ml's optimizer raised the error in a pass over one layer
    (hls4ml's own message names neither: a fold's 'operands could not be broadcast together'), else ''."""
    from hls4ml.model.optimizer import ModelOptimizerPass

    trace, where = error.__traceback__, ""
    while trace is not None:
        seen = trace.tb_frame.f_locals if trace.tb_frame.f_code.co_name == "optimize_model" else {}
        if "opt_name" in seen and isinstance(seen.get("opt"), ModelOptimizerPass):  # a pass over the whole graph
            where = f"its pass '{seen['opt_name']}' failed: "
        elif "opt_name" in seen and "node" in seen:
            where = f"its pass '{seen['opt_name']}' failed on layer '{seen['node'].name}' ({seen['node'].class_name}): "
        trace = trace.tb_next
    return where


def raised_in_codesign(error: BaseException) -> bool:
    """Whether codesign's own code ran where the exception was raised: a frame of the package below the call into
    hls4ml (the first frame, the caller's, is codesign's whatever happened)."""
    frames = []
    trace = error.__traceback__
    while trace is not None:
        frames.append(Path(trace.tb_frame.f_code.co_filename).resolve())
        trace = trace.tb_next
    return any(frame.is_relative_to(PACKAGE) for frame in frames[1:])


def one_line(error: BaseException) -> str:
    """An exception's message on one line, at most 200 characters (its class where it has none)."""
    return " ".join(str(error).split())[:200] or type(error).__name__
