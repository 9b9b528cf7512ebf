"""Datasets as plain arrays: bundled digits offline, a user's .npz, and network loaders that fail clearly offline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.config import DatasetSpec
from codesign.errors import DataError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
SHAPES = {"digits": ((8, 8, 1), 10), "mnist": ((28, 28, 1), 10), "cifar10": ((32, 32, 3), 10), "svhn": ((32, 32, 3), 10)}
SYNTHETIC_WARNING = "SYNTHETIC DATA: random inputs and labels, accuracy is meaningless (conversion, bit-exactness, estimates and timings still hold)"
KERAS_DATA = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays; x is float32 NHWC (or N,features), y holds integer labels or regression targets."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    synthetic: bool = False
    note: str | None = None  # how the labels were read, said once when the data are loaded

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def is_classification(self) -> bool:
        """Integer labels in one column: accuracy means something."""
        return self.y_train.ndim == 1 and np.issubdtype(self.y_train.dtype, np.integer)

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def digest(self) -> str:
        """sha256 over every array, so a step reruns when the data changed."""
        hasher = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            hasher.update(str((array.dtype, array.shape)).encode())
            hasher.update(np.ascontiguousarray(array).tobytes())
        return hasher.hexdigest()


def load_dataset(spec: DatasetSpec, seed: int = 0, cache_dir: str | Path | None = None) -> Dataset:
    """Load the dataset a spec names; network loaders raise DataError offline, never substitute data."""
    if spec.synthetic:
        return synthetic(spec.name, *spec.synthetic_samples, seed=seed)
    if spec.name == "digits":
        return load_digits(spec.test_fraction, seed)
    if spec.name == "npz":
        return load_npz(Path(spec.path))
    return load_online(spec.name, cache_dir)


def synthetic(name: str, train: int, test: int, seed: int = 0) -> Dataset:
    """Random images in [0, 1) and random labels of a named dataset's shape; only ever when asked for."""
    shape, classes = SHAPES[name]
    rng = np.random.default_rng(seed)
    return Dataset(
        f"{name} (synthetic)",
        rng.random((train, *shape), dtype=np.float32),
        rng.integers(0, classes, train),
        rng.random((test, *shape), dtype=np.float32),
        rng.integers(0, classes, test),
        synthetic=True,
    )


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits (offline), pixels scaled to [0, 1) as multiples of 1/16."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return Dataset("digits", x_train, y_train, x_test, y_test)


def load_npz(path: Path) -> Dataset:
    """A user's .npz with x_train, y_train, x_test, y_test; checked for keys, shapes, dtypes and finiteness."""
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)} (needs {', '.join(NPZ_KEYS)})")
            arrays = {key: archive[key] for key in NPZ_KEYS}
            synthetic = bool(archive["synthetic"]) if "synthetic" in archive.files else False  # codesign import's inputs
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    _check_arrays(path, arrays)
    x_train, x_test = (arrays[key].astype(np.float32) for key in ("x_train", "x_test"))
    note = None
    if all(_one_hot(arrays[key]) for key in ("y_train", "y_test")) and arrays["y_train"].shape[1:] == arrays["y_test"].shape[1:]:
        classes = arrays["y_train"].shape[1]
        arrays = {**arrays, "y_train": arrays["y_train"].argmax(axis=1), "y_test": arrays["y_test"].argmax(axis=1)}
        note = f"{path.name}: y_train and y_test are one-hot (rows of 0 and 1 summing to 1): read as class labels 0-{classes - 1}"
    y_train, y_test = (_labels(arrays[key]) for key in ("y_train", "y_test"))
    return Dataset(path.stem, x_train, y_train, x_test, y_test, synthetic=synthetic, note=note)


def _one_hot(y: np.ndarray) -> bool:
    """Rows of 0 and 1 with exactly one 1 (Keras's to_categorical, the hls4ml tutorial's labels)."""
    return y.ndim == 2 and y.shape[1] >= 2 and bool(np.isin(y, (0, 1)).all()) and bool((y.sum(axis=1) == 1).all())


def _check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Name the array and the problem: shapes that disagree, non-numeric dtype, NaN/inf, empty sets."""
    for key, array in arrays.items():
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise DataError(f"{path}: '{key}' has dtype {array.dtype}, expected numbers")
        if array.shape[0] == 0:
            raise DataError(f"{path}: '{key}' is empty")
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise DataError(f"{path}: '{key}' contains NaN or inf")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DataError(f"{path}: x_{split} has {len(x)} samples but y_{split} has {len(y)}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(
            f"{path}: x_train samples are {arrays['x_train'].shape[1:]} but x_test samples are "
            f"{arrays['x_test'].shape[1:]}"
        )
    if arrays["x_train"].ndim < 2:
        raise DataError(f"{path}: x_train must be (samples, ...features), got shape {arrays['x_train'].shape}")
    y_train = arrays["y_train"]
    if y_train.ndim == 1 and np.issubdtype(y_train.dtype, np.integer) and min(y_train.min(), arrays["y_test"].min()) < 0:
        raise DataError(f"{path}: labels must be >= 0 (found {min(y_train.min(), arrays['y_test'].min())})")


def _labels(y: np.ndarray) -> np.ndarray:
    """Integer class labels stay int64; anything else (regression targets) becomes float32."""
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    return y.astype(np.float32)


def load_online(name: str, cache_dir: str | Path | None = None) -> Dataset:
    """MNIST / CIFAR-10 via keras.datasets, SVHN via its .mat files; DataError when they cannot be fetched."""
    try:
        if name == "svhn":
            return _load_svhn(cache_dir)
        return _load_keras_dataset(name, cache_dir)
    except DataError:
        raise
    except Exception as error:  # a download failure surfaces as many exception types (URLError, OSError, ...)
        raise DataError(
            f"dataset '{name}' could not be downloaded ({type(error).__name__}: {str(error).splitlines()[0][:120]}); "
            "it needs network access once, or use dataset 'npz' with your own copy"
        ) from None


def _load_keras_dataset(name: str, cache_dir: str | Path | None) -> Dataset:
    """MNIST / CIFAR-10 from the files keras.datasets uses, through get_file (cached under cache_dir or ~/.keras)."""
    from tensorflow import keras

    if name == "mnist":
        path = keras.utils.get_file("mnist.npz", origin=f"{KERAS_DATA}mnist.npz", cache_dir=cache_dir)
        with np.load(path) as archive:
            x_train, y_train, x_test, y_test = (archive[key] for key in NPZ_KEYS)
        x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
    else:
        from keras.datasets.cifar import load_batch

        folder = Path(
            keras.utils.get_file(
                "cifar-10-batches-py", origin=f"{KERAS_DATA}cifar-10-python.tar.gz", untar=True, cache_dir=cache_dir
            )
        )
        batches = [load_batch(str(folder / f"data_batch_{i}")) for i in range(1, 6)]
        x_train = np.concatenate([x for x, _ in batches]).transpose(0, 2, 3, 1)
        y_train = np.concatenate([y for _, y in batches])
        x_test, y_test = load_batch(str(folder / "test_batch"))
        x_test = x_test.transpose(0, 2, 3, 1)
    return Dataset(
        name,
        (x_train / 255.0).astype(np.float32),
        np.asarray(y_train).reshape(-1).astype(np.int64),
        (x_test / 255.0).astype(np.float32),
        np.asarray(y_test).reshape(-1).astype(np.int64),
    )


def _load_svhn(cache_dir: str | Path | None) -> Dataset:
    """SVHN cropped digits (32x32x3) from the Stanford .mat files; label 10 means digit 0."""
    from scipy.io import loadmat
    from tensorflow import keras

    base = "http://ufldl.stanford.edu/housenumbers/"
    splits = {}
    for split in ("train", "test"):
        path = keras.utils.get_file(f"svhn_{split}_32x32.mat", origin=f"{base}{split}_32x32.mat", cache_dir=cache_dir)
        mat = loadmat(path)
        x = np.transpose(mat["X"], (3, 0, 1, 2)).astype(np.float32) / 255.0
        y = mat["y"].reshape(-1).astype(np.int64) % 10
        splits[split] = (x, y)
    return Dataset("svhn", splits["train"][0], splits["train"][1], splits["test"][0], splits["test"][1])
