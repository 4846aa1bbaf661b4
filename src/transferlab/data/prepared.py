"""What every dataset hands to strategies, evaluation and explainers: named float32 model inputs."""

from dataclasses import dataclass, replace

import pandas as pd

from transferlab.data.inputs import Examples, InputKind, InputSpec
from transferlab.data.text_features import encode_texts, text_input


@dataclass
class PreparedData:
    """Model-ready splits plus what produced them.

    `specs` describe the named inputs, in the order models declare them. `preprocessors` map a
    table input's name to the fitted scikit-learn transformer from its raw columns to model
    values; the logged raw-row model reuses them. `extra` is an optional adaptation pool (seed
    001's rows between train and test) that transfer stages train on.
    """

    train: Examples
    val: Examples
    test: Examples
    specs: dict[str, InputSpec]
    class_names: list[str]
    preprocessors: dict[str, object]
    raw_examples: pd.DataFrame  # a few raw test rows of the table inputs: the logged model's input example
    fingerprint: str  # sha256 naming the source data, logged as a run tag
    source: str  # where the data came from (a file, a library), as MLflow's dataset source
    extra: Examples | None = None
    # Raw per-row attributes of the test rows, in test order (sex, age, dx_type...): what subgroup
    # reports group by (dataset.subgroups); None when the dataset names none.
    test_attributes: pd.DataFrame | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def inputs_of_kind(self, kind: InputKind) -> list[InputSpec]:
        return [spec for spec in self.specs.values() if spec.kind == kind]

    def single_input(self) -> InputSpec | None:
        """The one input of a single-input dataset; None when there are several."""
        return next(iter(self.specs.values())) if len(self.specs) == 1 else None

    def describe_inputs(self) -> str:
        return ", ".join(spec.describe() for spec in self.specs.values())

    def adaptation_pool(self) -> Examples:
        """Rows transfer stages (frozen head, fine-tune, LoRA) train on: the extra pool when the
        dataset has one, the training split otherwise."""
        return self.extra if self.extra is not None and self.extra.n_rows else self.train

    def sizes(self) -> dict[str, int]:
        sizes = {"n_train": self.train.n_rows, "n_val": self.val.n_rows, "n_test": self.test.n_rows}
        return sizes | ({"n_extra": self.extra.n_rows} if self.extra is not None else {})

    def splits_changed(self, change) -> dict[str, Examples | None]:
        """replace() arguments: `change` applied to every split (the extra pool only when there is one)."""
        return {
            split: None if examples is None else change(examples)
            for split, examples in (
                ("train", self.train),
                ("val", self.val),
                ("test", self.test),
                ("extra", self.extra),
            )
        }

    def with_inputs(self, names) -> "PreparedData":
        """The same rows with only the named inputs (their specs, preprocessors and raw example
        columns): one modality of a multimodal dataset, or what one fusion branch trains on."""

        def keep(examples: Examples) -> Examples:
            texts = {n: examples.texts[n] for n in names if n in examples.texts}
            return Examples({n: examples.inputs[n] for n in names}, examples.labels, texts)

        raw = [column for name in names if name in self.preprocessors for column in self.specs[name].raw_columns]
        return replace(
            self,
            **self.splits_changed(keep),
            specs={name: self.specs[name] for name in names},
            preprocessors={name: p for name, p in self.preprocessors.items() if name in names},
            raw_examples=self.raw_examples[raw],
        )

    def with_text_pipeline(self, name: str, pipeline) -> "PreparedData":
        """The same rows with text input `name` encoded by another fitted vocabulary `pipeline`
        (the one of the run a model is transferred from)."""

        def encoded(examples: Examples) -> Examples:
            inputs = examples.inputs | {name: encode_texts(pipeline, examples.texts[name])}
            return Examples(inputs, examples.labels, examples.texts)

        return replace(
            self,
            **self.splits_changed(encoded),
            specs=self.specs | {name: text_input(name, pipeline, self.specs[name].raw_columns[0])},
            preprocessors=self.preprocessors | {name: pipeline},
        )

    def nbytes(self) -> int:
        """Bytes of every split's model inputs and labels."""
        return sum(split.nbytes for split in (self.train, self.val, self.test, self.extra) if split is not None)
