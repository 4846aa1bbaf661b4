"""Helpers shared by the benchmark scripts: paths, machine description, RESULTS.md sections.

Nothing here imports Keras, so each script can still choose its backend first.
"""

import argparse
import datetime as _dt
import os
import platform
import re
import statistics
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
SRC_DIR = PROJECT_ROOT / "src"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
DATA_DIR_ENV = "TRANSFERLAB_DATA_DIR"
# <checkout>/../shared/data, as in the project's own layout (/work/main -> /work/shared/data).
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"

PACKAGES = (
    "keras",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "jaxlib",
    "mlflow",
    "hydra-core",
    "scikit-learn",
    "numpy",
    "pandas",
)

RESULTS_HEADER = """# Benchmark results

Written by `benchmarks/*.py --record` (see README.md here for what each compares). Each script
replaces only its own section. Timings on a shared machine are noisy (the recorded runs below
were taken while other jobs were using the CPU): compare the **ratios**, which are measured
within one run with baseline and our path interleaved on the same machine state, rather than
absolute seconds between sections or dates.
"""


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def argument_parser(doc: str, pima: bool = False) -> argparse.ArgumentParser:
    """A parser whose help is the script's docstring (first paragraph, then the rest); with
    pima=True it has the --data-dir option pima_csv() reads."""
    summary, _, details = doc.partition("\n\n")
    parser = argparse.ArgumentParser(
        description=summary, epilog=details, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if pima:
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help=f"folder holding pima/diabetes.csv (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR})",
        )
    return parser


def command_line(script: str, argv=None) -> str:
    """The invocation to write into RESULTS.md, e.g. `.venv/bin/python benchmarks/x.py --record`."""
    args = list(argv if argv is not None else sys.argv[1:])
    return "`" + " ".join([".venv/bin/python", f"benchmarks/{Path(script).name}", *args]) + "`"


def pima_csv(data_dir: Path) -> Path:
    path = Path(data_dir) / "pima" / "diabetes.csv"
    if not path.is_file():
        sys.exit(
            f"error: {path} not found; pass --data-dir or set {DATA_DIR_ENV} to the folder holding pima/diabetes.csv"
        )
    return path


def use_project_sources() -> None:
    """Import transferlab from this checkout's src/ even when it is not pip-installed."""
    if str(SRC_DIR) not in sys.path:
        sys.path.insert(0, str(SRC_DIR))


def composed_config(overrides: list[str]):
    """The job config run.py composes for `overrides`, validated as the CLI validates it."""
    from hydra import compose, initialize_config_dir

    from transferlab.cli import CONF_DIR, register_experiments
    from transferlab.config_checks import check_config

    register_experiments()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    check_config(cfg)
    return cfg


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(os.cpu_count())


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def machine_lines(backend: str, devices: str = "no GPU used") -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in package_versions().items())
    return [
        f"- date: {_dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: `nproc` = {nproc()}, CPU: {cpu_model()}, {platform.system()} {platform.machine()}, {devices}",
        f"- load average (1/5/15 min) at the end of the run: {load_average()}",
        f"- backend: {backend}",
        f"- packages: {versions}",
        f"- git commit: {git_commit()}",
    ]


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(PROJECT_ROOT),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "src",
                "conf",
                "run.py",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (src/conf with uncommitted changes)" if dirty else "")


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (also readable as plain text on a terminal)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"
    return "\n".join([line(headers), "| " + " | ".join("-" * w for w in widths) + " |", *(line(r) for r in cells)])


def median(values):
    return statistics.median(values)


def record_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section `name` of RESULTS.md, leaving the other sections alone."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    section = f"{begin}\n## {title}\n\n{body.rstrip()}\n{end}"
    text = RESULTS_FILE.read_text() if RESULTS_FILE.exists() else RESULTS_HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS_FILE.write_text(text if text.endswith("\n") else text + "\n")
    print(f"recorded in {RESULTS_FILE}")


def record_result(
    section: str,
    title: str,
    script: str,
    argv,
    backend: str,
    result_table: str,
    summary: list[str],
    devices: str = "no GPU used",
):
    """record_section with the usual body: the command, the machine (`devices`: what computed), the
    result table and the summary."""
    lines = [
        f"Command: {command_line(script, argv)}",
        "",
        *machine_lines(backend, devices),
        "",
        result_table,
        "",
        *summary,
    ]
    record_section(section, title, "\n".join(lines))


def print_report(result_table: str, summary: list[str]) -> None:
    """Print a benchmark's result table and its summary lines."""
    print()
    print(result_table)
    print()
    print("\n".join(summary))
