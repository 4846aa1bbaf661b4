"""Image explainers: Grad-CAM against a hand computation, conv-layer search through nested models,
IG completeness on images, SHAP / LIME / feature-map outputs, every check() error, and the same
Grad-CAM and IG numbers on TensorFlow and JAX.

Run as a script (`KERAS_BACKEND=jax python tests/test_image_explainers.py DIR`) it computes the
backend-comparison numbers for the models saved in DIR; conftest is imported only inside the test
that starts it, since conftest fixes the backend to TensorFlow.
"""

import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from transferlab.data.digits import load_digits_images
from transferlab.data.inputs import Examples
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.explainers.activations import conv_layers, layer_outputs
from transferlab.explainers.base import ExplainContext
from transferlab.explainers.feature_maps import FeatureMaps
from transferlab.explainers.gradcam import GradCAM, gradcam_maps
from transferlab.explainers.integrated_gradients import IntegratedGradients, integrated_gradients
from transferlab.explainers.lime_images import LimeImages
from transferlab.explainers.permutation import PermutationImportance
from transferlab.explainers.shap_values import ShapValues
from transferlab.models.backbones import KerasBackbone
from transferlab.models.cnn import CNN

from model_inputs import images, table

IG_STEPS = 64


def prepared(x_test: np.ndarray, y_test: np.ndarray, n_classes: int = 10) -> PreparedData:
    """PreparedData whose every split is the given test data (the explainers read the test split)."""
    specs = images(x_test.shape[1:]) if x_test.ndim == 4 else table(x_test.shape[1])
    (name,) = specs
    split = Examples({name: x_test}, y_test)
    return PreparedData(
        split, split, split, specs, [str(k) for k in range(n_classes)], {}, pd.DataFrame(), "test", "test"
    )


def tiny_cnn(shape=(8, 8, 1), n_classes: int = 10, seed: int = 0, activation: str = "relu") -> keras.Model:
    keras.utils.set_random_seed(seed)
    return CNN(filters=(4, 8, 8), dense_units=(16,), activation=activation).build_classifier(images(shape), n_classes)


def tiny_mobilenet() -> keras.Model:
    keras.utils.set_random_seed(0)
    return KerasBackbone("mobilenet", weights=None, alpha=0.25, image_size=32, dense_units=(8,)).build_classifier(
        images((32, 32, 1)), 3
    )


def dense_only() -> keras.Model:
    inputs = keras.Input((8, 8, 1), name="image")
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs, name="dense_only")


def random_images(n: int, shape=(8, 8, 1), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


@pytest.fixture(scope="module")
def digits() -> PreparedData:
    return load_digits_images().prepare(test_fraction=0.2)


@pytest.fixture(scope="module")
def cnn() -> keras.Model:
    return tiny_cnn()


@pytest.fixture(scope="module")
def half_right(digits, cnn) -> PreparedData:
    """Digits test images with labels set so that the (untrained) CNN is right on every other one."""
    predicted = keras.ops.convert_to_numpy(cnn({"image": digits.test.inputs["image"]}, training=False)).argmax(axis=1)
    labels = np.where(np.arange(len(predicted)) % 2 == 0, predicted, (predicted + 1) % 10)
    return prepared(digits.test.inputs["image"], labels)


def context(model, data: PreparedData, seed: int = 0) -> ExplainContext:
    return ExplainContext(model, data, np.array([0.5]), seed)


# --- Grad-CAM -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [3, 2], ids=["softmax", "sigmoid"])
def test_gradcam_matches_hand_computed_reference(n_classes):
    """classifier = encoder (nested: rescale -> conv) -> global average pool -> Dense output: every
    gradient of the class score w.r.t. the conv map is spatially constant and known in closed form."""
    keras.utils.set_random_seed(n_classes)
    image = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")
    encoder = keras.Model(image, conv(keras.layers.Rescaling(1 / 255)(image)), name="encoder")
    outer = keras.Input((6, 6, 1))
    head = keras.layers.Dense(1 if n_classes == 2 else n_classes, activation="sigmoid" if n_classes == 2 else "softmax")
    model = keras.Model(outer, head(keras.layers.GlobalAveragePooling2D()(encoder(outer))))
    x = random_images(5, (6, 6, 1))

    classes = np.arange(len(x)) % n_classes  # explained classes, both kinds
    activations = keras.ops.convert_to_numpy(encoder(x))  # (n, 6, 6, 3)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in head.weights)
    z = activations.mean(axis=(1, 2)) @ kernel + bias
    if n_classes == 2:  # score p for class 1, 1 - p for class 0
        p = 1 / (1 + np.exp(-z[:, 0]))
        dscore_dz = (np.where(classes == 1, 1.0, -1.0) * p * (1 - p))[:, None]
    else:  # score p_c: dp_c / dz_j = p_c (delta_cj - p_j)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dscore_dz = p[np.arange(len(x)), classes][:, None] * (np.eye(n_classes)[classes] - p)
    alpha = dscore_dz @ kernel.T / 36  # d score / dA, the same at every pixel
    reference = np.maximum(np.einsum("nhwk,nk->nhw", activations, alpha), 0)

    maps = gradcam_maps(model, conv, {"image": x}, classes)
    assert maps.shape == (5, 6, 6)
    assert maps.max() > 0
    np.testing.assert_allclose(maps, reference, rtol=1e-4, atol=1e-7 * np.abs(reference).max())


def test_the_last_conv_layer_is_found_through_nested_models(cnn):
    assert GradCAM().target_layer(cnn).name == "conv_3"
    mobilenet = tiny_mobilenet()
    assert GradCAM().target_layer(mobilenet).name == "conv_pw_13"
    assert [layer.name for layer in conv_layers(mobilenet)[:3]] == ["conv1", "conv_dw_1", "conv_pw_1"]


def test_a_named_layer_is_used(cnn):
    layer = GradCAM(layer="conv_1").target_layer(cnn)
    assert layer.name == "conv_1"
    maps = gradcam_maps(cnn, layer, {"image": random_images(3)}, np.array([0, 4, 9]))
    assert maps.shape == (3, 8, 8)  # conv_1 works at full resolution, conv_3 at 2x2


def test_gradcam_shows_correct_and_wrong_predictions(cnn, half_right):
    explanation = GradCAM(n_images=6).explain(context(cnn, half_right, seed=3))
    table = explanation.table
    assert list(table.columns) == ["index", "true", "predicted", "probability", "correct", "layer"]
    assert table.correct.tolist() == [True] * 3 + [False] * 3
    assert (table.layer == "conv_3").all()
    assert list(explanation.figures) == ["gradcam.png"]
    assert explanation.metrics == {}
    again = GradCAM(n_images=6).explain(context(cnn, half_right, seed=3)).table
    pd.testing.assert_frame_equal(table, again)


def test_gradcam_takes_what_there_is_when_one_side_runs_short(cnn, digits):
    predicted = keras.ops.convert_to_numpy(cnn({"image": digits.test.inputs["image"]}, training=False)).argmax(axis=1)
    one_wrong = np.where(np.arange(len(predicted)) == 7, (predicted + 1) % 10, predicted)
    table = GradCAM(n_images=5).explain(context(cnn, prepared(digits.test.inputs["image"], one_wrong))).table
    assert table.correct.tolist() == [True] * 4 + [False]
    assert table["index"].iloc[-1] == 7


# --- integrated gradients, SHAP, LIME, feature maps on images ------------------------------------------


def test_integrated_gradients_on_images_are_complete_and_chunk_independent(digits):
    model = tiny_cnn(activation="tanh")
    explanation = IntegratedGradients(steps=IG_STEPS, n_images=4, chunk_images=IG_STEPS + 1).explain(
        context(model, digits)
    )
    assert list(explanation.table.columns) == [
        "index",
        "true",
        "predicted",
        "probability",
        "correct",
        "completeness_gap",
    ]
    assert len(explanation.table) == 4
    assert list(explanation.figures) == ["integrated_gradients.png"]
    assert explanation.metrics["ig_completeness_gap_max"] < 1e-3
    assert explanation.metrics["ig_completeness_gap_mean"] <= explanation.metrics["ig_completeness_gap_max"]

    x, target, baseline = digits.test.head(5).inputs, np.array([0, 1, 2, 3, 4]), np.zeros((8, 8, 1), "float32")
    one_per_call = integrated_gradients(model, x, "image", baseline, target, IG_STEPS, chunk_rows=IG_STEPS + 1)
    all_at_once = integrated_gradients(model, x, "image", baseline, target, IG_STEPS)
    assert one_per_call.shape == x["image"].shape
    np.testing.assert_allclose(one_per_call, all_at_once, atol=1e-6)


@pytest.mark.slow
def test_shap_on_images_adds_up_to_the_predicted_probability(cnn, half_right):
    explanation = ShapValues(n_images=2, max_evals=64).explain(context(cnn, half_right))
    table = explanation.table
    assert len(table) == 2 and table.correct.tolist() == [True, False]
    np.testing.assert_allclose(table.base_value + table.shap_sum, table.probability, atol=1e-5)
    assert list(explanation.figures) == ["image_plot.png"]


def test_lime_on_images_is_seeded(cnn, half_right):
    explainer = LimeImages(n_images=2, num_samples=40, batch_size=20)
    first, second = (explainer.explain(context(cnn, half_right, seed=1)) for _ in range(2))
    pd.testing.assert_frame_equal(first.table, second.table)
    assert list(first.table.columns) == ["index", "true", "predicted", "probability", "correct", "local_r2"]
    assert list(first.figures) == ["lime.png"]
    assert first.metrics["lime_local_r2_mean"] == pytest.approx(first.table.local_r2.mean())
    assert (first.table.local_r2 > 0).all()  # hiding superpixels changed the predictions


def test_feature_maps_are_the_first_conv_activations(cnn, digits):
    explanation = FeatureMaps(k=2, max_channels=3, index=5).explain(context(cnn, digits))
    table = explanation.table
    assert table.layer.tolist() == ["conv_1", "conv_2"]
    assert table[["height", "width", "channels"]].values.tolist() == [[8, 8, 4], [4, 4, 8]]
    encoder = cnn.get_layer("encoder")
    direct = keras.Model(encoder.inputs, encoder.get_layer("conv_2").output).predict(
        digits.test.inputs["image"][5:6], verbose=0
    )
    assert table.mean_activation.iloc[1] == pytest.approx(float(direct.mean()), rel=1e-5)
    assert list(explanation.figures) == ["feature_maps.png"]


def test_captured_activations_match_the_nested_models_own(cnn):
    x = random_images(3)
    encoder = cnn.get_layer("encoder")
    (conv_2,), output = layer_outputs(cnn, {"image": x}, [encoder.get_layer("conv_2")])
    np.testing.assert_allclose(
        conv_2, keras.Model(encoder.inputs, encoder.get_layer("conv_2").output).predict(x, verbose=0), rtol=1e-5
    )
    np.testing.assert_allclose(output, cnn.predict({"image": x}, verbose=0), rtol=1e-5)


# --- check(): settings that do not fit the data or model fail before any run ---------------------------
# (each setting's own type and range: explainers/settings.py, tested in test_validation.py)

TABLE = prepared(np.random.default_rng(0).normal(size=(20, 5)).astype("float32"), np.arange(20) % 2, n_classes=2)
# Two inputs (an image and a table row per example): explainers that hold the other inputs explain
# the table by default; LIME, which calls the model with the image alone, refuses it.
TWO_INPUTS = PreparedData(
    *[Examples({"image": random_images(4), "features": np.zeros((4, 3), "float32")}, np.arange(4))] * 3,
    images((8, 8, 1)) | table(3),
    [str(k) for k in range(10)],
    {},
    pd.DataFrame(),
    "test",
    "test",
)


@pytest.mark.parametrize(
    ("explainer", "data", "model", "expected"),
    [
        (
            GradCAM(),
            "images",
            "dense_only",
            "explainer.gradcam.layer=auto: model dense_only has no convolutional layer",
        ),
        (
            GradCAM(layer="conv_9"),
            "images",
            "cnn",
            "explainer.gradcam.layer=conv_9: not a convolutional layer of model cnn; "
            "its last ones: conv_1, conv_2, conv_3",
        ),
        (GradCAM(layer="dense_0"), "images", "cnn", "explainer.gradcam.layer=dense_0: not a convolutional layer"),
        (
            GradCAM(),
            "table",
            "cnn",
            "explainer=gradcam: works on images; for tables choose permutation, integrated_gradients or shap",
        ),
        (LimeImages(), "table", "cnn", "explainer=lime: works on images"),
        (FeatureMaps(), "table", "cnn", "explainer=feature_maps: works on images"),
        (
            PermutationImportance(),
            "images",
            "cnn",
            "explainer=permutation: works on tables; "
            "for images choose gradcam, integrated_gradients, shap, lime or feature_maps",
        ),
        (
            LimeImages(segmentation={"algorithm": "quickshift", "kernel_size": 4, "max_dist": 200, "ratio": 0.2}),
            "images",
            "cnn",
            "explainer.lime.segmentation={'algorithm': 'quickshift', 'kernel_size': 4, 'max_dist': 200, 'ratio': 0.2}: "
            "cuts test image 0 into one superpixel",
        ),
        (
            FeatureMaps(index=360),
            "images",
            "cnn",
            "explainer.feature_maps.index=360: must be a test image index, 0..359",
        ),
        (FeatureMaps(), "images", "dense_only", "explainer=feature_maps: model dense_only has no convolutional layer"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else None,
)
def test_check_names_the_bad_setting(explainer, data, model, expected, cnn, digits):
    with pytest.raises(ConfigError) as error:
        explainer.check(digits if data == "images" else TABLE, cnn if model == "cnn" else dense_only())
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


# What check() accepts, explain() then explains (SHAP's 500 default evaluations take ~30 s here:
# test_shap_on_images_adds_up_to_the_predicted_probability explains with fewer); what the same
# explainer refuses: tables, a model without the layer, or one of its settings made invalid.
IMAGE_DEFAULTS = [
    (GradCAM(), "table"),
    (GradCAM(layer="conv_2"), "dense_only"),
    (IntegratedGradients(), "two_images"),
    (ShapValues(), "two_images"),
    (LimeImages(), "two_inputs"),
    (FeatureMaps(), "table"),
]

# Two image inputs: an explainer of one input must be told which (explainer.<name>.input).
TWO_IMAGES = PreparedData(
    *[Examples({"image": random_images(4), "photo": random_images(4)}, np.arange(4))] * 3,
    images((8, 8, 1)) | images((8, 8, 1), "photo"),
    [str(k) for k in range(10)],
    {},
    pd.DataFrame(),
    "test",
    "test",
)


@pytest.mark.parametrize(
    ("explainer", "refused"),
    IMAGE_DEFAULTS,
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else value,
)
def test_check_accepts_the_defaults_on_images(explainer, refused, cnn, digits):
    few = prepared(
        digits.test.inputs["image"][:2], digits.test.labels[:2]
    )  # two images keep the defaults' explain() quick
    assert explainer.check(digits, cnn) is None and explainer.check(few, cnn) is None
    if not isinstance(explainer, ShapValues):
        explanation = explainer.explain(context(cnn, few))
        assert len(explanation.table) >= 1 and len(explanation.figures) == 1
    data, model = {
        "table": (TABLE, cnn),
        "dense_only": (digits, dense_only()),
        "two_inputs": (TWO_INPUTS, cnn),
        "two_images": (TWO_IMAGES, cnn),
    }[refused]
    with pytest.raises(ConfigError):
        explainer.check(data, model)


def table_model() -> keras.Model:
    from transferlab.models.mlp import MLP

    keras.utils.set_random_seed(0)
    return MLP(hidden_units=(4,)).build_classifier(TABLE.specs, 2)


@pytest.mark.parametrize(
    "explainer",
    # shap's table explainers JIT-compile their numba kernels in every process (~7 s): slow lane
    [PermutationImportance(n_repeats=2), IntegratedGradients(), pytest.param(ShapValues(), marks=pytest.mark.slow)],
    ids=lambda e: type(e).__name__,
)
def test_check_accepts_the_table_explainers_on_tables(explainer):
    model = table_model()
    assert explainer.check(TABLE, model) is None
    explanation = explainer.explain(ExplainContext(model, TABLE, np.linspace(0.1, 0.9, 9), 0))
    assert len(explanation.table) == TABLE.specs["features"].shape[0]  # one row per feature
    if isinstance(explainer, PermutationImportance):  # the one table-only explainer
        with pytest.raises(ConfigError, match="works on tables"):
            explainer.check(prepared(random_images(3), np.arange(3)), model)


def test_gradcam_explain_without_check_is_the_same_one_line_error(digits):
    with pytest.raises(ConfigError, match="has no convolutional layer"):
        GradCAM().explain(context(dense_only(), digits))


# --- TensorFlow and JAX ----------------------------------------------------------------------------------


def wrapped_cnn() -> keras.Model:
    """The tiny CNN nested once more: its last conv layer sits two models down (wrapper -> cnn -> encoder)."""
    inputs = keras.Input((8, 8, 1), name="image")
    return keras.Model(inputs, tiny_cnn(seed=5)({"image": inputs}), name="wrapper")


def backend_numbers(folder: Path) -> dict[str, np.ndarray]:
    """Grad-CAM (last conv layer, found automatically) and IG of the model saved in folder."""
    model = keras.saving.load_model(folder / "model.keras")
    inputs = np.load(folder / "inputs.npz")
    images, classes = inputs["images"], inputs["classes"]
    return {
        "gradcam": gradcam_maps(model, GradCAM().target_layer(model), {"image": images}, classes),
        "integrated_gradients": integrated_gradients(
            model, {"image": images}, "image", np.zeros(images.shape[1:], "float32"), classes, IG_STEPS
        ),
    }


@pytest.mark.slow
def test_tensorflow_and_jax_give_the_same_gradcam_and_ig(tmp_path):
    from conftest import run_python

    wrapped_cnn().save(tmp_path / "model.keras")
    np.savez(tmp_path / "inputs.npz", images=random_images(4, seed=1), classes=np.array([0, 3, 5, 9]))
    tensorflow = backend_numbers(tmp_path)
    stdout = run_python(__file__, str(tmp_path))
    assert "ok backend=jax" in stdout
    jax = np.load(tmp_path / "jax.npz")
    for name, values in tensorflow.items():
        assert np.abs(values).max() > 0, name
        np.testing.assert_allclose(jax[name], values, rtol=1e-3, atol=1e-4 * np.abs(values).max(), err_msg=name)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    np.savez(out / f"{keras.backend.backend()}.npz", **backend_numbers(out))
    print(f"ok backend={keras.backend.backend()}")
