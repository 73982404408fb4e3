#include "codec/row_deflate.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace imgflow {
namespace {

constexpr std::size_t kWindow = 32768;
constexpr int kMinMatch = 4;  // the hash covers four bytes
constexpr int kMaxMatch = 258;
constexpr int kHashBits = 15;
constexpr int kLazyBelow = 32;    // a shorter match waits a byte to see whether a longer one starts there
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
  // Up to 32 bits, least significant first (deflate's order).
  void put(std::uint32_t bits, int count) {
    acc_ |= static_cast<std::uint64_t>(bits) << used_;
    used_ += count;
    if (used_ >= 32) {
      const auto word = static_cast<std::uint32_t>(acc_);
      std::memcpy(out_, &word, 4);  // little-endian hosts only (the codec's PNG code assumes it too)
      out_ += 4;
      acc_ >>= 32;
      used_ -= 32;
    }
  }
  void align() {
    while (used_ > 0) {
      *out_++ = static_cast<std::uint8_t>(acc_);
      acc_ >>= 8;
      used_ = std::max(0, used_ - 8);
    }
    acc_ = 0;
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
  int used_ = 0;
};

// ---- Huffman codes -------------------------------------------------------------------------

// Code lengths of at most `limit` bits for the symbols with a frequency; the code is complete
// (the caller sees that at least two symbols have one). Huffman's construction; when a length
// passes the limit, again on frequencies halved (so flatter) until none does.
void code_lengths(const std::uint32_t* freq, int n, int limit, std::uint8_t* lengths) {
  std::fill(lengths, lengths + n, std::uint8_t{0});
  std::array<std::uint64_t, 2 * kLengthSymbols> weight{};
  std::array<int, 2 * kLengthSymbols> parent{}, symbol_of{}, order{};
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
    std::array<std::uint8_t, 2 * kLengthSymbols> depth{};
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
void write_block(BitWriter& bits, Block& block, const std::uint32_t* symbols, const std::uint8_t* data,
                 std::size_t n, bool final) {
  block.lit_freq[256] = 1;  // end of block
  at_least_two(block.lit_freq.data(), kLengthSymbols);
  at_least_two(block.dist_freq.data(), kDistanceSymbols);
  std::array<std::uint8_t, kLengthSymbols + kDistanceSymbols> lengths{};
  std::uint8_t* const lit_len = lengths.data();
  std::uint8_t* const dist_len = lengths.data() + kLengthSymbols;
  code_lengths(block.lit_freq.data(), kLengthSymbols, 15, lit_len);
  code_lengths(block.dist_freq.data(), kDistanceSymbols, 15, dist_len);
  int hlit = kLengthSymbols, hdist = kDistanceSymbols;
  while (hlit > 257 && !lit_len[hlit - 1]) --hlit;
  while (hdist > 1 && !dist_len[hdist - 1]) --hdist;

  // The code lengths, run-length coded (16: the previous 3-6 times, 17: 3-10 zeros, 18: 11-138).
  std::array<std::uint8_t, kLengthSymbols + kDistanceSymbols> all{};
  std::copy(lit_len, lit_len + hlit, all.begin());
  std::copy(dist_len, dist_len + hdist, all.begin() + hlit);
  const int total = hlit + hdist;
  std::array<std::uint16_t, kLengthSymbols + kDistanceSymbols> runs{};  // symbol | extra << 8
  int run_count = 0;
  std::array<std::uint32_t, kCodeLengthSymbols> cl_freq{};
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
  std::array<std::uint8_t, kCodeLengthSymbols> cl_len{};
  code_lengths(cl_freq.data(), kCodeLengthSymbols, 7, cl_len.data());
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

  std::array<std::uint16_t, kLengthSymbols> lit_code{};
  std::array<std::uint16_t, kDistanceSymbols> dist_code{};
  std::array<std::uint16_t, kCodeLengthSymbols> cl_code{};
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
  for (std::size_t i = 0; i < block.count; ++i) {
    const std::uint32_t s = symbols[i];
    if (s < 256) {
      bits.put(lit_code[s], lit_len[s]);
      continue;
    }
    const int length = static_cast<int>(s >> 16), distance = static_cast<int>(s & 0xFFFF);
    const int lc = kTables.length_code[length];
    bits.put(lit_code[257 + lc], lit_len[257 + lc]);
    bits.put(static_cast<std::uint32_t>(length - kLengthBase[lc]), kLengthExtra[lc]);
    const int dc = kTables.distance_code(distance);
    bits.put(dist_code[dc], dist_len[dc]);
    bits.put(static_cast<std::uint32_t>(distance - kDistanceBase[dc]), kDistanceExtra[dc]);
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
inline int common_length(const std::uint8_t* a, const std::uint8_t* b, int limit) {
  int n = 0;
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

inline std::uint32_t hash4(std::uint32_t four) { return (four * 2654435761u) >> (32 - kHashBits); }

}  // namespace

// At worst every block is stored: a block holds at least one byte a symbol, so there are at most
// n / 16384 + 1 of them, each stored in pieces of 65,535 bytes with five bytes of header; then
// the sync flush's empty block.
void huffman_code_lengths(std::span<const std::uint32_t> freq, int limit, std::span<std::uint8_t> lengths) {
  if (freq.size() > static_cast<std::size_t>(kLengthSymbols) || lengths.size() < freq.size() || limit < 1 ||
      limit > 15)
    throw std::invalid_argument("huffman_code_lengths: too many symbols or a limit outside 1-15");
  if (static_cast<std::size_t>(std::count_if(freq.begin(), freq.end(), [](std::uint32_t f) { return f != 0; })) >
      (std::size_t{1} << limit))
    throw std::invalid_argument("huffman_code_lengths: more symbols than codes of `limit` bits");
  code_lengths(freq.data(), static_cast<int>(freq.size()), limit, lengths.data());
}

std::size_t row_deflate_bound(std::size_t n) { return n + 5 * (n / kBlockSymbols + n / 65535 + 3) + 64; }

std::size_t row_deflate(std::span<const std::uint8_t> data, std::size_t begin, std::size_t end, RowShape shape,
                        bool last, std::uint8_t* out, RowDeflateScratch& scratch) {
  if (begin > end || end > data.size()) throw std::invalid_argument("row_deflate: range outside the data");
  const std::size_t start = begin - std::min(begin, kWindow);  // the oldest byte a match may copy
  if (end - start > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() / 2))
    throw std::invalid_argument("row_deflate: band too large");
  const std::uint8_t* const base = data.data() + start;  // positions below are from here
  const auto first = static_cast<std::int32_t>(begin - start), stop = static_cast<std::int32_t>(end - start);
  const auto stride = static_cast<std::int32_t>(std::min<std::size_t>(shape.stride, kWindow));
  const auto pixel = static_cast<std::int32_t>(std::clamp<std::size_t>(shape.pixel_bytes, 1, 8));

  scratch.table.assign(std::size_t{2} << kHashBits, kEmpty);
  scratch.symbols.resize(kBlockSymbols);
  std::int32_t* const table = scratch.table.data();
  std::uint32_t* const symbols = scratch.symbols.data();
  const auto insert = [&](std::int32_t p) {
    if (p + kMinMatch > stop) return;
    std::int32_t* bucket = table + 2 * hash4(load32(base + p));
    bucket[1] = bucket[0];
    bucket[0] = p;
  };
  // The longest match at p (0 if none of kMinMatch bytes): one pixel back, one row up, then the
  // table's two; an equal length goes to the nearer (its distance costs fewer bits).
  const auto find = [&](std::int32_t p, int& distance) {
    const int limit = std::min(kMaxMatch, stop - p);
    const std::uint32_t here = load32(base + p);
    int best = 0;
    const auto consider = [&](std::int32_t from) {
      if (from < 0 || p - from > static_cast<std::int32_t>(kWindow) || load32(base + from) != here) return;
      if (best && base[from + best] != base[p + best]) return;  // cannot be longer
      const int len = common_length(base + p, base + from, limit);
      if (len > best || (len == best && p - from < distance)) {
        best = len;
        distance = p - from;
      }
    };
    consider(p - pixel);
    if (best < limit && stride > 0) consider(p - stride);
    if (best < limit) {
      const std::int32_t* bucket = table + 2 * hash4(here);
      consider(bucket[0]);
      if (best < limit) consider(bucket[1]);
    }
    return best >= kMinMatch ? best : 0;
  };

  for (std::int32_t p = std::max<std::int32_t>(0, first - static_cast<std::int32_t>(kWindow)); p < first; ++p)
    insert(p);

  BitWriter bits(out);
  Block block;
  std::int32_t block_start = first;
  const auto emit = [&](std::uint32_t symbol, std::int32_t next) {
    symbols[block.count++] = symbol;
    if (block.count == kBlockSymbols) {
      write_block(bits, block, symbols, base + block_start, static_cast<std::size_t>(next - block_start), false);
      block.clear();
      block_start = next;
    }
  };
  const auto literal = [&](std::int32_t p) {
    ++block.lit_freq[base[p]];
    emit(base[p], p + 1);
  };
  std::int32_t p = first;
  while (p + kMinMatch <= stop) {
    int distance = 0;
    int length = find(p, distance);
    insert(p);
    if (!length) {
      literal(p++);
      continue;
    }
    if (length < kLazyBelow && p + 1 + kMinMatch <= stop) {
      int later_distance = 0;
      const int later = find(p + 1, later_distance);
      if (later > length) {
        literal(p++);
        insert(p);
        length = later;
        distance = later_distance;
      }
    }
    ++block.lit_freq[257 + kTables.length_code[length]];
    ++block.dist_freq[kTables.distance_code(distance)];
    emit(match_symbol(length, distance), p + length);
    if (length < kInsertBelow)
      for (std::int32_t q = p + 1; q < p + length; ++q) insert(q);
    else
      insert(p + length - 1);
    p += length;
  }
  while (p < stop) literal(p++);

  if (last) {
    write_block(bits, block, symbols, base + block_start, static_cast<std::size_t>(stop - block_start), true);
  } else {
    if (block.count)
      write_block(bits, block, symbols, base + block_start, static_cast<std::size_t>(stop - block_start), false);
    write_stored(bits, nullptr, 0, false);  // the sync flush: an empty stored block ends on a byte
  }
  bits.align();
  return bits.written();
}

}  // namespace imgflow
