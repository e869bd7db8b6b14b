"""Model calibration: map raw scores to calibrated probabilities.

Fits isotonic regression (pool adjacent violators) or Platt scaling (a logistic
fit by Newton's method) on the evaluation predictions, then writes the
calibration model, before/after metrics (Brier score, expected calibration
error) and the predictions with a `calibrated_<score field>` column.
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

DEFAULT_METHOD = "isotonic"
DEFAULT_SCORE_FIELD = "prob_class_1"
METHODS = ("isotonic", "platt")
ECE_BINS = 10
PLATT_ITERATIONS = 50


def find_predictions(folder: Path) -> Path:
    if not folder.is_dir():
        raise FileNotFoundError(f"evaluation_data folder does not exist: {folder}")
    files = sorted(p for p in folder.rglob("*.csv") if not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no predictions CSV in {folder}")
    preferred = [p for p in files if p.name == "eval_predictions.csv"]
    return (preferred or files)[0]


def read_scores(path: Path, label_field: str, score_field: str) -> tuple[list, list, list]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        for name, env in ((label_field, "LABEL_FIELD"), (score_field, "SCORE_FIELD")):
            if name not in columns:
                raise ValueError(f"{env} column {name!r} not in {path.name}; columns: {columns}")
        rows = list(reader)
    if len(rows) < 2:
        raise ValueError(f"{path.name} has {len(rows)} rows; calibration needs at least 2")
    labels = [int(float(row[label_field])) for row in rows]
    scores = [float(row[score_field]) for row in rows]
    if set(labels) - {0, 1}:
        raise ValueError(f"binary calibration needs 0/1 labels, found {sorted(set(labels))}")
    return rows, labels, scores


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, value))))


def fit_isotonic(scores: list[float], labels: list[int]) -> dict:
    """Pool adjacent violators over the sorted scores.

    Each block is [lowest score, highest score, mean label, weight]; both ends of a
    block become thresholds, so the fit is flat inside a block and linear between
    blocks, and the mapped values never decrease.
    """
    tied: dict[float, list[float]] = {}
    for score, label in zip(scores, labels, strict=True):
        entry = tied.setdefault(score, [0.0, 0.0])
        entry[0], entry[1] = entry[0] + label, entry[1] + 1
    blocks: list[list[float]] = []
    for score, (hits, count) in sorted(tied.items()):
        blocks.append([score, score, hits / count, count])
        while len(blocks) > 1 and blocks[-2][2] >= blocks[-1][2]:
            right = blocks.pop()
            left = blocks[-1]
            weight = left[3] + right[3]
            left[1] = right[1]
            left[2] = (left[2] * left[3] + right[2] * right[3]) / weight
            left[3] = weight
    xs: list[float] = []
    ys: list[float] = []
    for low, high, value, _ in blocks:
        for x in (low, high) if high > low else (low,):
            xs.append(x)
            ys.append(value)
    return {"method": "isotonic", "x_thresholds": xs, "y_values": ys}


def fit_platt(scores: list[float], labels: list[int]) -> dict:
    """Fit p = 1 / (1 + exp(-(a * score + b))) by Newton's method on the log loss."""
    a, b = 1.0, 0.0
    for _ in range(PLATT_ITERATIONS):
        g_a = g_b = h_aa = h_ab = h_bb = 0.0
        for score, label in zip(scores, labels, strict=True):
            p = sigmoid(a * score + b)
            weight = max(p * (1 - p), 1e-9)
            g_a, g_b = g_a + (p - label) * score, g_b + (p - label)
            h_aa, h_ab, h_bb = h_aa + weight * score * score, h_ab + weight * score, h_bb + weight
        det = h_aa * h_bb - h_ab * h_ab
        if abs(det) < 1e-12:
            break
        step_a = (h_bb * g_a - h_ab * g_b) / det
        step_b = (h_aa * g_b - h_ab * g_a) / det
        a, b = a - step_a, b - step_b
        if abs(step_a) + abs(step_b) < 1e-10:
            break
    return {"method": "platt", "a": a, "b": b}


def apply_calibration(model: dict, score: float) -> float:
    if model["method"] == "platt":
        return sigmoid(model["a"] * score + model["b"])
    xs, ys = model["x_thresholds"], model["y_values"]
    if score <= xs[0]:
        return ys[0]
    if score >= xs[-1]:
        return ys[-1]
    for index in range(1, len(xs)):
        if score <= xs[index]:
            span = xs[index] - xs[index - 1]
            share = (score - xs[index - 1]) / span if span else 1.0
            return ys[index - 1] + share * (ys[index] - ys[index - 1])
    return ys[-1]


def calibration_metrics(labels: list[int], probs: list[float]) -> dict:
    """Brier score and expected calibration error over equal-width bins."""
    bins: list[list[float]] = [[0.0, 0.0, 0.0] for _ in range(ECE_BINS)]
    for label, prob in zip(labels, probs, strict=True):
        entry = bins[min(int(prob * ECE_BINS), ECE_BINS - 1)]
        entry[0], entry[1], entry[2] = entry[0] + prob, entry[1] + label, entry[2] + 1
    ece = sum(abs(total_p - total_y) for total_p, total_y, _ in bins) / len(labels)
    brier = sum((p - y) ** 2 for y, p in zip(labels, probs, strict=True)) / len(labels)
    return {"brier_score": brier, "expected_calibration_error": ece}


def main(
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    environ_vars: dict[str, str],
    job_args: argparse.Namespace,
) -> dict:
    """Fit the calibration on evaluation_data; return the before/after metrics."""
    method = environ_vars.get("CALIBRATION_METHOD", DEFAULT_METHOD).strip().lower()
    label_field = environ_vars["LABEL_FIELD"]
    score_field = environ_vars.get("SCORE_FIELD", DEFAULT_SCORE_FIELD)
    is_binary = environ_vars.get("IS_BINARY", "true").strip().lower()
    if method not in METHODS:
        raise ValueError(f"CALIBRATION_METHOD must be one of {METHODS}, got {method!r}")
    if is_binary not in {"true", "1", "yes"}:
        raise ValueError(f"only binary calibration is supported, IS_BINARY={is_binary!r}")
    logger.info("job_type=%s method=%s", job_args.job_type, method)

    source = find_predictions(Path(input_paths["evaluation_data"]))
    rows, labels, scores = read_scores(source, label_field, score_field)
    model = fit_isotonic(scores, labels) if method == "isotonic" else fit_platt(scores, labels)
    model.update({"score_field": score_field, "label_field": label_field, "rows": len(rows)})
    calibrated = [apply_calibration(model, score) for score in scores]
    metrics = {
        "method": method,
        "uncalibrated": calibration_metrics(labels, scores),
        "calibrated": calibration_metrics(labels, calibrated),
    }
    logger.info("calibration metrics: %s", metrics)

    for name in ("calibration_output", "metrics_output", "calibrated_data"):
        os.makedirs(output_paths[name], exist_ok=True)
    model_path = Path(output_paths["calibration_output"]) / "calibration_model.json"
    model_path.write_text(json.dumps(model, indent=2), encoding="utf-8")
    metrics_path = Path(output_paths["metrics_output"]) / "calibration_metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    data_path = Path(output_paths["calibrated_data"]) / "calibrated_predictions.csv"
    with data_path.open("w", newline="", encoding="utf-8") as handle:
        columns = [*rows[0], f"calibrated_{score_field}"]
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row, value in zip(rows, calibrated, strict=True):
            writer.writerow({**row, f"calibrated_{score_field}": f"{value:.6f}"})
    return metrics


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(description="Model calibration")
    parser.add_argument("--job_type", default="calibration")
    args = parser.parse_args()
    main(
        input_paths={"evaluation_data": "/opt/ml/processing/input/eval_data"},
        output_paths={
            "calibration_output": "/opt/ml/processing/output/calibration",
            "metrics_output": "/opt/ml/processing/output/metrics",
            "calibrated_data": "/opt/ml/processing/output/calibrated_data",
        },
        environ_vars={
            "CALIBRATION_METHOD": os.environ.get("CALIBRATION_METHOD", DEFAULT_METHOD),
            "LABEL_FIELD": os.environ["LABEL_FIELD"],
            "SCORE_FIELD": os.environ.get("SCORE_FIELD", DEFAULT_SCORE_FIELD),
            "IS_BINARY": os.environ.get("IS_BINARY", "true"),
        },
        job_args=args,
    )
