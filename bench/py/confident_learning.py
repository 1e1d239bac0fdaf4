"""Confident-learning baseline for bench:mislabel (cleanlab + scikit-learn from PyPI).

Reads one data set written by bench/confidentLearning.ts into a directory:
  meta.json    {"rows", "dims", "classes", "folds", "mlp_hidden", "mlp_epochs", "seed"}
  x.f32        rows x dims float32, row-major, little-endian (the features tda's model sees)
  labels.i32   the given (noisy) labels, int32
  folds.i32    each row's fold in [0, folds): the same split for every method
For each classifier it computes k-fold out-of-fold predicted probabilities (fit on the other
folds, predict the held-out one) and cleanlab's label-quality score by self-confidence (the
probability of the given label), then writes <method>.f64 with 1 - quality (higher = more
suspicious, tda's convention) and results.json {method: {"seconds": s, "heldout_accuracy": a}}.
The flipped flags never reach this script: tda scores every ranking with one function.
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from cleanlab.rank import get_label_quality_scores
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier


def classifiers(meta):
    seed = meta["seed"]
    return {
        # scikit-learn's defaults: the gradient-boosted trees people reach for on tabular data.
        "hgb": lambda: HistGradientBoostingClassifier(random_state=seed),
        # An MLP with tda's hidden layers, trained for as many epochs as tda trains.
        "mlp": lambda: MLPClassifier(
            hidden_layer_sizes=tuple(meta["mlp_hidden"]),
            max_iter=meta["mlp_epochs"],
            batch_size=min(128, meta["rows"]),
            random_state=seed,
        ),
    }


def out_of_fold(make, x, y, folds, k, classes):
    probs = np.zeros((len(y), classes))
    for f in range(k):
        held = folds == f
        clf = make().fit(x[~held], y[~held])
        # Columns of predict_proba follow clf.classes_: a class absent from a fold's training
        # part gets probability 0 on its held-out rows.
        probs[np.ix_(held, clf.classes_)] = clf.predict_proba(x[held])
    return probs


def main(directory):
    d = Path(directory)
    meta = json.loads((d / "meta.json").read_text())
    n, dims, k = meta["rows"], meta["dims"], meta["folds"]
    x = np.fromfile(d / "x.f32", dtype="<f4").reshape(n, dims)
    y = np.fromfile(d / "labels.i32", dtype="<i4")
    folds = np.fromfile(d / "folds.i32", dtype="<i4")
    results = {}
    only = meta.get("methods")
    for name, make in classifiers(meta).items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            probs = out_of_fold(make, x, y, folds, k, meta["classes"])
        quality = get_label_quality_scores(y, probs, method="self_confidence")
        seconds = time.perf_counter() - t0
        (1.0 - quality).astype("<f8").tofile(d / f"{name}.f64")
        acc = float(np.mean(probs.argmax(axis=1) == y))
        results[name] = {"seconds": seconds, "heldout_accuracy": acc}
        print(f"  cleanlab {name}: {seconds:.1f} s, out-of-fold accuracy {acc:.4f}", flush=True)
    (d / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
