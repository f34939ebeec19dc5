"""Results out of a trained model: meshes, point clouds, rendered paths (nerf-export, nerf-render)."""
