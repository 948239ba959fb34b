"""MNIST Sketch Lab's core: networks, data, training, preprocessing of drawings, weights.

Everything that is not UI. The app (app.py) and the command line are thin layers over it.
"""

from mnist_core.models import DEFAULT_MODEL, SPECS, build_model
from mnist_core.preprocess import InvalidImage, to_mnist, to_pil
from mnist_core.registry import list_models, load_model, model_info
from mnist_core.weights import WeightsError
