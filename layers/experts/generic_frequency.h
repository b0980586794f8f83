// Defines two generic experts (LN2d + GELU family), each [B,C,H,W] -> [B,C,H,W] ending in + x:
//   Frequency  low = avgpool3(x), high = x - low, mid = low - avgpool5(x) (stride 1, "same" padding,
//              counting padding; FIX: pool3 computed once); branches low, mid, high, x each
//              conv1x1 C->qj, LN2d, GELU; concat, fusion (conv1x1, LN2d, GELU), + x.
//   Edge       fixed depthwise Sobel-x, Sobel-y, Laplacian filters (buffers, never trained; padding 1,
//              no bias): sobel = sqrt(sx^2 + sy^2 + 1e-8), lap = |L|, grad = sqrt(sobel^2 + lap^2 + 1e-8);
//              branches sobel, lap, grad, x each conv1x1 C->qj, LN2d, GELU; concat, fusion, + x.
// Names: branches.{j}.{k}, fusion.{k}; Edge's buffers sobel_x, sobel_y, laplacian [C,1,3,3].
#pragma once
#include "layers/layers.h"

namespace cuttle::layers {

class Frequency : public UnaryModule {
 public:
  Frequency(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "Frequency"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // on low, mid, high, x: [conv1x1, LN2d, GELU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, LN2d, GELU]

 private:
  int64_t C_;
};

class Edge : public UnaryModule {
 public:
  Edge(int64_t C, engine::Generator& gen);  // C >= 4
  std::string type_name() const override { return "Edge"; }
  Var forward(const Var& x) override;

  std::shared_ptr<ModuleList> branches;  // on sobel, lap, grad, x: [conv1x1, LN2d, GELU]
  std::shared_ptr<Sequential> fusion;    // [conv1x1, LN2d, GELU]

 private:
  Var depthwise(const std::string& filter, const Var& x) const;
  int64_t C_;
};

}  // namespace cuttle::layers
