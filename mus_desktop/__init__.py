"""mus: a music library manager that never loses a track."""

__version__ = "0.1.0"
APP_NAME = "mus"
APP_ORG = "mus"
