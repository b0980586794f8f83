// Tests of env_switch_on: an on-by-default switch is on unless its variable is 0.
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

}  // TEST_SUITE
