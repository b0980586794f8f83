// Float64 gradient checks of every expert layer w.r.t. its input and all trainable parameters
// (B=2, C=8, 8x8), in train mode and, for the experts with BatchNorm, in eval mode too.
#include "tests/layers/experts/expert_test_util.h"

using namespace cuttle::test;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck expert CODTexture train") { gradcheck_expert("CODTexture", true, 11); }
TEST_CASE("gradcheck expert CODTexture eval") { gradcheck_expert("CODTexture", false, 12); }
TEST_CASE("gradcheck expert CODFrequency train") { gradcheck_expert("CODFrequency", true, 13); }
TEST_CASE("gradcheck expert CODFrequency eval") { gradcheck_expert("CODFrequency", false, 14); }
TEST_CASE("gradcheck expert CODEdge train") { gradcheck_expert("CODEdge", true, 15); }
TEST_CASE("gradcheck expert CODEdge eval") { gradcheck_expert("CODEdge", false, 16); }
TEST_CASE("gradcheck expert ContrastEnhancement train") { gradcheck_expert("ContrastEnhancement", true, 17); }
TEST_CASE("gradcheck expert ContrastEnhancement eval") { gradcheck_expert("ContrastEnhancement", false, 18); }
TEST_CASE("gradcheck expert CODHybrid train") { gradcheck_expert("CODHybrid", true, 19); }
TEST_CASE("gradcheck expert CODHybrid eval") { gradcheck_expert("CODHybrid", false, 20); }
TEST_CASE("gradcheck expert Texture") { gradcheck_expert("Texture", true, 21); }
TEST_CASE("gradcheck expert Hybrid") { gradcheck_expert("Hybrid", true, 22); }
TEST_CASE("gradcheck expert Frequency") { gradcheck_expert("Frequency", true, 23); }
TEST_CASE("gradcheck expert Edge") { gradcheck_expert("Edge", true, 24); }
TEST_CASE("gradcheck expert SemanticContext") { gradcheck_expert("SemanticContext", true, 25); }
TEST_CASE("gradcheck expert Contrast") { gradcheck_expert("Contrast", true, 26); }
TEST_CASE("gradcheck expert ContrastBN train") { gradcheck_expert("ContrastBN", true, 27); }
TEST_CASE("gradcheck expert ContrastBN eval") { gradcheck_expert("ContrastBN", false, 28); }

}  // TEST_SUITE
