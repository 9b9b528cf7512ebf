"""Deprecation warnings that codesign's dependencies raise about their own code, silenced where codesign calls them.

A user's test session or notebook should show warnings about the user's code, not 100 lines about matplotlib's
use of pyparsing. The filters are applied only around codesign's calls into those libraries (never installed
globally), so warnings from the user's own calls to the same libraries still show.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import warnings
from contextlib import contextmanager

# (module the warning is attributed to, message) pairs, regular expressions as warnings.filterwarnings takes them
DEPENDENCY_DEPRECATIONS = (
    (r"matplotlib\..*", ""),  # matplotlib 3.9 calls pyparsing 3.3's camelCase names (oneOf, parseString, ...)
    (r"tensorflow\..*", ""),  # TensorFlow 2.14 on import: ml_dtypes.float8_e4m3b11
    (r"tensorflow_model_optimization(\..*)?", ""),  # distutils LooseVersion on import
    (r"random", r"non-integer arguments to randrange"),  # Keras initializers called by QKeras with float bounds
    (r"keras\..*", ""),
    (r"qkeras\..*", ""),
    (r"hls4ml\..*", ""),
)
DEPENDENCY_NOTICES = (  # UserWarnings Keras raises about QKeras's objects on every save: not the user's to act on
    r"The `keras.constraints.serialize\(\)` API should only be used for objects of type",
    r"You are saving your model as an HDF5 file via `model.save\(\)`",
)


@contextmanager
def dependency_warnings_silenced():
    """Inside: the dependencies' own deprecation warnings (DEPENDENCY_DEPRECATIONS) are ignored, and so are
    TensorFlow's start-up chatter and its retracing notices (logged for codesign's predict calls, not the user's);
    everything is as it was afterwards."""
    tensorflow_logger = logging.getLogger("tensorflow")
    level, cpp_level = tensorflow_logger.level, os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    if "tensorflow" not in sys.modules and cpp_level is None:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # as the CLI; TensorFlow reads it once, when it loads
    tensorflow_logger.setLevel(max(level, logging.ERROR))
    try:
        with warnings.catch_warnings():
            for module, message in DEPENDENCY_DEPRECATIONS:
                warnings.filterwarnings("ignore", message=message, category=DeprecationWarning, module=module)
            for message in DEPENDENCY_NOTICES:
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            yield
    finally:
        tensorflow_logger.setLevel(level)
        if cpp_level is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)


def quiet_dependencies(function):
    """Decorator: run `function` with the dependencies' own deprecation warnings silenced."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with dependency_warnings_silenced():
            return function(*args, **kwargs)

    return wrapper
