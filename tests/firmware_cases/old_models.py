"""The models of the hls4ml 0.4 firmware folders beside this file, with weights a test can tell apart (each kernel
value its position in Keras's layout)."""

import numpy as np

OLD_FIRMWARE_MODELS = {"hls4ml_0_4_conv1d_resource": ("Resource", 1), "hls4ml_0_4_conv2d_latency": ("Latency", 1)}


def old_firmware_model(name: str):
    """The Keras model `name` was written from: every weight a distinct multiple of 1/64 (exact in ap_fixed<16,6>)."""
    from tensorflow import keras

    layers = keras.layers
    if name == "hls4ml_0_4_conv1d_resource":
        model = keras.Sequential([keras.Input((16, 3)), layers.Conv1D(4, 5, padding="same", name="conv1"), layers.Activation("relu", name="relu1"),
                                  layers.MaxPooling1D(2, name="pool1"), layers.Conv1D(3, 3, strides=2, name="conv2"),
                                  layers.Flatten(name="flatten"), layers.Dense(4, name="fc1")])
    else:
        model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, 3, name="conv1"), layers.Activation("relu", name="relu1"),
                                  layers.MaxPooling2D(2, name="pool1"), layers.Flatten(name="flatten"), layers.Dense(4, name="fc1")])
    model.set_weights([(np.arange(w.size).reshape(w.shape) % 61 - 30) / 64 for w in model.get_weights()])
    return model
