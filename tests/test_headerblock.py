"""split_headers: the top-level header block into the fields the analysis reads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.received.headerblock import (
    HeaderFields,
    _fields_of_bytes,
    _fields_of_text,
    decode_rfc2047,
    split_headers,
)

# Two real headers, folding kept: received-formats.md §3.4 (ARCH-USRP@aa7ea070af4f) and
# §3.2 (the Proofpoint filter line of the same message), CRLF as on the wire.
EXCHANGE = (
    b"Received: from CH0PR10MB5179.namprd10.prod.outlook.com (2603:10b6:610:c7::21)\r\n"
    b" by CH0PR10MB7534.namprd10.prod.outlook.com (2603:10b6:610:190::17) with\r\n"
    b" Microsoft SMTP Server (version=TLS1_2,\r\n"
    b" cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.21.181.10; Fri, 3 Jul\r\n"
    b" 2026 10:39:20 +0000\r\n"
)
PPS_FILTER = (
    b"Received: from pps.filterd (m0484888.ppops.net [127.0.0.1])\r\n"
    b"\tby mx0b-00300601.pphosted.com (8.18.1.11/8.18.1.11) with ESMTP id 6639lIxE1132588\r\n"
    b"\tfor <usrp-users@lists.ettus.com>; Fri, 3 Jul 2026 10:39:23 GMT\r\n"
)


def test_whole_record_of_a_real_block() -> None:
    block = (
        EXCHANGE
        + b"X-Received: by 2002:a05:6000:1:b0:1 with SMTP id x; not a Received header\r\n"
        + PPS_FILTER
        + b"Message-ID: <m1@example.org>\r\n"
        + b"Date: Fri, 3 Jul 2026 10:39:19 +0000\r\n"
        + b"From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\r\n"
        + b"To: usrp-users@lists.ettus.com\r\n"
        + b"Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus\r\n =?UTF-8?B?S8O2bG4=?=\r\n"
    )
    assert split_headers(block) == HeaderFields(
        received=(
            "from CH0PR10MB5179.namprd10.prod.outlook.com (2603:10b6:610:c7::21)"
            " by CH0PR10MB7534.namprd10.prod.outlook.com (2603:10b6:610:190::17) with"
            " Microsoft SMTP Server (version=TLS1_2,"
            " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.21.181.10; Fri, 3 Jul"
            " 2026 10:39:20 +0000",
            "from pps.filterd (m0484888.ppops.net [127.0.0.1])"
            "\tby mx0b-00300601.pphosted.com (8.18.1.11/8.18.1.11) with ESMTP id 6639lIxE1132588"
            "\tfor <usrp-users@lists.ettus.com>; Fri, 3 Jul 2026 10:39:23 GMT",
        ),
        message_id="<m1@example.org>",
        date="Fri, 3 Jul 2026 10:39:19 +0000",
        from_="Jörg <joerg@example.org>",
        to="usrp-users@lists.ettus.com",
        subject="Grüße aus Köln",
        encoding_errors=0,
    )


def test_names_are_case_insensitive_and_obsolete_space_before_colon() -> None:
    block = b"received: from a by b; x\nRECEIVED : from c by d; y\nReceived:\n\tfrom e by f; z\n"
    assert split_headers(block).received == ("from a by b; x", "from c by d; y", "from e by f; z")


def test_first_of_single_fields_wins_and_order_is_kept() -> None:
    block = b"Subject: one\nReceived: top\nSubject: two\nReceived: bottom\n"
    fields = split_headers(block)
    assert (fields.subject, fields.received) == ("one", ("top", "bottom"))


def test_lf_only_block_without_final_newline() -> None:
    block = b"Received: from x\n by y;\n Mon, 1 Jan 2024 00:00:00 +0000"
    assert split_headers(block).received == ("from x by y; Mon, 1 Jan 2024 00:00:00 +0000",)


def test_empty_block() -> None:
    assert split_headers(b"") == HeaderFields((), None, None, None, None, None, 0)


def test_invalid_utf8_is_replaced_and_counted_never_latin1() -> None:
    # raw UTF-8 host names are legal (RFC 6532); Latin-1 bytes are not UTF-8
    block = "Received: from hôte.example by mx; x\n".encode() + b"Subject: caf\xe9\n"
    fields = split_headers(block)
    assert fields.received == ("from hôte.example by mx; x",)
    assert fields.subject == "caf\ufffd"
    assert fields.encoding_errors == 1
    assert fields.has_encoding_errors


def test_rfc2047_is_tolerant() -> None:
    assert decode_rfc2047("=?no-such-charset?Q?abc?= tail") == ("abc tail", 1)
    assert decode_rfc2047("plain \\u0041 text") == ("plain \\u0041 text", 0)
    assert decode_rfc2047("=?UTF-8?B?broken") == ("=?UTF-8?B?broken", 0)
    assert split_headers(b"To: =?UTF-8?Q?caf=E9?= <a@b>\n").to == "caf\ufffd <a@b>"


def test_nul_bytes_are_kept() -> None:
    assert split_headers(b"Received: from a\x00b by c\n").received == ("from a\x00b by c",)


def test_one_mebibyte_block_is_read() -> None:
    """(its time against the 50 ms bound: ``bench/bench_received_worst.py``)"""
    pad = b"X-Pad: " + b"a" * 70 + b"\n"
    block = (EXCHANGE * 12 + pad * 14_000)[: 1 << 20]
    fields = split_headers(block)
    assert len(fields.received) == 12
    assert set(fields.received) == {split_headers(EXCHANGE).received[0]}


NAMES = st.sampled_from([b"Received", b"received", b"X-Received", b"Subject", b"From", b"To"])
VALUES = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b" "))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, VALUES, st.booleans()), max_size=20))
def test_every_received_line_is_one_value(fields: list[tuple[bytes, bytes, bool]]) -> None:
    lines = []
    for name, value, folded in fields:
        text = value[:10] + b"\r\n\t" + value[10:] if folded else value
        lines.append(name + b": " + text)
    block = b"\r\n".join(lines)
    got = split_headers(block)
    assert len(got.received) == sum(name.lower() == b"received" for name, _, _ in fields)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_never_raises(block: bytes) -> None:
    assert isinstance(split_headers(block), HeaderFields)


# The same field texts the two ways: a block that is valid UTF-8 is decoded once and its fields
# cut from the text; any other block is cut as bytes, each field decoded apart.
TEXTS = st.text(
    alphabet=st.sampled_from(
        ["a", " ", "\t", "\r", ":", "é", "\u0085", "\u2028", "\x0b", "ſ", "K"]
    ),
    max_size=30,
)
TEXT_NAMES = st.sampled_from(
    ["Received", "RECEIVED ", "received\t", "Date", "From", "To", "Subject", "Message-ID", "X-A"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT_NAMES, TEXTS, st.sampled_from(["", "\r\n ", "\n\t", "\n"]))))
def test_text_and_bytes_ways_cut_the_same_fields(
    fields: list[tuple[str, str, str]],
) -> None:
    block = "".join(f"{name}: {value[:5]}{fold}{value[5:]}\n" for name, value, fold in fields)
    assert _fields_of_text("\n" + block) == _fields_of_bytes(b"\n" + block.encode())[:2]
    assert _fields_of_bytes(b"\n" + block.encode())[2] == 0


def test_a_field_name_with_a_non_ascii_case_variant_is_not_a_field() -> None:
    # "ſ" (U+017F) matches "s" under Unicode case folding: field names fold as ASCII only
    block = "ſubject: no\nSubject: yes\n".encode()
    assert split_headers(block).subject == "yes"
