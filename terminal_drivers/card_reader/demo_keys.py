"""DEMO ONLY: the estate master key of the simulator, the tests and the demo estate.

This key is public (it is in the repository), so a card personalised with it
proves nothing. A real estate generates its own master key on the provisioning
station, stores it in the terminal's encrypted configuration, and never in
this repository.
"""

from __future__ import annotations

# DEMO ONLY. Sixteen bytes that look like what they are.
DEMO_MASTER_KEY = b"DEMO-ONLY-KEY-00"
# The AN10922 system identifier of the demo estate (at most 13 bytes, see estate_app).
DEMO_SYSTEM_ID = b"PREPAID-DEMO"
