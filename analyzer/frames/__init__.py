"""frames layer."""
