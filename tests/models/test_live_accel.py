"""What makes the live models fast (models/live/accel.py) must not change what they find: the vectorized SSD
post-processing gives torchvision's detections exactly, cached anchors are the generator's, a CUDA graph gives
the eager outputs (GPU only), detectors see a camera frame at its own size, and a source played on demand is
read one frame ahead of the model, dropping nothing."""

from __future__ import annotations

import pytest
import torch

from cnn_explorer.models.live.accel import CachedAnchors, CudaGraphed, ssd_postprocess


@pytest.fixture(scope="module")
def ssdlite():
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    torch.manual_seed(0)
    return ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None).eval()


def _head_outputs(model):
    with torch.inference_mode():
        images, _ = model.transform([torch.rand(3, 320, 320, generator=torch.Generator().manual_seed(1))])
        features = list(model.backbone(images.tensors).values())
        head = model.head(features)
        head["cls_logits"] = head["cls_logits"] * 40  # random logits sharpened: some classes stand out per anchor
        return images, features, head


@pytest.mark.parametrize("threshold", [0.0, 0.0105, 0.3])
def test_vectorized_ssd_postprocess_equals_torchvisions(ssdlite, threshold):
    images, features, head = _head_outputs(ssdlite)
    ssdlite.score_thresh = threshold
    with torch.inference_mode():
        anchors = ssdlite.anchor_generator(images, features)
        expected = ssdlite.postprocess_detections(head, anchors, images.image_sizes)[0]
        got = ssd_postprocess(ssdlite, head, anchors, images.image_sizes)[0]
    assert len(got["boxes"]) == len(expected["boxes"])
    assert torch.equal(got["labels"], expected["labels"])
    assert torch.allclose(got["scores"], expected["scores"]) and torch.allclose(got["boxes"], expected["boxes"])
    if threshold == 0.0:
        assert len(got["boxes"]) == ssdlite.detections_per_img  # the comparison was not vacuous


def test_cached_anchors_are_the_generators_and_computed_once(ssdlite):
    images, features, _ = _head_outputs(ssdlite)
    calls = []
    generator = ssdlite.anchor_generator
    cached = CachedAnchors(generator)
    hook = generator.register_forward_hook(lambda *a: calls.append(1))
    try:
        first = cached(images, features)
        second = cached(images, features)
    finally:
        hook.remove()
    assert len(calls) == 1 and second is first
    assert all(torch.equal(a, b) for a, b in zip(first, generator(images, features)))


def test_a_detector_sees_a_camera_frame_at_its_own_size_never_enlarged():
    from cnn_explorer.models.live.predictor import Predictor

    # this model's transform would enlarge any frame to 320 pixels on its short side (a 640×480 camera frame:
    # the full-size R-CNNs, whose limit is 800, to 1066×800)
    predictor = Predictor("fasterrcnn_mobilenet_v3_large_320_fpn", weights="random")
    frame = torch.randint(0, 256, (240, 320, 3), dtype=torch.uint8).numpy()
    assert predictor(frame).input_size == (240, 320)
    big = torch.randint(0, 256, (1500, 2000, 3), dtype=torch.uint8).numpy()
    h, w = predictor(big).input_size
    assert max(h, w) <= 640 and min(h, w) <= 320  # a large photo is still scaled down to the model's limits
    chosen = Predictor("fasterrcnn_mobilenet_v3_large_320_fpn", weights="random", size=(160, 200))
    assert chosen(frame).input_size[0] == 150  # a chosen input size wins: 240×320 fitted within 160×200


def test_a_source_played_on_demand_drops_nothing_and_the_model_is_the_bound():
    from cnn_explorer.models.live.pipeline import LivePipeline
    from cnn_explorer.models.live.predictor import Predictor
    from cnn_explorer.models.live.sources import SyntheticSource

    source = SyntheticSource(width=160, height=120, realtime=False)
    assert source.on_demand and "as fast as the model" in source.describe()
    report = LivePipeline(source, lambda: Predictor("lraspp_mobilenet_v3_large", weights="random")).bench(
        frames=6, timeout=300)
    assert report["frames_dropped"] == 0 and report["bound_by"] == "model"
    assert report["frames_captured"] <= report["frames"] + 2  # one frame ahead, not racing


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", [None, torch.float16])
def test_a_cuda_graph_gives_the_eager_outputs(dtype):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None).eval().cuda()
    graphed = CudaGraphed(model, dtype)
    with torch.inference_mode():
        for seed in (0, 1):  # the second input replays the graph captured on the first
            x = torch.rand(1, 3, 240, 320, device="cuda", generator=torch.Generator("cuda").manual_seed(seed))
            with torch.autocast("cuda", dtype=dtype or torch.float16, enabled=dtype is not None):
                expected = model(x)["out"].float()
            got = graphed(x)["out"].float()
            assert graphed.failed is None
            assert torch.allclose(got, expected, atol=1e-2 if dtype else 1e-4, rtol=1e-2)
