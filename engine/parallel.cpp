#include "engine/parallel.h"

namespace cuttle::engine {

int num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) { omp_set_num_threads(std::max(1, n)); }

}  // namespace cuttle::engine
