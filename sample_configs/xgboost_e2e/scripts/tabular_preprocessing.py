"""Tabular preprocessing: combine data shards, clean the label, split the rows.

Reads every CSV shard (plain or gzipped) from the DATA input, checks the label
column, and writes `<split>/<split>_processed_data.csv` under `processed_data`:
train/val/test for a training job, a single folder named after the job type
(for example `calibration/`) for any other job.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import logging
import os
import random
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_TRAIN_RATIO = "0.7"
DEFAULT_TEST_VAL_RATIO = "0.5"
SPLIT_SEED = 42
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
MISSING_LABELS = {"", "na", "nan", "null", "none"}


def list_shards(data_dir: Path) -> list[Path]:
    """Return the data files of a folder, sorted, skipping hidden files."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"input folder DATA does not exist: {data_dir}")
    shards = sorted(
        path
        for path in data_dir.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(data_dir).parts)
        and path.name.lower().endswith(CSV_SUFFIXES)
    )
    if not shards:
        raise FileNotFoundError(f"no CSV shards (*.csv, *.csv.gz, *.tsv) found in {data_dir}")
    return shards


def read_shard(path: Path) -> list[list[str]]:
    """Read one shard into rows of strings, header included when present."""
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    delimiter = "\t" if ".tsv" in path.name.lower() else ","
    text = raw.decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]


def combine_shards(shards: list[Path]) -> tuple[list[str], list[list[str]]]:
    """Combine shards; the first one gives the header, later ones may repeat it or not."""
    header: list[str] = []
    rows: list[list[str]] = []
    for shard in shards:
        shard_rows = read_shard(shard)
        if not shard_rows:
            logger.warning("shard %s is empty, skipped", shard.name)
            continue
        first = [name.strip() for name in shard_rows[0]]
        if not header:
            header, shard_rows = first, shard_rows[1:]
        elif first == header:
            shard_rows = shard_rows[1:]
        for number, row in enumerate(shard_rows, start=1):
            if len(row) != len(header):
                raise ValueError(
                    f"{shard.name}: row {number} has {len(row)} fields, "
                    f"the header has {len(header)}"
                )
        rows.extend(shard_rows)
        logger.info("read %d rows from %s", len(shard_rows), shard.name)
    if not header or not rows:
        raise ValueError(f"no data rows in {len(shards)} shard(s): {[s.name for s in shards]}")
    return header, rows


def clean_labels(header: list[str], rows: list[list[str]], label_field: str) -> list[list[str]]:
    """Drop rows without a label; keep numeric labels, map text labels to 0..k-1."""
    if label_field not in header:
        raise ValueError(f"label column {label_field!r} not found; columns are {header}")
    position = header.index(label_field)
    kept = [row for row in rows if row[position].strip().lower() not in MISSING_LABELS]
    if len(kept) < len(rows):
        logger.warning("dropped %d rows with no %s", len(rows) - len(kept), label_field)
    if not kept:
        raise ValueError(f"every row has an empty {label_field!r}")
    values = sorted({row[position].strip() for row in kept})
    try:
        classes = {value: int(float(value)) for value in values}
    except ValueError:
        classes = {value: index for index, value in enumerate(values)}
        logger.info("label values %s mapped to %s", values, list(classes.values()))
    for row in kept:
        row[position] = str(classes[row[position].strip()])
    return kept


def parse_ratio(name: str, value: str) -> float:
    try:
        ratio = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {ratio}")
    return ratio


def stratified_split(
    rows: list[list[str]], position: int, first_ratio: float, seed: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Split rows in two, keeping each label's share in both parts."""
    rng = random.Random(seed)
    first: list[list[str]] = []
    second: list[list[str]] = []
    for label in sorted({row[position] for row in rows}):
        group = [row for row in rows if row[position] == label]
        rng.shuffle(group)
        cut = round(len(group) * first_ratio)
        first.extend(group[:cut])
        second.extend(group[cut:])
    return first, second


def write_split(output_dir: Path, split: str, header: list[str], rows: list[list[str]]) -> Path:
    split_dir = output_dir / split
    os.makedirs(split_dir, exist_ok=True)
    target = split_dir / f"{split}_processed_data.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    logger.info("wrote %d rows to %s", len(rows), target)
    return target


def main(
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    environ_vars: dict[str, str],
    job_args: argparse.Namespace,
) -> dict[str, int]:
    """Preprocess the DATA input; return the number of rows written per split."""
    job_type = job_args.job_type
    label_field = environ_vars["LABEL_FIELD"]
    train_ratio = parse_ratio("TRAIN_RATIO", environ_vars.get("TRAIN_RATIO", DEFAULT_TRAIN_RATIO))
    test_val_ratio = parse_ratio(
        "TEST_VAL_RATIO", environ_vars.get("TEST_VAL_RATIO", DEFAULT_TEST_VAL_RATIO)
    )
    data_dir = Path(input_paths["DATA"])
    output_dir = Path(output_paths["processed_data"])
    logger.info("job_type=%s label=%s data=%s", job_type, label_field, data_dir)

    header, rows = combine_shards(list_shards(data_dir))
    rows = clean_labels(header, rows, label_field)
    position = header.index(label_field)

    if job_type == "training":
        train, holdout = stratified_split(rows, position, train_ratio, SPLIT_SEED)
        test, val = stratified_split(holdout, position, test_val_ratio, SPLIT_SEED + 1)
        splits = {"train": train, "val": val, "test": test}
    else:
        splits = {job_type: rows}

    os.makedirs(output_dir, exist_ok=True)
    counts = {}
    for split, split_rows in splits.items():
        if not split_rows:
            raise ValueError(f"split {split!r} is empty: {len(rows)} rows are too few")
        write_split(output_dir, split, header, split_rows)
        counts[split] = len(split_rows)
    logger.info("split sizes: %s", counts)
    return counts


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(description="Tabular preprocessing")
    parser.add_argument(
        "--job_type",
        required=True,
        choices=["training", "validation", "testing", "calibration"],
        help="training writes train/val/test; other job types write one folder",
    )
    args = parser.parse_args()
    main(
        input_paths={"DATA": "/opt/ml/processing/input/data"},
        output_paths={"processed_data": "/opt/ml/processing/output"},
        environ_vars={
            "LABEL_FIELD": os.environ["LABEL_FIELD"],
            "TRAIN_RATIO": os.environ.get("TRAIN_RATIO", DEFAULT_TRAIN_RATIO),
            "TEST_VAL_RATIO": os.environ.get("TEST_VAL_RATIO", DEFAULT_TEST_VAL_RATIO),
        },
        job_args=args,
    )
