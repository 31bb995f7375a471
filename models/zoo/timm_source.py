"""Architectures the lectures name that torchvision lacks but timm has (architecture only, random weights)."""

from __future__ import annotations

import functools

import timm

from cnn_explorer.models.zoo.registry import ModelEntry, register

# (zoo name, timm name, family, year, paper, input size, lecture facts)
_TIMM_MODELS = [
    ("mobilenet_v1", "mobilenetv1_100", "MobileNet", 2017,
     "Howard et al., MobileNets: Efficient CNNs for Mobile Vision, arXiv 2017", 224, {}),
    ("inception_v4", "inception_v4", "Inception", 2016,
     "Szegedy et al., Inception-v4, Inception-ResNet, AAAI 2017", 299, {}),
    ("inception_resnet_v2", "inception_resnet_v2", "Inception", 2016,
     "Szegedy et al., Inception-v4, Inception-ResNet, AAAI 2017", 299, {}),
    ("senet154", "legacy_senet154", "SENet", 2017,
     "Hu et al., Squeeze-and-Excitation Networks, CVPR 2018", 224, {}),
    ("se_resnet50", "legacy_seresnet50", "SENet", 2017,
     "Hu et al., Squeeze-and-Excitation Networks, CVPR 2018", 224, {}),
    ("nasnet_a_large", "nasnetalarge", "NASNet", 2017,
     "Zoph et al., Learning Transferable Architectures, CVPR 2018", 331, {"cifar10_accuracy": 96.35}),
    ("pnasnet5_large", "pnasnet5large", "NASNet", 2018,
     "Liu et al., Progressive Neural Architecture Search, ECCV 2018", 331, {}),
    ("hrnet_w18", "hrnet_w18", "HRNet", 2019,
     "Wang et al., Deep High-Resolution Representation Learning, TPAMI 2020", 224, {}),
    ("xception", "legacy_xception", "Xception", 2017,
     "Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, CVPR 2017", 299, {}),
]


def _build(timm_name: str):
    return timm.create_model(timm_name, pretrained=False)


for name, timm_name, family, year, paper, size, facts in _TIMM_MODELS:
    register(ModelEntry(
        name=name, family=family, year=year, paper=paper, task="classification",
        input_size=(size, size), builder=functools.partial(_build, timm_name), source="timm",
        facts={"timm_name": timm_name, **facts},
    ))
