"""docs/partner-signing.md holds: its worked examples verify with the server's own code
(services/rewards/domain/signing.py), the reference client (tools/partner_client.py) signs
them alike, and its shell pipeline, run with openssl, gives the same signatures."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from services.rewards.domain import signing
from tools.partner_client import PartnerClient, canonical_request, signature

DOCUMENT = Path(__file__).parents[3] / "docs" / "partner-signing.md"
TEXT = DOCUMENT.read_text(encoding="utf-8")


def block(info: str) -> str:
    """The fenced block whose info string is `info`, without its last line feed."""
    found = re.search(rf"^```{re.escape(info)}\n(.*?)\n```$", TEXT, re.S | re.M)
    assert found, f"no ```{info} block in {DOCUMENT.name}"
    return found.group(1)


def example(name: str) -> dict[str, str]:
    values = {}
    for line in block(f"text example-{name}").splitlines():
        field, _, value = line.partition("=")
        values[field.strip()] = value.strip()
    return values


@pytest.mark.parametrize("name", ["post", "get"])
def test_the_worked_example_verifies_with_the_servers_code(name) -> None:
    e = example(name)
    body = e["body"].encode()
    assert hashlib.sha256(body).hexdigest() == e["body hash"]
    args = (e["method"], e["path"], e["query"], e["timestamp"], e["nonce"], body)
    assert signing.canonical(*args) == block(f"text canonical-{name}").encode()
    signing.verify(e["secret"].encode(), e["signature"], *args)  # raises if it does not
    signing.verify(e["secret"].encode(), e["signature"].upper(), *args)
    with pytest.raises(signing.Refused):
        signing.verify(e["secret"].encode(), e["signature"], *args[:-1], body + b" ")
    assert signing.sign(e["secret"].encode(), *args) == e["signature"]


@pytest.mark.parametrize("name", ["post", "get"])
def test_the_reference_client_signs_the_example_as_documented(name) -> None:
    e = example(name)
    body = e["body"].encode()
    args = (e["method"], e["path"], e["query"], e["timestamp"], e["nonce"], body)
    assert canonical_request(*args) == signing.canonical(*args)
    assert signature(e["secret"].encode(), *args) == e["signature"]
    client = PartnerClient(None, e["key id"], e["secret"])  # type: ignore[arg-type]
    headers = client.signed_headers(e["method"], e["path"], e["query"], body,
                                    timestamp=int(e["timestamp"]), nonce=e["nonce"])
    assert headers == {"X-Key-Id": e["key id"], "X-Timestamp": e["timestamp"],
                       "X-Nonce": e["nonce"], "X-Signature": e["signature"]}
    if name == "post":  # the request on the wire shows the same headers
        wire = block("http")
        assert all(f"{k}: {v}" in wire for k, v in headers.items())
        assert wire.endswith("\n\n" + e["body"])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("name", ["post", "get"])
def test_the_shell_pipeline_gives_the_documented_signature(name) -> None:
    e = example(name)
    pipeline = block("sh signing-pipeline")
    assert pipeline in TEXT.split("```sh\n", 1)[1]  # the whole-request example uses it too
    target = f"{e['path']}?{e['query']}" if e["query"] else e["path"]
    env = {"PATH": "/usr/bin:/bin", "SECRET": e["secret"], "METHOD": e["method"],
           "TARGET": target, "TS": e["timestamp"], "NONCE": e["nonce"], "BODY": e["body"]}
    ran = subprocess.run(["bash", "-c", pipeline + '\nprintf "%s %s" "$BODY_HASH" "$SIGNATURE"'],
                         env=env, capture_output=True, text=True, check=True, timeout=30)
    assert ran.stdout.split() == [e["body hash"], e["signature"]], ran.stderr


def test_the_documented_nonce_rule_and_header_names_are_the_servers() -> None:
    assert signing.NONCE.pattern == "^[A-Za-z0-9_-]{16,64}$"
    assert "16 to 64 characters from `A-Z a-z 0-9 - _`" in TEXT
    for header in ("X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature", "Idempotency-Key"):
        assert f"`{header}`" in TEXT
