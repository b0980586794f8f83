// Defines the pinned staging pool behind asynchronous host-to-device copies: page-locked blocks that
// a copy reads by DMA while the host runs on, each reused only after the copy that read it is done.
#pragma once
#include <cstddef>

#include <cuda_runtime_api.h>

namespace cuttle::engine::cuda {

// Copies nbytes from host memory (any kind) to device memory on `stream` without waiting for the
// device: the bytes are first copied into a pinned block, so `src` may be freed on return. Returns
// false (and copies nothing) when the pool cannot take the copy (too large); the caller then copies
// synchronously.
bool copy_to_device_async(void* dst, const void* src, size_t nbytes, cudaStream_t stream);

}  // namespace cuttle::engine::cuda
