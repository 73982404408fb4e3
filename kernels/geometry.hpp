#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/image_view.hpp"

namespace imgflow {

/// What find_skew makes of a page: the angle of its text lines in degrees (positive: the
/// lines rise to the right, the page turned counter-clockwise), and how sure it is: the best
/// score of the sweep over the median score (1 on a blank page; text pages score several).
struct SkewEstimate {
  double degrees = 0;
  double confidence = 0;
};

/// Estimates the skew of the ink (pixels with value < `ink_below`) of one 8-bit gray channel
/// by projection profiles, as Leptonica's pixFindSkewSweepAndSearch: a sweep over
/// [-max_degrees, max_degrees] in steps of 0.25 degrees at an eighth of the resolution, then a
/// halving search at full resolution down to 0.01 degrees around the best angle. The score of an angle is the
/// sum of squared differences of neighbouring row counts after shearing the page by it.
/// `scratch` keeps its buffers between calls.
SkewEstimate find_skew(ImageView<const std::uint8_t> gray, int ink_below, double max_degrees,
                       std::vector<std::int32_t>& scratch);

/// Turns an image by `degrees` counter-clockwise (as seen) about its centre, same size, by
/// bilinear interpolation (positions in 1/65536 of a pixel, weights in 1/256) rounded to nearest; what comes in from beyond the edges is `fill`
/// in every channel (the caller passes white, and full opacity for alpha).
void rotate_bilinear(ImageView<const std::uint8_t> src, double degrees, std::uint8_t fill, ImageView<std::uint8_t> dst);
void rotate_bilinear(ImageView<const std::uint16_t> src, double degrees, std::uint16_t fill,
                     ImageView<std::uint16_t> dst);

/// Resamples to dst's size by area averaging: each output pixel is the mean of the input area
/// it covers (partly covered pixels weighted by the part), rounded to nearest.
void resize_area(ImageView<const std::uint8_t> src, ImageView<std::uint8_t> dst, std::vector<double>& scratch);
void resize_area(ImageView<const std::uint16_t> src, ImageView<std::uint16_t> dst, std::vector<double>& scratch);

}  // namespace imgflow
