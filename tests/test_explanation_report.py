"""The explanations part of study reports: on hand-made runs whose top features, overlaps and metric
means are known, and on two real tiny runs of breast_cancer_explanations."""

import re
from pathlib import Path

import pytest
from mlflow import MlflowClient

from conftest import FAST, migrated_store_uri, store_uri
from transferlab import report
from transferlab.errors import ConfigError
from transferlab.explanation_report import ExplanationSettings, explanation_settings
from transferlab.report import study_request, write_report
from transferlab.reporting import build

STUDY = "breast_cancer_explanations"  # group_by: model; explanations: top 5, at most 6 figures per group
PERMUTATION = {
    # Top 5 of seed 1: a b c d g; of seed 2: a b c NA f. They share 3: Jaccard 3 / 7. Mean over both
    # seeds: a b c, d (0.4), NA (0.35, a token, not a missing value); g, which seed 2 does not rank,
    # counts 0 there (0.29).
    1: {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6, "g": 0.58, "e": 0.5, "NA": 0.1, "f": 0.05},
    2: {"a": 0.9, "b": 0.8, "c": 0.7, "NA": 0.6, "f": 0.55, "d": 0.2, "e": 0.1},
}
SHAP = {"x1": 5.0, "x2": 4.0, "x3": 3.0, "x4": 2.0, "x5": 1.0, "x6": 0.5}  # the same in both seeds: stability 1
# The first seed's run of mlp: seven PNGs (one more than the block copies) and a CSV that is no figure.
FIGURES = [
    "comparison/deletion.png",
    "integrated_gradients/importance.png",
    "lime/lime.png",
    "modality/modality.png",
    "permutation/importance.png",
    "shap/bar.png",
    "shap/beeswarm.png",
]
LINK = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")


def importance_csv(values: dict[str, float]) -> str:
    ranked = sorted(values.items(), key=lambda item: -item[1])
    return "feature,importance\n" + "".join(f"{feature},{value}\n" for feature, value in ranked)


def make_run(client, experiment_id: str, model: str, seed: int, metrics: dict, artifacts: dict[str, str]) -> str:
    """A FINISHED job run of the study with `artifacts` (path -> text) under explanations/."""
    run_id = client.create_run(experiment_id, tags={"study": STUDY, "model": model}).info.run_id
    client.log_param(run_id, "trainer.seed", str(seed))
    for name, value in metrics.items():
        client.log_metric(run_id, name, value)
    for path, text in artifacts.items():
        client.log_text(run_id, text, f"explanations/{path}")
    client.set_terminated(run_id)
    return run_id


@pytest.fixture
def study_store(tmp_path) -> dict[tuple[str, int], str]:
    """Hand-made runs of the study in tmp_path's store: (model, seed) -> run id. mlp: seeds 2 (made
    first) and 1; mlp_100_64_32: seed 7, whose SHAP logged figures but no importance.csv."""
    client = MlflowClient(tracking_uri=migrated_store_uri(tmp_path))
    experiment_id = client.create_experiment(STUDY, artifact_location=(tmp_path / "mlruns").as_uri())
    mlp = {
        seed: dict(
            test_accuracy=0.95,
            explainer_agreement_permutation_shap=agreement,
            explainer_faithfulness_permutation=faithfulness,
            explainer_faithfulness_random=0.01 * seed,
            ig_completeness_gap_mean=0.001 * seed,
        )
        for seed, agreement, faithfulness in [(1, 0.5, 0.1), (2, 0.7, 0.2)]
    }
    return {
        ("mlp", 2): make_run(
            client,
            experiment_id,
            "mlp",
            2,
            mlp[2],
            {
                "permutation/importance.csv": importance_csv(PERMUTATION[2]),
                "shap/importance.csv": importance_csv(SHAP),
                "comparison/other_seed.png": "not the first seed",
            },
        ),
        ("mlp", 1): make_run(
            client,
            experiment_id,
            "mlp",
            1,
            mlp[1],
            {
                "permutation/importance.csv": importance_csv(PERMUTATION[1]),
                "permutation/permutation.csv": "feature,importance_mean\n",
                "shap/importance.csv": importance_csv(SHAP),
                **{path: f"PNG of seed 1: {path}" for path in FIGURES},
            },
        ),
        ("mlp_100_64_32", 7): make_run(
            client,
            experiment_id,
            "mlp_100_64_32",
            7,
            {"test_accuracy": 0.9},
            {"permutation/importance.csv": importance_csv(PERMUTATION[1]), "shap/beeswarm.png": "PNG"},
        ),
        ("lime_only", 1): make_run(  # another model with another explainer: no rows for what it did not run
            client,
            experiment_id,
            "lime_only",
            1,
            {"test_accuracy": 0.8},
            {"lime/importance.csv": "feature,importance\nwin,1\n"},
        ),
    }


def table(text: str, header_start: str) -> list[dict[str, str]]:
    """The rows (header cell -> cell) of the Markdown table whose header line begins with `header_start`."""
    lines = text[text.index(header_start) :].split("\n\n")[0].splitlines()
    header, _, *body = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines)
    return [dict(zip(header, cells)) for cells in body]


def top_features(text: str) -> dict[tuple[str, str], list[str]]:
    """(model, explainer) -> runs read, runs skipped, top 5, top-5 stability."""
    return {(r["model"], r["explainer"]): list(r.values())[2:] for r in table(text, "| model | explainer |")}


def metric_means(text: str, family: str) -> dict[str, dict[str, str]]:
    """model -> {n, metric: mean ± std} of the table of a metric family (`explainer_agreement_`)."""
    return {r.pop("model"): r for r in table(text, f"| model | n | {family}")}


def test_top_features_their_stability_over_seeds_and_the_metric_means_per_group(study_store, tmp_path):
    text = write_report(study_request(STUDY), store_uri(tmp_path), tmp_path / "experiments")
    assert top_features(text) == {
        ("mlp", "permutation"): ["2", "0", "`a`, `b`, `c`, `d`, `NA`", f"{3 / 7:.4f}"],  # 3 of 5 shared
        ("mlp", "shap"): ["2", "0", "`x1`, `x2`, `x3`, `x4`, `x5`", "1.0000"],
        ("mlp_100_64_32", "permutation"): ["1", "0", "`a`, `b`, `c`, `d`, `g`", "n/a"],  # one run: no pair
        ("mlp_100_64_32", "shap"): ["0", "1", "(no importance.csv)", "n/a"],
        ("lime_only", "lime"): ["1", "0", "`win`", "n/a"],
        ("mlp", "lime"): ["0", "2", "(no importance.csv)", "n/a"],  # seed 1 logged lime.png only
    }
    # Mean ± std over the group's seeds; a group that logged none of a family shows n/a.
    assert metric_means(text, "explainer_agreement_") == {
        "mlp": {"n": "2", "explainer_agreement_permutation_shap": "0.6000 ± 0.1414"},
        "mlp_100_64_32": {"n": "0", "explainer_agreement_permutation_shap": "n/a"},
        "lime_only": {"n": "0", "explainer_agreement_permutation_shap": "n/a"},
    }
    assert metric_means(text, "explainer_faithfulness_")["mlp"] == {
        "n": "2",
        "explainer_faithfulness_permutation": "0.1500 ± 0.0707",
        "explainer_faithfulness_random": "0.0150 ± 0.0071",
    }
    assert metric_means(text, "ig_completeness_gap_")["mlp"] == {
        "n": "2",
        "ig_completeness_gap_mean": "0.0015 ± 0.0007",
    }
    assert (tmp_path / "experiments" / f"{STUDY}_results.md").read_text() == text + "\n"


def test_the_first_seeds_figures_are_copied_beside_the_page_and_linked(study_store, tmp_path):
    output = tmp_path / "experiments"
    text = write_report(study_request(STUDY), store_uri(tmp_path), output)
    folder = output / f"{STUDY}_figures"
    copied = FIGURES[:6]  # comparison/ first, then the folders by name; the seventh is left out
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(
        [f"mlp/{path.replace('/', '_')}" for path in copied] + ["mlp_100_64_32/shap_beeswarm.png"]
    )
    for path in copied:
        assert (folder / "mlp" / path.replace("/", "_")).read_text() == f"PNG of seed 1: {path}"
    assert f"#### mlp: run `{study_store['mlp', 1]}` (seed 1); 1 further PNG(s) not copied" in text
    assert f"#### mlp_100_64_32: run `{study_store['mlp_100_64_32', 7]}` (seed 7)\n" in text
    links = LINK.findall(text)
    assert links == [f"{STUDY}_test_accuracy.png"] + [
        f"{STUDY}_figures/mlp/{path.replace('/', '_')}" for path in copied
    ] + [f"{STUDY}_figures/mlp_100_64_32/shap_beeswarm.png"]
    assert all((output / link).is_file() for link in links)  # relative to the page
    assert sorted(p.name for p in output.iterdir()) == sorted(
        [f"{STUDY}_figures", f"{STUDY}_test_accuracy.png"]
        + [f"{STUDY}_{name}" for name in ("results.md", "runs.csv", "summary.csv", "report.html")]
    )
    html = (output / f"{STUDY}_report.html").read_text()  # self-contained: the figures inside the page
    assert html.count('src="data:image/png;base64,') == len(links)


def test_a_second_report_replaces_the_figures_of_the_first(study_store, tmp_path):
    output = tmp_path / "experiments"
    stale = output / f"{STUDY}_figures" / "old_group" / "stale.png"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier report")
    write_report(study_request(STUDY), store_uri(tmp_path), output)
    assert not stale.parent.exists()
    assert (output / f"{STUDY}_figures" / "mlp" / "comparison_deletion.png").is_file()


def test_a_failure_while_writing_leaves_the_previous_report_as_it_was(study_store, tmp_path, monkeypatch):
    output = tmp_path / "experiments"
    output.mkdir()
    (output / f"{STUDY}_results.md").write_text("previous page")

    def fail(runs, labels):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build, "runs_table", fail)  # after the page, chart and figures were staged
    with pytest.raises(RuntimeError):
        write_report(study_request(STUDY), store_uri(tmp_path), output)
    assert [p.name for p in output.iterdir()] == [f"{STUDY}_results.md"]
    assert (output / f"{STUDY}_results.md").read_text() == "previous page"


def test_the_block_is_true_false_or_validated_settings():
    assert explanation_settings(None) is None and explanation_settings(False) is None
    assert explanation_settings(True) == ExplanationSettings(explainers=None, top=5, figures=6)
    assert explanation_settings({"explainers": ["shap"], "top": 3}) == ExplanationSettings(explainers=["shap"], top=3)
    for block, message in [
        (
            {"explainer": ["shap"]},
            "report.explanations.explainer: no such key; did you mean report.explanations.explainers?",
        ),
        (
            {"explainers": ["shapp"]},
            "report.explanations.explainers[0]=shapp: not an explainer; choose from feature_maps, ",
        ),
        ({"top": 0}, "report.explanations.top=0: must be a positive integer"),
        ({"figures": -1}, "report.explanations.figures=-1: must be an integer >= 0"),
        ("yes", "report.explanations=yes: must be true, false or a mapping (explainers, top, figures)"),
    ]:
        with pytest.raises(ConfigError) as caught:
            explanation_settings(block)
        assert str(caught.value).startswith(message)


def bad_block_spec(study: str) -> dict:
    return {"group_by": "model", "metrics": ["test_accuracy"], "planned": [], "explanations": {"top": "5"}}


@pytest.mark.parametrize(
    "spec, expected",
    [
        (
            None,
            f"error: selection=job runs in all experiments, the latest sweep, filter `attributes.status = 'FINISHED' "
            f"and tags.study = '{STUDY}'`: no finished job run matches in ",
        ),
        (bad_block_spec, "error: report.explanations.top=5: must be a positive integer"),
    ],
)
def test_bad_input_is_one_error_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys, spec, expected):
    if spec is not None:
        monkeypatch.setattr(report, "report_spec", spec)
    output = tmp_path / "experiments"
    with pytest.raises(SystemExit) as caught:
        report.main([STUDY, "--tracking-uri", migrated_store_uri(tmp_path), "--output-dir", str(output)])
    assert caught.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith(expected) and error.count("\n") == 1, error
    assert not output.exists() or not any(output.iterdir())


@pytest.mark.slow
def test_two_real_seeds_of_the_study(compose, run_job, tmp_path):
    """breast_cancer_explanations' mlp arm, seeds 1 and 2 (tiny settings), then its report."""
    for seed in (1, 2):
        run_job(
            compose(
                f"experiment={STUDY}",
                "model=mlp",
                f"trainer.seed={seed}",
                *FAST,
                "explainer.permutation.n_repeats=2",
                "explainer.shap.background_rows=20",
                "explainer.shap.max_rows=20",
                "explainer.integrated_gradients.steps=16",
            )
        )
    output = tmp_path / "experiments"
    text = write_report(study_request(STUDY), store_uri(tmp_path), output)
    found = top_features(text)
    assert sorted(found) == [("mlp", "integrated_gradients"), ("mlp", "permutation"), ("mlp", "shap")]
    for runs, skipped, features, stability in found.values():
        assert (runs, skipped, features.count("`")) == ("2", "0", 10)
        assert 0 <= float(stability) <= 1
    assert sorted(metric_means(text, "explainer_agreement_")["mlp"]) == [
        "explainer_agreement_integrated_gradients_permutation",
        "explainer_agreement_integrated_gradients_shap",
        "explainer_agreement_permutation_shap",
        "n",
    ]
    assert metric_means(text, "explainer_faithfulness_")["mlp"]["n"] == "2"
    assert set(metric_means(text, "ig_completeness_gap_")["mlp"]) == {
        "n",
        "ig_completeness_gap_max",
        "ig_completeness_gap_mean",
    }
    links = LINK.findall(text)
    assert {Path(link).name for link in links} >= {
        "comparison_deletion.png",
        "integrated_gradients_importance.png",
        "permutation_importance.png",
        "shap_bar.png",
        "shap_beeswarm.png",
    }
    assert all((output / link).stat().st_size > 10_000 for link in links)
    assert "Not in this table (no finished run in the selection): mlp_100_64_32." in text
