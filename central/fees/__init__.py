"""Property fees and the special maintenance fund.

The flow: a manager sets fee schedules (price per m2 per month by unit kind,
from a date) and runs billing for a quarter or a year (:mod:`billing`), one
bill per occupied unit, prorated by the days it was occupied. Bills are
receivables kept beside the ledger; money moves only when one is paid
(:mod:`payments`): from the unit's wallet (automatically when due, or at the
resident's request), or in cash at a kiosk, through a payment provider or at
the staff desk; whole, or instalment by instalment. The daily job
(:mod:`arrears`) collects what falls due, adds late fees where the estate set
them, and queues reminders before and after the due date, once each.

The maintenance fund (:mod:`fund`) has one ledger account per building.
Contributions are bills whose payment lands in the building's fund, recorded
per unit; money leaves only to pay an invoice of a project the owners approved
by vote. Every movement is an entry of the building's hash chain, which is the
statement owners can verify (:mod:`domain.fund_chain`).
"""
