"""Model builders. Each exposes `build_classifier(input_shape, n_classes, encoder=None)` and
`build_encoder(input_shape)` (None when the architecture has no encoder). `pretraining` says how
transfer strategies pretrain the encoder on the training split: "reconstruction" (unlabelled,
through `build_pretrainer(encoder)`), "supervised" (the whole classifier, with labels) or absent."""
