"""Writes the hls4ml 0.4 firmware folders of tests/test_project.py (firmware/ only: what hls4ml 0.4 wrote, no config).

    .venv/bin/pip install --target /tmp/hls4ml-0.4.0 --no-deps hls4ml==0.4.0
    PYTHONPATH=/tmp/hls4ml-0.4.0 .venv/bin/python tests/firmware_cases/write_hls4ml_0_4.py

hls4ml 0.4 (2020) names its kernels by strategy (`conv_1d_large_cl`, `conv_2d_latency_cl`), writes a convolution's
Resource weights channels first, a 1D convolution's width as `n_in` and its stride as `stride`, and a 1D pooling as
`pooling1d` over the flat array. The models and their weights are the test's (old_models.py).
"""

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import hls4ml  # the hls4ml 0.4 on PYTHONPATH
from old_models import OLD_FIRMWARE_MODELS, old_firmware_model  # beside this script

KEPT = ("myproject.cpp", "myproject.h", "parameters.h", "defines.h")

for name, (strategy, reuse) in OLD_FIRMWARE_MODELS.items():
    model = old_firmware_model(name)
    config = hls4ml.utils.config_from_keras_model(model, granularity="model")
    config["Model"].update(Strategy=strategy, ReuseFactor=reuse)
    target = Path(__file__).parent / name / "firmware"
    shutil.rmtree(target.parent, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch, contextlib.redirect_stdout(io.StringIO()):
        graph = hls4ml.converters.convert_from_keras_model(model, hls_config=config, output_dir=scratch, fpga_part="xc7z020clg400-1",
                                                           clock_period=10)
        graph.write()
        (target / "weights").mkdir(parents=True)
        for kept in KEPT:
            shutil.copy(Path(scratch) / "firmware" / kept, target / kept)
        for weights in (Path(scratch) / "firmware" / "weights").glob("*.txt"):
            shutil.copy(weights, target / "weights" / weights.name)
    print("wrote", target)
