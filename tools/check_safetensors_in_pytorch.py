"""Dev-only: checks that safetensors files written by cuttle load in PyTorch, with a plain reader
(json header + numpy) so it works without the safetensors package. Loads a Conv2d+BatchNorm2d state
written by cuttle into the same PyTorch network strictly by name and compares the eval output.
Usage: python3 tools/check_safetensors_in_pytorch.py net.safetensors io.safetensors"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        raw = data[begin:end]
        if e["dtype"] == "BF16":  # widen to f32: the 16 high bits
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(a.copy()).reshape(e["shape"])
    return out, header.get("__metadata__", {})


def main():
    state, meta = read(sys.argv[1])
    io, _ = read(sys.argv[2])
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
    net.load_state_dict(state, strict=True)
    net.eval()
    with torch.no_grad():
        y = net(io["x"])
    err = (y - io["y"]).abs().max().item()
    print("metadata", meta, "max |torch - cuttle|", err, "num_batches_tracked", int(state["1.num_batches_tracked"]))
    assert err < 1e-5, err
    print("ok")


if __name__ == "__main__":
    main()
