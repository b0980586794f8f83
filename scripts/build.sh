#!/usr/bin/env bash
# Configures and builds cuttle into build/ (executables in build/bin/).
# CUTTLE_CUDA=AUTO|ON|OFF (default AUTO) chooses the backend; extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUTTLE_CUDA="${CUTTLE_CUDA:-AUTO}" "$@"
cmake --build build -j "$(nproc)"
