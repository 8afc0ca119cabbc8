"""``keras.models``."""
from .model import Functional, Model
from .sequential import Sequential
from .cloning import clone_model
from ..saving import load_model, save_model

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model",
           "save_model"]
