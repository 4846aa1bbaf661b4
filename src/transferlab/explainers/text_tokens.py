"""What LIME and SHAP on text share: each explained message's weight per token, the global view
(mean |weight| per token over the explained messages) and the artifacts made of them."""

import pandas as pd

from transferlab.data.text_features import vocabulary_form
from transferlab.evaluation.plots import importance_bars
from transferlab.explainers.base import ExplainContext, Explanation
from transferlab.explainers.samples import ExplainedSample
from transferlab.explainers.text_figures import token_weight_grid

GLOBAL_SHOWN = 20  # tokens in the global bar chart


def message_weights(pipeline, pairs: list[tuple[str, float]]) -> pd.Series:
    """One message's (token, weight) pairs as weights per token as the vocabulary spells it (the
    weights of a token's spellings and occurrences summed), strongest first."""
    weights = pd.Series([weight for _, weight in pairs], [vocabulary_form(pipeline, token) for token, _ in pairs])
    weights = weights[weights.index != ""].astype(float).groupby(level=0).sum()
    return weights.sort_values(ascending=False, key=abs, kind="stable")


def token_explanation(
    method: str,
    context: ExplainContext,
    sample: ExplainedSample,
    pairs: list[list[tuple[str, float]]],
    pages: list[str],
    num_features: int,
    message_columns: dict | None = None,
) -> Explanation:
    """The explanation of the sample's messages from each one's (token, weight) pairs toward its
    predicted class and its HTML page: the main table (index, message, token, weight), messages.csv
    (the sample, `message_columns` and the text), the importance (mean |weight| per token over the
    messages, 0 where a message lacks the token; logged as importance.csv), tokens.png (each message's
    `num_features` strongest tokens), global.png and message_<k>.html."""
    class_names = context.data.class_names
    pipeline = context.data.preprocessors[sample.input_name]
    messages = sample.messages
    weights = [message_weights(pipeline, message_pairs) for message_pairs in pairs]
    table = pd.concat(
        [
            pd.DataFrame({"index": index, "message": message, "token": series.index, "weight": series.to_numpy()})
            for index, message, series in zip(sample.index, messages, weights)
        ],
        ignore_index=True,
    )
    importance = (
        (table.weight.abs().groupby(table.token).sum() / len(messages))
        .sort_values(ascending=False, kind="stable")
        .rename("mean_abs_weight")
    )
    shown = importance.head(GLOBAL_SHOWN)
    figures = {
        "tokens.png": token_weight_grid(
            [series.head(num_features) for series in weights],
            sample.titles(class_names),
            sample.correct,
            messages,
            f"{method}: the {num_features} strongest tokens for (green) and against (red) the prediction",
        ),
        "global.png": importance_bars(
            shown.index,
            shown.to_numpy(),
            f"{method}: mean |weight| per token over {len(messages)} test messages",
            "mean |weight|",
        ),
    }
    tables = {"messages.csv": sample.table(class_names).assign(**(message_columns or {}), message=messages)}
    texts = {f"message_{k}.html": page for k, page in enumerate(pages)}
    return Explanation(table, figures, tables=tables, texts=texts, importance=importance)
