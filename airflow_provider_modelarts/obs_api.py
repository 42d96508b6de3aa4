"""OBS's documented limits and error codes: one table, used by the OBS hook (to validate before sending) and by
the emulator's OBS endpoint (to enforce), each with the page it comes from.

Sources: OTC = github.com/opentelekomcloud-docs/object-storage-service ``api-ref/source/…`` (the Open Telekom
Cloud copy of support.huaweicloud.com api-obs); ESDK = the official ``esdk-obs-python`` (``obs/const.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: "the part size ranges from 100 KB to 5 GB and the size of the last part ranges from 0 to 5 GB … The upload
#: part ID ranges from 1 to 10,000" (OTC apis/operations_on_multipart_upload/uploading_parts.rst; ESDK
#: DEFAULT_MINIMUM_SIZE = 100 * 1024, DEFAULT_MAXIMUM_SIZE = 5 GiB)
MIN_PART_SIZE = 100 * KiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
#: "EntityTooLarge: the size of the file uploaded using the PUT … methods exceeds 5 GB" (OTC error_codes.rst)
MAX_PUT_SIZE = 5 * GiB
#: "max-keys … ranges from 1 to 1000. If the specified value is greater than 1000, only 1,000 objects are
#: returned"; default 1000 (OTC apis/operations_on_buckets/listing_objects_in_a_bucket.rst)
MAX_KEYS = 1000
#: "an object key … whose UTF-8 encoding is at most 1024 bytes long" (OTC doc/s3api/…/naming_a_bucket_and_object.rst;
#: apis/operations_on_objects/deleting_objects.rst: "more than 1,024 characters after being encoded with UTF-8 …
#: 400"); the code is KeyTooLongError (error_codes.rst)
MAX_KEY_BYTES = 1024
#: bucket names: 3 to 63 characters, lower-case letters, digits, hyphens and periods, starting and ending with a
#: letter or digit, no adjacent periods or period next to a hyphen, not an IP address (OTC
#: apis/operations_on_buckets/listing_objects_in_a_bucket.rst, "Name" of the response; creating_a_bucket.rst)
BUCKET_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9][a-z0-9.-]*[a-z0-9]$")
IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
#: the namespace of OBS's XML answers (OTC examples: ``xmlns="http://obs.myhwclouds.com/doc/2015-06-30/"``)
XMLNS = "http://obs.myhwclouds.com/doc/2015-06-30/"


@dataclass(frozen=True)
class ObsError:
    status: int
    code: str
    message: str


# OTC error_codes.rst ("Error Codes"), status and code as documented; the message is the table's description.
SIGNATURE_DOES_NOT_MATCH = ObsError(403, "SignatureDoesNotMatch",
                                    "The request signature we calculated does not match the signature you provided. "
                                    "Check your key and signing method.")
INVALID_ACCESS_KEY_ID = ObsError(403, "InvalidAccessKeyId", "The access key ID provided does not exist in the system.")
ACCESS_DENIED = ObsError(403, "AccessDenied", "Access denied.")
REQUEST_TIME_TOO_SKEWED = ObsError(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                                   "server's time is too large.")
NO_SUCH_BUCKET = ObsError(404, "NoSuchBucket", "The specified bucket does not exist.")
NO_SUCH_KEY = ObsError(404, "NoSuchKey", "The specified key does not exist.")
NO_SUCH_UPLOAD = ObsError(404, "NoSuchUpload", "The specified multipart upload does not exist.")
BUCKET_ALREADY_OWNED = ObsError(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket "
                                "succeeded and you already own it.")
BUCKET_NOT_EMPTY = ObsError(409, "BucketNotEmpty", "The bucket you tried to delete is not empty.")
ENTITY_TOO_SMALL = ObsError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object "
                            "size.")
ENTITY_TOO_LARGE = ObsError(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
INVALID_ARGUMENT = ObsError(400, "InvalidArgument", "Invalid Argument.")
INVALID_BUCKET_NAME = ObsError(400, "InvalidBucketName", "The specified bucket is not valid.")
INVALID_PART = ObsError(400, "InvalidPart", "One or more of the specified parts could not be found.")
INVALID_PART_ORDER = ObsError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
INVALID_RANGE = ObsError(416, "InvalidRange", "The requested range cannot be satisfied.")
KEY_TOO_LONG = ObsError(400, "KeyTooLongError", "Your key is too long.")
MALFORMED_XML = ObsError(400, "MalformedXML", "The XML you provided was not well-formed.")
BAD_DIGEST = ObsError(400, "BadDigest", "The Content-MD5 you specified did not match what was received.")
METHOD_NOT_ALLOWED = ObsError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
INTERNAL_ERROR = ObsError(500, "InternalError", "We encountered an internal error. Please try again.")
TOO_MANY_REQUESTS = ObsError(429, "TooManyRequests", "There are too many requests in a short period of time.")
SERVICE_UNAVAILABLE = ObsError(503, "ServiceUnavailable", "Please reduce your request rate.")

#: the codes that mean "these keys are not (or no longer) valid": a temporary key is fetched again once
REFRESHABLE_CODES = frozenset({"InvalidAccessKeyId"})
#: a wrong SK: counts as a bad signature for the AK lock-out guard
BAD_SIGNATURE_CODES = frozenset({"SignatureDoesNotMatch", "InvalidAccessKeyId"})


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name, or None."""
    if not BUCKET_RE.match(name) or ".." in name or ".-" in name or "-." in name:
        return ("expected 3 to 63 lower-case letters, digits, '-' or '.', starting and ending with a letter or "
                f"digit, got {name!r}")
    if IP_RE.match(name):
        return f"a bucket name cannot be an IP address, got {name!r}"
    return None
