"""How the report writes numbers and tables in Markdown."""

import pandas as pd


def number(value: float, like: float | None = None) -> str:
    """Counts with thousands separators, seconds with one decimal, tiny values in scientific
    notation, scores with four decimals (seed 001 reports 0.7597). `like` formats a spread the
    way its mean is formatted."""
    if pd.isna(value):
        return "n/a"
    scale = abs(value if like is None else like)
    if value == 0:
        return "0"
    if scale >= 1000 or (scale >= 10 and float(value).is_integer()):
        return f"{value:,.0f}"
    if scale >= 10:
        return f"{value:.1f}"
    if scale < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4f}"


def markdown_rows(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; `|` inside a cell is escaped."""
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    cells = [" | ".join(str(cell).replace("|", "\\|") for cell in row) for row in rows]
    return "\n".join(lines + [f"| {line} |" for line in cells])
