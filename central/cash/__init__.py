"""Kiosk cash boxes, seen from the back office: a collection recorded, then counted.

Flow: a kiosk's cash top-ups post ``cash_box:<terminal>`` -> the wallet, so the
cash box's balance is the cash it should hold. Pulling the cassette closes a
period: the kiosk journals a signed ``cash_collected`` entry with its count per
denomination, and the journal upload (:mod:`central.journal.service`) hands it
to :func:`.service.record_collection`, which checks the body and records one
``cash_collections`` row per entry (:mod:`.tables`), status ``open``.

The back office counts the notes and enters its count
(``POST /v1/cash/collections/{id}/count``, ``prepaid central cash count``):
:func:`.service.count_collection` posts one balanced transaction, keyed by the
collection's id so it posts once, that relieves the cash box of exactly what the
kiosk counted, puts what the office counted in ``clearing:bank`` (the deposit),
and the difference, over or short, in ``variance:cash``. The row then holds the
count, who made it and the transaction, status ``counted``; a count stands.
"""
