#!/usr/bin/env python3
"""Reference CLEAR-MOT and IDF1 values for vbatch's tests, computed by py-motmetrics.

Usage: make_reference.py OUT.txt NAME=GT,HYP [NAME=GT,HYP ...]
Each case is scored the way py-motmetrics' MOTChallenge evaluation does: both files read with
mm.io.loadtxt(fmt='mot15-2D'), ground truth with min_confidence=1, IoU distance 1 - IoU with
pairs beyond 0.5 not allowed (mm.utils.compare_to_groundtruth(gt, hyp, 'iou', distth=0.5)).
Writes one line per case: NAME, gt=GT, hyp=HYP, then metric=value pairs, values as repr() of the Python number.
Also makes the synthetic cases with `--synthetic DIR` (seeded, see below)."""
import sys
import numpy as np
import motmetrics as mm

# py-motmetrics 1.4.0 calls np.asfarray, which NumPy 2 removed; this is its documented equivalent.
if not hasattr(np, 'asfarray'):
    np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)

METRICS = ['num_frames', 'num_objects', 'num_predictions', 'num_matches', 'num_switches', 'num_misses',
           'num_false_positives', 'num_fragmentations', 'mota', 'motp', 'idtp', 'idfp', 'idfn', 'idf1', 'idp', 'idr',
           'num_unique_objects', 'mostly_tracked', 'mostly_lost', 'partially_tracked']


def score(gt_path, hyp_path):
    gt = mm.io.loadtxt(gt_path, fmt='mot15-2D', min_confidence=1)
    hyp = mm.io.loadtxt(hyp_path, fmt='mot15-2D')
    acc = mm.utils.compare_to_groundtruth(gt, hyp, 'iou', distth=0.5)
    s = mm.metrics.create().compute(acc, metrics=METRICS, name='x')
    return {m: s[m].iloc[0] for m in METRICS}


def synthetic(out_dir, seed, frames, objects):
    """Ground truth of objects moving at constant velocity, and a hypothesis made from it with
    jitter, misses, false positives, id swaps, fragments and re-numbered ids."""
    rng = np.random.default_rng(seed)
    gt, hyp = [], []
    pos = rng.uniform(0, 400, (objects, 2)); vel = rng.uniform(-4, 4, (objects, 2)); size = rng.uniform(20, 80, (objects, 2))
    born = rng.integers(1, frames // 2, objects); dies = born + rng.integers(frames // 4, frames, objects)
    hid = np.arange(objects) + 100
    for f in range(1, frames + 1):
        if rng.random() < 0.05 and objects > 1:  # an identity swap from here on
            a, b = rng.choice(objects, 2, replace=False); hid[[a, b]] = hid[[b, a]]
        if rng.random() < 0.03:  # a track restarts under a new id
            hid[rng.integers(objects)] = 1000 + f
        for o in range(objects):
            if not born[o] <= f <= dies[o]:
                continue
            x, y = pos[o] + vel[o] * f; w, h = size[o]
            gt.append((f, o + 1, round(x, 2), round(y, 2), round(w, 2), round(h, 2), 1))
            if rng.random() < 0.1:
                continue  # missed
            j = rng.normal(0, 0.08, 4) * np.array([w, h, w, h])
            hyp.append((f, hid[o], round(x + j[0], 3), round(y + j[1], 3), round(w + j[2], 3), round(h + j[3], 3), 1))
        for k in range(rng.poisson(0.5)):  # false positives, ids that recur across frames
            hyp.append((f, 5000 + k, *np.round(rng.uniform(0, 400, 2), 3), 40.0, 60.0, 1))
    name = f'synthetic_{seed}'
    for rows, kind in ((gt, 'gt'), (hyp, 'hyp')):
        with open(f'{out_dir}/{name}.{kind}.txt', 'w') as f:
            for r in rows:
                f.write('%d,%d,%s,%s,%s,%s,%d,-1,-1,-1\n' % tuple(r))
    return name


if __name__ == '__main__':
    if sys.argv[1] == '--synthetic':
        for seed, frames, objects in ((1, 30, 3), (2, 60, 6), (3, 100, 12), (4, 8, 1)):
            print(synthetic(sys.argv[2], seed, frames, objects))
        sys.exit(0)
    with open(sys.argv[1], 'w') as out:
        out.write('# py-motmetrics %s, numpy %s: %s\n' % (mm.__version__, np.__version__, ' '.join(sys.argv[1:])))
        for case in sys.argv[2:]:
            name, paths = case.split('=')
            gt, hyp = paths.split(',')
            values = score(gt, hyp)
            out.write('%s gt=%s hyp=%s ' % (name, gt, hyp) + ' '.join('%s=%r' % (k, float(v)) for k, v in values.items()) + '\n')
