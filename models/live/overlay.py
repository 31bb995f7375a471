"""The live view's overlays, drawn on the device: ``blend_indexed`` lays a colour per class or instance over a
frame, with each region's outline (``region_outline``) in its colour at full strength.
"""

from __future__ import annotations

import numpy as np
import torch


def region_outline(index: torch.Tensor, where: torch.Tensor, width: int = 2) -> torch.Tensor:
    """The pixels of ``where`` (H×W bool) within ``width`` pixels of another region of ``index`` (H×W: a class
    or an instance per pixel): the inner border of each region. Drawn in the region's colour at full strength
    over the blend, it says which colour was laid over an object however saturated the object's own colours (a
    blend at 50 % over the synthetic source's shapes left the legend hard to match)."""
    edge = torch.zeros_like(where)
    for d in range(1, width + 1):
        edge[d:, :] |= index[d:, :] != index[:-d, :]
        edge[:-d, :] |= index[:-d, :] != index[d:, :]
        edge[:, d:] |= index[:, d:] != index[:, :-d]
        edge[:, :-d] |= index[:, :-d] != index[:, d:]
    return edge & where


def blend_indexed(frame: torch.Tensor, index: torch.Tensor, colours: torch.Tensor, where: torch.Tensor,
                  opacity: float) -> torch.Tensor:
    """``frame`` (H×W×3 uint8) with ``colours[index]`` blended in at ``opacity`` where ``where`` (H×W), and
    each region's outline in its colour at full strength (``region_outline``). On the GPU in half precision;
    on the CPU with OpenCV's SIMD lookup and blend (4× faster than torch's float arithmetic on two cores)."""
    outline = region_outline(index, where)
    if frame.device.type == "cpu":
        import cv2

        image = frame.numpy()
        lut = np.zeros((1, 256, 3), np.uint8)
        lut[0, : min(256, len(colours))] = colours[:256].numpy()
        index8 = index.clamp(0, 255).to(torch.uint8).numpy()
        colour = cv2.LUT(cv2.merge([index8, index8, index8]), lut)
        blended = cv2.addWeighted(image, 1.0 - opacity, colour, opacity, 0.0)
        keep = ~where.numpy()
        blended[keep] = image[keep]
        edge = outline.numpy()
        blended[edge] = colour[edge]
        return torch.from_numpy(blended)
    colour = colours[index.long().clamp(min=0)]
    alpha = where.unsqueeze(-1).to(torch.float16) * opacity
    out = frame.to(torch.float16) * (1 - alpha) + colour.to(torch.float16) * alpha
    return torch.where(outline.unsqueeze(-1), colour.to(torch.uint8), out.round_().clamp_(0, 255).to(torch.uint8))
