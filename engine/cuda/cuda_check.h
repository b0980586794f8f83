// Defines the checks every CUDA runtime call goes through: a failure throws cuttle::Error naming the
// call, file:line and the runtime's message.
#pragma once
#include <cuda_runtime_api.h>

#include "engine/error.h"

#define CUTTLE_CUDA_CHECK(call)                                                                     \
  do {                                                                                              \
    cudaError_t cuttle_err_ = (call);                                                               \
    if (cuttle_err_ != cudaSuccess)                                                                 \
      ::cuttle::detail::throw_error(__FILE__, __LINE__, "CUDA error in ", #call, ": ",              \
                                    cudaGetErrorName(cuttle_err_), " (", cudaGetErrorString(cuttle_err_), ")"); \
  } while (0)

// After a kernel launch: launch-configuration errors surface here, not at the next sync.
#define CUTTLE_CUDA_CHECK_LAUNCH(name)                                                              \
  do {                                                                                              \
    cudaError_t cuttle_err_ = cudaGetLastError();                                                   \
    if (cuttle_err_ != cudaSuccess)                                                                 \
      ::cuttle::detail::throw_error(__FILE__, __LINE__, "CUDA kernel ", name, " failed to launch: ", \
                                    cudaGetErrorString(cuttle_err_));                               \
  } while (0)
