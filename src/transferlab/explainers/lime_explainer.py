"""explainer=lime: LIME on the dataset's one image input (lime_images) or text input (lime_texts)."""

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import of_kind, only_input, settings_fit_input
from transferlab.explainers.lime_images import LimeImages
from transferlab.explainers.lime_texts import LimeTexts
from transferlab.explainers.settings import SLIC_SEGMENTATION, LimeSettings

# Settings for one kind of input: one changed for another kind is an error (checks.settings_fit_input).
KINDS_OF = {
    "n_images": (InputKind.IMAGE,),
    "hide_color": (InputKind.IMAGE,),
    "batch_size": (InputKind.IMAGE,),
    "segmentation": (InputKind.IMAGE,),
    "n_texts": (InputKind.TEXT,),
    "split_expression": (InputKind.TEXT,),
    "bow": (InputKind.TEXT,),
}


class LimeExplainer(Explainer):
    """Builds LimeImages or LimeTexts from its settings by the kind of the dataset's one input.
    num_features null: each one's default (5 superpixels per image, 10 tokens per message)."""

    settings = LimeSettings  # validated before anything is loaded (config_checks)

    def __init__(
        self,
        n_images: int = 4,
        n_texts: int = 6,
        num_samples: int = 1000,
        num_features: int | None = None,
        hide_color=0.0,
        batch_size: int = 64,
        segmentation=SLIC_SEGMENTATION,
        split_expression: str = r"\W+",
        bow: bool = True,
    ):
        self.n_images, self.n_texts, self.num_samples, self.num_features = n_images, n_texts, num_samples, num_features
        self.hide_color, self.batch_size, self.segmentation = hide_color, batch_size, dict(segmentation)
        self.split_expression, self.bow = split_expression, bow

    def for_data(self, data: PreparedData) -> Explainer:
        """The LIME explainer of the data's input kind; ConfigError for several inputs, a setting of
        the other kind changed, or a table."""
        spec = only_input(data, "lime", tuple(InputKind))  # any kind: a setting for another kind is named first
        settings_fit_input(self, "lime", spec, KINDS_OF)
        of_kind(spec, "lime", (InputKind.IMAGE, InputKind.TEXT))
        shown = {} if self.num_features is None else {"num_features": self.num_features}
        if spec.kind == InputKind.IMAGE:
            return LimeImages(
                self.n_images,
                self.num_samples,
                hide_color=self.hide_color,
                batch_size=self.batch_size,
                segmentation=self.segmentation,
                **shown,
            )
        return LimeTexts(self.n_texts, self.num_samples, split_expression=self.split_expression, bow=self.bow, **shown)

    def check(self, data: PreparedData, model) -> None:
        self.for_data(data).check(data, model)

    def explain(self, context: ExplainContext) -> Explanation:
        return self.for_data(context.data).explain(context)
