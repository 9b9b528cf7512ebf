"""Quantization-aware training of the QKeras model and, the same way, its float twin (the CPU/GPU reference)."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from codesign.config import Spec
from codesign.data import Dataset
from codesign.model import build_float, build_qkeras, check_output_shape
from codesign.progress import Progress

Say = Callable[[str], None]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic, so a rerun gives the same weights."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_models(spec: Spec, data: Dataset, say: Say) -> tuple[object, object, dict]:
    """Train the QKeras model and its float twin with the same seed, schedule and data; return both and metrics."""
    num_classes = data.num_classes if data.is_classification else None
    metrics = {}
    trained = []
    for kind, builder in (("qkeras", build_qkeras), ("float", build_float)):
        seed_everything(spec.training.seed)
        model = builder(spec, data.input_shape)
        check_output_shape(model, "model.layers", num_classes)
        if spec.training.enabled:
            say(f"  training the {kind} model ({model.count_params():,} parameters, {spec.training.epochs} epochs)")
            model, history = _fit(model, spec, data, Progress(spec.training.epochs, f"training {kind}", "epoch", say))
        else:
            say(f"  not training the {kind} model ({model.count_params():,} parameters): seeded random weights")
            history = {}
        metrics[kind] = {"history": history, **evaluate(model, data)}
        trained.append(model)
    return trained[0], trained[1], metrics


def _fit(model, spec: Spec, data: Dataset, progress: Progress):
    """Compile and fit, with magnitude pruning when the spec asks for it; returns the stripped model."""
    import tensorflow as tf

    training = spec.training
    steps_per_epoch = int(np.ceil(len(data.x_train) * (1 - training.validation_fraction) / training.batch_size))
    callbacks: list = [_epoch_reporter(training.epochs, progress)]
    if training.pruning_sparsity:
        model, pruning_callbacks = _with_pruning(model, training.pruning_sparsity, steps_per_epoch * training.epochs)
        callbacks += pruning_callbacks
    model.compile(
        optimizer=tf.keras.optimizers.Adam(training.learning_rate),
        loss=_loss(data),
        metrics=["accuracy"] if data.is_classification else [],
    )
    history = model.fit(
        data.x_train,
        data.y_train,
        epochs=training.epochs,
        batch_size=training.batch_size,
        validation_split=training.validation_fraction,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    progress.close()
    if training.pruning_sparsity:
        import tensorflow_model_optimization as tfmot

        model = tfmot.sparsity.keras.strip_pruning(model)
    return model, {key: [float(v) for v in values] for key, values in history.history.items()}


def _with_pruning(model, sparsity: float, total_steps: int):
    """Wrap the conv/dense layers in magnitude pruning that reaches `sparsity` after 70% of training."""
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    schedule = tfmot.sparsity.keras.PolynomialDecay(0.0, sparsity, begin_step=0, end_step=max(1, int(total_steps * 0.7)))

    def wrap(layer):
        if hasattr(layer, "kernel") or hasattr(layer, "depthwise_kernel"):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    pruned = tf.keras.models.clone_model(model, clone_function=wrap)
    return pruned, [tfmot.sparsity.keras.UpdatePruningStep()]


def _loss(data: Dataset):
    """Logits in, so softmax stays on the host: cross-entropy for labels, MSE for regression targets."""
    import tensorflow as tf

    if data.is_classification:
        return tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return tf.keras.losses.MeanSquaredError()


def evaluate(model, data: Dataset) -> dict:
    """Test-set accuracy (a classifier), MAE and RMSE (a regression), or a note saying why there is neither."""
    from codesign.outputs import described, first_output, outputs_line, predicted, several
    from codesign.validate import task_metrics, task_of

    scored = first_output(model, predicted(model, data.x_test))
    task, note = task_of(tuple(scored.shape[1:]), data.y_test)
    metrics = task_metrics(scored, data.y_test, task)
    if task is None:
        return {"note": note}
    return {f"test_{key}": value for key, value in metrics.items()} | ({"note": outputs_line(described(model))} if several(model) else {})


def weight_sparsity(model) -> float:
    """Fraction of exactly-zero kernel weights over the conv/dense layers."""
    zeros = total = 0
    for layer in model.layers:
        for weight in layer.weights:
            if "kernel" in weight.name:
                values = weight.numpy()
                zeros += int((values == 0).sum())
                total += values.size
    return zeros / total if total else 0.0


def _epoch_reporter(epochs: int, progress: Progress):
    """A Keras callback advancing the progress bar by one epoch with its metrics (a printed line where no bar shows)."""
    import tensorflow as tf

    started = [0.0]

    def begin(epoch, logs=None):
        started[0] = time.perf_counter()

    def end(epoch, logs=None):
        shown = "  ".join(f"{key} {value:.4f}" for key, value in (logs or {}).items())
        progress.advance(1, f"  epoch {epoch + 1}/{epochs}  {shown}  ({time.perf_counter() - started[0]:.1f} s)")

    return tf.keras.callbacks.LambdaCallback(on_epoch_begin=begin, on_epoch_end=end)
