"""Model evaluation: score a held-out dataset with the trained model.

Loads model.json from the training step, scores `processed_data/<job_type>/`,
and writes the predictions (id, label, prob_class_0, prob_class_1) and the
metrics (ROC AUC, average precision, accuracy, F1, log loss, Brier score).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import os
from pathlib import Path

logger = logging.getLogger(__name__)

MODEL_FILE = "model.json"
PREDICTIONS_FILE = "eval_predictions.csv"
METRICS_FILE = "metrics.json"
THRESHOLD = 0.5


def load_model(model_dir: Path) -> dict:
    path = model_dir / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{MODEL_FILE} not found in model_input {model_dir}")
    model = json.loads(path.read_text(encoding="utf-8"))
    if model.get("model_type") != "gradient_boosted_trees" or not model.get("trees"):
        raise ValueError(f"{path} is not a trained gradient-boosted-trees model")
    return model


def find_eval_file(data_dir: Path, job_type: str) -> Path:
    """The CSV under processed_data/<job_type>/, or directly under processed_data/."""
    for folder in (data_dir / job_type, data_dir):
        if folder.is_dir():
            files = sorted(p for p in folder.glob("*.csv") if not p.name.startswith("."))
            if files:
                return files[0]
    raise FileNotFoundError(f"no CSV file in {data_dir / job_type} or {data_dir}")


def read_rows(path: Path, required: list[str]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in required if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name} lacks required columns {missing}")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path} has a header but no rows")
    return rows


def encode_row(model: dict, row: dict[str, str]) -> list[float]:
    vector = []
    for name in model["tab_field_list"]:
        text = row[name].strip().lower()
        missing = text in {"", "nan", "null"}
        vector.append(model["impute_values"][name] if missing else float(text))
    for name in model["cat_field_list"]:
        table = model["risk_tables"][name]
        vector.append(table["values"].get(row[name], table["default"]))
    return vector


def predict_proba(model: dict, vector: list[float]) -> float:
    margin = model["base_score"]
    for tree in model["trees"]:
        node = tree
        while "leaf" not in node:
            node = node["left"] if vector[node["feature"]] < node["threshold"] else node["right"]
        margin += node["leaf"]
    return 1.0 / (1.0 + math.exp(-margin))


def roc_auc(labels: list[int], scores: list[float]) -> float | None:
    """Mann-Whitney form of the ROC AUC; tied scores share their average rank."""
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
        rank_sum += ((start + end) / 2 + 1) * sum(label for _, label in pairs[start : end + 1])
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def average_precision(labels: list[int], scores: list[float]) -> float | None:
    positives = sum(labels)
    if not positives:
        return None
    hits, total = 0, 0.0
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: -pair[0])
    for rank, (_, label) in enumerate(ranked, start=1):
        if label:
            hits += 1
            total += hits / rank
    return total / positives


def compute_metrics(labels: list[int], probs: list[float]) -> dict:
    predicted = [int(p >= THRESHOLD) for p in probs]
    tp = sum(1 for y, p in zip(labels, predicted, strict=True) if y == 1 and p == 1)
    fp = sum(1 for y, p in zip(labels, predicted, strict=True) if y == 0 and p == 1)
    fn = sum(1 for y, p in zip(labels, predicted, strict=True) if y == 1 and p == 0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    eps = 1e-12
    return {
        "auc_roc": roc_auc(labels, probs),
        "average_precision": average_precision(labels, probs),
        "accuracy": sum(y == p for y, p in zip(labels, predicted, strict=True)) / len(labels),
        "precision": precision,
        "recall": recall,
        "f1_score": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "log_loss": -sum(
            math.log(max(p, eps)) if y else math.log(max(1 - p, eps))
            for y, p in zip(labels, probs, strict=True)
        )
        / len(labels),
        "brier_score": sum((p - y) ** 2 for y, p in zip(labels, probs, strict=True)) / len(labels),
        "threshold": THRESHOLD,
        "count": len(labels),
        "positives": sum(labels),
    }


def main(
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    environ_vars: dict[str, str],
    job_args: argparse.Namespace,
) -> dict:
    """Score the job_type dataset with the model; return the metrics."""
    id_field = environ_vars["ID_FIELD"]
    label_field = environ_vars["LABEL_FIELD"]
    job_type = job_args.job_type
    model = load_model(Path(input_paths["model_input"]))
    data_file = find_eval_file(Path(input_paths["processed_data"]), job_type)
    features = model["tab_field_list"] + model["cat_field_list"]
    rows = read_rows(data_file, [id_field, label_field, *features])
    logger.info("scoring %d rows of %s with %d trees", len(rows), data_file, len(model["trees"]))

    labels = [int(float(row[label_field])) for row in rows]
    probs = [predict_proba(model, encode_row(model, row)) for row in rows]
    metrics = compute_metrics(labels, probs)
    metrics["job_type"] = job_type

    eval_dir = Path(output_paths["eval_output"])
    metrics_dir = Path(output_paths["metrics_output"])
    os.makedirs(eval_dir, exist_ok=True)
    os.makedirs(metrics_dir, exist_ok=True)
    with (eval_dir / PREDICTIONS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([id_field, label_field, "prob_class_0", "prob_class_1"])
        for row, label, prob in zip(rows, labels, probs, strict=True):
            writer.writerow([row[id_field], label, f"{1 - prob:.6f}", f"{prob:.6f}"])
    (metrics_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    summary = "\n".join(f"{key}: {value}" for key, value in metrics.items())
    (metrics_dir / "metrics_summary.txt").write_text(summary + "\n", encoding="utf-8")
    logger.info("AUC=%s accuracy=%.4f", metrics["auc_roc"], metrics["accuracy"])
    return metrics


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(description="XGBoost model evaluation")
    parser.add_argument("--job_type", required=True, help="which processed_data folder to score")
    args = parser.parse_args()
    main(
        input_paths={
            "model_input": "/opt/ml/processing/input/model",
            "processed_data": "/opt/ml/processing/input/eval_data",
        },
        output_paths={
            "eval_output": "/opt/ml/processing/output/eval",
            "metrics_output": "/opt/ml/processing/output/metrics",
        },
        environ_vars={"ID_FIELD": os.environ["ID_FIELD"], "LABEL_FIELD": os.environ["LABEL_FIELD"]},
        job_args=args,
    )
