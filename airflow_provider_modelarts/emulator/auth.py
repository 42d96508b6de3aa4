"""The gateway's checks: AK/SK signatures (with the provider's own signer), IAM tokens, temporary keys."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from airflow_provider_modelarts import signer
from airflow_provider_modelarts.emulator.errors import (
    AUTH_FAILED,
    PROJECT_MISMATCH,
    TOKEN_NO_PROJECT,
    EmulatorError,
)
from airflow_provider_modelarts.emulator.store import Store

#: Huawei locks an AK after more than five consecutive bad signatures (§5); the duration is [not found].
MAX_BAD_SIGNATURES = 5
LOCK_SECONDS = 300.0


@dataclass(frozen=True)
class Principal:
    method: str  # "aksk", "temp-aksk", "token"
    project_id: str | None


@dataclass
class Account:
    access_key: str
    secret_key: str
    user: str
    password: str
    domain: str
    domain_id: str
    region: str
    project_id: str
    token_lifetime: float = 24 * 3600.0
    temp_key_lifetime: float = 900.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class Gatekeeper:
    def __init__(self, store: Store, account: Account) -> None:
        self.store = store
        self.account = account
        self._lock = threading.Lock()
        self._bad: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    # ------------------------------------------------------------------ issuing
    def issue_token(self, *, project_id: str | None) -> tuple[str, float]:
        token = "MII" + secrets.token_urlsafe(96)
        expires = time.time() + self.account.token_lifetime
        self.store.execute("INSERT INTO tokens(token, user_name, domain_name, project_id, expires_at) VALUES (?,?,?,?,?)",
                           (token, self.account.user, self.account.domain, project_id, expires))
        return token, expires

    def issue_temp_key(self, duration: float | None = None) -> dict[str, str]:
        access = "TMP" + secrets.token_hex(10).upper()
        secret = secrets.token_urlsafe(30)
        security_token = "gQ" + secrets.token_urlsafe(120)
        expires = time.time() + (duration or self.account.temp_key_lifetime)
        self.store.execute("INSERT INTO temp_keys(access, secret, security_token, expires_at) VALUES (?,?,?,?)",
                           (access, secret, security_token, expires))
        return {"access": access, "secret": secret, "securitytoken": security_token, "expires_at": iso(expires)}

    # ------------------------------------------------------------------ checking
    def token_principal(self, token: str) -> Principal:
        row = self.store.one("SELECT * FROM tokens WHERE token=?", (token,))
        if row is None:
            raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: decrypt token fail")
        if row["expires_at"] <= time.time():
            raise EmulatorError(AUTH_FAILED, f"Incorrect IAM authentication information: token expires, "
                                             f"expires_at: {iso(row['expires_at'])}")
        return Principal("token", row["project_id"])

    def authenticate(self, *, method: str, raw_path: bytes, raw_query: bytes, headers: dict[str, str],
                     body: bytes, url_project: str | None = None) -> Principal:
        lowered = {k.lower(): v for k, v in headers.items()}
        authorization = lowered.get("authorization")
        if authorization:
            principal = self._check_signature(method, raw_path, raw_query, headers, lowered, body, authorization)
        elif lowered.get("x-auth-token"):
            principal = self.token_principal(lowered["x-auth-token"])
            if url_project is not None and not principal.project_id:
                raise EmulatorError(TOKEN_NO_PROJECT, "The token does not contain project information.")
        else:
            raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: x-auth-token not found")
        if url_project is not None and url_project != principal.project_id:
            raise EmulatorError(PROJECT_MISMATCH, "The project id in the request URL does not match the token.")
        return principal

    def _check_signature(self, method, raw_path, raw_query, headers, lowered, body, authorization) -> Principal:
        auth = signer.AuthorizationHeader.parse(authorization)
        if auth is None:
            raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: Authorization header is "
                                             "not SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…")
        with self._lock:
            if self._locked_until.get(auth.access_key, 0) > time.time():
                raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: the AK is locked "
                                                 "after too many consecutive signature failures")
        principal_method = "aksk"
        if auth.access_key == self.account.access_key:
            secret = self.account.secret_key
        else:
            row = self.store.one("SELECT * FROM temp_keys WHERE access=?", (auth.access_key,))
            if row is None:
                self._bad_signature(auth.access_key)
                raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: verify aksk signature "
                                                 "fail, ak not found")
            if row["expires_at"] <= time.time():
                raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: the temporary AK/SK "
                                                 "has expired")
            if lowered.get("x-security-token") != row["security_token"] or "x-security-token" not in auth.signed_headers:
                raise EmulatorError(AUTH_FAILED, "Incorrect IAM authentication information: verify security token "
                                                 "fail")
            secret = row["secret"]
            principal_method = "temp-aksk"
        try:
            signer.verify(method=method, path=raw_path.decode("utf-8", "replace"),
                          query=parse_qsl(raw_query.decode("utf-8", "replace"), keep_blank_values=True),
                          headers=headers, body=body, secret_key=secret, auth=auth)
        except signer.SignatureError as err:
            self._bad_signature(auth.access_key)
            raise EmulatorError(AUTH_FAILED, f"Incorrect IAM authentication information: {err}") from None
        with self._lock:
            self._bad.pop(auth.access_key, None)
        return Principal(principal_method, self.account.project_id)

    def key_secret(self, access_key: str, security_token: str | None) -> tuple[str | None, str]:
        """For signatures of other services (OBS): (secret, principal method), or (None, why not) — the account's
        AK, or a temporary AK that is not expired and comes with its security token."""
        if access_key == self.account.access_key:
            return self.account.secret_key, "aksk"
        row = self.store.one("SELECT * FROM temp_keys WHERE access=?", (access_key,))
        if row is None:
            return None, "unknown access key"
        if row["expires_at"] <= time.time():
            return None, "the temporary access key has expired"
        if security_token != row["security_token"]:
            return None, "a temporary access key needs its security token"
        return row["secret"], "temp-aksk"

    def _bad_signature(self, access_key: str) -> None:
        with self._lock:
            count = self._bad.get(access_key, 0) + 1
            self._bad[access_key] = count
            if count > MAX_BAD_SIGNATURES:
                self._locked_until[access_key] = time.time() + LOCK_SECONDS
                self._bad[access_key] = 0
