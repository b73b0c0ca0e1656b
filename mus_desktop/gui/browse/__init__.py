"""Browsing by artist and album: the index and the sidebar."""
