"""Model builders. Each exposes `build_classifier(input_dim, n_classes, encoder=None)`,
`build_encoder(input_dim)` (None when the architecture has no encoder) and, when it can
pretrain its encoder without labels, `build_pretrainer(encoder)`."""
