"""Text inputs: what a model sees of a message (TF-IDF or count features over a vocabulary fitted
on the training split only), and the fitted scikit-learn pipeline that computes them from raw strings.

The pipeline is stock scikit-learn (np.ravel -> TfidfVectorizer or CountVectorizer -> dense), so the
logged raw-row model unpickles it without transferlab, and it takes a one-column frame or array of
any column name: a model pretrained on one dataset's messages encodes another's with its own vocabulary.
Vectorised here rather than with Keras' TextVectorization inside the model: that layer runs on
TensorFlow only, and the models must also run with KERAS_BACKEND=jax.
"""

import re
from operator import methodcaller
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

from transferlab.data.inputs import InputKind, InputSpec
from transferlab.errors import ConfigError
from transferlab.validation import PositiveInt, Settings, is_int, rule, validate

KEY = "dataset.text"

NgramRange = rule(
    lambda v: isinstance(v, list) and len(v) == 2 and all(is_int(n) and n >= 1 for n in v) and v[0] <= v[1],
    "must be [min_n, max_n] with 1 <= min_n <= max_n, e.g. [1, 2] for words and word pairs",
    list,
)
VocabularySize = rule(
    lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2, "must be an integer >= 2", int
)


class TextFeatureSettings(Settings):
    """dataset.text: how messages become features (scikit-learn's vectorizer options)."""

    max_tokens: VocabularySize = 10000  # vocabulary size: the most frequent tokens (n-grams) of the training split
    ngram_range: NgramRange = [1, 1]
    weighting: Literal["tfidf", "counts", "binary"] = "tfidf"
    min_df: PositiveInt = 1  # tokens in fewer training messages are left out
    lowercase: bool = True
    sublinear_tf: bool = False  # tfidf: 1 + log(tf)


def text_settings(values) -> TextFeatureSettings:
    return validate(TextFeatureSettings, values or {}, KEY)


def text_pipeline(settings: TextFeatureSettings) -> Pipeline:
    """Raw strings (a one-column frame or (n, 1) array) -> dense float32 token features."""
    options = {
        "max_features": settings.max_tokens,
        "ngram_range": tuple(settings.ngram_range),
        "min_df": settings.min_df,
        "lowercase": settings.lowercase,
        "dtype": np.float32,
    }
    vectorizer = (
        TfidfVectorizer(sublinear_tf=settings.sublinear_tf, **options)
        if settings.weighting == "tfidf"
        else CountVectorizer(binary=settings.weighting == "binary", **options)
    )
    return make_pipeline(FunctionTransformer(np.ravel), vectorizer, FunctionTransformer(methodcaller("toarray")))


def tokens(pipeline: Pipeline) -> list[str]:
    """The fitted vocabulary, in feature order."""
    return list(pipeline[1].get_feature_names_out())


def vocabulary_form(pipeline: Pipeline, token: str) -> str:
    """An explainer's token (a word of a message, perhaps with the spaces or punctuation around it)
    as the vocabulary spells it: punctuation stripped, lowercased when the vectorizer lowercases;
    "" for punctuation alone."""
    word = re.sub(r"^\W+|\W+$", "", token)
    return word.lower() if pipeline[1].lowercase else word


def fit_text_pipeline(settings: TextFeatureSettings, texts: np.ndarray, column: str) -> Pipeline:
    """The pipeline fitted on the training split's messages; a vocabulary of < 2 tokens is a ConfigError."""
    pipeline = text_pipeline(settings)
    try:
        pipeline.fit(one_column(texts, column))
    except ValueError as err:  # scikit-learn: "empty vocabulary; perhaps the documents only contain stop words"
        raise ConfigError(f"{KEY}.min_df", settings.min_df, f"leaves no token in column {column!r} ({err})") from err
    found = len(tokens(pipeline))
    if found < 2:
        raise ConfigError(
            f"{KEY}.max_tokens",
            settings.max_tokens,
            f"the training messages of {column!r} give {found} token; need >= 2",
        )
    return pipeline


def one_column(texts, column: str) -> pd.DataFrame:
    return pd.DataFrame({column: np.asarray(texts, dtype=object)})


def encode_texts(pipeline: Pipeline, texts) -> np.ndarray:
    """Token features (n, vocabulary) of raw strings."""
    return pipeline.transform(one_column(texts, "text")).astype(np.float32, copy=False)


def text_input(name: str, pipeline: Pipeline, raw_column: str) -> InputSpec:
    """The spec of a text input encoded by the fitted `pipeline`: one column per token."""
    vocabulary = tokens(pipeline)
    return InputSpec(name, InputKind.TEXT, (len(vocabulary),), tuple(vocabulary), (raw_column,))
