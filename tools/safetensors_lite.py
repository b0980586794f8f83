"""Dev-only: save_file(tensors, path, metadata=None) like safetensors.torch, using the real package when
it is importable and a small writer of the same format (8-byte header length, JSON header, raw
little-endian data) otherwise. PyTorch is never a dependency of cuttle's build or tests."""
import json
import struct

import torch


def save_file(tensors, path, metadata=None):
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    try:
        from safetensors.torch import save_file as real_save
        real_save(tensors, path, metadata=metadata)
        return
    except ImportError:
        pass
    codes = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
             torch.bool: "BOOL"}
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k]
        a = t.numpy()
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": codes[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
