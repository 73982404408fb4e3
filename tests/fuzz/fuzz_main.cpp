// libFuzzer entry point for the decoders (built by scripts/fuzz with clang).
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string difference = imgflow::fuzz::check_decoders({data, size});
  if (!difference.empty()) {
    std::fprintf(stderr, "imgflow fuzz: %s\n", difference.c_str());
    std::abort();
  }
  return 0;
}
