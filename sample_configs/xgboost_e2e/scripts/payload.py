"""Payload generation: sample inference requests for the trained model.

Reads the model's input fields (hyperparameters.json, else feature_columns.txt),
builds one request per content type with default values for every field, and
writes them into `payload.tar.gz`, ready for a load test after registration.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import os
import tarfile
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_CONTENT_TYPES = "application/json,text/csv"
DEFAULT_NUMERIC_VALUE = "0.0"
DEFAULT_TEXT_VALUE = "DEFAULT_TEXT"
ARCHIVE_NAME = "payload.tar.gz"
FILE_SUFFIXES = {"application/json": "json", "text/csv": "csv"}


def parse_content_types(value: str) -> list[str]:
    """Accept a JSON list (as a config list becomes) or a comma-separated string."""
    text = value.strip()
    items = json.loads(text) if text.startswith("[") else text.split(",")
    content_types = [str(item).strip() for item in items if str(item).strip()]
    if not content_types:
        raise ValueError("CONTENT_TYPES is empty: name at least one content type")
    unknown = [item for item in content_types if item not in FILE_SUFFIXES]
    if unknown:
        raise ValueError(f"unsupported content types {unknown}; supported: {list(FILE_SUFFIXES)}")
    return content_types


def load_fields(model_dir: Path) -> tuple[list[str], list[str]]:
    """Numeric and text input fields of the model, in the order the model expects."""
    hyperparameters = model_dir / "hyperparameters.json"
    if hyperparameters.is_file():
        params = json.loads(hyperparameters.read_text(encoding="utf-8"))
        numeric = list(params.get("tab_field_list") or [])
        text = list(params.get("cat_field_list") or [])
        if numeric or text:
            return numeric, text
        logger.warning("%s names no fields; trying feature_columns.txt", hyperparameters)
    columns = model_dir / "feature_columns.txt"
    if columns.is_file():
        lines = columns.read_text(encoding="utf-8").splitlines()
        names = [line.split(",", 1)[-1].strip() for line in lines if line.strip()]
        if names:
            return names, []
    raise FileNotFoundError(
        f"model_input {model_dir} has neither hyperparameters.json with field lists "
        "nor a non-empty feature_columns.txt"
    )


def csv_request(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def json_request(fields: list[str], values: list[str], numeric: set[str]) -> str:
    record = {
        name: float(value) if name in numeric else value
        for name, value in zip(fields, values, strict=True)
    }
    return json.dumps(record, indent=2) + "\n"


def build_requests(
    numeric: list[str], text: list[str], content_types: list[str], number: str, word: str
) -> dict[str, str]:
    """One request file per content type, named payload_<type>_0.<suffix>."""
    fields = numeric + text
    values = [number] * len(numeric) + [word] * len(text)
    requests = {}
    for content_type in content_types:
        name = f"payload_{content_type.replace('/', '_')}_0.{FILE_SUFFIXES[content_type]}"
        if content_type == "text/csv":
            requests[name] = csv_request(values)
        else:
            requests[name] = json_request(fields, values, set(numeric))
    return requests


def write_archive(target: Path, files: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = files[name].encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        gz.write(buffer.getvalue())


def main(
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    environ_vars: dict[str, str],
    job_args: argparse.Namespace,
) -> dict[str, str]:
    """Write payload_sample/payload.tar.gz; return the request files by name."""
    content_types = parse_content_types(environ_vars.get("CONTENT_TYPES", DEFAULT_CONTENT_TYPES))
    number = environ_vars.get("DEFAULT_NUMERIC_VALUE", DEFAULT_NUMERIC_VALUE)
    word = environ_vars.get("DEFAULT_TEXT_VALUE", DEFAULT_TEXT_VALUE)
    try:
        number = repr(float(number))
    except ValueError:
        raise ValueError(f"DEFAULT_NUMERIC_VALUE must be a number, got {number!r}") from None

    model_dir = Path(input_paths["model_input"])
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model_input folder does not exist: {model_dir}")
    numeric, text = load_fields(model_dir)
    logger.info(
        "%d numeric and %d text fields; content types %s", len(numeric), len(text), content_types
    )
    requests = build_requests(numeric, text, content_types, number, word)

    output_dir = Path(output_paths["payload_sample"])
    os.makedirs(output_dir, exist_ok=True)
    target = output_dir / ARCHIVE_NAME
    write_archive(target, requests)
    logger.info("wrote %s with %s", target, sorted(requests))
    return requests


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main(
        input_paths={"model_input": "/opt/ml/processing/input/model"},
        output_paths={"payload_sample": "/opt/ml/processing/output"},
        environ_vars={
            "CONTENT_TYPES": os.environ.get("CONTENT_TYPES", DEFAULT_CONTENT_TYPES),
            "DEFAULT_NUMERIC_VALUE": os.environ.get("DEFAULT_NUMERIC_VALUE", DEFAULT_NUMERIC_VALUE),
            "DEFAULT_TEXT_VALUE": os.environ.get("DEFAULT_TEXT_VALUE", DEFAULT_TEXT_VALUE),
        },
        job_args=argparse.Namespace(),
    )
