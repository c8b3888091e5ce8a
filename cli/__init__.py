"""The ``prepaid`` command: a thin dispatcher.

Each sub-command lives in the package it belongs to and is imported only when
called, so a turnstile never imports the web stack and a server never imports Kivy.
"""
