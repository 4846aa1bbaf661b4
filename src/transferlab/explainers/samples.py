"""Which test examples image and text explainers show: a seeded mix of correct and wrong predictions."""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from transferlab.data.inputs import Examples, InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities

SEARCHED = 2048  # test examples searched for the sample: bounds the prediction cost on large test sets
MIN_WORDS = 2  # of an explained message: shap's Text masker fails on fewer, lime on none


@dataclass
class ExplainedSample:
    index: np.ndarray  # positions in the test split
    examples: Examples  # every input's rows of these examples (what the model is called with), raw texts too
    input_name: str  # the explained input among them
    true: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray  # of the predicted class

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        return self.examples.inputs

    @property
    def images(self) -> np.ndarray:
        """Raw pixels (n, H, W, C) of an image input."""
        return self.inputs[self.input_name]

    @property
    def messages(self) -> list[str]:
        """The raw strings of a text input."""
        return [str(text) for text in self.examples.texts[self.input_name]]

    @property
    def correct(self) -> np.ndarray:
        return self.true == self.predicted

    def titles(self, class_names: list[str]) -> list[str]:
        """ "true/pred (prob)" per example."""
        return [
            f"{class_names[t]}/{class_names[p]} ({q:.2f})"
            for t, p, q in zip(self.true, self.predicted, self.probability)
        ]

    def table(self, class_names: list[str]) -> pd.DataFrame:
        """One row per example: test index, true and predicted class, its probability, correct."""
        names = np.asarray(class_names)
        return pd.DataFrame(
            {
                "index": self.index,
                "true": names[self.true],
                "predicted": names[self.predicted],
                "probability": self.probability,
                "correct": self.correct,
            }
        )


def sample_test_predictions(
    model, data: PreparedData, input_name: str, n: int, seed: int, eligible: np.ndarray | None = None
) -> ExplainedSample:
    """Up to n test examples: up to n // 2 wrong predictions, the rest correct (either side fills in
    when the other runs short), drawn with `seed`; correct ones first, each group in test order.
    `eligible`: which of the first SEARCHED test examples may be drawn (default: all)."""
    searched = data.test.head(SEARCHED)
    y = searched.labels
    probabilities = class_probabilities(model, searched.inputs)
    predicted = probabilities.argmax(axis=1)
    drawable = np.ones(len(y), dtype=bool) if eligible is None else eligible
    correct, wrong = np.flatnonzero((predicted == y) & drawable), np.flatnonzero((predicted != y) & drawable)
    n_wrong = min(len(wrong), max(n // 2, n - len(correct)))
    n_correct = min(len(correct), n - n_wrong)
    rng = np.random.default_rng(seed)
    picks = ((correct, n_correct), (wrong, n_wrong))
    index = np.concatenate([np.sort(rng.choice(group, size, replace=False)) for group, size in picks])
    return ExplainedSample(
        index, searched.take(index), input_name, y[index], predicted[index], probabilities[index, predicted[index]]
    )


def sample_test_images(model, data: PreparedData, n: int, seed: int) -> ExplainedSample:
    """The sample of the dataset's one image input (the explainers' checks make sure there is one)."""
    (image,) = data.inputs_of_kind(InputKind.IMAGE)
    return sample_test_predictions(model, data, image.name, n, seed)


def sample_test_texts(model, data: PreparedData, n: int, seed: int) -> ExplainedSample:
    """The sample of the dataset's one text input, messages of MIN_WORDS words or more: LIME and SHAP
    explain the same messages for a seed."""
    (text,) = data.inputs_of_kind(InputKind.TEXT)
    words = [len(re.findall(r"\w+", str(message))) for message in data.test.head(SEARCHED).texts[text.name]]
    return sample_test_predictions(model, data, text.name, n, seed, np.array(words) >= MIN_WORDS)
