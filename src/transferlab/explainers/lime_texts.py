"""LIME text explanations (lime.lime_text): which words of a message speak for and against the prediction."""

from lime.lime_text import LimeTextExplainer

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.data.text_features import encode_texts
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import only_input
from transferlab.explainers.samples import sample_test_texts
from transferlab.explainers.text_tokens import token_explanation


class LimeTexts(Explainer):
    """LIME of the predicted class for a seeded sample of `n_texts` correct and wrong test
    predictions: `num_samples` copies of each message with words removed, every word weighted,
    the `num_features` strongest shown. `split_expression` and `bow`: lime's word splitting (a
    regex) and whether a word is one feature wherever it occurs. Seeded with the run's seed."""

    def __init__(
        self,
        n_texts: int = 6,
        num_samples: int = 1000,
        num_features: int = 10,
        split_expression: str = r"\W+",
        bow: bool = True,
    ):
        self.n_texts, self.num_samples, self.num_features = n_texts, num_samples, num_features
        self.split_expression, self.bow = split_expression, bow

    def check(self, data: PreparedData, model) -> None:
        only_input(data, "lime", (InputKind.TEXT,))

    def explain(self, context: ExplainContext) -> Explanation:
        model, data = context.model, context.data
        sample = sample_test_texts(model, data, self.n_texts, context.seed)
        pipeline = data.preprocessors[sample.input_name]

        def classify(texts: list[str]):
            return class_probabilities(model, {sample.input_name: encode_texts(pipeline, texts)})

        explainer = LimeTextExplainer(
            class_names=data.class_names,
            split_expression=self.split_expression,
            bow=self.bow,
            random_state=context.seed,
        )
        pairs, pages, scores = [], [], []
        for message, label in zip(sample.messages, sample.predicted):  # lime explains one message per call
            explanation = explainer.explain_instance(
                message,
                classify,
                labels=(label,),
                num_features=len(message),  # every word (a message has fewer words than characters)
                num_samples=self.num_samples,
            )
            pairs.append(explanation.as_list(label))
            pages.append(explanation.as_html(labels=(label,)))
            scores.append(explanation.score)
        result = token_explanation("LIME", context, sample, pairs, pages, self.num_features, {"local_r2": scores})
        result.metrics["lime_local_r2_mean"] = float(sum(scores) / len(scores))
        return result
