"""Clusters of entities from scored pairs: connected components with numpy union-find."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cxm.identity.matching.blocking import pairs_within_groups
from cxm.identity.matching.records import IntArray


def connected_components(left: IntArray, right: IntArray, n: int) -> IntArray:
    """Per node, the smallest node of its component (edges ``left[i]`` – ``right[i]``)."""
    parent = np.arange(n, dtype=np.int64)
    while len(left):
        root_left, root_right = parent[left], parent[right]
        differ = root_left != root_right
        if not differ.any():
            break
        root_left, root_right = root_left[differ], root_right[differ]
        low = np.minimum(root_left, root_right)
        # Hook the larger root under the smaller, then flatten by pointer jumping.
        np.minimum.at(parent, np.maximum(root_left, root_right), low)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent


def _mutual_best(
    left: IntArray, right: IntArray, score: npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.bool_]:
    best = np.full(n, -np.inf)
    np.maximum.at(best, left, score)
    np.maximum.at(best, right, score)
    return (score >= best[left]) & (score >= best[right])


def cluster_entities(
    left: IntArray,
    right: IntArray,
    probability: npt.NDArray[np.float64],
    n_entities: int,
    *,
    threshold: float = 0.5,
    strong_threshold: float | None = None,
) -> IntArray:
    """A cluster label per entity from pairs with ``probability`` at ``threshold`` or more.

    With ``strong_threshold``, links below it are weak and only join when they are the best
    link of both of their entities; a cluster cannot then grow by a chain of weak links to
    records that each have a better partner elsewhere.
    """
    keep = probability >= threshold
    left, right, probability = left[keep], right[keep], probability[keep]
    if strong_threshold is not None:
        strong = probability >= strong_threshold
        keep = strong | _mutual_best(left, right, probability, n_entities)
        left, right = left[keep], right[keep]
    return connected_components(left, right, n_entities)


def pairs_in_clusters(labels: IntArray) -> tuple[IntArray, IntArray]:
    """Every pair ``(i, j)``, ``i < j``, of entities with the same cluster label."""
    return pairs_within_groups(np.asarray(labels, dtype=np.int64))
