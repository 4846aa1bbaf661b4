"""Image loaders: MNIST (.npz), scikit-learn digits and a folder of class subfolders, and their splits."""

from pathlib import Path

import numpy as np
import pytest
from conftest import DATA_DIR
from PIL import Image

from transferlab.data.digits import load_digits_images
from transferlab.data.image_folder import load_image_folder
from transferlab.data.inputs import InputKind, image_input
from transferlab.data.mnist import load_mnist
from transferlab.errors import ConfigError

MNIST_NPZ = DATA_DIR / "mnist" / "mnist.npz"
MNIST_SHA256 = "892cdc903a9ff84cacd520479756a2ec20217c7e8c1c52ef54fa3473c6b8a86c"  # tests/data/mnist/mnist.npz
UNREACHABLE_URL = "http://127.0.0.1:9/mnist.npz"
CLASSES = ("cats", "dogs", "owls")
PER_CLASS = 6


def row_signatures(images: np.ndarray) -> np.ndarray:
    """One exact integer per image, sorted, to compare sets of images regardless of order."""
    weights = np.random.default_rng(0).integers(0, 1 << 20, images[0].size)
    return np.sort(images.reshape(len(images), -1).astype(np.int64) @ weights)


def write_mnist_like(path: Path, pixel: int = 0, **overrides) -> Path:
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "y_train": np.arange(40, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": np.arange(20, dtype=np.uint8) % 10,
    }
    arrays["x_train"][0, 0, 0] = pixel
    arrays.update(overrides)
    np.savez(path, **{name: value for name, value in arrays.items() if value is not None})
    return path


@pytest.fixture(scope="module")
def mnist_file() -> dict[str, np.ndarray]:
    with np.load(MNIST_NPZ) as archive:
        return dict(archive)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(data_dir=str(DATA_DIR), url=UNREACHABLE_URL)


@pytest.fixture
def image_folder(tmp_path) -> tuple[Path, np.ndarray]:
    """3 classes x 6 RGB 10x12 PNGs plus a stray text file; returns the folder and the images in
    class, then file-name order (the order Keras reads them)."""
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (len(CLASSES) * PER_CLASS, 10, 12, 3), dtype=np.uint8)
    for index, image in enumerate(images):
        class_dir = tmp_path / "pets" / CLASSES[index // PER_CLASS]
        class_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(class_dir / f"img_{index % PER_CLASS}.png")
    (tmp_path / "pets" / "cats" / "notes.txt").write_text("not an image")
    return tmp_path / "pets", images


# --- MNIST ------------------------------------------------------------------------------------


def test_mnist_full_split_keeps_official_test_and_takes_stratified_validation_from_train(mnist, mnist_file):
    data = mnist.prepare(val_fraction=0.1, test_fraction=None, subset=None, seed=42)
    assert data.sizes() == {
        "n_train": 2_700,
        "n_val": 300,
        "n_test": 600,
    }  # tests/data: 3,000 training, 600 official test digits
    for x in (data.train.inputs["image"], data.val.inputs["image"], data.test.inputs["image"]):
        assert x.dtype == np.float32 and x.shape[1:] == (28, 28, 1)
        assert x.min() == 0 and x.max() == 255
    for y in (data.train.labels, data.val.labels, data.test.labels):
        assert y.dtype == np.int64
    np.testing.assert_array_equal(data.test.inputs["image"][..., 0], mnist_file["x_test"])
    np.testing.assert_array_equal(data.test.labels, mnist_file["y_test"])
    # train + val are exactly the official training images, split 90/10 in every class
    np.testing.assert_array_equal(
        row_signatures(np.concatenate([data.train.inputs["image"], data.val.inputs["image"]])),
        row_signatures(mnist_file["x_train"]),
    )
    train_counts = np.bincount(mnist_file["y_train"], minlength=10)
    np.testing.assert_array_equal(
        np.bincount(data.train.labels, minlength=10) + np.bincount(data.val.labels, minlength=10), train_counts
    )
    assert np.abs(np.bincount(data.val.labels, minlength=10) - train_counts * 0.1).max() <= 1
    assert data.class_names == [str(d) for d in range(10)] and data.n_classes == 10
    assert data.specs == {"image": image_input("image", (28, 28, 1), data.train.inputs["image"])}
    assert data.specs["image"].kind == InputKind.IMAGE
    assert data.preprocessors == {} and data.raw_examples.empty and data.extra is None


def test_mnist_subset_is_stratified_seeded_and_shrinks_the_test_set(mnist, mnist_file):
    data = mnist.prepare(subset=1000, seed=7)
    assert data.sizes() == {"n_train": 900, "n_val": 100, "n_test": 200}  # test: max(1000 // 5, 10 per class)
    share = np.bincount(mnist_file["y_train"], minlength=10) / len(mnist_file["y_train"])
    subset_counts = np.bincount(data.train.labels, minlength=10) + np.bincount(data.val.labels, minlength=10)
    assert np.abs(subset_counts - 1000 * share).max() <= 1
    assert np.abs(np.bincount(data.val.labels, minlength=10) - subset_counts * 0.1).max() <= 1
    test_share = np.bincount(mnist_file["y_test"], minlength=10) / len(mnist_file["y_test"])
    assert np.abs(np.bincount(data.test.labels, minlength=10) - 200 * test_share).max() <= 1
    official_test = set(row_signatures(mnist_file["x_test"]).tolist())
    assert set(row_signatures(data.test.inputs["image"]).tolist()) <= official_test
    assert not set(row_signatures(data.val.inputs["image"]).tolist()) & set(
        row_signatures(data.train.inputs["image"]).tolist()
    )

    again, other_seed = mnist.prepare(subset=1000, seed=7), mnist.prepare(subset=1000, seed=8)
    np.testing.assert_array_equal(again.train.inputs["image"], data.train.inputs["image"])
    np.testing.assert_array_equal(again.test.labels, data.test.labels)
    assert not np.array_equal(other_seed.train.inputs["image"], data.train.inputs["image"])
    assert mnist.prepare(subset=100).sizes() == {"n_train": 90, "n_val": 10, "n_test": 100}


def test_mnist_fingerprint_is_the_file_sha256_and_changes_with_the_file(mnist, tmp_path):
    assert mnist.fingerprint == MNIST_SHA256 == load_mnist(path=str(MNIST_NPZ)).fingerprint
    original = load_mnist(path=str(write_mnist_like(tmp_path / "a.npz"))).fingerprint
    assert load_mnist(path=str(write_mnist_like(tmp_path / "b.npz"))).fingerprint == original
    assert load_mnist(path=str(write_mnist_like(tmp_path / "c.npz", pixel=1))).fingerprint != original
    small = load_mnist(path=str(tmp_path / "a.npz")).prepare(val_fraction=0.25, subset=40)
    assert small.sizes() == {
        "n_train": 30,
        "n_val": 10,
        "n_test": 20,
    }  # max(40 // 5, 10 per class) > 20: every test image
    with np.load(tmp_path / "a.npz") as archive:
        np.testing.assert_array_equal(small.test.inputs["image"][..., 0], archive["x_test"])  # untouched, in file order


def test_missing_mnist_offline_says_where_to_put_it(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_mnist(data_dir=str(tmp_path), url=UNREACHABLE_URL)
    assert error.value.key == "dataset.loader.url"
    assert str(tmp_path / "mnist" / "mnist.npz") in str(error.value) and "\n" not in str(error.value)


def test_mnist_cached_in_data_dir_is_found_without_download(tmp_path):
    (tmp_path / "mnist").mkdir()
    write_mnist_like(tmp_path / "mnist" / "mnist.npz")
    assert len(load_mnist(data_dir=str(tmp_path), url=UNREACHABLE_URL).y) == 40


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"y_test": None}, "has no y_test"),
        ({"x_train": np.zeros((40, 28, 28), dtype=np.float32)}, "x_train must be uint8 images"),
        ({"x_test": np.zeros((20, 784), dtype=np.uint8)}, "x_test must be uint8 images (N, H, W)"),
        ({"y_train": np.zeros(39, dtype=np.uint8)}, "y_train must be 40 integer labels"),
        ({"y_test": np.full(20, 10)}, "labels outside 0..9"),
        ({"x_test": np.zeros((20, 32, 32), dtype=np.uint8)}, "x_test images (32, 32)"),
    ],
)
def test_malformed_mnist_file_is_a_config_error(tmp_path, overrides, message):
    file = write_mnist_like(tmp_path / "bad.npz", **overrides)
    with pytest.raises(ConfigError, match="dataset.loader.path=") as error:
        load_mnist(path=str(file))
    assert message in str(error.value)


def test_mnist_file_that_is_not_an_npz_is_a_config_error(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ConfigError, match=r"dataset\.loader\.path=.*garbage\.npz: not an \.npz archive"):
        load_mnist(path=str(tmp_path / "garbage.npz"))


# --- split arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "split, key",
    [
        ({"val_fraction": 0}, "val_fraction"),
        ({"val_fraction": 1}, "val_fraction"),
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"val_fraction": "0.1"}, "val_fraction"),
        ({"val_fraction": True}, "val_fraction"),
        ({"test_fraction": 0.2}, "test_fraction"),  # MNIST has an official test split
        ({"subset": 60_001}, "subset"),
        ({"subset": 19}, "subset"),  # fewer than 2 per class
        ({"subset": 100.0}, "subset"),
        ({"subset": True}, "subset"),
    ],
)
def test_bad_split_values_on_mnist(mnist, split, key):
    with pytest.raises(ConfigError) as error:
        mnist.prepare(**split)
    assert error.value.key == f"dataset.split.{key}"


@pytest.mark.parametrize(
    "split, key",
    [
        ({}, "test_fraction"),  # no official test split: test_fraction is required
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"test_fraction": 0.001}, "test_fraction"),  # 2 test images for 10 classes
        ({"test_fraction": 0.2, "subset": 1438}, "subset"),  # more than the 1437 training images
        ({"test_fraction": 0.2, "val_fraction": 0.001}, "val_fraction"),
    ],
)
def test_bad_split_values_on_digits(split, key):
    with pytest.raises(ConfigError) as error:
        load_digits_images().prepare(**split)
    assert error.value.key == f"dataset.split.{key}"
    assert "\n" not in str(error.value)


def test_split_error_messages():
    digits = load_digits_images()
    with pytest.raises(ConfigError, match=r"^dataset\.split\.val_fraction=0: must be a fraction in \(0, 1\)$"):
        digits.prepare(val_fraction=0, test_fraction=0.2)
    with pytest.raises(ConfigError, match="has no official test split"):
        digits.prepare(test_fraction=None)
    with pytest.raises(ConfigError, match=r"subset=5000: must be null or an integer from 20 \(2 per class\) to 1437"):
        digits.prepare(test_fraction=0.2, subset=5000)


# --- scikit-learn digits --------------------------------------------------------------------------


def test_digits_are_8x8x1_images_rescaled_to_0_255_with_a_stratified_test_split():
    digits = load_digits_images()
    data = digits.prepare(val_fraction=0.1, test_fraction=0.2, seed=0)
    assert data.sizes() == {"n_train": 1293, "n_val": 144, "n_test": 360}
    for x in (data.train.inputs["image"], data.val.inputs["image"], data.test.inputs["image"]):
        assert x.dtype == np.float32 and x.shape[1:] == (8, 8, 1)
    everything = np.concatenate([data.train.inputs["image"], data.val.inputs["image"], data.test.inputs["image"]])
    assert everything.min() == 0 and everything.max() == 255
    np.testing.assert_array_equal(row_signatures(everything), row_signatures(digits.x))
    counts = np.bincount(digits.y, minlength=10)
    assert np.abs(np.bincount(data.test.labels, minlength=10) - counts * 0.2).max() <= 1
    assert data.class_names == [str(d) for d in range(10)]
    assert digits.fingerprint == load_digits_images().fingerprint and len(digits.fingerprint) == 64
    assert data.train.labels.dtype == np.int64
    assert digits.prepare(test_fraction=0.2, subset=200).sizes() == {"n_train": 180, "n_val": 20, "n_test": 100}


# --- image folder ---------------------------------------------------------------------------------


def test_image_folder_reads_class_subfolders_in_order(image_folder):
    folder, images = image_folder
    arrays = load_image_folder(str(folder), image_size=[10, 12], color_mode="rgb")
    assert arrays.class_names == list(CLASSES)
    assert arrays.x.dtype == np.float32 and arrays.x.shape == (18, 10, 12, 3)
    np.testing.assert_array_equal(arrays.x, images)
    np.testing.assert_array_equal(arrays.y, np.repeat(np.arange(3), PER_CLASS))
    assert arrays.y.dtype == np.int64

    data = arrays.prepare(val_fraction=0.25, test_fraction=1 / 3, seed=3)
    assert data.sizes() == {"n_train": 9, "n_val": 3, "n_test": 6}
    for y, per_class in ((data.train.labels, 3), (data.val.labels, 1), (data.test.labels, 2)):
        np.testing.assert_array_equal(np.bincount(y, minlength=3), np.full(3, per_class))
    np.testing.assert_array_equal(
        row_signatures(
            np.concatenate([data.train.inputs["image"], data.val.inputs["image"], data.test.inputs["image"]])
        ),
        row_signatures(images),
    )
    assert data.class_names == list(CLASSES) and data.specs["image"].shape == (10, 12, 3)


def test_image_folder_grayscale_and_resize(image_folder):
    folder, _ = image_folder
    arrays = load_image_folder(str(folder), image_size=(5, 6), color_mode="grayscale")
    assert arrays.x.shape == (18, 5, 6, 1) and 0 <= arrays.x.min() and arrays.x.max() <= 255


def test_image_folder_fingerprint_changes_with_file_contents(tmp_path):
    def save(path: Path, grey: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((4, 4, 3), grey, dtype=np.uint8)).save(path)

    for index, class_name in enumerate(("a", "b")):
        save(tmp_path / class_name / "x.png", 10 + index)
    before = load_image_folder(str(tmp_path), image_size=(4, 4)).fingerprint
    assert load_image_folder(str(tmp_path), image_size=(4, 4)).fingerprint == before
    size = (tmp_path / "b" / "x.png").stat().st_size
    save(tmp_path / "b" / "x.png", 12)
    assert (tmp_path / "b" / "x.png").stat().st_size == size  # same name and length: only the bytes differ
    assert load_image_folder(str(tmp_path), image_size=(4, 4)).fingerprint != before


def test_undecodable_image_is_named(image_folder):
    folder, _ = image_folder
    (folder / "owls" / "broken.png").write_bytes(b"garbage bytes, not a PNG")
    with pytest.raises(ConfigError, match=r"dataset\.loader\.path=.*cannot decode image .*owls/broken\.png$"):
        load_image_folder(str(folder), image_size=(10, 12))


def test_one_class_folder_is_refused(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes (Keras skips them too)
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "cats" / "a.png")
    with pytest.raises(ConfigError, match="found 1 class: cats; need at least 2"):
        load_image_folder(str(tmp_path), image_size=(4, 4))


@pytest.mark.parametrize(
    "layout, message",
    [
        ({}, "found 0 classes; need at least 2"),
        ({"cats": ["a.txt"], "dogs": []}, "no images"),
        ({"cats": ["a.png", "b.png"], "dogs": ["c.txt"]}, "class folder(s) dogs hold no images"),
    ],
)
def test_folders_without_usable_images_are_refused(tmp_path, layout, message):
    for class_name, files in layout.items():
        (tmp_path / class_name).mkdir()
        for name in files:
            if name.endswith(".png"):
                Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / class_name / name)
            else:
                (tmp_path / class_name / name).write_text("text")
    with pytest.raises(ConfigError) as error:
        load_image_folder(str(tmp_path), image_size=(4, 4))
    assert error.value.key == "dataset.loader.path" and message in str(error.value)


@pytest.mark.parametrize(
    "arguments, key",
    [
        ({"path": "/no/such/folder"}, "dataset.loader.path"),
        ({"image_size": (10,)}, "dataset.loader.image_size"),
        ({"image_size": (10, 0)}, "dataset.loader.image_size"),
        ({"image_size": 10}, "dataset.loader.image_size"),
        ({"color_mode": "cmyk"}, "dataset.loader.color_mode"),
    ],
)
def test_bad_image_folder_arguments(image_folder, arguments, key):
    folder, _ = image_folder
    with pytest.raises(ConfigError) as error:
        load_image_folder(**({"path": str(folder), "image_size": (10, 12)} | arguments))
    assert error.value.key == key


def test_image_folder_fingerprint_ignores_where_the_folder_lives(tmp_path):
    for place in ("one", "two"):
        for class_name in ("a", "b"):
            (tmp_path / place / class_name).mkdir(parents=True)
            Image.fromarray(np.full((4, 4, 3), ord(class_name), dtype=np.uint8)).save(
                tmp_path / place / class_name / "x.png"
            )
    one = load_image_folder(str(tmp_path / "one"), image_size=(4, 4)).fingerprint
    assert one == load_image_folder(str(tmp_path / "two"), image_size=(4, 4)).fingerprint


def test_image_statistics_come_from_the_training_images_only(mnist):
    """The per-channel mean/std a model standardises with (model.standardize) are the training split's."""
    data = mnist.prepare(subset=1000, seed=7)
    train = data.train.inputs["image"].astype(np.float64)
    everything = np.concatenate([train, data.val.inputs["image"], data.test.inputs["image"]])
    spec = data.specs["image"]
    assert spec.channel_mean == pytest.approx((train.mean(),)) and spec.channel_std == pytest.approx((train.std(),))
    assert spec.channel_mean != pytest.approx((everything.mean(),), abs=1e-6)
