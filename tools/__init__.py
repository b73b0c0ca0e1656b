"""Developer tools for mus: test and benchmark helpers that are not part of the app."""
