"""charrec: handwritten character recognition with neural networks."""

__version__ = "0.1.0"
