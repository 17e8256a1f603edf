"""mailtls: forensic analysis of TLS in e-mail transport."""

__version__ = "0.1.0"
