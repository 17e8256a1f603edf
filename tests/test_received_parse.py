"""Clause scanner, fields, hop assembly and the parser's robustness properties."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import load_mailbox, parse_received
from analyzer.frames.received import HOPS, _hop_row, hop_rows, hops_frame
from analyzer.model import Dialect, Evidence, Role, TlsVersion
from analyzer.received import MAX_HEADER
from analyzer.received.chain import TrustPolicy, assemble, delays, org_domain, roles
from analyzer.received.fields import as_ip, parse_date
from analyzer.received.scan import split_clauses

# received-formats.md §3.1 (ARCH-USRP@aa7751badd2f) and §3.3 (ARCH-USRP@a78781dfda4f).
POSTFIX = (
    "from [192.168.1.99] (91-158-166-60.elisa-laajakaista.fi [91.158.166.60])\n"
    "\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)\n"
    "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n"
    "\t(No client certificate requested)\n\t(Authenticated sender: ville.eerola)\n"
    "\tby lahtoruutu.iki.fi (Postfix) with ESMTPSA id 822241B001AF\n"
    "\tfor <usrp-users@lists.ettus.com>; Mon, 20 Feb 2023 20:05:16 +0200 (EET)"
)


def test_clauses_keep_with_inside_comments_and_split_the_rest() -> None:
    c = split_clauses(POSTFIX)
    assert [cl.key for cl in c.clauses] == ["from", "by", "with", "id", "for", "date"]
    assert c.first("from") is not None
    assert c.first("from").comments[1].startswith("using TLSv1.3 with cipher")  # type: ignore[union-attr]
    assert c.first("with").words == ["ESMTPSA"]  # type: ignore[union-attr]
    assert c.first("date").words == ["Mon,", "20", "Feb", "2023", "20:05:16", "+0200"]  # type: ignore[union-attr]


def test_unclosed_comment_runs_to_the_end() -> None:
    c = split_clauses("from a (b [1.2.3.4] by c with ESMTP")
    assert [(cl.key, cl.items) for cl in c.clauses] == [
        ("from", ["a", "(b [1.2.3.4] by c with ESMTP)"])
    ]


def test_mimecast_two_with_clauses() -> None:
    # received-formats.md §3.14, ARCH-USRP@a264687f8c81
    h = parse_received(
        "from BL2PR02CU003.outbound.protection.outlook.com\n"
        " (mail-eastusazlp17012019.outbound.protection.outlook.com [40.93.11.19]) by\n"
        " relay.mimecast.com with ESMTP with STARTTLS (version=TLSv1.2,\n"
        " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\n"
        " us-mta-338-PjdGqfvTNPuB1q6Nhf5zzA-1; Mon, 25 Mar 2024 08:37:14 -0400"
    )
    assert (h.protocol, h.tls.dialect, h.tls.evidence, h.tls.tls_version) == (
        "ESMTP",
        Dialect.MIMECAST,
        Evidence.TLS,
        TlsVersion.TLSV1_2,
    )


def test_address_forms() -> None:
    assert as_ip("[IPv6:2001:4ca0:0:108::171]") == "2001:4ca0:0:108::171"
    assert as_ip("[63.251.66.24.63559]") == "63.251.66.24"  # Exim 3 dotted port
    assert as_ip("[(10.110.15.173)]") == "10.110.15.173"  # Cellopoint
    assert as_ip("[fe80::19bd:c588:dd17:5226%6]") == "fe80::19bd:c588:dd17:5226%6"
    assert as_ip("[local]") is None
    assert as_ip("4.97.1") is None


def test_dates() -> None:
    assert parse_date("Mon, 20 Feb 2023 20:05:16 +0200 (EET)") == datetime(
        2023, 2, 20, 18, 5, 16, tzinfo=UTC
    )
    assert parse_date("02 Jul 2026 11:37:21 -0700") == datetime(2026, 7, 2, 18, 37, 21, tzinfo=UTC)
    assert parse_date("Sun, 22 Apr 2018 02:54:16.987 +0000 (UTC)") == datetime(
        2018, 4, 22, 2, 54, 16, 987000, tzinfo=UTC
    )
    assert parse_date("not a date") is None


def test_org_domain() -> None:
    assert org_domain("mx1.mail.example.com") == "example.com"
    assert org_domain("relay.example.co.uk") == "example.co.uk"
    assert org_domain("192.0.2.1") is None
    assert org_domain("localhost") is None


# A real chain of one message: Proofpoint filter on loopback above its own ingress, which
# received from Microsoft (received-formats.md §3.2, ARCH-USRP@aa7ea070af4f), plus the
# Exchange Online hop below it from the same message (§3.4).
CHAIN = [
    "from pps.filterd (m0484888.ppops.net [127.0.0.1])\n\tby mx0b-00300601.pphosted.com "
    "(8.18.1.11/8.18.1.11) with ESMTP id 6639lIxE1132588\n\tfor <usrp-users@lists.ettus.com>; "
    "Fri, 3 Jul 2026 10:39:23 GMT",
    "from cy7pr03cu001.outbound.protection.outlook.com (mail-westcentralusazon11010071.outbound."
    "protection.outlook.com [40.93.198.71])\n\tby mx0b-00300601.pphosted.com (PPS) with ESMTPS id "
    "4f69fbgv99-1\n\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\n\tfor "
    "<usrp-users@lists.ettus.com>; Fri, 03 Jul 2026 10:39:23 +0000 (GMT)",
    "from CH0PR10MB5179.namprd10.prod.outlook.com (2603:10b6:610:c7::21)\n by "
    "CH0PR10MB7534.namprd10.prod.outlook.com (2603:10b6:610:190::17) with\n Microsoft SMTP Server "
    "(version=TLS1_2,\n cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.21.181.10; Fri, 3 Jul\n"
    " 2026 10:39:20 +0000",
]


def test_roles_inferred_from_the_top_by_host() -> None:
    headers = [parse_received(h) for h in CHAIN]
    assert roles(headers, TrustPolicy()) == [Role.LOCAL, Role.BOUNDARY, Role.EXTERNAL]


def test_roles_with_trusted_patterns() -> None:
    headers = [parse_received(h) for h in CHAIN]
    policy = TrustPolicy(("*.pphosted.com", "*.outlook.com"))
    assert roles(headers, policy) == [Role.LOCAL, Role.INTERNAL, Role.INTERNAL]


def test_hops_are_numbered_from_the_bottom_with_delays() -> None:
    hops = assemble("m.mbox", "<id@x>", [parse_received(h) for h in CHAIN], TrustPolicy())
    assert [(h.hop, h.role, h.delay_s, h.clock_skew) for h in hops] == [
        (1, Role.EXTERNAL, None, False),
        (2, Role.BOUNDARY, 3.0, False),
        (3, Role.LOCAL, 0.0, False),
    ]


def test_negative_delay_is_kept_and_flagged() -> None:
    late = CHAIN[2].replace("10:39:20", "10:49:20")
    hops = assemble("m", None, [parse_received(CHAIN[1]), parse_received(late)], TrustPolicy())
    assert (hops[1].delay_s, hops[1].clock_skew) == (-597.0, True)


def test_delays_bottom_first_skipping_undated_headers() -> None:
    headers = [parse_received(h) for h in CHAIN]
    undated = parse_received("from a.example by b.example with ESMTP id 1")
    assert delays(headers) == [None, 3.0, 0.0]
    assert delays([headers[0], undated, headers[2]]) == [None, None, 3.0]
    assert delays([]) == []


UNDATED = "from a.example ([192.0.2.7]) by b.example with ESMTP id 1"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([*CHAIN, POSTFIX, UNDATED]), max_size=6),
    st.sampled_from([(), ("*.pphosted.com",), ("*.example",)]),
)
def test_hop_rows_are_the_rows_of_the_assembled_hops(
    chain: list[str], patterns: tuple[str, ...]
) -> None:
    # the mailbox reader makes the rows without Hop records: exactly the same rows
    headers = [parse_received(h) for h in chain]
    policy = TrustPolicy(patterns)
    expected = [_hop_row(h) for h in assemble("m.mbox:7", "<id@x>", headers, policy)]
    got = hop_rows("m.mbox:7", "<id@x>", headers, roles(headers, policy), delays(headers))
    assert got == expected


def test_hops_frame_dtypes_and_values() -> None:
    hops = assemble("m.mbox", "<id@x>", [parse_received(h) for h in CHAIN], TrustPolicy())
    df = hops_frame(hops)
    assert list(df.columns) == HOPS.names
    assert str(df["tls_version"].dtype) == "category"
    assert df["tls_version"].cat.ordered
    assert df["encrypted"].tolist() == [True, True, pd.NA]
    assert df["tls_version"].tolist()[:2] == ["TLSv1.2", "TLSv1.3"]
    assert pd.isna(df["tls_version"].iloc[2])
    assert df["evidence"].tolist() == ["tls", "tls", "unknown"]
    assert df["dialect"].tolist() == ["exchange", "sendmail", "sendmail"]
    assert df["bits"].tolist() == [pd.NA, 256, pd.NA]


def test_empty_hops_frame_keeps_dtypes() -> None:
    df = hops_frame([])
    assert len(df) == 0
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(df["encrypted"].dtype) == "boolean"


@settings(max_examples=300, deadline=200)
@given(st.text(max_size=3000))
def test_parser_never_raises_on_any_text(text: str) -> None:
    h = parse_received(text)
    assert h.tls.evidence in set(Evidence)
    assert h.tls.evidence is not Evidence.PLAINTEXT or h.tls.marker


_PIECES = st.sampled_from(
    ["from", "by", "with", "id", "for", "via", "tls", ";", "(", ")", "[", "]", '"', "ESMTPS",
     "using TLSv1.2 with cipher", "version=TLS1_2", "1.2.3.4", "[IPv6:::1]", "Exim", "\n\t", " "]
)  # fmt: skip


@settings(max_examples=300, deadline=200)
@given(st.lists(_PIECES, max_size=400))
def test_parser_never_raises_on_keyword_soup(pieces: list[str]) -> None:
    parse_received(" ".join(pieces))


@settings(max_examples=50, deadline=2000)
@given(st.lists(st.sampled_from([*CHAIN, POSTFIX]), min_size=1, max_size=6))
def test_round_trip_through_the_frame(chain: list[str]) -> None:
    headers = [parse_received(h) for h in chain]
    df = hops_frame(assemble("s", "<m>", headers, TrustPolicy()))
    assert len(df) == len(chain)
    for row, h in zip(df.itertuples(index=False), reversed(headers), strict=True):
        assert row.evidence == h.tls.evidence.value
        assert row.by_host == h.by_host
        assert (None if pd.isna(row.cipher) else row.cipher) == h.tls.cipher


def test_oversized_text_is_cut_before_scanning() -> None:
    h = parse_received("from a by b with ESMTPS id c; " + "x" * (2 * MAX_HEADER))
    assert h.tls.evidence is Evidence.TLS_KEYWORD


def test_dates_outside_the_calendar_in_utc_are_unreadable(tmp_path: Path) -> None:
    """A date that leaves years 1 to 9999 once in UTC is no time (it used to raise), in a
    Received header and in the Date header alike; the message and its hop are kept."""
    for text in ("Fri, 31 Dec 9999 23:59:59 -0500", "31 Dec 9999 23:59:59.5 -2359",
                 "1 Jan 0001 00:00:00 +0500", "9999-12-31 23:59:59 -0500"):  # fmt: skip
        assert parse_date(text) is None, text
    assert parse_date("Mon, 1 Jan 0001 05:00:00 +0500") == datetime(1, 1, 1, tzinfo=UTC)
    header = parse_received("from a.example by b.example; Fri, 31 Dec 9999 23:59:59 -0500")
    assert (header.by_host, header.date_raw, header.timestamp) == (
        "b.example", "Fri, 31 Dec 9999 23:59:59 -0500", None,
    )  # fmt: skip
    box = tmp_path / "y9999.mbox"
    box.write_text(
        "From x@y Sat Jan  5 09:14:16 2008\n"
        "Received: from a.example by b.example; Fri, 31 Dec 9999 23:59:59 -0500\n"
        "Date: Fri, 31 Dec 9999 23:59:59 -0500\nSubject: x\n\nbody\n",
        encoding="ascii",
    )
    frames = load_mailbox([box])
    assert (len(frames.hops), len(frames.messages), len(frames.issues)) == (1, 1, 0)
    assert frames.hops["timestamp"].isna().all()
    assert frames.messages["date"].isna().all()


def test_times_outside_the_frames_range_are_missing(tmp_path: Path) -> None:
    """Years the frames' nanosecond time columns cannot hold (before 1677, after 2262) are
    kept by the records and shown as missing in the frames (they stopped the frame builder)."""
    box = tmp_path / "far.mbox"
    box.write_text(
        "From x@y Sat Jan  5 09:14:16 2008\n"
        "Received: from a.example by b.example; Sat, 7 Mar 255 13:00:06 +0000\n"
        "Received: from c.example by a.example; Mon, 1 Jan 2300 00:00:00 +0000\n"
        "Date: Mon, 1 Jan 2300 00:00:00 +0000\nSubject: x\n\nbody\n",
        encoding="ascii",
    )
    frames = load_mailbox([box])
    assert (len(frames.hops), len(frames.messages), len(frames.issues)) == (2, 1, 0)
    assert frames.hops["timestamp"].isna().tolist() == [True, True]
    assert frames.hops["delay_s"].tolist()[1] < 0  # the records' times still give the delay
    assert frames.messages["date"].isna().all()
    assert parse_received(
        "from a.example by b.example; Sat, 7 Mar 255 13:00:06 +0000"
    ).timestamp == datetime(255, 3, 7, 13, 0, 6, tzinfo=UTC)


_GOLDEN_TEXTS = [
    p.read_text(encoding="utf-8").rstrip("\n")
    for p in sorted((Path(__file__).parent / "data" / "received").glob("*.txt"))
]
_EXTREMES = ["0", "00", "9" * 30, "99", "255", "9999", "0000", "0001", "2300", "1600", "60",
             "24", "31", "29", "²"]  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_extreme_numbers_in_real_headers_never_stop_a_read(
    data: st.DataObject, tmp_path: Path
) -> None:
    """Real headers, and a Date, with runs of digits replaced by numbers no calendar has: the
    message and every header are read (none lost to a parser bug), whatever their times."""
    headers = []
    for text in data.draw(st.lists(st.sampled_from(_GOLDEN_TEXTS), min_size=1, max_size=4)):
        parts = re.split(r"(\d+)", text)
        for i in range(1, len(parts), 2):
            if data.draw(st.booleans()):
                parts[i] = data.draw(st.sampled_from(_EXTREMES))
        headers.append("".join(parts).replace("\n", "\n "))
    day, year, zone = (data.draw(st.sampled_from(_EXTREMES)) for _ in range(3))
    box = tmp_path / "damaged.mbox"
    box.write_text(
        "From x@y Sat Jan  5 09:14:16 2008\n"
        + "".join(f"Received: {h}\n" for h in headers)
        + f"Date: Mon, {day} Jan {year} 10:00:00 +{zone}\nSubject: x\n\nbody\n",
        encoding="utf-8",
    )
    frames = load_mailbox([box])
    kinds = frames.issues["kind"].astype(str).tolist()
    assert "parser-bug" not in kinds
    assert len(frames.messages) == 1
    assert len(frames.hops) + kinds.count("oversized") == len(headers)
