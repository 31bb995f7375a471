"""The Help menu's quick guide: what each tab shows and the keys a lecturer needs first (the full list is F1)."""

GUIDE = """
<h2>CNN Explorer in five minutes</h2>
<p><b>Open a network</b> from the zoo on the left (type to filter), or your own with
<b>File › Open model file…</b> (Ctrl+O): a <tt>net.py:Name</tt>, an ONNX, <tt>.pt2</tt> or TorchScript file.</p>
<h3>The tabs</h3>
<ul>
<li><b>Layer graph</b> (Ctrl+1): every layer with its output shape and parameters. Click a layer to read its
arithmetic in the inspector; double-click a block to fold or unfold it. <b>N</b>/<b>P</b> step through what is
shown, <b>F</b> fits, <b>L</b> lays it out left to right, <b>C</b> merges conv + norm + activation.</li>
<li><b>Summary table</b> (Ctrl+2): the same numbers as a table, with receptive fields.</li>
<li><b>Lab</b> (Ctrl+3): an image through the network: feature maps, kernels, receptive fields, the ZFNet tools,
class maps (pick the map and the class), <b>Optimize</b> (what a channel or a class wants to see), and box or
region maps for detectors and segmenters. <b>Esc</b> stops a long tool.</li>
<li><b>Live</b> (Ctrl+4): a model on the camera, a video or the synthetic moving shapes; <b>Explain</b> lays the
map of what the model looks at over the picture; <b>Space</b> pauses, <b>Ctrl+S</b> saves the picture.</li>
<li><b>Figure</b> (Ctrl+5): the network as the papers draw it, a row of volumes.</li>
<li><b>Charts</b> (Ctrl+6): the ImageNet timeline, accuracy against MACs, compare, the convolution's arithmetic,
1×1 and GAP, depthwise separable costs and stacked receptive fields; <b>←</b>/<b>→</b> step through a chart.</li>
</ul>
<p><b>View › Atlas</b> (Ctrl+7): the microscope: for each channel, its optimized image beside the dataset examples
that excite it most and least.</p>
<h3>In a lecture hall</h3>
<p><b>F11</b> goes full screen with large text (<b>Ctrl+plus</b>/<b>Ctrl+minus</b> for more or less), <b>Esc</b>
comes back. <b>View › Theme</b> has a high-contrast theme for projectors. <b>File › Export graph for slides…</b>
writes 16:9 or 4:3 pages.</p>
<h3>Weights</h3>
<p>Published weights are downloaded once into torch's and Hugging Face's caches. Offline, the models use random
weights and say so; <b>File › Weights › Import weight files…</b> takes files brought on a USB stick. The trained
small nets (<tt>lenet5_digits</tt>, <tt>zfnet_shapes</tt>, <tt>shapes_yolo</tt>, <tt>shapes_unet</tt>) work
offline.</p>
<p>All keys: <b>Help › Keyboard shortcuts</b> (F1).</p>
"""
