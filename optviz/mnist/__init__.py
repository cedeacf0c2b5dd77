"""MNIST in NumPy: a verified loader, an MLP and a small CNN trained by optviz's optimizers as a stream of events,
and the loss landscape around the trajectories. No Streamlit, Plotly or torch in here."""

from .cnn import CNN
from .data import (
    MNIST_SHA256,
    MnistData,
    MnistDownloadError,
    MnistFileError,
    MnistUnavailableError,
    default_cache_dir,
    fetch_url,
    load_mnist,
    load_mnist_subset,
    read_idx,
)
from .landscape import Landscape, loss_landscape
from .model import MLP
from .train import PRESETS, TrainingRun, confusion_matrix, train

__all__ = ["CNN", "MLP", "MNIST_SHA256", "PRESETS", "Landscape", "MnistData", "MnistDownloadError", "MnistFileError",
           "MnistUnavailableError", "TrainingRun", "confusion_matrix", "default_cache_dir", "fetch_url",
           "load_mnist", "load_mnist_subset", "loss_landscape", "read_idx", "train"]
