#include "layers/container.h"

#include "engine/error.h"

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
  for (auto& l : layers_) y = l->forward(y);
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
