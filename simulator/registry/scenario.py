# the ``image`` builder lives with the image model
from simulator.registry import images  # noqa: F401
