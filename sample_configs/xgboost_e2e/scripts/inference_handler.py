"""Model-server handler for the packaged order-abuse model.

This file is the Registration step's inference entry point. It is loaded by a
model server, which calls the four hooks below; it is not a pipeline script and
has no `main`, so a pipeline test run skips it.

    model_fn(model_dir)                    -> the model (trees + optional calibration)
    input_fn(request_body, content_type)   -> a list of records
    predict_fn(records, model)             -> a list of scores
    output_fn(scores, accept)              -> the response body
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
MISSING = {"", "nan", "null", "none"}


def model_fn(model_dir: str) -> dict[str, Any]:
    """Load model.json and, when packaged, calibration/calibration_model.json."""
    root = Path(model_dir)
    model = json.loads((root / "model.json").read_text(encoding="utf-8"))
    calibration_file = root / "calibration" / "calibration_model.json"
    model["calibration"] = (
        json.loads(calibration_file.read_text(encoding="utf-8"))
        if calibration_file.is_file()
        else None
    )
    logger.info("loaded %d trees, calibration=%s", len(model["trees"]), bool(model["calibration"]))
    return model


def input_fn(request_body: str | bytes, request_content_type: str) -> list[dict[str, Any]]:
    """Parse a CSV body (fields in model order, no header) or a JSON object/list."""
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    if request_content_type == JSON:
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    if request_content_type == CSV:
        return [{"__values__": row} for row in csv.reader(io.StringIO(text)) if row]
    raise ValueError(f"unsupported content type {request_content_type!r}; use {JSON} or {CSV}")


def _features(model: dict[str, Any], record: dict[str, Any]) -> list[float]:
    names = model["tab_field_list"] + model["cat_field_list"]
    if "__values__" in record:
        if len(record["__values__"]) != len(names):
            raise ValueError(
                f"CSV row has {len(record['__values__'])} values, expected {len(names)}"
            )
        record = dict(zip(names, record["__values__"], strict=True))
    vector = []
    for name in model["tab_field_list"]:
        value = record.get(name)
        missing = value is None or str(value).strip().lower() in MISSING
        vector.append(model["impute_values"][name] if missing else float(value))
    for name in model["cat_field_list"]:
        table = model["risk_tables"][name]
        vector.append(table["values"].get(str(record.get(name, "")), table["default"]))
    return vector


def _raw_score(model: dict[str, Any], vector: list[float]) -> float:
    margin = model["base_score"]
    for tree in model["trees"]:
        node = tree
        while "leaf" not in node:
            node = node["left"] if vector[node["feature"]] < node["threshold"] else node["right"]
        margin += node["leaf"]
    return 1.0 / (1.0 + math.exp(-margin))


def _calibrate(calibration: dict[str, Any] | None, score: float) -> float:
    if calibration is None:
        return score
    if calibration["method"] == "platt":
        return 1.0 / (1.0 + math.exp(-(calibration["a"] * score + calibration["b"])))
    xs, ys = calibration["x_thresholds"], calibration["y_values"]
    if score <= xs[0]:
        return float(ys[0])
    for index in range(1, len(xs)):
        if score <= xs[index]:
            span = xs[index] - xs[index - 1]
            share = (score - xs[index - 1]) / span if span else 1.0
            return float(ys[index - 1] + share * (ys[index] - ys[index - 1]))
    return float(ys[-1])


def predict_fn(input_data: list[dict[str, Any]], model: dict[str, Any]) -> list[dict[str, float]]:
    """Score each record: the raw model score and the calibrated one."""
    results = []
    for record in input_data:
        raw = _raw_score(model, _features(model, record))
        results.append(
            {"legacy-score": raw, "calibrated-score": _calibrate(model["calibration"], raw)}
        )
    return results


def output_fn(prediction: list[dict[str, float]], accept: str = JSON) -> str:
    """Render the scores as JSON ({"predictions": [...]}) or as CSV lines."""
    if accept == JSON:
        return json.dumps({"predictions": prediction})
    if accept == CSV:
        return "".join(f"{p['legacy-score']:.6f},{p['calibrated-score']:.6f}\n" for p in prediction)
    raise ValueError(f"unsupported accept type {accept!r}; use {JSON} or {CSV}")
