"""Dev-only: save_file(tensors, path, metadata=None) and load_file(path) like safetensors.torch, using the
real package when it is importable and a small reader/writer of the same format (8-byte header length,
JSON header, raw little-endian data) otherwise. PyTorch is never a dependency of cuttle's build or tests."""
import json
import struct

import numpy as np
import torch

CODES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.int64: "I64", torch.int32: "I32",
         torch.uint8: "U8", torch.bool: "BOOL"}
NUMPY = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8,
         "BOOL": np.bool_}


def save_file(tensors, path, metadata=None):
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    try:
        from safetensors.torch import save_file as real_save
        real_save(tensors, path, metadata=metadata)
        return
    except ImportError:
        pass
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k]
        a = t.numpy()
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": CODES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_file(path):
    """{name: tensor} of a safetensors file (BF16 is widened to F32 by the fallback reader)."""
    try:
        from safetensors.torch import load_file as real_load
        return real_load(path)
    except ImportError:
        pass
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    base, out = 8 + n, {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        raw = data[base + a:base + b]
        if info["dtype"] == "BF16":  # bf16 = the top half of an f32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(NUMPY[info["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.astype(arr.dtype.newbyteorder("="), copy=True)).reshape(info["shape"])
    return out
