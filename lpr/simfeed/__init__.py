"""The camera simulator's default feed.

Rendered by ``python -m lpr.render lpr/simfeed --feed``.
"""
