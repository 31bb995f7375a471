"""Architectures the lectures name that neither torchvision nor timm ships, built from their papers
(``models/zoo/paper/``). Random weights: no pretrained weights are published in a form we can load. Some
entries are trained nets instead (``lenet5_digits``, ``zfnet_shapes``, ``shapes_yolo``, ``shapes_unet``): their
weights were trained offline by ``scripts/train_*.py`` and ship in ``assets/`` (``facts["weights_asset"]``), so "pretrained" loads them.

Facts are the figures the papers and lectures quote (see shared/REFERENCE.md); the numbers of the networks
themselves (parameters, MACs, map sizes) are computed by the explorer.
"""

from __future__ import annotations

import functools

from cnn_explorer.models.zoo.paper.alexnet import AlexNet2012
from cnn_explorer.models.zoo.paper.deconvnet import DeconvNet
from cnn_explorer.models.zoo.paper.facenet import FaceNetNN1
from cnn_explorer.models.zoo.paper.fcn import FCN8s
from cnn_explorer.models.zoo.paper.lenet import LeNet5
from cnn_explorer.models.zoo.paper.mtcnn import KEYPOINT_NAMES, MTCNN
from cnn_explorer.models.zoo.paper.nin import NiNCifar10, NiNImageNet
from cnn_explorer.models.zoo.paper.segnet import SegNet
from cnn_explorer.models.zoo.paper.sharpmask import SharpMask
from cnn_explorer.models.zoo.paper.shufflenet_v1 import ShuffleNetV1
from cnn_explorer.models.zoo.paper.stochastic_depth import StochasticDepthResNet
from cnn_explorer.models.zoo.paper.unet import UNet
from cnn_explorer.models.zoo.paper.unet_small import SmallUNet
from cnn_explorer.models.zoo.paper.yolo_v1 import SHAPES_LAYOUT, YOLOv1
from cnn_explorer.models.zoo.paper.zfnet import WIDE_WIDTHS, ZFNet
from cnn_explorer.models.zoo.paper.zfnet_mini import ZFNetMini
from cnn_explorer.models.zoo.registry import ModelEntry, register

_ZFNET_PAPER = "Zeiler & Fergus, Visualizing and Understanding Convolutional Networks, ECCV 2014"
_ZFNET_TOP5 = {
    "top5_error": 14.8,
    "top5_error_ensemble": 11.7,
    "top5_note": "14.8: the paper's best test result, 6 convnets combining both variants (Table 2); "
                 "11.7: Clarifai (Zeiler), ILSVRC 2013 winner, the figure lectures quote",
}

# The shapes and textures of the generated data set zfnet_shapes learned (models/lab/datasets.py), as the
# facts hold them: one string, ", " between the class names.
_SHAPE_CLASSES = "circle, square, triangle, cross, ring, h_stripes, v_stripes, d_stripes, checkerboard, dots"

# The classes of the live view's synthetic source (models/live/sources.py SHAPE_CLASSES), background first.
_LIVE_SHAPES = "background, circle, square, triangle"

_ENTRIES = [
    ModelEntry(
        source="paper", name="lenet5", family="LeNet", year=1998,
        paper="LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998",
        task="classification", input_size=(32, 32), in_channels=1, builder=LeNet5,
        facts={"params_approx": 60_000, "classes": 10, "activation": "tanh",
               "note": "C3 fully connected to S2 and a linear output layer, as lectures count it "
                       "(the paper: sparse C3 table, RBF outputs)"},
    ),
    ModelEntry(
        source="paper", name="lenet5_digits", family="LeNet", year=1998,
        paper="LeCun et al., Gradient-Based Learning Applied to Document Recognition, Proc. IEEE 1998",
        task="classification", input_size=(32, 32), in_channels=1, builder=LeNet5,
        facts={"classes": 10, "categories": "0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
               "weights_asset": "lenet5_digits.safetensors", "record": "lenet5_digits.json",
               "dataset": "scikit-learn's handwritten digits, 8×8 upscaled to 32×32, white on black",
               "note": "LeNet-5 of the zoo trained offline by scripts/train_lenet5_digits.py; held-out accuracy "
                       "in assets/lenet5_digits.json"},
    ),
    ModelEntry(
        source="paper", name="alexnet_2012", family="AlexNet", year=2012,
        paper="Krizhevsky et al., ImageNet Classification with Deep CNNs, NeurIPS 2012",
        task="classification", input_size=(227, 227), builder=AlexNet2012,
        facts={"top5_error": 15.3, "params_approx": 60_000_000, "conv1_output": "55×55×96",
               "conv1_params": 34_944,
               "note": "as published: 96 conv1 filters, LRN, conv2/4/5 split over two GPUs (groups=2)"},
    ),
    ModelEntry(
        source="paper", name="zfnet", family="ZFNet", year=2013, paper=_ZFNET_PAPER,
        task="classification", input_size=(224, 224), builder=ZFNet,
        facts={**_ZFNET_TOP5, "conv1": "96 7×7/2 (AlexNet: 11×11/4)", "conv3_4_5_filters": "384, 384, 256",
               "map_sizes": "110, 55, 26, 13, 6"},
    ),
    ModelEntry(
        source="paper", name="zfnet_512_1024_512", family="ZFNet", year=2013, paper=_ZFNET_PAPER,
        task="classification", input_size=(224, 224),
        builder=functools.partial(ZFNet, widths=WIDE_WIDTHS),
        facts={**_ZFNET_TOP5, "conv1": "96 7×7/2 (AlexNet: 11×11/4)", "conv3_4_5_filters": "512, 1024, 512",
               "note": "Table 2's variant of the Fig. 3 network with wider layers 3, 4 and 5"},
    ),
    ModelEntry(
        source="paper", name="zfnet_shapes", family="ZFNet", year=2013, paper=_ZFNET_PAPER,
        task="classification", input_size=(64, 64), builder=functools.partial(ZFNetMini, num_classes=10),
        facts={"classes": 10, "categories": _SHAPE_CLASSES,
               "weights_asset": "zfnet_shapes.safetensors", "record": "zfnet_shapes.json",
               "dataset": "generated 64×64 colour shapes and textures (random colours, sizes, positions)",
               "conv1": "32 7×7/2 (ZFNet's layout, narrowed)",
               "note": "a classroom ZFNet trained offline by scripts/train_zfnet_shapes.py so that conv1 shows "
                       "learned edge and colour detectors; held-out accuracy in assets/zfnet_shapes.json"},
    ),
    ModelEntry(
        source="paper", name="nin_cifar10", family="Network in Network", year=2013,
        paper="Lin et al., Network In Network, ICLR 2014",
        task="classification", input_size=(32, 32), builder=NiNCifar10,
        facts={"cifar10_error": 10.41, "cifar10_error_augmented": 8.81, "classes": 10,
               "mlpconv": "conv + two 1×1 convs", "classifier": "global average pooling, no FC layer"},
    ),
    ModelEntry(
        source="paper", name="nin_imagenet", family="Network in Network", year=2013,
        paper="Lin et al., Network In Network, ICLR 2014",
        task="classification", input_size=(224, 224), builder=NiNImageNet,
        facts={"mlpconv": "conv + two 1×1 convs", "classifier": "global average pooling, no FC layer",
               "note": "the authors' ImageNet model from the Caffe model zoo"},
    ),
    ModelEntry(
        source="paper", name="shufflenet_v1_g3", family="ShuffleNet", year=2017,
        paper="Zhang et al., ShuffleNet: An Extremely Efficient CNN for Mobile Devices, CVPR 2018",
        task="classification", input_size=(224, 224), builder=functools.partial(ShuffleNetV1, groups=3),
        facts={"groups": 3, "scale": "1×", "mflops": 140, "mflops_table1": 137,
               "stage_channels": "240, 480, 960", "note": "the paper's FLOPs are multiply-adds"},
    ),
    ModelEntry(
        source="paper", name="yolo_v1", family="YOLO", year=2016,
        paper="Redmon et al., You Only Look Once: Unified, Real-Time Object Detection, CVPR 2016",
        task="detection", input_size=(448, 448), builder=YOLOv1,
        facts={"grid": 7, "boxes_per_cell": 2, "classes": 20, "output": "7×7×30", "conv_layers": 24,
               "fc_layers": 2, "fps": 45, "voc2007_map": 63.4},
    ),
    ModelEntry(
        source="paper", name="mtcnn", family="MTCNN", year=2016,
        paper="Zhang et al., Joint Face Detection and Alignment using Multi-task Cascaded Convolutional Networks, "
              "IEEE SPL 2016",
        task="detection", input_size=(48, 48), builder=MTCNN,
        facts={"categories": "face", "keypoint_names": ", ".join(KEYPOINT_NAMES),
               "pnet_params": 6_632, "rnet_params": 100_178, "onet_params": 389_040,
               "input_sizes": "P-Net 12×12, R-Net 24×24, O-Net 48×48", "pyramid_factor": 0.709,
               "weights_package": "facenet-pytorch",
               "weights_files": "pnet: facenet_pytorch/data/pnet.pt, rnet: facenet_pytorch/data/rnet.pt, "
                                "onet: facenet_pytorch/data/onet.pt",
               "note": "a cascade: P-Net proposes windows over an image pyramid, R-Net rejects and refines them, "
                       "O-Net gives the final box and 5 landmarks (NMS and box regression between the stages); "
                       "the graph shows each net once at its training size; learned weights from facenet-pytorch"},
    ),
    ModelEntry(
        source="paper", name="shapes_yolo", family="YOLO", year=2016,
        paper="Redmon et al., You Only Look Once: Unified, Real-Time Object Detection, CVPR 2016",
        task="detection", input_size=(224, 224),
        builder=functools.partial(YOLOv1, grid=7, boxes=2, num_classes=3, dropout=0.0, layout=SHAPES_LAYOUT,
                                  hidden=128, batch_norm=True, head="conv"),
        facts={"grid": 7, "boxes_per_cell": 2, "classes": 3, "output": "7×7×13",
               "categories": _LIVE_SHAPES, "weights_asset": "shapes_yolo.safetensors", "record": "shapes_yolo.json",
               "dataset": "frames of the live view's synthetic source (moving circles, squares and triangles on "
                          "textured backgrounds), 640×480 squeezed to 224×224",
               "note": "the zoo's YOLO v1 with a fraction of the channels, a 224×224 input and two of YOLOv2's "
                       "changes (batch norm, a convolutional head), trained offline by scripts/train_shapes_yolo.py "
                       "with the paper's sum-squared loss; held-out recall in assets/shapes_yolo.json"},
    ),
    ModelEntry(
        source="paper", name="fcn8s_vgg16", family="FCN", year=2015,
        paper="Long, Shelhamer & Darrell, Fully Convolutional Networks for Semantic Segmentation, CVPR 2015",
        task="semantic_segmentation", input_size=(500, 500), builder=FCN8s,
        facts={"classes": 21, "dataset": "PASCAL VOC", "backbone": "VGG-16",
               "fusion": "32s: score_fr; 16s: ×2 (upscore2) + score_pool4; 8s: ×2 (upscore_pool4) + score_pool3; "
                         "×8 (upscore8) to the input",
               "mean_iu_voc2011_val": "FCN-32s 59.4, FCN-16s 62.4, FCN-8s 62.7",
               "note": "the paper's voc-fcn8s: VGG-16 with fc6/fc7 as 7×7 and 1×1 convolutions, the first conv "
                       "padded by 100, crops (offsets 5, 9, 31) before each fusion and at the end; the ×2 and ×8 "
                       "upsamplings start bilinear; the paper's Caffe weights do not load here (random weights)"},
    ),
    ModelEntry(
        source="paper", name="segnet", family="SegNet", year=2015,
        paper="Badrinarayanan et al., SegNet: A Deep Convolutional Encoder-Decoder Architecture, TPAMI 2017",
        task="semantic_segmentation", input_size=(360, 480), builder=SegNet,
        facts={"classes": 11, "dataset": "CamVid", "params_millions": 29.5,
               "upsampling": "max-unpooling with the encoder's pooling indices"},
    ),
    ModelEntry(
        source="paper", name="deconvnet", family="DeconvNet", year=2015,
        paper="Noh et al., Learning Deconvolution Network for Semantic Segmentation, ICCV 2015",
        task="semantic_segmentation", input_size=(224, 224), builder=DeconvNet,
        facts={"classes": 21, "dataset": "PASCAL VOC", "params_millions": 252,
               "upsampling": "unpooling with switches + deconvolution layers"},
    ),
    ModelEntry(
        source="paper", name="unet", family="U-Net", year=2015,
        paper="Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image Segmentation, MICCAI 2015",
        task="semantic_segmentation", input_size=(572, 572), in_channels=1, builder=UNet,
        facts={"classes": 2, "output_size": "388×388",
               "note": "valid (unpadded) 3×3 convs: a 572×572 tile gives the map of its centre 388×388; "
                       "skips crop and concatenate"},
    ),
    ModelEntry(
        source="paper", name="shapes_unet", family="U-Net", year=2015,
        paper="Ronneberger et al., U-Net: Convolutional Networks for Biomedical Image Segmentation, MICCAI 2015",
        task="semantic_segmentation", input_size=(240, 320),
        builder=functools.partial(SmallUNet, in_channels=3, num_classes=4, widths=(8, 16, 32, 64, 128),
                                  work_size=(240, 320)),
        facts={"classes": 4, "categories": _LIVE_SHAPES, "weights_asset": "shapes_unet.safetensors",
               "record": "shapes_unet.json",
               "dataset": "frames of the live view's synthetic source with its per-pixel class map, 640×480 "
                          "halved to 240×320",
               "note": "a small U-Net (padded 3×3 convs, batch norm, 8 to 128 channels, 4 levels down) trained "
                       "offline by scripts/train_shapes_unet.py; a frame of another size is resized to 240×320 "
                       "and the class scores back; held-out pixel IoU in assets/shapes_unet.json"},
    ),
    ModelEntry(
        source="paper", name="sharpmask", family="SharpMask", year=2016,
        paper="Pinheiro et al., Learning to Refine Object Segments, ECCV 2016",
        task="instance_segmentation", input_size=(192, 192), builder=SharpMask,
        facts={"trunk": "ResNet-50 to conv4", "mask_size": "160×160", "k_m": 32, "k_s": 32,
               "note": "top-down refinement of DeepMask's coarse mask with the trunk's finer maps; "
                       "outputs (mask logits, objectness score)"},
    ),
    ModelEntry(
        source="paper", name="facenet_nn1", family="FaceNet", year=2015,
        paper="Schroff et al., FaceNet: A Unified Embedding for Face Recognition and Clustering, CVPR 2015",
        task="embedding", input_size=(220, 220), builder=FaceNetNN1,
        facts={"embedding_size": 128, "params_millions": 140, "gflops": 1.6, "triplet_margin": 0.2,
               "lfw_accuracy": 99.63,
               "note": "Siamese use: the same module (shared weights) embeds both images; "
                       "triplet loss max(‖f(A)−f(P)‖² − ‖f(A)−f(N)‖² + α, 0)"},
    ),
    ModelEntry(
        source="paper", name="resnet110_stochastic_depth", family="Stochastic Depth", year=2016,
        paper="Huang et al., Deep Networks with Stochastic Depth, ECCV 2016",
        task="classification", input_size=(32, 32), builder=StochasticDepthResNet,
        facts={"layers": 110, "final_survival_prob": 0.5, "cifar10_error": 5.25,
               "cifar10_error_constant_depth": 6.41,
               "note": "residual blocks dropped at random in training; an ordinary ResNet-110 in eval"},
    ),
]

for _entry in _ENTRIES:
    register(_entry)
