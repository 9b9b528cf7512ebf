"""A model's outputs as one array per sample: a model of several outputs has them side by side, each flattened, in
the model's order, which is hls4ml's order of the firmware's outputs, so every comparison covers every value."""

from __future__ import annotations

import numpy as np


def output_names(model) -> list[str]:
    """The layers whose results the model returns, in its order."""
    return list(model.output_names)


def output_sizes(model) -> list[int]:
    """Values per sample of each output, in the model's order."""
    return [int(np.prod(tensor.shape[1:])) for tensor in model.outputs]


def several(model) -> bool:
    """Whether the model has more than one output (each compared, side by side)."""
    return len(model.outputs) > 1


def predicted(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """model.predict: its one output as Keras shapes it, or several outputs flattened side by side."""
    outputs = model.predict(x, batch_size=batch_size, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        return outputs
    return np.concatenate([np.asarray(output).reshape(len(x), -1) for output in outputs], axis=1)


def scored_shape(model) -> tuple[int, ...] | None:
    """The shape of the output accuracy or error is measured on when the model has several (its first: the data hold
    one set of labels); None for a model of one output (all of it)."""
    return tuple(int(size) for size in model.outputs[0].shape[1:]) if several(model) else None


def first_output(model, outputs: np.ndarray) -> np.ndarray:
    """The part of `predicted`'s outputs that accuracy or error is measured on: all of a model of one output, the
    first output in its own shape for a model of several (the data hold one set of labels)."""
    shape = scored_shape(model)
    return outputs if shape is None else outputs[:, :int(np.prod(shape))].reshape(len(outputs), *shape)


def described(model, heads: list[dict] | None = None) -> list[dict] | None:
    """Each output's layer, values per sample and the float heads on the host that read it (output_heads's), in the order
    compared, for a model of several; None otherwise."""
    if not several(model):
        return None
    return [{"name": name, "size": size, "heads": [f"{head['function']} '{head['layer']}'" for head in heads or () if head["logits"] == name]}
            for name, size in zip(output_names(model), output_sizes(model))]


def outputs_line(outputs: list[dict]) -> str:
    """The line a report shows for a model of several outputs: which are compared, which one is scored."""
    shown = ", ".join(f"'{output['name']}' ({output['size']}" + "".join(f"; {head} on the host" for head in output.get("heads", ())) + ")"
                      for output in outputs)
    return f"{len(outputs)} outputs compared side by side: {shown}; accuracy or error on '{outputs[0]['name']}' (the data hold one set of labels)"
