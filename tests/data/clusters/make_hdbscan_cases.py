#!/usr/bin/env python3
"""Reference cases for vbatch::model::hdbscan from scikit-learn's HDBSCAN (generated data: the
CSV files beside this script; do not edit them by hand).

Generated with scikit-learn 1.9.1, numpy 2.3.5, scipy 1.17.1, Python 3.11 (the script checks the
sklearn version is at least 1.3, which introduced sklearn.cluster.HDBSCAN, and records the versions
used in every file's header). Use numpy < 2.4 with sklearn 1.9.1: under numpy 2.4 its
cluster_selection_epsilon search fails ("TypeError: only 0-dimensional arrays can be converted to
Python scalars" in _tree.pyx traverse_upwards).

Each case is a seeded synthetic set of unit vectors (blobs around random unit centres, some with
sub-blobs, plus uniformly random noise points), written with 4 decimals. Those decimal values, read
as float32 (what the C++ test reads), are what sklearn clusters: HDBSCAN(metric="precomputed") on
1 - cos computed in float64 (clipped to [0, 2], diagonal 0), checked equal to metric="cosine".

The C++ side computes cosine similarity in float32, so its distances differ from these by ~1e-7.
Every case is therefore checked to be robust: sklearn must give the same partition when the
distances get symmetric random perturbations of up to 2e-6 (and, for epsilon cases, when epsilon
moves by 0.1%), and when the items are permuted (mutual reachability has ties by construction,
which sklearn breaks by item order). Cases that exercise an option are also checked to change when the option is
changed, so the C++ test can catch the option being ignored.

File format: '#' comment lines, one of them '# options: key=value ...' (min_samples=none means
sklearn's default, min_cluster_size); then a header line and one line per item:
label,probability,x0,...,x{d-1}   (label -1 is noise; probability is sklearn's probabilities_).

    pip install "scikit-learn==1.9.1" "numpy<2.4"
    python3 make_hdbscan_cases.py      # from any folder; writes next to this script
"""

import os
import sys

import numpy as np
import scipy
import sklearn
from sklearn.cluster import HDBSCAN
from sklearn.metrics import adjusted_rand_score

HERE = os.path.dirname(os.path.abspath(__file__))
if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 3):
    sys.exit(f"scikit-learn {sklearn.__version__} has no sklearn.cluster.HDBSCAN; need >= 1.3")


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def blobs(rng, d, sizes, spreads, noise, centres=None):
    """Blobs of unit vectors around unit centres (Gaussian spread per dimension), plus uniform noise, shuffled."""
    if centres is None:
        centres = unit(rng.standard_normal((len(sizes), d)))
    points = [unit(c + s * rng.standard_normal((k, d))) for c, k, s in zip(centres, sizes, spreads)]
    points.append(unit(rng.standard_normal((noise, d))))
    x = np.concatenate(points)
    return x[rng.permutation(len(x))]


def nested(rng, d, groups, sub_offset, sizes, spread, noise):
    """Top-level centres, each with sub-centres at `sub_offset` (Gaussian per dimension) around it."""
    tops = unit(rng.standard_normal((groups, d)))
    centres = np.concatenate([unit(t + sub_offset * rng.standard_normal((len(s), d))) for t, s in zip(tops, sizes)])
    flat = [k for s in sizes for k in s]
    return blobs(rng, d, flat, [spread] * len(flat), noise, centres)


def as_written(x):
    """The 4-decimal text and the float32 values it denotes (what the C++ test reads)."""
    text = [[f"{v:.4f}" for v in row] for row in x]
    return text, np.array(text, dtype=np.float32)


def cosine_distances64(x32):
    x = x32.astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    dist = np.clip(1.0 - x @ x.T, 0.0, 2.0)
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    return dist


def run(dist, options):
    model = HDBSCAN(metric="precomputed", **options).fit(dist.copy())  # fit may overwrite a precomputed matrix
    return model.labels_, model.probabilities_


def same_partition(a, b):
    return adjusted_rand_score(a, b) == 1.0 and np.array_equal(a == -1, b == -1)


def write_case(name, description, x, options, must_differ=None):
    text, x32 = as_written(x)
    dist = cosine_distances64(x32)
    labels, probabilities = run(dist, options)
    cosine = HDBSCAN(metric="cosine", **options).fit(x32.astype(np.float64))
    assert same_partition(labels, cosine.labels_), f"{name}: precomputed and metric='cosine' differ"
    # Robust to float32 rounding of the distances (and of epsilon).
    rng = np.random.default_rng(12345)
    for trial in range(8):
        noise = rng.uniform(-2e-6, 2e-6, dist.shape)
        noisy = np.clip(dist + (noise + noise.T) / 2, 0.0, 2.0)
        np.fill_diagonal(noisy, 0.0)
        got, got_probabilities = run(noisy, options)
        assert same_partition(labels, got), f"{name}: not robust to distance perturbation (trial {trial})"
        assert np.abs(got_probabilities - probabilities).max() < 1e-3, f"{name}: probabilities not robust"
    # Mutual reachability ties by construction (an item's edges to two groups within its core
    # distance both weigh that core distance), and sklearn breaks such ties by item order: keep
    # only cases whose partition does not depend on the order of the items.
    for trial in range(8):
        order = rng.permutation(len(dist))
        got, got_probabilities = run(dist[np.ix_(order, order)], options)
        back, back_probabilities = np.empty_like(got), np.empty_like(got_probabilities)
        back[order], back_probabilities[order] = got, got_probabilities
        assert same_partition(labels, back), f"{name}: depends on the item order (trial {trial})"
        assert np.abs(back_probabilities - probabilities).max() < 1e-3, f"{name}: probabilities depend on the item order"
    epsilon = options.get("cluster_selection_epsilon", 0.0)
    for factor in (0.999, 1.001) if epsilon else ():
        got, _ = run(dist, {**options, "cluster_selection_epsilon": epsilon * factor})
        assert same_partition(labels, got), f"{name}: not robust to epsilon * {factor}"
    # The option under test matters for this data.
    if must_differ is not None:
        other, _ = run(dist, {**options, **must_differ})
        assert not same_partition(labels, other), f"{name}: {must_differ} gives the same partition"
    clusters = len(set(labels) - {-1})
    noise_count = int((labels == -1).sum())
    assert clusters >= 1, f"{name}: no clusters"

    full = {
        "min_cluster_size": options["min_cluster_size"],
        "min_samples": options.get("min_samples", "none"),
        "cluster_selection_method": options.get("cluster_selection_method", "eom"),
        "cluster_selection_epsilon": repr(float(epsilon)),
        "allow_single_cluster": int(options.get("allow_single_cluster", False)),
    }
    n, d = x32.shape
    with open(os.path.join(HERE, f"hdbscan_{name}.csv"), "w") as f:
        f.write(f"# HDBSCAN reference case '{name}': {n} items x {d} dims, {clusters} clusters, {noise_count} noise.\n")
        f.write(f"# {description}\n")
        f.write(f"# Generated by make_hdbscan_cases.py with scikit-learn {sklearn.__version__} (numpy {np.__version__},"
                f" scipy {scipy.__version__}); do not edit.\n")
        f.write("# options: " + " ".join(f"{k}={v}" for k, v in full.items()) + "\n")
        f.write("label,probability," + ",".join(f"x{k}" for k in range(d)) + "\n")
        for label, p, row in zip(labels, probabilities, text):
            f.write(f"{label},{p:.6f}," + ",".join(row) + "\n")
    print(f"{name}: {n}x{d}, {clusters} clusters, {noise_count} noise, options {full}")


def choose_epsilon(x, options):
    """The epsilon in the middle of the widest range (on a 0.002 grid) that changes the partition from epsilon 0."""
    dist = cosine_distances64(as_written(x)[1])
    base, _ = run(dist, options)
    grid = np.arange(0.002, 0.6, 0.002)
    changed = [not same_partition(base, run(dist, {**options, "cluster_selection_epsilon": e})[0]) for e in grid]
    partitions = [run(dist, {**options, "cluster_selection_epsilon": e})[0] for e in grid]
    best, start = (0, 0), None
    for i in range(len(grid) + 1):
        same_as_start = start is not None and i < len(grid) and changed[i] and same_partition(partitions[start], partitions[i])
        if same_as_start:
            continue
        if start is not None and i - start > best[1] - best[0]:
            best = (start, i)
        start = i if i < len(grid) and changed[i] else None
    assert best[1] > best[0], "no epsilon changes the partition"
    return round(float(grid[(best[0] + best[1] - 1) // 2]), 3)


def main():
    write_case("eom_blobs",
               "4 blobs of different sizes and spreads in 16 dims plus 8 noise points; eom, default min_samples.",
               blobs(np.random.default_rng(1), 16, [12, 20, 30, 45], [0.10, 0.18, 0.25, 0.15], 8),
               {"min_cluster_size": 6})
    write_case("eom_min_samples",
               "6 blobs of 10 to 40 items in 8 dims plus 10 noise points; eom, min_samples 3 < min_cluster_size 5.",
               blobs(np.random.default_rng(2), 8, [10, 14, 18, 24, 30, 40], [0.05, 0.08, 0.12, 0.06, 0.10, 0.09], 10),
               {"min_cluster_size": 5, "min_samples": 3},
               must_differ={"min_samples": None})
    write_case("leaf_nested",
               "3 groups of 2-3 sub-blobs in 12 dims plus 6 noise points; leaf selection (eom differs).",
               nested(np.random.default_rng(3), 12, 3, 0.09, [[15, 15, 15], [20, 12], [18, 18]], 0.05, 6),
               {"min_cluster_size": 6, "cluster_selection_method": "leaf"},
               must_differ={"cluster_selection_method": "eom"})
    x = nested(np.random.default_rng(4), 12, 3, 0.15, [[15, 15, 15], [20, 12], [18, 18]], 0.05, 6)
    eom = {"min_cluster_size": 6}
    write_case("eom_epsilon",
               "3 groups of 2-3 sub-blobs in 12 dims plus 6 noise points; eom with cluster_selection_epsilon (0 differs).",
               x, {**eom, "cluster_selection_epsilon": choose_epsilon(x, eom)},
               must_differ={"cluster_selection_epsilon": 0.0})
    leaf = {"min_cluster_size": 6, "cluster_selection_method": "leaf"}
    write_case("leaf_epsilon",
               "The eom_epsilon items; leaf selection with cluster_selection_epsilon (0 differs).",
               x, {**leaf, "cluster_selection_epsilon": choose_epsilon(x, leaf)},
               must_differ={"cluster_selection_epsilon": 0.0})
    write_case("single_cluster",
               "One dense blob of 60 items in 16 dims plus 15 noise points; allow_single_cluster (False differs). sklearn"
               " then labels only items that left the root at its largest lambda (the rest is noise).",
               blobs(np.random.default_rng(5), 16, [60], [0.12], 15),
               {"min_cluster_size": 10, "allow_single_cluster": True},
               must_differ={"allow_single_cluster": False})
    x = blobs(np.random.default_rng(5), 16, [60], [0.12], 15)
    single = {"min_cluster_size": 10, "allow_single_cluster": True}
    write_case("single_cluster_epsilon",
               "The single_cluster items; allow_single_cluster with cluster_selection_epsilon (0 differs).",
               x, {**single, "cluster_selection_epsilon": choose_epsilon(x, single)},
               must_differ={"cluster_selection_epsilon": 0.0})
    write_case("blobs_48d",
               "3 blobs (12, 15, 18 items) in 48 dims plus 5 noise points; eom, min_samples 4.",
               blobs(np.random.default_rng(6), 48, [12, 15, 18], [0.06, 0.09, 0.12], 5),
               {"min_cluster_size": 5, "min_samples": 4})


if __name__ == "__main__":
    main()
