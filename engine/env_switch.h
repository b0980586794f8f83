// Declares the reading of cuttle's benchmarking switches: environment variables that turn an
// on-by-default implementation choice off when set to 0, so both forms can be compared in one session.
#pragma once

namespace cuttle::engine {

// True unless the environment variable `name` is set to "0". Read at each call: callers keep the
// answer (a function-local static) where the switch sits on a hot path.
bool env_switch_on(const char* name);

}  // namespace cuttle::engine
