"""Build sample_data/mailboxes/real-writers.mbox from real Received headers.

Every Received header in the output is copied verbatim from the golden corpus
(tests/data/received/NNNN.txt, each with its provenance in NNNN.json) or, with
``--reference``, from the fenced examples of the shared reference survey
received-formats.md. Headers of one fenced block (one message in the source) stay together as
one message; the envelope lines (From_, Message-ID, Date, From, Subject) are synthetic and
say so in X-Sample-Provenance. Run: python tools/build_sample_mailbox.py --reference PATH
"""

from __future__ import annotations

import argparse
import json
import re
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "sample_data" / "mailboxes" / "real-writers.mbox"
_BLOCK = re.compile(r"```\n(Received: .*?)```", re.S)
_SOURCE = re.compile(r"ARCH-[A-Z]+@[0-9a-f]+|PUBLIC-LIST \([^)]{1,120}\)|[\w-]+/[\w.-]+:[\w/.-]+")


def _chains_from_reference(path: Path) -> list[tuple[list[str], str]]:
    text = path.read_text(encoding="utf-8")
    chains: list[tuple[list[str], str]] = []
    for m in _BLOCK.finditer(text):
        found = _SOURCE.search(text, m.end(), m.end() + 300)
        where = found.group(0) if found else "an example"
        source = f"shared reference received-formats.md, {where}"
        headers = re.split(r"\n(?=Received: )", m.group(1).strip())
        chains.append(([h[len("Received: ") :] for h in headers], source))
    return chains


def _chains_from_corpus(directory: Path) -> list[tuple[list[str], str]]:
    chains: list[tuple[list[str], str]] = []
    for txt in sorted(directory.glob("*.txt")):
        meta = json.loads(txt.with_suffix(".json").read_text(encoding="utf-8"))
        chains.append(([txt.read_text(encoding="utf-8").strip()], meta["provenance"]))
    return chains


def _date_of(header: str) -> str:
    tail = header.rsplit(";", 1)[-1].strip()
    try:
        return format_datetime(parsedate_to_datetime(tail))
    except (TypeError, ValueError, IndexError):
        return "Thu, 01 Jan 2026 00:00:00 +0000"


def build(chains: list[tuple[list[str], str]]) -> str:
    out: list[str] = []
    for n, (headers, source) in enumerate(chains, 1):
        out.append(f"From sample-{n}@mailtls.invalid Thu Jan  1 00:00:00 2026")
        out.extend(f"Received: {h}" for h in headers)
        out.append(f"X-Sample-Provenance: Received header(s) verbatim from {source}")
        out.append(f"Message-ID: <sample-{n}@mailtls.invalid>")
        out.append(f"Date: {_date_of(headers[0])}")
        out.append(f"From: Sample Sender <sender{n}@sample-{n % 7}.invalid>")
        out.append(f"Subject: sample message {n}")
        out.append("")
        out.append("Body text of a sample message.")
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, help="path of received-formats.md")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "data" / "received")
    args = parser.parse_args()
    chains = _chains_from_reference(args.reference) if args.reference else []
    if not chains:
        chains = _chains_from_corpus(args.corpus)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(build(chains), encoding="utf-8")
    print(f"wrote {OUT} with {len(chains)} messages")


if __name__ == "__main__":
    main()
