"""How the files beside this script were made: nerfstudio's own viewer code exports them.

    python make_fixtures.py NERFSTUDIO/nerfstudio/viewer/render_panel.py VISER_PACKAGE_DIR OUT_DIR

runs nerfstudio's `render_panel.CameraPath` (nerfstudio commit 50e0e3c, July 2025) unchanged, with a
stub in place of its viser web server (only `viser.transforms`, pure numpy, is real: pass the folder of
the `viser` package, e.g. from `pip download viser --no-deps`, unzipped), loads keyframes as its
"Load Path" button does and writes each file as its "Generate Command" button does. Not run by the
tests: they read the files it wrote. Nothing of nerfstudio is copied here; its file is read from disk.
"""
import json
import sys
import types

import numpy as np

RENDER_PANEL, VISER_DIR, OUT = sys.argv[1:4]
_stub = types.ModuleType("viser")
_stub.__path__ = [VISER_DIR]
sys.modules["viser"] = _stub
# the real viser.transforms (pure numpy), imported only once the stub stands in for the package,
# whose __init__ would start a web server
import viser.transforms as tf  # noqa: E402


class Dummy:
    """Whatever render_panel asks of the viser server or nerfstudio's console: accepts everything."""

    def __getattr__(self, name):
        return Dummy()

    def __call__(self, *a, **k):
        if len(a) == 1 and callable(a[0]) and not k:
            return a[0]  # used as a decorator
        return Dummy()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


viser = _stub
viser.transforms = tf
viser.__getattr__ = lambda name: Dummy()
sys.modules["viser"] = viser
sys.modules["viser.transforms"] = tf
for name in ["nerfstudio", "nerfstudio.utils", "nerfstudio.utils.rich_utils", "nerfstudio.viewer",
             "nerfstudio.viewer.control_panel"]:
    stub = types.ModuleType(name)
    stub.CONSOLE = Dummy()
    stub.ControlPanel = object
    sys.modules[name] = stub
rp = types.ModuleType("render_panel")
sys.modules["render_panel"] = rp
with open(RENDER_PANEL) as source:
    exec(compile(source.read(), "render_panel.py", "exec"), rp.__dict__)
ns = rp.__dict__
CameraPath, Keyframe = ns["CameraPath"], ns["Keyframe"]
RATIO = 10.0  # VISER_NERFSTUDIO_SCALE_RATIO
FLIP = tf.SO3.from_x_radians(np.pi)  # render_panel turns poses 180 degrees about x on the way in and out


def look_at(eye, target, up=(0, 0, 1)):
    eye, target, up = (np.asarray(v, float) for v in (eye, target, up))
    z = eye - target
    z /= np.linalg.norm(z)
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, z, eye
    return m


def make(name, mats, *, fovs, overrides, loop, tension, default_fov, default_sec, fps, w, h, camera_type):
    path = CameraPath(Dummy(), Dummy())
    path.loop, path.tension, path.framerate = loop, tension, fps
    path.default_fov = default_fov / 180 * np.pi
    path.default_transition_sec = default_sec
    for m, fov, ov in zip(mats, fovs, overrides, strict=True):
        # as render_panel loads a file: the matrix, turned 180 degrees about x, scaled by the ratio
        pose = tf.SE3.from_matrix(np.array(m).reshape(4, 4))
        pose = tf.SE3.from_rotation_and_translation(pose.rotation() @ FLIP, pose.translation())
        path.add_camera(Keyframe(position=pose.translation() * RATIO, wxyz=pose.rotation().wxyz,
                                 override_fov_enabled=fov is not None,
                                 override_fov_rad=(fov if fov is not None else default_fov) / 180 * np.pi,
                                 override_time_enabled=False, override_time_val=0.0, aspect=w / h,
                                 override_transition_enabled=ov is not None, override_transition_sec=ov))
    path.update_spline()
    duration = path.compute_duration()
    num_frames = int(fps * duration)
    # the export, as render_panel's render_button callback writes it
    keyframes = []
    for kf, _ in path._keyframes.values():
        pose = tf.SE3.from_rotation_and_translation(tf.SO3(kf.wxyz) @ FLIP, kf.position / RATIO)
        keyframes.append({"matrix": pose.as_matrix().flatten().tolist(),
                          "fov": float(np.rad2deg(kf.override_fov_rad)) if kf.override_fov_enabled else default_fov,
                          "aspect": kf.aspect, "override_transition_enabled": kf.override_transition_enabled,
                          "override_transition_sec": kf.override_transition_sec})
    frames = []
    for i in range(num_frames):
        pose, fov = path.interpolate_pose_and_fov_rad(i / num_frames)
        pose = tf.SE3.from_rotation_and_translation(pose.rotation() @ FLIP, pose.translation() / RATIO)
        frames.append({"camera_to_world": pose.as_matrix().flatten().tolist(), "fov": float(np.rad2deg(fov)),
                       "aspect": w / h})
    data = {"default_fov": default_fov, "default_transition_sec": default_sec, "keyframes": keyframes,
            "camera_type": camera_type, "render_height": h, "render_width": w, "fps": fps, "seconds": duration,
            "is_cycle": loop, "smoothness_value": tension, "camera_path": frames}
    with open(f"{OUT}/{name}.json", "w") as out:
        out.write(json.dumps(data))
    print(name, len(keyframes), "keyframes", len(frames), "frames", duration, "s")


ring = [look_at((np.cos(a) * r, np.sin(a) * r, z), (0.1, -0.05, 0.0)) for a, r, z in
        [(0.0, 1.0, 0.4), (1.3, 1.2, 0.3), (2.2, 0.8, 0.6), (3.6, 1.1, 0.2), (5.0, 0.9, 0.5)]]
make("loop_tension0", ring, fovs=[None, 60.0, None, 90.0, None], overrides=[1.5, None, 0.5, None, None],
     loop=True, tension=0.0, default_fov=75.0, default_sec=1.0, fps=24.0, w=64, h=48, camera_type="perspective")
make("open_tension05", ring[:4], fovs=[None, None, 40.0, None], overrides=[None, 0.7, None, 2.0],
     loop=False, tension=0.5, default_fov=75.0, default_sec=1.2, fps=30.0, w=80, h=45, camera_type="perspective")
make("fisheye_two_keys", ring[1:3], fovs=[120.0, 150.0], overrides=[None, None],
     loop=False, tension=0.0, default_fov=120.0, default_sec=1.0, fps=10.0, w=64, h=64, camera_type="fisheye")
make("equirect_loop", ring[:3], fovs=[None, None, None], overrides=[None, None, None],
     loop=True, tension=0.8, default_fov=75.0, default_sec=0.5, fps=12.0, w=64, h=32, camera_type="equirectangular")
