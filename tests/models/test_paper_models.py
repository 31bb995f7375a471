"""The architectures built from their papers (models/zoo/paper/) have the papers' layer sizes.

Shapes, parameter counts and MACs are taken on the meta device where the model is large: the meta device
runs every shape and FLOP of a real forward pass without computing or allocating anything.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.ops import StochasticDepth

from cnn_explorer.models.zoo.paper.facenet import FaceNetNN1, triplet_loss
from cnn_explorer.models.zoo.paper.fcn import FCN8s
from cnn_explorer.models.zoo.paper.lenet import LeNet5
from cnn_explorer.models.zoo.paper.nin import NiNCifar10, NiNImageNet
from cnn_explorer.models.zoo.paper.segnet import SegNet
from cnn_explorer.models.zoo.paper.shufflenet_v1 import ChannelShuffle, ShuffleNetV1
from cnn_explorer.models.zoo.paper.stochastic_depth import StochasticDepthResNet
from cnn_explorer.models.zoo.paper.unet import UNet
from cnn_explorer.models.zoo.paper.zfnet import WIDE_WIDTHS, ZFNet
from cnn_explorer.models.zoo.registry import TASKS, get_entry, list_entries

PAPER_MODELS = {
    # name: (task, input size, in_channels)
    "lenet5": ("classification", (32, 32), 1),
    "alexnet_2012": ("classification", (227, 227), 3),
    "zfnet": ("classification", (224, 224), 3),
    "zfnet_512_1024_512": ("classification", (224, 224), 3),
    "nin_cifar10": ("classification", (32, 32), 3),
    "nin_imagenet": ("classification", (224, 224), 3),
    "shufflenet_v1_g3": ("classification", (224, 224), 3),
    "resnet110_stochastic_depth": ("classification", (32, 32), 3),
    "yolo_v1": ("detection", (448, 448), 3),
    "segnet": ("semantic_segmentation", (360, 480), 3),
    "deconvnet": ("semantic_segmentation", (224, 224), 3),
    "fcn8s_vgg16": ("semantic_segmentation", (500, 500), 3),
    "unet": ("semantic_segmentation", (572, 572), 1),
    "sharpmask": ("instance_segmentation", (192, 192), 3),
    "facenet_nn1": ("embedding", (220, 220), 3),
}


def on_meta(builder):
    with torch.device("meta"):
        return builder().eval()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def meta_forward(model: nn.Module, shape):
    """Output of a forward pass on the meta device, and its MACs (FLOPs / 2)."""
    with torch.device("meta"), FlopCounterMode(display=False) as counter:
        out = model(torch.empty(shape))
    return out, counter.get_total_flops() // 2


def output_shapes(model: nn.Module, x, kind) -> list[tuple[int, ...]]:
    """Output shapes of the modules of type ``kind``, in call order."""
    shapes = []
    handles = [m.register_forward_hook(lambda mod, args, out: shapes.append(tuple(
        (out[0] if isinstance(out, tuple) else out).shape))) for m in model.modules() if isinstance(m, kind)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


def modules_of(model: nn.Module, kind) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


# -- the zoo entries ---------------------------------------------------------------------------------------

def test_paper_entries_are_registered_with_their_metadata():
    entries = {e.name: e for e in list_entries() if e.source == "paper"}
    assert set(PAPER_MODELS) <= set(entries)
    for name, (task, size, in_channels) in PAPER_MODELS.items():
        entry = get_entry(name)
        assert (entry.task, entry.input_size, entry.in_channels) == (task, size, in_channels), name
        assert entry.task in TASKS and entry.family and entry.source == "paper", name
        assert re.search(r", .+ (19|20)\d\d$", entry.paper), name  # "Author et al., Title, Venue Year"
        assert all(isinstance(v, (int, float, str)) for v in entry.facts.values()), name
        assert all(k == k.lower() and " " not in k for k in entry.facts), name


@pytest.mark.parametrize("name", sorted(PAPER_MODELS))
def test_entry_builds_and_runs_at_its_default_size_on_meta(name):
    entry = get_entry(name)
    out, macs = meta_forward(on_meta(entry.builder), entry.input_shape())
    assert macs > 0
    assert all(t.shape[0] == 1 for t in (out if isinstance(out, tuple) else (out,)))


# -- LeNet-5 ---------------------------------------------------------------------------------------------

def test_lenet5_has_about_60k_parameters_and_the_paper_map_sizes():
    model = LeNet5().eval()
    # C1 5·5·1·6+6 = 156, C3 5·5·6·16+16 = 2,416 (C3 fully connected to S2, not the paper's sparse table),
    # C5 5·5·16·120+120 = 48,120, F6 120·84+84 = 10,164, output 84·10+10 = 850.
    assert n_params(model) == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    x = torch.randn(2, 1, 32, 32)
    assert output_shapes(model, x, nn.Conv2d) == [(2, 6, 28, 28), (2, 16, 10, 10), (2, 120, 1, 1)]
    assert output_shapes(model, x, nn.AvgPool2d) == [(2, 6, 14, 14), (2, 16, 5, 5)]
    assert model(x).shape == (2, 10)
    assert modules_of(model, nn.Tanh) and not modules_of(model, nn.ReLU)


# -- ZFNet -----------------------------------------------------------------------------------------------

def test_zfnet_conv1_is_7x7_stride_2_and_maps_go_110_55_26_13_6():
    model = on_meta(ZFNet)
    conv1 = modules_of(model, nn.Conv2d)[0]
    assert (conv1.kernel_size, conv1.stride, conv1.out_channels) == ((7, 7), (2, 2), 96)
    x = torch.empty(1, 3, 224, 224, device="meta")
    convs = output_shapes(model, x, nn.Conv2d)
    assert convs[0] == (1, 96, 110, 110)
    assert [s[-1] for s in output_shapes(model, x, nn.MaxPool2d)] == [55, 13, 6]
    assert convs[1] == (1, 256, 26, 26)
    assert [s[1] for s in convs[2:]] == [384, 384, 256]
    assert all(c.groups == 1 for c in modules_of(model, nn.Conv2d))  # one GPU: dense layers 3-5


def test_zfnet_wide_variant_has_512_1024_512_filters_in_layers_3_4_5():
    model = on_meta(get_entry("zfnet_512_1024_512").builder)
    convs = output_shapes(model, torch.empty(1, 3, 224, 224, device="meta"), nn.Conv2d)
    assert [s[1] for s in convs[2:]] == list(WIDE_WIDTHS) == [512, 1024, 512]
    assert convs[-1][-2:] == (13, 13)
    assert meta_forward(model, (1, 3, 224, 224))[0].shape == (1, 1000)
    assert get_entry("zfnet_512_1024_512").facts["top5_error"] == 14.8


# -- Network in Network ----------------------------------------------------------------------------------

@pytest.mark.parametrize("builder,size,classes,last_map", [(NiNCifar10, 32, 10, 8), (NiNImageNet, 224, 1000, 6)])
def test_nin_uses_mlpconv_and_global_average_pooling_without_fc_layers(builder, size, classes, last_map):
    model = on_meta(builder)
    assert not modules_of(model, nn.Linear)
    convs = modules_of(model, nn.Conv2d)
    assert sum(c.kernel_size == (1, 1) for c in convs) == 2 * (len(convs) - sum(c.kernel_size == (1, 1) for c in convs))
    assert isinstance(list(model.children())[-1], nn.AdaptiveAvgPool2d)
    x = torch.empty(1, 3, size, size, device="meta")
    assert output_shapes(model, x, nn.Conv2d)[-1] == (1, classes, last_map, last_map)
    assert meta_forward(model, (1, 3, size, size))[0].shape == (1, classes)


def test_nin_cifar10_has_the_paper_widths():
    model = NiNCifar10()
    assert [c.out_channels for c in modules_of(model, nn.Conv2d)] == [192, 160, 96, 192, 192, 192, 192, 192, 10]
    assert n_params(model) < 1_000_000  # about 0.97M


# -- ShuffleNet v1 ---------------------------------------------------------------------------------------

def test_channel_shuffle_interleaves_the_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(3)(x).flatten().tolist() == [0, 2, 4, 1, 3, 5]


def test_shufflenet_v1_g3_params_macs_and_stages():
    model = ShuffleNetV1(groups=3).eval()
    # No count in the paper; implementations of ShuffleNet 1× (g = 3) have about 1.9M.
    assert 1.8e6 < n_params(model) < 2.0e6
    # Table 1: 137 MFLOPs for g = 3 (quoted as 140 MFLOPs in Table 2); the paper's FLOPs are multiply-adds.
    _, macs = meta_forward(on_meta(ShuffleNetV1), (1, 3, 224, 224))
    assert abs(macs / 1e6 - 137) < 137 * 0.03
    x = torch.randn(1, 3, 224, 224)
    stages = [model.stage2, model.stage3, model.stage4]
    ends = []
    for stage in stages:
        stage.register_forward_hook(lambda m, a, out: ends.append(tuple(out.shape)))
    with torch.no_grad():
        assert model(x).shape == (1, 1000)
    assert ends == [(1, 240, 28, 28), (1, 480, 14, 14), (1, 960, 7, 7)]
    assert [len(s) for s in stages] == [4, 8, 4]
    assert len(modules_of(model, ChannelShuffle)) == 16
    assert all(s.groups == 3 for s in modules_of(model, ChannelShuffle))
    first_pointwise = model.stage2[0].branch[0]
    assert first_pointwise.groups == 1 and first_pointwise.in_channels == 24  # not grouped, as in the paper
    assert model.stage3[0].branch[0].groups == 3
    assert any(c.groups == c.in_channels == c.out_channels for c in modules_of(model, nn.Conv2d))  # depthwise


# -- YOLO v1 ---------------------------------------------------------------------------------------------

def test_yolo_v1_has_24_convs_2_fcs_and_a_7x7x30_output():
    entry = get_entry("yolo_v1")
    model = on_meta(entry.builder)
    assert len(modules_of(model, nn.Conv2d)) == 24
    assert len(modules_of(model, nn.Linear)) == 2
    assert all(a.negative_slope == 0.1 for a in modules_of(model, nn.LeakyReLU))
    x = torch.empty(2, 3, 448, 448, device="meta")
    assert output_shapes(model, x, nn.Conv2d)[-1] == (2, 1024, 7, 7)
    assert model.classifier[-1].out_features == 7 * 7 * (2 * 5 + 20) == 1470
    assert meta_forward(model, (2, 3, 448, 448))[0].shape == (2, 7, 7, 30)


# -- SegNet, DeconvNet -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["segnet", "deconvnet"])
def test_encoder_decoder_output_has_the_input_size_and_unpools_with_indices(name):
    entry = get_entry(name)
    model = on_meta(entry.builder)
    assert len(modules_of(model, nn.MaxUnpool2d)) == 1
    pools = modules_of(model, nn.MaxPool2d)
    assert pools and all(p.return_indices for p in pools)
    assert len([c for c in modules_of(model, nn.Conv2d) if c.kernel_size == (3, 3)]) >= 13  # VGG-16's convs
    out, _ = meta_forward(model, entry.input_shape())
    classes = {"segnet": 11, "deconvnet": 21}[name]
    assert out.shape == (1, classes, *entry.input_size)


def test_segnet_unpooling_puts_each_value_back_where_the_maximum_was():
    torch.manual_seed(0)
    model = SegNet(num_classes=11).eval()
    pooled, unpooled = [], []
    model.encoder.pool.register_forward_hook(lambda m, a, out: pooled.append((a[0], out[1])))
    model.unpool.register_forward_hook(lambda m, a, out: unpooled.append(out))
    with torch.no_grad():
        # 90 → 45 → 22: the odd size comes back as 45 because the unpooling is told the size before pooling.
        assert model(torch.randn(1, 3, 90, 120)).shape == (1, 11, 90, 120)
    assert [tuple(u.shape[-2:]) for u in unpooled] == [(5, 7), (11, 15), (22, 30), (45, 60), (90, 120)]
    for (before, indices), after in zip(reversed(pooled), unpooled):
        # non-zero only at the positions the encoder's pooling chose
        mask = torch.zeros_like(after).flatten(2)
        mask.scatter_(2, indices.flatten(2), 1.0)
        assert torch.all(after.flatten(2)[mask == 0] == 0)
        assert after.shape == before.shape


def test_deconvnet_has_fc6_fc7_as_convolutions_and_deconvolution_layers():
    model = on_meta(get_entry("deconvnet").builder)
    fc6, fc7 = model.fc[0], model.fc[3]
    assert (fc6.kernel_size, fc6.out_channels, fc7.kernel_size, fc7.out_channels) == ((7, 7), 4096, (1, 1), 4096)
    assert len(modules_of(model, nn.ConvTranspose2d)) == 1 + 13 + 1  # deconv-fc6, 13 3×3 deconvs, score
    assert 245e6 < n_params(model) < 255e6  # about 252M


# -- FCN-8s ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(500, 500), (224, 288), (37, 61)])
def test_fcn8s_scores_every_pixel_of_any_input_size(size):
    out, _ = meta_forward(on_meta(FCN8s), (1, 3, *size))
    assert out.shape == (1, 21, *size)


def test_fcn8s_fuses_the_scores_of_pool4_and_pool3_at_strides_16_and_8():
    model = on_meta(FCN8s)
    assert 134e6 < n_params(model) < 135e6  # voc-fcn8s: 134.5M (its Caffe weights: 513 MiB of float32)
    seen = {}
    for name in ("score_fr", "score_pool4", "fuse_pool4", "score_pool3", "fuse_pool3", "upscore8"):
        getattr(model, name).register_forward_hook(lambda m, a, out, name=name: seen.update({name: out.shape}))
    with torch.device("meta"):
        model(torch.empty(1, 3, 512, 512))
    # 512 + 2·100 padding: pool5 is 23×23, fc6's 7×7 leaves 17×17 at stride 32; ×2 is 36×36 at stride 16 …
    assert seen["score_fr"][-2:] == (17, 17)
    assert seen["score_pool4"][-2:] == (45, 45) and seen["fuse_pool4"][-2:] == (36, 36)
    assert seen["score_pool3"][-2:] == (89, 89) and seen["fuse_pool3"][-2:] == (74, 74)
    assert seen["upscore8"][-2:] == (600, 600)  # (74 − 1)·8 + 16, cropped at 31 to 512


def test_fcn8s_upsampling_starts_bilinear():
    model = FCN8s(num_classes=2).eval()
    coarse = torch.ones(1, 2, 6, 6)
    with torch.no_grad():
        up = model.upscore2(coarse)
    assert up.shape == (1, 2, 14, 14)
    assert torch.allclose(up[:, :, 2:-2, 2:-2], torch.ones(1, 2, 10, 10))  # a constant stays constant inside
    assert torch.all(up[:, 0] == up[:, 1])  # each class map on its own


# -- U-Net -----------------------------------------------------------------------------------------------

def test_unet_572_gives_388_with_valid_convs_and_crop_concat_skips():
    model = UNet().eval()
    convs = [c for c in modules_of(model, nn.Conv2d) if c.kernel_size == (3, 3)]
    assert len(convs) == 18 and all(c.padding == (0, 0) for c in convs)
    assert [c.out_channels for c in convs[:10:2]] == [64, 128, 256, 512, 1024]
    assert [c.in_channels for c in (model.up1.conv[0], model.up4.conv[0])] == [1024, 128]  # skip + up-conv
    assert all(u.kernel_size == (2, 2) and u.stride == (2, 2) for u in modules_of(model, nn.ConvTranspose2d))
    x = torch.empty(1, 1, 572, 572, device="meta")
    model = on_meta(UNet)
    assert output_shapes(model, x, nn.ConvTranspose2d) == [(1, 512, 56, 56), (1, 256, 104, 104),
                                                          (1, 128, 200, 200), (1, 64, 392, 392)]
    assert meta_forward(model, (1, 1, 572, 572))[0].shape == (1, 2, 388, 388)
    assert 30e6 < n_params(model) < 32e6  # about 31.0M


# -- FaceNet / Siamese -----------------------------------------------------------------------------------

def test_facenet_nn1_matches_table_1():
    model = on_meta(FaceNetNN1)
    # Table 1: 140M parameters, 1.6B FLOPs (multiply-adds) for a 220×220 input.
    assert abs(n_params(model) / 1e6 - 140) < 2
    out, macs = meta_forward(model, (1, 3, 220, 220))
    assert out.shape == (1, 128) and abs(macs / 1e9 - 1.6) < 0.05
    x = torch.empty(1, 3, 220, 220, device="meta")
    assert [s[-1] for s in output_shapes(model, x, nn.MaxPool2d)] == [55, 28, 14, 7]


def test_siamese_use_gives_l2_normalised_embeddings_from_shared_weights():
    torch.manual_seed(0)
    model = FaceNetNN1().eval()
    a, b = torch.randn(2, 3, 220, 220), torch.randn(2, 3, 220, 220)
    with torch.no_grad():
        fa, fb, fa_again = model(a), model(b), model(a)  # the same module for both images
    assert fa.shape == (2, 128)
    assert torch.allclose(fa.norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.allclose(fb.norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.equal(fa, fa_again)
    assert (fa - fb).pow(2).sum(dim=1).gt(0).all()


def test_triplet_loss_is_zero_for_easy_triplets_and_positive_for_hard_ones():
    anchor = torch.tensor([[1.0, 0.0]])
    close, far = torch.tensor([[0.9, 0.1]]), torch.tensor([[-1.0, 0.0]])
    assert triplet_loss(anchor, close, far, margin=0.2).item() == 0.0  # 0.02 − 4 + 0.2 < 0
    hard = triplet_loss(anchor, far, close, margin=0.2).item()  # positive far, negative close
    assert hard == pytest.approx(4.0 - 0.02 + 0.2)
    per_triplet = triplet_loss(anchor.repeat(2, 1), torch.cat([close, far]), torch.cat([far, close]),
                               reduction="none")
    assert per_triplet[0] == 0 and per_triplet[1] > 0


# -- Stochastic depth ------------------------------------------------------------------------------------

def test_resnet110_stochastic_depth_layers_and_survival_probabilities():
    model = StochasticDepthResNet().eval()
    assert len(modules_of(model, nn.Conv2d)) + len(modules_of(model, nn.Linear)) == 110
    drops = [m.p for m in modules_of(model, StochasticDepth)]
    assert len(drops) == 54
    # p_l = 1 − l/L · (1 − 0.5): survival decays linearly to 0.5 at the last block.
    assert drops == pytest.approx([l / 54 * 0.5 for l in range(1, 55)])
    assert 1.7e6 < n_params(model) < 1.75e6  # ResNet-110 with parameter-free shortcuts: 1.7M


def test_stochastic_depth_drops_blocks_in_training_and_is_a_plain_resnet_in_eval():
    torch.manual_seed(0)
    model = StochasticDepthResNet().eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        eval_out = model(x)
        assert torch.equal(eval_out, model(x))
        for block in modules_of(model, nn.Module):
            if hasattr(block, "stochastic_depth"):
                block.stochastic_depth = nn.Identity()
        assert torch.allclose(eval_out, model(x))

    model = StochasticDepthResNet().train()
    dropped = []
    for module in modules_of(model, StochasticDepth):
        module.register_forward_hook(lambda m, a, out: dropped.append(bool(out.abs().sum() == 0)))
    with torch.no_grad():
        model(x)
    assert any(dropped) and not all(dropped)


# -- every model at its default size, for real -----------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAPER_MODELS))
def test_forward_pass_at_the_default_size_on_cpu(name):
    entry = get_entry(name)
    model = entry.build()
    with torch.no_grad():
        out = model(torch.randn(entry.input_shape()))
    meta_out, _ = meta_forward(on_meta(entry.builder), entry.input_shape())
    outs = out if isinstance(out, tuple) else (out,)
    meta_outs = meta_out if isinstance(meta_out, tuple) else (meta_out,)
    assert [t.shape for t in outs] == [t.shape for t in meta_outs]
    assert all(torch.isfinite(t).all() for t in outs)
