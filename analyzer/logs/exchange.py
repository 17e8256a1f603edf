"""Microsoft Exchange SMTP protocol logs (SmtpReceive / SmtpSend CSV): TLS negotiation lines.

Format: ``#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,
remote-endpoint,event,data,context`` (MicrosoftDocs OfficeDocs-Exchange protocol-logging.md);
success text from ``Util.FormatTlsSuccessResult``; real lines in shared reference
log-formats.md §2.4 (DFIR write-up RECV2023011116-1.LOG, MS support "UnknownCredentials").
The prefix module hands over everything after the time stamp's comma as the message.
Protocol logs name no message, so Exchange gives events, not deliveries.
"""

from __future__ import annotations

import csv
import re

from analyzer.logs.common import make_event, small_number
from analyzer.logs.taxonomy import classify, rfc8460
from analyzer.model.common import IssueKind, ParseIssue, clip
from analyzer.model.logs import Direction, EventKind, FailureCategory, LogLine, Mta, TlsEvent
from analyzer.normalize import normalize_version

Result = TlsEvent | ParseIssue | None
_X = Mta.EXCHANGE

# "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm
#  CALG_AES_128 with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits
#  and key exchange algorithm CALG_ECDH_EPHEM with strength 256 bits"
_SUCCESS = re.compile(
    r"TLS protocol SP_PROT_(?P<ver>[A-Z0-9_]{3,12}?)_(?P<side>SERVER|CLIENT) negotiation "
    r"succeeded using bulk encryption algorithm (?P<bulk>\w{1,40}) with strength "
    r"(?P<bits>\d{1,5}) bits(?:, MAC hash algorithm \w{1,40} with strength \d{1,5} bits)?"
    r"(?: and key exchange algorithm (?P<kex>\w{1,40}))?"
)
_FAILED = "TLS negotiation failed with error "


def _endpoint(text: str) -> tuple[str, int | None]:
    ip, _, port = text.rpartition(":")
    if not port.isdigit():
        return text, None
    return ip.strip("[]"), small_number(port)  # None for digits no port has


def parse(line: LogLine, raw: str) -> Result:
    """The event one protocol-log row describes, or None when it says nothing we use."""
    msg = line.message
    if "TLS" not in msg:
        return None
    try:
        row = next(csv.reader([msg]))
    except (csv.Error, StopIteration):
        return ParseIssue(
            line.origin,
            line.line_no,
            IssueKind.MALFORMED,
            "Exchange protocol-log row is not valid CSV",
            clip(raw),
            unit="line",
        )
    if len(row) < 7:
        return None
    _connector, session, _seq, local, remote, _event, data = row[:7]
    # TLS information rows ("*") carry their text in the context column (data is empty)
    data = row[7] if len(row) > 7 and row[7] else data
    ip, port = _endpoint(remote)
    fields: dict[str, object] = {"session_id": session, "peer_ip": ip, "peer_port": port}
    m = _SUCCESS.match(data)
    if m is not None:
        direction = Direction.INBOUND if m["side"] == "SERVER" else Direction.OUTBOUND
        # Schannel names algorithms, not suites: the bulk cipher id stands in for the suite
        return make_event(
            line,
            raw,
            _X,
            EventKind.TLS_ESTABLISHED,
            direction=direction,
            tls_version=normalize_version(m["ver"]),
            cipher=m["bulk"],
            bits=int(m["bits"]),
            key_exchange=m["kex"],
            encrypted=True,
            detail=data,
            **fields,
        )
    if data.startswith(_FAILED):
        return _failed(line, raw, data, local, port, fields)
    return None


def _failed(
    line: LogLine, raw: str, data: str, local: str, port: int | None, fields: dict[str, object]
) -> TlsEvent:
    """``TLS negotiation failed with error UnknownCredentials`` (MS support article)."""
    token = data[len(_FAILED) :].strip()
    category = classify(token) or FailureCategory.HANDSHAKE_FAILURE
    _, local_port = _endpoint(local)
    direction: Direction | None = None
    if local_port in (25, 465, 587):
        direction = Direction.INBOUND
    elif port == 25:
        direction = Direction.OUTBOUND
    return make_event(
        line,
        raw,
        _X,
        EventKind.TLS_FAILED,
        direction=direction,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        detail=data,
        **fields,
    )
