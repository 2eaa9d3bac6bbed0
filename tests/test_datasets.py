"""Datasets: toy sets, digits, MNIST from IDX and npz files, standardisation and splitting."""

import gzip
import sys

import numpy as np
import pytest

from explorer import datasets


@pytest.mark.parametrize("name", datasets.TOY_SETS)
def test_toy_sets_are_balanced_seeded_and_bounded(name):
    d = datasets.toy(name, n=301, noise=0.1, seed=4)
    assert d.X.shape == (301, 2) and d.y.shape == (301,)
    assert set(np.unique(d.y)) == {0, 1} and abs(int(d.y.sum()) - 150) <= 1
    assert np.all(np.abs(d.X) < 3)
    again = datasets.toy(name, n=301, noise=0.1, seed=4)
    assert np.array_equal(d.X, again.X) and np.array_equal(d.y, again.y)
    assert not np.array_equal(d.X, datasets.toy(name, n=301, noise=0.1, seed=5).X)


def test_noise_is_added_with_the_asked_spread():
    clean = datasets.toy("circles", n=4000, noise=0.0, seed=1)
    noisy = datasets.toy("circles", n=4000, noise=0.2, seed=1)
    radius = np.hypot(*clean.X.T)
    assert np.allclose(radius[clean.y == 0], 1) and np.allclose(radius[clean.y == 1], 0.5)
    # same angles, noise drawn after: the difference is the noise, std 0.2 (se of a std ~ 0.2/sqrt(2n))
    assert np.std(noisy.X - clean.X) == pytest.approx(0.2, abs=5 * 0.2 / np.sqrt(2 * 8000))


def test_xor_labels_follow_the_quadrants():
    d = datasets.toy("xor", n=500, noise=0.0, seed=0)
    assert np.array_equal(d.y, (d.X[:, 0] * d.X[:, 1] > 0).astype(int))


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="swirl"), "swirl.*circles, spiral, xor, gaussians, moons"),
    (dict(name="xor", n=1), "n=1"),
    (dict(name="xor", noise=-1.0), "noise=-1.0"),
    (dict(name="xor", noise=float("nan")), "noise=nan"),
])
def test_bad_toy_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        datasets.toy(**kwargs)


def test_digits_are_the_builtin_1797():
    d = datasets.digits()
    assert d.X.shape == (1797, 64) and set(np.unique(d.y)) == set(range(10))
    assert d.X.min() == 0 and d.X.max() == 16
    assert d.name == "digits" and d.classes == tuple("0123456789")


def test_the_shipped_digits_are_scikit_learns_element_for_element():
    from sklearn.datasets import load_digits  # only here: the package reads its own copy of the file

    theirs = load_digits()
    d = datasets.digits()
    assert d.X.dtype == np.float64 and d.y.dtype == np.int64 and d.X.flags.c_contiguous
    assert d.X.shape == theirs.data.shape and d.y.shape == theirs.target.shape
    assert np.array_equal(d.X, theirs.data) and np.array_equal(d.y, theirs.target)  # same images, same order


def test_the_digits_need_neither_scikit_learn_nor_scipy(monkeypatch):
    for name in ("sklearn", "sklearn.datasets", "scipy"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of them would now raise ImportError
    d = datasets.digits()
    assert d.X.shape == (1797, 64) and d.y[:10].tolist() == list(range(10))  # the file starts 0, 1, ..., 9


def write_mnist(folder, gz, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    parts = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for name, array in parts.items():
        datasets.write_idx(folder / (name + (".gz" if gz else "")), array)
    return parts


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_files(tmp_path, gz):
    parts = write_mnist(tmp_path, gz)
    train, test = datasets.mnist(tmp_path)
    assert train.X.shape == (6, 784) and test.X.shape == (4, 784)
    assert np.array_equal(train.X, parts["train-images-idx3-ubyte"].reshape(6, 784))
    assert np.array_equal(test.y, parts["t10k-labels-idx1-ubyte"])


def test_mnist_from_npz(tmp_path):
    rng = np.random.default_rng(1)
    arrays = dict(x_train=rng.integers(0, 256, (5, 28, 28)), y_train=np.arange(5),
                  x_test=rng.integers(0, 256, (3, 28, 28)), y_test=np.arange(3))
    np.savez(tmp_path / "mnist.npz", **arrays)
    train, test = datasets.mnist(tmp_path / "mnist.npz")
    assert train.X.shape == (5, 784) and np.array_equal(test.y, [0, 1, 2])
    np.savez(tmp_path / "partial.npz", x_train=arrays["x_train"])
    with pytest.raises(ValueError, match="lacks x_test, y_test, y_train"):
        datasets.mnist(tmp_path / "partial.npz")


def test_mnist_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.mnist(tmp_path / "nowhere")
    write_mnist(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        datasets.mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(ValueError, match="truncated"):
        datasets.read_idx(path)
    path.write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(path)
    bad_gz = tmp_path / "x.gz"
    bad_gz.write_bytes(b"\x1f\x8b broken")
    with pytest.raises(ValueError, match="could not be read"):
        datasets.read_idx(bad_gz)
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="header is incomplete"):
        datasets.read_idx(tmp_path / "short.gz")


def test_standardize_uses_training_statistics():
    rng = np.random.default_rng(0)
    train = rng.normal(5, 3, (1000, 4))
    train[:, 3] = 7.0  # a constant feature: centred, not divided by zero
    test = rng.normal(5, 3, (10, 4))
    tr, te = datasets.standardize(train, test)
    assert np.allclose(tr.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(tr.std(axis=0)[:3], 1) and np.all(tr[:, 3] == 0)
    assert np.allclose(te, (test - train.mean(axis=0)) / np.where(train.std(axis=0) > 0, train.std(axis=0), 1))


def test_split_is_seeded_and_disjoint():
    d = datasets.digits()
    a_train, a_test = datasets.train_test_split(d, 0.2, seed=3)
    b_train, b_test = datasets.train_test_split(d, 0.2, seed=3)
    assert len(a_test) == 359 and len(a_train) == 1797 - 359
    assert np.array_equal(a_test.X, b_test.X)
    rows = {r.tobytes() for r in a_train.X}
    assert sum(r.tobytes() in rows for r in a_test.X) < 5  # the digits hold a few duplicate images
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.train_test_split(d, 1.5)


def test_grid_covers_the_points_and_reshapes_row_by_row():
    X = np.array([[-1.0, 0.0], [3.0, 2.0]])
    g = datasets.grid(X, resolution=5, margin=0.25)
    assert g.xs[0] == -2.0 and g.xs[-1] == 4.0 and g.ys[0] == -0.5 and g.ys[-1] == 2.5
    pts = g.points
    assert pts.shape == (25, 2)
    image = g.as_image(pts[:, 0] * 10 + pts[:, 1])
    assert image[2, 3] == g.xs[3] * 10 + g.ys[2]
    with pytest.raises(ValueError, match="resolution=1"):
        datasets.grid(X, resolution=1)


