// Declares how a stride-1 forward convolution that goes to cuDNN is run: directly, or as cuDNN's
// backward-data operation on the flipped weight (engine/cuda/conv_flip.h). In f32 without tensor
// cores cuDNN's backward-data engines run the MoE experts' wide-input convolutions over small maps
// several times faster than its forward engines (a 7x7 320->108 on sixteen 22x22 samples: 1781 us
// directly, 256 us as backward-data; a 7x7 128->44 on five 44x44 samples: 555 against 336 us) and
// lose on narrow inputs and large maps (a 3x3 64->16 on five 88x88 samples: 128 against 230 us;
// docs/PERFORMANCE.md, H100, cuDNN 9.14). The default follows a rule fitted to those measurements;
// a timed mode measures both per shape instead (faster where the rule misjudges, but its choice can
// differ between runs, and with it the last bits of the results).
#pragma once
#include <cstdint>
#include <functional>

#include "engine/cuda/cudnn_algo.h"

namespace cuttle::engine::cuda {

enum class ConvForwardForm { rule, timed, direct, backward_data };
// The default is rule; CUTTLE_CONV_FORWARD_FORM=rule, timed, direct or backward_data picks another
// (benchmarks).
void set_conv_forward_form(ConvForwardForm form);
ConvForwardForm conv_forward_form();

// f32, groups 1, stride 1, a kernel larger than 1x1 and padding at most (k - 1) * dilation per axis
// (the complementary padding must not be negative).
bool forward_as_backward_data_applies(const Shape& w, const Conv2dParams& p, DType dt);

// The rule: f32 without TF32, at least 128 input channels, and a map of at most 1024 pixels, or of
// at most 2048 with a kernel of 25 taps or more.
bool backward_data_form_by_rule(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt);

// True where the forward of x [N, C, H, W] and w (applies above) should run as backward-data: the
// forced form, or the rule, or in timed mode the choice cached for the forward's cache key, else
// (first use) each of run_direct and run_flipped runs once untimed and twice timed on the current
// stream, alternating, and the faster by its best time is cached. Both write the same output, so
// whichever ran last leaves a valid result (the caller runs the chosen one afterwards all the same).
// Timed mode under deterministic cuDNN takes the rule.
bool choose_backward_data_form(const Shape& x, const Shape& w, const Conv2dParams& p, DType dt, int device,
                               const std::function<void()>& run_direct, const std::function<void()>& run_flipped);
// Shapes timed so far.
int64_t conv_forward_form_timings();

}  // namespace cuttle::engine::cuda
