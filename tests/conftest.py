import os

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")
# The suite tests gendesign, not whatever third-party plugins this environment has installed: no
# entry-point plugin loads unless a test asks for them with the `installed_plugins` fixture.
os.environ["GENDESIGN_LOAD_PLUGINS"] = ""


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
