"""Which test images image explainers show: a seeded mix of correct and wrong predictions."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities

SEARCHED = 2048  # test images searched for examples: bounds the prediction cost on large test sets


@dataclass
class ImageSample:
    index: np.ndarray  # positions in the test split
    inputs: dict  # every input's rows of these examples (what the model is called with)
    image_name: str  # the image input among them
    true: np.ndarray
    predicted: np.ndarray
    probability: np.ndarray  # of the predicted class

    @property
    def images(self) -> np.ndarray:
        """Raw pixels (n, H, W, C)."""
        return self.inputs[self.image_name]

    @property
    def correct(self) -> np.ndarray:
        return self.true == self.predicted

    def titles(self, class_names: list[str]) -> list[str]:
        """ "true/pred (prob)" per image."""
        return [
            f"{class_names[t]}/{class_names[p]} ({q:.2f})"
            for t, p, q in zip(self.true, self.predicted, self.probability)
        ]

    def table(self, class_names: list[str]) -> pd.DataFrame:
        """One row per image: test index, true and predicted class, its probability, correct."""
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


def sample_test_images(model, data: PreparedData, n: int, seed: int) -> ImageSample:
    """Up to n test images: up to n // 2 wrong predictions, the rest correct (either side fills in
    when the other runs short), drawn with `seed`; correct ones first, each group in test order.
    The dataset has one image input (the explainers' checks make sure)."""
    (image,) = data.inputs_of_kind(InputKind.IMAGE)
    searched = data.test.head(SEARCHED)
    y = searched.labels
    probabilities = class_probabilities(model, searched.inputs)
    predicted = probabilities.argmax(axis=1)
    correct, wrong = np.flatnonzero(predicted == y), np.flatnonzero(predicted != y)
    n_wrong = min(len(wrong), max(n // 2, n - len(correct)))
    n_correct = min(len(correct), n - n_wrong)
    rng = np.random.default_rng(seed)
    picks = ((correct, n_correct), (wrong, n_wrong))
    index = np.concatenate([np.sort(rng.choice(group, size, replace=False)) for group, size in picks])
    return ImageSample(
        index,
        searched.take(index).inputs,
        image.name,
        y[index],
        predicted[index],
        probabilities[index, predicted[index]],
    )
