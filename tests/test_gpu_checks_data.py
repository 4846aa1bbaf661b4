"""The data benchmarks/gpu_checks.py generates on a GPU machine prepares through each dataset's own
config and loader. CI has no GPU: a loader change that broke these files would otherwise show only
there, in scarce device time."""

import sys

from conftest import REPO_ROOT, compose_config
from transferlab.data.loading import load_prepared

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import gpu_checks  # noqa: E402


def prepared(data_dir, *overrides):
    cfg = compose_config(*overrides, f"paths.data_dir={data_dir}", f"paths.cache_dir={data_dir}/cache")
    return load_prepared(cfg.dataset)


def test_higgs_members_written_in_parallel_read_as_one_file(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_checks, "HIGGS_CHUNK", 100)  # 3 gzip members from 2 processes
    (tmp_path / "higgs").mkdir()
    gpu_checks.write_higgs(tmp_path / "higgs" / "HIGGS.csv.gz", 250, seed=0)
    split = ["dataset.split.n_train=200", "dataset.split.n_test=50", "dataset.split.n_extra=0"]
    data = prepared(tmp_path, "dataset=higgs", *split)
    assert (data.train.n_rows, data.val.n_rows, data.test.n_rows) == (190, 10, 50)
    assert sorted(p.name for p in (tmp_path / "higgs").iterdir()) == ["HIGGS.csv.gz"]


def test_generated_mnist_has_mnists_split(tmp_path):
    (tmp_path / "mnist").mkdir()
    gpu_checks.write_mnist(tmp_path / "mnist" / "mnist.npz", seed=0)
    data = prepared(tmp_path, "dataset=mnist")
    assert (data.train.n_rows, data.val.n_rows, data.test.n_rows) == (54_000, 6_000, 10_000)
    assert len(set(data.train.labels)) == 10


def test_generated_ham10000_has_both_inputs_and_every_class(tmp_path):
    (tmp_path / "ham10000").mkdir()
    gpu_checks.write_ham10000(tmp_path / "ham10000", seed=0)
    data = prepared(tmp_path, "dataset=ham10000")
    assert data.train.n_rows + data.val.n_rows + data.test.n_rows == gpu_checks.HAM_ROWS
    assert set(data.specs) == {"metadata", "image"} and data.train.inputs["image"].shape[1:] == (28, 28, 3)
    assert len(set(data.test.labels)) == len(data.class_names) == 7
