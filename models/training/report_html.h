// Declares the run report: one self-contained HTML file (no external files or scripts) with the loss
// and validation-metric curves as inline SVG, the final metrics, the per-scale expert-usage table and
// a grid of validation images with their ground truth and prediction (inline PNGs).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "engine/tensor.h"

namespace cuttle::models {

struct ReportExample {
  std::string name;
  engine::Tensor image;  // f32 [3, H, W] in [0, 1]
  engine::Tensor mask;   // u8 [H, W]
  data::Image prediction;  // 8-bit, the mask's size
};

struct ReportInputs {
  std::string title;
  std::vector<nlohmann::json> history;  // log entries: {"kind": "step" | "validation", ...}
  nlohmann::json config;
  std::vector<ReportExample> examples;
  bool final_report = false;
};

void write_report_html(const std::string& path, const ReportInputs& in);

// Small building blocks, exposed for tests.
std::string base64_encode(const std::vector<uint8_t>& bytes);
struct ChartSeries {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (x, y)
};
std::string svg_line_chart(const std::string& title, const std::vector<ChartSeries>& series, int width = 560,
                           int height = 260);

}  // namespace cuttle::models
