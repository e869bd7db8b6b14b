"""XGBoost-style training: gradient-boosted trees for a binary label, in pure Python.

Reads train/val/test from the preprocessed data, encodes categorical fields with
smoothed risk tables, grows `num_round` depth-limited trees with the second-order
split gain XGBoost uses, and writes the model (model.json, hyperparameters.json,
feature_columns.txt) plus val/test predictions and metrics.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
RISK_SMOOTHING = 10.0
MISSING = {"", "nan", "null"}
DEFAULT_HYPERPARAMETERS: dict[str, Any] = {
    "num_round": 20,
    "max_depth": 3,
    "eta": 0.3,
    "lambda": 1.0,
    "min_child_weight": 1.0,
    "is_binary": True,
}


def load_hyperparameters(input_paths: dict[str, str], job_args: argparse.Namespace) -> dict:
    """Defaults, overlaid by job_args.hyperparameters, overlaid by the hyperparameters file."""
    params = dict(DEFAULT_HYPERPARAMETERS)
    from_args = getattr(job_args, "hyperparameters", None)
    if isinstance(from_args, str):
        from_args = json.loads(from_args)
    if from_args:
        params.update(from_args)
    source = input_paths.get("hyperparameters_s3_uri")
    if source:
        path = Path(source)
        path = path / "hyperparameters.json" if path.is_dir() else path
        if path.is_file():
            params.update(json.loads(path.read_text(encoding="utf-8")))
            logger.info("hyperparameters read from %s", path)
        else:
            logger.warning("no hyperparameters.json at %s; using job args/defaults", path)
    return {key: value for key, value in params.items() if not key.startswith("__")}


def read_split(input_dir: Path, split: str) -> list[dict[str, str]]:
    split_dir = input_dir / split
    files = sorted(path for path in split_dir.glob("*.csv") if not path.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no CSV file for split {split!r} in {split_dir}")
    with files[0].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"split {split!r} ({files[0]}) has no rows")
    return rows


def to_float(value: str) -> float | None:
    text = value.strip().lower()
    return None if text in MISSING else float(text)


def is_number(value: str) -> bool:
    try:
        to_float(value)
    except ValueError:
        return False
    return True


def choose_fields(rows: list[dict[str, str]], params: dict, skip: set[str]) -> tuple[list, list]:
    """Numeric and categorical feature fields: from the hyperparameters, else inferred."""
    columns = list(rows[0])
    tab, cat = params.get("tab_field_list"), params.get("cat_field_list")
    if tab is None and cat is None:
        candidates = [name for name in columns if name not in skip]
        tab = [name for name in candidates if all(is_number(row[name]) for row in rows)]
        cat = [name for name in candidates if name not in tab]
        logger.info("inferred numeric fields %s and categorical fields %s", tab, cat)
    tab, cat = list(tab or []), list(cat or [])
    missing = [name for name in tab + cat if name not in columns]
    if missing:
        raise ValueError(f"feature fields {missing} are not columns of the training data")
    if not tab + cat:
        raise ValueError("no feature fields: set tab_field_list/cat_field_list")
    return tab, cat


def fit_encoding(rows: list[dict[str, str]], labels: list[int], tab: list, cat: list) -> dict:
    """Means to impute numeric gaps and smoothed abuse rates per category."""
    impute = {}
    for name in tab:
        values = [v for v in (to_float(row[name]) for row in rows) if v is not None]
        impute[name] = sum(values) / len(values) if values else 0.0
    prior = sum(labels) / len(labels)
    risk_tables = {}
    for name in cat:
        totals: dict[str, list[float]] = {}
        for row, label in zip(rows, labels, strict=True):
            total = totals.setdefault(row[name], [0.0, 0.0])
            total[0] += label
            total[1] += 1
        risk_tables[name] = {
            "default": prior,
            "values": {
                key: (hits + prior * RISK_SMOOTHING) / (count + RISK_SMOOTHING)
                for key, (hits, count) in sorted(totals.items())
            },
        }
    return {"impute_values": impute, "risk_tables": risk_tables}


def encode(rows: list[dict[str, str]], tab: list, cat: list, encoding: dict) -> list[list[float]]:
    matrix = []
    for row in rows:
        vector = []
        for name in tab:
            value = to_float(row[name])
            vector.append(encoding["impute_values"][name] if value is None else value)
        for name in cat:
            table = encoding["risk_tables"][name]
            vector.append(table["values"].get(row[name], table["default"]))
        matrix.append(vector)
    return matrix


def build_tree(x, grad, hess, indices, depth, params) -> dict:
    """Grow one tree greedily with the gain G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)."""
    lam, min_weight = float(params["lambda"]), float(params["min_child_weight"])
    g_sum = sum(grad[i] for i in indices)
    h_sum = sum(hess[i] for i in indices)
    leaf = {"leaf": -float(params["eta"]) * g_sum / (h_sum + lam)}
    if depth >= int(params["max_depth"]) or h_sum < 2 * min_weight:
        return leaf
    parent, best = g_sum * g_sum / (h_sum + lam), (1e-9, -1, 0.0)
    for feature in range(len(x[0])):
        order = sorted(indices, key=lambda i: x[i][feature])
        g_left = h_left = 0.0
        for here, after in itertools.pairwise(order):
            g_left, h_left = g_left + grad[here], h_left + hess[here]
            h_right = h_sum - h_left
            if x[here][feature] == x[after][feature] or min(h_left, h_right) < min_weight:
                continue
            gain = g_left**2 / (h_left + lam) + (g_sum - g_left) ** 2 / (h_right + lam) - parent
            if gain > best[0]:
                best = (gain, feature, (x[here][feature] + x[after][feature]) / 2)
    gain, feature, threshold = best
    if feature < 0:
        return leaf
    left = [i for i in indices if x[i][feature] < threshold]
    right = [i for i in indices if x[i][feature] >= threshold]
    return {
        "feature": feature,
        "threshold": threshold,
        "gain": gain,
        "left": build_tree(x, grad, hess, left, depth + 1, params),
        "right": build_tree(x, grad, hess, right, depth + 1, params),
    }


def tree_value(tree: dict, vector: list[float]) -> float:
    while "leaf" not in tree:
        tree = tree["left"] if vector[tree["feature"]] < tree["threshold"] else tree["right"]
    return tree["leaf"]


def predict(model: dict, matrix: list[list[float]]) -> list[float]:
    margins = [model["base_score"] + sum(tree_value(t, v) for t in model["trees"]) for v in matrix]
    return [1.0 / (1.0 + math.exp(-m)) for m in margins]


def roc_auc(labels: list[int], scores: list[float]) -> float | None:
    """Area under the ROC curve from average ranks (ties share their rank)."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    rank_sum, start = 0.0, 0
    while start < len(pairs):
        end = start
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[start][0]:
            end += 1
        average_rank = (start + end) / 2 + 1
        rank_sum += average_rank * sum(label for _, label in pairs[start : end + 1])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def split_metrics(labels: list[int], probs: list[float]) -> dict:
    pairs = list(zip(labels, probs, strict=True))
    log_loss = -sum(math.log(max(p if y else 1 - p, 1e-12)) for y, p in pairs) / len(pairs)
    accuracy = sum((p >= 0.5) == (y == 1) for y, p in pairs) / len(pairs)
    auc = roc_auc(labels, probs)
    return {"auc": auc, "log_loss": log_loss, "accuracy": accuracy, "count": len(pairs)}


def main(
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    environ_vars: dict[str, str],
    job_args: argparse.Namespace,
) -> dict:
    """Train on input_path/train, report on val and test; return the metrics."""
    params = load_hyperparameters(input_paths, job_args)
    label_field = environ_vars["LABEL_FIELD"]
    id_field = environ_vars["ID_FIELD"]
    if params.get("label_name", label_field) != label_field:
        logger.warning("LABEL_FIELD=%s overrides label_name=%s", label_field, params["label_name"])
    if str(params.get("is_binary", True)).lower() not in {"true", "1"}:
        raise ValueError("this sample trains binary models only: set is_binary to true")
    input_dir = Path(input_paths["input_path"])
    data = {split: read_split(input_dir, split) for split in SPLITS}
    if label_field not in data["train"][0]:
        raise ValueError(f"label column {label_field!r} not in training data")
    labels = {split: [int(float(row[label_field])) for row in rows] for split, rows in data.items()}
    if set(labels["train"]) != {0, 1}:
        raise ValueError(f"training labels must be 0 and 1, found {sorted(set(labels['train']))}")

    tab, cat = choose_fields(data["train"], params, {label_field, id_field})
    encoding = fit_encoding(data["train"], labels["train"], tab, cat)
    x_train = encode(data["train"], tab, cat, encoding)
    y_train = labels["train"]
    prior = sum(y_train) / len(y_train)
    model = {"model_type": "gradient_boosted_trees", "base_score": math.log(prior / (1 - prior))}
    model.update(tab_field_list=tab, cat_field_list=cat, **encoding, trees=[])
    tree_list = model["trees"]
    for _ in range(int(params["num_round"])):
        probs = predict(model, x_train)
        grad = [p - y for p, y in zip(probs, y_train, strict=True)]
        hess = [max(p * (1 - p), 1e-6) for p in probs]
        tree_list.append(build_tree(x_train, grad, hess, list(range(len(y_train))), 0, params))
    train_auc = roc_auc(y_train, predict(model, x_train))
    logger.info(
        "trained %d trees on %d rows, train AUC %s", len(tree_list), len(y_train), train_auc
    )

    model_dir = Path(output_paths["model_output"])
    eval_dir = Path(output_paths["evaluation_output"])
    os.makedirs(model_dir, exist_ok=True)
    os.makedirs(eval_dir, exist_ok=True)
    effective = params | {"label_name": label_field, "id_name": id_field}
    effective.update(tab_field_list=tab, cat_field_list=cat)
    (model_dir / "model.json").write_text(json.dumps(model, indent=1), encoding="utf-8")
    (model_dir / "hyperparameters.json").write_text(json.dumps(effective, indent=2), "utf-8")
    (model_dir / "feature_columns.txt").write_text(
        "".join(f"{index},{name}\n" for index, name in enumerate(tab + cat)), encoding="utf-8"
    )

    metrics = {}
    for split in ("val", "test"):
        probs = predict(model, encode(data[split], tab, cat, encoding))
        metrics[split] = split_metrics(labels[split], probs)
        scored = zip(data[split], labels[split], probs, strict=True)
        with (eval_dir / f"{split}_predictions.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([id_field, label_field, "prob_class_0", "prob_class_1"])
            for n, (row, y, p) in enumerate(scored):
                writer.writerow([row.get(id_field, n), y, f"{1 - p:.6f}", f"{p:.6f}"])
        logger.info("%s metrics: %s", split, metrics[split])
    (eval_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    container_args = argparse.Namespace(hyperparameters=None)
    main(
        input_paths={
            "input_path": "/opt/ml/input/data",
            "hyperparameters_s3_uri": "/opt/ml/input/data/config/hyperparameters.json",
        },
        output_paths={"model_output": "/opt/ml/model", "evaluation_output": "/opt/ml/output/data"},
        environ_vars={"LABEL_FIELD": os.environ["LABEL_FIELD"], "ID_FIELD": os.environ["ID_FIELD"]},
        job_args=container_args,
    )
