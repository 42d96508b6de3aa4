"""``ObsHook``: Huawei Cloud OBS (object storage) on the same ``modelarts`` connection as the training jobs.

Requests go through the ModelArts client's one request path (credentials, retry predicate, secret masking, the
AK lock-out guard), signed with OBS's own signature (:mod:`airflow_provider_modelarts.obs_signer`). With
``password`` auth the IAM token is exchanged for temporary AK/SK; with ``env`` auth the environment's or the
metadata service's (temporary) keys are used, as for ModelArts.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_modelarts import obs_api
from airflow_provider_modelarts.exceptions import ModelArtsConfigError, ModelArtsNotFoundError
from airflow_provider_modelarts.hooks.client import ModelArtsClient
from airflow_provider_modelarts.hooks.connection import ConnectionConfig
from airflow_provider_modelarts.hooks.credentials import mask
from airflow_provider_modelarts.hooks.http import ApiRequest, RawResponse

#: the default part size for multipart uploads and ranged downloads (within OBS's 100 KB – 5 GB)
DEFAULT_PART_SIZE = 16 * obs_api.MiB


@dataclass(frozen=True)
class ObsPath:
    """A bucket and an object key (or key prefix). Written ``obs://bucket/key`` or, as the ModelArts SDK
    does, ``/bucket/key``."""

    bucket: str
    key: str = ""

    def __post_init__(self) -> None:
        problem = obs_api.bucket_name_problem(self.bucket)
        if problem:
            raise ModelArtsConfigError(f"bucket name: {problem}")
        if len(self.key.encode()) > obs_api.MAX_KEY_BYTES:
            raise ModelArtsConfigError(f"object key longer than {obs_api.MAX_KEY_BYTES} bytes (UTF-8): "
                                       f"{self.key[:40]!r}…")
        if any(segment in (".", "..") for segment in self.key.split("/")):
            # HTTP clients resolve them (RFC 3986 dot segments): the request would name another object
            raise ModelArtsConfigError(f"object key {self.key!r}: '.' and '..' segments are not supported")

    @classmethod
    def parse(cls, path: str | ObsPath, *, field_name: str = "path") -> ObsPath:
        if isinstance(path, ObsPath):
            return path
        if not isinstance(path, str) or not path.startswith(("obs://", "/")) or path.startswith("//"):
            raise ModelArtsConfigError(f"{field_name}: expected an OBS path 'obs://bucket/key' or '/bucket/key', "
                                       f"got {path!r}")
        bucket, _, key = path.removeprefix("obs://").lstrip("/").partition("/")
        try:
            return cls(bucket, key)
        except ModelArtsConfigError as err:
            raise ModelArtsConfigError(f"{field_name}: {err}") from None

    def __str__(self) -> str:
        return f"obs://{self.bucket}/{self.key}"

    def join(self, relative: str) -> ObsPath:
        """The key ``relative`` below this one as a directory (``a/`` + ``b/c`` → ``a/b/c``)."""
        base = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return ObsPath(self.bucket, base + relative.lstrip("/"))


@dataclass(frozen=True)
class ObjectInfo:
    """One object of a listing or a HEAD: ``size`` in bytes, ``etag`` without quotes."""

    bucket: str
    key: str
    size: int
    etag: str = ""
    last_modified: str = ""

    @property
    def path(self) -> str:
        return f"obs://{self.bucket}/{self.key}"


def _xml(raw: bytes) -> ElementTree.Element:
    root = ElementTree.fromstring(raw)
    for element in root.iter():  # OBS answers in its namespace: drop it, names are unique here
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


class ObsHook(BaseHook):
    """Read and write Huawei Cloud OBS with a ``modelarts`` connection.

    Paths are ``obs://bucket/key`` or ``/bucket/key``. The endpoint is ``https://obs.{region}.myhuaweicloud.com``
    unless the connection's extra sets ``obs_endpoint``; buckets are addressed virtual-hosted
    (``bucket.obs.…``) except on an IP address or ``localhost`` endpoint, or when ``obs_path_style`` is true.

    :param modelarts_conn_id: the connection id, ``modelarts_default`` by default.
    :param part_size: bytes per part of a multipart upload and per ranged read of a download; files larger than
        this are uploaded in parts (100 KB to 5 GB; grown when a file would need more than 10,000 parts).
    """

    conn_name_attr = "modelarts_conn_id"
    default_conn_name = "modelarts_default"
    conn_type = "modelarts"
    hook_name = "Huawei Cloud OBS"

    def __init__(self, modelarts_conn_id: str = default_conn_name, *, part_size: int = DEFAULT_PART_SIZE,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(part_size, int) or not obs_api.MIN_PART_SIZE <= part_size <= obs_api.MAX_PART_SIZE:
            raise ModelArtsConfigError(f"part_size: expected an integer from {obs_api.MIN_PART_SIZE} (100 KB) to "
                                       f"{obs_api.MAX_PART_SIZE} (5 GB) bytes, got {part_size!r}")
        self.modelarts_conn_id = modelarts_conn_id
        self.part_size = part_size

    @cached_property
    def config(self) -> ConnectionConfig:
        config = ConnectionConfig.from_connection(self.get_connection(self.modelarts_conn_id))
        mask(*config.secrets)
        return config

    @cached_property
    def client(self) -> ModelArtsClient:
        return ModelArtsClient(self.config)

    def _call(self, method: str, bucket: str | None, key: str | None = None, *, query: list[tuple[str, Any]] | None = None,
              headers: dict[str, str] | None = None, body: bytes | None = None, operation: str,
              idempotent: bool = True) -> RawResponse:
        return self.client.call(ApiRequest(method, "", query=query or [], body=body, base="obs", bucket=bucket,
                                           key=key or None, headers=headers or {}, operation=operation,
                                           idempotent=idempotent))

    # ------------------------------------------------------------------ buckets
    def list_buckets(self) -> list[str]:
        root = _xml(self._call("GET", None, operation="OBS list buckets").body)
        return [b.findtext("Name") or "" for b in root.iter("Bucket")]

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._call("HEAD", ObsPath.parse(f"obs://{bucket}", field_name="bucket").bucket,
                       operation="OBS head bucket")
        except ModelArtsNotFoundError:
            return False
        return True

    def create_bucket(self, bucket: str) -> None:
        """Create ``bucket`` in the connection's region; nothing happens when it exists and is yours."""
        name = ObsPath.parse(f"obs://{bucket}", field_name="bucket").bucket
        body = (f"<CreateBucketConfiguration><Location>{escape(self.config.region)}</Location>"
                "</CreateBucketConfiguration>").encode()
        try:
            self._call("PUT", name, body=body, operation="OBS create bucket")
        except Exception as err:
            if getattr(err, "error_code", None) != obs_api.BUCKET_ALREADY_OWNED.code:
                raise

    # ------------------------------------------------------------------ reading
    def head(self, path: str | ObsPath) -> ObjectInfo | None:
        """The object's size and ETag, or None when it does not exist."""
        where = ObsPath.parse(path)
        try:
            response = self._call("HEAD", where.bucket, where.key, operation="OBS head object")
        except ModelArtsNotFoundError:
            return None
        return ObjectInfo(where.bucket, where.key, int(response.header("Content-Length") or 0),
                          (response.header("ETag") or "").strip('"'), response.header("Last-Modified") or "")

    def exists(self, path: str | ObsPath) -> bool:
        return self.head(path) is not None

    def read(self, path: str | ObsPath) -> bytes:
        where = ObsPath.parse(path)
        return self._call("GET", where.bucket, where.key, operation="OBS get object").body

    def read_text(self, path: str | ObsPath, encoding: str = "utf-8") -> str:
        return self.read(path).decode(encoding)

    def list(self, prefix: str | ObsPath, *, delimiter: str | None = None,
             page_size: int = obs_api.MAX_KEYS) -> Iterator[ObjectInfo]:
        """Every object whose key starts with the path's key, page by page (``marker``), in key order.

        With ``delimiter`` (e.g. ``/``) the keys below the next delimiter are folded into common prefixes,
        which are yielded as ``ObjectInfo`` with ``size=-1``.
        """
        where = ObsPath.parse(prefix)
        if not 1 <= page_size <= obs_api.MAX_KEYS:
            raise ModelArtsConfigError(f"page_size: expected 1 to {obs_api.MAX_KEYS}, got {page_size!r}")
        marker = ""
        while True:
            query: list[tuple[str, Any]] = [("prefix", where.key), ("max-keys", page_size)]
            if marker:
                query.append(("marker", marker))
            if delimiter:
                query.append(("delimiter", delimiter))
            root = _xml(self._call("GET", where.bucket, query=query, operation="OBS list objects").body)
            last = ""
            for item in root.findall("Contents"):
                last = item.findtext("Key") or ""
                yield ObjectInfo(where.bucket, last, int(item.findtext("Size") or 0),
                                 (item.findtext("ETag") or "").strip('"'), item.findtext("LastModified") or "")
            for common in root.findall("CommonPrefixes"):
                last = max(last, common.findtext("Prefix") or "")
                yield ObjectInfo(where.bucket, common.findtext("Prefix") or "", -1)
            if (root.findtext("IsTruncated") or "false").lower() != "true":
                return
            marker = root.findtext("NextMarker") or last
            if not marker:
                return

    def list_keys(self, prefix: str | ObsPath) -> list[str]:
        """The ``obs://`` paths of every object below ``prefix``."""
        return [info.path for info in self.list(prefix)]

    def download_file(self, path: str | ObsPath, local_path: str | os.PathLike) -> Path:
        """Write the object to ``local_path`` (parents created), in ranged reads of ``part_size`` bytes for big
        objects; the file appears complete or not at all."""
        where = ObsPath.parse(path)
        info = self.head(where)
        if info is None:
            raise ModelArtsNotFoundError(f"{where} does not exist", http_status=404, operation="OBS download")
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                if info.size <= self.part_size:
                    out.write(self.read(where))
                else:
                    for start in range(0, info.size, self.part_size):
                        end = min(info.size, start + self.part_size) - 1
                        out.write(self._call("GET", where.bucket, where.key, headers={"Range": f"bytes={start}-{end}"},
                                             operation="OBS get object range").body)
                        self.log.info("Downloaded %s of %s from %s", _size(end + 1), _size(info.size), where)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def download_directory(self, prefix: str | ObsPath, local_dir: str | os.PathLike) -> list[Path]:
        """Every object below ``prefix`` into ``local_dir``, keeping the key structure below the prefix."""
        where = ObsPath.parse(prefix)
        base = where.key if not where.key or where.key.endswith("/") else where.key + "/"
        root = Path(local_dir).resolve()
        written = []
        for info in self.list(ObsPath(where.bucket, base)):
            relative = info.key[len(base):]
            if not relative or relative.endswith("/"):
                continue  # a folder marker
            target = (root / relative).resolve()
            if root not in target.parents:
                raise ModelArtsConfigError(f"{info.path}: its key leaves {root} when written locally")
            written.append(self.download_file(ObsPath(info.bucket, info.key), target))
        return written

    # ------------------------------------------------------------------ writing
    def upload_bytes(self, data: bytes, path: str | ObsPath, *, content_type: str | None = None) -> str:
        """Write one object (up to 5 GB); returns its ``obs://`` path."""
        where = ObsPath.parse(path)
        if len(data) > obs_api.MAX_PUT_SIZE:
            raise ModelArtsConfigError(f"{where}: {_size(len(data))} is over OBS's 5 GB limit for one PUT; use "
                                       "upload_file (multipart)")
        headers = {"Content-Type": content_type or "application/octet-stream"}
        self._call("PUT", where.bucket, where.key, body=data, headers=headers, operation="OBS put object")
        return str(where)

    def upload_string(self, text: str, path: str | ObsPath, *, encoding: str = "utf-8") -> str:
        return self.upload_bytes(text.encode(encoding), path, content_type=f"text/plain; charset={encoding}")

    def upload_file(self, local_path: str | os.PathLike, path: str | ObsPath) -> str:
        """Upload a file; larger than ``part_size`` it goes up in parts, with progress in the task log, and an
        upload that fails is aborted (no orphaned parts). Returns the ``obs://`` path."""
        source = Path(local_path)
        where = ObsPath.parse(path)
        size = source.stat().st_size
        if size <= self.part_size:
            return self.upload_bytes(source.read_bytes(), where)
        part_size = max(self.part_size, math.ceil(size / obs_api.MAX_PARTS))
        parts = math.ceil(size / part_size)
        answer = self._call("POST", where.bucket, where.key, query=[("uploads", None)],
                            headers={"Content-Type": "application/octet-stream"},
                            operation="OBS initiate multipart upload", idempotent=False)
        upload_id = _xml(answer.body).findtext("UploadId") or ""
        etags: list[str] = []
        try:
            with source.open("rb") as stream:
                for number in range(1, parts + 1):
                    chunk = stream.read(part_size)
                    response = self._call("PUT", where.bucket, where.key, body=chunk,
                                          query=[("partNumber", number), ("uploadId", upload_id)],
                                          operation="OBS upload part")
                    etags.append(response.header("ETag") or "")
                    self.log.info("Uploading %s to %s: part %d/%d (%s of %s)", source.name, where, number, parts,
                                  _size(min(size, number * part_size)), _size(size))
            body = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{escape(tag)}</ETag></Part>"
                           for n, tag in enumerate(etags, 1))
            self._call("POST", where.bucket, where.key, query=[("uploadId", upload_id)],
                       body=f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode(),
                       headers={"Content-Type": "application/xml"}, operation="OBS complete multipart upload")
        except BaseException:
            try:
                self._call("DELETE", where.bucket, where.key, query=[("uploadId", upload_id)],
                           operation="OBS abort multipart upload")
            except Exception as err:  # the first error is the one to report
                self.log.warning("Could not abort the multipart upload of %s: %s", where, err)
            raise
        return str(where)

    def upload_directory(self, local_dir: str | os.PathLike, prefix: str | ObsPath) -> list[str]:
        """Every file below ``local_dir`` (recursively, symlinked files followed) to ``prefix/<relative path>``."""
        root = Path(local_dir)
        if not root.is_dir():
            raise ModelArtsConfigError(f"local_dir: {root} is not a directory")
        where = ObsPath.parse(prefix)
        return [self.upload_file(file, where.join(file.relative_to(root).as_posix()))
                for file in sorted(p for p in root.rglob("*") if p.is_file())]

    def copy(self, source: str | ObsPath, destination: str | ObsPath) -> str:
        """Server-side copy of one object (up to 5 GB); returns the destination's ``obs://`` path."""
        src, dst = ObsPath.parse(source, field_name="source"), ObsPath.parse(destination, field_name="destination")
        from airflow_provider_modelarts.obs_signer import quote_key

        self._call("PUT", dst.bucket, dst.key, headers={"x-obs-copy-source": f"/{src.bucket}/{quote_key(src.key)}"},
                   operation="OBS copy object")
        return str(dst)

    def delete(self, path: str | ObsPath) -> None:
        """Delete one object (no error when it does not exist)."""
        where = ObsPath.parse(path)
        self._call("DELETE", where.bucket, where.key, operation="OBS delete object")

    def delete_prefix(self, prefix: str | ObsPath) -> int:
        """Delete every object below ``prefix``; returns how many."""
        infos = [info for info in self.list(prefix)]
        for info in infos:
            self.delete(ObsPath(info.bucket, info.key))
        return len(infos)


def _size(n: int) -> str:
    for unit, factor in (("GiB", obs_api.GiB), ("MiB", obs_api.MiB), ("KiB", obs_api.KiB)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} B"
