// Declares FolderDataset: image/mask pairs read from one or more dataset roots on disk (layouts
// detected), checked at construction so every problem is reported at once, by file name.
#pragma once
#include <string>
#include <vector>

#include "data/datasets/layout.h"
#include "data/sample.h"

namespace cuttle::data {

enum class ProblemPolicy { fail, skip };

struct FolderDatasetOptions {
  ScanOptions scan;
  ProblemPolicy on_problem = ProblemPolicy::fail;
  bool check_files = true;  // read every header: unreadable files and image/mask size mismatches
  // Also decode every image and mask once (with check_files): finds damage a header hides, such as a
  // truncated download, before training starts instead of when the file's batch comes.
  bool decode_files = false;
};

class FolderDataset : public Dataset {
 public:
  // Several roots are combined (e.g. COD10K and CAMO for training). With ProblemPolicy::fail a single
  // error lists every problem found; with skip the faulty pairs are left out and listed in report().
  FolderDataset(const std::vector<std::string>& roots, const FolderDatasetOptions& opts = {});
  int64_t size() const override { return (int64_t)pairs_.size(); }
  Sample get(int64_t index) const override;
  std::string name() const override { return name_; }
  const std::vector<ScannedSet>& sets() const { return sets_; }
  const std::vector<PairPath>& pairs() const { return pairs_; }
  // What was found: per set its layout, folders, counts, and the problems (skipped pairs).
  std::string report() const;

 private:
  std::vector<ScannedSet> sets_;
  std::vector<PairPath> pairs_;
  std::string name_;
};

// Reads one pair: the image as f32 [3,H,W] in [0,1], the mask binarised at > 128 as u8 0/255.
// Throws naming the files when they cannot be read or their sizes differ.
Sample read_pair(const PairPath& p);

}  // namespace cuttle::data
