"""The work: metadata and artwork stages, the batch job, queue wiring, reconcile.

Knows nothing of Qt.
"""
