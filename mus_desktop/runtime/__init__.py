"""Processes: the private broker, local RQ workers, and the backend that ties them together."""
