"""Generated scenes: the analytic default scene (synthetic), and captures in nerfstudio's layout of the
same objects outdoors (unbounded, the 360-degree orbits), on a white backdrop and inside a room
(registry lists them); written to disk by `python -m nerf.commands.generate`."""
