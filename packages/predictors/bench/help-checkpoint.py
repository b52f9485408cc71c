"""Converts a HELP checkpoint (PyTorch, e.g. HELP's data/nasbench201/checkpoint/help_max_corr.pt)
to the JSON weights bench/help-nb201.ts --weights reads: our parameter names, weights as
(in, out) matrices. Reference use only (needs Debian's python3-torch); never run by the tests.

    python3 bench/help-checkpoint.py help_max_corr.pt > help-weights.json
"""
import json
import sys

import torch

ck = torch.load(sys.argv[1], map_location="cpu")
NAMES = {"fc_hw1": "hw1", "fc_hw2": "hw2", "fc3": "fc3", "fc4": "fc4", "fc5": "fc5"}


def ours(key):
    layer, kind = key.split(".")[-2:]
    name = NAMES.get(layer, layer)
    return f"{name}.{'w' if kind == 'weight' else 'b'}", layer.startswith("fc") and kind == "weight"


params = {}
for key, value in ck["model"].items():
    name, transpose = ours(key)
    params[name] = (value.t() if transpose else value).reshape(-1).tolist()
for key, value in ck["task_lr"].items():
    name, transpose = ours(key)
    params["lr." + name] = (value.t() if transpose else value).reshape(-1).tolist()
for key, value in ck["inference_network"].items():
    # z_encoder.0 (embedding -> 10) and z_encoder.2 (10 -> 2 * z)
    index, kind = key.split(".")[-2:]
    name = {"0": "z1", "2": "z2"}[index]
    params[f"{name}.{'w' if kind == 'weight' else 'b'}"] = (
        value.t() if kind == "weight" else value
    ).reshape(-1).tolist()
json.dump({"episode": ck.get("epi"), "params": params}, sys.stdout)
