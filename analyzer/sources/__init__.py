"""sources layer: I/O only. Inputs in, raw records with their origin and position out.

``mailbox.iter_messages`` reads every mailbox export (mbox, compressed mbox, Maildir, .eml,
directories, Outlook .msg; .pst is refused with a converter named) and yields header blocks
(``RawMessage``) or ``ParseIssue`` rows; ``kinds.detect_kind`` tells a mailbox from anything
else by content. ``logs`` reads MTA logs; ``probe`` talks to servers.
"""
