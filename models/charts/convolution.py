"""One output unit of a trained net's first conv as patch × kernel, summed, plus bias."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cnn_explorer.models.charts.common import ChartsError

# -- 4. convolution explained ----------------------------------------------------------------------------------------

TRAINED_NETS = {"lenet5_digits": "digit_3", "zfnet_shapes": "shape_triangle"}


@dataclass
class ConvStep:
    """One output unit of a conv layer, as arithmetic. Arrays are Cin×kh×kw float32 (the input after the
    model's preprocessing, zero padding included)."""

    model: str
    layer: str
    image: str
    unit: tuple[int, int, int]  # (channel, y, x) of the output map
    out_shape: tuple[int, int, int]  # C×H×W of the output map
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    window: tuple[int, int]  # (top, left) of the window in the input, padding counted (may be negative)
    patch: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    bias: float
    total: float  # Σ products + bias, computed here
    activation: float  # the unit's value in the model's own forward pass
    input_display: np.ndarray  # H×W×3 uint8, the input the model got
    output_map: np.ndarray  # H×W float32: the output channel of the real forward pass

    @property
    def product_sum(self) -> float:
        return float(self.products.astype(np.float64).sum())


class ConvExplainer:
    """A trained net's conv layer on a bundled image: the real forward pass once, then any unit's arithmetic."""

    def __init__(self, model: str = "lenet5_digits", image: str | None = None, layer: str | None = None):
        import torch
        from cnn_explorer.models.lab.images import sample_image
        from cnn_explorer.models.lab.preprocess import prepare
        from cnn_explorer.models.zoo.loader import load_model

        if model not in TRAINED_NETS:
            raise ChartsError(f"convolution explained uses a trained net: {', '.join(TRAINED_NETS)}, not {model!r}")
        self.loaded = load_model(model)
        self.model_name = model
        self.image_name = image or TRAINED_NETS[model]
        modules = dict(self.loaded.model.named_modules())
        convs = [n for n, m in modules.items() if isinstance(m, torch.nn.Conv2d)]
        self.layers = convs
        self.layer = layer or convs[0]
        if self.layer not in convs:
            raise ChartsError(f"{model} has no conv layer {self.layer!r}; its convs: {', '.join(convs)}")
        self.conv = modules[self.layer]
        if self.conv.groups != 1 or tuple(self.conv.dilation) != (1, 1) or self.conv.padding_mode != "zeros":
            raise ChartsError(f"{self.layer} is grouped, dilated or not zero-padded: not shown step by step")
        self.prepared = prepare(self.loaded.entry, sample_image(self.image_name))
        captured = {}
        handle = self.conv.register_forward_hook(lambda _m, _i, out: captured.__setitem__("out", out.detach().clone()))
        try:
            with torch.no_grad():
                self.loaded.model(self.prepared.tensor)  # the model's own forward pass
        finally:
            handle.remove()
        self.output = captured["out"][0].float().numpy()  # C×H×W
        self.input = self.prepared.tensor[0].float().numpy()  # Cin×H×W
        self.weight = self.conv.weight.detach().float().numpy()
        self.bias = (self.conv.bias.detach().float().numpy() if self.conv.bias is not None
                     else np.zeros(self.weight.shape[0], np.float32))

    @property
    def out_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.output.shape)

    def clamp(self, unit: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = self.out_shape
        return (min(max(int(unit[0]), 0), c - 1), min(max(int(unit[1]), 0), h - 1), min(max(int(unit[2]), 0), w - 1))

    def step(self, unit: tuple[int, int, int] = (0, 0, 0)) -> ConvStep:
        c, y, x = self.clamp(unit)
        kh, kw = (int(v) for v in self.conv.kernel_size)
        sh, sw = (int(v) for v in self.conv.stride)
        ph, pw = (int(v) for v in self.conv.padding)
        padded = np.pad(self.input, ((0, 0), (ph, ph), (pw, pw)))
        patch = padded[:, y * sh:y * sh + kh, x * sw:x * sw + kw].astype(np.float32)
        kernel = self.weight[c].astype(np.float32)
        products = patch * kernel
        bias = float(self.bias[c])
        total = float(products.astype(np.float64).sum() + bias)
        return ConvStep(self.model_name, self.layer, self.image_name, (c, y, x), self.out_shape, (kh, kw), (sh, sw),
                        (ph, pw), (y * sh - ph, x * sw - pw), patch, kernel, products, bias, total,
                        float(self.output[c, y, x]), self.prepared.display, self.output[c])

    def neighbour(self, unit: tuple[int, int, int], delta: int) -> tuple[int, int, int]:
        """The unit ``delta`` window positions on, row by row within the channel (wrapping at its end)."""
        c, y, x = self.clamp(unit)
        _, h, w = self.out_shape
        flat = (y * w + x + delta) % (h * w)
        return (c, *divmod(flat, w))
