"""What a person does to tracks: the context menu and pane buttons, the work behind them,
and how a retry ended."""
