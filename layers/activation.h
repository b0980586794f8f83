// Defines the parameter-free element-wise layers: ReLU, GELU (erf form), Sigmoid, Softplus, ELU, and
// Identity.
#pragma once
#include "layers/module.h"

namespace cuttle::layers {

class ReLU : public UnaryModule {
 public:
  std::string type_name() const override { return "ReLU"; }
  Var forward(const Var& x) override;
};

class GELU : public UnaryModule {
 public:
  std::string type_name() const override { return "GELU"; }
  Var forward(const Var& x) override;  // 0.5 x (1 + erf(x / sqrt 2))
};

class Sigmoid : public UnaryModule {
 public:
  std::string type_name() const override { return "Sigmoid"; }
  Var forward(const Var& x) override;
};

// log(1 + exp(beta x)) / beta, computed without overflow (no linear cut-off: at PyTorch's threshold
// of 20 the two differ by less than 3e-9).
class Softplus : public UnaryModule {
 public:
  explicit Softplus(double beta = 1.0);
  std::string type_name() const override { return "Softplus"; }
  Var forward(const Var& x) override;

 private:
  double beta_;
};

// x for x > 0, alpha (exp(x) - 1) otherwise.
class ELU : public UnaryModule {
 public:
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  std::string type_name() const override { return "ELU"; }
  Var forward(const Var& x) override;

 private:
  double alpha_;
};

class Identity : public UnaryModule {
 public:
  std::string type_name() const override { return "Identity"; }
  Var forward(const Var& x) override { return x; }
};

}  // namespace cuttle::layers
