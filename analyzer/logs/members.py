"""Enum members the correlator reads for every event, bound once as plain module globals.

On Python 3.11 reading a member through its class (``Outcome.DELIVERED``) goes through the
hook of ``EnumType.__getattr__`` and costs about 65 ns, a module global 8 ns (``timeit``); a
status line read about twenty of them. A module that imports these names reads them as its
own globals. The members are the same objects: ``DELIVERED is Outcome.DELIVERED``.
"""

from __future__ import annotations

from analyzer.model.logs import Direction, EventKind, FailureCategory, Mta, Outcome, Trust

DELIVERED = Outcome.DELIVERED
NOT_SENT = (Outcome.DEFERRED, Outcome.BOUNCED)  # a deferral or a bounce
INBOUND, OUTBOUND = Direction.INBOUND, Direction.OUTBOUND
POSTFIX, SENDMAIL = Mta.POSTFIX, Mta.SENDMAIL
UNVERIFIED = FailureCategory.CERTIFICATE_UNVERIFIED
UNTRUSTED = Trust.UNTRUSTED
TLS_KINDS = (EventKind.TLS_ESTABLISHED, EventKind.TLS_REUSED)
DELIVERY, REPLAY = EventKind.DELIVERY, EventKind.REPLAY
RECEIVED, REJECTED = EventKind.RECEIVED, EventKind.REJECTED
CONNECT, DISCONNECT = EventKind.CONNECT, EventKind.DISCONNECT
MESSAGE_ID, QUEUED, REMOVED = EventKind.MESSAGE_ID, EventKind.QUEUED, EventKind.REMOVED
NOTIFICATION = EventKind.NOTIFICATION
