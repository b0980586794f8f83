#!/usr/bin/env python3
"""Dev-only: weights that move between cuttle and PyTorch give the same segmentation maps.

The PyTorch twin of tools/camoxpert_torch.py loads a cuttle checkpoint strictly, name for name, and
segments a folder of images the way infer_cod does (RGB / 255, bilinear resize to the config's
image_size with align_corners=False, ImageNet mean and std, sigmoid of the final logits, bilinear
back to the image's size, rounded to 8 bits). Three subcommands; scripts/gpu_pytorch_roundtrip_check.sh
runs them in both directions:

  pytorch_roundtrip.py predict  --weights W [--config C] --images DIR --out PRED [--tf32 on|off]
      the twin's maps of every image in DIR (PNG files named by the image's stem)
  pytorch_roundtrip.py finetune --weights W [--config C] --images DIR --masks DIR --out NEW.safetensors
                                [--steps 5] [--lr 1e-3]
      a few AdamW steps of the twin (the config's loss and optimizer, at learning rate lr) on the
      images and their masks, then its state written in cuttle's names: a model changed in PyTorch,
      for cuttle to load
  pytorch_roundtrip.py compare  A B [--max-mean-levels 1.0] [--max-far-fraction 0.001] [--far-levels 8]
      per-map differences of two folders of 8-bit maps; exits 0 where they agree, 3 where the mean
      difference exceeds max-mean-levels (of 255) or more than max-far-fraction of the pixels differ
      by over far-levels, and 2 on bad input (a crash exits 1)

W is a cuttle checkpoint directory (model.safetensors and checkpoint.json inside) or a bare
.safetensors file, whose model config --config names (a file or a shipped config's name).
Images are read with Pillow; use lossless PNG inputs, so both sides decode the same pixels.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from camoxpert_torch import (CamoXpertTwin, camoxpert_loss, checkpoint_config, clip_grad_norm,  # noqa: E402
                             config_path, load_config, load_cuttle_weights, make_adamw)
from safetensors_lite import save_file  # noqa: E402

try:
    from PIL import Image
except ImportError:  # pragma: no cover - the GPU machine has Pillow (torchvision needs it)
    sys.exit("pytorch_roundtrip.py: needs Pillow (python3 -m pip install pillow)")

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp")
DIFFER, BAD_INPUT = 3, 2  # compare's exit codes besides 0; an uncaught exception exits 1


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(BAD_INPUT)
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def twin_for(weights, config, device):
    cfg = load_config(config_path(config)) if config else checkpoint_config(weights)
    if cfg is None:
        raise ValueError(f"{weights}: no checkpoint.json beside it; pass --config")
    torch.manual_seed(0)
    model = CamoXpertTwin(cfg)
    load_cuttle_weights(model, weights)
    return model.to(device), cfg


def image_files(folder):
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXT))
    if not names:
        raise FileNotFoundError(f"{folder}: no images ({', '.join(IMAGE_EXT)})")
    return [os.path.join(folder, n) for n in names]


def read_rgb01(path):
    return torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)


def model_input(image, side):
    x = image.unsqueeze(0)
    if x.shape[2:] != (side, side):
        x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
    return (x - MEAN) / STD


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def predict(a):
    device = torch.device(a.device)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = a.tf32 == "on"
    model, cfg = twin_for(a.weights, a.config, device)
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    files = image_files(a.images)
    side = cfg["image_size"]
    with torch.no_grad():
        for first in range(0, len(files), a.batch):
            images = [read_rgb01(p) for p in files[first:first + a.batch]]
            x = torch.cat([model_input(im, side) for im in images]).to(device)
            prob = torch.sigmoid(model(x)["logits"]).float().cpu()
            for path, im, p in zip(files[first:first + a.batch], images, prob):
                h, w = im.shape[1:]
                p = p.unsqueeze(0)
                if p.shape[2:] != (h, w):
                    p = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)
                u8 = (p[0, 0].clamp(0, 1).double() * 255.0).round().to(torch.uint8).numpy()
                Image.fromarray(u8).save(os.path.join(a.out, stem(path) + ".png"))
    print(f"predict: {len(files)} maps of {a.weights} written to {a.out}")


def finetune(a):
    device = torch.device(a.device)
    model, cfg = twin_for(a.weights, a.config, device)
    model.train()
    opt = make_adamw(model, dict(cfg["train"], lr=a.lr))
    side = cfg["image_size"]
    files = image_files(a.images)
    masks = {stem(p): p for p in image_files(a.masks)}
    missing = [stem(p) for p in files if stem(p) not in masks]
    if missing:
        raise FileNotFoundError(f"{a.masks}: no mask for {missing[:3]} ({len(missing)} images)")
    batch = min(a.batch, len(files))
    for step in range(a.steps):
        chosen = [files[(step * batch + i) % len(files)] for i in range(batch)]
        x = torch.cat([model_input(read_rgb01(p), side) for p in chosen]).to(device)
        t = [torch.from_numpy(np.asarray(Image.open(masks[stem(p)]).convert("L"), dtype=np.float32) / 255.0)
             for p in chosen]
        t = torch.stack([F.interpolate(m[None, None], size=(side, side), mode="nearest")[0] for m in t])
        t = (t > 0.5).float().to(device)
        loss = camoxpert_loss(model(x), t, cfg["loss"])["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_grad_norm(list(model.parameters()), cfg["train"]["clip"])
        opt.step()
        print(f"finetune: step {step + 1}/{a.steps}, loss {loss.item():.5f}")
    save_file(model.state_dict(), a.out, metadata={"source": "tools/pytorch_roundtrip.py finetune"})
    print(f"finetune: the twin's state written to {a.out}")


def compare(a):
    names = sorted(n for n in os.listdir(a.a) if n.endswith(".png"))
    if not names:
        fail(f"compare: {a.a} holds no .png maps")
    total, pixels, far, worst = 0.0, 0, 0, (0, "")
    for n in names:
        other = os.path.join(a.b, n)
        if not os.path.exists(other):
            fail(f"compare: {other} is missing (it is in {a.a})")
        x = np.asarray(Image.open(os.path.join(a.a, n)).convert("L"), dtype=np.int32)
        y = np.asarray(Image.open(other).convert("L"), dtype=np.int32)
        if x.shape != y.shape:
            fail(f"compare: {n} is {x.shape} in {a.a} but {y.shape} in {a.b}")
        d = np.abs(x - y)
        total += float(d.sum())
        pixels += d.size
        far += int((d > a.far_levels).sum())
        if d.max() > worst[0]:
            worst = (int(d.max()), n)
        print(f"  {n}: mean {d.mean():.4f} levels, max {d.max()}, over {a.far_levels}: {(d > a.far_levels).mean():.5f}")
    mean, frac = total / pixels, far / pixels
    print(f"compare: {len(names)} maps, mean |difference| {mean:.4f} of 255 levels, "
          f"{frac:.5f} of the pixels over {a.far_levels} levels, largest {worst[0]} levels ({worst[1]})")
    ok = mean <= a.max_mean_levels and frac <= a.max_far_fraction
    print("compare: ok" if ok else "compare: the maps differ")
    sys.exit(0 if ok else DIFFER)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("predict", "finetune"):
        p = sub.add_parser(name)
        p.add_argument("--weights", required=True, help="cuttle checkpoint directory or .safetensors file")
        p.add_argument("--config", help="model config of a bare .safetensors file (a file or shipped name)")
        p.add_argument("--images", required=True, help="folder of images")
        p.add_argument("--out", required=True)
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
        p.add_argument("--batch", type=int, default=8)
    sub.choices["predict"].add_argument("--tf32", choices=("on", "off"), default="off")
    sub.choices["finetune"].add_argument("--masks", required=True, help="folder of masks named as the images")
    sub.choices["finetune"].add_argument("--steps", type=int, default=5)
    sub.choices["finetune"].add_argument("--lr", type=float, default=1e-3)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--max-mean-levels", type=float, default=1.0)
    c.add_argument("--max-far-fraction", type=float, default=0.001)
    c.add_argument("--far-levels", type=int, default=8)
    a = ap.parse_args()
    {"predict": predict, "finetune": finetune, "compare": compare}[a.command](a)


if __name__ == "__main__":
    main()
