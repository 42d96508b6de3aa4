"""A local ``code_dir``: uploaded to OBS before the job is submitted, under a content-addressed prefix.

``code_dir`` is local when it is a relative path (resolved against the DAG file's folder) or a ``file://``
URL; OBS paths are ``obs://bucket/…`` or, as in the ModelArts SDK, ``/bucket/…``. The upload goes to
``<code_upload_path>/<directory name>-<16 hex digits of the content hash>/``; a manifest object written last
marks it complete, so re-runs and retries of unchanged code upload nothing, and changed code gets a new prefix
(a running job's code is never overwritten).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_modelarts.exceptions import ModelArtsConfigError

if TYPE_CHECKING:
    from airflow_provider_modelarts.hooks.obs import ObsHook
    from airflow_provider_modelarts.spec import TrainingJobSpec

#: written last; its presence means the prefix holds the whole directory
MANIFEST = ".airflow-code-manifest.json"
#: never uploaded: caches and VCS metadata
EXCLUDED_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints"})
EXCLUDED_SUFFIXES = (".pyc",)


def is_local(path: Any) -> bool:
    """Whether a ``code_dir`` / ``boot_file`` value names a local path (not an OBS one)."""
    return isinstance(path, str) and bool(path) and (
        path.startswith("file://") or not path.startswith(("/", "obs://", "s3://")))


def resolve(code_dir: str, dag_file: str | None) -> Path:
    """The local directory: a ``file://`` URL's path, or a relative path below the DAG file's folder."""
    if code_dir.startswith("file://"):
        path = Path(code_dir[len("file://"):])
        if not path.is_absolute():
            raise ModelArtsConfigError(f"code_dir: a file:// URL needs an absolute path (file:///…), got {code_dir!r}")
    else:
        if not dag_file:
            raise ModelArtsConfigError(f"code_dir: {code_dir!r} is relative, but the DAG file's location is unknown")
        path = Path(dag_file).parent / code_dir
    path = path.resolve()
    if not path.is_dir():
        raise ModelArtsConfigError(f"code_dir: local directory {path} does not exist (from {code_dir!r})")
    return path


def files_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not EXCLUDED_DIRS.intersection(p.relative_to(root).parts)
                  and not p.name.endswith(EXCLUDED_SUFFIXES))


def content_hash(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).hexdigest().encode() + b"\0")
    return digest.hexdigest()


def default_upload_path(output_path: str | None) -> str:
    """``/<bucket of output_path>/modelarts-code/``: where code goes when ``code_upload_path`` is not set."""
    bucket = (output_path or "").lstrip("/").split("/", 1)[0]
    if not bucket:
        raise ModelArtsConfigError("code_upload_path: required with a local code_dir when output_path is not set")
    return f"/{bucket}/modelarts-code/"


def upload(obs: ObsHook, spec: TrainingJobSpec, *, dag_file: str | None, upload_path: str | None,
           log: Any) -> TrainingJobSpec:
    """Upload the spec's local ``code_dir`` (once per content) and return the spec with its OBS paths."""
    from airflow_provider_modelarts.hooks.obs import ObsPath
    from airflow_provider_modelarts.spec import normalise_obs

    assert spec.code_dir is not None and spec.boot_file is not None
    root = resolve(spec.code_dir, dag_file)
    relative_boot = spec.boot_file[len(spec.code_dir):]
    if not (root / relative_boot).is_file():
        raise ModelArtsConfigError(f"boot_file: {root / relative_boot} does not exist (from {spec.boot_file!r})")
    files = files_of(root)
    digest = content_hash(root, files)
    base = normalise_obs(upload_path or default_upload_path(spec.output_path), "code_upload_path").rstrip("/")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-.") or "code"
    prefix = f"{base}/{name}-{digest[:16]}/"
    target = ObsPath.parse(prefix, field_name="code_upload_path")
    if obs.exists(target.join(MANIFEST)):
        log.info("Local code %s is already on OBS at obs:/%s (same content): nothing to upload", root, prefix)
    else:
        log.info("Uploading local code %s (%d files) to obs:/%s", root, len(files), prefix)
        for file in files:
            obs.upload_file(file, target.join(file.relative_to(root).as_posix()))
        manifest = {"source": str(root), "sha256": digest, "files": [f.relative_to(root).as_posix() for f in files]}
        obs.upload_string(json.dumps(manifest, indent=1), target.join(MANIFEST))
    return replace(spec, code_dir=prefix, boot_file=prefix + relative_boot)
