"""Each explainer's settings (conf/explainer/<name>.yaml, under `explainer.<name>`), validated
before anything is loaded. Kept apart from the explainer modules, which import Keras: the settings
are checked before the backend is chosen. Checks that need the data or the model (a test image
index, a convolutional layer, how a segmentation cuts a test image) are each explainer's check().
Each explainer class names its model (`settings`) and takes exactly its fields (tested).
"""

import importlib.util
import re
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import ConfigDict, PlainValidator
from pydantic_core import PydanticCustomError

from transferlab.validation import Fraction, OptionalPositiveInt, PositiveInt, Settings, is_int, is_number, rule

SCORINGS = ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "macro_f1", "log_loss")
OPENCV_MASKS = r"blur\(\d+, *\d+\)|inpaint_telea|inpaint_ns"  # shap computes these with OpenCV
MASK_VALUES = "a pixel value 0..255, blur(<k>,<k>), inpaint_telea or inpaint_ns"

Scoring = rule(
    lambda v: v == "auto" or v in SCORINGS or bool(re.fullmatch(r"f\d+(\.\d+)?", str(v))),
    "allowed: auto, f<beta> (e.g. f2), " + ", ".join(SCORINGS),
    str,
)
MaxSamples = rule(
    lambda v: v is None or (is_int(v) and v > 0) or (is_number(v) and not is_int(v) and 0 < v <= 1),
    "must be null, a row count >= 1 or a fraction in (0, 1]",
)
Regex = rule(lambda v: isinstance(v, str) and v != "" and is_regex(v), "must be a non-empty regular expression", str)
HideColor = rule(
    lambda v: v is None or (is_number(v) and 0 <= v <= 255), "must be null (superpixel mean) or a pixel value 0..255"
)


def is_regex(value: str) -> bool:
    try:
        re.compile(value)
    except re.error:
        return False
    return True


def mask_value(value):
    """shap's Image masker fill: a pixel value, or an OpenCV blur / inpainting (OpenCV installed)."""
    if isinstance(value, str):
        if not re.fullmatch(OPENCV_MASKS, value):
            raise PydanticCustomError("transferlab_rule", f"allowed: {MASK_VALUES}")
        if importlib.util.find_spec("cv2") is None:
            raise PydanticCustomError(
                "transferlab_rule", "needs OpenCV (pip install opencv-python-headless); or use a pixel value, e.g. 0"
            )
    elif not (is_number(value) and 0 <= value <= 255):
        raise PydanticCustomError("transferlab_rule", f"must be {MASK_VALUES}")
    return value


MaskValue = Annotated[float | str, PlainValidator(mask_value)]


class PermutationSettings(Settings):
    scoring: Scoring = "auto"  # auto: f2 for a binary target, macro_f1 for several classes
    n_repeats: PositiveInt = 10
    max_samples: MaxSamples = None
    input: str | None = None  # the explained input of a model of several inputs; null: its one table input


class IntegratedGradientsSettings(Settings):
    steps: PositiveInt = 64
    max_rows: OptionalPositiveInt = None
    chunk_rows: PositiveInt = 65536
    n_images: PositiveInt = 8
    chunk_images: PositiveInt = 256
    input: str | None = None  # the explained input of a model of several inputs; null: its one table input


class ShapSettings(Settings):
    background_rows: PositiveInt = 100
    max_rows: PositiveInt = 200
    algorithm: Literal["auto", "permutation", "partition", "tree", "linear", "deep", "exact", "additive"] = "auto"
    n_images: PositiveInt = 4
    max_evals: PositiveInt = 500
    mask_value: MaskValue = 0.0
    n_texts: PositiveInt = 6
    num_features: PositiveInt = 10  # tokens shown per message
    input: str | None = None  # the explained input of a model of several inputs; null: its one table input


class GradCAMSettings(Settings):
    layer: str | None = None
    n_images: PositiveInt = 8
    alpha: Fraction = 0.5


class Segmentation(Settings):
    """lime's SegmentationAlgorithm: the algorithm, plus its scikit-image arguments (any; tried on a
    test image by LimeImages.check)."""

    model_config = ConfigDict(extra="allow")
    algorithm: Literal["quickshift", "slic", "felzenszwalb"] = "slic"


# Not lime's default quickshift(kernel_size=4, max_dist=200): it cuts small grayscale digits into 1-2 superpixels.
SLIC_SEGMENTATION = MappingProxyType({"algorithm": "slic", "n_segments": 50, "compactness": 10})


class LimeSettings(Settings):
    """Images: n_images, hide_color, batch_size, segmentation; texts: n_texts, split_expression, bow;
    num_features null: 5 superpixels per image, 10 tokens per message."""

    n_images: PositiveInt = 4
    n_texts: PositiveInt = 6
    num_samples: PositiveInt = 1000
    num_features: OptionalPositiveInt = None
    hide_color: HideColor = 0.0
    batch_size: PositiveInt = 64
    segmentation: Segmentation = SLIC_SEGMENTATION
    split_expression: Regex = r"\W+"  # lime splits messages into words on its matches
    bow: bool = True  # a word is one feature wherever it occurs (else one per position)


class FeatureMapsSettings(Settings):
    k: PositiveInt = 4
    max_channels: PositiveInt = 8
    index: rule(lambda v: is_int(v) and v >= 0, "must be a test image index >= 0", int) = 0  # upper bound: check()


class ModalitySettings(Settings):
    ablation: Literal["mean", "shuffle"] = "shuffle"
    n_repeats: PositiveInt = 5
    steps: PositiveInt = 32
    max_rows: PositiveInt = 200
    chunk_rows: PositiveInt = 2048


class AutoSettings(Settings):
    """None: `auto` picks an explainer with its defaults; to tune one, select it by name."""


# conf/explainer/<name>.yaml -> its settings model
EXPLAINER_SETTINGS: dict[str, type[Settings]] = {
    "auto": AutoSettings,
    "permutation": PermutationSettings,
    "integrated_gradients": IntegratedGradientsSettings,
    "shap": ShapSettings,
    "gradcam": GradCAMSettings,
    "lime": LimeSettings,
    "feature_maps": FeatureMapsSettings,
    "modality": ModalitySettings,
}
