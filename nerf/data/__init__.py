"""The data layer: the scene model here (scene.py: Scene, Cameras, Split; cameras.py: rays, projection,
look_at, fov <-> focal; crop.py: the crop box), and beside it formats/ (the readers behind one registry,
PLY point clouds), paths/ (camera trajectories: one orbit generator, keyframe splines, their files) and
generated/ (the analytic scenes)."""
