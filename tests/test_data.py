"""Datasets: bundled digits offline, a user's .npz checked for content, network loaders failing clearly."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.config import DatasetSpec
from codesign.data import load_dataset, load_digits, load_npz, load_online
from codesign.errors import DataError


def test_digits_split_is_stratified_and_seeded():
    first, again, other = load_digits(0.2, seed=0), load_digits(0.2, seed=0), load_digits(0.2, seed=1)
    assert first.x_train.shape[1:] == (8, 8, 1) and first.x_train.dtype == np.float32
    assert len(first.x_test) == 360 and len(first.x_train) == 1437
    assert np.array_equal(first.x_test, again.x_test)
    assert not np.array_equal(first.x_test, other.x_test)
    assert set(np.unique(first.y_test)) == set(range(10))
    assert first.x_train.max() <= 1.0 and np.all(first.x_train * 16 == np.round(first.x_train * 16))
    assert first.digest() == again.digest() != other.digest()


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _good_arrays(rng):
    return dict(
        x_train=rng.random((20, 4, 4, 1)).astype(np.float32),
        y_train=rng.integers(0, 3, 20),
        x_test=rng.random((6, 4, 4, 1)).astype(np.float32),
        y_test=rng.integers(0, 3, 6),
    )


def test_npz_roundtrip(tmp_path):
    arrays = _good_arrays(np.random.default_rng(0))
    data = load_dataset(DatasetSpec(name="npz", path=str(_write(tmp_path / "d.npz", **arrays))))
    assert data.input_shape == (4, 4, 1)
    assert data.is_classification and data.num_classes == max(arrays["y_train"].max(), arrays["y_test"].max()) + 1
    assert np.array_equal(data.x_test, arrays["x_test"])


def test_npz_regression_targets_are_kept(tmp_path):
    arrays = _good_arrays(np.random.default_rng(0))
    arrays["y_train"], arrays["y_test"] = np.random.rand(20, 2), np.random.rand(6, 2)
    data = load_npz(_write(tmp_path / "r.npz", **arrays))
    assert not data.is_classification and data.y_train.shape == (20, 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("y_test"), "missing array\\(s\\) y_test"),
        (lambda a: a.update(y_train=a["y_train"][:5]), "x_train has 20 samples but y_train has 5"),
        (lambda a: a.update(x_test=np.zeros((6, 5, 4, 1), np.float32)), "x_test samples are"),
        (lambda a: a["x_train"].__setitem__((0, 0, 0, 0), np.nan), "'x_train' contains NaN or inf"),
        (lambda a: a.update(y_test=np.array([-1, 0, 1, 2, 0, 1])), "labels must be >= 0"),
        (lambda a: a.update(x_train=np.array(["a"] * 20)), "'x_train' has dtype"),
    ],
)
def test_bad_npz_names_the_problem(tmp_path, change, message):
    arrays = _good_arrays(np.random.default_rng(0))
    change(arrays)
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_npz(path)


def test_missing_and_unreadable_npz(tmp_path):
    with pytest.raises(DataError, match="data file not found"):
        load_npz(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(tmp_path / "junk.npz")


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn"])
def test_network_loaders_fail_clearly_offline(monkeypatch, tmp_path, name):
    """Offline, the download raises; the loader must say so, never hand back other data."""
    from tensorflow import keras

    def no_network(*args, **kwargs):
        raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(DataError, match=f"dataset '{name}' could not be downloaded.*network"):
        load_online(name, cache_dir=tmp_path)
