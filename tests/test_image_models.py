"""Image model builders: the seed-004 CNN and keras.applications backbones (shapes, preprocessing,
weights files, config errors, .keras round trips, TensorFlow and JAX)."""

import shutil
import urllib.error

import h5py
import numpy as np
import pytest

from conftest import DATA_DIR, run_python

import keras  # noqa: E402  (after conftest fixed the backend)

from transferlab.errors import ConfigError  # noqa: E402
from transferlab.evaluation.metrics import predict_array  # noqa: E402
from transferlab.models.backbones import APPLICATIONS, KerasBackbone  # noqa: E402
from transferlab.models.base import Pretraining  # noqa: E402
from transferlab.models.cnn import CNN  # noqa: E402
from model_inputs import images as image_specs  # noqa: E402
from transferlab.models.image_preprocessing import PREPROCESSING_MODES, ImageNetPreprocessing  # noqa: E402

MOBILENET_FILE = DATA_DIR / "keras_weights" / "mobilenet_2_5_224_tf_no_top.h5"
MNIST_SHAPE = (28, 28, 1)
ARCHITECTURES = ["vgg16", "resnet50", "mobilenet_v2", "efficientnet_b0", "mobilenet"]
LAST_CONV = {
    "vgg16": "block5_conv3",
    "resnet50": "conv5_block3_3_conv",
    "mobilenet_v2": "Conv_1",
    "efficientnet_b0": "top_conv",
    "mobilenet": "conv_pw_13",
}
# Seed 004's CNN on 32x32x3 with 10 classes: conv 3*3*3*32+32 = 896, conv 3*3*32*64+64 = 18,496,
# conv 3*3*64*128+128 = 73,856, dense 8*8*128*256+256 = 2,097,408, output 256*10+10 = 2,570.
SEED_CNN_PARAMS = 896 + 18_496 + 73_856 + 2_097_408 + 2_570


def images(shape=MNIST_SHAPE, n=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


def outputs(model, x):
    """The model's outputs for images `x` as evaluation and explainers compute them (predict_array: a
    direct call in inference mode), without tracing a predict function (seconds for resnet50)."""
    return predict_array(model, {"image": x})


def tiny_mobilenet(**kwargs):
    return KerasBackbone("mobilenet", **{"weights": None, "alpha": 0.25, **kwargs})


def first_kernel(model, architecture="mobilenet"):
    return keras.ops.convert_to_numpy(model.get_layer("encoder").get_layer(architecture).get_layer("conv1").kernel)


def file_kernel():
    with h5py.File(MOBILENET_FILE, "r") as f:
        return f["conv1"]["conv1/kernel:0"][()]


# --- CNN --------------------------------------------------------------------------------------------


def test_cnn_has_seed_004_parameter_count():
    model = CNN().build_classifier(image_specs((32, 32, 3)), 10)
    assert model.count_params() == SEED_CNN_PARAMS == 2_193_226
    assert [
        layer.name for layer in model.get_layer("encoder").layers if isinstance(layer, keras.layers.MaxPooling2D)
    ] == ["pool_1", "pool_2"]


@pytest.mark.parametrize(
    ("shape", "image_size", "n_classes", "width"),
    [(MNIST_SHAPE, None, 10, 10), (MNIST_SHAPE, None, 2, 1), (MNIST_SHAPE, 32, 10, 10), ((32, 32, 3), None, 2, 1)],
)
def test_cnn_output_shapes(shape, image_size, n_classes, width):
    builder = CNN(image_size=image_size)
    model = builder.build_classifier(image_specs(shape), n_classes)
    assert outputs(model, images(shape)).shape == (2, width)
    assert (builder.pretraining, builder.pretrained) == (Pretraining.NONE, False)
    feature_map = model.get_layer("encoder").output.shape
    assert feature_map[1:] == ((8, 8, 128) if (image_size or shape[0]) == 32 else (7, 7, 128))


def test_cnn_standardize_uses_the_specs_channel_statistics():
    """model.standardize: the first layer maps each channel to mean 0 / std 1 with the spec's statistics."""
    from transferlab.data.inputs import image_input

    rng = np.random.default_rng(0)
    train = rng.uniform(0, 255, (64, 28, 28, 3)) * np.array([0.2, 0.6, 1.0])  # channels of different spread
    specs = {"image": image_input("image", train.shape[1:], train)}
    encoder = CNN(standardize=True).build_encoder(specs)
    scaled = keras.ops.convert_to_numpy(encoder.get_layer("standardize")(train.astype("float32")))
    np.testing.assert_allclose(scaled.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(scaled.std(axis=(0, 1, 2)), 1, atol=1e-4)
    with pytest.raises(ConfigError, match="^model.standardize=True: input image .* carries no training-image"):
        CNN(standardize=True).check(image_specs((28, 28, 3)))


def test_cnn_reuses_a_given_encoder():
    builder = CNN(filters=(8, 16), dense_units=(16,))
    encoder = builder.build_encoder(image_specs(MNIST_SHAPE))
    model = builder.build_classifier(image_specs(MNIST_SHAPE), 10, encoder=encoder)
    assert model.get_layer("encoder") is encoder


def test_cnn_augmentation_only_in_training():
    model = CNN(filters=(4,), dense_units=(8,), dropout=0.0, augmentation=["flip"]).build_classifier(
        image_specs(MNIST_SHAPE), 10
    )
    x = images()
    inference = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(model.predict(x, verbose=0), inference, rtol=1e-6)
    assert any(not np.allclose(keras.ops.convert_to_numpy(model(x, training=True)), inference) for _ in range(10))


# --- backbones -------------------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_backbone_builds_on_grayscale(architecture):
    builder = KerasBackbone(architecture, weights=None, alpha=0.25 if architecture == "mobilenet" else 1.0)
    model = builder.build_classifier(image_specs(MNIST_SHAPE), 10)
    assert outputs(model, images()).shape == (2, 10)
    encoder = model.get_layer("encoder")
    expected = (
        ["image", "grayscale_to_rgb", "resize"]
        + ([f"preprocess_{PREPROCESSING_MODES[architecture]}"] if PREPROCESSING_MODES[architecture] else [])
        + [architecture]
    )
    assert [layer.name for layer in encoder.layers] == expected
    backbone = encoder.get_layer(architecture)
    assert isinstance(backbone, keras.Model) and backbone.input_shape == (None, 32, 32, 3)
    assert [layer.name for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D)][-1] == LAST_CONV[
        architecture
    ]
    assert builder.pretrained is False


@pytest.mark.parametrize(("n_classes", "width"), [(2, 1), (10, 10)])
def test_backbone_on_rgb_without_resizing(n_classes, width):
    model = tiny_mobilenet(
        image_size=None, pooling="max", dense_units=(32, 16), dropout=[0.5, 0.3, 0.0]
    ).build_classifier(image_specs((40, 40, 3)), n_classes)
    assert outputs(model, images((40, 40, 3))).shape == (2, width)
    assert [layer.name for layer in model.get_layer("encoder").layers] == ["image", "preprocess_tf", "mobilenet"]
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [
        "dropout_0",
        "dropout_1",
    ]


def test_backbone_flatten_pooling_and_given_encoder():
    builder = tiny_mobilenet(pooling="flatten")
    encoder = builder.build_encoder(image_specs(MNIST_SHAPE))
    model = builder.build_classifier(image_specs(MNIST_SHAPE), 2, encoder=encoder)
    assert model.get_layer("encoder") is encoder and model.get_layer("flatten_pool").output.shape == (None, 256)


def test_encoder_called_directly_keeps_batchnorm_in_inference_mode():
    """Resizing's training=True default must not reach the backbone's BatchNormalization."""
    encoder = tiny_mobilenet().build_encoder(image_specs(MNIST_SHAPE))
    batchnorm = encoder.get_layer("mobilenet").get_layer("conv1_bn")
    before = keras.ops.convert_to_numpy(batchnorm.moving_mean).copy()
    encoder(images())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(batchnorm.moving_mean), before)


def test_preprocessing_matches_keras_applications():
    assert PREPROCESSING_MODES.keys() == APPLICATIONS.keys()
    x = images((32, 32, 3))
    for mode, reference in [
        ("caffe", keras.applications.vgg16.preprocess_input),
        ("caffe", keras.applications.resnet50.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("tf", keras.applications.mobilenet.preprocess_input),
    ]:
        out = keras.ops.convert_to_numpy(ImageNetPreprocessing(mode)(x))
        np.testing.assert_allclose(out, reference(x.copy()), rtol=1e-6, atol=1e-4)
    np.testing.assert_array_equal(keras.applications.efficientnet.preprocess_input(x.copy()), x)  # hence no layer
    caffe = keras.ops.convert_to_numpy(ImageNetPreprocessing("caffe")(x))
    np.testing.assert_allclose(caffe[..., 0], x[..., 2] - 103.939, atol=1e-4)  # BGR, minus the ImageNet means


@pytest.mark.parametrize(
    "builder",
    [
        CNN(filters=(8, 16), dense_units=(16,), augmentation=["rotation:0.1"]),
        tiny_mobilenet(augmentation=["flip", "zoom:0.1"]),
    ],
    ids=["cnn", "mobilenet"],
)
def test_keras_file_round_trip(builder, tmp_path):
    model = builder.build_classifier(image_specs(MNIST_SHAPE), 10)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = images()
    np.testing.assert_array_equal(outputs(loaded, x), outputs(model, x))


# --- weights ---------------------------------------------------------------------------------------


def test_real_mobilenet_weights_file_loads_at_32x32():
    builder = tiny_mobilenet(weights=str(MOBILENET_FILE), image_size=32)
    model = builder.build_classifier(image_specs(MNIST_SHAPE), 10)
    assert builder.pretrained is True
    np.testing.assert_array_equal(first_kernel(model), file_kernel())
    assert not np.allclose(first_kernel(tiny_mobilenet().build_classifier(image_specs(MNIST_SHAPE), 10)), file_kernel())
    assert np.isfinite(outputs(model, images())).all()


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache folder, and downloads that fail as they do with no network."""
    import keras.src.backend.config as keras_config
    import keras.src.utils.file_utils as file_utils

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))  # read by get_file; KERAS_HOME is read at import
    monkeypatch.setattr(file_utils, "urlretrieve", no_network)
    return tmp_path


def test_imagenet_weights_without_network(keras_home):
    with pytest.raises(ConfigError) as error:
        tiny_mobilenet(weights="imagenet").build_encoder(image_specs(MNIST_SHAPE))
    assert str(error.value) == (
        "model.weights=imagenet: could not download the ImageNet weights for mobilenet (alpha=0.25) (no network?); "
        "put mobilenet_2_5_224_tf_no_top.h5 in ~/.keras/models (or $KERAS_HOME/models) "
        "or set model.weights=<path to .h5>"
    )


def test_imagenet_weights_from_the_keras_cache(keras_home):
    (keras_home / "models").mkdir()
    shutil.copy(MOBILENET_FILE, keras_home / "models" / MOBILENET_FILE.name)
    model = tiny_mobilenet(weights="imagenet").build_classifier(image_specs(MNIST_SHAPE), 10)
    np.testing.assert_array_equal(first_kernel(model), file_kernel())


# --- config errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder", "shape", "message"),
    [
        (
            KerasBackbone("vgg19"),
            MNIST_SHAPE,
            "model.architecture=vgg19: allowed: vgg16, resnet50, mobilenet_v2, efficientnet_b0, mobilenet",
        ),
        (
            KerasBackbone("vgg16", image_size=None),
            MNIST_SHAPE,
            "model.image_size=None: vgg16 needs images of at least 32x32, the data is 28x28; "
            "set model.image_size=32 (or larger)",
        ),
        (
            KerasBackbone("resnet50", image_size=16),
            MNIST_SHAPE,
            "model.image_size=16: resnet50 needs images of at least 32x32; set model.image_size=32 (or larger)",
        ),
        (
            KerasBackbone("vgg16", weights="/no/such/file.h5"),
            MNIST_SHAPE,
            "model.weights=/no/such/file.h5: file does not exist",
        ),
        (
            KerasBackbone("mobilenet", alpha=0.3),
            MNIST_SHAPE,
            "model.alpha=0.3: mobilenet has ImageNet weights for alpha in 0.25, 0.5, 0.75, 1.0",
        ),
        (KerasBackbone("vgg16", pooling="mean"), MNIST_SHAPE, "model.pooling=mean: allowed: avg, max, flatten"),
        (
            KerasBackbone("vgg16", dense_units=(256,), dropout=[0.5]),
            MNIST_SHAPE,
            "model.dropout=[0.5]: one rate, or 2 (before each Dense layer and before the output)",
        ),
        (
            KerasBackbone("vgg16", augmentation=["rotation"]),
            MNIST_SHAPE,
            "model.augmentation=rotation: allowed: flip[:horizontal|vertical|horizontal_and_vertical], "
            "rotation:<factor>, zoom:<factor>",
        ),
        (KerasBackbone("vgg16"), (32, 32, 4), "model.architecture=vgg16: needs 1- or 3-channel images, the data has 4"),
        (CNN(image_size=2), MNIST_SHAPE, "model.image_size=2: must be >= 4 for 3 conv layers"),
        (
            CNN(),
            (3, 3, 1),
            "model.image_size=None: the data is 3x3, too small for 3 conv layers; set model.image_size=4 (or larger)",
        ),
    ],
    ids=[
        "architecture",
        "native-28",
        "image-size-16",
        "missing-file",
        "alpha",
        "pooling",
        "dropout",
        "augmentation",
        "channels",
        "cnn-size",
        "cnn-native",
    ],
)
def test_config_errors(builder, shape, message):
    with pytest.raises(ConfigError) as checked:
        builder.check(image_specs(shape))
    assert str(checked.value) == message
    with pytest.raises(ConfigError) as built:
        builder.build_classifier(image_specs(shape), 10)
    assert str(built.value) == message


@pytest.mark.parametrize(
    ("architecture", "alpha", "detail"),
    [
        (
            "vgg16",
            1.0,
            "vgg16: Layer count mismatch when loading weights from file. "
            "Model expected 13 layers, found 54 saved layers.",
        ),
        ("mobilenet", 1.0, "mobilenet (alpha=1.0): Shape mismatch in layer #0 (named conv1)"),
    ],
)
def test_weights_file_that_does_not_fit(architecture, alpha, detail):
    builder = KerasBackbone(architecture, weights=str(MOBILENET_FILE), alpha=alpha)
    builder.check(image_specs(MNIST_SHAPE))  # only building finds out
    with pytest.raises(ConfigError) as error:
        builder.build_encoder(image_specs(MNIST_SHAPE))
    assert str(error.value).startswith(f"model.weights={MOBILENET_FILE}: does not fit {detail}")
    assert "\n" not in str(error.value)


# --- JAX -------------------------------------------------------------------------------------------

JAX_SCRIPT = """
import sys, numpy as np, keras
from transferlab.models.backbones import KerasBackbone
from transferlab.data.inputs import image_input
from transferlab.models.cnn import CNN
assert keras.backend.backend() == "jax"
x = np.load(sys.argv[1] + "/x.npy")
for name in ("cnn", "mobilenet"):
    saved = keras.saving.load_model(f"{sys.argv[1]}/{name}.keras")
    np.testing.assert_allclose(saved.predict(x, verbose=0), np.load(f"{sys.argv[1]}/{name}.npy"), rtol=1e-4, atol=1e-5)
for builder in (CNN(), KerasBackbone("vgg16", weights=None)):  # mobilenet (tf mode) came from the .keras file
    specs = {"image": image_input("image", x.shape[1:])}
    out = keras.ops.convert_to_numpy(builder.build_classifier(specs, 10)({"image": x}, training=False))
    assert out.shape == (2, 10) and np.isfinite(out).all()
print("ok backend=jax")
"""


@pytest.mark.slow
def test_jax_loads_tensorflow_models_and_builds(tmp_path):
    x = images()
    np.save(tmp_path / "x.npy", x)
    for name, builder in [("cnn", CNN()), ("mobilenet", tiny_mobilenet())]:
        model = builder.build_classifier(image_specs(MNIST_SHAPE), 10)
        model.save(tmp_path / f"{name}.keras")
        np.save(tmp_path / f"{name}.npy", model.predict(x, verbose=0))
    stdout = run_python("-c", JAX_SCRIPT, str(tmp_path))
    assert "ok backend=jax" in stdout
