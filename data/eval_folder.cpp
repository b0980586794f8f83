#include "data/eval_folder.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>

#include "data/image_io.h"
#include "data/resize.h"
#include "engine/error.h"
#include "engine/parallel.h"

namespace cuttle::data {

namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// stem -> path of the image files in dir; problems appended to `errors`.
std::map<std::string, fs::path> list_images(const std::string& dir, const char* what, std::vector<std::string>& errors) {
  std::map<std::string, fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    errors.push_back(std::string(what) + " folder " + dir + ": not a directory or missing");
    return out;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || !is_image_file(e.path())) continue;
    const std::string stem = e.path().stem().string();
    auto [it, fresh] = out.emplace(stem, e.path());
    if (!fresh)
      errors.push_back(std::string(what) + " files " + it->second.filename().string() + " and " +
                       e.path().filename().string() + " share the stem " + stem);
  }
  if (ec) errors.push_back(std::string(what) + " folder " + dir + ": cannot list (" + ec.message() + ")");
  else if (out.empty()) errors.push_back(std::string(what) + " folder " + dir + ": no PNG or JPEG files");
  return out;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

[[noreturn]] void fail_with(const std::vector<std::string>& errors) {
  std::ostringstream os;
  os << "evaluate_folders: " << errors.size() << " problem" << (errors.size() == 1 ? "" : "s") << ":";
  for (const std::string& e : errors) os << "\n  " << e;
  throw Error(os.str());
}

}  // namespace

FolderEvalResult evaluate_folders(const std::string& pred_dir, const std::string& gt_dir,
                                  const FolderEvalOptions& options) {
  std::vector<std::string> errors;
  const auto masks = list_images(gt_dir, "mask", errors);
  const auto preds = list_images(pred_dir, "prediction", errors);
  if (!errors.empty()) fail_with(errors);  // a missing folder would make every file look unmatched
  std::vector<std::string> missing, unmatched;
  for (const auto& [stem, path] : masks)
    if (!preds.count(stem)) missing.push_back(path.filename().string());
  for (const auto& [stem, path] : preds)
    if (!masks.count(stem)) unmatched.push_back(path.filename().string());
  if (!missing.empty())
    errors.push_back(std::to_string(missing.size()) + " mask(s) without a prediction in " + pred_dir + ": " +
                     join_names(missing));
  if (!unmatched.empty())
    errors.push_back(std::to_string(unmatched.size()) + " prediction(s) without a mask in " + gt_dir + ": " +
                     join_names(unmatched));
  if (!errors.empty()) fail_with(errors);

  std::vector<std::pair<fs::path, fs::path>> pairs;  // (mask, prediction), sorted by stem
  FolderEvalResult result;
  for (const auto& [stem, path] : masks) {
    pairs.emplace_back(path, preds.at(stem));
    result.names.push_back(path.filename().string());
  }
  const int64_t n = (int64_t)pairs.size();
  result.per_image.resize((size_t)n);
  std::vector<std::string> image_errors((size_t)n);
  std::vector<uint8_t> was_resized((size_t)n, 0);
  int64_t done = 0;  // under progress_mutex
  std::mutex progress_mutex;
  // One image per task: each slot is written by one thread, so the result is thread-count independent.
  engine::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const auto& [mask_path, pred_path] = pairs[(size_t)i];
      try {
        const Image gt = read_image(mask_path.string(), ColorMode::grey);
        Image pred = read_image(pred_path.string(), ColorMode::grey);
        if (pred.height != gt.height || pred.width != gt.width) {
          CUTTLE_CHECK(options.resize_to_mask, pred_path.string(), ": prediction is ", pred.height, "x", pred.width,
                       " but its mask is ", gt.height, "x", gt.width);
          pred = resize_bilinear(pred, gt.height, gt.width);
          was_resized[(size_t)i] = 1;
        }
        result.per_image[(size_t)i] = metrics::evaluate_image(pred, gt);
      } catch (const std::exception& ex) {
        image_errors[(size_t)i] = ex.what();
      }
      if (options.progress) {  // counted under the lock, so the calls arrive in order
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.progress(++done, n);
      }
    }
  });
  for (const std::string& e : image_errors)
    if (!e.empty()) errors.push_back(e);
  if (!errors.empty()) fail_with(errors);

  metrics::MetricsAccumulator acc;
  for (const metrics::ImageMetrics& m : result.per_image) acc.add(m);
  result.dataset = acc.result();
  for (uint8_t r : was_resized) result.resized += r;
  return result;
}

std::string format_metrics_table(const metrics::DatasetMetrics& d) {
  char buf[1024];
  std::string s;
  std::snprintf(buf, sizeof buf, "images: %lld\n", (long long)d.images);
  s += buf;
  std::snprintf(buf, sizeof buf, "%-8s %-8s %-8s %-8s\n%-8.4f %-8.4f %-8.4f %-8.4f\n\n", "S", "meanE", "wF", "MAE",
                d.sm, d.mean_em, d.wfm, d.mae);
  s += buf;
  std::snprintf(buf, sizeof buf, "%-6s %-8s %-8s %-8s %-8s\n", "", "adaptive", "mean", "max", "binary");
  s += buf;
  auto row = [&](const char* name, double adp, double mean, double max, const char* bin) {
    std::snprintf(buf, sizeof buf, "%-6s %-8.4f %-8.4f %-8.4f %s\n", name, adp, mean, max, bin);
    s += buf;
  };
  char bin_iou[32], bin_dice[32];
  std::snprintf(bin_iou, sizeof bin_iou, "%.4f", d.bin_iou);
  std::snprintf(bin_dice, sizeof bin_dice, "%.4f", d.bin_dice);
  row("E", d.adp_em, d.mean_em, d.max_em, "-");
  row("F", d.adp_fm, d.mean_fm, d.max_fm, "-");
  row("IoU", d.adp_iou, d.mean_iou, d.max_iou, bin_iou);
  row("Dice", d.adp_dice, d.mean_dice, d.max_dice, bin_dice);
  return s;
}

std::string format_dataset_rows(const std::vector<std::pair<std::string, metrics::DatasetMetrics>>& rows) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-20s %7s %7s %7s %7s %7s %7s %7s\n", "dataset", "images", "S", "meanE", "maxE", "wF",
                "MAE", "IoU");
  std::string s = buf;
  for (const auto& [name, d] : rows) {
    std::snprintf(buf, sizeof buf, "%-20s %7lld %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f\n", name.c_str(), (long long)d.images,
                  d.sm, d.mean_em, d.max_em, d.wfm, d.mae, d.bin_iou);
    s += buf;
  }
  return s;
}

nlohmann::json dataset_rows_json(const std::vector<std::pair<std::string, metrics::DatasetMetrics>>& rows) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, m] : rows) j[name] = metrics::to_json(m);
  return j;
}

}  // namespace cuttle::data
