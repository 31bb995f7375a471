"""Architectures the zoo builds from their papers, because neither torchvision nor timm ships them.

Plain ``torch.nn`` modules with the papers' layer sizes, one file per family; ``models/zoo/paper_source.py``
registers them.
"""
