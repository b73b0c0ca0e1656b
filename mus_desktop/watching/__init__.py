"""Library folders that follow the disk: events or polling, debounced into rescans."""
