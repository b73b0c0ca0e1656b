"""The window's dialogs: library folders, settings, about."""
