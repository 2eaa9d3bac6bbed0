"""Data for the demos: 2-D toy sets, the built-in 8x8 digits, and MNIST from local files.

Every function returns plain numpy arrays with one example per row: X (m, features) as float64 and
y (m,) as integer labels. Everything random takes a seed, and the same seed gives the same data.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from numbers import Real

import numpy as np

from explorer import checks

TOY_SETS = ("circles", "spiral", "xor", "gaussians", "moons")
MAX_POINTS = 1_000_000
MAX_NOISE = 100.0  # the toy sets' coordinates are of order 1: more noise than this is a typo
MAX_IDX_BYTES = 2_000_000_000  # an IDX file whose header promises more data than this is refused before reading


def _check_path(name: str, path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}={path!r} must be a file or folder name (str or pathlib.Path)")
    return os.fspath(path)


@dataclass
class Dataset:
    """Inputs X (m, n) and integer labels y (m,), with class names for display."""

    X: np.ndarray
    y: np.ndarray
    name: str
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.X, self.y = np.asarray(self.X), np.asarray(self.y)
        if self.X.ndim != 2 or self.y.ndim != 1 or len(self.X) != len(self.y):
            raise ValueError(
                f"X has shape {self.X.shape} and y {self.y.shape}; expected X (m, n) and y (m,), one label per row"
            )

    def __len__(self) -> int:
        return len(self.y)


# ---------------------------------------------------------------------------------------------
# 2-D toy sets: two classes, labels 0 and 1.


def toy(name: str, n: int = 300, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A two-class 2-D toy set: circles, spiral, xor, gaussians or moons.

    n points (half per class, the odd one to class 1), Gaussian noise of standard deviation `noise`
    added to each coordinate, coordinates of order 1.
    """
    if not isinstance(name, str) or name not in TOY_SETS:
        raise ValueError(f"dataset={name!r} is unknown; valid: {', '.join(TOY_SETS)}")
    n = checks.count("n", n, 2, MAX_POINTS)
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, Real) or not 0 <= noise <= MAX_NOISE:
        raise ValueError(f"noise={noise!r} must be a finite number from 0 to {MAX_NOISE:g}")
    rng = np.random.default_rng(checks.seed(seed))
    n0 = n // 2
    n1 = n - n0
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    X = _TOY[name](rng, n0, n1)
    X = X + noise * rng.standard_normal(X.shape)
    return Dataset(X, y, name, ("class 0", "class 1"))


def _circles(rng, n0, n1):
    """An inner disc of radius 0.5 (class 1) inside a ring of radius 1 (class 0)."""
    angle = rng.uniform(0, 2 * np.pi, n0 + n1)
    radius = np.concatenate([np.ones(n0), 0.5 * np.ones(n1)])
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def _spiral(rng, n0, n1):
    """Two interleaved arms of one spiral, turning 1.5 times out to radius 1."""
    arms = []
    for count, offset in ((n0, 0.0), (n1, np.pi)):
        t = np.sqrt(rng.uniform(0.02, 1, count))  # more points further out, where the arm is longer
        angle = 3 * np.pi * t + offset
        arms.append(np.column_stack([t * np.cos(angle), t * np.sin(angle)]))
    return np.vstack(arms)


def _xor(rng, n0, n1):
    """Points in [-1, 1]^2: class 1 where x1 and x2 have the same sign (quadrants I and III)."""
    def quadrant_points(count, same_sign):
        p = rng.uniform(0.05, 1, (count, 2))
        sign = rng.choice([-1.0, 1.0], count)
        return p * np.column_stack([sign, sign if same_sign else -sign])

    return np.vstack([quadrant_points(n0, False), quadrant_points(n1, True)])


def _gaussians(rng, n0, n1):
    """Two round clouds of standard deviation 0.5 around (-1, -1) and (1, 1)."""
    return np.vstack([rng.normal(-1, 0.5, (n0, 2)), rng.normal(1, 0.5, (n1, 2))])


def _moons(rng, n0, n1):
    """Two interleaving half circles of radius 1."""
    a0 = rng.uniform(0, np.pi, n0)
    a1 = rng.uniform(0, np.pi, n1)
    upper = np.column_stack([np.cos(a0), np.sin(a0)])
    lower = np.column_stack([1 - np.cos(a1), 0.5 - np.sin(a1)])
    return np.vstack([upper, lower]) - [0.5, 0.25]


_TOY = {"circles": _circles, "spiral": _spiral, "xor": _xor, "gaussians": _gaussians, "moons": _moons}


@dataclass
class Grid:
    """A regular grid over the plane: axis values `xs`, `ys` and all points as rows (len(ys)*len(xs), 2)."""

    xs: np.ndarray
    ys: np.ndarray

    @property
    def points(self) -> np.ndarray:
        gx, gy = np.meshgrid(self.xs, self.ys)  # row i of the picture is ys[i]
        return np.column_stack([gx.ravel(), gy.ravel()])

    def as_image(self, values: np.ndarray) -> np.ndarray:
        """Values at `points`, reshaped as an image: rows follow ys, columns follow xs."""
        return np.asarray(values).reshape(len(self.ys), len(self.xs))


def grid(X: np.ndarray, resolution: int = 60, margin: float = 0.25) -> Grid:
    """A resolution x resolution grid covering the 2-D points X, widened by `margin` of their span."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"X has shape {X.shape}; a grid needs 2-D points (m, 2)")
    if not np.all(np.isfinite(X)):
        raise ValueError("X holds NaN or infinite values; a grid needs finite points")
    if not checks.is_count(resolution, 2, 1000):
        raise ValueError(f"resolution={resolution!r} must be an integer from 2 to 1000")
    if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, Real) or not 0 <= margin <= 10:
        raise ValueError(f"margin={margin!r} must be a number from 0 to 10 (a fraction of the points' span)")
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * np.maximum(high - low, 1e-9)
    return Grid(np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
                np.linspace(low[1] - pad[1], high[1] + pad[1], resolution))


# ---------------------------------------------------------------------------------------------
# Real handwritten digits.


DIGITS_FILE = os.path.join(os.path.dirname(__file__), "data", "digits.csv.gz")


def digits() -> Dataset:
    """The 8x8 handwritten digits: 1,797 images, pixels 0..16, labels 0..9, read from the file shipped with the
    package (explorer/data/digits.csv.gz).

    The file is scikit-learn's own copy of the data behind sklearn.datasets.load_digits (scikit-learn,
    BSD-3-Clause; the UCI "Optical Recognition of Handwritten Digits" data, CC BY 4.0: explorer/data/README.md).
    Shipping it means the digits need numpy only, which matters in a browser page: there, scikit-learn and the
    scipy it needs would cost every visitor about 26 MB of downloads for this 57 kB file. Each row holds the 64 pixels
    of one image, row by row, then its label; it is read the way scikit-learn reads it, and tests check the two
    agree element for element."""
    with gzip.open(DIGITS_FILE, "rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    return Dataset(table[:, :-1].astype(np.float64), table[:, -1].astype(np.int64), "digits",
                   tuple(map(str, range(10))))


def mnist(path: str | os.PathLike) -> tuple[Dataset, Dataset]:
    """MNIST (or any IDX-format image set) from local files: (train, test), pixels 0..255, 784 wide.

    `path` is either an .npz file holding x_train, y_train, x_test, y_test, or a folder with the four
    standard IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
    t10k-labels-idx1-ubyte), each optionally gzipped (.gz).
    """
    path = _check_path("path", path)
    if path.endswith(".npz"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"MNIST file {path!r} does not exist")
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path!r} is not an .npz file (not a zip archive)")
        try:
            with np.load(path) as f:
                missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
                if missing:
                    expected = "x_train, y_train, x_test, y_test"
                    raise ValueError(f"{path!r} lacks {', '.join(sorted(missing))}; expected {expected}")
                parts = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
        except (OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path!r} could not be read as an .npz file: {error}") from None
    else:
        if not os.path.isdir(path):
            raise FileNotFoundError(f"MNIST folder {path!r} does not exist")
        names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        parts = [read_idx(_find(path, name)) for name in names]
    x_train, y_train, x_test, y_test = parts
    out = []
    for x, y, which in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.ndim < 2 or len(x) == 0 or y.ndim != 1:
            raise ValueError(
                f"MNIST {which} set: images have shape {x.shape} and labels {y.shape}; "
                "expected images (m, rows, cols) or (m, pixels) and labels (m,)"
            )
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            found = f"{y.dtype} from {y.min()} to {y.max()}"
            raise ValueError(f"MNIST {which} labels must be integers from 0 to 9; found {found}")
        x = x.reshape(len(x), -1).astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"MNIST {which} images hold NaN or infinite values")
        if len(x) != len(y):
            raise ValueError(f"MNIST {which} set has {len(x)} images but {len(y)} labels")
        out.append(Dataset(x, y.astype(np.int64), f"mnist-{which}", tuple(map(str, range(10)))))
    return out[0], out[1]


def _find(folder: str, name: str) -> str:
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
        full = os.path.join(folder, candidate)
        if os.path.isfile(full):
            return full
    raise FileNotFoundError(f"{name} (or {name}.gz) not found in {folder!r}")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(filename: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or not): a magic number 0x0000TTDD, DD big-endian dimension sizes, data."""
    filename = _check_path("filename", filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"IDX file {filename!r} does not exist")
    opener = gzip.open if filename.endswith(".gz") else open
    try:
        with opener(filename, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES or magic[3] == 0:
                raise ValueError(f"{filename!r} is not an IDX file (bad magic number)")
            dtype = np.dtype(_IDX_TYPES[magic[2]])
            ndim = magic[3]
            header = f.read(4 * ndim)
            if len(header) < 4 * ndim:
                raise ValueError(f"{filename!r} is truncated: its header is incomplete")
            shape = struct.unpack(f">{ndim}I", header)
            expected = math.prod(shape) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise ValueError(
                    f"{filename!r} says it holds shape {shape}, {expected / 1e6:,.0f} MB; "
                    f"at most {MAX_IDX_BYTES / 1e6:,.0f} MB allowed"
                )
            body = f.read(expected + 1)  # one byte more than promised shows padding
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{filename!r} could not be read as IDX: {error}") from None
    if len(body) != expected:
        raise ValueError(
            f"{filename!r} is truncated or padded: {len(body)} data bytes for shape {shape}, expected {expected}"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def write_idx(filename: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array of uint8 as an IDX file (gzipped if the name ends in .gz): for tests and small sets."""
    filename = _check_path("filename", filename)
    values = np.asarray(array)
    bytes_ok = values.ndim > 0 and values.size > 0 and np.all(np.isfinite(values))
    if not (bytes_ok and 0 <= values.min() <= values.max() <= 255):
        raise ValueError(f"array of shape {values.shape} must be non-empty with values from 0 to 255 (uint8)")
    array = np.ascontiguousarray(values, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if os.fspath(filename).endswith(".gz") else open
    with opener(filename, "wb") as f:
        f.write(header + array.tobytes())


# ---------------------------------------------------------------------------------------------
# Preparing data.


def train_test_split(data: Dataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Shuffle with `seed` and cut off the last `test_fraction` of the examples as a test set."""
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an explorer.datasets.Dataset (X, y, name), got {type(data).__name__}")
    if isinstance(test_fraction, (bool, np.bool_)) or not isinstance(test_fraction, Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r} must be a number between 0 and 1")
    seed = checks.seed(seed)
    m = len(data)
    n_test = int(round(m * test_fraction))
    if n_test < 1 or n_test >= m:
        raise ValueError(f"test_fraction={test_fraction!r} leaves an empty train or test set for {m} examples")
    order = np.random.default_rng(seed).permutation(m)
    train, test = order[: m - n_test], order[m - n_test :]
    return (
        Dataset(data.X[train], data.y[train], data.name + "-train", data.classes),
        Dataset(data.X[test], data.y[test], data.name + "-test", data.classes),
    )


@dataclass
class Standardizer:
    """Per-feature (x - mean) / std, with the statistics taken from the training set only.

    A feature that is constant in the training set (std 0: a blank pixel) is centred and left unscaled.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"X has shape {X.shape}; expected (m, n) with m >= 1")
        if not np.all(np.isfinite(X)):
            raise ValueError("X holds NaN or infinite values; clean the data first")
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise ValueError(f"X has shape {X.shape}; expected (m, {len(self.mean)})")
        if not np.all(np.isfinite(X)):
            raise ValueError("X holds NaN or infinite values; clean the data first")
        return (X - self.mean) / self.std


def standardize(train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Standardize `train` and any further arrays with the training set's mean and std."""
    scale = Standardizer.fit(train)
    return (scale(train),) + tuple(scale(x) for x in others)
