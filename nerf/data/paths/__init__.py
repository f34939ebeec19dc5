"""Camera trajectories: the one orbit generator and a scene's turntable (turntable), keyframe splines
and orbit_path (keyframes), and camera_path.json files (path_files). Rendering them is nerf.export's."""
