// Declares in which form a stride-1 convolution that goes to cuDNN runs. A forward y = conv(x, w) is
// also the input gradient of conv(., w') for w' the flipped weight (engine/cuda/conv_flip.h) at the
// complementary padding, and an input gradient is likewise the forward of the output gradient with
// w'. In f32 without tensor cores cuDNN's engines for one operation can be several times faster than
// its engines for the other on the same shape: the experts' wide-input forwards over small maps run
// faster as backward-data (a 7x7 320->108 on sixteen 22x22 samples: 1781 us directly, 256 us as
// backward-data), narrow inputs over large maps do not (a 3x3 64->16 on five 88x88 samples: 128
// against 230 us; docs/PERFORMANCE.md, H100, cuDNN 9.14). The default follows rules fitted to such
// measurements; a timed mode measures both forms per shape instead (faster where a rule misjudges,
// but its choice can differ between runs, and with it the last bits of the results).
#pragma once
#include <cstdint>
#include <functional>

#include "engine/cuda/cudnn_algo.h"

namespace cuttle::engine::cuda {

// direct: the operation itself; flipped: the other operation on the flipped weight.
enum class ConvForm { rule, timed, direct, flipped };
// Per operation (ConvKind::forward or ConvKind::backward_data; the weight gradient has one form).
// The default is rule; CUTTLE_CONV_FORWARD_FORM (rule, timed, direct or backward_data) and
// CUTTLE_CONV_BACKWARD_DATA_FORM (rule, timed, direct or forward) pick another (benchmarks).
void set_conv_form(ConvKind kind, ConvForm form);
ConvForm conv_form(ConvKind kind);

// f32, groups 1, stride 1, a kernel larger than 1x1 and padding at most (k - 1) * dilation per axis
// (the complementary padding must not be negative).
bool flipped_form_applies(const Shape& w, const Conv2dParams& p, DType dt);
// The flipped form's parameters: padding (k - 1) * dilation - padding per axis.
Conv2dParams flipped_form_params(const Shape& w, const Conv2dParams& p);

// The rules, for x [N, C, H, W] the convolution's input (for backward_data: the gradient's shape).
// Forward: f32 without TF32, at least 128 input channels, and a map of at most 1024 pixels, or of at
// most 2048 with a kernel of 25 taps or more. Backward-data: f32 without TF32 and a map of at least
// 4096 pixels.
bool flipped_form_by_rule(ConvKind kind, const Shape& x, const Shape& w, const Conv2dParams& p, DType dt);

// True where the operation `kind` on x and w (flipped_form_applies) should run flipped: the forced
// form, or the rule, or in timed mode the choice cached for the operation's cache key, else (first
// use) each of run_direct and run_flipped runs once untimed and twice timed on the current stream,
// alternating, and the faster by its best time is cached. Both write the same output, so whichever
// ran last leaves a valid result (the caller runs the chosen one afterwards all the same). Timed mode
// under deterministic cuDNN takes the rule.
bool choose_flipped_form(ConvKind kind, const Shape& x, const Shape& w, const Conv2dParams& p, DType dt, int device,
                         const std::function<void()>& run_direct, const std::function<void()>& run_flipped);
// Shapes timed so far (both operations).
int64_t conv_form_timings();

}  // namespace cuttle::engine::cuda
