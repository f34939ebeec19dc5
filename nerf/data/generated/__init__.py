"""Generated scenes: the analytic default scene and an unbounded outdoor capture, each with its own command line."""
