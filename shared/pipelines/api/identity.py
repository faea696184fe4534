"""Who is calling: the account behind a request, proven by its SigV4 signature.

Locally there is no IAM; the config's ``[accounts]`` table maps access key ids to accounts:

- **verified** (every entry has a ``secret_key``): each request must be signed, in the
  ``Authorization`` header or as a presigned URL (SigV4; for S3 also the older query form
  boto3 presigns with by default), by one of those keys. The signature is
  recomputed with botocore's own signer over the request as received and compared in constant
  time; an unsigned request, an unknown key, a wrong signature or a stale timestamp is refused
  with the protocol's own error code (S3: ``AccessDenied``, ``InvalidAccessKeyId``,
  ``SignatureDoesNotMatch``, ``RequestTimeTooSkewed``; STS: ``InvalidClientTokenId``,
  ``SignatureDoesNotMatch``; JSON protocols: ``MissingAuthenticationToken``,
  ``UnrecognizedClientException``, ``InvalidSignatureException``).
- **labels** (entries without secrets): a listed key acts as its account, an unknown key is
  refused, an unsigned request acts as the default account. Nothing is proven: an identity,
  not a lock, for a single user trying sharing out.
- **single-user** (no ``[accounts]``): every request acts as the default account.

The server refuses to listen beyond loopback unless signatures are verified or it is told to
(``pipelines serve --allow-unauthenticated``). In the cloud the account comes from API
Gateway's request context instead (``pipelines.deploy.apigateway``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from pipelines.api.errors import ServiceError

_CREDENTIAL = re.compile(r"^([^/\s]+)/(\d{8})/([^/\s]+)/([^/\s]+)/aws4_request$")
_AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$", re.S)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
# SigV4's own limits: a signed request is valid 15 minutes either side of its timestamp, and a
# presigned URL at most 7 days.
MAX_CLOCK_SKEW_SECONDS = 15 * 60
MAX_PRESIGNED_EXPIRES_SECONDS = 7 * 24 * 3600
_STREAMING_OR_UNSIGNED = ("UNSIGNED-PAYLOAD", "STREAMING-")


@dataclass(frozen=True)
class Credential:
    """The scope a request was signed for."""

    access_key: str
    region: str
    service: str


@dataclass(frozen=True)
class SignedRequest:
    """What the verifier needs of a request, exactly as it arrived."""

    method: str
    raw_path: str  # still percent-encoded, as the client signed it
    raw_query: str
    headers: Mapping[str, str]  # keyed by lower-case name
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _query_value(raw_query: str, name: str) -> str | None:
    for pair in raw_query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == name:
            return unquote(value)
    return None


def signed_credential(authorization: str | None, query_credential: str | None = None) -> Credential | None:
    """The credential scope of a SigV4 header or presigned-URL credential, if any."""
    text = query_credential or ""
    if not text and authorization:
        match = re.search(r"Credential=([^,\s]+)", authorization)
        text = match.group(1) if match else ""
    match = _CREDENTIAL.match(text)
    if match is None:
        return None
    return Credential(access_key=match.group(1), region=match.group(3), service=match.group(4))


class AuthenticationFailed(ServiceError):
    """A request whose identity could not be established; see :func:`auth_error`."""


# kind -> message, and the code each protocol family answers with
_MESSAGES = {
    "missing": "Request is missing Authentication Token: sign it with an access key from [accounts]",
    "unknown": "The AWS Access Key Id you provided does not exist in our records.",
    "signature": (
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    ),
    "malformed": "The authorization header or presigned URL is malformed",
    "skewed": "Signature expired: the request time is more than 15 minutes from the server's time",
    "expired": "Request has expired",
}
_CODES = {
    "s3": {
        "missing": "AccessDenied",
        "unknown": "InvalidAccessKeyId",
        "signature": "SignatureDoesNotMatch",
        "malformed": "AuthorizationHeaderMalformed",
        "skewed": "RequestTimeTooSkewed",
        "expired": "AccessDenied",
    },
    "sts": {  # the query protocol's codes
        "missing": "MissingAuthenticationToken",
        "unknown": "InvalidClientTokenId",
        "signature": "SignatureDoesNotMatch",
        "malformed": "IncompleteSignature",
        "skewed": "SignatureDoesNotMatch",
        "expired": "SignatureDoesNotMatch",
    },
    "json": {  # SageMaker, CloudWatch Logs, Scheduler, RAM
        "missing": "MissingAuthenticationToken",
        "unknown": "UnrecognizedClientException",
        "signature": "InvalidSignatureException",
        "malformed": "IncompleteSignatureException",
        "skewed": "InvalidSignatureException",
        "expired": "InvalidSignatureException",
    },
}


def auth_error(kind: str, service: str, detail: str = "") -> AuthenticationFailed:
    codes = _CODES.get(service, _CODES["json"])
    status = 400 if kind == "malformed" and service == "s3" else 403
    return AuthenticationFailed(codes[kind], f"{_MESSAGES[kind]}{': ' + detail if detail else ''}", status)


class _SignedHeadersOnly:
    """botocore's signer signs every header of the request it builds; a verifier must sign
    exactly the ones the client listed in ``SignedHeaders``."""

    signed: list[str]

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name in self.signed:
            value = request.headers.get(name)
            header_map[name] = "" if value is None else value
        return header_map


class _HeaderVerifier(_SignedHeadersOnly, SigV4Auth):
    pass


class _S3HeaderVerifier(_SignedHeadersOnly, S3SigV4Auth):
    pass


class _QueryVerifier(_SignedHeadersOnly, SigV4QueryAuth):
    pass


class _S3QueryVerifier(_SignedHeadersOnly, S3SigV4QueryAuth):
    pass


@dataclass(frozen=True)
class _Parsed:
    credential: Credential
    scope_date: str
    timestamp: str
    signed_headers: list[str]
    signature: str
    presigned: bool
    expires: int = 0


class Authenticator:
    """Maps requests to accounts per the module docstring."""

    def __init__(
        self,
        accounts: Mapping[str, str],
        secrets: Mapping[str, str],
        default_account: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts = dict(accounts)
        self.secrets = dict(secrets)
        self.default_account = default_account
        self.clock = clock
        if self.secrets and set(self.secrets) != set(self.accounts):
            raise ValueError("every access key needs a secret, or none")

    @property
    def verifies(self) -> bool:
        return bool(self.secrets)

    @property
    def single_user(self) -> bool:
        return not self.accounts

    def account_for(self, request: SignedRequest, service: str) -> str:
        """The account the request acts as; raises AuthenticationFailed."""
        if self.single_user:
            return self.default_account
        if not self.verifies:  # labels: the key names the account, nothing is proven
            credential = signed_credential(
                request.header("Authorization"), _query_value(request.raw_query, "X-Amz-Credential")
            )
            if credential is None:
                return self.default_account
            if credential.access_key not in self.accounts:
                raise auth_error("unknown", service)
            return self.accounts[credential.access_key]
        if service == "s3" and _is_presigned_v2(request):
            return self._verify_presigned_v2(request)
        parsed = _parse(request, service)
        if parsed is None:
            raise auth_error("missing", service)
        access_key = parsed.credential.access_key
        if access_key not in self.accounts:
            raise auth_error("unknown", service)
        self._verify(request, parsed, self.secrets[access_key], service)
        return self.accounts[access_key]

    def _verify(self, request: SignedRequest, parsed: _Parsed, secret: str, service: str) -> None:
        try:
            signed_at = dt.datetime.strptime(parsed.timestamp, _TIMESTAMP).replace(tzinfo=dt.UTC).timestamp()
        except ValueError as exc:
            raise auth_error("malformed", service, "X-Amz-Date is not YYYYMMDDTHHMMSSZ") from exc
        if parsed.scope_date != parsed.timestamp[:8]:
            raise auth_error("malformed", service, "the credential scope's date is not X-Amz-Date's")
        now = self.clock()
        if parsed.presigned:
            if not 0 < parsed.expires <= MAX_PRESIGNED_EXPIRES_SECONDS:
                raise auth_error("malformed", service, "X-Amz-Expires must be 1 to 604800 seconds")
            if now > signed_at + parsed.expires:
                raise auth_error("expired", service)
            if signed_at > now + MAX_CLOCK_SKEW_SECONDS:
                raise auth_error("skewed", service)
        elif abs(now - signed_at) > MAX_CLOCK_SKEW_SECONDS:
            raise auth_error("skewed", service)
        if "host" not in parsed.signed_headers:
            raise auth_error("malformed", service, "the Host header must be signed")
        expected = _signature(request, parsed, secret)
        if not hmac.compare_digest(expected.encode(), parsed.signature.encode()):
            raise auth_error("signature", service)
        declared = request.header("X-Amz-Content-SHA256")
        if (
            declared
            and not declared.startswith(_STREAMING_OR_UNSIGNED)
            and not hmac.compare_digest(declared.lower(), hashlib.sha256(request.body).hexdigest())
        ):
            raise AuthenticationFailed(
                "XAmzContentSHA256Mismatch" if service == "s3" else "InvalidSignatureException",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                400 if service == "s3" else 403,
            )

    def _verify_presigned_v2(self, request: SignedRequest) -> str:
        """An S3 presigned URL in the older query form boto3 still makes by default
        (``AWSAccessKeyId``, ``Expires``, ``Signature``), recomputed with botocore's HmacV1 signer."""
        access_key = _query_value(request.raw_query, "AWSAccessKeyId") or ""
        if access_key not in self.accounts:
            raise auth_error("unknown", "s3")
        expires = _query_value(request.raw_query, "Expires") or ""
        if not expires.isdigit() or len(expires) > 12:
            raise auth_error("malformed", "s3", "Expires must be a Unix time")
        if self.clock() > int(expires):
            raise auth_error("expired", "s3")
        signer = _V2QueryVerifier(Credentials(access_key, self.secrets[access_key]), expires=int(expires))
        headers = HTTPHeaders()
        for pair in request.raw_query.split("&"):
            name, _, value = pair.partition("=")
            name = unquote(name).lower()
            if name.startswith("x-amz-") or name in ("content-md5", "content-type"):
                headers[name] = unquote(value)
        split = urlsplit(f"http://{request.header('Host') or ''}{request.raw_path}?{request.raw_query}")
        expected = signer.get_signature(request.method, split, cast(Any, headers))
        given = _query_value(request.raw_query, "Signature") or ""
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise auth_error("signature", "s3")
        return self.accounts[access_key]


class _V2QueryVerifier(HmacV1QueryAuth):
    """Signs with the URL's own ``Expires`` (botocore's signer would compute it from now)."""

    def __init__(self, credentials: Credentials, expires: int) -> None:
        super().__init__(credentials, expires=expires)
        self._expires_at = str(expires)

    def _get_date(self) -> str:
        return self._expires_at


def _is_presigned_v2(request: SignedRequest) -> bool:
    return (
        request.header("Authorization") is None
        and _query_value(request.raw_query, "AWSAccessKeyId") is not None
        and _query_value(request.raw_query, "Signature") is not None
    )


def _parse(request: SignedRequest, service: str) -> _Parsed | None:
    """The signature's parts from the Authorization header or the presigned query; None if the
    request carries no signature at all."""
    authorization = request.header("Authorization")
    if authorization:
        match = _AUTHORIZATION.match(authorization.strip())
        if match is None:
            raise auth_error("malformed", service, "only AWS4-HMAC-SHA256 signatures are accepted")
        fields: dict[str, str] = {}
        for part in match.group(1).split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        credential, signed, signature = (
            fields.get("Credential", ""),
            fields.get("SignedHeaders", ""),
            fields.get("Signature", ""),
        )
        timestamp = request.header("X-Amz-Date") or ""
        expires = "0"
    elif _query_value(request.raw_query, "X-Amz-Signature") is not None:
        if _query_value(request.raw_query, "X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise auth_error("malformed", service, "only AWS4-HMAC-SHA256 signatures are accepted")
        credential = _query_value(request.raw_query, "X-Amz-Credential") or ""
        signed = _query_value(request.raw_query, "X-Amz-SignedHeaders") or ""
        signature = _query_value(request.raw_query, "X-Amz-Signature") or ""
        timestamp = _query_value(request.raw_query, "X-Amz-Date") or ""
        expires = _query_value(request.raw_query, "X-Amz-Expires") or ""
    else:
        return None
    scope = _CREDENTIAL.match(credential)
    if scope is None or not signed or not re.fullmatch(r"[0-9a-f]{64}", signature) or not timestamp:
        raise auth_error("malformed", service)
    if not expires.isdigit() or len(expires) > 7:
        raise auth_error("malformed", service, "X-Amz-Expires must be 1 to 604800 seconds")
    return _Parsed(
        credential=Credential(scope.group(1), scope.group(3), scope.group(4)),
        scope_date=scope.group(2),
        timestamp=timestamp,
        signed_headers=[h.strip().lower() for h in signed.split(";")],
        signature=signature,
        presigned=authorization is None,
        expires=int(expires),
    )


def _signature(request: SignedRequest, parsed: _Parsed, secret: str) -> str:
    """The signature botocore's signer computes for this request with ``secret``."""
    query = request.raw_query
    if parsed.presigned:  # the signature is not part of what it signs
        query = "&".join(p for p in query.split("&") if unquote(p.partition("=")[0]) != "X-Amz-Signature")
    host = request.header("Host") or ""
    url = f"http://{host}{request.raw_path}" + (f"?{query}" if query else "")
    headers = {name: request.header(name) or "" for name in parsed.signed_headers}
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = parsed.timestamp
    credentials = Credentials(parsed.credential.access_key, secret)
    scope = parsed.credential
    signer: SigV4Auth
    if scope.service == "s3":
        signer = (_S3QueryVerifier if parsed.presigned else _S3HeaderVerifier)(
            credentials, "s3", scope.region
        )
    else:
        verifier = _QueryVerifier if parsed.presigned else _HeaderVerifier
        signer = verifier(credentials, scope.service, scope.region)
    signer.signed = parsed.signed_headers
    canonical = signer.canonical_request(aws_request)
    return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))
