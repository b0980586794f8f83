#include "layers/ema.h"

#include <map>

#include "engine/ops/optim.h"

namespace cuttle::layers {

ModelEMA::ModelEMA(const Module& model, double decay) : decay_(decay) {
  CUTTLE_CHECK(decay >= 0 && decay < 1, "ModelEMA: decay must be in [0, 1), got ", decay);
  for (auto& [name, t] : model.state_dict()) state_.emplace_back(name, t.clone());
}

void ModelEMA::update(const Module& model) {
  const engine::NamedTensors current = model.state_dict();
  CUTTLE_CHECK(current.size() == state_.size(), "ModelEMA::update: the model has ", current.size(),
               " state entries, the average ", state_.size());
  // Floating entries already matching the average's dtype and device go to one fused update (a few
  // launches on a GPU); the rest are converted one by one, integer counters copied.
  std::vector<Tensor> avgs, nows;
  for (size_t i = 0; i < state_.size(); ++i) {
    auto& [name, avg] = state_[i];
    const Tensor& now = current[i].second;
    CUTTLE_CHECK(current[i].first == name && now.shape() == avg.shape(), "ModelEMA::update: entry ", i, " is '",
                 current[i].first, "' ", now.str(), ", the average holds '", name, "' ", avg.str());
    if (!engine::is_floating(avg.dtype())) {
      avg.copy_(now);
      continue;
    }
    avgs.push_back(avg);
    nows.push_back(now.dtype() == avg.dtype() && now.device() == avg.device() ? now
                                                                              : now.to(avg.dtype()).to(avg.device()));
  }
  engine::ema_update_(avgs, nows, decay_);
  ++updates_;
}

void ModelEMA::copy_to(Module& model) const {
  std::map<std::string, Tensor> m(state_.begin(), state_.end());
  model.load_state_dict(m, /*strict=*/true, "EMA weights");
}

void ModelEMA::load(const engine::NamedTensors& state) {
  std::map<std::string, Tensor> incoming(state.begin(), state.end());
  for (auto& [name, avg] : state_) {
    auto it = incoming.find(name);
    CUTTLE_CHECK(it != incoming.end(), "ModelEMA::load: '", name, "' is missing");
    CUTTLE_CHECK(it->second.shape() == avg.shape(), "ModelEMA::load: '", name, "' has shape ",
                 engine::shape_str(it->second.shape()), ", expected ", engine::shape_str(avg.shape()));
    avg.copy_(it->second);
  }
  CUTTLE_CHECK(incoming.size() == state_.size(), "ModelEMA::load: ", incoming.size(), " entries, expected ",
               state_.size());
}

}  // namespace cuttle::layers
