"""ESC/POS receipt printer: status bytes, the ESC/POS stream, the driver, a simulator.

Flow: ``device.py`` (``ReceiptPrinter``) renders a ``Receipt`` with
python-escpos and sends it over a transport (serial, pty, ``socket://`` for a
network printer on port 9100, ``sim://printer``) or python-escpos's own File
and USB connections. It reads the real-time status (``status.py``: DLE EOT 1,
2 and 4) before each receipt, marks the end of the receipt with an in-band
GS r 1 that the printer only answers once everything before it has printed,
and reads the status again: the ``PrintResult`` says whether the receipt came
out, and if not, why. ``escpos_stream.py`` splits an ESC/POS byte stream into
text and commands; ``simulator.py`` uses it to keep the printed text.
"""
