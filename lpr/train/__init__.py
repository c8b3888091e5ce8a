"""Offline model preparation (the ``lpr-train`` extra): nothing here runs at the gate."""
