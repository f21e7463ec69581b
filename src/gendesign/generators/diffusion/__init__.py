"""Reward fine-tuning of image and video diffusion models (``gendesign finetune``).

Backbones (:mod:`.backbone`) wrap diffusers models; algorithms are one per file: :mod:`.ddpo`,
:mod:`.draft`, :mod:`.alignprop`, :mod:`.instructvideo`, :mod:`.ctrl_u`; :mod:`.trainer` runs them.
Importing this package does not import diffusers; the submodules do.
"""
