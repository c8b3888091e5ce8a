"""Metering and supply control: readings in, usage charged, supplies cut and restored.

The flow, module by module:

- ``registry``: meters (installation, replacement, removal), tariff versions,
  supply policies per utility, the holiday calendar.
- ``ingest``: a batch of readings in one transaction: duplicates, out-of-order,
  rollover and implausible readings sorted out; usage priced by
  ``domain.tariffs`` with the sub-minor remainder carried on the meter; one
  ``usage`` transaction per charged reading (common-area meters shared out by
  floor area); then warnings and cut-offs for the wallets it touched. Its parts:
  ``environment`` (tariffs, policies and holidays, loaded once), ``batch_io``
  (the batch's bulk reads and writes), ``pricing`` (the register step and its
  price), ``usage_postings`` (the ledger transactions).
- ``supply``: cut, limit, defer through friendly credit (``friendly``), restore
  (a gas valve is only armed), the command queue with expiry for battery meters,
  acknowledgements and reconciliation, debt recovery from top-ups read off the
  ledger.
- ``notify``: the outbox of low-balance warnings and its channels.
- ``service``: the per-process service the routes and the MQTT bridge call, and
  the worker thread; ``mqtt_bridge``: readings and acks in, commands out.
- ``demo``: tariffs and meters for the demo estate; ``cli``: ``prepaid central
  meters``; ``tables``: the schema (migration ``0200_metering``).
"""
