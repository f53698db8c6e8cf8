"""Exact path-dependent TreeSHAP for scikit-learn trees, written with numpy alone.

The algorithm is Lundberg et al.'s polynomial-time TreeSHAP (path-dependent: a feature left
out of a coalition follows both branches of its splits, weighted by the training rows each
branch saw). It satisfies local accuracy exactly: per row, the contributions plus the tree's
expected value (the cover-weighted mean of its leaves) equal the tree's output.

The algorithm is written without recursion. A leaf's contribution depends only on the unique
features of its path: their zero fractions (the share of training rows that followed the
path's splits on that feature, known from the model) and one fractions (does the row follow
them: 0 or 1). :func:`compile_paths` lists every leaf's unique path once per model, padded to
one length (a padding element is a null player and changes nothing); a request then computes
the permutation weights of all leaves and all rows at once, as arrays, in a number of numpy
operations that grows with the path length only, not with the number of nodes or rows.
:attr:`Paths.cost` (leaves × path length) says what a row costs, so that a caller can choose
another method for a model whose trees are too big for a latency budget.

The ``shap`` package was not used: it compiles a C extension, pulls numba and llvmlite (about
150 MB installed) and its releases lag behind numpy's; the server's bundles carry numpy,
pandas and scikit-learn only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tree:
    """One fitted tree as flat arrays (``left[i] < 0``: node ``i`` is a leaf).

    A row goes left at node ``i`` when ``x[feature[i]] <= threshold[i]``, or when the value is
    missing and ``missing_left[i]``. ``value`` is ``(n_nodes, n_outputs)``; ``cover`` counts the
    (weighted) training rows that reached each node.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    cover: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class Paths:
    """The unique path of every leaf of a set of trees, padded to one width.

    Leaf ``l``'s ancestors, nearest first, are ``ancestors[l, d]`` (the node ``len(thresholds)``
    pads: every row "follows" it), the leaf lies to the left of ancestor ``d`` when
    ``left[l, d]``, and that split's feature is the leaf's unique path element
    ``slots[l, d]``. Element ``p`` of leaf ``l`` is feature ``features[l, p]``
    (``n_features`` for padding) with zero fraction ``zeros[l, p]`` (the product of the cover
    ratios of its splits). Padding is a null player (zero and one fraction 1): it changes no
    other element's value. ``values`` are the leaves' outputs times their tree's scale.
    """

    ancestors: np.ndarray
    left: np.ndarray
    slots: np.ndarray
    features: np.ndarray
    zeros: np.ndarray
    values: np.ndarray
    split_features: np.ndarray
    thresholds: np.ndarray
    missing_left: np.ndarray
    expected: np.ndarray
    n_features: int

    @property
    def cost(self) -> int:
        """Leaves × (path width + 1)²: the work of one row's explanation, in array elements."""
        return int(self.features.shape[0] * (self.features.shape[1] + 1) ** 2)


def _joined(trees: list[Tree], scales: list[float]) -> dict[str, np.ndarray]:
    """All trees as one forest of globally numbered nodes."""
    sizes = [len(t.left) for t in trees]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    shift = np.repeat(offsets, sizes)
    left = np.concatenate([t.left for t in trees]).astype(np.int64)
    right = np.concatenate([t.right for t in trees]).astype(np.int64)
    return {
        "left": np.where(left >= 0, left + shift, -1),
        "right": np.where(right >= 0, right + shift, -1),
        "feature": np.concatenate([t.feature for t in trees]).astype(np.int64),
        "threshold": np.concatenate([t.threshold for t in trees]).astype(np.float64),
        "missing_left": np.concatenate([t.missing_left for t in trees]).astype(bool),
        "cover": np.concatenate([t.cover for t in trees]).astype(np.float64),
        "value": np.concatenate([t.value * s for t, s in zip(trees, scales, strict=True)]),
    }


def _ancestors(nodes: dict[str, np.ndarray], leaves: np.ndarray) -> list[np.ndarray]:
    """(ancestor, left?, cover ratio) of every leaf, one column per step up, padded."""
    count = len(nodes["left"])
    parent = np.full(count + 1, -1, dtype=np.int64)
    is_left = np.zeros(count + 1, dtype=bool)
    internal = np.flatnonzero(nodes["left"] >= 0)
    parent[nodes["left"][internal]] = internal
    parent[nodes["right"][internal]] = internal
    is_left[nodes["left"][internal]] = True
    cover = np.append(nodes["cover"], 1.0)
    steps, current = [], leaves
    while True:
        above = parent[current]
        valid = above >= 0
        if not valid.any():
            break
        ancestor = np.where(valid, above, count)
        ratio = np.where(valid, cover[current] / np.where(valid, cover[ancestor], 1.0), 1.0)
        steps.append((ancestor, np.where(valid, is_left[current], True), ratio))
        current = np.where(valid, above, current)
    if not steps:  # every tree is a single leaf
        n = len(leaves)
        steps.append((np.full(n, count), np.ones(n, dtype=bool), np.ones(n)))
    return [np.stack(part, axis=1) for part in zip(*steps, strict=True)]


def compile_paths(trees: list[Tree], scales: list[float], n_features: int) -> Paths:
    """The padded unique paths of ``trees`` (each tree's outputs times its ``scale``)."""
    nodes = _joined(trees, scales)
    leaves = np.flatnonzero(nodes["left"] < 0)
    ancestors, left, ratios = _ancestors(nodes, leaves)
    split = np.append(nodes["feature"], n_features)[ancestors]  # the padding node: a null column
    split = np.where((split < 0) | (split > n_features), n_features, split)
    index = np.arange(len(leaves))
    zeros_full = np.ones((len(leaves), n_features + 1))
    used = np.zeros((len(leaves), n_features + 1), dtype=bool)
    for d in range(split.shape[1]):
        zeros_full[index, split[:, d]] *= ratios[:, d]
        used[index, split[:, d]] = True
    used[:, n_features] = False
    width = max(1, int(used.sum(axis=1).max()))
    order = np.argsort(~used, axis=1, kind="stable")[:, :width]
    features = np.where(np.take_along_axis(used, order, axis=1), order, n_features)
    slot_of = np.full((len(leaves), n_features + 1), width, dtype=np.int64)
    slot_of[index[:, None], features] = np.arange(width)
    slot_of[:, n_features] = width
    share = ratios.prod(axis=1)
    return Paths(
        ancestors, left, np.take_along_axis(slot_of, split, axis=1), features,
        np.take_along_axis(zeros_full, features, axis=1),
        nodes["value"][leaves], nodes["feature"], nodes["threshold"], nodes["missing_left"],
        (share[:, None] * nodes["value"][leaves]).sum(axis=0), n_features,
    )  # fmt: skip


def _follows(paths: Paths, X: np.ndarray) -> np.ndarray:
    """``(nodes + 1, rows)``: whether each row goes left at each node (last: always true)."""
    split = np.clip(paths.split_features, 0, X.shape[1] - 1)
    values = X[:, split]
    left = (values <= paths.thresholds) | (np.isnan(values) & paths.missing_left)
    return np.vstack([left.T, np.ones((1, X.shape[0]), dtype=bool)])


def _weights(zeros: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """The permutation weights of whole paths: ``(elements + 1, leaves, rows)``."""
    weights = np.ones((1, *ones.shape[1:]))  # the root's placeholder element
    for p in range(zeros.shape[0]):
        length = weights.shape[0]
        i = np.arange(length).reshape(-1, 1, 1)
        grown = np.zeros((length + 1, *weights.shape[1:]))
        grown[:length] = zeros[p] * weights * ((length - i) / (length + 1))
        grown[1:] += ones[p] * weights * ((i + 1) / (length + 1))
        weights = grown
    return weights


def _unwound_sums(weights: np.ndarray, zeros: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """For every element, the total weight of the path with that element left out."""
    depth = zeros.shape[0]
    hot = ones != 0
    after = np.broadcast_to(weights[depth], ones.shape).copy()
    hot_total = np.zeros(ones.shape)
    cold_total = np.zeros(ones.shape)
    for j in range(depth - 1, -1, -1):
        part = after * (depth + 1) / ((j + 1) * np.where(hot, ones, 1.0))
        hot_total += part
        after = weights[j] - part * zeros * (depth - j) / (depth + 1)
        cold_total += weights[j] * (depth + 1) / (np.where(zeros > 0, zeros, 1.0) * (depth - j))
    return np.where(hot, hot_total, cold_total)


def _chunk(paths: Paths, follows: np.ndarray, leaves: slice, phi: np.ndarray) -> None:
    ancestors, left, slots = paths.ancestors[leaves], paths.left[leaves], paths.slots[leaves]
    count, width = paths.features[leaves].shape
    ones = np.ones((count, width + 1, follows.shape[1]))
    index = np.arange(count)
    for d in range(ancestors.shape[1]):
        taken = follows[ancestors[:, d]]  # (leaves, rows)
        ones[index, slots[:, d]] *= np.where(left[:, d, None], taken, ~taken)
    ones = np.moveaxis(ones[:, :width], 1, 0)  # (elements, leaves, rows)
    zeros = paths.zeros[leaves].T[:, :, None]
    totals = _unwound_sums(_weights(zeros, ones), zeros, ones)
    gains = totals * (ones - zeros)  # (elements, leaves, rows)
    per_feature = np.zeros((count, paths.n_features + 1, follows.shape[1]))
    per_feature[index[:, None], paths.features[leaves]] = np.moveaxis(gains, 0, 1)
    phi += np.einsum("lfn,lk->nfk", per_feature[:, : paths.n_features], paths.values[leaves])


def shap_values(paths: Paths, X: np.ndarray, chunk_elements: int = 2_000_000) -> np.ndarray:
    """Contributions ``(rows, features, outputs)`` of every row of ``X``; with
    ``paths.expected`` they add up to the trees' scaled sum."""
    X = np.asarray(X, dtype=np.float64)
    follows = _follows(paths, X)
    phi = np.zeros((X.shape[0], paths.n_features, paths.values.shape[1]))
    per_leaf = (paths.features.shape[1] + 2) ** 2 + paths.n_features
    step = max(1, chunk_elements // (per_leaf * X.shape[0]))
    for start in range(0, paths.features.shape[0], step):
        _chunk(paths, follows, slice(start, start + step), phi)
    return phi
