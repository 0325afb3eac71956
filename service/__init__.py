"""ofast-graph: interagency intelligence-sharing graph service."""

__version__ = "0.1.0"
