"""``keras.models``."""
from .model import Functional, Model
from .sequential import Sequential
from .cloning import clone_model

__all__ = ["Functional", "Model", "Sequential", "clone_model"]
