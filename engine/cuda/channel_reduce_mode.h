// Declares the switch between the two forms of the per-channel reductions of channel_kernels.cuh:
// a partials launch and a finish launch, or one launch whose last block per channel finishes it.
#pragma once

namespace cuttle::engine::cuda {

// Whether long channels finish in the same launch (the default; CUTTLE_CHANNEL_REDUCE_ONE_LAUNCH=0 takes
// two launches). Both forms add the same partials in the same tree: the same bits.
bool channel_reduce_one_launch();
void set_channel_reduce_one_launch(bool on);

}  // namespace cuttle::engine::cuda
