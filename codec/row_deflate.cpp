#include "codec/row_deflate.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace imgflow {
namespace {

constexpr std::size_t kWindow = 32768;
constexpr int kMinMatch = 4;  // a candidate is taken when its first four bytes agree
constexpr int kMaxMatch = 258;
constexpr int kHashBits = 14;  // buckets 2^14 at most; a band of fewer places gets about as many
constexpr std::int32_t kHashed = 8;  // a place is hashed when this many bytes lie before the end
// A band's table starts with the places of the 8 KiB before it (about five rows of a page), not
// of the whole window: on the benchmark's 40 clean pages 110 bytes more in 11.4 MB, for 3% less
// time (the places of the window's first 24 KiB, hashed and never looked up, cost that much).
// Matches one row up or one pixel back still reach into the whole window.
constexpr std::int32_t kPrimed = 8192;
// A match shorter than this waits a byte to see whether a longer one starts there. Below 8
// rather than 32: on the benchmark's 40 clean pages 0.2% more bytes for 4% fewer instructions
// a page (7% less deflater time); below 6, 1% more bytes (docs/png-levels.md).
constexpr int kLazyBelow = 8;
constexpr int kInsertBelow = 32;  // every place inside a shorter match goes into the table; else its last
constexpr std::size_t kBlockSymbols = 16384;
constexpr std::int32_t kEmpty = std::numeric_limits<std::int32_t>::min() / 2;

// ---- RFC 1951's alphabets ------------------------------------------------------------------

constexpr int kLengthSymbols = 286, kDistanceSymbols = 30, kCodeLengthSymbols = 19;
constexpr std::array<std::uint16_t, 29> kLengthBase{3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                                    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::array<std::uint8_t, 29> kLengthExtra{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                                    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<std::uint16_t, 30> kDistanceBase{1,    2,    3,    4,    5,    7,     9,     13,    17,    25,
                                                      33,   49,   65,   97,   129,  193,   257,   385,   513,   769,
                                                      1025, 1537, 2049, 3073, 4097, 6145,  8193,  12289, 16385, 24577};
constexpr std::array<std::uint8_t, 30> kDistanceExtra{0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                      6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
constexpr std::array<std::uint8_t, kCodeLengthSymbols> kCodeLengthOrder{16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                                        11, 4,  12, 3, 13, 2, 14, 1, 15};

struct CodeTables {
  std::array<std::uint8_t, kMaxMatch + 1> length_code{};  // length -> code (0-28)
  std::array<std::uint8_t, 512> near_distance_code{};     // distance - 1 below 512 -> code
  std::array<std::uint8_t, 256> far_distance_code{};      // (distance - 1) >> 7 from 512 on -> code
  constexpr CodeTables() {
    for (int code = 0; code < 29; ++code)
      for (int i = 0; i < (1 << kLengthExtra[code]) && kLengthBase[code] + i <= kMaxMatch; ++i)
        length_code[kLengthBase[code] + i] = static_cast<std::uint8_t>(code);
    length_code[kMaxMatch] = 28;  // 258 has a code of its own (227 + 31 would say 258 too)
    for (int code = 0; code < kDistanceSymbols; ++code)
      for (int i = 0; i < (1 << kDistanceExtra[code]); ++i) {
        const int d = kDistanceBase[code] + i - 1;
        if (d < 512)
          near_distance_code[d] = static_cast<std::uint8_t>(code);
        else
          far_distance_code[d >> 7] = static_cast<std::uint8_t>(code);
      }
  }
  int distance_code(int distance) const {
    const int d = distance - 1;
    return d < 512 ? near_distance_code[d] : far_distance_code[d >> 7];
  }
};
constexpr CodeTables kTables;

// ---- bits --------------------------------------------------------------------------------

class BitWriter {
 public:
  explicit BitWriter(std::uint8_t* out) : out_(out), start_(out) {}
  // Up to 56 bits, least significant first (deflate's order). Each call stores eight bytes and
  // moves on by the whole ones, so the output needs eight bytes beyond what it ends with
  // (row_deflate_bound leaves them). Little-endian hosts only, as the codec's PNG code.
  void put(std::uint64_t bits, int count) {
    acc_ |= bits << used_;
    used_ += count;
    std::memcpy(out_, &acc_, 8);
    out_ += used_ >> 3;
    acc_ >>= used_ & ~7;
    used_ &= 7;
  }
  void align() {
    if (used_ > 0) *out_++ = static_cast<std::uint8_t>(acc_);
    acc_ = 0;
    used_ = 0;
  }
  void bytes(const std::uint8_t* data, std::size_t n) {  // after align()
    std::memcpy(out_, data, n);
    out_ += n;
  }
  std::size_t written() const { return static_cast<std::size_t>(out_ - start_); }

 private:
  std::uint8_t* out_;
  std::uint8_t* start_;
  std::uint64_t acc_ = 0;
  int used_ = 0;  // below 8 between calls
};

// ---- Huffman codes -------------------------------------------------------------------------

// Code lengths of at most `limit` bits for the symbols with a frequency; the code is complete
// (the caller sees that at least two symbols have one). Huffman's construction; when a length
// passes the limit, again on frequencies halved (so flatter) until none does.
// Its working memory lives on the heap, in the caller's scratch: under ThreadSanitizer a band's
// writes to kilobytes of its stack were taken for races with oneTBB's own objects that had lain
// there (libtbb.so is uninstrumented, so TSan never sees those handed back).
struct HuffmanWork {
  std::array<std::uint64_t, 2 * kLengthSymbols> weight;
  std::array<int, 2 * kLengthSymbols> parent, symbol_of, order;
  std::array<std::uint8_t, 2 * kLengthSymbols> depth;
};

void code_lengths(const std::uint32_t* freq, int n, int limit, std::uint8_t* lengths, HuffmanWork& work) {
  std::fill(lengths, lengths + n, std::uint8_t{0});
  auto& weight = work.weight;
  auto& parent = work.parent;
  auto& symbol_of = work.symbol_of;
  auto& order = work.order;
  for (int shift = 0;; ++shift) {
    int leaves = 0;
    for (int s = 0; s < n; ++s)
      if (freq[s]) {
        weight[leaves] = std::max<std::uint64_t>(1, std::uint64_t{freq[s]} >> shift);
        symbol_of[leaves++] = s;
      }
    // Leaves sorted by weight, then two queues (leaves, made nodes): each step joins the two lightest.
    for (int i = 0; i < leaves; ++i) order[i] = i;
    std::sort(order.begin(), order.begin() + leaves, [&](int a, int b) { return weight[a] < weight[b]; });
    int next_leaf = 0, next_node = leaves, made = leaves;
    const auto lightest = [&] {
      if (next_leaf < leaves && (next_node == made || weight[order[next_leaf]] <= weight[next_node]))
        return order[next_leaf++];
      return next_node++;
    };
    while (made < 2 * leaves - 1) {
      const int a = lightest(), b = lightest();
      weight[made] = weight[a] + weight[b];
      parent[a] = parent[b] = made;
      ++made;
    }
    // Depths from the root (the last node made) down.
    auto& depth = work.depth;
    depth[made - 1] = 0;
    int deepest = 0;
    for (int i = made - 2; i >= 0; --i) {
      depth[i] = static_cast<std::uint8_t>(depth[parent[i]] + 1);
      if (i < leaves) deepest = std::max<int>(deepest, depth[i]);
    }
    if (deepest <= limit) {
      for (int i = 0; i < leaves; ++i) lengths[symbol_of[i]] = depth[i];
      return;
    }
  }
}

// Canonical codes (RFC 1951 3.2.2), bit-reversed for writing least significant bit first.
void canonical_codes(const std::uint8_t* lengths, int n, std::uint16_t* codes) {
  std::array<int, 16> count{}, next{};
  for (int s = 0; s < n; ++s) ++count[lengths[s]];
  count[0] = 0;
  for (int bits = 1, code = 0; bits < 16; ++bits) {
    code = (code + count[bits - 1]) << 1;
    next[bits] = code;
  }
  for (int s = 0; s < n; ++s) {
    const int len = lengths[s];
    if (!len) continue;
    unsigned code = static_cast<unsigned>(next[len]++), reversed = 0;
    for (int i = 0; i < len; ++i, code >>= 1) reversed = (reversed << 1) | (code & 1);
    codes[s] = static_cast<std::uint16_t>(reversed);
  }
}

// At least two symbols with a frequency, so that every code is complete (one code of one bit
// is not, and decoders differ on whether they take it).
void at_least_two(std::uint32_t* freq, int n) {
  int used = 0;
  for (int s = 0; s < n; ++s) used += freq[s] != 0;
  for (int s = 0; used < 2; ++s)
    if (!freq[s]) {
      freq[s] = 1;
      ++used;
    }
}

// ---- blocks --------------------------------------------------------------------------------

// A symbol: a literal byte (below 256), or a match as length << 16 | distance.
constexpr std::uint32_t match_symbol(int length, int distance) {
  return static_cast<std::uint32_t>(length) << 16 | static_cast<std::uint32_t>(distance);
}

struct Block {
  std::array<std::uint32_t, kLengthSymbols> lit_freq{};
  std::array<std::uint32_t, kDistanceSymbols> dist_freq{};
  std::size_t count = 0;
  void clear() {
    lit_freq.fill(0);
    dist_freq.fill(0);
    count = 0;
  }
};

void write_stored(BitWriter& bits, const std::uint8_t* data, std::size_t n, bool final) {
  do {
    const std::size_t chunk = std::min<std::size_t>(n, 65535);
    n -= chunk;
    bits.put(final && n == 0 ? 1 : 0, 1);
    bits.put(0, 2);
    bits.align();
    const std::uint8_t header[4] = {static_cast<std::uint8_t>(chunk), static_cast<std::uint8_t>(chunk >> 8),
                                    static_cast<std::uint8_t>(~chunk), static_cast<std::uint8_t>(~chunk >> 8)};
    bits.bytes(header, 4);
    if (chunk) bits.bytes(data, chunk);
    data += chunk;
  } while (n > 0);
}

// Writes the block's symbols with a Huffman code of their own, or the bytes they stand for
// (data, n) stored when that is smaller.
// write_block's working memory (see HuffmanWork).
struct BlockWork {
  HuffmanWork huffman;
  std::array<std::uint8_t, kLengthSymbols + kDistanceSymbols> lengths, all;
  std::array<std::uint16_t, kLengthSymbols + kDistanceSymbols> runs;  // symbol | extra << 8
  std::array<std::uint32_t, kCodeLengthSymbols> cl_freq;
  std::array<std::uint8_t, kCodeLengthSymbols> cl_len;
  std::array<std::uint16_t, kLengthSymbols> lit_code;
  std::array<std::uint16_t, kDistanceSymbols> dist_code;
  std::array<std::uint16_t, kCodeLengthSymbols> cl_code;
  std::array<std::uint32_t, kMaxMatch + 1> length_bits;
  std::array<std::uint8_t, kMaxMatch + 1> length_count;
};

void write_block(BitWriter& bits, Block& block, BlockWork& work, const std::uint32_t* symbols,
                 const std::uint8_t* data, std::size_t n, bool final) {
  block.lit_freq[256] = 1;  // end of block
  at_least_two(block.lit_freq.data(), kLengthSymbols);
  at_least_two(block.dist_freq.data(), kDistanceSymbols);
  std::uint8_t* const lit_len = work.lengths.data();
  std::uint8_t* const dist_len = work.lengths.data() + kLengthSymbols;
  code_lengths(block.lit_freq.data(), kLengthSymbols, 15, lit_len, work.huffman);
  code_lengths(block.dist_freq.data(), kDistanceSymbols, 15, dist_len, work.huffman);
  int hlit = kLengthSymbols, hdist = kDistanceSymbols;
  while (hlit > 257 && !lit_len[hlit - 1]) --hlit;
  while (hdist > 1 && !dist_len[hdist - 1]) --hdist;

  // The code lengths, run-length coded (16: the previous 3-6 times, 17: 3-10 zeros, 18: 11-138).
  auto& all = work.all;
  std::copy(lit_len, lit_len + hlit, all.begin());
  std::copy(dist_len, dist_len + hdist, all.begin() + hlit);
  const int total = hlit + hdist;
  auto& runs = work.runs;
  int run_count = 0;
  auto& cl_freq = work.cl_freq;
  cl_freq.fill(0);
  for (int i = 0; i < total;) {
    const int len = all[i];
    int same = 1;
    while (i + same < total && all[i + same] == len) ++same;
    int left = same;
    if (len == 0) {
      while (left >= 11) {
        const int take = std::min(left, 138);
        runs[run_count++] = static_cast<std::uint16_t>(18 | (take - 11) << 8);
        left -= take;
      }
      if (left >= 3) {
        runs[run_count++] = static_cast<std::uint16_t>(17 | (left - 3) << 8);
        left = 0;
      }
    } else {
      runs[run_count++] = static_cast<std::uint16_t>(len);
      --left;
      while (left >= 3) {
        const int take = std::min(left, 6);
        runs[run_count++] = static_cast<std::uint16_t>(16 | (take - 3) << 8);
        left -= take;
      }
    }
    while (left-- > 0) runs[run_count++] = static_cast<std::uint16_t>(len);
    i += same;
  }
  for (int r = 0; r < run_count; ++r) ++cl_freq[runs[r] & 0xFF];
  at_least_two(cl_freq.data(), kCodeLengthSymbols);
  auto& cl_len = work.cl_len;
  code_lengths(cl_freq.data(), kCodeLengthSymbols, 7, cl_len.data(), work.huffman);
  int hclen = kCodeLengthSymbols;
  while (hclen > 4 && !cl_len[kCodeLengthOrder[hclen - 1]]) --hclen;

  // The block's size both ways.
  std::uint64_t dynamic = 3 + 5 + 5 + 4 + 3 * static_cast<std::uint64_t>(hclen);
  for (int r = 0; r < run_count; ++r) {
    const int sym = runs[r] & 0xFF;
    dynamic += cl_len[sym] + (sym == 16 ? 2 : sym == 17 ? 3 : sym == 18 ? 7 : 0);
  }
  for (int s = 0; s < kLengthSymbols; ++s)
    dynamic += static_cast<std::uint64_t>(block.lit_freq[s]) * (lit_len[s] + (s > 256 ? kLengthExtra[s - 257] : 0));
  for (int s = 0; s < kDistanceSymbols; ++s)
    dynamic += static_cast<std::uint64_t>(block.dist_freq[s]) * (dist_len[s] + kDistanceExtra[s]);
  const std::uint64_t stored = (n + 5 * std::max<std::size_t>(1, (n + 65534) / 65535)) * 8 + 7;
  if (stored <= dynamic) {
    write_stored(bits, data, n, final);
    return;
  }

  auto& lit_code = work.lit_code;
  auto& dist_code = work.dist_code;
  auto& cl_code = work.cl_code;
  lit_code.fill(0);  // a symbol without a code keeps 0 (the length table reads every one)
  dist_code.fill(0);
  cl_code.fill(0);
  canonical_codes(lit_len, kLengthSymbols, lit_code.data());
  canonical_codes(dist_len, kDistanceSymbols, dist_code.data());
  canonical_codes(cl_len.data(), kCodeLengthSymbols, cl_code.data());
  bits.put(final ? 1 : 0, 1);
  bits.put(2, 2);  // dynamic Huffman codes
  bits.put(static_cast<std::uint32_t>(hlit - 257), 5);
  bits.put(static_cast<std::uint32_t>(hdist - 1), 5);
  bits.put(static_cast<std::uint32_t>(hclen - 4), 4);
  for (int i = 0; i < hclen; ++i) bits.put(cl_len[kCodeLengthOrder[i]], 3);
  for (int r = 0; r < run_count; ++r) {
    const int sym = runs[r] & 0xFF, extra = runs[r] >> 8;
    bits.put(cl_code[sym], cl_len[sym]);
    if (sym >= 16) bits.put(static_cast<std::uint32_t>(extra), sym == 16 ? 2 : sym == 17 ? 3 : 7);
  }
  // Each match in one write: its length's code and extra bits (a table for the block), then its
  // distance's.
  auto& length_bits = work.length_bits;
  auto& length_count = work.length_count;
  for (int length = kMinMatch; length <= kMaxMatch; ++length) {
    const int lc = kTables.length_code[length], sym = 257 + lc;
    length_bits[length] = lit_code[sym] | static_cast<std::uint32_t>(length - kLengthBase[lc]) << lit_len[sym];
    length_count[length] = static_cast<std::uint8_t>(lit_len[sym] + kLengthExtra[lc]);
  }
  for (std::size_t i = 0; i < block.count; ++i) {
    const std::uint32_t s = symbols[i];
    if (s < 256) {
      // Two literals in one write when they follow each other (at most 30 bits): half as many
      // steps through the writer, each of which waits for the one before (2-5% faster).
      if (i + 1 < block.count && symbols[i + 1] < 256) {
        const std::uint32_t t = symbols[++i];
        bits.put(lit_code[s] | static_cast<std::uint64_t>(lit_code[t]) << lit_len[s], lit_len[s] + lit_len[t]);
        continue;
      }
      bits.put(lit_code[s], lit_len[s]);
      continue;
    }
    const int length = static_cast<int>(s >> 16), distance = static_cast<int>(s & 0xFFFF);
    const int dc = kTables.distance_code(distance);
    const std::uint64_t distance_bits =
        dist_code[dc] | static_cast<std::uint64_t>(distance - kDistanceBase[dc]) << dist_len[dc];
    bits.put(length_bits[length] | distance_bits << length_count[length],
             length_count[length] + dist_len[dc] + kDistanceExtra[dc]);
  }
  bits.put(lit_code[256], lit_len[256]);
}

// ---- matches -----------------------------------------------------------------------------

inline std::uint32_t load32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// How many bytes at a equal those at b, at most `limit`.
[[gnu::always_inline]] inline int common_length(const std::uint8_t* a, const std::uint8_t* b, int limit) {
  int n = 0;
#if defined(__SSE2__)
  while (n + 16 <= limit) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + n));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + n));
    const unsigned differ = ~static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, y))) & 0xFFFFu;
    if (differ) return n + __builtin_ctz(differ);
    n += 16;
  }
#endif
  while (n + 8 <= limit) {
    std::uint64_t x, y;
    std::memcpy(&x, a + n, 8);
    std::memcpy(&y, b + n, 8);
    if (x != y) return n + (__builtin_ctzll(x ^ y) >> 3);
    n += 8;
  }
  while (n < limit && a[n] == b[n]) ++n;
  return n;
}

// Five bytes (of the eight at p: a place needs eight before the band's end to be hashed).
inline std::uint32_t hash5(const std::uint8_t* p, int shift) {
  std::uint64_t eight;
  std::memcpy(&eight, p, 8);
  return static_cast<std::uint32_t>(((eight << 24) * 0xCF1BBCDCB7A56463ull) >> shift);
}

// Where matches come from: one pixel back, one row up, and a hash table of the two latest places
// of each five bytes, over the bytes from `base` (the window's first) to `stop`. Five bytes rather
// than four find more often where a glyph's edge begins after the same paper as here (four bytes
// of paper point at the latest paper, which ends sooner): clean pages 2.0% smaller as PNG rows,
// as small as before as TIFF's predicted rows, where six bytes lose 1% (docs/png-levels.md).
// Places within eight bytes of `stop` are neither looked up nor kept.
class MatchFinder {
 public:
  MatchFinder(const std::uint8_t* base, std::int32_t stop, std::int32_t stride, std::int32_t pixel,
              std::int32_t* table, int hash_bits)
      : base_(base), stop_(stop), stride_(stride), pixel_(pixel), shift_(64 - hash_bits), table_(table) {}

  [[gnu::always_inline]] void insert(std::int32_t p) {
    std::int32_t* bucket = table_ + 2 * hash5(base_ + p, shift_);
    bucket[1] = bucket[0];
    bucket[0] = p;
  }

  // The longest match at p (0 if none of kMinMatch bytes) and its distance; an equal length goes
  // to the nearer place (its distance costs fewer bits).
  [[gnu::always_inline]] int find(std::int32_t p, int& distance) const {
    const int limit = std::min(kMaxMatch, stop_ - p);
    const std::uint32_t here = load32(base_ + p);
    int best = 0;
    consider(p, p - pixel_, here, limit, best, distance);
    if (best < limit && stride_ > 0) consider(p, p - stride_, here, limit, best, distance);
    if (best < limit) {
      const std::int32_t* bucket = table_ + 2 * hash5(base_ + p, shift_);
      consider(p, bucket[0], here, limit, best, distance);
      if (best < limit) consider(p, bucket[1], here, limit, best, distance);
    }
    return best >= kMinMatch ? best : 0;
  }

 private:
  [[gnu::always_inline]] void consider(std::int32_t p, std::int32_t from, std::uint32_t here, int limit, int& best,
                                       int& distance) const {
    if (from < 0 || p - from > static_cast<std::int32_t>(kWindow) || load32(base_ + from) != here) return;
    if (best && base_[from + best] != base_[p + best]) return;  // cannot be longer
    const int len = common_length(base_ + p, base_ + from, limit);
    if (len > best || (len == best && p - from < distance)) {
      best = len;
      distance = p - from;
    }
  }

  const std::uint8_t* base_;
  std::int32_t stop_, stride_, pixel_;
  int shift_;
  std::int32_t* table_;
};

}  // namespace

// The deflater's working memory besides the table and the symbols (see HuffmanWork).
struct RowDeflateWork {
  Block block;
  BlockWork write;
};

void huffman_code_lengths(std::span<const std::uint32_t> freq, int limit, std::span<std::uint8_t> lengths) {
  if (freq.size() > static_cast<std::size_t>(kLengthSymbols) || lengths.size() < freq.size() || limit < 1 ||
      limit > 15)
    throw std::invalid_argument("huffman_code_lengths: too many symbols or a limit outside 1-15");
  if (static_cast<std::size_t>(std::count_if(freq.begin(), freq.end(), [](std::uint32_t f) { return f != 0; })) >
      (std::size_t{1} << limit))
    throw std::invalid_argument("huffman_code_lengths: more symbols than codes of `limit` bits");
  const auto work = std::make_unique<HuffmanWork>();
  code_lengths(freq.data(), static_cast<int>(freq.size()), limit, lengths.data(), *work);
}

// At worst every block is stored: a block holds at least one byte a symbol, so there are at most
// n / 16384 + 1 of them, each stored in pieces of 65,535 bytes with five bytes of header; then
// the sync flush's empty block.
std::size_t row_deflate_bound(std::size_t n) { return n + 5 * (n / kBlockSymbols + n / 65535 + 3) + 64; }

std::size_t row_deflate(std::span<const std::uint8_t> data, std::size_t begin, std::size_t end, RowShape shape,
                        bool last, std::uint8_t* out, RowDeflateScratch& scratch) {
  if (begin > end || end > data.size()) throw std::invalid_argument("row_deflate: range outside the data");
  const std::size_t start = begin - std::min(begin, kWindow);  // the oldest byte a match may copy
  if (end - start > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() / 2))
    throw std::invalid_argument("row_deflate: band too large");
  const std::uint8_t* const base = data.data() + start;  // positions below are from here
  const auto first = static_cast<std::int32_t>(begin - start), stop = static_cast<std::int32_t>(end - start);
  // A row longer than the window has no row up within deflate's reach.
  const auto stride = static_cast<std::int32_t>(shape.stride <= kWindow ? shape.stride : 0);
  const auto pixel = static_cast<std::int32_t>(std::clamp<std::size_t>(shape.pixel_bytes, 1, 8));

  // As many buckets as places, up to 2^14 (the table is filled anew for each band; a small image
  // should not pay for clearing 128 KiB).
  const int hash_bits = std::clamp(static_cast<int>(std::bit_width(static_cast<std::uint32_t>(stop))), 8, kHashBits);
  scratch.table.assign(std::size_t{2} << hash_bits, kEmpty);
  scratch.symbols.resize(kBlockSymbols);
  MatchFinder finder(base, stop, stride, pixel, scratch.table.data(), hash_bits);
  std::uint32_t* const symbols = scratch.symbols.data();

  const std::int32_t hashed_end = stop - kHashed + 1;  // the places with eight bytes before the end
  for (std::int32_t p = std::max<std::int32_t>(0, first - kPrimed);
       p < std::min(first, hashed_end); ++p)
    finder.insert(p);

  if (!scratch.work) scratch.work = std::make_shared<RowDeflateWork>();
  BitWriter bits(out);
  Block& block = scratch.work->block;
  BlockWork& write = scratch.work->write;
  block.clear();
  std::int32_t block_start = first;
  const auto emit = [&](std::uint32_t symbol, std::int32_t next) {
    symbols[block.count++] = symbol;
    if (block.count == kBlockSymbols) {
      write_block(bits, block, write, symbols, base + block_start, static_cast<std::size_t>(next - block_start), false);
      block.clear();
      block_start = next;
    }
  };
  const auto literal = [&](std::int32_t p) {
    ++block.lit_freq[base[p]];
    emit(base[p], p + 1);
  };
  std::int32_t p = first;
  while (p < hashed_end) {
    int distance = 0;
    int length = finder.find(p, distance);
    finder.insert(p);
    if (!length) {
      literal(p++);
      continue;
    }
    if (length < kLazyBelow && p + 1 < hashed_end) {
      int later_distance = 0;
      const int later = finder.find(p + 1, later_distance);
      if (later > length) {
        literal(p++);
        finder.insert(p);
        length = later;
        distance = later_distance;
      }
    }
    // A match may begin earlier than where it was found, over the literals just written (the
    // candidates are tried only where four bytes agree): those literals join it.
    const std::int32_t found = p;  // the places up to here are in the tables
    while (block.count > 0 && symbols[block.count - 1] < 256 && length < kMaxMatch && p - 1 - distance >= 0 &&
           base[p - 1] == base[p - 1 - distance]) {
      --block.lit_freq[base[p - 1]];
      --block.count;
      --p;
      ++length;
    }
    ++block.lit_freq[257 + kTables.length_code[length]];
    ++block.dist_freq[kTables.distance_code(distance)];
    emit(match_symbol(length, distance), p + length);
    if (length < kInsertBelow)
      for (std::int32_t q = found + 1; q < std::min(p + length, hashed_end); ++q) finder.insert(q);
    else if (p + length - 1 < hashed_end)
      finder.insert(p + length - 1);
    p += length;
  }
  while (p < stop) literal(p++);

  if (last) {
    write_block(bits, block, write, symbols, base + block_start, static_cast<std::size_t>(stop - block_start), true);
  } else {
    if (block.count)
      write_block(bits, block, write, symbols, base + block_start, static_cast<std::size_t>(stop - block_start), false);
    write_stored(bits, nullptr, 0, false);  // the sync flush: an empty stored block ends on a byte
  }
  bits.align();
  return bits.written();
}

}  // namespace imgflow
