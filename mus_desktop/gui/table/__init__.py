"""The track table: its model, orders, selection, columns and view."""
