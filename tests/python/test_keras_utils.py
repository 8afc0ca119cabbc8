"""keras.utils (to_categorical, normalize, set_random_seed, get_file) and keras.datasets: against
Keras 3 where it is installed, and the loaders on small files written here in each data set's
on-disk format, served from file:// and http://127.0.0.1 origins."""
import functools
import gzip
import hashlib
import http.server
import io
import os
import pickle
import random
import tarfile
import threading
import zipfile

import numpy as np
import pytest

from turbolearn import keras
from turbolearn.keras.datasets import california_housing, cifar10, fashion_mnist, mnist
from turbolearn.keras.utils import file_utils


@pytest.fixture(scope="module")
def keras_ref():
    os.environ["KERAS_BACKEND"] = "torch"
    ref = pytest.importorskip("keras")
    return ref


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


# --- to_categorical, normalize, set_random_seed ------------------------------------------------

@pytest.mark.parametrize("labels, num_classes", [
    ([0, 2, 1, 2], None), ([[1], [0], [3]], None), ([1, 0], 4),
    (np.array([[0, 1], [2, 1]]), None), (np.array([[[2]], [[0]]]), 3)])
def test_to_categorical_matches_keras(keras_ref, labels, num_classes):
    ours = keras.utils.to_categorical(labels, num_classes)
    ref = keras_ref.utils.to_categorical(np.array(labels), num_classes)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


def test_to_categorical_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="labels must be in"):
        keras.utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="labels must be in"):
        keras.utils.to_categorical([-1, 1])


@pytest.mark.parametrize("axis, order", [(-1, 2), (1, 1), (-1, np.inf)])
def test_normalize_matches_keras(keras_ref, axis, order):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[1] = 0  # a zero row stays zero
    np.testing.assert_allclose(keras.utils.normalize(x, axis, order),
                               keras_ref.utils.normalize(x, axis, order), rtol=1e-12)


def test_normalize_along_axis_0():
    # Keras' own normalize fails here (its `axis or -1` turns 0 into -1).
    x = np.random.default_rng(1).normal(size=(4, 5))
    np.testing.assert_allclose(keras.utils.normalize(x, axis=0),
                               x / np.linalg.norm(x, axis=0, keepdims=True), rtol=1e-12)


def test_normalize_of_a_tensor_is_on_the_tape():
    x = keras.Variable(np.array([[3.0, 4.0]], dtype="float32"))
    with keras.GradientTape() as tape:
        y = keras.utils.normalize(x)
        loss = keras.ops.sum(y * np.array([[1.0, 0.0]], dtype="float32"))
    np.testing.assert_allclose(np.asarray(y), [[0.6, 0.8]], rtol=1e-6)
    # d(x0/|x|)/dx = (|x|^2 e0 - x0 x) / |x|^3
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, x)),
                               [[16 / 125, -12 / 125]], rtol=1e-5)


def test_set_random_seed_seeds_python_numpy_and_keras_random():
    keras.utils.set_random_seed(7)
    first = (random.random(), np.random.rand(), keras.random.seed_generator().integers(1 << 30))
    keras.utils.set_random_seed(8)
    other = (random.random(), np.random.rand(), keras.random.seed_generator().integers(1 << 30))
    keras.utils.set_random_seed(7)
    second = (random.random(), np.random.rand(), keras.random.seed_generator().integers(1 << 30))
    assert first == second
    assert all(a != b for a, b in zip(first, other))
    weights = []
    for seed in (3, 3, 4):
        keras.utils.set_random_seed(seed)
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        weights.append(layer.get_weights()[0])
    np.testing.assert_array_equal(weights[0], weights[1])  # initializers draw from keras.random
    assert not np.array_equal(weights[0], weights[2])
    with pytest.raises(ValueError, match="integer"):
        keras.utils.set_random_seed(1.5)


# --- get_file --------------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path):
    """A folder of origin files, served at http://127.0.0.1:<port>/ for the test."""
    root = tmp_path / "origin"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        _QuietHandler.requests.append(self.path)
        super().do_GET()


@pytest.mark.parametrize("scheme", ["file", "http"])
def test_get_file_downloads_checks_the_hash_and_reuses_the_cache(tmp_path, served, scheme,
                                                               capsys):
    root, url = served
    (root / "data.bin").write_bytes(b"turbolearn" * 100)
    origin = (root / "data.bin").as_uri() if scheme == "file" else url + "data.bin"
    cache = tmp_path / "cache"
    digest = sha256(root / "data.bin")
    path = keras.utils.get_file("data.bin", origin, file_hash=digest, cache_dir=str(cache))
    assert path == str(cache / "datasets" / "data.bin")
    assert open(path, "rb").read() == b"turbolearn" * 100
    assert "Downloading data from" in capsys.readouterr().out
    # Cached: the origin is not read again, even if it changed or vanished.
    (root / "data.bin").unlink()
    assert keras.utils.get_file("data.bin", origin, file_hash=digest,
                                cache_dir=str(cache)) == path
    assert "Downloading" not in capsys.readouterr().out
    # md5 (by md5_hash, or 'auto' with a 32-digit hash) also verifies.
    assert keras.utils.get_file("data.bin", origin, md5_hash=md5(path),
                                cache_dir=str(cache)) == path


def test_get_file_redownloads_a_cached_file_with_a_wrong_hash(tmp_path):
    origin = tmp_path / "new.txt"
    origin.write_bytes(b"fresh contents")
    cache = tmp_path / "cache"
    (cache / "datasets").mkdir(parents=True)
    (cache / "datasets" / "new.txt").write_bytes(b"stale, partial")
    path = keras.utils.get_file("new.txt", origin.as_uri(), file_hash=sha256(origin),
                                cache_dir=str(cache))
    assert open(path, "rb").read() == b"fresh contents"


def test_get_file_rejects_a_download_with_a_wrong_hash_and_deletes_it(tmp_path):
    origin = tmp_path / "x.txt"
    origin.write_bytes(b"contents")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="hash does not match"):
        keras.utils.get_file("x.txt", origin.as_uri(), file_hash="0" * 64, cache_dir=str(cache))
    assert not (cache / "datasets" / "x.txt").exists()


def test_get_file_reports_a_missing_origin_and_leaves_no_file(tmp_path, served):
    _, url = served
    with pytest.raises(Exception, match="URL fetch failure"):
        keras.utils.get_file("nothing.bin", url + "nothing.bin", cache_dir=str(tmp_path))
    assert not (tmp_path / "datasets" / "nothing.bin").exists()
    with pytest.raises(ValueError, match="origin"):
        keras.utils.get_file("a.bin", None)
    with pytest.raises(ValueError, match="cache_dir"):
        keras.utils.get_file(os.path.join("sub", "a.bin"), url + "a.bin")


def test_get_file_name_from_the_origin_and_cache_subdir(tmp_path):
    origin = tmp_path / "named.csv"
    origin.write_text("a,b\n1,2\n")
    path = keras.utils.get_file(origin=origin.as_uri(), cache_dir=str(tmp_path / "c"),
                                cache_subdir="sub")
    assert path == str(tmp_path / "c" / "sub" / "named.csv")


def test_get_file_falls_back_to_tmp_when_the_cache_is_not_writable(tmp_path, monkeypatch):
    origin = tmp_path / "f.txt"
    origin.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: not str(p).startswith(str(locked)))
    monkeypatch.setattr(file_utils, "_fallback_root", lambda: str(tmp_path / "t"))
    path = keras.utils.get_file("f.txt", origin.as_uri(), cache_dir=str(locked))
    assert path == str(tmp_path / "t" / ".keras" / "datasets" / "f.txt")
    assert open(path).read() == "x"


def _tar_gz(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_get_file_extracts_archives_like_keras(tmp_path, keras_ref, kind):
    origin = tmp_path / f"bundle.{kind}"
    members = {"bundle/a.txt": b"alpha", "bundle/sub/b.txt": b"beta"}
    if kind == "zip":
        with zipfile.ZipFile(origin, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        _tar_gz(origin, members)
    (tmp_path / "ref").mkdir()  # Keras uses /tmp/.keras when cache_dir does not exist yet
    for fname in (f"bundle.{kind}", "bundle_noext"):
        ours = keras.utils.get_file(fname, origin.as_uri(), extract=True,
                                    cache_dir=str(tmp_path / "ours"))
        ref = keras_ref.utils.get_file(fname, origin.as_uri(), extract=True,
                                       cache_dir=str(tmp_path / "ref"))
        assert os.path.relpath(ours, tmp_path / "ours") == os.path.relpath(ref, tmp_path / "ref")
        assert open(os.path.join(ours, "bundle", "sub", "b.txt"), "rb").read() == b"beta"


def test_extraction_skips_members_outside_the_target(tmp_path):
    origin = tmp_path / "evil.tar.gz"
    _tar_gz(origin, {"../escape.txt": b"no", "ok.txt": b"yes"})
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        out = keras.utils.get_file("evil.tar.gz", origin.as_uri(), extract=True,
                                   cache_dir=str(tmp_path / "c"))
    assert open(os.path.join(out, "ok.txt")).read() == "yes"
    assert not (tmp_path / "c" / "datasets" / "escape.txt").exists()


# --- datasets, on files in each data set's format ----------------------------------------------

@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def test_mnist_load_data(tmp_path, keras_home, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 12, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 5, dtype=np.uint8)}
    origin = tmp_path / "srv"
    origin.mkdir()
    np.savez_compressed(origin / "mnist.npz", **arrays)
    monkeypatch.setattr(mnist, "ORIGIN_FOLDER", origin.as_uri() + "/")
    monkeypatch.setattr(mnist, "FILE_HASH", sha256(origin / "mnist.npz"))
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert (keras_home / "datasets" / "mnist.npz").exists()
    for got, key in [(x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                     (y_test, "y_test")]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[key])
    # A file with the wrong hash is refused.
    monkeypatch.setattr(mnist, "FILE_HASH", "1" * 64)
    with pytest.raises(ValueError, match="hash does not match"):
        keras.datasets.mnist.load_data()


def _idx(array, labels):
    header = (b"\x00\x00\x08\x01" + len(array).to_bytes(4, "big") if labels else
              b"\x00\x00\x08\x03" + len(array).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    return gzip.compress(header + array.tobytes())


def test_fashion_mnist_load_data_reads_idx_files(tmp_path, keras_home, monkeypatch):
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, 7, dtype=np.uint8)
    x_test = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, 3, dtype=np.uint8)
    origin = tmp_path / "srv"
    origin.mkdir()
    for name, data in zip(fashion_mnist.FILES, [_idx(y_train, True), _idx(x_train, False),
                                                _idx(y_test, True), _idx(x_test, False)]):
        (origin / name).write_bytes(data)
    monkeypatch.setattr(fashion_mnist, "ORIGIN_FOLDER", origin.as_uri() + "/")
    (a, b), (c, d) = keras.datasets.fashion_mnist.load_data()
    for got, want in [(a, x_train), (b, y_train), (c, x_test), (d, y_test)]:
        assert got.dtype == np.uint8 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert sorted(os.listdir(keras_home / "datasets" / "fashion-mnist")) == \
        sorted(fashion_mnist.FILES)


def test_cifar10_load_data_reads_the_pickled_batches(tmp_path, keras_home, monkeypatch):
    rng = np.random.default_rng(2)
    n = 4  # images per batch file (CIFAR-10 has 10,000)
    monkeypatch.setattr(cifar10, "NUM_TRAIN_SAMPLES", 5 * n)
    batches = {f"data_batch_{i}": rng.integers(0, 256, (n, 3072), dtype=np.uint8)
               for i in range(1, 6)}
    batches["test_batch"] = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = {k: [int(v) for v in rng.integers(0, 10, n)] for k in batches}
    members = {f"cifar-10-batches-py/{k}": pickle.dumps(
        {b"batch_label": k.encode(), b"labels": labels[k], b"data": v}, protocol=3)
        for k, v in batches.items()}
    archive = tmp_path / "cifar-10-python.tar.gz"
    _tar_gz(archive, members)
    monkeypatch.setattr(cifar10, "ORIGIN", archive.as_uri())
    monkeypatch.setattr(cifar10, "FILE_HASH", sha256(archive))
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    assert x_train.shape == (5 * n, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (5 * n, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (n, 32, 32, 3) and y_test.shape == (n, 1)
    first = batches["data_batch_1"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(x_train[0], first)  # channels last, as Keras returns
    np.testing.assert_array_equal(y_train[n:2 * n, 0], labels["data_batch_2"])
    np.testing.assert_array_equal(y_test[:, 0], labels["test_batch"])
    assert (keras_home / "datasets" / "cifar-10-batches-py-target").is_dir()


def test_cifar_batches_refuse_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        cifar10.load_batch(str(path))


def test_california_housing_load_data_splits_as_keras(tmp_path, keras_home, monkeypatch,
                                                      keras_ref):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    y = rng.normal(size=50).astype(np.float32)
    origin = tmp_path / "srv"
    origin.mkdir()
    np.savez(origin / "california_housing.npz", x=x, y=y)
    monkeypatch.setattr(california_housing, "ORIGIN_FOLDER", origin.as_uri() + "/")
    monkeypatch.setattr(california_housing, "FILE_HASH",
                        sha256(origin / "california_housing.npz"))
    (x_train, y_train), (x_test, y_test) = keras.datasets.california_housing.load_data(
        test_split=0.3, seed=5)
    # Keras' own loader on the same (cached) file: the same split.
    import keras.src.datasets.california_housing as ref_module
    monkeypatch.setattr(ref_module, "get_file",
                        lambda *a, **k: str(keras_home / "datasets" / "california_housing.npz"))
    (rx_train, ry_train), (rx_test, ry_test) = ref_module.load_data(test_split=0.3, seed=5)
    for got, want in [(x_train, rx_train), (y_train, ry_train), (x_test, rx_test),
                      (y_test, ry_test)]:
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert x_train.shape == (35, 8) and y_test.shape == (15,)
    with pytest.raises(ValueError, match="test_split"):
        keras.datasets.california_housing.load_data(test_split=1.0)
    with pytest.raises(ValueError, match="version"):
        keras.datasets.california_housing.load_data(version="medium")
