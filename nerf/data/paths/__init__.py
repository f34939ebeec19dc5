"""Camera trajectories: turntables around a scene, keyframe splines, and camera_path.json files."""
