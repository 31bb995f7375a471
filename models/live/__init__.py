"""The live view's engine, without Qt: frame sources, a capture thread that keeps only the newest frame, a
predictor that runs a detector, segmenter or classifier on a frame (timed preprocess / infer / postprocess,
results as numpy), the pipeline that runs the two threads, and quality figures against the synthetic source's
ground truth.

    sources.py    SyntheticSource, VideoSource, FolderSource, CameraSource, list_cameras, open_source
    capture.py    CaptureThread: the latest-frame mailbox (Ultralytics LoadStreams style)
    predictor.py  Predictor, LiveResult
    pipeline.py   LivePipeline (capture thread + inference thread), LiveStats, bench
    quality.py    recall at IoU 0.5, mean IoU, pixel IoU
    draw.py       boxes, labels, keypoint skeletons drawn with OpenCV (the CLI's pictures)
    errors.py     LiveError, SourceError (ValueErrors with one-line messages)

Nothing heavy is imported here: import the submodule you need.
"""

from cnn_explorer.models.live.errors import LiveError, SourceError  # noqa: F401
