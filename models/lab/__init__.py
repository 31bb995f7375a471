"""The lab: look inside a network with an image. Feature maps, kernels, receptive fields on the image, and
the ZFNet tools (deconvnet, guided backprop, occlusion, top-9) plus Grad-CAM. No Qt here: the app runs these
functions on the thread that owns the model and turns their numpy results into pictures.

* ``images``      open image files and folders robustly; the bundled sample photos and digits
* ``preprocess``  the weights' own transforms, as a tensor, a display image and a list of steps
* ``activations`` ``LabModel``: feature maps of any recorded layer (cached per image) and top-5
* ``kernels``     first-layer filters as colour tiles, deeper kernels as a paged grid, weight histograms
* ``fields``      theoretical receptive-field boxes and the effective receptive field (Luo et al. 2016)
* ``attribution`` deconvnet, guided backprop, occlusion sensitivity and Grad-CAM (Captum where it fits)
* ``top9``        the nine patches of a folder that excite a unit most, with their projections, cached
* ``atlas``       the microscope: every channel's top-k and bottom-k images of a folder (top-9's pass)

Bad input raises ``LabError`` (``images.ImageError`` is one) with a one-line message.
"""

from cnn_explorer.models.lab.errors import LabError

__all__ = ["LabError"]
