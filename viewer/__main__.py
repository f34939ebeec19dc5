"""`python -m viewer`: the same as `nerf-viewer`."""
import sys

from viewer.cli import main

sys.exit(main())
