"""Weights the project ships: the int8 text detector (see ``lpr.train.quantize``)."""
