"""The report's grouping keys, baseline names and commit provenance, on hand-made run tables."""

import subprocess

import pandas as pd
import pytest

from conftest import REPO_ROOT
from transferlab.errors import ConfigError
from transferlab.reporting.build import run_commits
from transferlab.reporting.grouping import baseline_label, group_columns
from transferlab.reporting.tables import wide_table
from transferlab.reporting.statistics import summarize_groups
from transferlab.tracking.params import source_version_tags


def runs(scores: dict[str, list[float]], column: str = "tags.arm") -> pd.DataFrame:
    """One finished run per (group, seed) with metric `score`."""
    return pd.DataFrame(
        [
            {column: group, "params.trainer.seed": str(seed), "metrics.score": value}
            for group, values in scores.items()
            for seed, value in enumerate(values)
        ]
    )


def test_a_key_is_a_logged_config_key_first_then_a_tag():
    frame = runs({"a": [1.0]}).assign(**{"params.arm": "from-config"})
    assert group_columns(frame, ["arm"]) == ["params.arm"]
    assert group_columns(frame, ["tags.arm", "trainer.seed"]) == ["tags.arm", "params.trainer.seed"]


def test_a_logged_param_can_be_the_grouping_and_a_null_setting_reads_none():
    frame = runs({"lesion_id": [0.20, 0.22], "None": [0.25, 0.26]}, column="params.dataset.split.group_column")
    (column,) = group_columns(frame, ["dataset.split.group_column"])
    table = wide_table(summarize_groups(frame, [column], ["score"]), ["score"], "dataset.split.group_column")
    assert "| None | 2 | 0.2550 ± 0.0071 |" in table and "| lesion_id | 2 | 0.2100 ± 0.0141 |" in table


def test_a_missing_key_names_the_closest_ones():
    with pytest.raises(ConfigError, match=r"--group-by=trainer.sed: .*did you mean trainer.seed"):
        group_columns(runs({"a": [1.0]}), ["trainer.sed"])


def test_a_baseline_is_named_by_its_key_values_in_any_order():
    columns = ["params.strategy.name", "params.model.name"]
    assert baseline_label("arm=mlp", ["tags.arm"]) == "mlp"
    assert baseline_label("mlp", ["tags.arm"]) == "mlp"
    assert baseline_label("model.name=mlp,strategy.name=scratch", columns) == "strategy.name=scratch, model.name=mlp"
    with pytest.raises(ConfigError, match="name one value for each group-by key"):
        baseline_label("strategy.name=scratch", columns)


def test_runs_are_tagged_with_the_checkouts_commit_and_whether_it_had_changes():
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True).stdout.strip()

    dirty = str(git("status", "--porcelain", "--untracked-files=no") != "").lower()
    assert source_version_tags() == {"mlflow.source.git.commit": git("rev-parse", "HEAD"), "git_dirty": dirty}


def test_the_report_names_each_commit_once_dirty_ones_marked_and_old_tags_read():
    new = pd.DataFrame({"tags.mlflow.source.git.commit": ["a", "a", "b"], "tags.git_dirty": ["false", "true", "false"]})
    assert run_commits(new) == ["a", "a-dirty", "b"]
    assert run_commits(pd.DataFrame({"tags.git_commit": ["c-dirty", "c-dirty"]})) == ["c-dirty"]
    assert run_commits(pd.DataFrame({"metrics.x": [1.0]})) == ["unknown"]
