"""The connection's vocabulary and defaults, without imports (the provider info and the connection form read
them while Airflow discovers providers)."""

from __future__ import annotations

AUTH_AKSK = "aksk"
AUTH_PASSWORD = "password"
AUTH_ENV = "env"
AUTH_TYPES = (AUTH_AKSK, AUTH_PASSWORD, AUTH_ENV)

DEFAULT_METADATA_ENDPOINT = "http://169.254.169.254"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_MAX_DELAY = 30.0

API_VERSIONS = ("v1", "v2")
#: What Huawei Cloud serves today: v1 is filed under "historical APIs" and huaweicloudsdkmodelarts only calls v2.
DEFAULT_API_VERSION = "v2"
