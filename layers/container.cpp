#include "layers/container.h"

#include "engine/error.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/conv_batch_norm.h"
#include "layers/norm.h"

namespace cuttle::layers {

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> layers) {
  for (auto& l : layers) push_back(std::move(l));
}

const std::shared_ptr<UnaryModule>& Sequential::operator[](size_t i) const {
  CUTTLE_CHECK(i < layers_.size(), "Sequential: index ", i, " out of range (size ", layers_.size(), ")");
  return layers_[i];
}

Var Sequential::forward(const Var& x) {
  Var y = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    // A biased Conv2d followed by ReLU or GELU: bias and activation in one fused pass; BatchNorm2d
    // followed by ReLU: normalisation and activation in one (on a GPU, one kernel each way instead
    // of two).
    if (i + 1 < layers_.size()) {
      const bool relu = dynamic_cast<ReLU*>(layers_[i + 1].get()) != nullptr;
      const bool gelu = dynamic_cast<GELU*>(layers_[i + 1].get()) != nullptr;
      // A Conv2d followed by BatchNorm2d (and ReLU): the bias folds into the normalisation while it
      // uses batch statistics (layers/conv_batch_norm.h).
      auto* conv = dynamic_cast<Conv2d*>(layers_[i].get());
      if (auto* bn = dynamic_cast<BatchNorm2d*>(layers_[i + 1].get()); conv && bn) {
        const bool then_relu = i + 2 < layers_.size() && dynamic_cast<ReLU*>(layers_[i + 2].get()) != nullptr;
        y = conv_batch_norm(*conv, *bn, y, then_relu);
        i += then_relu ? 2 : 1;
        continue;
      }
      if (conv && conv->bias.defined() && (relu || gelu)) {
        y = conv->forward_activated(y, relu ? engine::UnaryOp::relu : engine::UnaryOp::gelu);
        ++i;
        continue;
      }
      if (auto* bn = dynamic_cast<BatchNorm2d*>(layers_[i].get()); bn && relu) {
        y = bn->forward_relu(y);
        ++i;
        continue;
      }
    }
    y = layers_[i]->forward(y);
  }
  return y;
}

const std::shared_ptr<Module>& ModuleList::operator[](size_t i) const {
  CUTTLE_CHECK(i < items_.size(), "ModuleList: index ", i, " out of range (size ", items_.size(), ")");
  return items_[i];
}

void ModuleList::throw_wrong_type(size_t i) const {
  CUTTLE_FAIL("ModuleList: item ", i, " is a ", items_[i]->type_name(), ", not the type asked for");
}

}  // namespace cuttle::layers
