#include "codec/scratch.hpp"

#include "codec/scratch_deflaters.hpp"

namespace imgflow {

CodecScratch::CodecScratch() : deflaters(std::make_unique<Deflaters>()) {}
CodecScratch::~CodecScratch() = default;

}  // namespace imgflow
