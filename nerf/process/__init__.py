"""nerf-process: frames from a video or photos (ingest), camera recovery with COLMAP (sfm), and the
scene folder it writes (transforms_writer); pipeline runs them in order and reports StageProgress."""
