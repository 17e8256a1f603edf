"""received layer."""
