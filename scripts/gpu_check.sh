#!/usr/bin/env bash
# Runs on the GPU machine against a build folder made with -DCUTTLE_CUDA=ON (default build-cuda/,
# built on a development machine with -DCMAKE_CUDA_ARCHITECTURES=90 and carried over): device facts,
# the gpu-labelled tests, the whole suite on that build, compute-sanitizer memcheck over the
# gpu-sanitize subset, and a summary last.
# gpu-sanitize: the test cases of the doctest suite "gpu" whose names start with "sanitize:" (a test
# case has one suite, and the gpu label must stay on every GPU test): small shapes, a few minutes under
# memcheck. Run them alone with: cuttle_tests -ts=gpu -tc='sanitize:*'. API errors are not reported:
# cuDNN probes some algorithms with calls that fail by design.
# Test executables are run directly (CTest files hold the build machine's absolute paths).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-cuda}
export CUTTLE_TEST_DIR="$PWD/tests"  # the build's compiled-in path is the development machine's
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
summary=()
run() {
  local name=$1; shift
  local start=$(date +%s)
  if "$@"; then summary+=("PASS  $name ($(( $(date +%s) - start )) s)"); else summary+=("FAIL  $name"); fi
}
run "gpu tests" "$build/bin/cuttle_tests" -ts=gpu
run "all tests on the CUDA build" "$build/bin/cuttle_tests"
if command -v compute-sanitizer >/dev/null; then
  run "compute-sanitizer memcheck (gpu-sanitize)" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 1 "$build/bin/cuttle_tests" -ts=gpu -tc='sanitize:*'
fi
echo
echo "== gpu_check summary =="
printf '%s\n' "${summary[@]}"
