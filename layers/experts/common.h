// Defines the building blocks shared by the expert layers (split rules, conv/norm/activation stacks,
// the squeeze-and-excite gate, the branch-concat-fuse step) and documents the state names.
//
// State-dict naming scheme, the same in every expert so a PyTorch twin (tools/golden_experts.py)
// uses identical keys:
//   branches.{j}.{k}  branch j (table order) is an nn.Sequential-like stack; k counts every layer of
//                     the table in order, parameter-free ones (ReLU, GELU, pools) included, e.g.
//                     branches.0.0.weight = branch 0's first conv, branches.0.2.running_mean = its BN.
//   fusion.{k}        after the concat: conv1x1 C->C at 0, then its norm at 1 and activation at 2.
//   local.{k}         a single (depthwise) path: Hybrid, CODHybrid, Contrast.
//   gate.{k} / amp.{k} squeeze-and-excite: GAP at 0, conv1x1 C->C/4 at 1, activation at 2,
//                     conv1x1 C/4->C at 3, Sigmoid at 4 (amp is ContrastEnhancement's name for it).
//   sobel_x, sobel_y, laplacian   the Edge expert's fixed depthwise filters [C,1,3,3] (buffers).
// Norm layers use PyTorch's names: weight, bias (+ running_mean, running_var, num_batches_tracked
// for BatchNorm2d).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions/elementwise.h"
#include "layers/layers.h"

namespace cuttle::layers::experts_detail {

// The 3x3 edge filters (row-major, cross-correlation as Conv2d): Sobel-x responds to d/dx (columns),
// Sobel-y to d/dy (rows), the 4-neighbour Laplacian to curvature. Each has sum |K| = 8.
inline constexpr double kSobelX[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
inline constexpr double kSobelY[9] = {-1, -2, -1, 0, 0, 0, 1, 2, 1};
inline constexpr double kLaplacian[9] = {0, 1, 0, 1, -4, 1, 0, 1, 0};

enum class NormAct { bn_relu, ln_gelu, bn_gelu };

// Throws cuttle::Error naming the expert and C when C < min_c.
void check_channels(const char* expert, int64_t C, int64_t min_c);
// Throws unless x is [B, C, H, W].
void check_input(const char* expert, const Var& x, int64_t C);
// The q = C/4 split: c1 = c2 = c3 = floor(C/4), c4 = C - 3 floor(C/4).
std::vector<int64_t> quarter_split(int64_t C);
// ContrastEnhancement's split: c1 = c2 = floor(C/3), c3 = C - 2 floor(C/3).
std::vector<int64_t> third_split(int64_t C);

// Conv2d with bias and "same" padding dilation * (k - 1) / 2.
std::shared_ptr<Conv2d> same_conv(int64_t in, int64_t out, int64_t k, engine::Generator& gen, int64_t dilation = 1,
                                  int64_t groups = 1);
// Appends the norm (BatchNorm2d or LayerNorm2d over C channels) and then the activation.
void push_norm_act(Sequential& s, int64_t C, NormAct na);
// conv1x1 C->C, norm, activation: the fusion after a concat.
std::shared_ptr<Sequential> make_fusion(int64_t C, engine::Generator& gen, NormAct na);
// sigmoid(conv1x1 C/4->C (act (conv1x1 C->C/4 (GAP x)))): [B,C,1,1]. act is ReLU or GELU.
std::shared_ptr<Sequential> make_gate(int64_t C, engine::Generator& gen, bool gelu);

// Runs branch j on inputs[j] (or on inputs[0] for every branch when one input is given), concatenates
// the results over the channels and applies `fusion`.
Var fuse_branches(const ModuleList& branches, const std::vector<Var>& inputs, Sequential& fusion);

}  // namespace cuttle::layers::experts_detail
