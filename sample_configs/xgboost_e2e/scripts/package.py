"""Packaging: bundle the model, its calibration and the inference code.

Writes `model.tar.gz` with the model files at the top level, the calibration
model under `calibration/` (when the optional input is given) and the inference
scripts under `code/`, which is the layout a model server expects. The archive
is reproducible: sorted members, fixed timestamps and owners.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
import os
import tarfile
from pathlib import Path

logger = logging.getLogger(__name__)

ARCHIVE_NAME = "model.tar.gz"
CODE_PREFIX = "code"
CALIBRATION_PREFIX = "calibration"
REQUIRED_MODEL_FILE = "model.json"
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def visible_files(folder: Path) -> list[Path]:
    """Files under a folder, sorted, without hidden files, caches or compiled code."""
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder does not exist: {folder}")
    found = []
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if any(part.startswith(".") or part in SKIPPED_PARTS for part in parts):
            continue
        if path.is_file() and not path.name.endswith(SKIPPED_SUFFIXES):
            found.append(path)
    return sorted(found)


def member_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def model_members(model_dir: Path) -> dict[str, bytes]:
    """The model's files; a model.tar.gz written by training is unpacked first."""
    members: dict[str, bytes] = {}
    for path in visible_files(model_dir):
        if path.name == ARCHIVE_NAME:
            with tarfile.open(path, "r:gz") as archive:
                for item in archive.getmembers():
                    handle = archive.extractfile(item) if item.isfile() else None
                    if handle is not None:
                        members[item.name.removeprefix("./")] = handle.read()
        else:
            members[path.relative_to(model_dir).as_posix()] = path.read_bytes()
    if REQUIRED_MODEL_FILE not in members:
        raise ValueError(
            f"model_input {model_dir} holds no {REQUIRED_MODEL_FILE}; found {sorted(members)}"
        )
    return members


def calibration_members(calibration: str | None) -> dict[str, bytes]:
    if not calibration:
        logger.info("no calibration_model input: packaging the raw model only")
        return {}
    folder = Path(calibration)
    files = visible_files(folder) if folder.is_dir() else []
    if not files:
        logger.warning("calibration_model %s is empty or missing: not packaged", folder)
    return {
        f"{CALIBRATION_PREFIX}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in files
    }


def code_members(scripts_dir: Path) -> dict[str, bytes]:
    files = visible_files(scripts_dir)
    if not any(path.suffix == ".py" for path in files):
        raise ValueError(f"inference_scripts_input {scripts_dir} holds no Python file")
    return {f"{CODE_PREFIX}/{p.relative_to(scripts_dir).as_posix()}": p.read_bytes() for p in files}


def write_archive(target: Path, members: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(members):
            archive.addfile(member_info(name, len(members[name])), io.BytesIO(members[name]))
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
) -> list[str]:
    """Build packaged_model/model.tar.gz; return the archive's member names."""
    members = model_members(Path(input_paths["model_input"]))
    members.update(calibration_members(input_paths.get("calibration_model")))
    members.update(code_members(Path(input_paths["inference_scripts_input"])))

    output_dir = Path(output_paths["packaged_model"])
    os.makedirs(output_dir, exist_ok=True)
    target = output_dir / ARCHIVE_NAME
    write_archive(target, members)
    total = sum(len(data) for data in members.values())
    logger.info("wrote %s: %d members, %d bytes unpacked", target, len(members), total)
    for name in sorted(members):
        logger.info("  %s", name)
    return sorted(members)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    main(
        input_paths={
            "model_input": "/opt/ml/processing/input/model",
            "calibration_model": "/opt/ml/processing/input/calibration",
            "inference_scripts_input": "/opt/ml/processing/input/script",
        },
        output_paths={"packaged_model": "/opt/ml/processing/output"},
        environ_vars=dict(os.environ),
        job_args=argparse.Namespace(),
    )
