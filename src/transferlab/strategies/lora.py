"""Low-rank adapters (Hu et al., 2021) on every Dense and convolution layer of a frozen base, with
Keras' native LoRA (`enable_lora` of Dense and Conv layers), then merged into plain kernels for
export. Layers Keras has no LoRA for (depthwise convolutions, BatchNormalization) stay frozen.

Seed 001 adds `alfa * A @ B` to each kernel; Keras adds `(lora_alpha / rank) * A @ B`. So the
seed's alfa = 0.1 at r = 4 is `lora_alpha = alfa * rank = 0.4` (strategy.alpha).
"""

import keras
import numpy as np

from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import predict_array
from transferlab.models.layers import all_layers
from transferlab.strategies.base import TrainedModel
from transferlab.strategies.common import (
    TransferStrategy,
    Source,
    check_source,
    fit_classifier,
    load_source_model,
    pretrained_classifier,
    source_option,
)
from transferlab.validation import PositiveInt, PositiveNumber, Settings


def adaptable(layer) -> bool:
    """Whether Keras can add LoRA to the layer's kernel (Dense, EinsumDense, Conv1D/2D/3D)."""
    return hasattr(layer, "enable_lora") and hasattr(layer, "kernel")


def adaptable_layers(model: keras.Model) -> list:
    """Every layer of the model, nested models included, that gets adapters."""
    return [layer for layer in all_layers(model) if adaptable(layer)]


def layer_dims(layer) -> tuple[int, int]:
    """(inputs, outputs) of a layer's kernel as LoRA factors it: A is (inputs, r), B is (r, outputs)."""
    *fan_in, outputs = layer.kernel.shape
    return int(np.prod(fan_in)), int(outputs)


def max_rank(model: keras.Model) -> tuple[int, str]:
    """The largest useful rank: the smallest min(d_in, d_out) over the adapted layers but the output.

    The output layer is left out of the bound: it has one unit per class (one for a binary task),
    so any rank above that only adds r * (d_in + d_out) parameters; seed 001 adapts it at r = 4.
    """
    layers = adaptable_layers(model)
    output = layers[-1]  # the last in forward order, also inside a wrapping model
    hidden = [layer for layer in layers if layer is not output] or layers
    smallest = min(hidden, key=lambda layer: min(layer_dims(layer)))
    d_in, d_out = layer_dims(smallest)
    return min(d_in, d_out), f"{smallest.name}: {d_in}->{d_out}"


def check_rank(rank, model: keras.Model) -> None:
    limit, layer = max_rank(model)
    if not 1 <= rank <= limit:
        raise ConfigError(
            "strategy.rank", rank, f"must be an integer from 1 to {limit}, the smaller dimension of layer {layer}"
        )


def add_adapters(model: keras.Model, rank: int, alpha: float) -> keras.Model:
    """Freeze every base weight (kernels, biases, other layers) and add rank-`rank` adapters to
    every Dense and convolution layer: only the A and B matrices stay trainable."""
    model.trainable = True
    for layer in all_layers(model):  # parents before children
        if isinstance(layer, keras.Model):
            layer.trainable = True  # a nested model (a frozen encoder) keeps its own flag
        elif adaptable(layer):
            layer.enable_lora(rank, lora_alpha=alpha)  # also freezes the kernel
            if layer.bias is not None:
                layer.bias.trainable = False
        else:
            layer.trainable = False
    return model


def merged_copy(model: keras.Model) -> keras.Model:
    """The same network with plain layers whose kernels are W + (alpha / r) A B.

    Keras folds the adapters when a LoRA layer saves its variables (`save_own_variables`), so the
    merge is that save loaded into a clone built without the LoRA settings. The save runs under a
    float32 policy: Keras 3.15 casts the folded kernel to the layer's compute dtype, which under
    mixed precision would round the exported float32 weights to bfloat16/float16.
    """

    def without_lora(layer):
        config = {k: v for k, v in layer.get_config().items() if k not in ("lora_rank", "lora_alpha")}
        return layer.__class__.from_config(config)

    merged = keras.models.clone_model(model, clone_function=without_lora, recursive=True)
    for adapted, plain in zip(all_layers(model), all_layers(merged), strict=True):
        if not isinstance(adapted, keras.Model):
            store, policy = {}, adapted.dtype_policy
            adapted.dtype_policy = "float32"
            try:
                adapted.save_own_variables(store)
            finally:
                adapted.dtype_policy = policy
            # NumPy copies: on JAX the store holds the adapted model's own buffers, which a
            # compiled call on either model may donate (delete) afterwards.
            plain.load_own_variables({key: keras.ops.convert_to_numpy(value) for key, value in store.items()})
    return merged


def max_abs_prediction_diff(first: keras.Model, second: keras.Model, inputs: dict) -> float:
    return float(np.max(np.abs(predict_array(first, inputs) - predict_array(second, inputs))))


def merge_parity(adapted: keras.Model, merged: keras.Model, inputs: dict) -> float:
    """Max |adapted - merged| prediction on `inputs`, computed in float32.

    Under a mixed-precision policy the two models round their bfloat16/float16 products
    differently: on the HIGGS sample with mixed_bfloat16 that alone gives ~6e-3. Comparing float32
    copies measures what this check is for, the merged kernels.
    """
    if any(
        layer.dtype_policy.compute_dtype != "float32"
        for layer in all_layers(adapted)
        if not isinstance(layer, keras.Model)
    ):
        adapted, merged = float32_copy(adapted), float32_copy(merged)
    return max_abs_prediction_diff(adapted, merged, inputs)


def float32_copy(model: keras.Model) -> keras.Model:
    """The same network and weights (adapters kept apart), every layer computing in float32.

    Weights are matched by name within each layer: a layer built with LoRA in its config orders
    its variables differently from one that had `enable_lora` called after it was built. And
    `lora_alpha` is set again: Keras 3.15's Dense.build calls `enable_lora(lora_rank)` without it,
    so a Dense made from its config scales its adapters by 1 instead of alpha / rank.
    """
    copy = keras.models.clone_model(
        model,
        recursive=True,
        clone_function=lambda layer: layer.__class__.from_config(layer.get_config() | {"dtype": "float32"}),
    )
    for source, target in zip(all_layers(model), all_layers(copy), strict=True):
        if not isinstance(source, keras.Model):
            values = {variable.name: variable for variable in source.variables}
            for variable in target.variables:
                variable.assign(values[variable.name])
            if getattr(source, "lora_enabled", False):
                target.lora_alpha = source.lora_alpha
    return copy


class LoRA(TransferStrategy):
    """Base classifier (source run or pretrained here) -> adapters trained on the adaptation pool
    (stage "lora") -> merged copy, with the merge checked on every test row."""

    class Options(Settings):
        rank: PositiveInt = 4
        alpha: PositiveNumber = 0.4
        source: Source = source_option()

    def check(self, builder, data):
        source = self.options.source
        check_source(builder, source, "lora", needs_encoder=False)
        uri = source.uri("keras_model")
        base = load_source_model(uri, data.specs) if uri else builder.build_classifier(data.specs, data.n_classes)
        check_rank(self.options.rank, base)
        return base

    def train(self, builder, data, settings_for) -> TrainedModel:
        rank, alpha = self.options.rank, self.options.alpha
        base = pretrained_classifier(builder, data, self.options.source, settings_for, "lora")
        check_rank(rank, base.classifier)
        adapted = add_adapters(base.classifier, rank, alpha)
        stages = base.stage_metrics | {"lora": fit_classifier(adapted, "lora", data, settings_for)}
        merged = merged_copy(adapted)
        metrics = {
            "lora_merge_max_abs_diff": merge_parity(adapted, merged, data.test.inputs),
            "merged_total_params": merged.count_params(),
        }
        return TrainedModel(adapted, None, stages, exported=merged, metrics=metrics)
