"""Every CNN that torchvision ships, registered with its family, year and paper.

Transformers (ViT, Swin, MaxViT), video and optical-flow models are not CNNs of the kind the explorer
teaches, and are left out. The quantized variants are left out too: they hold no ``nn.Parameter``s (their
weights are packed), and torch has deprecated the quantized tensor types they are built on.
"""

from __future__ import annotations

import functools

from torchvision import models as tvm

from cnn_explorer.models.zoo.registry import ModelEntry, register

# (name prefix, family, year, paper); the first matching prefix wins, so longer prefixes come first.
_FAMILIES = [
    ("alexnet", "AlexNet", 2012, "Krizhevsky et al., ImageNet Classification with Deep CNNs, NeurIPS 2012"),
    ("vgg", "VGG", 2014, "Simonyan & Zisserman, Very Deep Convolutional Networks, ICLR 2015"),
    ("googlenet", "GoogLeNet", 2014, "Szegedy et al., Going Deeper with Convolutions, CVPR 2015"),
    ("inception_v3", "Inception", 2015, "Szegedy et al., Rethinking the Inception Architecture, CVPR 2016"),
    ("resnext", "ResNeXt", 2016, "Xie et al., Aggregated Residual Transformations, CVPR 2017"),
    ("wide_resnet", "Wide ResNet", 2016, "Zagoruyko & Komodakis, Wide Residual Networks, BMVC 2016"),
    ("resnet", "ResNet", 2015, "He et al., Deep Residual Learning for Image Recognition, CVPR 2016"),
    ("squeezenet", "SqueezeNet", 2016, "Iandola et al., SqueezeNet, arXiv 2016"),
    ("densenet", "DenseNet", 2016, "Huang et al., Densely Connected Convolutional Networks, CVPR 2017"),
    ("mobilenet_v2", "MobileNet", 2018, "Sandler et al., MobileNetV2, CVPR 2018"),
    ("mobilenet_v3", "MobileNet", 2019, "Howard et al., Searching for MobileNetV3, ICCV 2019"),
    ("shufflenet_v2", "ShuffleNet", 2018, "Ma et al., ShuffleNet V2, ECCV 2018"),
    ("mnasnet", "MnasNet", 2018, "Tan et al., MnasNet: Platform-Aware NAS for Mobile, CVPR 2019"),
    ("efficientnet_v2", "EfficientNet", 2021, "Tan & Le, EfficientNetV2, ICML 2021"),
    ("efficientnet", "EfficientNet", 2019, "Tan & Le, EfficientNet, ICML 2019"),
    ("regnet", "RegNet", 2020, "Radosavovic et al., Designing Network Design Spaces, CVPR 2020"),
    ("convnext", "ConvNeXt", 2022, "Liu et al., A ConvNet for the 2020s, CVPR 2022"),
    ("fasterrcnn", "R-CNN", 2015, "Ren et al., Faster R-CNN, NeurIPS 2015"),
    ("maskrcnn", "R-CNN", 2017, "He et al., Mask R-CNN, ICCV 2017"),
    ("keypointrcnn", "R-CNN", 2017, "He et al., Mask R-CNN (keypoint head), ICCV 2017"),
    ("retinanet", "RetinaNet", 2017, "Lin et al., Focal Loss for Dense Object Detection, ICCV 2017"),
    ("fcos", "FCOS", 2019, "Tian et al., FCOS: Fully Convolutional One-Stage Detection, ICCV 2019"),
    ("ssdlite", "SSD", 2019, "Howard et al., Searching for MobileNetV3 (SSDlite), ICCV 2019"),
    ("ssd", "SSD", 2016, "Liu et al., SSD: Single Shot MultiBox Detector, ECCV 2016"),
    ("fcn", "FCN", 2015, "Long et al., Fully Convolutional Networks for Semantic Segmentation, CVPR 2015"),
    ("deeplabv3", "DeepLab", 2017, "Chen et al., Rethinking Atrous Convolution (DeepLabv3), arXiv 2017"),
    ("lraspp", "MobileNet", 2019, "Howard et al., Searching for MobileNetV3 (LR-ASPP), ICCV 2019"),
]

_NOT_CNNS = ("vit_", "swin_", "maxvit_")

# Figures the lectures quote (see shared/REFERENCE.md); the numbers of the networks themselves are computed.
_LECTURE_FACTS = {
    "alexnet": {"top5_error": 15.3, "lecture_input_size": 227},
    "vgg16": {"forward_activation_mb": 96, "top5_error": 7.3},  # ILSVRC 2014, second (lecture 002)
    "googlenet": {"top5_error": 6.67, "layers": 22},
    "resnet152": {"top5_error_ensemble": 3.57, "layers": 152},
    "squeezenet1_0": {"compressed_size_mb": 0.5},
}

# Detectors resize their input internally; at these sizes that resize keeps the image as it is.
_DETECTION_INPUT = {"ssd300_vgg16": 300, "ssdlite320_mobilenet_v3_large": 320,
                    "fasterrcnn_mobilenet_v3_large_320_fpn": 320}


def _family(name: str) -> tuple[str, int, str]:
    for prefix, family, year, paper in _FAMILIES:
        if name.startswith(prefix):
            return family, year, paper
    raise LookupError(f"no family known for torchvision model {name!r}")


def _task(name: str, module) -> str:
    if module is tvm.segmentation:
        return "semantic_segmentation"
    if module is tvm.detection:
        if name.startswith("maskrcnn"):
            return "instance_segmentation"
        if name.startswith("keypointrcnn"):
            return "keypoints"
        return "detection"
    return "classification"


def _default_size(name: str, task: str) -> tuple[int, int]:
    if task == "classification":
        crop = tvm.get_model_weights(name).DEFAULT.transforms().crop_size[0]
        return (crop, crop)
    if task == "semantic_segmentation":
        return (520, 520)
    size = _DETECTION_INPUT.get(name, 800)
    return (size, size)


def _build(name: str, task: str):
    kwargs = {"weights": None}
    if task == "classification" and name in ("googlenet", "inception_v3"):
        # Built as torchvision builds them with weights: inception_v3 keeps its auxiliary head and
        # googlenet drops its two, which is what the weights meta counts.
        kwargs["aux_logits"] = name == "inception_v3"
        kwargs["init_weights"] = False
    if task != "classification":
        kwargs["weights_backbone"] = None
    return tvm.get_model(name, **kwargs)


def _register_all() -> None:
    for module in (tvm, tvm.detection, tvm.segmentation):
        for name in tvm.list_models(module=module):
            if name.startswith(_NOT_CNNS):
                continue
            family, year, paper = _family(name)
            task = _task(name, module)
            register(ModelEntry(
                name=name, family=family, year=year, paper=paper, task=task,
                input_size=_default_size(name, task),
                builder=functools.partial(_build, name, task),
                source="torchvision",
                facts=_LECTURE_FACTS.get(name, {}),
                data_dependent=module is tvm.detection,
            ))


_register_all()
