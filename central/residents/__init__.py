"""Residents reaching their own household: sign-in by phone and one-time code,
and the read-only views a resident token may see (its own unit, nothing else)."""
