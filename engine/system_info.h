// Declares what the programs report about where they run: device choice ("auto" = the first GPU when
// the build has CUDA and a GPU is visible), a one-line device description, and the provenance block
// (build facts, device, library versions, host) that checkpoints and run.json record.
#pragma once
#include <string>
#include <nlohmann/json.hpp>
#include "engine/device.h"

namespace cuttle::engine {

bool cuda_usable();  // the build has the CUDA backend and a GPU is visible
// "cpu", "cuda", "cuda:N" or "auto"; throws cuttle::Error for other names or an unusable GPU.
Device parse_device(const std::string& name);
// "NVIDIA H100 80GB HBM3, 79.1 GiB, compute capability 9.0" or "CPU, 2 threads (AVX2 build)".
std::string describe_device(Device device);
nlohmann::json library_versions();
nlohmann::json provenance(Device device);
// Memory in use on `device`, in MiB: the CUDA allocator's allocated/reserved/peak, or the host block
// cache's size on the CPU.
nlohmann::json memory_stats(Device device);
// Resets the peak of memory_stats (the CUDA allocator's high-water mark; nothing on the CPU).
void reset_peak_memory(Device device);

// The math the CUDA backend may use for f32: TF32 tensor cores in convolutions and GEMMs, and only
// the cuDNN algorithms that are deterministic. No effect in a build without CUDA.
void set_cuda_math(bool tf32, bool deterministic);
// Whether set_cuda_math last asked for deterministic algorithms (false in a build without CUDA).
bool cuda_math_deterministic();
// How cuDNN convolution algorithms are chosen: false = cuDNN's heuristics, true = timed once per
// shape bucket (cudnnFind; batch size rounded up to a power of two). No effect without CUDA.
void set_conv_benchmark(bool on);

}  // namespace cuttle::engine
