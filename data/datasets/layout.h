// Declares dataset layout detection: which of the field's standard folder structures a root holds
// (COD10K-v3, CAMO, NC4K, the SINet-V2 bundle, or a plain image/mask folder pair), and the image-mask
// pairs of one split matched by file stem.
#pragma once
#include <string>
#include <vector>

namespace cuttle::data {

enum class Layout { cod10k, camo, nc4k, sinet_bundle, folder_pair };
const char* layout_name(Layout l);

struct PairPath {
  std::string stem, image, mask;  // mask empty only under ScanOptions::masks_optional
};

// One scanned image source: a named set of pairs plus what the scan found wrong.
struct ScannedSet {
  std::string name;              // e.g. "COD10K-train", "CAMO-test", "NC4K", "SINet/CHAMELEON"
  Layout layout;
  std::string image_dir, mask_dir;
  std::vector<PairPath> pairs;   // matched by stem, sorted by stem
  int64_t images_found = 0, masks_found = 0;
  std::vector<std::string> problems;  // images without masks, masks without images, ...
};

struct ScanOptions {
  std::string split = "train";        // "train" or "test"
  bool cod10k_camouflaged_only = false;  // keep only COD10K-CAM-* images (the usual benchmark subset)
  // Inference: a missing mask folder or an image without a mask is no problem; such a pair has an
  // empty `mask`, and a layout is recognised by its image folder alone.
  bool masks_optional = false;
};

// Detects the layout of `root` and returns its sets for the split (the SINet bundle's test split has
// one set per dataset). Throws naming the root when no layout matches or the split does not exist.
std::vector<ScannedSet> scan_layout(const std::string& root, const ScanOptions& opts);

}  // namespace cuttle::data
