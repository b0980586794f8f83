// The report's building blocks: base64 (RFC 4648 vectors), the SVG chart, and a whole report with an
// inline image that needs no other file.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/training/report_html.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;

TEST_SUITE("models") {

TEST_CASE("base64 matches the RFC 4648 test vectors") {
  auto enc = [](const std::string& s) { return models::base64_encode(std::vector<uint8_t>(s.begin(), s.end())); };
  CHECK(enc("") == "");
  CHECK(enc("f") == "Zg==");
  CHECK(enc("fo") == "Zm8=");
  CHECK(enc("foo") == "Zm9v");
  CHECK(enc("foob") == "Zm9vYg==");
  CHECK(enc("fooba") == "Zm9vYmE=");
  CHECK(enc("foobar") == "Zm9vYmFy");
}

TEST_CASE("report html is self-contained with curves usage and images") {
  models::ReportInputs in;
  in.title = "run <1>";
  for (int s = 1; s <= 5; ++s) in.history.push_back({{"kind", "step"}, {"step", s * 10}, {"loss", 2.0 / s}});
  in.history.push_back({{"kind", "validation"}, {"step", 50}, {"label", "final"},
                        {"metrics", {{"sm", 0.8}, {"mean_em", 0.85}, {"wfm", 0.7}, {"mae", 0.05}, {"iou", 0.6}, {"images", 3}}},
                        {"moe", {{{"scale", 0}, {"experts", {{{"name", "CODEdge"}, {"share", 0.5}, {"mean_weight", 0.6}, {"bias", 0.1}}}}}}}});
  models::ReportExample ex{"img1", Tensor::full({3, 8, 8}, 0.5f), Tensor::zeros({8, 8}, DType::u8), data::Image(8, 8, 1, 200)};
  in.examples.push_back(ex);
  const std::string path = (std::filesystem::temp_directory_path() / "cuttle_test_report.html").string();
  models::write_report_html(path, in);
  std::stringstream ss;
  ss << std::ifstream(path).rdbuf();
  const std::string html = ss.str();
  CHECK(html.find("run &lt;1&gt;") != std::string::npos);  // escaped
  CHECK(html.find("<polyline") != std::string::npos);
  CHECK(html.find("CODEdge") != std::string::npos);
  CHECK(html.find("0.8000") != std::string::npos);
  CHECK(html.find("data:image/png;base64,iVBORw0KGgo") != std::string::npos);  // a PNG signature
  CHECK(html.find("src=\"http") == std::string::npos);
}

}
