"""Explainers: each takes an ExplainContext and returns an Explanation (CSV table + PNG figures)."""
