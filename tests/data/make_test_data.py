"""Regenerate tests/data/ (small real data the test suite reads) from ../shared/data.

    python tests/data/make_test_data.py [SHARED_DATA_DIR]      # default: <repo>/../shared/data

Every output is a copy or a seeded, deterministic cut of a shared file; see tests/data/README.md.
"""

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent
SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT.parents[2] / "shared" / "data"

HIGGS_ROWS = 8000  # >= the test splits (2000 + 3000 + 3000) and higgs_lora's 3000 + 4000
MNIST_TRAIN, MNIST_TEST = 3000, 600  # = mnist_transfer_quick's subset and its test images
HAM_IMAGES, HAM_MIN_PER_CLASS = 300, 15
SEED = 0


def stratified_positions(labels: np.ndarray, quota: dict, rng: np.random.Generator) -> np.ndarray:
    """`quota[c]` random positions of each class c, returned in file order."""
    picked = [rng.choice(np.flatnonzero(labels == c), n, replace=False) for c, n in quota.items()]
    return np.sort(np.concatenate(picked))


def proportional_quota(labels: np.ndarray, n: int, minimum: int = 0) -> dict:
    """Per-class counts summing to n: proportional to the class shares (largest remainders), at
    least `minimum` per class, the excess taken from the biggest class."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n / counts.sum()
    quota = np.floor(exact).astype(int)
    quota[np.argsort(quota - exact)[: n - quota.sum()]] += 1
    quota = np.maximum(quota, minimum)
    quota[np.argmax(counts)] -= quota.sum() - n
    return dict(zip(classes.tolist(), quota.tolist()))


def copy(relative: str) -> None:
    (OUT / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED / relative, OUT / relative)


def higgs() -> None:
    """The first HIGGS_ROWS lines of the 15,977-row sample, byte for byte, gzipped (mtime 0)."""
    with gzip.open(SHARED / "higgs" / "HIGGS_subset_uci.csv.gz", "rb") as source:
        lines = [source.readline() for _ in range(HIGGS_ROWS)]
    assert all(line.endswith(b"\n") for line in lines)
    (OUT / "higgs").mkdir(exist_ok=True)
    with (
        open(OUT / "higgs" / "HIGGS_subset_uci.csv.gz", "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as out,
    ):
        out.write(b"".join(lines))


def mnist() -> None:
    """A stratified MNIST_TRAIN of the training and MNIST_TEST of the official test digits, in file order."""
    rng = np.random.default_rng(SEED)
    with np.load(SHARED / "mnist" / "mnist.npz") as source:
        full = dict(source)
    train = stratified_positions(full["y_train"], proportional_quota(full["y_train"], MNIST_TRAIN), rng)
    test = stratified_positions(full["y_test"], proportional_quota(full["y_test"], MNIST_TEST), rng)
    (OUT / "mnist").mkdir(exist_ok=True)
    np.savez_compressed(
        OUT / "mnist" / "mnist.npz",
        x_train=full["x_train"][train],
        y_train=full["y_train"][train],
        x_test=full["x_test"][test],
        y_test=full["y_test"][test],
    )


def ham10000() -> None:
    """HAM_IMAGES images of the 28x28 subset (stratified by dx, at least HAM_MIN_PER_CLASS per class)
    and their rows of the metadata table; metadata_row renumbered to index the cut table."""
    rng = np.random.default_rng(SEED)
    with np.load(SHARED / "ham10000" / "ham10000_28x28_rgb_subset.npz", allow_pickle=True) as source:
        full = dict(source)
    keep = stratified_positions(full["dx"], proportional_quota(full["dx"], HAM_IMAGES, HAM_MIN_PER_CLASS), rng)
    lines = (SHARED / "ham10000" / "HAM10000_metadata.csv").read_bytes().split(b"\n")
    header, rows = lines[0], lines[1:]
    kept_rows = [rows[i] for i in full["metadata_row"][keep]]
    assert [row.split(b",")[1].decode() for row in kept_rows] == full["image_id"][keep].tolist()
    cut = {name: (values if name == "hmnist_class_names" else values[keep]) for name, values in full.items()}
    cut["metadata_row"] = np.arange(len(keep), dtype=full["metadata_row"].dtype)
    (OUT / "ham10000").mkdir(exist_ok=True)
    np.savez_compressed(OUT / "ham10000" / "ham10000_28x28_rgb_subset.npz", **cut)
    (OUT / "ham10000" / "HAM10000_metadata.csv").write_bytes(b"\n".join([header, *kept_rows]) + b"\n")


if __name__ == "__main__":
    if not SHARED.is_dir():
        sys.exit(f"no shared data folder at {SHARED}")
    copy("pima/diabetes.csv")
    copy("keras_weights/mobilenet_2_5_224_tf_no_top.h5")
    copy("text/SMSSpamCollection")
    higgs()
    mnist()
    ham10000()
    for path in sorted(OUT.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".md"):
            print(f"{path.stat().st_size:>9,}  {path.relative_to(OUT)}")
