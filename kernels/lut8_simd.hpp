#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace imgflow {

/// The instruction sets the 8-bit table lookup can use. All give identical results.
enum class LutPath { scalar, avx2, avx512vbmi };

std::string_view lut_path_name(LutPath path);
bool lut_path_supported(LutPath path);  ///< by this CPU, asked at run time
LutPath best_lut_path();                ///< the fastest supported path (decided once)

/// out[i] = table[in[i]] for the longest prefix of the n samples that fills whole vectors
/// (32 samples for AVX2, 64 for AVX-512; none on the scalar path), starting at a pixel boundary;
/// with 2 or 4 channels the last (alpha) is copied instead. in == out is allowed. Returns how
/// many samples it did: the caller finishes the row (apply_table does).
std::size_t lut8_vectors(LutPath path, const std::uint8_t* in, std::uint8_t* out, std::size_t n,
                         int channels, const std::uint8_t* table);

}  // namespace imgflow
