#include "codec/ccitt_g4.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <vector>

namespace imgflow {
namespace {

// A code of T.4's tables, written as its bits.
struct Code {
  std::uint16_t bits = 0;
  std::uint8_t length = 0;
};
constexpr Code code(const char* text) {
  Code c;
  for (; *text; ++text, ++c.length) c.bits = static_cast<std::uint16_t>(c.bits << 1 | (*text == '1'));
  return c;
}

// T.4 table 2: the terminating codes of white and black runs of 0-63 pixels.
constexpr std::array<Code, 64> kWhiteTerminating = {
    code("00110101"), code("000111"),   code("0111"),     code("1000"),     code("1011"),     code("1100"),
    code("1110"),     code("1111"),     code("10011"),    code("10100"),    code("00111"),    code("01000"),
    code("001000"),   code("000011"),   code("110100"),   code("110101"),   code("101010"),   code("101011"),
    code("0100111"),  code("0001100"),  code("0001000"),  code("0010111"),  code("0000011"),  code("0000100"),
    code("0101000"),  code("0101011"),  code("0010011"),  code("0100100"),  code("0011000"),  code("00000010"),
    code("00000011"), code("00011010"), code("00011011"), code("00010010"), code("00010011"), code("00010100"),
    code("00010101"), code("00010110"), code("00010111"), code("00101000"), code("00101001"), code("00101010"),
    code("00101011"), code("00101100"), code("00101101"), code("00000100"), code("00000101"), code("00001010"),
    code("00001011"), code("01010010"), code("01010011"), code("01010100"), code("01010101"), code("00100100"),
    code("00100101"), code("01011000"), code("01011001"), code("01011010"), code("01011011"), code("01001010"),
    code("01001011"), code("00110010"), code("00110011"), code("00110100")};
constexpr std::array<Code, 64> kBlackTerminating = {
    code("0000110111"),   code("010"),          code("11"),           code("10"),           code("011"),
    code("0011"),         code("0010"),         code("00011"),        code("000101"),       code("000100"),
    code("0000100"),      code("0000101"),      code("0000111"),      code("00000100"),     code("00000111"),
    code("000011000"),    code("0000010111"),   code("0000011000"),   code("0000001000"),   code("00001100111"),
    code("00001101000"),  code("00001101100"),  code("00000110111"),  code("00000101000"),  code("00000010111"),
    code("00000011000"),  code("000011001010"), code("000011001011"), code("000011001100"), code("000011001101"),
    code("000001101000"), code("000001101001"), code("000001101010"), code("000001101011"), code("000011010010"),
    code("000011010011"), code("000011010100"), code("000011010101"), code("000011010110"), code("000011010111"),
    code("000001101100"), code("000001101101"), code("000011011010"), code("000011011011"), code("000001010100"),
    code("000001010101"), code("000001010110"), code("000001010111"), code("000001100100"), code("000001100101"),
    code("000001010010"), code("000001010011"), code("000000100100"), code("000000110111"), code("000000111000"),
    code("000000100111"), code("000000101000"), code("000001011000"), code("000001011001"), code("000000101011"),
    code("000000101100"), code("000001011010"), code("000001100110"), code("000001100111")};
// T.4 table 3: make-up codes of 64-1728 pixels (index run / 64 - 1), then those both colours
// share for 1792-2560.
constexpr std::array<Code, 27> kWhiteMakeUp = {
    code("11011"),     code("10010"),     code("010111"),    code("0110111"),   code("00110110"),  code("00110111"),
    code("01100100"),  code("01100101"),  code("01101000"),  code("01100111"),  code("011001100"), code("011001101"),
    code("011010010"), code("011010011"), code("011010100"), code("011010101"), code("011010110"), code("011010111"),
    code("011011000"), code("011011001"), code("011011010"), code("011011011"), code("010011000"), code("010011001"),
    code("010011010"), code("011000"),    code("010011011")};
constexpr std::array<Code, 27> kBlackMakeUp = {
    code("0000001111"),    code("000011001000"),  code("000011001001"),  code("000001011011"),  code("000000110011"),
    code("000000110100"),  code("000000110101"),  code("0000001101100"), code("0000001101101"), code("0000001001010"),
    code("0000001001011"), code("0000001001100"), code("0000001001101"), code("0000001110010"), code("0000001110011"),
    code("0000001110100"), code("0000001110101"), code("0000001110110"), code("0000001110111"), code("0000001010010"),
    code("0000001010011"), code("0000001010100"), code("0000001010101"), code("0000001011010"), code("0000001011011"),
    code("0000001100100"), code("0000001100101")};
constexpr std::array<Code, 13> kSharedMakeUp = {
    code("00000001000"),  code("00000001100"),  code("00000001101"),  code("000000010010"), code("000000010011"),
    code("000000010100"), code("000000010101"), code("000000010110"), code("000000010111"), code("000000011100"),
    code("000000011101"), code("000000011110"), code("000000011111")};
constexpr int kLongestMakeUp = 2560;

// T.6 table 1: the modes. Vertical codes by a1 - b1 (-3..3).
constexpr Code kPass = code("0001");
constexpr Code kHorizontal = code("001");
constexpr std::array<Code, 7> kVertical = {code("0000010"), code("000010"), code("010"),    code("1"),
                                           code("011"),     code("000011"), code("0000011")};
constexpr Code kEndOfLine = code("000000000001");  // twice: EOFB

// The codes of a run of `run` pixels: make-up codes, then a terminating one. Calls put(code).
template <typename Put>
void run_codes(int run, bool black, Put&& put) {
  for (; run >= kLongestMakeUp; run -= kLongestMakeUp) put(kSharedMakeUp.back());
  if (run >= 64) {
    const int units = run / 64;
    put(units <= 27 ? (black ? kBlackMakeUp : kWhiteMakeUp)[units - 1] : kSharedMakeUp[units - 28]);
    run -= units * 64;
  }
  put((black ? kBlackTerminating : kWhiteTerminating)[run]);
}
// The bits of a run's codes: a table up to the longest make-up code, 12 bits for each of those.
struct RunBits {
  std::array<std::array<std::uint8_t, kLongestMakeUp>, 2> table{};  // [black][run]
  RunBits() {
    for (int colour = 0; colour < 2; ++colour)
      for (int run = 0; run < kLongestMakeUp; ++run)
        run_codes(run, colour == 1, [&](Code c) { table[static_cast<std::size_t>(colour)][static_cast<std::size_t>(run)] += c.length; });
  }
  int operator()(int run, bool black) const {
    return table[black][static_cast<std::size_t>(run % kLongestMakeUp)] + run / kLongestMakeUp * kSharedMakeUp.back().length;
  }
};

// Bits filled from the most significant.
class BitWriter {
 public:
  explicit BitWriter(Bytes& out) : out_(out) {}
  void put(Code c) {
    buffer_ = buffer_ << c.length | c.bits;
    count_ += c.length;
    while (count_ >= 8) {
      count_ -= 8;
      out_.push_back(static_cast<std::uint8_t>(buffer_ >> count_));
    }
  }
  void flush() {
    if (count_ > 0) out_.push_back(static_cast<std::uint8_t>(buffer_ << (8 - count_)));
    count_ = 0;
  }

 private:
  Bytes& out_;
  std::uint64_t buffer_ = 0;
  int count_ = 0;
};

// The changing elements of a row (the columns whose colour differs from the pixel before; the
// pixel before the row is white), in order, then `width` three times (T.6's imaginary changes
// past the end, so that a1, a2, b1 and b2 are read without bounds checks). Black is a 0 bit.
void changing_elements(const std::uint8_t* row, int width, std::vector<int>& out) {
  out.clear();
  const int bytes = (width + 7) / 8;
  unsigned before = 0;  // the previous pixel, 1 if black
  for (int b = 0; b < bytes; ++b) {
    // Runs of a colour a whole byte long cost one comparison a byte.
    const std::uint8_t same = before ? 0x00 : 0xFF;
    while (b < bytes - 1 && row[b] == same) ++b;
    const unsigned black = static_cast<std::uint8_t>(~row[b]);
    unsigned edges = (black ^ (black >> 1 | before << 7)) & 0xFFu;
    before = black & 1u;
    if (b == bytes - 1 && width % 8) edges &= (0xFF00u >> (width % 8)) & 0xFFu;  // the row's bits only
    while (edges) {
      const int bit = std::countl_zero(static_cast<std::uint8_t>(edges));
      out.push_back(b * 8 + bit);
      edges &= ~(0x80u >> bit);
    }
  }
  out.insert(out.end(), 3, width);
}

enum class Mode : std::uint8_t { pass, vertical, horizontal };

// A line's coding, with the line above it.
class LineCoder {
 public:
  explicit LineCoder(int width) : width_(width), cost_(static_cast<std::size_t>(width) + 1), mode_(cost_.size()) {}

  // Codes `cur` (changing elements, as changing_elements() leaves them) against `ref`.
  void code(const std::vector<int>& cur, const std::vector<int>& ref, BitWriter& writer) {
    const std::size_t n = cur.size() - 3, m = ref.size() - 3;
    // The same edges as the line above: V0 for each and one for the end is the cheapest (every
    // mode costs a bit or more, and none codes an edge for less than V0's one bit).
    if (n == m && std::equal(cur.begin(), cur.begin() + static_cast<std::ptrdiff_t>(n), ref.begin())) {
      for (std::size_t k = 0; k <= n; ++k) writer.put(kVertical[3]);
      return;
    }
    // The cheapest coding of the rest of the line from every place a0 can stand (an edge of this
    // line, or of the line above where pass mode leaves it), right to left, with j and i the
    // first edges of each line right of that place.
    cost_[static_cast<std::size_t>(width_)] = 0;
    std::size_t j = n, i = m;
    while (j > 0 || i > 0) {
      const int a0 = std::max(j > 0 ? cur[j - 1] : -1, i > 0 ? ref[i - 1] : -1);
      const auto [mode, bits] = cheapest(a0, cur, ref, j, i);
      cost_[static_cast<std::size_t>(a0)] = bits;
      mode_[static_cast<std::size_t>(a0)] = mode;
      if (j > 0 && cur[j - 1] == a0) --j;
      if (i > 0 && ref[i - 1] == a0) --i;
    }
    // Then the line, left to right along those choices (from -1, before the line).
    const Mode start = cheapest(-1, cur, ref, 0, 0).first;
    j = i = 0;
    for (int a0 = -1; a0 < width_;) {
      while (cur[j] <= a0) ++j;
      while (ref[i] <= a0) ++i;
      const std::size_t k = i + ((i ^ j) & 1u);
      const int a1 = cur[j], a2 = cur[j + 1], b1 = ref[k], b2 = ref[k + 1];
      switch (a0 < 0 ? start : mode_[static_cast<std::size_t>(a0)]) {
        case Mode::pass:
          writer.put(kPass);
          a0 = b2;
          break;
        case Mode::vertical:
          writer.put(kVertical[static_cast<std::size_t>(a1 - b1 + 3)]);
          a0 = a1;
          break;
        case Mode::horizontal: {
          writer.put(kHorizontal);
          const auto put = [&](Code c) { writer.put(c); };
          const bool black = (j & 1u) != 0;
          run_codes(a1 - std::max(a0, 0), black, put);
          run_codes(a2 - a1, !black, put);
          a0 = a2;
          break;
        }
      }
    }
  }

 private:
  // The cheapest mode at a0 (j and i: the first edges of the coding and reference lines right
  // of a0), and its cost with the rest of the line's. The standard's own choice wins ties.
  std::pair<Mode, int> cheapest(int a0, const std::vector<int>& cur, const std::vector<int>& ref, std::size_t j,
                                std::size_t i) const {
    // b1 has the colour opposite a0's: changes to black sit at even indices, as a1 does when a0
    // is white.
    const std::size_t k = i + ((i ^ j) & 1u);
    const int a1 = cur[j], a2 = cur[j + 1], b1 = ref[k], b2 = ref[k + 1];
    const bool black = (j & 1u) != 0;  // a0's colour
    const auto rest = [&](int position) { return cost_[static_cast<std::size_t>(position)]; };
    Mode mode = Mode::horizontal;
    int best = INT_MAX;
    if (b2 < a1) {
      mode = Mode::pass;
      best = kPass.length + rest(b2);
    }
    if (const int d = a1 - b1; d >= -3 && d <= 3) {
      const int bits = kVertical[static_cast<std::size_t>(d + 3)].length + rest(a1);
      if (bits < best) mode = Mode::vertical, best = bits;
    }
    static const RunBits run_bits;
    const int bits = kHorizontal.length + run_bits(a1 - std::max(a0, 0), black) + run_bits(a2 - a1, !black) + rest(a2);
    if (bits < best) mode = Mode::horizontal, best = bits;
    return {mode, best};
  }

  int width_;
  std::vector<int> cost_;   // by a0: the bits of the rest of the line
  std::vector<Mode> mode_;  // by a0: the mode that costs them
};

}  // namespace

void encode_g4(const std::uint8_t* rows, std::size_t row_bytes, int width, int height, Bytes& out) {
  BitWriter writer(out);
  if (width <= 0) height = 0;  // no pixels: EOFB alone
  LineCoder coder(std::max(width, 0));
  std::vector<int> ref(3, width), cur;  // the line above the first: white
  for (int y = 0; y < height; ++y) {
    changing_elements(rows + static_cast<std::size_t>(y) * row_bytes, width, cur);
    coder.code(cur, ref, writer);
    std::swap(ref, cur);
  }
  writer.put(kEndOfLine);
  writer.put(kEndOfLine);
  writer.flush();
}

void encode_g4(const Image& image, Bytes& out) {
  encode_g4(image.pixels.data(), image.row_bytes(), image.width, image.height, out);
}

}  // namespace imgflow
