"""RFC 8460 (SMTP TLS Reporting) aggregate reports from historical outbound deliveries.

One report per policy domain (the recipient domain) and UTC day, in the JSON of RFC 8460
§4.4 (field list as in shared reference log-formats.md §4.3): ``organization-name``,
``date-range``, ``contact-info``, ``report-id``, ``policies[]`` with ``policy``, ``summary``
and ``failure-details``. Rules (log-formats.md §4.2):

* sessions, not messages: delivery rows of one queue id, recipient domain, peer address and
  attempt are one session (several recipients of a domain share a session);
* ``policy-type`` is ``no-policy-found``: the logs carry no DANE or MTA-STS evidence here;
* a session is a failure when the log gave it an RFC 8460 result type (a fallback row only
  repeats the failure of its earlier attempt and is not counted again); a success when it was
  encrypted without one; sessions the log cannot classify are not reported;
* the file name is ``sender!policy-domain!begin!end!001.json`` (RFC 8460 §5.3, sender = the
  domain of the contact address). Domains that are not plain DNS names are skipped, so no
  file name can leave the output directory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from analyzer.metrics.columns import blank_to_na, text

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_IP_LIKE = re.compile(r"^[0-9.]+$|:")
_SESSION = ["queue_id", "domain", "peer_ip", "attempt"]


@dataclass(frozen=True, slots=True)
class TlsrptReport:
    """One RFC 8460 aggregate report.

    Attributes:
        filename: the RFC 8460 §5.3 file name (without compression suffix).
        policy_domain: the recipient domain reported on.
        document: the report as a JSON-ready object.
    """

    filename: str
    policy_domain: str
    document: dict[str, Any]

    def json(self) -> str:
        return json.dumps(self.document, indent=2, ensure_ascii=False) + "\n"


def _sessions(deliveries: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    d = deliveries[text(deliveries["direction"]) == "outbound"]
    stamps = pd.to_datetime(d["timestamp"], utc=True)
    d = d[((stamps >= start) & (stamps < end)).fillna(False)]
    attempt = d["attempt"] if "attempt" in d.columns else pd.Series(1, index=d.index)
    fallback = d["fallback"].astype("boolean").fillna(False)
    result = text(d["rfc8460_result_type"]).mask(fallback)
    s = pd.DataFrame(
        {
            "queue_id": text(d["queue_id"]).fillna(""),
            "domain": text(d["recipient_domain"]).str.lower().fillna(""),
            "peer_ip": text(d["peer_ip"]).fillna(""),
            "peer_host": blank_to_na(d["peer_host"]),
            "attempt": attempt.astype("Int64"),
            "encrypted": d["encrypted"].astype("boolean"),
            "result": result,
            "reason": text(d["failure_category"]),
        }
    )
    return s.drop_duplicates(_SESSION, keep="first")


def _failure_details(f: pd.DataFrame) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    keys = ["result", "peer_ip", "peer_host", "reason"]
    for (result, ip, host, reason), g in f[keys].fillna("").groupby(keys, sort=True):
        item: dict[str, Any] = {"result-type": str(result)}
        if host and not _IP_LIKE.search(str(host)):
            item["receiving-mx-hostname"] = str(host)
        if ip:
            item["receiving-ip"] = str(ip)
        item["failed-session-count"] = len(g)
        if reason:
            item["failure-reason-code"] = str(reason)
        details.append(item)
    return details


def _sender(contact: str) -> str:
    domain = contact.rsplit("@", 1)[-1].lower().strip(">") if "@" in contact else ""
    return domain if _DNS_NAME.match(domain) else "localhost"


def tlsrpt_reports(
    deliveries: pd.DataFrame, *, organization: str, contact: str, day: date
) -> tuple[TlsrptReport, ...]:
    """The RFC 8460 reports of ``day`` (UTC), one per policy domain with reportable sessions."""
    start = datetime.combine(day, time(0, 0), tzinfo=UTC)
    end = start + timedelta(days=1)
    sessions = _sessions(deliveries, start, end)
    begin_s, end_s = (
        start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        (end - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    sender = _sender(contact)
    out: list[TlsrptReport] = []
    for domain, g in sessions.groupby("domain", sort=True):
        name = str(domain)
        if not _DNS_NAME.match(name):
            continue
        failed = g[g["result"].notna()]
        ok = g[g["result"].isna() & (g["encrypted"] == True).fillna(False)]  # noqa: E712
        if failed.empty and ok.empty:
            continue
        doc = {
            "organization-name": organization,
            "date-range": {"start-datetime": begin_s, "end-datetime": end_s},
            "contact-info": contact,
            "report-id": f"{begin_s}_{name}@{sender}",
            "policies": [
                {
                    "policy": {"policy-type": "no-policy-found", "policy-domain": name},
                    "summary": {
                        "total-successful-session-count": len(ok),
                        "total-failure-session-count": len(failed),
                    },
                    "failure-details": _failure_details(failed),
                }
            ],
        }
        filename = f"{sender}!{name}!{int(start.timestamp())}!{int(end.timestamp()) - 1}!001.json"
        out.append(TlsrptReport(filename, name, doc))
    return tuple(out)
