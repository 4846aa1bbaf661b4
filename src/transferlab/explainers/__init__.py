"""Explainers: each takes an ExplainContext and returns an Explanation (CSV table + PNG figures).

Tables: permutation, integrated_gradients, shap. Images: gradcam, integrated_gradients, shap, lime,
feature_maps. Models of several inputs: modality, and the table explainers on one chosen input.
The default, auto, picks one of these from the data and the model. comparison checks a run's
explanations against each other (agreement of their rankings, deletion curves).
"""
