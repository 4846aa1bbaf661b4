"""Model builders: one class per architecture, each a `models.base.ModelBuilder` (see there)."""
