"""Training the Rasa model, and what the Rasa process needs to run (interpreter, environment).

The model file is named after a fingerprint of everything that shapes it (the Rasa part of
``config.yml``, ``bot/domain.yml``, ``bot/data/``, the tokenizer and the failure policy), so "train
if missing or changed" is simply "train if ``models/madoguchi-<fingerprint>.tar.gz`` is missing".
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
BOT_DIR = REPO_ROOT / "bot"
DOMAIN_FILE = BOT_DIR / "domain.yml"
DATA_DIR = BOT_DIR / "data"
CREDENTIALS_FILE = BOT_DIR / "credentials.yml"
ENDPOINTS_FILE = BOT_DIR / "endpoints.yml"
MODEL_PREFIX = "madoguchi-"
# Code that ends up inside the trained model's graph.
MODEL_CODE = (
    REPO_ROOT / "nlu" / "tokenizer.py",
    BOT_DIR / "rasa_policy.py",
    BOT_DIR / "rasa_patches.py",
)


class TrainingError(RuntimeError):
    pass


def config_file() -> Path:
    from qa_data.settings import config_path

    return config_path()


def rasa_config_section(path: Path | None = None) -> dict:
    """config.yml without madoguchi's own key: what Rasa reads."""
    document = yaml.safe_load((path or config_file()).read_text(encoding="utf-8")) or {}
    document.pop("madoguchi", None)
    return document


def training_fingerprint(config: Path | None = None) -> str:
    digest = hashlib.sha256()
    digest.update(
        yaml.safe_dump(rasa_config_section(config), sort_keys=True, allow_unicode=True).encode()
    )
    files = [DOMAIN_FILE, *sorted(p for p in DATA_DIR.rglob("*") if p.is_file()), *MODEL_CODE]
    for path in files:
        label = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path.name
        digest.update(str(label).encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def models_dir() -> Path:
    from qa_data.settings import PROJECT_ROOT, get_settings

    path = Path(get_settings().bot.model_dir)
    return path if path.is_absolute() else PROJECT_ROOT / path


def model_path(fingerprint: str | None = None, directory: Path | None = None) -> Path:
    fingerprint = fingerprint or training_fingerprint()
    return (directory or models_dir()) / f"{MODEL_PREFIX}{fingerprint}.tar.gz"


def rasa_python() -> Path:
    """The Rasa venv's interpreter: ``MADOGUCHI_RASA_PYTHON``, else ``.venv-rasa/bin/python``."""
    override = os.environ.get("MADOGUCHI_RASA_PYTHON")
    if override:
        return Path(override)
    return REPO_ROOT / ".venv-rasa" / "bin" / "python"


def app_python() -> Path:
    return Path(sys.executable)


def service_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the Rasa and action server processes (repo root importable, quiet)."""
    env = dict(os.environ)
    python_path = [str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        python_path.append(env["PYTHONPATH"])
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(python_path),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONUNBUFFERED": "1",
            "HF_HUB_OFFLINE": env.get("HF_HUB_OFFLINE", "1"),
            "TRANSFORMERS_OFFLINE": env.get("TRANSFORMERS_OFFLINE", "1"),
        }
    )
    env.update(extra or {})
    return env


def rasa_config_file(directory: Path) -> Path:
    """Rasa's view of config.yml (without the madoguchi key), written next to the model."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "rasa-config.yml"
    target.write_text(
        yaml.safe_dump(rasa_config_section(), sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    return target


def train(
    *, force: bool = False, directory: Path | None = None, log=None, quiet: bool = False
) -> Path:
    """Train unless the model for the current data exists (or ``force``); return its path."""
    directory = directory or models_dir()
    fingerprint = training_fingerprint()
    target = model_path(fingerprint, directory)
    if target.exists() and not force:
        return target
    python = rasa_python()
    if not python.exists():
        raise TrainingError(
            f"Rasa の Python が見つかりません: {python}（make install を実行してください）"
        )
    # Rasa writes into a private folder first and the finished model is renamed into place, so
    # a process starting Rasa at the same time never loads a half-written archive.
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".training-", dir=directory))
    command = [
        str(python),
        "-m",
        "rasa",
        "train",
        "--domain",
        str(DOMAIN_FILE),
        "--data",
        str(DATA_DIR),
        "--config",
        str(rasa_config_file(directory)),
        "--out",
        str(staging),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    if force:
        command.append("--force")
    output = subprocess.PIPE if quiet else None
    try:
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=service_env(),
            stdout=log or output,
            stderr=subprocess.STDOUT if (log or quiet) else None,
            check=False,
        )
        trained = staging / target.name
        if result.returncode != 0 or not trained.exists():
            tail = ""
            if quiet and result.stdout:
                tail = result.stdout.decode("utf-8", "replace")[-3000:]
            raise TrainingError(
                f"rasa train が失敗しました (終了コード {result.returncode})\n{tail}"
            )
        os.replace(trained, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_old_models(directory, keep=target)
    return target


def _remove_old_models(directory: Path, keep: Path, spare: int = 2) -> None:
    """Delete superseded models, sparing the newest few: another process (a test session, a
    second checkout) may be about to load one of them."""
    others = sorted(
        (p for p in directory.glob(f"{MODEL_PREFIX}*.tar.gz") if p != keep),
        key=_modified,
        reverse=True,
    )
    for old in others[spare:]:
        old.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:  # removed meanwhile by another process
        return 0.0
