"""received/dialects layer."""
