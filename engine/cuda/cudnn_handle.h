// Declares the cuDNN services: the status check every cuDNN call goes through, one handle per device
// bound to cuttle's stream (made on first use, which also compares the runtime library's version with
// the headers' and warns once on a mismatch), and the version helpers behind that warning.
#pragma once
#include <cudnn.h>

#include <cstddef>
#include <string>

#include "engine/error.h"

#define CUTTLE_CUDNN_CHECK(call)                                                                      \
  do {                                                                                                \
    cudnnStatus_t cuttle_st_ = (call);                                                                \
    if (cuttle_st_ != CUDNN_STATUS_SUCCESS)                                                           \
      ::cuttle::detail::throw_error(__FILE__, __LINE__, "cuDNN error in ", #call, ": ",               \
                                    cudnnGetErrorString(cuttle_st_));                                 \
  } while (0)

namespace cuttle::engine::cuda {

cudnnHandle_t cudnn_handle(int device);

// "9.14.0" for a cudnnGetVersion() / CUDNN_VERSION number (9.x: major*10000 + minor*100 + patch;
// 8.x: major*1000 + minor*100 + patch).
std::string cudnn_version_string(size_t version);
// The warning printed when the runtime library and the headers differ in major or minor version
// (a runtime older than the build is not guaranteed to work); empty when they agree.
std::string cudnn_version_warning(size_t runtime, size_t built);

}  // namespace cuttle::engine::cuda
