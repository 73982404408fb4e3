#pragma once
// The libdeflate objects and ISA-L's inflate state inside a CodecScratch (private to the codec).
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <array>
#include <memory>
#include <new>

#include "codec/scratch.hpp"

namespace imgflow {

struct CodecScratch::Deflaters {
  struct FreeDecompressor {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  struct FreeCompressor {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  std::unique_ptr<libdeflate_decompressor, FreeDecompressor> decompressor;
  std::array<std::unique_ptr<libdeflate_compressor, FreeCompressor>, 13> compressors;  ///< by level
  std::unique_ptr<inflate_state> isal_inflater;  ///< 87 KB, made on first use

  inflate_state& isal_state() {
    if (!isal_inflater) isal_inflater = std::make_unique<inflate_state>();
    return *isal_inflater;
  }

  libdeflate_decompressor* inflater() {
    if (!decompressor) decompressor.reset(libdeflate_alloc_decompressor());
    if (!decompressor) throw std::bad_alloc();
    return decompressor.get();
  }
  libdeflate_compressor* deflater(int level) {
    auto& compressor = compressors.at(static_cast<std::size_t>(level));
    if (!compressor) compressor.reset(libdeflate_alloc_compressor(level));
    if (!compressor) throw std::bad_alloc();
    return compressor.get();
  }
};

}  // namespace imgflow
