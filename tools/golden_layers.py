#!/usr/bin/env python3
"""Dev-only golden data for cuttle's layers tests (needs PyTorch and safetensors; never part of the build).

Usage: python3 tools/golden_layers.py tests/fixtures/pytorch
Writes:
  torch_seq_weights.safetensors  state_dict (f32) of the PyTorch twin of the test Sequential
  torch_seq_golden.safetensors   input x, projection r, outputs in eval and train mode, gradients of
                                 sum(y * r) w.r.t. x and every parameter ("grad.<name>"), buffers after
                                 the train step ("after.<name>"); computed in float64 from the f32 weights
  torch_dtypes.safetensors       tensors of every dtype written by PyTorch's safetensors, and f32 values
                                 ("f32_src") next to PyTorch's own BF16/F16 rounding of them
The twin (children named 0..7 like cuttle's Sequential): conv3x3 3->4 pad 1, BN(4), GELU,
depthwise conv3x3 dilation 2 pad 2, ReLU, AvgPool2d(3, stride 1, pad 1), conv1x1 4->2 no bias,
bilinear upsample x2 (align_corners=False). Generated with PyTorch 2.11, safetensors 0.8.
"""
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file as S

o = sys.argv[1]
torch.manual_seed(0)
m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.GELU(),
                  nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4), nn.ReLU(),
                  nn.AvgPool2d(3, stride=1, padding=1), nn.Conv2d(4, 2, 1, bias=False),
                  nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
b = m[1]
with torch.no_grad():  # non-trivial BN state so eval mode is tested
    b.weight.uniform_(.5, 1.5); b.bias.uniform_(-.5, .5); b.running_mean.uniform_(-.3, .3)
    b.running_var.uniform_(.5, 2); b.num_batches_tracked.fill_(3)
C = lambda d: {k: v.contiguous() for k, v in d.items()}
S(C(m.state_dict()), o + "/torch_seq_weights.safetensors", metadata={"format": "pt"})

m = m.double()
x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
r = torch.randn(2, 2, 12, 12, dtype=torch.float64)
g = {"x": x, "r": r}
m.eval()
with torch.no_grad():
    g["y_eval"] = m(x)
m.train()
xg = x.clone().requires_grad_(True)
y = m(xg)
(y * r).sum().backward()
g["y_train"] = y.detach()
g["grad.x"] = xg.grad
for n, p in m.named_parameters():
    g["grad." + n] = p.grad
for n, t in m.named_buffers():
    g["after." + n] = t
S(C(g), o + "/torch_seq_golden.safetensors")

G = torch.Generator().manual_seed(1)
T = torch.tensor
s = torch.cat([torch.randn(2000, generator=G) * 10.0 ** torch.randint(-9, 5, (2000,), generator=G).float(),
               T([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-11, 1 + 3 * 2**-11, 65504., 65519., 65520., 2**-25,
                  3 * 2**-25, 2**-24, 1e30, -0., 0.])]).float()
S({"f32_src": s, "f32_as_bf16": s.bfloat16(), "f32_as_f16": s.half(), "bf16": T([1., -.5, 3.140625, 1e-3]).bfloat16(),
   "f16": T([1., -5., 65504., 6e-8]).half(), "f64": T([[1.5, -2.25]], dtype=torch.float64), "i64": T([-2**40, 7]),
   "i32": T([-2, 3], dtype=torch.int32), "u8": T([0, 255], dtype=torch.uint8), "bool": T([True, False, True]),
   "scalar": T(2.5)}, o + "/torch_dtypes.safetensors", metadata={"source": "torch"})
print("ok")
