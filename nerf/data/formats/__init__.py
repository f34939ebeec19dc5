"""Scene readers: one module per on-disk format, chosen by registry.load_scene. The formats never
import the registry, so the imports run one way."""
