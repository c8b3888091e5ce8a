"""Terminals' journals on the server: each entry applied to the ledger exactly once.

The flow of one upload (``POST /v1/terminals/{id}/journal``, one transaction):

1. ``service.receive`` locks the terminal's journal head (its last accepted seq
   and hash);
2. entries at or below the head are resends: the same hash answers ``duplicate``
   with the first verdict, a different one is tampering;
3. new entries must follow the head without a gap, each naming the hash of the
   one before and hashing to what it claims (``domain.journal``); one verified
   signature on the last of them vouches for the chain (``central.terminals.keys``
   keeps every key the terminal ever had); a decommissioned terminal's entries
   land up to its last one (``central.terminals.lifecycle``);
4. the accepted entries that move money go to ``central.ledger.batch.apply_batch``
   under the idempotency key ``journal:<terminal>:<seq>``: exactly once falls
   out of the ledger's idempotency, in the same transaction as the head; a
   ``pass_use`` counts a visit down, a ``cash_collected`` records a pulled cash
   box for the back office to count (``central.cash``), each in its savepoint;
5. every entry gets a verdict; gaps, broken chains and bad signatures are kept
   as incidents (``tables.journal_incidents``) and logged as tampering.

``snapshot`` builds what a terminal needs offline; ``reconcile`` compares a
terminal's journal with what the ledger applied, day by day.
"""
