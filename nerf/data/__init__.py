"""The data layer: the scene model here (scene.py: Scene, Cameras, Split; cameras.py: rays and
projection; crop.py: the crop box), and beside it formats/ (the readers, one registry), paths/
(camera trajectories and their files) and generated/ (the analytic scenes and their command lines)."""
