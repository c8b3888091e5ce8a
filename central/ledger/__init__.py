"""The ledger: accounts, double-entry transactions, holds, statements, checks.

Every operation takes an open database connection inside the caller's
transaction and never commits: one business operation, one commit, made by the
caller (an API request, a CLI command, a terminal's batch with a savepoint per
entry).
"""
