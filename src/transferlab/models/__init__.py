"""Model builders. Each exposes `build_classifier(input_shape, n_classes, encoder=None)`,
`build_encoder(input_shape)` (None when the architecture has no encoder) and `input_kind`
("table": feature vectors; "images": (height, width, channels) arrays of raw 0..255 pixels).

`pretraining` says how transfer strategies pretrain the encoder on the training split:
"reconstruction" (unlabelled, through `build_pretrainer(encoder)`), "supervised" (the whole
classifier, with labels) or absent. `pretrained` is true when the encoder comes with weights
(ImageNet backbones; false for the others); such a model needs no pretraining stage. Optional: `check(input_shape)`
(ConfigError for settings that cannot work on the data), `backbone(encoder)` (the part of the
encoder whose last layers fine-tuning unfreezes) and `random_init()` (the spec without weights).
"""
