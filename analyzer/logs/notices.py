"""Links between a message and the notices the Postfix bounce daemon sent about it.

``<old-qid>: sender non-delivery notification: <new-qid>`` (shared reference log-formats.md
§2.1.8 item 7; the texts and their source files are cited in ``analyzer.logs.postfix``) ties
two queue ids. The delivery rows of the original's attempts that the notice reports get
``notice_queue_id`` = the new id, and the deliveries of the notice itself get ``notice_of`` =
the original id: a bounce leads to its non-delivery report's own delivery (and whether that
went over TLS), and back.

What a notice reports, by its kind (``REPORTS``): a non-delivery notification the bounced
rows, and the deferred rows to the same recipient domain before them (a message that expires
in the queue is returned with the reason of its last deferral); a delay notification the
deferred rows; a delivery status notification (DSN NOTIFY=SUCCESS, ``sendmail -v``) the
delivered ones. Each row takes the first notice that reports it (a delay notification
before the non-delivery one; the sender's notice before the postmaster's copy, which
bounce_notify_service.c sends second).

The notice line usually follows the rows it reports (the queue manager asks the bounce daemon
once it has finished the message), but may come before them: Postfix 3.11 logs it earlier
(RELEASE_NOTES-3.11), and exports sorted by coarse time stamps mix the order. Rows already
emitted get their columns afterwards (by row number, applied once when the frame is built). Rows emitted after the notice are stamped as they come when they are
final (bounced, delivered: a recipient has one) and within ``WINDOW_S`` of it; a deferral
after a delay notice is a later attempt that notice did not report. Every map is bounded,
least recently used entries dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from analyzer.logs.delivery_rows import DeliveryRow
from analyzer.logs.members import INBOUND, POSTFIX
from analyzer.model.logs import Delivery, Outcome


@dataclass(frozen=True, slots=True)
class Reports:
    """What a notice reports of the original message's attempts.

    Attributes:
        outcome: the outcome of the rows it reports.
        earlier: rows of this outcome before one of those, to its recipient domain, too.
        ahead: whether rows of ``outcome`` logged just after the notice are its (a final
            outcome, which a recipient has once).
    """

    outcome: Outcome
    earlier: Outcome | None = None
    ahead: bool = True


# The middle words of the notice kinds (postfix.py _NOTICE) -> what the notice reports
REPORTS = {
    "non-delivery": Reports(Outcome.BOUNCED, Outcome.DEFERRED),
    "delay": Reports(Outcome.DEFERRED, ahead=False),
    "delivery status": Reports(Outcome.DELIVERED),
}
WINDOW_S = 10  # a notice logged before the rows it reports comes this close to them
MAX_ROWS = 32  # rows remembered per message (its latest attempts)

V = TypeVar("V")


@dataclass(slots=True)
class NoticeColumns:
    """The notice columns of every row the correlator emitted, in its order (row number =
    list index), ``""`` where a row has none.

    Two lists of references to strings that live anyway: a dict of a tuple per linked row
    (most rows of a bounce-heavy log) made half a million small objects that lived to the
    end among the correlator's short-lived ones, and the correlator slowed as they piled up
    (0.4 s more on 2,000,376 benchmark lines).

    Attributes:
        notice_queue_id: per row, the queue id of the notice that reports it.
        notice_of: per row of a notice's own delivery, the queue id of the message it is about.
    """

    notice_queue_id: list[str] = field(default_factory=list)
    notice_of: list[str] = field(default_factory=list)

    def linked(self) -> dict[int, tuple[str, str]]:
        """The rows that have any notice column: row number -> (notice_queue_id, notice_of)."""
        pairs = zip(self.notice_queue_id, self.notice_of, strict=True)
        return {i: (n, o) for i, (n, o) in enumerate(pairs) if n or o}


def reports_of(kind: str) -> Reports | None:
    """What a notice of ``kind`` (``sender delay notification``) reports."""
    return REPORTS.get(kind.partition(" ")[2].removesuffix(" notification"))


# A delivery row emitted for a message, as the book remembers it: its number, and what a
# notice looks at (outcome, recipient domain). Its notice columns are in ``columns`` alone.
_Row = tuple[int, Outcome, str]


class NoticeBook:
    """The notices seen and the rows they may report (see module doc).

    The rows themselves are never rebuilt here: ``columns`` holds the notice columns of every
    row, by row number, and whoever builds the frame applies them once (most
    rows a notice reports were emitted before it, many already handed over).
    """

    def __init__(self, max_messages: int) -> None:
        self._max = max_messages
        self._rows: OrderedDict[tuple[str, str], list[_Row]] = OrderedDict()
        # notices about a message, for its rows still to come: (new id, reports, time)
        self._sent: OrderedDict[tuple[str, str], list[tuple[str, Reports, datetime | None]]] = (
            OrderedDict()
        )
        self._of: OrderedDict[tuple[str, str], str] = OrderedDict()  # (host, new id) -> old id
        self.columns = NoticeColumns()

    def _bound(self, table: OrderedDict[tuple[str, str], V], key: tuple[str, str]) -> None:
        table.move_to_end(key)
        if len(table) > self._max:
            table.popitem(last=False)

    def stamp(self, host: str, row: DeliveryRow | Delivery) -> None:
        """The next row (numbered in the order of the calls): its notice columns from the
        notices seen so far, and remembered for notices still to come."""
        ids, ofs = self.columns.notice_queue_id, self.columns.notice_of
        index = len(ids)
        if row.mta is not POSTFIX or not row.queue_id or row.direction is INBOUND:
            ids.append("")
            ofs.append("")
            return
        key = (host, row.queue_id)
        rows = self._rows.get(key)
        outcome, domain = row.outcome, row.recipient_domain
        notice = ""
        sent = self._sent.get(key)
        if sent is not None:
            for new_id, reports, when in sent:
                if reports.ahead and reports.outcome is outcome and _near(when, row.timestamp):
                    notice = new_id
                    if rows and reports.earlier is not None:
                        self._claim(rows, new_id, reports.earlier, {domain})
                    break
        ids.append(notice)
        ofs.append(self._of.get(key, ""))
        if rows is None:
            self._rows[key] = [(index, outcome, domain)]
            if len(self._rows) > self._max:
                self._rows.popitem(last=False)
            return
        if len(rows) >= MAX_ROWS:
            del rows[0]
        rows.append((index, outcome, domain))
        self._rows.move_to_end(key)

    def notice(
        self, host: str, queue_id: str, new_id: str, kind: str, when: datetime | None
    ) -> None:
        """A notice ``new_id`` of ``kind`` about ``queue_id``: link the rows already emitted."""
        of_key = (host, new_id)
        self._of[of_key] = queue_id
        self._bound(self._of, of_key)
        reports = reports_of(kind)
        key = (host, queue_id)
        if reports is not None:
            self._sent.setdefault(key, []).append((new_id, reports, when))
            self._bound(self._sent, key)
            rows = self._rows.get(key, [])
            domains = self._claim(rows, new_id, reports.outcome, None)
            if reports.earlier is not None and domains:
                self._claim(rows, new_id, reports.earlier, domains)
        ofs = self.columns.notice_of
        for index, _, _ in self._rows.get(of_key, ()):
            if not ofs[index]:
                ofs[index] = queue_id

    def _claim(
        self, rows: Iterable[_Row], new_id: str, outcome: Outcome, domains: set[str] | None
    ) -> set[str]:
        """Give the unclaimed ``rows`` of ``outcome`` (to ``domains`` when given) the notice
        ``new_id``; the recipient domains of the rows claimed."""
        claimed = set()
        ids = self.columns.notice_queue_id
        for index, row_outcome, domain in rows:
            if row_outcome is not outcome or (domains is not None and domain not in domains):
                continue
            if not ids[index]:
                claimed.add(domain)
                ids[index] = new_id
        return claimed

    def apply(self, rows: list[DeliveryRow], first: int) -> None:
        """Give ``rows``, numbered from ``first`` on, their notice columns (in place)."""
        ids, ofs = self.columns.notice_queue_id, self.columns.notice_of
        for at in range(first, first + len(rows)):
            notice, of = ids[at], ofs[at]
            if notice or of:
                rows[at - first] = rows[at - first]._replace(notice_queue_id=notice, notice_of=of)

    def removed(self, host: str, queue_id: str) -> None:
        """``queue_id`` left the queue: no notice comes for its rows any more, and no row of
        it comes for the notices about it (or that it is)."""
        key = (host, queue_id)
        self._rows.pop(key, None)
        self._sent.pop(key, None)
        self._of.pop(key, None)


def _near(a: datetime | None, b: datetime | None) -> bool:
    return a is None or b is None or abs((a - b).total_seconds()) <= WINDOW_S
