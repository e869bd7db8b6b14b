"""Regenerate the synthetic order-abuse CSVs used by the sample pipeline.

Standard library only and fully deterministic: running it again rewrites the
same rows. The label has a learnable signal (large orders, young accounts,
far-away shipping and gift-card/crypto payments raise the abuse odds), so the
training step reaches an AUC well above chance.

    python sample_configs/xgboost_e2e/test_data/make_data.py
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = [
    "order_id",
    "order_amount",
    "item_count",
    "account_age_days",
    "num_prior_orders",
    "shipping_distance_km",
    "payment_method",
    "is_abuse",
]
PAYMENT_METHODS = ["card", "card", "card", "paypal", "paypal", "gift_card", "crypto"]
RISKY_PAYMENTS = {"gift_card": 1.1, "crypto": 1.6}


def make_rows(count: int, seed: int, first_id: int) -> list[list[str]]:
    """Build `count` rows of orders with a 0/1 `is_abuse` label."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        amount = round(rng.lognormvariate(4.0, 0.8), 2)
        items = rng.randint(1, 8)
        age = rng.randint(1, 2000)
        prior = min(60, int(rng.expovariate(1.0) * age / 80))
        distance = round(rng.uniform(1.0, 3000.0), 1)
        payment = rng.choice(PAYMENT_METHODS)
        logit = (
            -1.5
            + 0.9 * (math.log(amount) - 4.0)
            - 0.0012 * (age - 1000)
            + 0.0005 * (distance - 1500)
            - 0.05 * prior
            + RISKY_PAYMENTS.get(payment, 0.0)
        )
        label = 1 if rng.random() < 1.0 / (1.0 + math.exp(-logit)) else 0
        row = [first_id + index, amount, items, age, prior, distance, payment, label]
        rows.append([str(value) for value in row])
    return rows


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def write_gzip(path: Path, text: str) -> None:
    """Gzip with a fixed timestamp and no file name, so the bytes are reproducible."""
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def main() -> None:
    training_dir = HERE / "TabularPreprocessing_training" / "DATA"
    calibration_dir = HERE / "TabularPreprocessing_calibration" / "DATA"
    training_dir.mkdir(parents=True, exist_ok=True)
    calibration_dir.mkdir(parents=True, exist_ok=True)

    training = make_rows(520, seed=20240101, first_id=100000)
    # Two shards, as a data-loading job writes them: a plain CSV and a gzipped one.
    (training_dir / "part-00000.csv").write_text(to_csv(training[:260]), encoding="utf-8")
    write_gzip(training_dir / "part-00001.csv.gz", to_csv(training[260:]))

    calibration = make_rows(360, seed=20240401, first_id=200000)
    (calibration_dir / "part-00000.csv").write_text(to_csv(calibration), encoding="utf-8")

    for rows, name in ((training, "training"), (calibration, "calibration")):
        positives = sum(int(row[-1]) for row in rows)
        print(f"{name}: {len(rows)} rows, {positives} positive")


if __name__ == "__main__":
    main()
