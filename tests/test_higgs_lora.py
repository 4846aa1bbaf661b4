"""HIGGS (seed 001): residual MLP size and saving, native-Keras LoRA counts and merge, the ordered
split with train-only standardisation, and whole runs of lora / frozen / finetune from the CLI."""

import numpy as np
import pandas as pd
import pytest
from conftest import HIGGS_SAMPLE, all_runs, child_runs, describe, parent_runs
from model_inputs import table

# The 8,000-row sample of tests/data, split small so a run takes seconds.
HIGGS_FAST = (
    "dataset=higgs",
    "dataset.loader.filename=HIGGS_subset_uci.csv.gz",
    "dataset.loader.url=null",
    "dataset.split.n_train=2000",
    "dataset.split.n_extra=3000",
    "dataset.split.n_test=3000",
    "model=resnet_mlp",
    "trainer.epochs=2",
    "trainer.batch_size=256",
    "trainer.class_weight=null",
    "explainer=none",
)


@pytest.fixture(scope="module")
def keras_module():
    import keras

    return keras


def test_a_source_model_must_take_the_datas_example_shape(keras_module, tmp_path):
    from transferlab.errors import ConfigError
    from transferlab.models.resnet_mlp import ResidualMLP
    from transferlab.strategies.common import load_source_model

    path = tmp_path / "eight_features.keras"
    ResidualMLP(width=8, head_units=4).build_classifier(table(8), 2).save(path)
    assert load_source_model(str(path), table(8)).input_shape == (None, 8)
    with pytest.raises(ConfigError, match=r"model takes inputs of shape \(8,\), the dataset's are \(28,\)"):
        load_source_model(str(path), table(28))


def outputs(model, x):
    """predict_array (a direct call for these sizes): model.predict would trace a predict function."""
    from transferlab.evaluation.metrics import predict_array

    return predict_array(model, {"features": x})


def test_resnet_mlp_has_seed_001s_size_and_saves_without_custom_objects(keras_module, tmp_path):
    from transferlab.models.resnet_mlp import ResidualMLP

    model = ResidualMLP().build_classifier(table(28), 2)
    assert model.count_params() == 78_081
    x = np.random.default_rng(0).normal(size=(64, 28)).astype("float32")
    model.save(tmp_path / "base.keras")
    loaded = keras_module.saving.load_model(tmp_path / "base.keras")  # no custom_objects
    assert loaded.count_params() == 78_081
    np.testing.assert_array_equal(outputs(loaded, x), outputs(model, x))


def trained_adapted(keras_module, rank=4, alpha=0.4):
    """A briefly trained base with adapters trained a few steps on a shifted task."""
    from transferlab.models.resnet_mlp import ResidualMLP
    from transferlab.strategies.lora import add_adapters

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 28)).astype("float32")
    keras_module.utils.set_random_seed(0)
    model = ResidualMLP().build_classifier(table(28), 2)
    model.compile("adam", "binary_crossentropy")
    model.fit(x, (x[:, 0] > 0).astype("float32"), epochs=1, batch_size=256, verbose=0)
    base_predictions = outputs(model, x)
    add_adapters(model, rank, alpha)
    model.compile(keras_module.optimizers.Adam(1e-2), "binary_crossentropy")
    model.fit(x, (x[:, 1] > 0).astype("float32"), epochs=2, batch_size=256, verbose=0)
    return model, x, base_predictions


def test_lora_trains_seed_001s_5748_parameters_and_merges_exactly(keras_module, tmp_path):
    from transferlab.strategies.lora import adaptable_layers, max_abs_prediction_diff, merged_copy
    from transferlab.training import parameter_counts

    adapted, x, base_predictions = trained_adapted(keras_module)
    counts = parameter_counts(adapted)
    assert (counts["trainable_params"], counts["total_params"]) == (5_748, 83_829)  # seed 001: 5,748 of 83,829
    assert all(layer.lora_enabled for layer in adaptable_layers(adapted)) and len(adaptable_layers(adapted)) == 7
    assert all(
        np.any(keras_module.ops.convert_to_numpy(layer.lora_kernel_b) != 0) for layer in adaptable_layers(adapted)
    )
    assert np.max(np.abs(outputs(adapted, x) - base_predictions)) > 1e-3  # the adapters changed the model

    merged = merged_copy(adapted)
    assert merged.count_params() == 78_081 and not any(layer.lora_enabled for layer in adaptable_layers(merged))
    assert max_abs_prediction_diff(adapted, merged, {"features": x}) <= 1e-5
    merged.save(tmp_path / "merged.keras")
    reloaded = keras_module.saving.load_model(tmp_path / "merged.keras")
    assert reloaded.count_params() == 78_081
    assert max_abs_prediction_diff(adapted, reloaded, {"features": x}) <= 1e-5


@pytest.mark.slow
def test_merge_parity_under_mixed_precision_is_measured_in_float32(keras_module):
    """bfloat16 compute rounds the adapted and the merged model differently; the logged parity
    compares float32 copies, so it still checks the merge itself."""
    from transferlab.strategies.lora import max_abs_prediction_diff, merge_parity, merged_copy

    keras_module.config.set_dtype_policy("mixed_bfloat16")
    try:
        adapted, x, _ = trained_adapted(keras_module)
        merged = merged_copy(adapted)
        assert max_abs_prediction_diff(adapted, merged, {"features": x}) > 1e-4  # bfloat16 rounding alone
        assert merge_parity(adapted, merged, {"features": x}) <= 1e-5
    finally:
        keras_module.config.set_dtype_policy("float32")


@pytest.mark.parametrize(("rank", "ok"), [(1, True), (28, True), (0, False), (29, False)])
def test_lora_rank_bounds(keras_module, rank, ok):
    from transferlab.errors import ConfigError
    from transferlab.models.resnet_mlp import ResidualMLP
    from transferlab.strategies.lora import check_rank

    model = ResidualMLP().build_classifier(table(28), 2)
    if ok:
        check_rank(rank, model)
        return
    with pytest.raises(ConfigError) as caught:
        check_rank(rank, model)
    assert str(caught.value).startswith(f"strategy.rank={rank}: must be an integer from 1 to 28")
    assert "dense_in: 28->128" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rank": 4.5}, "strategy.rank=4.5: must be a positive integer"),
        ({"rank": 0}, "strategy.rank=0: must be a positive integer"),
        ({"alpha": -1.0}, "strategy.alpha=-1.0: must be a positive number"),
        ({"source": {"pretrain": "no"}}, "strategy.source.pretrain=no: must be true or false"),
    ],
)
def test_lora_options_are_validated_when_the_strategy_is_built(keras_module, options, message):
    from transferlab.errors import ConfigError
    from transferlab.strategies.lora import LoRA

    with pytest.raises(ConfigError) as caught:
        LoRA(**options)
    assert str(caught.value) == message


def test_ordered_split_is_seed_001s_and_standardised_on_train_only(compose, tmp_path):
    import pandas as pd

    from transferlab.data.loading import load_prepared

    cfg = compose(*HIGGS_FAST, "dataset.split.val_fraction=0.1")
    data = load_prepared(cfg.dataset)
    raw = pd.read_csv(HIGGS_SAMPLE, header=None).to_numpy(np.float32)
    train, extra, test = raw[:2000], raw[2000:5000], raw[-3000:]
    assert data.sizes() == {"n_train": 1800, "n_val": 200, "n_test": 3000, "n_extra": 3000}
    np.testing.assert_array_equal(np.concatenate([data.train.labels, data.val.labels]), train[:, 0])
    np.testing.assert_array_equal(data.extra.labels, extra[:, 0])
    np.testing.assert_array_equal(data.test.labels, test[:, 0])
    fit = train[:1800, 1:].astype(np.float64)
    mean, std = fit.mean(axis=0), fit.std(axis=0)
    np.testing.assert_allclose(data.preprocessors["features"].mean_, mean, rtol=1e-6, atol=1e-6)
    x_train, x_test = data.train.inputs["features"], data.test.inputs["features"]
    np.testing.assert_allclose(x_test, ((test[:, 1:] - mean) / std).astype(np.float32), rtol=1e-5, atol=1e-5)
    assert abs(x_train.mean()) < 1e-5 and abs(x_test.mean()) > 1e-4  # train statistics, not test's
    assert all(
        part.inputs["features"].dtype == np.float32 and part.inputs["features"].flags.c_contiguous
        for part in (data.train, data.val, data.extra, data.test)
    )
    pd.testing.assert_frame_equal(
        data.raw_examples, pd.DataFrame(test[:5, 1:], columns=list(data.specs["features"].columns))
    )


def test_zero_std_feature_is_left_unscaled(tmp_path):
    from transferlab.data.higgs import load_higgs

    rng = np.random.default_rng(0)
    rows = np.column_stack([rng.integers(0, 2, 300), rng.normal(size=(300, 28))])
    rows[:, 5] = 1.5  # constant feature
    np.savetxt(tmp_path / "HIGGS.csv", rows, fmt="%.18e", delimiter=",")
    data = load_higgs(str(tmp_path / "HIGGS.csv"), str(tmp_path), None, str(tmp_path / "cache")).prepare(
        200, 50, val_fraction=0.1
    )
    assert np.all(np.isfinite(data.test.inputs["features"])) and np.all(data.train.inputs["features"][:, 4] == 0)


def metrics_of(run) -> dict:
    return run.data.metrics


@pytest.mark.slow
def test_lora_run_from_the_cli(run_cli, tmp_path, keras_module):
    import mlflow
    import pandas as pd

    result = run_cli(
        *HIGGS_FAST,
        "strategy=lora",
        "tracking.log_model=true",
        "++strategy.stages.lora.jit_compile=true",
        "trainer.feed=batches",
    )
    assert result.returncode == 0, describe(result)
    [run] = parent_runs(tmp_path)
    assert run.info.status == "FINISHED"
    m = metrics_of(run)
    assert (m["trainable_params"], m["total_params"], m["merged_total_params"]) == (5_748, 83_829, 78_081)
    assert m["lora_merge_max_abs_diff"] <= 1e-5
    assert m["n_extra"] == 3000 and m["n_train"] + m["n_val"] == 2000
    for name in (
        "test_accuracy",
        "test_balanced_accuracy",
        "test_f1",
        "test_specificity",
        "test_sensitivity",
        "train_seconds",
        "base_train_seconds",
        "adapt_train_seconds",
    ):
        assert name in m, name
    assert m["test_balanced_accuracy"] == pytest.approx((m["test_specificity"] + m["test_sensitivity"]) / 2)
    stages = {c.data.tags["stage"]: c.data.params for c in child_runs(tmp_path, run)}
    assert sorted(stages) == ["lora", "pretrain"]
    # trainer.jit_compile=auto is logged as Keras resolved it (no XLA for TensorFlow on a CPU);
    # the lora stage's own setting turns XLA on for that stage only.
    assert (stages["pretrain"]["stage.jit_compile"], stages["lora"]["stage.jit_compile"]) == ("False", "True")
    assert stages["pretrain"]["stage.feed"] == stages["lora"]["stage.feed"] == "batches"
    assert len(run.data.tags["data_fingerprint"]) == 64

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    exported = mlflow.keras.load_model(f"runs:/{run.info.run_id}/keras_model")
    assert exported.count_params() == 78_081  # merged: the base's size
    raw = pd.read_csv(HIGGS_SAMPLE, header=None).iloc[-5:]
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    from transferlab.data.higgs import COLUMNS

    predicted = pyfunc.predict(pd.DataFrame(raw.iloc[:, 1:].to_numpy(np.float32), columns=COLUMNS))
    assert list(predicted.columns) == ["probability_background", "probability_signal", "prediction"]


@pytest.mark.slow
def test_transfer_arms_start_from_an_earlier_runs_model(run_cli, tmp_path):
    """Base trained once (scratch); lora / finetune / frozen start from it without a pretrain stage."""
    base = run_cli(*HIGGS_FAST, "strategy=scratch", "tracking.log_model=true")
    assert base.returncode == 0, describe(base)
    [base_run] = parent_runs(tmp_path)
    result = run_cli(
        "-m",
        *HIGGS_FAST,
        "strategy=lora,finetune,frozen",
        f"++strategy.source.run_id={base_run.info.run_id}",  # ++: the sweep first composes the default strategy
        "tracking.log_model=false",
    )
    assert result.returncode == 0, describe(result)
    runs = {r.data.tags["strategy"]: r for r in parent_runs(tmp_path)}
    assert set(runs) == {"scratch", "lora", "finetune", "frozen"} and all(
        r.info.status == "FINISHED" for r in runs.values()
    )
    stages = {name: sorted(c.data.tags["stage"] for c in child_runs(tmp_path, run)) for name, run in runs.items()}
    assert stages == {"scratch": ["train"], "lora": ["lora"], "finetune": ["finetune", "frozen"], "frozen": ["frozen"]}
    assert metrics_of(runs["lora"])["trainable_params"] == 5_748
    assert metrics_of(runs["frozen"])["trainable_params"] == 65  # the new output layer only
    assert metrics_of(runs["finetune"])["trainable_params"] == 78_081
    assert "base_train_seconds" not in metrics_of(runs["lora"])


@pytest.mark.slow
def test_in_run_base_finetunes_with_its_own_head_on_jax(run_cli, tmp_path):
    result = run_cli(*HIGGS_FAST, "strategy=finetune", backend="jax")
    assert result.returncode == 0, describe(result)
    [run] = parent_runs(tmp_path)
    assert run.data.tags["backend"] == "jax"
    assert sorted(c.data.tags["stage"] for c in child_runs(tmp_path, run)) == ["finetune", "pretrain"]
    assert metrics_of(run)["trainable_params"] == 78_081


@pytest.mark.slow
def test_same_seed_same_base_in_every_arm(compose, run_job, tmp_path):
    """The transfer arms pretrain exactly the base the scratch arm trains (same seed, same settings)."""
    for strategy in ("scratch", "lora"):
        run_job(compose(*HIGGS_FAST, f"strategy={strategy}", "tracking.log_model=false"))
    runs = {r.data.tags["strategy"]: r for r in parent_runs(tmp_path)}
    base_stage = {
        name: [c for c in child_runs(tmp_path, run) if c.data.tags["stage"] in ("train", "pretrain")][0]
        for name, run in runs.items()
    }
    assert base_stage["scratch"].data.metrics["best_val_loss"] == base_stage["lora"].data.metrics["best_val_loss"]
    assert [r for r in all_runs(tmp_path) if r.info.status != "FINISHED"] == []


@pytest.mark.slow
def test_shrunken_study_and_its_report(run_cli, tmp_path):
    """experiment=higgs_lora end to end (4 arms, one seed, 2 epochs), then the report's tables."""
    from transferlab.report import study_request, write_report

    result = run_cli(
        "experiment=higgs_lora",
        "trainer.seed=42",
        "trainer.epochs=2",
        "tracking.log_model=false",
        "explainer.permutation.n_repeats=1",
        "explainer.permutation.max_samples=500",
    )
    assert result.returncode == 0, describe(result)
    request = study_request("higgs_lora")
    text = write_report(request, f"sqlite:///{tmp_path}/mlflow.db", tmp_path / "report")
    runs = pd.read_csv(tmp_path / "report" / "higgs_lora_runs.csv")
    assert sorted(runs["tags.arm"]) == [
        "resnet_mlp_finetune",
        "resnet_mlp_frozen",
        "resnet_mlp_lora",
        "resnet_mlp_scratch",
    ]
    assert "| resnet_mlp_lora | 1 |" in text and "5,748" in text and "83,829" in text
    paired = pd.read_csv(tmp_path / "report" / "higgs_lora_comparisons.csv")
    lora = paired[paired["group"] == "resnet_mlp_lora"]
    assert sorted(lora["metric"]) == sorted(request.baseline_metrics) and set(lora["baseline"]) == {
        "resnet_mlp_scratch"
    }
    assert "resnet_mlp_scratch" not in set(paired["group"])
    assert (lora["n"] == 1).all() and lora["p_value"].isna().all()  # one seed: a difference, no test
