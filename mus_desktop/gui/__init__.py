"""The Qt window: track table model, watcher thread, detail pane, services thread."""
