"""The audit log: every staff action, append-only, listable by an auditor."""
