"""The terminal's durable journal, the sync client, the snapshot and offline rules.

The flow on a terminal:

1. ``journal.Journal.append``: every event that moves money or opens a gate is
   written (WAL, ``synchronous=FULL``, gapless sequence, hash chain, signature)
   before the person is told "done";
2. ``sync.SyncClient``: a background loop uploads unsent entries in batches as
   signed requests (``client.SignedClient``) and keeps each verdict beside the
   entry, backing off with jitter while the server is unreachable;
3. ``snapshot.SnapshotStore.pull``: what the terminal needs offline, by version,
   encrypted at rest;
4. ``authorise``: a charge decided alone, within the server's limits; cash always;
5. ``cli``: ``prepaid queue status | rejections | report | sync | verify``.

It never imports ``central``: the two meet in ``domain.journal`` and over HTTP.
"""
