#!/usr/bin/env python3
"""Dev-only golden data for cuttle's PVTv2 backbone (needs PyTorch and timm; never part of the build).

Usage: python3 tools/golden_pvt.py [tests/fixtures/pvt] [--b2]
Creates, from a fixed seed with timm's own random init:
  b0    timm.create_model("pvt_v2_b0")
  b2    timm.create_model("pvt_v2_b2"), with --b2 only (100 MB: not committed)
  tiny  timm's PyramidVisionTransformerV2(embed_dims=(16, 32, 64, 128), depths=(1, 1, 1, 1),
        num_heads=(1, 2, 4, 8)), LayerNorm eps 1e-6 like the pvt_v2_b* models (cuttle's
        PvtV2Config default), other settings timm's defaults (sr 8, 4, 2, 1; mlp 8, 8, 4, 4)
and writes for each model M, in float32 with TF32 off, in eval mode:
  M_weights.safetensors  its state_dict as timm names it (head.* included: cuttle must ignore it)
  M_golden.safetensors   x (an input [2, 3, 64, 64]) and f0..f3, the four stage maps (NCHW) that the
                         stages produce, strides 4, 8, 16, 32
tests/models/test_pvt_golden.cpp loads the weights by name and compares the maps.
"""
import os
import sys
from functools import partial

import torch
import torch.nn as nn
import timm
from timm.models.pvt_v2 import PyramidVisionTransformerV2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_lite import save_file  # noqa: E402


def stage_maps(model, x):
    # The maps after each stage (NCHW). timm 1.x: forward_intermediates; older: loop over the stages.
    if hasattr(model, "forward_intermediates"):
        return list(model.forward_intermediates(x, intermediates_only=True))
    t, size = model.patch_embed(x)
    maps = []
    for stage in model.stages:
        t, size = stage(t, feat_size=list(size))
        maps.append(t)
    return maps


def write(name, model, out_dir, seed):
    model.eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 64, 64, generator=g)
    with torch.no_grad():
        maps = stage_maps(model, x)
        # The stage loop must agree with timm's forward_features (the last map).
        assert torch.allclose(maps[-1], model.forward_features(x)), "stage maps differ from forward_features"
    save_file({k: v.float() for k, v in model.state_dict().items()}, os.path.join(out_dir, f"{name}_weights.safetensors"),
              metadata={"timm": timm.__version__, "torch": torch.__version__})
    golden = {"x": x}
    golden.update({f"f{i}": m for i, m in enumerate(maps)})
    save_file(golden, os.path.join(out_dir, f"{name}_golden.safetensors"))
    print(name, [tuple(m.shape) for m in maps])


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out_dir = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pvt")
    os.makedirs(out_dir, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_default_dtype(torch.float32)

    torch.manual_seed(0)
    write("b0", timm.create_model("pvt_v2_b0", pretrained=False), out_dir, 1)

    if "--b2" in sys.argv:  # 100 MB of weights: for a run on the GPU machine, not for the repository
        torch.manual_seed(3)
        write("b2", timm.create_model("pvt_v2_b2", pretrained=False), out_dir, 4)

    torch.manual_seed(1)
    tiny = PyramidVisionTransformerV2(embed_dims=(16, 32, 64, 128), depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                                      norm_layer=partial(nn.LayerNorm, eps=1e-6))
    write("tiny", tiny, out_dir, 2)


if __name__ == "__main__":
    main()
