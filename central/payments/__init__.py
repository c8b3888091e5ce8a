"""Money through the payment provider, seen from the back office.

Flow of a refund: a manager names a provider top-up (its ledger transaction)
and an amount; :mod:`central.payments.refunds` checks everything the ledger
would refuse (more than is left to refund, more than the wallet has), finds the
provider order the kiosk's journal entry names, asks the provider
(:mod:`central.payments.provider`, signed like the provider's callbacks) to
refund that order under a refund id, and posts the ledger refund wallet -> the
provider's clearing account under a key made from the refund id, recording it
in ``provider_refunds`` (:mod:`central.payments.tables`). The provider is
idempotent by refund id and the ledger by key, so a retry after a lost answer
refunds once in each.

Flow of a day's settlement: the provider's signed file
(:mod:`domain.settlement_file`) is fetched or read (:mod:`.files`) and checked
against its signature; :mod:`.clearing` lists what moved through the clearing
account, :mod:`.reconcile` matches each line to it and reports every
difference, and :mod:`.settle` posts the provider's fee and its payout to the
bank, once per file id. ``prepaid central payments reconcile`` (:mod:`.cli`)
and ``/v1/payments/settlements/{day}`` run it.
"""
