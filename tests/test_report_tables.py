"""The study report's paired-by-seed table, on hand-made runs whose differences are known."""

import subprocess

import pandas as pd

from conftest import REPO_ROOT
from transferlab.report import baseline_table, run_commits, summarize
from transferlab.tracking.params import source_version_tags


def runs(scores: dict[str, list[float]]) -> pd.DataFrame:
    """One finished run per (arm, seed) with metric `score`."""
    return pd.DataFrame(
        [
            {"tags.arm": arm, "params.trainer.seed": str(seed), "metrics.score": value}
            for arm, values in scores.items()
            for seed, value in enumerate(values)
        ]
    )


def rows(table: str) -> dict[tuple[str, str], list[str]]:
    """(arm, baseline) -> the remaining cells of its row."""
    cells = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {(c[0].strip(), c[1].strip()): [x.strip() for x in c[2:]] for c in cells}


def test_each_compared_arm_against_each_baseline_with_the_spread_verdict():
    table = baseline_table(
        runs(
            {
                "table": [0.50, 0.52, 0.48],
                "image": [0.40, 0.41, 0.39],
                "fusion": [0.60, 0.61, 0.62],  # +0.11 over table, far beyond its 0.02 spread
                "noisy": [0.45, 0.70, 0.44],  # above image on average, within its own spread
            }
        ),
        "arm",
        ["score"],
        ["table", "image"],
        compared=["fusion", "noisy"],
    )
    found = rows(table)
    assert set(found) == {("fusion", "table"), ("fusion", "image"), ("noisy", "table"), ("noisy", "image")}
    assert found["fusion", "table"] == ["score", "+0.1100 ± 0.0265", "3 of 3", "yes"]
    assert found["fusion", "image"][2:] == ["3 of 3", "yes"]
    assert found["noisy", "image"][2:] == ["3 of 3", "no"]  # std of noisy (0.15) > its mean gain (0.13)
    assert found["noisy", "table"][1].startswith("+0.0300")


def test_one_baseline_by_name_compares_every_other_arm():
    found = rows(baseline_table(runs({"a": [1.0, 1.0], "b": [2.0, 2.0], "c": [0.0, 0.0]}), "arm", ["score"], "a"))
    assert set(found) == {("b", "a"), ("c", "a")}
    assert found["c", "a"] == ["score", "-1.0000 ± 0", "0 of 2", "no"]


def test_a_logged_param_can_be_the_grouping():
    """group_by: params.<key> groups runs by a swept setting (a null setting is logged as None)."""
    frame = runs({"lesion_id": [0.20, 0.22], "None": [0.25, 0.26]}).rename(
        columns={"tags.arm": "params.dataset.split.group_column"}
    )
    summary = summarize(frame, "params.dataset.split.group_column", ["score"])
    assert summary.loc["None", ("score", "mean")] == 0.255
    found = rows(baseline_table(frame, "params.dataset.split.group_column", ["score"], "lesion_id"))
    assert found["None", "lesion_id"][:3] == ["score", "+0.0450 ± 0.0071", "2 of 2"]


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
