// Tests of env_switch_on and env_opt_in: an on-by-default switch is on unless its variable is 0, an
// opt-in one on only when it is 1.
#include <cstdlib>

#include "engine/env_switch.h"
#include "tests/test_util.h"

TEST_SUITE("engine") {

TEST_CASE("env_switch_on is on unless the variable is 0") {
  const char* name = "CUTTLE_TEST_ENV_SWITCH";
  unsetenv(name);
  CHECK(cuttle::engine::env_switch_on(name));
  for (const char* on : {"1", "", "00", "off"}) {
    setenv(name, on, 1);
    CHECK(cuttle::engine::env_switch_on(name));
  }
  setenv(name, "0", 1);
  CHECK_FALSE(cuttle::engine::env_switch_on(name));
  unsetenv(name);
}

TEST_CASE("env_opt_in is on only when the variable is 1") {
  const char* name = "CUTTLE_TEST_ENV_OPT_IN";
  unsetenv(name);
  CHECK_FALSE(cuttle::engine::env_opt_in(name));
  for (const char* off : {"0", "", "01", "on", "true"}) {
    setenv(name, off, 1);
    CHECK_FALSE(cuttle::engine::env_opt_in(name));
  }
  setenv(name, "1", 1);
  CHECK(cuttle::engine::env_opt_in(name));
  unsetenv(name);
}

}  // TEST_SUITE
