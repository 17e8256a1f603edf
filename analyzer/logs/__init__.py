"""logs layer."""
