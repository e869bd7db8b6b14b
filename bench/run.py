"""rtf benchmarks: each figure measured side by side with its floor, in one run.

Usage::

    python bench/run.py                   # everything (a few minutes on 2 cores)
    python bench/run.py --quick           # fewer repeats, smaller inputs (a smoke run)
    python bench/run.py --only startup    # one group; repeatable: startup discovery run parallel
    python bench/run.py --strict          # exit 1 when a target is missed
    python bench/run.py --json out.json   # also write every sample

Every figure is a wall-clock time (or a peak memory) of a real child process, measured several
times, with rtf's runs and the baseline's runs interleaved so that a noisy machine slows both
alike. The table shows medians and their ratio. The benchmark reports; it does not gate: it
exits 0 even when a target is missed, unless ``--strict`` is given.

Inputs are generated under ``bench/_generated/`` (git-ignored) and reused while the generator's
parameters do not change. Only the standard library is imported here (PyYAML is used by the
discovery baseline, in its own process).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "_generated"
PYTHON = sys.executable
GROUPS = ("startup", "discovery", "run", "parallel")
HEAVY_MODULES = ("questionary", "prompt_toolkit", "rtf.runner", "rtf.executor", "pydantic")
#: Bump when the generated inputs change shape, so old ones are regenerated.
GENERATOR_VERSION = 4
CHILD_TIMEOUT_S = 600.0


class BenchError(Exception):
    """A benchmarked command failed, so its figure would mean nothing."""


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How much to measure (the full run or the quick one) and where inputs are generated."""

    quick: bool
    work: Path
    startup_repeats: int
    heavy_repeats: int
    discovery_nodes: int
    chain_steps: int
    parallel_scripts: int
    parallel_seconds: float
    serial_repeats: int

    @property
    def scale_sizes(self) -> tuple[int, int, int]:
        """Pipelines without script files: the discovery size, three and ten times it."""
        n = self.discovery_nodes
        return (n, 3 * n, 10 * n)

    @classmethod
    def make(
        cls, quick: bool, *, repeats: int | None, nodes: int | None, work: Path | None
    ) -> Settings:
        settings = cls(
            quick=quick,
            work=(work or GENERATED).resolve(),
            startup_repeats=3 if quick else 15,
            heavy_repeats=1 if quick else 5,
            discovery_nodes=40 if quick else 1000,
            chain_steps=5 if quick else 50,
            parallel_scripts=4 if quick else 8,
            parallel_seconds=0.5 if quick else 1.0,
            serial_repeats=1 if quick else 2,
        )
        if repeats is not None:
            settings = dataclasses.replace(
                settings,
                startup_repeats=repeats,
                heavy_repeats=repeats,
                serial_repeats=min(repeats, settings.serial_repeats),
            )
        if nodes is not None:
            settings = dataclasses.replace(settings, discovery_nodes=nodes)
        return settings


# --------------------------------------------------------------------------------------------
# Measuring child processes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One run of a child process: wall time, CPU time, its own peak memory, how it ended.

    The CPU time (user + system, the child's and its waited-for children's) hardly changes
    when other work slows the machine down, so it tells noise from a real difference.
    """

    wall_s: float
    cpu_s: float
    maxrss_kb: int
    returncode: int
    stdout: str
    stderr: str


def rtf_command() -> list[str]:
    """The ``rtf`` console script beside this interpreter, else ``python -m rtf``."""
    script = Path(PYTHON).parent / "rtf"
    return [str(script)] if script.exists() else [PYTHON, "-m", "rtf"]


def run_child(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = False,
    check: bool = True,
) -> Sample:
    """Run ``cmd`` once and time it; ``ru_maxrss`` is the child's own (from ``wait4``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
            env=env if env is not None else child_env(),
            cwd=cwd,
        )
        watchdog = threading.Timer(CHILD_TIMEOUT_S, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        sample = Sample(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_kb=int(usage.ru_maxrss),
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
    if check and sample.returncode != 0:
        shown = " ".join(cmd)
        tail = sample.stderr.strip().splitlines()[-5:]
        raise BenchError(f"`{shown}` exited {sample.returncode}: " + " | ".join(tail))
    return sample


def child_env(**extra: str) -> dict[str, str]:
    """The environment for measured children.

    ``PYTHONDONTWRITEBYTECODE`` is dropped so that the warm-up run leaves compiled bytecode
    behind, as an installed rtf has; every other variable is kept.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env.update(extra)
    return env


Variant = Callable[[], Sample]


def side_by_side(variants: dict[str, Variant], repeats: int) -> dict[str, list[Sample]]:
    """Run every variant once untimed (warm-up), then ``repeats`` rounds, interleaved.

    The order of the variants rotates each round so that none always runs first.
    """
    names = list(variants)
    for name in names:
        variants[name]()
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for round_no in range(repeats):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(variants[name]())
    return samples


def median_wall(samples: Sequence[Sample]) -> float:
    return statistics.median(s.wall_s for s in samples)


def median_cpu(samples: Sequence[Sample]) -> float:
    return statistics.median(s.cpu_s for s in samples)


def median_rss_mb(samples: Sequence[Sample]) -> float:
    return statistics.median(s.maxrss_kb for s in samples) / 1024


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the results table."""

    group: str
    measure: str
    rtf: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None  # None: reported, no target
    data: dict[str, Any] = field(default_factory=dict)
    cpu_ratio: float | None = None

    @property
    def result(self) -> str:
        return "info" if self.ok is None else ("PASS" if self.ok else "FAIL")


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def ratio_row(
    group: str,
    measure: str,
    rtf_s: Sequence[Sample],
    base_s: Sequence[Sample],
    limit: float | None,
    **data: Any,
) -> Row:
    """A time row: rtf median against baseline median, with an optional ratio limit."""
    rtf_med, base_med = median_wall(rtf_s), median_wall(base_s)
    ratio = rtf_med / base_med
    base_cpu = median_cpu(base_s)
    return Row(
        group,
        measure,
        fmt_time(rtf_med),
        fmt_time(base_med),
        ratio,
        f"≤ {limit:.2f}×" if limit is not None else "-",
        None if limit is None else ratio <= limit,
        {
            "rtf_s": [s.wall_s for s in rtf_s],
            "baseline_s": [s.wall_s for s in base_s],
            "rtf_median_s": rtf_med,
            "baseline_median_s": base_med,
            "rtf_cpu_s": [s.cpu_s for s in rtf_s],
            "baseline_cpu_s": [s.cpu_s for s in base_s],
            **data,
        },
        median_cpu(rtf_s) / base_cpu if base_cpu > 0 else None,
    )


def print_table(rows: Sequence[Row]) -> None:
    header = ("measure", "rtf (median)", "baseline (median)", "ratio", "target", "result", "cpu")
    lines = [
        (
            r.measure,
            r.rtf,
            r.baseline,
            f"{r.ratio:.2f}×" if r.ratio else "-",
            r.target,
            r.result,
            f"{r.cpu_ratio:.2f}×" if r.cpu_ratio else "-",
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]

    def show(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(show(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print(show(line))


def say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------------------------
# 1. Start-up
# --------------------------------------------------------------------------------------------

_MODULES_PROBE = """
import contextlib, io, json, sys
from rtf.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["--help"])
heavy = sys.argv[1].split(",")
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
rtf_modules = sorted(m for m in sys.modules if m == "rtf" or m.startswith("rtf."))
print(json.dumps({"code": code, "heavy": loaded, "rtf": rtf_modules, "count": len(sys.modules)}))
"""


def bench_startup(settings: Settings, notes: list[str]) -> list[Row]:
    rtf = rtf_command()
    env = child_env(COLUMNS="100")
    app = str(HERE / "baseline_typer_app.py")
    say("startup: rtf --help vs a two-command typer app; rtf --version vs python -c pass")
    samples = side_by_side(
        {
            "rtf_help": lambda: run_child([*rtf, "--help"], env=env),
            "typer_help": lambda: run_child([PYTHON, app, "--help"], env=env),
            "rtf_version": lambda: run_child([*rtf, "--version"], env=env),
            "python_pass": lambda: run_child([PYTHON, "-c", "pass"], env=env),
        },
        settings.startup_repeats,
    )
    rows = [
        ratio_row(
            "startup",
            "rtf --help vs typer app --help",
            samples["rtf_help"],
            samples["typer_help"],
            1.15,
        ),
        ratio_row(
            "startup",
            "rtf --version vs python -c pass",
            samples["rtf_version"],
            samples["python_pass"],
            3.0,
        ),
    ]
    probe = run_child(
        [PYTHON, "-c", _MODULES_PROBE, ",".join(HEAVY_MODULES)], env=child_env(), capture=True
    )
    found = json.loads(probe.stdout)
    heavy: list[str] = found["heavy"]
    tops = sorted({m.split(".")[0] if not m.startswith("rtf.") else m for m in heavy})
    rows.append(
        Row(
            "startup",
            "heavy modules imported by rtf --help",
            ", ".join(tops) or "none",
            "-",
            None,
            "none",
            not heavy and found["code"] == 0,
            {"heavy": heavy, "rtf_modules": found["rtf"], "module_count": found["count"]},
        )
    )
    notes.append(
        f"rtf --help loads {found['count']} modules; rtf's own: {', '.join(found['rtf'])}; "
        f"checked absent: {', '.join(HEAVY_MODULES)}"
    )
    notes.extend(import_profile())
    return rows


def import_profile(top: int = 6) -> list[str]:
    """The slowest imports of ``rtf --help`` by cumulative time (``python -X importtime``)."""
    code = "import sys; from rtf.__main__ import main; sys.exit(main(['--help']))"
    sample = run_child([PYTHON, "-X", "importtime", "-c", code], env=child_env())
    rows: list[tuple[int, int, str]] = []
    for line in sample.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        try:
            own, cumulative = int(parts[0].split(":")[1]), int(parts[1])
        except ValueError:
            continue
        name = parts[2].rstrip()
        if not name.startswith("  "):  # top-level imports only (indent 1 space)
            rows.append((cumulative, own, name.strip()))
    rows.sort(reverse=True)
    shown = ", ".join(f"{name} {cum / 1000:.0f} ms" for cum, _, name in rows[:top])
    return [f"-X importtime, rtf --help, top-level imports by cumulative time: {shown}"]


# --------------------------------------------------------------------------------------------
# 2. Discovery: a generated pipeline in the cursus form
# --------------------------------------------------------------------------------------------

#: Step kinds along one chain of ten nodes; the first has no script (a data-loading step).
CHAIN_KINDS = (
    ("CradleDataLoading", None, "DATA"),
    ("TabularPreprocessing", "DATA", "processed_data"),
    ("MissingValueImputation", "processed_data", "imputed_data"),
    ("RiskTableMapping", "imputed_data", "mapped_data"),
    ("FeatureSelection", "mapped_data", "selected_data"),
    ("XGBoostTraining", "selected_data", "model_output"),
    ("XGBoostModelEval", "model_output", "eval_output"),
    ("ModelCalibration", "eval_output", "calibration_output"),
    ("Package", "calibration_output", "packaged_model"),
    ("Payload", "packaged_model", "payload_sample"),
)
JOB_TYPES = ("training", "calibration", "validation", "testing")


def snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out.replace("x_g_boost", "xgboost")


def pipeline_nodes(size: int) -> list[tuple[str, int, int]]:
    """(node name, chain, position) for ``size`` nodes: chains of ten, 10% without a script."""
    nodes = []
    for index in range(size):
        chain, position = divmod(index, len(CHAIN_KINDS))
        nodes.append((f"{CHAIN_KINDS[position][0]}_{chain:04d}", chain, position))
    return nodes


def write_pipeline(folder: Path, size: int, with_scripts: bool) -> tuple[Path, Path]:
    """Write dag.yaml, config.json (cursus form) and, optionally, one script per script node."""
    stamp = folder / "stamp.json"
    params = {"version": GENERATOR_VERSION, "size": size, "scripts": with_scripts}
    dag_path, config_path = folder / "dag.yaml", folder / "config.json"
    if stamp.exists() and json.loads(stamp.read_text()) == params:
        return dag_path, config_path
    if folder.exists():
        shutil.rmtree(folder)
    scripts = folder / "scripts"
    scripts.mkdir(parents=True)
    rng = random.Random(size * 7919 + 1)
    nodes = pipeline_nodes(size)
    names = {(chain, pos): name for name, chain, pos in nodes}
    edges: list[tuple[str, str]] = []
    for name, chain, pos in nodes:
        if pos > 0:
            edges.append((names[(chain, pos - 1)], name))
        if pos == 5 and chain > 0 and (chain - 1, 9) in names:
            edges.append((names[(chain - 1, 5)], name))  # fan-in: a warm-start model
    dag_lines = [f"name: generated_{size}_nodes", "nodes:"]
    dag_lines += [f"  - {name}" for name, _, _ in nodes]
    dag_lines.append("edges:")
    dag_lines += [f"  - [{src}, {dst}]" for src, dst in edges]
    dag_path.write_text("\n".join(dag_lines) + "\n", encoding="utf-8")

    specific: dict[str, Any] = {}
    types: dict[str, str] = {}
    for name, chain, pos in nodes:
        kind, _, _ = CHAIN_KINDS[pos]
        job_type = JOB_TYPES[chain % len(JOB_TYPES)]
        fields: dict[str, Any] = {"__model_type__": f"{kind}Config", "job_type": job_type}
        types[name] = f"{kind}Config"
        if pos == 0:
            fields["data_sources_spec"] = {
                "start_date": "2024-01-01T00:00:00",
                "end_date": "2024-03-31T00:00:00",
                "data_sources": [{"data_source_name": f"SRC_{chain}", "data_source_type": "MDS"}],
            }
        else:
            entry = f"{snake(kind)}_{chain:04d}.py"
            key = "training_entry_point" if kind == "XGBoostTraining" else "processing_entry_point"
            fields[key] = entry
            fields["processing_source_dir"] = "scripts"
            fields["processing_instance_type"] = "ml.m5.2xlarge"
            fields["train_ratio"] = round(rng.uniform(0.5, 0.9), 2)
            if kind == "XGBoostTraining":
                fields["hyperparameters"] = {
                    "num_round": rng.randint(50, 500),
                    "max_depth": rng.randint(3, 10),
                    "eta": 0.1,
                    "objective": "binary:logistic",
                }
            if with_scripts:
                text = make_script(rng, name, chain, pos)
                (scripts / entry).write_text(text, encoding="utf-8")
        specific[name] = fields
    config = {
        "configuration": {
            "shared": {
                "author": "bench",
                "bucket": "example-bench-bucket",
                "region": "NA",
                "pipeline_name": f"generated-{size}",
                "framework_version": "1.7-1",
                "py_version": "py3",
                "source_dir": "scripts",
                "label_name": "is_abuse",
                "id_name": "order_id",
            },
            "specific": specific,
        },
        "metadata": {"config_types": types},
    }
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    stamp.write_text(json.dumps(params), encoding="utf-8")
    return dag_path, config_path


_HEADER = '''\
"""{title}.

Generated benchmark step {name}: reads the {inp} input, transforms it in chunks and writes
{out}. The label column comes from LABEL_FIELD, the split ratio from TRAIN_RATIO.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = {chunk}
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".json")
CONTAINER_PATHS = {{
    "INPUT": "/opt/ml/processing/input/{inp}",
    "OUTPUT": "/opt/ml/processing/output/{out}",
}}

'''

_HELPERS = {
    "list": '''
def list_input_files_{k}(folder: str, suffixes: tuple[str, ...] = SUPPORTED_SUFFIXES) -> list[Path]:
    """Every data file under ``folder`` with one of ``suffixes``, sorted."""
    root = Path(folder)
    if not root.exists():
        raise FileNotFoundError(f"input folder {{folder}} does not exist")
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in suffixes:
            found.append(path)
        elif path.is_file():
            logger.debug("skipping %s", path)
    logger.info("found %d files under %s", len(found), folder)
    return found
''',
    "clean": '''
def clean_rows_{k}(
    rows: list[dict[str, Any]], label: str, limit: float = {num}
) -> list[dict[str, Any]]:
    """Drop rows without a label and clip numbers above ``limit``."""
    cleaned = []
    dropped = 0
    for row in rows:
        if row.get(label) in (None, ""):
            dropped += 1
            continue
        out: dict[str, Any] = {{}}
        for key, value in row.items():
            if isinstance(value, (int, float)) and value > limit:
                out[key] = limit
            elif isinstance(value, str):
                out[key] = value.strip()
            else:
                out[key] = value
        cleaned.append(out)
    if dropped:
        logger.warning("dropped %d rows without %s", dropped, label)
    return cleaned
''',
    "stats": '''
def summarize_{k}(values: list[float]) -> dict[str, float]:
    """Count, mean, minimum and maximum of ``values`` (zeros when empty)."""
    if not values:
        return {{"count": 0.0, "mean": 0.0, "min": 0.0, "max": 0.0}}
    total = 0.0
    low = high = values[0]
    for value in values:
        total += value
        low = min(low, value)
        high = max(high, value)
    return {{"count": float(len(values)), "mean": total / len(values), "min": low, "max": high}}
''',
    "settings": '''
def read_settings_{k}(environ_vars: dict[str, str]) -> dict[str, Any]:
    """The settings of this step, from its environment."""
    ratio = float(environ_vars.get("TRAIN_RATIO", "0.7"))
    label = environ_vars["LABEL_FIELD"]
    columns = [c for c in environ_vars.get("CAT_FIELDS", "").split(",") if c]
    seed = int(os.environ.get("RANDOM_SEED", "{seed}"))
    if not 0 < ratio < 1:
        raise ValueError(f"TRAIN_RATIO must be between 0 and 1, not {{ratio}}")
    return {{"ratio": ratio, "label": label, "columns": columns, "seed": seed}}
''',
    "batch": '''
class Batcher{k}:
    """Split rows into batches of a fixed size."""

    def __init__(self, size: int = DEFAULT_CHUNK_SIZE) -> None:
        if size <= 0:
            raise ValueError("size must be positive")
        self.size = size
        self.seen = 0

    def batches(self, rows: list[Any]) -> list[list[Any]]:
        out = [rows[i : i + self.size] for i in range(0, len(rows), self.size)]
        self.seen += len(rows)
        return out

    def __repr__(self) -> str:
        return f"Batcher{k}(size={{self.size}}, seen={{self.seen}})"
''',
    "write": '''
def write_json_{k}(payload: dict[str, Any], folder: str, name: str = "part-{k:05d}.json") -> Path:
    """Write ``payload`` as JSON into ``folder`` and return the file."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    with path.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True)
    logger.info("wrote %s (%d keys)", path, len(payload))
    return path
''',
    "parse": '''
def parse_line_{k}(line: str, sep: str = ",") -> list[Any]:
    """Split a text line on ``sep`` and turn numbers into numbers."""
    fields: list[Any] = []
    for raw in line.rstrip("\\n").split(sep):
        text = raw.strip()
        try:
            fields.append(int(text))
        except ValueError:
            try:
                fields.append(float(text))
            except ValueError:
                fields.append(text)
    return fields
''',
}

_MAIN = '''

def main(
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    environ_vars: dict[str, str],
    job_args: argparse.Namespace,
) -> dict[str, Any]:
    """Run {name}: read {inp}, clean and summarize it, write {out}."""
    settings = read_settings_{settings}(environ_vars)
    job_type = job_args.job_type
    files = list_input_files_{list}(input_paths["{inp}"])
    warm_start = input_paths.get("warm_start_model")
    rows: list[dict[str, Any]] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            header = parse_line_{parse}(next(handle))
            for line in handle:
                rows.append(dict(zip(header, parse_line_{parse}(line))))
    rows = clean_rows_{clean}(rows, settings["label"])
    batcher = Batcher{batch}()
    summaries = []
    for batch in batcher.batches(rows):
        values = [float(r.get(settings["label"], 0)) for r in batch]
        summaries.append(summarize_{stats}(values))
    payload = {{
        "job_type": job_type,
        "rows": len(rows),
        "batches": summaries,
        "warm_start": warm_start,
        "id_field": os.environ.get("ID_FIELD", "id"),
    }}
    write_json_{write}(payload, output_paths["{out}"])
    logger.info("%s done: %d rows", job_type, len(rows))
    return payload


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--job_type", required=True, choices=["training", "calibration"])
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--verbose", action="store_true", help="Log debug lines.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    environ = {{
        "LABEL_FIELD": os.environ.get("LABEL_FIELD", "label"),
        "TRAIN_RATIO": os.environ.get("TRAIN_RATIO", "0.7"),
    }}
    try:
        inputs = {{"{inp}": CONTAINER_PATHS["INPUT"]}}
        main(inputs, {{"{out}": CONTAINER_PATHS["OUTPUT"]}}, environ, args)
    except Exception:
        logger.exception("{name} failed")
        sys.exit(1)
'''


def make_script(rng: random.Random, name: str, chain: int, pos: int) -> str:
    """A realistic pipeline script of 300–1,000 lines, unique to its node."""
    kind, inp, out = CHAIN_KINDS[pos]
    assert inp is not None
    target = rng.randint(290, 930)
    main_lines = _MAIN.count("\n") + 2
    parts = [_HEADER.format(title=f"{kind} step", name=name, inp=inp, out=out, chunk=64 + chain)]
    lines = parts[0].count("\n") + main_lines
    first: dict[str, int] = {}
    kinds = list(_HELPERS)
    k = 0
    while lines < target or len(first) < len(kinds):
        helper = kinds[k % len(kinds)] if len(first) < len(kinds) else rng.choice(kinds)
        first.setdefault(helper, k)
        text = _HELPERS[helper].format(k=k, num=rng.randint(10, 10_000), seed=chain * 31 + k)
        parts.append(text)
        lines += text.count("\n")
        k += 1
    parts.append(_MAIN.format(name=name, inp=inp, out=out, **{h: first[h] for h in kinds}))
    return "\n".join(parts)


_BASELINE_DISCOVERY = """
import ast, json, os, sys
import yaml
dag_path, config_path = sys.argv[1], sys.argv[2]
with open(dag_path, encoding="utf-8") as handle:
    dag = yaml.safe_load(handle)
with open(config_path, encoding="utf-8") as handle:
    config = json.load(handle)
base = os.path.dirname(os.path.abspath(config_path))
shared = config["configuration"]["shared"]
specific = config["configuration"]["specific"]
parsed = missing = 0
for node in dag["nodes"]:
    step = {**shared, **specific.get(node, {})}
    entry = step.get("processing_entry_point") or step.get("training_entry_point")
    if not entry:
        continue
    path = os.path.join(base, step.get("processing_source_dir", ""), entry)
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError:
        missing += 1
        continue
    ast.parse(source, path)
    parsed += 1
print(json.dumps({"nodes": len(dag["nodes"]), "parsed": parsed, "missing": missing}))
"""


def check_listing(sample: Sample, size: int, with_scripts: bool) -> None:
    """The listing is complete: every node once, the 10% data-loading nodes skipped."""
    doc = json.loads(sample.stdout)
    scripts, skipped = doc["scripts"], doc["skipped"]
    expected_skipped = sum(1 for _, _, pos in pipeline_nodes(size) if pos == 0)
    if len(scripts) + len(skipped) != size or len(skipped) != expected_skipped:
        raise BenchError(f"list-scripts gave {len(scripts)} scripts + {len(skipped)} skipped")
    found = sum(1 for s in scripts if s["found"])
    if found != (len(scripts) if with_scripts else 0):
        raise BenchError(f"list-scripts found {found} of {len(scripts)} script files")
    if with_scripts and any(s["mode"] != "main" for s in scripts):
        raise BenchError("list-scripts did not see main() in every generated script")


def bench_discovery(settings: Settings, notes: list[str]) -> list[Row]:
    size = settings.discovery_nodes
    folder = settings.work / f"pipeline_{size}"
    say(f"discovery: generating {size} nodes under {folder} …")
    dag, config = write_pipeline(folder, size, with_scripts=True)
    script_files = sorted((folder / "scripts").glob("*.py"))
    total_lines = sum(p.read_bytes().count(b"\n") for p in script_files)
    notes.append(
        f"generated pipeline: {size} nodes, {len(script_files)} scripts, {total_lines:,} lines "
        f"({total_lines // max(len(script_files), 1)} per script on average)"
    )
    rtf = [*rtf_command(), "list-scripts", str(dag), str(config), "--format", "json"]
    caches = settings.work / "caches"
    warm_cache = caches / f"warm_{size}"
    shutil.rmtree(warm_cache, ignore_errors=True)

    def rtf_run(cache: Path | None) -> Sample:
        env = child_env()
        env.pop("RTF_NO_CACHE", None)
        if cache is None:
            env["RTF_NO_CACHE"] = "1"
        else:
            env["RTF_CACHE_DIR"] = str(cache)
        return run_child(rtf, env=env, cwd=folder, capture=True)

    def cold() -> Sample:
        cache = Path(tempfile.mkdtemp(prefix="cold_", dir=_ensure(caches)))
        try:
            return rtf_run(cache)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
            # Untimed: let the file system write back the entries just created and deleted,
            # so that its journal is not still busy with them during the next measured run.
            os.sync()

    def baseline() -> Sample:
        return run_child(
            [PYTHON, "-c", _BASELINE_DISCOVERY, str(dag), str(config)],
            env=child_env(),
            capture=True,
        )

    check_listing(cold(), size, with_scripts=True)
    base_doc = json.loads(baseline().stdout)
    if base_doc["parsed"] != len(script_files):
        raise BenchError(f"the baseline parsed {base_doc['parsed']} of {len(script_files)}")
    say("discovery: list-scripts cold / warm / no cache vs the read-and-parse baseline")
    samples = side_by_side(
        {
            "cold": cold,
            "warm": lambda: rtf_run(warm_cache),
            "nocache": lambda: rtf_run(None),
            "baseline": baseline,
        },
        settings.heavy_repeats,
    )
    base = samples["baseline"]
    label = f"list-scripts {size} nodes"
    rows = [
        ratio_row("discovery", f"{label}, cold cache", samples["cold"], base, 1.5),
        ratio_row("discovery", f"{label}, warm cache", samples["warm"], base, None),
        ratio_row("discovery", f"{label}, no cache", samples["nocache"], base, None),
        Row(
            "discovery",
            f"{label}, peak memory (cold)",
            f"{median_rss_mb(samples['cold']):.0f} MB",
            f"{median_rss_mb(base):.0f} MB",
            median_rss_mb(samples["cold"]) / median_rss_mb(base),
            "-",
            None,
        ),
    ]
    rows.extend(bench_scaling(settings, notes))
    return rows


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def bench_scaling(settings: Settings, notes: list[str]) -> list[Row]:
    """Nodes whose script files do not exist: time and memory against the size."""
    sizes = settings.scale_sizes
    say(f"discovery: {', '.join(f'{s:,}' for s in sizes)} nodes without script files")
    rows: list[Row] = []
    points: list[tuple[int, float, float]] = []
    env = child_env(RTF_NO_CACHE="1")
    for size in sizes:
        folder = settings.work / f"scale_{size}"
        dag, config = write_pipeline(folder, size, with_scripts=False)
        rtf = [*rtf_command(), "list-scripts", str(dag), str(config), "--format", "json"]
        check_listing(run_child(rtf, env=env, cwd=folder, capture=True), size, False)
        baseline = [PYTHON, "-c", _BASELINE_DISCOVERY, str(dag), str(config)]
        samples = side_by_side(
            {
                "rtf": functools.partial(run_child, rtf, env=env, cwd=folder, capture=True),
                "baseline": functools.partial(run_child, baseline, env=env),
            },
            settings.heavy_repeats,
        )
        rss = median_rss_mb(samples["rtf"])
        points.append((size, median_wall(samples["rtf"]), rss))
        row = ratio_row(
            "discovery",
            f"list-scripts {size:,} nodes, no script files",
            samples["rtf"],
            samples["baseline"],
            None,
            rtf_rss_mb=rss,
            baseline_rss_mb=median_rss_mb(samples["baseline"]),
        )
        row.rtf += f", {rss:.0f} MB"
        row.baseline += f", {median_rss_mb(samples['baseline']):.0f} MB"
        rows.append(row)
    (n0, t0, m0), (n1, t1, m1), (n2, t2, m2) = points[0], points[1], points[-1]
    slope_t1, slope_t2 = (t1 - t0) / (n1 - n0), (t2 - t1) / (n2 - n1)
    slope_m1, slope_m2 = (m1 - m0) / (n1 - n0), (m2 - m1) / (n2 - n1)
    notes.append(
        f"growth per node: time {slope_t1 * 1000:.3f} ms ({n0:,}→{n1:,}) and "
        f"{slope_t2 * 1000:.3f} ms ({n1:,}→{n2:,}); memory {slope_m1 * 1024:.1f} KB and "
        f"{slope_m2 * 1024:.1f} KB"
    )
    for what, first, second, unit, scale in (
        ("time", slope_t1, slope_t2, "ms", 1000.0),
        ("memory", slope_m1, slope_m2, "KB", 1024.0),
    ):
        ratio = second / first if first > 0 else None
        rows.append(
            Row(
                "discovery",
                f"linearity: {what} per node, {n1:,}→{n2:,} vs {n0:,}→{n1:,}",
                f"{second * scale:.3f} {unit}/node",
                f"{first * scale:.3f} {unit}/node",
                ratio,
                "≤ 2.00×",
                None if ratio is None else ratio <= 2.0,
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# 3 and 4. Running: a chain of no-op steps; independent sleeping steps
# --------------------------------------------------------------------------------------------

_NOOP = '''\
"""A pipeline step that does nothing."""


def main(input_paths, output_paths, environ_vars, job_args):
    return None


if __name__ == "__main__":
    main({}, {}, {}, None)
'''

_SLEEPER = '''\
"""A pipeline step that takes {seconds} s of wall time and writes one small file."""

import os
import time


def main(input_paths, output_paths, environ_vars, job_args):
    time.sleep({seconds})
    folder = output_paths["result"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "done.txt"), "w") as handle:
        handle.write("done\\n")


if __name__ == "__main__":
    main({{}}, {{"result": "out"}}, {{}}, None)
'''


def run_available() -> bool:
    return importlib.util.find_spec("rtf.commands_run") is not None


def write_spec(path: Path, steps: dict[str, dict[str, Any]]) -> None:
    """A SPEC 4 file; JSON is valid YAML, so no YAML writer is needed."""
    spec = {"version": 1, "pipeline": path.parent.name, "workspace": ".rtf", "scripts": steps}
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


def last_report(workspace: Path) -> dict[str, Any]:
    reports = sorted(workspace.glob("runs/*/report.json"), key=lambda p: p.stat().st_mtime)
    if not reports:
        raise BenchError(f"no report.json under {workspace}/runs")
    data: dict[str, Any] = json.loads(reports[-1].read_text(encoding="utf-8"))
    return data


def check_passed(workspace: Path, count: int) -> None:
    report = last_report(workspace)
    passed = report.get("summary", {}).get("passed")
    if passed != count:
        raise BenchError(f"rtf run passed {passed} of {count} steps: {report.get('summary')}")


def bench_run(settings: Settings, notes: list[str]) -> list[Row]:
    steps = settings.chain_steps
    folder = settings.work / "run_chain"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "scripts").mkdir(parents=True)
    spec_steps: dict[str, dict[str, Any]] = {}
    for i in range(steps):
        (folder / "scripts" / f"noop_{i:02d}.py").write_text(_NOOP, encoding="utf-8")
        spec_steps[f"step_{i:02d}"] = {
            "script_path": f"scripts/noop_{i:02d}.py",
            "mode": "main",
            "depends_on": [f"step_{i - 1:02d}"] if i else [],
        }
    spec = folder / "spec.yaml"
    write_spec(spec, spec_steps)
    noop = folder / "noop.py"
    noop.write_text(_NOOP, encoding="utf-8")
    workspace = folder / ".rtf"
    rtf = [*rtf_command(), "run", "--spec", str(spec)]

    def rtf_run(*extra: str) -> Sample:
        shutil.rmtree(workspace / "runs", ignore_errors=True)
        return run_child([*rtf, *extra], env=child_env(), cwd=folder, capture=True)

    env = child_env()

    def bare() -> Sample:
        start = time.perf_counter()
        runs = [run_child([PYTHON, str(noop)], env=env, cwd=folder) for _ in range(steps)]
        return Sample(
            time.perf_counter() - start,
            sum(r.cpu_s for r in runs),
            max(r.maxrss_kb for r in runs),
            0,
            "",
            "",
        )

    rtf_run()
    check_passed(workspace, steps)
    launch = launcher_request(workspace, folder / "launch")
    noop_cmd = [PYTHON, str(noop)]
    variants: dict[str, Variant] = {
        "rtf": rtf_run,
        "bare": bare,
        "dry": functools.partial(rtf_run, "--dry-run"),
        "pass": functools.partial(run_child, [PYTHON, "-c", "pass"], env=env),
    }
    if launch is not None:
        launch_env = child_env(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        variants["launcher"] = functools.partial(
            run_child, [PYTHON, *launch], env=launch_env, cwd=folder
        )
        variants["noop"] = functools.partial(run_child, noop_cmd, env=env, cwd=folder)
    say(f"run: a {steps}-step chain of no-op main() scripts vs {steps} bare python runs")
    samples = side_by_side(variants, settings.heavy_repeats)
    rtf_med, bare_med = median_wall(samples["rtf"]), median_wall(samples["bare"])
    dry_med = median_wall(samples["dry"])
    per_step = (rtf_med - bare_med) / steps
    per_step_net = (rtf_med - dry_med - bare_med) / steps
    notes.append(
        f"run overhead per step: {per_step * 1000:.1f} ms over a bare `python noop.py` "
        f"({per_step_net * 1000:.1f} ms after taking off rtf's fixed cost, "
        f"`rtf run --dry-run` = {fmt_time(dry_med)})"
    )
    rows = [
        ratio_row(
            "run",
            f"rtf run, {steps}-step no-op chain vs {steps}× python noop.py",
            samples["rtf"],
            samples["bare"],
            1.5,
        ),
        Row(
            "run",
            "overhead per step: (rtf − bare) / steps",
            f"{per_step * 1000:.1f} ms",
            "-",
            None,
            "-",
            None,
            {"per_step_ms": per_step * 1000, "per_step_net_ms": per_step_net * 1000},
        ),
        ratio_row(
            "run",
            "rtf run --dry-run (fixed cost) vs python -c pass",
            samples["dry"],
            samples["pass"],
            None,
        ),
    ]
    if launch is not None:
        rows.append(
            ratio_row(
                "run",
                "one step's launcher process vs python noop.py",
                samples["launcher"],
                samples["noop"],
                None,
            )
        )
        extra = median_wall(samples["launcher"]) - median_wall(samples["noop"])
        notes.append(
            f"of the overhead per step, the launcher process itself (imports, compiling "
            f"_launcher.py, loading the script) takes {extra * 1000:.1f} ms; the rest "
            f"({(per_step_net - extra) * 1000:.1f} ms) is rtf's side: request, process group, "
            "polling, log pump, result, output checks, report"
        )
    else:
        notes.append("launcher alone: not measured (no step request file found in the run folder)")
    return rows


def launcher_request(workspace: Path, into: Path) -> list[str] | None:
    """``[launcher, request]`` to run one step's launcher again, from the last run's files.

    The executor leaves each step's request (``.rtf-request.json``) in the step's working
    folder; it is copied with its result path moved into ``into``. ``None`` when the run folder
    does not hold one (the executor's layout changed).
    """
    spec = importlib.util.find_spec("rtf._launcher")
    requests = sorted(workspace.glob("runs/*/work/*/.rtf-request.json"))
    if spec is None or spec.origin is None or not requests:
        return None
    data = json.loads(requests[0].read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "result_path" not in data:
        return None
    into.mkdir(parents=True, exist_ok=True)
    data["result_path"] = str(into / "result.json")
    request = into / "request.json"
    request.write_text(json.dumps(data), encoding="utf-8")
    return [spec.origin, str(request)]


def bench_parallel(settings: Settings, notes: list[str]) -> list[Row]:
    count, seconds = settings.parallel_scripts, settings.parallel_seconds
    folder = settings.work / "run_parallel"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "sleeper.py").write_text(
        _SLEEPER.format(seconds=seconds), encoding="utf-8"
    )
    spec_steps = {
        f"sleep_{i}": {
            "script_path": "scripts/sleeper.py",
            "mode": "main",
            "output_paths": {"result": f".rtf/outputs/sleep_{i}/result"},
        }
        for i in range(count)
    }
    spec = folder / "spec.yaml"
    write_spec(spec, spec_steps)
    workspace = folder / ".rtf"
    rtf = [*rtf_command(), "run", "--spec", str(spec)]

    def rtf_run(jobs: int) -> Sample:
        shutil.rmtree(workspace / "runs", ignore_errors=True)
        return run_child([*rtf, "--jobs", str(jobs)], env=child_env(), cwd=folder, capture=True)

    def one_bare() -> Sample:
        return run_child(
            [PYTHON, str(folder / "scripts" / "sleeper.py")], env=child_env(), cwd=folder
        )

    rtf_run(count)
    check_passed(workspace, count)
    say(f"parallel: {count} independent {seconds:g}-second scripts, --jobs {count} and --jobs 1")
    samples = side_by_side(
        {"parallel": lambda: rtf_run(count), "bare": one_bare}, settings.heavy_repeats
    )
    serial = [rtf_run(1) for _ in range(settings.serial_repeats)]
    limit = 1.5 * seconds
    par_med, serial_med = median_wall(samples["parallel"]), median_wall(serial)
    notes.append(
        f"parallel speed-up: --jobs 1 {fmt_time(serial_med)} / --jobs {count} "
        f"{fmt_time(par_med)} = {serial_med / par_med:.1f}× on {os.cpu_count()} CPUs"
    )
    row = ratio_row(
        "parallel",
        f"rtf run --jobs {count}, {count}× {seconds:g}-s scripts vs one bare script",
        samples["parallel"],
        samples["bare"],
        None,
    )
    row.target = f"wall ≤ {fmt_time(limit)}"
    row.ok = par_med <= limit
    serial_row = ratio_row(
        "parallel",
        f"rtf run --jobs 1, {count}× {seconds:g}-s scripts vs one bare script",
        serial,
        samples["bare"],
        None,
    )
    for each in (row, serial_row):
        each.cpu_ratio = None  # sleeping scripts: the CPU time compares nothing useful
    return [row, serial_row]


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

BENCHES: dict[str, Callable[[Settings, list[str]], list[Row]]] = {
    "startup": bench_startup,
    "discovery": bench_discovery,
    "run": bench_run,
    "parallel": bench_parallel,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Measure rtf against its floors, side by side; print medians and ratios.",
    )
    parser.add_argument("--quick", action="store_true", help="Fewer repeats, smaller inputs.")
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        metavar="NAME",
        help=f"Run only this group (repeatable): {', '.join(GROUPS)}.",
    )
    parser.add_argument("--repeats", type=int, help="Timed rounds per figure (overrides).")
    parser.add_argument(
        "--nodes",
        type=int,
        help="Nodes of the discovery pipeline (overrides); the no-script pipelines have "
        "this many, three and ten times as many.",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="Where to generate the inputs (default: bench/_generated).",
    )
    parser.add_argument("--strict", action="store_true", help="Exit 1 when a target is missed.")
    parser.add_argument("--json", type=Path, help="Also write every row and sample here.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for option, least in (("repeats", 1), ("nodes", 10)):
        value = getattr(args, option)
        if value is not None and value < least:
            print(f"bench: --{option} must be at least {least}", file=sys.stderr)
            return 2
    settings = Settings.make(args.quick, repeats=args.repeats, nodes=args.nodes, work=args.work)
    groups = [g for g in GROUPS if not args.only or g in args.only]
    rows: list[Row] = []
    notes: list[str] = []
    errors: list[str] = []
    started = time.perf_counter()
    say(
        f"rtf benchmarks ({'quick' if settings.quick else 'full'}): {', '.join(groups)}; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    for group in groups:
        if group in ("run", "parallel") and not run_available():
            errors.append(f"{group}: skipped, `rtf run` is not available yet (rtf.commands_run)")
            continue
        try:
            rows.extend(BENCHES[group](settings, notes))
        except BenchError as exc:
            errors.append(f"{group}: {exc}")
    say("")
    print_table(rows)
    say("")
    for note in notes:
        say(textwrap.fill(note, 100, initial_indent="- ", subsequent_indent="  "))
    for error in errors:
        say(f"! {error}")
    missed = [r.measure for r in rows if r.ok is False]
    say(
        f"\n{sum(r.ok is True for r in rows)} passed, {len(missed)} missed, "
        f"{len(errors)} not measured, in {time.perf_counter() - started:.0f} s"
    )
    if args.json is not None:
        doc = {
            "settings": {**vars(settings), "work": str(settings.work)},
            "rows": [
                {
                    "group": r.group,
                    "measure": r.measure,
                    "rtf": r.rtf,
                    "baseline": r.baseline,
                    "ratio": r.ratio,
                    "cpu_ratio": r.cpu_ratio,
                    "target": r.target,
                    "result": r.result,
                    "data": r.data,
                }
                for r in rows
            ],
            "notes": notes,
            "errors": errors,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    if args.strict and (missed or errors):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
