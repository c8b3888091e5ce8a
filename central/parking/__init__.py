"""Parking on the server: vehicles, passes that renew themselves, tariffs, sessions.

Flow: a manager stores versioned tariffs (resident and visitor) and the rules
for awkward cases; plates are the unit's credentials of kind ``plate``; a pass
(per plate or per unit) is bought from the unit's parking wallet and renewed by
:func:`central.parking.renewal.run_renewals` before it ends. A gate reports an
entry and an exit by plate; the exit carries the gate's decision record (the
tariff version it priced with and the amount) and the server charges that
amount, even if the tariff changed while the gate was offline.

Modules: ``tariffs``, ``rules`` (and renewal settings), ``passes`` (and plates),
``payments`` (wallet, QR, guard cash), ``sessions``, ``dues`` (quote, paying
ahead), ``service`` (entries and exits), ``review_cases``, ``snapshot`` (for the
gates), ``renewal``.
"""
