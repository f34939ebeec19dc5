"""Generated scenes: the analytic default scene and an unbounded outdoor capture (written to disk by
`python -m nerf.commands.generate`)."""
