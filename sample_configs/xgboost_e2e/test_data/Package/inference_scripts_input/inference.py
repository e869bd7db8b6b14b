"""Minimal inference code shipped in model.tar.gz under code/ (sample test data)."""

import json
import math
from pathlib import Path


def model_fn(model_dir):
    return json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8"))


def input_fn(request_body, request_content_type):
    if request_content_type != "application/json":
        raise ValueError(f"unsupported content type {request_content_type!r}")
    return json.loads(request_body)


def predict_fn(record, model):
    vector = [float(record[name]) for name in model["tab_field_list"]]
    for name in model["cat_field_list"]:
        table = model["risk_tables"][name]
        vector.append(table["values"].get(record[name], table["default"]))
    margin = model["base_score"]
    for node in model["trees"]:
        while "leaf" not in node:
            node = node["left"] if vector[node["feature"]] < node["threshold"] else node["right"]
        margin += node["leaf"]
    return 1.0 / (1.0 + math.exp(-margin))


def output_fn(prediction, accept):
    return json.dumps({"score": prediction})
