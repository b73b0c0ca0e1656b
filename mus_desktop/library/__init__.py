"""The data: Track model, engine and PRAGMAs, scanner, identity rules, queries.

Knows nothing of Qt or RQ.
"""
