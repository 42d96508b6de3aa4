"""OBS, the subset the OBS hook uses, over the emulator's local OBS directory (the one its jobs read and write).

Served path-style at the emulator's root (``{url}/{bucket}/{key}``; the connection's ``obs_endpoint`` is the
emulator's URL), after every other route: a first path segment that is a valid bucket name and not one of the
emulator's own prefixes (``metadata``, ``console``; ``v1``/``v2``/``v3`` are too short to be bucket names) is a
bucket, so the esdk's path-style client works unchanged. Every request is checked with OBS's signature (:mod:`airflow_provider_modelarts.obs_signer`),
limits and error codes come from :mod:`airflow_provider_modelarts.obs_api` (documented there with their pages),
and errors are answered in OBS's XML. Emulator limits (docs/api-fidelity.md): a key cannot be both an object and
a "directory" of other keys, keys with empty, ``.`` or ``..`` segments are refused (they would leave or alias
the local directory), object metadata other than size/ETag/time is not kept, and a multipart object's ETag is
its content's MD5.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from airflow_provider_modelarts import obs_api, obs_signer
from airflow_provider_modelarts.emulator.state import Emulator
from airflow_provider_modelarts.obs_api import ObsError

#: bucket names the emulator keeps for its own routes
RESERVED_BUCKETS = ("metadata", "console")


class BucketConvertor(Convertor):
    """A path segment that can be a bucket (obs_api.BUCKET_RE's characters) and is not an emulator prefix."""

    regex = r"(?!(?:metadata|console)(?:/|$))[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("obsbucket", BucketConvertor())


class ObsFailure(Exception):
    """An OBS error answer (XML)."""

    def __init__(self, error: ObsError, detail: str = "", resource: str = "") -> None:
        super().__init__(detail or error.message)
        self.error = error
        self.detail = detail
        self.resource = resource


def error_response(error: ObsError, request_id: str, detail: str = "", resource: str = "",
                   method: str = "GET") -> Response:
    """OBS's error body (OTC object-storage-service error_codes.rst, "Error Response Syntax")."""
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
            f"<Code>{error.code}</Code><Message>{escape(detail or error.message)}</Message>"
            f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
            f"<HostId>{base64.b64encode(request_id.encode()).decode()}</HostId></Error>")
    return Response(b"" if method == "HEAD" else body.encode(), status_code=error.status,
                    media_type="application/xml", headers={"x-obs-request-id": request_id})


def _xml(tag: str, inner: str) -> Response:
    return Response(f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{tag} xmlns=\"{obs_api.XMLNS}\">{inner}</{tag}>",
                    media_type="application/xml")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_ETAGS: dict[tuple[str, int, int], str] = {}


def etag(path: Path) -> str:
    stat = path.stat()
    cache_key = (str(path), stat.st_mtime_ns, stat.st_size)
    if cache_key not in _ETAGS:
        digest = hashlib.md5()  # noqa: S324 - OBS's ETag is the content MD5
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        if len(_ETAGS) > 10_000:
            _ETAGS.clear()
        _ETAGS[cache_key] = digest.hexdigest()
    return _ETAGS[cache_key]


class LocalBuckets:
    """Buckets are the top-level directories of the local OBS root; an object is a file below one."""

    def __init__(self, root: Path, uploads: Path) -> None:
        self.root = root.resolve()
        self.uploads = uploads
        uploads.mkdir(parents=True, exist_ok=True)

    def bucket(self, name: str, *, must_exist: bool = True) -> Path:
        if obs_api.bucket_name_problem(name) or name in RESERVED_BUCKETS:
            raise ObsFailure(obs_api.INVALID_BUCKET_NAME, resource=f"/{name}")
        path = self.root / name
        if must_exist and not path.is_dir():
            raise ObsFailure(obs_api.NO_SUCH_BUCKET, resource=f"/{name}")
        return path

    def object(self, bucket: str, key: str) -> Path:
        base = self.bucket(bucket)
        if len(key.encode()) > obs_api.MAX_KEY_BYTES:
            raise ObsFailure(obs_api.KEY_TOO_LONG, resource=f"/{bucket}/{key}")
        segments = key.rstrip("/").split("/")
        if not key or any(s in ("", ".", "..") for s in segments) or "\0" in key:
            raise ObsFailure(obs_api.INVALID_ARGUMENT, "The emulator cannot store keys with empty, '.' or '..' "
                             "segments (they would leave or alias its local directory).", f"/{bucket}/{key}")
        path = base.joinpath(*segments)
        if base.resolve() not in path.resolve().parents:
            raise ObsFailure(obs_api.INVALID_ARGUMENT, "The key leaves the bucket.", f"/{bucket}/{key}")
        return path

    def listing(self, bucket: str, prefix: str) -> list[tuple[str, Path]]:
        """(key, file) of every object whose key starts with ``prefix``, in key order."""
        base = self.bucket(bucket)
        start = base.joinpath(*[s for s in prefix.split("/")[:-1] if s not in ("", ".", "..")])
        found: list[tuple[str, Path]] = []
        if not start.is_dir():
            return found
        for directory, _, files in os.walk(start):
            for name in files:
                path = Path(directory) / name
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        found.sort(key=lambda item: item[0].encode())
        return found

    def write(self, target: Path, chunks: list[Path] | bytes) -> None:
        """Atomically (a temporary file beside the uploads, then a rename)."""
        if target.is_dir():
            raise ObsFailure(obs_api.INVALID_ARGUMENT, "The emulator holds other keys below this one (a local "
                             "directory); it cannot store both.")
        for parent in target.parents:
            if parent == self.root:
                break
            if parent.is_file():
                raise ObsFailure(obs_api.INVALID_ARGUMENT, f"The emulator holds an object at "
                                 f"{parent.relative_to(self.root).as_posix()}; it cannot store keys below it.")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.uploads / f"tmp-{secrets.token_hex(8)}"
        with tmp.open("wb") as out:
            if isinstance(chunks, bytes):
                out.write(chunks)
            else:
                for part in chunks:
                    with part.open("rb") as stream:
                        shutil.copyfileobj(stream, out, 1 << 20)
        os.replace(tmp, target)


def add_obs_routes(app: FastAPI, emu: Emulator) -> None:
    store = LocalBuckets(emu.obs.root, emu.settings.root / "obs-uploads")

    async def authenticate(request: Request, bucket: str | None, key: str | None) -> None:
        headers = dict(request.headers)
        auth = obs_signer.ObsAuthorization.parse(headers.get("authorization"))
        resource = "/" + "/".join(p for p in (bucket, key) if p)
        if auth is None:
            request.state.auth = "denied:AccessDenied"
            raise ObsFailure(obs_api.ACCESS_DENIED, "The request carries no 'Authorization: OBS AK:Signature' "
                             "(or S3-compatible 'AWS AK:Signature') header.", resource)
        secret, principal = emu.gate.key_secret(auth.access_key, headers.get(auth.flavor.security_token_header))
        if secret is None:
            request.state.auth = "denied:InvalidAccessKeyId"
            raise ObsFailure(obs_api.INVALID_ACCESS_KEY_ID, f"{obs_api.INVALID_ACCESS_KEY_ID.message} "
                             f"({principal})", resource)
        query = [(k, v if v != "" or f"{k}=" in request.url.query else None)
                 for k, v in request.query_params.multi_items()]
        try:
            obs_signer.verify(method=request.method, bucket=bucket, key=key, query=query, headers=headers,
                              secret_key=secret, auth=auth, path_style=True)
        except obs_signer.ObsSignatureError as err:
            request.state.auth = f"denied:{err}"
            if str(err) == "RequestTimeTooSkewed":
                raise ObsFailure(obs_api.REQUEST_TIME_TOO_SKEWED, resource=resource) from None
            if str(err) == "SignatureDoesNotMatch":
                raise ObsFailure(obs_api.SIGNATURE_DOES_NOT_MATCH, resource=resource) from None
            raise ObsFailure(obs_api.ACCESS_DENIED, str(err), resource) from None
        request.state.auth = principal

    @app.exception_handler(ObsFailure)
    async def _obs_failure(request: Request, err: ObsFailure) -> Response:
        request_id = request.scope.get("state", {}).get("request_id") or secrets.token_hex(16)
        return error_response(err.error, request_id, err.detail, err.resource, request.method)

    # ------------------------------------------------------------------ service and buckets
    @app.get("/", name="obs_list_buckets")
    async def list_buckets(request: Request) -> Response:
        await authenticate(request, None, None)
        buckets = sorted(p for p in store.root.iterdir() if p.is_dir() and not obs_api.bucket_name_problem(p.name))
        inner = "".join(f"<Bucket><Name>{b.name}</Name><CreationDate>{_iso(b.stat().st_mtime)}</CreationDate>"
                        f"<Location>{emu.account.region}</Location></Bucket>" for b in buckets)
        return _xml("ListAllMyBucketsResult", f"<Owner><ID>{emu.account.domain_id}</ID></Owner>"
                                              f"<Buckets>{inner}</Buckets>")

    @app.api_route("/{bucket:obsbucket}", methods=["GET", "HEAD", "PUT", "DELETE"], name="obs_bucket")
    @app.api_route("/{bucket:obsbucket}/", methods=["GET", "HEAD", "PUT", "DELETE"], name="obs_bucket_slash",
                   include_in_schema=False)
    async def bucket_route(request: Request, bucket: str) -> Response:
        await authenticate(request, bucket, None)
        if request.method == "PUT":
            path = store.bucket(bucket, must_exist=False)
            if path.is_dir():
                raise ObsFailure(obs_api.BUCKET_ALREADY_OWNED, resource=f"/{bucket}")
            path.mkdir(parents=True)
            return Response(status_code=200, headers={"Location": f"/{bucket}"})
        path = store.bucket(bucket)
        if request.method == "HEAD":
            return Response(status_code=200)
        if request.method == "DELETE":
            if any(path.iterdir()):
                raise ObsFailure(obs_api.BUCKET_NOT_EMPTY, resource=f"/{bucket}")
            path.rmdir()
            return Response(status_code=204)
        return await asyncio.to_thread(_list_objects, request, bucket)

    def _list_objects(request: Request, bucket: str) -> Response:
        params = request.query_params
        prefix, marker, delimiter = params.get("prefix", ""), params.get("marker", ""), params.get("delimiter", "")
        try:
            max_keys = int(params.get("max-keys", obs_api.MAX_KEYS))
        except ValueError:
            raise ObsFailure(obs_api.INVALID_ARGUMENT, "max-keys must be an integer from 1 to 1000.") from None
        if max_keys < 1:
            raise ObsFailure(obs_api.INVALID_ARGUMENT, "max-keys must be an integer from 1 to 1000.")
        max_keys = min(max_keys, obs_api.MAX_KEYS)  # "greater than 1000: only 1,000 objects are returned"
        entries: list[str] = []
        truncated = False
        last = ""
        last_common = None
        for key, path in store.listing(bucket, prefix):
            if marker and key.encode() <= marker.encode():
                continue
            rest = key[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest[:rest.index(delimiter) + len(delimiter)]
                if common == last_common or (marker and common.encode() <= marker.encode()):
                    continue
                last_common = name = common
                entry = f"<CommonPrefixes><Prefix>{escape(common)}</Prefix></CommonPrefixes>"
            else:
                stat = path.stat()
                name = key
                entry = (f"<Contents><Key>{escape(key)}</Key><LastModified>{_iso(stat.st_mtime)}</LastModified>"
                         f"<ETag>\"{etag(path)}\"</ETag><Size>{stat.st_size}</Size>"
                         "<StorageClass>STANDARD</StorageClass></Contents>")
            if len(entries) == max_keys:
                truncated = True
                break
            entries.append(entry)
            last = name
        inner = (f"<Name>{bucket}</Name><Prefix>{escape(prefix)}</Prefix><Marker>{escape(marker)}</Marker>"
                 f"<MaxKeys>{max_keys}</MaxKeys>" + (f"<Delimiter>{escape(delimiter)}</Delimiter>" if delimiter else "")
                 + f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"
                 + (f"<NextMarker>{escape(last)}</NextMarker>" if truncated else "") + "".join(entries))
        return _xml("ListBucketResult", inner)

    # ------------------------------------------------------------------ objects
    @app.api_route("/{bucket:obsbucket}/{key:path}", methods=["GET", "HEAD", "PUT", "DELETE", "POST"],
                   name="obs_object")
    async def object_route(request: Request, bucket: str, key: str) -> Response:
        await authenticate(request, bucket, key)
        params = request.query_params
        if request.method == "POST" and "uploads" in params:
            return _initiate(bucket, key)
        if "uploadId" in params:
            upload = _upload(params["uploadId"], bucket, key)
            if request.method == "PUT":
                return await _upload_part(request, upload)
            if request.method == "POST":
                return await asyncio.to_thread(_complete, upload, bucket, key, await request.body())
            if request.method == "DELETE":
                shutil.rmtree(upload, ignore_errors=True)
                return Response(status_code=204)
        if request.method == "POST":
            raise ObsFailure(obs_api.METHOD_NOT_ALLOWED, resource=f"/{bucket}/{key}")
        target = store.object(bucket, key)
        if request.method == "PUT":
            source = request.headers.get("x-obs-copy-source") or request.headers.get("x-amz-copy-source")
            if source is not None:
                return await asyncio.to_thread(_copy, source, target)
            body = await request.body()
            _check_digest(request, body)
            if len(body) > obs_api.MAX_PUT_SIZE:
                raise ObsFailure(obs_api.ENTITY_TOO_LARGE, resource=f"/{bucket}/{key}")
            if key.endswith("/") and not body:  # a folder marker
                target.mkdir(parents=True, exist_ok=True)
                return Response(status_code=200, headers={"ETag": f"\"{hashlib.md5(b'').hexdigest()}\""})  # noqa: S324
            await asyncio.to_thread(store.write, target, body)
            return Response(status_code=200, headers={"ETag": f"\"{hashlib.md5(body).hexdigest()}\""})  # noqa: S324
        if request.method == "DELETE":
            if target.is_file():
                target.unlink()
            return Response(status_code=204)
        if not target.is_file():
            if key.endswith("/") and target.is_dir():
                return Response(b"", headers={"Content-Length": "0", "ETag": f"\"{hashlib.md5(b'').hexdigest()}\""})  # noqa: S324
            raise ObsFailure(obs_api.NO_SUCH_KEY, resource=f"/{bucket}/{key}")
        return await asyncio.to_thread(_read, request, target)

    def _initiate(bucket: str, key: str) -> Response:
        store.object(bucket, key)  # the key must be storable
        upload_id = secrets.token_hex(16).upper()
        folder = store.uploads / upload_id
        folder.mkdir()
        (folder / "upload.json").write_text(json.dumps({"bucket": bucket, "key": key, "started": time.time()}))
        return _xml("InitiateMultipartUploadResult", f"<Bucket>{bucket}</Bucket><Key>{escape(key)}</Key>"
                                                     f"<UploadId>{upload_id}</UploadId>")

    def _upload(upload_id: str, bucket: str, key: str) -> Path:
        folder = store.uploads / upload_id
        if not upload_id.isalnum() or not (folder / "upload.json").is_file():
            raise ObsFailure(obs_api.NO_SUCH_UPLOAD, resource=f"/{bucket}/{key}")
        meta = json.loads((folder / "upload.json").read_text())
        if (meta["bucket"], meta["key"]) != (bucket, key):
            raise ObsFailure(obs_api.NO_SUCH_UPLOAD, resource=f"/{bucket}/{key}")
        return folder

    async def _upload_part(request: Request, upload: Path) -> Response:
        try:
            number = int(request.query_params.get("partNumber", ""))
        except ValueError:
            number = 0
        if not 1 <= number <= obs_api.MAX_PARTS:
            raise ObsFailure(obs_api.INVALID_ARGUMENT, "partNumber must be an integer from 1 to 10000.")
        body = await request.body()
        _check_digest(request, body)
        if len(body) > obs_api.MAX_PART_SIZE:
            raise ObsFailure(obs_api.ENTITY_TOO_LARGE)
        await asyncio.to_thread((upload / f"part-{number:05d}").write_bytes, body)
        return Response(status_code=200, headers={"ETag": f"\"{hashlib.md5(body).hexdigest()}\""})  # noqa: S324

    def _complete(upload: Path, bucket: str, key: str, body: bytes) -> Response:
        try:
            root = ElementTree.fromstring(body)
            parts = [(int(p.findtext("{*}PartNumber") or p.findtext("PartNumber") or ""),
                      (p.findtext("{*}ETag") or p.findtext("ETag") or "").strip('"'))
                     for p in root.iter() if p.tag.rsplit("}", 1)[-1] == "Part"]
        except (ElementTree.ParseError, ValueError):
            raise ObsFailure(obs_api.MALFORMED_XML, resource=f"/{bucket}/{key}") from None
        if not parts:
            raise ObsFailure(obs_api.MALFORMED_XML, "The request lists no parts.", f"/{bucket}/{key}")
        numbers = [n for n, _ in parts]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise ObsFailure(obs_api.INVALID_PART_ORDER, resource=f"/{bucket}/{key}")
        files = []
        for index, (number, tag) in enumerate(parts):
            part = upload / f"part-{number:05d}"
            if not part.is_file() or etag(part) != tag:
                raise ObsFailure(obs_api.INVALID_PART, f"Part {number} was not uploaded or its ETag differs.",
                                 f"/{bucket}/{key}")
            if index < len(parts) - 1 and part.stat().st_size < obs_api.MIN_PART_SIZE:
                raise ObsFailure(obs_api.ENTITY_TOO_SMALL, f"Part {number} is smaller than 100 KB and not the "
                                 "last part.", f"/{bucket}/{key}")
            files.append(part)
        target = store.object(bucket, key)
        store.write(target, files)
        shutil.rmtree(upload, ignore_errors=True)
        return _xml("CompleteMultipartUploadResult", f"<Location>/{bucket}/{escape(key)}</Location>"
                                                     f"<Bucket>{bucket}</Bucket><Key>{escape(key)}</Key>"
                                                     f"<ETag>\"{etag(target)}\"</ETag>")

    def _copy(source: str, target: Path) -> Response:
        src_bucket, _, src_key = unquote(source).lstrip("/").partition("/")
        src = store.object(src_bucket, src_key)
        if not src.is_file():
            raise ObsFailure(obs_api.NO_SUCH_KEY, resource=f"/{src_bucket}/{src_key}")
        store.write(target, [src])
        return _xml("CopyObjectResult", f"<LastModified>{_iso(target.stat().st_mtime)}</LastModified>"
                                        f"<ETag>\"{etag(target)}\"</ETag>")

    def _read(request: Request, target: Path) -> Response:
        stat = target.stat()
        headers = {"ETag": f"\"{etag(target)}\"", "Last-Modified": obs_signer.http_date(stat.st_mtime),
                   "Accept-Ranges": "bytes"}
        size = stat.st_size
        wanted = request.headers.get("range")
        start, end, status = 0, size - 1, 200
        if wanted:
            start, end = _range(wanted, size)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(max(0, end - start + 1))
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers, media_type="application/octet-stream")
        with target.open("rb") as stream:
            stream.seek(start)
            data = stream.read(max(0, end - start + 1))
        return Response(data, status_code=status, headers=headers, media_type="application/octet-stream")

    def _check_digest(request: Request, body: bytes) -> None:
        md5 = request.headers.get("content-md5")
        if md5 is not None and md5 != base64.b64encode(hashlib.md5(body).digest()).decode():  # noqa: S324
            raise ObsFailure(obs_api.BAD_DIGEST)


def _range(value: str, size: int) -> tuple[int, int]:
    """``bytes=a-b`` | ``bytes=a-`` | ``bytes=-n`` → (start, end) inclusive, or InvalidRange."""
    spec = value.strip().removeprefix("bytes=")
    first, _, last = spec.partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        raise ObsFailure(obs_api.INVALID_RANGE) from None
    if start > end or start >= size:
        raise ObsFailure(obs_api.INVALID_RANGE)
    return start, end
