"""Licence-plate recognition: camera frames in, plate readings with a confidence out.

Flow through the package:

- ``capture``: frames from a camera, stream, video file or image folder
  (``sim://`` is the rendered feed in ``simfeed/``), with reconnection and a
  black/frozen-camera check.
- ``reader``: ``detect`` finds text lines on a downscaled frame, ``recognise``
  reads the line crops from the full frame, ``regions`` fits them to the plate
  formats of a region (and resolves look-alike characters where a format says
  which is right). Models: PP-OCRv6 ONNX files from the rapidocr wheel, run by
  onnxruntime (``sessions``); nothing is downloaded.
- ``voting``: readings of one vehicle across frames, one decision per vehicle,
  flagged when not good enough to act on.
- ``matching``: a decision against the known plates: exact, fuzzy (never opens
  a gate on its own), ambiguous or none.
- ``evaluate`` and ``cli``: ``prepaid lpr eval|read|watch``; ``render`` draws
  synthetic plates for tests and the simulator.

Nothing here imports ``central``.
"""
