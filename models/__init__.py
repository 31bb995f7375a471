"""The models: everything torch, nothing Qt."""

from cnn_explorer.models.torch_import import install as _install_torchvision_import

_install_torchvision_import()
