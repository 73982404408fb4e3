#pragma once
// Working memory the codecs reuse from one image to the next. The caller owns it and hands it
// in: the codec keeps nothing per thread and schedules nothing, so how many exist and who uses
// which is the caller's to say (one decode or encode at a time per scratch).
#include <memory>
#include <vector>

#include "codec/bytes.hpp"
#include "codec/row_deflate.hpp"

namespace imgflow {

struct CodecScratch {
  CodecScratch();
  ~CodecScratch();
  CodecScratch(const CodecScratch&) = delete;
  CodecScratch& operator=(const CodecScratch&) = delete;

  Bytes filtered;          ///< PNG rows with their filter bytes (inflated, or about to be deflated)
  Bytes gathered;          ///< the image data of a PNG split over several IDAT chunks
  Bytes rows, candidate;   ///< the encoder's big-endian copies of 16-bit rows; a trial filter
  Bytes sample, sample_deflated;  ///< the encoder's trial bands for its filter choice
  std::vector<Bytes> band_levels;  ///< ISA-L's working memory, one per worker deflating bands
  std::vector<RowDeflateScratch> band_rows;  ///< row_deflate's, one per worker deflating bands
  std::vector<Bytes> band_outputs;  ///< each band's deflated bytes

  /// libdeflate's (de)compressor objects, made on first use.
  struct Deflaters;
  std::unique_ptr<Deflaters> deflaters;
};

}  // namespace imgflow
