"""The template cache gives exactly the records of the full parser, on real and mutated headers."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model import ReceivedHeader
from analyzer.model.common import slot_maker
from analyzer.model.received import make_received_header
from analyzer.received import parse_received
from analyzer.received.fields import peer, peer_fast
from analyzer.received.scan import Clause, _tokens
from analyzer.received.template import ReceivedParser, _spots, shape

GOLDEN = sorted((Path(__file__).parent / "data" / "received").glob("*.txt"))
TEXTS = [p.read_text(encoding="utf-8").rstrip("\n") for p in GOLDEN]

_ID = re.compile(r"(?<=\sid )[^\s;()]+")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_DAY = re.compile(r"\b(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4})\b")


def mutate(text: str, rnd: random.Random) -> str:
    """The same header as another message through the same relay would carry it."""
    text = _ID.sub(lambda m: "".join(rnd.choice("0123456789ABCDEF") for _ in m.group(0)), text)
    text = _IPV4.sub(lambda m: m.group(0) if m.group(0).startswith("127.") else
                     f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}",
                     text)  # fmt: skip
    return _DAY.sub(lambda m: f"{rnd.randint(1, 28)} {m.group(2)} {rnd.randint(2001, 2030)}", text)


def test_cached_records_equal_full_parses_on_golden_and_mutated_headers() -> None:
    rnd = random.Random(1)
    parser = ReceivedParser()
    for round_ in range(4):
        for text in TEXTS:
            variant = text if round_ == 0 else mutate(text, rnd)
            assert parser.parse(variant) == parse_received(variant), variant
    assert parser.hits > len(TEXTS)  # the cache is really used


def test_cache_stays_bounded() -> None:
    parser = ReceivedParser(size=10)
    for text in TEXTS[:50]:
        parser.parse(text)
    assert len(parser._cache) <= 10


def test_shape_masks_per_message_values() -> None:
    a = "from a.example (a.example [192.0.2.1]) by mx.example.net (Postfix) with ESMTPS id 4AB12; Mon, 1 Jan 2024 00:00:00 +0000"
    b = "from b.example (b.example [198.51.100.7]) by mx.example.net (Postfix) with ESMTPS id 9FF03; Tue, 2 Jan 2024 10:00:00 +0100"
    assert shape(a) == shape(b)
    loop = a.replace("192.0.2.1", "127.0.0.1")
    assert shape(loop) != shape(a)  # loopback peers are local: a different verdict


# Where a mask could meet the cut after the peer's comment: a HELO name, a port without a
# literal, "EHLO" without "elo", a literal right after the cut, an ident "user@".
_EDGES = [
    "from a (b [192.0.2.1]) (HELO x) by c (Postfix) id 1; Mon, 1 Jan 2024 00:00:00 +0000",
    "from a (b) [192.0.2.1]:25 by c ([10.0.0.1]:587) id 1; Mon, 1 Jan 2024 00:00:00 +0000",
    "from a (EHLO [192.0.2.1]) by c (LHLO d) id 1; Mon, 1 Jan 2024 00:00:00 +0000",
    "from a (b) [192.0.2.9] (user@192.0.2.1) by c (e@10.1.1.1) with SMTP id X",
    "from a (x]:25) by b (c]:26) id 1",
    "from a (10.1.1.1) by b (2001:db8::1) via c (127.0.0.1) id 1",
]


def test_remembered_tails_give_the_shape() -> None:
    rnd = random.Random(3)
    parser = ReceivedParser()
    texts = [" ".join(t.split()) for t in [*_EDGES, *TEXTS, *(mutate(t, rnd) for t in TEXTS)]]
    for text in texts + texts:  # the second time from the remembered tails
        assert parser._shape(text, _spots(text)) == shape(text), text


def test_fast_peer_agrees_with_the_tokenising_peer() -> None:
    rnd = random.Random(2)
    fast_used = 0
    for text in [*TEXTS, *(mutate(t, rnd) for t in TEXTS)]:
        if not text.lower().startswith("from "):
            continue
        part = " ".join(text.split())[5:].split(" by ", 1)[0]
        fast = peer_fast(part)
        if fast is not None:
            fast_used += 1
            clause = Clause("from", _tokens(part))
            clause.seal()
            assert fast == peer(clause), part
    assert fast_used > 300  # the common forms really take the fast way


@settings(max_examples=200, deadline=500)
@given(st.sampled_from(TEXTS), st.integers(0, 2**32))
def test_property_cache_equals_full_parse(text: str, seed: int) -> None:
    parser = ReceivedParser()
    variant = mutate(text, random.Random(seed))
    parser.parse(text)
    assert parser.parse(variant) == parse_received(variant)


def test_slot_maker_builds_the_constructors_records() -> None:
    """``make_received_header`` (used for every cache hit) gives the record the dataclass
    constructor gives, field for field, hash and frozenness included."""
    originals = [parse_received(t) for t in TEXTS]
    names = [f.name for f in dataclasses.fields(ReceivedHeader)]
    for original in originals:
        values = [getattr(original, n) for n in names]
        made = make_received_header(*values)
        assert type(made) is ReceivedHeader
        assert made == ReceivedHeader(*values) == original
        assert hash(made) == hash(original)
        assert [getattr(made, n) for n in names] == values
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.raw = "x"  # type: ignore[misc]
    assert len(originals) >= 200


def test_slot_maker_refuses_what_it_cannot_build() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise AssertionError

    for cls in (Plain, Checked):
        with pytest.raises(TypeError, match="not a slotted dataclass"):
            slot_maker(cls)
