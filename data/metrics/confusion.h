// Defines Counts (true/false positives of a binarised prediction against G) and the binarisations
// the metrics use: the adaptive threshold, a fixed threshold, and the 256-threshold sweep built from
// histograms of the 8-bit map.
#pragma once
#include <array>

#include "data/metrics/prepare.h"

namespace cuttle::data::metrics {

// Counts as doubles (exact: they are integers below 2^53) so that the formulas stay in double.
struct Counts {
  double tp = 0, fp = 0;  // predicted foreground on G / off G
  double fg = 0, n = 0;   // |G| and the number of pixels
  double fn() const { return fg - tp; }
  double tn() const { return n - fg - fp; }
};

// min(2 * mean(P), 1), the adaptive threshold of F, E, IoU and Dice.
double adaptive_threshold(const PreparedImage& im);
// Counts of the map P >= t (strict = false) or P > t (strict = true).
Counts counts_at(const PreparedImage& im, double t, bool strict = false);
// Counts of sweep >= 255 - i for i = 0..255 (curve order), from the two 256-bin histograms.
std::array<Counts, kThresholds> sweep_counts(const PreparedImage& im);

}  // namespace cuttle::data::metrics
