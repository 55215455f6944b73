"""Explainers, metric kernels and the registered metric classes."""
