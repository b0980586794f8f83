#include "data/datasets/layout.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "engine/error.h"

namespace cuttle::data {

namespace fs = std::filesystem;

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// stem -> path of every image file directly in `dir` (hidden files skipped). Two files with one stem
// (a.jpg and a.png) are a problem the caller reports.
std::map<std::string, std::vector<std::string>> list_by_stem(const fs::path& dir) {
  std::map<std::string, std::vector<std::string>> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    const fs::path p = e.path();
    if (!e.is_regular_file() || p.filename().string().rfind('.', 0) == 0 || !is_image_file(p)) continue;
    out[p.stem().string()].push_back(p.string());
  }
  return out;
}

// `shared_masks`: the mask folder also serves other splits, so masks without an image are expected.
ScannedSet match(const std::string& name, Layout layout, const fs::path& images, const fs::path& masks,
                 const ScanOptions& opts, bool shared_masks = false) {
  const bool camouflaged_only = layout == Layout::cod10k && opts.cod10k_camouflaged_only;
  const bool have_masks = is_dir(masks);
  ScannedSet s{name, layout, images.string(), have_masks ? masks.string() : "", {}, 0, 0, {}};
  CUTTLE_CHECK(is_dir(images), name, ": image folder '", images.string(), "' does not exist");
  CUTTLE_CHECK(have_masks || opts.masks_optional, name, ": mask folder '", masks.string(), "' does not exist");
  auto imgs = list_by_stem(images);
  auto msks = have_masks ? list_by_stem(masks) : std::map<std::string, std::vector<std::string>>{};
  auto keep = [&](const std::string& stem) { return !camouflaged_only || stem.rfind("COD10K-CAM-", 0) == 0; };
  for (const auto& [stem, paths] : imgs) {
    if (!keep(stem)) continue;
    s.images_found += (int64_t)paths.size();
    if (paths.size() > 1) {
      s.problems.push_back("several images share the stem '" + stem + "' in " + images.string());
      continue;
    }
    auto m = msks.find(stem);
    if (m == msks.end()) {
      if (opts.masks_optional) s.pairs.push_back({stem, paths[0], ""});
      else s.problems.push_back("image without mask: " + paths[0]);
      continue;
    }
    if (m->second.size() > 1) {
      s.problems.push_back("several masks share the stem '" + stem + "' in " + masks.string());
      continue;
    }
    s.pairs.push_back({stem, paths[0], m->second[0]});
  }
  for (const auto& [stem, paths] : msks) {
    if (!keep(stem)) continue;
    if (shared_masks && !imgs.count(stem)) continue;
    s.masks_found += (int64_t)paths.size();
    if (!imgs.count(stem)) s.problems.push_back("mask without image: " + paths[0]);
  }
  return s;
}

// The first child of `dir` among `names` that exists, or an empty path.
fs::path first_existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (is_dir(dir / n)) return dir / n;
  return {};
}

}  // namespace

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::cod10k: return "COD10K-v3";
    case Layout::camo: return "CAMO";
    case Layout::nc4k: return "NC4K";
    case Layout::sinet_bundle: return "SINet-V2 bundle";
    case Layout::folder_pair: return "image/mask folders";
  }
  return "?";
}

std::vector<ScannedSet> scan_layout(const std::string& root_str, const ScanOptions& opts) {
  const fs::path root(root_str);
  CUTTLE_CHECK(is_dir(root), "dataset root '", root_str, "' is not a folder");
  CUTTLE_CHECK(opts.split == "train" || opts.split == "test", "dataset split must be 'train' or 'test', got '",
               opts.split, "'");
  const bool train = opts.split == "train";
  const std::string Split = train ? "Train" : "Test";
  const std::string base = root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();

  // COD10K-v3: Train|Test/{Image, GT_Object}
  if (is_dir(root / "Train" / "Image") || is_dir(root / "Test" / "Image")) {
    CUTTLE_CHECK(is_dir(root / Split / "Image"), "COD10K layout at '", root_str, "' has no ", Split, "/Image folder");
    return {match("COD10K-" + opts.split, Layout::cod10k, root / Split / "Image", root / Split / "GT_Object", opts)};
  }
  // CAMO: Images/Train|Test + GT/Train|Test, or a single GT folder.
  if (is_dir(root / "Images" / "Train") || is_dir(root / "Images" / "Test")) {
    CUTTLE_CHECK(is_dir(root / "Images" / Split), "CAMO layout at '", root_str, "' has no Images/", Split, " folder");
    const bool per_split = is_dir(root / "GT" / Split);
    return {match("CAMO-" + opts.split, Layout::camo, root / "Images" / Split, per_split ? root / "GT" / Split : root / "GT",
                  opts, !per_split)};
  }
  // SINet-V2 bundle: TrainValDataset/{Imgs,GT}, TestDataset/<name>/{Imgs,GT}
  if (is_dir(root / "TrainValDataset") || is_dir(root / "TestDataset")) {
    if (train) {
      CUTTLE_CHECK(is_dir(root / "TrainValDataset"), "SINet bundle at '", root_str, "' has no TrainValDataset");
      return {match("SINet/TrainValDataset", Layout::sinet_bundle, root / "TrainValDataset" / "Imgs",
                    root / "TrainValDataset" / "GT", opts)};
    }
    CUTTLE_CHECK(is_dir(root / "TestDataset"), "SINet bundle at '", root_str, "' has no TestDataset");
    std::vector<fs::path> subsets;
    for (const fs::directory_entry& e : fs::directory_iterator(root / "TestDataset"))
      if (e.is_directory() && is_dir(e.path() / "Imgs")) subsets.push_back(e.path());
    std::sort(subsets.begin(), subsets.end());
    CUTTLE_CHECK(!subsets.empty(), "SINet bundle at '", root_str, "': TestDataset holds no <name>/Imgs folder");
    std::vector<ScannedSet> out;
    for (const fs::path& d : subsets)
      out.push_back(match("SINet/" + d.filename().string(), Layout::sinet_bundle, d / "Imgs", d / "GT", opts));
    return out;
  }
  // NC4K (test only): Imgs + GT, or image + mask. Also any folder pair by these usual names.
  const fs::path images = first_existing(root, {"Imgs", "image", "Image", "images", "Images", "img", "imgs"});
  const fs::path masks = first_existing(root, {"GT", "mask", "masks", "GT_Object", "gt", "Masks"});
  if (!images.empty() && (!masks.empty() || opts.masks_optional)) {  // no mask folder: no metrics
    std::string upper = base;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return (char)std::toupper(c); });
    const bool nc4k = upper.find("NC4K") != std::string::npos;
    return {match(nc4k ? "NC4K" : base, nc4k ? Layout::nc4k : Layout::folder_pair, images, masks, opts)};
  }
  CUTTLE_FAIL("dataset root '", root_str, "': no known layout (COD10K-v3 Train|Test/Image + GT_Object; CAMO "
              "Images/Train|Test + GT; NC4K Imgs + GT; SINet-V2 TrainValDataset / TestDataset; or an image folder "
              "(Imgs, image, images) beside a mask folder (GT, mask, masks))");
}

}  // namespace cuttle::data
