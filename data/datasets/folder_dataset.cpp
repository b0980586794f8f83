#include "data/datasets/folder_dataset.h"

#include <stb/stb_image.h>

#include <sstream>

#include "data/image_io.h"
#include "engine/ops/elementwise.h"
#include "engine/parallel.h"

namespace cuttle::data {

namespace {

// Header check of one pair, then a full decode where asked; empty when fine.
std::string check_pair(const PairPath& p, bool decode) {
  int iw, ih, ic, mw, mh, mc;
  if (!stbi_info(p.image.c_str(), &iw, &ih, &ic)) return "unreadable image: " + p.image + " (" + stbi_failure_reason() + ")";
  if (!stbi_info(p.mask.c_str(), &mw, &mh, &mc)) return "unreadable mask: " + p.mask + " (" + stbi_failure_reason() + ")";
  if (iw != mw || ih != mh) {
    std::ostringstream os;
    os << "size mismatch: image " << iw << "x" << ih << " " << p.image << " vs mask " << mw << "x" << mh << " " << p.mask;
    return os.str();
  }
  if (decode) {
    try {
      read_pair(p);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  return {};
}

}  // namespace

Sample read_pair(const PairPath& p) {
  engine::Tensor img = read_image_rgb01(p.image);
  engine::Tensor mask = read_image_tensor(p.mask, ColorMode::grey);
  CUTTLE_CHECK(img.size(1) == mask.size(1) && img.size(2) == mask.size(2), "size mismatch: image ", p.image, " is ",
               img.size(2), "x", img.size(1), " but mask ", p.mask, " is ", mask.size(2), "x", mask.size(1));
  Sample s;
  s.name = p.stem;
  s.image = img;
  s.mask = engine::binary_scalar(
               engine::BinaryOp::mul,
               engine::compare_scalar(engine::CompareOp::gt, mask.select(0, 0), 128.0).to(engine::DType::u8), 255.0);
  return s;
}

FolderDataset::FolderDataset(const std::vector<std::string>& roots, const FolderDatasetOptions& opts) {
  CUTTLE_CHECK(!roots.empty(), "FolderDataset: no dataset root given");
  CUTTLE_CHECK(!opts.scan.masks_optional, "FolderDataset: every sample needs its mask (masks_optional is for inference)");
  std::vector<std::string> problems;
  for (const std::string& root : roots)
    for (ScannedSet& s : scan_layout(root, opts.scan)) {
      if (opts.check_files) {
        std::vector<std::string> found(s.pairs.size());
        engine::parallel_for(0, (int64_t)s.pairs.size(), 16, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) found[i] = check_pair(s.pairs[i], opts.decode_files);
        });
        std::vector<PairPath> good;
        for (size_t i = 0; i < s.pairs.size(); ++i) {
          if (found[i].empty()) good.push_back(s.pairs[i]);
          else s.problems.push_back(found[i]);
        }
        s.pairs = std::move(good);
      }
      for (const std::string& p : s.problems) problems.push_back(s.name + ": " + p);
      pairs_.insert(pairs_.end(), s.pairs.begin(), s.pairs.end());
      name_ += (name_.empty() ? "" : "+") + s.name;
      sets_.push_back(std::move(s));
    }
  if (!problems.empty() && opts.on_problem == ProblemPolicy::fail) {
    std::ostringstream os;
    // The programs offer no skip policy: say what the user can do.
    os << problems.size() << " problem(s) in the dataset; fix or remove these files:";
    for (size_t i = 0; i < problems.size() && i < 50; ++i) os << "\n  " << problems[i];
    if (problems.size() > 50) os << "\n  ... and " << problems.size() - 50 << " more";
    CUTTLE_FAIL(os.str());
  }
  CUTTLE_CHECK(!pairs_.empty(), "dataset ", name_, ": no usable image/mask pairs");
}

Sample FolderDataset::get(int64_t index) const {
  CUTTLE_CHECK(index >= 0 && index < size(), name_, ": index ", index, " out of range [0, ", size(), ")");
  return read_pair(pairs_[(size_t)index]);
}

std::string FolderDataset::report() const {
  std::ostringstream os;
  for (const ScannedSet& s : sets_) {
    os << s.name << " (" << layout_name(s.layout) << "): " << s.pairs.size() << " pairs from " << s.images_found
       << " images in " << s.image_dir << " and " << s.masks_found << " masks in " << s.mask_dir << "\n";
    for (const std::string& p : s.problems) os << "  skipped: " << p << "\n";
  }
  return os.str();
}

}  // namespace cuttle::data
