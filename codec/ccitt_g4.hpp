#pragma once
// CCITT Group 4 (ITU-T T.6) coding of bilevel pages, with the cheapest choice of modes for each
// line. No threads, no flags, no logging: pixels in, bytes out.
//
// T.6 codes a line against the line above it by a sequence of modes (pass, horizontal, vertical)
// that the decoder simply follows. The standard's procedure picks the modes greedily (vertical
// whenever the edge moved by at most 3 pixels, pass when the line above ends a run first) and is
// what libtiff and every other coder does; it is one valid sequence among many. This coder finds,
// for each line, the sequence with the fewest bits (a shortest path over the line's edges), so a
// text page codes a few percent smaller than libtiff's, and decodes to the same pixels in any T.6
// decoder (the modes are the standard's, only the choice among them differs).
#include <cstddef>
#include <cstdint>

#include "codec/image.hpp"

namespace imgflow {

/// Appends the T.6 coding of `height` rows of `width` bilevel pixels to `out`, ended by EOFB, bits
/// filled from the most significant (TIFF FillOrder 1, PDF's CCITTFaxDecode with K -1). `rows`
/// holds each row packed MSB first, `row_bytes` apart, a 1 bit white and 0 black (as a 1-bit PNG
/// or `Image` holds it); bits past `width` are ignored. The first row is coded against a white
/// line, as each TIFF strip and PDF image starts.
void encode_g4(const std::uint8_t* rows, std::size_t row_bytes, int width, int height, Bytes& out);

/// The same, of a bilevel `Image` (bit_depth 1, one channel): the whole page.
void encode_g4(const Image& image, Bytes& out);

}  // namespace imgflow
