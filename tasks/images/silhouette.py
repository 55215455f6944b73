"""Derived object masks: the pixels of an object on a black background, interior holes filled."""
from __future__ import annotations

import numpy as np


def silhouette(images: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean N x H x W mask of ``images > threshold`` (N x H x W in [0, 1]) with enclosed holes filled.

    Holes are background regions not 4-connected to the image border (e.g. the dark inside of a bag).

    >>> ring = np.pad(np.ones((1, 3, 3)), ((0, 0), (1, 1), (1, 1)))
    >>> ring[0, 2, 2] = 0.0  # an enclosed hole
    >>> silhouette(ring, 0.5)[0].astype(int).tolist()
    [[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]]
    """
    from scipy import ndimage  # scipy comes with aeon and scikit-learn

    # A structure flat along the sample axis fills each image on its own, all images in one call.
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    return ndimage.binary_fill_holes(images > threshold, structure=structure)
