"""The central server: it keeps every household's money.

Flow: an HTTP request (``api/``) is authenticated (``auth/``), validated into a
pydantic model, and handed to one business operation (``ledger/``, ``estate/``)
that runs in one database transaction (``db/``). The ledger is double entry:
postings of a transaction sum to zero; nothing is updated or deleted but the
cached balances that ``prepaid central check`` recomputes.
"""
