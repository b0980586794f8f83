#include "models/training/report_html.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "data/image_io.h"
#include "engine/io/atomic_file.h"

namespace cuttle::models {

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v, const char* f = "%.4g") {
  char buf[48];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string png_img(const data::Image& img, int display_height) {
  return "<img height=\"" + std::to_string(display_height) + "\" src=\"data:image/png;base64," +
         base64_encode(data::encode_png(img)) + "\">";
}

data::Image rgb_image(const engine::Tensor& t) {
  const engine::Tensor c = t.to(engine::Device::cpu()).contiguous();
  const int64_t h = c.size(1), w = c.size(2);
  data::Image img(h, w, 3);
  const float* p = c.data<float>();
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t i = 0; i < h * w; ++i)
      img.pixels[(size_t)(i * 3 + ch)] = (uint8_t)std::lround(255.0 * std::clamp(p[ch * h * w + i], 0.0f, 1.0f));
  return img;
}

}  // namespace

std::string base64_encode(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0, b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? table[v & 63] : '=';
  }
  return out;
}

std::string svg_line_chart(const std::string& title, const std::vector<ChartSeries>& series, int width, int height) {
  const double left = 56, right = 120, top = 28, bottom = 34;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\" style=\"font:12px sans-serif\">";
  svg += "<text x=\"" + num(left) + "\" y=\"16\" font-weight=\"bold\">" + html_escape(title) + "</text>";
  if (!std::isfinite(x0)) return svg + "<text x=\"60\" y=\"60\">no data yet</text></svg>";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1e-6, y0 -= 1e-6;
  const double pw = width - left - right, ph = height - top - bottom;
  auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * ph; };
  svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
         "\" fill=\"none\" stroke=\"#999\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double y = y0 + (y1 - y0) * i / 4;
    svg += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(Y(y)) + "\" y2=\"" + num(Y(y)) +
           "\" stroke=\"#eee\"/><text x=\"" + num(left - 4) + "\" y=\"" + num(Y(y) + 4) +
           "\" text-anchor=\"end\">" + num(y, "%.3g") + "</text>";
    const double x = x0 + (x1 - x0) * i / 4;
    svg += "<text x=\"" + num(X(x)) + "\" y=\"" + num(top + ph + 16) + "\" text-anchor=\"middle\">" + num(x, "%.0f") +
           "</text>";
  }
  svg += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(height - 2) + "\" text-anchor=\"middle\">step</text>";
  int legend = 0;
  for (const auto& s : series) {
    std::string pts;
    for (auto [x, y] : s.points)
      if (std::isfinite(y)) pts += num(X(x), "%.1f") + "," + num(Y(y), "%.1f") + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"1.5\" points=\"" + pts + "\"/>";
    if (s.points.size() == 1)
      svg += "<circle cx=\"" + num(X(s.points[0].first)) + "\" cy=\"" + num(Y(s.points[0].second)) + "\" r=\"3\" fill=\"" +
             s.color + "\"/>";
    const double ly = top + 14 + 16 * legend++;
    svg += "<line x1=\"" + num(left + pw + 10) + "\" x2=\"" + num(left + pw + 26) + "\" y1=\"" + num(ly - 4) +
           "\" y2=\"" + num(ly - 4) + "\" stroke=\"" + s.color + "\" stroke-width=\"2\"/><text x=\"" +
           num(left + pw + 30) + "\" y=\"" + num(ly) + "\">" + html_escape(s.name) + "</text>";
  }
  return svg + "</svg>";
}

void write_report_html(const std::string& path, const ReportInputs& in) {
  ChartSeries loss{"total loss", "#1f77b4", {}};
  std::vector<ChartSeries> metrics = {{"S-measure", "#d62728", {}}, {"mean E", "#2ca02c", {}},
                                      {"weighted F", "#9467bd", {}}, {"IoU", "#ff7f0e", {}}, {"MAE", "#7f7f7f", {}}};
  const nlohmann::json* last_val = nullptr;
  for (const nlohmann::json& e : in.history) {
    const std::string kind = e.value("kind", "");
    const double step = e.value("step", 0.0);
    if (kind == "step") loss.points.emplace_back(step, e.value("loss", NAN));
    if (kind == "validation") {
      const auto& m = e["metrics"];
      const char* keys[] = {"sm", "mean_em", "wfm", "iou", "mae"};
      for (size_t i = 0; i < 5; ++i) metrics[i].points.emplace_back(step, m.value(keys[i], NAN));
      last_val = &e;
    }
  }
  std::string h = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html_escape(in.title) +
                  "</title><style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;"
                  "margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}"
                  ".grid td{text-align:center;font-size:11px}</style></head><body>";
  h += "<h1>" + html_escape(in.title) + "</h1>";
  h += std::string("<p>") + (in.final_report ? "Final report." : "Report of a run in progress.") + "</p>";
  if (last_val) {
    const auto& m = (*last_val)["metrics"];
    h += "<h2>Validation (" + html_escape(last_val->value("label", "")) + ", step " +
         std::to_string(last_val->value("step", 0)) + ")</h2><table><tr><th>S-measure</th><th>mean E</th>"
         "<th>weighted F</th><th>MAE</th><th>IoU</th><th>images</th></tr><tr>";
    for (const char* k : {"sm", "mean_em", "wfm", "mae", "iou"}) h += "<td>" + num(m.value(k, NAN), "%.4f") + "</td>";
    h += "<td>" + std::to_string(m.value("images", 0)) + "</td></tr></table>";
  }
  h += "<h2>Curves</h2>" + svg_line_chart("training loss", {loss}) + "<br>" +
       svg_line_chart("validation metrics", metrics);
  if (last_val && last_val->contains("moe")) {
    h += "<h2>Expert usage per scale</h2><p>share of selections / mean weight when chosen / balancing bias, "
         "on the last validation</p><table><tr><th>expert</th>";
    const auto& usage = (*last_val)["moe"];
    for (const auto& s : usage) h += "<th>scale " + std::to_string(s["scale"].get<int64_t>()) + "</th>";
    h += "</tr>";
    const size_t n = usage.empty() ? 0 : usage[0]["experts"].size();
    for (size_t e = 0; e < n; ++e) {
      h += "<tr><td style=\"text-align:left\">" + html_escape(usage[0]["experts"][e].value("name", "")) + "</td>";
      for (const auto& s : usage) {
        const auto& x = s["experts"][e];
        h += "<td>" + num(100 * x.value("share", 0.0), "%.1f") + "% / " + num(x.value("mean_weight", 0.0), "%.3f") +
             " / " + num(x.value("bias", 0.0), "%+.3f") + "</td>";
      }
      h += "</tr>";
    }
    h += "</table>";
  }
  if (!in.examples.empty()) {
    h += "<h2>Validation images</h2><table class=\"grid\"><tr><th>image</th><th>ground truth</th><th>prediction</th></tr>";
    for (const ReportExample& ex : in.examples) {
      const int dh = 160;
      h += "<tr><td>" + png_img(rgb_image(ex.image), dh) + "<br>" + html_escape(ex.name) + "</td><td>" +
           png_img(data::tensor_to_image(ex.mask), dh) + "</td><td>" + png_img(ex.prediction, dh) + "</td></tr>";
    }
    h += "</table>";
  }
  h += "<h2>Config</h2><pre>" + html_escape(in.config.dump(2)) + "</pre></body></html>\n";
  engine::write_file_atomic(path, h);
}

}  // namespace cuttle::models
