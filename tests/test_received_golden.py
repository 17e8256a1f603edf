"""Golden files: real Received headers, each with its provenance and whole expected record.

tests/data/received/NNNN.txt holds the header value as found (folding kept); NNNN.json its
provenance and the expected record, labelled by hand from the rules of the reference survey.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from analyzer import parse_received
from analyzer.model import ReceivedHeader

DATA = Path(__file__).parent / "data" / "received"
CASES = sorted(DATA.glob("*.txt"))

FIELDS = (
    "from_host", "from_helo", "from_rdns", "from_ip", "by_host", "via", "protocol", "id",
    "for_", "timestamp",
)  # fmt: skip
TLS_FIELDS = (
    "dialect", "evidence", "tls_version", "version_raw", "cipher", "cipher_raw", "bits",
    "alg_bits", "key_exchange", "server_signature", "client_cert", "client_cn", "verify",
)  # fmt: skip


def record(h: ReceivedHeader) -> dict[str, Any]:
    out: dict[str, Any] = {f: getattr(h, f) for f in FIELDS}
    out["timestamp"] = h.timestamp.isoformat() if h.timestamp else None
    for f in TLS_FIELDS:
        value = getattr(h.tls, f)
        out[f] = None if value is None else (value.value if hasattr(value, "value") else value)
    return out


def _load(path: Path) -> tuple[str, dict[str, Any]]:
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return path.read_text(encoding="utf-8").rstrip("\n"), meta


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_golden_record(path: Path) -> None:
    text, meta = _load(path)
    assert meta["provenance"].strip(), "every case names its source"
    assert record(parse_received(text)) == meta["expected"]


def test_corpus_size_and_breadth() -> None:
    writers = Counter(_load(p)[1]["writer"] for p in CASES)
    dialects = Counter(_load(p)[1]["expected"]["dialect"] for p in CASES)
    assert len(CASES) >= 200
    assert len(writers) >= 25
    assert len(dialects) >= 25
