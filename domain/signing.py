"""How a terminal signs an HTTP request, and how the server rebuilds what was signed.

In the spirit of RFC 9421 (HTTP Message Signatures) and RFC 9530 (Digest Fields):

- ``Content-Digest: sha-256=:<base64>:`` is the SHA-256 of the body (of ``b""`` when
  there is none);
- ``Terminal-Id`` names the terminal the request acts for;
- ``Signature-Input: sig1=("@method" "@path" "content-digest" "terminal-id");
  created=<unix s>;keyid="<key id>";nonce="<random>";alg="ed25519"``;
- ``Signature: sig1=:<base64 Ed25519 signature>:`` over the signature base, one
  line per covered component and ``"@signature-params"`` last (RFC 9421 §2.5).

Pure: strings and bytes in, strings and bytes out. The keys and the Ed25519
arithmetic live with each side (``provisioning`` signs, ``central`` verifies).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

LABEL = "sig1"
ALGORITHM = "ed25519"
# Every terminal request covers at least these; the server refuses one that covers less.
COMPONENTS: tuple[str, ...] = ("@method", "@path", "content-digest", "terminal-id")
# How far a request's ``created`` may be from the server's clock (either way).
MAX_SKEW_S = 300
TERMINAL_ID_HEADER = "Terminal-Id"
SERVER_TIME_HEADER = "Server-Time"  # unix seconds, on every answer of the server


class SignatureFormatError(ValueError):
    """A ``Signature``/``Signature-Input``/``Content-Digest`` header that cannot be read."""


@dataclass(frozen=True, slots=True)
class SignatureParams:
    components: tuple[str, ...]
    created: int
    keyid: str
    nonce: str
    alg: str = ALGORITHM

    def serialize(self) -> str:
        """The inner list with its parameters, as in ``Signature-Input`` and the base."""
        inner = " ".join(f'"{c}"' for c in self.components)
        return (
            f'({inner});created={self.created};keyid="{self.keyid}";'
            f'nonce="{self.nonce}";alg="{self.alg}"'
        )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as err:
        raise SignatureFormatError("not base64") from err


def content_digest(body: bytes) -> str:
    return f"sha-256=:{b64(hashlib.sha256(body).digest())}:"


def signature_base(
    *, method: str, path: str, headers: dict[str, str], params: SignatureParams
) -> bytes:
    """The exact bytes signed. ``headers`` maps lower-case names to their values."""
    lines = []
    for component in params.components:
        if component == "@method":
            value = method.upper()
        elif component == "@path":
            value = path
        elif component.startswith("@"):
            raise SignatureFormatError(f"unsupported derived component {component}")
        else:
            found = headers.get(component)
            if found is None:
                raise SignatureFormatError(f"the signed header {component!r} is missing")
            value = found.strip()
        if "\n" in value or "\r" in value:
            raise SignatureFormatError(f"{component} holds a line break")
        lines.append(f'"{component}": {value}')
    lines.append(f'"@signature-params": {params.serialize()}')
    return "\n".join(lines).encode("utf-8")


def signature_input_header(params: SignatureParams) -> str:
    return f"{LABEL}={params.serialize()}"


def signature_header(signature: bytes) -> str:
    return f"{LABEL}=:{b64(signature)}:"


_INPUT = re.compile(r'^\s*([a-z0-9_-]+)=\(((?:\s*"[^"]+")*)\s*\)((?:;[a-z]+=(?:"[^"]*"|\d+))*)\s*$')
_PARAM = re.compile(r';([a-z]+)=("[^"]*"|\d+)')
_SIGNATURE = re.compile(r"^\s*([a-z0-9_-]+)=:([A-Za-z0-9+/=]*):\s*$")
_DIGEST = re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]*):")


def parse_signature_input(value: str) -> SignatureParams:
    match = _INPUT.match(value)
    if match is None or match.group(1) != LABEL:
        raise SignatureFormatError(f"Signature-Input is not {LABEL}=(...);created=...")
    components = tuple(re.findall(r'"([^"]+)"', match.group(2)))
    params: dict[str, str] = {}
    for name, raw in _PARAM.findall(match.group(3)):
        params[name] = raw.strip('"')
    try:
        created = int(params["created"])
        keyid, nonce = params["keyid"], params["nonce"]
    except (KeyError, ValueError) as err:
        raise SignatureFormatError("Signature-Input needs created, keyid and nonce") from err
    if not nonce or len(nonce) > 64 or not keyid or len(keyid) > 64:
        raise SignatureFormatError("keyid and nonce are 1 to 64 characters")
    return SignatureParams(components, created, keyid, nonce, params.get("alg", ALGORITHM))


def parse_signature(value: str) -> bytes:
    match = _SIGNATURE.match(value)
    if match is None or match.group(1) != LABEL:
        raise SignatureFormatError(f"Signature is not {LABEL}=:<base64>:")
    return unb64(match.group(2))


def digest_matches(header: str, body: bytes) -> bool:
    match = _DIGEST.search(header)
    return match is not None and match.group(1) == b64(hashlib.sha256(body).digest())


def public_key_id(public_key: bytes) -> str:
    """A key's short stable name: the first 16 bytes of its SHA-256, URL-safe base64."""
    return base64.urlsafe_b64encode(hashlib.sha256(public_key).digest()[:16]).decode().rstrip("=")


def enrolment_proof_message(code: str, public_key: bytes) -> bytes:
    """What a new key signs at enrolment, so the server knows the terminal holds it."""
    return b"prepaid enrol\n" + normalize_code(code).encode() + b"\n" + public_key


def rotation_proof_message(terminal_id: str, public_key: bytes) -> bytes:
    """What the next key signs at a rotation, proving the terminal holds it."""
    return b"prepaid rotate\n" + terminal_id.encode() + b"\n" + public_key


# Crockford's base32: no I, L, O, U, so a code read aloud or typed is hard to get wrong.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def normalize_code(code: str) -> str:
    """An enrolment code as typed (any case, dashes, spaces) in its canonical form."""
    return "".join(ch for ch in code.upper() if ch.isalnum()).translate(_CODE_FIXES)


def format_code(code: str) -> str:
    plain = normalize_code(code)
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


QR_SCHEME = "prepaid-enrol:"


def qr_payload(code: str, server: str | None = None) -> str:
    """What the enrolment QR code holds: the code and, when known, the server."""
    payload = f"{QR_SCHEME}{format_code(code)}"
    return f"{payload}?server={server}" if server else payload


def parse_qr_payload(text: str) -> tuple[str, str | None]:
    """``(code, server or None)`` from a scanned QR text; a bare code passes through."""
    text = text.strip()
    if not text.lower().startswith(QR_SCHEME):
        return normalize_code(text), None
    rest = text[len(QR_SCHEME) :]
    code, _, query = rest.partition("?")
    server = query[len("server=") :] if query.startswith("server=") else None
    return normalize_code(code), server or None
