// Defines ExpertOptions: the per-expert settings that the registry passes through to experts that
// need more than their channel count (today only the two attention experts).
#pragma once
#include <cstdint>

namespace cuttle::layers {

struct ExpertOptions {
  // CODAttention: the spatial-reduction ratio r of the key/value average pool (kernel = stride = r);
  // 8, 4, 2, 1 at strides 4, 8, 16, 32 in the default config.
  int64_t sr_ratio = 1;
  // Attention (generic, linear): dropout after the output projection.
  double dropout = 0.1;
};

}  // namespace cuttle::layers
