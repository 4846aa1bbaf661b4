"""transferlab-report over hand-made runs with known values: selection, grouped statistics, seed-paired
comparisons, Pareto, curves, the outputs (Markdown, CSV, HTML, an MLflow run) and bad input."""

import math
from dataclasses import replace
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

from conftest import free_port, migrated_store_uri
from run_store import log_job
from transferlab import report
from transferlab.reporting import curves, sql_store
from transferlab.reporting.selection import RunSelection, runs_frame, select_runs

T_975_2 = 4.302653  # Student t quantile 0.975 with 2 degrees of freedom
# arm -> (strategy.name, trainable_params, train_seconds, test_accuracy by seed)
TOY_A = {
    "mlp_scratch": ("scratch", 1000, 10.0, {1: 0.80, 2: 0.82, 3: 0.84}),
    "finetune": ("finetune", 500, 5.0, {1: 0.85, 2: 0.88, 3: 0.90}),
    "frozen": ("frozen", 100, 4.0, {1: 0.78, 2: 0.83, 3: 0.83}),
}
CURVE_OFFSET = {"mlp_scratch": 1.0, "finetune": -1.0}
TOY_B = {"lora": ("lora", 50, 6.0, {7: 0.86, 8: 0.87})}  # other seeds: no pairing with toy_a's arms


def log_arms(client, experiment_id, arms, sweep_dir, start_time) -> dict[tuple[str, int], str]:
    ids = {}
    for arm, (strategy, trainable, seconds, accuracy) in arms.items():
        for seed, value in accuracy.items():
            # frozen: 1.0, 0.8, 0.6 (seed 1), 0.2 higher per seed; the other arms' curves lie apart from it
            start = 1.0 + 0.2 * (seed - 1) + CURVE_OFFSET.get(arm, 0.0)
            curve = [start, start - 0.2, start - 0.4]
            ids[arm, seed] = log_job(
                client,
                experiment_id,
                params={"trainer.seed": seed, "strategy.name": strategy, "model.name": "mlp"},
                metrics={"test_accuracy": value, "trainable_params": trainable, "train_seconds": seconds},
                tags={"arm": arm, "study": "toy", "sweep_dir": sweep_dir},
                # a pretraining stage first: the curves come from the last stage, the one that trained the model
                stages={"pretrain": [9.0, 9.0, 9.0], "train": curve},
                start_time=start_time + 10_000 * seed,
            )
    return ids


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[str, dict]:
    """Store URI and run ids: experiment toy_a (3 arms x seeds 1-3, sweep 1), toy_b (lora, seeds 7-8, sweep 2)."""
    folder = tmp_path_factory.mktemp("toy_store")
    client = MlflowClient(migrated_store_uri(folder))
    a = client.create_experiment("toy_a", artifact_location=(folder / "mlruns").as_uri())
    b = client.create_experiment("toy_b", artifact_location=(folder / "mlruns").as_uri())
    ids = log_arms(client, a, TOY_A, "/sweeps/1", 1_000_000)
    ids |= log_arms(client, b, TOY_B, "/sweeps/2", 2_000_000)
    return client.tracking_uri, ids


def run_report(uri: str, output: Path, *args: str) -> str:
    report.main([*args, "--tracking-uri", uri, "--output-dir", str(output), "--no-mlflow-run"])
    return (output / "report_results.md").read_text()


def test_grouped_statistics_match_hand_computed_means_spreads_and_t_intervals(toy, tmp_path):
    uri, _ = toy
    run_report(uri, tmp_path, "--experiment", "toy_a", "--group-by", "arm", "--metrics", "test_accuracy")
    summary = pd.read_csv(tmp_path / "report_summary.csv").set_index(["group", "metric"])
    mlp = summary.loc[("mlp_scratch", "test_accuracy")]
    assert (mlp["n"], mlp["mean"], mlp["std"], mlp["min"], mlp["max"]) == pytest.approx((3, 0.82, 0.02, 0.80, 0.84))
    half_width = T_975_2 * 0.02 / math.sqrt(3)
    assert (mlp["ci_low"], mlp["ci_high"]) == pytest.approx((0.82 - half_width, 0.82 + half_width), abs=1e-6)
    # cost columns ride along when the runs logged them
    assert summary.loc[("finetune", "trainable_params"), "mean"] == 500
    assert summary.loc[("frozen", "train_seconds"), "mean"] == 4.0


def test_paired_difference_by_seed_with_wins_interval_and_wilcoxon(toy, tmp_path):
    uri, _ = toy
    page = run_report(
        uri, tmp_path, "--experiment", "toy_a", "--baseline", "arm=mlp_scratch", "--metrics", "test_accuracy"
    )
    rows = pd.read_csv(tmp_path / "report_comparisons.csv").set_index(["group", "metric"])
    finetune = rows.loc[("finetune", "test_accuracy")]
    differences = [0.05, 0.06, 0.06]
    mean, std = sum(differences) / 3, pd.Series(differences).std()
    assert finetune["paired"] and finetune["n"] == 3
    assert finetune["mean_difference"] == pytest.approx(mean)
    assert (finetune["ci_low"], finetune["ci_high"]) == pytest.approx(
        (mean - T_975_2 * std / math.sqrt(3), mean + T_975_2 * std / math.sqrt(3)), abs=1e-6
    )
    assert (finetune["group_better"], finetune["baseline_better"], finetune["ties"]) == (3, 0, 0)
    assert finetune["test"] == "Wilcoxon signed-rank" and finetune["p_value"] == pytest.approx(0.25)  # 2 / 2^3
    frozen = rows.loc[("frozen", "test_accuracy")]  # -0.02, +0.01, -0.01
    assert (frozen["group_better"], frozen["baseline_better"]) == (1, 2)
    assert "| finetune | mlp_scratch | test_accuracy | 3 pairs | +0.0567 |" in page


def test_groups_without_a_common_seed_fall_back_to_an_unpaired_test_and_say_so(toy, tmp_path):
    uri, _ = toy
    page = run_report(uri, tmp_path, "--experiment", "toy_a", "--experiment", "toy_b", "--baseline", "arm=mlp_scratch")
    lora = pd.read_csv(tmp_path / "report_comparisons.csv").set_index(["group", "metric"]).loc["lora", "test_accuracy"]
    assert not lora["paired"] and lora["test"] == "Mann-Whitney U"
    assert lora["mean_difference"] == pytest.approx(0.865 - 0.82)
    assert "no common seed" in lora["note"] and "no common seed" in page


def test_selection_by_filter_tag_sweep_and_run_ids(toy, tmp_path):
    uri, ids = toy
    runs = lambda *args: set(  # noqa: E731
        run_report(uri, tmp_path, "--group-by", "arm", *args) and pd.read_csv(tmp_path / "report_runs.csv")["run_id"]
    )
    assert runs("--filter", "params.strategy.name = 'finetune'") == {ids["finetune", s] for s in (1, 2, 3)}
    assert runs("--tag", "study=toy", "--sweep", "latest") == {ids["lora", 7], ids["lora", 8]}
    assert runs("--sweep", "/sweeps/1") == {v for (arm, _), v in ids.items() if arm != "lora"}
    assert runs("--run-id", ids["frozen", 1], "--run-id", ids["lora", 8]) == {ids["frozen", 1], ids["lora", 8]}


def test_grouping_by_two_config_keys_labels_each_group_with_both(toy, tmp_path):
    uri, _ = toy
    run_report(
        uri,
        tmp_path,
        "--experiment",
        "toy_a",
        "--group-by",
        "strategy.name,model.name",
        "--baseline",
        "strategy.name=scratch,model.name=mlp",
    )
    groups = set(pd.read_csv(tmp_path / "report_summary.csv")["group"])
    assert "strategy.name=finetune, model.name=mlp" in groups
    baseline = set(pd.read_csv(tmp_path / "report_comparisons.csv")["baseline"])
    assert baseline == {"strategy.name=scratch, model.name=mlp"}


def test_pareto_frontier_and_curves_from_the_stage_runs(toy, tmp_path):
    uri, _ = toy
    page = run_report(uri, tmp_path, "--experiment", "toy_a", "--metrics", "test_accuracy")
    # finetune: best accuracy at 500 parameters; frozen: cheapest; mlp_scratch: beaten on both
    assert "- against trainable_params: finetune, frozen" in page
    assert (tmp_path / "report_pareto.png").stat().st_size > 10_000
    assert (tmp_path / "report_curves.png").stat().st_size > 10_000


def test_curves_average_the_final_stage_per_epoch_over_seeds(toy):
    uri, _ = toy
    client = MlflowClient(uri)
    selected = select_runs(client, RunSelection(experiments=("toy_a",), filter="tags.arm = 'frozen'"))
    points = curves.read_curves(client, selected.stages, ["val_loss", "val_accuracy"])
    assert len(points) == 9  # 3 jobs x 3 epochs of val_loss; nobody logged val_accuracy
    grouped = curves.group_curves(points, pd.Series("frozen", index=selected.jobs["run_id"]))
    first = grouped.set_index("epoch").loc[0]
    assert (first["mean"], first["std"], first["n"]) == pytest.approx((1.2, 0.2, 3))  # seeds' 1.0, 1.2, 1.4


def test_the_bulk_sql_read_gives_the_runs_and_values_mlflows_search_gives(toy, tmp_path):
    client = MlflowClient(migrated_store_uri(tmp_path))
    edge = client.create_experiment("edge", artifact_location=(tmp_path / "mlruns").as_uri())
    job = log_job(client, edge, {"trainer.seed": 1}, {"test_accuracy": 0.5}, {"arm": "a"}, {"train": [1.0, math.nan]})
    client.log_metric(job, "test_loss", math.nan)  # MLflow stores a NaN as 0 with is_nan set
    client.create_run(edge, tags={"arm": "a"})  # RUNNING: not read
    client.delete_run(log_job(client, edge, {"trainer.seed": 2}, {"test_accuracy": 0.6}, {"arm": "a"}))  # not read
    toy_client = MlflowClient(toy[0])
    toy_ids = [toy_client.get_experiment_by_name(name).experiment_id for name in ("toy_a", "toy_b")]
    for reader, ids in ((client, [edge]), (toy_client, toy_ids)):
        bulk = sql_store.finished_runs(reader._tracking_client.store, ids).set_index("run_id")
        searched = runs_frame(reader.search_runs(ids, "attributes.status = 'FINISHED'")).set_index("run_id")
        pd.testing.assert_frame_equal(bulk, searched, check_like=True)
    assert len(bulk) == 11 * 3  # toy: 11 jobs, each with 2 stage runs
    stage = select_runs(client, RunSelection(experiments=("edge",))).stages["run_id"].iloc[0]
    points = sql_store.metric_points(client._tracking_client.store, [stage], "val_loss")
    assert points[0] == (stage, 0, 1.0) and math.isnan(points[1][2])
    # The toy store read both ways, by a study and a tag or by run ids: the same jobs and stage runs.
    chosen = (toy[1]["finetune", 1], toy[1]["frozen", 2], toy[1]["lora", 7])
    for selection in (RunSelection(study="toy", tags=(("arm", "frozen"),)), RunSelection(run_ids=chosen)):
        bulk = select_runs(toy_client, selection)
        searched = select_runs(toy_client, replace(selection, filter="attributes.status = 'FINISHED'"))
        assert sorted(bulk.jobs["run_id"]) == sorted(searched.jobs["run_id"]) and len(bulk.jobs) == 3
        assert sorted(bulk.stages["run_id"]) == sorted(searched.stages["run_id"]) and len(bulk.stages) == 6


def test_outputs_name_the_runs_commits_and_the_exact_selection(toy, tmp_path):
    uri, ids = toy
    page = run_report(uri, tmp_path, "--experiment", "toy_a", "--filter", "params.strategy.name != 'lora'")
    assert "selected as: job runs in experiments toy_a, every sweep" in page
    assert "params.strategy.name != 'lora'" in page
    assert all(f"`{ids[arm, seed]}`" in page for arm, seed in ids if arm != "lora")
    html = (tmp_path / "report_report.html").read_text()
    assert html.count("<table>") >= 3 and html.count('src="data:image/png;base64,') == 2
    assert 'src="report_' not in html  # nothing outside the page


def test_the_report_is_logged_as_its_own_run_and_later_reports_skip_it(toy, tmp_path):
    uri, ids = toy
    report.main(["--experiment", "toy_b", "--tracking-uri", uri, "--output-dir", str(tmp_path), "--name", "lora_only"])
    client = MlflowClient(uri)
    (logged,) = client.search_runs(
        [client.get_experiment_by_name("toy_b").experiment_id],
        "tags.report = 'true' and tags.`report.name` = 'lora_only'",
    )
    assert logged.info.status == "FINISHED"
    assert set(logged.data.tags["report.run_ids"].split(",")) == {ids["lora", 7], ids["lora", 8]}
    names = {a.path for a in client.list_artifacts(logged.info.run_id, "report")}
    assert {"report/lora_only_report.html", "report/lora_only_results.md", "report/lora_only_runs.csv"} <= names
    again = run_report(uri, tmp_path / "again", "--experiment", "toy_b")
    assert "from 2 finished job runs" in again
    # over several experiments, the report run goes to the shared one
    report.main(
        ["--experiment", "toy_a", "--experiment", "toy_b", "--tracking-uri", uri, "--output-dir", str(tmp_path)]
    )
    shared = client.get_experiment_by_name("transferlab-reports")
    (across,) = client.search_runs([shared.experiment_id], "tags.report = 'true'")
    assert across.data.tags["report.n_runs"] == "11" and across.info.status == "FINISHED"


BAD_INPUT = {
    "no match": (["--experiment", "toy_a", "--filter", "params.strategy.name = 'nope'"], "no finished job run matches"),
    "unknown experiment": (["--experiment", "toy_c"], "--experiment=toy_c: no such experiment; there are:"),
    "unknown group key": (["--group-by", "strategy.nam"], "did you mean strategy.name"),
    "missing baseline": (["--baseline", "arm=nobody"], "--baseline=arm=nobody: no such group; the groups are:"),
    "baseline keys": (["--group-by", "arm", "--baseline", "model.name=mlp"], "name one value for each group-by key"),
    "unknown metrics": (["--metrics", "test_nothing"], "--metrics=test_nothing: no selected run logged them"),
    "bad interval": (["--interval", "wald"], "--interval=wald: must be one of t, bootstrap"),
    "bad filter": (["--filter", "params.x =="], "--filter="),
    "bad tag": (["--tag", "study"], "--tag=study: must be key=value"),
    "no store file": (["--tracking-uri", "sqlite:///{tmp}/elsewhere/mlflow.db"], "no MLflow store there"),
}


@pytest.mark.parametrize("args, expected", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_one_error_line_exit_2_nothing_written(toy, tmp_path, capsys, args, expected):
    uri, _ = toy
    with pytest.raises(SystemExit) as exit_info:
        report.main(
            ["--tracking-uri", uri, *(a.format(tmp=tmp_path) for a in args), "--output-dir", str(tmp_path / "out")]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert expected in err, err
    assert not any(path.is_file() for path in tmp_path.rglob("*"))
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    assert not client.search_runs(experiments, "attributes.status = 'RUNNING'")


def test_an_unreachable_server_is_one_line_within_seconds(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        report.main(["--tracking-uri", f"http://127.0.0.1:{free_port()}", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "no MLflow server answers" in err and err.count("\n") == 1


@pytest.mark.slow
def test_the_html_page_renders_its_tables_and_charts_in_headless_chromium(toy, tmp_path):
    """A real browser (Debian's `chromium`) draws the page offline: table headers and both charts show."""
    from PIL import Image

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the slow lane needs a headless browser: apt-get install chromium (.ci/run installs it)"
    uri, _ = toy
    run_report(uri, tmp_path, "--experiment", "toy_a", "--baseline", "arm=mlp_scratch")
    page, shot = tmp_path / "report_report.html", tmp_path / "screenshot.png"
    (tmp_path / "report_pareto.png").unlink()  # the page must not need the files beside it
    (tmp_path / "report_curves.png").unlink()
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    subprocess.run(
        [*browser, f"--screenshot={shot}", "--window-size=1200,4000", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    pixels = {colour: count for count, colour in Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24)}
    assert len(pixels) > 500, "a blank page"
    assert pixels.get((0xEE, 0xF2, 0xF7), 0) > 2000, "no table header drawn"  # the header background of the page's CSS
    assert sum(count for colour, count in pixels.items() if near(colour, (214, 39, 40))) > 200, "no Pareto chart"
    assert sum(count for colour, count in pixels.items() if near(colour, (31, 119, 180))) > 200, "no curves chart"
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<table>") >= 4 and dom.count('src="data:image/png;base64,') == 2


def near(colour: tuple[int, int, int], target: tuple[int, int, int], tolerance: int = 12) -> bool:
    """Within `tolerance` per channel (anti-aliasing and PNG scaling shift colours slightly)."""
    return all(abs(a - b) <= tolerance for a, b in zip(colour, target))
