"""``keras.datasets``: the book's data sets, downloaded once into the Keras cache
(``~/.keras/datasets``) from the origins Keras uses, with the same file names, hashes,
return shapes and dtypes as Keras 3's loaders."""
from . import california_housing, cifar10, fashion_mnist, mnist

__all__ = ["california_housing", "cifar10", "fashion_mnist", "mnist"]
