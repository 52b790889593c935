"""Evaluation: metrics, figures, reports, comparisons."""
