"""nerf/data/paths/turntable.py: turntable poses."""
import math

import numpy as np

from nerf.data.paths.turntable import turntable_c2ws
from nerf.data.cameras import look_at


def test_turntable_poses_circle_the_target():
    c2w = look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy().astype(np.float64)
    poses = turntable_c2ws(c2w, np.zeros(3), np.array([0, 0, 1.0]), 4)
    assert np.allclose(poses[0], c2w)
    assert np.allclose(poses[1][:3, 3], [0.0, 3.0, 1.0], atol=1e-9)
    assert np.allclose(np.linalg.norm(poses[:, :3, 3], axis=1), math.sqrt(10))
