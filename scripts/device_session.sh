#!/usr/bin/env bash
# Wrapper for a call on the GPU machine: builds build-cuda/ there when the carried binaries are
# missing, then runs "$@" (e.g. scripts/gpu_host_cost_check.sh). The GPU machine lacks the CLI11 and
# stb headers; carry them in .carry/deps (ignored), made once on the development machine with:
#   mkdir -p .carry/deps/include .carry/deps/cmake && cp -r /usr/include/CLI /usr/include/stb \
#     .carry/deps/include/ && cp -r /usr/share/cmake/CLI11 .carry/deps/cmake/
# and name ".carry" (plus build-cuda/bin/cuttle_tests, build-cuda/bin/bench_moe and build-cuda/lib
# when built here with -DCMAKE_CUDA_ARCHITECTURES=90) in the call's carry list.
set -uo pipefail
cd "$(dirname "$0")/.."
export CUTTLE_TEST_DIR="$PWD/tests"
if [ ! -x build-cuda/bin/cuttle_tests ] || [ ! -x build-cuda/bin/bench_moe ]; then
  echo "device_session: building on the device"
  start=$(date +%s)
  deps="$PWD/.carry/deps"
  cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUTTLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_PREFIX_PATH="$deps/cmake" -DCMAKE_CXX_FLAGS="-I$deps/include" -DCMAKE_CUDA_FLAGS="-I$deps/include" \
    > /tmp/device_session_cmake.log 2>&1 || { tail -30 /tmp/device_session_cmake.log; exit 1; }
  cmake --build build-cuda -j "$(nproc)" > /tmp/device_session_build.log 2>&1 ||
    { grep -E "error|Error" /tmp/device_session_build.log | head -30; exit 1; }
  echo "device_session: built in $(( $(date +%s) - start )) s"
fi
"$@"
