#!/usr/bin/env python3
"""Reference verification error rates from scikit-learn, for eval/sklearn_oracle_test.cc.

Usage: sklearn_oracle.py SCORES QUERY OUTPUT

SCORES  text file, one "label score" line per comparison; label 1 is genuine
        (mated), 0 is impostor. Scores are similarities (higher = more similar).
QUERY   JSON {"thresholds": [...], "target_fmrs": [...]}.
OUTPUT  JSON written here:
        curve          every distinct score in ascending order with FMR and
                       FNMR, from sklearn.metrics.roc_curve
                       (FMR = fpr, FNMR = 1 - tpr)
        det_curve      the same from sklearn.metrics.det_curve, which trims
                       the flat ends of the curve
        at_thresholds  FMR and FNMR at each query threshold
        eer            the EER of docs/evaluation.md, computed from the
                       scikit-learn curve
        fnmr_at_fmr    FNMR at the smallest threshold with FMR <= target

scikit-learn's curves count a score equal to the threshold as a positive
decision, which is our tie rule. Exits with status 77 when numpy or
scikit-learn is missing, so the caller can skip rather than fail.
"""

import json
import math
import sys

try:
    import numpy as np
    from sklearn.metrics import det_curve, roc_curve
except ImportError:
    sys.exit(77)


def load_scores(path):
    labels, scores = [], []
    with open(path) as f:
        for line in f:
            if line.strip():
                label, score = line.split()
                labels.append(int(label))
                scores.append(float(score))
    return np.array(labels), np.array(scores)


def rates_curve(labels, scores):
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    # roc_curve prepends a threshold above every score; drop it and turn the
    # curve into ascending threshold order.
    return thresholds[1:][::-1], fpr[1:][::-1], (1.0 - tpr[1:])[::-1]


def rates_at(thresholds, fmr, fnmr, t):
    # Rates are constant between distinct scores and equal those of the
    # next higher score.
    idx = int(np.searchsorted(thresholds, t, side="left"))
    if idx == len(thresholds):
        return 0.0, 1.0
    return float(fmr[idx]), float(fnmr[idx])


def finite_or_none(value):
    # JSON has no infinity; null stands for the curve's end points.
    return float(value) if math.isfinite(value) else None


def equal_error_rate(thresholds, fmr, fnmr):
    # Straight lines between curve points, with end points (-inf: 1, 0) and
    # (+inf: 0, 1); the EER is where FNMR - FMR changes sign.
    t = np.concatenate(([-math.inf], thresholds, [math.inf]))
    x = np.concatenate(([1.0], fmr, [0.0]))
    y = np.concatenate(([0.0], fnmr, [1.0]))
    gap = y - x
    high = int(np.argmax(gap >= 0.0))
    if gap[high] == 0.0:
        return {"eer": float(x[high]), "threshold": finite_or_none(t[high])}
    low = high - 1
    fraction = -gap[low] / (gap[high] - gap[low])
    eer = x[low] + fraction * (x[high] - x[low])
    prefer_low = math.isfinite(t[low]) and (
        not math.isfinite(t[high]) or abs(gap[low]) < abs(gap[high]))
    return {"eer": float(eer), "threshold": finite_or_none(t[low] if prefer_low else t[high])}


def main(scores_path, query_path, output_path):
    labels, scores = load_scores(scores_path)
    with open(query_path) as f:
        query = json.load(f)
    thresholds, fmr, fnmr = rates_curve(labels, scores)
    det_fmr, det_fnmr, det_thresholds = det_curve(labels, scores)

    at_thresholds = [rates_at(thresholds, fmr, fnmr, t) for t in query["thresholds"]]
    fnmr_at_fmr = []
    for target in query["target_fmrs"]:
        meets = np.nonzero(fmr <= target)[0]
        if len(meets) == 0:
            fnmr_at_fmr.append({"threshold": None, "fmr": 0.0, "fnmr": 1.0})
        else:
            idx = int(meets[0])
            fnmr_at_fmr.append({"threshold": float(thresholds[idx]), "fmr": float(fmr[idx]),
                                "fnmr": float(fnmr[idx])})

    result = {
        "curve": {"threshold": thresholds.tolist(), "fmr": fmr.tolist(), "fnmr": fnmr.tolist()},
        "det_curve": {"threshold": det_thresholds.tolist(), "fmr": det_fmr.tolist(),
                      "fnmr": det_fnmr.tolist()},
        "at_thresholds": {"fmr": [r[0] for r in at_thresholds],
                          "fnmr": [r[1] for r in at_thresholds]},
        "eer": equal_error_rate(thresholds, fmr, fnmr),
        "fnmr_at_fmr": fnmr_at_fmr,
    }
    with open(output_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
